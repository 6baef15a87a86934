//! Certificate mode (公钥证书) through the `alipay-sim` binary: a merchant configured with only the
//! three certificate files and the AES key opens every cert-mode fixture; the app-key forgery is
//! rejected (and accepted by the merchant that loaded the wrong certificate); `keys generate`
//! writes a certificate set and `keys bundle` prints its SNs; broken certificate files are one
//! error naming the file.

use std::fs;
use std::path::{Path, PathBuf};

mod common;
use common::{keys_dir, read_json, sim, write_fixtures};

fn cert_file(name: &str) -> PathBuf {
    keys_dir().join("cert").join(name)
}

/// `alipay-sim open --alipay-cert CERT --aes-key AES` on a fixture's res_response: (exit, stdout).
fn open_with_cert(fixture: &serde_json::Value, cert: &Path) -> (i32, serde_json::Value) {
    let out = sim()
        .arg("open")
        .arg("--alipay-cert")
        .arg(cert)
        .arg("--aes-key")
        .arg(keys_dir().join("platform/aes.b64.txt"))
        .write_stdin(fixture["res_response"].as_str().unwrap().to_owned())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

#[test]
fn a_merchant_with_only_the_certificate_files_opens_every_cert_mode_fixture() {
    let dir = tempfile::tempdir().unwrap();
    write_fixtures(dir.path());
    let sn = read_json(cert_file("cert-sn.json"));
    let alipay_cert = cert_file("alipayCertPublicKey_RSA2.crt");
    let mut cert_mode = 0;
    for entry in fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        // getPhoneNumber fixtures are the top level's *.json; rundata/ and gateway/ are their own.
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let f = read_json(&path);
        if f["merchant_profile"]["cert_mode"] != true {
            continue;
        }
        cert_mode += 1;
        let id = f["id"].as_str().unwrap();
        // The fixture carries what the console hands out, and the SNs.
        let c = &f["keys"]["cert"];
        assert_eq!(c["alipay_cert_sn"], sn["alipay_cert_sn"], "{id}");
        assert_eq!(c["alipay_root_cert_sn"], sn["alipay_root_cert_sn"], "{id}");
        assert_eq!(
            c["pem"]["alipay_cert"].as_str().unwrap(),
            fs::read_to_string(&alipay_cert).unwrap(),
            "{id}"
        );
        let (code, out) = open_with_cert(&f, &alipay_cert);
        assert_eq!(code, 0, "{id}: {out}");
        assert_eq!(out["result"], "mobile", "{id}: {out}");
        assert_eq!(out["mobile"], f["expected"]["mobile"], "{id}");
    }
    assert!(cert_mode >= 2, "only {cert_mode} cert-mode fixtures");

    let with_sn = read_json(dir.path().join("platform.success.cert-alipay-cert-sn.json"));
    let envelope = with_sn["res_response"].as_str().unwrap();
    assert!(
        envelope.ends_with(&format!(
            ",\"alipay_cert_sn\":\"{}\"}}",
            sn["alipay_cert_sn"].as_str().unwrap()
        )),
        "{envelope}"
    );
    let plain = read_json(dir.path().join("platform.success.cert.json"));
    assert!(
        !plain["res_response"]
            .as_str()
            .unwrap()
            .contains("alipay_cert_sn")
    );
}

#[test]
fn the_app_key_forgery_is_rejected_unless_the_app_certificate_was_loaded_as_alipays() {
    let dir = tempfile::tempdir().unwrap();
    write_fixtures(dir.path());
    let forged = read_json(dir.path().join("tamper.cert.app-key-signature.json"));
    assert_eq!(forged["keys"]["signed_with"], "app");
    let genuine = read_json(dir.path().join("platform.success.cert.json"));

    let right = cert_file("alipayCertPublicKey_RSA2.crt");
    let (code, out) = open_with_cert(&forged, &right);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["error"], "bad_signature", "{out}");

    // The bug the case detects: the app certificate configured as the Alipay certificate.
    let wrong = cert_file("appCertPublicKey_2021000000000001.crt");
    let (code, out) = open_with_cert(&forged, &wrong);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["mobile"], forged["canary"]);
    let (code, _) = open_with_cert(&genuine, &wrong);
    assert_eq!(code, 1, "the wrong certificate rejects genuine answers");
}

