//! `my.getAuthCode`, emulated: `POST /jsapi/apps/{app_id}/users/{user_id}/getAuthCode` answers
//! the object the page's success callback receives (`authCode`, `authErrorScopes`,
//! `authSuccessScopes`) or the fail callback's `{"error","errorMessage"}`.
//!
//! The code is issued into the login store (`model::login`): single use, bound to the app, the
//! user and the granted scopes, expiring after the app's `login.code_lifetime_secs`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::answer::Callback;
use super::error::{ApiError, JsonBody, Params, not_null};
use super::journal::Api;
use super::jsapi::{CallRecord, Prelude, UserPath, json_response, prelude};
use super::middleware::RequestId;
use super::state::AppState;
use crate::model::login::{Grant, Scope};
use crate::protocol::json::write_string;

/// `scopes` as the page passes it: one name or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scopes {
    /// `"auth_base"`.
    One(String),
    /// `["auth_base", "auth_user"]`.
    Many(Vec<String>),
}

/// Body of `my.getAuthCode`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetAuthCodeBody {
    /// The scopes asked for (default `auth_base`); `null` is refused, as everywhere.
    #[serde(default, deserialize_with = "not_null")]
    pub(crate) scopes: Option<Scopes>,
    /// The user's choice on the consent sheet shown for `auth_user` (default: allow).
    /// `auth_base` shows no sheet, so it cannot be refused.
    #[serde(default, deserialize_with = "not_null")]
    pub(crate) consent: Option<bool>,
}

/// Fail callback `error` for wrong scopes (no authorisation result) [GAC].
pub(crate) const FAIL_NO_RESULT: i64 = 3;
/// Fail callback `error` for no permission [GAC].
pub(crate) const FAIL_NO_PERMISSION: i64 = 4;
/// Fail callback `error` for a refusal [GAC].
pub(crate) const FAIL_REFUSED: i64 = 11;

fn fail(error: i64, message: &str) -> Bytes {
    Bytes::from(serde_json::json!({"error": error, "errorMessage": message}).to_string())
}

/// `POST /jsapi/apps/{app_id}/users/{user_id}/getAuthCode`.
pub(crate) async fn get_auth_code(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Params(p): Params<UserPath>,
    JsonBody(body): JsonBody<GetAuthCodeBody>,
) -> Result<Response, ApiError> {
    let call = CallRecord {
        state: &state,
        rid: &rid,
        api: Api::GetAuthCode,
        path: Some(&p),
        scenario: None,
    };
    let fired = match prelude(&call).await? {
        Prelude::Go(_, fired) => fired,
        Prelude::Done(r) => return Ok(r),
    };
    let names = match body.scopes {
        None => vec!["auth_base".to_string()],
        Some(Scopes::One(s)) => vec![s],
        Some(Scopes::Many(v)) => v,
    };
    let mut asked = Vec::new();
    let mut unknown = names.is_empty();
    for n in &names {
        match Scope::parse(n) {
            Some(s) if !asked.contains(&s) => asked.push(s),
            Some(_) => {}
            None => unknown = true,
        }
    }
    let answer = |callback: Callback, bytes: Bytes| {
        call.record(callback, None, fired.clone(), bytes.clone());
        Ok(json_response(callback, bytes))
    };
    if unknown {
        return answer(
            Callback::Fail,
            fail(FAIL_NO_RESULT, "授权失败，scopes 参数不正确"),
        );
    }
    let allowed = state.view(|w| w.app(&p.app_id).map(|a| a.login.scopes.clone()))?;
    let (granted, refused): (Vec<Scope>, Vec<Scope>) =
        asked.iter().partition(|s| allowed.contains(s));
    if granted.is_empty() {
        return answer(Callback::Fail, fail(FAIL_NO_PERMISSION, "无权限调用"));
    }
    if granted.contains(&Scope::AuthUser) && body.consent == Some(false) {
        return answer(Callback::Fail, fail(FAIL_REFUSED, "用户取消授权"));
    }
    let now = state.now_ms();
    let lifetime = state.view(|w| w.app(&p.app_id).map(|a| a.login.code_lifetime_secs))?;
    let code = state.login(|l| {
        l.issue_code(
            Grant {
                app_id: p.app_id.clone(),
                user: p.user_id.clone(),
                scopes: granted.clone(),
                auth_start_ms: now,
            },
            now,
            lifetime,
        )
    });
    let mut out = String::from("{\"authCode\":");
    write_string(&mut out, &code);
    out.push_str(",\"authErrorScopes\":{");
    for (i, s) in refused.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, s.as_str());
        // The code the document's FAQ names for a missing "获取会员信息" product.
        out.push_str(":\"40006\"");
    }
    out.push_str("},\"authSuccessScopes\":[");
    for (i, s) in granted.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, s.as_str());
    }
    out.push_str("]}");
    answer(Callback::Success, Bytes::from(out))
}
