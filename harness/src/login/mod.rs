//! Login mode (`run --login-endpoint URL`): the harness plays the mini-program and the user
//! against a merchant's whole login, `my.getAuthCode` → the merchant's endpoint →
//! `alipay.system.oauth.token` at a simulated OpenAPI gateway, with `my.getPhoneNumber`'s
//! envelope beside the code.
//!
//! The gateway is an `alipay-sim` server: one this run starts in-process on `--gateway-listen`
//! ([`sim::Embedded`]; the merchant's SDK is configured with `http://ADDR/gateway.do`, the app
//! `demo`'s id and TEST-ONLY app key, and the key set's Alipay public key), or a running `alipay-sim
//! serve` (`--simulator URL`). The harness gets auth codes and envelopes for its users (alice logs
//! in, bob is the other user whose ids are smuggled) from the simulator's JSAPI, sets its faults
//! and clock through the admin API, and reads its journal to see which gateway methods the
//! merchant called. Cases run one at a time, because faults and the clock are global; every
//! fault is put back as it was after its case.
//!
//! | part | module |
//! |---|---|
//! | the cases: ids, severities, why and how to fix | [`cases`] |
//! | the simulator client and the in-process simulator | [`sim`] |
//! | judging an answer | [`judge`](mod@judge) |
//! | running the cases | this module |

pub mod cases;
pub mod judge;
pub mod sim;

use std::net::SocketAddr;
use std::time::Duration;

use alipay_sim::{Expectation, Outcome};
use reqwest::Url;
use serde_json::json;

use crate::context::{excerpt, request_info};
use crate::curl;
use crate::delivery::Delivery;
use crate::finding::{Finding, LoginRefusal};
use crate::judge::{Judge, Target};
use crate::leak::IdentityKind;
use crate::runner::{UNREACHABLE_ATTEMPTS, Unreachable};
use crate::transport::{Answer, HttpClient, TransportError};
use crate::verdict::{About, CaseKind, CaseResult, Verdict};

pub use self::cases::LoginCase;
use self::judge::Expect;
use self::sim::{SimError, SimUser, Simulator};

/// The user who logs in.
pub const USER: &str = "alice";

/// The other user, whose ids and mobile are smuggled into requests.
pub const OTHER_USER: &str = "bob";

/// Where the simulated gateway comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimulatorSource {
    /// Start one in-process, listening on this address (`--gateway-listen`).
    Listen(SocketAddr),
    /// A running `alipay-sim serve` (`--simulator URL`).
    Running(Url),
}

/// What login mode needs, validated.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// The merchant's login endpoint.
    pub endpoint: Url,
    /// The simulator.
    pub simulator: SimulatorSource,
    /// The app the merchant is configured as (`--login-app`, default `demo`).
    pub app: String,
}

/// Login mode could not run at all (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The in-process simulator could not listen.
    #[error("--gateway-listen {addr}: cannot listen: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The simulator failed while setting up.
    #[error(transparent)]
    Simulator(#[from] SimError),
    /// The simulator's user cannot log in.
    #[error("simulator {base}: user {user} of app {app} has no {what}")]
    User {
        /// The simulator.
        base: String,
        /// The app.
        app: String,
        /// The user.
        user: String,
        /// What is missing.
        what: &'static str,
    },
    /// The login endpoint cannot be reached.
    #[error(transparent)]
    Unreachable(#[from] Unreachable),
}

/// What the cases of one login run share.
#[derive(Debug)]
pub struct LoginRun<'a> {
    /// The login endpoint.
    pub endpoint: &'a Url,
    /// The simulator client.
    pub sim: &'a Simulator,
    /// The app.
    pub app: &'a str,
    /// The HTTP client (deadlines, caps, TLS).
    pub client: &'a HttpClient,
    /// How the code and the envelope are delivered.
    pub delivery: &'a Delivery,
    /// The run's judge (contract, key material).
    pub judge: &'a Judge,
    /// The gateway latency of [`LoginCase::GatewaySlow`], in milliseconds.
    pub slow_ms: u64,
}

/// The gateway latency of the slow-gateway case, added to every gateway answer: a quarter of the
/// per-request deadline, at most 2 s (1.25 s at the default 5 s). A merchant that makes the
/// usual two gateway calls of an `auth_user` login (the token, then the profile) waits at most
/// half the deadline for them, so a correct endpoint still answers in time.
pub fn slow_gateway_ms(timeout: Duration) -> u64 {
    (timeout.as_millis() as u64 / 4).min(2000)
}

