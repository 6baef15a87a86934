//! The reference merchant's `POST /login` (and the login bugs of the broken merchants): the
//! contract of `interop/README.md` ("The login contract"), the same as the five interop
//! merchants.
//!
//! 1. Reads `{"authCode": "...", "response": "<envelope>"}` (nothing else: an id or mobile the
//!    client adds is ignored).
//! 2. Redeems the code: `alipay.system.oauth.token` (`grant_type=authorization_code`), the
//!    request signed RSA2 with the app key over the sorted non-empty parameters, POSTed as a
//!    form, with a 4 s deadline.
//! 3. Verifies the answer's `sign` over the raw bytes of the answer node with the Alipay public
//!    key. A success needs a signature that verifies; an error answer may come unsigned (it can
//!    only refuse), but a signature that is present must verify.
//! 4. Opens the envelope with the same [`Opener`] as the decryption endpoint.
//!
//! | outcome | answer |
//! |---|---|
//! | logged in | 200 `{"status":"ok","user_id":…,"open_id":…,"mobile":"…"}` (an id the gateway did not send is `null`) |
//! | the gateway refused the code | 401 `{"status":"rejected","error":"auth_code","code":"40002","sub_code":"isv.code-invalid"}` |
//! | the answer does not verify | 401 `{"status":"rejected","error":"gateway_signature"}` |
//! | gateway busy (20000) | 503 `{"status":"retry_later","code":"20000"}` + `Retry-After: 1` |
//! | no usable answer (transport, status, shape, no user id) | 502 `{"status":"error","error":"gateway_unavailable"}` |
//! | not `{authCode, response}` | 400 `{"status":"rejected","error":"bad_request"}` |
//! | a good code, a bad envelope | the envelope's own answer |
//!
//! It never calls `alipay.user.info.share`: it asks for `auth_base` only.

use std::sync::Arc;
use std::time::Duration;

use alipay_sim::gateway::{ERROR_RESPONSE, response_key, signing_string};
use alipay_sim::{KeyPair, Opened, Opener, SignType, Verifier};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use reqwest::Url;
use serde_json::{Value, json};

use super::reference::{Envelope, answer, refused, rejected};

/// The method that redeems an auth code.
pub const TOKEN_METHOD: &str = "alipay.system.oauth.token";

/// The profile method (called only by [`LoginFlaw::ReadsProfile`]).
pub const PROFILE_METHOD: &str = "alipay.user.info.share";

/// How long the merchant waits for the gateway.
pub const GATEWAY_TIMEOUT: Duration = Duration::from_secs(4);

/// Where and as whom the merchant calls the OpenAPI gateway.
#[derive(Debug, Clone)]
pub struct LoginGateway {
    /// The v2 gateway URL, e.g. `http://127.0.0.1:8780/gateway.do`.
    pub url: Url,
    /// The app id (`demo` in the simulator).
    pub app_id: String,
    /// The app's key pair (TEST ONLY): its private half signs the gateway requests.
    pub app_key: KeyPair,
}

/// A login bug of a broken merchant (the envelope part stays correct).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFlaw {
    /// Takes `user_id` / `open_id` / `mobile` from the request when present.
    TrustsClient,
    /// Reads the ids from the gateway's answer without checking its `code`: an error answer
    /// logs in a user with no id (the Node SDK's `exec` returns errors instead of throwing).
    ErrorAsSuccess,
    /// Does not verify the gateway answer's signature.
    NoVerify,
    /// Panics on a gateway HTTP status other than 200 (`res.json().unwrap()` on an HTML page).
    CrashOn5xx,
    /// Treats 20000 like any other refusal (401).
    BusyFinal,
    /// Calls `alipay.user.info.share` on every login and ignores its answer.
    ReadsProfile,
}

/// The state of the login route.
#[derive(Debug)]
pub(crate) struct Login {
    pub(crate) opener: Opener,
    pub(crate) alipay: Verifier,
    pub(crate) gateway: LoginGateway,
    pub(crate) flaw: Option<LoginFlaw>,
    pub(crate) http: reqwest::Client,
}

/// The `/login` route of a merchant.
pub(crate) fn router(
    opener: Opener,
    alipay: Verifier,
    gateway: LoginGateway,
    flaw: Option<LoginFlaw>,
) -> axum::Router {
    let http = reqwest::Client::builder()
        .timeout(GATEWAY_TIMEOUT)
        .no_proxy()
        .build()
        .expect("a plain HTTP client builds");
    axum::Router::new()
        .route("/login", axum::routing::post(login))
        .with_state(Arc::new(Login {
            opener,
            alipay,
            gateway,
            flaw,
            http,
        }))
}

/// What the gateway said about a code.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Redeemed {
    User {
        user_id: Option<String>,
        open_id: Option<String>,
        access_token: Option<String>,
    },
    Refused {
        code: String,
        sub_code: String,
    },
    Busy,
    BadSignature,
    Unavailable,
}

fn unavailable() -> Response {
    (
        StatusCode::BAD_GATEWAY,
        Json(json!({"status": "error", "error": "gateway_unavailable"})),
    )
        .into_response()
}

