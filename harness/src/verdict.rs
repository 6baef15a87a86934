//! The result of one case: a verdict plus everything a user needs to act on it.
//!
//! A merchant failing a case is *data* (a [`Verdict::Fail`]), not an `Err`: only a harness that
//! cannot run at all returns an error.

use std::fmt;

use alipay_sim::{BugClass, Expectation, Kind, Severity};
use serde::{Deserialize, Serialize};

use crate::finding::Finding;

/// The harness's conclusion about one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The endpoint behaved as a correct merchant must.
    Pass,
    /// The endpoint answered, and the answer is wrong; or it dropped the connection on this
    /// input while answering other requests (a crash).
    Fail,
    /// The harness could not reach a verdict (timeout, refused connection, oversized answer,
    /// or a dropped connection from an endpoint that answered nothing else).
    Error,
    /// The case does not apply to the endpoint's declared configuration.
    Skip,
    /// The case failed, and `--expected-failures` lists it (a documented weakness of the SDK the
    /// merchant stands on): reported, but it does not fail the run.
    ExpectedFailure,
    /// The case passed although `--expected-failures` lists it: the entry can go. Reported; it
    /// does not fail the run.
    UnexpectedPass,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::Skip => "skip",
            Verdict::ExpectedFailure => "expected_failure",
            Verdict::UnexpectedPass => "unexpected_pass",
        })
    }
}

/// Where a case comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// A genuine platform answer (`platform.*`).
    Platform,
    /// A tampered, forged or hostile body (`tamper.*`).
    Tamper,
    /// A behaviour check across many requests (`behaviour.*`).
    Behaviour,
    /// A login case against `--login-endpoint` (`login.*`, [`crate::login`]).
    Login,
}

impl From<Kind> for CaseKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Platform => CaseKind::Platform,
            Kind::Tamper => CaseKind::Tamper,
        }
    }
}

impl fmt::Display for CaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CaseKind::Platform => "platform",
            CaseKind::Tamper => "tamper",
            CaseKind::Behaviour => "behaviour",
            CaseKind::Login => "login",
        })
    }
}

/// What a correct merchant answers, as data and in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// The outcome class and its mobile or platform code, as the case states them (serialised
    /// inline: `outcome`, `mobile`, `code`, `sub_code`).
    #[serde(flatten)]
    pub class: Expectation,
    /// The rule in words, e.g. `2xx with the mobile 13812345678 in the body`.
    pub description: String,
}

/// What was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestInfo {
    /// The `Content-Type` sent, if any.
    pub content_type: Option<String>,
    /// The body size in bytes.
    pub body_bytes: usize,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AnswerInfo {
    /// The HTTP status, or `None` when there was no answer.
    pub status: Option<u16>,
    /// The start of the body (lossy UTF-8, key material redacted).
    pub body_excerpt: String,
    /// Milliseconds from sending to the end of the answer (or the error).
    pub elapsed_ms: u64,
}

/// One case's full result, as every report format shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    /// Stable case id, e.g. `tamper.signature.bit-flip`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Platform, tamper or behaviour.
    pub kind: CaseKind,
    /// How severe a failure is.
    pub severity: Severity,
    /// The class of bug a failure reveals.
    pub bug_class: BugClass,
    /// The verdict.
    pub verdict: Verdict,
    /// What a correct merchant answers.
    pub expected: Expected,
    /// What was sent (`None` for skipped cases).
    pub request: Option<RequestInfo>,
    /// What came back.
    pub answer: AnswerInfo,
    /// Why this verdict, in words: what matched, or the findings joined by `"; "`.
    pub reason: String,
    /// What was wrong, as data (empty unless the verdict is [`Verdict::Fail`]); the JSON report
    /// carries each as `{"code", "message"}` ([`crate::finding`]).
    #[serde(skip_deserializing)]
    pub findings: Vec<Finding>,
    /// Why a correct merchant must behave as expected.
    pub why: String,
    /// How to fix a failure.
    pub fix: String,
    /// A copy-paste `curl` that reproduces the request (`None` for skipped cases).
    pub curl: Option<String>,
    /// Observations that are not part of the verdict (e.g. the error-oracle check's timing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The reason `--expected-failures` gives for expecting this case to fail, when it lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_failure: Option<String>,
}

/// What a case is, before it runs: the parts of a [`CaseResult`] its definition gives.
#[derive(Debug, Clone)]
pub struct About {
    /// Stable case id.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Platform, tamper, behaviour or login.
    pub kind: CaseKind,
    /// How severe a failure is.
    pub severity: Severity,
    /// The class of bug a failure reveals.
    pub bug_class: BugClass,
    /// Why a correct merchant must behave as expected.
    pub why: String,
    /// How to fix a failure.
    pub fix: String,
}