#[test]
fn keys_generate_writes_a_certificate_set_and_bundle_prints_its_sns() {
    let dir = tempfile::tempdir().unwrap();
    sim()
        .args(["keys", "generate", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let cert = dir.path().join("cert");
    for f in [
        "alipayRootCert.crt",
        "alipayCertPublicKey_RSA2.crt",
        "appCertPublicKey_2021000000000001.crt",
        "app/private.pkcs8.pem",
        "cert-sn.json",
        "README.md",
    ] {
        assert!(cert.join(f).is_file(), "{f}");
    }
    let sn = read_json(cert.join("cert-sn.json"));
    let out = sim()
        .args(["keys", "bundle", "--keys"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let bundle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in ["app_cert_sn", "alipay_cert_sn", "alipay_root_cert_sn"] {
        assert_eq!(bundle["cert"][k], sn[k], "{k}");
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains("PRIVATE"));
    let env = sim()
        .args(["keys", "bundle", "--env", "--keys"])
        .arg(dir.path())
        .output()
        .unwrap();
    let env = String::from_utf8(env.stdout).unwrap();
    assert!(
        env.contains(&format!(
            "ALIPAY_CERT_SN={}\n",
            sn["alipay_cert_sn"].as_str().unwrap()
        )),
        "{env}"
    );
    // The new set's envelopes open with its own certificate, not with the committed one.
    let sealed = sim()
        .args(["seal", "platform.success.cert", "--keys"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(sealed.status.success());
    for (cert_path, want) in [
        (cert.join("alipayCertPublicKey_RSA2.crt"), 0),
        (cert_file("alipayCertPublicKey_RSA2.crt"), 1),
    ] {
        let code = sim()
            .arg("open")
            .arg("--alipay-cert")
            .arg(&cert_path)
            .arg("--aes-key")
            .arg(dir.path().join("platform/aes.b64.txt"))
            .write_stdin(sealed.stdout.clone())
            .output()
            .unwrap()
            .status
            .code();
        assert_eq!(code, Some(want), "{}", cert_path.display());
    }
}

#[test]
fn broken_certificate_files_are_one_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not-pem.crt");
    fs::write(&not_pem, "hello").unwrap();
    let a_key = keys_dir().join("platform/public.spki.pem");
    let ecdsa_root = dir.path().join("ecdsa.crt");
    let root = fs::read_to_string(cert_file("alipayRootCert.crt")).unwrap();
    let first = root
        .split_inclusive("-----END CERTIFICATE-----\n")
        .next()
        .unwrap();
    fs::write(&ecdsa_root, first).unwrap();
    for (file, what) in [
        (not_pem.clone(), "not PEM"),
        (a_key.clone(), "not an X.509 certificate"),
        (ecdsa_root.clone(), "RSA public key"),
        (dir.path().join("missing.crt"), "cannot read"),
    ] {
        let out = sim()
            .arg("open")
            .arg("--alipay-cert")
            .arg(&file)
            .write_stdin("{}")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", file.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&file.display().to_string()) && err.contains(what),
            "{what}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // A key directory whose cert/ holds a leaf for another key is refused by name.
    let keys = tempfile::tempdir().unwrap();
    sim()
        .args(["keys", "generate", "--out"])
        .arg(keys.path())
        .assert()
        .success();
    fs::copy(
        cert_file("alipayCertPublicKey_RSA2.crt"),
        keys.path().join("cert/alipayCertPublicKey_RSA2.crt"),
    )
    .unwrap();
    let out = sim()
        .args(["seal", "platform.success.cert", "--keys"])
        .arg(keys.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("alipayCertPublicKey_RSA2.crt"), "{err}");
}

/// The README's "Certificate mode" commands, as written: seal with the embedded set, open with
/// only the committed certificate and AES key.
#[test]
fn the_readme_seal_and_open_commands_work() {
    let sealed = sim()
        .args(["seal", "platform.success.cert"])
        .output()
        .unwrap();
    assert!(sealed.status.success());
    let out = sim()
        .current_dir(keys_dir().join(".."))
        .args([
            "open",
            "--alipay-cert",
            "keys/cert/alipayCertPublicKey_RSA2.crt",
            "--aes-key",
            "keys/platform/aes.b64.txt",
        ])
        .write_stdin(sealed.stdout)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"], "mobile", "{v}");
}
