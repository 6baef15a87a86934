//! Choosing which cases run: id globs, `--skip` globs, `--last-failed` from a previous JSON
//! report, and `--shard K/N` for CI matrices.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use globset::{Glob, GlobSet, GlobSetBuilder};

/// A selection option could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// `--shard` is not `K/N` with `1 <= K <= N`.
    #[error("--shard {0:?}: expected K/N with 1 <= K <= N (e.g. 2/4)")]
    BadShard(String),
    /// A `--cases` glob matches no id (a typo would otherwise run nothing and pass).
    #[error("--cases {0:?} matches no case id (see `alipay-harness list`)")]
    NoMatch(String),
    /// A `--cases` or `--skip` glob does not parse.
    #[error("glob {0:?}: {1}")]
    BadGlob(String, String),
    /// The previous report could not be read.
    #[error("--last-failed {path}: {message}")]
    Report {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// One shard of a CI matrix: 1-based `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = SelectError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SelectError::BadShard(s.into());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Compiles the `--cases` or `--skip` globs `patterns` (globset syntax: `*` is any run of
/// characters, dots included, `?` one character; `[...]` and `{a,b}` work too) into one set.
pub fn globs(patterns: &[String]) -> Result<GlobSet, SelectError> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(Glob::new(p).map_err(|e| SelectError::BadGlob(p.clone(), e.kind().to_string()))?);
    }
    set.build()
        .map_err(|e| SelectError::BadGlob(patterns.join(" "), e.to_string()))
}

/// The ids that failed or errored in a JSON report written by `--format json`.
pub fn last_failed(path: &Path) -> Result<BTreeSet<String>, SelectError> {
    let err = |message: String| SelectError::Report {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
    if v.get("schema").and_then(|s| s.as_str()) != Some(crate::report::json::SCHEMA) {
        return Err(err(format!(
            "not an alipay-harness JSON report (\"schema\" is not {:?})",
            crate::report::json::SCHEMA
        )));
    }
    let cases = v
        .get("cases")
        .and_then(|c| c.as_array())
        .ok_or_else(|| err("no \"cases\" array".into()))?;
    let mut ids = BTreeSet::new();
    for (i, c) in cases.iter().enumerate() {
        let id = c.get("id").and_then(|x| x.as_str());
        let verdict = c.get("verdict").and_then(|x| x.as_str());
        match (id, verdict) {
            (Some(id), Some("fail" | "error")) => {
                ids.insert(id.to_string());
            }
            (Some(_), Some(_)) => {}
            _ => {
                return Err(err(format!(
                    "cases[{i}] has no string \"id\" and \"verdict\""
                )));
            }
        }
    }
    Ok(ids)
}

/// The selection options, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Keep ids matching any of these (all when empty).
    pub cases: Vec<String>,
    /// Drop ids matching any of these.
    pub skip: Vec<String>,
    /// Keep only ids that failed or errored last time.
    pub last_failed: Option<BTreeSet<String>>,
    /// Keep only this shard.
    pub shard: Option<Shard>,
}

impl Selection {
    /// Applies the selection to `ids` and returns the chosen ids, sorted. Filters apply in
    /// order: `--cases`, `--skip`, `--last-failed`, then the shard, which takes every N-th id of
    /// the sorted remainder starting at K (stable for a given catalogue; shards are disjoint and
    /// together cover everything).
    pub fn apply(&self, ids: &[String]) -> Result<Vec<String>, SelectError> {
        let (cases, skip) = (globs(&self.cases)?, globs(&self.skip)?);
        for (i, g) in self.cases.iter().enumerate() {
            if !ids.iter().any(|id| cases.matches(id).contains(&i)) {
                return Err(SelectError::NoMatch(g.clone()));
            }
        }
        let mut chosen: Vec<String> = ids
            .iter()
            .filter(|id| self.cases.is_empty() || cases.is_match(id))
            .filter(|id| !skip.is_match(id))
            .filter(|id| self.last_failed.as_ref().is_none_or(|f| f.contains(*id)))
            .cloned()
            .collect();
        chosen.sort();
        chosen.dedup();
        if let Some(s) = self.shard {
            chosen = chosen
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % s.count == s.index - 1)
                .map(|(_, id)| id)
                .collect();
        }
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        [
            "tamper.signature.bit-flip",
            "tamper.signature.attacker-key",
            "tamper.aes.wrong-key",
            "platform.success.mainland",
            "behaviour.concurrency.distinct-mobiles",
        ]
        .map(String::from)
        .to_vec()
    }

    fn glob_match(pattern: &str, text: &str) -> bool {
        globs(&[pattern.to_string()]).unwrap().is_match(text)
    }

    #[test]
    fn globs_match_ids() {
        assert!(glob_match("tamper.*", "tamper.signature.bit-flip"));
        assert!(glob_match("*.bit-flip", "tamper.signature.bit-flip"));
        assert!(glob_match("tamper.s?gnature.*", "tamper.signature.x"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("tamper.aes", "tamper.aes.wrong-key"));
        assert!(!glob_match("platform.*", "tamper.platform.x"));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("a*b*c", "a-x-b-y-d"));
        assert!(matches!(
            globs(&["tamper.[".into()]),
            Err(SelectError::BadGlob(..))
        ));
    }

    #[test]
    fn cases_skip_and_typos() {
        let s = Selection {
            cases: vec!["tamper.*".into()],
            skip: vec!["*.attacker-key".into()],
            ..Selection::default()
        };
        assert_eq!(
            s.apply(&ids()).unwrap(),
            vec!["tamper.aes.wrong-key", "tamper.signature.bit-flip"]
        );
        let typo = Selection {
            cases: vec!["tamper.sig*".into(), "tampr.*".into()],
            ..Selection::default()
        };
        assert_eq!(
            typo.apply(&ids()).unwrap_err(),
            SelectError::NoMatch("tampr.*".into())
        );
    }

    #[test]
    fn shards_partition_the_sorted_ids() {
        for n in 1..=6 {
            let mut all = Vec::new();
            for k in 1..=n {
                let s = Selection {
                    shard: Some(Shard { index: k, count: n }),
                    ..Selection::default()
                };
                all.extend(s.apply(&ids()).unwrap());
            }
            all.sort();
            let mut want = ids();
            want.sort();
            assert_eq!(all, want, "n={n}");
        }
        for bad in ["0/2", "3/2", "1/0", "x/2", "1-2", "1/"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!("2/4".parse::<Shard>().unwrap().to_string(), "2/4");
    }

    #[test]
    fn last_failed_reads_fail_and_error_ids() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(
            &p,
            r#"{"schema":"alipay-harness/report/v1","cases":[
                {"id":"a.x","verdict":"pass"},{"id":"a.y","verdict":"fail"},
                {"id":"a.z","verdict":"error"},{"id":"a.w","verdict":"skip"}]}"#,
        )
        .unwrap();
        let ids = last_failed(&p).unwrap();
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec!["a.y", "a.z"]);
        std::fs::write(&p, r#"{"cases":[]}"#).unwrap();
        assert!(last_failed(&p).unwrap_err().to_string().contains("r.json"));
        std::fs::write(&p, "nope").unwrap();
        assert!(
            last_failed(&p)
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
    }
}
