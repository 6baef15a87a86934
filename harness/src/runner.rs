//! Running a plan: bounded concurrency, one deadline per case, and the run-level judgements that
//! no single case can make:
//!
//! - a connection dropped (reset or closed) on one input by an endpoint that answers other
//!   requests is a crash on that input: a **fail** at the case's severity, not an error;
//! - when no case gets an HTTP answer because nothing can connect (refused, DNS, TLS), the run
//!   stops after [`UNREACHABLE_ATTEMPTS`] attempts with [`Unreachable`] (exit 2) instead of
//!   reporting every case as an error.
//!
//! Results whose meaning depends on the rest of the run are held back until it is known, so the
//! streamed report and the final one agree.

use std::sync::Arc;

use alipay_sim::Built;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::behaviour;
use crate::case::{echo_ciphertext, is_unsigned_error};
use crate::context::{Context, excerpt, request_info};
use crate::curl;
use crate::finding::Finding;
use crate::judge::Target;
use crate::plan::Item;
use crate::transport::TransportError;
use crate::verdict::{About, CaseResult, Verdict};

/// Connection failures (with no HTTP answer at all) after which the run stops.
pub const UNREACHABLE_ATTEMPTS: usize = 3;

/// No case got an HTTP answer: the endpoint cannot be reached, so nothing can be judged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot reach {endpoint}: {first} ({attempts} attempt(s), no HTTP answer at all); nothing was judged"
)]
pub struct Unreachable {
    /// The endpoint URL.
    pub endpoint: String,
    /// How many requests failed to connect before the run stopped.
    pub attempts: usize,
    /// The first connection error.
    pub first: String,
}

/// Runs one catalogue case; also returns the transport error, when there was one. The case's
/// users are recorded in the run's ledger first ([`crate::leak::RunLedger::record_built`]; a
/// no-op when [`run_plan`] already did).
pub async fn run_case(case: &Built, ctx: &Context) -> (CaseResult, Option<TransportError>) {
    ctx.judge.ledger().record_built(case);
    let forbidden: Vec<String> = case.canary.iter().cloned().collect();
    let ciphertext = echo_ciphertext(case);
    let target = Target {
        case_id: &case.id,
        expected: &case.expected,
        forbidden: &forbidden,
        ciphertext: ciphertext.as_deref(),
        refusal_allowed: is_unsigned_error(case) && ctx.profile.signing.sign_type().is_some(),
    };
    let about = About {
        id: case.id.clone(),
        title: case.title.clone(),
        kind: case.kind.into(),
        severity: case.severity,
        bug_class: case.bug_class,
        why: case.why.clone(),
        fix: case.remediation.clone(),
    };
    let mut result = CaseResult::unrun(about, ctx.judge.expected(&target));
    if let Some(reason) = ctx.profile.mismatch(&case.profile) {
        result.reason = reason;
        return (result, None);
    }
    let req = ctx.delivery.prepare(
        &ctx.endpoint,
        &case.id,
        &case.body,
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
            result.severity = crate::finding::severity_with(result.severity, &j.findings);
            result.answer.status = Some(a.status);
            result.answer.body_excerpt = excerpt(&ctx.judge, &a.body);
            result.verdict = j.verdict;
            result.reason = j.reason;
            result.findings = j.findings;
            (result, None)
        }
        Err(e) => {
            result.answer.status = e.status();
            result.verdict = Verdict::Error;
            result.reason = e.to_string();
            (result, Some(e))
        }
    }
}

/// A dropped connection from an endpoint that answers other requests: a crash on this input.
fn crash_is_a_failure(r: &mut CaseResult, e: &TransportError) {
    r.verdict = Verdict::Fail;
    r.findings = vec![Finding::Crash {
        error: e.to_string(),
    }];
    r.reason = crate::finding::words(&r.findings);
}

/// The error result for a case whose task failed.
fn task_failed(s: &alipay_sim::Scenario, e: &tokio::task::JoinError) -> CaseResult {
    let expected = crate::verdict::Expected {
        class: alipay_sim::Expectation {
            outcome: s.expect.outcome,
            mobile: None,
            code: s.expect.code.clone(),
            sub_code: s.expect.sub_code.clone(),
        },
        description: s.expect.outcome.to_string(),
    };
    CaseResult {
        verdict: Verdict::Error,
        reason: format!("the harness failed on this case (please report it): {e}"),
        ..CaseResult::unrun(about(s), expected)
    }
}

/// What a catalogue case is.
fn about(s: &alipay_sim::Scenario) -> About {
    About {
        id: s.id.clone(),
        title: s.title.clone(),
        kind: s.kind().into(),
        severity: s.severity,
        bug_class: s.bug_class,
        why: s.why.clone(),
        fix: s.remediation.clone(),
    }
}

/// Counts one case as sealed when dropped.
struct Sealed<'a>(&'a tokio::sync::watch::Sender<usize>);

impl Drop for Sealed<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Holds back transport-error results until the run shows whether the endpoint answers at all.
struct Gate<'a, F: FnMut(&CaseResult)> {
    answered: bool,
    held: Vec<(CaseResult, TransportError)>,
    /// Results that sent nothing (skips) while no answer has come yet: an unreachable endpoint
    /// must print nothing but its one error line, whichever order the cases finish in.
    quiet: Vec<CaseResult>,
    unreachable: Vec<String>,
    results: Vec<CaseResult>,
    on_result: &'a mut F,
}

