//! The harness reading a merchant's answer: `Judge::judge` (leak checks, status and content rules,
//! with the default rules or a contract that reads the body as JSON) and `KeyMaterial::redact`
//! (what excerpts in reports go through).
//!
//! Input: two bytes of HTTP status, one selector byte (outcome, contract), then the body bytes as
//! received. Oracle besides "no panic": an answer that carries the merchant's AES key, the
//! forbidden canary mobile or the case's ciphertext never passes; under the default rules a pass
//! means the status rule held (and for `accept` the mobile is in the body); a redacted body
//! carries no key material and no PEM block.

use std::sync::LazyLock;

use alipay_harness::case::KeyMaterial;
use alipay_harness::contract::Contract;
use alipay_harness::judge::{Answer, Judge, Target};
use alipay_harness::verdict::Verdict;
use alipay_sim::keys::KeySet;
use alipay_sim::scenario::{Expectation, Outcome};

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

/// Runs one input through the target and its oracle; panics on a finding.
pub fn run(data: &[u8]) {
    let [s1, s2, sel, body @ ..] = data else {
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
        expected: &expected,
        forbidden: &forbidden,
        ciphertext: Some(CIPHERTEXT),
    };
    let with_contract = sel & 0x80 != 0;
    let judge = if with_contract { &*CONTRACT } else { &*DEFAULT };
    let answer = Answer {
        status,
        body: body.to_vec(),
    };
    let j = judge.judge(&target, &answer);
    assert!(!j.reason.is_empty());

    let text = String::from_utf8_lossy(body);
    if j.verdict == Verdict::Pass {
        assert!(!text.contains(CANARY), "the canary passed: {text:?}");
        assert!(
            !text.contains(CIPHERTEXT),
            "a ciphertext echo passed: {text:?}"
        );
        assert!(
            !text.contains(&KEYS.aes.to_base64()),
            "the AES key passed: {text:?}"
        );
        if !with_contract {
            let ok = match outcome {
                Outcome::Accept => (200..300).contains(&status) && text.contains(MOBILE),
                Outcome::NoMobile | Outcome::PlatformError => status < 500,
                Outcome::RetryLater => status < 500 || status == 503,
                Outcome::Reject => (400..500).contains(&status),
            };
            assert!(ok, "{outcome} passed with status {status} and {text:?}");
        }
    }

    let redacted = MATERIAL.redact(&text);
    assert_eq!(
        MATERIAL.found_in(&redacted),
        None,
        "key material survives redaction: {redacted:?}"
    );
    assert!(
        !redacted.contains("-----BEGIN"),
        "a PEM block survives redaction: {redacted:?}"
    );
}
