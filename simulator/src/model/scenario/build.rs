//! Turning a scenario into the exact body a merchant receives: a [`Built`] case, the one struct
//! that carries a case's fields (fixture files serialise it, the harness and the server send it).

pub(crate) use super::KeyRole;
use super::tamper::{self, Parts};
use super::{
    BugClass, Expectation, Kind, MerchantProfile, MobileSpec, Outcome, Scenario, Severity,
};
use crate::model::mobile::SplitMix64;
use crate::model::platform::{self, Decision};
use crate::protocol::crypto::{AesKey, SignType};
use crate::protocol::keys::KeySet;
use crate::protocol::payload::{EmptyMobileForm, Payload, PlatformError};

/// A built case: what it is (id, title, kind, severity, ...), the exact body, and everything
/// needed to judge the answer. Fixture files ([`crate::tools::fixture::Fixture`]) are this struct
/// serialised; the harness sends [`Built::body`] and judges against [`Built::expected`].
#[derive(Debug, Clone)]
pub struct Built {
    /// The scenario's stable dotted id.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Platform or tamper.
    pub kind: Kind,
    /// How severe a failure of this case is.
    pub severity: Severity,
    /// The class of bug a failure reveals.
    pub bug_class: BugClass,
    /// Why a correct merchant must behave as expected (the scenario's `why`, or what it
    /// `models` when the file gives no `why`).
    pub why: String,
    /// Which console step or code change fixes a failure.
    pub remediation: String,
    /// Where the behaviour is documented.
    pub source: String,
    /// Which merchant configurations the case applies to.
    pub profile: MerchantProfile,
    /// The body the merchant receives (for platform cases: the `res.response` string).
    pub body: String,
    /// The success callback's `response` is an object (the body is its JSON text).
    pub response_is_object: bool,
    /// The plaintext inside, when there is one.
    pub plaintext: Option<String>,
    /// The payload is AES-encrypted.
    pub encrypted: bool,
    /// The envelope carries `sign`.
    pub signed: bool,
    /// The algorithm of `sign`.
    pub sign_type: Option<SignType>,
    /// What a correct merchant concludes.
    pub expected: Expectation,
    /// A mobile that must never appear in the merchant's answer (tamper cases).
    pub canary: Option<String>,
    /// `Content-Type` to deliver with, when not `application/json`.
    pub content_type: Option<String>,
    /// The AES key the merchant is configured with for this case.
    pub merchant_aes: Option<AesKey>,
    /// Who signed, if anyone.
    pub signed_with: Option<KeyRole>,
}

