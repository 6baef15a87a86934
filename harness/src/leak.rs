//! What must never come back in an answer, and how to find it when it is disguised.
//!
//! A merchant's answer is read the way a person (or an attacker) would read it, not only as its
//! raw bytes: the harness builds [`Views`] of the body (the raw text; JSON strings unescaped by
//! `serde_json`, nested JSON included; `\uXXXX`, `\/` and HTML numeric escapes undone in text
//! that is not JSON, such as a page embedding a script; HTML tags dropped; percent-decoding by
//! `percent-encoding`; line breaks and `=` padding removed, so a secret split over lines is
//! whole again; and every base64 or base64url run decoded, as bytes and, when it is text, as
//! one more view). A secret
//! ([`KeyMaterial`]: the AES keys, the private keys of the key set and any DER private key; and
//! the case's ciphertext) is looked for in all of them, in base64, base64url and hex form.
//!
//! The small escape decoder for text that is not JSON is hand-written: `serde_json` decodes only
//! whole JSON documents, and the escapes to undo here sit inside arbitrary text (HTML, logs).

use std::collections::BTreeSet;

use alipay_sim::keys::KeySet;
use alipay_sim::platform;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Decoding as a reader would: padding optional, trailing bits ignored.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_allow_trailing_bits(true)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const LENIENT_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Stack-trace markers from common server stacks (Rust, Python, Java, Node, Go, .NET).
pub const STACK_MARKERS: &[&str] = &[
    "panicked at",
    "stack backtrace:",
    "Traceback (most recent call last)",
    "Exception in thread",
    "at java.",
    "at Object.<anonymous>",
    "node:internal/",
    "goroutine 1 [running]",
    "--- End of stack trace",
];

/// A stack-frame line of Java, Node or .NET (`\tat a.B.c(B.java:12)`, `    at f (/app/x.js:1:2)`,
/// `   at A.B() in C:\\x.cs:line 3`), also inside a JSON string (`\\n    at ...`): an indented
/// `at ` line shaped like a frame, so that prose such as "    at least" is not mistaken for one.
pub fn stack_frame(body: &str) -> Option<&str> {
    body.split('\n').flat_map(|l| l.split("\\n")).find(|line| {
        // A JSON-escaped tab counts as indentation.
        let t = line.trim_start().trim_start_matches("\\t").trim_start();
        let indented = line.len() != t.len();
        let Some(rest) = t.strip_prefix("at ") else {
            return false;
        };
        // Java: `at com.example.Foo.bar(Foo.java:12)`, possibly cut short.
        let dotted_name = !rest.contains(' ') && rest.trim_end_matches('.').contains('.');
        let file_line = rest
            .split(':')
            .skip(1)
            .any(|seg| seg.starts_with(|c: char| c.is_ascii_digit()));
        let one_token_or_frame =
            !rest.contains(' ') || rest.contains(" (") || rest.contains(" in ");
        indented
            && one_token_or_frame
            && (file_line
                || dotted_name
                || rest.contains(":line ")
                || rest.trim_end().ends_with(')'))
    })
}

/// Longer secrets are matched by their first this many characters.
pub const MAX_SECRET_CHARS: usize = 4096;

/// Base64 runs shorter than this are not decoded (too short to carry a secret).
const MIN_BLOB_CHARS: usize = 16;
/// At most this many base64 runs of one answer are decoded (bounds the work on hostile bodies).
const MAX_BLOBS: usize = 256;
/// Nested JSON (a string holding JSON) is unpacked this deep.
const MAX_JSON_DEPTH: usize = 4;

/// The ways one answer body can be read.
#[derive(Debug, Clone, Default)]
pub struct Views {
    /// Texts, each with whitespace and `=` removed (the canonical form secrets are matched in).
    texts: Vec<String>,
    /// The same texts in ASCII lower case (for hex).
    lower: Vec<String>,
    /// Bytes decoded from base64 / base64url runs.
    blobs: Vec<Vec<u8>>,
    /// Readable texts (unescaped and decoded, whitespace kept), for mobiles and PEM markers.
    readable: Vec<String>,
}

