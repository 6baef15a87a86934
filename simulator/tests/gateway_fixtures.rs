//! Fixtures for the gateway's answers and for getRunData (issue 17 item 7): every signature in
//! `alipay-sim fixtures --out` is checked with the `openssl` command line, not with this crate's
//! code (which could share a bug); the getRunData ciphertexts are decrypted with `openssl enc`;
//! and the running server answers the error fixtures' exact bytes.

use std::fs;
use std::path::Path;
use std::process::Command;

use alipay_sim::{KeySet, SignType, gateway_fixtures, server, server::AppState};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tower::ServiceExt;

mod common;
#[path = "common/router.rs"]
mod router;

use common::{read_json, write_fixtures};
use router::enc;

/// The one-line SPKI as a PEM file openssl reads.
fn pem_file(dir: &Path, one_line: &str) -> std::path::PathBuf {
    let body: Vec<String> = one_line
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let p = dir.join("alipay_public.pem");
    fs::write(
        &p,
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            body.join("\n")
        ),
    )
    .unwrap();
    p
}

/// `openssl dgst -sha256 -verify` of `sign` (base64) over `content`.
fn openssl_verifies(dir: &Path, pem: &Path, content: &[u8], sign: &str) -> bool {
    let c = dir.join("content.bin");
    let s = dir.join("sign.bin");
    fs::write(&c, content).unwrap();
    fs::write(&s, STANDARD.decode(sign).unwrap()).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(pem)
        .arg("-signature")
        .arg(&s)
        .arg(&c)
        .output()
        .expect("openssl is installed");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

fn json_files(dir: &Path) -> Vec<Value> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().unwrap() != "manifest.json")
        .collect();
    names.sort();
    names.iter().map(read_json).collect()
}

#[test]
fn every_gateway_fixture_signature_verifies_with_openssl() {
    let out = tempfile::tempdir().unwrap();
    write_fixtures(out.path());
    let work = tempfile::tempdir().unwrap();
    let fixtures = json_files(&out.path().join("gateway"));
    let ids: Vec<&str> = fixtures.iter().map(|f| f["id"].as_str().unwrap()).collect();
    for id in [
        "gateway.oauth-token.success",
        "gateway.user-info-share.success",
        "gateway.error.invalid-signature",
        "gateway.error.missing-parameter",
        "gateway.error.invalid-parameter",
        "gateway.error.unknown-app",
        "gateway.error.unsupported-method",
        "gateway.error.code-invalid",
        "gateway.error.insufficient-scope",
        "gateway.error.busy",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let mut verified = 0;
    for f in &fixtures {
        let id = f["id"].as_str().unwrap();
        let body = f["response_body"].as_str().unwrap();
        let content = f["signed_content"].as_str().unwrap();
        let key = f["response_key"].as_str().unwrap();
        // The signed content stands in the body under its key, byte for byte.
        assert!(
            body.starts_with(&format!("{{\"{key}\":{content}")),
            "{id}: {body}"
        );
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            v[key]["sub_code"].as_str(),
            f["expected"]["sub_code"].as_str(),
            "{id}"
        );
        let pem = pem_file(
            work.path(),
            f["keys"]["alipay_public_key"].as_str().unwrap(),
        );
        match f["sign"].as_str() {
            Some(sign) => {
                assert_eq!(v["sign"], sign, "{id}: the body carries the fixture's sign");
                assert!(
                    openssl_verifies(work.path(), &pem, content.as_bytes(), sign),
                    "{id}: openssl does not verify"
                );
                // And openssl is not saying yes to anything: one byte more and it refuses.
                assert!(
                    !openssl_verifies(work.path(), &pem, format!("{content} ").as_bytes(), sign),
                    "{id}"
                );
                verified += 1;
            }
            None => assert!(v.get("sign").is_none(), "{id}"),
        }
    }
    assert!(verified >= 9, "{verified}");
}