impl Scenario {
    /// Builds the case with `keys`. Deterministic: the same scenario and keys give the same bytes.
    pub fn build(&self, keys: &KeySet) -> Built {
        let flags = self
            .tamper
            .as_ref()
            .map(|t| t.flags.as_slice())
            .unwrap_or(&[]);
        let rejecting = flags.iter().any(|f| f.rejecting());
        let mut numbers = SplitMix64::from_text(&if rejecting {
            format!("{}#canary", self.id)
        } else {
            self.id.clone()
        });
        let wants_plus_slash = !matches!(self.user.mobile, MobileSpec::Literal(_));
        let mut attempt = 0usize;
        let (decision, sealed) = loop {
            let mobile = match &self.user.mobile {
                MobileSpec::Mainland => platform::Mobile::Number(numbers.mainland()),
                MobileSpec::Overseas => platform::Mobile::Number(numbers.overseas()),
                MobileSpec::Empty => platform::Mobile::Empty(EmptyMobileForm::EmptyString),
                MobileSpec::Absent => platform::Mobile::Empty(EmptyMobileForm::Absent),
                MobileSpec::Literal(m) => platform::Mobile::Number(m.clone()),
            };
            let mut decision: Decision = self.decide(mobile);
            if let Some(p) = &self.payload {
                decision.payload = Payload::Error(PlatformError {
                    code: p.code.clone(),
                    msg: p.msg.clone(),
                    sub_code: p.sub_code.clone(),
                    sub_msg: p.sub_msg.clone(),
                });
            }
            let sealed = decision.seal(keys);
            attempt += 1;
            // Form-decoding merchants turn '+' into ' ': every success ciphertext must contain
            // both '+' and '/', so keep drawing numbers until it does.
            let is_success = matches!(decision.payload, Payload::Mobile(_));
            let ct_ok = sealed
                .ciphertext
                .as_deref()
                .is_none_or(|c| c.contains('+') && c.contains('/'));
            if !is_success || !wants_plus_slash || ct_ok || attempt > 10_000 {
                break (decision, sealed);
            }
        };

        let plaintext = decision.payload.to_json();
        let expected = expectation(&decision.payload);
        let merchant_aes = decision.encryption.map(|size| keys.aes.of_size(size));
        let mut built = Built {
            id: self.id.clone(),
            title: self.title.clone(),
            kind: self.kind(),
            severity: self.severity,
            bug_class: self.bug_class,
            why: if self.why.trim().is_empty() {
                self.models.clone()
            } else {
                self.why.clone()
            },
            remediation: self.remediation.clone(),
            source: self.source.clone(),
            profile: self.merchant_profile(),
            body: sealed.envelope.clone(),
            response_is_object: sealed.response_is_object,
            plaintext: Some(plaintext.clone()),
            encrypted: sealed.ciphertext.is_some(),
            signed: sealed.sign.is_some(),
            sign_type: sealed.sign.as_ref().and(decision.sign_type),
            expected,
            canary: None,
            content_type: self.tamper.as_ref().and_then(|t| t.content_type.clone()),
            merchant_aes,
            signed_with: sealed.sign.as_ref().map(|_| KeyRole::Platform),
        };
        if self.kind() == Kind::Tamper && !flags.is_empty() {
            let canary = match &decision.payload {
                Payload::Mobile(m) => Some(m.clone()),
                _ => None,
            };
            let mut parts = Parts::from_sealed(&sealed, decision.fields);
            let mut plaintext = Some(plaintext);
            for flag in flags {
                tamper::apply(*flag, &mut parts, &mut plaintext, keys);
            }
            built.body = parts.render();
            built.encrypted = parts.encrypted();
            built.signed = parts.sign.is_some();
            built.sign_type = parts.sign.as_ref().map(|_| parts.sign_type);
            built.signed_with = parts.sign.as_ref().map(|_| parts.signed_with);
            built.plaintext = plaintext;
            if rejecting {
                built.canary = canary;
                built.expected = Expectation {
                    outcome: Outcome::Reject,
                    mobile: None,
                    code: None,
                    sub_code: None,
                };
            }
        }
        built
    }
}

impl Built {
    /// The base64 ciphertext the body carries: its string `response` member, read as a JSON
    /// parser that keeps the last of duplicate keys reads it. `None` for bodies that are not a
    /// JSON object or whose `response` is not a string.
    pub fn ciphertext(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(&self.body).ok()?;
        v.get("response")?.as_str().map(String::from)
    }
}

/// The outcome a correct merchant reaches for a genuine payload.
pub(crate) fn expectation(p: &Payload) -> Expectation {
    match p {
        Payload::Mobile(m) => Expectation {
            outcome: Outcome::Accept,
            mobile: Some(m.clone()),
            code: None,
            sub_code: None,
        },
        Payload::EmptyMobile(_) => Expectation {
            outcome: Outcome::NoMobile,
            mobile: None,
            code: None,
            sub_code: None,
        },
        // getRunData success: use the step count (the plaintext carries it).
        Payload::Steps(_) => Expectation {
            outcome: Outcome::Accept,
            mobile: None,
            code: None,
            sub_code: None,
        },
        Payload::Error(e) if e.is_retryable() => Expectation {
            outcome: Outcome::RetryLater,
            mobile: None,
            code: Some(e.code.clone()),
            sub_code: None,
        },
        Payload::Error(e) => Expectation {
            outcome: Outcome::PlatformError,
            mobile: None,
            code: Some(e.code.clone()),
            sub_code: Some(e.sub_code.clone()),
        },
    }
}
