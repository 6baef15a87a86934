//! `behaviour.concurrency.distinct-mobiles`: many genuine success envelopes, each for a
//! different mobile, sent in parallel. A merchant that shares one cipher (or one buffer) across
//! threads answers some request with another request's mobile; a correct one answers each with
//! its own. It needs genuine RSA2/AES-128 envelopes, so it is skipped for other endpoint
//! configurations. All requests share the check's one deadline (`--timeout-ms`).

use std::sync::Arc;

use alipay_sim::{
    AesSize, Expectation, Outcome, Payload, SealOptions, SignType, generated_mobile, seal,
};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Check, skeleton};
use crate::context::{Context, excerpt, request_info};
use crate::curl;
use crate::judge::Target;
use crate::verdict::{CaseResult, Verdict};

/// The seed of the check's mobiles ([`generated_mobile`]): request `i` carries the `i`-th
/// number of this sequence, so every request has its own mobile and a run is reproducible.
pub const MOBILE_SEED: u64 = 0x00d1_571a_c70b_11e5;

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
    let expected = Expectation {
        outcome: Outcome::Accept,
        mobile: Some(mobiles.first().cloned().unwrap_or_default()),
        code: None,
        sub_code: None,
    };
    let others: Vec<String> = mobiles.iter().skip(1).cloned().collect();
    let mut result = skeleton(
        check,
        ctx.judge.expected(&Target {
            expected: &expected,
            forbidden: &others,
            ciphertext: None,
            refusal_allowed: false,
        }),
    );
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

    let aes = Arc::new(ctx.keys.aes.clone());
    let deadline = Instant::now() + ctx.client.limits().timeout;
    let sem = Arc::new(Semaphore::new(parallel.max(1)));
    let mut set = JoinSet::new();
    for (i, mobile) in mobiles.iter().enumerate() {
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
            (i, answer, elapsed, req)
        });
    }
    let mut outcomes = Vec::with_capacity(requests);
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(o) => outcomes.push(o),
            Err(e) => tracing::error!("a behaviour request task failed: {e}"),
        }
    }
    outcomes.sort_by_key(|o| o.0);
    if let Some((_, _, _, req)) = outcomes.first() {
        result.request = Some(request_info(req));
        result.curl = Some(curl::command(req));
    }

    let mut crossed = Vec::new();
    let mut wrong = Vec::new();
    let mut errors = Vec::new();
    let mut first_bad: Option<usize> = None;
    let mut slowest = 0u64;
    for (i, answer, elapsed, req) in &outcomes {
        slowest = slowest.max(elapsed.as_millis() as u64);
        let i = *i;
        match answer {
            Err(e) => {
                errors.push(format!("request {i}: {e}"));
                if first_bad.is_none() {
                    first_bad = Some(i);
                    result.curl = Some(curl::command(req));
                    result.request = Some(request_info(req));
                    result.answer.status = e.status();
                }
            }
            Ok(a) => {
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
                        expected: &exp,
                        forbidden: &others,
                        ciphertext: None,
                        refusal_allowed: false,
                    },
                    a,
                );
                if j.verdict != Verdict::Pass {
                    let body = String::from_utf8_lossy(&a.body);
                    if let Some(m) = others.iter().find(|m| body.contains(m.as_str())) {
                        crossed.push(format!(
                            "request for {} got {m} (another request's)",
                            mobiles[i]
                        ));
                    } else {
                        wrong.push(format!("request for {}: {}", mobiles[i], j.reason));
                    }
                    if first_bad.is_none() {
                        first_bad = Some(i);
                        result.curl = Some(curl::command(req));
                        result.request = Some(request_info(req));
                        result.answer.status = Some(a.status);
                        result.answer.body_excerpt = excerpt(&ctx.judge, &a.body);
                    }
                } else if result.answer.status.is_none() {
                    result.answer.status = Some(a.status);
                    result.answer.body_excerpt = excerpt(&ctx.judge, &a.body);
                }
            }
        }
    }
    result.answer.elapsed_ms = slowest;
    let lost = requests.saturating_sub(outcomes.len());
    if !crossed.is_empty() || !wrong.is_empty() {
        result.verdict = Verdict::Fail;
        let mut parts = Vec::new();
        if !crossed.is_empty() {
            parts.push(format!(
                "{} of {requests} answers carried another request's mobile (e.g. {})",
                crossed.len(),
                crossed[0]
            ));
        }
        if !wrong.is_empty() {
            parts.push(format!(
                "{} of {requests} answers were wrong (e.g. {})",
                wrong.len(),
                wrong[0]
            ));
        }
        if !errors.is_empty() {
            parts.push(format!("{} requests got no answer", errors.len()));
        }
        result.reason = format!("behaviour check (distinct mobiles): {}", parts.join("; "));
    } else if !errors.is_empty() || lost > 0 {
        result.verdict = Verdict::Error;
        result.reason = format!(
            "{} of {requests} requests got no verdict (e.g. {})",
            errors.len() + lost,
            errors
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
    result
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
