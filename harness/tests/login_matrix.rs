//! The login verdict matrix: the reference merchant's `POST /login` passes every `login.*` case,
//! and each broken login fails exactly the cases of its bug class. Each test starts a simulator
//! (the gateway) and a merchant configured with it in-process on `127.0.0.1:0`, and runs the real
//! `alipay-harness run --login-endpoint ... --simulator ...` binary with the reference contract.

use std::collections::BTreeSet;
use std::process::Command;

use alipay_harness::login::sim::Embedded;
use alipay_harness::merchant::login::LoginGateway;
use alipay_harness::merchant::{Broken, MerchantConfig, spawn};
use alipay_sim::KeySet;

const CONTRACT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contracts/reference.toml");

const ALL: &[&str] = &[
    "login.code.expired",
    "login.code.other-app",
    "login.code.reused",
    "login.gateway.bad-signature",
    "login.gateway.busy",
    "login.gateway.http-error",
    "login.gateway.slow",
    "login.genuine.auth-user",
    "login.scope.auth-base",
    "login.scope.auth-base-no-profile",
    "login.smuggled.mobile",
    "login.smuggled.open-id",
    "login.smuggled.user-id",
];

struct Run {
    exit_code: i32,
    failing: BTreeSet<String>,
    passed: BTreeSet<String>,
    report: serde_json::Value,
}

async fn run(broken: Option<Broken>, contract: bool) -> Run {
    run_with(broken, contract, &[]).await
}

async fn run_with(broken: Option<Broken>, contract: bool, extra: &[String]) -> Run {
    let keys = KeySet::embedded();
    let sim = Embedded::start("127.0.0.1:0".parse().unwrap(), keys.clone())
        .await
        .expect("simulator starts");
    let merchant = spawn(MerchantConfig {
        broken,
        login: Some(LoginGateway {
            url: sim.url().join("gateway.do").unwrap(),
            app_id: "demo".into(),
            app_key: keys.app.clone(),
        }),
        ..MerchantConfig::default()
    })
    .await
    .expect("merchant starts");
    let mut args = vec![
        "run".to_string(),
        "--login-endpoint".into(),
        format!("{}login", merchant.url()),
        "--simulator".into(),
        sim.url().to_string(),
        "--format".into(),
        "json=-".into(),
    ];
    if contract {
        args.extend(["--contract".into(), CONTRACT.into()]);
    }
    args.extend(extra.iter().cloned());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_alipay-harness"))
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .expect("the harness binary runs")
    })
    .await
    .expect("harness thread");
    merchant.shutdown().await.expect("merchant stops");
    sim.shutdown().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "the JSON report does not parse ({e})\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let ids = |verdicts: &[&str]| -> BTreeSet<String> {
        report["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .filter(|c| verdicts.contains(&c["verdict"].as_str().unwrap_or_default()))
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    Run {
        exit_code: output.status.code().expect("exit code"),
        failing: ids(&["fail", "error"]),
        passed: ids(&["pass"]),
        report,
    }
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn explain(run: &Run) -> String {
    run.report["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("  {} [{}] {}\n", c["id"], c["verdict"], c["reason"]))
        .collect()
}

/// Case `id` of the JSON report.
fn case<'a>(run: &'a Run, id: &str) -> &'a serde_json::Value {
    run.report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} in the report"))
}

