//! Judging one answer: the default rules, made exact by a [`Contract`]. Every verdict names
//! the rule that decided it (`contract [reject] status`, `default rule for accept`, `always`).
//!
//! Default rules (no contract, or a table/key missing from it):
//! - `accept`: a 2xx status and the expected mobile somewhere in the body;
//! - `no_mobile`, `platform_error`: not 1xx, 3xx or 5xx (a redirect answers nothing);
//! - `retry_later`: the same, except that 503 is allowed: it is the natural "retry later" answer;
//! - `reject`: a 4xx status (not 2xx, not 3xx, not 5xx).
//!
//! An unsigned platform error (40001, 40002, the unencrypted 20000) sent to an endpoint that
//! verifies signatures may also be refused: both are safe, and the reason says which one the
//! merchant did and what the other would have given the developer.
//!
//! Always, whatever the contract ([`crate::leak`] reads the answer in every disguise): the body
//! must be readable (a `Content-Encoding` the harness cannot decode is a failure, not a pass),
//! and no part of the answer (body, header values, the status line's reason phrase) may contain
//! a forbidden mobile (a tamper case's canary, another request's mobile), another user's
//! identity (one the run's [`RunLedger`] recorded for another case or a test user), key material
//! (the AES key, a private key, a PEM block), a stack trace, or the case's ciphertext.

use std::sync::Arc;

use alipay_sim::{Expectation, Outcome};

use crate::contract::{Contract, Rule};
use crate::finding::{CodeField, Finding, MobileCheck, StatusRule};
use crate::leak::{KeyMaterial, RunLedger, STACK_MARKERS, Secret, SecretKind, Views, stack_frame};
use crate::verdict::{Expected, Verdict};

pub use crate::transport::Answer;

/// What one case expects of one answer.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The id of the case (or behaviour check) the answer belongs to: the identities the run's
    /// ledger recorded for it are its own, every other one is crossed.
    pub case_id: &'a str,
    /// The expected class.
    pub expected: &'a Expectation,
    /// Mobiles that must not appear.
    pub forbidden: &'a [String],
    /// A ciphertext that must never be echoed.
    pub ciphertext: Option<&'a str>,
    /// The envelope is an unsigned platform error and the endpoint verifies signatures: a
    /// refusal (the `reject` rule) passes too.
    pub refusal_allowed: bool,
}

/// A verdict with its findings and reason (pass or fail: transport errors never reach the
/// judge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// [`Verdict::Pass`] or [`Verdict::Fail`].
    pub verdict: Verdict,
    /// Every problem found: empty for a pass, at least one for a fail.
    pub findings: Vec<Finding>,
    /// In words: the rule that decided and what matched (a pass), or the findings joined by
    /// `"; "` (a fail).
    pub reason: String,
}

impl Judgement {
    /// A fail with `findings` (at least one).
    fn fail(findings: Vec<Finding>) -> Self {
        debug_assert!(!findings.is_empty());
        Judgement {
            verdict: Verdict::Fail,
            reason: crate::finding::words(&findings),
            findings,
        }
    }

    /// A pass, with the rule that decided in words.
    fn pass(reason: String) -> Self {
        Judgement {
            verdict: Verdict::Pass,
            findings: Vec::new(),
            reason,
        }
    }
}

/// Judges answers under one contract.
#[derive(Debug, Clone)]
pub struct Judge {
    contract: Contract,
    keys: KeyMaterial,
    ledger: Arc<RunLedger>,
}

fn default_status_ok(outcome: Outcome, status: u16) -> bool {
    let final_not_redirect = (200..300).contains(&status) || (400..500).contains(&status);
    match outcome {
        Outcome::Accept => (200..300).contains(&status),
        Outcome::NoMobile | Outcome::PlatformError => final_not_redirect,
        Outcome::RetryLater => final_not_redirect || status == 503,
        Outcome::Reject => (400..500).contains(&status),
    }
}

/// The default status rule of `outcome` in words.
/// Every reading of `answer` ([`Views::of_answer`]): its `body`, header values and reason phrase.
fn answer_views(body: &str, answer: &Answer) -> Views {
    Views::of_answer(
        body,
        answer.headers.iter().map(|(_, v)| v.as_str()),
        answer.reason.as_deref(),
    )
}

pub(crate) fn default_status_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Accept => "a 2xx status",
        Outcome::NoMobile | Outcome::PlatformError => "a 2xx or 4xx status (not 1xx, 3xx, 5xx)",
        Outcome::RetryLater => "a 2xx or 4xx status, or 503 (not 1xx, 3xx, other 5xx)",
        Outcome::Reject => "a 4xx refusal",
    }
}

