//! Sending one request within limits: a deadline that nothing stretches, an answer-size cap that
//! also bounds decompression, `Content-Encoding` decoding ([`decode`]), TLS trust options
//! (`--cacert`, `--insecure`), and a classification of every way an exchange can fail
//! ([`TransportError`]), so a slow, silent, resetting or flooding endpoint yields an error or a
//! verdict and never a hang.

pub mod decode;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use crate::delivery::PreparedRequest;

/// Per-request limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deadline for connecting, sending and reading the whole answer. A behaviour check (many
    /// requests) gets one such deadline for all of its requests.
    pub timeout: Duration,
    /// Answers longer than this (before or after decoding a `Content-Encoding`) are an error.
    pub max_answer_bytes: usize,
}

/// How the harness trusts an HTTPS endpoint's certificate.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Extra CA certificates trusted besides the system's: those of `--cacert FILE`, read once
    /// by [`load_ca`] when the options are validated.
    pub ca_certs: Vec<reqwest::Certificate>,
    /// Accept any certificate (`--insecure`): for a staging endpoint only, never in CI.
    pub insecure: bool,
}

/// A received answer. The body is decoded from its `Content-Encoding` when the harness can
/// decode it; otherwise [`Answer::undecodable`] says why and `body` holds the bytes as received.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body (decoded when a known `Content-Encoding` was applied).
    pub body: Vec<u8>,
    /// `Content-Encoding` as received, when there was one other than `identity`.
    pub encoding: Option<String>,
    /// Why the body could not be decoded (an unknown or corrupt `Content-Encoding`).
    pub undecodable: Option<String>,
    /// The status line's reason phrase, when it is not the standard one of the status (`HTTP/1.1
    /// 400 Bad key=...`): part of the answer, judged like the body.
    pub reason: Option<String>,
}

impl Answer {
    /// The answer built from what arrived (`headers` named in lower case, `body` as on the
    /// wire): a `Content-Encoding` other than `identity` is decoded (several are joined, as
    /// `gzip, br`), an undecodable one is recorded in [`Answer::undecodable`], and a decoded body
    /// over `cap` is [`TransportError::DecodedTooLarge`]. The HTTP client builds every answer
    /// with it, and the fuzz oracle of the judge (`fuzz/oracles/judge_answer.rs`) too.
    pub fn received(
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        cap: usize,
    ) -> Result<Answer, TransportError> {
        let encoding = headers
            .iter()
            .filter(|(n, _)| n == "content-encoding")
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("identity"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut answer = Answer {
            status,
            headers,
            body,
            encoding: None,
            undecodable: None,
            reason: None,
        };
        if encoding.is_empty() {
            return Ok(answer);
        }
        match decode::decode(&encoding, &answer.body, cap) {
            Ok(decoded) => answer.body = decoded,
            Err(decode::DecodeError::TooLarge) => {
                return Err(TransportError::DecodedTooLarge {
                    cap,
                    encoding,
                    status,
                });
            }
            Err(e) => answer.undecodable = Some(e.to_string()),
        }
        answer.encoding = Some(encoding);
        Ok(answer)
    }

    /// An answer with `status` and `body` and nothing else (tests and examples).
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            body: body.into(),
            ..Self::default()
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no verdict could be reached for a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No complete answer before the deadline.
    #[error("no complete answer within {0} ms")]
    Timeout(u128),
    /// The answer is larger than the cap.
    #[error("answer exceeded {cap} bytes")]
    TooLarge {
        /// The cap.
        cap: usize,
        /// The status, when the headers arrived.
        status: Option<u16>,
    },
    /// The answer's decoded (decompressed) body is larger than the cap.
    #[error("the {encoding}-decoded answer exceeded {cap} bytes (a compression bomb?)")]
    DecodedTooLarge {
        /// The cap.
        cap: usize,
        /// The `Content-Encoding`.
        encoding: String,
        /// The status.
        status: u16,
    },
    /// Nothing listens at the endpoint.
    #[error("connection refused (is the endpoint running?)")]
    Refused,
    /// No connection could be made: DNS failure, TLS failure, unreachable host.
    #[error("cannot connect: {0}")]
    Unreachable(String),
    /// The endpoint reset the connection.
    #[error("connection reset by the endpoint")]
    Reset,
    /// The endpoint closed the connection before a complete answer.
    #[error("the endpoint closed the connection without a complete answer")]
    Closed,
    /// Anything else, with the error chain.
    #[error("request failed: {0}")]
    Other(String),
}

impl TransportError {
    fn from_reqwest(e: &reqwest::Error) -> Self {
        let mut chain = vec![e.to_string()];
        let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
        while let Some(s) = src {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                use std::io::ErrorKind as K;
                match io.kind() {
                    K::ConnectionRefused => return TransportError::Refused,
                    K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
                        if !e.is_connect() =>
                    {
                        return TransportError::Reset;
                    }
                    K::UnexpectedEof if !e.is_connect() => return TransportError::Closed,
                    _ => {}
                }
            }
            chain.push(s.to_string());
            src = s.source();
        }
        chain.dedup();
        let text = chain.join(": ");
        if e.is_connect() {
            return TransportError::Unreachable(text);
        }
        if text.contains("connection closed before message completed")
            || text.contains("end of file before message length reached")
        {
            return TransportError::Closed;
        }
        TransportError::Other(text)
    }

    /// The status, when one arrived before the error.
    pub fn status(&self) -> Option<u16> {
        match self {
            TransportError::TooLarge { status, .. } => *status,
            TransportError::DecodedTooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when no connection could be made at all (refused, DNS, TLS): the endpoint is not
    /// reachable, as opposed to reachable but misbehaving.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            TransportError::Refused | TransportError::Unreachable(_)
        )
    }