fn canonical(text: &str) -> String {
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
        if run.len() >= MIN_BLOB_CHARS {
            runs.insert(run.to_string());
        }
    }
    for run in text.split(|c: char| !is_b64_char(c) && !c.is_whitespace()) {
        let joined: String = run.chars().filter(|c| !c.is_whitespace()).collect();
        if joined.len() >= MIN_BLOB_CHARS && joined.len() != run.len() {
            runs.insert(joined);
        }
    }
    runs
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
        }
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

/// One secret and the forms it is looked for in.
#[derive(Debug, Clone)]
pub struct Secret {
    what: &'static str,
    /// Canonical text forms (no whitespace, no `=`), matched case-sensitively.
    forms: Vec<String>,
    /// Lower-case hex, matched in the lower-cased views.
    hex: String,
    /// The raw bytes, matched inside decoded base64 runs.
    bytes: Vec<u8>,
}

impl Secret {
    /// A secret given by its bytes: base64, base64url and hex forms.
    pub fn from_bytes(what: &'static str, bytes: &[u8]) -> Self {
        Secret {
            what,
            forms: vec![STANDARD_NO_PAD.encode(bytes), URL_SAFE_NO_PAD.encode(bytes)],
            hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            bytes: bytes.to_vec(),
        }
    }

    /// A secret given as base64 text (a ciphertext); its bytes when the text decodes. Only the
    /// first [`MAX_SECRET_CHARS`] characters are used: an answer echoing that much of it echoes
    /// it (and the `tamper.body.huge` ciphertext is a megabyte).
    pub fn from_base64(what: &'static str, text: &str) -> Self {
        let text = text.trim();
        let text = match text.char_indices().nth(MAX_SECRET_CHARS) {
            Some((i, _)) => &text[..i],
            None => text,
        };
        match LENIENT_STANDARD.decode(text) {
            Ok(bytes) if !bytes.is_empty() => {
                let mut s = Self::from_bytes(what, &bytes);
                let own = canonical(text);
                if !s.forms.contains(&own) {
                    s.forms.push(own);
                }
                s
            }
            _ => Secret {
                what,
                forms: vec![canonical(text)],
                hex: String::new(),
                bytes: Vec::new(),
            },
        }
    }

    /// What the secret is, e.g. `the AES key`.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// True when some view of the answer holds this secret in some form.
    pub fn found_in(&self, views: &Views) -> bool {
        let text = self
            .forms
            .iter()
            .filter(|f| !f.is_empty())
            .any(|f| views.texts.iter().any(|t| t.contains(f.as_str())));
        let hex = !self.hex.is_empty() && views.lower.iter().any(|t| t.contains(&self.hex));
        let bytes = self.bytes.len() >= 12
            && views.blobs.iter().any(|b| {
                b.windows(self.bytes.len())
                    .any(|w| w == self.bytes.as_slice())
            });
        text || hex || bytes
    }
}

/// Secrets of the merchant configuration that no answer may contain: the AES keys (128, 192 and
/// 256 bits) a merchant of the key set may hold, and the key set's private keys.
#[derive(Debug, Clone)]
pub struct KeyMaterial {
    secrets: Vec<Secret>,
}

/// The base64 body of a PEM block (the "one-line" form a console shows).
fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect()
}

impl KeyMaterial {
    /// The key material of `keys`.
    pub fn from_keys(keys: &KeySet) -> Self {
        let mut secrets = Vec::new();
        for bits in [128, 192, 256] {
            let key = platform::aes_key_for(keys, bits);
            secrets.push(Secret::from_bytes("the AES key", key.as_bytes()));
        }
        for (what, pair) in [
            ("a private key (one-line)", &keys.platform),
            ("a private key (one-line)", &keys.attacker),
        ] {
            let body = pem_body(&pair.signer.private_pem());
            secrets.push(Secret::from_base64(what, &body));
        }
        Self { secrets }
    }

