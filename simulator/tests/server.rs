//! `alipay-sim serve`: handler tests without sockets (`app().oneshot`), real-socket tests on
//! `127.0.0.1:0`, a concurrency test, the OpenAPI check, and the binary's start-up contract.

use std::collections::HashSet;
use std::sync::Arc;

use alipay_sim::{
    AesKey, Catalogue, KeySet, Opened, Opener, SignType, Verifier, parse_public_key, server,
};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
#[path = "common/router.rs"]
mod router;

use common::Running;
use router::{Answer, delete, fresh, get, patch, post, post_empty, put, send_req};

// ---------------------------------------------------------------------------------------------
// Helpers

/// `POST /__admin/apps`, which must answer 201 Created.
async fn create_app(app: &Router, body: Value) -> Answer {
    let a = post(app, "/__admin/apps", body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    a
}

async fn phone(app: &Router, app_id: &str, user: &str) -> Answer {
    post_empty(
        app,
        &format!("/jsapi/apps/{app_id}/users/{user}/getPhoneNumber"),
    )
    .await
}

/// A merchant configured from the app's bundle, as the HTTP API serves it.
async fn merchant(app: &Router, app_id: &str) -> Opener {
    let b = get(app, &format!("/__admin/apps/{app_id}/bundle")).await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    bundle_opener(&b.json)
}

fn bundle_opener(b: &Value) -> Opener {
    let verifier = b["sign_type"].as_str().map(|_| {
        Verifier::new(parse_public_key(b["alipay_public_key"].as_str().unwrap(), "bundle").unwrap())
    });
    let aes = b["aes_key"]
        .as_str()
        .map(|k| AesKey::from_base64(k).unwrap());
    let mut o = Opener::new(verifier, aes);
    if let Some(t) = b["sign_type"].as_str() {
        o.sign_type = SignType::parse(t).unwrap();
    }
    o
}

/// The envelope text inside a success-callback object.
fn envelope_of(a: &Answer) -> String {
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.headers["x-alipay-sim-callback"], "success", "{}", a.text);
    let obj = a.json.as_object().expect("an object");
    assert_eq!(
        obj.len(),
        1,
        "exactly the success-callback object: {}",
        a.text
    );
    match &obj["response"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn open(app: &Router, app_id: &str, user: &str) -> Opened {
    let m = merchant(app, app_id).await;
    let a = phone(app, app_id, user).await;
    m.open(&envelope_of(&a))
        .unwrap_or_else(|e| panic!("{app_id}/{user}: {e}: {}", a.text))
        .result
}

/// What alice, the default demo user, gets: her fixed mobile.
fn alices_mobile() -> Opened {
    Opened::Mobile("13812345678".into())
}

fn code(o: &Opened) -> &str {
    match o {
        Opened::PlatformError(e) => &e.code,
        other => panic!("expected a platform error, got {other:?}"),
    }
}

fn assert_error(a: &Answer, status: StatusCode, kind: &str, field: Option<&str>) {
    assert_eq!(a.status, status, "{}", a.text);
    let obj = a
        .json
        .as_object()
        .unwrap_or_else(|| panic!("not JSON: {}", a.text));
    assert_eq!(obj.len(), 3, "{}", a.text);
    assert_eq!(a.json["error"], kind, "{}", a.text);
    assert!(a.json["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(a.json["field"].as_str(), field, "{}", a.text);
    assert_eq!(a.headers["x-alipay-sim-version"], env!("CARGO_PKG_VERSION"));
}

// ---------------------------------------------------------------------------------------------
// Handler tests (no socket)

#[tokio::test]
async fn health_and_headers_on_every_answer() {
    let app = fresh();
    let a = get(&app, "/healthz").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.json,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
    assert_eq!(a.headers["x-alipay-sim-version"], env!("CARGO_PKG_VERSION"));
    let id1 = a.headers["x-request-id"].to_str().unwrap().to_string();
    let b = get(&app, "/nope").await;
    assert_ne!(b.headers["x-request-id"].to_str().unwrap(), id1);
    // A client's request id is kept.
    let req = Request::get("/healthz")
        .header("x-request-id", "trace-42")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send_req(&app, req).await.headers["x-request-id"],
        "trace-42"
    );
}

#[tokio::test]
async fn default_state_gives_one_platform_outcome_per_user() {
    let app = fresh();
    assert_eq!(open(&app, "demo", "alice").await, alices_mobile());
    assert_eq!(
        open(&app, "demo", "bob").await,
        Opened::Mobile("1-2025550123".into())
    );
    assert_eq!(open(&app, "demo", "carol").await, Opened::EmptyMobile);
    assert_eq!(code(&open(&app, "demo", "dave").await), "40003");
    let e1 = open(&app, "demo", "erin").await;
    let e2 = open(&app, "demo", "erin").await;
    match (&e1, &e2) {
        (Opened::Mobile(a), Opened::Mobile(b)) => {
            assert_ne!(a, b, "erin gets a fresh mobile per call");
            assert_eq!(a.len(), 11);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(code(&open(&app, "no-encryption", "alice").await), "40001");
    assert_eq!(code(&open(&app, "no-product", "alice").await), "40006");
    let unsigned = envelope_of(&phone(&app, "unsigned", "alice").await);
    assert!(!unsigned.contains("\"sign\""), "{unsigned}");
    assert_eq!(open(&app, "unsigned", "alice").await, alices_mobile());
}

#[tokio::test]
async fn the_envelope_is_exactly_what_the_platform_model_seals() {
    use alipay_sim::{Call, Console, Mobile, Platform, User, decide};
    let app = fresh();
    let a = phone(&app, "demo", "alice").await;
    let want = decide(
        &Console::default(),
        &User {
            authorised: true,
            mobile: Mobile::Number("13812345678".into()),
        },
        &Call::default(),
        &Platform::default(),
    )
    .seal(&KeySet::embedded());
    assert_eq!(envelope_of(&a), want.envelope);
    assert_eq!(a.text, json!({"response": want.envelope}).to_string());
    // Cached: the same bytes again.
    assert_eq!(phone(&app, "demo", "alice").await.text, a.text);
}

#[tokio::test]
async fn button_then_get_setting_then_phone_number() {
    let app = fresh();
    let setting = |v: bool| json!({"authSetting": {"phoneNumber": v}});
    let base = "/jsapi/apps/demo/users/dave";
    assert_eq!(
        get(&app, &format!("{base}/getSetting")).await.json,
        setting(false)
    );
    let a = post(
        &app,
        &format!("{base}/authorize"),
        json!({"scope": "phoneNumber", "consent": true}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json, json!({"callback": "onGetAuthorize", "detail": {}}));
    assert_eq!(a.headers["x-alipay-sim-callback"], "onGetAuthorize");
    assert_eq!(
        get(&app, &format!("{base}/getSetting")).await.json,
        setting(true)
    );
    assert_eq!(
        open(&app, "demo", "dave").await,
        Opened::Mobile("13900001111".into())
    );
    // Refusal answers like onError and is recorded.
    let r = post(
        &app,
        &format!("{base}/authorize"),
        json!({"scope": "phoneNumber", "consent": false}),
    )
    .await;
    assert_eq!(
        r.json,
        json!({"callback": "onError", "detail": {"type": "getAuthorize", "errorMessage": "用户拒绝授权"}})
    );
    assert_eq!(
        get(&app, &format!("{base}/getSetting")).await.json,
        setting(false)
    );
    assert_eq!(code(&open(&app, "demo", "dave").await), "40003");
    let j = get(&app, "/__admin/journal").await.json;
    let apis: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["api"].as_str().unwrap())
        .collect();
    assert!(apis.contains(&"authorize") && apis.contains(&"getSetting"));
}

#[tokio::test]
async fn every_catalogue_scenario_can_be_forced_per_request_and_statelessly() {
    let app = fresh();
    let keys = KeySet::embedded();
    for s in Catalogue::embedded().scenarios() {
        let built = s.build(&keys);
        let want = if built.response_is_object {
            format!("{{\"response\":{}}}", built.body)
        } else {
            json!({"response": built.body}).to_string()
        };
        // dave is not authorised: the forced scenario ignores state.
        let uri = format!(
            "/jsapi/apps/demo/users/dave/getPhoneNumber?scenario={}",
            s.id
        );
        let a = post_empty(&app, &uri).await;
        assert_eq!(a.status, StatusCode::OK, "{}: {}", s.id, a.text);
        assert_eq!(a.text, want, "{}", s.id);
        let b = post_empty(&app, &format!("/jsapi/scenarios/{}/getPhoneNumber", s.id)).await;
        assert_eq!(b.text, want, "{}", s.id);
    }
    let j = get(&app, "/__admin/journal").await.json;
    let last = j.as_array().unwrap().last().unwrap().clone();
    assert!(last["scenario"].is_string());
    // The journal's code: 10000 for successes, the platform code for errors, none for a
    // rejected (tampered) answer.
    for e in j.as_array().unwrap() {
        let code = &e["code"];
        match e["outcome"].as_str().unwrap() {
            "accept" | "no_mobile" => assert_eq!(code, "10000", "{e}"),
            "platform_error" | "retry_later" => assert!(code.is_string(), "{e}"),
            "reject" => assert!(code.is_null(), "{e}"),
            other => panic!("unexpected outcome {other}"),
        }
    }
    let a = post_empty(
        &app,
        "/jsapi/apps/demo/users/alice/getPhoneNumber?scenario=platform.nope",
    )
    .await;
    assert_error(
        &a,
        StatusCode::NOT_FOUND,
        "unknown_scenario",
        Some("scenario"),
    );
    let a = post_empty(&app, "/jsapi/scenarios/x.y/getPhoneNumber").await;
    assert_error(
        &a,
        StatusCode::NOT_FOUND,
        "unknown_scenario",
        Some("scenario"),
    );
}

#[tokio::test]
async fn apps_crud_and_console_changes_take_effect() {
    let app = fresh();
    let a = create_app(
        &app,
        json!({"app_id": "shop", "console": {"signing": "RSA"}}),
    )
    .await;
    assert_eq!(a.json["name"], "shop");
    assert_eq!(a.json["keys"], "embedded");
    assert_eq!(a.json["console"]["signing"], "RSA");
    let dup = post(&app, "/__admin/apps", json!({"app_id": "shop"})).await;
    assert_error(&dup, StatusCode::CONFLICT, "conflict", Some("app_id"));
    let u = post(
        &app,
        "/__admin/apps/shop/users",
        json!({"user_id": "u1", "authorised": true, "mobile": "13700000001"}),
    )
    .await;
    assert_eq!(u.status, StatusCode::CREATED, "{}", u.text);
    assert_eq!(
        open(&app, "shop", "u1").await,
        Opened::Mobile("13700000001".into())
    );
    let bundle = get(&app, "/__admin/apps/shop/bundle").await.json;
    assert_eq!(bundle["sign_type"], "RSA");
    // PATCH the console: the cached answer is dropped.
    let p = patch(
        &app,
        "/__admin/apps/shop",
        json!({"console": {"product_bound": false}}),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(
        p.json["console"]["signing"], "RSA",
        "merge keeps other fields"
    );
    assert_eq!(code(&open(&app, "shop", "u1").await), "40006");
    // AES-256: the bundle's key follows.
    patch(
        &app,
        "/__admin/apps/shop",
        json!({"console": {"product_bound": true, "encryption": "aes-256"}}),
    )
    .await;
    let b = get(&app, "/__admin/apps/shop/bundle").await.json;
    assert_eq!(
        AesKey::from_base64(b["aes_key"].as_str().unwrap())
            .unwrap()
            .bits(),
        256
    );
    assert_eq!(
        open(&app, "shop", "u1").await,
        Opened::Mobile("13700000001".into())
    );
    // PUT replaces, keeping users; the round trip of GET is accepted by PUT.
    let cur = get(&app, "/__admin/apps/shop").await.json;
    let replaced = put(&app, "/__admin/apps/shop", cur.clone()).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    assert_eq!(replaced.json, cur);
    assert_eq!(
        get(&app, "/__admin/apps/shop/users")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let created = put(&app, "/__admin/apps/other", json!({})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let mismatch = put(&app, "/__admin/apps/other", json!({"app_id": "x"})).await;
    assert_error(
        &mismatch,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("app_id"),
    );
    let ids: Vec<String> = get(&app, "/__admin/apps")
        .await
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "cert",
            "demo",
            "no-encryption",
            "no-product",
            "other",
            "shop",
            "unsigned"
        ]
    );
    let d = delete(&app, "/__admin/apps/shop").await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert_error(
        &get(&app, "/__admin/apps/shop").await,
        StatusCode::NOT_FOUND,
        "unknown_app",
        Some("app_id"),
    );
    assert_error(
        &phone(&app, "shop", "u1").await,
        StatusCode::NOT_FOUND,
        "unknown_app",
        Some("app_id"),
    );
}

#[tokio::test]
async fn generated_keys_are_served_in_the_bundle_and_verify() {
    let app = fresh();
    create_app(&app, json!({"app_id": "gen", "keys": "generated"})).await;
    put(
        &app,
        "/__admin/apps/gen/users/u",
        json!({"authorised": true, "mobile": "13600000000"}),
    )
    .await;
    let b = get(&app, "/__admin/apps/gen/bundle").await.json;
    assert_ne!(
        b["alipay_public_key"].as_str().unwrap(),
        KeySet::embedded().platform.public_one_line()
    );
    assert_eq!(
        open(&app, "gen", "u").await,
        Opened::Mobile("13600000000".into())
    );
    // The demo app's merchant cannot open it.
    let env = envelope_of(&phone(&app, "gen", "u").await);
    assert!(merchant(&app, "demo").await.open(&env).is_err());
}

/// The `cert` app (certificate mode): a merchant configured only with the bundle's certificate
/// files and AES key opens its answers, with and without `alipay_cert_sn`; the bundle serves
/// certificates, never a private key.
#[tokio::test]
async fn the_cert_app_is_opened_with_only_the_bundles_certificates() {
    let app = fresh();
    let b = get(&app, "/__admin/apps/cert/bundle").await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    // The only private key is the app's own (TEST ONLY, it signs gateway requests): the one
    // the app certificate holds. Never the Alipay private key.
    assert_eq!(b.text.matches("PRIVATE KEY-----").count(), 2, "{}", b.text);
    assert_eq!(
        b.json["app_private_key"].as_str().unwrap(),
        KeySet::embedded().cert().unwrap().app.signer.private_pem()
    );
    let pem = &b.json["cert"]["pem"];
    let files = alipay_sim::cert::CertFiles {
        app_id: b.json["cert"]["app_id"].as_str().unwrap().into(),
        root: pem["alipay_root_cert"].as_str().unwrap().into(),
        alipay: pem["alipay_cert"].as_str().unwrap().into(),
        app: pem["app_cert"].as_str().unwrap().into(),
    };
    let set = alipay_sim::cert::CertSet::from_files(files, ["root", "alipay", "app"]).unwrap();
    assert_eq!(b.json["cert"]["alipay_cert_sn"], set.sn.alipay_cert_sn);
    let merchant = Opener::new(
        Some(Verifier::new(set.alipay_public_key.clone())),
        Some(AesKey::from_base64(b.json["aes_key"].as_str().unwrap()).unwrap()),
    );
    let env = envelope_of(&phone(&app, "cert", "alice").await);
    assert!(!env.contains("alipay_cert_sn"), "{env}");
    assert_eq!(merchant.open(&env).unwrap().result, alices_mobile());
    let p = patch(
        &app,
        "/__admin/apps/cert",
        json!({"console": {"alipay_cert_sn": true}}),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let env = envelope_of(&phone(&app, "cert", "alice").await);
    assert!(
        env.ends_with(&format!(
            ",\"alipay_cert_sn\":\"{}\"}}",
            set.sn.alipay_cert_sn
        )),
        "{env}"
    );
    assert_eq!(merchant.open(&env).unwrap().result, alices_mobile());
}

#[tokio::test]
async fn users_crud_mobile_forms_and_cache_invalidation() {
    let app = fresh();
    let base = "/__admin/apps/demo/users";
    let a = post(&app, base, json!({"user_id": "zed"})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["authorised"], false, "users start without consent");
    let generated = a.json["mobile"].as_str().unwrap().to_string();
    assert_eq!(generated.len(), 11);
    assert_eq!(code(&open(&app, "demo", "zed").await), "40003");
    let p = patch(&app, &format!("{base}/zed"), json!({"authorised": true})).await;
    assert_eq!(
        p.json["mobile"],
        generated.as_str(),
        "PATCH keeps the mobile"
    );
    assert_eq!(open(&app, "demo", "zed").await, Opened::Mobile(generated));
    // "mobile": null is the "no mobile key" form; "" the empty string.
    let p = patch(&app, &format!("{base}/zed"), json!({"mobile": null})).await;
    assert_eq!(p.json["mobile"], Value::Null, "{}", p.text);
    let env = envelope_of(&phone(&app, "demo", "zed").await);
    let m = merchant(&app, "demo").await;
    assert_eq!(m.open(&env).unwrap().result, Opened::EmptyMobile);
    let put_zed = put(
        &app,
        &format!("{base}/zed"),
        json!({"authorised": true, "mobile": ""}),
    )
    .await;
    assert_eq!(put_zed.status, StatusCode::OK);
    assert_eq!(put_zed.json["mobile"], "");
    assert_eq!(get(&app, &format!("{base}/zed")).await.json, put_zed.json);
    let bad = put(&app, &format!("{base}/zed"), json!({"mobile": "+86 138"})).await;
    assert_error(
        &bad,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("mobile"),
    );
    let dup = post(&app, base, json!({"user_id": "zed"})).await;
    assert_error(&dup, StatusCode::CONFLICT, "conflict", Some("user_id"));
    let d = delete(&app, &format!("{base}/zed")).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert_error(
        &phone(&app, "demo", "zed").await,
        StatusCode::NOT_FOUND,
        "unknown_user",
        Some("user_id"),
    );
    assert_error(
        &delete(&app, &format!("{base}/zed")).await,
        StatusCode::NOT_FOUND,
        "unknown_user",
        Some("user_id"),
    );
}

#[tokio::test]
async fn faults_busy_fail_latency_are_answered_and_journaled() {
    let app = fresh();
    let f = put(&app, "/__admin/faults", json!({"busy_rate": 1.0})).await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    assert_eq!(f.json["drop_rate"], 0.0);
    assert_eq!(get(&app, "/__admin/faults").await.json, f.json);
    let o = open(&app, "demo", "alice").await;
    assert_eq!(code(&o), "20000");
    // The forced scenario is not affected by the busy fault.
    let forced = post_empty(
        &app,
        "/jsapi/apps/demo/users/alice/getPhoneNumber?scenario=platform.success.mainland",
    )
    .await;
    let m = merchant(&app, "demo").await;
    assert!(matches!(
        m.open(&envelope_of(&forced)).unwrap().result,
        Opened::Mobile(_)
    ));
    put(
        &app,
        "/__admin/faults",
        json!({"fail_rate": 1.0, "latency_ms": 1}),
    )
    .await;
    let a = phone(&app, "demo", "alice").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["x-alipay-sim-callback"], "fail");
    assert_eq!(
        a.json,
        json!({"error": 1, "errorMessage": "该接口暂不支持"})
    );
    let j = get(&app, "/__admin/journal").await.json;
    let last = j.as_array().unwrap().last().unwrap();
    assert_eq!(last["callback"], "fail");
    assert_eq!(last["faults"], json!(["latency", "fail"]));
    assert_eq!(last["answer"], a.json);
    // Busy entries record the outcome.
    let busy = j
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["faults"] == json!(["busy"]))
        .unwrap();
    assert_eq!(busy["outcome"], "retry_later");
    assert_eq!(busy["code"], "20000");
    let cleared = delete(&app, "/__admin/faults").await;
    assert_eq!(cleared.json["fail_rate"], 0.0);
    assert!(matches!(
        open(&app, "demo", "alice").await,
        Opened::Mobile(_)
    ));
    for (body, field) in [
        (json!({"busy_rate": 1.5}), "busy_rate"),
        (json!({"drop_rate": -0.1}), "drop_rate"),
        (json!({"latency_ms": 999_999}), "latency_ms"),
        (json!({"latency_ms": "slow"}), "latency_ms"),
        (json!({"busy_delivery": "carrier-pigeon"}), "busy_delivery"),
        (json!({"chaos": true}), "chaos"),
    ] {
        let a = put(&app, "/__admin/faults", body).await;
        assert_error(&a, StatusCode::BAD_REQUEST, "invalid_field", Some(field));
    }
}

#[tokio::test]
async fn journal_lists_filters_and_clears() {
    let app = fresh();
    phone(&app, "demo", "alice").await;
    phone(&app, "demo", "dave").await;
    let j = get(&app, "/__admin/journal").await.json;
    let e = j.as_array().unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[0]["api"], "getPhoneNumber");
    assert_eq!(e[0]["app_id"], "demo");
    assert_eq!(e[0]["user_id"], "alice");
    assert_eq!(e[0]["callback"], "success");
    assert_eq!(e[0]["outcome"], "accept");
    assert_eq!(e[0]["code"], "10000");
    assert!(e[0]["answer"]["response"].is_string());
    assert!(e[0]["request_id"].is_string());
    assert_eq!(e[1]["outcome"], "platform_error");
    assert_eq!(e[1]["code"], "40003");
    let seq = e[0]["seq"].as_u64().unwrap();
    let since = get(&app, &format!("/__admin/journal?since={seq}"))
        .await
        .json;
    assert_eq!(since.as_array().unwrap().len(), 1);
    assert_error(
        &get(&app, "/__admin/journal?since=soon").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
        Some("since"),
    );
    assert_error(
        &get(&app, "/__admin/journal?limit=3").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
        Some("limit"),
    );
    assert_eq!(
        delete(&app, "/__admin/journal").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(get(&app, "/__admin/journal").await.json, json!([]));
}

#[tokio::test]
async fn reset_and_seed_make_state_reproducible() {
    let app = fresh();
    let draw = |app: Router| async move {
        let a = phone(&app, "demo", "erin").await;
        let m = merchant(&app, "demo").await;
        match m.open(&envelope_of(&a)).unwrap().result {
            Opened::Mobile(m) => m,
            other => panic!("{other:?}"),
        }
    };
    let s = put(&app, "/__admin/seed", json!({"seed": 42})).await;
    assert_eq!(s.json, json!({"seed": 42, "drawn": 0}));
    let first = (draw(app.clone()).await, draw(app.clone()).await);
    assert_eq!(
        get(&app, "/__admin/seed").await.json,
        json!({"seed": 42, "drawn": 2})
    );
    put(&app, "/__admin/seed", json!({"seed": 42})).await;
    let again = (draw(app.clone()).await, draw(app.clone()).await);
    assert_eq!(first, again);
    // Another server with the same seed agrees.
    let other = fresh();
    put(&other, "/__admin/seed", json!({"seed": 42})).await;
    assert_eq!(draw(other.clone()).await, first.0);
    // Reset: default apps, users, faults, journal, seed.
    delete(&app, "/__admin/apps/demo").await;
    put(&app, "/__admin/faults", json!({"busy_rate": 1})).await;
    let r = post_empty(&app, "/__admin/reset").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        get(&app, "/__admin/seed").await.json,
        json!({"seed": 0, "drawn": 0})
    );
    assert_eq!(get(&app, "/__admin/journal").await.json, json!([]));
    assert_eq!(get(&app, "/__admin/faults").await.json["busy_rate"], 0.0);
    assert_eq!(open(&app, "demo", "alice").await, alices_mobile());
    let bad = put(&app, "/__admin/seed", json!({"seed": -1})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("seed"));
}

#[tokio::test]
async fn no_private_key_is_ever_served() {
    let app = fresh();
    let keys = KeySet::embedded();
    let pem = keys.platform.signer.private_pem();
    let body_line = pem.lines().nth(1).unwrap().to_string();
    for uri in [
        "/__admin/apps",
        "/__admin/apps/demo",
        "/__admin/apps/demo/bundle",
        "/__admin/apps/demo/users",
        "/__admin/journal",
        "/__admin/faults",
        "/__admin/scenarios",
        "/openapi.json",
    ] {
        let a = get(&app, uri).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}");
        // The bundle carries the app's own TEST ONLY key (it signs gateway requests), labelled.
        if uri.ends_with("/bundle") {
            assert_eq!(a.text.matches("BEGIN PRIVATE KEY").count(), 1, "{uri}");
            assert!(
                a.json["app_private_key_warning"]
                    .as_str()
                    .unwrap()
                    .contains("TEST ONLY")
            );
        } else {
            assert!(!a.text.contains("PRIVATE KEY"), "{uri}");
        }
        assert!(!a.text.contains(&body_line), "{uri}");
    }
    let b = get(&app, "/__admin/apps/demo/bundle").await.json;
    assert_eq!(b["alipay_public_key"], keys.platform.public_one_line());
    assert_eq!(b["aes_key"], keys.aes.to_base64());
    assert_eq!(b["app_id"], "demo");
    let none = get(&app, "/__admin/apps/no-encryption/bundle").await.json;
    assert_eq!(none["aes_key"], Value::Null);
    let unsigned = get(&app, "/__admin/apps/unsigned/bundle").await.json;
    assert_eq!(unsigned["sign_type"], Value::Null);
}

#[tokio::test]
async fn every_bad_request_gets_one_json_error_naming_the_field() {
    let app = fresh();
    let post_raw = |uri: &str, ct: Option<&str>, body: Vec<u8>| {
        let mut r = Request::post(uri);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r.body(Body::from(body)).unwrap()
    };
    let auth = "/jsapi/apps/demo/users/alice/authorize";
    let cases: Vec<(Request<Body>, StatusCode, &str, Option<&str>)> = vec![
        (
            post_raw(auth, Some("application/json"), b"{\"scope\":".to_vec()),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            Some("body"),
        ),
        (
            post_raw(auth, Some("application/json"), b"[1,2]".to_vec()),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("body"),
        ),
        (
            post_raw(
                auth,
                Some("application/json"),
                b"{\"scope\":\"phoneNumber\",\"consent\":1}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("consent"),
        ),
        (
            post_raw(
                auth,
                Some("application/json"),
                b"{\"consent\":true}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("scope"),
        ),
        (
            post_raw(
                auth,
                Some("application/json"),
                b"{\"scope\":\"userInfo\",\"consent\":true}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("scope"),
        ),
        (
            post_raw(
                auth,
                Some("application/json"),
                b"{\"scope\":\"phoneNumber\",\"consent\":true,\"x\":1}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("x"),
        ),
        (
            post_raw(auth, Some("text/plain"), b"consent".to_vec()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            Some("content-type"),
        ),
        (
            post_raw(auth, Some("application/json"), vec![b' '; 70_000]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            Some("body"),
        ),
        (
            post_raw(auth, Some("application/json"), vec![0xff, 0xfe]),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            Some("body"),
        ),
        // Whitespace alone is no JSON text, unlike an empty body (no body at all): found by
        // schemathesis (seed 231593567) on getAuthCode, whose fields all have defaults.
        (
            post_raw(
                "/jsapi/apps/demo/users/alice/getAuthCode",
                Some("application/json"),
                b"\r".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            Some("body"),
        ),
        (
            post_raw(
                "/jsapi/apps/demo/users/alice/getPhoneNumber",
                Some("application/json"),
                b" \n".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            Some("body"),
        ),
        (
            post_raw(
                "/jsapi/apps/nope/users/alice/authorize",
                Some("application/json"),
                b"{\"scope\":\"phoneNumber\",\"consent\":true}".to_vec(),
            ),
            StatusCode::NOT_FOUND,
            "unknown_app",
            Some("app_id"),
        ),
        (
            post_raw("/jsapi/apps/demo/users/nope/getPhoneNumber", None, vec![]),
            StatusCode::NOT_FOUND,
            "unknown_user",
            Some("user_id"),
        ),
        (
            post_raw(
                "/jsapi/apps/demo/users/alice/getPhoneNumber?scenario=a&scenario=b",
                None,
                vec![],
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("scenario"),
        ),
        (
            post_raw(
                "/jsapi/apps/demo/users/alice/getPhoneNumber?scenerio=x",
                None,
                vec![],
            ),
            StatusCode::BAD_REQUEST,
            "invalid_query",
            Some("scenerio"),
        ),
        (
            post_raw(
                "/jsapi/apps/demo/users/alice/getPhoneNumber?scenario=%ff",
                None,
                vec![],
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("scenario"),
        ),
        (
            post_raw(
                "/jsapi/apps/demo/users/alice/getPhoneNumber",
                Some("application/json"),
                b"{\"protocols\":{\"isvAppId\":7}}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("protocols.isvAppId"),
        ),
        (
            post_raw("/jsapi/apps/%ff/users/alice/getPhoneNumber", None, vec![]),
            StatusCode::BAD_REQUEST,
            "invalid_path",
            Some("path"),
        ),
        (
            post_raw(
                "/__admin/apps",
                Some("application/json"),
                b"{\"app_id\":\"a b\"}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("app_id"),
        ),
        (
            post_raw("/__admin/apps", Some("application/json"), b"{}".to_vec()),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("app_id"),
        ),
        (
            post_raw(
                "/__admin/apps",
                Some("application/json"),
                b"{\"app_id\":\"x\",\"console\":{\"encryption\":\"rot13\"}}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("console.encryption"),
        ),
        (
            post_raw(
                "/__admin/apps",
                Some("application/json"),
                b"{\"app_id\":\"x\",\"console\":{\"gatewy\":true}}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("console.gatewy"),
        ),
        (
            post_raw(
                "/__admin/apps",
                Some("application/json"),
                b"{\"app_id\":\"x\",\"keys\":\"mine\"}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("keys"),
        ),
        (
            post_raw(
                "/__admin/apps/demo/users",
                Some("application/json"),
                b"{\"user_id\":\"q\",\"authorised\":\"yes\"}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("authorised"),
        ),
        (
            post_raw(
                "/__admin/apps/demo/users",
                Some("application/json"),
                b"{\"user_id\":\"q\",\"mobile\":13800000000}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("mobile"),
        ),
        (
            post_raw("/__admin/reset/now", None, vec![]),
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        ),
        (
            Request::delete("/__admin/reset")
                .body(Body::empty())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            None,
        ),
        (
            Request::patch("/__admin/apps/demo")
                .header("content-type", "application/json")
                .body(Body::from("[]"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("body"),
        ),
        (
            Request::patch("/__admin/apps/demo")
                .header("content-type", "application/json")
                .body(Body::from("{\"console\":{\"signing\":5}}"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("console.signing"),
        ),
    ];
    for (i, (req, status, kind, field)) in cases.into_iter().enumerate() {
        let a = send_req(&app, req).await;
        assert_eq!(a.status, status, "case {i}: {}", a.text);
        assert_error(&a, status, kind, field);
    }
    // Nothing above changed the state.
    assert_eq!(open(&app, "demo", "alice").await, alices_mobile());
}

#[tokio::test]
async fn isv_template_apps_need_protocols_isv_app_id() {
    let app = fresh();
    put(
        &app,
        "/__admin/apps/isv",
        json!({"console": {"isv_template": true}}),
    )
    .await;
    put(
        &app,
        "/__admin/apps/isv/users/u",
        json!({"authorised": true, "mobile": "13500000000"}),
    )
    .await;
    let m = merchant(&app, "isv").await;
    let bare = phone(&app, "isv", "u").await;
    match m.open(&envelope_of(&bare)).unwrap().result {
        Opened::PlatformError(e) => assert_eq!(e.sub_code, "isv.missing-default-signature-type"),
        other => panic!("{other:?}"),
    }
    let with = post(
        &app,
        "/jsapi/apps/isv/users/u/getPhoneNumber",
        json!({"protocols": {"isvAppId": "2021000000000001"}}),
    )
    .await;
    assert_eq!(
        m.open(&envelope_of(&with)).unwrap().result,
        Opened::Mobile("13500000000".into())
    );
}

#[tokio::test]
async fn openapi_served_equals_committed_and_matches_the_routes() {
    let app = fresh();
    let a = get(&app, "/openapi.json").await;
    assert_eq!(a.status, StatusCode::OK);
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path, &a.text).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path)
        .expect("simulator/openapi.json is committed (regenerate with UPDATE_OPENAPI=1)");
    assert_eq!(
        a.text, committed,
        "simulator/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p alipay-sim --test server openapi"
    );
    let doc: Value = serde_json::from_str(&a.text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let ops = server::openapi::operations(&doc);
    assert!(ops.len() >= 30, "{ops:?}");
    let concrete = |p: &str| {
        p.replace("{app_id}", "demo")
            .replace("{user_id}", "alice")
            .replace("{scenario_id}", "platform.success.mainland")
            .replace("{file}", "app.js")
    };
    let documented: HashSet<(String, String)> = ops.iter().cloned().collect();
    let all = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    let paths: HashSet<&String> = ops.iter().map(|(_, p)| p).collect();
    for path in paths {
        for m in all {
            let req = Request::builder()
                .method(m)
                .uri(concrete(path))
                .header("content-type", "application/json")
                .header("host", "127.0.0.1")
                .body(Body::from("{}"))
                .unwrap();
            let res = send_req(&app, req).await;
            let routed =
                !(res.json["error"] == "not_found" || res.json["error"] == "method_not_allowed");
            let is_doc = documented.contains(&(m.to_string(), path.clone()));
            assert_eq!(
                routed, is_doc,
                "{m} {path}: documented={is_doc} but answered {} {}",
                res.status, res.text
            );
            assert!(
                !res.status.is_server_error() || path == "/__forward",
                "{m} {path}: {}",
                res.text
            );
        }
    }
    // Every operation documents its responses and every $ref resolves.
    let text = a.text.clone();
    for r in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
        let name = r.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }
    // Reset afterwards: the probes above mutated the state.
    post_empty(&app, "/__admin/reset").await;
}

/// An app's GET answer goes back through PUT as it is, and a PATCH merges into it: the gateway's
/// app_public_key and app_cert appear only once given (the admin API refuses null, so a null
/// there made every PATCH of an app a 400 naming app_cert). Each answer fits the document.
#[tokio::test]
async fn an_app_answer_round_trips_through_put_and_patch() {
    let app = fresh();
    let doc: Value = serde_json::from_str(&get(&app, "/openapi.json").await.text).unwrap();
    let app_schema = component(&doc, "App");
    let a = get(&app, "/__admin/apps/demo").await;
    assert!(app_schema.is_valid(&a.json), "{}", a.text);
    assert!(a.json.get("app_public_key").is_none() && a.json.get("app_cert").is_none());
    let back = put(&app, "/__admin/apps/demo", a.json.clone()).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    assert_eq!(back.json, a.json);
    let p = patch(&app, "/__admin/apps/demo", json!({"name": "renamed"})).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.json["name"], "renamed");
    // Once given, the key is in the answer (one-line base64), and still round-trips.
    let key = get(&app, "/__admin/apps/cert/bundle").await.json["app_public_key"].clone();
    let p = patch(&app, "/__admin/apps/demo", json!({"app_public_key": key})).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.json["app_public_key"], key);
    assert!(app_schema.is_valid(&p.json), "{}", p.text);
    let p = patch(&app, "/__admin/apps/demo", json!({"name": "again"})).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    post_empty(&app, "/__admin/reset").await;
}

/// The validator of one component schema of the served document (its `$ref`s resolve in it).
fn component(doc: &Value, name: &str) -> jsonschema::Validator {
    let mut root = doc.clone();
    root["$ref"] = json!(format!("#/components/schemas/{name}"));
    jsonschema::validator_for(&root).unwrap()
}

/// Issue 21: each finding of schemathesis against `serve` and its own document. The document
/// says what the server does (the three body ids and the %02 path id), or the server does what
/// the document says (null refused, 7.0 read as the integer 7).
#[tokio::test]
async fn issue_21_the_server_and_its_document_agree() {
    let app = fresh();
    let doc: Value = serde_json::from_str(&get(&app, "/openapi.json").await.text).unwrap();
    let create_app = component(&doc, "AppCreate");
    let app_body = component(&doc, "AppBody");
    let create_user = component(&doc, "UserCreate");
    let user_body = component(&doc, "UserBody");
    let seed = component(&doc, "SeedInput");

    // null or missing ids in create bodies: not valid per the document, refused naming them.
    for body in [json!({"app_id": null}), json!({"name": "x"})] {
        assert!(!create_app.is_valid(&body), "{body}");
        let a = post(&app, "/__admin/apps", body).await;
        assert_error(&a, StatusCode::BAD_REQUEST, "invalid_field", Some("app_id"));
    }
    for body in [json!({"user_id": null, "mobile": "00000"}), json!({})] {
        assert!(!create_user.is_valid(&body), "{body}");
        let a = post(&app, "/__admin/apps/demo/users", body).await;
        assert_error(
            &a,
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("user_id"),
        );
    }
    // Any other null is refused by name too, in POST, PUT and PATCH alike (only mobile may be).
    for (uri, body, field) in [
        ("/__admin/apps/shop", json!({"name": null}), "name"),
        ("/__admin/apps/shop", json!({"console": null}), "console"),
        ("/__admin/apps/shop", json!({"keys": null}), "keys"),
        (
            "/__admin/apps/demo/users/zed",
            json!({"authorised": null}),
            "authorised",
        ),
    ] {
        assert_error(
            &put(&app, uri, body).await,
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some(field),
        );
    }

    // A path id the server forbids (%02): the document's pattern forbids it, and every route
    // answers 400 naming it (not a 404 on reads and a 400 on writes).
    let param = &doc["paths"]["/__admin/apps/{app_id}"]["get"]["parameters"][0]["schema"];
    let id = jsonschema::validator_for(param).unwrap();
    assert!(!id.is_valid(&json!("\u{2}")) && id.is_valid(&json!("demo")));
    for uri in [
        "/__admin/apps/%02",
        "/__admin/apps/%02/users",
        "/__admin/apps/%02/bundle",
    ] {
        assert_error(
            &get(&app, uri).await,
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some("app_id"),
        );
    }
    assert_error(
        &put(&app, "/__admin/apps/%02", json!({})).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("app_id"),
    );
    assert_error(
        &get(&app, "/jsapi/apps/demo/users/a%20b/getSetting").await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("user_id"),
    );

    // A body id that differs from the path id: not part of the PUT/PATCH body schemas (the
    // same id is tolerated, so a GET answer can be sent back), refused naming it.
    assert!(!app_body.is_valid(&json!({"app_id": "cert"})));
    assert!(!user_body.is_valid(&json!({"user_id": "alice"})));
    let a = patch(&app, "/__admin/apps/demo", json!({"app_id": "cert"})).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_field", Some("app_id"));
    let a = put(
        &app,
        "/__admin/apps/cert/users/cert",
        json!({"user_id": "alice"}),
    )
    .await;
    assert_error(
        &a,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("user_id"),
    );

    // PUT /__admin/seed {"seed": 9301943.0}: an integer per JSON Schema, so accepted as one.
    let body = json!({"seed": 9301943.0});
    assert!(seed.is_valid(&body));
    let a = put(&app, "/__admin/seed", body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["seed"], 9301943);
    assert_error(
        &put(&app, "/__admin/seed", json!({"seed": 7.5})).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("seed"),
    );
    // A float form is exact only up to 2^53: beyond it, an out-of-range literal would read as
    // an in-range float, so it is refused.
    let req = Request::put("/__admin/faults")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"fail_error": -9223372036854775809}"#))
        .unwrap();
    assert_error(
        &send_req(&app, req).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("fail_error"),
    );

    // PATCH with console.user_info_approved: null was answered 200 and changed nothing: the
    // document refuses it and so does the server, naming the member; the value is unchanged.
    patch(
        &app,
        "/__admin/apps/demo",
        json!({"console": {"user_info_approved": false}}),
    )
    .await;
    let body = json!({"console": {"user_info_approved": null}});
    assert!(!app_body.is_valid(&body));
    let a = patch(&app, "/__admin/apps/demo", body).await;
    assert_error(
        &a,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        Some("console.user_info_approved"),
    );
    let demo = get(&app, "/__admin/apps/demo").await.json;
    assert_eq!(demo["console"]["user_info_approved"], false);
    // A user's mobile is the one member where null is a value (no mobile key).
    let a = patch(
        &app,
        "/__admin/apps/demo/users/alice",
        json!({"mobile": null}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["mobile"], Value::Null);
    assert!(user_body.is_valid(&json!({"mobile": null})));
    post_empty(&app, "/__admin/reset").await;
}

// ---------------------------------------------------------------------------------------------
// Real sockets

async fn start() -> Running {
    Running::start(server::Limits::default()).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Sends a request and reads its answer as JSON.
async fn json_of(req: reqwest::RequestBuilder) -> Value {
    req.send().await.unwrap().json().await.unwrap()
}

async fn bundle_over_http(c: &reqwest::Client, base: &str, app_id: &str) -> Opener {
    let b: Value = json_of(c.get(format!("{base}/__admin/apps/{app_id}/bundle"))).await;
    bundle_opener(&b)
}

#[tokio::test]
async fn real_socket_round_trip_drop_fault_and_graceful_shutdown() {
    let s = start().await;
    let c = client();
    let res = c
        .post(format!(
            "{}/jsapi/apps/demo/users/alice/getPhoneNumber",
            s.base()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["x-alipay-sim-version"],
        env!("CARGO_PKG_VERSION")
    );
    let v: Value = res.json().await.unwrap();
    let m = bundle_over_http(&c, &s.base(), "demo").await;
    assert_eq!(
        m.open(v["response"].as_str().unwrap()).unwrap().result,
        alices_mobile()
    );
    // Drop: the connection closes without an answer.
    c.put(format!("{}/__admin/faults", s.base()))
        .json(&json!({"drop_rate": 1.0}))
        .send()
        .await
        .unwrap();
    let dropped = c
        .post(format!(
            "{}/jsapi/apps/demo/users/alice/getPhoneNumber",
            s.base()
        ))
        .send()
        .await;
    assert!(dropped.is_err(), "{dropped:?}");
    let j: Value = json_of(c.get(format!("{}/__admin/journal", s.base()))).await;
    assert_eq!(j.as_array().unwrap().last().unwrap()["callback"], "dropped");
    // The server still answers, then stops gracefully.
    let h = c.get(format!("{}/healthz", s.base())).send().await.unwrap();
    assert_eq!(h.status(), 200);
    let base = s.base();
    s.stop().await;
    assert!(
        client()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn raw_socket_garbage_never_gets_a_5xx_or_hangs_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = start().await;
    let addr = s.addr.clone();
    let inputs: Vec<Vec<u8>> = vec![
        b"GARBAGE\r\n\r\n".to_vec(),
        b"POST /jsapi/apps/demo/users/alice/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\n{\"a\":".to_vec(),
        b"POST /__admin/apps HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n".to_vec(),
        format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a/".repeat(4000)).into_bytes(),
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: \x01\x02\r\n\r\n".to_vec(),
    ];
    for input in inputs {
        let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
        sock.write_all(&input).await.unwrap();
        let _ = sock.shutdown().await;
        let mut out = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            sock.read_to_end(&mut out),
        )
        .await;
        let head = String::from_utf8_lossy(&out);
        assert!(!head.starts_with("HTTP/1.1 5"), "{head}");
    }
    let h = client()
        .get(format!("{}/healthz", s.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_users_each_get_their_own_mobile() {
    let s = start().await;
    let c = client();
    const N: usize = 48;
    // Create the users concurrently, each with a generated mobile.
    let mut tasks = Vec::new();
    for i in 0..N {
        let (c, base) = (c.clone(), s.base());
        tasks.push(tokio::spawn(async move {
            let v: Value = json_of(
                c.post(format!("{base}/__admin/apps/demo/users"))
                    .json(&json!({"user_id": format!("load{i}"), "authorised": true})),
            )
            .await;
            (
                format!("load{i}"),
                v["mobile"].as_str().unwrap().to_string(),
            )
        }));
    }
    let mut users = Vec::new();
    for t in tasks {
        users.push(t.await.unwrap());
    }
    let distinct: HashSet<&String> = users.iter().map(|(_, m)| m).collect();
    assert_eq!(distinct.len(), N, "generated mobiles are distinct");
    let m = Arc::new(bundle_over_http(&c, &s.base(), "demo").await);
    // Every user asks several times at once; each answer is that user's own mobile.
    let mut tasks = Vec::new();
    for round in 0..3 {
        for (id, mobile) in users.clone() {
            let (c, base, m) = (c.clone(), s.base(), m.clone());
            tasks.push(tokio::spawn(async move {
                let v: Value =
                    json_of(c.post(format!("{base}/jsapi/apps/demo/users/{id}/getPhoneNumber")))
                        .await;
                let got = m.open(v["response"].as_str().unwrap()).unwrap().result;
                assert_eq!(got, Opened::Mobile(mobile.clone()), "{id} round {round}");
            }));
        }
    }
    // And erin's fresh mobiles never repeat under concurrency.
    let mut fresh = Vec::new();
    for _ in 0..N {
        let (c, base, m) = (c.clone(), s.base(), m.clone());
        fresh.push(tokio::spawn(async move {
            let v: Value =
                json_of(c.post(format!("{base}/jsapi/apps/demo/users/erin/getPhoneNumber"))).await;
            match m.open(v["response"].as_str().unwrap()).unwrap().result {
                Opened::Mobile(x) => x,
                other => panic!("{other:?}"),
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut seen = HashSet::new();
    for t in fresh {
        assert!(seen.insert(t.await.unwrap()), "a fresh mobile repeated");
    }
    let j: Value = json_of(c.get(format!("{}/__admin/journal", s.base()))).await;
    assert_eq!(j.as_array().unwrap().len(), N * 3 + N);
    s.stop().await;
}

#[test]
fn the_binary_prints_the_banner_and_address_serves_and_stops_on_sigterm() {
    use std::process::{Command, Stdio};
    // The child's stdout stays open until the end of the test.
    let (mut child, _stdout, line) =
        common::spawn_sim(&["serve", "--addr", "127.0.0.1:0"], Stdio::piped());
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first stdout line: {line:?}"))
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let v: Value = rt.block_on(async {
        json_of(client().post(format!("{base}/jsapi/apps/demo/users/alice/getPhoneNumber"))).await
    });
    let k = KeySet::embedded();
    let opened = Opener::new(Some(k.platform.verifier.clone()), Some(k.aes.clone()))
        .open(v["response"].as_str().unwrap())
        .unwrap();
    assert_eq!(opened.result, alices_mobile());
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "graceful exit on SIGTERM");
    let err = common::read_stderr(&mut child);
    assert!(err.contains("TEST KEYS"), "{err}");
    assert!(err.contains("never configure them in"), "{err}");
    assert!(!err.contains(&k.aes.to_base64()), "no key material in logs");
}

#[test]
fn serve_rejects_a_bad_address_with_exit_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_alipay-sim"))
        .args(["serve", "--addr", "localhost:port"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--addr"));
}

// ---------------------------------------------------------------------------------------------
// Property: no request, however malformed, makes a handler panic or answer 5xx.

mod hostile {
    use super::*;
    use proptest::prelude::*;

    fn segment() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "jsapi",
            "apps",
            "demo",
            "users",
            "alice",
            "dave",
            "getPhoneNumber",
            "authorize",
            "getSetting",
            "scenarios",
            "__admin",
            "faults",
            "journal",
            "seed",
            "reset",
            "bundle",
            "%ff",
            "%2F",
            "..",
            "",
            "x",
            "%00",
            "中",
        ])
        .prop_map(str::to_string)
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"".to_vec()),
            Just(b"{\"scope\":\"phoneNumber\",\"consent\":true}".to_vec()),
            Just(b"{\"app_id\":\"p\",\"console\":{\"encryption\":\"none\"}}".to_vec()),
            Just(b"{\"user_id\":\"p\",\"mobile\":null}".to_vec()),
            Just(b"{\"busy_rate\":0.5,\"latency_ms\":0}".to_vec()),
            Just(b"{\"seed\":18446744073709551615}".to_vec()),
            prop::collection::vec(any::<u8>(), 0..200),
            "[{}\\[\\]\":,a-z0-9 ]{0,80}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn random_requests_never_get_a_5xx(
            segs in prop::collection::vec(segment(), 0..7),
            query in prop::sample::select(vec!["", "?scenario=platform.success.mainland", "?scenario=", "?since=1", "?x=%zz", "?scenario=tamper.signature.attacker-key"]),
            method in prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
            ct in prop::sample::select(vec![None, Some("application/json"), Some("text/plain"), Some("application/json; charset=utf-8")]),
            body in body(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            static APP: std::sync::OnceLock<Router> = std::sync::OnceLock::new();
            rt.block_on(async {
                let app = APP.get_or_init(fresh);
                let uri = format!("/{}{}", segs.join("/"), query);
                let Ok(uri) = uri.parse::<axum::http::Uri>() else { return };
                let mut r = Request::builder().method(method).uri(uri);
                if let Some(ct) = ct {
                    r = r.header("content-type", ct);
                }
                let res = app.clone().oneshot(r.body(Body::from(body)).unwrap()).await.unwrap();
                let status = res.status();
                let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_string());
                assert!(!status.is_server_error(), "{status}");
                if status.is_client_error() {
                    assert_eq!(ctype.as_deref(), Some("application/json"));
                }
            });
        }
    }
}