fn unauthorized(body: Value) -> Response {
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

impl Login {
    /// Calls `method` with `biz` parameters; the HTTP status and body.
    async fn call(&self, method: &str, biz: &[(&str, &str)]) -> Option<(u16, String)> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut params: Vec<(String, String)> = [
            ("app_id", self.gateway.app_id.as_str()),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("version", "1.0"),
        ]
        .iter()
        .chain(biz.iter())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        params.push(("timestamp".into(), alipay_sim::gateway::beijing_time(now)));
        let sign = self
            .gateway
            .app_key
            .signer
            .sign_base64(SignType::Rsa2, signing_string(&params, true).as_bytes());
        params.push(("sign".into(), sign));
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let res = self
            .http
            .post(self.gateway.url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(form)
            .send()
            .await
            .ok()?;
        let status = res.status().as_u16();
        Some((status, res.text().await.ok()?))
    }

    /// Redeems `code`.
    async fn redeem(&self, code: &str) -> Redeemed {
        let Some((status, text)) = self
            .call(
                TOKEN_METHOD,
                &[("grant_type", "authorization_code"), ("code", code)],
            )
            .await
        else {
            return Redeemed::Unavailable;
        };
        if status != 200 {
            if self.flaw == Some(LoginFlaw::CrashOn5xx) {
                // BUG: the answer is assumed to be JSON.
                panic!("gateway answered {status}: expected JSON");
            }
            return Redeemed::Unavailable;
        }
        let Ok(members) = alipay_sim::json::scan_object(&text) else {
            return Redeemed::Unavailable;
        };
        let key = response_key(TOKEN_METHOD);
        let Some(node) = members
            .iter()
            .find(|m| m.key == key)
            .or_else(|| members.iter().find(|m| m.key == ERROR_RESPONSE))
        else {
            return Redeemed::Unavailable;
        };
        let raw = &text[node.span.clone()];
        let sign = members
            .iter()
            .find(|m| m.key == "sign")
            .and_then(|m| m.string.clone());
        let verified = match &sign {
            Some(s) => self
                .alipay
                .verify_base64(SignType::Rsa2, raw.as_bytes(), s)
                .is_ok(),
            None => false,
        };
        if self.flaw != Some(LoginFlaw::NoVerify) && sign.is_some() && !verified {
            return Redeemed::BadSignature;
        }
        let Ok(v) = serde_json::from_str::<Value>(raw) else {
            return Redeemed::Unavailable;
        };
        let s = |k: &str| v[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let error_code = s("code").filter(|c| c != alipay_sim::gateway::GATEWAY_SUCCESS);
        if let Some(code) = error_code
            && self.flaw != Some(LoginFlaw::ErrorAsSuccess)
        {
            if code == "20000" && self.flaw != Some(LoginFlaw::BusyFinal) {
                return Redeemed::Busy;
            }
            return Redeemed::Refused {
                code,
                sub_code: s("sub_code").unwrap_or_default(),
            };
        }
        if !verified && self.flaw != Some(LoginFlaw::NoVerify) {
            // A success must be signed.
            return Redeemed::BadSignature;
        }
        let (user_id, open_id) = (s("user_id"), s("open_id"));
        if user_id.is_none() && open_id.is_none() && self.flaw != Some(LoginFlaw::ErrorAsSuccess) {
            return Redeemed::Unavailable;
        }
        Redeemed::User {
            user_id,
            open_id,
            access_token: s("access_token"),
        }
    }
}

/// `POST /login`.
async fn login(State(l): State<Arc<Login>>, Envelope(body): Envelope) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_str::<Value>(&body) else {
        return rejected("bad_request");
    };
    let (Some(code), Some(envelope)) = (
        req.get("authCode")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty()),
        req.get("response").and_then(Value::as_str),
    ) else {
        return rejected("bad_request");
    };
    let (mut user_id, mut open_id, access_token) = match l.redeem(code).await {
        Redeemed::User {
            user_id,
            open_id,
            access_token,
        } => (user_id, open_id, access_token),
        Redeemed::Refused { code, sub_code } => {
            return unauthorized(json!({
                "status": "rejected", "error": "auth_code", "code": code, "sub_code": sub_code
            }));
        }
        Redeemed::Busy => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                Json(json!({"status": "retry_later", "code": "20000"})),
            )
                .into_response();
        }
        Redeemed::BadSignature => {
            return unauthorized(json!({"status": "rejected", "error": "gateway_signature"}));
        }
        Redeemed::Unavailable => return unavailable(),
    };
    if l.flaw == Some(LoginFlaw::ReadsProfile)
        && let Some(token) = &access_token
    {
        // BUG: the profile is read whatever the scope; its answer (40006 for auth_base) is
        // ignored.
        let _ = l.call(PROFILE_METHOD, &[("auth_token", token)]).await;
    }
    let client = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| req.get(*n).and_then(Value::as_str).map(str::to_string))
    };
    if l.flaw == Some(LoginFlaw::TrustsClient) {
        // BUG: "the page already knows who the user is".
        user_id = client(["user_id", "userId"]).or(user_id);
        open_id = client(["open_id", "openId"]).or(open_id);
    }
    let opened = match l.opener.open(envelope) {
        Ok(o) => o.result,
        Err(e) => return refused(&e),
    };
    let mobile = match &opened {
        Opened::Mobile(m) => m.clone(),
        other => return answer(other),
    };
    let mobile = match l.flaw {
        Some(LoginFlaw::TrustsClient) => client(["mobile", "phone"]).unwrap_or(mobile),
        _ => mobile,
    };
    (
        StatusCode::OK,
        Json(json!({"status": "ok", "user_id": user_id, "open_id": open_id, "mobile": mobile})),
    )
        .into_response()
}
