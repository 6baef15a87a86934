//! `POST /__forward`: the emulator page's `my.request`, fenced.
//!
//! A mini-program reaches its merchant server with `my.request`, which knows nothing of the
//! browser's cross-origin rules. The emulator page cannot do that from a browser, so it asks the
//! simulator to send the request for it. A route that sends requests anywhere on a caller's behalf
//! is a server-side request forgery hole, so this one is fenced:
//!
//! - only `http` and `https` URLs, without credentials in them;
//! - by default only loopback targets: every address a host name resolves to must be in
//!   `127.0.0.0/8` or `::1` (a name that resolves to anything else is refused);
//! - anything else only when its `HOST[:PORT]` is on the allow-list (`--allow-forward`);
//! - the check is made again when the connection is opened (a resolver that applies the same
//!   rule), so a name that changes its answer between the check and the connection cannot escape;
//! - redirects are never followed (a 3xx is handed back as it is), proxies from the environment
//!   are ignored, the whole exchange is bounded by a timeout and the answer by a size cap
//!   (the answer then says `"truncated":true`);
//! - a request that has already been forwarded by a simulator is refused (no forwarding loops),
//!   and so is a request whose `Host` is a domain name other than `localhost` (a page served from
//!   a rebinding domain cannot use the simulator as a relay).
//!
//! A refused target gets 403 `{"error":"forward_refused","message":..,"field":"url"}` naming the
//! host, the reason and the flag that would allow it; no packet is sent to it.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde::{Deserialize, Serialize};

/// How long one forwarded exchange (connect, send, read the answer) may take.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer body handed back; the rest is cut off and the answer says so.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// The header a forwarded request carries, so a simulator never forwards a forwarded request.
pub const FORWARDED_HEADER: &str = "x-alipay-sim-forwarded";

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

/// An allow-list entry that is not `HOST[:PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--allow-forward {entry:?}: {reason} (expected HOST or HOST:PORT, e.g. api.test:8443 or [fd00::1]:9000)"
)]
pub struct AllowEntryError {
    /// The entry as given.
    pub entry: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A clap `value_parser` for `--allow-forward`: accepts `HOST[:PORT]` and returns it unchanged.
pub fn parse_allow_entry(entry: &str) -> Result<String, AllowEntryError> {
    AllowEntry::parse(entry).map(|_| entry.to_string())
}

/// One parsed allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowEntry {
    /// Lower-case domain name or canonical IP text (no brackets).
    host: String,
    /// `None`: any port.
    port: Option<u16>,
}

impl AllowEntry {
    fn parse(entry: &str) -> Result<Self, AllowEntryError> {
        let fail = |reason| AllowEntryError {
            entry: entry.to_string(),
            reason,
        };
        let trimmed = entry.trim();
        if trimmed.is_empty() {
            return Err(fail("empty entry"));
        }
        if trimmed.contains("://") || trimmed.contains('/') || trimmed.contains('@') {
            return Err(fail("give a host, not a URL"));
        }
        let (host, port) = if let Some(rest) = trimmed.strip_prefix('[') {
            let (inside, after) = rest
                .split_once(']')
                .ok_or_else(|| fail("unclosed '[' in an IPv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| fail("text after ']' must be :PORT"))?,
                ),
            };
            if inside.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(fail("not an IPv6 address inside [ ]"));
            }
            (inside, port)
        } else if trimmed.matches(':').count() > 1 {
            // A bare IPv6 address, without a port.
            if trimmed.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(fail("not a host name or IP address"));
            }
            (trimmed, None)
        } else {
            match trimmed.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (trimmed, None),
            }
        };
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(fail("the port must be a number from 1 to 65535")),
                Ok(n) => Some(n),
            },
        };
        let host = normalise_host(host);
        let is_ip = host.parse::<IpAddr>().is_ok();
        let valid_name = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if !is_ip && !valid_name {
            return Err(fail("not a host name or IP address"));
        }
        Ok(Self { host, port })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|p| p == port)
    }
}

/// Lower-cases a host, strips IPv6 brackets and a trailing dot, and writes IPs canonically.
fn normalise_host(host: &str) -> String {
    let h = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    match h.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => h,
    }
}

