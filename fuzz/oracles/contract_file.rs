//! A contract file (`alipay-harness run --contract FILE`).
//!
//! Oracle besides "no panic": an error names the file (and says what is wrong); a contract that parses is
//! usable by the judge (one answer judged under each of its outcome rules).

use std::sync::LazyLock;

use alipay_harness::contract::Contract;
use alipay_harness::judge::{Answer, Judge, Target};
use alipay_harness::leak::KeyMaterial;
use alipay_sim::{Expectation, KeySet, Outcome};

static KEYS: LazyLock<KeyMaterial> = LazyLock::new(|| KeyMaterial::from_keys(&KeySet::embedded()));

const PATH: &str = "fuzz/contract.toml";

/// Runs one input through the target and its oracle; panics on a finding.
pub(crate) fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Contract::parse(PATH, text) {
        Err(e) => {
            assert_eq!(e.path, PATH, "{e}");
            assert!(!e.message.is_empty(), "{e}");
        }
        Ok(contract) => {
            let judge = Judge::new(contract, KEYS.clone());
            let answer = Answer::new(
                200,
                br#"{"mobile":"13812345678","code":"40003","sub_code":"x"}"#.to_vec(),
            );
            for outcome in [
                Outcome::Accept,
                Outcome::NoMobile,
                Outcome::PlatformError,
                Outcome::RetryLater,
                Outcome::Reject,
            ] {
                let expected = Expectation {
                    outcome,
                    mobile: (outcome == Outcome::Accept).then(|| "13812345678".to_string()),
                    code: Some("40003".to_string()),
                    sub_code: Some("x".to_string()),
                };
                let target = Target {
                    case_id: "fuzz.contract",
                    expected: &expected,
                    forbidden: &[],
                    ciphertext: None,
                    refusal_allowed: false,
                };
                let j = judge.judge(&target, &answer);
                assert!(!j.reason.is_empty());
                assert!(!judge.expected(&target).description.is_empty());
            }
        }
    }
}
