//! The harness reading a merchant's answer: `Content-Encoding` decoding within the answer cap
//! (`Answer::received`, which the transport builds every answer with), every reading
//! of the body the leak checks make (`leak::Views`: JSON strings, unescaping, percent- and
//! base64-decoding, HTML), `Judge::judge` with the default rules and with a contract that reads
//! the body as JSON, and `KeyMaterial::redact` (what report excerpts go through).
//!
//! Input: two bytes of HTTP status, one selector byte (outcome; bit 0x80: with the contract), one
//! encoding byte, then the body. Encoding 0: none; 1-3: the body is compressed here with gzip,
//! deflate or br and sent so; 4-6: the body bytes are sent as they are under gzip, deflate or br
//! (corrupt data, usually); 7: an encoding nobody knows.
//!
//! Oracle besides "no panic": a body compressed here decodes to itself and is judged exactly as
//! the same body sent plain; an undecodable answer never passes; an answer whose readable text
//! carries the merchant's AES key, the forbidden canary mobile or the case's ciphertext never
//! passes; under the default rules a pass means the status rule held (and for `accept` the
//! mobile is in the body as written or among its JSON strings and numbers, not merely in digit
//! groups or base64); a redacted body carries neither the AES key's base64 or hex forms nor
//! a PEM block.
use std::io::Write;
use std::sync::LazyLock;

use alipay_harness::contract::Contract;
use alipay_harness::judge::{Answer, Judge, Target};
use alipay_harness::leak::KeyMaterial;
use alipay_harness::verdict::Verdict;
use alipay_sim::{Expectation, KeySet, Outcome};

static KEYS: LazyLock<KeySet> = LazyLock::new(KeySet::embedded);
static MATERIAL: LazyLock<KeyMaterial> = LazyLock::new(|| KeyMaterial::from_keys(&KEYS));
static DEFAULT: LazyLock<Judge> =
    LazyLock::new(|| Judge::new(Contract::default(), MATERIAL.clone()));
static CONTRACT: LazyLock<Judge> = LazyLock::new(|| {
    let text = r#"
[accept]
status = [200]
mobile = "/mobile"
[no_mobile]
equals = { "/status" = "no_mobile" }
[platform_error]
status = [422]
code = "/code"
sub_code = "/sub_code"
[retry_later]
code = "/error/code"
required_headers = ["Retry-After"]
[reject]
status = [400, 413]
"#;
    Judge::new(
        Contract::parse("fuzz.toml", text).expect("valid contract"),
        MATERIAL.clone(),
    )
});

const MOBILE: &str = "13812345678";
const CANARY: &str = "13900000000";
const CIPHERTEXT: &str = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY+/==";
/// The harness's default answer cap (`--max-answer-bytes`).
const CAP: usize = 64 * 1024;

fn compress(encoding: &str, body: &[u8]) -> Vec<u8> {
    match encoding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(body).expect("in memory");
            e.finish().expect("in memory")
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(body).expect("in memory");
            e.finish().expect("in memory")
        }
        _ => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 1, 22);
                w.write_all(body).expect("in memory");
            }
            out
        }
    }
}

/// The answer as the transport builds it from what arrived ([`Answer::received`]); `None` when
/// the decoded body is over the cap (a transport error, not an answer).
fn received(status: u16, encoding: Option<&str>, wire: Vec<u8>) -> Option<Answer> {
    let headers = match encoding {
        Some(enc) => vec![
            ("content-encoding".to_string(), enc.to_string()),
            ("retry-after".to_string(), "1".to_string()),
        ],
        None => Vec::new(),
    };
    Answer::received(status, headers, wire, CAP).ok()
}

/// True when `text` gives the mobile: as written, or (a JSON body) in one of its strings or
/// numbers once parsed. Written out here with `serde_json`, not taken from the harness's views.
fn gives_mobile(text: &str) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains(MOBILE),
            serde_json::Value::Number(n) => n.to_string().contains(MOBILE),
            serde_json::Value::Array(a) => a.iter().any(walk),
            serde_json::Value::Object(o) => o.iter().any(|(k, x)| k.contains(MOBILE) || walk(x)),
            _ => false,
        }
    }
    text.contains(MOBILE) || serde_json::from_str(text).is_ok_and(|v: serde_json::Value| walk(&v))
}

