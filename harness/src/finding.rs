//! Findings: what is wrong with an answer (or with the answers of a behaviour check), as data.
//!
//! The judge, the run rules and the behaviour checks return [`Finding`]s; reporters turn them
//! into words ([`Finding`]'s `Display`, joined by `"; "` into a case's `reason`), and the JSON
//! report carries each one as `{"code": ..., "message": ...}` in the case's `findings` so that CI
//! users can filter on [`Finding::code`]. A failing case has at least one finding; a passing,
//! erroring or skipped case has none.
//!
//! # Finding codes
//!
//! Codes are stable: once released, a code is never renamed or reused for something else (new
//! codes may be added).
//!
//! | code | meaning | rule |
//! |---|---|---|
//! | `status-mismatch` | the HTTP status is not one the outcome's status rule allows | `contract [OUTCOME] status` or `default rule for OUTCOME` |
//! | `mobile-missing` | the expected mobile is not in the answer (where the contract or the default rule looks) | `contract [accept] mobile` / `mobile_regex`, `default rule for accept` |
//! | `mobile-mismatch` | the answer carries a mobile, but not the expected one | `contract [accept] mobile` / `mobile_regex` |
//! | `code-mismatch` | the platform `code` or `sub_code` at the contract's JSON pointer is wrong or missing | `contract [OUTCOME] code` / `sub_code` |
//! | `equals-mismatch` | a JSON value the contract pins (`equals`) is different or missing | `contract [OUTCOME] equals` |
//! | `header-missing` | a header the contract requires is absent | `contract [OUTCOME] required_headers` |
//! | `not-json` | the contract reads the answer with JSON pointers, and it is not JSON | `contract [OUTCOME]` |
//! | `answer-undecodable` | the answer's `Content-Encoding` cannot be decoded, so it cannot be checked | `always (readable answer)` |
//! | `mobile-leaked` | the answer reveals a mobile this request must never see (a tamper case's canary, another request's mobile) | `always (no other mobile)` |
//! | `secret-leaked` | the answer contains key material (its kind: the AES key, a private key, a PEM block) | `always (no key material)` |
//! | `stack-trace` | the answer contains a stack trace | `always (no stack trace)` |
//! | `ciphertext-echoed` | the answer echoes the case's ciphertext | `always (no ciphertext echo)` |
//! | `identity-crossed` | the answer (body, a header or the reason phrase) names a mobile, `user_id`, `open_id` or access token that belongs to another case of the run or to one of the simulator's test users: a cross-user leak, judged critical whatever the case's severity | `always (no other user's identity)` |
//! | `crash` | the endpoint dropped the connection on this input while answering other requests | `run rule (a crash is a failure)`, `behaviour check (uniform rejection)` |
//! | `mobile-crossed` | parallel requests got another request's mobile | `behaviour check (distinct mobiles)` |
//! | `answers-wrong` | some parallel answers were wrong in another way (the example's own findings are in the message) | `behaviour check (distinct mobiles)` |
//! | `no-answer` | some requests of a failing behaviour check got no answer at all | `behaviour check (...)` |
//! | `not-refused` | a forged envelope was not refused | `behaviour check (uniform rejection)` |
//! | `rejections-differ` | forged envelopes got different rejections: an error (padding) oracle | `behaviour check (uniform rejection)` |
//! | `identity-missing` | a login answer does not carry the auth code's user id (`user_id` or `open_id`) | `contract [login] user`, `default rule for login` |
//! | `identity-mismatch` | a login answer carries another user's id (one smuggled into the request) | `contract [login] user`, `always (identity from the gateway)` |
//! | `identity-leaked` | a refused login's answer still carries the user's id | `always (a refusal names no user)` |
//! | `code-reuse-accepted` | a login with an auth code already redeemed was answered as a success | `login rule (refuse what the gateway refused)` |
//! | `expired-code-accepted` | a login with an expired auth code was answered as a success | `login rule (refuse what the gateway refused)` |
//! | `foreign-code-accepted` | a login with another app's auth code was answered as a success | `login rule (refuse what the gateway refused)` |
//! | `unverified-answer-accepted` | a login was answered as a success although the gateway's answer did not verify | `login rule (verify the gateway's signature)` |
//! | `login-without-gateway` | a login was answered as a success although the gateway gave no answer (5xx) | `login rule (no identity without the gateway)` |
//! | `login-while-gateway-busy` | a login was answered with a 2xx although the gateway answered 20000 (busy), and no contract lists that status as the retry-later answer | `login rule (no identity without the gateway)` |
//! | `profile-read` | an `auth_base` login called `alipay.user.info.share` | `login rule (auth_base reads no profile)` |
//!
//! A finding about one forged envelope of the error-oracle check ([`Finding::Forged`]) has the
//! code of the finding it wraps.

