//! Judging one login answer: a success must name the auth code's user (as the gateway does) with
//! the envelope's mobile, and nothing the client smuggled in; a login the gateway refused must
//! be refused and name nobody. Status and pointers come from the contract's `[login]` and
//! `[login_refused]` tables, else the default rules (a success: 2xx, the user's id and the
//! mobile anywhere in the body; a refusal: 4xx or 5xx). The `always (...)` checks of
//! [`Judge`] (no key material, stack trace or other user's mobile) apply to every answer.

use alipay_sim::{Expectation, Outcome};

use crate::contract::{Contract, Rule};
use crate::finding::{Finding, IdentityCheck, LoginRefusal, LoginStatusRule, MobileCheck};
use crate::judge::{Answer, Judge, Judgement, Target};
use crate::verdict::{Expected, Verdict};

use super::sim::SimUser;

/// Who a login case is about: the code's user and mobile, and what must never come back.
#[derive(Debug, Clone)]
pub struct Expect {
    /// The case's id (its own entries of the run's ledger are not crossed).
    pub case_id: String,
    /// The auth code's user.
    pub user: SimUser,
    /// The envelope's mobile.
    pub mobile: String,
    /// Ids of another user that must never come back (smuggled into the request).
    pub foreign_ids: Vec<String>,
    /// Mobiles that must never come back (smuggled into the request).
    pub foreign_mobiles: Vec<String>,
}

fn fail(findings: Vec<Finding>) -> Judgement {
    Judgement {
        verdict: Verdict::Fail,
        reason: crate::finding::words(&findings),
        findings,
    }
}

fn pass(reason: String) -> Judgement {
    Judgement {
        verdict: Verdict::Pass,
        findings: Vec::new(),
        reason,
    }
}

fn status_rule(table: &'static str, rule: Option<&Rule>) -> LoginStatusRule {
    LoginStatusRule {
        table,
        allowed: rule.and_then(|r| r.status.clone()),
    }
}

/// True when the contract's `rule` lists `status` itself (its word over the login defaults).
fn lists(rule: Option<&Rule>, status: u16) -> bool {
    rule.and_then(|r| r.status.as_ref())
        .is_some_and(|s| s.contains(&status))
}

/// `identity-leaked` for every id of the user (and of the smuggled one) that `body` names.
fn names_a_user(e: &Expect, body: &str) -> Vec<Finding> {
    e.user
        .ids()
        .into_iter()
        .chain(e.foreign_ids.iter().cloned())
        .filter(|id| body.contains(id.as_str()))
        .map(|id| Finding::IdentityLeaked { id })
        .collect()
}

fn status_ok(rule: &LoginStatusRule, status: u16) -> bool {
    match (&rule.allowed, rule.table) {
        (Some(a), _) => a.contains(&status),
        (None, "login") => (200..300).contains(&status),
        (None, _) => (400..600).contains(&status),
    }
}

/// The string or number at `pointer` (an id or a mobile written as a JSON number counts).
fn text_at(body: &str, pointer: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    crate::judge::json_text(v.pointer(pointer)?)
}

fn always(judge: &Judge, e: &Expect, answer: &Answer) -> Vec<Finding> {
    let target = Target {
        case_id: &e.case_id,
        expected: &Expectation {
            outcome: Outcome::Accept,
            mobile: Some(e.mobile.clone()),
            code: None,
            sub_code: None,
        },
        forbidden: &e.foreign_mobiles,
        ciphertext: None,
        refusal_allowed: false,
    };
    let mut found = judge.always_findings(&target, answer);
    // A smuggled id that comes back is `identity-mismatch` (or `identity-leaked`), named by the
    // login rules themselves.
    found.retain(
        |f| !matches!(f, Finding::IdentityCrossed { value, .. } if e.foreign_ids.contains(value)),
    );
    found
}

/// What a successful login looks like, for reports.
pub fn expected_success(contract: &Contract, e: &Expect) -> Expected {
    let rule = contract.login.as_ref();
    let status = status_rule("login", rule);
    let user = match rule.and_then(|r| r.user.as_ref()) {
        Some(p) => format!("{p} = one of {:?}", e.user.ids()),
        None => format!("the user's id ({}) in the body", e.user.ids().join(" or ")),
    };
    let mobile = match rule.and_then(|r| r.mobile.as_ref()) {
        Some(p) => format!("{p} = {:?}", e.mobile),
        None => format!("the mobile {} in the body", e.mobile),
    };
    Expected {
        class: Expectation {
            outcome: Outcome::Accept,
            mobile: Some(e.mobile.clone()),
            code: None,
            sub_code: None,
        },
        description: format!("{status}, {user}, {mobile}"),
    }
}

