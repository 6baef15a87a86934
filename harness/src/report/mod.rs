//! Reports: one [`Reporter`] per format, each fed the run as it happens (start, every result as
//! it arrives, the finished report). Several formats can run at once, each to its own target
//! (`-` is stdout).

pub mod json;
pub mod junit;
pub mod terminal;

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::str::FromStr;

use alipay_sim::Severity;
use serde::Serialize;

use crate::verdict::{CaseResult, Summary};

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Progress, colour and failure details for people.
    Terminal,
    /// The JSON report (`report.schema.json`).
    Json,
    /// JUnit XML for CI test views.
    Junit,
}

/// Where a report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Standard output.
    Stdout,
    /// A file (created or truncated).
    File(PathBuf),
}

/// One `--format FORMAT[=PATH]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatTarget {
    /// The format.
    pub format: Format,
    /// The target.
    pub target: Target,
}

/// A `--format` value could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--format {0:?}: expected terminal, json or junit, optionally =PATH ('-' for stdout)")]
pub struct FormatError(pub String);

impl FromStr for FormatTarget {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (f, t) = match s.split_once('=') {
            Some((f, t)) => (f, Some(t)),
            None => (s, None),
        };
        let format = match f {
            "terminal" => Format::Terminal,
            "json" => Format::Json,
            "junit" => Format::Junit,
            _ => return Err(FormatError(s.into())),
        };
        let target = match t {
            None | Some("-") => Target::Stdout,
            Some("") => return Err(FormatError(s.into())),
            Some(p) => Target::File(PathBuf::from(p)),
        };
        Ok(FormatTarget { format, target })
    }
}

impl fmt::Display for FormatTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.format {
            Format::Terminal => "terminal",
            Format::Json => "json",
            Format::Junit => "junit",
        };
        match &self.target {
            Target::Stdout => f.write_str(name),
            Target::File(p) => write!(f, "{name}={}", p.display()),
        }
    }
}

/// What is known when the run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The endpoint URL.
    pub endpoint: String,
    /// Number of cases to run.
    pub total: usize,
    /// The `--fail-on` threshold.
    pub fail_on: Severity,
}

/// The finished run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// `alipay-harness X.Y.Z`.
    pub tool: String,
    /// The endpoint URL.
    pub endpoint: String,
    /// The `--fail-on` threshold.
    pub fail_on: Severity,
    /// Counts per verdict.
    pub summary: Summary,
    /// 0 or 1 (2 never reaches a report).
    pub exit_code: i32,
    /// Wall time of the run in milliseconds.
    pub duration_ms: u64,
    /// Every result, sorted by id.
    pub cases: Vec<CaseResult>,
    /// The cases `--expected-failures` lists that did not run (not selected, or skipped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_not_run: Vec<crate::expected::NotRun>,
}

/// A report format writer. Errors are I/O errors of its target.
pub trait Reporter {
    /// Called once before the first case.
    fn start(&mut self, info: &RunInfo) -> io::Result<()>;
    /// Called for every result, in completion order.
    fn case(&mut self, result: &CaseResult) -> io::Result<()>;
    /// Called once with the finished run.
    fn finish(&mut self, report: &RunReport) -> io::Result<()>;
}

/// A report's output: borrowed stdout (or a test buffer) or a file.
pub enum Sink<'a> {
    /// A borrowed writer (stdout).
    Borrowed(&'a mut dyn Write),
    /// A buffered file.
    File(BufWriter<File>),
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Borrowed(w) => w.write(buf),
            Sink::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Borrowed(w) => w.flush(),
            Sink::File(f) => f.flush(),
        }
    }
}

/// Calls every reporter, stopping at the first I/O error (naming the format).
pub struct Reporters<'a> {
    list: Vec<(String, Box<dyn Reporter + 'a>)>,
}

impl<'a> Reporters<'a> {
    /// Creates the reporters for `formats`; files are created now, so an unwritable path fails
    /// before anything runs. `stdout` serves the (single) stdout target; `stdout_is_tty` decides
    /// terminal colour along with `NO_COLOR`.
    pub fn open(
        formats: &[FormatTarget],
        stdout: &'a mut dyn Write,
        stdout_is_tty: bool,
    ) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let mut stdout = Some(stdout);
        let mut list: Vec<(String, Box<dyn Reporter + 'a>)> = Vec::new();
        for ft in formats {
            let (sink, tty) = match &ft.target {
                Target::Stdout => (
                    Sink::Borrowed(stdout.take().ok_or_else(|| {
                        anyhow::anyhow!(
                            "only one --format may write to stdout; give the others =PATH"
                        )
                    })?),
                    stdout_is_tty,
                ),
                Target::File(p) => (
                    Sink::File(BufWriter::new(File::create(p).with_context(|| {
                        format!("--format {ft}: cannot create {}", p.display())
                    })?)),
                    false,
                ),
            };
            let r: Box<dyn Reporter + 'a> = match ft.format {
                Format::Terminal => Box::new(terminal::TerminalReporter::new(
                    sink,
                    terminal::use_colour(tty),
                )),
                Format::Json => Box::new(json::JsonReporter::new(sink)),
                Format::Junit => Box::new(junit::JunitReporter::new(sink)),
            };
            list.push((ft.to_string(), r));
        }
        Ok(Self { list })
    }

    /// See [`Reporter::start`].
    pub fn start(&mut self, info: &RunInfo) -> anyhow::Result<()> {
        for (name, r) in &mut self.list {
            r.start(info)
                .map_err(|e| anyhow::anyhow!("writing the {name} report: {e}"))?;
        }
        Ok(())
    }

    /// See [`Reporter::case`].
    pub fn case(&mut self, result: &CaseResult) -> anyhow::Result<()> {
        for (name, r) in &mut self.list {
            r.case(result)
                .map_err(|e| anyhow::anyhow!("writing the {name} report: {e}"))?;
        }
        Ok(())
    }

    /// See [`Reporter::finish`].
    pub fn finish(&mut self, report: &RunReport) -> anyhow::Result<()> {
        for (name, r) in &mut self.list {
            r.finish(report)
                .map_err(|e| anyhow::anyhow!("writing the {name} report: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_targets_parse() {
        assert_eq!(
            "json".parse::<FormatTarget>().unwrap(),
            FormatTarget {
                format: Format::Json,
                target: Target::Stdout
            }
        );
        assert_eq!(
            "junit=out/r.xml".parse::<FormatTarget>().unwrap().target,
            Target::File("out/r.xml".into())
        );
        assert_eq!(
            "terminal=-".parse::<FormatTarget>().unwrap().target,
            Target::Stdout
        );
        for bad in ["xml", "json=", "JSON"] {
            assert!(bad.parse::<FormatTarget>().is_err(), "{bad}");
        }
    }

    #[test]
    fn two_formats_on_stdout_is_an_error() {
        let mut out = Vec::new();
        let f = ["json".parse().unwrap(), "junit".parse().unwrap()];
        let e = Reporters::open(&f, &mut out, false).err().unwrap();
        assert!(e.to_string().contains("only one --format"));
    }
}
