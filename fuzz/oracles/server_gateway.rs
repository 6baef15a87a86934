//! The OpenAPI gateway and `my.getAuthCode` through the router, without a socket: form and
//! query bytes for `/gateway.do`, JSON bodies and headers for the v3 paths.
//!
//! Input: requests separated by NUL bytes (at most 16 per input, against one state reset with
//! `POST /__admin/reset` before each input). In each request the first byte picks the route
//! (low 3 bits) and whether the simulator signs the request as the `demo` app would (bit
//! 0x80), so the search reaches past the signature check; the rest is the form, query or body.
//!
//! Routes: 0 `POST /gateway.do` (rest = form body), 1 `GET /gateway.do?<rest>`, 2 `POST
//! /gateway.do?<common params>` with the rest as form, 3 `POST /v3/alipay/system/oauth/token`
//! (rest = JSON body), 4 `GET /v3/alipay/user/info/share?<rest>`, 5 `POST
//! /jsapi/apps/demo/users/alice/getAuthCode` (rest = JSON body), 6 `POST /gateway.do` with a
//! fresh auth code appended to the form, 7 `PUT /gateway.do` (rest = body).
//!
//! Oracle besides "no panic": never a 5xx (no fault is set); `/gateway.do` always answers 200
//! with a JSON object holding exactly one `*_response` object whose text, cut as the Java SDK
//! cuts it, is the value the JSON parser sees, with `code` and `msg` strings when it is an
//! error; a `sign`, when present, verifies with the Alipay public key over that cut; the v3
//! paths answer JSON, with `code` and `message` strings on a 4xx.

use std::sync::LazyLock;

use alipay_sim::gateway::{parse_form, signing_string, v3_auth_string, v3_authorization};
use alipay_sim::{KeySet, SignType, server, server::AppState};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use tower::ServiceExt;

struct World {
    rt: tokio::runtime::Runtime,
    app: Router,
    keys: KeySet,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_time();
    #[cfg(fuzzing)]
    builder.start_paused(true);
    let rt = builder.build().expect("a runtime");
    let state = AppState::embedded();
    let app = {
        let _guard = rt.enter();
        server::app(state)
    };
    World {
        rt,
        app,
        keys: KeySet::embedded(),
    }
});

fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The form with `sign` added as the demo app signs (when it decodes at all).
fn signed(keys: &KeySet, form: &[u8]) -> Vec<u8> {
    let Ok(params) = parse_form(form) else {
        return form.to_vec();
    };
    let sign = keys
        .app
        .signer
        .sign_base64(SignType::Rsa2, signing_string(&params, false).as_bytes());
    let mut out = form.to_vec();
    out.extend_from_slice(format!("&sign={}", enc(&sign)).as_bytes());
    out
}

struct Reply {
    status: u16,
    body: Vec<u8>,
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app
        .clone()
        .oneshot(req)
        .await
        .expect("the router is infallible");
    let status = res.status().as_u16();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("gateway bodies are never dropped")
        .to_vec();
    Reply { status, body }
}

fn java_cut<'a>(raw: &'a str, key: &str) -> Option<&'a str> {
    let at = raw.find(&format!("\"{key}\""))?;
    let start = at + raw[at..].find('{')?;
    let (mut depth, mut in_str, mut esc) = (0, false, false);
    for (i, c) in raw[start..].char_indices() {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&raw[start..=start + i]);
                }
            }
            _ => {}
        }
    }
    None
}

fn check_v2(keys: &KeySet, what: &str, r: &Reply) {
    assert_eq!(r.status, 200, "{what}: status {}", r.status);
    let text = std::str::from_utf8(&r.body).unwrap_or_else(|_| panic!("{what}: not UTF-8"));
    let v: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object"));
    let keys_found: Vec<&String> = obj.keys().filter(|k| k.ends_with("_response")).collect();
    assert_eq!(keys_found.len(), 1, "{what}: {text}");
    let key = keys_found[0];
    let inner = &obj[key];
    let cut = java_cut(text, key).unwrap_or_else(|| panic!("{what}: no object under {key}"));
    assert_eq!(
        &serde_json::from_str::<serde_json::Value>(cut).expect("the cut parses"),
        inner,
        "{what}: the cut is not the object"
    );
    if inner.get("sub_code").is_some() || key == "error_response" {
        assert!(
            inner["code"].is_string() && inner["msg"].is_string(),
            "{what}: error without code/msg: {text}"
        );
    }
    if let Some(sign) = obj.get("sign") {
        let sign = sign.as_str().expect("sign is a string");
        keys.platform
            .verifier
            .verify_base64(SignType::Rsa2, cut.as_bytes(), sign)
            .unwrap_or_else(|e| panic!("{what}: sign does not verify ({e}): {text}"));
    }
}

