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

async fn send(addr: SocketAddr) -> Result<alipay_harness::transport::Answer, TransportError> {
    HttpClient::new(LIMITS)
        .unwrap()
        .send(&request(addr))
        .await
        .0
}

/// An endpoint that accepts, never answers and keeps the connection open.
async fn silent() -> SocketAddr {
    hostile(|s| async move {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(s);
    })
    .await
}

/// Runs `alipay-harness run --endpoint http://ADDR/ --cases CASES [EXTRA...] --format json` in
/// process; returns its exit code and the JSON report.
async fn run_json(addr: SocketAddr, cases: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let endpoint = format!("http://{addr}/");
    let mut args = vec![
        "alipay-harness",
        "run",
        "--endpoint",
        &endpoint,
        "--cases",
        cases,
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--format", "json"]);
    let cli = Cli::try_parse_from(args).unwrap();
    let mut out = Vec::new();
    let code = run_async(cli, &mut out, false).await.unwrap();
    (code, serde_json::from_slice(&out).unwrap())
}

/// An endpoint that reads the request head, then sends `100 Continue` interim answers without
/// end, pausing `pause` between them (zero: only yielding to the runtime).
async fn continue_flood(pause: Duration) -> SocketAddr {
    hostile(move |mut s| async move {
        read_head(&mut s).await;
        loop {
            if s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err() {
                return;
            }
            if pause.is_zero() {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(pause).await;
            }
        }
    })
    .await
}

#[tokio::test]
async fn silent_endpoint_times_out() {
    let addr = silent().await;
    assert_eq!(send(addr).await.unwrap_err(), TransportError::Timeout(400));
}

/// An endpoint that reads the request head and drops the connection without answering: with
/// a reset (zero linger) or a plain close.
#[tokio::test]
async fn resetting_or_closing_without_answer_is_an_error() {
    for reset in [true, false] {
        let addr = hostile(move |mut s| async move {
            read_head(&mut s).await;
            if reset {
                s.set_zero_linger().unwrap();
            }
            drop(s);
        })
        .await;
        let e = send(addr).await.unwrap_err();
        assert!(
            matches!(e, TransportError::Reset | TransportError::Closed),
            "reset={reset}: {e:?}"
        );
    }
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
    let addr = silent().await;
    let (code, v) = run_json(
        addr,
        "tamper.body.*",
        &["--timeout-ms", "300", "--concurrency", "8"],
    )
    .await;
    assert_eq!(code, 1);
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for c in cases {
        assert_eq!(c["verdict"], "error", "{c}");
        assert_eq!(c["reason"], "no complete answer within 300 ms");
        assert!(c["answer"]["status"].is_null());
    }
    assert_eq!(v["summary"]["errors"], 4);
}

/// A case's deadline is a deadline: an endpoint that floods `100 Continue` interim answers (each
/// of which a client must read and skip) never gets to stretch it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_flood_does_not_stretch_the_deadline() {
    let addr = continue_flood(Duration::ZERO).await;
    let started = std::time::Instant::now();
    let (result, elapsed) = HttpClient::new(LIMITS).unwrap().send(&request(addr)).await;
    let wall = started.elapsed();
    assert!(result.is_err(), "{result:?}");
    // 400 ms deadline; generous slack for a loaded 2-core machine, far below a stretched one.
    assert!(wall < Duration::from_millis(900), "took {wall:?}");
    assert!(elapsed < Duration::from_millis(900), "reported {elapsed:?}");
}

/// The behaviour checks share one deadline: against a flooding endpoint each check ends in
/// about one deadline, not one per request (64 requests 16 at a time would take 4 deadlines;
/// the oracle check's three rounds, 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviour_checks_keep_their_one_deadline_under_a_flood() {
    let addr = continue_flood(Duration::from_millis(5)).await;
    // A deadline property, not a speed target: the bound is a multiple of the deadline well
    // below what per-request deadlines would take (4 and 3 deadlines).
    for (cases, limit_ms) in [
        ("behaviour.concurrency.*", 500 * 14 / 5),
        ("behaviour.oracle.*", 500 * 12 / 5),
    ] {
        let started = std::time::Instant::now();
        let (code, v) = run_json(addr, cases, &["--timeout-ms", "500"]).await;
        let wall = started.elapsed();
        assert_eq!(code, 1);
        assert!(
            wall < Duration::from_millis(limit_ms),
            "{cases} took {wall:?}"
        );
        assert_eq!(v["cases"][0]["verdict"], "error", "{}", v["cases"][0]);
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Answers every request with `status`, the `Content-Encoding` given and `body`.
async fn encoded(encoding: &'static str, body: Vec<u8>) -> SocketAddr {
    let body = std::sync::Arc::new(body);
    hostile(move |mut s| {
        let body = std::sync::Arc::clone(&body);
        async move {
            read_head(&mut s).await;
            let head = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Encoding: {encoding}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&body).await;
        }
    })
    .await
}

