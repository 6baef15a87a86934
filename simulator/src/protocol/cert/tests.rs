use std::path::Path;

#[cfg(feature = "cert-gen")]
use super::generate;
use super::*;
use crate::KeySet;

fn keys_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/keys"))
}

fn committed(rel: &str) -> String {
    fs::read_to_string(keys_dir().join(files::DIR).join(rel)).unwrap()
}

fn blocks(text: &str) -> Vec<String> {
    text.split_inclusive("-----END CERTIFICATE-----\n")
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_sn_formula_gives_vector_e_from_the_published_issuers_and_serials() {
    // docs/protocol.md#vector-e: issuer DN strings and decimal serials as the Java SDK renders them.
    let class2 = "CN=Ant Financial Certification Authority Class 2 R1,OU=Certification Authority,O=Ant Financial,C=CN";
    assert_eq!(
        sn_of(class2, "42701552432456004857627230056898180491"),
        VECTOR_E_SN[1]
    );
    let class1 = "CN=Ant Financial Certification Authority Class 1 R1,OU=Certification Authority,O=Ant Financial,C=CN";
    assert_eq!(
        sn_of(class1, "42701552708448241360226107228231049510"),
        VECTOR_E_SN[0]
    );
}

#[test]
#[cfg(feature = "cert-gen")]
fn certificates_with_vector_e_issuers_and_serials_give_the_published_sns() {
    let files = generate::vector_e().unwrap();
    let app = PemCerts::parse("app", files.app.as_bytes()).unwrap();
    let alipay = PemCerts::parse("alipay", files.alipay.as_bytes()).unwrap();
    let root = PemCerts::parse("root", files.root.as_bytes()).unwrap();
    assert_eq!(
        root.len(),
        4,
        "non-RSA, RSA, ECDSA, RSA as in the real bundle"
    );
    assert_eq!(app.leaf_sn().unwrap(), VECTOR_E_SN[0]);
    assert_eq!(alipay.leaf_sn().unwrap(), VECTOR_E_SN[1]);
    assert_eq!(root.root_sn().unwrap(), VECTOR_E_SN[2]);
}

#[test]
fn the_committed_set_loads_checks_and_matches_its_sn_file() {
    let platform = KeySet::embedded();
    let (set, app) =
        CertSet::load_dir(keys_dir(), platform.platform.verifier.public_key()).unwrap();
    assert_eq!(set.files.app_id, TEST_APP_ID);
    assert_eq!(
        &set.alipay_public_key,
        platform.platform.verifier.public_key()
    );
    let app = app.expect("the committed set has the app key pair");
    assert_eq!(app.verifier.public_key(), &set.app_public_key);
    assert_ne!(set.app_public_key, set.alipay_public_key);
    let sn_file: serde_json::Value = serde_json::from_str(&committed(files::SN_JSON)).unwrap();
    assert_eq!(sn_file["test_only"], true);
    assert_eq!(sn_file["app_id"], TEST_APP_ID);
    assert_eq!(sn_file["app_cert_sn"], set.sn.app_cert_sn);
    assert_eq!(sn_file["alipay_cert_sn"], set.sn.alipay_cert_sn);
    assert_eq!(sn_file["alipay_root_cert_sn"], set.sn.alipay_root_cert_sn);
    // Two RSA roots out of four: two SNs joined with `_`.
    assert_eq!(set.sn.alipay_root_cert_sn.len(), 65);
    assert_eq!(blocks(&set.files.root).len(), 4);
    assert_eq!(blocks(&set.files.alipay).len(), 2);
    for text in [&set.files.root, &set.files.alipay, &set.files.app] {
        assert!(!text.contains("PRIVATE"));
    }
}

#[test]
fn the_alipay_public_key_comes_out_of_the_certificate() {
    let path = keys_dir().join(files::DIR).join(files::ALIPAY);
    assert_eq!(
        &alipay_public_key_from_cert(&path).unwrap(),
        KeySet::embedded().platform.verifier.public_key()
    );
}

#[test]
#[cfg(feature = "cert-gen")]
fn a_generated_set_round_trips_through_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = KeySet::embedded();
    keys.write_dir(tmp.path()).unwrap();
    let made = generate::generate(keys.platform.verifier.public_key(), "2021000000000042").unwrap();
    let written = made.write_dir(tmp.path()).unwrap();
    assert_eq!(written.len(), 7);
    let (set, app) = CertSet::load_dir(tmp.path(), keys.platform.verifier.public_key()).unwrap();
    assert_eq!(set.files, made.files);
    assert!(app.is_some());
    assert_eq!(set.sn.alipay_cert_sn.len(), 32);
}

fn err_of(root: &str, alipay: &str, app: &str) -> CertError {
    CertSet::from_files(
        CertFiles {
            app_id: TEST_APP_ID.into(),
            root: root.into(),
            alipay: alipay.into(),
            app: app.into(),
        },
        ["ROOT.crt", "ALIPAY.crt", "APP.crt"],
    )
    .unwrap_err()
}

