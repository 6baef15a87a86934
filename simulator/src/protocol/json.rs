//! JSON exactly as Alipay writes it, and a scanner that keeps the raw text of every top-level
//! value so signatures are checked over the bytes that were sent, never over a re-serialisation.
//!
//! The scanner is serde_json (its `RawValue` keeps each member's raw text; our map visitor keeps
//! every member, so duplicate keys reach the caller instead of being silently overwritten). The
//! writer is hand-written: Alipay escapes `/` as `\/` (docs/protocol.md#vector-c) and serde_json has no
//! option to do that, and the signed bytes must match Alipay's byte for byte.

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

/// Appends `s` as a JSON string literal the way Alipay's serialiser writes it: UTF-8 kept as is,
/// `/` escaped as `\/` (docs/protocol.md#vector-c), `"` and `\` escaped, control characters as
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

/// Nesting deeper than this is refused (a hostile body must not exhaust the stack): serde_json's
/// recursion limit.
pub(crate) const MAX_DEPTH: usize = 128;

/// Scans a complete JSON document that must be one object; returns its members in order
/// (duplicates included: the caller decides about them), with the raw span of each value.
/// Strict RFC 8259 as serde_json reads it: no trailing commas, no comments, no trailing garbage,
/// valid escapes, nesting at most 128 levels.
pub fn scan_object(doc: &str) -> Result<Vec<Member>, SyntaxError> {
    let members: RawMembers<'_> = serde_json::from_str(doc).map_err(|e| syntax_error(doc, &e))?;
    members
        .0
        .into_iter()
        .map(|(key, raw)| {
            let text = raw.get();
            // `raw` borrows from `doc` (serde_json's `RawValue` over a `&str` input), so its
            // offset in `doc` is the difference of the two addresses.
            let start = text.as_ptr() as usize - doc.as_ptr() as usize;
            let kind = match text.as_bytes().first() {
                Some(b'"') => Kind::String,
                Some(b'{') => Kind::Object,
                Some(b'[') => Kind::Array,
                Some(b't' | b'f') => Kind::Bool,
                Some(b'n') => Kind::Null,
                _ => Kind::Number,
            };
            let at = |e: serde_json::Error| syntax_error(&doc[start..], &e).shifted(start);
            let string = match kind {
                Kind::String => Some(serde_json::from_str::<String>(text).map_err(at)?),
                // A raw value (like `IgnoredAny`) is skipped without serde_json's recursion
                // limit and without converting numbers; reading it once more as a `Value`
                // applies the limit and refuses an out-of-range number (`1e999`) at the top
                // level as serde_json does inside an array (found by the json_scan fuzz target).
                Kind::Object | Kind::Array | Kind::Number => {
                    serde_json::from_str::<serde_json::Value>(text).map_err(at)?;
                    None
                }
                _ => None,
            };
            Ok(Member {
                key,
                kind,
                span: start..start + text.len(),
                string,
            })
        })
        .collect()
}

/// The members of one object, in document order, each value kept as its raw text.
struct RawMembers<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawMembers<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = RawMembers<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(RawMembers(members))
            }
        }
        d.deserialize_map(Members)
    }
}

impl SyntaxError {
    fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

/// serde_json's error as a [`SyntaxError`] at a byte offset of `doc`.
fn syntax_error(doc: &str, e: &serde_json::Error) -> SyntaxError {
    // serde_json counts lines and (byte) columns from 1; column 0 means "at the end of the
    // previous line".
    let line_start: usize = doc
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let offset = (line_start + e.column().saturating_sub(1)).min(doc.len());
    let mut reason = e.to_string();
    if let Some(at) = reason.rfind(" at line ") {
        reason.truncate(at);
    }
    if reason == "recursion limit exceeded" {
        reason = format!("nesting too deep (more than {MAX_DEPTH} levels)");
    }
    if doc.trim().is_empty() {
        reason = "empty document, expected a JSON object".into();
    }
    SyntaxError { offset, reason }
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
    fn duplicate_keys_are_all_kept_and_errors_point_into_the_document() {
        let doc = r#"{"response":"a","sign":"s","response":"b"}"#;
        let m = scan_object(doc).unwrap();
        let keys: Vec<&str> = m.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["response", "sign", "response"]);
        assert_eq!(m[2].string.as_deref(), Some("b"));
        let e = scan_object("{\"a\":1,\n \"b\":}").unwrap_err();
        assert_eq!(e.offset, 13, "{e}"); // the `}` where a value should be
        let e = scan_object("  ").unwrap_err();
        assert!(e.reason.contains("empty document"), "{e}");
        let e = scan_object(r#"{"a":{"b":"\ud800"}}"#).unwrap_err();
        assert!(e.offset >= 5, "{e}");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let doc = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(scan_object(&doc).unwrap_err().reason.contains("too deep"));
    }
}