use std::fmt;

use alipay_sim::{Outcome, Severity};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::leak::{IdentityKind, Owner, SecretKind};

/// The rule a status is judged by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusRule {
    /// `contract [OUTCOME] status`: one of `allowed`.
    Contract {
        /// The outcome class whose table decided.
        outcome: Outcome,
        /// The statuses the contract allows.
        allowed: Vec<u16>,
    },
    /// `default rule for OUTCOME` (no contract table, or no `status` in it).
    Default {
        /// The outcome class.
        outcome: Outcome,
    },
}

/// Where the expected mobile is looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MobileCheck {
    /// In the body as written, or among its decoded JSON strings and numbers
    /// (`default rule for OUTCOME`).
    Body,
    /// At this JSON pointer (`contract [OUTCOME] mobile`).
    Pointer(String),
    /// The first capture group of this regex (`contract [OUTCOME] mobile_regex`).
    Regex(String),
}

/// A platform field the contract reads with a JSON pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeField {
    /// `code`.
    Code,
    /// `sub_code`.
    SubCode,
}

impl fmt::Display for CodeField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CodeField::Code => "code",
            CodeField::SubCode => "sub_code",
        })
    }
}

/// Forged envelopes of the error-oracle check that got the same answers, and those answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerGroup {
    /// The envelopes, e.g. `(c) invalid padding`.
    pub envelopes: Vec<String>,
    /// What came back, e.g. `400 {"error":"bad_padding"}` (normalised).
    pub answers: Vec<String>,
}

/// A login the merchant must refuse, because the gateway refused it or gave nothing usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// The auth code was already redeemed.
    ReusedCode,
    /// The auth code had expired.
    ExpiredCode,
    /// The auth code was issued to another app.
    ForeignCode,
    /// The gateway's answer carried a signature that does not verify.
    UnverifiedAnswer,
    /// The gateway answered an HTTP error, not an answer.
    NoGatewayAnswer,
    /// The gateway answered 20000 (busy): no user, try again later.
    GatewayBusy,
}

impl LoginRefusal {
    /// The stable finding code of a login accepted where this refusal was due.
    pub fn code(self) -> &'static str {
        match self {
            LoginRefusal::ReusedCode => "code-reuse-accepted",
            LoginRefusal::ExpiredCode => "expired-code-accepted",
            LoginRefusal::ForeignCode => "foreign-code-accepted",
            LoginRefusal::UnverifiedAnswer => "unverified-answer-accepted",
            LoginRefusal::NoGatewayAnswer => "login-without-gateway",
            LoginRefusal::GatewayBusy => "login-while-gateway-busy",
        }
    }

    fn words(self) -> &'static str {
        match self {
            LoginRefusal::ReusedCode => {
                "an auth code that was already redeemed (the gateway answered 40002 isv.code-invalid)"
            }
            LoginRefusal::ExpiredCode => {
                "an expired auth code (the gateway answered 40002 isv.code-invalid)"
            }
            LoginRefusal::ForeignCode => {
                "another app's auth code (the gateway answered 40002 isv.code-invalid)"
            }
            LoginRefusal::UnverifiedAnswer => {
                "a gateway answer whose signature does not verify with the Alipay public key"
            }
            LoginRefusal::NoGatewayAnswer => {
                "no gateway answer at all (the gateway's front answered an HTTP error page)"
            }
            LoginRefusal::GatewayBusy => {
                "a busy gateway (it answered 20000 isp.unknow-error and named no user)"
            }
        }
    }
}