fn skeleton(case: LoginCase, expected: crate::verdict::Expected) -> CaseResult {
    let about = About {
        id: case.id().into(),
        title: case.title().into(),
        kind: CaseKind::Login,
        severity: case.severity(),
        bug_class: case.bug_class(),
        why: case.why().into(),
        fix: case.fix().into(),
    };
    CaseResult::unrun(about, expected)
}

/// What a case needs to know about the people involved.
struct People {
    user: SimUser,
    other: SimUser,
    mobile: String,
}

impl People {
    fn expect(&self, case: LoginCase, smuggled: bool) -> Expect {
        Expect {
            case_id: case.id().into(),
            user: self.user.clone(),
            mobile: self.mobile.clone(),
            foreign_ids: if smuggled {
                self.other.ids()
            } else {
                Vec::new()
            },
            foreign_mobiles: if smuggled {
                self.other.mobile.iter().cloned().collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// One exchange: the answer (or transport error), and the result fields it fills.
enum Sent {
    Answer(Answer),
    Failed(TransportError),
    /// The delivery cannot carry the smuggled fields.
    Cannot,
}

impl LoginRun<'_> {
    async fn send(
        &self,
        r: &mut CaseResult,
        code: &str,
        envelope: &str,
        extra: &[(&str, &str)],
    ) -> Sent {
        let Some(req) = self
            .delivery
            .prepare_login(self.endpoint, &r.id, code, envelope, extra)
        else {
            return Sent::Cannot;
        };
        r.request = Some(request_info(&req));
        r.curl = Some(curl::command(&req));
        let (answer, elapsed) = self.client.send(&req).await;
        r.answer.elapsed_ms = elapsed.as_millis() as u64;
        match answer {
            Ok(a) => {
                r.answer.status = Some(a.status);
                r.answer.body_excerpt = excerpt(self.judge, &a.body);
                Sent::Answer(a)
            }
            Err(e) => {
                r.answer.status = e.status();
                Sent::Failed(e)
            }
        }
    }

    /// Runs `f` with the simulator's faults set to `faults`, then puts the previous ones back.
    async fn with_faults<T>(
        &self,
        faults: serde_json::Value,
        f: impl std::future::Future<Output = T>,
    ) -> Result<T, SimError> {
        let saved = self.sim.faults().await?;
        self.sim.set_faults(faults).await?;
        let out = f.await;
        self.sim.set_faults(saved).await?;
        Ok(out)
    }

    /// Runs one case; the transport error, when there was one, is returned beside the result.
    async fn case(
        &self,
        case: LoginCase,
        people: &People,
    ) -> Result<(CaseResult, Option<TransportError>), SimError> {
        let contract = self.judge.contract();
        let app = self.app;
        let (user, other) = (&people.user, &people.other);
        let code = |scope: &'static str| self.sim.auth_code(app, &user.name, scope);
        let envelope = || self.sim.envelope(app, &user.name);
        let success_expected = judge::expected_success(contract, &people.expect(case, false));
        let mut r = match case {
            LoginCase::CodeReused
            | LoginCase::CodeExpired
            | LoginCase::CodeOtherApp
            | LoginCase::GatewayBadSignature => {
                skeleton(case, judge::expected_refusal(contract, false))
            }
            LoginCase::GatewayHttpError => skeleton(case, judge::expected_refusal(contract, true)),
            LoginCase::GatewayBusy => {
                let mut e = self.judge.expected(&busy_target());
                e.description
                    .push_str("; a 2xx only where [retry_later] lists it; no user named");
                skeleton(case, e)
            }
            LoginCase::AuthBaseNoProfile => {
                let mut e = success_expected;
                e.description = "no alipay.user.info.share call at the gateway".into();
                skeleton(case, e)
            }
            _ => skeleton(case, success_expected),
        };
        let sent = match case {
            LoginCase::Genuine | LoginCase::AuthBase => {
                let scope = if case == LoginCase::Genuine {
                    "auth_user"
                } else {
                    "auth_base"
                };
                let (c, env) = (code(scope).await?, envelope().await?);
                self.send(&mut r, &c, &env, &[]).await
            }
            LoginCase::AuthBaseNoProfile => {
                let head = self.sim.journal_head().await?;
                let (c, env) = (code("auth_base").await?, envelope().await?);
                let sent = self.send(&mut r, &c, &env, &[]).await;
                let calls = self
                    .sim
                    .journal(head)
                    .await?
                    .iter()
                    .filter(|e| sim::is_profile_read(e))
                    .count();
                if let Sent::Answer(_) = sent {
                    if calls > 0 {
                        set(&mut r, vec![Finding::ProfileRead { calls }]);
                    } else {
                        r.verdict = Verdict::Pass;
                        r.reason = "pass: the gateway saw no alipay.user.info.share call during this auth_base login".into();
                    }
                }
                return Ok(settle(r, sent));
            }
            LoginCase::CodeReused => {
                let c = code("auth_user").await?;
                let mut first = skeleton(case, r.expected.clone());
                let env = envelope().await?;
                match self.send(&mut first, &c, &env, &[]).await {
                    Sent::Answer(a) => r.notes.push(format!(
                        "the first login with this code answered {}",
                        a.status
                    )),
                    Sent::Failed(e) => r
                        .notes
                        .push(format!("the first login with this code failed: {e}")),
                    Sent::Cannot => {}
                }
                let env = envelope().await?;
                self.send(&mut r, &c, &env, &[]).await
            }
            LoginCase::CodeExpired => {
                let lifetime = self.sim.code_lifetime_secs(app).await?;
                let c = code("auth_user").await?;
                self.sim.advance_clock(lifetime + 1).await?;
                r.notes.push(format!(
                    "the simulator's clock was moved {} s forward, past the code's lifetime",
                    lifetime + 1
                ));
                let env = envelope().await?;
                self.send(&mut r, &c, &env, &[]).await
            }
            LoginCase::CodeOtherApp => {
                let mut other_app = None;
                for a in self.sim.apps().await? {
                    if a != app && self.sim.user(&a, &user.name).await.is_ok() {
                        other_app = Some(a);
                        break;
                    }
                }
                let Some(other_app) = other_app else {
                    r.reason = format!(
                        "the simulator has no app other than {app} with a user {}",
                        user.name
                    );
                    return Ok((r, None));
                };
                let c = self
                    .sim
                    .auth_code(&other_app, &user.name, "auth_user")
                    .await?;
                r.notes
                    .push(format!("the code was issued to app {other_app}"));
                let env = envelope().await?;
                self.send(&mut r, &c, &env, &[]).await
            }
            LoginCase::SmuggledUserId | LoginCase::SmuggledOpenId | LoginCase::SmuggledMobile => {
                let value = match case {
                    LoginCase::SmuggledUserId => other.user_id.clone(),
                    LoginCase::SmuggledOpenId => other.open_id.clone(),
                    _ => other.mobile.clone(),
                };
                let names: &[&str] = match case {
                    LoginCase::SmuggledUserId => &["user_id", "userId"],
                    LoginCase::SmuggledOpenId => &["open_id", "openId"],
                    _ => &["mobile", "phone"],
                };
                let Some(value) = value else {
                    r.reason = format!("user {} has no {} to smuggle", other.name, names[0]);
                    return Ok((r, None));
                };
                let extra: Vec<(&str, &str)> = names.iter().map(|n| (*n, value.as_str())).collect();
                let (c, env) = (code("auth_user").await?, envelope().await?);
                let sent = self.send(&mut r, &c, &env, &extra).await;
                if let Sent::Cannot = sent {
                    r.reason = "the --deliver template's output is not a JSON object, so it cannot carry extra fields".into();
                    return Ok((r, None));
                }
                if let Sent::Answer(a) = &sent {
                    let j = judge::success(contract, self.judge, &people.expect(case, true), a);
                    apply(&mut r, j);
                }
                return Ok(settle(r, sent));
            }
            LoginCase::GatewayBusy => {
                let (c, env) = (code("auth_user").await?, envelope().await?);
                let sent = self
                    .with_faults(
                        json!({"gateway_busy_rate": 1}),
                        self.send(&mut r, &c, &env, &[]),
                    )
                    .await?;
                if let Sent::Answer(a) = &sent {
                    let e = people.expect(case, false);
                    apply(
                        &mut r,
                        judge::busy(contract, self.judge, &busy_target(), &e, a),
                    );
                }
                return Ok(settle(r, sent));
            }
            LoginCase::GatewayHttpError => {
                let (c, env) = (code("auth_user").await?, envelope().await?);
                let sent = self
                    .with_faults(
                        json!({"gateway_http_error_rate": 1, "gateway_http_status": 502}),
                        self.send(&mut r, &c, &env, &[]),
                    )
                    .await?;
                if let Sent::Answer(a) = &sent {
                    let e = people.expect(case, false);
                    let j = judge::refusal(
                        contract,
                        self.judge,
                        &e,
                        a,
                        LoginRefusal::NoGatewayAnswer,
                        true,
                    );
                    apply(&mut r, j);
                }
                return Ok(settle(r, sent));
            }
            LoginCase::GatewaySlow => {
                let (c, env) = (code("auth_user").await?, envelope().await?);
                r.notes.push(format!(
                    "every gateway answer was delayed {} ms",
                    self.slow_ms
                ));
                let sent = self
                    .with_faults(
                        json!({"gateway_latency_ms": self.slow_ms}),
                        self.send(&mut r, &c, &env, &[]),
                    )
                    .await?;
                if let Sent::Answer(a) = &sent {
                    let e = people.expect(case, false);
                    // Waiting for the gateway (a login) and giving up on it (a refusal) are
                    // both right.
                    let j = if (200..300).contains(&a.status) {
                        judge::success(contract, self.judge, &e, a)
                    } else {
                        judge::refusal(
                            contract,
                            self.judge,
                            &e,
                            a,
                            LoginRefusal::NoGatewayAnswer,
                            true,
                        )
                    };
                    apply(&mut r, j);
                }
                return Ok(settle(r, sent));
            }
            LoginCase::GatewayBadSignature => {
                let (c, env) = (code("auth_user").await?, envelope().await?);
                self.with_faults(
                    json!({"gateway_bad_sign_rate": 1}),
                    self.send(&mut r, &c, &env, &[]),
                )
                .await?
            }
        };
        if let Sent::Answer(a) = &sent {
            let e = people.expect(case, false);
            let j = match case {
                LoginCase::CodeReused => {
                    judge::refusal(contract, self.judge, &e, a, LoginRefusal::ReusedCode, false)
                }
                LoginCase::CodeExpired => judge::refusal(
                    contract,
                    self.judge,
                    &e,
                    a,
                    LoginRefusal::ExpiredCode,
                    false,
                ),
                LoginCase::CodeOtherApp => judge::refusal(
                    contract,
                    self.judge,
                    &e,
                    a,
                    LoginRefusal::ForeignCode,
                    false,
                ),
                LoginCase::GatewayBadSignature => judge::refusal(
                    contract,
                    self.judge,
                    &e,
                    a,
                    LoginRefusal::UnverifiedAnswer,
                    false,
                ),
                _ => judge::success(contract, self.judge, &e, a),
            };
            apply(&mut r, j);
        }
        Ok(settle(r, sent))
    }
}

impl LoginRun<'_> {
    /// Records the access and refresh tokens the gateway issued since journal entry `head` as
    /// `case`'s (a journal that cannot be read records nothing: the tokens are then only not
    /// looked for elsewhere).
    async fn record_tokens(&self, case: LoginCase, head: u64) {
        let Ok(entries) = self.sim.journal(head).await else {
            return;
        };
        let key = alipay_sim::gateway::response_key("alipay.system.oauth.token");
        for e in &entries {
            let node = &e["answer"][&key];
            for field in ["access_token", "refresh_token"] {
                if let Some(t) = node[field].as_str() {
                    self.judge
                        .ledger()
                        .record(IdentityKind::AccessToken, t, case.id());
                }
            }
        }
    }
}

fn busy_target() -> Target<'static> {
    static BUSY: std::sync::LazyLock<Expectation> = std::sync::LazyLock::new(|| Expectation {
        outcome: Outcome::RetryLater,
        mobile: None,
        code: Some("20000".into()),
        sub_code: None,
    });
    Target {
        case_id: LoginCase::GatewayBusy.id(),
        expected: &BUSY,
        forbidden: &[],
        ciphertext: None,
        refusal_allowed: false,
    }
}

fn apply(r: &mut CaseResult, j: crate::judge::Judgement) {
    r.verdict = j.verdict;
    r.reason = j.reason;
    r.findings = j.findings;
}

fn set(r: &mut CaseResult, findings: Vec<Finding>) {
    r.verdict = Verdict::Fail;
    r.reason = crate::finding::words(&findings);
    r.findings = findings;
}

fn settle(mut r: CaseResult, sent: Sent) -> (CaseResult, Option<TransportError>) {
    match sent {
        Sent::Failed(e) => {
            r.verdict = Verdict::Error;
            r.reason = e.to_string();
            (r, Some(e))
        }
        Sent::Answer(_) | Sent::Cannot => (r, None),
    }
}

/// Runs `cases` one at a time against `run.endpoint`; results in id order. A dropped connection
/// is a crash (a fail) when the endpoint answered another login case; when nothing can connect
/// the run stops with [`Unreachable`]. A simulator failure mid-case is an error verdict on that
/// case.
pub async fn run(run: &LoginRun<'_>, cases: &[LoginCase]) -> Result<Vec<CaseResult>, LoginError> {
    let base = run.sim.base().to_string();
    let user = run.sim.user(run.app, USER).await?;
    let other = run.sim.user(run.app, OTHER_USER).await?;
    let mobile = user.mobile.clone().ok_or_else(|| LoginError::User {
        base: base.clone(),
        app: run.app.into(),
        user: USER.into(),
        what: "mobile",
    })?;
    if user.ids().is_empty() {
        return Err(LoginError::User {
            base,
            app: run.app.into(),
            user: USER.into(),
            what: "alipay_user_id or open_id",
        });
    }
    // The run's ledger: every login case logs alice in, so her ids and mobile are each case's
    // own; bob's are a test user's (smuggled, never to come back). Access tokens are recorded
    // per case once the gateway issued them.
    let ledger = run.judge.ledger();
    for &case in cases {
        ledger.record(IdentityKind::Mobile, &mobile, case.id());
        for (kind, v) in [
            (IdentityKind::UserId, &user.user_id),
            (IdentityKind::OpenId, &user.open_id),
        ] {
            if let Some(v) = v {
                ledger.record(kind, v, case.id());
            }
        }
    }
    for (kind, v) in [
        (IdentityKind::UserId, &other.user_id),
        (IdentityKind::OpenId, &other.open_id),
    ] {
        if let Some(v) = v {
            ledger.record_test_user(kind, v, &other.name);
        }
    }
    let people = People {
        user,
        other,
        mobile,
    };
    let mut done: Vec<(CaseResult, Option<TransportError>)> = Vec::new();
    let mut unreachable = Vec::new();
    for &case in cases {
        let head = run.sim.journal_head().await.unwrap_or(0);
        let out = run.case(case, &people).await;
        run.record_tokens(case, head).await;
        let out = match out {
            Ok((mut r, e)) => {
                r.severity = crate::finding::severity_with(r.severity, &r.findings);
                (r, e)
            }
            Err(e) => {
                let mut r = skeleton(case, judge::expected_refusal(run.judge.contract(), true));
                r.verdict = Verdict::Error;
                r.reason = format!("the simulator failed, so this case has no verdict: {e}");
                (r, None)
            }
        };
        if let Some(e) = &out.1
            && e.is_unreachable()
            && !done.iter().any(|(r, _)| r.answer.status.is_some())
        {
            unreachable.push(e.to_string());
            if unreachable.len() >= UNREACHABLE_ATTEMPTS {
                return Err(Unreachable {
                    endpoint: run.endpoint.to_string(),
                    attempts: unreachable.len(),
                    first: unreachable[0].clone(),
                }
                .into());
            }
        }
        done.push(out);
    }
    let answered = done.iter().any(|(r, _)| r.answer.status.is_some());
    if !answered && !unreachable.is_empty() && unreachable.len() == done.len() {
        return Err(Unreachable {
            endpoint: run.endpoint.to_string(),
            attempts: unreachable.len(),
            first: unreachable[0].clone(),
        }
        .into());
    }
    let mut results: Vec<CaseResult> = done
        .into_iter()
        .map(|(mut r, e)| {
            if let Some(e) = e
                && answered
                && e.is_crash()
            {
                set(
                    &mut r,
                    vec![Finding::Crash {
                        error: e.to_string(),
                    }],
                );
            }
            r
        })
        .collect();
    results.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(results)
}

/// Starts the simulator `opts` names (in-process on `--gateway-listen`, or a client of a running
/// one): the client, and the in-process server to shut down after the run.
pub async fn simulator(
    opts: &LoginOptions,
    keys: &alipay_sim::KeySet,
) -> Result<(Simulator, Option<sim::Embedded>), LoginError> {
    match &opts.simulator {
        SimulatorSource::Listen(addr) => {
            let embedded = sim::Embedded::start(*addr, keys.clone())
                .await
                .map_err(|source| LoginError::Listen {
                    addr: *addr,
                    source,
                })?;
            tracing::info!(gateway = %format!("{}gateway.do", embedded.url()), "simulated gateway listening");
            Ok((Simulator::new(embedded.url())?, Some(embedded)))
        }
        SimulatorSource::Running(url) => Ok((Simulator::new(url.clone())?, None)),
    }
}
