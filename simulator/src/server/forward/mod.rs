//! `POST /__forward`: the emulator page's `my.request`, fenced.
//!
//! A mini-program reaches its merchant server with `my.request`, which knows nothing of the
//! browser's cross-origin rules. The emulator page cannot do that from a browser, so it asks the
//! simulator to send the request for it. A route that sends requests anywhere on a caller's behalf
//! is a server-side request forgery hole, so this one is fenced and rebuilds what it sends:
//!
//! - `fence`: which targets may be reached (loopback, or what `--allow-forward` names; a name is
//!   looked up only when the allow-list admits it);
//! - `relay`: the request sent (rebuilt from the method, URL, body, content type and the headers
//!   `my.request` sends, never the caller's framing headers) and the answer handed back.
//!
//! This file is the route: a request that has already been forwarded by a simulator is refused
//! (no forwarding loops), and so is a request whose `Host` is a domain name other than
//! `localhost` (a page served from a rebinding domain cannot use the simulator as a relay). A
//! refused target gets 403 `{"error":"forward_refused","message":..,"field":"url"}` naming the
//! host, the reason and the flag that would allow it; no packet is sent to it. The body is
//! limited like every route's (413 `body_too_large`).

mod fence;
mod relay;

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};

pub use self::fence::AllowEntryError;
pub(crate) use self::fence::parse_allow_entry;
use self::fence::{AllowEntry, Fence, Refusal};
pub(crate) use self::relay::{FORWARDED_HEADER, RELAY_OWNED};
use self::relay::{ForwardAnswer, ForwardRequest, Relay};
use super::error::{ApiError, JsonBody};

/// Configuration of the forwarding route.
#[derive(Debug, Clone, Default)]
pub struct ForwardConfig {
    /// Extra targets allowed besides loopback, each `HOST` (any port) or `HOST:PORT`
    /// (`[v6]:PORT` for IPv6), as given to `serve --allow-forward`.
    pub allow: Vec<String>,
}

impl ForwardConfig {
    /// Checks every allow-list entry, naming the first one that is not `HOST[:PORT]`.
    pub fn check(&self) -> Result<(), AllowEntryError> {
        for entry in &self.allow {
            AllowEntry::parse(entry)?;
        }
        Ok(())
    }
}

/// Errors of the forwarding route; each becomes an [`ApiError`] (the contract's error shape).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ForwardError {
    /// The fence refused the target.
    #[error("{0}")]
    Refused(Refusal),
    /// The request cannot be built (the field to blame, if any).
    #[error("{0}")]
    BadRequest(String, Option<&'static str>),
    /// The request was itself forwarded.
    #[error("{0}")]
    Loop(String),
    /// The page was opened at a domain name.
    #[error("{0}")]
    HostHeader(String),
    /// The merchant could not be reached or the exchange broke.
    #[error("{0}")]
    Failed(String),
    /// The merchant did not answer in time.
    #[error("{0}")]
    Timeout(String),
}

impl From<ForwardError> for ApiError {
    fn from(e: ForwardError) -> Self {
        let (status, kind, field) = match &e {
            ForwardError::Refused(_) => (StatusCode::FORBIDDEN, "forward_refused", Some("url")),
            ForwardError::BadRequest(_, field) => {
                (StatusCode::BAD_REQUEST, "invalid_field", *field)
            }
            ForwardError::Loop(_) => (StatusCode::FORBIDDEN, "forward_loop", None),
            ForwardError::HostHeader(_) => (StatusCode::FORBIDDEN, "forward_refused", Some("host")),
            // 424, not 502/504: the simulator never answers 5xx, so a 5xx always means a simulator bug.
            ForwardError::Failed(_) => {
                (StatusCode::FAILED_DEPENDENCY, "forward_failed", Some("url"))
            }
            ForwardError::Timeout(_) => (
                StatusCode::FAILED_DEPENDENCY,
                "forward_timeout",
                Some("url"),
            ),
        };
        ApiError::new(status, kind, e.to_string(), field)
    }
}

