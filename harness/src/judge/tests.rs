//! The judge's rules, one test per rule family (issue 9 items named where they apply).
use super::*;
use crate::finding::{CodeField, Finding, MobileCheck, StatusRule};
use alipay_sim::KeySet;

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
    Answer::new(status, body)
}

fn verdict(j: &Judge, e: &Expectation, forbidden: &[String], a: &Answer) -> Judgement {
    j.judge(
        &Target {
            case_id: "test.case",
            expected: e,
            forbidden,
            ciphertext: Some("QUJDREVGR0hJSktMTU5PUFFSU1RVVldY+/=="),
            refusal_allowed: false,
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
    assert_eq!(
        no_mobile.findings,
        [Finding::MobileMissing {
            outcome: Outcome::Accept,
            check: MobileCheck::Body,
            wanted: "13812345678".into(),
        }]
    );
    assert_eq!(no_mobile.reason, crate::finding::words(&no_mobile.findings));
    assert_eq!(
        no_mobile.reason,
        "default rule for accept: the answer does not contain the mobile 13812345678"
    );
    let status = verdict(&j, &e, &[], &ans(302, "13812345678"));
    assert_eq!(status.verdict, Verdict::Fail);
    assert_eq!(
        status.findings,
        [Finding::StatusMismatch {
            rule: StatusRule::Default {
                outcome: Outcome::Accept
            },
            got: 302,
        }]
    );
}

#[test]
fn default_accept_takes_the_mobile_as_given_not_as_reconstructed() {
    // The leak readings (digit groups joined, base64 decoded) are for what must not be there;
    // the mobile of a success must be given (a fuzz run passed `138 1234 5678`).
    let j = judge("");
    let e = exp(Outcome::Accept, Some("13812345678"), None);
    for given in [
        r#"{"mobile":"\u00313812345678"}"#,
        r#"{"mobile":13812345678}"#,
        "mobile=13812345678",
    ] {
        let v = verdict(&j, &e, &[], &ans(200, given));
        assert_eq!(v.verdict, Verdict::Pass, "{given}: {}", v.reason);
    }
    for reconstructed in [
        "138 1234 5678",
        r#"{"mobile":"138-1234-5678"}"#,
        r#"{"mobile":"MTM4MTIzNDU2Nzg="}"#,
        "mobile=%31%33%38%31%32%33%34%35%36%37%38",
    ] {
        let v = verdict(&j, &e, &[], &ans(200, reconstructed));
        assert_eq!(v.verdict, Verdict::Fail, "{reconstructed}: {}", v.reason);
    }
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
    for (body, code) in [
        (format!("bad key {key}"), "secret-leaked"),
        ("-----BEGIN PUBLIC KEY-----".to_string(), "secret-leaked"),
        (
            "thread 'main' panicked at src/main.rs:1".to_string(),
            "stack-trace",
        ),
        (
            "Error\n    at Object.<anonymous> (/app/x.js:1:1)".to_string(),
            "stack-trace",
        ),
        (
            "java.lang.IllegalStateException\n\tat com.example.Foo".to_string(),
            "stack-trace",
        ),
        (
            "Traceback (most recent call last):".to_string(),
            "stack-trace",
        ),
        (
            r#"{"echo":"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY+\/=="}"#.to_string(),
            "ciphertext-echoed",
        ),
    ] {
        let v = verdict(&j, &e, &[], &ans(400, &body));
        assert_eq!(v.verdict, Verdict::Fail, "{body}");
        let codes: Vec<&str> = v.findings.iter().map(Finding::code).collect();
        assert_eq!(codes, [code], "{body}");
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
    assert_eq!(
        elsewhere.findings,
        [Finding::MobileMissing {
            outcome: Outcome::Accept,
            check: MobileCheck::Pointer("/mobile".into()),
            wanted: "13812345678".into(),
        }]
    );
    let not_json = verdict(&j, &e, &[], &ans(200, "mobile: 13812345678"));
    assert_eq!(
        not_json.findings,
        [Finding::NotJson {
            outcome: Outcome::Accept
        }]
    );
    let wrong_status = verdict(&j, &e, &[], &ans(201, r#"{"mobile":"13812345678"}"#));
    assert_eq!(
        wrong_status.findings,
        [Finding::StatusMismatch {
            rule: StatusRule::Contract {
                outcome: Outcome::Accept,
                allowed: vec![200],
            },
            got: 201,
        }]
    );

    let pe = exp(Outcome::PlatformError, None, Some("40003"));
    let ok = r#"{"code":"40003","sub_code":"isv.invalid-auth-relations"}"#;
    assert_eq!(verdict(&j, &pe, &[], &ans(422, ok)).verdict, Verdict::Pass);
    let num = r#"{"code":40003,"sub_code":"x"}"#;
    let v = verdict(&j, &pe, &[], &ans(422, num));
    assert_eq!(
        v.findings,
        [Finding::CodeMismatch {
            outcome: Outcome::PlatformError,
            field: CodeField::SubCode,
            pointer: "/sub_code".into(),
            wanted: "isv.invalid-auth-relations".into(),
            got: Some("x".into()),
        }]
    );

    let nm = exp(Outcome::NoMobile, None, None);
    assert_eq!(
        verdict(&j, &nm, &[], &ans(422, r#"{"status":"no_mobile"}"#)).verdict,
        Verdict::Pass
    );
    let v = verdict(&j, &nm, &[], &ans(200, r#"{"status":"ok","mobile":""}"#));
    assert_eq!(
        v.findings,
        [
            Finding::StatusMismatch {
                rule: StatusRule::Contract {
                    outcome: Outcome::NoMobile,
                    allowed: vec![422],
                },
                got: 200,
            },
            Finding::EqualsMismatch {
                outcome: Outcome::NoMobile,
                pointer: "/status".into(),
                wanted: "no_mobile".into(),
                got: Some("ok".into()),
            },
        ]
    );
    assert_eq!(
        v.reason,
        "contract [no_mobile] status: 200 is not one of [422]; contract [no_mobile] equals: /status is \"ok\", expected \"no_mobile\""
    );
}

#[test]
fn expected_in_words_follows_the_contract() {
    let j = judge("[accept]\nstatus = [200]\nmobile = \"/mobile\"\n");
    let e = exp(Outcome::Accept, Some("13812345678"), None);
    let t = Target {
        case_id: "test.case",
        expected: &e,
        forbidden: &[],
        ciphertext: None,
        refusal_allowed: false,
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

fn target<'a>(e: &'a Expectation, refusal_allowed: bool) -> Target<'a> {
    Target {
        case_id: "test.case",
        expected: e,
        forbidden: &[],
        ciphertext: None,
        refusal_allowed,
    }
}

/// Issue 9 item 5: an unsigned platform error may be reported or refused, and the reason
/// says which; a refusal is not enough where the error is signed (no alternative offered).
#[test]
fn unsigned_platform_errors_pass_both_ways_and_say_which() {
    let j = judge(include_str!("../../contracts/reference.toml"));
    let e = exp(Outcome::PlatformError, None, Some("40001"));
    let reported = ans(
        422,
        r#"{"status":"platform_error","code":"40001","sub_code":"isv.invalid-auth-relations"}"#,
    );
    let refused = ans(400, r#"{"status":"rejected","error":"missing_sign"}"#);
    let r = j.judge(&target(&e, true), &reported);
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert!(
        r.reason
            .contains("reported the unsigned platform error 40001")
    );
    let r = j.judge(&target(&e, true), &refused);
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert!(
        r.reason.contains("the merchant refused it") && r.reason.contains("40001"),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains("contract [reject] status: 400"),
        "{}",
        r.reason
    );
    // Without the allowance (a signed error, or an endpoint that cannot verify): a fail.
    assert_eq!(j.judge(&target(&e, false), &refused).verdict, Verdict::Fail);
    // A 500 is neither.
    assert_eq!(
        j.judge(&target(&e, true), &ans(500, "")).verdict,
        Verdict::Fail
    );
    assert!(
        j.expected(&target(&e, true))
            .description
            .contains("a refusal")
    );
}

/// Issue 9 item 4: a redirect answers no case, unless the contract lists its status.
#[test]
fn redirects_answer_nothing_by_default() {
    let j = judge("");
    for outcome in [
        Outcome::PlatformError,
        Outcome::NoMobile,
        Outcome::RetryLater,
        Outcome::Reject,
        Outcome::Accept,
    ] {
        let e = exp(outcome, None, None);
        for status in [101, 301, 302, 303, 307, 308] {
            let v = j.judge(&target(&e, false), &ans(status, ""));
            assert_eq!(v.verdict, Verdict::Fail, "{outcome} {status}");
            assert_eq!(
                v.findings,
                [Finding::StatusMismatch {
                    rule: StatusRule::Default { outcome },
                    got: status,
                }]
            );
        }
    }
    let j = judge("[platform_error]\nstatus = [302]\n");
    let e = exp(Outcome::PlatformError, None, None);
    assert_eq!(
        j.judge(&target(&e, false), &ans(302, "")).verdict,
        Verdict::Pass
    );
}

/// Issue 9 item 7: a refused genuine 40006 without a contract is "merely allowed", and
/// every reason names its rule.
#[test]
fn reasons_name_the_deciding_rule() {
    let j = judge("");
    let e = exp(Outcome::PlatformError, None, Some("40006"));
    let r = j.judge(&target(&e, false), &ans(400, "{}"));
    assert_eq!(r.verdict, Verdict::Pass);
    assert!(
        r.reason
            .starts_with("pass by default rule for platform_error: status 400")
            && r.reason.contains("merely allowed"),
        "{}",
        r.reason
    );
    let j = judge(include_str!("../../contracts/reference.toml"));
    let r = j.judge(&target(&e, false), &ans(400, "{}"));
    assert_eq!(
        r.findings.first(),
        Some(&Finding::StatusMismatch {
            rule: StatusRule::Contract {
                outcome: Outcome::PlatformError,
                allowed: vec![422],
            },
            got: 400,
        }),
        "{}",
        r.reason
    );
    let rej = exp(Outcome::Reject, None, None);
    let key = KeySet::embedded().aes.to_base64();
    let r = j.judge(&target(&rej, false), &ans(400, &format!("k={key}")));
    assert_eq!(
        r.findings.first(),
        Some(&Finding::SecretLeaked {
            kind: crate::leak::SecretKind::AesKey
        }),
        "{}",
        r.reason
    );
    assert!(r.reason.starts_with("always (no key material)"));
}

/// Issue 9 item 8: any JSON value in `equals`, required headers, a regex for the mobile.
#[test]
fn contracts_for_real_answer_formats() {
    let j = judge(
        r#"
[accept]
mobile_regex = 'data-mobile="([0-9-]+)"'
[no_mobile]
equals = { "/success" = false, "/data" = { json = "null" }, "/code" = 0 }
[retry_later]
status = [503]
required_headers = ["Retry-After"]
"#,
    );
    let a = exp(Outcome::Accept, Some("13812345678"), None);
    let html = r#"<html><b data-mobile="13812345678">welcome</b></html>"#;
    let r = j.judge(&target(&a, false), &ans(200, html));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert!(r.reason.contains("mobile_regex"), "{}", r.reason);
    let other = r#"<b data-mobile="13800000000">"#;
    let r = j.judge(&target(&a, false), &ans(200, other));
    assert_eq!(
        r.findings,
        [Finding::MobileMismatch {
            outcome: Outcome::Accept,
            check: MobileCheck::Regex(r#"data-mobile="([0-9-]+)""#.into()),
            wanted: "13812345678".into(),
            got: "13800000000".into(),
        }]
    );

    let nm = exp(Outcome::NoMobile, None, None);
    let ok = r#"{"success":false,"data":null,"code":0}"#;
    assert_eq!(
        j.judge(&target(&nm, false), &ans(200, ok)).verdict,
        Verdict::Pass
    );
    let equals = |pointer: &str, wanted: serde_json::Value, got: Option<serde_json::Value>| {
        Finding::EqualsMismatch {
            outcome: Outcome::NoMobile,
            pointer: pointer.into(),
            wanted,
            got,
        }
    };
    for (bad, finding) in [
        (
            r#"{"success":"false","data":null,"code":0}"#,
            equals("/success", false.into(), Some("false".into())),
        ),
        (
            r#"{"success":false,"code":0}"#,
            equals("/data", serde_json::Value::Null, None),
        ),
        (
            r#"{"success":false,"data":null,"code":"0"}"#,
            equals("/code", 0.into(), Some("0".into())),
        ),
    ] {
        let r = j.judge(&target(&nm, false), &ans(200, bad));
        assert_eq!(r.verdict, Verdict::Fail, "{bad}");
        assert_eq!(r.findings, [finding], "{bad}");
    }

    let rl = exp(Outcome::RetryLater, None, Some("20000"));
    let mut with = ans(503, "");
    with.headers = vec![("retry-after".into(), "1".into())];
    assert_eq!(j.judge(&target(&rl, false), &with).verdict, Verdict::Pass);
    let r = j.judge(&target(&rl, false), &ans(503, ""));
    assert_eq!(
        r.findings,
        [Finding::HeaderMissing {
            outcome: Outcome::RetryLater,
            header: "Retry-After".into(),
        }]
    );
    assert_eq!(
        r.reason,
        "contract [retry_later] required_headers: the answer has no Retry-After header"
    );
}

/// Issue 9 items 1 and 2 at the judge: escaped echoes fail, an undecodable answer fails.
#[test]
fn escaped_echoes_and_undecodable_answers_fail() {
    let j = judge("");
    let e = exp(Outcome::Reject, None, None);
    let ct = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY+/8=";
    let t = Target {
        case_id: "test.case",
        expected: &e,
        forbidden: &[],
        ciphertext: Some(ct),
        refusal_allowed: false,
    };
    let gson = format!(
        r#"{{"error":"Aes内容 \u003d {}"}}"#,
        ct.replace('=', "\\u003d")
    );
    let r = j.judge(&t, &ans(400, &gson));
    assert_eq!(r.findings, [Finding::CiphertextEchoed], "{}", r.reason);
    let mut zstd = ans(400, "(zstd)");
    zstd.undecodable = Some("Content-Encoding \"zstd\" is not one the harness can decode".into());
    let r = j.judge(&t, &zstd);
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(
        r.findings,
        [Finding::Undecodable {
            why: "Content-Encoding \"zstd\" is not one the harness can decode".into()
        }]
    );
    assert!(r.reason.starts_with("always (readable answer)"));
}

/// Issue 18: every part of an answer is judged like its body.
#[test]
fn headers_and_the_reason_phrase_fail_like_a_body() {
    let j = judge("");
    let e = exp(Outcome::Reject, None, None);
    let key = KeySet::embedded().aes.to_base64();
    let with_header = |name: &str, value: &str| Answer {
        headers: vec![
            ("content-type".into(), "application/json".into()),
            (name.into(), value.into()),
        ],
        ..ans(400, r#"{"status":"rejected","error":"bad_signature"}"#)
    };
    let codes = |a: &Answer| -> Vec<&'static str> {
        verdict(&j, &e, &[], a)
            .findings
            .iter()
            .map(Finding::code)
            .collect()
    };
    assert_eq!(codes(&with_header("x-debug-key", &key)), ["secret-leaked"]);
    let pct = key
        .replace('/', "%2F")
        .replace('+', "%2B")
        .replace('=', "%3D");
    assert_eq!(
        codes(&with_header("set-cookie", &format!("k={pct}"))),
        ["secret-leaked"]
    );
    assert_eq!(
        codes(&with_header(
            "x-error",
            "java.lang.NullPointerException at java.util.Objects"
        )),
        ["stack-trace"]
    );
    let ct = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY+/==";
    assert_eq!(codes(&with_header("x-content", ct)), ["ciphertext-echoed"]);
    let canary = ["13900000017".to_string()];
    let leaked = verdict(&j, &e, &canary, &with_header("x-user", "13900000017"));
    assert_eq!(
        leaked.findings[0].code(),
        "mobile-leaked",
        "a forbidden mobile in a header"
    );
    let reason = Answer {
        reason: Some(format!("Bad key={key}")),
        ..ans(400, r#"{"status":"rejected"}"#)
    };
    assert_eq!(codes(&reason), ["secret-leaked"]);
    // Ordinary headers are not findings.
    let plain = Answer {
        headers: vec![
            ("date".into(), "Sat, 05 Dec 2026 12:00:00 GMT".into()),
            ("x-request-id".into(), "17332195123456789".into()),
            ("content-length".into(), "42".into()),
        ],
        reason: Some("Rejected".into()),
        ..ans(400, r#"{"status":"rejected","error":"bad_signature"}"#)
    };
    assert!(codes(&plain).is_empty(), "{:?}", codes(&plain));
}

/// Issue 18: a mobile of another case of the run (or of a test user) fails any answer, as a
/// critical cross-user leak naming its owner; the case's own and expected mobiles never do.
#[test]
fn another_users_identity_fails_any_answer() {
    let j = judge("");
    j.ledger().record(
        crate::leak::IdentityKind::Mobile,
        "13911112222",
        "platform.success.mainland",
    );
    let e = exp(Outcome::PlatformError, None, Some("40003"));
    let body = r#"{"status":"platform_error","code":"40003","user":{"mobile":"13911112222"}}"#;
    let v = verdict(&j, &e, &[], &ans(422, body));
    assert_eq!(v.verdict, Verdict::Fail);
    assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
    assert_eq!(v.findings[0].code(), "identity-crossed");
    assert!(
        v.reason.contains("case platform.success.mainland"),
        "{}",
        v.reason
    );
    assert_eq!(
        crate::finding::severity_with(alipay_sim::Severity::Low, &v.findings),
        alipay_sim::Severity::Critical
    );
    // A test user's mobile, in a header.
    let alice = Answer {
        headers: vec![("x-user".into(), "13812345678".into())],
        ..ans(422, r#"{"status":"platform_error"}"#)
    };
    let v = verdict(&j, &exp(Outcome::PlatformError, None, None), &[], &alice);
    assert!(v.reason.contains("test user alice"), "{}", v.reason);
    // The expected mobile is never crossed, even when it is a test user's.
    let ok = verdict(
        &j,
        &exp(Outcome::Accept, Some("13812345678"), None),
        &[],
        &ans(200, r#"{"status":"ok","mobile":"13812345678"}"#),
    );
    assert_eq!(ok.verdict, Verdict::Pass, "{}", ok.reason);
}
