//! The relay of `POST /__forward`: the request it builds for the merchant, and the answer it
//! hands back.
//!
//! The request is rebuilt, never passed through: method (`POST`, or `GET` without a body), the
//! target URL's path and query, the body, and these headers, as a mini-program's `my.request`
//! sends them:
//!
//! - `Host` (the target's), `Content-Length` (the body's real length, when there is a body),
//!   `Content-Type` (`content_type`, or a `content-type` member of `headers`, default
//!   `application/json` like `my.request`), `Accept: */*`,
//!   `User-Agent: alipay-sim/<version> (my.request relay)`, `X-Alipay-Sim-Forwarded: 1`;
//! - the caller's own `headers`, except the ones the relay owns or that describe one hop
//!   ([`RELAY_OWNED`]): naming one of those is a 400 naming it, not a silent drop, so a
//!   `Content-Length: 0` can never cut the body and a longer one can never stall the merchant.
//!
//! Redirects are never followed (a 3xx is handed back as it is), proxies from the environment
//! are ignored, the exchange is bounded by [`FORWARD_TIMEOUT`] and the answer by
//! [`MAX_ANSWER_BYTES`] (the answer then says `"truncated":true`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use serde::{Deserialize, Serialize};

use super::ForwardError;
use super::fence::{Fence, Refusal, Target, allow_hint};

/// How long one forwarded exchange (connect, send, read the answer) may take.
pub(crate) const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer body handed back; the rest is cut off and the answer says so.
pub(crate) const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// The header a forwarded request carries, so a simulator never forwards a forwarded request.
pub(crate) const FORWARDED_HEADER: &str = "x-alipay-sim-forwarded";
/// Header names the relay sets itself or that describe one hop; a request naming one in
/// `headers` is refused.
pub(crate) const RELAY_OWNED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "proxy-connection",
    "proxy-authorization",
    "user-agent",
    FORWARDED_HEADER,
];

/// What the page sends to `POST /__forward`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForwardRequest {
    /// The merchant URL.
    url: String,
    /// `POST` (default) or `GET`.
    #[serde(default)]
    method: Option<String>,
    /// The body, sent as it is.
    #[serde(default)]
    body: String,
    /// The body's content type (default `application/json`).
    #[serde(default)]
    content_type: Option<String>,
    /// Extra headers, as `my.request`'s `headers`.
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// What `POST /__forward` answers when the merchant answered (whatever its status).
#[derive(Debug, Serialize)]
pub(crate) struct ForwardAnswer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
    elapsed_ms: u64,
    truncated: bool,
    /// True when the body was not valid UTF-8 and was shown with replacement characters.
    lossy: bool,
    url: String,
}

/// The request the relay sends, built from a [`ForwardRequest`] before anything is sent.
#[derive(Debug)]
pub(crate) struct Outgoing {
    method: Method,
    headers: HeaderMap,
    body: String,
}

fn bad(message: String, field: &'static str) -> ForwardError {
    ForwardError::BadRequest(message, Some(field))
}

impl Outgoing {
    /// Builds the request: the method, the content type and the caller's headers, each checked.
    pub(crate) fn build(req: &ForwardRequest) -> Result<Self, ForwardError> {
        let method = match req
            .method
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("POST") => Method::POST,
            Some("GET") => Method::GET,
            Some(other) => {
                return Err(bad(
                    format!("method {other:?} is not relayed: use POST (the default) or GET"),
                    "method",
                ));
            }
        };
        if method == Method::GET && !req.body.is_empty() {
            return Err(bad(
                "a GET request has no body: send the data in the URL's query, or use POST"
                    .to_string(),
                "body",
            ));
        }
        let mut headers = HeaderMap::new();
        let mut content_type = req.content_type.clone();
        for (name, value) in &req.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad(format!("header name {name:?} is not valid"), "headers"))?;
            if RELAY_OWNED.contains(&n.as_str()) {
                return Err(bad(
                    format!(
                        "header {name:?} is set by the relay (it sends the target's Host, the body's real length and its own User-Agent, and never Transfer-Encoding or hop-by-hop headers): remove it from headers"
                    ),
                    "headers",
                ));
            }
            if n == header::CONTENT_TYPE {
                match &content_type {
                    Some(ct) if !ct.eq_ignore_ascii_case(value) => {
                        return Err(bad(
                            format!(
                                "content_type {ct:?} and headers.{name} {value:?} disagree: give one"
                            ),
                            "content_type",
                        ));
                    }
                    _ => content_type = Some(value.clone()),
                }
                continue;
            }
            let v = HeaderValue::from_str(value).map_err(|_| {
                bad(
                    format!("header {name:?} has a value that is not valid"),
                    "headers",
                )
            })?;
            headers.append(n, v);
        }
        if method == Method::POST {
            let ct = content_type.as_deref().unwrap_or("application/json");
            let v = HeaderValue::from_str(ct)
                .map_err(|_| bad(format!("content_type {ct:?} is not valid"), "content_type"))?;
            headers.insert(header::CONTENT_TYPE, v);
        }
        headers
            .entry(header::ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!(
                "alipay-sim/",
                env!("CARGO_PKG_VERSION"),
                " (my.request relay)"
            )),
        );
        headers.insert(
            HeaderName::from_static(FORWARDED_HEADER),
            HeaderValue::from_static("1"),
        );
        Ok(Self {
            method,
            headers,
            body: req.body.clone(),
        })
    }
}

/// The fence, the HTTP client and what they need: one per router.
pub(crate) struct Relay {
    fence: Fence,
    client: reqwest::Client,
}

