//! The case catalogue: one TOML file per case under `scenarios/`, embedded in the binary and
//! overridable with a directory of the user's own.
//!
//! A *platform* case is a console / user / call / platform state; the model in
//! [`crate::platform`] decides its envelope and the file states the outcome a correct merchant
//! must reach (the loader checks the two agree). A *tamper* case (a `[tamper]` table) starts from
//! a genuine success envelope carrying a *canary* mobile and applies mutations to it; the canary
//! must never appear in a merchant's answer. See `scenarios/README.md` for the file format.

pub mod build;
mod mobile;
pub mod tamper;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use self::build::Built;
pub use self::tamper::Flag;
use crate::crypto::SignType;
use crate::payload::EmptyMobileForm;
use crate::platform::{self, BusyDelivery, Call, Console, Platform};

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

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Accept => "accept",
            Outcome::NoMobile => "no_mobile",
            Outcome::PlatformError => "platform_error",
            Outcome::RetryLater => "retry_later",
            Outcome::Reject => "reject",
        })
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
    /// The bound mobile.
    #[serde(default = "mainland")]
    pub mobile: MobileSpec,
}

impl Default for UserSpec {
    fn default() -> Self {
        Self {
            authorised: true,
            mobile: MobileSpec::Mainland,
        }
    }
}

/// The `[call]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// `protocols.isvAppId` passed.
    #[serde(default = "yes")]
    pub isv_app_id: bool,
}

impl Default for CallSpec {
    fn default() -> Self {
        Self { isv_app_id: true }
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
    /// What real situation this models.
    pub models: String,
    /// Which console step or code change fixes a failure.
    pub remediation: String,
    /// Where the behaviour is documented (tags of the protocol notes).
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

/// The merchant configuration a case applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantProfile {
    /// The signature type the merchant verifies, or `None` when the case is for a merchant that
    /// has no signing configured. A case with no requirement applies to every merchant.
    pub verifies: Option<SignType>,
    /// The AES key size the merchant decrypts with; `None` means any.
    pub aes_bits: Option<usize>,
    /// True when the case applies whatever the merchant's signing configuration is.
    pub any_signing: bool,
    /// True when the case applies only to a merchant in certificate mode (公钥证书), which it
    /// must declare (the harness's `--merchant-signing cert`).
    #[serde(default)]
    pub cert_mode: bool,
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

    /// Which merchant configurations this case applies to.
    pub fn merchant_profile(&self) -> MerchantProfile {
        let (console, call, platform) = self.model();
        let user = platform::User {
            authorised: self.user.authorised,
            mobile: platform::Mobile::Empty(EmptyMobileForm::EmptyString),
        };
        let d = platform::decide(&console, &user, &call, &platform);
        if self.kind() == Kind::Tamper || d.encryption_bits.is_none() {
            // Tamper cases target the standard configuration (RSA2, AES-128); unencrypted platform
            // errors are readable by every merchant.
            let tamper = self.kind() == Kind::Tamper;
            return MerchantProfile {
                verifies: tamper.then_some(SignType::Rsa2),
                aes_bits: tamper.then_some(128),
                any_signing: !tamper,
                cert_mode: false,
            };
        }
        MerchantProfile {
            verifies: d.sign_type,
            aes_bits: d.encryption_bits,
            any_signing: false,
            cert_mode: console.signing == platform::Signing::Cert,
        }
    }
}

/// A scenario file could not be used. Names the file and, where known, the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {field}: {message}")]
pub struct ScenarioError {
    /// The file (or `<embedded>/name` for the built-in catalogue).
    pub path: String,
    /// The field, e.g. `expect.outcome`, or `-` for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// The loaded, validated catalogue, sorted by id.
#[derive(Debug, Clone)]
pub struct Catalogue {
    scenarios: Vec<Scenario>,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_scenarios.rs"));
}

impl Catalogue {
    /// The catalogue committed under `scenarios/`, embedded at build time and parsed once.
    ///
    /// The model-consistency check (each file's `expect` against the platform model) seals every
    /// case, so it is skipped here: the test suite runs it on the same files through
    /// [`Catalogue::load_dir`] and checks that both copies are equal.
    pub fn embedded() -> Self {
        static CATALOGUE: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
        CATALOGUE
            .get_or_init(|| {
                Self::parse_sources(
                    embedded::FILES
                        .iter()
                        .map(|(name, text)| (format!("<embedded>/{name}"), text.to_string())),
                    false,
                )
                .expect("the embedded catalogue is validated by the test suite")
            })
            .clone()
    }

    /// Loads every `*.toml` file in `dir` (not recursive).
    pub fn load_dir(dir: &Path) -> Result<Self, ScenarioError> {
        let entries = std::fs::read_dir(dir).map_err(|e| ScenarioError {
            path: dir.display().to_string(),
            field: "-".into(),
            message: format!("cannot read scenario directory: {e}"),
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(ScenarioError {
                path: dir.display().to_string(),
                field: "-".into(),
                message: "no *.toml scenario files in this directory".into(),
            });
        }
        let mut sources = Vec::with_capacity(paths.len());
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| ScenarioError {
                path: p.display().to_string(),
                field: "-".into(),
                message: format!("cannot read: {e}"),
            })?;
            sources.push((p.display().to_string(), text));
        }
        Self::from_sources(sources)
    }