#[tokio::test]
async fn compressed_answers_are_decoded_and_bombs_stay_bounded() {
    let text = br#"{"status":"rejected"}"#;
    let a = send(encoded("gzip", gzip(text)).await).await.unwrap();
    assert_eq!(a.body, text);
    assert_eq!(a.encoding.as_deref(), Some("gzip"));
    assert_eq!(a.undecodable, None);

    // 2 MiB decoded, about 2 KiB on the wire: under the 4 KiB cap until decoded.
    let bomb = gzip(&vec![b'A'; 2 * 1024 * 1024]);
    assert!(bomb.len() < LIMITS.max_answer_bytes, "{}", bomb.len());
    let e = send(encoded("gzip", bomb).await).await.unwrap_err();
    assert!(
        matches!(e, TransportError::DecodedTooLarge { cap: 4096, .. }),
        "{e:?}"
    );

    let a = send(encoded("zstd", b"(zstd bytes)".to_vec()).await)
        .await
        .unwrap();
    assert!(a.undecodable.as_deref().unwrap().contains("zstd"), "{a:?}");
}

/// An answer the harness cannot decode is a failure, never a pass: the leak checks cannot see
/// into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_answer_fails_the_case() {
    let addr = encoded("zstd", b"(zstd bytes)".to_vec()).await;
    let (code, v) = run_json(addr, "tamper.body.empty", &[]).await;
    assert_eq!(code, 1);
    let c = &v["cases"][0];
    assert_eq!(c["verdict"], "fail", "{c}");
    assert_eq!(c["findings"][0]["code"], "answer-undecodable", "{c}");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("always (readable answer)"),
        "{c}"
    );
}

/// No false failure from the oracle check: an endpoint whose single rejection carries a fresh
/// trace id (letters and digits) every time is uniform once what varies between rounds is
/// masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oracle_check_masks_per_request_ids() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    async fn refuse() -> (axum::http::StatusCode, String) {
        let n = N.fetch_add(7919, Ordering::Relaxed);
        (
            axum::http::StatusCode::BAD_REQUEST,
            format!(r#"{{"error":"rejected","trace":"tr{n:x}q{}z"}}"#, n * 31),
        )
    }
    let app = axum::Router::new().fallback(axum::routing::post(refuse));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (code, v) = run_json(addr, "behaviour.oracle.*", &[]).await;
    let c = &v["cases"][0];
    assert_eq!(c["verdict"], "pass", "{c}");
    assert_eq!(code, 0);
    assert!(
        c["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("every token that varied between rounds masked")),
        "{c}"
    );
}

/// Issue 18: the status line's reason phrase is part of the answer. A handler that sets it to
/// its error message (`HTTP/1.1 400 decrypt failed key=...`) leaks what the message holds; a
/// standard reason phrase is not kept at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_in_the_reason_phrase_fails_the_case() {
    let line = format!(
        "HTTP/1.1 400 decrypt failed key={}\r\nContent-Length: 2\r\n\r\n{{}}",
        alipay_sim::KeySet::embedded().aes.to_base64()
    );
    let line: &'static str = Box::leak(line.into_boxed_str());
    let addr = hostile(move |mut s| async move {
        read_head(&mut s).await;
        let _ = s.write_all(line.as_bytes()).await;
    })
    .await;
    let a = send(addr).await.unwrap();
    assert!(
        a.reason
            .as_deref()
            .unwrap()
            .starts_with("decrypt failed key=")
    );
    let (code, v) = run_json(addr, "tamper.body.empty", &[]).await;
    assert_eq!(code, 1);
    let c = &v["cases"][0];
    assert_eq!(c["findings"][0]["code"], "secret-leaked", "{c}");

    let plain = hostile(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}")
            .await;
    })
    .await;
    assert_eq!(send(plain).await.unwrap().reason, None);
}
