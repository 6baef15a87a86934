//! The binary's contract with CI: exit codes 0/1/2, errors naming what was wrong, `--list`,
//! `list`, and shards that partition the case ids.

use std::collections::BTreeSet;

use assert_cmd::Command;
use predicates::prelude::*;

fn harness() -> Command {
    let mut c = Command::cargo_bin("alipay-harness").unwrap();
    c.env_remove("ALIPAY_HARNESS_ENDPOINT").env("NO_COLOR", "1");
    c
}

/// A loopback URL where nothing listens.
fn closed_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/")
}

fn listed(args: &[&str]) -> Vec<String> {
    let out = harness()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn demo_passes_with_exit_0_and_no_ansi_when_piped() {
    harness()
        .arg("demo")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 failed, 0 errors"))
        .stdout(predicate::str::contains(
            "behaviour.concurrency.distinct-mobiles",
        ))
        // The login cases too, against the reference merchant's POST /login.
        .stdout(predicate::str::contains("login.code.reused"))
        .stdout(predicate::str::contains("login.smuggled.user-id"))
        .stdout(predicate::str::contains("\x1b[").not());
}

/// Nothing listens: the run stops after the first few attempts with one line (exit 2, the
/// harness could not run), not a report of one identical error per case with crypto advice.
#[test]
fn unreachable_endpoint_is_exit_2_with_one_line() {
    let endpoint = closed_endpoint();
    for format in ["terminal", "json"] {
        let out = harness()
            .args(["run", "--endpoint", &endpoint, "--format", format])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .get_output()
            .clone();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!(
                "error: cannot reach {endpoint}: connection refused"
            )),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was judged"), "{stderr}");
    }
    // Fewer cases than the attempt limit: the same.
    harness()
        .args(["run", "--endpoint", &endpoint])
        .args(["--cases", "tamper.body.empty", "--no-behaviour"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("1 attempt(s)"));
}

#[test]
fn bad_flags_are_exit_2() {
    for args in [
        vec!["run"],
        vec!["run", "--endpoint", "http://127.0.0.1:1/", "--shard", "3/2"],
        vec![
            "run",
            "--endpoint",
            "http://127.0.0.1:1/",
            "--fail-on",
            "severe",
        ],
        vec![
            "run",
            "--endpoint",
            "http://127.0.0.1:1/",
            "--format",
            "html",
        ],
        vec![
            "run",
            "--endpoint",
            "http://127.0.0.1:1/",
            "--deliver",
            "body",
        ],
        vec![
            "run",
            "--endpoint",
            "http://127.0.0.1:1/",
            "--timeout-ms",
            "0",
        ],
        vec!["run", "--endpoint", "http://127.0.0.1:1/", "--bogus"],
        vec!["frobnicate"],
    ] {
        harness().args(&args).assert().code(2);
    }
}

#[test]
fn invalid_values_found_after_parsing_are_exit_2_and_named() {
    let cases: [(&[&str], &str); 7] = [
        (
            &[
                "--endpoint",
                "https://127.0.0.1:1/",
                "--cacert",
                "/nonexistent/ca.pem",
            ],
            "--cacert /nonexistent/ca.pem: cannot read",
        ),
        (
            &[
                "--endpoint",
                "https://127.0.0.1:1/",
                "--cacert",
                "Cargo.toml",
            ],
            "--cacert Cargo.toml: no '-----BEGIN CERTIFICATE-----' block",
        ),
        (&["--endpoint", "ftp://127.0.0.1/"], "ftp://127.0.0.1/"),
        (
            &[
                "--endpoint",
                "http://127.0.0.1:1/",
                "--cases",
                "tamper.nope.*",
            ],
            "tamper.nope.*",
        ),
        (
            &["--endpoint", "http://127.0.0.1:1/", "--header", "no colon"],
            "no colon",
        ),
        (
            &[
                "--endpoint",
                "http://127.0.0.1:1/",
                "--deliver",
                "template:/nonexistent/t.json",
            ],
            "/nonexistent/t.json",
        ),
        (
            &[
                "--endpoint",
                "http://127.0.0.1:1/",
                "--format",
                "json",
                "--format",
                "junit",
            ],
            "only one --format",
        ),
    ];
    for (args, needle) in cases {
        run_is_exit_2_naming(args, needle);
    }
}

/// `alipay-harness run ARGS` exits 2 with one error line naming `needle`.
fn run_is_exit_2_naming(args: &[&str], needle: &str) {
    harness()
        .arg("run")
        .args(args)
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: "))
        .stderr(predicate::str::contains(needle));
}

#[test]
fn unreadable_or_invalid_contract_is_exit_2_with_path_and_field() {
    harness()
        .args(["run", "--endpoint", "http://127.0.0.1:1/"])
        .args(["--contract", "/nonexistent/contract.toml"])
        .assert()
        .code(2)
        .stderr(
            "error: /nonexistent/contract.toml: cannot read the contract file: No such file or directory (os error 2)\n",
        );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, "[accept]\nstatus = [200]\nmobil = \"/m\"\n").unwrap();
    run_is_exit_2_naming(
        &[
            "--endpoint",
            "http://127.0.0.1:1/",
            "--contract",
            p.to_str().unwrap(),
        ],
        "c.toml: accept.mobil: unknown key",
    );
    let r = dir.path().join("r.json");
    std::fs::write(&r, "{}").unwrap();
    run_is_exit_2_naming(
        &[
            "--endpoint",
            "http://127.0.0.1:1/",
            "--last-failed",
            r.to_str().unwrap(),
        ],
        "r.json",
    );
}