    /// Parses and validates named TOML texts, including the check that each file's `expect`
    /// is what the platform model gives for its state.
    pub fn from_sources(
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ScenarioError> {
        Self::parse_sources(sources, true)
    }

    fn parse_sources(
        sources: impl IntoIterator<Item = (String, String)>,
        check_model: bool,
    ) -> Result<Self, ScenarioError> {
        let mut scenarios: Vec<Scenario> = Vec::new();
        let mut ids = BTreeSet::new();
        for (path, text) in sources {
            let s = parse_one(&path, &text, check_model)?;
            if !ids.insert(s.id.clone()) {
                return Err(ScenarioError {
                    path,
                    field: "id".into(),
                    message: format!("duplicate scenario id {:?}", s.id),
                });
            }
            scenarios.push(s);
        }
        scenarios.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Self { scenarios })
    }

    /// All scenarios, sorted by id.
    pub fn scenarios(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// The scenario with this id.
    pub fn get(&self, id: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.id == id)
    }

    /// Number of scenarios.
    pub fn len(&self) -> usize {
        self.scenarios.len()
    }

    /// True when empty (never for a loaded catalogue).
    pub fn is_empty(&self) -> bool {
        self.scenarios.is_empty()
    }
}

/// Checks an id: dotted lowercase segments of `[a-z0-9-]`, at least two segments.
pub fn valid_id(id: &str) -> bool {
    let segs: Vec<&str> = id.split('.').collect();
    segs.len() >= 2
        && segs.iter().all(|s| {
            !s.is_empty()
                && !s.starts_with('-')
                && !s.ends_with('-')
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// The 1-based line of `text` a TOML parse error points at, when it has a position.
pub fn toml_error_line(text: &str, e: &toml::de::Error) -> Option<usize> {
    e.span()
        .map(|sp| before(text, sp.start).matches('\n').count() + 1)
}

/// `text` up to byte `at`, floored to a character boundary (never panics).
fn before(text: &str, at: usize) -> &str {
    let mut end = at.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn parse_one(path: &str, text: &str, check_model: bool) -> Result<Scenario, ScenarioError> {
    let s: Scenario = toml::from_str(text).map_err(|e| {
        let message = e.message().to_string();
        let field = field_of(text, &e);
        let at = toml_error_line(text, &e)
            .map(|line| format!(" (line {line})"))
            .unwrap_or_default();
        ScenarioError {
            path: path.to_string(),
            field,
            message: format!("{message}{at}"),
        }
    })?;
    let fail = |field: &str, message: String| ScenarioError {
        path: path.to_string(),
        field: field.to_string(),
        message,
    };
    if !valid_id(&s.id) {
        return Err(fail(
            "id",
            format!(
                "{:?} is not a dotted id of lowercase segments [a-z0-9-] (e.g. platform.success.mainland)",
                s.id
            ),
        ));
    }
    for (field, value) in [
        ("title", &s.title),
        ("models", &s.models),
        ("remediation", &s.remediation),
        ("source", &s.source),
    ] {
        if value.trim().is_empty() {
            return Err(fail(field, "must not be empty".into()));
        }
    }
    let needs_code = matches!(
        s.expect.outcome,
        Outcome::PlatformError | Outcome::RetryLater
    );
    if needs_code && s.expect.code.is_none() {
        return Err(fail(
            "expect.code",
            format!("required when outcome is {}", s.expect.outcome),
        ));
    }
    if !needs_code && (s.expect.code.is_some() || s.expect.sub_code.is_some()) {
        return Err(fail(
            "expect.code",
            format!(
                "only platform_error and retry_later take a code, not {}",
                s.expect.outcome
            ),
        ));
    }
    if let Some(t) = &s.tamper
        && t.flags.is_empty()
        && t.content_type.is_none()
        && s.payload.is_none()
    {
        return Err(fail(
            "tamper.flags",
            "a tamper case needs at least one flag, a content_type, or a [payload]".into(),
        ));
    }
    if !check_model {
        return Ok(s);
    }
    // The model must reach the outcome the file states.
    let keys = crate::keys::KeySet::embedded();
    let built = s.build(&keys);
    let e = &built.expected;
    if e.outcome != s.expect.outcome
        || (s.expect.code.is_some() && e.code != s.expect.code)
        || (s.expect.sub_code.is_some() && e.sub_code != s.expect.sub_code)
    {
        return Err(fail(
            "expect",
            format!(
                "the platform model gives outcome {} code {:?} subCode {:?}, the file says {} {:?} {:?}",
                e.outcome, e.code, e.sub_code, s.expect.outcome, s.expect.code, s.expect.sub_code
            ),
        ));
    }
    Ok(s)
}

/// Finds the dotted key path at the error's position, so errors can name the field.
fn field_of(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return "-".into();
    };
    let upto = before(text, span.start);
    let mut table = String::new();
    for line in upto.lines() {
        let l = line.trim();
        if l.starts_with('[') && l.ends_with(']') {
            table = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
    }
    let line = text[upto.rfind('\n').map(|i| i + 1).unwrap_or(0)..]
        .lines()
        .next()
        .unwrap_or_default();
    let key = line
        .split('=')
        .next()
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or_default();
    match (table.is_empty(), key.is_empty()) {
        (true, true) => "-".into(),
        (true, false) => key.to_string(),
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}