/// The router serving `POST /__forward`. Invalid allow-list entries are logged and ignored here;
/// call [`ForwardConfig::check`] (or use `parse_allow_entry` as the flag's parser) to reject
/// them up front.
pub(crate) fn router(cfg: ForwardConfig) -> Router {
    match Relay::new(Fence::new(&cfg)) {
        Ok(relay) => Router::new()
            .route("/__forward", post(forward))
            .with_state(Arc::new(relay)),
        Err(e) => {
            // Building a client only fails when the TLS backend cannot start; answer every
            // forward with that error rather than failing the whole server.
            tracing::error!("forwarding disabled: the HTTP client could not be built: {e}");
            let msg = format!("forwarding is unavailable: the HTTP client could not be built: {e}");
            Router::new().route(
                "/__forward",
                post(move || {
                    let msg = msg.clone();
                    async move { ApiError::from(ForwardError::Failed(msg)).into_response() }
                }),
            )
        }
    }
}

/// Refuses a `Host` that is a domain name other than `localhost`: a page served from a
/// rebinding domain that points at 127.0.0.1 must not be able to drive the forwarder.
fn check_host_header(headers: &HeaderMap) -> Result<(), ForwardError> {
    let Some(value) = headers.get(header::HOST) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let host = match text.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => text.rsplit_once(':').map_or(text, |(h, _)| h),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<IpAddr>().is_ok() || fence::is_localhost_name(&host) {
        Ok(())
    } else {
        Err(ForwardError::HostHeader(format!(
            "forwarding is only offered to pages opened at an IP address or localhost (this one was opened as {text:?}); open the emulator at http://127.0.0.1:<port>/"
        )))
    }
}

