//! Key loading: RSA private and public keys in PEM (PKCS#8, PKCS#1, SPKI) and the console's
//! one-line base64 DER form, and the base64 AES key, as read from `keys/` files, `--keys DIR`
//! and the admin API.
//!
//! Input: one selector byte (private, public, AES), then the text. Oracle besides "no panic":
//! an error names the key it was about; a key that parses survives the round trip through its
//! one-line and PEM forms unchanged (these are what the bundle and the page hand out, and their
//! encoders `expect` a valid key).

use alipay_sim::{
    AesKey, parse_private_key, parse_public_key, public_key_one_line, public_key_pem,
};

const WHAT: &str = "fuzzed key";

fn round_trip(one_line: String) {
    let pem = public_key_pem(&parse_public_key(&one_line, WHAT).expect("our one-line form parses"));
    let again = parse_public_key(&pem, WHAT).expect("our PEM form parses");
    assert_eq!(
        public_key_one_line(&again),
        one_line,
        "PEM round trip changed the key"
    );
}

/// Runs one input through the target and its oracle; panics on a finding.
pub(crate) fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match sel % 3 {
        0 => match parse_private_key(text, WHAT) {
            Ok(key) => round_trip(public_key_one_line(&key.to_public_key())),
            Err(e) => assert!(e.to_string().contains(WHAT), "{e}"),
        },
        1 => match parse_public_key(text, WHAT) {
            Ok(key) => round_trip(public_key_one_line(&key)),
            Err(e) => assert!(e.to_string().contains(WHAT), "{e}"),
        },
        _ => match AesKey::from_base64(text) {
            Ok(key) => {
                assert!(matches!(key.bits(), 128 | 192 | 256), "{} bits", key.bits());
                let again = AesKey::from_base64(&key.to_base64()).expect("our base64 parses");
                assert_eq!(again.as_bytes(), key.as_bytes());
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        },
    }
}
