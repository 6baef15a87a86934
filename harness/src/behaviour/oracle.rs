//! `behaviour.oracle.uniform-rejection`: is the endpoint an error oracle?
//!
//! The envelope is AES-CBC (zero IV, PKCS#7) without a MAC; only the RSA signature protects it.
//! The check sends forged envelopes (signed with someone else's key, so the signature never
//! verifies) whose ciphertexts, under the endpoint's real AES key, decrypt to different things:
//!
//! | variant | ciphertext |
//! |---|---|
//! | `a` | valid padding, a JSON success object (with a canary mobile) |
//! | `b` | valid padding, text that is not JSON |
//! | `c` | invalid PKCS#7 padding (right last byte, zero filler) |
//! | `d` | 24 bytes: not a whole number of AES blocks |
//! | `e` | valid padding, bytes that are not UTF-8 |
//!
//! An endpoint that verifies first refuses all of them the same way. One that decrypts first
//! and says so (`bad_padding` here, `bad_signature` there, a 500 for one of them, a dropped
//! connection for another) lets anyone who captured one user's envelope decrypt it through the
//! endpoint, the classic CBC padding-oracle attack. Answers are compared by status and by body
//! once request ids, timestamps and echoed ciphertexts and signatures are normalised away; each
//! variant is sent [`Check::UniformRejection`]`::rounds` times, and only variants whose answers
//! never coincide count as different. Timing is measured and reported as a note only: over HTTP
//! it is noise.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use alipay_sim::{
    AesKey, EnvelopeFields, Expectation, Outcome, SignType, aes_encrypt as encrypt, assemble,
    quoted,
};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use regex::Regex;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Check, skeleton};
use crate::context::{Context, excerpt, request_info};
use crate::curl;
use crate::delivery::PreparedRequest;
use crate::finding::{self, AnswerGroup, Finding};
use crate::judge::{Judge, Target};
use crate::transport::{Answer, TransportError};
use crate::verdict::{CaseResult, Expected, Verdict};

/// Number of forged-envelope variants.
pub const VARIANTS: usize = 5;

/// The mobile inside variant `a`: it must never come back.
pub const CANARY: &str = "13900000017";

/// What every forged envelope must get: a refusal.
const REFUSAL: Expectation = Expectation {
    outcome: Outcome::Reject,
    mobile: None,
    code: None,
    sub_code: None,
};

/// One forged envelope.
#[derive(Debug, Clone)]
pub struct Variant {
    /// `a` to `e`.
    pub name: char,
    /// What its ciphertext decrypts to.
    pub label: &'static str,
    /// The base64 ciphertext.
    pub ciphertext: String,
    /// The envelope's `sign` (made with the attacker's key).
    pub sign: String,
    /// The envelope.
    pub envelope: String,
}

/// AES-CBC of whole blocks without padding: the CBC prefix of the padded encryption (a block's
/// ciphertext depends only on the blocks before it).
fn raw_blocks(key: &AesKey, blocks: &[u8]) -> Vec<u8> {
    debug_assert!(blocks.len().is_multiple_of(16));
    let mut ct = encrypt(key, blocks);
    ct.truncate(blocks.len());
    ct
}