/// What a refused login looks like, for reports.
pub fn expected_refusal(contract: &Contract, any_failure_status: bool) -> Expected {
    let description = if any_failure_status {
        "an answer that logs nobody in: a 4xx or 5xx status naming no user".to_string()
    } else {
        format!(
            "{}, naming no user",
            status_rule("login_refused", contract.login_refused.as_ref())
        )
    };
    Expected {
        class: Expectation {
            outcome: Outcome::Reject,
            mobile: None,
            code: None,
            sub_code: None,
        },
        description,
    }
}

/// Judges a login that must succeed for `e.user` with `e.mobile`.
pub fn success(contract: &Contract, judge: &Judge, e: &Expect, answer: &Answer) -> Judgement {
    let rule = contract.login.as_ref();
    let body = String::from_utf8_lossy(&answer.body);
    let mut problems = always(judge, e, answer);
    let mut ok = Vec::new();
    let status = status_rule("login", rule);
    if status_ok(&status, answer.status) {
        ok.push(format!("{status} ({})", answer.status));
    } else {
        problems.push(Finding::LoginStatus {
            rule: status,
            got: answer.status,
        });
    }
    let wanted = e.user.ids();
    match rule.and_then(|r| r.user.clone()) {
        Some(p) => {
            let check = IdentityCheck::Pointer(p.clone());
            match text_at(&body, &p) {
                Some(got) if wanted.contains(&got) => ok.push(format!("{p} = {got:?}")),
                Some(got) if e.foreign_ids.contains(&got) => {
                    problems.push(Finding::IdentityMismatch {
                        check,
                        wanted: wanted.clone(),
                        got,
                    })
                }
                _ => problems.push(Finding::IdentityMissing {
                    check,
                    wanted: wanted.clone(),
                }),
            }
        }
        None => match wanted.iter().find(|id| body.contains(id.as_str())) {
            Some(id) => ok.push(format!("the user's id {id} in the body")),
            None => problems.push(Finding::IdentityMissing {
                check: IdentityCheck::Body,
                wanted: wanted.clone(),
            }),
        },
    }
    // Another user's id anywhere (beside a correct one at the pointer) is still a smuggled id
    // the merchant took from the client.
    let pointer_finding = problems
        .iter()
        .any(|f| matches!(f, Finding::IdentityMismatch { .. }));
    if !pointer_finding && let Some(id) = e.foreign_ids.iter().find(|id| body.contains(id.as_str()))
    {
        problems.push(Finding::IdentityMismatch {
            check: IdentityCheck::Body,
            wanted: wanted.clone(),
            got: id.clone(),
        });
    }
    match rule.and_then(|r| r.mobile.clone()) {
        Some(p) => match text_at(&body, &p) {
            Some(got) if got == e.mobile => ok.push(format!("{p} = {got:?}")),
            got => problems.push(Finding::LoginMobile {
                check: MobileCheck::Pointer(p),
                wanted: e.mobile.clone(),
                got,
            }),
        },
        None => {
            if body.contains(&e.mobile) {
                ok.push(format!("the mobile {} in the body", e.mobile));
            } else {
                problems.push(Finding::LoginMobile {
                    check: MobileCheck::Body,
                    wanted: e.mobile.clone(),
                    got: None,
                });
            }
        }
    }
    if problems.is_empty() {
        pass(format!("pass by {}", ok.join(", ")))
    } else {
        fail(problems)
    }
}