    /// What key material `views` contain, if any (a PEM block or any DER private key count).
    pub fn found_in(&self, views: &Views) -> Option<&'static str> {
        if let Some(s) = self.secrets.iter().find(|s| s.found_in(views)) {
            return Some(s.what);
        }
        if views.has_pem() {
            return Some("a PEM key block");
        }
        views
            .has_der_private_key()
            .then_some("a private key (DER, base64)")
    }

    /// `text` with every plain occurrence of key material replaced by `[REDACTED ...]` and PEM
    /// blocks replaced by `[REDACTED PEM block]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            let marker = format!("[REDACTED {}]", s.what);
            for f in s.forms.iter().filter(|f| f.len() >= MIN_BLOB_CHARS) {
                out = out.replace(f.as_str(), &marker);
                if f.contains('/') {
                    out = out.replace(&f.replace('/', "\\/"), &marker);
                }
            }
            if !s.hex.is_empty() {
                while let Some(at) = out.to_ascii_lowercase().find(&s.hex) {
                    out.replace_range(at..at + s.hex.len(), &marker);
                }
            }
        }
        redact_pem(&out)
    }
}

/// Replaces PEM blocks (`-----BEGIN ...` to the matching `-----END ...-----`, or to the end) with
/// a marker.
fn redact_pem(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN") {
        out.push_str(&rest[..start]);
        out.push_str("[REDACTED PEM block]");
        let after = &rest[start..];
        rest = match after.find("-----END") {
            Some(end) => {
                let tail = &after[end + 8..];
                match tail.find("-----") {
                    Some(close) => &tail[close + 5..],
                    None => "",
                }
            }
            None => "",
        };
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn stack_frames_are_found_and_prose_is_not() {
        for trace in [
            "Error: boom\n    at Object.parse (/app/server.js:12:7)",
            "{\"error\":\"TypeError: x\\n    at handler (/srv/app.js:3:9)\"}",
            "java.lang.IllegalStateException\n\tat com.shop.Phone.decrypt(Phone.java:42)",
            "{\"trace\":\"x\\n\\tat com.shop.Phone.decrypt(Phone.java:42)\"}",
            "System.Exception\n   at Shop.Phone.Decrypt() in C:\\src\\Phone.cs:line 17",
            "Error\n    at /app/index.js:5:3",
        ] {
            assert!(stack_frame(trace).is_some(), "{trace}");
        }
        for prose in [
            "Please try again\n    at least once more.",
            "{\"status\":\"rejected\",\"error\":\"bad_signature\"}",
            "look at the docs",
            "arrived at 10:30",
        ] {
            assert_eq!(stack_frame(prose), None, "{prose}");
        }
    }

    fn km() -> (KeyMaterial, String) {
        let keys = KeySet::embedded();
        (KeyMaterial::from_keys(&keys), keys.aes.to_base64())
    }

    /// Every disguise the issue lists: each one hid the key from a literal substring check.
    #[test]
    fn the_aes_key_is_found_in_every_disguise() {
        let (km, b64) = km();
        let bytes = STANDARD.decode(&b64).unwrap();
        let gson = b64
            .replace('=', "\\u003d")
            .replace('/', "\\/")
            .replace('+', "\\u002b");
        let url = URL_SAFE_NO_PAD.encode(&bytes);
        let pct: String =
            percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let (a, b) = b64.split_at(10);
        let hex: String = bytes.iter().map(|x| format!("{x:02X}")).collect();
        let wrapped = STANDARD.encode(format!("decrypt failed: key={b64}"));
        for body in [
            format!("error: key {b64} bad"),
            format!("{{\"error\":\"key {gson}\"}}"),
            format!("<script>var e = \"{gson}\";</script>"),
            format!("<p>key &#x3D; {}&#61;&#61;</p>", b64.trim_end_matches('=')),
            format!("err=key%3D{pct}"),
            format!("{{\"k\":\"{url}\"}}"),
            format!("key:\n{a}\n{b}"),
            format!("{{\"k\":\"{a}\\n{b}\"}}"),
            format!("key={hex}"),
            format!("{{\"detail\":\"{wrapped}\"}}"),
            format!("{{\"e\":\"{{\\\"inner\\\":\\\"{gson}\\\"}}\"}}"),
            format!("<p>key: {a}<br>{b}</p>"),
        ] {
            assert_eq!(
                km.found_in(&Views::of(&body)),
                Some("the AES key"),
                "{body}"
            );
        }
        for clean in [
            "{\"status\":\"rejected\",\"error\":\"bad_signature\"}",
            "{\"status\":\"ok\",\"mobile\":\"13812345678\"}",
            "",
        ] {
            assert_eq!(km.found_in(&Views::of(clean)), None, "{clean}");
        }
    }

    #[test]
    fn private_keys_are_found_as_pem_one_line_and_any_der() {
        let (km, _) = km();
        let keys = KeySet::embedded();
        let pem = keys.platform.signer.private_pem();
        let one_line = pem_body(&pem);
        assert!(km.found_in(&Views::of(&pem)).is_some());
        let json_pem = serde_json::to_string(&serde_json::json!({ "k": pem })).unwrap();
        assert!(km.found_in(&Views::of(&json_pem)).is_some());
        assert_eq!(
            km.found_in(&Views::of(&format!("key={one_line}"))),
            Some("a private key (one-line)")
        );
        // PKCS#1 (the RSAPrivateKey inside the PKCS#8 of a 2048-bit key, from byte 26), one line.
        let der = STANDARD.decode(&one_line).unwrap();
        assert_eq!(&der[22..24], &[0x04, 0x82], "PKCS#8 OCTET STRING header");
        let pkcs1 = STANDARD.encode(&der[26..]);
        assert_eq!(
            km.found_in(&Views::of(&format!("{{\"key\":\"{pkcs1}\"}}"))),
            Some("a private key (DER, base64)")
        );
        // Someone else's private key: found by its DER shape.
        let other = KeySet::generate();
        let other_line = pem_body(&other.attacker.signer.private_pem());
        assert_eq!(
            km.found_in(&Views::of(&format!("{{\"k\":\"{other_line}\"}}"))),
            Some("a private key (DER, base64)")
        );
    }

    #[test]
    fn the_ciphertext_is_found_in_its_forms() {
        let ct = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY+/+/AB==";
        let s = Secret::from_base64("the case's ciphertext", ct);
        let gson = ct.replace('=', "\\u003d").replace('/', "\\/");
        for body in [
            format!("x {ct}"),
            format!("{{\"m\":\"content {gson}\"}}"),
            format!("{{\"m\":\"{}\"}}", ct.replace('+', "-").replace('/', "_")),
            format!("c%3D{}", ct.replace('+', "%2B").replace('/', "%2F")),
        ] {
            assert!(s.found_in(&Views::of(&body)), "{body}");
        }
        assert!(!s.found_in(&Views::of("{\"error\":\"bad_padding\"}")));
        // A megabyte ciphertext (tamper.body.huge) is matched by its start.
        let huge = "QUJD".repeat(256 * 1024);
        let s = Secret::from_base64("the case's ciphertext", &huge);
        assert!(s.found_in(&Views::of(&format!(
            "echo {}",
            &huge[..MAX_SECRET_CHARS + 8]
        ))));
        assert!(!s.found_in(&Views::of(&huge[..64])));
    }

    #[test]
    fn redaction_covers_plain_forms_and_pem() {
        let (km, b64) = km();
        let red = km.redact(&format!("k={b64} k2={}", b64.replace('/', "\\/")));
        assert!(!red.contains(b64.trim_end_matches('=')), "{red}");
        assert!(red.contains("[REDACTED the AES key]"), "{red}");
        let pem = "a -----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY----- b";
        assert_eq!(km.redact(pem), "a [REDACTED PEM block] b");
        assert_eq!(km.redact("x -----BEGIN RSA"), "x [REDACTED PEM block]");
    }

    #[test]
    fn unescaping_handles_surrogates_and_entities() {
        assert_eq!(unescape_embedded(r"a\u003db\/c"), "a=b/c");
        assert_eq!(unescape_embedded(r"\ud83d\ude00"), "😀");
        assert_eq!(unescape_embedded("&#x3D;&#61;&amp;"), "==&amp;");
        assert_eq!(unescape_embedded(r"\q \u12"), r"\q \u12");
    }
}
