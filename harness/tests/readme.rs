//! The README's "The conformance harness" section is run: its contract example parses and
//! judges, every flag of its usage block exists, and every `--broken` kind it names is one.

use alipay_harness::contract::Contract;
use alipay_harness::merchant::Broken;
use clap::ValueEnum as _;

const README: &str = include_str!("../README.md");

/// The harness section of the README.
fn section() -> &'static str {
    let start = README
        .find("## The conformance harness")
        .expect("README has the harness section");
    let rest = &README[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    &rest[..end]
}

/// The fenced blocks of `lang` in `text`.
fn blocks<'a>(text: &'a str, lang: &str) -> Vec<&'a str> {
    let fence = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(&fence) {
        let body = &rest[at + fence.len()..];
        let end = body.find("```").expect("closed fence");
        out.push(&body[..end]);
        rest = &body[end + 3..];
    }
    out
}

#[test]
fn the_contract_example_parses() {
    let tomls = blocks(section(), "toml");
    assert_eq!(tomls.len(), 1, "one contract example");
    let c = Contract::parse("README.md", tomls[0]).unwrap();
    let accept = c.accept.unwrap();
    assert_eq!(accept.mobile.as_deref(), Some("/mobile"));
    assert_eq!(
        c.retry_later.unwrap().required_headers,
        vec!["Retry-After".to_string()]
    );
    assert!(
        c.no_mobile
            .unwrap()
            .equals
            .contains(&("/data".to_string(), serde_json::Value::Null))
    );
}

#[test]
fn every_flag_of_the_usage_block_exists() {
    let usage = blocks(section(), "sh")[0];
    let out = assert_cmd::Command::cargo_bin("alipay-harness")
        .unwrap()
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let mut checked = 0;
    for word in usage.split(|c: char| c.is_whitespace() || c == '[' || c == ']') {
        if let Some(flag) = word.strip_prefix("--") {
            let name: String = flag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if name == "broken" {
                continue; // a `merchant` flag, checked below
            }
            assert!(
                help.contains(&format!("--{name}")),
                "--{name} is not a run flag"
            );
            checked += 1;
        }
    }
    assert!(checked >= 19, "{checked}");
}

#[test]
fn every_broken_kind_named_exists() {
    let text = section();
    for kind in Broken::value_variants() {
        let name = kind.to_string();
        assert!(
            text.contains(&format!("`{name}`")),
            "README does not name {name}"
        );
    }
}

/// The "Login mode" section of the harness section.
fn login_section() -> &'static str {
    let text = section();
    let start = text
        .find("### Login mode")
        .expect("README has the login mode section");
    let rest = &text[start..];
    let end = rest[4..].find("\n### ").map_or(rest.len(), |e| e + 4);
    &rest[..end]
}

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The worked example runs as written (ports 8780 and 8781 replaced by free ones): the
/// reference merchant in the background, then the login run, which passes every login case.
#[test]
fn the_login_mode_example_runs() {
    use std::io::BufRead as _;
    let block = blocks(login_section(), "sh");
    assert_eq!(block.len(), 1, "one worked example");
    let (gateway, merchant) = (free_port(), free_port());
    let lines: Vec<Vec<String>> = block[0]
        .lines()
        .filter(|l| l.starts_with("alipay-harness "))
        .map(|l| {
            l.replace("8780", &gateway.to_string())
                .replace("8781", &merchant.to_string())
                .split_whitespace()
                .skip(1)
                .filter(|w| *w != "&")
                // The same file through the crate's own path, so the packaged crate (no
                // workspace around it, `.ci/package`) runs the example too.
                .map(|w| match w {
                    "harness/contracts/reference.toml" => {
                        concat!(env!("CARGO_MANIFEST_DIR"), "/contracts/reference.toml").into()
                    }
                    w => String::from(w),
                })
                .collect()
        })
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0][0], "merchant");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let bin = assert_cmd::cargo::cargo_bin("alipay-harness");
    let mut server = std::process::Command::new(&bin)
        .args(&lines[0])
        .current_dir(root)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("listening on"), "{first}");
    let out = std::process::Command::new(&bin)
        .args(&lines[1])
        .args(["--format", "json=-"])
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["summary"]["passed"], 13, "{report:#}");
    assert!(
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"].as_str().unwrap().starts_with("login."))
    );
}

/// The README's finding-codes table lists every code the harness gives.
#[test]
fn every_finding_code_is_in_the_table() {
    for code in alipay_harness::finding::CODES {
        assert!(
            README.contains(&format!("| `{code}` |")),
            "README's finding codes table lacks {code}"
        );
    }
}
