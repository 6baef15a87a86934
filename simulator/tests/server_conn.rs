//! `alipay-sim serve` under hostile connections, on loopback with short limits: a slowloris
//! peer is cut by the header timeout, a silent connection by the idle timeout, a request in
//! flight is not, and connections beyond the cap are answered 503 and closed while the ones
//! within it keep working. Every wait is bounded.

use std::time::Duration;

use alipay_sim::server::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;

use common::Running;

/// The bound on every wait in this file: far above the limits under test, far below a hang.
const BOUND: Duration = Duration::from_secs(10);

/// Reads until the peer closes (or resets) the connection; `None` if it is still open after
/// `within`.
async fn read_until_closed(sock: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| out)
}

async fn get_healthz(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let out = read_until_closed(&mut s, BOUND).await.expect("an answer");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_slowloris_peer_is_cut_by_the_header_timeout() {
    let s = Running::start(Limits {
        header_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_secs(30),
        max_connections: 16,
    })
    .await;
    let mut sock = TcpStream::connect(&s.addr).await.unwrap();
    // One byte every 50 ms of a head that would take 4 s to finish; the connection never goes
    // idle, so only the header timeout can end it.
    let head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let started = tokio::time::Instant::now();
    let mut cut = false;
    for b in head.iter().take(80) {
        if sock.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        let mut probe = [0u8; 512];
        // The server answered (408) or closed: either way it is cutting the peer.
        if tokio::time::timeout(Duration::from_millis(50), sock.read(&mut probe))
            .await
            .is_ok()
        {
            cut = true;
            break;
        }
        assert!(started.elapsed() < BOUND, "still open after {BOUND:?}");
    }
    assert!(
        cut,
        "a head trickling in for {:?} was not cut",
        started.elapsed()
    );
    // The server is unharmed.
    assert!(get_healthz(&s.addr).await.starts_with("HTTP/1.1 200"));
    s.stop().await;
}

#[tokio::test]
async fn silent_and_idle_keep_alive_connections_are_closed() {
    let s = Running::start(Limits {
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_millis(300),
        max_connections: 16,
    })
    .await;
    // Opened and never used.
    let mut silent = TcpStream::connect(&s.addr).await.unwrap();
    assert!(
        read_until_closed(&mut silent, BOUND).await.is_some(),
        "a silent connection stayed open"
    );
    // Used once with keep-alive, then left idle: the answer arrives, then the close.
    let mut kept = TcpStream::connect(&s.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let out = read_until_closed(&mut kept, BOUND)
        .await
        .expect("an idle keep-alive connection stayed open");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    s.stop().await;
}

#[tokio::test]
async fn a_request_in_flight_outlives_the_idle_timeout() {
    let s = Running::start(Limits {
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_millis(200),
        max_connections: 16,
    })
    .await;
    let mut admin = TcpStream::connect(&s.addr).await.unwrap();
    let body = br#"{"latency_ms":800}"#;
    admin
        .write_all(
            format!(
                "PUT /__admin/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    admin.write_all(body).await.unwrap();
    read_until_closed(&mut admin, BOUND)
        .await
        .expect("faults set");
    // The answer takes 800 ms, four idle timeouts: it still arrives.
    let mut sock = TcpStream::connect(&s.addr).await.unwrap();
    sock.write_all(
        b"GET /jsapi/apps/demo/users/alice/getSetting HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    )
    .await
    .unwrap();
    let out = read_until_closed(&mut sock, BOUND).await.expect("closed");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("authSetting"), "{text}");
    s.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_with_a_clear_503() {
    let s = Running::start(Limits {
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        max_connections: 4,
    })
    .await;
    // Fill the cap with connections that each answered once (so each is surely being served).
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut c = TcpStream::connect(&s.addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(BOUND, c.read(&mut buf))
            .await
            .expect("answered")
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(c);
    }
    // A flood beyond it: every one gets the refusal, then the close.
    for _ in 0..20 {
        let mut extra = TcpStream::connect(&s.addr).await.unwrap();
        let _ = extra
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await;
        let out = read_until_closed(&mut extra, BOUND)
            .await
            .expect("a refused connection is closed");
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("HTTP/1.1 503 Service Unavailable"),
            "{text}"
        );
        assert!(text.contains("retry-after: 1"), "{text}");
        let body: serde_json::Value =
            serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"], "too_many_connections");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("--max-connections"),
            "{body}"
        );
    }
    // The connections within the cap still work.
    let c = &mut held[0];
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let out = read_until_closed(c, BOUND).await.expect("answered");
    assert!(out.starts_with(b"HTTP/1.1 200"));
    // Closing them frees their slots.
    drop(held);
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let answer = get_healthz(&s.addr).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "slots not freed: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.stop().await;
}

#[test]
fn serve_rejects_bad_limit_flags_with_exit_2() {
    for args in [
        ["--header-timeout", "0"],
        ["--idle-timeout", "soon"],
        ["--max-connections", "0"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_alipay-sim"))
            .arg("serve")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(args[0]), "{args:?}: {err}");
    }
}
