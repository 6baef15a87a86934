//! The server's handler tests without a socket (`tests/server.rs`, `gateway.rs`, `run_data.rs`,
//! `gateway_fixtures.rs`): a fresh router on the embedded state, requests sent to it with
//! `oneshot`, their answers read whole. A file of its own, included with `#[path]` only by test
//! files that need the `server` feature (the core-alone tests include `common/mod.rs` and never
//! compile this). Each file uses part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use alipay_sim::server::{self, AppState};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use tower::ServiceExt;

/// A router on a fresh embedded state (the `demo` app and its users).
pub(crate) fn fresh() -> Router {
    server::app(AppState::embedded())
}

/// One answer, read whole.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The body as text (lossy UTF-8).
    pub(crate) text: String,
    /// The body as JSON, `Null` when it is not JSON.
    pub(crate) json: Value,
}

impl Answer {
    /// The JSAPI callback the answer stands for (`x-alipay-sim-callback`).
    pub(crate) fn callback(&self) -> Option<&str> {
        self.headers
            .get("x-alipay-sim-callback")
            .map(|v| v.to_str().expect("an ASCII callback header"))
    }
}

/// Sends `req` and reads the answer whole.
pub(crate) async fn send_req(app: &Router, req: Request<Body>) -> Answer {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        text,
        json,
    }
}

/// `method uri`, with `body` as JSON (and its content type) when there is one.
pub(crate) async fn send(app: &Router, method: Method, uri: &str, body: Option<Value>) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    send_req(app, req.body(body).unwrap()).await
}

pub(crate) async fn get(app: &Router, uri: &str) -> Answer {
    send(app, Method::GET, uri, None).await
}

pub(crate) async fn post(app: &Router, uri: &str, body: Value) -> Answer {
    send(app, Method::POST, uri, Some(body)).await
}

/// A POST without a body (and without a content type).
pub(crate) async fn post_empty(app: &Router, uri: &str) -> Answer {
    send(app, Method::POST, uri, None).await
}

pub(crate) async fn put(app: &Router, uri: &str, body: Value) -> Answer {
    send(app, Method::PUT, uri, Some(body)).await
}

pub(crate) async fn patch(app: &Router, uri: &str, body: Value) -> Answer {
    send(app, Method::PATCH, uri, Some(body)).await
}

pub(crate) async fn delete(app: &Router, uri: &str) -> Answer {
    send(app, Method::DELETE, uri, None).await
}

/// RFC 3986's unreserved characters: what [`enc`] leaves as they are.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986's unreserved characters, as the SDKs encode a
/// gateway request's form values (`form_urlencoded` would write a space as `+`).
pub(crate) fn enc(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}
