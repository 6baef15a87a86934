#![no_main]
//! See `fuzz/oracles/cert_load.rs` for the input format and the oracle (shared with the regression
//! tests that replay committed inputs under `cargo test`).

#[path = "../oracles/cert_load.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::run(data));
