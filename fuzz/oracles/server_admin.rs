//! The server's request bodies through the router, without a socket: admin JSON (apps, users,
//! faults, seed), the JSAPI calls a page makes, and path segments and queries taken from input.
//!
//! Input: requests separated by NUL bytes (at most 16 per input, run in order against one state
//! that is reset with `POST /__admin/reset` before each input). In each request the first byte
//! picks the route (and with bit 0x40 sends `text/plain` instead of `application/json`); for the
//! routes that take an id from the input, the text up to the first newline is the
//! (percent-encoded) id, the rest is the body.
//!
//! Under the fuzzer the tokio clock is paused, so latency faults cost nothing. Bodies that ask for generated keys
//! (`"keys":"generated"`, two RSA-2048 key generations, seconds each) are skipped: the test suite
//! covers that path, and here it would only slow the search to a crawl.
//!
//! Oracle besides "no panic": never a 5xx ("the simulator never answers 5xx"); every answer
//! carries the version and request-id headers; every 4xx is JSON with `error` and `message`
//! strings; every 2xx JSON answer parses; only a JSAPI call may drop its connection (a fault).

use std::sync::LazyLock;

use alipay_sim::{
    Catalogue, KeySet, server, server::AppState, server::REQUEST_ID_HEADER, server::VERSION_HEADER,
};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use tower::ServiceExt;

struct World {
    rt: tokio::runtime::Runtime,
    app: Router,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_time();
    // Under the fuzzer the clock is paused (tokio's test-util); replayed by `cargo test`, where
    // that feature is off, inputs with a latency fault take their real time.
    #[cfg(fuzzing)]
    builder.start_paused(true);
    let rt = builder.build().expect("a runtime");
    let state = AppState::new(KeySet::embedded(), Catalogue::embedded());
    let app = {
        let _guard = rt.enter();
        server::app(state)
    };
    World { rt, app }
});

/// Routes with a fixed path: (method, path).
const FIXED: &[(Method, &str)] = &[
    (Method::POST, "/__admin/apps"),
    (Method::PUT, "/__admin/apps/demo"),
    (Method::PATCH, "/__admin/apps/demo"),
    (Method::POST, "/__admin/apps/demo/users"),
    (Method::PUT, "/__admin/apps/demo/users/alice"),
    (Method::PATCH, "/__admin/apps/demo/users/alice"),
    (Method::PUT, "/__admin/faults"),
    (Method::PUT, "/__admin/seed"),
    (Method::POST, "/jsapi/apps/demo/users/alice/authorize"),
    (Method::POST, "/jsapi/apps/demo/users/dave/authorize"),
    (Method::POST, "/jsapi/apps/demo/users/alice/getPhoneNumber"),
    (Method::POST, "/jsapi/apps/demo/users/erin/getPhoneNumber"),
    (Method::GET, "/jsapi/apps/demo/users/dave/getSetting"),
    (Method::POST, "/__admin/reset"),
    (Method::GET, "/__admin/apps/demo/bundle"),
    (Method::GET, "/__admin/journal"),
    (Method::DELETE, "/__admin/apps/demo"),
    (Method::DELETE, "/__admin/apps/demo/users/alice"),
    (Method::GET, "/__admin/apps"),
];

/// Routes with an id from the input: (method, path before the id, path after the id).
const WITH_ID: &[(Method, &str, &str)] = &[
    (Method::PUT, "/__admin/apps/", ""),
    (Method::POST, "/__admin/apps/", "/users"),
    (Method::PUT, "/__admin/apps/demo/users/", ""),
    (Method::PATCH, "/__admin/apps/demo/users/", ""),
    (Method::POST, "/jsapi/apps/demo/users/", "/authorize"),
    (Method::POST, "/jsapi/apps/demo/users/", "/getPhoneNumber"),
    (Method::POST, "/jsapi/scenarios/", "/getPhoneNumber"),
    (
        Method::POST,
        "/jsapi/apps/demo/users/alice/getPhoneNumber?scenario=",
        "",
    ),
    (Method::GET, "/__admin/journal?", ""),
];

fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn asks_for_generated_keys(body: &[u8]) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s == "generated",
            serde_json::Value::Array(a) => a.iter().any(walk),
            serde_json::Value::Object(o) => o.values().any(walk),
            _ => false,
        }
    }
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| walk(&v))
}

async fn one(app: &Router, method: Method, uri: &str, json: bool, body: &[u8]) {
    let req = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header(header::HOST, "127.0.0.1:8780")
        .header(
            header::CONTENT_TYPE,
            if json {
                "application/json"
            } else {
                "text/plain"
            },
        )
        .body(Body::from(body.to_vec()))
        .expect("a request from a valid method and an encoded path");
    let res = app
        .clone()
        .oneshot(req)
        .await
        .expect("the router is infallible");
    let status = res.status();
    assert!(!status.is_server_error(), "{method} {uri}: {status}");
    assert!(
        res.headers().contains_key(VERSION_HEADER),
        "{method} {uri}: no version header"
    );
    assert!(
        res.headers().contains_key(REQUEST_ID_HEADER),
        "{method} {uri}: no request id"
    );
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let bytes = match axum::body::to_bytes(res.into_body(), usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            assert!(
                uri.starts_with("/jsapi/"),
                "{method} {uri}: body failed: {e}"
            );
            return;
        }
    };
    if status.is_client_error() {
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{method} {uri}: {status} is not JSON ({e})"));
        assert!(
            v["error"].is_string() && v["message"].is_string(),
            "{method} {uri}: {status} without error/message: {v}"
        );
    } else if is_json {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .unwrap_or_else(|e| panic!("{method} {uri}: {status} JSON does not parse ({e})"));
    }
}

/// Runs one input through the target and its oracle; panics on a finding.
pub(crate) fn run(data: &[u8]) {
    let w = &*WORLD;
    w.rt.block_on(async {
        // Every input starts from the default state.
        one(&w.app, Method::POST, "/__admin/reset", true, b"").await;
        for chunk in data.split(|&b| b == 0).take(16) {
            let Some((&sel, rest)) = chunk.split_first() else {
                continue;
            };
            let json = sel & 0x40 == 0;
            let n = usize::from(sel & 0x3f) % (FIXED.len() + WITH_ID.len());
            let (method, uri, body) = if let Some((m, path)) = FIXED.get(n) {
                (m.clone(), path.to_string(), rest)
            } else {
                let (m, before, after) = &WITH_ID[n - FIXED.len()];
                let (id, body) = match rest.iter().position(|&b| b == b'\n') {
                    Some(i) => (&rest[..i], &rest[i + 1..]),
                    None => (rest, &[][..]),
                };
                (
                    m.clone(),
                    format!("{before}{}{after}", percent_encode(id)),
                    body,
                )
            };
            if asks_for_generated_keys(body) {
                continue;
            }
            one(&w.app, method, &uri, json, body).await;
        }
    });
}