/// A JSON string or number (a Java merchant may send `user_id` or the mobile as a number) as
/// text; booleans as `true`/`false`.
pub(crate) fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What the platform error would have told the developer, for the unsigned-error note.
fn platform_words(e: &Expectation) -> String {
    match (&e.code, &e.sub_code) {
        (Some(c), Some(s)) => format!("{c} {s}"),
        (Some(c), None) => c.clone(),
        _ => e.outcome.to_string(),
    }
}

/// One rule's outcome on one answer: what matched, or what did not.
#[derive(Debug, Default)]
struct RuleCheck {
    ok: Vec<String>,
    problems: Vec<Finding>,
}

impl Judge {
    /// A judge with `contract` that knows the merchant's `keys`, with a run ledger that holds
    /// the simulator's test users ([`RunLedger::with_test_users`]).
    pub fn new(contract: Contract, keys: KeyMaterial) -> Self {
        Self::with_ledger(contract, keys, Arc::new(RunLedger::with_test_users()))
    }

    /// A judge with `contract`, the merchant's `keys` and the run's `ledger`.
    pub fn with_ledger(contract: Contract, keys: KeyMaterial, ledger: Arc<RunLedger>) -> Self {
        Self {
            contract,
            keys,
            ledger,
        }
    }

    /// The run's ledger of identities: record every value handed out before sending it.
    pub fn ledger(&self) -> &RunLedger {
        &self.ledger
    }

    /// The key material this judge looks for (also used to redact excerpts).
    pub fn key_material(&self) -> &KeyMaterial {
        &self.keys
    }

    /// The contract.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// True when `status` is a refusal under the `reject` rule (the contract's statuses, else
    /// any 4xx).
    pub fn is_refusal(&self, status: u16) -> bool {
        match self
            .contract
            .rule(Outcome::Reject)
            .and_then(|r| r.status.as_ref())
        {
            Some(allowed) => allowed.contains(&status),
            None => default_status_ok(Outcome::Reject, status),
        }
    }

    /// The `reject` status rule in words, naming where it comes from.
    pub fn refusal_words(&self) -> String {
        match self
            .contract
            .rule(Outcome::Reject)
            .and_then(|r| r.status.as_ref())
        {
            Some(allowed) => format!("contract [reject] status: one of {allowed:?}"),
            None => format!(
                "default rule for reject: {}",
                default_status_words(Outcome::Reject)
            ),
        }
    }

    /// What a correct answer to `target` looks like, as data and in words.
    pub fn expected(&self, target: &Target<'_>) -> Expected {
        let e = target.expected;
        let rule = self.contract.rule(e.outcome);
        let mut parts = Vec::new();
        match rule.and_then(|r| r.status.as_ref()) {
            Some(s) => parts.push(format!("status in {s:?}")),
            None => parts.push(default_status_words(e.outcome).to_string()),
        }
        if let Some(m) = &e.mobile {
            match (
                rule.and_then(|r| r.mobile.as_ref()),
                rule.and_then(|r| r.mobile_regex.as_ref()),
            ) {
                (Some(p), _) => parts.push(format!("{p} = {m:?}")),
                (None, Some(re)) => parts.push(format!("/{}/ finds {m:?}", re.0.as_str())),
                (None, None) => parts.push(format!("the mobile {m} in the body")),
            }
        }
        if let Some(r) = rule {
            if let (Some(p), Some(c)) = (&r.code, &e.code) {
                parts.push(format!("{p} = {c:?}"));
            }
            if let (Some(p), Some(c)) = (&r.sub_code, &e.sub_code) {
                parts.push(format!("{p} = {c:?}"));
            }
            for (p, v) in &r.equals {
                parts.push(format!("{p} = {v}"));
            }
            for h in &r.required_headers {
                parts.push(format!("header {h}"));
            }
        }
        let mut description = format!("{}: {}", e.outcome, parts.join(", "));
        if target.refusal_allowed {
            description.push_str(
                "; or, since this platform error arrives unsigned and the endpoint verifies signatures, a refusal under the reject rule",
            );
        }
        match target.forbidden {
            [] => {}
            [one] => description.push_str(&format!("; never the mobile {one}")),
            many => description.push_str(&format!("; none of {} other mobiles", many.len())),
        }
        description.push_str("; no key material, stack trace or ciphertext echo");
        Expected {
            class: e.clone(),
            description,
        }
    }

    /// The findings every answer is checked for, whatever its case and contract (readable, no
    /// forbidden mobile, no key material, no stack trace, no echo of `target.ciphertext`): the
    /// `always (...)` part of [`Judge::judge`], for checks that judge status and content their
    /// own way.
    pub fn always_findings(&self, target: &Target<'_>, answer: &Answer) -> Vec<Finding> {
        let body = String::from_utf8_lossy(&answer.body);
        self.always(target, answer, &body, &answer_views(&body, answer))
    }