/// The forged envelopes for an endpoint with `key` that verifies `sign_type`, signed by
/// `forger` (any key but Alipay's).
pub fn variants(key: &AesKey, sign_type: SignType, forger: &alipay_sim::Signer) -> Vec<Variant> {
    let success = format!(r#"{{"code":"10000","msg":"Success","mobile":"{CANARY}"}}"#);
    let mut bad_padding = br#"{"code":"10000","msg":"Success"}"#.to_vec();
    bad_padding.resize(48 - 5, b' ');
    bad_padding.extend_from_slice(&[0, 0, 0, 0, 5]);
    let mut short = encrypt(key, success.as_bytes());
    short.truncate(24);
    let raw: [(char, &'static str, Vec<u8>); VARIANTS] = [
        (
            'a',
            "valid padding, a JSON object",
            encrypt(key, success.as_bytes()),
        ),
        (
            'b',
            "valid padding, not JSON",
            encrypt(key, b"this text is not JSON at all, but well padded"),
        ),
        ('c', "invalid padding", raw_blocks(key, &bad_padding)),
        ('d', "not a whole number of blocks (24 bytes)", short),
        (
            'e',
            "valid padding, not UTF-8",
            encrypt(key, &[0xff, 0xfe, 0xfd, 0x80, 0x81, 0xc0, 0xc1, 0xf5]),
        ),
    ];
    raw.into_iter()
        .map(|(name, label, ct)| {
            let ciphertext = STANDARD.encode(&ct);
            let token = quoted(&ciphertext);
            let sign = forger.sign_base64(sign_type, token.as_bytes());
            Variant {
                name,
                label,
                envelope: assemble(&token, Some(&sign), sign_type, EnvelopeFields::Minimal),
                ciphertext,
                sign,
            }
        })
        .collect()
}

fn volatile() -> &'static [(Regex, &'static str)] {
    static RES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RES.get_or_init(|| {
        [
            (
                r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                "<uuid>",
            ),
            (
                r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
                "<time>",
            ),
            (
                r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT",
                "<time>",
            ),
            // Written as one token ([`token_re`]): an id that is sometimes shorter than these
            // thresholds (a random u32 is 9 or 10 digits) still lines up with the placeholder, and
            // the position is masked because it varies, instead of the bodies failing to line up
            // (which left statuses only, and passed a padding oracle).
            (r"\b[0-9a-fA-F]{16,}\b", "HEX"),
            (r"\b\d{10,}\b", "NUMBER"),
        ]
        .into_iter()
        .map(|(re, with)| (Regex::new(re).expect("a valid pattern"), with))
        .collect()
    })
}

/// `body` with the parts that legitimately differ between two answers to the same request
/// (request ids, timestamps, echoes of what was sent) replaced by placeholders.
pub fn normalise(body: &str, variant: &Variant) -> String {
    let mut out = body.to_string();
    for (secret, with) in [
        (&variant.ciphertext, "<ciphertext>"),
        (&variant.sign, "<sign>"),
    ] {
        let trimmed = secret.trim_end_matches('=');
        let bytes = STANDARD.decode(secret).unwrap_or_default();
        let forms = [
            trimmed.to_string(),
            trimmed.replace('/', "\\/"),
            URL_SAFE_NO_PAD.encode(&bytes),
            percent_encoding::utf8_percent_encode(trimmed, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        ];
        for f in forms.iter().filter(|f| f.len() >= 16) {
            out = out.replace(f.as_str(), with);
        }
        // The padding of an echo, however it is escaped, goes with it.
        for pad in ["=", "\\u003d", "\\u003D", "%3D", "%3d", "&#61;"] {
            let padded = format!("{with}{pad}");
            while out.contains(&padded) {
                out = out.replace(&padded, with);
            }
        }
    }
    for (re, with) in volatile() {
        out = re.replace_all(&out, *with).into_owned();
    }
    out
}

/// How strictly answers are compared.
#[derive(Debug, Clone, Copy)]
enum Level {
    /// Bodies with ids, times and echoes normalised ([`normalise`]).
    Normalised,
    /// Statuses only.
    StatusOnly,
}

/// A run of characters that may be a word or an id, as [`Shape`] cuts them.
fn token_re() -> &'static Regex {
    static TOKEN: OnceLock<Regex> = OnceLock::new();
    TOKEN.get_or_init(|| Regex::new(r"[A-Za-z0-9+/_=-]+").expect("a valid pattern"))
}

/// A body cut into its tokens ([`token_re`]) and what lies between them: two bodies of one
/// shape differ only in tokens, position by position.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    /// What lies before, between and after the tokens (one more than `tokens`).
    between: Vec<String>,
    /// The tokens, in order.
    tokens: Vec<String>,
}

impl Shape {
    fn of(body: &str) -> Self {
        let mut between = Vec::new();
        let mut tokens = Vec::new();
        let mut at = 0;
        for m in token_re().find_iter(body) {
            between.push(body[at..m.start()].to_string());
            tokens.push(m.as_str().to_string());
            at = m.end();
        }
        between.push(body[at..].to_string());
        Self { between, tokens }
    }

    /// The body again, with the tokens at `masked` positions replaced by `<varies>`.
    fn render(&self, masked: &BTreeSet<usize>) -> String {
        let mut out = String::new();
        for (k, t) in self.tokens.iter().enumerate() {
            out.push_str(&self.between[k]);
            out.push_str(if masked.contains(&k) { "<varies>" } else { t });
        }
        out.push_str(self.between.last().map(String::as_str).unwrap_or_default());
        out
    }
}

