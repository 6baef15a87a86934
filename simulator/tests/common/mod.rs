//! What several of the simulator's test files share: running the `alipay-sim` binary (to the end,
//! or spawned and read up to its first stdout line, the `listening on URL` line of `serve`),
//! reading its stderr, the committed keys and fixture files. Each test file uses part of it, hence
//! the `dead_code` allowance.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// The environment that would change the binary's defaults, removed for every test run.
const DEFAULTS_ENV: [&str; 4] = [
    "ALIPAY_SIM_ADDR",
    "ALIPAY_SIM_KEYS",
    "ALIPAY_SIM_SCENARIOS",
    "RUST_LOG",
];

/// `alipay-sim` (to be given its arguments) without [`DEFAULTS_ENV`].
pub(crate) fn sim() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("alipay-sim").unwrap();
    for var in DEFAULTS_ENV {
        c.env_remove(var);
    }
    c
}

/// Spawns `alipay-sim ARGS` without [`DEFAULTS_ENV`], stdout piped and stderr as given; returns
/// the child, its stdout (dropping it closes the pipe) and the first stdout line ("" when the
/// child exits first).
pub(crate) fn spawn_sim(args: &[&str], stderr: Stdio) -> (Child, BufReader<ChildStdout>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alipay-sim"));
    for var in DEFAULTS_ENV {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    (child, stdout, line)
}

/// The committed TEST-ONLY key directory, `keys/`.
pub(crate) fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../keys")
}

/// `alipay-sim fixtures --out DIR`, which must succeed.
pub(crate) fn write_fixtures(dir: &Path) {
    sim()
        .args(["fixtures", "--out"])
        .arg(dir)
        .assert()
        .success();
}

/// A JSON file, parsed.
pub(crate) fn read_json(path: impl AsRef<Path>) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
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