async fn forward(
    State(relay): State<Arc<Relay>>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<ForwardRequest>,
) -> Result<Json<ForwardAnswer>, ApiError> {
    if headers.contains_key(FORWARDED_HEADER) {
        return Err(ForwardError::Loop(
            "this request was itself forwarded by a simulator: forwarding it again would loop"
                .to_string(),
        )
        .into());
    }
    check_host_header(&headers)?;
    Ok(Json(relay.forward(req).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{HeaderValue, Request};
    use tower::ServiceExt;

    use super::relay::MAX_ANSWER_BYTES;

    #[test]
    fn host_header_must_be_an_ip_or_localhost() {
        let mut h = HeaderMap::new();
        assert!(check_host_header(&h).is_ok());
        for ok in [
            "127.0.0.1:8780",
            "localhost:8780",
            "[::1]:8780",
            "192.168.1.4:8780",
        ] {
            h.insert(header::HOST, HeaderValue::from_static(ok));
            assert!(check_host_header(&h).is_ok(), "{ok}");
        }
        h.insert(
            header::HOST,
            HeaderValue::from_static("rebind.attacker.test:8780"),
        );
        assert!(check_host_header(&h).is_err());
    }

    async fn call(app: Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
        let resp = app.oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
        (status, json)
    }

    fn post_json(body: serde_json::Value) -> Request<Body> {
        Request::post("/__forward")
            .header(header::HOST, "127.0.0.1:8780")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request")
    }

    #[tokio::test]
    async fn refused_target_is_403_with_the_contract_shape() {
        let app = router(ForwardConfig::default());
        let (status, json) = call(
            app,
            post_json(serde_json::json!({"url": "http://10.0.0.1/", "body": "{}"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(json["error"], "forward_refused");
        assert_eq!(json["field"], "url");
        let msg = json["message"].as_str().expect("message");
        assert!(
            msg.contains("10.0.0.1") && msg.contains("--allow-forward"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn bad_bodies_get_one_clear_error() {
        let app = router(ForwardConfig::default());
        let (status, json) = call(app.clone(), post_json(serde_json::json!({"body": "{}"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["error"], "invalid_field");
        assert_eq!(json["field"], "url", "{json}");

        let req = Request::post("/__forward")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("{\"url\":\"http://127.0.0.1/\"}"))
            .unwrap();
        let (status, json) = call(app.clone(), req).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{json}");

        let mut looped = post_json(serde_json::json!({"url": "http://127.0.0.1:1/"}));
        looped
            .headers_mut()
            .insert(FORWARDED_HEADER, HeaderValue::from_static("1"));
        let (status, json) = call(app.clone(), looped).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(json["error"], "forward_loop");

        let (status, json) = call(
            app,
            post_json(
                serde_json::json!({"url": "http://127.0.0.1:1/", "headers": {"bad name": "x"}}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["field"], "headers");

        // Over the body limit: 413 like every route, in the contract's shape.
        let app = crate::server::app(crate::server::AppState::embedded());
        let big = serde_json::json!({"url": "http://127.0.0.1:1/", "body": "x".repeat(70 * 1024)});
        let (status, json) = call(app, post_json(big)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
        assert_eq!(json["error"], "body_too_large");

        // `http:///x` names the host `x`: refused at once, never looked up.
        let (status, json) = call(
            router(ForwardConfig::default()),
            post_json(serde_json::json!({"url": "http:///x"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(json["error"], "forward_refused");
        assert!(
            json["message"].as_str().unwrap().contains("not looked up"),
            "{json}"
        );
    }

    /// A merchant stand-in: a raw TCP listener on 127.0.0.1:0 that records the exact bytes of
    /// the one request it receives (head, then as many body bytes as `Content-Length` says,
    /// waiting at most 2 s for them), answers `200 ok` and closes.
    async fn recording_merchant() -> (u16, tokio::task::JoinHandle<Vec<u8>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.expect("accept");
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
                loop {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let declared = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if got.len() >= end + 4 + declared {
                            break;
                        }
                    }
                }
            })
            .await;
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await;
            got
        });
        (port, task)
    }

    /// The head's lines after the request line, as lower-case `name: value`.
    fn header_lines(raw: &[u8]) -> (String, Vec<String>, String) {
        let text = String::from_utf8_lossy(raw).to_string();
        let (head, body) = text.split_once("\r\n\r\n").expect("a whole head");
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or("").to_string();
        let mut headers: Vec<String> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').expect("name: value");
                format!("{}: {}", k.to_ascii_lowercase(), v.trim())
            })
            .collect();
        headers.sort();
        (request_line, headers, body.to_string())
    }

    #[tokio::test]
    async fn the_relay_sends_the_request_it_built() {
        let (port, merchant) = recording_merchant().await;
        let envelope = r#"{"response":"abc+/=","sign":"xyz"}"#;
        let (status, json) = call(
            router(ForwardConfig::default()),
            post_json(serde_json::json!({
                "url": format!("http://127.0.0.1:{port}/decrypt?shop=1"),
                "body": envelope,
                "headers": {"X-Trace": "t-1", "Authorization": "Bearer test"},
            })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["status"], 200);
        assert_eq!(json["body"], "ok");
        let raw = merchant.await.expect("merchant");
        let (line, headers, body) = header_lines(&raw);
        assert_eq!(line, "POST /decrypt?shop=1 HTTP/1.1");
        assert_eq!(body, envelope, "the body arrives whole");
        assert_eq!(
            headers,
            vec![
                "accept: */*".to_string(),
                "authorization: Bearer test".to_string(),
                format!("content-length: {}", envelope.len()),
                "content-type: application/json".to_string(),
                format!("host: 127.0.0.1:{port}"),
                format!(
                    "user-agent: alipay-sim/{} (my.request relay)",
                    crate::server::VERSION
                ),
                "x-alipay-sim-forwarded: 1".to_string(),
                "x-trace: t-1".to_string(),
            ]
        );
    }

    #[tokio::test]
    async fn a_get_is_sent_without_a_body_or_its_headers() {
        let (port, merchant) = recording_merchant().await;
        let (status, json) = call(
            router(ForwardConfig::default()),
            post_json(serde_json::json!({
                "url": format!("http://localhost:{port}/phone?response=abc"),
                "method": "GET",
            })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        let raw = merchant.await.expect("merchant");
        let (line, headers, body) = header_lines(&raw);
        assert_eq!(line, "GET /phone?response=abc HTTP/1.1");
        assert_eq!(body, "");
        assert!(
            headers
                .iter()
                .all(|h| !h.starts_with("content-") && !h.starts_with("transfer-encoding")),
            "{headers:?}"
        );
        assert!(
            headers.contains(&format!("host: localhost:{port}")),
            "{headers:?}"
        );
    }

    #[tokio::test]
    async fn framing_headers_from_the_caller_are_refused_before_anything_is_sent() {
        // Each of these, passed through, would cut the body (`Content-Length: 0`), stall the
        // merchant (a longer length), reframe it (`Transfer-Encoding`) or retarget it (`Host`).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        for (name, value) in [
            ("Content-Length", "0"),
            ("Content-Length", "100000"),
            ("Transfer-Encoding", "chunked"),
            ("Host", "merchant.example"),
        ] {
            let (status, json) = call(
                router(ForwardConfig::default()),
                post_json(serde_json::json!({
                    "url": format!("http://127.0.0.1:{port}/decrypt"),
                    "body": "{\"response\":\"x\"}",
                    "headers": {name: value},
                })),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {json}");
            assert_eq!(json["field"], "headers");
            let msg = json["message"].as_str().unwrap();
            assert!(
                msg.contains(name) && msg.contains("set by the relay"),
                "{msg}"
            );
        }
        // Nothing reached the merchant.
        let accepted =
            tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "the merchant was contacted");
    }

    /// Binds a merchant stand-in on 127.0.0.1:0 and returns its base URL.
    async fn spawn_merchant() -> String {
        use axum::routing::{get, post};
        let app = Router::new()
            .route(
                "/decrypt",
                post(|headers: HeaderMap, body: String| async move {
                    let ct = headers
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    let fwd = headers.contains_key(FORWARDED_HEADER);
                    (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        [("x-merchant", "yes")],
                        Json(
                            serde_json::json!({"echo": body, "content_type": ct, "forwarded": fwd}),
                        ),
                    )
                }),
            )
            .route(
                "/redirect",
                post(|| async {
                    (
                        StatusCode::FOUND,
                        [(header::LOCATION, "http://10.0.0.1/")],
                        "",
                    )
                }),
            )
            .route("/big", post(|| async { "x".repeat(MAX_ANSWER_BYTES + 10) }))
            .route("/health", get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn forwards_to_a_loopback_server_and_hands_back_its_answer() {
        let base = spawn_merchant().await;
        let app = router(ForwardConfig::default());
        let envelope = r#"{"response":"abc+/=","sign":"xyz"}"#;
        let (status, json) = call(
            app.clone(),
            post_json(serde_json::json!({
                "url": format!("{base}/decrypt"),
                "body": envelope,
                "content_type": "application/json",
            })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["status"], 422);
        assert_eq!(json["headers"]["x-merchant"], "yes");
        assert_eq!(json["truncated"], false);
        assert!(json["elapsed_ms"].is_u64());
        let answer: serde_json::Value =
            serde_json::from_str(json["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            answer["echo"], envelope,
            "the body is forwarded byte for byte"
        );
        assert_eq!(answer["content_type"], "application/json");
        assert_eq!(answer["forwarded"], true);

        // A redirect is handed back, not followed.
        let (status, json) = call(
            app.clone(),
            post_json(serde_json::json!({"url": format!("{base}/redirect")})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["status"], 302);
        assert_eq!(json["headers"]["location"], "http://10.0.0.1/");

        // An answer over the cap is cut and flagged.
        let (_, json) = call(
            app.clone(),
            post_json(serde_json::json!({"url": format!("{base}/big")})),
        )
        .await;
        assert_eq!(json["truncated"], true);
        assert_eq!(json["body"].as_str().unwrap().len(), MAX_ANSWER_BYTES);

        // `localhost` goes through the connect-time resolver (a table, no lookup).
        let port = base.rsplit(':').next().unwrap();
        let (_, json) = call(
            app,
            post_json(serde_json::json!({"url": format!("http://localhost:{port}/decrypt")})),
        )
        .await;
        assert_eq!(json["status"], 422, "{json}");
    }

    #[tokio::test]
    async fn a_closed_port_is_a_clear_424() {
        // Bind then drop, so the port is (very likely) closed.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let app = router(ForwardConfig::default());
        let (status, json) = call(
            app,
            post_json(serde_json::json!({"url": format!("http://127.0.0.1:{port}/decrypt")})),
        )
        .await;
        assert_eq!(status, StatusCode::FAILED_DEPENDENCY, "{json}");
        assert_eq!(json["error"], "forward_failed");
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains(&format!("127.0.0.1:{port}")),
            "{json}"
        );
    }
}