/// True for `127.0.0.0/8`, `::1` and IPv4-mapped loopback (`::ffff:127.x.y.z`).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Why the fence refused a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The URL does not parse.
    #[error("{url:?} is not a URL: {reason}")]
    BadUrl {
        /// The text given.
        url: String,
        /// The parser's complaint.
        reason: String,
    },
    /// Not `http` or `https`.
    #[error("scheme {scheme:?} is not forwarded: only http and https are")]
    Scheme {
        /// The scheme found.
        scheme: String,
    },
    /// The URL carries a user name or password.
    #[error("URLs with credentials (user:password@) are not forwarded")]
    Credentials,
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
    /// The host did not resolve.
    #[error("host {host} does not resolve: {reason}")]
    Unresolvable {
        /// The host.
        host: String,
        /// The resolver's complaint.
        reason: String,
    },
    /// The host is (or resolves to) an address outside loopback and is not allow-listed.
    #[error(
        "host {host} (port {port}) {resolves} not loopback: only loopback targets (127.0.0.0/8, ::1, localhost) are forwarded by default; to allow it, start the simulator with --allow-forward {allow_hint}"
    )]
    NotLoopback {
        /// The host as in the URL.
        host: String,
        /// The port.
        port: u16,
        /// "is" for an IP literal, "resolves to a.b.c.d, which is" for a name.
        resolves: String,
        /// The `HOST:PORT` to pass to `--allow-forward`.
        allow_hint: String,
    },
}

/// The loopback-only fence plus the allow-list.
#[derive(Debug, Clone, Default)]
pub struct Fence {
    allow: Vec<AllowEntry>,
}

/// A target the fence let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The parsed URL.
    pub url: Url,
    /// Normalised host.
    pub host: String,
    /// Port (explicit or the scheme's default).
    pub port: u16,
    /// True when allowed by the allow-list rather than by being loopback.
    pub allow_listed: bool,
}

impl Fence {
    /// Builds a fence; invalid allow-list entries are an error naming the entry.
    pub fn new(cfg: &ForwardConfig) -> Result<Self, AllowEntryError> {
        let allow = cfg
            .allow
            .iter()
            .map(|e| AllowEntry::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { allow })
    }

    fn allow_listed(&self, host: &str, port: u16) -> bool {
        self.allow.iter().any(|e| e.matches(host, port))
    }

    /// Domain names on the allow-list (the connect-time resolver lets them resolve anywhere).
    fn allowed_names(&self) -> HashSet<String> {
        self.allow
            .iter()
            .filter(|e| e.host.parse::<IpAddr>().is_err())
            .map(|e| e.host.clone())
            .collect()
    }

    /// Parses `url` and applies every rule that needs no name resolution. Returns the target and,
    /// when the host is a name that is not allow-listed, `true` ("resolve and judge").
    pub fn precheck(&self, url: &str) -> Result<(Target, bool), Refusal> {
        let parsed = Url::parse(url.trim()).map_err(|e| Refusal::BadUrl {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        match parsed.scheme() {
            "http" | "https" => {}
            other => {
                return Err(Refusal::Scheme {
                    scheme: other.to_string(),
                });
            }
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Refusal::Credentials);
        }
        // The URL parser has already canonicalised IP literals (`127.1` is `127.0.0.1`).
        let host = normalise_host(parsed.host_str().ok_or(Refusal::NoHost)?);
        let port = parsed.port_or_known_default().ok_or(Refusal::NoHost)?;
        let literal = host.parse::<IpAddr>().ok();
        let allow_listed = self.allow_listed(&host, port);
        let target = Target {
            url: parsed,
            host: host.clone(),
            port,
            allow_listed,
        };
        if allow_listed {
            return Ok((target, false));
        }
        match literal {
            Some(ip) => {
                self.judge(&host, port, &[ip])?;
                Ok((target, false))
            }
            None => Ok((target, true)),
        }
    }

    /// The rule for a host that is not allow-listed: every address must be loopback.
    pub fn judge(&self, host: &str, port: u16, addrs: &[IpAddr]) -> Result<(), Refusal> {
        if addrs.is_empty() {
            return Err(Refusal::Unresolvable {
                host: host.to_string(),
                reason: "no addresses".to_string(),
            });
        }
        if let Some(bad) = addrs.iter().find(|ip| !is_loopback(**ip)) {
            let literal = host.parse::<IpAddr>().is_ok();
            let allow_host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_string()
            };
            return Err(Refusal::NotLoopback {
                host: host.to_string(),
                port,
                resolves: if literal {
                    "is".to_string()
                } else {
                    format!("resolves to {bad}, which is")
                },
                allow_hint: format!("{allow_host}:{port}"),
            });
        }
        Ok(())
    }

