//! Hostile endpoints, each written here on 127.0.0.1:0: a silent one, one that resets, one that
//! floods an endless body, one that drips a byte at a time, one that redirects, and a closed
//! port. Each must give an error verdict (or, for the redirect, a judged answer) and the run
//! must finish: the per-request deadline and the answer cap bound everything.

use std::net::SocketAddr;
use std::time::Duration;

use alipay_harness::cli::{Cli, run_async};
use alipay_harness::delivery::{Delivery, PreparedRequest};
use alipay_harness::transport::{HttpClient, Limits, TransportError};
use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIMITS: Limits = Limits {
    timeout: Duration::from_millis(400),
    max_answer_bytes: 4096,
};

/// Serves every connection with `handle` on a fresh loopback port.
async fn hostile<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(stream));
        }
    });
    addr
}

/// Reads the request head (up to the blank line).
async fn read_head(s: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
    }
}

fn request(addr: SocketAddr) -> PreparedRequest {
    let url = reqwest::Url::parse(&format!("http://{addr}/phone")).unwrap();
    Delivery::raw().prepare(&url, "tamper.body.empty", "{}", false, None)
}

async fn send(addr: SocketAddr) -> Result<alipay_harness::judge::Answer, TransportError> {
    HttpClient::new(LIMITS)
        .unwrap()
        .send(&request(addr))
        .await
        .0
}

#[tokio::test]
async fn silent_endpoint_times_out() {
    let addr = hostile(|s| async move {
        // Accept, never answer, keep the connection open.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(s);
    })
    .await;
    assert_eq!(send(addr).await.unwrap_err(), TransportError::Timeout(400));
}

#[tokio::test]
async fn resetting_endpoint_is_an_error() {
    let addr = hostile(|mut s| async move {
        read_head(&mut s).await;
        s.set_zero_linger().unwrap();
        drop(s);
    })
    .await;
    let e = send(addr).await.unwrap_err();
    assert!(
        matches!(e, TransportError::Reset | TransportError::Closed),
        "{e:?}"
    );
}

#[tokio::test]
async fn closing_without_answer_is_an_error() {
    let addr = hostile(|mut s| async move {
        read_head(&mut s).await;
        drop(s);
    })
    .await;
    let e = send(addr).await.unwrap_err();
    assert!(
        matches!(e, TransportError::Closed | TransportError::Reset),
        "{e:?}"
    );
}

#[tokio::test]
async fn endless_body_stops_at_the_cap() {
    let addr = hostile(|mut s| async move {
        read_head(&mut s).await;
        // No Content-Length: the body runs until the connection closes, which it never does.
        if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
        let chunk = [b'A'; 8192];
        while s.write_all(&chunk).await.is_ok() {}
    })
    .await;
    let e = send(addr).await.unwrap_err();
    assert_eq!(
        e,
        TransportError::TooLarge {
            cap: 4096,
            status: Some(200)
        }
    );
    assert_eq!(e.to_string(), "answer exceeded 4096 bytes");
}

#[tokio::test]
async fn declared_huge_length_stops_before_reading() {
    let addr = hostile(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\nAAAA")
            .await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
    })
    .await;
    assert!(matches!(
        send(addr).await.unwrap_err(),
        TransportError::TooLarge { cap: 4096, .. }
    ));
}

#[tokio::test]
async fn dripping_body_times_out() {
    let addr = hostile(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            .await;
        loop {
            if s.write_all(b"A").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(send(addr).await.unwrap_err(), TransportError::Timeout(400));
}

#[tokio::test]
async fn refused_connection_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = send(addr).await.unwrap_err();
    assert_eq!(e, TransportError::Refused);
}

#[tokio::test]
async fn redirects_are_answers_not_followed() {
    let addr = hostile(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n")
            .await;
    })
    .await;
    let a = send(addr).await.unwrap();
    assert_eq!(a.status, 302);
}

/// The whole CLI path: a silent endpoint gives error verdicts in the JSON report and exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_against_a_silent_endpoint_reports_errors() {
    let addr = hostile(|s| async move {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(s);
    })
    .await;
    let cli = Cli::try_parse_from([
        "alipay-harness",
        "run",
        "--endpoint",
        &format!("http://{addr}/"),
        "--cases",
        "tamper.body.*",
        "--timeout-ms",
        "300",
        "--concurrency",
        "8",
        "--format",
        "json",
    ])
    .unwrap();
    let mut out = Vec::new();
    let code = run_async(cli, &mut out, false).await.unwrap();
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for c in cases {
        assert_eq!(c["verdict"], "error", "{c}");
        assert_eq!(c["reason"], "no complete answer within 300 ms");
        assert!(c["answer"]["status"].is_null());
    }
    assert_eq!(v["summary"]["errors"], 4);
}