/// The codes of the findings of case `id`.
fn codes(run: &Run, id: &str) -> Vec<String> {
    case(run, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

async fn assert_broken(kind: Broken, expected: &[&str]) -> Run {
    let r = run(Some(kind), true).await;
    assert_eq!(r.failing, set(expected), "{kind}:\n{}", explain(&r));
    assert_eq!(r.exit_code, 1);
    assert_eq!(
        r.passed.len(),
        ALL.len() - expected.len(),
        "{}",
        explain(&r)
    );
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_login_passes_every_case_with_and_without_the_contract() {
    for contract in [true, false] {
        let r = run(None, contract).await;
        assert_eq!(r.passed, set(ALL), "contract {contract}:\n{}", explain(&r));
        assert_eq!(r.exit_code, 0);
        assert!(
            r.report["cases"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["kind"] == "login")
        );
    }
}

/// The login cases travel in the JSON report (valid under the committed schema) and in JUnit
/// like any other case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_cases_are_in_the_json_schema_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("login.xml");
    let r = run_with(
        Some(Broken::LoginNoVerify),
        true,
        &["--format".into(), format!("junit={}", junit.display())],
    )
    .await;
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../report.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&r.report)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    for id in ALL {
        assert!(
            xml.contains(&format!("name=\"{id}\"")),
            "{id} in JUnit:\n{xml}"
        );
    }
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
    assert!(xml.contains("unverified-answer-accepted"), "{xml}");
}

/// Each login case's user and the tokens the gateway issued for it go into the run's ledger,
/// owned by the case: another case's answer naming them is a cross-user leak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_identities_and_tokens_are_recorded_in_the_run_ledger() {
    use alipay_harness::contract::Contract;
    use alipay_harness::delivery::Delivery;
    use alipay_harness::judge::Judge;
    use alipay_harness::leak::{KeyMaterial, Views};
    use alipay_harness::login::{self, LoginCase, LoginRun, sim::Simulator};
    use alipay_harness::transport::{HttpClient, Limits, TlsOptions};

    let keys = KeySet::embedded();
    let sim = Embedded::start("127.0.0.1:0".parse().unwrap(), keys.clone())
        .await
        .unwrap();
    let merchant = spawn(MerchantConfig {
        login: Some(LoginGateway {
            url: sim.url().join("gateway.do").unwrap(),
            app_id: "demo".into(),
            app_key: keys.app.clone(),
        }),
        ..MerchantConfig::default()
    })
    .await
    .unwrap();
    let client = Simulator::new(sim.url()).unwrap();
    let judge = Judge::new(Contract::default(), KeyMaterial::from_keys(&keys));
    let http = HttpClient::with_tls(
        Limits {
            timeout: std::time::Duration::from_secs(5),
            max_answer_bytes: 65536,
        },
        &TlsOptions::default(),
    )
    .unwrap();
    let endpoint = reqwest::Url::parse(&format!("{}login", merchant.url())).unwrap();
    let delivery = Delivery::raw();
    let run = LoginRun {
        endpoint: &endpoint,
        sim: &client,
        app: "demo",
        client: &http,
        delivery: &delivery,
        judge: &judge,
        slow_ms: 100,
    };
    let results = login::run(&run, &[LoginCase::Genuine]).await.unwrap();
    assert_eq!(results[0].verdict, alipay_harness::verdict::Verdict::Pass);
    let journal = client.journal(0).await.unwrap();
    let token = journal
        .iter()
        .find_map(|e| e["answer"]["alipay_system_oauth_token_response"]["access_token"].as_str())
        .expect("the gateway issued a token")
        .to_string();
    let alice = client.user("demo", "alice").await.unwrap();
    let open_id = alice.open_id.clone().unwrap();
    let text = format!("{{\"token\":\"{token}\",\"open_id\":\"{open_id}\"}}");
    let views = Views::of(&text);
    // Crossed for any other case, the genuine login's own for it.
    let crossed = judge
        .ledger()
        .crossed_in(&views, "platform.success.mainland");
    let values: Vec<&str> = crossed.iter().map(|c| c.value.as_str()).collect();
    assert!(
        values.contains(&token.as_str()) && values.contains(&open_id.as_str()),
        "{crossed:?}"
    );
    assert!(
        judge
            .ledger()
            .crossed_in(&views, LoginCase::Genuine.id())
            .is_empty()
    );
    merchant.shutdown().await.unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusting_the_clients_identity_fails_the_smuggled_cases() {
    let r = assert_broken(
        Broken::LoginTrustsClient,
        &[
            "login.smuggled.mobile",
            "login.smuggled.open-id",
            "login.smuggled.user-id",
        ],
    )
    .await;
    assert_eq!(codes(&r, "login.smuggled.open-id"), ["identity-mismatch"]);
    assert_eq!(codes(&r, "login.smuggled.user-id"), ["identity-mismatch"]);
    assert_eq!(
        codes(&r, "login.smuggled.mobile"),
        ["mobile-leaked", "mobile-mismatch"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_answer_taken_for_a_login_fails_the_refused_code_cases() {
    let r = assert_broken(
        Broken::LoginErrorAsSuccess,
        &[
            "login.code.expired",
            "login.code.other-app",
            "login.code.reused",
            "login.gateway.busy",
        ],
    )
    .await;
    assert_eq!(codes(&r, "login.code.reused"), ["code-reuse-accepted"]);
    assert_eq!(codes(&r, "login.code.expired"), ["expired-code-accepted"]);
    assert_eq!(codes(&r, "login.code.other-app"), ["foreign-code-accepted"]);
    assert!(codes(&r, "login.gateway.busy").contains(&"login-while-gateway-busy".to_string()));
    // Without a contract too: a 200 to a busy gateway is a login under the login rules, although
    // the phone-mode retry-later default (any 2xx or 4xx, or 503) would let it through.
    let r = run(Some(Broken::LoginErrorAsSuccess), false).await;
    assert_eq!(
        r.failing,
        set(&[
            "login.code.expired",
            "login.code.other-app",
            "login.code.reused",
            "login.gateway.busy",
        ]),
        "{}",
        explain(&r)
    );
    assert_eq!(
        codes(&r, "login.gateway.busy"),
        ["login-while-gateway-busy"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_gateway_answer_fails_the_bad_signature_case() {
    let r = assert_broken(Broken::LoginNoVerify, &["login.gateway.bad-signature"]).await;
    assert_eq!(
        codes(&r, "login.gateway.bad-signature"),
        ["unverified-answer-accepted"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_on_a_gateway_error_page_fails_the_http_error_case() {
    let r = assert_broken(
        Broken::LoginCrashOnGatewayError,
        &["login.gateway.http-error"],
    )
    .await;
    assert_eq!(codes(&r, "login.gateway.http-error"), ["crash"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_answer_to_a_busy_gateway_fails_the_busy_case() {
    assert_broken(Broken::LoginBusyFinal, &["login.gateway.busy"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_the_profile_under_auth_base_fails_the_no_profile_case() {
    let r = assert_broken(
        Broken::LoginReadsProfile,
        &["login.scope.auth-base-no-profile"],
    )
    .await;
    assert_eq!(
        codes(&r, "login.scope.auth-base-no-profile"),
        ["profile-read"]
    );
}

/// `--expected-failures` applies to the login cases as to the others: the listed failing login
/// case becomes XFAIL (exit 0), and a listed login case that passes is XPASS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_failures_apply_to_login_cases() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("expected.toml");
    std::fs::write(
        &file,
        "[[expected]]\nid = \"login.gateway.bad-signature\"\nreason = \"verification lands next sprint\"\n\n\
         [[expected]]\nid = \"login.code.reused\"\nreason = \"listed by mistake\"\n",
    )
    .unwrap();
    let r = run_with(
        Some(Broken::LoginNoVerify),
        true,
        &["--expected-failures".into(), file.display().to_string()],
    )
    .await;
    assert_eq!(
        case(&r, "login.gateway.bad-signature")["verdict"],
        "expected_failure",
        "{}",
        explain(&r)
    );
    assert_eq!(case(&r, "login.code.reused")["verdict"], "unexpected_pass");
    assert_eq!(r.report["summary"]["expected_failures"], 1);
    assert_eq!(r.report["summary"]["unexpected_passes"], 1);
    assert!(r.failing.is_empty(), "{}", explain(&r));
}
