//! Known-answer checks by code we did not write: the `openssl` CLI verifies our RSA signatures
//! (`openssl dgst -verify`) and decrypts our AES ciphertexts (`openssl enc -d`), for both signing
//! backends and for every platform scenario of the embedded catalogue.
//!
//! When `openssl` is not on PATH the tests print a note and pass, unless the `CI` environment
//! variable is set, in which case they fail (CI installs openssl).

use std::fs;
use std::path::Path;
use std::process::Command;

use alipay_sim::{
    AesKey, Catalogue, KeyRole, KeySet, Kind, SignBackend, SignType, Signer, encrypt_to_base64,
    json::Kind as JsonKind, json::scan_object, parse_private_key, public_key_pem, quoted,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// True when `openssl` runs; otherwise prints why the test is skipped (or panics under CI).
fn have_openssl(test: &str) -> bool {
    match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => true,
        other => {
            let why = match other {
                Ok(out) => format!("`openssl version` exited with {}", out.status),
                Err(e) => format!("cannot run `openssl`: {e}"),
            };
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: {why}, and CI is set: openssl is required here"
            );
            eprintln!("note: {test} skipped: {why}");
            false
        }
    }
}

/// Runs openssl with `args`; returns whether it succeeded and its stderr.
fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl ran a moment ago");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// `openssl dgst -sha256|-sha1 -verify <spki pem> -signature <sig> <message>`: openssl's verdict.
fn openssl_verifies(
    dir: &Path,
    public_pem: &str,
    sign_type: SignType,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let pem = dir.join("pub.pem");
    let msg = dir.join("msg.bin");
    let sig = dir.join("sig.bin");
    fs::write(&pem, public_pem).unwrap();
    fs::write(&msg, message).unwrap();
    fs::write(&sig, signature).unwrap();
    let digest = match sign_type {
        SignType::Rsa2 => "-sha256",
        SignType::Rsa => "-sha1",
    };
    let (ok, _) = openssl(&[
        "dgst",
        digest,
        "-verify",
        path(&pem),
        "-signature",
        path(&sig),
        path(&msg),
    ]);
    ok
}

/// `openssl enc -d -aes-N-cbc -K <hex> -iv 0..0 -nosalt`: the plaintext bytes, or openssl's error.
fn openssl_decrypts(dir: &Path, key: &AesKey, ciphertext: &[u8]) -> Result<Vec<u8>, String> {
    let cipher = match key.bits() {
        128 => "-aes-128-cbc",
        192 => "-aes-192-cbc",
        256 => "-aes-256-cbc",
        n => panic!("AesKey of {n} bits"),
    };
    let ct = dir.join("ct.bin");
    let pt = dir.join("pt.bin");
    fs::write(&ct, ciphertext).unwrap();
    let _ = fs::remove_file(&pt);
    let key_hex = hex::encode(key.as_bytes());
    let iv = "0".repeat(32);
    let (ok, stderr) = openssl(&[
        "enc",
        "-d",
        cipher,
        "-K",
        &key_hex,
        "-iv",
        &iv,
        "-nosalt",
        "-in",
        path(&ct),
        "-out",
        path(&pt),
    ]);
    if ok {
        Ok(fs::read(&pt).unwrap())
    } else {
        Err(stderr)
    }
}

#[test]
fn openssl_verifies_both_backends_signatures_and_rejects_a_changed_message() {
    if !have_openssl("openssl_verifies_both_backends_signatures") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = KeySet::embedded();
    let pem = public_key_pem(keys.platform.verifier.public_key());
    let private = parse_private_key(
        include_str!("../keys/platform/private.pkcs8.pem"),
        "platform key",
    )
    .unwrap();
    let ciphertext = encrypt_to_base64(
        &keys.aes,
        br#"{"code":"10000","msg":"Success","mobile":"13800000000"}"#,
    );
    let message = quoted(&ciphertext);
    for backend in [SignBackend::AwsLc, SignBackend::RustCrypto] {
        let signer = Signer::with_backend(private.clone(), backend);
        // Without the `aws-lc` feature every signer is RustCrypto.
        if cfg!(feature = "aws-lc") {
            assert_eq!(signer.backend(), backend);
        }
        for sign_type in [SignType::Rsa2, SignType::Rsa] {
            let sig = signer.sign(sign_type, message.as_bytes());
            assert!(
                openssl_verifies(dir.path(), &pem, sign_type, message.as_bytes(), &sig),
                "openssl rejected the {backend:?} {sign_type} signature"
            );
            // The same signature over the unquoted ciphertext must not verify.
            assert!(
                !openssl_verifies(dir.path(), &pem, sign_type, ciphertext.as_bytes(), &sig),
                "openssl accepted the {backend:?} {sign_type} signature over other bytes"
            );
        }
    }
    // And not with somebody else's public key.
    let sig = keys
        .platform
        .signer
        .sign(SignType::Rsa2, message.as_bytes());
    let attacker_pem = public_key_pem(keys.attacker.verifier.public_key());
    assert!(!openssl_verifies(
        dir.path(),
        &attacker_pem,
        SignType::Rsa2,
        message.as_bytes(),
        &sig
    ));
}

