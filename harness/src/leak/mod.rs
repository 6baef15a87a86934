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
//! `views.rs` reads the answer (its body, header values and reason phrase); this module holds
//! what is looked for in it (secrets, stack traces, other users' identities: [`RunLedger`]) and
//! the redaction of reports.

use alipay_sim::{AesSize, KeySet};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

mod ledger;
#[cfg(test)]
mod tests;
mod views;

pub use self::ledger::{Crossed, DEMO_USERS, IdentityKind, MIN_IDENTITY_CHARS, Owner, RunLedger};
use self::views::{LENIENT_STANDARD, MIN_BLOB_CHARS, canonical};
pub use self::views::{Views, unescape_embedded};

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

/// What kind of secret an answer contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// An AES key a merchant of the key set may hold.
    AesKey,
    /// A private key of the key set, as the one-line base64 a console shows.
    PrivateKeyOneLine,
    /// A PEM key block (`-----BEGIN ... KEY-----`).
    PemBlock,
    /// Any private key in DER form (base64).
    DerPrivateKey,
    /// The case's ciphertext.
    Ciphertext,
}

impl std::fmt::Display for SecretKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecretKind::AesKey => "the AES key",
            SecretKind::PrivateKeyOneLine => "a private key (one-line)",
            SecretKind::PemBlock => "a PEM key block",
            SecretKind::DerPrivateKey => "a private key (DER, base64)",
            SecretKind::Ciphertext => "the ciphertext",
        })
    }
}

/// Longer secrets are matched by their first this many characters.
pub const MAX_SECRET_CHARS: usize = 4096;

/// One secret and the forms it is looked for in.
#[derive(Debug, Clone)]
pub struct Secret {
    what: SecretKind,
    /// Canonical text forms (no whitespace, no `=`), matched case-sensitively.
    forms: Vec<String>,
    /// Lower-case hex, matched in the lower-cased views.
    hex: String,
    /// The raw bytes, matched inside decoded base64 runs.
    bytes: Vec<u8>,
}

impl Secret {
    /// A secret given by its bytes: base64, base64url and hex forms.
    pub fn from_bytes(what: SecretKind, bytes: &[u8]) -> Self {
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
    pub fn from_base64(what: SecretKind, text: &str) -> Self {
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

    /// What the secret is, e.g. [`SecretKind::AesKey`].
    pub fn what(&self) -> SecretKind {
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
        for size in AesSize::ALL {
            let key = keys.aes.of_size(size);
            secrets.push(Secret::from_bytes(SecretKind::AesKey, key.as_bytes()));
        }
        for pair in [&keys.platform, &keys.attacker] {
            let body = pem_body(&pair.signer.private_pem());
            secrets.push(Secret::from_base64(SecretKind::PrivateKeyOneLine, &body));
        }
        Self { secrets }
    }

    /// What key material `views` contain, if any (a PEM block or any DER private key count).
    pub fn found_in(&self, views: &Views) -> Option<SecretKind> {
        if let Some(s) = self.secrets.iter().find(|s| s.found_in(views)) {
            return Some(s.what);
        }
        if views.has_pem() {
            return Some(SecretKind::PemBlock);
        }
        views
            .has_der_private_key()
            .then_some(SecretKind::DerPrivateKey)
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
