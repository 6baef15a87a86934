//! Replays committed fuzz inputs under `cargo test`, through the same oracles the fuzz targets
//! use (`fuzz/oracles/*.rs`, FUZZING.md): every crash the fuzzers found stays fixed
//! (`fuzz/regressions/<target>/`), and the seed corpora (`fuzz/corpus/<target>/`) keep passing.
//!
//! The harness-side targets are replayed in `harness/tests/fuzz_regressions.rs`.

use std::path::{Path, PathBuf};

#[path = "../../fuzz/oracles/open_envelope.rs"]
mod open_envelope;

#[path = "../../fuzz/oracles/json_scan.rs"]
mod json_scan;

#[path = "../../fuzz/oracles/key_parse.rs"]
mod key_parse;

#[path = "../../fuzz/oracles/cert_load.rs"]
mod cert_load;

#[allow(unexpected_cfgs)]
#[path = "../../fuzz/oracles/server_admin.rs"]
mod server_admin;

#[path = "../../fuzz/oracles/server_forward.rs"]
mod server_forward;

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
fn open_envelope_inputs() {
    replay("open_envelope", open_envelope::run);
}

#[test]
fn json_scan_inputs() {
    replay("json_scan", json_scan::run);
}

#[test]
fn key_parse_inputs() {
    replay("key_parse", key_parse::run);
}

#[test]
fn cert_load_inputs() {
    replay("cert_load", cert_load::run);
}

#[test]
fn server_admin_inputs() {
    replay("server_admin", server_admin::run);
}

#[test]
fn server_forward_inputs() {
    replay("server_forward", server_forward::run);
}
