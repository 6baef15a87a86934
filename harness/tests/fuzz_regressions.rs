//! Replays committed fuzz inputs of the harness-side targets under `cargo test`, through the
//! same oracles the fuzz targets use (`fuzz/oracles/*.rs`, FUZZING.md): every crash the fuzzers
//! found stays fixed (`fuzz/regressions/<target>/`), and the seed corpora keep passing.

use std::path::{Path, PathBuf};

#[path = "../../fuzz/oracles/scenario_file.rs"]
mod scenario_file;

#[path = "../../fuzz/oracles/contract_file.rs"]
mod contract_file;

#[path = "../../fuzz/oracles/judge_answer.rs"]
mod judge_answer;

fn inputs(target: &str, kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Runs every committed input of `target`; the seed corpus must not be empty.
fn replay(target: &str, run: fn(&[u8])) {
    let seeds = inputs(target, "corpus");
    assert!(!seeds.is_empty(), "no seeds for {target}: run fuzz/seed.sh");
    for path in inputs(target, "regressions").iter().chain(&seeds) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
    }
}

#[test]
fn scenario_file_inputs() {
    replay("scenario_file", scenario_file::run);
}

#[test]
fn contract_file_inputs() {
    replay("contract_file", contract_file::run);
}

#[test]
fn judge_answer_inputs() {
    replay("judge_answer", judge_answer::run);
}
