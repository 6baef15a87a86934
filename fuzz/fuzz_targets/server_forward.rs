#![no_main]
//! See `fuzz/oracles/server_forward.rs` for the input format and the oracle (shared with the regression
//! tests that replay committed inputs under `cargo test`).

#[path = "../oracles/server_forward.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(
    init: {
        // A Rust program's own `main` ignores SIGPIPE; libFuzzer's C `main` leaves the default,
        // which kills the process when the relay writes to a socket the echo merchant has already
        // closed (an ordinary, handled `EPIPE` in `alipay-sim serve`).
        // SAFETY: called once, before any thread of the target starts; SIG_IGN is a valid handler.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
    },
    |data: &[u8]| oracle::run(data)
);