#[test]
fn list_and_run_list_show_ids() {
    let all = listed(&["run", "--list"]);
    assert!(all.len() > 30);
    assert!(all.contains(&"behaviour.concurrency.distinct-mobiles".to_string()));
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
    assert!(all.contains(&"behaviour.oracle.uniform-rejection".to_string()));
    let no_b = listed(&["run", "--list", "--no-behaviour"]);
    assert_eq!(no_b.len(), all.len() - 2);
    let sig = listed(&[
        "run",
        "--list",
        "--cases",
        "tamper.signature.*",
        "--skip",
        "*.bit-flip",
    ]);
    assert!(!sig.is_empty());
    assert!(
        sig.iter()
            .all(|id| id.starts_with("tamper.signature.") && !id.ends_with("bit-flip"))
    );

    // `list` shows every mode's ids: the login cases too (`run --list` shows them only in
    // login mode).
    let text = listed(&["list"]);
    let login = listed(&[
        "run",
        "--list",
        "--login-endpoint",
        "http://127.0.0.1:1/login",
    ]);
    assert_eq!(login.len(), 13);
    assert!(login.iter().all(|id| id.starts_with("login.")));
    assert!(!all.iter().any(|id| id.starts_with("login.")));
    assert_eq!(text.len(), all.len() + login.len());
    assert!(text[0].starts_with(&all[0]));
    let both = listed(&[
        "run",
        "--list",
        "--endpoint",
        "http://127.0.0.1:1/",
        "--login-endpoint",
        "http://127.0.0.1:1/login",
    ]);
    assert_eq!(both.len(), text.len());
    let out = harness()
        .args(["list", "--format", "json", "--cases", "platform.*"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert!(!arr.is_empty());
    assert!(
        arr.iter()
            .all(|c| c["kind"] == "platform" && c["severity"].is_string())
    );
}

/// Behaviour-check ids, like catalogue ids, are never removed or renamed.
#[test]
fn landed_behaviour_ids_are_never_removed() {
    let all = listed(&["run", "--list"]);
    for id in include_str!("landed-behaviour-ids.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        assert!(
            all.iter().any(|a| a == id),
            "landed behaviour id {id} was removed"
        );
    }
}

/// Login case ids, like catalogue ids, are never removed or renamed.
#[test]
fn landed_login_ids_are_never_removed() {
    let all = listed(&["list"]);
    for id in include_str!("landed-login-ids.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        assert!(
            all.iter().any(|a| a.split_whitespace().next() == Some(id)),
            "landed login id {id} was removed"
        );
    }
}

#[test]
fn shards_partition_all_ids() {
    let all: BTreeSet<String> = listed(&["run", "--list"]).into_iter().collect();
    for n in 1..=5 {
        let mut union = BTreeSet::new();
        let mut count = 0;
        for k in 1..=n {
            let shard = listed(&["run", "--list", "--shard", &format!("{k}/{n}")]);
            count += shard.len();
            union.extend(shard);
        }
        assert_eq!(union, all, "shards of {n} cover everything");
        assert_eq!(count, all.len(), "shards of {n} are disjoint");
    }
}

