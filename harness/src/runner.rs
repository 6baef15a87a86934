//! Sending requests and running a plan: bounded concurrency, a per-request deadline and an
//! answer-size cap, so a slow, silent, resetting or flooding endpoint yields an error verdict
//! and never a hang.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alipay_sim::keys::KeySet;
use reqwest::Url;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::behaviour;
use crate::case::{EndpointProfile, HarnessCase};
use crate::curl;
use crate::delivery::{Delivery, PreparedRequest};
use crate::judge::{Answer, Judge, Target};
use crate::plan::Item;
use crate::verdict::{AnswerInfo, CaseResult, RequestInfo, Verdict};

/// Characters of the answer body kept in reports.
pub const EXCERPT_CHARS: usize = 300;

/// Per-request limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deadline for connecting, sending and reading the whole answer.
    pub timeout: Duration,
    /// Answers longer than this are an error.
    pub max_answer_bytes: usize,
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
    /// Nothing listens at the endpoint.
    #[error("connection refused (is the endpoint running?)")]
    Refused,
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
                    K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
                        return TransportError::Reset;
                    }
                    K::UnexpectedEof => return TransportError::Closed,
                    _ => {}
                }
            }
            chain.push(s.to_string());
            src = s.source();
        }
        let text = chain.join(": ");
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
            _ => None,
        }
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
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(#[from] reqwest::Error);

impl HttpClient {
    /// A client with `limits`.
    pub fn new(limits: Limits) -> Result<Self, ClientError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(limits.timeout)
            // A fresh connection per request: cases stay independent (a case whose body the
            // endpoint refused half-read cannot break the next case's connection), and a pooled
            // connection closed by the server mid-reuse cannot turn into a spurious reset.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("alipay-harness/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, limits })
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sends `req` and reads the answer within the limits. Returns the elapsed time too.
    pub async fn send(&self, req: &PreparedRequest) -> (Result<Answer, TransportError>, Duration) {
        let start = Instant::now();
        let cap = self.limits.max_answer_bytes;
        let exchange = async {
            let mut rb = self.client.post(&req.url).body(req.body.clone());
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
            Ok(Answer { status, body })
        };
        let result = match tokio::time::timeout(self.limits.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout(self.limits.timeout.as_millis())),
        };
        (result, start.elapsed())
    }
}

/// Everything shared by the cases of one run.
#[derive(Debug)]
pub struct Context {
    /// The endpoint URL.
    pub endpoint: Url,
    /// The HTTP client.
    pub client: HttpClient,
    /// The judge (contract + key material).
    pub judge: Judge,
    /// How envelopes are delivered.
    pub delivery: Delivery,
    /// The endpoint's declared configuration.
    pub profile: EndpointProfile,
    /// The key set envelopes are sealed with.
    pub keys: Arc<KeySet>,
}

