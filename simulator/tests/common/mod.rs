//! What several of the simulator's test files share: running the `alipay-sim` binary (to the end,
//! or spawned and read up to its first stdout line, the `listening on URL` line of `serve`),
//! reading its stderr, the committed keys and fixture files, and running the server in the test
//! process on a free port. Each test file uses part of it, hence the `dead_code` allowance.
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
    Path::new(env!("CARGO_MANIFEST_DIR")).join("keys")
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

/// `alipay_sim::server` on 127.0.0.1:0 in this process (embedded state, the given limits), until
/// [`Running::stop`].
pub(crate) struct Running {
    /// `HOST:PORT`.
    pub(crate) addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub(crate) async fn start(limits: alipay_sim::server::Limits) -> Self {
        use alipay_sim::{server, server::AppState};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::serve_with(
            listener,
            server::app(AppState::embedded()),
            limits,
            async move {
                let _ = rx.await;
            },
        ));
        Self {
            addr,
            stop: Some(tx),
            task,
        }
    }

    /// `http://HOST:PORT`.
    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting and waits for the graceful shutdown, which must end within 10 s.
    pub(crate) async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .expect("shutdown within the bound")
            .unwrap()
            .unwrap();
    }
}
