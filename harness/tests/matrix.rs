//! The verdict matrix: proof that the harness judges right.
//!
//! Each test starts one merchant of `alipay_harness::merchant` in-process on `127.0.0.1:0`,
//! runs the real `alipay-harness run` binary against it with the reference contract and a JSON
//! report on stdout, and asserts the exact sets of case ids that fail (or error) and that are
//! skipped. The reference merchant passes everything that applies to it, under every
//! configuration; each broken merchant fails precisely the cases that target its bug.
//!
//! The expected sets were derived from `scenarios/*.toml` and the merchants' code (the reasoning
//! is in the comment above each set), then confirmed by running.

use std::collections::BTreeSet;
use std::process::Command;

use alipay_harness::merchant::{Broken, MerchantConfig, spawn};
use alipay_sim::{AesSize, Signing};

const CONTRACT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contracts/reference.toml");

/// What one harness run reported.
struct Run {
    exit_code: i32,
    /// Ids whose verdict is `fail` or `error`.
    failing: BTreeSet<String>,
    /// Ids whose verdict is `error` (no verdict) only.
    errors: BTreeSet<String>,
    /// Ids whose verdict is `skip`.
    skipped: BTreeSet<String>,
    /// Ids whose verdict is `pass`.
    passed: BTreeSet<String>,
    /// The report, for failure messages.
    report: serde_json::Value,
}

/// Runs the harness binary against `cfg` with `extra` flags and the reference contract.
async fn run(cfg: MerchantConfig, extra: &[&str]) -> Run {
    run_with(cfg, extra, true).await
}

/// Runs the harness binary against `cfg` with `extra` flags, with or without the reference
/// contract (without it, the default rules judge).
async fn run_with(cfg: MerchantConfig, extra: &[&str], contract: bool) -> Run {
    run_primed(cfg, extra, contract, &[]).await
}