    /// True when the endpoint accepted the request and then dropped the connection: on an
    /// endpoint that answers other requests, this is a crash on this input.
    pub fn is_crash(&self) -> bool {
        matches!(self, TransportError::Reset | TransportError::Closed)
    }
}

/// An HTTP client with the harness's rules: no redirects followed, no proxies, limits applied.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    limits: Limits,
}

/// The client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// reqwest refused the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Build(#[from] reqwest::Error),
    /// The `--cacert` file could not be read.
    #[error("--cacert {path}: cannot read: {source}")]
    CaUnreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `--cacert` file holds no usable PEM certificate.
    #[error("--cacert {path}: {message}")]
    CaInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The encodings the harness can decode, as sent in `Accept-Encoding`.
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br";

/// Reads the PEM CA certificates of `--cacert`.
pub fn load_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let pem = std::fs::read(path).map_err(|source| ClientError::CaUnreadable {
        path: path.into(),
        source,
    })?;
    let invalid = |message: String| ClientError::CaInvalid {
        path: path.into(),
        message,
    };
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(invalid(
            "no '-----BEGIN CERTIFICATE-----' block (expected PEM CA certificates)".into(),
        ));
    }
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| invalid(format!("not a valid PEM certificate bundle: {e}")))?;
    if certs.is_empty() {
        return Err(invalid("no certificate in the file".into()));
    }
    Ok(certs)
}

impl HttpClient {
    /// A client with `limits`, trusting the system's CAs.
    pub fn new(limits: Limits) -> Result<Self, ClientError> {
        Self::with_tls(limits, &TlsOptions::default())
    }

    /// A client with `limits` and the TLS trust options `tls`.
    pub fn with_tls(limits: Limits, tls: &TlsOptions) -> Result<Self, ClientError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(limits.timeout)
            // A fresh connection per request: cases stay independent (a case whose body the
            // endpoint refused half-read cannot break the next case's connection), and a pooled
            // connection closed by the server mid-reuse cannot turn into a spurious reset.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("alipay-harness/", env!("CARGO_PKG_VERSION")));
        for cert in &tls.ca_certs {
            builder = builder.add_root_certificate(cert.clone());
        }
        if tls.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        Ok(Self {
            client: builder.build()?,
            limits,
        })
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sends `req` and reads the answer within the limits. Returns the elapsed time too.
    pub async fn send(&self, req: &PreparedRequest) -> (Result<Answer, TransportError>, Duration) {
        self.send_by(req, Instant::now() + self.limits.timeout)
            .await
    }

    /// Sends `req` and reads the answer before `deadline` (shared by the requests of one
    /// behaviour check). Nothing the endpoint sends (informational `1xx` answers, a dripping
    /// body) moves the deadline.
    pub async fn send_by(
        &self,
        req: &PreparedRequest,
        deadline: Instant,
    ) -> (Result<Answer, TransportError>, Duration) {
        let start = Instant::now();
        let result = match tokio::time::timeout_at(deadline, self.exchange(req)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout(self.limits.timeout.as_millis())),
        };
        (result, start.elapsed())
    }

    async fn exchange(&self, req: &PreparedRequest) -> Result<Answer, TransportError> {
        let cap = self.limits.max_answer_bytes;
        let mut rb = self
            .client
            .post(&req.url)
            .body(req.body.clone())
            .header(reqwest::header::ACCEPT_ENCODING, ACCEPT_ENCODING);
        if let Some(ct) = &req.content_type {
            rb = rb.header(reqwest::header::CONTENT_TYPE, ct);
        }
        for (n, v) in &req.headers {
            rb = rb.header(n, v);
        }
        let mut resp = rb
            .send()
            .await
            .map_err(|e| TransportError::from_reqwest(&e))?;
        let status = resp.status().as_u16();
        // hyper keeps a reason phrase only when it is not the standard one of the status.
        let reason = resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned());
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(TransportError::TooLarge {
                cap,
                status: Some(status),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| TransportError::from_reqwest(&e))?
        {
            if body.len() + chunk.len() > cap {
                return Err(TransportError::TooLarge {
                    cap,
                    status: Some(status),
                });
            }
            body.extend_from_slice(&chunk);
        }
        let mut answer = Answer::received(status, headers, body, cap)?;
        answer.reason = reason;
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_encoding(encoding: &str, body: &[u8]) -> Answer {
        let headers = vec![("content-encoding".to_string(), encoding.to_string())];
        Answer::received(204, headers, body.to_vec(), 4096).expect("within the cap")
    }

    #[test]
    fn an_empty_body_with_an_encoding_is_readable() {
        for encoding in ["gzip", "br", "deflate", "gzip, br"] {
            let a = with_encoding(encoding, b"");
            assert_eq!(a.undecodable, None, "{encoding}: {a:?}");
            assert!(a.body.is_empty(), "{encoding}");
        }
    }

    #[test]
    fn identity_means_no_encoding() {
        let a = with_encoding("identity", b"{}");
        assert_eq!(
            (a.encoding, a.undecodable, a.body),
            (None, None, b"{}".to_vec())
        );
        let a = with_encoding("IDENTITY", b"");
        assert_eq!((a.encoding, a.undecodable), (None, None));
    }

    #[test]
    fn a_corrupt_body_is_still_undecodable() {
        let a = with_encoding("gzip", b"not gzip at all");
        assert!(a.undecodable.is_some(), "{a:?}");
    }
}
