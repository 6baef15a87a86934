//! The committed JSON schema (`harness/report.schema.json`) against real output, and the JUnit
//! and terminal reports of the same run. The endpoint is an axum app written here: it answers
//! `200 {"ok":true}` to everything (so accept cases fail for want of the mobile, and reject cases
//! fail for the 200), and never answers the empty-body case (an error verdict); the non-default
//! merchant configurations give skips. So every verdict appears.

use std::time::Duration;

use alipay_harness::cli::{Cli, run_async};
use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use clap::Parser;

const SCHEMA: &str = include_str!("../report.schema.json");

async fn spawn_endpoint() -> String {
    async fn answer(headers: HeaderMap) -> (axum::http::StatusCode, &'static str) {
        if headers
            .get("x-alipay-harness-case")
            .is_some_and(|v| v == "tamper.body.empty")
        {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        (axum::http::StatusCode::OK, "{\"ok\":true}")
    }
    let app = Router::new().fallback(post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/phone?app=demo")
}

/// The finding codes of a case in the JSON report.
fn codes(case: &serde_json::Value) -> Vec<String> {
    case["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// The schema lists exactly the codes the harness can give (and the codes never change).
#[test]
fn the_schema_lists_every_finding_code() {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
    let listed: Vec<&str> = schema["$defs"]["finding"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(listed, alipay_harness::finding::CODES);
}

async fn run(args: &[&str]) -> (i32, Vec<u8>) {
    let cli = Cli::try_parse_from(args).unwrap();
    let mut out = Vec::new();
    let code = run_async(cli, &mut out, false).await.unwrap();
    (code, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_matches_the_committed_schema_and_other_formats_agree() {
    let endpoint = spawn_endpoint().await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let json = dir.path().join("report.json");
    let (code, terminal) = run(&[
        "alipay-harness",
        "run",
        "--endpoint",
        &endpoint,
        "--timeout-ms",
        "500",
        "--concurrency",
        "8",
        "--format",
        "terminal",
        "--format",
        &format!("json={}", json.display()),
        "--format",
        &format!("junit={}", junit.display()),
    ])
    .await;
    assert_eq!(code, 1);

    let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // Every verdict occurs, so every branch of the schema was exercised.
    let cases = report["cases"].as_array().unwrap();
    for v in ["pass", "fail", "error", "skip"] {
        assert!(cases.iter().any(|c| c["verdict"] == v), "no {v} case");
    }
    let get = |id: &str| cases.iter().find(|c| c["id"] == id).unwrap();
    let accept = get("platform.success.mainland");
    assert_eq!(accept["verdict"], "fail");
    assert_eq!(codes(accept), ["mobile-missing"], "{accept}");
    assert!(
        accept["reason"]
            .as_str()
            .unwrap()
            .contains("does not contain the mobile")
    );
    assert_eq!(accept["findings"][0]["message"], accept["reason"]);
    assert!(!accept["why"].as_str().unwrap().is_empty());
    assert!(!accept["fix"].as_str().unwrap().is_empty());
    assert!(accept["curl"].as_str().unwrap().contains("?app=demo"));
    assert_eq!(get("tamper.body.empty")["verdict"], "error");
    assert_eq!(get("platform.success.unsigned")["verdict"], "skip");
    // Behaviour check answered 200 without the mobile: a fail, at critical severity.
    let b = get("behaviour.concurrency.distinct-mobiles");
    assert_eq!(b["verdict"], "fail");
    assert_eq!(b["severity"], "critical");
    // The error-oracle check is a case like any other: 200 to forged envelopes is no refusal.
    let o = get("behaviour.oracle.uniform-rejection");
    assert_eq!(o["verdict"], "fail", "{o}");
    assert_eq!(o["kind"], "behaviour");
    assert_eq!(o["severity"], "critical");
    assert!(
        o["reason"].as_str().unwrap().contains("was not refused"),
        "{o}"
    );
    assert!(codes(o).contains(&"not-refused".to_string()), "{o}");
    assert!(o["notes"][0].as_str().unwrap().starts_with("timing"), "{o}");
    // Every pass and fail names the rule that decided it.
    for c in cases
        .iter()
        .filter(|c| c["verdict"] == "pass" || c["verdict"] == "fail")
    {
        let reason = c["reason"].as_str().unwrap();
        assert!(
            [
                "always (",
                "contract [",
                "default rule for ",
                "run rule (",
                "behaviour check ("
            ]
            .iter()
            .any(|r| reason.contains(r)),
            "{reason}"
        );
    }

    // The schema is not vacuous: a broken document is rejected.
    let mut broken = report.clone();
    broken["cases"][0]["verdict"] = "maybe".into();
    assert!(!validator.is_valid(&broken));
    let mut broken = report.clone();
    broken["summary"].as_object_mut().unwrap().remove("skipped");
    assert!(!validator.is_valid(&broken));
    // A fail without findings, or a finding with an unknown code, is invalid too.
    let fail = cases.iter().position(|c| c["verdict"] == "fail").unwrap();
    let mut broken = report.clone();
    broken["cases"][fail]["findings"] = serde_json::json!([]);
    assert!(!validator.is_valid(&broken));
    let mut broken = report.clone();
    broken["cases"][fail]["findings"][0]["code"] = "made-up".into();
    assert!(!validator.is_valid(&broken));

    // JUnit: names are ids, classnames families, one element per non-pass verdict.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let s = &report["summary"];
    assert!(xml.contains("<testsuite name=\"alipay-harness\""));
    assert!(
        xml.contains("<testcase name=\"tamper.signature.bit-flip\" classname=\"tamper.signature\"")
    );
    assert!(xml.contains(
        "<testcase name=\"behaviour.oracle.uniform-rejection\" classname=\"behaviour.oracle\""
    ));
    assert!(xml.contains("note: timing"));
    for (element, count) in [
        ("<system-out>", "passed"),
        ("<failure ", "failed"),
        ("<error ", "errors"),
        ("<skipped ", "skipped"),
        ("<testcase ", "total"),
    ] {
        assert_eq!(
            xml.matches(element).count() as u64,
            s[count].as_u64().unwrap(),
            "{element} elements vs summary.{count}"
        );
    }

    // Terminal, not a TTY: no ANSI codes; failures carry why, fix and curl.
    let text = String::from_utf8(terminal).unwrap();
    assert!(!text.contains('\x1b'), "ANSI codes without a TTY");
    assert!(text.contains("FAIL  platform.success.mainland"));
    assert!(text.contains("  why:      "));
    assert!(text.contains("  fix:      "));
    assert!(text.contains("--data-binary @-"));
    assert!(text.contains("(exit 1)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_on_critical_ignores_lesser_failures() {
    let endpoint = spawn_endpoint().await;
    // Only a medium-severity case that fails here (a 200 to a 1 MiB body).
    let (code, out) = run(&[
        "alipay-harness",
        "run",
        "--endpoint",
        &endpoint,
        "--cases",
        "tamper.body.huge",
        "--fail-on",
        "critical",
        "--format",
        "json",
    ])
    .await;
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["cases"][0]["verdict"], "fail");
    assert_eq!(v["cases"][0]["severity"], "medium");
    assert_eq!(code, 0);
    assert_eq!(v["exit_code"], 0);
}

/// Issue 18 (known failures): `--expected-failures` turns a listed fail into `expected_failure`
/// and a listed pass into `unexpected_pass`, neither failing the run; the listed cases that did
/// not run are in `expected_not_run`; every format says so and the schema holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_failures_in_every_format() {
    let endpoint = spawn_endpoint().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("expected.toml");
    std::fs::write(
        &file,
        r#"# What this endpoint is known to get wrong.
[[expected]]
id = "platform.success.mainland"
reason = "answers without the mobile (known)"

[[expected]]
id = "platform.error.40003-invalid-auth-relations"
reason = "was broken once"

[[expected]]
id = "platform.success.unsigned"
reason = "a configuration this endpoint does not have"

[[expected]]
id = "tamper.aes.wrong-key"
reason = "not selected in this run"
"#,
    )
    .unwrap();
    let junit = dir.path().join("report.xml");
    let json = dir.path().join("report.json");
    let (code, terminal) = run(&[
        "alipay-harness",
        "run",
        "--endpoint",
        &endpoint,
        "--no-behaviour",
        "--cases",
        "platform.success.mainland",
        "--cases",
        "platform.error.40003-invalid-auth-relations",
        "--cases",
        "platform.success.unsigned",
        "--expected-failures",
        file.to_str().unwrap(),
        "--format",
        "terminal",
        "--format",
        &format!("json={}", json.display()),
        "--format",
        &format!("junit={}", junit.display()),
    ])
    .await;
    assert_eq!(code, 0, "known failures do not fail the run");
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let cases = report["cases"].as_array().unwrap();
    let get = |id: &str| cases.iter().find(|c| c["id"] == id).unwrap();
    let xfail = get("platform.success.mainland");
    assert_eq!(xfail["verdict"], "expected_failure", "{xfail}");
    assert_eq!(
        xfail["expected_failure"],
        "answers without the mobile (known)"
    );
    assert_eq!(codes(xfail), ["mobile-missing"]);
    let xpass = get("platform.error.40003-invalid-auth-relations");
    assert_eq!(xpass["verdict"], "unexpected_pass", "{xpass}");
    assert_eq!(get("platform.success.unsigned")["verdict"], "skip");
    assert_eq!(report["summary"]["expected_failures"], 1);
    assert_eq!(report["summary"]["unexpected_passes"], 1);
    assert_eq!(report["summary"]["failed"], 0);
    let not_run: Vec<(&str, &str)> = report["expected_not_run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n["why"].as_str().unwrap()))
        .collect();
    assert_eq!(not_run.len(), 2, "{not_run:?}");
    assert_eq!(not_run[0].0, "platform.success.unsigned");
    assert!(not_run[0].1.starts_with("skipped: "), "{not_run:?}");
    assert_eq!(not_run[1], ("tamper.aes.wrong-key", "not selected"));
    // An expected failure without findings is invalid, as a fail is.
    let mut broken = report.clone();
    let i = cases
        .iter()
        .position(|c| c["verdict"] == "expected_failure")
        .unwrap();
    broken["cases"][i]["findings"] = serde_json::json!([]);
    assert!(!validator.is_valid(&broken));

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("expected failure: answers without the mobile (known)"),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"verdict\" value=\"expected_failure\""),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"verdict\" value=\"unexpected_pass\""),
        "{xml}"
    );
    assert_eq!(
        xml.matches("<skipped ").count(),
        2,
        "the skip and the expected failure"
    );
    assert!(!xml.contains("<failure"), "{xml}");

    let text = String::from_utf8(terminal).unwrap();
    assert!(text.contains("XFAIL platform.success.mainland"), "{text}");
    assert!(
        text.contains("XPASS platform.error.40003-invalid-auth-relations"),
        "{text}"
    );
    assert!(text.contains("Unexpectedly passing"), "{text}");
    assert!(
        text.contains("Listed in --expected-failures but not run:"),
        "{text}"
    );
    assert!(
        text.contains("1 failed as expected, 1 unexpectedly passing"),
        "{text}"
    );
}
