//! Replays committed fuzz inputs under `cargo test`, through the same oracles the fuzz targets
//! use (`fuzz/oracles/*.rs`, FUZZING.md): every crash the fuzzers found stays fixed
//! (`fuzz/regressions/<target>/`), and the seed corpora (`fuzz/corpus/<target>/`) keep passing.
//!
//! The harness-side targets are replayed in `harness/tests/fuzz_regressions.rs`.

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

#[allow(unexpected_cfgs)]
#[path = "../../fuzz/oracles/server_gateway.rs"]
mod server_gateway;

#[path = "../../fuzz/oracles/server_forward.rs"]
mod server_forward;

#[path = "../../fuzz/replay.rs"]
mod replay;
use replay::replay;

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

#[test]
fn server_gateway_inputs() {
    replay("server_gateway", server_gateway::run);
}
