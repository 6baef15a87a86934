//! `alipay_sim::json::scan_object` differentially against serde_json.
//!
//! serde_json is the oracle, used so that it keeps every top-level member in order, duplicates
//! included, with its raw text (`RawValue`), and then again on every nested object, array and
//! string. The two must take the same accept/refuse decision and, when they accept, give the
//! same members: same keys in the same order, the same raw text for each value (our span), the
//! same type, and the same decoded string for string values.
//!
//! Where our scanner deliberately differs, the rule is encoded here:
//! - nesting: we refuse more than `json::MAX_DEPTH` levels (64, the top object counting as one);
//!   serde_json allows 128;
//! - numbers: we check their syntax only (a merchant never reads a number from the envelope),
//!   so `1e999` is accepted; serde_json's `Value` would refuse it as out of range, which is why
//!   the oracle skips numbers as raw text (syntax checked) instead of reading them;
//! - duplicate keys: the scanner returns both members (the opener refuses the envelope, see
//!   `open_envelope`); serde_json's map would keep the last one, so the oracle collects the
//!   members itself, in order.

use std::fmt;

use alipay_sim::json::{Kind, MAX_DEPTH, scan_object};
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

/// Checks a raw value completely (strings decoded, containers descended); returns the deepest
/// container level reached, `level` being this value's own level if it is a container.
fn check(raw: &str, level: usize) -> Result<usize, serde_json::Error> {
    match raw.as_bytes()[0] {
        b'{' => {
            let Members(ms) = serde_json::from_str(raw)?;
            let mut deepest = level;
            for (_, v) in ms {
                deepest = deepest.max(check(v.get(), level + 1)?);
            }
            Ok(deepest)
        }
        b'[' => {
            let items: Vec<Box<RawValue>> = serde_json::from_str(raw)?;
            let mut deepest = level;
            for v in items {
                deepest = deepest.max(check(v.get(), level + 1)?);
            }
            Ok(deepest)
        }
        b'"' => serde_json::from_str::<String>(raw).map(|_| level - 1),
        _ => Ok(level - 1),
    }
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
pub fn run(data: &[u8]) {
    let Ok(doc) = std::str::from_utf8(data) else {
        return;
    };
    let ours = scan_object(doc);
    let theirs = serde_json::from_str::<Members>(doc).and_then(|Members(ms)| {
        let mut deepest = 1;
        for (_, v) in &ms {
            deepest = deepest.max(check(v.get(), 2)?);
        }
        Ok((ms, deepest))
    });
    match (&ours, theirs) {
        (Err(e), Err(_)) => {
            assert!(e.offset <= doc.len(), "error offset past the end: {e:?}");
        }
        (Err(e), Ok((_, deepest))) => {
            assert!(
                deepest > MAX_DEPTH && e.reason.contains("too deep"),
                "we refuse what serde_json accepts ({deepest} levels): {e} in {doc:?}"
            );
        }
        (Ok(_), Err(e)) => panic!("we accept what serde_json refuses ({e}): {doc:?}"),
        (Ok(members), Ok((theirs, deepest))) => {
            assert!(deepest <= MAX_DEPTH, "we accept {deepest} levels: {doc:?}");
            assert_eq!(members.len(), theirs.len(), "member count in {doc:?}");
            for (m, (key, raw)) in members.iter().zip(&theirs) {
                assert_eq!(&m.key, key, "key in {doc:?}");
                let span = doc
                    .get(m.span.clone())
                    .unwrap_or_else(|| panic!("span {:?} not in {doc:?}", m.span));
                assert_eq!(span, raw.get(), "raw text of {key:?} in {doc:?}");
                assert_eq!(m.kind, kind_of(raw.get()), "kind of {key:?} in {doc:?}");
                let decoded = (m.kind == Kind::String)
                    .then(|| serde_json::from_str::<String>(raw.get()).expect("checked above"));
                assert_eq!(m.string, decoded, "string value of {key:?} in {doc:?}");
            }
        }
    }
}
