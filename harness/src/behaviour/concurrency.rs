//! `behaviour.concurrency.distinct-mobiles`: many genuine success envelopes, each for a
//! different mobile, sent in parallel. A merchant that shares one cipher (or one buffer) across
//! threads answers some request with another request's mobile; a correct one answers each with
//! its own. It needs genuine RSA2/AES-128 envelopes, so it is skipped for other endpoint
//! configurations. All requests share the check's one deadline (`--timeout-ms`).

use std::sync::Arc;
use std::time::Duration;

use alipay_sim::{
    AesSize, Expectation, Outcome, Payload, SealOptions, SignType, generated_mobile, seal,
};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Check, skeleton};
use crate::context::{Context, excerpt, request_info};
use crate::curl;
use crate::delivery::PreparedRequest;
use crate::finding::{self, Finding};
use crate::judge::Target;
use crate::transport::{Answer, TransportError};
use crate::verdict::{CaseResult, Expected, Verdict};

/// The seed of the check's mobiles ([`generated_mobile`]): request `i` carries the `i`-th
/// number of this sequence, so every request has its own mobile and a run is reproducible.
pub const MOBILE_SEED: u64 = 0x00d1_571a_c70b_11e5;

/// One request of the check and what came back.
struct Exchange {
    /// Index into the check's mobiles.
    index: usize,
    answer: Result<Answer, TransportError>,
    elapsed: Duration,
    req: PreparedRequest,
}

/// The answers sorted by what was wrong with them.
#[derive(Default)]
struct Tally {
    /// (mobile requested, another request's mobile it got).
    crossed: Vec<(String, String)>,
    /// (mobile requested, what was wrong with its answer).
    wrong: Vec<(String, Vec<Finding>)>,
    /// Transport errors, in words.
    errors: Vec<String>,
}

/// Runs the check: `requests` envelopes, `parallel` at a time.
pub(super) async fn run(
    check: &Check,
    requests: usize,
    parallel: usize,
    ctx: &Arc<Context>,
) -> CaseResult {
    let mobiles: Vec<String> = (0..requests as u64)
        .map(|i| generated_mobile(MOBILE_SEED, i))
        .collect();
    let mut result = skeleton(check, expected(&mobiles, ctx));
    result.expected.description = format!(
        "each of {requests} parallel answers: {}",
        result.expected.description
    );
    // Certificate mode signs RSA2 too (`Signing::sign_type`).
    if ctx.profile.signing.sign_type() != Some(SignType::Rsa2)
        || ctx.profile.aes_bits != AesSize::Aes128
    {
        result.reason = "needs a merchant configured with RSA2 signing and an AES-128 key".into();
        return result;
    }
    let exchanges = send_all(check, &mobiles, parallel, ctx).await;
    if let Some(x) = exchanges.first() {
        result.request = Some(request_info(&x.req));
        result.curl = Some(curl::command(&x.req));
    }
    result.answer.elapsed_ms = exchanges
        .iter()
        .map(|x| x.elapsed.as_millis() as u64)
        .max()
        .unwrap_or(0);
    let tally = tally(&mut result, &mobiles, &exchanges, ctx);
    let lost = requests.saturating_sub(exchanges.len());
    conclude(&mut result, tally, requests, parallel, lost);
    result
}

/// What a correct merchant answers request `0` (the description every request shares).
fn expected(mobiles: &[String], ctx: &Context) -> Expected {
    let first = Expectation {
        outcome: Outcome::Accept,
        mobile: Some(mobiles.first().cloned().unwrap_or_default()),
        code: None,
        sub_code: None,
    };
    let others: Vec<String> = mobiles.iter().skip(1).cloned().collect();
    ctx.judge.expected(&Target {
        case_id: super::DISTINCT_MOBILES,
        expected: &first,
        forbidden: &others,
        ciphertext: None,
        refusal_allowed: false,
    })
}

/// Seals and sends one envelope per mobile, `parallel` at a time, all by one deadline; the
/// exchanges come back in the order of `mobiles`.
async fn send_all(
    check: &Check,
    mobiles: &[String],
    parallel: usize,
    ctx: &Arc<Context>,
) -> Vec<Exchange> {
    let aes = Arc::new(ctx.keys.aes.clone());
    let deadline = Instant::now() + ctx.client.limits().timeout;
    let sem = Arc::new(Semaphore::new(parallel.max(1)));
    let mut set = JoinSet::new();
    for (index, mobile) in mobiles.iter().enumerate() {
        let ctx = Arc::clone(ctx);
        let sem = Arc::clone(&sem);
        let aes = Arc::clone(&aes);
        let mobile = mobile.clone();
        let id = check.id();
        set.spawn(async move {
            let _p = sem.acquire_owned().await.expect("never closed");
            // Sealed here, on a worker, so the signatures are made in parallel.
            let sealed = seal(
                &Payload::Mobile(mobile).to_json(),
                &SealOptions::standard(&aes, &ctx.keys.platform.signer),
            );
            let req = ctx
                .delivery
                .prepare(&ctx.endpoint, id, &sealed.envelope, false, None);
            let (answer, elapsed) = ctx.client.send_by(&req, deadline).await;
            Exchange {
                index,
                answer,
                elapsed,
                req,
            }
        });
    }
    let mut exchanges = Vec::with_capacity(mobiles.len());
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(x) => exchanges.push(x),
            Err(e) => tracing::error!("a behaviour request task failed: {e}"),
        }
    }
    exchanges.sort_by_key(|x| x.index);
    exchanges
}

