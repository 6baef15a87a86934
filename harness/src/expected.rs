//! Known failures (`--expected-failures FILE`): cases a merchant is known to fail because of a
//! documented weakness of the SDK it stands on (the pitfalls table of `docs/merchant-guide.md`),
//! recorded with the reason, so that CI stays green for everything else.
//!
//! The file is TOML, one `[[expected]]` table per case:
//!
//! ```toml
//! [[expected]]
//! id = "tamper.aes.bad-padding"
//! reason = "alipay-sdk (Node) answers bad padding differently from a bad signature"
//! ```
//!
//! Every `id` must be a case of the catalogue or a behaviour check (exact ids, no globs), at most
//! once, with a non-empty `reason`; anything else is an exit-2 error naming the file and line.
//!
//! In the run, a listed case that fails becomes [`Verdict::ExpectedFailure`] (it does not fail
//! the run); one that passes becomes [`Verdict::UnexpectedPass`] (reported, so the entry can be
//! removed; it does not fail the run either). Errors (no verdict) stay errors, and so does a fail
//! that leaks another user's identity (`identity-crossed`): no SDK weakness excuses that. Listed cases that
//! were not run at all (not selected, or skipped for the endpoint's configuration) are listed
//! in the report's `expected_not_run`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::verdict::{CaseResult, Verdict};

/// One entry of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The case id.
    pub id: String,
    /// Why the case is expected to fail.
    pub reason: String,
    /// The line of the entry's `id` in the file.
    pub line: usize,
}

/// The validated `--expected-failures` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedFailures {
    /// The file, as given.
    pub path: PathBuf,
    /// The entries, in file order.
    pub entries: Vec<Entry>,
}

/// A listed case that did not run, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotRun {
    /// The case id.
    pub id: String,
    /// The reason the file gives for expecting it to fail.
    pub reason: String,
    /// Why it did not run: `not selected`, or the skip's reason.
    pub why: String,
}

