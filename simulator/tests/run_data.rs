//! `my.getRunData` (issue 17 item 6): the JSAPI route answers like getPhoneNumber, through the
//! same sealing and error table, with the user's step count as the plaintext; users carry their
//! step data; the journal records the call; forced scenarios are the catalogue's getRunData cases.

use alipay_sim::{AesKey, KeySet, RunData, SignType, Verifier, aes_decrypt, parse_public_key};
use alipay_sim::{Payload, PlatformError};
use axum::Router;
use axum::http::{Method, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

#[path = "common/router.rs"]
mod router;

use router::{Answer, fresh, send};

async fn run_data(app: &Router, user: &str, body: Option<Value>) -> Answer {
    run_data_of(app, "demo", user, body).await
}

async fn run_data_of(app: &Router, app_id: &str, user: &str, body: Option<Value>) -> Answer {
    send(
        app,
        Method::POST,
        &format!("/jsapi/apps/{app_id}/users/{user}/getRunData"),
        body,
    )
    .await
}

/// A new app with this console and one consenting user, `u`.
async fn app_with_console(app: &Router, app_id: &str, console: Value) {
    let a = send(
        app,
        Method::POST,
        "/__admin/apps",
        Some(json!({"app_id": app_id, "console": console})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let u = send(
        app,
        Method::POST,
        &format!("/__admin/apps/{app_id}/users"),
        Some(json!({"user_id": "u", "authorised": true})),
    )
    .await;
    assert_eq!(u.status, StatusCode::CREATED, "{}", u.text);
}

/// What a careful merchant reads from a success callback, with the demo app's bundle: the
/// signature checked over the quoted ciphertext, then the AES-decrypted plaintext.
async fn read(app: &Router, a: &Answer) -> String {
    read_of(app, "demo", a).await
}

async fn read_of(app: &Router, app_id: &str, a: &Answer) -> String {
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.callback(), Some("success"), "{}", a.text);
    let b = send(
        app,
        Method::GET,
        &format!("/__admin/apps/{app_id}/bundle"),
        None,
    )
    .await;
    let verifier = Verifier::new(
        parse_public_key(b.json["alipay_public_key"].as_str().unwrap(), "b").unwrap(),
    );
    let aes = AesKey::from_base64(b.json["aes_key"].as_str().unwrap()).unwrap();
    let envelope: Value = serde_json::from_str(a.json["response"].as_str().unwrap()).unwrap();
    let ct = envelope["response"].as_str().unwrap();
    let sign = STANDARD.decode(envelope["sign"].as_str().unwrap()).unwrap();
    verifier
        .verify(SignType::Rsa2, format!("\"{ct}\"").as_bytes(), &sign)
        .expect("signed over the quoted ciphertext");
    String::from_utf8(aes_decrypt(&aes, &STANDARD.decode(ct).unwrap()).unwrap()).unwrap()
}

#[tokio::test]
async fn the_step_count_comes_sealed_like_a_phone_number() {
    let app = fresh();
    let put = send(
        &app,
        Method::PATCH,
        "/__admin/apps/demo/users/alice",
        Some(json!({"steps": 16880})),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.json["steps"], 16880);
    let a = run_data(&app, "alice", Some(json!({"countDate": "2018-12-19"}))).await;
    assert_eq!(
        read(&app, &a).await,
        r#"{"count":16880,"countDate":"2018-12-19","code":"10000","msg":"Success"}"#
    );
    // The same bytes the model seals: one code path for both APIs.
    let keys = KeySet::embedded();
    let d = alipay_sim::decide_run_data(
        &alipay_sim::Console::default(),
        true,
        RunData {
            count: 16880,
            count_date: "2018-12-19".into(),
        },
        &alipay_sim::Call::default(),
        &alipay_sim::Platform::default(),
    );
    assert_eq!(a.json["response"], d.seal(&keys).envelope.as_str());
}

#[tokio::test]
async fn generated_steps_are_stable_per_day_and_today_is_chinas() {
    let app = fresh();
    let u = send(&app, Method::GET, "/__admin/apps/demo/users/bob", None).await;
    assert_eq!(u.json["steps"], "generated", "{}", u.text);
    let count = |p: &str| -> u64 {
        let v: Value = serde_json::from_str(p).unwrap();
        v["count"].as_u64().unwrap()
    };
    let day = |d: &str| Some(json!({"countDate": d}));
    let a = read(&app, &run_data(&app, "bob", day("2024-02-29")).await).await;
    let b = read(&app, &run_data(&app, "bob", day("2024-02-29")).await).await;
    assert_eq!(a, b, "the same day gives the same count");
    assert!(count(&a) <= 30_000);
    let mut days = Vec::new();
    for d in 1..=9 {
        let p = read(
            &app,
            &run_data(&app, "bob", day(&format!("2024-03-0{d}"))).await,
        )
        .await;
        days.push(count(&p));
    }
    assert!(days.windows(2).any(|w| w[0] != w[1]), "{days:?}");
    // No countDate: today in China (UTC+8).
    let today = std::process::Command::new("date")
        .args(["-u", "-d", "+8 hours", "+%F"])
        .output()
        .unwrap();
    let today = String::from_utf8(today.stdout).unwrap().trim().to_string();
    let p = read(&app, &run_data(&app, "bob", None).await).await;
    let v: Value = serde_json::from_str(&p).unwrap();
    assert_eq!(v["countDate"], today.as_str(), "{p}");
}

#[tokio::test]
async fn consent_and_the_error_table_are_getphonenumbers() {
    let app = fresh();
    // dave has not consented: 40003, encrypted and signed, as for getPhoneNumber.
    let a = run_data(&app, "dave", None).await;
    assert_eq!(
        read(&app, &a).await,
        Payload::Error(PlatformError::invalid_auth_relations()).to_json()
    );
    // No content encryption: 40001 as an object in the clear (getRunData's document).
    app_with_console(&app, "plain", json!({"encryption": "none"})).await;
    let a = run_data_of(&app, "plain", "u", None).await;
    assert_eq!(a.callback(), Some("success"));
    assert_eq!(
        a.text,
        format!(
            "{{\"response\":{}}}",
            Payload::Error(PlatformError::missing_encrypt_key()).to_json()
        )
    );
    // Product not bound: 40006 in getRunData's words.
    app_with_console(&app, "unbound", json!({"product_bound": false})).await;
    let a = run_data_of(&app, "unbound", "u", None).await;
    assert_eq!(
        read_of(&app, "unbound", &a).await,
        Payload::Error(PlatformError::insufficient_permissions_run_data()).to_json()
    );
}

#[tokio::test]
async fn faults_busy_and_fail_apply_and_the_journal_records_the_call() {
    let app = fresh();
    let f = send(
        &app,
        Method::PUT,
        "/__admin/faults",
        Some(json!({"busy_rate": 1})),
    )
    .await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    let a = run_data(&app, "alice", None).await;
    assert_eq!(
        a.text,
        format!(
            "{{\"response\":{}}}",
            Payload::Error(PlatformError::busy()).to_json()
        ),
        "busy is an object in the clear for getRunData"
    );
    send(
        &app,
        Method::PUT,
        "/__admin/faults",
        Some(json!({"fail_rate": 1, "fail_error": 1005, "fail_message": "未开通支付宝运动"})),
    )
    .await;
    let a = run_data(&app, "alice", None).await;
    assert_eq!(a.callback(), Some("fail"));
    assert_eq!(
        a.json,
        json!({"error": 1005, "errorMessage": "未开通支付宝运动"})
    );
    let j = send(&app, Method::GET, "/__admin/journal", None).await;
    let entries = j.json["entries"]
        .as_array()
        .unwrap_or_else(|| j.json.as_array().unwrap());
    let ours: Vec<&Value> = entries
        .iter()
        .filter(|e| e["api"] == "getRunData")
        .collect();
    assert_eq!(ours.len(), 2, "{}", j.text);
    assert!(ours.iter().any(|e| e["callback"] == "fail"));
    assert!(
        ours.iter()
            .any(|e| e["outcome"] == "retry_later" && e["code"] == "20000")
    );
    assert!(ours.iter().all(|e| e["user_id"] == "alice"));
}

#[tokio::test]
async fn bad_count_dates_get_the_fail_callback_with_error_2() {
    let app = fresh();
    for d in ["2018-02-30", "2018-12-1", "yesterday", ""] {
        let a = run_data(&app, "alice", Some(json!({"countDate": d}))).await;
        assert_eq!(a.status, StatusCode::OK, "{d}: {}", a.text);
        assert_eq!(a.callback(), Some("fail"), "{d}: {}", a.text);
        assert_eq!(a.json["error"], 2, "{}", a.text);
        assert!(
            a.json["errorMessage"]
                .as_str()
                .unwrap()
                .contains("countDate")
        );
    }
    // A wrong type or an unknown member is a malformed request: 400 naming it.
    for (body, field) in [
        (json!({"countDate": 20181219}), "countDate"),
        (json!({"count_date": "2018-12-19"}), "count_date"),
    ] {
        let a = run_data(&app, "alice", Some(body)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
        assert!(a.text.contains(field), "{}", a.text);
    }
    // Unknown user: 404 before anything else.
    let a = run_data(&app, "nobody", None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
}

#[tokio::test]
async fn users_steps_are_settable_checked_and_never_null() {
    let app = fresh();
    let base = "/__admin/apps/demo/users";
    let c = send(
        &app,
        Method::POST,
        base,
        Some(json!({"user_id": "zed", "steps": 0})),
    )
    .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    assert_eq!(c.json["steps"], 0);
    for bad in [
        json!(null),
        json!(-1),
        json!(1_000_000),
        json!(1.5),
        json!("lots"),
        json!(true),
    ] {
        let a = send(
            &app,
            Method::PUT,
            &format!("{base}/zed"),
            Some(json!({"steps": bad})),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.text);
        assert_eq!(a.json["field"], "steps", "{bad}: {}", a.text);
    }
    let p = send(
        &app,
        Method::PATCH,
        &format!("{base}/zed"),
        Some(json!({"steps": null})),
    )
    .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.text);
    assert_eq!(p.json["field"], "steps");
    let p = send(
        &app,
        Method::PATCH,
        &format!("{base}/zed"),
        Some(json!({"steps": 999_999.0})),
    )
    .await;
    assert_eq!(p.json["steps"], 999_999, "{}", p.text);
    let p = send(
        &app,
        Method::PATCH,
        &format!("{base}/zed"),
        Some(json!({"steps": "generated"})),
    )
    .await;
    assert_eq!(p.json["steps"], "generated", "{}", p.text);
}

#[tokio::test]
async fn forced_scenarios_are_the_api_own() {
    let app = fresh();
    let a = send(
        &app,
        Method::POST,
        "/jsapi/apps/demo/users/alice/getRunData?scenario=rundata.genuine",
        None,
    )
    .await;
    assert_eq!(
        read(&app, &a).await,
        r#"{"count":16880,"countDate":"2018-12-19","code":"10000","msg":"Success"}"#
    );
    for (route, id) in [
        ("getRunData", "platform.success.mainland"),
        ("getPhoneNumber", "rundata.genuine"),
    ] {
        let a = send(
            &app,
            Method::POST,
            &format!("/jsapi/apps/demo/users/alice/{route}?scenario={id}"),
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
        assert_eq!(a.json["field"], "scenario", "{}", a.text);
    }
    let a = send(
        &app,
        Method::POST,
        "/jsapi/scenarios/rundata.genuine/getPhoneNumber",
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
}
