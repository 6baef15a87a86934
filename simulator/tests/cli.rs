//! The `alipay-sim` binary: fixtures, open, keys; exit codes 0 / 1 / 2.

use std::fs;

use predicates::prelude::*;
use sha2::{Digest, Sha256};

mod common;
use common::{keys_dir, read_json, sim, write_fixtures};

/// The envelope `alipay-sim seal ID` prints (the command must succeed).
fn seal(id: &str) -> Vec<u8> {
    sim()
        .args(["seal", id])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

#[test]
fn fixtures_are_byte_identical_across_runs_and_match_the_manifest() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write_fixtures(a.path());
    sim()
        .args(["fixtures", "--out"])
        .arg(b.path())
        .arg("--keys")
        .arg(keys_dir())
        .assert()
        .success();
    let manifest: serde_json::Value = read_json(a.path().join("manifest.json"));
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
    write_fixtures(out.path());
    let mut n = 0;
    let mut per_dir = Vec::new();
    for dir in [
        out.path().to_path_buf(),
        out.path().join("rundata"),
        out.path().join("gateway"),
    ] {
        let before = n;
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() || p.file_name().unwrap() == "manifest.json" {
                continue;
            }
            let v: serde_json::Value = read_json(&p);
            let errors: Vec<String> = validator
                .iter_errors(&v)
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", p.display());
            n += 1;
        }
        per_dir.push(n - before);
    }
    assert!(
        per_dir[0] >= 30 && per_dir[1] >= 8 && per_dir[2] >= 10,
        "{per_dir:?}"
    );
    // getRunData fixtures name their API; an accept without a mobile is valid only there.
    let mut run: serde_json::Value = read_json(out.path().join("rundata/rundata.genuine.json"));
    assert_eq!(run["api"], "getRunData");
    assert!(validator.is_valid(&run));
    run.as_object_mut().unwrap().remove("api");
    assert!(
        !validator.is_valid(&run),
        "a phone fixture's accept needs a mobile"
    );
    let mut gw: serde_json::Value =
        read_json(out.path().join("gateway/gateway.error.code-invalid.json"));
    gw["sign"] = serde_json::Value::Null;
    assert!(
        !validator.is_valid(&gw),
        "a signed gateway fixture needs its sign"
    );
    // The schema is not vacuous: a fixture with a missing field or a bad outcome fails it.
    let mut bad: serde_json::Value = read_json(out.path().join("platform.success.mainland.json"));
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
    let env = seal("platform.success.mainland");
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

    let tampered = seal("tamper.signature.bit-flip");
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
        .write_stdin(seal("platform.success.unsigned"))
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
    write_fixtures(out.path());
    for (id, want) in [
        ("platform.success.mainland", "\"result\":\"mobile\""),
        (
            "platform.error.40001-missing-encrypt-key",
            "\"code\":\"40001\"",
        ),
    ] {
        let f: serde_json::Value = read_json(out.path().join(format!("{id}.json")));
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

/// Spawns `alipay-sim ARGS` with piped stdout and stderr, and reads the first stdout line (empty
/// when the command wrote none). The stdout pipe is closed on return.
fn spawn_first_line(args: &[&str]) -> (std::process::Child, String) {
    let (child, _stdout, line) = common::spawn_sim(args, std::process::Stdio::piped());
    (child, line)
}

/// Runs `alipay-sim ARGS` with stdout a pipe that the reader closes after the first line, as
/// `alipay-sim ARGS | head -1` does.
fn first_line_then_close(args: &[&str]) -> std::process::Output {
    let (child, line) = spawn_first_line(args);
    assert!(!line.is_empty());
    // The reader is dropped here: the pipe is closed while the command still writes.
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly_with_exit_0() {
    // `fixtures` prints about 120 KB, more than a pipe buffers, so it always meets the closed
    // pipe; `scenarios --json` too with a big enough catalogue, and is checked the same way.
    for args in [&["fixtures"][..], &["scenarios"], &["scenarios", "--json"]] {
        let out = first_line_then_close(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

/// Starts `alipay-sim serve ARGS`, returns its first stdout line, and stops it.
fn serve_first_line(args: &[&str]) -> (Option<i32>, String, String) {
    let (mut child, line) = spawn_first_line(&[&["serve"][..], args].concat());
    let code = if line.is_empty() {
        child.wait().unwrap().code()
    } else {
        child.kill().unwrap();
        child.wait().unwrap();
        None
    };
    let err = common::read_stderr(&mut child);
    (code, line, err)
}

#[test]
fn serve_takes_the_port_as_the_usage_line_shows() {
    for args in [&["0"][..], &["--port", "0"]] {
        let (code, line, err) = serve_first_line(args);
        assert_eq!(code, None, "{args:?} exited: {err}");
        assert!(
            line.starts_with("listening on http://127.0.0.1:"),
            "{args:?}: {line} {err}"
        );
    }
    let (code, line, err) = serve_first_line(&["0", "--addr", "127.0.0.1:0"]);
    assert_eq!((code, line.as_str()), (Some(2), ""), "{err}");
    assert!(err.contains("--addr"), "{err}");
}

#[test]
fn callback_mix_ups_name_the_flag() {
    let envelope = String::from_utf8(seal("platform.success.mainland")).unwrap();
    let callback = serde_json::json!({ "response": envelope.trim_end() }).to_string();
    // A bare envelope given to --callback.
    sim()
        .args(["open", "--callback"])
        .write_stdin(envelope.clone())
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("malformed_callback")
                .and(predicate::str::contains("drop --callback")),
        );
    // A success-callback object given without --callback.
    sim()
        .args(["open"])
        .write_stdin(callback.clone())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("pass --callback"));
    // And each the right way round opens.
    for (args, input) in [
        (&["open"][..], envelope),
        (&["open", "--callback"], callback),
    ] {
        sim()
            .args(args)
            .write_stdin(input)
            .assert()
            .success()
            .stdout(predicate::str::contains("\"result\":\"mobile\""));
    }
}

#[test]
fn open_works_with_a_merchant_only_key_directory() {
    let merchant = tempfile::tempdir().unwrap();
    for rel in ["platform/public.b64.txt", "platform/aes.b64.txt"] {
        fs::create_dir_all(merchant.path().join("platform")).unwrap();
        fs::copy(keys_dir().join(rel), merchant.path().join(rel)).unwrap();
    }
    for id in ["platform.success.mainland", "platform.success.aes-256"] {
        let envelope = seal(id);
        let bits = if id.ends_with("aes-256") {
            "256"
        } else {
            "128"
        };
        sim()
            .args(["open", "--aes-bits", bits, "--keys"])
            .arg(merchant.path())
            .write_stdin(envelope)
            .assert()
            .success()
            .stdout(predicate::str::contains("\"result\":\"mobile\""));
    }
    // The same directory cannot seal: that needs the Alipay private key, and the error says so.
    sim()
        .args(["seal", "platform.success.mainland", "--keys"])
        .arg(merchant.path())
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("platform/private.pkcs8.pem")
                .and(predicate::str::contains("merchant directory")),
        );
    // And `keys bundle` prints the merchant bundle of it.
    sim()
        .args(["keys", "bundle", "--keys"])
        .arg(merchant.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("alipay_public_key"));
}