/// Judges a login that must be refused because of `refusal`. With `any_failure_status` (the
/// gateway gave no answer at all) any 4xx or 5xx passes, else the `[login_refused]` rule.
pub fn refusal(
    contract: &Contract,
    judge: &Judge,
    e: &Expect,
    answer: &Answer,
    refusal: LoginRefusal,
    any_failure_status: bool,
) -> Judgement {
    let body = String::from_utf8_lossy(&answer.body);
    let mut problems = always(judge, e, answer);
    let status = if any_failure_status {
        status_rule("login_refused", None)
    } else {
        status_rule("login_refused", contract.login_refused.as_ref())
    };
    // A merchant that answers every login with 200 and says "refused" in the body lists 200 in
    // `[login_refused] status`; such a 2xx is then a refusal, judged by naming no user.
    let listed = lists(contract.login_refused.as_ref(), answer.status);
    let accepted = (200..300).contains(&answer.status) && !listed;
    if accepted {
        problems.push(Finding::LoginAccepted {
            refusal,
            status: answer.status,
        });
    } else if !listed && !status_ok(&status, answer.status) {
        problems.push(Finding::LoginStatus {
            rule: status.clone(),
            got: answer.status,
        });
    }
    // A refusal that names the user (an accepted login already says it all).
    if !accepted {
        problems.extend(names_a_user(e, &body));
    }
    if problems.is_empty() {
        pass(format!(
            "pass by {status} ({}), no user id in the answer",
            answer.status
        ))
    } else {
        fail(problems)
    }
}

