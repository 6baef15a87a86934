//! A harness case: a catalogue [`Scenario`] built with a [`KeySet`] into the exact body to send,
//! plus what judging needs (expectation, canary, the secrets that must never come back).

use alipay_sim::crypto::SignType;
use alipay_sim::keys::KeySet;
use alipay_sim::platform;
use alipay_sim::scenario::{BugClass, Expectation, Kind, MerchantProfile, Scenario, Severity};

use crate::verdict::CaseKind;

/// How the endpoint under test is configured (`--merchant-signing`, `--merchant-aes-bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointProfile {
    /// The signature type the endpoint verifies; `None` when it has no signing configured.
    pub signing: Option<SignType>,
    /// The AES key size the endpoint decrypts with.
    pub aes_bits: usize,
    /// The endpoint declared certificate mode (`--merchant-signing cert`).
    pub cert_mode: bool,
}

impl EndpointProfile {
    /// The standard configuration: RSA2 and AES-128.
    pub const STANDARD: EndpointProfile = EndpointProfile {
        signing: Some(SignType::Rsa2),
        aes_bits: 128,
        cert_mode: false,
    };

    /// `None` when a case with `profile` applies to this endpoint, else why it does not.
    pub fn mismatch(&self, profile: &MerchantProfile) -> Option<String> {
        if profile.cert_mode && !self.cert_mode {
            return Some(
                "needs a merchant in certificate mode (--merchant-signing cert)".to_string(),
            );
        }
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

/// Secrets of the merchant configuration that no answer may contain.
#[derive(Debug, Clone)]
pub struct KeyMaterial {
    needles: Vec<Needle>,
}

/// One forbidden string and what it is.
#[derive(Debug, Clone)]
struct Needle {
    text: String,
    what: &'static str,
    case_insensitive: bool,
}

impl KeyMaterial {
    /// The AES keys (128, 192 and 256 bits) a merchant of `keys` may hold, in base64 (also with
    /// `\/` as some JSON encoders write `/`) and in hex.
    pub fn from_keys(keys: &KeySet) -> Self {
        let mut needles = Vec::new();
        for bits in [128, 192, 256] {
            let key = platform::aes_key_for(keys, bits);
            let b64 = key.to_base64();
            if b64.contains('/') {
                needles.push(Needle {
                    text: b64.replace('/', "\\/"),
                    what: "the AES key (base64)",
                    case_insensitive: false,
                });
            }
            needles.push(Needle {
                text: b64,
                what: "the AES key (base64)",
                case_insensitive: false,
            });
            let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
            needles.push(Needle {
                text: hex,
                what: "the AES key (hex)",
                case_insensitive: true,
            });
        }
        Self { needles }
    }

    /// What key material `body` contains, if any.
    pub fn found_in(&self, body: &str) -> Option<&'static str> {
        let lower = body.to_ascii_lowercase();
        self.needles.iter().find_map(|n| {
            let hay = if n.case_insensitive { &lower } else { body };
            hay.contains(&n.text).then_some(n.what)
        })
    }

    /// `text` with every key occurrence replaced by `[REDACTED ...]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            let marker = format!("[REDACTED {}]", n.what);
            if n.case_insensitive {
                while let Some(at) = out.to_ascii_lowercase().find(&n.text) {
                    out.replace_range(at..at + n.text.len(), &marker);
                }
            } else {
                out = out.replace(&n.text, &marker);
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
}

/// Ciphertexts shorter than this are not checked for echo (too likely to occur by chance).
const MIN_ECHO_LEN: usize = 24;

impl HarnessCase {
    /// Builds the case for `scenario` with `keys`.
    pub fn from_scenario(scenario: &Scenario, keys: &KeySet) -> Self {
        let built = scenario.build(keys);
        let ciphertext = serde_json::from_str::<serde_json::Value>(&built.body)
            .ok()
            .and_then(|v| v.get("response").and_then(|r| r.as_str()).map(String::from))
            .filter(|c| c.len() >= MIN_ECHO_LEN);
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alipay_sim::scenario::{Catalogue, Outcome};

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
            cert_mode: false,
        };
        assert_eq!(ok.mismatch(&aes256.profile), None);
    }

    #[test]
    fn key_material_found_and_redacted_in_every_form() {
        let keys = KeySet::embedded();
        let km = KeyMaterial::from_keys(&keys);
        let b64 = keys.aes.to_base64();
        let hex: String = keys
            .aes
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        for body in [
            format!("error: key {b64} bad"),
            format!("key={hex}"),
            format!("{{\"k\":\"{}\"}}", b64.replace('/', "\\/")),
        ] {
            assert!(km.found_in(&body).is_some(), "{body}");
            let red = km.redact(&body);
            assert!(km.found_in(&red).is_none(), "{red}");
            assert!(red.contains("[REDACTED"), "{red}");
        }
        assert_eq!(km.found_in("{\"status\":\"ok\"}"), None);
        let pem = "a -----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY----- b";
        assert_eq!(km.redact(pem), "a [REDACTED PEM block] b");
        assert_eq!(km.redact("x -----BEGIN RSA"), "x [REDACTED PEM block]");
    }
}