/// The answers per variant compared by the parts of their bodies that never vary: normalised
/// bodies ([`normalise`]) are cut into [`Shape`]s, and a token position that differs between two
/// answers of the same status to the same forged envelope is masked in every body of that shape;
/// the flag says whether any was. `None` when answers of the same status to one envelope differ
/// in shape (nothing to line up). A token that is the same every round counts, whatever it looks
/// like (beyond what [`normalise`] replaces): a random trace id (`a1b2c3`, `Xk3vQ`) is masked because it varies, while a word or a
/// code that never varies (`bad_padding` here and `bad_signature` there, `40002` here and
/// `40001` there) stays, just as it counts when nothing in the bodies varies at all.
fn by_stable_parts(
    variants: &[Variant],
    answers: &[(usize, Option<(u16, String)>)],
) -> Option<(BTreeMap<usize, BTreeSet<Seen>>, bool)> {
    let mut shapes: BTreeMap<(usize, u16), Vec<Shape>> = BTreeMap::new();
    let mut seen: BTreeMap<usize, BTreeSet<Seen>> = BTreeMap::new();
    for (i, o) in answers {
        match o {
            Some((status, body)) => shapes
                .entry((*i, *status))
                .or_default()
                .push(Shape::of(&normalise(body, &variants[*i]))),
            None => {
                seen.entry(*i).or_default().insert(Seen::Dropped);
            }
        }
    }
    let mut varying: BTreeMap<Vec<String>, BTreeSet<usize>> = BTreeMap::new();
    for same in shapes.values() {
        let first = same.first()?;
        let mask = varying.entry(first.between.clone()).or_default();
        for other in &same[1..] {
            if other.between != first.between {
                return None;
            }
            let differ = first
                .tokens
                .iter()
                .zip(&other.tokens)
                .enumerate()
                .filter(|(_, (x, y))| x != y)
                .map(|(k, _)| k);
            mask.extend(differ);
        }
    }
    for ((i, status), same) in &shapes {
        for shape in same {
            let mask = varying.get(&shape.between).cloned().unwrap_or_default();
            let body = shape.render(&mask);
            seen.entry(*i)
                .or_default()
                .insert(Seen::Answer(*status, body));
        }
    }
    let any_varied = varying.values().any(|m| !m.is_empty());
    Some((seen, any_varied))
}

/// What came back for one request, as compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    /// An answer: status and normalised body.
    Answer(u16, String),
    /// The connection was dropped (reset or closed): also an answer an attacker can read.
    Dropped,
}

impl Seen {
    fn describe(&self) -> String {
        match self {
            Seen::Answer(status, body) => {
                let body: String = body.chars().take(160).collect();
                format!("{status} {body}")
            }
            Seen::Dropped => "the connection dropped without an answer".into(),
        }
    }
}

/// One exchange of the check.
struct Exchange {
    variant: usize,
    req: PreparedRequest,
    result: Result<Answer, TransportError>,
    elapsed: Duration,
}

/// What each answer is judged against: a refusal that never holds a `forbidden` mobile.
fn refusal_target(forbidden: &[String]) -> Target<'_> {
    Target {
        case_id: super::UNIFORM_REJECTION,
        expected: &REFUSAL,
        forbidden,
        ciphertext: None,
        refusal_allowed: false,
    }
}