impl<F: FnMut(&CaseResult)> Gate<'_, F> {
    fn emit(&mut self, r: CaseResult) {
        (self.on_result)(&r);
        self.results.push(r);
    }

    /// Takes one finished case; `Err` when the run must stop (nothing reachable).
    fn take(&mut self, r: CaseResult, err: Option<TransportError>) -> Result<(), ()> {
        // Any HTTP status (even of an answer too large to judge) shows the endpoint answers.
        if r.answer.status.is_some() && !self.answered {
            self.answered = true;
            for (mut h, e) in std::mem::take(&mut self.held) {
                if e.is_crash() {
                    crash_is_a_failure(&mut h, &e);
                }
                self.emit(h);
            }
            for q in std::mem::take(&mut self.quiet) {
                self.emit(q);
            }
        }
        match err {
            None if !self.answered && r.request.is_none() => self.quiet.push(r),
            None => self.emit(r),
            Some(e) if self.answered => {
                let mut r = r;
                if e.is_crash() {
                    crash_is_a_failure(&mut r, &e);
                }
                self.emit(r);
            }
            Some(e) => {
                if e.is_unreachable() {
                    self.unreachable.push(e.to_string());
                }
                self.held.push((r, e));
                if self.unreachable.len() >= UNREACHABLE_ATTEMPTS {
                    return Err(());
                }
            }
        }
        Ok(())
    }

    /// At the end of the catalogue cases: `Err` when every attempt failed to connect.
    fn finish(&mut self) -> Result<(), ()> {
        if !self.answered && !self.held.is_empty() && self.unreachable.len() == self.held.len() {
            return Err(());
        }
        for (h, _) in std::mem::take(&mut self.held) {
            self.emit(h);
        }
        for q in std::mem::take(&mut self.quiet) {
            self.emit(q);
        }
        Ok(())
    }
}

/// Runs `items` with at most `concurrency` cases in flight (behaviour checks run afterwards,
/// one at a time, with their own parallelism), calling `on_result` as each result is settled.
/// Returns every result sorted by id, or [`Unreachable`] when nothing could connect.
pub async fn run_plan(
    items: Vec<Item>,
    ctx: Arc<Context>,
    concurrency: usize,
    mut on_result: impl FnMut(&CaseResult),
) -> Result<Vec<CaseResult>, Unreachable> {
    let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
    // Every identity of the run is in the ledger before the first request is sent: the behaviour
    // checks' now, each case's once sealed (all cases wait for the last seal), so an answer that
    // names any user of the run is caught whichever case it belongs to and whenever it arrives.
    for item in &items {
        if let Item::Behaviour(check) = item {
            for m in check.mobiles() {
                ctx.judge
                    .ledger()
                    .record(crate::leak::IdentityKind::Mobile, &m, check.id());
            }
        }
    }
    let cases = items.iter().filter(|i| matches!(i, Item::Case(_))).count();
    let (unsealed, _) = tokio::sync::watch::channel(cases);
    let unsealed = Arc::new(unsealed);
    let mut set: JoinSet<(CaseResult, Option<TransportError>)> = JoinSet::new();
    let mut checks = Vec::new();
    let mut tasks = std::collections::HashMap::new();
    let total = items.len();
    for item in items {
        match item {
            Item::Case(scenario) => {
                let ctx = Arc::clone(&ctx);
                let sem = Arc::clone(&semaphore);
                let unsealed = Arc::clone(&unsealed);
                let meta = (*scenario).clone();
                let handle = set.spawn(async move {
                    let case = {
                        let _permit = sem.acquire().await.expect("the semaphore is never closed");
                        // Counts this case as sealed when dropped, even if sealing panics.
                        let _sealed = Sealed(&unsealed);
                        // Sealing (an RSA signature) happens here, on a worker, in parallel.
                        let case = scenario.build(&ctx.keys);
                        ctx.judge.ledger().record_built(&case);
                        case
                    };
                    let mut all_sealed = unsealed.subscribe();
                    // Err: the sender is gone, which cannot happen while this task holds it.
                    let _ = all_sealed.wait_for(|n| *n == 0).await;
                    let _permit = sem
                        .acquire_owned()
                        .await
                        .expect("the semaphore is never closed");
                    run_case(&case, &ctx).await
                });
                tasks.insert(handle.id(), meta);
            }
            Item::Behaviour(check) => checks.push(check),
        }
    }
    let mut gate = Gate {
        answered: false,
        held: Vec::new(),
        quiet: Vec::new(),
        unreachable: Vec::new(),
        results: Vec::with_capacity(total),
        on_result: &mut on_result,
    };
    let unreachable = |gate: &Gate<'_, _>| Unreachable {
        endpoint: ctx.endpoint.to_string(),
        attempts: gate.unreachable.len(),
        first: gate.unreachable.first().cloned().unwrap_or_default(),
    };
    while let Some(joined) = set.join_next().await {
        let step = match joined {
            Ok((r, e)) => gate.take(r, e),
            Err(e) => {
                // A bug in the harness itself: still report the case, never drop it silently.
                tracing::error!("a case task failed: {e}");
                match tasks.get(&e.id()) {
                    Some(s) => gate.take(task_failed(s, &e), None),
                    None => Ok(()),
                }
            }
        };
        if step.is_err() {
            set.abort_all();
            return Err(unreachable(&gate));
        }
    }
    if gate.finish().is_err() {
        return Err(unreachable(&gate));
    }
    for check in checks {
        let r = behaviour::run(&check, &ctx).await;
        gate.emit(r);
    }
    let mut results = gate.results;
    results.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(results)
}