/// Where a login answer's user id is looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityCheck {
    /// Anywhere in the body (`default rule for login`).
    Body,
    /// At this JSON pointer (`contract [login] user`).
    Pointer(String),
}

impl fmt::Display for IdentityCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityCheck::Body => f.write_str("default rule for login"),
            IdentityCheck::Pointer(p) => write!(f, "contract [login] user {p}"),
        }
    }
}

/// The status rule of a login case: the table that decided and, from a contract, its statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStatusRule {
    /// `login` (a success) or `login_refused`.
    pub table: &'static str,
    /// The contract's statuses; `None`: the default rule (2xx for `login`, 4xx or 5xx for
    /// `login_refused`).
    pub allowed: Option<Vec<u16>>,
}

impl fmt::Display for LoginStatusRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.allowed, self.table) {
            (Some(a), t) => write!(f, "contract [{t}] status: one of {a:?}"),
            (None, "login") => f.write_str("default rule for login: a 2xx status"),
            (None, t) => write!(f, "default rule for {t}: a 4xx or 5xx status"),
        }
    }
}

/// One thing wrong with an answer. See the [module docs](self) for the codes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The status is not one the rule allows.
    StatusMismatch {
        /// The rule (and so what was wanted).
        rule: StatusRule,
        /// The status that came back.
        got: u16,
    },
    /// The expected mobile is not where `check` looks.
    MobileMissing {
        /// The outcome class whose rule looked.
        outcome: Outcome,
        /// Where it looked.
        check: MobileCheck,
        /// The expected mobile.
        wanted: String,
    },
    /// Another mobile is where `check` looks.
    MobileMismatch {
        /// The outcome class whose rule looked.
        outcome: Outcome,
        /// Where it looked ([`MobileCheck::Pointer`] or [`MobileCheck::Regex`]).
        check: MobileCheck,
        /// The expected mobile.
        wanted: String,
        /// What was found.
        got: String,
    },
    /// The platform code or sub-code is wrong (`got: None`: missing or not a string).
    CodeMismatch {
        /// The outcome class.
        outcome: Outcome,
        /// Which field.
        field: CodeField,
        /// The contract's JSON pointer.
        pointer: String,
        /// The expected text.
        wanted: String,
        /// The text found, if any.
        got: Option<String>,
    },
    /// A pinned JSON value is different (`got: None`: missing).
    EqualsMismatch {
        /// The outcome class.
        outcome: Outcome,
        /// The contract's JSON pointer.
        pointer: String,
        /// The expected value.
        wanted: serde_json::Value,
        /// The value found, if any.
        got: Option<serde_json::Value>,
    },
    /// A required header is absent.
    HeaderMissing {
        /// The outcome class.
        outcome: Outcome,
        /// The header name as the contract spells it.
        header: String,
    },
    /// The contract reads JSON pointers and the answer is not JSON.
    NotJson {
        /// The outcome class.
        outcome: Outcome,
    },
    /// The answer cannot be decoded (`Content-Encoding`).
    Undecodable {
        /// Why, e.g. `Content-Encoding "zstd" is not one the harness can decode`.
        why: String,
    },
    /// The answer reveals a mobile it must never reveal.
    MobileLeaked {
        /// The mobile.
        mobile: String,
    },
    /// The answer contains key material.
    SecretLeaked {
        /// What kind.
        kind: SecretKind,
    },
    /// The answer contains a stack trace.
    StackTrace {
        /// The marker or frame line that shows it.
        marker: String,
    },
    /// The answer echoes the case's ciphertext.
    CiphertextEchoed,
    /// The answer names another user's identity: one the run handed out for another case (or
    /// one of the simulator's test users), never sent by this case ([`crate::leak::RunLedger`]).
    IdentityCrossed {
        /// What kind of value.
        kind: IdentityKind,
        /// The value.
        value: String,
        /// Whom it belongs to.
        owner: Owner,
    },
    /// The connection dropped on this input while the endpoint answers other requests.
    Crash {
        /// The transport error, in words.
        error: String,
    },
    /// `count` of `of` parallel answers carried another request's mobile.
    MobilesCrossed {
        /// How many.
        count: usize,
        /// Out of how many requests.
        of: usize,
        /// An example: the mobile requested.
        wanted: String,
        /// An example: the other request's mobile it got.
        got: String,
    },
    /// `count` of `of` parallel answers were wrong otherwise.
    AnswersWrong {
        /// How many.
        count: usize,
        /// Out of how many requests.
        of: usize,
        /// An example: the mobile requested.
        mobile: String,
        /// An example: what was wrong with its answer.
        findings: Vec<Finding>,
    },
    /// `count` requests of a failing behaviour check got no answer.
    NoAnswer {
        /// How many.
        count: usize,
        /// An example of the transport error, if the check names one.
        example: Option<String>,
    },
    /// A forged envelope was not refused.
    NotRefused {
        /// What the envelope's ciphertext decrypts to.
        label: &'static str,
        /// The status that came back.
        status: u16,
        /// The refusal rule, in words.
        rule: String,
    },
    /// The connection dropped on a forged envelope (code `crash`).
    Dropped {
        /// What the envelope's ciphertext decrypts to.
        label: &'static str,
    },
    /// Forged envelopes got distinguishable rejections.
    RejectionsDiffer {
        /// The envelopes grouped by the answers they got (two groups or more).
        groups: Vec<AnswerGroup>,
    },
    /// A finding about one forged envelope of the error-oracle check.
    Forged {
        /// The envelope, `a` to `e`.
        variant: char,
        /// What was wrong with its answer.
        finding: Box<Finding>,
    },
    /// A login answer's status is not one its rule allows (code `status-mismatch`).
    LoginStatus {
        /// The rule.
        rule: LoginStatusRule,
        /// The status that came back.
        got: u16,
    },
    /// A login answer does not carry the code's user id.
    IdentityMissing {
        /// Where it looked.
        check: IdentityCheck,
        /// The ids the gateway knows the user by (`user_id`, `open_id`).
        wanted: Vec<String>,
    },
    /// A login answer carries another user's id.
    IdentityMismatch {
        /// Where it was found.
        check: IdentityCheck,
        /// The code's user's ids.
        wanted: Vec<String>,
        /// The other user's id found.
        got: String,
    },
    /// A login answer's mobile is missing (`got: None`) or another one (code `mobile-missing` /
    /// `mobile-mismatch`).
    LoginMobile {
        /// Where it looked ([`MobileCheck::Body`] or [`MobileCheck::Pointer`]).
        check: MobileCheck,
        /// The envelope's mobile.
        wanted: String,
        /// What the pointer holds, if anything.
        got: Option<String>,
    },
    /// A login that had to be refused was answered as a success.
    LoginAccepted {
        /// Why it had to be refused.
        refusal: LoginRefusal,
        /// The status that came back.
        status: u16,
    },
    /// A refused login's answer carries the user's id.
    IdentityLeaked {
        /// The id.
        id: String,
    },
    /// An `auth_base` login called `alipay.user.info.share`.
    ProfileRead {
        /// How many calls the gateway saw.
        calls: usize,
    },
}

