//! The readings ([`Views`]) of one answer body: the raw text; JSON strings unescaped by
//! `serde_json`, nested JSON included; `\uXXXX`, `\/` and HTML numeric escapes undone in text that
//! is not JSON; HTML tags dropped; percent-decoding by `percent-encoding`; whitespace and `=`
//! removed; digit groups joined (`139 8765 4321`, `139-8765-4321`); and every base64 or base64url
//! run decoded, as bytes and, when it is text, as one more view.
//!
//! The small escape decoder for text that is not JSON ([`unescape_embedded`]) is hand-written:
//! `serde_json` decodes only whole JSON documents, and the escapes to undo here sit inside
//! arbitrary text (HTML, logs).

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Decoding as a reader would: padding optional, trailing bits ignored.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_allow_trailing_bits(true)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);
pub(super) const LENIENT_STANDARD: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const LENIENT_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Base64 runs shorter than this are not decoded (too short to carry a secret).
pub(super) const MIN_BLOB_CHARS: usize = 16;
/// Base64 runs are decoded from this length: an 11-digit mobile is 15 characters without its
/// padding (which splits the run).
const MIN_RUN_CHARS: usize = 15;
/// At most this many base64 runs of one answer are decoded (bounds the work on hostile bodies).
const MAX_BLOBS: usize = 256;
/// Nested JSON (a string holding JSON) is unpacked this deep.
const MAX_JSON_DEPTH: usize = 4;

/// The ways one answer body can be read.
#[derive(Debug, Clone, Default)]
pub struct Views {
    /// Texts, each with whitespace and `=` removed (the canonical form secrets are matched in).
    pub(super) texts: Vec<String>,
    /// The same texts in ASCII lower case (for hex).
    pub(super) lower: Vec<String>,
    /// Bytes decoded from base64 / base64url runs.
    pub(super) blobs: Vec<Vec<u8>>,
    /// Readable texts (unescaped and decoded, whitespace kept), for mobiles and PEM markers.
    readable: Vec<String>,
    /// How many of the first `readable` texts are the body as written: the raw text and, when
    /// the body is JSON, its strings and numbers decoded (see [`Views::shows`]).
    as_written: usize,
}

pub(super) fn canonical(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .collect()
}

/// Every string (keys and values) of a JSON value, unpacking strings that hold JSON.
fn json_strings(v: &serde_json::Value, depth: usize, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => {
            out.push(s.clone());
            let t = s.trim_start();
            if depth < MAX_JSON_DEPTH
                && (t.starts_with('{') || t.starts_with('['))
                && let Ok(inner) = serde_json::from_str::<serde_json::Value>(s)
            {
                json_strings(&inner, depth + 1, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, depth, out)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                out.push(k.clone());
                json_strings(x, depth, out);
            }
        }
        serde_json::Value::Number(n) => out.push(n.to_string()),
        _ => {}
    }
}

/// Undoes JSON/JavaScript escapes (`\uXXXX` with surrogate pairs, `\/`, `\n`, ...) and HTML
/// numeric character references (`&#61;`, `&#x3D;`) wherever they appear in `text`.
pub fn unescape_embedded(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut units: Vec<u16> = Vec::new();
    let flush = |units: &mut Vec<u16>, out: &mut String| {
        out.extend(char::decode_utf16(units.drain(..)).map(|r| r.unwrap_or('\u{FFFD}')));
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            if n == 'u' && i + 6 <= chars.len() {
                let hex: String = chars[i + 2..i + 6].iter().collect();
                if let Ok(u) = u16::from_str_radix(&hex, 16) {
                    units.push(u);
                    i += 6;
                    continue;
                }
            }
            let simple = match n {
                '/' | '\\' | '"' | '\'' => Some(n),
                'n' => Some('\n'),
                'r' => Some('\r'),
                't' => Some('\t'),
                _ => None,
            };
            if let Some(s) = simple {
                flush(&mut units, &mut out);
                out.push(s);
                i += 2;
                continue;
            }
        }
        if c == '&' && chars.get(i + 1) == Some(&'#') {
            let end = chars[i..].iter().take(12).position(|&x| x == ';');
            if let Some(end) = end {
                let body: String = chars[i + 2..i + end].iter().collect();
                let code = match body.strip_prefix(['x', 'X']) {
                    Some(h) => u32::from_str_radix(h, 16).ok(),
                    None => body.parse::<u32>().ok(),
                };
                if let Some(ch) = code.and_then(char::from_u32) {
                    flush(&mut units, &mut out);
                    out.push(ch);
                    i += end + 1;
                    continue;
                }
            }
        }
        flush(&mut units, &mut out);
        out.push(c);
        i += 1;
    }
    flush(&mut units, &mut out);
    out
}

