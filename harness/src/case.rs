//! A harness case: a catalogue [`Scenario`] built with a [`KeySet`] into the exact body to send,
//! plus what judging needs (expectation, canary, the ciphertext that must never come back).

use alipay_sim::crypto::SignType;
use alipay_sim::keys::KeySet;
use alipay_sim::scenario::{
    BugClass, Expectation, Kind, MerchantProfile, Outcome, Scenario, Severity,
};

use crate::verdict::CaseKind;

/// How the endpoint under test is configured (`--merchant-signing`, `--merchant-aes-bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointProfile {
    /// The signature type the endpoint verifies; `None` when it has no signing configured.
    pub signing: Option<SignType>,
    /// The AES key size the endpoint decrypts with.
    pub aes_bits: usize,
}

impl EndpointProfile {
    /// The standard configuration: RSA2 and AES-128.
    pub const STANDARD: EndpointProfile = EndpointProfile {
        signing: Some(SignType::Rsa2),
        aes_bits: 128,
    };

    /// `None` when a case with `profile` applies to this endpoint, else why it does not.
    pub fn mismatch(&self, profile: &MerchantProfile) -> Option<String> {
        if !profile.any_signing && profile.verifies != self.signing {
            return Some(match profile.verifies {
                Some(t) => format!("needs a merchant configured with {t} signing"),
                None => "needs a merchant configured without signing".to_string(),
            });
        }
        match profile.aes_bits {
            Some(bits) if bits != self.aes_bits => Some(format!(
                "needs a merchant configured with an AES-{bits} key"
            )),
            _ => None,
        }
    }
}

/// One runnable case built from a scenario.
#[derive(Debug, Clone)]
pub struct HarnessCase {
    /// Stable id.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Platform or tamper.
    pub kind: CaseKind,
    /// Severity of a failure.
    pub severity: Severity,
    /// Bug class of a failure.
    pub bug_class: BugClass,
    /// Why a correct merchant must behave as expected.
    pub why: String,
    /// How to fix a failure.
    pub fix: String,
    /// Which merchant configurations the case applies to.
    pub profile: MerchantProfile,
    /// The envelope text (the body in raw delivery).
    pub envelope: String,
    /// The envelope is a JSON object rather than a string when embedded in a JSON field.
    pub response_is_object: bool,
    /// `Content-Type` to deliver with instead of the delivery's default.
    pub content_type: Option<String>,
    /// What a correct merchant concludes.
    pub expected: Expectation,
    /// A mobile that must never appear in the answer.
    pub canary: Option<String>,
    /// The base64 ciphertext carried in the envelope, which must never be echoed.
    pub ciphertext: Option<String>,
    /// The envelope is an unsigned platform error (40001, 40002, the unencrypted 20000): a
    /// merchant with an Alipay public key configured may report it or refuse it.
    pub unsigned_error: bool,
}

/// Ciphertexts shorter than this are not checked for echo (too likely to occur by chance).
const MIN_ECHO_LEN: usize = 24;

impl HarnessCase {
    /// Builds the case for `scenario` with `keys`.
    pub fn from_scenario(scenario: &Scenario, keys: &KeySet) -> Self {
        let built = scenario.build(keys);
        let parsed = serde_json::from_str::<serde_json::Value>(&built.body).ok();
        let ciphertext = parsed
            .as_ref()
            .and_then(|v| v.get("response").and_then(|r| r.as_str()).map(String::from))
            .filter(|c| c.len() >= MIN_ECHO_LEN);
        let unsigned_error = matches!(
            built.expected.outcome,
            Outcome::PlatformError | Outcome::RetryLater
        ) && parsed
            .as_ref()
            .is_some_and(|v| v.is_object() && v.get("sign").is_none());
        HarnessCase {
            id: scenario.id.clone(),
            title: scenario.title.clone(),
            kind: match scenario.kind() {
                Kind::Platform => CaseKind::Platform,
                Kind::Tamper => CaseKind::Tamper,
            },
            severity: scenario.severity,
            bug_class: scenario.bug_class,
            why: if scenario.why.trim().is_empty() {
                scenario.models.clone()
            } else {
                scenario.why.clone()
            },
            fix: scenario.remediation.clone(),
            profile: scenario.merchant_profile(),
            envelope: built.body,
            response_is_object: built.response_is_object,
            content_type: built.content_type,
            expected: built.expected,
            canary: built.canary,
            ciphertext,
            unsigned_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alipay_sim::scenario::Catalogue;

    #[test]
    fn tamper_case_has_canary_and_ciphertext() {
        let cat = Catalogue::embedded();
        let keys = KeySet::embedded();
        let c = HarnessCase::from_scenario(cat.get("tamper.signature.bit-flip").unwrap(), &keys);
        assert_eq!(c.kind, CaseKind::Tamper);
        assert_eq!(c.expected.outcome, Outcome::Reject);
        let canary = c.canary.clone().unwrap();
        assert!(c.envelope.len() > 100);
        assert!(!c.envelope.contains(&canary), "the canary is encrypted");
        assert!(c.ciphertext.is_some());
        assert_eq!(EndpointProfile::STANDARD.mismatch(&c.profile), None);
    }

    #[test]
    fn profiles_decide_skips() {
        let cat = Catalogue::embedded();
        let keys = KeySet::embedded();
        let unsigned =
            HarnessCase::from_scenario(cat.get("platform.success.unsigned").unwrap(), &keys);
        assert_eq!(
            EndpointProfile::STANDARD
                .mismatch(&unsigned.profile)
                .as_deref(),
            Some("needs a merchant configured without signing")
        );
        let aes256 =
            HarnessCase::from_scenario(cat.get("platform.success.aes-256").unwrap(), &keys);
        assert!(
            EndpointProfile::STANDARD
                .mismatch(&aes256.profile)
                .unwrap()
                .contains("AES-256")
        );
        let ok = EndpointProfile {
            signing: Some(SignType::Rsa2),
            aes_bits: 256,
        };
        assert_eq!(ok.mismatch(&aes256.profile), None);
    }

    #[test]
    fn unsigned_platform_errors_are_marked_and_signed_ones_are_not() {
        let cat = Catalogue::embedded();
        let keys = KeySet::embedded();
        let marked: Vec<String> = cat
            .scenarios()
            .iter()
            .map(|s| HarnessCase::from_scenario(s, &keys))
            .filter(|c| c.unsigned_error)
            .map(|c| c.id)
            .collect();
        assert_eq!(
            marked,
            vec![
                "platform.busy.20000-unencrypted",
                "platform.error.40001-missing-default-signature-type",
                "platform.error.40001-missing-encrypt-key",
                "platform.error.40001-missing-encrypt-key-bare",
                "platform.error.40002-invalid-encrypt",
            ]
        );
    }
}
