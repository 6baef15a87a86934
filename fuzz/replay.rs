//! Replaying committed fuzz inputs under `cargo test`: the one copy of the loop that
//! `simulator/tests/fuzz_regressions.rs` and `harness/tests/fuzz_regressions.rs` include with
//! `#[path]` (each test crate replays its own targets' oracles through it).

use std::path::{Path, PathBuf};

/// The committed inputs of `target` of one kind (`corpus` or `regressions`), sorted.
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
pub(crate) fn replay(target: &str, run: fn(&[u8])) {
    let seeds = inputs(target, "corpus");
    assert!(!seeds.is_empty(), "no seeds for {target}: run fuzz/seed.sh");
    for path in inputs(target, "regressions").iter().chain(&seeds) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
    }
}
