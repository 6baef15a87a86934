//! The `alipay-sim` binary: fixtures, open, keys; exit codes 0 / 1 / 2.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use sha2::{Digest, Sha256};

fn sim() -> Command {
    let mut c = Command::cargo_bin("alipay-sim").unwrap();
    c.env_remove("ALIPAY_SIM_KEYS")
        .env_remove("ALIPAY_SIM_SCENARIOS");
    c
}

fn keys_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../keys")
}

#[test]
fn fixtures_are_byte_identical_across_runs_and_match_the_manifest() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    sim()
        .args(["fixtures", "--out"])
        .arg(a.path())
        .assert()
        .success();
    sim()
        .args(["fixtures", "--out"])
        .arg(b.path())
        .arg("--keys")
        .arg(keys_dir())
        .assert()
        .success();
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(a.path().join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert!(files.len() >= 30);
    for f in files {
        let name = f["file"].as_str().unwrap();
        let bytes = fs::read(a.path().join(name)).unwrap();
        assert_eq!(
            bytes,
            fs::read(b.path().join(name)).unwrap(),
            "{name} differs"
        );
        assert_eq!(
            f["sha256"].as_str().unwrap(),
            hex::encode(Sha256::digest(&bytes))
        );
    }
    assert_eq!(
        fs::read(a.path().join("manifest.json")).unwrap(),
        fs::read(b.path().join("manifest.json")).unwrap()
    );
}

#[test]
fn every_fixture_validates_against_the_committed_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../fixture.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let out = tempfile::tempdir().unwrap();
    sim()
        .args(["fixtures", "--out"])
        .arg(out.path())
        .assert()
        .success();
    let mut n = 0;
    for e in fs::read_dir(out.path()).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap() == "manifest.json" {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&p).unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&v)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", p.display());
        n += 1;
    }
    assert!(n >= 30);
    // The schema is not vacuous: a fixture with a missing field or a bad outcome fails it.
    let mut bad: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(out.path().join("platform.success.mainland.json")).unwrap(),
    )
    .unwrap();
    bad["expected"]["outcome"] = "maybe".into();
    assert!(!validator.is_valid(&bad));
    bad.as_object_mut().unwrap().remove("res_response");
    assert!(!validator.is_valid(&bad));
}

#[test]
fn fixtures_without_out_print_one_json_line_per_scenario() {
    let out = sim()
        .arg("fixtures")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert!(lines.len() >= 30);
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["schema"], "alipay-sim/fixture/v1");
    }
}

#[test]
fn open_accepts_a_sealed_envelope_and_rejects_a_tampered_one() {
    let env = sim()
        .args(["seal", "platform.success.mainland"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = sim()
        .arg("open")
        .write_stdin(env.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["result"], "mobile");
    assert_eq!(v["mobile"].as_str().unwrap().len(), 11);

    let tampered = sim()
        .args(["seal", "tamper.signature.bit-flip"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    sim()
        .arg("open")
        .write_stdin(tampered)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"error\":\"bad_signature\""));
    // Explicit key files, and a merchant without signing.
    sim()
        .args(["open", "--alipay-public-key"])
        .arg(keys_dir().join("platform/public.spki.pem"))
        .arg("--aes-key")
        .arg(keys_dir().join("platform/aes.b64.txt"))
        .write_stdin(env)
        .assert()
        .success();
    sim()
        .args(["open", "--no-verify"])
        .write_stdin(
            sim()
                .args(["seal", "platform.success.unsigned"])
                .output()
                .unwrap()
                .stdout,
        )
        .assert()
        .success()
        .stdout(predicate::str::contains("\"result\":\"mobile\""));
    sim()
        .arg("open")
        .write_stdin(vec![0xff, 0xfe, b'{'])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not UTF-8"));
}

#[test]
fn open_callback_reads_the_success_callback_object() {
    let out = tempfile::tempdir().unwrap();
    sim()
        .args(["fixtures", "--out"])
        .arg(out.path())
        .assert()
        .success();
    for (id, want) in [
        ("platform.success.mainland", "\"result\":\"mobile\""),
        (
            "platform.error.40001-missing-encrypt-key",
            "\"code\":\"40001\"",
        ),
    ] {
        let f: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(out.path().join(format!("{id}.json"))).unwrap(),
        )
        .unwrap();
        let callback = f["success_callback"].to_string();
        sim()
            .args(["open", "--callback"])
            .write_stdin(callback)
            .assert()
            .success()
            .stdout(predicate::str::contains(want));
    }
    sim()
        .args(["open", "--callback"])
        .write_stdin(r#"{"res":1}"#)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("malformed_callback"));
}

#[test]
fn usage_and_input_errors_exit_2_with_a_named_cause() {
    sim().arg("--no-such-flag").assert().code(2);
    sim()
        .args(["seal", "no.such.scenario"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown scenario id \"no.such.scenario\"",
        ));
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("broken.toml"), "id = 3").unwrap();
    sim()
        .args(["scenarios", "--scenarios"])
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.toml: id:"));
    let bad_key = tmp.path().join("pub.pem");
    fs::write(
        &bad_key,
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    sim()
        .args(["open", "--alipay-public-key"])
        .arg(&bad_key)
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("pub.pem").and(predicate::str::contains("Alipay public key")),
        );
    sim()
        .args(["fixtures", "--keys"])
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("platform/private.pkcs8.pem"));
}

#[test]
fn keys_generate_writes_a_loadable_test_only_set_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    sim()
        .args(["keys", "generate", "--out"])
        .arg(tmp.path())
        .assert()
        .success()
        .stdout(predicate::str::starts_with("TEST ONLY"));
    for f in [
        "merchant.env",
        "merchant.json",
        "platform/public.b64.txt",
        "attacker/aes.b64.txt",
    ] {
        assert!(tmp.path().join(f).exists(), "{f}");
    }
    // The generated set seals fixtures that open with its own bundle, not with the default keys.
    let env = sim()
        .args(["seal", "platform.success.mainland", "--keys"])
        .arg(tmp.path())
        .output()
        .unwrap()
        .stdout;
    sim()
        .args(["open", "--keys"])
        .arg(tmp.path())
        .write_stdin(env.clone())
        .assert()
        .success();
    sim().arg("open").write_stdin(env).assert().code(1);
    sim()
        .args(["keys", "generate", "--out"])
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    let bundle = sim()
        .args(["keys", "bundle", "--env"])
        .output()
        .unwrap()
        .stdout;
    let bundle = String::from_utf8(bundle).unwrap();
    assert!(bundle.contains("ALIPAY_PUBLIC_KEY=") && !bundle.contains("PRIVATE"));
}