/// Runs one input through the target and its oracle; panics on a finding.
pub(crate) fn run(data: &[u8]) {
    let [s1, s2, sel, enc, body @ ..] = data else {
        return;
    };
    let status = 100 + u16::from_be_bytes([*s1, *s2]) % 500;
    let outcome = match sel % 5 {
        0 => Outcome::Accept,
        1 => Outcome::NoMobile,
        2 => Outcome::PlatformError,
        3 => Outcome::RetryLater,
        _ => Outcome::Reject,
    };
    let expected = Expectation {
        outcome,
        mobile: (outcome == Outcome::Accept).then(|| MOBILE.to_string()),
        code: matches!(outcome, Outcome::PlatformError | Outcome::RetryLater)
            .then(|| "40003".to_string()),
        sub_code: (outcome == Outcome::PlatformError)
            .then(|| "isv.invalid-auth-relations".to_string()),
    };
    let forbidden = [CANARY.to_string()];
    let target = Target {
        case_id: "fuzz.judge",
        expected: &expected,
        forbidden: &forbidden,
        ciphertext: Some(CIPHERTEXT),
        refusal_allowed: sel & 0x40 != 0,
    };
    let with_contract = sel & 0x80 != 0;
    let judge = if with_contract { &*CONTRACT } else { &*DEFAULT };

    let encodings = ["gzip", "deflate", "br"];
    let (encoding, wire, compressed_here) = match enc % 8 {
        0 => (None, body.to_vec(), false),
        n @ 1..=3 => {
            let e = encodings[usize::from(n - 1)];
            (Some(e), compress(e, body), true)
        }
        n @ 4..=6 => (Some(encodings[usize::from(n - 4)]), body.to_vec(), false),
        _ => (Some("compress"), body.to_vec(), false),
    };
    let Some(answer) = received(status, encoding, wire) else {
        assert!(
            !compressed_here || body.len() > CAP,
            "{} bytes compressed here were refused as too large",
            body.len()
        );
        return;
    };
    let j = judge.judge(&target, &answer);
    assert!(!j.reason.is_empty());
    if compressed_here {
        assert_eq!(
            answer.undecodable, None,
            "our own {encoding:?} did not decode"
        );
        assert_eq!(answer.body, body, "{encoding:?} did not round-trip");
        let plain = received(status, Some("identity"), body.to_vec()).expect("identity");
        let p = judge.judge(&target, &plain);
        assert_eq!(
            j.verdict, p.verdict,
            "judged differently through {encoding:?}: {} / {}",
            j.reason, p.reason
        );
    }

    let text = String::from_utf8_lossy(&answer.body);
    if j.verdict == Verdict::Pass {
        assert_eq!(answer.undecodable, None, "an undecodable answer passed");
        assert!(!text.contains(CANARY), "the canary passed: {text:?}");
        assert!(
            !text.contains(CIPHERTEXT),
            "a ciphertext echo passed: {text:?}"
        );
        assert!(
            !text.contains(KEYS.aes.to_base64().trim_end_matches('=')),
            "the AES key passed: {text:?}"
        );
        if !with_contract && !target.refusal_allowed {
            // Written out here, not taken from the judge: a final answer is 2xx or 4xx, never a
            // 1xx or a redirect.
            let final_ = (200..300).contains(&status) || (400..500).contains(&status);
            let ok = match outcome {
                Outcome::Accept => (200..300).contains(&status) && gives_mobile(&text),
                Outcome::NoMobile | Outcome::PlatformError => final_,
                Outcome::RetryLater => final_ || status == 503,
                Outcome::Reject => (400..500).contains(&status),
            };
            assert!(ok, "{outcome} passed with status {status} and {text:?}");
        }
    }

    let redacted = MATERIAL.redact(&text);
    let b64 = KEYS.aes.to_base64();
    let hex: String = KEYS
        .aes
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        !redacted.contains(b64.trim_end_matches('=')),
        "the AES key (base64) survives redaction: {redacted:?}"
    );
    assert!(
        !redacted.to_ascii_lowercase().contains(&hex),
        "the AES key (hex) survives redaction: {redacted:?}"
    );
    assert!(
        !redacted.contains("-----BEGIN"),
        "a PEM block survives redaction: {redacted:?}"
    );
}
