//! What several of the simulator's test files share: starting the `alipay-sim` binary and reading
//! its first stdout line (the `listening on URL` line of `serve`), and reading its stderr.
//! Each test file uses part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, ChildStdout, Command, Stdio};

/// Spawns `alipay-sim ARGS` without the environment that would change its defaults
/// (`ALIPAY_SIM_ADDR`, `ALIPAY_SIM_KEYS`, `ALIPAY_SIM_SCENARIOS`, `RUST_LOG`), stdout piped and
/// stderr as given; returns the child, its stdout (dropping it closes the pipe) and the first
/// stdout line ("" when the child exits first).
pub(crate) fn spawn_sim(args: &[&str], stderr: Stdio) -> (Child, BufReader<ChildStdout>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_alipay-sim"))
        .args(args)
        .env_remove("ALIPAY_SIM_ADDR")
        .env_remove("ALIPAY_SIM_KEYS")
        .env_remove("ALIPAY_SIM_SCENARIOS")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    (child, stdout, line)
}

/// All of a child's piped stderr (read to its end: call it after the child has exited).
pub(crate) fn read_stderr(child: &mut Child) -> String {
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}
