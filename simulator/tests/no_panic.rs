//! Property tests: random bytes never make the opener, the JSON scanner, the key parsers or the
//! scenario loader panic; they return typed errors.

use alipay_sim::{Catalogue, KeySet, Opener, parse_private_key, parse_public_key};
use proptest::prelude::*;

fn opener() -> Opener {
    let k = KeySet::embedded();
    Opener::new(Some(k.platform.verifier.clone()), Some(k.aes.clone()))
}

/// Strings that look like envelopes: JSON punctuation, keys we read, base64 characters.
fn envelope_like() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "\\",
        "\\u00",
        "\\ud800",
        "response",
        "sign",
        "sign_type",
        "RSA2",
        "RSA",
        "charset",
        "encrypt_type",
        "AES",
        "code",
        "10000",
        "mobile",
        "AAAA",
        "+/==",
        "=",
        " ",
        "\n",
        "null",
        "true",
        "1e999",
        "-0",
        "中",
        "\u{0}",
    ]);
    prop::collection::vec(atoms, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn opener_never_panics_on_random_text(s in ".*") {
        let _ = opener().open(&s);
    }

    #[test]
    fn opener_never_panics_on_envelope_like_text(s in envelope_like()) {
        let _ = opener().open(&s);
    }

    #[test]
    fn scanner_agrees_with_serde_on_objects(s in envelope_like()) {
        let ours = alipay_sim::json::scan_object(&s).is_ok();
        let theirs = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&s).is_ok();
        // serde_json accepts duplicate keys and numbers out of f64 range; we accept the same
        // syntax, so a document valid for serde_json is valid for us and vice versa.
        prop_assert_eq!(ours, theirs, "{:?}", s);
    }

    #[test]
    fn key_parsers_never_panic(s in ".*", b in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_private_key(&s, "k");
        let _ = parse_public_key(&s, "k");
        let text = String::from_utf8_lossy(&b);
        let _ = parse_private_key(&format!("-----BEGIN PRIVATE KEY-----\n{text}\n-----END PRIVATE KEY-----"), "k");
        let b64 = base64_of(&b);
        let _ = parse_public_key(&b64, "k");
        let _ = parse_private_key(&b64, "k");
        let _ = alipay_sim::AesKey::from_base64(&s);
    }

    #[test]
    fn scenario_loader_never_panics(s in ".*", t in envelope_like()) {
        for text in [s, t, format!("id = \"x.y\"\n{}", "[expect]\noutcome = \"accept\"")] {
            let _ = Catalogue::from_sources([("f.toml".to_string(), text)]);
        }
    }

    #[test]
    fn mutated_genuine_envelopes_never_open_to_a_different_mobile(
        pos in 0usize..400, byte in any::<u8>()
    ) {
        let k = KeySet::embedded();
        let env = alipay_sim::seal(
            &alipay_sim::Payload::Mobile("13800000000".into()).to_json(),
            &alipay_sim::SealOptions::standard(&k.aes, &k.platform.signer),
        ).envelope;
        let mut bytes = env.into_bytes();
        let i = pos % bytes.len();
        bytes[i] = byte;
        if let Ok(text) = String::from_utf8(bytes)
            && let Ok(o) = opener().open(&text)
        {
            prop_assert_eq!(o.result, alipay_sim::Opened::Mobile("13800000000".into()));
        }
    }
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