    /// Applies the whole fence to `url`, resolving a host name when needed.
    pub async fn check(&self, url: &str) -> Result<Target, Refusal> {
        let (target, resolve) = self.precheck(url)?;
        if resolve {
            let addrs = resolve_host(&target.host, target.port).await?;
            self.judge(&target.host, target.port, &addrs)?;
        }
        Ok(target)
    }
}

async fn resolve_host(host: &str, port: u16) -> Result<Vec<IpAddr>, Refusal> {
    let found = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Refusal::Unresolvable {
            host: host.to_string(),
            reason: e.to_string(),
        })?;
    let mut addrs: Vec<IpAddr> = found.map(|sa| sa.ip()).collect();
    addrs.dedup();
    Ok(addrs)
}

/// The resolver the HTTP client connects through: the same loopback rule, applied at connect
/// time, so a name cannot resolve to loopback for the check and elsewhere for the connection.
struct FenceResolver {
    allowed_names: HashSet<String>,
}

impl Resolve for FenceResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = normalise_host(name.as_str());
        let open = self.allowed_names.contains(&host);
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !open {
                let ips: Vec<IpAddr> = found.iter().map(|sa| sa.ip()).collect();
                Fence::default().judge(&host, 0, &ips)?;
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// What the page sends to `POST /__forward`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForwardRequest {
    url: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// What `POST /__forward` answers when the merchant answered (whatever its status).
#[derive(Debug, Serialize)]
struct ForwardAnswer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
    elapsed_ms: u64,
    truncated: bool,
    /// True when the body was not valid UTF-8 and was shown with replacement characters.
    lossy: bool,
    url: String,
}

/// Errors of the forwarding route, each an HTTP answer in the contract's error shape.
#[derive(Debug, thiserror::Error)]
enum ForwardError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    BadRequest(String, Option<&'static str>),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Loop(String),
    #[error("{0}")]
    HostHeader(String),
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Timeout(String),
}

impl IntoResponse for ForwardError {
    fn into_response(self) -> Response {
        let (status, kind, field) = match &self {
            ForwardError::Refused(_) => (StatusCode::FORBIDDEN, "forward_refused", Some("url")),
            ForwardError::BadRequest(_, field) => {
                (StatusCode::BAD_REQUEST, "invalid_request", *field)
            }
            ForwardError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                None,
            ),
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
        let body = serde_json::json!({
            "error": kind,
            "message": self.to_string(),
            "field": field,
        });
        (status, Json(body)).into_response()
    }
}

struct Forwarder {
    fence: Fence,
    client: reqwest::Client,
}

/// The router serving `POST /__forward`. Invalid allow-list entries are logged and ignored here;
/// call [`ForwardConfig::check`] (or use [`parse_allow_entry`] as the flag's parser) to reject
/// them up front.
pub fn router(cfg: ForwardConfig) -> Router {
    let fence = Fence::new(&cfg).unwrap_or_else(|e| {
        tracing::warn!("{e}; the entry is ignored");
        let valid: Vec<String> = cfg
            .allow
            .iter()
            .filter(|entry| AllowEntry::parse(entry).is_ok())
            .cloned()
            .collect();
        Fence::new(&ForwardConfig { allow: valid }).unwrap_or_default()
    });
    let resolver = FenceResolver {
        allowed_names: fence.allowed_names(),
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(FORWARD_TIMEOUT)
        .connect_timeout(FORWARD_TIMEOUT)
        .dns_resolver(Arc::new(resolver))
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            // Building a client only fails when the TLS backend cannot start; answer every
            // forward with that error rather than failing the whole server.
            tracing::error!("forwarding disabled: the HTTP client could not be built: {e}");
            let msg = format!("forwarding is unavailable: the HTTP client could not be built: {e}");
            return Router::new().route(
                "/__forward",
                post(move || {
                    let msg = msg.clone();
                    async move { ForwardError::Failed(msg).into_response() }
                }),
            );
        }
    };
    Router::new()
        .route("/__forward", post(forward))
        .with_state(Arc::new(Forwarder { fence, client }))
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
    if host.parse::<IpAddr>().is_ok() || host == "localhost" || host.ends_with(".localhost") {
        Ok(())
    } else {
        Err(ForwardError::HostHeader(format!(
            "forwarding is only offered to pages opened at an IP address or localhost (this one was opened as {text:?}); open the emulator at http://127.0.0.1:<port>/"
        )))
    }
}

