//! The middleware every route shares: a request id, a deadline for requests with a body, JSON
//! for every error, the version and id headers, and a debug log line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The header carrying the simulator's version on every response.
pub const VERSION_HEADER: &str = "x-alipay-sim-version";
/// The header carrying the request id on every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The header marking an answer shaped by fault injection (kept as it is, e.g. the gateway's
/// HTML 5xx).
pub(crate) const FAULT_HEADER: &str = "x-alipay-sim-fault";
/// The simulator's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The longest a request with a body may take (the largest latency fault is 30 s); then 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The id of one request (from a client's `X-Request-Id`, or generated), in the request's
/// extensions.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

fn usable_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| s.to_string())
}

/// Every request: an id, a deadline, JSON for every error, the version and id headers, a log
/// line at debug level.
pub(crate) async fn envelope(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(usable_request_id)
        .unwrap_or_else(|| format!("req-{:06}", NEXT_REQUEST.fetch_add(1, Ordering::Relaxed)));
    req.extensions_mut().insert(RequestId(id.clone()));
    let logged = tracing::enabled!(tracing::Level::DEBUG)
        .then(|| (req.method().clone(), req.uri().clone(), Instant::now()));
    // Only a request with a body can stall (a slow sender); the handlers themselves never wait
    // longer than the largest latency fault.
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let mut res = if has_body {
        match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
            Ok(r) => r,
            Err(_) => ApiError::from_status(StatusCode::REQUEST_TIMEOUT).into_response(),
        }
    } else {
        next.run(req).await
    };
    let status = res.status();
    if (status.is_client_error() || status.is_server_error())
        && !is_json(&res)
        && !res.headers().contains_key(FAULT_HEADER)
    {
        // A rejection produced outside our extractors: same JSON shape, same status.
        let e = ApiError::from_status(status);
        res = (status, axum::Json(e)).into_response();
    }
    let h = res.headers_mut();
    h.insert(VERSION_HEADER, HeaderValue::from_static(VERSION));
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(REQUEST_ID_HEADER, v);
    }
    if let Some((method, uri, started)) = logged {
        tracing::debug!(
            request_id = %id,
            method = %method,
            path = %uri.path(),
            status = status.as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "request"
        );
    }
    res
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