/// [`run_with`], after sending the merchant the genuine envelopes of the catalogue cases
/// `prime` (a user who logged in before the run).
async fn run_primed(cfg: MerchantConfig, extra: &[&str], contract: bool, prime: &[&str]) -> Run {
    let merchant = spawn(cfg).await.expect("merchant starts");
    let catalogue = alipay_sim::Catalogue::embedded();
    let keys = alipay_sim::KeySet::embedded();
    for id in prime {
        let body = catalogue
            .get(id)
            .expect("a catalogue case")
            .build(&keys)
            .body;
        let res = reqwest::Client::new()
            .post(merchant.url())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the merchant answers the priming request");
        assert!(res.status().is_success(), "{id} primes the merchant");
    }
    let mut args: Vec<String> = vec![
        "run".into(),
        "--endpoint".into(),
        merchant.url(),
        "--format".into(),
        "json=-".into(),
    ];
    if contract {
        args.extend(["--contract".into(), CONTRACT.into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    // The merchant serves on this runtime's other worker while the harness process runs.
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
            .expect("cases array")
            .iter()
            .filter(|c| verdicts.contains(&c["verdict"].as_str().unwrap_or_default()))
            .map(|c| c["id"].as_str().expect("case id").to_string())
            .collect()
    };
    Run {
        exit_code: output.status.code().expect("exit code"),
        failing: ids(&["fail", "error"]),
        errors: ids(&["error"]),
        skipped: ids(&["skip"]),
        passed: ids(&["pass"]),
        report,
    }
}

impl Run {
    /// The report entry of case `id` (which must be in the report).
    fn case(&self, id: &str) -> &serde_json::Value {
        self.report["cases"]
            .as_array()
            .expect("cases array")
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} is in the report"))
    }
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// The failing cases' verdicts and reasons, for assertion messages.
fn explain(run: &Run) -> String {
    run.report["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| run.failing.contains(c["id"].as_str().unwrap_or_default()))
        .map(|c| format!("  {} [{}] {}\n", c["id"], c["verdict"], c["reason"]))
        .collect()
}

fn broken(kind: Broken) -> MerchantConfig {
    MerchantConfig {
        broken: Some(kind),
        ..MerchantConfig::default()
    }
}

/// Cases that need a merchant configured otherwise than RSA2 / AES-128.
const SKIPPED_BY_DEFAULT: &[&str] = &[
    "platform.success.cert",
    "platform.success.cert-alipay-cert-sn",
    "platform.success.aes-192",
    "platform.success.aes-256",
    "platform.success.no-gateway",
    "platform.success.rsa-sha1",
    "platform.success.unsigned",
];

/// The error-oracle check: it applies to every merchant that verifies signatures.
const ORACLE: &str = "behaviour.oracle.uniform-rejection";

/// Unencrypted, unsigned platform errors: readable by every merchant, so they apply to every
/// configuration.
const ANY_CONFIGURATION: &[&str] = &[
    "platform.busy.20000-unencrypted",
    "platform.error.40001-missing-default-signature-type",
    "platform.error.40001-missing-encrypt-key",
    "platform.error.40001-missing-encrypt-key-bare",
    "platform.error.40002-invalid-encrypt",
];

/// Nothing fails or errors, and the run exits 0.
fn assert_clean(run: &Run, what: &str) {
    assert!(run.failing.is_empty(), "{what} fails:\n{}", explain(run));
    assert_eq!(run.exit_code, 0, "{what} exits 0");
}

/// Runs a broken merchant under the default profile and checks the exact failing set.
async fn assert_broken(kind: Broken, extra: &[&str], expected_failing: &[&str]) {
    let run = run(broken(kind), extra).await;
    assert_eq!(
        run.failing,
        set(expected_failing),
        "{kind}: failing cases differ from the matrix; got:\n{}",
        explain(&run)
    );
    assert_eq!(
        run.skipped,
        set(SKIPPED_BY_DEFAULT),
        "{kind}: skipped cases"
    );
    assert_eq!(run.exit_code, 1, "{kind}: a failing run exits 1");
}

/// The reference merchant under a profile: every applicable case passes, exit 0, and exactly the
/// cases of other configurations are skipped.
async fn assert_reference(cfg: MerchantConfig, flags: &[&str], applicable: &[&str]) {
    let run = run(cfg, flags).await;
    assert_clean(&run, &format!("reference {flags:?}"));
    let applicable = set(applicable);
    assert_eq!(
        run.passed, applicable,
        "reference {flags:?}: the cases that ran and passed"
    );
    assert!(!run.skipped.is_empty(), "{flags:?} skips some cases");
    assert!(run.skipped.is_disjoint(&applicable));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_passes_everything_in_the_standard_configuration() {
    let run = run(MerchantConfig::default(), &[]).await;
    assert_clean(&run, "reference");
    assert_eq!(run.skipped, set(SKIPPED_BY_DEFAULT));
    for id in [
        "platform.success.mainland",
        "tamper.signature.unquoted-content",
        "behaviour.concurrency.distinct-mobiles",
        ORACLE,
    ] {
        assert!(run.passed.contains(id), "{id} ran and passed");
    }
    // The unsigned platform errors are reported, and the reason says so.
    let case = run.case("platform.error.40001-missing-encrypt-key");
    assert!(
        case["reason"]
            .as_str()
            .unwrap()
            .contains("reported the unsigned platform error 40001"),
        "{case}"
    );
    // A behaviour check's pass names its rule, as every pass does.
    let reason = run.case("behaviour.concurrency.distinct-mobiles")["reason"].to_string();
    assert!(
        reason.contains("pass by the behaviour check (distinct mobiles)"),
        "{reason}"
    );
    assert_eq!(
        run.report["summary"]["passed"].as_u64(),
        Some(run.passed.len() as u64)
    );
}

/// Issue 9 item 5: a merchant that refuses the unsigned platform errors (rather than reporting
/// them) is just as right: everything passes, and the reasons say it refused and what reporting
/// would have told the developer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_refusing_unsigned_errors_passes_too() {
    let cfg = MerchantConfig {
        refuse_unsigned_errors: true,
        ..MerchantConfig::default()
    };
    let run = run(cfg, &[]).await;
    assert_clean(&run, "reference refusing unsigned errors");
    for id in ANY_CONFIGURATION {
        let case = run.case(id);
        assert_eq!(case["answer"]["status"], 400, "{case}");
        let reason = case["reason"].as_str().unwrap();
        assert!(
            reason.contains("the merchant refused it")
                && reason.contains("reporting it would have told the developer"),
            "{id}: {reason}"
        );
    }
    // An unsigned success is refused as before.
    assert!(run.passed.contains("tamper.plaintext.success-unsigned"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_without_signing() {
    let cfg = MerchantConfig {
        signing: Signing::None,
        ..MerchantConfig::default()
    };
    let mut applicable = ANY_CONFIGURATION.to_vec();
    applicable.extend(["platform.success.no-gateway", "platform.success.unsigned"]);
    assert_reference(cfg, &["--merchant-signing", "none"], &applicable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_with_legacy_rsa() {
    let cfg = MerchantConfig {
        signing: Signing::Rsa,
        ..MerchantConfig::default()
    };
    let mut applicable = ANY_CONFIGURATION.to_vec();
    applicable.extend(["platform.success.rsa-sha1", ORACLE]);
    assert_reference(cfg, &["--merchant-signing", "RSA"], &applicable).await;
}

/// A merchant that declares certificate mode also runs the cert-only cases, and passes them: the
/// key set's certificate holds the platform key (checked when the set is loaded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_in_certificate_mode() {
    let run = run(MerchantConfig::default(), &["--merchant-signing", "cert"]).await;
    assert_clean(&run, "reference (cert)");
    for id in [
        "platform.success.cert",
        "platform.success.cert-alipay-cert-sn",
        "tamper.cert.app-key-signature",
        "platform.success.mainland",
    ] {
        assert!(run.passed.contains(id), "{id} ran and passed");
    }
    let mut skipped = set(SKIPPED_BY_DEFAULT);
    skipped.remove("platform.success.cert");
    skipped.remove("platform.success.cert-alipay-cert-sn");
    assert_eq!(run.skipped, skipped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_with_aes_192() {
    let cfg = MerchantConfig {
        aes_bits: AesSize::Aes192,
        ..MerchantConfig::default()
    };
    let mut applicable = ANY_CONFIGURATION.to_vec();
    applicable.extend(["platform.success.aes-192", ORACLE]);
    assert_reference(cfg, &["--merchant-aes-bits", "192"], &applicable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_with_aes_256() {
    let cfg = MerchantConfig {
        aes_bits: AesSize::Aes256,
        ..MerchantConfig::default()
    };
    let mut applicable = ANY_CONFIGURATION.to_vec();
    applicable.extend(["platform.success.aes-256", ORACLE]);
    assert_reference(cfg, &["--merchant-aes-bits", "256"], &applicable).await;
}

/// Without verification, only the signature cases catch it: every other tamper case is also
/// refused by strict decryption (bad padding, bad base64, garbled plaintext after a ciphertext
/// bit flip), by the duplicate-key check, or because an unencrypted success is never trusted.
/// The oracle check catches it too: its forged envelope with a well-formed ciphertext is
/// accepted while the others are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_verify() {
    assert_broken(
        Broken::SkipVerify,
        &[],
        &[
            ORACLE,
            "tamper.cert.app-key-signature",
            "tamper.signature.attacker-key",
            "tamper.signature.bit-flip",
            "tamper.signature.sign-removed",
            "tamper.signature.sign-type-downgrade",
            "tamper.signature.unquoted-content",
        ],
    )
    .await;
}

/// Verifying the wrong bytes refuses every genuine signed, encrypted envelope (including the
/// behaviour check's success envelopes) and accepts the one signed over the unquoted text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unquoted_sign() {
    assert_broken(
        Broken::UnquotedSign,
        &[],
        &[
            "behaviour.concurrency.distinct-mobiles",
            "platform.busy.20000",
            "platform.error.40003-invalid-auth-relations",
            "platform.error.40006-insufficient-permissions",
            "platform.error.40006-user-info-not-approved",
            "platform.success.empty-mobile",
            "platform.success.full-fields",
            "platform.success.mainland",
            "platform.success.mobile-absent",
            "platform.success.overseas",
            "tamper.delivery.form-content-type",
            "tamper.payload.non-ascii-submsg",
            "tamper.signature.unquoted-content",
        ],
    )
    .await;
}

/// Re-serialising a ciphertext string gives the same bytes; only a signed plaintext object
/// (with its `\/` escapes) changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserialise() {
    assert_broken(
        Broken::Reserialise,
        &[],
        &["tamper.payload.signed-plaintext-error"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_mobile_ok() {
    assert_broken(
        Broken::EmptyMobileOk,
        &[],
        &[
            "platform.success.empty-mobile",
            "platform.success.mobile-absent",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_final() {
    assert_broken(
        Broken::BusyFinal,
        &[],
        &["platform.busy.20000", "platform.busy.20000-unencrypted"],
    )
    .await;
}

/// Garbage is what the body cases send; the huge body is refused by the body limit before the
/// handler parses anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_on_garbage() {
    assert_broken(
        Broken::CrashOnGarbage,
        &[],
        &[
            "tamper.body.empty",
            "tamper.body.non-json",
            "tamper.body.wrong-shape",
        ],
    )
    .await;
}

/// Only the case delivered as `application/x-www-form-urlencoded` goes through the form parser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_decode() {
    assert_broken(
        Broken::FormDecode,
        &[],
        &["tamper.delivery.form-content-type"],
    )
    .await;
}

/// `--concurrency 1` sends the single cases one at a time, where a shared slot is harmless, so
/// only the behaviour check (which sends in parallel by design) catches the bug. With the
/// default concurrency, overlapping single cases would also fail, but which ones depends on
/// timing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_cipher() {
    assert_broken(
        Broken::SharedCipher,
        &["--concurrency", "1"],
        &["behaviour.concurrency.distinct-mobiles"],
    )
    .await;
}

/// The rejecting tamper cases whose refusal goes through a merchant's error path (every one but
/// the huge body, which the 64 KiB limit refuses first): a merchant leaking on that path fails
/// exactly these.
const EVERY_LEAKING_REFUSAL: &[&str] = &[
    "tamper.aes.bad-padding",
    "tamper.aes.non-base64",
    "tamper.aes.truncated-ciphertext",
    "tamper.aes.wrong-key",
    "tamper.body.empty",
    "tamper.body.non-json",
    "tamper.body.wrong-shape",
    "tamper.cert.app-key-signature",
    "tamper.ciphertext.bit-flip",
    "tamper.envelope.duplicate-response",
    "tamper.plaintext.success-bogus-sign",
    "tamper.plaintext.success-unsigned",
    "tamper.signature.attacker-key",
    "tamper.signature.bit-flip",
    "tamper.signature.sign-removed",
    "tamper.signature.sign-type-downgrade",
    "tamper.signature.unquoted-content",
];

/// Every refusal leaks the AES key, so every rejecting tamper case fails, except the huge body:
/// the 64 KiB limit refuses it before the handler's error path. The oracle check's forged
/// envelopes are refused the same way, so it fails too (uniformly, but with the key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaky_errors() {
    assert_broken(
        Broken::LeakyErrors,
        &[],
        &[EVERY_LEAKING_REFUSAL, &[ORACLE]].concat(),
    )
    .await;
}

/// Every applicable case times out: an error verdict each, never a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow() {
    let run = run(
        broken(Broken::Slow),
        &["--timeout-ms", "500", "--concurrency", "16"],
    )
    .await;
    assert_eq!(run.exit_code, 1);
    assert_eq!(run.skipped, set(SKIPPED_BY_DEFAULT));
    assert!(run.passed.is_empty(), "nothing passes: {:?}", run.passed);
    let verdicts: BTreeSet<&str> = run.report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] != "skip")
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, BTreeSet::from(["error"]), "{}", explain(&run));
    assert!(
        run.failing
            .contains("behaviour.concurrency.distinct-mobiles")
    );
    assert!(run.failing.contains("platform.success.mainland"));
}

/// Leaks hidden by escaping (false pass 1): Gson writes the ciphertext's `=` as `\u003d`, so
/// only a harness that reads the JSON as a user would sees the echo. The SDK exception (and so
/// the leak) happens only when decryption fails under a valid signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escaped_leak() {
    assert_broken(
        Broken::EscapedLeak,
        &[],
        &[
            "tamper.aes.bad-padding",
            "tamper.aes.non-base64",
            "tamper.aes.truncated-ciphertext",
            "tamper.aes.wrong-key",
        ],
    )
    .await;
}

/// Leaks hidden by compression (false pass 2): exactly what `leaky-errors` fails, now that the
/// gzipped answers are decoded (and the success cases, whose mobile is inside the gzip, pass).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_leak() {
    assert_broken(
        Broken::GzipLeak,
        &[],
        &[EVERY_LEAKING_REFUSAL, &[ORACLE]].concat(),
    )
    .await;
}

/// The padding oracle (false pass 3): every single case is answered correctly; only the
/// behaviour check comparing the rejections of forged envelopes sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decrypt_first() {
    let run = run(broken(Broken::DecryptFirst), &[]).await;
    assert_eq!(run.failing, set(&[ORACLE]), "{}", explain(&run));
    assert!(run.errors.is_empty(), "{}", explain(&run));
    let case = run.case(ORACLE);
    let findings = case["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{case}");
    assert_eq!(findings[0]["code"], "rejections-differ", "{case}");
    let message = findings[0]["message"].as_str().unwrap();
    for part in [
        "bad_padding",
        "bad_signature",
        "VERSUS",
        "decrypts before it verifies",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert!(
        case["reason"].as_str().unwrap().ends_with(message),
        "{case}"
    );
    assert!(case["curl"].as_str().unwrap().contains("# (a)"), "{case}");
    assert!(
        case["notes"][0].as_str().unwrap().starts_with("timing"),
        "{case}"
    );
    assert_eq!(case["severity"], "critical");
    assert_eq!(run.exit_code, 1);
}

/// A crash on one input (false pass 4): the connection drops on garbage bodies while every
/// other case is answered, so those cases fail (not "error") at their own severity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_reset() {
    let run = run(broken(Broken::CrashReset), &[]).await;
    let crashed = set(&[
        "tamper.body.empty",
        "tamper.body.non-json",
        "tamper.body.wrong-shape",
    ]);
    assert_eq!(run.failing, crashed, "{}", explain(&run));
    assert!(
        run.errors.is_empty(),
        "a crash is a failure, not an error:\n{}",
        explain(&run)
    );
    for c in run.report["cases"].as_array().unwrap() {
        if crashed.contains(c["id"].as_str().unwrap()) {
            assert_eq!(c["findings"].as_array().unwrap().len(), 1, "{c}");
            assert_eq!(c["findings"][0]["code"], "crash", "{c}");
            assert!(
                c["reason"]
                    .as_str()
                    .unwrap()
                    .contains("a crash is a failure"),
                "{c}"
            );
        }
    }
    assert_eq!(run.exit_code, 1);
}

/// A redirect answers no case (false pass 4, second half): without a contract, the default
/// rules used to take a 302 for a reported platform error, a missing mobile or "retry later".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_errors_without_a_contract() {
    let run = run_with(broken(Broken::RedirectErrors), &[], false).await;
    assert_eq!(
        run.failing,
        set(&[
            "platform.busy.20000",
            "platform.busy.20000-unencrypted",
            "platform.error.40001-missing-default-signature-type",
            "platform.error.40001-missing-encrypt-key",
            "platform.error.40001-missing-encrypt-key-bare",
            "platform.error.40002-invalid-encrypt",
            "platform.error.40003-invalid-auth-relations",
            "platform.error.40006-insufficient-permissions",
            "platform.error.40006-user-info-not-approved",
            "platform.success.empty-mobile",
            "platform.success.mobile-absent",
            "tamper.payload.non-ascii-submsg",
            "tamper.payload.signed-plaintext-error",
        ]),
        "{}",
        explain(&run)
    );
    assert_eq!(run.exit_code, 1);
}

/// Issue 18: the AES key in a response header of every refusal (the body is clean). Every case
/// whose refusal goes through the handler's error path fails, as for [`leaky_errors`], and the
/// error-oracle check too (its forged envelopes are refused the same way).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_in_header() {
    let run = run(broken(Broken::KeyInHeader), &[]).await;
    assert_eq!(
        run.failing,
        set(&[EVERY_LEAKING_REFUSAL, &[ORACLE]].concat()),
        "{}",
        explain(&run)
    );
    for id in EVERY_LEAKING_REFUSAL {
        let case = run.case(id);
        assert_eq!(case["findings"][0]["code"], "secret-leaked", "{case}");
        assert_eq!(case["findings"].as_array().unwrap().len(), 1, "{case}");
    }
    assert_eq!(run.exit_code, 1);
}

/// The cases a correct merchant answers as a final platform error (the reference merchant's
/// 422 `platform_error` path): every `outcome = "platform_error"` scenario, genuine 400xx errors
/// signed or not, and the two tamper cases whose payload is a genuine error.
const FINAL_PLATFORM_ERRORS: &[&str] = &[
    "platform.error.40001-missing-default-signature-type",
    "platform.error.40001-missing-encrypt-key",
    "platform.error.40001-missing-encrypt-key-bare",
    "platform.error.40002-invalid-encrypt",
    "platform.error.40003-invalid-auth-relations",
    "platform.error.40006-insufficient-permissions",
    "platform.error.40006-user-info-not-approved",
    "tamper.payload.non-ascii-submsg",
    "tamper.payload.signed-plaintext-error",
];

/// Issue 18: a shared "current user" object puts the previous user's mobile into platform-error
/// answers. A user logged in before the run (the genuine `platform.success.mainland` envelope),
/// so every final platform error carries some other case's mobile: each of those cases fails
/// with `identity-crossed` naming the case the mobile was sealed for, at critical severity.
/// Nothing else fails: success answers carry their own mobile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_user() {
    let run = run_primed(
        broken(Broken::SharedUser),
        &[],
        true,
        &["platform.success.mainland"],
    )
    .await;
    let expected: BTreeSet<String> = run.report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["expected"]["outcome"] == "platform_error" && c["verdict"] != "skip")
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(set(FINAL_PLATFORM_ERRORS), expected);
    assert_eq!(run.failing, expected, "{}", explain(&run));
    for id in &expected {
        let case = run.case(id);
        let findings = case["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 1, "{case}");
        assert_eq!(findings[0]["code"], "identity-crossed", "{case}");
        let message = findings[0]["message"].as_str().unwrap();
        assert!(message.contains("which belongs to case "), "{message}");
        assert_eq!(case["severity"], "critical", "{case}");
    }
    assert_eq!(run.exit_code, 1);
}