    /// The findings every answer is checked for, whatever its case and contract, in every part
    /// of the answer (`views`: the body, the header values and the reason phrase).
    fn always(
        &self,
        target: &Target<'_>,
        answer: &Answer,
        body: &str,
        views: &Views,
    ) -> Vec<Finding> {
        let mut found = Vec::new();
        if let Some(why) = &answer.undecodable {
            found.push(Finding::Undecodable { why: why.clone() });
        }
        for m in target.forbidden {
            if views.readable_contains(m) {
                found.push(Finding::MobileLeaked { mobile: m.clone() });
            }
        }
        for c in self.ledger.crossed_in(views, target.case_id) {
            // A forbidden mobile is already reported as leaked; the expected one is this case's.
            if !target.forbidden.contains(&c.value)
                && target.expected.mobile.as_deref() != Some(c.value.as_str())
            {
                found.push(Finding::IdentityCrossed {
                    kind: c.kind,
                    value: c.value,
                    owner: c.owner,
                });
            }
        }
        if let Some(kind) = self.keys.found_in(views) {
            found.push(Finding::SecretLeaked { kind });
        }
        let parts = std::iter::once(body)
            .chain(answer.headers.iter().map(|(_, v)| v.as_str()))
            .chain(answer.reason.as_deref());
        let marker = parts.into_iter().find_map(|part| {
            STACK_MARKERS
                .iter()
                .find(|m| part.contains(**m))
                .copied()
                .or_else(|| stack_frame(part))
        });
        if let Some(m) = marker {
            found.push(Finding::StackTrace {
                marker: m.trim().to_string(),
            });
        }
        if let Some(ct) = target.ciphertext
            && Secret::from_base64(SecretKind::Ciphertext, ct).found_in(views)
        {
            found.push(Finding::CiphertextEchoed);
        }
        found
    }

    /// Judges `answer` against `target`.
    pub fn judge(&self, target: &Target<'_>, answer: &Answer) -> Judgement {
        let body = String::from_utf8_lossy(&answer.body);
        // One reading of the whole answer serves both: the always checks read every part, the
        // outcome rule reads what the body gives ([`Views::shows`]).
        let views = answer_views(&body, answer);
        let always = self.always(target, answer, &body, &views);
        let e = target.expected;
        let primary = self.outcome_rule(e, answer, &body, &views);

        if primary.problems.is_empty() {
            if !always.is_empty() {
                return Judgement::fail(always);
            }
            let mut reason = format!("pass by {}", primary.ok.join(", "));
            if target.refusal_allowed {
                reason.push_str(&format!(
                    "; the merchant reported the unsigned platform error {} (allowed; refusing it would also be safe, but would hide the console misconfiguration from the developer)",
                    platform_words(e)
                ));
            }
            return Judgement::pass(reason);
        }
        if target.refusal_allowed {
            let refusal = Expectation {
                outcome: Outcome::Reject,
                mobile: None,
                code: None,
                sub_code: None,
            };
            let alt = self.outcome_rule(&refusal, answer, &body, &views);
            if alt.problems.is_empty() {
                if !always.is_empty() {
                    return Judgement::fail(always);
                }
                return Judgement::pass(format!(
                    "pass by {} (allowed: this platform error arrives unsigned and the endpoint verifies signatures); the merchant refused it: safe, but reporting it would have told the developer \"{}\", which points at the console setting to fix",
                    alt.ok.join(", "),
                    platform_words(e)
                ));
            }
        }
        let mut problems = always;
        problems.extend(primary.problems);
        Judgement::fail(problems)
    }

    /// The status and content rules of `e`'s outcome class applied to `answer` (its body as
    /// text, and the [`Views`] of it that [`Judge::judge`] already built).
    fn outcome_rule(
        &self,
        e: &Expectation,
        answer: &Answer,
        body: &str,
        views: &Views,
    ) -> RuleCheck {
        let mut f = RuleCheck::default();
        let rule = self.contract.rule(e.outcome);
        let status_rule = match rule.and_then(|r| r.status.as_ref()) {
            Some(allowed) => StatusRule::Contract {
                outcome: e.outcome,
                allowed: allowed.clone(),
            },
            None => StatusRule::Default { outcome: e.outcome },
        };
        let name = &status_rule;
        match &status_rule {
            StatusRule::Contract { allowed, .. } if allowed.contains(&answer.status) => {
                f.ok.push(format!("{name}: {} is one of {allowed:?}", answer.status));
            }
            StatusRule::Default { .. } if default_status_ok(e.outcome, answer.status) => {
                let mut ok = format!(
                    "{name}: status {} is {}",
                    answer.status,
                    default_status_words(e.outcome)
                );
                if matches!(e.outcome, Outcome::PlatformError | Outcome::NoMobile)
                    && (400..500).contains(&answer.status)
                {
                    ok.push_str(&format!(
                        ", merely allowed: without a contract [{}] table the harness cannot tell a reported outcome from a refused envelope",
                        e.outcome
                    ));
                }
                f.ok.push(ok);
            }
            _ => f.problems.push(Finding::StatusMismatch {
                rule: status_rule.clone(),
                got: answer.status,
            }),
        }
        self.check_content(e, rule, answer, body, views, &mut f);
        f
    }

