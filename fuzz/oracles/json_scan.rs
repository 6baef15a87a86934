//! `alipay_sim::json::scan_object` differentially against serde_json reading the whole document
//! as a `serde_json::Value`.
//!
//! The two must take the same accept/refuse decision and, when they accept, the scanner's
//! members must be the document's: the same keys in the same order (duplicates included), the
//! same raw text for each value (the span), the same type, and the same decoded string for string
//! values. serde_json gives the members in order, with their raw text, through a map visitor over
//! `RawValue`s (its `Value` map would keep only the last of duplicate keys).
//!
//! Where the scanner deliberately differs, the rule is encoded here:
//! - duplicate keys: the scanner returns every member and leaves the decision to the caller (the
//!   opener refuses such an envelope, see `open_envelope`); `Value` keeps the last one;
//! - nesting: serde_json's recursion limit is applied to each member's value, so the scanner
//!   accepts `json::MAX_DEPTH` levels *below* the top-level object, one more than `Value` on the
//!   whole document; at that exact depth only, a refusal by `Value` is not a difference.
use std::fmt;

use alipay_sim::{json::Kind, json::scan_object, testing::JSON_MAX_DEPTH as MAX_DEPTH};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// An object's members in document order, duplicates kept, values as raw text.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push(entry);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The deepest nesting of containers in a document that serde_json has read as valid JSON
/// (strings skipped), the top-level object counting as 1.
fn depth(doc: &str) -> usize {
    let (mut level, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in doc.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                level += 1;
                deepest = deepest.max(level);
            }
            b'}' | b']' => level = level.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn kind_of(raw: &str) -> Kind {
    match raw.as_bytes()[0] {
        b'"' => Kind::String,
        b'{' => Kind::Object,
        b'[' => Kind::Array,
        b't' | b'f' => Kind::Bool,
        b'n' => Kind::Null,
        _ => Kind::Number,
    }
}

/// Runs one input through the target and its oracle; panics on a finding.
pub(crate) fn run(data: &[u8]) {
    let Ok(doc) = std::str::from_utf8(data) else {
        return;
    };
    let ours = scan_object(doc);
    let theirs = serde_json::from_str::<serde_json::Value>(doc);
    let theirs_ok = matches!(&theirs, Ok(v) if v.is_object());
    match &ours {
        Err(e) => {
            assert!(e.offset <= doc.len(), "error offset past the end: {e:?}");
            assert!(!e.reason.is_empty());
            assert!(
                !theirs_ok,
                "we refuse what serde_json accepts ({e}): {doc:?}"
            );
        }
        Ok(members) => {
            if !theirs_ok {
                let limit = theirs
                    .as_ref()
                    .err()
                    .is_some_and(|e| e.to_string().starts_with("recursion limit exceeded"));
                assert!(
                    limit && depth(doc) == MAX_DEPTH + 1,
                    "we accept what serde_json refuses ({:?}): {doc:?}",
                    theirs.err()
                );
            }
            let Members(expected) =
                serde_json::from_str(doc).expect("valid JSON reads as ordered members");
            assert_eq!(members.len(), expected.len(), "member count in {doc:?}");
            for (m, (key, raw)) in members.iter().zip(&expected) {
                assert_eq!(&m.key, key, "key in {doc:?}");
                let span = doc
                    .get(m.span.clone())
                    .unwrap_or_else(|| panic!("span {:?} not in {doc:?}", m.span));
                assert_eq!(span, raw.get(), "raw text of {key:?} in {doc:?}");
                assert_eq!(m.kind, kind_of(raw.get()), "kind of {key:?} in {doc:?}");
                let decoded = (m.kind == Kind::String)
                    .then(|| serde_json::from_str::<String>(raw.get()).expect("a valid string"));
                assert_eq!(m.string, decoded, "string value of {key:?} in {doc:?}");
            }
        }
    }
}
