#![no_main]
//! See `fuzz/oracles/key_parse.rs` for the input format and the oracle (shared with the regression
//! tests that replay committed inputs under `cargo test`).

#[path = "../oracles/key_parse.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::run(data));