#[test]
fn openssl_decrypts_every_encrypted_platform_scenario() {
    if !have_openssl("openssl_decrypts_every_encrypted_platform_scenario") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = KeySet::embedded();
    let mut checked = Vec::new();
    for scenario in Catalogue::embedded().scenarios() {
        if scenario.kind() != Kind::Platform {
            continue;
        }
        let built = scenario.build(&keys);
        if !built.encrypted {
            continue;
        }
        let id = &scenario.id;
        let members = scan_object(&built.body).unwrap_or_else(|e| panic!("{id}: {e}"));
        let response = members
            .iter()
            .find(|m| m.key == "response")
            .unwrap_or_else(|| panic!("{id}: no response member"));
        let b64 = response
            .string
            .as_deref()
            .unwrap_or_else(|| panic!("{id}: response is not a string"));
        let ciphertext = STANDARD.decode(b64).unwrap_or_else(|e| panic!("{id}: {e}"));
        let key = built
            .merchant_aes
            .as_ref()
            .unwrap_or_else(|| panic!("{id}: encrypted but no merchant AES key"));
        let plaintext = openssl_decrypts(dir.path(), key, &ciphertext)
            .unwrap_or_else(|e| panic!("{id}: openssl enc -d failed: {e}"));
        let expected = built
            .plaintext
            .as_deref()
            .unwrap_or_else(|| panic!("{id}: no plaintext"));
        assert_eq!(
            String::from_utf8_lossy(&plaintext),
            expected,
            "{id}: openssl decrypted something else"
        );
        checked.push((id.clone(), key.bits()));
    }
    for bits in [128, 192, 256] {
        assert!(
            checked.iter().any(|(_, b)| *b == bits),
            "no encrypted platform scenario with AES-{bits}: {checked:?}"
        );
    }
}

#[test]
fn openssl_verifies_every_signed_platform_scenario() {
    if !have_openssl("openssl_verifies_every_signed_platform_scenario") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = KeySet::embedded();
    let pem = public_key_pem(keys.platform.verifier.public_key());
    let mut checked = Vec::new();
    for scenario in Catalogue::embedded().scenarios() {
        if scenario.kind() != Kind::Platform {
            continue;
        }
        let built = scenario.build(&keys);
        if !built.signed {
            continue;
        }
        let id = &scenario.id;
        assert_eq!(built.signed_with, Some(KeyRole::Platform), "{id}");
        let sign_type = built
            .sign_type
            .unwrap_or_else(|| panic!("{id}: signed but no sign_type"));
        let members = scan_object(&built.body).unwrap_or_else(|e| panic!("{id}: {e}"));
        let response = members
            .iter()
            .find(|m| m.key == "response")
            .unwrap_or_else(|| panic!("{id}: no response member"));
        // The signed bytes: the raw `response` token, i.e. the ciphertext with its quotes, or the
        // raw object text of an unencrypted payload.
        let signed = &built.body[response.span.clone()];
        match response.kind {
            JsonKind::String => {
                assert!(built.encrypted, "{id}");
                assert_eq!(signed, quoted(response.string.as_deref().unwrap()), "{id}");
            }
            JsonKind::Object => assert!(!built.encrypted, "{id}"),
            other => panic!("{id}: response is {other:?}"),
        }
        let sign_b64 = members
            .iter()
            .find(|m| m.key == "sign")
            .and_then(|m| m.string.as_deref())
            .unwrap_or_else(|| panic!("{id}: signed but no sign string"));
        let sig = STANDARD
            .decode(sign_b64)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(
            openssl_verifies(dir.path(), &pem, sign_type, signed.as_bytes(), &sig),
            "{id}: openssl dgst ({sign_type}) -verify rejected the signature"
        );
        checked.push((id.clone(), sign_type));
    }
    for sign_type in [SignType::Rsa2, SignType::Rsa] {
        assert!(
            checked.iter().any(|(_, t)| *t == sign_type),
            "no signed platform scenario with {sign_type}: {checked:?}"
        );
    }
}