/// Judges every answer against its own mobile (every other one forbidden); the first bad
/// exchange (else the first answer) becomes the result's request, answer and curl.
fn tally(
    result: &mut CaseResult,
    mobiles: &[String],
    exchanges: &[Exchange],
    ctx: &Context,
) -> Tally {
    let mut t = Tally::default();
    let mut first_bad = false;
    for x in exchanges {
        let pass = match &x.answer {
            Err(e) => {
                t.errors.push(format!("request {}: {e}", x.index));
                false
            }
            Ok(a) => judge_one(&mut t, mobiles, x.index, a, ctx),
        };
        if !pass && !first_bad {
            first_bad = true;
            result.curl = Some(curl::command(&x.req));
            result.request = Some(request_info(&x.req));
            result.answer.status = match &x.answer {
                Err(e) => e.status(),
                Ok(a) => {
                    result.answer.body_excerpt = excerpt(&ctx.judge, &a.body);
                    Some(a.status)
                }
            };
        } else if let (true, Ok(a), None) = (pass, &x.answer, result.answer.status) {
            result.answer.status = Some(a.status);
            result.answer.body_excerpt = excerpt(&ctx.judge, &a.body);
        }
    }
    t
}

/// Judges the answer to request `i`; a wrong one goes into `t` (crossed when it carries another
/// request's mobile). True when it passes.
fn judge_one(t: &mut Tally, mobiles: &[String], i: usize, a: &Answer, ctx: &Context) -> bool {
    let others: Vec<String> = mobiles
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, m)| m.clone())
        .collect();
    let exp = Expectation {
        outcome: Outcome::Accept,
        mobile: Some(mobiles[i].clone()),
        code: None,
        sub_code: None,
    };
    let j = ctx.judge.judge(
        &Target {
            case_id: super::DISTINCT_MOBILES,
            expected: &exp,
            forbidden: &others,
            ciphertext: None,
            refusal_allowed: false,
        },
        a,
    );
    if j.verdict == Verdict::Pass {
        return true;
    }
    let body = String::from_utf8_lossy(&a.body);
    match others.iter().find(|m| body.contains(m.as_str())) {
        Some(m) => t.crossed.push((mobiles[i].clone(), m.clone())),
        None => t.wrong.push((mobiles[i].clone(), j.findings)),
    }
    false
}

/// The verdict: a fail with the findings when some answer was wrong, an error when some
/// request got no verdict, else a pass.
fn conclude(result: &mut CaseResult, t: Tally, requests: usize, parallel: usize, lost: usize) {
    let mut findings = Vec::new();
    if let Some((wanted, got)) = t.crossed.first() {
        findings.push(Finding::MobilesCrossed {
            count: t.crossed.len(),
            of: requests,
            wanted: wanted.clone(),
            got: got.clone(),
        });
    }
    if let Some((mobile, example)) = t.wrong.first() {
        findings.push(Finding::AnswersWrong {
            count: t.wrong.len(),
            of: requests,
            mobile: mobile.clone(),
            findings: example.clone(),
        });
    }
    if !findings.is_empty() {
        if !t.errors.is_empty() {
            findings.push(Finding::NoAnswer {
                count: t.errors.len(),
                example: None,
            });
        }
        result.verdict = Verdict::Fail;
        result.reason = format!(
            "behaviour check (distinct mobiles): {}",
            finding::words(&findings)
        );
        result.findings = findings;
    } else if !t.errors.is_empty() || lost > 0 {
        result.verdict = Verdict::Error;
        result.reason = format!(
            "{} of {requests} requests got no verdict (e.g. {})",
            t.errors.len() + lost,
            t.errors
                .first()
                .map(String::as_str)
                .unwrap_or("a task failed")
        );
    } else {
        result.verdict = Verdict::Pass;
        result.reason = format!(
            "pass by the behaviour check (distinct mobiles): all {requests} answers ({parallel} at a time) carried their own mobile"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_are_distinct_mainland_numbers() {
        let ms: std::collections::BTreeSet<String> = (0..1000)
            .map(|i| generated_mobile(MOBILE_SEED, i))
            .collect();
        assert_eq!(ms.len(), 1000);
        assert!(ms.iter().all(|m| m.len() == 11
            && m.starts_with('1')
            && (b'3'..=b'9').contains(&m.as_bytes()[1])));
    }
}