/// Runs the check.
pub(super) async fn run(check: &Check, rounds: usize, ctx: &Arc<Context>) -> CaseResult {
    // Every answer is checked as the judge checks every case's answer: never the canary mobile
    // from inside the forged ciphertexts (in any readable form: escaped, percent-encoded,
    // base64, HTML), no key material, no stack trace, a decodable body.
    let canary = [CANARY.to_string()];
    let target = refusal_target(&canary);
    let mut expected: Expected = ctx.judge.expected(&target);
    expected.description = format!(
        "one and the same rejection for {VARIANTS} forged envelopes ({}), {rounds} times each: {}; the same status and the same body once request ids, timestamps and echoed ciphertexts are removed; never the mobile {CANARY} (the forged ciphertexts' content), key material or a stack trace",
        ctx.judge.refusal_words(),
        "a: JSON, b: non-JSON, c: bad padding, d: not whole blocks, e: not UTF-8"
    );
    let mut result = skeleton(check, expected);
    let Some(sign_type) = ctx.profile.signing.sign_type() else {
        result.reason = "needs a merchant that verifies signatures (without one, the signature protects nothing and every envelope is the merchant's to trust)".into();
        return result;
    };

    let key = ctx.keys.aes.of_size(ctx.profile.aes_bits);
    let variants = Arc::new(variants(&key, sign_type, &ctx.keys.attacker.signer));
    let deadline = Instant::now() + ctx.client.limits().timeout;
    let mut exchanges: Vec<Exchange> = Vec::new();
    for _ in 0..rounds.max(1) {
        // One round: every variant at once; rounds one after another.
        let mut set = JoinSet::new();
        for (i, v) in variants.iter().enumerate() {
            let ctx = Arc::clone(ctx);
            let req = ctx
                .delivery
                .prepare(&ctx.endpoint, check.id(), &v.envelope, false, None);
            set.spawn(async move {
                let (result, elapsed) = ctx.client.send_by(&req, deadline).await;
                Exchange {
                    variant: i,
                    req,
                    result,
                    elapsed,
                }
            });
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(x) => exchanges.push(x),
                Err(e) => tracing::error!("an oracle request task failed: {e}"),
            }
        }
    }
    exchanges.sort_by_key(|x| x.variant);
    judge_exchanges(&mut result, &variants, &exchanges, ctx, &target);
    result
}

/// What is wrong with one answer to forged envelope `v` on its own: not a refusal, or anything
/// the judge checks every answer for (`target` forbids the canary mobile).
fn answer_findings(judge: &Judge, target: &Target<'_>, v: &Variant, a: &Answer) -> Vec<Finding> {
    let mut found = Vec::new();
    if !judge.is_refusal(a.status) {
        found.push(Finding::NotRefused {
            label: v.label,
            status: a.status,
            rule: judge.refusal_words(),
        });
    }
    found.extend(judge.always_findings(target, a));
    found
        .into_iter()
        .map(|f| Finding::Forged {
            variant: v.name,
            finding: Box::new(f),
        })
        .collect()
}

/// What came back, exchange by exchange.
#[derive(Default)]
struct Observed {
    /// (variant, `Some((status, redacted body))`, or `None` when the connection dropped).
    answers: Vec<(usize, Option<(u16, String)>)>,
    /// What was wrong with single answers, each once, in the order first seen.
    findings: Vec<Finding>,
    /// Transport errors that are no answer at all, in words.
    no_verdict: Vec<String>,
}

fn judge_exchanges(
    result: &mut CaseResult,
    variants: &[Variant],
    exchanges: &[Exchange],
    ctx: &Context,
    target: &Target<'_>,
) {
    if let Some(first) = exchanges.first() {
        result.request = Some(request_info(&first.req));
        result.curl = Some(curl::command(&first.req));
    }
    result.answer.elapsed_ms = exchanges
        .iter()
        .map(|x| x.elapsed.as_millis() as u64)
        .max()
        .unwrap_or(0);
    let mut observed = observe(result, variants, exchanges, ctx, target);
    let seen = compare(result, variants, &observed.answers);
    let groups = group(&seen);
    if groups.len() > 1 {
        observed.findings.insert(0, differ(variants, &groups));
        result.curl = Some(reproduce(variants, exchanges, &groups));
    }
    result.notes.push(timing_note(variants, exchanges));
    conclude(
        result,
        observed,
        &seen,
        &groups,
        variants.len(),
        exchanges,
        ctx,
    );
}

/// Every exchange judged on its own; the first answer becomes the result's answer.
fn observe(
    result: &mut CaseResult,
    variants: &[Variant],
    exchanges: &[Exchange],
    ctx: &Context,
    target: &Target<'_>,
) -> Observed {
    let mut o = Observed::default();
    for x in exchanges {
        let v = &variants[x.variant];
        let found = match &x.result {
            Ok(a) => {
                if result.answer.status.is_none() {
                    result.answer.status = Some(a.status);
                    result.answer.body_excerpt = excerpt(&ctx.judge, &a.body);
                }
                let redacted = ctx
                    .judge
                    .key_material()
                    .redact(&String::from_utf8_lossy(&a.body));
                o.answers.push((x.variant, Some((a.status, redacted))));
                answer_findings(&ctx.judge, target, v, a)
            }
            Err(e) if e.is_crash() => {
                o.answers.push((x.variant, None));
                vec![Finding::Forged {
                    variant: v.name,
                    finding: Box::new(Finding::Dropped { label: v.label }),
                }]
            }
            Err(e) => {
                o.no_verdict.push(format!("({}) {e}", v.name));
                Vec::new()
            }
        };
        // Each round repeats the same findings; keep each once.
        for f in found {
            if !o.findings.contains(&f) {
                o.findings.push(f);
            }
        }
    }
    o
}