fn check_v3(what: &str, r: &Reply) {
    assert!(r.status < 500, "{what}: status {}", r.status);
    let v: serde_json::Value =
        serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{what}: not JSON ({e})"));
    if r.status >= 400 {
        assert!(
            v["code"].is_string() && v["message"].is_string(),
            "{what}: {v}"
        );
    }
}

fn form_req(method: Method, uri: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("a valid request")
}

/// Runs one input through the target and its oracle; panics on a finding.
pub(crate) fn run(data: &[u8]) {
    let w = &*WORLD;
    w.rt.block_on(async {
        let reset = Request::builder()
            .method(Method::POST)
            .uri("/__admin/reset")
            .body(Body::empty())
            .expect("a valid request");
        send(&w.app, reset).await;
        for chunk in data.split(|&b| b == 0).take(16) {
            let Some((&sel, rest)) = chunk.split_first() else {
                continue;
            };
            let sign = sel & 0x80 != 0;
            let body = if sign { signed(&w.keys, rest) } else { rest.to_vec() };
            // Query text: only bytes a URI may carry.
            let query: String = body
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() && b != b'#' {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            match sel & 0x07 {
                0 => {
                    let r = send(&w.app, form_req(Method::POST, "/gateway.do", body)).await;
                    check_v2(&w.keys, "POST /gateway.do", &r);
                }
                1 => {
                    let Ok(req) = Request::builder()
                        .uri(format!("/gateway.do?{query}"))
                        .body(Body::empty())
                    else {
                        continue;
                    };
                    check_v2(&w.keys, "GET /gateway.do", &send(&w.app, req).await);
                }
                2 => {
                    let uri = "/gateway.do?app_id=demo&method=alipay.system.oauth.token&charset=utf-8&sign_type=RSA2&timestamp=2024-05-13%2017%3A49%3A20&version=1.0";
                    let r = send(&w.app, form_req(Method::POST, uri, body)).await;
                    check_v2(&w.keys, "POST /gateway.do?common", &r);
                }
                3 | 4 => {
                    let (method, path) = if sel & 0x07 == 3 {
                        (Method::POST, "/v3/alipay/system/oauth/token".to_string())
                    } else {
                        (Method::GET, format!("/v3/alipay/user/info/share?{query}"))
                    };
                    let text = if method == Method::POST {
                        String::from_utf8_lossy(rest).into_owned()
                    } else {
                        String::new()
                    };
                    let mut req = Request::builder().method(method.clone()).uri(&path);
                    if sign {
                        let auth = v3_auth_string("demo", None, "fuzz", 1);
                        req = req.header(
                            header::AUTHORIZATION,
                            v3_authorization(&w.keys.app.signer, &auth, method.as_str(), &path, &text),
                        );
                    } else if let Ok(h) = axum::http::HeaderValue::from_bytes(rest) {
                        req = req.header(header::AUTHORIZATION, h);
                    }
                    let Ok(req) = req.body(Body::from(text)) else {
                        continue;
                    };
                    check_v3("v3", &send(&w.app, req).await);
                }
                5 => {
                    let req = Request::builder()
                        .method(Method::POST)
                        .uri("/jsapi/apps/demo/users/alice/getAuthCode")
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(rest.to_vec()))
                        .expect("a valid request");
                    let r = send(&w.app, req).await;
                    assert!(r.status < 500, "getAuthCode: {}", r.status);
                    serde_json::from_slice::<serde_json::Value>(&r.body)
                        .expect("getAuthCode answers JSON");
                }
                6 => {
                    let req = Request::builder()
                        .method(Method::POST)
                        .uri("/jsapi/apps/demo/users/alice/getAuthCode")
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(r#"{"scopes":"auth_user"}"#))
                        .expect("a valid request");
                    let r = send(&w.app, req).await;
                    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
                    let code = v["authCode"].as_str().unwrap_or_default();
                    let mut form = rest.to_vec();
                    form.extend_from_slice(format!("&code={code}").as_bytes());
                    let form = if sign { signed(&w.keys, &form) } else { form };
                    let r = send(&w.app, form_req(Method::POST, "/gateway.do", form)).await;
                    check_v2(&w.keys, "POST /gateway.do with a code", &r);
                }
                _ => {
                    let r = send(&w.app, form_req(Method::PUT, "/gateway.do", body)).await;
                    check_v2(&w.keys, "PUT /gateway.do", &r);
                }
            }
        }
    });
}