#[test]
fn last_failed_selects_failed_and_errored_ids() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    // Listening but never accepting: connections complete in the kernel, answers never come.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/", silent.local_addr().unwrap());
    harness()
        .args(["run", "--endpoint", &endpoint, "--timeout-ms", "300"])
        .args(["--cases", "tamper.body.*", "--no-behaviour", "--format"])
        .arg(format!("json={}", report.display()))
        .assert()
        .code(1);
    let again = listed(&["run", "--list", "--last-failed", report.to_str().unwrap()]);
    assert_eq!(
        again,
        vec![
            "tamper.body.empty",
            "tamper.body.huge",
            "tamper.body.non-json",
            "tamper.body.wrong-shape"
        ]
    );
}

/// Runs `alipay-harness ARGS` with stdout a pipe whose reader is already gone, as
/// `alipay-harness ARGS | head` meets it: every write fails with a broken pipe
/// (deterministically, unlike a reader racing the writer). Returns the exit code and stderr.
fn into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("alipay-harness"))
        .args(args)
        .stdout(writer)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_listing_into_a_closed_pipe_ends_quietly_with_exit_0() {
    for args in [
        &["list"][..],
        &["list", "--format", "json"],
        &["run", "--list", "--endpoint", "http://127.0.0.1:1/"],
    ] {
        assert_eq!(into_closed_pipe(args), (Some(0), String::new()), "{args:?}");
    }
    // A run that cannot write its report is still an error (exit 2), named once.
    let (code, stderr) = into_closed_pipe(&["demo", "--format", "json"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

#[test]
fn version_and_help() {
    harness()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("alipay-harness "));
    harness()
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--fail-on"))
        .stdout(predicate::str::contains("--shard"))
        .stdout(predicate::str::contains(
            "[possible values: RSA2, RSA, none, cert]",
        ));
    harness()
        .args(["merchant", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "[possible values: RSA2, RSA, none, cert]",
        ));
    harness()
        .args(["run", "--endpoint", "http://127.0.0.1:1/"])
        .args(["--merchant-signing", "SHA256"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SHA256"))
        .stderr(predicate::str::contains("RSA2, RSA, none"));
}

/// `--expected-failures` with an id that is no case: exit 2, one line naming the file and line,
/// before anything is sent.
#[test]
fn an_unknown_expected_failure_id_is_exit_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("xf.toml");
    std::fs::write(
        &file,
        "[[expected]]\nid = \"tamper.aes.bad-padding\"\nreason = \"sdk\"\n\n[[expected]]\nid = \"tamper.aes.bad-paddin\"\nreason = \"typo\"\n",
    )
    .unwrap();
    let out = harness()
        .args(["run", "--endpoint", &closed_endpoint()])
        .arg("--expected-failures")
        .arg(&file)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "--expected-failures {}:6: unknown case id \"tamper.aes.bad-paddin\"",
            file.display()
        )),
        "{stderr}"
    );
}

/// Login mode's own invocation errors are exit 2 with one line naming the flag: a bad URL, a
/// template that cannot carry the code, both gateway sources, a gateway address in use, and a
/// login endpoint nothing listens on.
#[test]
fn login_mode_errors_are_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("t.json");
    std::fs::write(&template, r#"{"response":"{{envelope}}"}"#).unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let closed = closed_endpoint();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--login-endpoint".into(), "not a url".into()],
            "--login-endpoint",
        ),
        (
            vec![
                "--login-endpoint".into(),
                closed.clone(),
                "--deliver".into(),
                format!("template:{}", template.display()),
            ],
            "{{auth_code}}",
        ),
        (
            vec![
                "--login-endpoint".into(),
                closed.clone(),
                "--simulator".into(),
                "http://127.0.0.1:1/".into(),
                "--gateway-listen".into(),
                "127.0.0.1:0".into(),
            ],
            "--simulator",
        ),
        (
            vec![
                "--login-endpoint".into(),
                closed.clone(),
                "--gateway-listen".into(),
                busy_addr.clone(),
            ],
            "--gateway-listen",
        ),
        (
            vec![
                "--login-endpoint".into(),
                closed.clone(),
                "--gateway-listen".into(),
                "127.0.0.1:0".into(),
            ],
            "cannot reach",
        ),
    ];
    for (args, wanted) in cases {
        let out = harness().arg("run").args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
    }
    drop(busy);
}