/// The file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpectedFailuresError {
    /// It cannot be read.
    #[error("--expected-failures {path}: cannot read: {message}")]
    Unreadable {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// It is not valid TOML of the documented shape.
    #[error("--expected-failures {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong (with the line, when TOML gives one).
        message: String,
    },
    /// An entry is wrong.
    #[error("--expected-failures {path}:{line}: {message}")]
    Entry {
        /// The file.
        path: String,
        /// The line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    expected: Vec<toml::Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: toml::Spanned<String>,
    reason: String,
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

impl ExpectedFailures {
    /// Reads and validates `path`; `known` are the ids a run can have (catalogue and behaviour
    /// checks).
    pub fn load(path: &Path, known: &BTreeSet<String>) -> Result<Self, ExpectedFailuresError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ExpectedFailuresError::Unreadable {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        Self::parse(path, &text, known)
    }

    /// Validates the file text `text` of `path`.
    pub fn parse(
        path: &Path,
        text: &str,
        known: &BTreeSet<String>,
    ) -> Result<Self, ExpectedFailuresError> {
        let shown = path.display().to_string();
        let file: File = toml::from_str(text).map_err(|e| {
            let message = match e.span() {
                Some(span) => format!(
                    "line {}: {}",
                    line_of(text, span.start),
                    e.message().trim_end()
                ),
                None => e.message().trim_end().to_string(),
            };
            ExpectedFailuresError::Invalid {
                path: shown.clone(),
                message: format!(
                    "{message} (expected [[expected]] tables with id = \"CASE-ID\" and reason = \"...\")"
                ),
            }
        })?;
        let mut entries: Vec<Entry> = Vec::new();
        for raw in file.expected {
            let entry_line = line_of(text, raw.span().start);
            let raw = raw.into_inner();
            let line = line_of(text, raw.id.span().start);
            let id = raw.id.into_inner();
            let bad = |message: String| ExpectedFailuresError::Entry {
                path: shown.clone(),
                line,
                message,
            };
            if !known.contains(&id) {
                return Err(bad(format!(
                    "unknown case id {id:?} (not in the catalogue, the behaviour checks or the login cases; `alipay-harness list` shows them)"
                )));
            }
            if let Some(first) = entries.iter().find(|e| e.id == id) {
                return Err(bad(format!(
                    "{id:?} is listed twice (first on line {})",
                    first.line
                )));
            }
            if raw.reason.trim().is_empty() {
                return Err(ExpectedFailuresError::Entry {
                    path: shown.clone(),
                    line: entry_line,
                    message: format!("the entry for {id:?} has an empty reason"),
                });
            }
            entries.push(Entry {
                id,
                reason: raw.reason.trim().to_string(),
                line,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            entries,
        })
    }

    fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// `r` with the file applied: a listed failure becomes an expected failure, a listed pass an
    /// unexpected pass (the file's reason carried in [`CaseResult::expected_failure`]).
    pub fn apply(&self, r: &CaseResult) -> CaseResult {
        let mut r = r.clone();
        if let Some(e) = self.entry(&r.id) {
            match r.verdict {
                Verdict::Fail if r.findings.iter().any(Finding::crosses_users) => {
                    r.expected_failure = Some(e.reason.clone());
                    r.notes.push(
                        "--expected-failures lists this case, but it leaks another user's identity: a cross-user leak is never an expected failure".into(),
                    );
                }
                Verdict::Fail => {
                    r.verdict = Verdict::ExpectedFailure;
                    r.expected_failure = Some(e.reason.clone());
                }
                Verdict::Pass => {
                    r.verdict = Verdict::UnexpectedPass;
                    r.expected_failure = Some(e.reason.clone());
                }
                Verdict::Error | Verdict::Skip => {
                    r.expected_failure = Some(e.reason.clone());
                }
                Verdict::ExpectedFailure | Verdict::UnexpectedPass => {}
            }
        }
        r
    }

    /// The listed cases that did not run: not in `results`, or skipped.
    pub fn not_run(&self, results: &[CaseResult]) -> Vec<NotRun> {
        self.entries
            .iter()
            .filter_map(|e| {
                let why = match results.iter().find(|r| r.id == e.id) {
                    None => "not selected".to_string(),
                    Some(r) if r.verdict == Verdict::Skip => format!("skipped: {}", r.reason),
                    Some(_) => return None,
                };
                Some(NotRun {
                    id: e.id.clone(),
                    reason: e.reason.clone(),
                    why,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> BTreeSet<String> {
        [
            "tamper.aes.bad-padding",
            "behaviour.oracle.uniform-rejection",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn parse(text: &str) -> Result<ExpectedFailures, ExpectedFailuresError> {
        ExpectedFailures::parse(Path::new("xf.toml"), text, &known())
    }

    #[test]
    fn a_valid_file_parses_with_lines() {
        let f = parse(
            "# the Node SDK\n[[expected]]\nid = \"tamper.aes.bad-padding\"\nreason = \"sdk\"\n\n[[expected]]\nid = \"behaviour.oracle.uniform-rejection\"\nreason = \" also \"\n",
        )
        .unwrap();
        assert_eq!(f.entries.len(), 2);
        assert_eq!(f.entries[0].line, 3);
        assert_eq!(f.entries[1].line, 7);
        assert_eq!(f.entries[1].reason, "also");
        assert!(parse("").unwrap().entries.is_empty());
    }

    #[test]
    fn fails_become_expected_passes_unexpected_and_cross_user_leaks_stay() {
        let f = parse("[[expected]]\nid = \"tamper.aes.bad-padding\"\nreason = \"sdk\"\n").unwrap();
        let base: CaseResult = serde_json::from_value(serde_json::json!({
            "id": "tamper.aes.bad-padding", "title": "t", "kind": "tamper", "severity": "low",
            "bug_class": "robustness", "verdict": "fail",
            "expected": {"outcome": "reject", "description": "4xx"},
            "request": null, "answer": {"status": 200, "body_excerpt": "", "elapsed_ms": 1},
            "reason": "r", "why": "", "fix": "", "curl": null
        }))
        .unwrap();
        let mut fail = base.clone();
        fail.findings = vec![Finding::CiphertextEchoed];
        let x = f.apply(&fail);
        assert_eq!(x.verdict, Verdict::ExpectedFailure);
        assert_eq!(x.expected_failure.as_deref(), Some("sdk"));
        assert_eq!(x.findings, fail.findings);
        let pass = CaseResult {
            verdict: Verdict::Pass,
            ..base.clone()
        };
        assert_eq!(f.apply(&pass).verdict, Verdict::UnexpectedPass);
        let mut leak = fail.clone();
        leak.findings.push(Finding::IdentityCrossed {
            kind: crate::leak::IdentityKind::Mobile,
            value: "13911112222".into(),
            owner: crate::leak::Owner::Case("platform.success.mainland".into()),
        });
        let x = f.apply(&leak);
        assert_eq!(
            x.verdict,
            Verdict::Fail,
            "a cross-user leak is never expected"
        );
        assert!(x.notes[0].contains("never an expected failure"));
        let other = CaseResult {
            id: "tamper.other".into(),
            ..fail.clone()
        };
        assert_eq!(f.apply(&other), other, "unlisted cases are untouched");
        assert_eq!(f.not_run(&[x])[..], []);
        assert_eq!(f.not_run(&[])[0].why, "not selected");
    }

    #[test]
    fn bad_files_name_the_file_and_line() {
        for (text, want) in [
            (
                "[[expected]]\nid = \"tamper.aes.bad-padding\"\nreason = \"x\"\n[[expected]]\nid = \"tamper.aes.typo\"\nreason = \"x\"\n",
                "xf.toml:5: unknown case id \"tamper.aes.typo\"",
            ),
            (
                "[[expected]]\nid = \"tamper.aes.bad-padding\"\nreason = \"x\"\n[[expected]]\nid = \"tamper.aes.bad-padding\"\nreason = \"y\"\n",
                "xf.toml:5: \"tamper.aes.bad-padding\" is listed twice (first on line 2)",
            ),
            (
                "[[expected]]\nid = \"tamper.aes.bad-padding\"\nreason = \"  \"\n",
                "xf.toml:1: the entry for \"tamper.aes.bad-padding\" has an empty reason",
            ),
            (
                "[[expected]]\nid = \"tamper.aes.bad-padding\"\n",
                "xf.toml: line 1: missing field `reason`",
            ),
            (
                "[[expected]]\nid = \"tamper.aes.bad-padding\"\nreason = \"x\"\nseverity = \"low\"\n",
                "xf.toml: line 4: unknown field `severity`",
            ),
            ("expected = 3\n", "xf.toml: line 1:"),
            ("[[expected]\n", "xf.toml: line 1:"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--expected-failures {want}")), "{e}");
        }
        let e = ExpectedFailures::load(Path::new("/nonexistent/xf.toml"), &known()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--expected-failures /nonexistent/xf.toml: cannot read"),
            "{e}"
        );
    }
}