impl Relay {
    /// A relay behind `fence`; fails only when the HTTP client cannot start (TLS backend).
    pub(crate) fn new(fence: Fence) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(FORWARD_TIMEOUT)
            .connect_timeout(FORWARD_TIMEOUT)
            .dns_resolver(Arc::new(fence.resolver()))
            .build()?;
        Ok(Self { fence, client })
    }

    /// Checks the target, builds the request, sends it and reads the answer.
    pub(crate) async fn forward(&self, req: ForwardRequest) -> Result<ForwardAnswer, ForwardError> {
        let target = self.fence.check(&req.url).map_err(ForwardError::Refused)?;
        let out = Outgoing::build(&req)?;
        tracing::info!(host = %target.host, port = target.port, allow_listed = target.allow_listed, "forwarding");
        let started = Instant::now();
        let mut builder = self
            .client
            .request(out.method, target.url.clone())
            .headers(out.headers);
        if !out.body.is_empty() {
            builder = builder.body(out.body);
        }
        let mut resp = builder.send().await.map_err(|e| classify(e, &target))?;
        let status = resp.status().as_u16();
        let mut answer_headers = BTreeMap::new();
        for (name, value) in resp.headers() {
            let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
            answer_headers
                .entry(name.as_str().to_string())
                .and_modify(|prev: &mut String| {
                    prev.push_str(", ");
                    prev.push_str(&v);
                })
                .or_insert(v);
        }
        let mut bytes: Vec<u8> = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(e, &target))? {
            let room = MAX_ANSWER_BYTES - bytes.len();
            if chunk.len() > room {
                bytes.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (body, lossy) = match String::from_utf8(bytes) {
            Ok(s) => (s, false),
            Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
        };
        Ok(ForwardAnswer {
            status,
            headers: answer_headers,
            body,
            elapsed_ms,
            truncated,
            lossy,
            url: target.url.to_string(),
        })
    }
}

/// Turns a client error into the route's error, naming the target.
fn classify(err: reqwest::Error, target: &Target) -> ForwardError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return ForwardError::Refused(with_port(refusal.clone(), target));
        }
        source = e.source();
    }
    let chain = crate::chain_line(&err);
    let at = format!("{}:{}", target.host, target.port);
    if err.is_timeout() {
        ForwardError::Timeout(format!(
            "{at} did not answer within {} s ({chain})",
            FORWARD_TIMEOUT.as_secs()
        ))
    } else if err.is_connect() {
        ForwardError::Failed(format!(
            "could not connect to {at}: {chain} (is your backend running on that port?)"
        ))
    } else {
        ForwardError::Failed(format!("the exchange with {at} failed: {chain}"))
    }
}

/// The connect-time resolver does not know the port; fill it in from the target.
fn with_port(refusal: Refusal, target: &Target) -> Refusal {
    match refusal {
        Refusal::NameNotAllowed { host, .. } => Refusal::NameNotAllowed {
            allow_hint: allow_hint(&host, target.port),
            host,
            port: target.port,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(v: serde_json::Value) -> ForwardRequest {
        serde_json::from_value(v).expect("a forward request")
    }

    #[test]
    fn the_relay_owns_framing_and_hop_headers() {
        for name in [
            "Content-Length",
            "Transfer-Encoding",
            "Host",
            "Connection",
            "TE",
            "Upgrade",
            "Expect",
            "User-Agent",
            "X-Alipay-Sim-Forwarded",
        ] {
            let err = Outgoing::build(&request(serde_json::json!({
                "url": "http://127.0.0.1:1/", "body": "{}", "headers": {name: "0"}
            })))
            .expect_err(name);
            let text = err.to_string();
            assert!(
                text.contains(name) && text.contains("set by the relay"),
                "{text}"
            );
            assert!(matches!(err, ForwardError::BadRequest(_, Some("headers"))));
        }
    }

    #[test]
    fn content_type_comes_from_one_place() {
        let out = Outgoing::build(&request(serde_json::json!({
            "url": "http://127.0.0.1:1/", "body": "a=1",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"}
        })))
        .expect("built");
        assert_eq!(
            out.headers[header::CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        let out = Outgoing::build(&request(
            serde_json::json!({"url": "http://127.0.0.1:1/", "body": "{}"}),
        ))
        .expect("built");
        assert_eq!(out.headers[header::CONTENT_TYPE], "application/json");
        let err = Outgoing::build(&request(serde_json::json!({
            "url": "http://127.0.0.1:1/", "content_type": "application/json",
            "headers": {"content-type": "text/plain"}
        })))
        .expect_err("disagree");
        assert!(matches!(
            err,
            ForwardError::BadRequest(_, Some("content_type"))
        ));
    }

    #[test]
    fn methods_are_post_or_get_without_a_body() {
        let get = Outgoing::build(&request(
            serde_json::json!({"url": "http://127.0.0.1:1/", "method": "get"}),
        ))
        .expect("GET");
        assert_eq!(get.method, Method::GET);
        assert!(!get.headers.contains_key(header::CONTENT_TYPE));
        for (v, field) in [
            (
                serde_json::json!({"url": "http://127.0.0.1:1/", "method": "GET", "body": "x"}),
                "body",
            ),
            (
                serde_json::json!({"url": "http://127.0.0.1:1/", "method": "DELETE"}),
                "method",
            ),
        ] {
            let err = Outgoing::build(&request(v)).expect_err(field);
            assert!(matches!(err, ForwardError::BadRequest(_, Some(f)) if f == field));
        }
    }
}
