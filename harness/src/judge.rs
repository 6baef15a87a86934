//! Judging one answer: the default rules, made exact by a [`Contract`].
//!
//! Default rules (no contract, or a table/key missing from it):
//! - `accept`: a 2xx status and the expected mobile somewhere in the body;
//! - `no_mobile`, `platform_error`: not 5xx;
//! - `retry_later`: not 5xx, except 503, which is the natural "retry later" answer;
//! - `reject`: a 4xx status (not 2xx, not 5xx).
//!
//! Always, whatever the contract: the body must not contain a forbidden mobile (a tamper
//! case's canary, another request's mobile), the merchant's AES key (base64 or hex), PEM
//! markers, stack-trace markers, or the case's ciphertext.

use alipay_sim::scenario::{Expectation, Outcome};

use crate::case::KeyMaterial;
use crate::contract::{Contract, Rule};
use crate::verdict::{Expected, Verdict};

/// Stack-trace markers from common server stacks (Rust, Python, Java, Node, Go, .NET).
pub const STACK_MARKERS: &[&str] = &[
    "panicked at",
    "stack backtrace:",
    "Traceback (most recent call last)",
    "Exception in thread",
    "at java.",
    "at Object.<anonymous>",
    "node:internal/",
    "goroutine 1 [running]",
    "--- End of stack trace",
];

/// A stack-frame line of Java, Node or .NET (`\tat a.B.c(B.java:12)`, `    at f (/app/x.js:1:2)`,
/// `   at A.B() in C:\\x.cs:line 3`), also inside a JSON string (`\\n    at ...`): an indented
/// `at ` line shaped like a frame, so that prose such as "    at least" is not mistaken for one.
fn stack_frame(body: &str) -> Option<&str> {
    body.split('\n').flat_map(|l| l.split("\\n")).find(|line| {
        // A JSON-escaped tab counts as indentation.
        let t = line.trim_start().trim_start_matches("\\t").trim_start();
        let indented = line.len() != t.len();
        let Some(rest) = t.strip_prefix("at ") else {
            return false;
        };
        // Java: `at com.example.Foo.bar(Foo.java:12)`, possibly cut short.
        let dotted_name = !rest.contains(' ') && rest.trim_end_matches('.').contains('.');
        let file_line = rest
            .split(':')
            .skip(1)
            .any(|seg| seg.starts_with(|c: char| c.is_ascii_digit()));
        let one_token_or_frame =
            !rest.contains(' ') || rest.contains(" (") || rest.contains(" in ");
        indented
            && one_token_or_frame
            && (file_line
                || dotted_name
                || rest.contains(":line ")
                || rest.trim_end().ends_with(')'))
    })
}

/// A received answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body bytes (at most the answer cap).
    pub body: Vec<u8>,
}

/// What one answer is judged against.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// What a correct merchant concludes.
    pub expected: &'a Expectation,
    /// Mobiles that must never appear (a canary, other requests' mobiles).
    pub forbidden: &'a [String],
    /// A ciphertext that must never be echoed.
    pub ciphertext: Option<&'a str>,
}

/// A verdict with its reason (pass or fail: transport errors never reach the judge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// [`Verdict::Pass`] or [`Verdict::Fail`].
    pub verdict: Verdict,
    /// What matched, or every problem found.
    pub reason: String,
}

/// Judges answers under one contract.
#[derive(Debug, Clone)]
pub struct Judge {
    contract: Contract,
    keys: KeyMaterial,
}

fn default_status_ok(outcome: Outcome, status: u16) -> bool {
    match outcome {
        Outcome::Accept => (200..300).contains(&status),
        Outcome::NoMobile | Outcome::PlatformError => status < 500,
        Outcome::RetryLater => status < 500 || status == 503,
        Outcome::Reject => (400..500).contains(&status),
    }
}

fn default_status_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Accept => "a 2xx status",
        Outcome::NoMobile | Outcome::PlatformError => "a status that is not 5xx",
        Outcome::RetryLater => "a status that is not 5xx (503 allowed)",
        Outcome::Reject => "a 4xx refusal",
    }
}

fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Judge {
    /// A judge with `contract` that knows the merchant's `keys`.
    pub fn new(contract: Contract, keys: KeyMaterial) -> Self {
        Self { contract, keys }
    }

    /// The key material this judge looks for (also used to redact excerpts).
    pub fn key_material(&self) -> &KeyMaterial {
        &self.keys
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
            match rule.and_then(|r| r.mobile.as_ref()) {
                Some(p) => parts.push(format!("{p} = {m:?}")),
                None => parts.push(format!("the mobile {m} in the body")),
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
                parts.push(format!("{p} = {v:?}"));
            }
        }
        let mut description = format!("{}: {}", e.outcome, parts.join(", "));
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

    /// Judges `answer` against `target`.
    pub fn judge(&self, target: &Target<'_>, answer: &Answer) -> Judgement {
        let body = String::from_utf8_lossy(&answer.body);
        let e = target.expected;
        let mut problems: Vec<String> = Vec::new();

        // Always: nothing leaks.
        for m in target.forbidden {
            if body.contains(m.as_str()) {
                problems.push(format!(
                    "the answer contains the mobile {m}, which this request must never reveal"
                ));
            }
        }
        if let Some(what) = self.keys.found_in(&body) {
            problems.push(format!("the answer contains {what}"));
        }
        if body.contains("-----BEGIN") || body.contains("PRIVATE KEY-----") {
            problems.push("the answer contains a PEM key block".into());
        }
        if let Some(m) = STACK_MARKERS.iter().find(|m| body.contains(**m)) {
            problems.push(format!(
                "the answer contains a stack trace ({:?})",
                m.trim()
            ));
        } else if let Some(frame) = stack_frame(&body) {
            problems.push(format!(
                "the answer contains a stack trace ({:?})",
                frame.trim()
            ));
        }
        if let Some(ct) = target.ciphertext
            && (body.contains(ct) || body.contains(&ct.replace('/', "\\/")))
        {
            problems.push("the answer echoes the ciphertext".into());
        }

        let rule = self.contract.rule(e.outcome);
        match rule.and_then(|r| r.status.as_ref()) {
            Some(allowed) if !allowed.contains(&answer.status) => problems.push(format!(
                "status {} is not one of {allowed:?} for {}",
                answer.status, e.outcome
            )),
            None if !default_status_ok(e.outcome, answer.status) => problems.push(format!(
                "status {} where {} expects {}",
                answer.status,
                e.outcome,
                default_status_words(e.outcome)
            )),
            _ => {}
        }
        self.check_content(e, rule, &body, &mut problems);

        if problems.is_empty() {
            Judgement {
                verdict: Verdict::Pass,
                reason: format!("status {} as expected for {}", answer.status, e.outcome),
            }
        } else {
            Judgement {
                verdict: Verdict::Fail,
                reason: problems.join("; "),
            }
        }
    }

    fn check_content(
        &self,
        e: &Expectation,
        rule: Option<&Rule>,
        body: &str,
        problems: &mut Vec<String>,
    ) {
        let json_rule = rule.filter(|r| r.reads_json());
        let json = match json_rule {
            Some(_) => match serde_json::from_str::<serde_json::Value>(body) {
                Ok(v) => Some(v),
                Err(_) => {
                    problems.push(format!(
                        "the answer is not JSON, but the contract reads it for {}",
                        e.outcome
                    ));
                    return;
                }
            },
            None => None,
        };
        let check = |pointer: &str, want: &str, what: &str| -> Option<String> {
            let v = json.as_ref()?;
            match v.pointer(pointer).and_then(json_text) {
                Some(got) if got == want => None,
                Some(got) => Some(format!("{pointer} is {got:?}, expected {what} {want:?}")),
                None => Some(format!(
                    "{pointer} is missing or not a string, expected {what} {want:?}"
                )),
            }
        };
        if let Some(m) = &e.mobile {
            match rule.and_then(|r| r.mobile.as_ref()) {
                Some(p) => problems.extend(check(p, m, "the mobile")),
                None => {
                    if !body.contains(m.as_str()) {
                        problems.push(format!("the answer does not contain the mobile {m}"));
                    }
                }
            }
        }
        if let Some(r) = rule {
            if let (Some(p), Some(c)) = (&r.code, &e.code) {
                problems.extend(check(p, c, "the platform code"));
            }
            if let (Some(p), Some(c)) = (&r.sub_code, &e.sub_code) {
                problems.extend(check(p, c, "the platform subCode"));
            }
            for (p, v) in &r.equals {
                problems.extend(check(p, v, "the value"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stack_frames_are_found_and_prose_is_not() {
        for trace in [
            "Error: boom\n    at Object.parse (/app/server.js:12:7)",
            "{\"error\":\"TypeError: x\\n    at handler (/srv/app.js:3:9)\"}",
            "java.lang.IllegalStateException\n\tat com.shop.Phone.decrypt(Phone.java:42)",
            "{\"trace\":\"x\\n\\tat com.shop.Phone.decrypt(Phone.java:42)\"}",
            "System.Exception\n   at Shop.Phone.Decrypt() in C:\\src\\Phone.cs:line 17",
            "Error\n    at /app/index.js:5:3",
        ] {
            assert!(super::stack_frame(trace).is_some(), "{trace}");
        }
        for prose in [
            "Please try again\n    at least once more.",
            "{\"status\":\"rejected\",\"error\":\"bad_signature\"}",
            "look at the docs",
            "arrived at 10:30",
        ] {
            assert_eq!(super::stack_frame(prose), None, "{prose}");
        }
    }

    use super::*;
    use alipay_sim::keys::KeySet;

    fn judge(contract: &str) -> Judge {
        Judge::new(
            Contract::parse("c.toml", contract).unwrap(),
            KeyMaterial::from_keys(&KeySet::embedded()),
        )
    }

    fn exp(outcome: Outcome, mobile: Option<&str>, code: Option<&str>) -> Expectation {
        Expectation {
            outcome,
            mobile: mobile.map(String::from),
            code: code.map(String::from),
            sub_code: code.map(|_| "isv.invalid-auth-relations".to_string()),
        }
    }

    fn ans(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    fn verdict(j: &Judge, e: &Expectation, forbidden: &[String], a: &Answer) -> Judgement {
        j.judge(
            &Target {
                expected: e,
                forbidden,
                ciphertext: Some("QUJDREVGR0hJSktMTU5PUFFSU1RVVldY+/=="),
            },
            a,
        )
    }

    #[test]
    fn default_accept_needs_2xx_and_the_mobile() {
        let j = judge("");
        let e = exp(Outcome::Accept, Some("13812345678"), None);
        let ok = verdict(&j, &e, &[], &ans(200, r#"{"phone":"13812345678"}"#));
        assert_eq!(ok.verdict, Verdict::Pass, "{}", ok.reason);
        let no_mobile = verdict(&j, &e, &[], &ans(200, "{}"));
        assert_eq!(no_mobile.verdict, Verdict::Fail);
        assert!(no_mobile.reason.contains("does not contain the mobile"));
        let status = verdict(&j, &e, &[], &ans(302, "13812345678"));
        assert_eq!(status.verdict, Verdict::Fail);
        assert!(status.reason.contains("status 302"), "{}", status.reason);
    }

    #[test]
    fn default_reject_needs_4xx_and_no_canary() {
        let j = judge("");
        let e = exp(Outcome::Reject, None, None);
        let canary = vec!["13900000000".to_string()];
        assert_eq!(
            verdict(&j, &e, &canary, &ans(400, "bad")).verdict,
            Verdict::Pass
        );
        for a in [ans(200, "ok"), ans(500, "oops"), ans(400, "13900000000")] {
            assert_eq!(verdict(&j, &e, &canary, &a).verdict, Verdict::Fail, "{a:?}");
        }
    }

    #[test]
    fn default_retry_later_allows_503_not_500() {
        let j = judge("");
        let e = exp(Outcome::RetryLater, None, Some("20000"));
        assert_eq!(verdict(&j, &e, &[], &ans(503, "")).verdict, Verdict::Pass);
        assert_eq!(verdict(&j, &e, &[], &ans(200, "")).verdict, Verdict::Pass);
        assert_eq!(verdict(&j, &e, &[], &ans(500, "")).verdict, Verdict::Fail);
        let pe = exp(Outcome::PlatformError, None, Some("40003"));
        assert_eq!(verdict(&j, &pe, &[], &ans(503, "")).verdict, Verdict::Fail);
    }

    #[test]
    fn leaks_fail_every_outcome() {
        let j = judge("");
        let e = exp(Outcome::Reject, None, None);
        let key = KeySet::embedded().aes.to_base64();
        for body in [
            format!("bad key {key}"),
            "-----BEGIN PUBLIC KEY-----".to_string(),
            "thread 'main' panicked at src/main.rs:1".to_string(),
            "Error\n    at Object.<anonymous> (/app/x.js:1:1)".to_string(),
            "java.lang.IllegalStateException\n\tat com.example.Foo".to_string(),
            "Traceback (most recent call last):".to_string(),
            r#"{"echo":"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY+\/=="}"#.to_string(),
        ] {
            let v = verdict(&j, &e, &[], &ans(400, &body));
            assert_eq!(v.verdict, Verdict::Fail, "{body}");
        }
    }

    #[test]
    fn contract_rules_are_exact() {
        let j = judge(
            r#"
[accept]
status = [200]
mobile = "/mobile"
[platform_error]
status = [422]
code = "/code"
sub_code = "/sub_code"
[no_mobile]
status = [422]
equals = { "/status" = "no_mobile" }
"#,
        );
        let e = exp(Outcome::Accept, Some("13812345678"), None);
        let pass = verdict(&j, &e, &[], &ans(200, r#"{"mobile":"13812345678"}"#));
        assert_eq!(pass.verdict, Verdict::Pass, "{}", pass.reason);
        let elsewhere = verdict(&j, &e, &[], &ans(200, r#"{"m":"13812345678"}"#));
        assert!(
            elsewhere.reason.contains("/mobile is missing"),
            "{}",
            elsewhere.reason
        );
        let not_json = verdict(&j, &e, &[], &ans(200, "mobile: 13812345678"));
        assert!(not_json.reason.contains("not JSON"));
        let wrong_status = verdict(&j, &e, &[], &ans(201, r#"{"mobile":"13812345678"}"#));
        assert!(wrong_status.reason.contains("[200]"));

        let pe = exp(Outcome::PlatformError, None, Some("40003"));
        let ok = r#"{"code":"40003","sub_code":"isv.invalid-auth-relations"}"#;
        assert_eq!(verdict(&j, &pe, &[], &ans(422, ok)).verdict, Verdict::Pass);
        let num = r#"{"code":40003,"sub_code":"x"}"#;
        let v = verdict(&j, &pe, &[], &ans(422, num));
        assert!(v.reason.contains("/sub_code is \"x\""), "{}", v.reason);

        let nm = exp(Outcome::NoMobile, None, None);
        assert_eq!(
            verdict(&j, &nm, &[], &ans(422, r#"{"status":"no_mobile"}"#)).verdict,
            Verdict::Pass
        );
        let v = verdict(&j, &nm, &[], &ans(200, r#"{"status":"ok","mobile":""}"#));
        assert!(v.reason.contains("status 200") && v.reason.contains("/status is \"ok\""));
    }

    #[test]
    fn expected_in_words_follows_the_contract() {
        let j = judge("[accept]\nstatus = [200]\nmobile = \"/mobile\"\n");
        let e = exp(Outcome::Accept, Some("13812345678"), None);
        let t = Target {
            expected: &e,
            forbidden: &[],
            ciphertext: None,
        };
        let x = j.expected(&t);
        assert!(
            x.description.contains("status in [200]"),
            "{}",
            x.description
        );
        assert!(x.description.contains("/mobile = \"13812345678\""));
        let d = judge("").expected(&t).description;
        assert!(
            d.contains("2xx") && d.contains("13812345678 in the body"),
            "{d}"
        );
    }
}
