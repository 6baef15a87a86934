//! `alipay-harness merchant --keys DIR` on a directory that holds only what a merchant has (the
//! Alipay public key and the AES key, no private key): it serves and opens genuine envelopes;
//! a missing or broken key file is one exit-2 error line naming the file.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use alipay_sim::{
    Catalogue, KeySet, MerchantKeys, key_files::PLATFORM_AES as AES,
    key_files::PLATFORM_PUBLIC_B64 as PUBLIC_B64, key_files::PLATFORM_PUBLIC_PEM as PUBLIC_PEM,
};
use assert_cmd::cargo::CommandCargoExt as _;
use predicates::prelude::*;

/// A merchant-only directory holding the files in `keep` (of the three a merchant may have).
fn merchant_dir(keep: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    MerchantKeys::embedded().write_dir(dir.path()).unwrap();
    for rel in [PUBLIC_PEM, PUBLIC_B64, AES] {
        if !keep.contains(&rel) {
            std::fs::remove_file(dir.path().join(rel)).unwrap();
        }
    }
    dir
}

/// The merchant process; killed (by its own handle) when dropped.
struct Merchant {
    child: Child,
    url: String,
}

impl Drop for Merchant {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_merchant(keys: &Path) -> Merchant {
    let mut child = std::process::Command::cargo_bin("alipay-harness")
        .unwrap()
        .args(["merchant", "--addr", "127.0.0.1:0", "--keys"])
        .arg(keys)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_string();
    Merchant { child, url }
}

/// Posts the genuine body of catalogue case `id` (sealed with the full embedded key set, as
/// Alipay would) and returns the status and answer.
async fn post_case(url: &str, id: &str) -> (u16, serde_json::Value) {
    let built = Catalogue::embedded()
        .get(id)
        .unwrap()
        .build(&KeySet::embedded());
    let res = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(built.body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn a_merchant_only_directory_serves_and_opens_envelopes() {
    for keep in [&[PUBLIC_B64, AES][..], &[PUBLIC_PEM, AES][..]] {
        let dir = merchant_dir(keep);
        let merchant = start_merchant(dir.path());
        let (status, answer) = post_case(&merchant.url, "platform.success.mainland").await;
        assert_eq!(status, 200, "{keep:?}: {answer}");
        let expected = Catalogue::embedded()
            .get("platform.success.mainland")
            .unwrap()
            .build(&KeySet::embedded())
            .expected
            .mobile
            .unwrap();
        assert_eq!(
            answer["mobile"].as_str(),
            Some(expected.as_str()),
            "{keep:?}"
        );
        // It still verifies: a forged signature is refused.
        let (status, answer) = post_case(&merchant.url, "tamper.signature.bit-flip").await;
        assert_eq!(status, 400, "{keep:?}: {answer}");
        assert_eq!(answer["status"], "rejected");
    }
}

/// Runs `merchant --keys DIR` and checks it exits 2 with one error line containing `needles`.
fn refused(dir: &Path, needles: &[&str]) {
    let out = std::process::Command::cargo_bin("alipay-harness")
        .unwrap()
        .args(["merchant", "--addr", "127.0.0.1:0", "--keys"])
        .arg(dir)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing was served");
    assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
    assert!(stderr.starts_with("error: --keys: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    // Each part of the message is said once.
    let parts: Vec<&str> = stderr.trim_end().split(": ").collect();
    for (i, p) in parts.iter().enumerate() {
        assert!(!parts[i + 1..].contains(p), "{p:?} repeated in {stderr}");
    }
}

#[test]
fn a_missing_or_broken_key_file_is_one_error_naming_it() {
    let dir = merchant_dir(&[PUBLIC_B64]);
    refused(dir.path(), &["the AES key not found", AES]);

    let dir = merchant_dir(&[AES]);
    refused(dir.path(), &["Alipay public key", PUBLIC_B64, PUBLIC_PEM]);

    let dir = merchant_dir(&[PUBLIC_B64, AES]);
    std::fs::write(dir.path().join(AES), "not base64 at all!\n").unwrap();
    let aes_path = dir.path().join(AES);
    refused(dir.path(), &[&aes_path.display().to_string(), "base64"]);

    let dir = merchant_dir(&[PUBLIC_B64, AES]);
    std::fs::write(dir.path().join(AES), "AAAA\n").unwrap();
    refused(dir.path(), &[AES, "3 bytes", "16, 24 or 32"]);

    let dir = merchant_dir(&[PUBLIC_B64, AES]);
    std::fs::write(dir.path().join(PUBLIC_B64), "MIIBIjAN\n").unwrap();
    refused(dir.path(), &[PUBLIC_B64, "not a valid RSA key"]);

    refused(
        Path::new("/nonexistent/merchant-keys"),
        &["/nonexistent/merchant-keys"],
    );
}

#[test]
fn run_needs_the_private_key_and_says_so() {
    // `run` plays Alipay (it seals), so a merchant-only directory is not enough for it.
    let dir = merchant_dir(&[PUBLIC_B64, AES]);
    assert_cmd::Command::cargo_bin("alipay-harness")
        .unwrap()
        .args(["run", "--endpoint", "http://127.0.0.1:1/", "--keys"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: --keys: "))
        .stderr(predicate::str::contains("platform/private"));
}