    /// The contract's content rules for `e` (headers, JSON pointers, equals) and the mobile.
    fn check_content(
        &self,
        e: &Expectation,
        rule: Option<&Rule>,
        answer: &Answer,
        body: &str,
        views: &Views,
        f: &mut RuleCheck,
    ) {
        let outcome = e.outcome;
        let table = format!("contract [{outcome}]");
        if let Some(r) = rule {
            for h in &r.required_headers {
                if answer.header(h).is_some() {
                    f.ok.push(format!("{table} required_headers: {h} present"));
                } else {
                    f.problems.push(Finding::HeaderMissing {
                        outcome,
                        header: h.clone(),
                    });
                }
            }
        }
        let json = match rule.filter(|r| r.reads_json()) {
            Some(_) => match serde_json::from_str::<serde_json::Value>(body) {
                Ok(v) => Some(v),
                Err(_) => {
                    f.problems.push(Finding::NotJson { outcome });
                    return;
                }
            },
            None => None,
        };
        if let Some(m) = &e.mobile {
            self.check_mobile(outcome, rule, m, json.as_ref(), body, views, f);
        }
        let (Some(r), Some(v)) = (rule, json.as_ref()) else {
            return;
        };
        for (field, pointer, want) in [
            (CodeField::Code, &r.code, &e.code),
            (CodeField::SubCode, &r.sub_code, &e.sub_code),
        ] {
            let (Some(p), Some(want)) = (pointer, want) else {
                continue;
            };
            match v.pointer(p).and_then(json_text) {
                Some(got) if &got == want => {
                    f.ok.push(format!("{table} {field}: {p} = {want:?}"));
                }
                got => f.problems.push(Finding::CodeMismatch {
                    outcome,
                    field,
                    pointer: p.clone(),
                    wanted: want.clone(),
                    got,
                }),
            }
        }
        for (p, want) in &r.equals {
            match v.pointer(p) {
                Some(got) if got == want => f.ok.push(format!("{table} equals: {p} = {want}")),
                got => f.problems.push(Finding::EqualsMismatch {
                    outcome,
                    pointer: p.clone(),
                    wanted: want.clone(),
                    got: got.cloned(),
                }),
            }
        }
    }

    /// The mobile `m` where the contract (a JSON pointer, a regex) or the default rule (anywhere
    /// in the body) looks for it.
    #[allow(clippy::too_many_arguments)]
    fn check_mobile(
        &self,
        outcome: Outcome,
        rule: Option<&Rule>,
        m: &str,
        json: Option<&serde_json::Value>,
        body: &str,
        views: &Views,
        f: &mut RuleCheck,
    ) {
        let table = format!("contract [{outcome}]");
        let pointer = rule.and_then(|r| r.mobile.as_ref());
        let regex = rule.and_then(|r| r.mobile_regex.as_ref());
        let (check, found) = match (pointer, regex) {
            (Some(p), _) => {
                // No JSON means NotJson was already reported.
                let Some(v) = json else { return };
                if let Some(got) = v.pointer(p).and_then(json_text).filter(|g| g == m) {
                    f.ok.push(format!("{table} mobile: {p} = {got:?}"));
                    return;
                }
                let found = v.pointer(p).and_then(json_text);
                (MobileCheck::Pointer(p.clone()), found)
            }
            (None, Some(re)) => {
                let found = re.find(body).map(String::from);
                if found.as_deref() == Some(m) {
                    f.ok.push(format!(
                        "{table} mobile_regex: /{}/ finds {m:?}",
                        re.0.as_str()
                    ));
                    return;
                }
                (MobileCheck::Regex(re.0.as_str().to_string()), found)
            }
            (None, None) => {
                if views.shows(m) {
                    f.ok.push(format!(
                        "default rule for {outcome}: the mobile {m} is in the body"
                    ));
                    return;
                }
                (MobileCheck::Body, None)
            }
        };
        let wanted = m.to_string();
        f.problems.push(match found {
            Some(got) => Finding::MobileMismatch {
                outcome,
                check,
                wanted,
                got,
            },
            None => Finding::MobileMissing {
                outcome,
                check,
                wanted,
            },
        });
    }
}

#[cfg(test)]
mod tests;
