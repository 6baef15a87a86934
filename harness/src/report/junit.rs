//! JUnit XML: one `<testsuite name="alipay-harness">`, one `<testcase>` per case whose `name` is
//! the case id and whose `classname` is its family (`tamper.signature`); `<failure>` for fail,
//! `<error>` for error, `<skipped>` for skip; a `finding` property per finding code of the case.
//! A known failure (`--expected-failures`) is `<skipped>` with the message `expected failure:
//! REASON` (the convention of pytest's xfail, which CI test views show as skipped, not failed),
//! an unexpected pass a passing test case; both carry a `verdict` property
//! (`expected_failure`, `unexpected_pass`) and an `expected_failure` property with the reason.
//! Written with `quick-junit` (which escapes, and drops characters XML 1.0 forbids).

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Reporter, RunInfo, RunReport, Sink};
use crate::verdict::{CaseResult, Verdict};

/// The name of the `<testsuites>` and of its one `<testsuite>`.
const NAME: &str = "alipay-harness";

/// Writes JUnit XML.
pub struct JunitReporter<'a> {
    out: Sink<'a>,
}

impl<'a> JunitReporter<'a> {
    /// A reporter writing to `out`.
    pub fn new(out: Sink<'a>) -> Self {
        Self { out }
    }
}

fn details(r: &CaseResult) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "expected: {}", r.expected.description);
    match r.answer.status {
        Some(st) => {
            let _ = writeln!(s, "got: status {st}, body: {}", r.answer.body_excerpt);
        }
        None => {
            let _ = writeln!(s, "got: no answer");
        }
    }
    let _ = writeln!(s, "reason: {}", r.reason);
    if !r.findings.is_empty() {
        let _ = writeln!(s, "findings: {}", super::terminal::codes(r));
    }
    let _ = writeln!(s, "why: {}", r.why);
    let _ = writeln!(s, "fix: {}", r.fix);
    let _ = writeln!(s, "severity: {}, bug class: {}", r.severity, r.bug_class);
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    if let Some(c) = &r.curl {
        let _ = writeln!(s, "reproduce:\n{c}");
    }
    s
}

/// The `<testcase>` of one result: a `<failure>`, `<error>` or `<skipped>` element for those
/// verdicts, the reason (and notes) as `<system-out>` for a pass, and one `finding` property per
/// finding code.
fn test_case(r: &CaseResult) -> TestCase {
    let mut status = match r.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
        Verdict::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
        Verdict::Skip | Verdict::ExpectedFailure => TestCaseStatus::skipped(),
        Verdict::UnexpectedPass => TestCaseStatus::success(),
    };
    let listed = r.expected_failure.as_deref().unwrap_or_default();
    match r.verdict {
        Verdict::Pass | Verdict::UnexpectedPass => {}
        Verdict::ExpectedFailure => {
            status
                .set_message(format!("expected failure: {listed}; {}", r.reason))
                .set_description(details(r));
        }
        _ => {
            status.set_message(r.reason.as_str());
        }
    }
    if matches!(r.verdict, Verdict::Fail | Verdict::Error) {
        status
            .set_type(format!("{}/{}", r.severity, r.bug_class))
            .set_description(details(r));
    }
    let mut case = TestCase::new(r.id.as_str(), status);
    case.set_classname(r.family())
        .set_time(Duration::from_millis(r.answer.elapsed_ms))
        .add_properties(r.findings.iter().map(|f| ("finding", f.code())));
    if matches!(
        r.verdict,
        Verdict::ExpectedFailure | Verdict::UnexpectedPass
    ) {
        case.add_property(("verdict", r.verdict.to_string().as_str()))
            .add_property(("expected_failure", listed));
    }
    if matches!(r.verdict, Verdict::Pass | Verdict::UnexpectedPass) {
        // The rule that decided the pass (and any note) for CI test views.
        let mut out = r.reason.clone();
        if r.verdict == Verdict::UnexpectedPass {
            out = format!(
                "unexpectedly passing: --expected-failures lists it ({listed}); remove the entry\n{out}"
            );
        }
        for n in &r.notes {
            out.push_str(&format!("\nnote: {n}"));
        }
        case.set_system_out(out);
    }
    case
}

/// Renders the whole report as JUnit XML.
pub fn render(report: &RunReport) -> String {
    let mut suite = TestSuite::new(NAME);
    suite
        .set_time(Duration::from_millis(report.duration_ms))
        .add_property(("endpoint", report.endpoint.as_str()))
        .add_property(("fail_on", report.fail_on.to_string().as_str()))
        .add_test_cases(report.cases.iter().map(test_case));
    let s = &report.summary;
    suite.extra.insert(
        "skipped".into(),
        (s.skipped + s.expected_failures).to_string().into(),
    );
    let mut all = Report::new(NAME);
    all.set_time(Duration::from_millis(report.duration_ms))
        .add_test_suite(suite);
    let mut xml = all.to_string().expect("a report always serialises");
    xml.push('\n');
    xml
}

impl Reporter for JunitReporter<'_> {
    fn start(&mut self, _info: &RunInfo) -> io::Result<()> {
        Ok(())
    }

    fn case(&mut self, _result: &CaseResult) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, report: &RunReport) -> io::Result<()> {
        self.out.write_all(render(report).as_bytes())?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RunReport;
    use crate::verdict::{AnswerInfo, CaseKind, Expected, Summary};
    use alipay_sim::{BugClass, Expectation, Outcome, Severity};

    #[test]
    fn markup_is_escaped_and_forbidden_characters_dropped() {
        let case = CaseResult {
            id: "tamper.x.y".into(),
            title: "t".into(),
            kind: CaseKind::Tamper,
            severity: Severity::High,
            bug_class: BugClass::Robustness,
            verdict: Verdict::Fail,
            expected: Expected {
                class: Expectation {
                    outcome: Outcome::Reject,
                    mobile: None,
                    code: None,
                    sub_code: None,
                },
                description: "4xx".into(),
            },
            request: None,
            answer: AnswerInfo::default(),
            reason: "<a href=\"x\">'&'</a>\u{0}\u{1b}".into(),
            findings: Vec::new(),
            why: String::new(),
            fix: String::new(),
            curl: None,
            notes: Vec::new(),
            expected_failure: None,
        };
        let xml = render(&RunReport {
            tool: "alipay-harness 0.0.0".into(),
            endpoint: "http://127.0.0.1:1/?a=1&b=2".into(),
            fail_on: Severity::Low,
            summary: Summary::of(std::slice::from_ref(&case)),
            exit_code: 1,
            duration_ms: 0,
            cases: vec![case],
            expected_not_run: Vec::new(),
        });
        assert!(
            xml.contains("&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;"),
            "{xml}"
        );
        assert!(
            xml.contains("value=\"http://127.0.0.1:1/?a=1&amp;b=2\""),
            "{xml}"
        );
        assert!(!xml.contains('\u{0}') && !xml.contains('\u{1b}'), "{xml}");
    }
}