#[test]
fn broken_files_are_one_named_error_each() {
    let root = committed(files::ROOT);
    let alipay = committed(files::ALIPAY);
    let app = committed(&files::app(TEST_APP_ID));
    let private = committed(files::APP_PRIVATE);
    let roots = blocks(&root);
    let no_rsa_root = format!("{}{}", roots[0], roots[2]);
    let truncated = format!("{}-----BEGIN CERTIFICATE-----\nMIIB", alipay);
    let garbage_cert = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    let cases: Vec<(String, String, String, &str, &str)> = vec![
        (
            "hello".into(),
            alipay.clone(),
            app.clone(),
            "ROOT.crt",
            "not PEM",
        ),
        (
            root.clone(),
            String::new(),
            app.clone(),
            "ALIPAY.crt",
            "empty",
        ),
        (
            root.clone(),
            alipay.clone(),
            private.clone(),
            "APP.crt",
            "not an X.509 certificate",
        ),
        (
            root.clone(),
            alipay.clone(),
            garbage_cert.into(),
            "APP.crt",
            "not an X.509 certificate",
        ),
        (
            root.clone(),
            truncated,
            app.clone(),
            "ALIPAY.crt",
            "not PEM",
        ),
        (
            no_rsa_root,
            alipay.clone(),
            app.clone(),
            "ROOT.crt",
            "no RSA-signed root",
        ),
        (
            root.clone(),
            alipay.clone(),
            roots[2].clone(),
            "APP.crt",
            "RSA public key",
        ),
        (
            format!("{}{}", roots[0], roots[3]),
            alipay.clone(),
            app.clone(),
            "ALIPAY.crt",
            "chain does not verify",
        ),
    ];
    for (root, alipay, app, file, what) in cases {
        let e = err_of(&root, &alipay, &app).to_string();
        assert!(e.contains(file) && e.contains(what), "{file}/{what}: {e}");
    }
    // Binary DER is recognised as such.
    let der = PemCerts::parse("x", app.as_bytes()).unwrap().ders()[0].clone();
    let e = PemCerts::parse("DER.crt", &der).unwrap_err().to_string();
    assert!(e.contains("DER.crt") && e.contains("binary DER"), "{e}");
}

#[test]
#[cfg(feature = "cert-gen")]
fn an_intermediate_with_the_right_name_but_another_key_breaks_the_chain() {
    let keys = KeySet::embedded();
    let other = generate::generate(keys.platform.verifier.public_key(), TEST_APP_ID).unwrap();
    let ours = blocks(&committed(files::ALIPAY));
    let theirs = blocks(&other.files.alipay);
    let e = err_of(
        &committed(files::ROOT),
        &format!("{}{}", ours[0], theirs[1]),
        &committed(&files::app(TEST_APP_ID)),
    )
    .to_string();
    assert!(
        e.contains("ALIPAY.crt") && e.contains("does not verify with the key"),
        "{e}"
    );
}

#[test]
#[cfg(feature = "cert-gen")]
fn a_leaf_with_the_wrong_key_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = KeySet::embedded();
    keys.write_dir(tmp.path()).unwrap();
    let made = generate::generate(keys.platform.verifier.public_key(), TEST_APP_ID).unwrap();
    made.write_dir(tmp.path()).unwrap();
    let cert_dir = tmp.path().join(files::DIR);
    // The merchant's classic mistake, on our side: the app certificate saved as the Alipay one.
    let app_and_intermediate = format!("{}{}", made.files.app, blocks(&made.files.alipay)[1]);
    fs::write(cert_dir.join(files::ALIPAY), app_and_intermediate).unwrap();
    let e = CertSet::load_dir(tmp.path(), keys.platform.verifier.public_key())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(files::ALIPAY) && e.contains("not the public half of the Alipay platform"),
        "{e}"
    );
    // The app key beside the certificate must match the app certificate.
    made.write_dir(tmp.path()).unwrap();
    fs::write(
        cert_dir.join(files::APP_PRIVATE),
        keys.attacker.signer.private_pem(),
    )
    .unwrap();
    let e = CertSet::load_dir(tmp.path(), keys.platform.verifier.public_key())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("appCertPublicKey_") && e.contains("app private key"),
        "{e}"
    );
    // A file that holds no key is reported as such, not as a key mismatch.
    fs::write(cert_dir.join(files::APP_PRIVATE), "not a key").unwrap();
    let e = CertSet::load_dir(tmp.path(), keys.platform.verifier.public_key())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(files::APP_PRIVATE)
            && e.contains("not a valid RSA key")
            && !e.contains("different key pairs"),
        "{e}"
    );
    // No app certificate at all.
    fs::remove_file(cert_dir.join(files::app(TEST_APP_ID))).unwrap();
    let e = CertSet::load_dir(tmp.path(), keys.platform.verifier.public_key())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no appCertPublicKey_<appid>.crt"), "{e}");
}

#[test]
fn a_der_file_on_disk_is_reported_as_der_with_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let app = committed(&files::app(TEST_APP_ID));
    let der = PemCerts::parse("x", app.as_bytes()).unwrap().ders()[0].clone();
    let der_path = tmp.path().join("alipayRootCert.der");
    fs::write(&der_path, der).unwrap();
    let dir = keys_dir().join(files::DIR);
    let e = CertSet::load(
        &der_path,
        &dir.join(files::ALIPAY),
        &dir.join(files::app(TEST_APP_ID)),
        TEST_APP_ID,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("alipayRootCert.der") && e.contains("binary DER"),
        "{e}"
    );
}