impl Finding {
    /// The stable code (see the [module docs](self)).
    pub fn code(&self) -> &'static str {
        match self {
            Finding::StatusMismatch { .. } => "status-mismatch",
            Finding::MobileMissing { .. } => "mobile-missing",
            Finding::MobileMismatch { .. } => "mobile-mismatch",
            Finding::CodeMismatch { .. } => "code-mismatch",
            Finding::EqualsMismatch { .. } => "equals-mismatch",
            Finding::HeaderMissing { .. } => "header-missing",
            Finding::NotJson { .. } => "not-json",
            Finding::Undecodable { .. } => "answer-undecodable",
            Finding::MobileLeaked { .. } => "mobile-leaked",
            Finding::SecretLeaked { .. } => "secret-leaked",
            Finding::StackTrace { .. } => "stack-trace",
            Finding::CiphertextEchoed => "ciphertext-echoed",
            Finding::IdentityCrossed { .. } => "identity-crossed",
            Finding::Crash { .. } | Finding::Dropped { .. } => "crash",
            Finding::MobilesCrossed { .. } => "mobile-crossed",
            Finding::AnswersWrong { .. } => "answers-wrong",
            Finding::NoAnswer { .. } => "no-answer",
            Finding::NotRefused { .. } => "not-refused",
            Finding::RejectionsDiffer { .. } => "rejections-differ",
            Finding::Forged { finding, .. } => finding.code(),
            Finding::LoginStatus { .. } => "status-mismatch",
            Finding::IdentityMissing { .. } => "identity-missing",
            Finding::IdentityMismatch { .. } => "identity-mismatch",
            Finding::LoginMobile { got: None, .. } => "mobile-missing",
            Finding::LoginMobile { got: Some(_), .. } => "mobile-mismatch",
            Finding::LoginAccepted { refusal, .. } => refusal.code(),
            Finding::IdentityLeaked { .. } => "identity-leaked",
            Finding::ProfileRead { .. } => "profile-read",
        }
    }

    /// True for a cross-user leak ([`Finding::IdentityCrossed`], also inside the example of a
    /// behaviour check): the case then counts as critical ([`severity_with`]).
    pub fn crosses_users(&self) -> bool {
        match self.inner() {
            Finding::IdentityCrossed { .. } => true,
            Finding::AnswersWrong { findings, .. } => findings.iter().any(Finding::crosses_users),
            _ => false,
        }
    }

    /// The finding itself, or the one a [`Finding::Forged`] wraps.
    pub fn inner(&self) -> &Finding {
        match self {
            Finding::Forged { finding, .. } => finding.inner(),
            f => f,
        }
    }
}

