//! `alipay-sim corpus`: every line opens with the merchant's keys to its stated outcome, mobiles
//! are distinct, the CSV form reads back with Python's csv module, and bad flags exit 2.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command as Std;

use alipay_sim::{KeySet, Opened, Opener, Outcome, corpus::Record};
use predicates::prelude::*;

mod common;
use common::sim;

fn read_ndjson(path: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "the last line is terminated");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn write_corpus(dir: &Path, name: &str, args: &[&str]) -> std::path::PathBuf {
    let out = dir.join(name);
    sim()
        .arg("corpus")
        .args(args)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("wrote "));
    out
}

/// Opens `r.envelope` as the reference merchant does and checks the stated outcome.
fn check_opens_to_its_outcome(opener: &Opener, r: &Record) {
    let got = opener.open(&r.envelope);
    match r.expect.outcome {
        Outcome::Accept => {
            let mobile = r
                .expect
                .mobile
                .clone()
                .expect("accept lines state the mobile");
            assert_eq!(got.unwrap().result, Opened::Mobile(mobile), "line {}", r.id);
        }
        Outcome::NoMobile => assert_eq!(got.unwrap().result, Opened::EmptyMobile),
        Outcome::PlatformError | Outcome::RetryLater => match got.unwrap().result {
            Opened::PlatformError(e) => {
                assert_eq!(Some(&e.code), r.expect.code.as_ref(), "line {}", r.id);
                assert_eq!(
                    e.is_retryable(),
                    r.expect.outcome == Outcome::RetryLater,
                    "line {}",
                    r.id
                );
            }
            other => panic!("line {} ({}): {other:?}", r.id, r.case),
        },
        Outcome::Reject => {
            assert!(got.is_err(), "line {} ({}) opened: {got:?}", r.id, r.case)
        }
    }
    if let Some(c) = &r.canary {
        // The canary is a real mobile of this line, never the answer.
        assert!(c.len() >= 11, "line {}: canary {c}", r.id);
    }
}

#[test]
fn a_mixed_corpus_round_trips_every_line_to_its_stated_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let out = write_corpus(
        dir.path(),
        "mixed.ndjson",
        &[
            "--count",
            "600",
            "--mix",
            "genuine=6,platform=2,tamper=2",
            "--seed",
            "11",
        ],
    );
    let records = read_ndjson(&out);
    assert_eq!(records.len(), 600);
    let keys = KeySet::embedded();
    let opener = Opener::new(Some(keys.platform.verifier.clone()), Some(keys.aes.clone()));
    let mut outcomes = HashSet::new();
    let mut cases = HashSet::new();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.id, i as u64, "lines are in id order");
        check_opens_to_its_outcome(&opener, r);
        outcomes.insert(r.expect.outcome);
        cases.insert(r.case.clone());
    }
    // All five outcome classes show up in a mix of this size, from many cases.
    assert_eq!(outcomes.len(), 5, "{outcomes:?}");
    assert!(cases.len() > 20, "{cases:?}");
    let genuine = records.iter().filter(|r| r.case == "genuine").count();
    assert!(
        (300..=420).contains(&genuine),
        "about 60% genuine, got {genuine}"
    );
    assert!(
        !out.with_extension("ndjson.partial").exists(),
        "no partial file left"
    );
}

