//! The scenario file format: one `Scenario` per `scenarios/*.toml` file (documented in
//! `scenarios/README.md`), and the small types a built case carries ([`Outcome`],
//! [`Expectation`], [`Severity`], [`BugClass`], [`Kind`], [`MerchantProfile`], [`KeyRole`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::tamper::Flag;
use crate::model::platform::{self, Api, BusyDelivery, Call, Console, Decision, Platform};
use crate::protocol::crypto::{AesSize, SignType};
use crate::protocol::payload::EmptyMobileForm;
use crate::protocol::signing::Signing;

/// What a correct merchant must conclude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Accept and use the mobile.
    Accept,
    /// Success without a number: report that the account has no bound mobile.
    NoMobile,
    /// Report the platform error (code and subCode).
    PlatformError,
    /// A transient platform error (20000): retry later, do not treat as final.
    RetryLater,
    /// Refuse the envelope: it is forged, tampered or malformed.
    Reject,
}

impl Outcome {
    /// The name as written in scenario files, fixtures and corpora (`no_mobile`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accept => "accept",
            Outcome::NoMobile => "no_mobile",
            Outcome::PlatformError => "platform_error",
            Outcome::RetryLater => "retry_later",
            Outcome::Reject => "reject",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome as written in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// The outcome class.
    pub outcome: Outcome,
    /// The platform error code, for `platform_error` and `retry_later`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The platform error subCode, for `platform_error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_code: Option<String>,
}

/// The resolved expectation of a built case (the mobile filled in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    /// The outcome class.
    pub outcome: Outcome,
    /// The mobile, for `accept`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// The platform error code, for `platform_error` and `retry_later`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The platform error subCode, for `platform_error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_code: Option<String>,
}

/// How the user's mobile is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MobileSpec {
    /// An 11-digit mainland number picked deterministically from the scenario id so that the
    /// success ciphertext contains both `+` and `/`.
    Mainland,
    /// An overseas `cc-number`, picked the same way.
    Overseas,
    /// `"mobile":""`.
    Empty,
    /// No `mobile` key.
    Absent,
    /// This exact number.
    Literal(String),
}

impl<'de> Deserialize<'de> for MobileSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "mainland" => MobileSpec::Mainland,
            "overseas" => MobileSpec::Overseas,
            "empty" => MobileSpec::Empty,
            "absent" => MobileSpec::Absent,
            other if !other.is_empty() && other.chars().all(|c| c.is_ascii_digit() || c == '-') => {
                MobileSpec::Literal(other.to_string())
            }
            other => {
                return Err(serde::de::Error::custom(format!(
                    "mobile {other:?} must be mainland, overseas, empty, absent, or digits (with '-' for overseas)"
                )));
            }
        })
    }
}

impl Serialize for MobileSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            MobileSpec::Mainland => "mainland",
            MobileSpec::Overseas => "overseas",
            MobileSpec::Empty => "empty",
            MobileSpec::Absent => "absent",
            MobileSpec::Literal(m) => m,
        })
    }
}

fn yes() -> bool {
    true
}
fn mainland() -> MobileSpec {
    MobileSpec::Mainland
}

/// The `[user]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// Consented to the phone-number scope.
    #[serde(default = "yes")]
    pub authorised: bool,
    /// The bound mobile (getPhoneNumber cases).
    #[serde(default = "mainland")]
    pub mobile: MobileSpec,
    /// The day's step count (getRunData cases only); omitted: drawn from the scenario id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u32>,
}

impl Default for UserSpec {
    fn default() -> Self {
        Self {
            authorised: true,
            mobile: MobileSpec::Mainland,
            steps: None,
        }
    }
}

/// The `[call]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// `protocols.isvAppId` passed.
    #[serde(default = "yes")]
    pub isv_app_id: bool,
    /// `countDate` passed to `my.getRunData` (getRunData cases only, `yyyy-mm-dd`); omitted:
    /// 2018-12-19, the day of the document's sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_date: Option<String>,
}

