//! Snapshots (insta) of the three report formats for two fixed runs: the reference merchant and
//! the `leaky-errors` broken merchant, each on the same three cases (a success, a tampered
//! signature, a case that does not apply), so a pass, a fail with its findings and a skip appear
//! in every format. Each merchant runs in-process on `127.0.0.1:0`; times, the port and the
//! tool version are redacted, everything else (envelopes, answers, curls) is deterministic.
//!
//! After an intended change of a report: `INSTA_UPDATE=always cargo test -p alipay-harness
//! --test snapshots`, then review the diff of `tests/snapshots/`.

use alipay_harness::cli::{Cli, run_async};
use alipay_harness::merchant::{Broken, MerchantConfig, spawn};
use clap::Parser;

const CONTRACT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contracts/reference.toml");

/// The cases of every snapshot: a success, a refusal, a case that does not apply (a skip).
const CASES: [&str; 3] = [
    "platform.success.mainland",
    "tamper.signature.bit-flip",
    "platform.success.unsigned",
];

/// The terminal, JSON and JUnit reports of one run against `cfg`.
async fn reports(cfg: MerchantConfig) -> (String, String, String) {
    let merchant = spawn(cfg).await.expect("merchant starts");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let junit = dir.path().join("report.xml");
    let mut args = vec![
        "alipay-harness".to_string(),
        "run".into(),
        "--endpoint".into(),
        merchant.url(),
        "--contract".into(),
        CONTRACT.into(),
        "--format".into(),
        "terminal".into(),
        "--format".into(),
        format!("json={}", json.display()),
        "--format".into(),
        format!("junit={}", junit.display()),
    ];
    for c in CASES {
        args.extend(["--cases".to_string(), c.to_string()]);
    }
    let cli = Cli::try_parse_from(args).unwrap();
    let mut terminal = Vec::new();
    run_async(cli, &mut terminal, false).await.unwrap();
    merchant.shutdown().await.expect("merchant stops");
    (
        stable_progress(&String::from_utf8(terminal).unwrap()),
        std::fs::read_to_string(&json).unwrap(),
        std::fs::read_to_string(&junit).unwrap(),
    )
}

/// The terminal report with its progress lines (`[k/N] ...`, in completion order) sorted by case
/// and their counters replaced by `[*/N]`: cases run in parallel, so the order varies.
fn stable_progress(text: &str) -> String {
    let is_progress = |l: &&str| l.starts_with('[') && l.contains('/') && l.contains("] ");
    let mut progress: Vec<String> = text
        .lines()
        .filter(is_progress)
        .map(|l| {
            let (counter, rest) = l.split_once("] ").unwrap();
            let total = counter.rsplit('/').next().unwrap();
            format!("[*/{total}] {rest}")
        })
        .collect();
    progress.sort_by(|a, b| {
        a.split_whitespace()
            .nth(2)
            .cmp(&b.split_whitespace().nth(2))
    });
    let mut progress = progress.into_iter();
    text.lines()
        .map(|l| match is_progress(&l) {
            true => progress.next().unwrap(),
            false => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Snapshots the three reports of `cfg` as `NAME.terminal`, `NAME.json` and `NAME.junit`.
async fn snapshot(name: &str, cfg: MerchantConfig) {
    let (terminal, json, junit) = reports(cfg).await;
    insta::with_settings!({
        filters => vec![
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
            (r"alipay-harness \d+\.\d+\.\d+", "alipay-harness [VERSION]"),
            (r#""(elapsed_ms|duration_ms)": \d+"#, r#""$1": "[MS]""#),
            (r#"time="\d+\.\d+""#, r#"time="[S]""#),
            (r"\(\d+ ms\)", "([MS] ms)"),
            (r"in \d+\.\d+ s", "in [S] s"),
        ],
    }, {
        insta::assert_snapshot!(format!("{name}.terminal"), terminal);
        insta::assert_snapshot!(format!("{name}.json"), json);
        insta::assert_snapshot!(format!("{name}.junit"), junit);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_merchant_reports() {
    snapshot("reference", MerchantConfig::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaky_merchant_reports() {
    snapshot(
        "leaky-errors",
        MerchantConfig {
            broken: Some(Broken::LeakyErrors),
            ..MerchantConfig::default()
        },
    )
    .await;
}