/// A body excerpt for reports: lossy UTF-8, key material redacted, at most [`EXCERPT_CHARS`].
pub fn excerpt(judge: &Judge, body: &[u8]) -> String {
    let text = judge.key_material().redact(&String::from_utf8_lossy(body));
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// The request summary for reports.
pub fn request_info(req: &PreparedRequest) -> RequestInfo {
    RequestInfo {
        content_type: req.content_type.clone(),
        body_bytes: req.body.len(),
    }
}

/// Runs one catalogue case.
pub async fn run_case(case: &HarnessCase, ctx: &Context) -> CaseResult {
    let forbidden: Vec<String> = case.canary.iter().cloned().collect();
    let target = Target {
        expected: &case.expected,
        forbidden: &forbidden,
        ciphertext: case.ciphertext.as_deref(),
    };
    let mut result = CaseResult {
        id: case.id.clone(),
        title: case.title.clone(),
        kind: case.kind,
        severity: case.severity,
        bug_class: case.bug_class,
        verdict: Verdict::Skip,
        expected: ctx.judge.expected(&target),
        request: None,
        answer: AnswerInfo::default(),
        reason: String::new(),
        why: case.why.clone(),
        fix: case.fix.clone(),
        curl: None,
    };
    if let Some(reason) = ctx.profile.mismatch(&case.profile) {
        result.reason = reason;
        return result;
    }
    let req = ctx.delivery.prepare(
        &ctx.endpoint,
        &case.id,
        &case.envelope,
        case.response_is_object,
        case.content_type.as_deref(),
    );
    result.request = Some(request_info(&req));
    result.curl = Some(curl::command(&req));
    let (answer, elapsed) = ctx.client.send(&req).await;
    result.answer.elapsed_ms = elapsed.as_millis() as u64;
    match answer {
        Ok(a) => {
            let j = ctx.judge.judge(&target, &a);
            result.answer.status = Some(a.status);
            result.answer.body_excerpt = excerpt(&ctx.judge, &a.body);
            result.verdict = j.verdict;
            result.reason = j.reason;
        }
        Err(e) => {
            result.answer.status = e.status();
            result.verdict = Verdict::Error;
            result.reason = e.to_string();
        }
    }
    result
}

/// The error result for a case whose task failed.
fn task_failed(s: &alipay_sim::scenario::Scenario, e: &tokio::task::JoinError) -> CaseResult {
    CaseResult {
        id: s.id.clone(),
        title: s.title.clone(),
        kind: match s.kind() {
            alipay_sim::scenario::Kind::Platform => crate::verdict::CaseKind::Platform,
            alipay_sim::scenario::Kind::Tamper => crate::verdict::CaseKind::Tamper,
        },
        severity: s.severity,
        bug_class: s.bug_class,
        verdict: Verdict::Error,
        expected: crate::verdict::Expected {
            class: alipay_sim::scenario::Expectation {
                outcome: s.expect.outcome,
                mobile: None,
                code: s.expect.code.clone(),
                sub_code: s.expect.sub_code.clone(),
            },
            description: s.expect.outcome.to_string(),
        },
        request: None,
        answer: AnswerInfo::default(),
        reason: format!("the harness failed on this case (please report it): {e}"),
        why: s.why.clone(),
        fix: s.remediation.clone(),
        curl: None,
    }
}

/// Runs `items` with at most `concurrency` cases in flight (behaviour checks run afterwards,
/// one at a time, with their own parallelism), calling `on_result` as each result arrives.
/// Returns every result sorted by id.
pub async fn run_plan(
    items: Vec<Item>,
    ctx: Arc<Context>,
    concurrency: usize,
    mut on_result: impl FnMut(&CaseResult),
) -> Vec<CaseResult> {
    let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set: JoinSet<CaseResult> = JoinSet::new();
    let mut checks = Vec::new();
    let mut results = Vec::with_capacity(items.len());
    let mut tasks = std::collections::HashMap::new();
    for item in items {
        match item {
            Item::Case(scenario) => {
                let ctx = Arc::clone(&ctx);
                let sem = Arc::clone(&semaphore);
                let meta = (*scenario).clone();
                let handle = set.spawn(async move {
                    let _permit = sem
                        .acquire_owned()
                        .await
                        .expect("the semaphore is never closed");
                    // Sealing (an RSA signature) happens here, on a worker, in parallel.
                    let case = HarnessCase::from_scenario(&scenario, &ctx.keys);
                    run_case(&case, &ctx).await
                });
                tasks.insert(handle.id(), meta);
            }
            Item::Behaviour(check) => checks.push(check),
        }
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(r) => {
                on_result(&r);
                results.push(r);
            }
            Err(e) => {
                // A bug in the harness itself: still report the case, never drop it silently.
                tracing::error!("a case task failed: {e}");
                if let Some(s) = tasks.get(&e.id()) {
                    let r = task_failed(s, &e);
                    on_result(&r);
                    results.push(r);
                }
            }
        }
    }
    for check in checks {
        let r = behaviour::run(&check, &ctx).await;
        on_result(&r);
        results.push(r);
    }
    results.sort_by(|a, b| a.id.cmp(&b.id));
    results
}