/// Every code a [`Finding`] can have, in the order of the module docs' table.
pub const CODES: &[&str] = &[
    "status-mismatch",
    "mobile-missing",
    "mobile-mismatch",
    "code-mismatch",
    "equals-mismatch",
    "header-missing",
    "not-json",
    "answer-undecodable",
    "mobile-leaked",
    "secret-leaked",
    "stack-trace",
    "ciphertext-echoed",
    "identity-crossed",
    "crash",
    "mobile-crossed",
    "answers-wrong",
    "no-answer",
    "not-refused",
    "rejections-differ",
    "identity-missing",
    "identity-mismatch",
    "identity-leaked",
    "code-reuse-accepted",
    "expired-code-accepted",
    "foreign-code-accepted",
    "unverified-answer-accepted",
    "login-without-gateway",
    "login-while-gateway-busy",
    "profile-read",
];

/// The severity a case with `findings` is judged at: `base`, raised to critical when one of
/// them is a cross-user leak (another user's mobile or identity is never a minor problem).
pub fn severity_with(base: Severity, findings: &[Finding]) -> Severity {
    if findings.iter().any(Finding::crosses_users) {
        Severity::Critical
    } else {
        base
    }
}

/// `findings` in words, joined by `"; "` (a case's `reason`).
pub fn words(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl fmt::Display for StatusRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusRule::Contract { outcome, .. } => write!(f, "contract [{outcome}] status"),
            StatusRule::Default { outcome } => write!(f, "default rule for {outcome}"),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::StatusMismatch {
                rule: rule @ StatusRule::Contract { allowed, .. },
                got,
            } => write!(f, "{rule}: {got} is not one of {allowed:?}"),
            Finding::StatusMismatch {
                rule: rule @ StatusRule::Default { outcome },
                got,
            } => write!(
                f,
                "{rule}: status {got} where {} is expected",
                crate::judge::default_status_words(*outcome)
            ),
            Finding::MobileMissing {
                outcome,
                check,
                wanted,
            } => match check {
                MobileCheck::Body => write!(
                    f,
                    "default rule for {outcome}: the answer does not contain the mobile {wanted}"
                ),
                MobileCheck::Pointer(p) => write!(
                    f,
                    "contract [{outcome}] mobile: {p} is missing or not a string or number, expected {wanted:?}"
                ),
                MobileCheck::Regex(re) => write!(
                    f,
                    "contract [{outcome}] mobile_regex: /{re}/ does not match the answer (expected the mobile {wanted:?})"
                ),
            },
            Finding::MobileMismatch {
                outcome,
                check,
                wanted,
                got,
            } => match check {
                MobileCheck::Regex(re) => write!(
                    f,
                    "contract [{outcome}] mobile_regex: /{re}/ finds {got:?}, expected the mobile {wanted:?}"
                ),
                MobileCheck::Pointer(p) => write!(
                    f,
                    "contract [{outcome}] mobile: {p} is {got:?}, expected {wanted:?}"
                ),
                MobileCheck::Body => write!(
                    f,
                    "default rule for {outcome}: the answer carries {got:?}, expected the mobile {wanted:?}"
                ),
            },
            Finding::CodeMismatch {
                outcome,
                field,
                pointer,
                wanted,
                got: Some(got),
            } => write!(
                f,
                "contract [{outcome}] {field}: {pointer} is {got:?}, expected {wanted:?}"
            ),
            Finding::CodeMismatch {
                outcome,
                field,
                pointer,
                wanted,
                got: None,
            } => write!(
                f,
                "contract [{outcome}] {field}: {pointer} is missing or not a string, expected {wanted:?}"
            ),
            Finding::EqualsMismatch {
                outcome,
                pointer,
                wanted,
                got: Some(got),
            } => write!(
                f,
                "contract [{outcome}] equals: {pointer} is {got}, expected {wanted}"
            ),
            Finding::EqualsMismatch {
                outcome,
                pointer,
                wanted,
                got: None,
            } => write!(
                f,
                "contract [{outcome}] equals: {pointer} is missing, expected {wanted}"
            ),
            Finding::HeaderMissing { outcome, header } => write!(
                f,
                "contract [{outcome}] required_headers: the answer has no {header} header"
            ),
            Finding::NotJson { outcome } => write!(
                f,
                "contract [{outcome}]: the answer is not JSON, but the contract reads it with JSON pointers"
            ),
            Finding::Undecodable { why } => write!(f, "always (readable answer): {why}"),
            Finding::MobileLeaked { mobile } => write!(
                f,
                "always (no other mobile): the answer contains the mobile {mobile}, which this request must never reveal"
            ),
            Finding::SecretLeaked { kind } => {
                write!(f, "always (no key material): the answer contains {kind}")
            }
            Finding::StackTrace { marker } => write!(
                f,
                "always (no stack trace): the answer contains a stack trace ({marker:?})"
            ),
            Finding::CiphertextEchoed => {
                f.write_str("always (no ciphertext echo): the answer echoes the ciphertext")
            }
            Finding::IdentityCrossed { kind, value, owner } => write!(
                f,
                "always (no other user's identity): the answer names the {kind} {value}, which belongs to {owner}, not to this request: a cross-user leak (critical)"
            ),
            Finding::Crash { error } => write!(
                f,
                "run rule (a crash is a failure): the endpoint answers other requests but on this one {error}; a crash on this input is judged at the case's severity"
            ),
            Finding::MobilesCrossed {
                count,
                of,
                wanted,
                got,
            } => write!(
                f,
                "{count} of {of} answers carried another request's mobile (e.g. request for {wanted} got {got} (another request's))"
            ),
            Finding::AnswersWrong {
                count,
                of,
                mobile,
                findings,
            } => write!(
                f,
                "{count} of {of} answers were wrong (e.g. request for {mobile}: {})",
                words(findings)
            ),
            Finding::NoAnswer {
                count,
                example: None,
            } => write!(f, "{count} requests got no answer"),
            Finding::NoAnswer {
                count,
                example: Some(e),
            } => write!(f, "{count} requests got no answer (e.g. {e})"),
            Finding::NotRefused {
                label,
                status,
                rule,
            } => write!(f, "{label} was not refused: status {status} ({rule})"),
            Finding::Dropped { label } => write!(
                f,
                "{label}: the connection dropped without an answer (a crash on this input; a refusal was expected)"
            ),
            Finding::RejectionsDiffer { groups } => {
                let side_by_side: Vec<String> = groups
                    .iter()
                    .map(|g| format!("{} -> {}", g.envelopes.join(" and "), g.answers.join(" / ")))
                    .collect();
                write!(
                    f,
                    "the rejections differ by what the forged ciphertext decrypts to, so the endpoint decrypts before it verifies and tells the outcome: {}",
                    side_by_side.join("  VERSUS  ")
                )
            }
            Finding::Forged { variant, finding } => write!(f, "({variant}) {finding}"),
            Finding::LoginStatus { rule, got } => {
                write!(f, "{rule}: the answer's status is {got}")
            }
            Finding::IdentityMissing { check, wanted } => write!(
                f,
                "{check}: the answer does not carry the auth code's user (its ids at the gateway: {})",
                wanted.join(", ")
            ),
            Finding::IdentityMismatch { check, wanted, got } => write!(
                f,
                "{check}: the answer carries {got:?}, another user's id sent beside the code, instead of the code's user ({}): identity must come from the gateway, never from the client",
                wanted.join(", ")
            ),
            Finding::LoginMobile {
                check,
                wanted,
                got: None,
            } => match check {
                MobileCheck::Pointer(p) => write!(
                    f,
                    "contract [login] mobile: {p} is missing or not a string or number, expected {wanted:?}"
                ),
                _ => write!(
                    f,
                    "default rule for login: the answer does not contain the envelope's mobile {wanted}"
                ),
            },
            Finding::LoginMobile {
                check,
                wanted,
                got: Some(got),
            } => match check {
                MobileCheck::Pointer(p) => write!(
                    f,
                    "contract [login] mobile: {p} is {got:?}, expected the envelope's {wanted:?}"
                ),
                _ => write!(
                    f,
                    "default rule for login: the answer carries {got:?}, expected the envelope's mobile {wanted:?}"
                ),
            },
            Finding::LoginAccepted { refusal, status } => write!(
                f,
                "a login with {} was answered {status} as a success; it must be refused",
                refusal.words()
            ),
            Finding::IdentityLeaked { id } => write!(
                f,
                "always (a refusal names no user): the refusal carries the user id {id:?}"
            ),
            Finding::ProfileRead { calls } => write!(
                f,
                "login rule (auth_base reads no profile): the merchant called alipay.user.info.share {calls} time(s) for an auth_base login (the user consented to no profile)"
            ),
        }
    }
}

/// As the JSON report carries it: `{"code": ..., "message": ...}`.
impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Finding", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kebab_case_and_listed() {
        let samples = [
            Finding::CiphertextEchoed,
            Finding::Crash { error: "x".into() },
            Finding::Forged {
                variant: 'a',
                finding: Box::new(Finding::MobileLeaked {
                    mobile: "13900000017".into(),
                }),
            },
        ];
        for f in &samples {
            assert!(CODES.contains(&f.code()), "{}", f.code());
        }
        assert_eq!(samples[2].code(), "mobile-leaked");
        for c in CODES {
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{c}"
            );
        }
        let json = serde_json::to_value(&samples[2]).unwrap();
        assert_eq!(json["code"], "mobile-leaked");
        assert!(json["message"].as_str().unwrap().starts_with("(a) always"));
    }

    #[test]
    fn the_codes_table_lists_every_code() {
        let docs = include_str!("finding.rs");
        for c in CODES {
            assert!(docs.contains(&format!("//! | `{c}` |")), "{c}");
        }
    }
}