#[test]
fn every_run_data_fixture_verifies_and_decrypts_with_openssl() {
    let out = tempfile::tempdir().unwrap();
    write_fixtures(out.path());
    let work = tempfile::tempdir().unwrap();
    let fixtures = json_files(&out.path().join("rundata"));
    assert!(fixtures.len() >= 8);
    // The top-level directory (what phone-number checkers read) holds no getRunData case.
    let top = read_json(out.path().join("manifest.json"));
    assert!(
        top["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["id"].as_str().unwrap().starts_with("rundata."))
    );
    let mut decrypted = 0;
    for f in &fixtures {
        let id = f["id"].as_str().unwrap();
        assert_eq!(f["api"], "getRunData", "{id}");
        if f["encrypted"] == false {
            // 加密异常: the error object itself, in the clear.
            assert_eq!(
                f["success_callback"]["response"].to_string(),
                f["plaintext"].as_str().unwrap()
            );
            continue;
        }
        let env: Value = serde_json::from_str(f["res_response"].as_str().unwrap()).unwrap();
        let ct = env["response"].as_str().unwrap();
        if let Some(sign) = env["sign"].as_str() {
            let pem = pem_file(
                work.path(),
                f["keys"]["alipay_public_key"].as_str().unwrap(),
            );
            assert!(
                openssl_verifies(work.path(), &pem, format!("\"{ct}\"").as_bytes(), sign),
                "{id}"
            );
        }
        let key_hex = hex::encode(
            STANDARD
                .decode(f["keys"]["aes_key"].as_str().unwrap())
                .unwrap(),
        );
        let ct_file = work.path().join("ct.bin");
        fs::write(&ct_file, STANDARD.decode(ct).unwrap()).unwrap();
        let plain = Command::new("openssl")
            .args(["enc", "-d", "-aes-128-cbc", "-K", &key_hex, "-iv"])
            .arg("0".repeat(32))
            .arg("-in")
            .arg(&ct_file)
            .output()
            .unwrap();
        assert!(plain.status.success(), "{id}");
        assert_eq!(
            String::from_utf8(plain.stdout).unwrap(),
            f["plaintext"].as_str().unwrap(),
            "{id}"
        );
        decrypted += 1;
    }
    assert!(decrypted >= 4, "{decrypted}");
    let genuine = read_json(out.path().join("rundata/rundata.genuine.json"));
    assert_eq!(
        genuine["plaintext"],
        r#"{"count":16880,"countDate":"2018-12-19","code":"10000","msg":"Success"}"#
    );
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<String>,
) -> (StatusCode, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let res = app
        .clone()
        .oneshot(req.body(body.map(Body::from).unwrap_or_default()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The server answers each error fixture's request with the fixture's exact bytes (the
/// insufficient-scope case needs a live auth_base token and the successes carry fresh tokens:
/// those are checked by tests/gateway.rs's flows, not byte for byte here).
#[tokio::test]
async fn the_server_answers_the_error_fixtures_bytes() {
    let keys = KeySet::embedded();
    let app = server::app(AppState::embedded());
    let (s, t) = call(
        &app,
        "POST",
        "/__admin/apps",
        Some(format!(
            r#"{{"app_id":"{}"}}"#,
            alipay_sim::GATEWAY_FIXTURE_APP_ID
        )),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let fixtures = gateway_fixtures(&keys);
    let mut compared = 0;
    for f in &fixtures {
        let busy = f.id == "gateway.error.busy";
        if f.expected.result == "success" || f.id == "gateway.error.insufficient-scope" {
            continue;
        }
        let sign = if f.id == "gateway.error.invalid-signature" {
            keys.attacker.signer.sign_base64(
                SignType::Rsa2,
                alipay_sim::gateway::signing_string(&f.request, false).as_bytes(),
            )
        } else {
            keys.app.signer.sign_base64(
                SignType::Rsa2,
                alipay_sim::gateway::signing_string(&f.request, false).as_bytes(),
            )
        };
        let query: Vec<String> = f
            .request
            .iter()
            .chain(std::iter::once(&("sign".to_string(), sign)))
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        if busy {
            call(
                &app,
                "PUT",
                "/__admin/faults",
                Some(r#"{"gateway_busy_rate":1}"#.into()),
            )
            .await;
        }
        let (status, body) = call(
            &app,
            "GET",
            &format!("/gateway.do?{}", query.join("&")),
            None,
        )
        .await;
        if busy {
            call(&app, "DELETE", "/__admin/faults", None).await;
        }
        assert_eq!(status, StatusCode::OK, "{}: {body}", f.id);
        assert_eq!(body, f.response_body, "{}", f.id);
        compared += 1;
    }
    assert_eq!(compared, 7);
}
