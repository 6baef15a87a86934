//! JUnit XML: one `<testsuite name="alipay-harness">`, one `<testcase>` per case whose `name` is
//! the case id and whose `classname` is its family (`tamper.signature`); `<failure>` for fail,
//! `<error>` for error, `<skipped>` for skip. Written by hand with full XML escaping (characters
//! XML 1.0 forbids are replaced by U+FFFD).

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{Reporter, RunInfo, RunReport, Sink};
use crate::verdict::{CaseResult, Verdict};

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

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
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

/// Renders the whole report as JUnit XML.
pub fn render(report: &RunReport) -> String {
    let s = &report.summary;
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"alipay-harness\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        s.total,
        s.failed,
        s.errors,
        s.skipped,
        report.duration_ms as f64 / 1000.0
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"alipay-harness\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        s.total,
        s.failed,
        s.errors,
        s.skipped,
        report.duration_ms as f64 / 1000.0
    );
    let _ = writeln!(x, "    <properties>");
    let _ = writeln!(
        x,
        "      <property name=\"endpoint\" value=\"{}\"/>",
        escape(&report.endpoint)
    );
    let _ = writeln!(
        x,
        "      <property name=\"fail_on\" value=\"{}\"/>",
        report.fail_on
    );
    let _ = writeln!(x, "    </properties>");
    for r in &report.cases {
        let _ = write!(
            x,
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
            escape(&r.id),
            escape(r.family()),
            r.answer.elapsed_ms as f64 / 1000.0
        );
        let tag = match r.verdict {
            Verdict::Pass => {
                // The rule that decided the pass (and any note) for CI test views.
                let mut out = r.reason.clone();
                for n in &r.notes {
                    out.push_str(&format!("\nnote: {n}"));
                }
                let _ = writeln!(
                    x,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    escape(&out)
                );
                continue;
            }
            Verdict::Fail => "failure",
            Verdict::Error => "error",
            Verdict::Skip => "skipped",
        };
        x.push_str(">\n");
        if r.verdict == Verdict::Skip {
            let _ = writeln!(x, "      <skipped message=\"{}\"/>", escape(&r.reason));
        } else {
            let _ = writeln!(
                x,
                "      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>",
                escape(&r.reason),
                escape(&format!("{}/{}", r.severity, r.bug_class)),
                escape(&details(r))
            );
        }
        let _ = writeln!(x, "    </testcase>");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
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

    #[test]
    fn escapes_markup_and_forbidden_characters() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>\u{0}\u{1b}\n"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;\u{FFFD}\u{FFFD}\n"
        );
    }
}
