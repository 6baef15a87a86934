//! What the harness adds to a built case ([`Built`], the library's one struct for a case's
//! fields): whether it applies to the endpoint's declared configuration ([`EndpointProfile`]),
//! the ciphertext that must never come back ([`echo_ciphertext`]) and whether it is an unsigned
//! platform error a verifying merchant may refuse ([`is_unsigned_error`]).

use alipay_sim::{AesSize, Built, MerchantProfile, Outcome, Signing};

/// How the endpoint under test is configured (`--merchant-signing`, `--merchant-aes-bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointProfile {
    /// The signing the endpoint is configured with ([`Signing::None`]: no Alipay public key).
    pub signing: Signing,
    /// The AES key size the endpoint decrypts with.
    pub aes_bits: AesSize,
}

impl EndpointProfile {
    /// The standard configuration: RSA2 and AES-128.
    pub const STANDARD: EndpointProfile = EndpointProfile {
        signing: Signing::Rsa2,
        aes_bits: AesSize::Aes128,
    };

    /// `None` when a case with `profile` applies to this endpoint, else why it does not
    /// ([`MerchantProfile::mismatch`]).
    pub fn mismatch(&self, profile: &MerchantProfile) -> Option<String> {
        profile.mismatch(self.signing, self.aes_bits)
    }
}

/// Ciphertexts shorter than this are not checked for echo (too likely to occur by chance).
const MIN_ECHO_LEN: usize = 24;

/// The base64 ciphertext of `case` that the answer must never echo: [`Built::ciphertext`], when
/// it is long enough not to occur by chance.
pub fn echo_ciphertext(case: &Built) -> Option<String> {
    case.ciphertext().filter(|c| c.len() >= MIN_ECHO_LEN)
}

/// `case` is an unsigned platform error (40001, 40002, the unencrypted 20000): a merchant with an
/// Alipay public key configured may report it or refuse it.
pub fn is_unsigned_error(case: &Built) -> bool {
    matches!(
        case.expected.outcome,
        Outcome::PlatformError | Outcome::RetryLater
    ) && !case.signed
}

#[cfg(test)]
mod tests {
    use super::*;
    use alipay_sim::{Catalogue, KeySet, Kind};

    #[test]
    fn tamper_case_has_canary_and_ciphertext() {
        let cat = Catalogue::embedded();
        let keys = KeySet::embedded();
        let c = cat.get("tamper.signature.bit-flip").unwrap().build(&keys);
        assert_eq!(c.kind, Kind::Tamper);
        assert_eq!(c.expected.outcome, Outcome::Reject);
        let canary = c.canary.clone().unwrap();
        assert!(c.body.len() > 100);
        assert!(!c.body.contains(&canary), "the canary is encrypted");
        assert!(echo_ciphertext(&c).is_some());
        // A short ciphertext is not checked for echo.
        let mut short = c.clone();
        short.body = r#"{"response":"AAAA","sign":"x"}"#.into();
        assert_eq!(short.ciphertext().as_deref(), Some("AAAA"));
        assert_eq!(echo_ciphertext(&short), None);
        assert_eq!(EndpointProfile::STANDARD.mismatch(&c.profile), None);
    }

    #[test]
    fn profiles_decide_skips() {
        let cat = Catalogue::embedded();
        let keys = KeySet::embedded();
        let unsigned = cat.get("platform.success.unsigned").unwrap().build(&keys);
        assert_eq!(
            EndpointProfile::STANDARD
                .mismatch(&unsigned.profile)
                .as_deref(),
            Some("needs a merchant configured without signing")
        );
        let aes256 = cat.get("platform.success.aes-256").unwrap().build(&keys);
        assert!(
            EndpointProfile::STANDARD
                .mismatch(&aes256.profile)
                .unwrap()
                .contains("AES-256")
        );
        let ok = EndpointProfile {
            signing: Signing::Rsa2,
            aes_bits: AesSize::Aes256,
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
            .map(|s| s.build(&keys))
            .filter(is_unsigned_error)
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