impl Default for CallSpec {
    fn default() -> Self {
        Self {
            isv_app_id: true,
            count_date: None,
        }
    }
}

/// The `[platform]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    /// Answers 20000.
    #[serde(default)]
    pub busy: bool,
    /// How 20000 is delivered.
    #[serde(default)]
    pub busy_delivery: BusyDelivery,
}

/// A replacement plaintext for hostile cases that need one Alipay never sends (e.g. unusual
/// characters in `subMsg`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadSpec {
    /// `code`.
    pub code: String,
    /// `msg`.
    pub msg: String,
    /// `subCode`.
    pub sub_code: String,
    /// `subMsg`.
    pub sub_msg: String,
}

/// How severe a failure of this case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Cosmetic or hardening advice.
    Low,
    /// Wrong behaviour with limited impact.
    Medium,
    /// Wrong results or a crash on input any client can send.
    High,
    /// Forged data accepted, or secrets exposed.
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// The class of bug a case detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BugClass {
    /// Forged or altered data accepted as genuine.
    AuthBypass,
    /// Secrets or plaintext exposed.
    Confidentiality,
    /// Crashes, hangs or 5xx on bad input.
    Robustness,
    /// Wrong result on a genuine answer.
    Functionality,
}

impl fmt::Display for BugClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BugClass::AuthBypass => "auth-bypass",
            BugClass::Confidentiality => "confidentiality",
            BugClass::Robustness => "robustness",
            BugClass::Functionality => "functionality",
        })
    }
}

/// The `[tamper]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TamperSpec {
    /// Mutations, applied in order to a genuine success envelope carrying the canary mobile.
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// Deliver with this `Content-Type` instead of `application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// One scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Stable dotted id, e.g. `platform.error.40003-invalid-auth-relations`. Never renamed or
    /// reused: it is the JUnit test name users track.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// The JSAPI the case answers: `getPhoneNumber` (the default) or `getRunData`. The
    /// harness and the corpus run getPhoneNumber cases only ([`super::Catalogue::scenarios`]).
    #[serde(default, skip_serializing_if = "Api::is_phone_number")]
    pub api: Api,
    /// What real situation this models.
    pub models: String,
    /// Which console step or code change fixes a failure.
    pub remediation: String,
    /// Where the behaviour is documented (labels resolved in docs/protocol.md#sources).
    pub source: String,
    /// The class of bug a failure reveals.
    #[serde(default = "default_bug_class")]
    pub bug_class: BugClass,
    /// How severe a failure is.
    #[serde(default = "default_severity")]
    pub severity: Severity,
    /// Why a correct merchant must behave as expected.
    #[serde(default)]
    pub why: String,
    /// The console configuration.
    #[serde(default)]
    pub console: Console,
    /// The user.
    #[serde(default)]
    pub user: UserSpec,
    /// The call.
    #[serde(default)]
    pub call: CallSpec,
    /// The platform.
    #[serde(default)]
    pub platform: PlatformSpec,
    /// A replacement plaintext (hostile cases only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<PayloadSpec>,
    /// Mutations; present on tamper cases only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<TamperSpec>,
    /// What a correct merchant must conclude.
    pub expect: ExpectSpec,
}

fn default_bug_class() -> BugClass {
    BugClass::Functionality
}
fn default_severity() -> Severity {
    Severity::High
}

/// Platform or tamper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A genuine answer for some platform state.
    Platform,
    /// A tampered, forged or hostile body.
    Tamper,
}