/// The answers per variant, compared as exactly as the endpoint allows ([`compare_answers`]),
/// with a note when the comparison had to be less exact than whole normalised bodies.
fn compare(
    result: &mut CaseResult,
    variants: &[Variant],
    answers: &[(usize, Option<(u16, String)>)],
) -> BTreeMap<usize, BTreeSet<Seen>> {
    let (seen, note) = compare_answers(variants, answers);
    if let Some(note) = note {
        result.notes.push(note.into());
    }
    seen
}

/// The answers per variant, compared as exactly as the endpoint allows: normalised bodies; if
/// the same forged envelope gets different answers from one round to the next, by the parts of
/// the bodies that never vary ([`by_stable_parts`]); if the bodies cannot even be lined up,
/// statuses only. The note says which, when not the first.
fn compare_answers(
    variants: &[Variant],
    answers: &[(usize, Option<(u16, String)>)],
) -> (BTreeMap<usize, BTreeSet<Seen>>, Option<&'static str>) {
    let build = |level: Level| -> BTreeMap<usize, BTreeSet<Seen>> {
        let mut seen: BTreeMap<usize, BTreeSet<Seen>> = BTreeMap::new();
        for (i, o) in answers {
            let s = match o {
                Some((status, body)) => {
                    let body = match level {
                        Level::Normalised => normalise(body, &variants[*i]),
                        Level::StatusOnly => String::new(),
                    };
                    Seen::Answer(*status, body)
                }
                None => Seen::Dropped,
            };
            seen.entry(*i).or_default().insert(s);
        }
        seen
    };
    let stable = |m: &BTreeMap<usize, BTreeSet<Seen>>| m.values().all(|s| s.len() <= 1);
    let seen = build(Level::Normalised);
    if stable(&seen) {
        return (seen, None);
    }
    if let Some((seen, any_varied)) = by_stable_parts(variants, answers) {
        return (
            seen,
            Some(if any_varied {
                "the same forged envelope got different bodies between rounds (per-request ids); answers were compared by the parts of their bodies that were the same every round, every token that varied between rounds masked"
            } else {
                "the same forged envelope got different statuses (or a dropped connection) between rounds; answers were compared as they came"
            }),
        );
    }
    (
        build(Level::StatusOnly),
        Some(
            "the same forged envelope got differently shaped bodies between rounds; answers were compared by status only",
        ),
    )
}

/// Variants whose answers coincide at least once, grouped: more than one group means an
/// attacker can tell them apart.
fn group(seen: &BTreeMap<usize, BTreeSet<Seen>>) -> Vec<(Vec<usize>, BTreeSet<Seen>)> {
    let mut groups: Vec<(Vec<usize>, BTreeSet<Seen>)> = Vec::new();
    for (i, answers) in seen {
        match groups.iter_mut().find(|(_, g)| !g.is_disjoint(answers)) {
            Some((members, g)) => {
                members.push(*i);
                g.extend(answers.iter().cloned());
            }
            None => groups.push((vec![*i], answers.clone())),
        }
    }
    groups
}

/// The [`Finding::RejectionsDiffer`] of `groups`.
fn differ(variants: &[Variant], groups: &[(Vec<usize>, BTreeSet<Seen>)]) -> Finding {
    Finding::RejectionsDiffer {
        groups: groups
            .iter()
            .map(|(members, answers)| AnswerGroup {
                envelopes: members
                    .iter()
                    .map(|i| format!("({}) {}", variants[*i].name, variants[*i].label))
                    .collect(),
                answers: answers.iter().map(Seen::describe).collect(),
            })
            .collect(),
    }
}

