//! The forwarding route `POST /__forward` through the router, without a socket on the simulator
//! side, towards a real echo merchant bound on 127.0.0.1:0 by this process.
//!
//! Input: one selector byte (bit 0: `text/plain` instead of `application/json`; bit 1: the
//! request claims to be forwarded already; bit 2: the page was opened from a domain name), then
//! the request body, in which the text `MERCHANT` stands for the echo merchant's `127.0.0.1:PORT`.
//!
//! Nothing may leave loopback, and nothing may reach another process's port: inputs whose URL
//! names a host that would need a DNS lookup (any name but `localhost`), an IP literal outside
//! loopback, or a loopback address on a port other than the echo merchant's, are skipped before
//! they reach the router. The fuzzed code is the fence itself, so it cannot be what keeps the
//! fuzzer's packets on the machine; its refusal of outside addresses is tested without a socket
//! (`simulator/src/server/forward/fence.rs`).
//!
//! Oracle besides "no panic": never a 5xx; every 4xx is JSON with `error` and `message`; when
//! the merchant answered, the merchant received exactly the body the caller asked to send (the
//! relay sends what it built, not what the caller's headers claim) on the path of the URL.

use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;

use alipay_sim::{server, server::AppState};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, Uri, header};
use reqwest::Url;
use tower::ServiceExt;

struct World {
    rt: tokio::runtime::Runtime,
    app: Router,
    merchant: SocketAddr,
}

/// The echo merchant: answers what it received, as JSON.
async fn echo(
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<serde_json::Value> {
    let h: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    axum::Json(serde_json::json!({
        "method": method.as_str(),
        "path": uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
        "headers": h,
        "body": body.to_vec(),
    }))
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1:0");
            tx.send(listener.local_addr().expect("an address"))
                .expect("send the address");
            axum::serve(listener, Router::new().fallback(echo))
                .await
                .expect("serve");
        });
    });
    let merchant = rx.recv().expect("the merchant's address");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let app = {
        let _guard = rt.enter();
        server::app(AppState::embedded())
    };
    World { rt, app, merchant }
});

/// False when sending this body could reach beyond the echo merchant (see the file header).
fn stays_local(body: &serde_json::Value, merchant: SocketAddr) -> bool {
    let Some(url) = body.get("url").and_then(|u| u.as_str()) else {
        return true;
    };
    let Ok(url) = Url::parse(url.trim()) else {
        return true;
    };
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return true;
    }
    let port = url.port_or_known_default();
    let Some(host) = url.host_str() else {
        return true;
    };
    let loopback = match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        // A name: only `localhost` is resolved without asking a DNS server.
        Err(_) if host == "localhost" => true,
        Err(_) => return false,
    };
    loopback && port == Some(merchant.port())
}

/// Runs one input through the target and its oracle; panics on a finding.
pub(crate) fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let w = &*WORLD;
    let authority = w.merchant.to_string();
    let body = String::from_utf8_lossy(rest).replace("MERCHANT", &authority);
    let parsed = serde_json::from_str::<serde_json::Value>(&body).ok();
    if let Some(v) = &parsed
        && !stays_local(v, w.merchant)
    {
        return;
    }
    let mut req = Request::post("/__forward")
        .header(
            header::HOST,
            if sel & 4 == 0 {
                "127.0.0.1:8780"
            } else {
                "rebind.example:8780"
            },
        )
        .header(
            header::CONTENT_TYPE,
            if sel & 1 == 0 {
                "application/json"
            } else {
                "text/plain"
            },
        );
    if sel & 2 != 0 {
        req = req.header("x-alipay-sim-forwarded", "1");
    }
    let req = req.body(Body::from(body.clone())).expect("a request");
    w.rt.block_on(async {
        let res = w
            .app
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let status = res.status();
        assert!(!status.is_server_error(), "{status} for {body:?}");
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("a body");
        let answer: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{status} is not JSON ({e}) for {body:?}"));
        if status.is_client_error() {
            assert!(
                answer["error"].is_string() && answer["message"].is_string(),
                "{status} without error/message: {answer} for {body:?}"
            );
            return;
        }
        // The merchant answered: it must have received what the caller asked to send, with the
        // method asked for (POST by default; a GET has no body).
        let asked = parsed.expect("a 2xx means the body was JSON");
        let method = asked
            .get("method")
            .and_then(|m| m.as_str())
            .map_or("POST".to_string(), |m| m.to_ascii_uppercase());
        let sent = asked.get("body").and_then(|b| b.as_str()).unwrap_or("");
        let echo: serde_json::Value = serde_json::from_str(answer["body"].as_str().expect("body"))
            .unwrap_or_else(|e| panic!("the echo is not JSON ({e}): {answer}"));
        assert_eq!(
            echo["method"].as_str(),
            Some(method.as_str()),
            "method for {body:?}"
        );
        let got: Vec<u8> = serde_json::from_value(echo["body"].clone()).expect("echoed bytes");
        assert_eq!(
            String::from_utf8_lossy(&got),
            sent,
            "the merchant did not receive the body the caller sent: {body:?} -> {echo}"
        );
        let url = Url::parse(asked["url"].as_str().expect("url").trim()).expect("a URL");
        let want_path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        assert_eq!(
            echo["path"].as_str(),
            Some(want_path.as_str()),
            "path for {body:?}"
        );
    });
}