impl Kind {
    /// The name, as fixtures and reports write it: `platform` or `tamper`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Platform => "platform",
            Kind::Tamper => "tamper",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The merchant configuration a case applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantProfile {
    /// The signature type the merchant verifies, or `None` when the case is for a merchant that
    /// has no signing configured. A case with no requirement applies to every merchant.
    pub verifies: Option<SignType>,
    /// The AES key size the merchant decrypts with; `None` means any. Written as a bit count
    /// (`128`, `192`, `256`).
    pub aes_bits: Option<AesSize>,
    /// True when the case applies whatever the merchant's signing configuration is.
    pub any_signing: bool,
    /// True when the case applies only to a merchant in certificate mode (公钥证书), which it
    /// must declare (the harness's `--merchant-signing cert`).
    #[serde(default)]
    pub cert_mode: bool,
}

impl MerchantProfile {
    /// `None` when a case with this profile applies to a merchant configured with `signing` and
    /// an AES key of `aes` size, else why it does not. The one applicability rule: the
    /// harness skips by it, the corpus selects by it.
    pub fn mismatch(&self, signing: Signing, aes: AesSize) -> Option<String> {
        if self.cert_mode && signing != Signing::Cert {
            return Some(
                "needs a merchant in certificate mode (--merchant-signing cert)".to_string(),
            );
        }
        if !self.any_signing && self.verifies != signing.sign_type() {
            return Some(match self.verifies {
                Some(t) => format!("needs a merchant configured with {t} signing"),
                None => "needs a merchant configured without signing".to_string(),
            });
        }
        match self.aes_bits {
            Some(size) if size != aes => Some(format!(
                "needs a merchant configured with an AES-{size} key"
            )),
            _ => None,
        }
    }
}

impl Scenario {
    /// Platform or tamper.
    pub fn kind(&self) -> Kind {
        if self.tamper.is_some() {
            Kind::Tamper
        } else {
            Kind::Platform
        }
    }

    /// The platform model's inputs for this case.
    pub fn model(&self) -> (Console, Call, Platform) {
        (
            self.console.clone(),
            Call {
                isv_app_id: self.call.isv_app_id,
            },
            Platform {
                busy: self.platform.busy,
                busy_delivery: self.platform.busy_delivery,
            },
        )
    }

    /// The `countDate` of a getRunData case.
    pub fn count_date(&self) -> &str {
        self.call
            .count_date
            .as_deref()
            .unwrap_or(crate::model::run_data::DEFAULT_COUNT_DATE)
    }

    /// The platform's decision for this case, with `mobile` as the user's mobile
    /// (getPhoneNumber) or the case's step count (getRunData).
    pub(crate) fn decide(&self, mobile: platform::Mobile) -> Decision {
        let (console, call, plat) = self.model();
        match self.api {
            Api::GetPhoneNumber => {
                let user = platform::User {
                    authorised: self.user.authorised,
                    mobile,
                };
                platform::decide(&console, &user, &call, &plat)
            }
            Api::GetRunData => {
                let date = self.count_date();
                let count = self
                    .user
                    .steps
                    .unwrap_or_else(|| crate::model::run_data::generated_steps(&self.id, date));
                let steps = crate::protocol::payload::RunData {
                    count,
                    count_date: date.to_string(),
                };
                platform::decide_run_data(&console, self.user.authorised, steps, &call, &plat)
            }
        }
    }

    /// Which merchant configurations this case applies to.
    pub fn merchant_profile(&self) -> MerchantProfile {
        let console = &self.console;
        let d = self.decide(platform::Mobile::Empty(EmptyMobileForm::EmptyString));
        if self.kind() == Kind::Tamper || d.encryption.is_none() {
            // Tamper cases target the standard configuration (RSA2, AES-128); unencrypted platform
            // errors are readable by every merchant.
            let tamper = self.kind() == Kind::Tamper;
            return MerchantProfile {
                verifies: tamper.then_some(SignType::Rsa2),
                aes_bits: tamper.then_some(AesSize::Aes128),
                any_signing: !tamper,
                cert_mode: false,
            };
        }
        MerchantProfile {
            verifies: d.sign_type,
            aes_bits: d.encryption,
            any_signing: false,
            cert_mode: console.signing == Signing::Cert,
        }
    }
}

/// Whose key made a signature or ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// The platform (Alipay) key / the app's AES key.
    Platform,
    /// The attacker's key.
    Attacker,
    /// The app's own key (certificate mode: the key of `appCertPublicKey_<appid>.crt`).
    App,
}
