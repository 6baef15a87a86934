//! The terminal report: a line per case as it completes (the progress), then every failure and
//! error with what was expected, what came back, why it matters, how to fix it and a `curl` to
//! reproduce it, then the summary. Colour only when writing to a terminal and `NO_COLOR` is
//! unset or empty.

use std::io::{self, Write};

use super::{Reporter, RunInfo, RunReport, Sink};
use crate::verdict::{CaseResult, Verdict};

/// True when colour should be used for a target that `is_tty`, given `NO_COLOR`.
pub fn use_colour(is_tty: bool) -> bool {
    is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Writes the terminal report.
pub struct TerminalReporter<'a> {
    out: Sink<'a>,
    colour: bool,
    done: usize,
    total: usize,
}

impl<'a> TerminalReporter<'a> {
    /// A reporter writing to `out`, with ANSI colour when `colour`.
    pub fn new(out: Sink<'a>, colour: bool) -> Self {
        Self {
            out,
            colour,
            done: 0,
            total: 0,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn label(&self, v: Verdict) -> String {
        match v {
            Verdict::Pass => self.paint("32", "PASS "),
            Verdict::Fail => self.paint("1;31", "FAIL "),
            Verdict::Error => self.paint("1;35", "ERROR"),
            Verdict::Skip => self.paint("33", "SKIP "),
            Verdict::ExpectedFailure => self.paint("33", "XFAIL"),
            Verdict::UnexpectedPass => self.paint("1;33", "XPASS"),
        }
    }

    fn detail(&mut self, r: &CaseResult) -> io::Result<()> {
        let head = format!(
            "{} {}  [{}, {}]",
            self.label(r.verdict),
            self.paint("1", &r.id),
            r.severity,
            r.bug_class
        );
        writeln!(self.out, "\n{head}")?;
        writeln!(self.out, "  {}", r.title)?;
        writeln!(self.out, "  expected: {}", r.expected.description)?;
        match r.answer.status {
            Some(s) => writeln!(
                self.out,
                "  got:      status {s}, body: {}",
                one_line(&r.answer.body_excerpt)
            )?,
            None => writeln!(self.out, "  got:      no answer")?,
        }
        writeln!(self.out, "  reason:   {}", r.reason)?;
        if !r.findings.is_empty() {
            writeln!(self.out, "  findings: {}", codes(r))?;
        }
        writeln!(self.out, "  why:      {}", r.why)?;
        writeln!(self.out, "  fix:      {}", r.fix)?;
        for n in &r.notes {
            writeln!(self.out, "  note:     {}", one_line(n))?;
        }
        if let Some(c) = &r.curl {
            writeln!(self.out, "  reproduce:")?;
            for line in c.lines() {
                writeln!(self.out, "    {line}")?;
            }
        }
        Ok(())
    }
}

/// The finding codes of `r`, comma-separated.
pub(crate) fn codes(r: &CaseResult) -> String {
    r.findings
        .iter()
        .map(|f| f.code())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Newlines and other control characters shown as escapes, so an excerpt stays on one line and
/// cannot move the cursor or change colours.
fn one_line(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

impl Reporter for TerminalReporter<'_> {
    fn start(&mut self, info: &RunInfo) -> io::Result<()> {
        self.total = info.total;
        writeln!(
            self.out,
            "alipay-harness {} -> {} ({} cases, fail on {} and above)",
            env!("CARGO_PKG_VERSION"),
            info.endpoint,
            info.total,
            info.fail_on
        )?;
        self.out.flush()
    }

    fn case(&mut self, r: &CaseResult) -> io::Result<()> {
        self.done += 1;
        let width = self.total.to_string().len();
        let tail = match r.verdict {
            Verdict::Pass => format!("({} ms) {}", r.answer.elapsed_ms, r.reason),
            Verdict::Skip => format!("- {}", r.reason),
            Verdict::Fail | Verdict::Error => format!("[{}] {}", r.severity, r.reason),
            Verdict::ExpectedFailure => format!(
                "[{}, expected: {}] {}",
                r.severity,
                r.expected_failure.as_deref().unwrap_or_default(),
                r.reason
            ),
            Verdict::UnexpectedPass => format!(
                "({} ms) passed, but --expected-failures lists it ({}): remove the entry",
                r.answer.elapsed_ms,
                r.expected_failure.as_deref().unwrap_or_default()
            ),
        };
        let line = format!(
            "[{:>width$}/{}] {} {} {}",
            self.done,
            self.total,
            self.label(r.verdict),
            r.id,
            one_line(&tail)
        );
        writeln!(self.out, "{line}")?;
        if r.verdict == Verdict::Pass {
            for n in &r.notes {
                writeln!(self.out, "      note: {}", one_line(n))?;
            }
        }
        self.out.flush()
    }

    fn finish(&mut self, report: &RunReport) -> io::Result<()> {
        let mut bad: Vec<&CaseResult> = report
            .cases
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::Error))
            .collect();
        bad.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
        if !bad.is_empty() {
            let title = self.paint("1", "Failures and errors, most severe first:");
            writeln!(self.out, "\n{title}")?;
            for r in bad {
                self.detail(r)?;
            }
        }
        let xpass: Vec<&CaseResult> = report
            .cases
            .iter()
            .filter(|r| r.verdict == Verdict::UnexpectedPass)
            .collect();
        if !xpass.is_empty() {
            let title = self.paint(
                "1",
                "Unexpectedly passing (listed in --expected-failures; remove their entries):",
            );
            writeln!(self.out, "\n{title}")?;
            for r in xpass {
                writeln!(
                    self.out,
                    "  {}  ({})",
                    r.id,
                    r.expected_failure.as_deref().unwrap_or_default()
                )?;
            }
        }
        if !report.expected_not_run.is_empty() {
            let title = self.paint("1", "Listed in --expected-failures but not run:");
            writeln!(self.out, "\n{title}")?;
            for n in &report.expected_not_run {
                writeln!(self.out, "  {}  ({})", n.id, one_line(&n.why))?;
            }
        }
        let s = &report.summary;
        let mut counts = format!(
            "{} cases: {} passed, {} failed, {} errors, {} skipped",
            s.total, s.passed, s.failed, s.errors, s.skipped,
        );
        if s.expected_failures + s.unexpected_passes > 0 {
            counts.push_str(&format!(
                ", {} failed as expected, {} unexpectedly passing",
                s.expected_failures, s.unexpected_passes
            ));
        }
        counts.push_str(&format!(" in {:.2} s", report.duration_ms as f64 / 1000.0));
        let verdict = if report.exit_code == 0 {
            self.paint(
                "1;32",
                &format!("OK: nothing at or above {} failed", report.fail_on),
            )
        } else {
            self.paint(
                "1;31",
                &format!("FAILED: some case at or above {} failed", report.fail_on),
            )
        };
        writeln!(
            self.out,
            "\n{counts}\n{verdict} (exit {})",
            report.exit_code
        )?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_escapes_controls() {
        assert_eq!(one_line("a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
    }

    #[test]
    fn no_colour_without_a_tty() {
        assert!(!use_colour(false));
        let mut buf = Vec::new();
        let r = TerminalReporter::new(Sink::Borrowed(&mut buf), false);
        assert_eq!(r.label(Verdict::Fail), "FAIL ");
        let c = TerminalReporter::new(Sink::Borrowed(&mut buf), true);
        assert!(c.label(Verdict::Fail).contains("\x1b["));
    }
}