async fn forward(
    State(fw): State<Arc<Forwarder>>,
    headers: HeaderMap,
    payload: Result<Json<ForwardRequest>, JsonRejection>,
) -> Result<Json<ForwardAnswer>, ForwardError> {
    if headers.contains_key(FORWARDED_HEADER) {
        return Err(ForwardError::Loop(
            "this request was itself forwarded by a simulator: forwarding it again would loop"
                .to_string(),
        ));
    }
    check_host_header(&headers)?;
    let Json(req) = payload.map_err(|rej| match rej {
        JsonRejection::MissingJsonContentType(_) => ForwardError::UnsupportedMediaType(
            "POST /__forward takes a JSON body: send Content-Type: application/json".to_string(),
        ),
        other => {
            ForwardError::BadRequest(format!("POST /__forward body: {}", other.body_text()), None)
        }
    })?;
    let target = fw
        .fence
        .check(&req.url)
        .await
        .map_err(ForwardError::Refused)?;

    let mut out = HeaderMap::new();
    for (name, value) in &req.headers {
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ForwardError::BadRequest(
                format!("header name {name:?} is not valid"),
                Some("headers"),
            )
        })?;
        let v = HeaderValue::from_str(value).map_err(|_| {
            ForwardError::BadRequest(
                format!("header {name:?} has a value that is not valid"),
                Some("headers"),
            )
        })?;
        out.insert(n, v);
    }
    let content_type = req.content_type.as_deref().unwrap_or("application/json");
    let ct = HeaderValue::from_str(content_type).map_err(|_| {
        ForwardError::BadRequest(
            format!("content_type {content_type:?} is not valid"),
            Some("content_type"),
        )
    })?;
    out.insert(header::CONTENT_TYPE, ct);
    out.insert(
        HeaderName::from_static(FORWARDED_HEADER),
        HeaderValue::from_static("1"),
    );

    tracing::info!(host = %target.host, port = target.port, allow_listed = target.allow_listed, "forwarding");
    let started = Instant::now();
    let describe = |e: reqwest::Error| classify(e, &target);
    let mut resp = fw
        .client
        .post(target.url.clone())
        .headers(out)
        .body(req.body)
        .send()
        .await
        .map_err(describe)?;
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
    Ok(Json(ForwardAnswer {
        status,
        headers: answer_headers,
        body,
        elapsed_ms,
        truncated,
        lossy,
        url: target.url.to_string(),
    }))
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
    let chain = error_chain(&err);
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
        Refusal::NotLoopback { resolves, .. } => {
            let host = if target.host.contains(':') {
                format!("[{}]", target.host)
            } else {
                target.host.clone()
            };
            Refusal::NotLoopback {
                host: target.host.clone(),
                port: target.port,
                resolves: format!("at connect time {resolves}"),
                allow_hint: format!("{host}:{}", target.port),
            }
        }
        other => other,
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn fence(allow: &[&str]) -> Fence {
        Fence::new(&ForwardConfig {
            allow: allow.iter().map(|s| s.to_string()).collect(),
        })
        .expect("valid allow-list")
    }

    fn refused(r: Result<Target, Refusal>) -> Refusal {
        match r {
            Ok(t) => panic!("expected a refusal, got {t:?}"),
            Err(e) => e,
        }
    }

    #[tokio::test]
    async fn loopback_literals_pass() {
        let f = fence(&[]);
        for url in [
            "http://127.0.0.1:9000/decrypt",
            "http://127.1.2.3/",
            "https://127.0.0.1/x",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            let t = f.check(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(!t.allow_listed, "{url}");
        }
    }

    #[tokio::test]
    async fn localhost_passes() {
        let t = fence(&[])
            .check("http://localhost:9000/decrypt")
            .await
            .expect("localhost");
        assert_eq!(t.host, "localhost");
        assert_eq!(t.port, 9000);
    }

    #[tokio::test]
    async fn private_and_public_literals_are_refused_with_a_hint() {
        let f = fence(&[]);
        let r = refused(f.check("http://10.0.0.1/").await);
        assert_eq!(
            r,
            Refusal::NotLoopback {
                host: "10.0.0.1".into(),
                port: 80,
                resolves: "is".into(),
                allow_hint: "10.0.0.1:80".into(),
            }
        );
        let msg = r.to_string();
        assert!(
            msg.contains("10.0.0.1") && msg.contains("--allow-forward 10.0.0.1:80"),
            "{msg}"
        );
        for url in [
            "http://192.168.1.1:8080/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0:9000/",
            "http://[fd00::1]/",
            "http://[::ffff:10.0.0.1]/",
            "https://8.8.8.8/",
        ] {
            assert!(
                matches!(refused(f.check(url).await), Refusal::NotLoopback { .. }),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn other_schemes_and_credentials_are_refused() {
        let f = fence(&[]);
        assert_eq!(
            refused(f.check("file:///etc/passwd").await),
            Refusal::Scheme {
                scheme: "file".into()
            }
        );
        assert!(matches!(
            refused(f.check("gopher://127.0.0.1/").await),
            Refusal::Scheme { .. }
        ));
        assert_eq!(
            refused(f.check("http://u:p@127.0.0.1/").await),
            Refusal::Credentials
        );
        assert!(matches!(
            refused(f.check("not a url").await),
            Refusal::BadUrl { .. }
        ));
    }

    #[test]
    fn a_name_resolving_anywhere_but_loopback_is_refused() {
        // What `127.0.0.1.nip.io`-style names do: look local, resolve elsewhere. Judged on
        // given addresses, so the test resolves nothing.
        let f = fence(&[]);
        let r = f
            .judge("127.0.0.1.nip.io", 80, &["10.1.2.3".parse().unwrap()])
            .expect_err("refused");
        assert!(r.to_string().contains("resolves to 10.1.2.3"), "{r}");
        // One loopback address among others is not enough: every address must be loopback.
        let mixed: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "192.168.0.9".parse().unwrap()];
        assert!(f.judge("rebind.test", 80, &mixed).is_err());
        assert!(f.judge("rebind.test", 80, &[]).is_err());
        let local: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        assert!(f.judge("localhost", 80, &local).is_ok());
    }

    #[test]
    fn a_connect_time_refusal_names_the_real_port() {
        // The resolver judges with port 0; the answer names the URL's port and the flag value.
        let at_connect = Fence::default()
            .judge("rebind.test", 0, &["10.9.8.7".parse().unwrap()])
            .expect_err("refused");
        let (target, _) = fence(&["rebind.test:1"])
            .precheck("http://rebind.test:8443/x")
            .expect("parses");
        let msg = with_port(at_connect, &target).to_string();
        assert!(
            msg.contains("(port 8443) at connect time resolves to 10.9.8.7"),
            "{msg}"
        );
        assert!(msg.contains("--allow-forward rebind.test:8443"), "{msg}");
    }

    #[tokio::test]
    async fn allow_list_opens_exactly_what_it_names() {
        let f = fence(&["10.0.0.1:8080", "[fd00::1]", "Api.Test"]);
        assert!(
            f.check("http://10.0.0.1:8080/x")
                .await
                .expect("allowed")
                .allow_listed
        );
        assert!(matches!(
            refused(f.check("http://10.0.0.1:8081/x").await),
            Refusal::NotLoopback { .. }
        ));
        assert!(
            f.check("http://[fd00::1]:1234/")
                .await
                .expect("any port")
                .allow_listed
        );
        // An allow-listed name is not resolved by the check.
        let (t, resolve) = f.precheck("https://api.test/decrypt").expect("allowed");
        assert!(t.allow_listed && !resolve);
        let (_, resolve) = f.precheck("https://other.test/").expect("needs resolving");
        assert!(resolve);
    }

    #[test]
    fn allow_entries_are_validated() {
        for ok in [
            "example.test",
            "example.test:8443",
            "10.0.0.5",
            "[fd00::1]:9000",
            "fd00::1",
        ] {
            assert!(parse_allow_entry(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "http://example.test",
            "example.test/x",
            "host:0",
            "host:99999",
            "[fd00::1",
            "a b",
        ] {
            let err = parse_allow_entry(bad).expect_err(bad);
            assert!(err.to_string().contains("--allow-forward"), "{err}");
        }
        assert!(
            ForwardConfig {
                allow: vec!["ok.test".into(), "bad/".into()]
            }
            .check()
            .is_err()
        );
    }

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
        assert_eq!(json["error"], "invalid_request");
        assert!(json["message"].as_str().unwrap().contains("url"), "{json}");

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

        // `localhost` goes through the connect-time resolver.
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