/// One curl for a request of each of the first two groups, each after a `# (x) label` line.
fn reproduce(
    variants: &[Variant],
    exchanges: &[Exchange],
    groups: &[(Vec<usize>, BTreeSet<Seen>)],
) -> String {
    let mut cmds = Vec::new();
    for (members, _) in groups.iter().take(2) {
        if let Some(x) = exchanges.iter().find(|x| x.variant == members[0]) {
            let v = &variants[x.variant];
            cmds.push(format!(
                "# ({}) {}\n{}",
                v.name,
                v.label,
                curl::command(&x.req)
            ));
        }
    }
    cmds.join("\n")
}

/// The verdict: a fail with the findings, an error when requests got no answer (or a task
/// failed), else a pass naming the one rejection every envelope got.
fn conclude(
    result: &mut CaseResult,
    observed: Observed,
    seen: &BTreeMap<usize, BTreeSet<Seen>>,
    groups: &[(Vec<usize>, BTreeSet<Seen>)],
    variants: usize,
    exchanges: &[Exchange],
    ctx: &Context,
) {
    let Observed {
        mut findings,
        no_verdict,
        ..
    } = observed;
    if !findings.is_empty() {
        if let Some(e) = no_verdict.first() {
            findings.push(Finding::NoAnswer {
                count: no_verdict.len(),
                example: Some(e.clone()),
            });
        }
        result.verdict = Verdict::Fail;
        result.reason = format!(
            "behaviour check (uniform rejection): {}",
            finding::words(&findings)
        );
        result.findings = findings;
    } else if let Some(e) = no_verdict.first() {
        result.verdict = Verdict::Error;
        result.reason = format!(
            "{} of {} requests got no verdict (e.g. {e})",
            no_verdict.len(),
            exchanges.len(),
        );
    } else if seen.len() < variants {
        result.verdict = Verdict::Error;
        result.reason = "a request task failed; see the log".into();
    } else {
        let one = groups
            .first()
            .and_then(|(_, g)| g.iter().next())
            .map(Seen::describe)
            .unwrap_or_default();
        result.verdict = Verdict::Pass;
        result.reason = format!(
            "pass by the behaviour check (uniform rejection) and {}: all {} answers to the {VARIANTS} forged envelopes were the same rejection ({one})",
            ctx.judge.refusal_words(),
            exchanges.len()
        );
    }
}