#[test]
fn mobiles_and_envelopes_are_distinct_and_a_seed_reproduces_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_corpus(
        dir.path(),
        "a.ndjson",
        &["--count", "3000", "--mix", "genuine=8,tamper.signature=2"],
    );
    let again = write_corpus(
        dir.path(),
        "again.ndjson",
        &[
            "--count",
            "3000",
            "--mix",
            "genuine=8,tamper.signature=2",
            "--threads",
            "1",
        ],
    );
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&again).unwrap());
    let records = read_ndjson(&a);
    let mut mobiles = HashSet::new();
    let mut envelopes = HashSet::new();
    for r in &records {
        for m in r.expect.mobile.iter().chain(r.canary.iter()) {
            assert!(
                mobiles.insert(m.clone()),
                "mobile {m} repeats (line {})",
                r.id
            );
        }
        assert!(
            envelopes.insert(r.envelope.clone()),
            "line {} repeats an envelope",
            r.id
        );
    }
    assert!(mobiles.len() >= 3000, "every line carries a mobile");
    let other = write_corpus(dir.path(), "b.ndjson", &["--count", "50", "--seed", "2"]);
    let first: Vec<_> = records[..50]
        .iter()
        .map(|r| r.expect.mobile.clone())
        .collect();
    let second: Vec<_> = read_ndjson(&other)
        .into_iter()
        .map(|r| r.expect.mobile)
        .collect();
    assert_ne!(first, second, "another seed, other mobiles");
}

#[test]
fn csv_reads_back_with_pythons_csv_module_as_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--count",
        "200",
        "--mix",
        "genuine=1,platform=1,tamper=1",
        "--seed",
        "5",
    ];
    let nd = write_corpus(dir.path(), "c.ndjson", &args);
    let mut csv_args = args.to_vec();
    csv_args.extend(["--format", "csv"]);
    let csv = write_corpus(dir.path(), "c.csv", &csv_args);
    // Python's csv module (not ours) turns the CSV into NDJSON with the same field layout.
    let script = r#"
import csv, json, sys
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        expect = {"outcome": row["outcome"]}
        for k in ("mobile", "code", "sub_code"):
            if row[k]:
                expect[k] = row[k]
        rec = {"id": int(row["id"]), "case": row["case"], "expect": expect}
        for k in ("canary", "content_type"):
            if row[k]:
                rec[k] = row[k]
        rec["envelope"] = row["envelope"]
        print(json.dumps(rec, ensure_ascii=False))
"#;
    let out = Std::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&csv)
        .output()
        .expect("python3 runs (the test suite needs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_csv: Vec<Record> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(from_csv, read_ndjson(&nd));
}

#[test]
fn stdout_gets_the_corpus_and_stderr_the_summary() {
    let out = sim()
        .args(["corpus", "--count", "3", "--out", "-"])
        .assert()
        .success()
        .stderr(predicate::str::contains("wrote 3 lines"));
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn bad_flags_exit_2_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.ndjson");
    let out = out.to_str().unwrap();
    for (args, says) in [
        (vec!["--count", "0", "--out", out], "--count 0"),
        (
            vec!["--count", "7000000001", "--out", out],
            "between 1 and 7000000000",
        ),
        (vec!["--count", "ten", "--out", out], "invalid value 'ten'"),
        (vec!["--count", "5"], "--out"),
        (vec!["--count", "5", "--out", out, "--format", "xml"], "xml"),
        (
            vec!["--count", "5", "--out", out, "--mix", "nope=1"],
            "\"nope\" is neither",
        ),
        (
            vec!["--count", "5", "--out", out, "--mix", "genuine"],
            "not NAME=WEIGHT",
        ),
        (
            vec!["--count", "5", "--out", out, "--mix", "genuine=0"],
            "positive",
        ),
        (
            vec![
                "--count",
                "5",
                "--out",
                out,
                "--mix",
                "platform.success.unsigned=1",
            ],
            "RSA2 and AES-128",
        ),
        (
            vec!["--count", "5", "--out", out, "--threads", "5000"],
            "--threads 5000",
        ),
        (
            vec!["--count", "5", "--out", out, "--keys", "/nonexistent/keys"],
            "/nonexistent/keys",
        ),
        (
            vec!["--count", "5", "--out", dir.path().to_str().unwrap()],
            "is a directory",
        ),
        (
            vec!["--count", "5", "--out", "/nonexistent/dir/c.ndjson"],
            "/nonexistent/dir/c.ndjson",
        ),
    ] {
        sim()
            .arg("corpus")
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says))
            .stderr(predicate::str::contains("panicked").not());
    }
    assert!(!Path::new(out).exists(), "nothing written on bad flags");
}