/// Judges the answer to a login while the gateway was busy (20000): the contract's
/// `[retry_later]` answer (`target`), naming no user. A 2xx is a login under the login rules (the
/// refused-code cases read it so) unless `[retry_later] status` lists it: the phone-mode default
/// (any 2xx or 4xx, or 503) alone would pass `200 {"status":"ok"}`.
pub fn busy(
    contract: &Contract,
    judge: &Judge,
    target: &Target<'_>,
    e: &Expect,
    answer: &Answer,
) -> Judgement {
    let mut j = judge.judge(target, answer);
    let mut problems = std::mem::take(&mut j.findings);
    if (200..300).contains(&answer.status) && !lists(contract.retry_later.as_ref(), answer.status) {
        problems.push(Finding::LoginAccepted {
            refusal: LoginRefusal::GatewayBusy,
            status: answer.status,
        });
    }
    problems.extend(names_a_user(e, &String::from_utf8_lossy(&answer.body)));
    if problems.is_empty() {
        j
    } else {
        fail(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leak::KeyMaterial;
    use alipay_sim::KeySet;

    fn expect() -> Expect {
        Expect {
            case_id: "login.test".into(),
            user: SimUser {
                name: "alice".into(),
                user_id: None,
                open_id: Some("0aliceopenid".into()),
                mobile: Some("13812345678".into()),
            },
            mobile: "13812345678".into(),
            foreign_ids: vec!["0bobopenid".into()],
            foreign_mobiles: vec!["1-2025550123".into()],
        }
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.as_bytes().to_vec(),
            ..Answer::default()
        }
    }

    fn judge() -> Judge {
        Judge::new(
            Contract::default(),
            KeyMaterial::from_keys(&KeySet::embedded()),
        )
    }

    fn codes(j: &Judgement) -> Vec<&'static str> {
        j.findings.iter().map(Finding::code).collect()
    }

    #[test]
    fn a_success_needs_the_codes_user_and_the_mobile() {
        let reference =
            Contract::parse("r", crate::cli::REFERENCE_CONTRACT).expect("reference contract");
        let e = expect();
        let good =
            r#"{"status":"ok","user_id":null,"open_id":"0aliceopenid","mobile":"13812345678"}"#;
        for c in [&Contract::default(), &reference] {
            assert_eq!(
                success(c, &judge(), &e, &answer(200, good)).verdict,
                Verdict::Pass
            );
        }
        let bob = r#"{"status":"ok","open_id":"0bobopenid","mobile":"13812345678"}"#;
        let j = success(&reference, &judge(), &e, &answer(200, bob));
        assert_eq!(codes(&j), ["identity-mismatch"], "{}", j.reason);
        let j = success(&Contract::default(), &judge(), &e, &answer(200, bob));
        assert_eq!(
            codes(&j),
            ["identity-missing", "identity-mismatch"],
            "{}",
            j.reason
        );
        // The right id at the pointer and the smuggled one beside it.
        let both = r#"{"status":"ok","user_id":"0bobopenid","open_id":"0aliceopenid","mobile":"13812345678"}"#;
        let j = success(&reference, &judge(), &e, &answer(200, both));
        assert_eq!(codes(&j), ["identity-mismatch"], "{}", j.reason);
        let other_mobile = r#"{"status":"ok","open_id":"0aliceopenid","mobile":"1-2025550123"}"#;
        let j = success(&reference, &judge(), &e, &answer(200, other_mobile));
        assert_eq!(
            codes(&j),
            ["mobile-leaked", "mobile-mismatch"],
            "{}",
            j.reason
        );
        let j = success(&reference, &judge(), &e, &answer(401, "{}"));
        assert_eq!(
            codes(&j),
            ["status-mismatch", "identity-missing", "mobile-missing"]
        );
    }

    #[test]
    fn a_refusal_must_not_log_in_or_name_the_user() {
        let reference =
            Contract::parse("r", crate::cli::REFERENCE_CONTRACT).expect("reference contract");
        let e = expect();
        let r = LoginRefusal::ReusedCode;
        let refused = answer(401, r#"{"status":"rejected","error":"auth_code"}"#);
        assert_eq!(
            refusal(&reference, &judge(), &e, &refused, r, false).verdict,
            Verdict::Pass
        );
        let j = refusal(
            &reference,
            &judge(),
            &e,
            &answer(200, r#"{"open_id":null}"#),
            r,
            false,
        );
        assert_eq!(codes(&j), ["code-reuse-accepted"]);
        let j = refusal(&reference, &judge(), &e, &answer(502, "{}"), r, false);
        assert_eq!(codes(&j), ["status-mismatch"]);
        let j = refusal(
            &Contract::default(),
            &judge(),
            &e,
            &answer(502, "{}"),
            r,
            false,
        );
        assert_eq!(j.verdict, Verdict::Pass);
        assert_eq!(
            refusal(&reference, &judge(), &e, &answer(502, "{}"), r, true).verdict,
            Verdict::Pass
        );
        let j = refusal(
            &reference,
            &judge(),
            &e,
            &answer(401, r#"{"open_id":"0aliceopenid"}"#),
            r,
            false,
        );
        assert_eq!(codes(&j), ["identity-leaked"]);
        let j = refusal(
            &Contract::default(),
            &judge(),
            &e,
            &answer(302, ""),
            r,
            true,
        );
        assert_eq!(codes(&j), ["status-mismatch"]);
    }

    /// A merchant that answers refusals with 200 says so in `[login_refused] status`: its 200
    /// refusal then passes when it names no user, and fails when it does (a login after all).
    #[test]
    fn a_2xx_refusal_counts_where_the_contract_lists_it() {
        let all_200 = Contract::parse(
            "c",
            "[login]\nstatus = [200]\nuser = \"/open_id\"\n[login_refused]\nstatus = [200]\n",
        )
        .expect("contract");
        let e = expect();
        let r = LoginRefusal::ReusedCode;
        let refused = answer(200, r#"{"success":false,"error":"auth_code"}"#);
        for any_failure_status in [false, true] {
            let j = refusal(&all_200, &judge(), &e, &refused, r, any_failure_status);
            assert_eq!(j.verdict, Verdict::Pass, "{}", j.reason);
        }
        let logged_in = answer(200, r#"{"success":true,"open_id":"0aliceopenid"}"#);
        let j = refusal(&all_200, &judge(), &e, &logged_in, r, false);
        assert_eq!(codes(&j), ["identity-leaked"]);
        // A 201 the contract does not list is still a login.
        let j = refusal(&all_200, &judge(), &e, &answer(201, "{}"), r, false);
        assert_eq!(codes(&j), ["code-reuse-accepted"]);
    }

    /// A Java merchant may write the user id and the mobile as JSON numbers.
    #[test]
    fn ids_and_mobiles_written_as_numbers_are_read_at_the_pointers() {
        let c = Contract::parse(
            "c",
            "[login]\nstatus = [200]\nuser = \"/user_id\"\nmobile = \"/mobile\"\n",
        )
        .expect("contract");
        let mut e = expect();
        e.user.user_id = Some("2088778075061929".into());
        let numeric = answer(200, r#"{"user_id":2088778075061929,"mobile":13812345678}"#);
        let j = success(&c, &judge(), &e, &numeric);
        assert_eq!(j.verdict, Verdict::Pass, "{}", j.reason);
        let other = answer(200, r#"{"user_id":2088778075061930,"mobile":13812345678}"#);
        assert_eq!(
            codes(&success(&c, &judge(), &e, &other)),
            ["identity-missing"]
        );
    }
}