/// Median time per variant, as a note.
fn timing_note(variants: &[Variant], exchanges: &[Exchange]) -> String {
    let mut medians = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        let mut t: Vec<f64> = exchanges
            .iter()
            .filter(|x| x.variant == i && x.result.is_ok())
            .map(|x| x.elapsed.as_secs_f64() * 1000.0)
            .collect();
        if t.is_empty() {
            continue;
        }
        t.sort_by(f64::total_cmp);
        medians.push((v.name, t[t.len() / 2]));
    }
    let parts: Vec<String> = medians
        .iter()
        .map(|(n, ms)| format!("({n}) {ms:.1} ms"))
        .collect();
    let fastest = medians.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
    let slowest = medians.iter().map(|m| m.1).fold(0.0, f64::max);
    let ratio = if fastest > 0.0 && fastest.is_finite() {
        format!("; slowest/fastest {:.2}x", slowest / fastest)
    } else {
        String::new()
    };
    format!(
        "timing (a note, not a verdict: over HTTP it is noise): median per variant {}{ratio}",
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use alipay_sim::{KeySet, aes_decrypt as decrypt};

    #[test]
    fn each_variant_decrypts_to_what_its_label_says() {
        let keys = KeySet::embedded();
        let vs = variants(&keys.aes, SignType::Rsa2, &keys.attacker.signer);
        assert_eq!(vs.len(), VARIANTS);
        let ct = |v: &Variant| STANDARD.decode(&v.ciphertext).unwrap();
        let pt = decrypt(&keys.aes, &ct(&vs[0])).unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(&pt).unwrap()["mobile"] == CANARY);
        let pt = decrypt(&keys.aes, &ct(&vs[1])).unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(&pt).is_err());
        assert!(decrypt(&keys.aes, &ct(&vs[2])).is_err(), "bad padding");
        assert_eq!(ct(&vs[3]).len(), 24);
        let pt = decrypt(&keys.aes, &ct(&vs[4])).unwrap();
        assert!(String::from_utf8(pt).is_err());
        // Every signature is someone else's: Alipay's key refuses each one.
        for v in &vs {
            let sign = serde_json::from_str::<serde_json::Value>(&v.envelope).unwrap()["sign"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(
                keys.platform
                    .verifier
                    .verify_base64(SignType::Rsa2, quoted(&v.ciphertext).as_bytes(), &sign)
                    .is_err()
            );
        }
    }

    #[test]
    fn the_canary_is_found_in_an_escaped_answer_too() {
        let keys = KeySet::embedded();
        let judge = Judge::new(
            crate::contract::Contract::default(),
            crate::leak::KeyMaterial::from_keys(&keys),
        );
        let canary = [CANARY.to_string()];
        let target = refusal_target(&canary);
        let v = &variants(&keys.aes, SignType::Rsa2, &keys.attacker.signer)[0];
        // A refusal that serialises what it decrypted with JSON unicode escapes: a literal
        // search for the canary misses it, the judge's readable forms do not.
        let body = r#"{"error":"bad_signature","decrypted":"{\"mobile\":\"13\u003900000017\"}"}"#;
        assert!(!body.contains(CANARY));
        let found = answer_findings(&judge, &target, v, &Answer::new(400, body));
        assert_eq!(
            found,
            vec![Finding::Forged {
                variant: 'a',
                finding: Box::new(Finding::MobileLeaked {
                    mobile: CANARY.into()
                }),
            }]
        );
        // A plain refusal is fine.
        let plain = Answer::new(400, r#"{"error":"bad_signature"}"#);
        assert!(answer_findings(&judge, &target, v, &plain).is_empty());
    }

    #[test]
    fn normalising_removes_ids_times_and_echoes() {
        let keys = KeySet::embedded();
        let v = &variants(&keys.aes, SignType::Rsa2, &keys.attacker.signer)[2];
        let a = format!(
            r#"{{"error":"rejected","request_id":"3f2b1c9e-1a2b-4c3d-8e9f-0a1b2c3d4e5f","at":"2026-11-26T02:20:11.123Z","ts":1764123611123,"got":"{}"}}"#,
            v.ciphertext.replace('/', "\\/")
        );
        let b = format!(
            r#"{{"error":"rejected","request_id":"00000000-1111-2222-3333-444444444444","at":"2025-01-01T00:00:00Z","ts":1700000000000,"got":"{}"}}"#,
            v.ciphertext
        );
        assert_eq!(normalise(&a, v), normalise(&b, v));
        assert!(
            normalise(&a, v).contains("<ciphertext>"),
            "{}",
            normalise(&a, v)
        );
        assert_ne!(
            normalise(r#"{"error":"bad_padding"}"#, v),
            normalise(r#"{"error":"bad_signature"}"#, v)
        );
    }

    /// The groups the check finds among `rounds` rounds of answers, each `(status, body)` made
    /// by `answer(variant, round)`.
    fn groups_of(answer: impl Fn(usize, usize) -> (u16, String)) -> usize {
        let keys = KeySet::embedded();
        let vs = variants(&keys.aes, SignType::Rsa2, &keys.attacker.signer);
        let answers: Vec<(usize, Option<(u16, String)>)> = (0..3)
            .flat_map(|round| (0..VARIANTS).map(move |i| (i, round)))
            .map(|(i, round)| (i, Some(answer(i, round))))
            .collect();
        let (seen, _) = compare_answers(&vs, &answers);
        group(&seen).len()
    }

    /// A fresh id per request, from `alphabet`.
    fn fresh_id(i: usize, round: usize, alphabet: &[u8]) -> String {
        let mut x = (i * 31 + round * 7 + 1) as u64;
        (0..6)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                alphabet[((x >> 33) % alphabet.len() as u64) as usize] as char
            })
            .collect()
    }

    #[test]
    fn a_short_random_trace_does_not_hide_different_rejections() {
        for alphabet in [&b"abcdef0123456789"[..], b"abcdefghijklmnopqrstuvwxyz"] {
            // Padding errors (c, d) told apart from the others, each with a fresh short trace.
            let oracle = groups_of(|i, round| {
                let error = if i == 2 || i == 3 {
                    "bad_padding"
                } else {
                    "bad_signature"
                };
                let trace = fresh_id(i, round, alphabet);
                (400, format!(r#"{{"error":"{error}","trace":"{trace}"}}"#))
            });
            assert_eq!(oracle, 2, "{alphabet:?}");
            // The same refusal every time, with the same fresh traces: uniform.
            let careful = groups_of(|i, round| {
                let trace = fresh_id(i, round, alphabet);
                (400, format!(r#"{{"error":"rejected","trace":"{trace}"}}"#))
            });
            assert_eq!(careful, 1, "{alphabet:?}");
        }
        // The brief's own traces.
        let oracle = groups_of(|i, round| {
            let (error, trace) = if i == 2 || i == 3 {
                ("bad_padding", ["a1b2c3", "x9y8z7", "k2m3n4"][round])
            } else {
                (
                    "bad_signature",
                    ["d4e5f6", "p0q1r2", "s5t6u7"][(round + i) % 3],
                )
            };
            (400, format!(r#"{{"error":"{error}","trace":"{trace}"}}"#))
        });
        assert_eq!(oracle, 2);
    }

    #[test]
    fn a_code_that_never_varies_counts_beside_a_varying_trace() {
        // Numeric codes (40002 for bad padding, 40001 otherwise) with a fresh short trace: the
        // codes are the same every round, so they are compared, as they would be without the
        // trace; only the trace is masked. Masking every token with a digit passed this oracle.
        for trace in [&b"abcdef0123456789"[..], b"abcdefghijklmnopqrstuvwxyz"] {
            let oracle = groups_of(|i, round| {
                let code = if i == 2 || i == 3 { "40002" } else { "40001" };
                let t = fresh_id(i, round, trace);
                (
                    400,
                    format!(r#"{{"code":"{code}","msg":"rejected","trace":"{t}"}}"#),
                )
            });
            assert_eq!(oracle, 2, "{trace:?}");
            let careful = groups_of(|i, round| {
                let t = fresh_id(i, round, trace);
                (
                    400,
                    format!(r#"{{"code":"40001","msg":"rejected","trace":"{t}"}}"#),
                )
            });
            assert_eq!(careful, 1, "{trace:?}");
        }
    }

    #[test]
    fn ids_around_the_normalising_thresholds_still_line_up() {
        // A random u32 request id is 9 or 10 digits, an unpadded u64 in hex 15 or 16 characters:
        // normalised only at the threshold, such bodies did not line up and were compared by
        // status only, which passed this padding oracle.
        let ids = [
            ["784682393", "1359768679", "4000000001"],
            ["9f86d081884c7d6", "60303ae22b998861", "fd61a03af4f77d87"],
        ];
        for id in ids {
            let oracle = groups_of(|i, round| {
                let error = if i == 2 || i == 3 {
                    "bad_padding"
                } else {
                    "bad_signature"
                };
                let n = id[(round + i) % 3];
                (400, format!(r#"{{"error":"{error}","request_id":"{n}"}}"#))
            });
            assert_eq!(oracle, 2, "{id:?}");
            let careful = groups_of(|i, round| {
                let n = id[(round + i) % 3];
                (400, format!(r#"{{"error":"rejected","request_id":"{n}"}}"#))
            });
            assert_eq!(careful, 1, "{id:?}");
        }
    }

    #[test]
    fn ids_uuids_and_times_do_not_make_a_uniform_refusal_differ() {
        let careful = groups_of(|i, round| {
            let n = i * 3 + round;
            (
                400,
                format!(
                    r#"{{"error":"rejected","request_id":"3f2b1c9e-1a2b-4c3d-8e9f-0a1b2c3d4e{n:02x}","at":"2026-11-26T02:20:{n:02}.123Z","date":"Thu, 26 Nov 2026 02:20:{n:02} GMT","ts":17641236111{n:02},"req":"r{n}x"}}"#
                ),
            )
        });
        assert_eq!(careful, 1);
    }

    #[test]
    fn bodies_that_cannot_be_lined_up_are_compared_by_status() {
        // A message whose length varies per request: no shape in common, statuses only.
        let (seen, note) = {
            let keys = KeySet::embedded();
            let vs = variants(&keys.aes, SignType::Rsa2, &keys.attacker.signer);
            let answers: Vec<(usize, Option<(u16, String)>)> = (0..6)
                .map(|n| (n % VARIANTS, Some((400, "no ".repeat(n + 1)))))
                .collect();
            compare_answers(&vs, &answers)
        };
        assert!(note.unwrap().contains("by status only"));
        assert_eq!(group(&seen).len(), 1);
    }
}