fn is_b64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_')
}

/// Base64 / base64url runs of `text`: split at anything else, and (for secrets split by line
/// breaks) with whitespace inside a run joined.
fn b64_runs(text: &str) -> BTreeSet<String> {
    let mut runs = BTreeSet::new();
    for run in text.split(|c: char| !is_b64_char(c)) {
        if run.len() >= MIN_RUN_CHARS {
            runs.insert(run.to_string());
        }
    }
    for run in text.split(|c: char| !is_b64_char(c) && !c.is_whitespace()) {
        let joined: String = run.chars().filter(|c| !c.is_whitespace()).collect();
        if joined.len() >= MIN_RUN_CHARS && joined.len() != run.len() {
            runs.insert(joined);
        }
    }
    runs
}

/// `text` with the spaces and dashes between digits removed (a mobile written in groups reads
/// whole), or `None` when there are none.
fn join_digit_groups(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let separator = |c: char| matches!(c, ' ' | '-' | '\u{a0}');
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if separator(c) && i > 0 && chars[i - 1].is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && separator(chars[j]) && j - i < 3 {
                j += 1;
            }
            if j < chars.len() && chars[j].is_ascii_digit() {
                changed = true;
                i = j;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    changed.then_some(out)
}

/// Decodes a base64 or base64url run, trying the four alignments (a run may start with a few
/// letters of a neighbouring word).
fn decode_run(run: &str) -> Vec<Vec<u8>> {
    let url = run.contains(['-', '_']);
    let mut out = Vec::new();
    for skip in 0..4.min(run.len()) {
        let s = &run[skip..];
        // A length of 4n+1 cannot be base64: drop the last character.
        let s = if s.len() % 4 == 1 {
            &s[..s.len() - 1]
        } else {
            s
        };
        let decoded = if url {
            LENIENT_URL.decode(s)
        } else {
            LENIENT_STANDARD.decode(s)
        };
        if let Ok(bytes) = decoded {
            out.push(bytes);
        }
    }
    out
}

impl Views {
    /// Every reading of `body`.
    pub fn of(body: &str) -> Self {
        let mut readable: Vec<String> = vec![body.to_string()];
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
            let mut strings = Vec::new();
            json_strings(&v, 0, &mut strings);
            readable.push(strings.join("\n"));
        }
        let as_written = readable.len();
        if body.contains('\\') || body.contains("&#") {
            readable.push(unescape_embedded(body));
        }
        if body.contains('<') {
            // HTML: a secret split by <br> (or wrapped in <span>s) reads whole on the page.
            static TAG: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
            let tag = TAG.get_or_init(|| {
                regex::Regex::new(r"<[/a-zA-Z][^<>]{0,40}>").expect("a valid pattern")
            });
            let text = tag.replace_all(body, "").into_owned();
            if text != body {
                readable.push(unescape_embedded(&text));
            }
        }
        let mut decoded = Vec::new();
        for t in &readable {
            if t.contains('%') {
                let p = percent_encoding::percent_decode_str(t)
                    .decode_utf8_lossy()
                    .into_owned();
                if &p != t {
                    decoded.push(p);
                }
            }
        }
        readable.extend(decoded);
        let joined: Vec<String> = readable
            .iter()
            .filter_map(|t| join_digit_groups(t))
            .collect();
        readable.extend(joined);

        let mut blobs = Vec::new();
        let mut blob_texts = Vec::new();
        let runs: BTreeSet<String> = readable.iter().flat_map(|t| b64_runs(t)).collect();
        for run in runs.into_iter().take(MAX_BLOBS) {
            for bytes in decode_run(&run) {
                if let Ok(text) = std::str::from_utf8(&bytes)
                    && text.chars().filter(|c| !c.is_control()).count() * 10 >= text.len() * 9
                {
                    blob_texts.push(text.to_string());
                }
                blobs.push(bytes);
            }
        }
        readable.extend(blob_texts);
        let texts: Vec<String> = readable.iter().map(|t| canonical(t)).collect();
        let lower = texts.iter().map(|t| t.to_ascii_lowercase()).collect();
        Views {
            texts,
            lower,
            blobs,
            readable,
            as_written,
        }
    }

    /// Every reading of an answer as a whole: its body, each header value and the status line's
    /// reason phrase, so that what is looked for in a body is looked for there too (a key in an
    /// `X-Debug` header, a mobile in a reason phrase).
    pub fn of_answer<'a>(
        body: &str,
        headers: impl IntoIterator<Item = &'a str>,
        reason: Option<&'a str>,
    ) -> Self {
        let mut views = Views::of(body);
        for value in headers.into_iter().chain(reason) {
            if !value.is_empty() {
                views.merge(Views::of(value));
            }
        }
        views
    }

    /// Adds the readings of another part of the same answer ([`Views::shows`] keeps reading the
    /// first part only: a value is given in the body, not in a header).
    pub fn merge(&mut self, other: Views) {
        self.texts.extend(other.texts);
        self.lower.extend(other.lower);
        self.blobs.extend(other.blobs);
        self.readable.extend(other.readable);
    }

    /// The readable texts (unescaped and decoded, whitespace kept).
    pub(super) fn readable(&self) -> &[String] {
        &self.readable
    }

    /// True when the body as written shows `needle`: its raw text or, when it is JSON, one of its
    /// strings or numbers (escapes undone by the JSON parser). This is what an answer must do to
    /// *give* a value (the mobile of an `accept`); the other readings (digit groups joined,
    /// base64 decoded, ...) are for finding what must not be there, where reading too much is
    /// the safe side.
    pub fn shows(&self, needle: &str) -> bool {
        self.readable[..self.as_written]
            .iter()
            .any(|t| t.contains(needle))
    }

    /// True when some readable view contains `needle` as is (a mobile, a marker).
    pub fn readable_contains(&self, needle: &str) -> bool {
        self.readable.iter().any(|t| t.contains(needle))
    }

    /// True when some view holds a PEM block marker.
    pub fn has_pem(&self) -> bool {
        self.readable
            .iter()
            .any(|t| t.contains("-----BEGIN") || t.contains("PRIVATE KEY-----"))
            || self
                .texts
                .iter()
                .any(|t| t.contains("-----BEGIN") || t.contains("PRIVATEKEY-----"))
    }

    /// True when some decoded base64 run is a DER private key (PKCS#8 RSA, EC or Ed25519, or
    /// PKCS#1 RSA), whoever's it is.
    pub fn has_der_private_key(&self) -> bool {
        const PATTERNS: &[&[u8]] = &[
            // PKCS#8 version 0, AlgorithmIdentifier rsaEncryption
            &[
                0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
                0x01, 0x01,
            ],
            // PKCS#8 version 0, id-ecPublicKey
            &[
                0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
            ],
            // PKCS#8 version 0, Ed25519
            &[0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70],
        ];
        self.blobs.iter().any(|b| {
            PATTERNS
                .iter()
                .any(|p| b.windows(p.len()).take(8).any(|w| w == *p))
                // PKCS#1 RSAPrivateKey: SEQUENCE, version 0, a long INTEGER modulus.
                || (b.len() > 200 && b.starts_with(&[0x30, 0x82]) && b[4..].starts_with(&[0x02, 0x01, 0x00, 0x02, 0x82]))
        })
    }
}
