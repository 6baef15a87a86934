#![no_main]
//! See `fuzz/oracles/server_gateway.rs` for the input format and the oracle (shared with the
//! regression tests that replay committed inputs under `cargo test`).

#[path = "../oracles/server_gateway.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::run(data));
