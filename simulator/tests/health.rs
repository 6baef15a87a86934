//! `alipay-sim health`: healthy against a running `serve`, unhealthy against a closed port or a
//! wrong answer, exit 2 on bad flags.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Stdio};

use predicates::prelude::*;

mod common;
use common::sim;

/// `alipay-sim serve` on a free loopback port; killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Self {
        let (child, _, line) =
            common::spawn_sim(&["serve", "--addr", "127.0.0.1:0"], Stdio::null());
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_running_server_is_healthy_by_address_env_and_host_name() {
    let s = Server::start();
    sim()
        .args(["health", "--addr", &s.port.to_string()])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("healthy: http://127.0.0.1:"));
    // The container sets ALIPAY_SIM_ADDR=0.0.0.0:PORT for serve; health reads the same variable.
    sim()
        .arg("health")
        .env("ALIPAY_SIM_ADDR", format!("0.0.0.0:{}", s.port))
        .assert()
        .code(0);
    // A host name goes through the system resolver.
    sim()
        .args([
            "health",
            "--url",
            &format!("http://localhost:{}/healthz", s.port),
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("healthy: http://localhost:"));
}

#[test]
fn a_closed_port_or_a_wrong_answer_is_unhealthy_with_exit_1() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    sim()
        .args(["health", "--addr", &format!("127.0.0.1:{closed}")])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("unhealthy: "));

    // A peer that answers 200 with something else than {"status":"ok"}.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        for answer in [
            "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 15\r\nconnection: close\r\n\r\n{\"status\":\"no\"}",
        ] {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = [0u8; 2048];
            let _ = c.read(&mut buf);
            c.write_all(answer.as_bytes()).unwrap();
        }
    });
    sim()
        .args(["health", "--addr", &port.to_string()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("HTTP 500"));
    sim()
        .args(["health", "--addr", &port.to_string()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("status \"no\""));
    peer.join().unwrap();
}

#[test]
fn any_status_accepts_any_http_answer_but_not_silence() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut buf = [0u8; 2048];
        let _ = c.read(&mut buf);
        c.write_all(
            b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .unwrap();
    });
    let url = format!("http://127.0.0.1:{port}/api/phone");
    sim()
        .args(["health", "--any-status", "--url", &url])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("answered HTTP 405"));
    peer.join().unwrap();
    // Nobody listens any more.
    sim()
        .args(["health", "--any-status", "--url", &url])
        .assert()
        .code(1);
}

#[test]
fn a_silent_peer_times_out_as_unhealthy() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    sim()
        .args(["health", "--addr", &port.to_string(), "--timeout", "0.5"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("unhealthy: "));
    // Not a timing assertion on speed: only that the command did not hang.
    assert!(started.elapsed().as_secs() < 30);
    drop(l);
}

#[test]
fn bad_flags_exit_2() {
    for (args, says) in [
        (vec!["--addr", "nowhere"], "--addr \"nowhere\""),
        (vec!["--url", "ftp://x/healthz"], "scheme \"ftp\""),
        (vec!["--url", "not a url"], "--url \"not a url\""),
        (vec!["--timeout", "0"], "0.1 to 60"),
    ] {
        sim()
            .arg("health")
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
}
