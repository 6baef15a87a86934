//! JSON exactly as Alipay writes it, and a scanner that keeps the raw text of every top-level
//! value so signatures are checked over the bytes that were sent, never over a re-serialisation.

use std::ops::Range;

/// Appends `s` as a JSON string literal the way Alipay's serialiser writes it: UTF-8 kept as is,
/// `/` escaped as `\/` (protocol notes §9-C), `"` and `\` escaped, control characters as
/// `\b \f \n \r \t` or `\u00XX`.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes a compact JSON object of string fields, in the given order, Alipay style.
pub fn write_object(fields: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(64);
    out.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, k);
        out.push(':');
        write_string(&mut out, v);
    }
    out.push('}');
    out
}

/// The JSON type of a scanned value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    String,
    /// An object.
    Object,
    /// An array.
    Array,
    /// A number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

/// One member of a scanned top-level object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The decoded key.
    pub key: String,
    /// The value's type.
    pub kind: Kind,
    /// Byte range of the value's raw text in the scanned document (quotes included for strings).
    pub span: Range<usize>,
    /// The decoded value when it is a string.
    pub string: Option<String>,
}

/// Why a document is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct SyntaxError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was wrong.
    pub reason: String,
}

/// Nesting deeper than this is refused (a hostile body must not exhaust the stack).
pub const MAX_DEPTH: usize = 64;

/// Scans a complete JSON document that must be one object; returns its members in order, with
/// the raw span of each value. Strict RFC 8259: no trailing commas, no comments, no trailing
/// garbage, valid escapes and UTF-8 (guaranteed by `&str`), nesting at most [`MAX_DEPTH`].
pub fn scan_object(doc: &str) -> Result<Vec<Member>, SyntaxError> {
    let mut p = Parser {
        b: doc.as_bytes(),
        s: doc,
        i: 0,
    };
    p.ws();
    if p.peek() != Some(b'{') {
        return Err(p.err(if p.i >= p.b.len() {
            "empty document, expected a JSON object"
        } else {
            "expected a JSON object"
        }));
    }
    let members = p.object(0, true)?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err("trailing characters after the JSON object"));
    }
    Ok(members)
}

struct Parser<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &str) -> SyntaxError {
        SyntaxError {
            offset: self.i,
            reason: reason.to_string(),
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn expect(&mut self, c: u8, what: &str) -> Result<(), SyntaxError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    fn object(&mut self, depth: usize, keep: bool) -> Result<Vec<Member>, SyntaxError> {
        if depth >= MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.expect(b'{', "expected '{'")?;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(members);
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a string key"));
            }
            let key = self.string()?;
            self.ws();
            self.expect(b':', "expected ':' after key")?;
            self.ws();
            let start = self.i;
            let (kind, string) = self.value(depth + 1)?;
            if keep {
                members.push(Member {
                    key,
                    kind,
                    span: start..self.i,
                    string,
                });
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(members);
                }
                _ => return Err(self.err("expected ',' or '}' in object")),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<(Kind, Option<String>), SyntaxError> {
        match self.peek() {
            Some(b'"') => Ok((Kind::String, Some(self.string()?))),
            Some(b'{') => {
                self.object(depth, false)?;
                Ok((Kind::Object, None))
            }
            Some(b'[') => {
                self.array(depth)?;
                Ok((Kind::Array, None))
            }
            Some(b't') => self.literal("true", Kind::Bool),
            Some(b'f') => self.literal("false", Kind::Bool),
            Some(b'n') => self.literal("null", Kind::Null),
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                Ok((Kind::Number, None))
            }
            None => Err(self.err("unexpected end of document, expected a value")),
            _ => Err(self.err("expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &str, kind: Kind) -> Result<(Kind, Option<String>), SyntaxError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok((kind, None))
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), SyntaxError> {
        if depth >= MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.expect(b'[', "expected '['")?;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.value(depth + 1)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected ',' or ']' in array")),
            }
        }
    }

    fn number(&mut self) -> Result<(), SyntaxError> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.i += 1;
                }
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("invalid number fraction"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("invalid number exponent"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("truncated \\u escape"))?;
        let v = u32::from_str_radix(h, 16).map_err(|_| self.err("invalid \\u escape"))?;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(self.err("invalid \\u escape"));
        }
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.expect(b'"', "expected '\"'")?;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // Slicing at ASCII delimiters of a &str is always on a char boundary.
            out.push_str(&self.s[start..self.i]);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let e = self.peek().ok_or_else(|| self.err("truncated escape"))?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if !self.b[self.i..].starts_with(b"\\u") {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.err("unpaired surrogate in \\u escape"));
                            } else {
                                hi
                            };
                            out.push(
                                char::from_u32(cp).ok_or_else(|| self.err("invalid code point"))?,
                            );
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.err("invalid escape"));
                        }
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_slash_escaped_utf8_kept() {
        let s = write_object(&[("subMsg", "详见：https://docs")]);
        assert_eq!(s, r#"{"subMsg":"详见：https:\/\/docs"}"#);
    }

    #[test]
    fn scan_keeps_raw_spans_and_order() {
        let doc = r#"{"response":"ab+/cd==","sign":"x","n":{"a":[1,2.5e3,true,null]}}"#;
        let m = scan_object(doc).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(&doc[m[0].span.clone()], "\"ab+/cd==\"");
        assert_eq!(m[0].string.as_deref(), Some("ab+/cd=="));
        assert_eq!(m[2].kind, Kind::Object);
        assert_eq!(&doc[m[2].span.clone()], r#"{"a":[1,2.5e3,true,null]}"#);
    }

    #[test]
    fn scan_agrees_with_serde_json_on_validity() {
        for doc in [
            "{}",
            r#"{"a":"\ud83d\ude00"}"#,
            r#"{"a":"\ud83d"}"#,
            "{\"a\":1,}",
            "{\"a\":01}",
            "{\"a\":\"x\"} x",
            "{\"a\":-}",
            "{\"a\":\"\\x\"}",
            "{\"a\":[1,]}",
            "{\"a\" 1}",
            " { \"a\" : [ ] } ",
        ] {
            let ours = scan_object(doc).is_ok();
            let theirs =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(doc).is_ok();
            assert_eq!(ours, theirs, "{doc}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let doc = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(scan_object(&doc).unwrap_err().reason.contains("too deep"));
    }
}