impl CaseResult {
    /// A case that has not run yet: skipped, with nothing sent and no findings.
    pub fn unrun(about: About, expected: Expected) -> Self {
        let About {
            id,
            title,
            kind,
            severity,
            bug_class,
            why,
            fix,
        } = about;
        CaseResult {
            id,
            title,
            kind,
            severity,
            bug_class,
            verdict: Verdict::Skip,
            expected,
            request: None,
            answer: AnswerInfo::default(),
            reason: String::new(),
            findings: Vec::new(),
            why,
            fix,
            curl: None,
            notes: Vec::new(),
            expected_failure: None,
        }
    }

    /// The family of the id: everything before the last dot (`tamper.signature.bit-flip` →
    /// `tamper.signature`).
    pub fn family(&self) -> &str {
        family(&self.id)
    }

    /// True when this result counts against a `--fail-on` threshold.
    pub fn counts_as_failure(&self, fail_on: Severity) -> bool {
        matches!(self.verdict, Verdict::Fail | Verdict::Error) && self.severity >= fail_on
    }
}

/// The family of a case id: everything before the last dot.
pub fn family(id: &str) -> &str {
    id.rsplit_once('.').map(|(f, _)| f).unwrap_or(id)
}

/// Counts per verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Number of cases.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Errors (no verdict reached).
    pub errors: usize,
    /// Skipped (not applicable to the endpoint).
    pub skipped: usize,
    /// Failed as `--expected-failures` expects (not failures of the run).
    #[serde(default)]
    pub expected_failures: usize,
    /// Passed although `--expected-failures` lists them.
    #[serde(default)]
    pub unexpected_passes: usize,
}

impl Summary {
    /// Counts `results`.
    pub fn of(results: &[CaseResult]) -> Self {
        let mut s = Summary {
            total: results.len(),
            ..Summary::default()
        };
        for r in results {
            match r.verdict {
                Verdict::Pass => s.passed += 1,
                Verdict::Fail => s.failed += 1,
                Verdict::Error => s.errors += 1,
                Verdict::Skip => s.skipped += 1,
                Verdict::ExpectedFailure => s.expected_failures += 1,
                Verdict::UnexpectedPass => s.unexpected_passes += 1,
            }
        }
        s
    }
}

/// The exit code for `results`: 1 when some case at or above `fail_on` failed or errored, else 0.
pub fn exit_code(results: &[CaseResult], fail_on: Severity) -> i32 {
    i32::from(results.iter().any(|r| r.counts_as_failure(fail_on)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(verdict: Verdict, severity: Severity) -> CaseResult {
        CaseResult {
            id: "tamper.signature.bit-flip".into(),
            title: "t".into(),
            kind: CaseKind::Tamper,
            severity,
            bug_class: BugClass::AuthBypass,
            verdict,
            expected: Expected {
                class: Expectation {
                    outcome: alipay_sim::Outcome::Reject,
                    mobile: None,
                    code: None,
                    sub_code: None,
                },
                description: "4xx".into(),
            },
            request: None,
            answer: AnswerInfo::default(),
            reason: String::new(),
            findings: Vec::new(),
            why: String::new(),
            fix: String::new(),
            curl: None,
            notes: Vec::new(),
            expected_failure: None,
        }
    }

    #[test]
    fn fail_on_threshold_decides_exit_code() {
        let rs = vec![
            result(Verdict::Pass, Severity::Critical),
            result(Verdict::Fail, Severity::Medium),
            result(Verdict::Skip, Severity::Critical),
        ];
        assert_eq!(exit_code(&rs, Severity::Low), 1);
        assert_eq!(exit_code(&rs, Severity::Medium), 1);
        assert_eq!(exit_code(&rs, Severity::High), 0);
        let errs = vec![result(Verdict::Error, Severity::High)];
        assert_eq!(exit_code(&errs, Severity::High), 1);
        assert_eq!(exit_code(&errs, Severity::Critical), 0);
    }

    #[test]
    fn family_is_everything_before_the_last_dot() {
        assert_eq!(family("tamper.signature.bit-flip"), "tamper.signature");
        assert_eq!(family("a.b"), "a");
        assert_eq!(
            result(Verdict::Pass, Severity::Low).family(),
            "tamper.signature"
        );
    }

    #[test]
    fn summary_counts_each_verdict() {
        let rs = vec![
            result(Verdict::Pass, Severity::Low),
            result(Verdict::Fail, Severity::Low),
            result(Verdict::Error, Severity::Low),
            result(Verdict::Skip, Severity::Low),
            result(Verdict::Skip, Severity::Low),
            result(Verdict::ExpectedFailure, Severity::Critical),
            result(Verdict::UnexpectedPass, Severity::Critical),
        ];
        let s = Summary::of(&rs);
        assert_eq!(
            (s.total, s.passed, s.failed, s.errors, s.skipped),
            (7, 1, 1, 1, 2)
        );
        assert_eq!((s.expected_failures, s.unexpected_passes), (1, 1));
        // Neither counts against --fail-on.
        assert_eq!(exit_code(&rs[5..], Severity::Low), 0);
    }
}
