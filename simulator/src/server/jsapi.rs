//! The mini-program JSAPI, emulated: the authorisation button (`open-type="getAuthorize"`,
//! `scope="phoneNumber"`), `my.getPhoneNumber` and `my.getSetting`.
//!
//! `my.getPhoneNumber` answers exactly what the page's callback receives: the success-callback
//! object `{"response":"<envelope>"}` decided by [`crate::platform::decide`] for the app's console
//! and the user's state, or, when a fault asks for it, the fail-callback object.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::RequestId;
use super::error::{ApiError, JsonBody, Params, Query};
use super::faults::{self, Faults};
use super::journal::Entry;
use super::state::{Answer, AppState, Callback};
use crate::keys::KeySet;
use crate::platform::{self, Call, Platform, User};
use crate::scenario::build::expectation;

/// The header naming the callback an answer goes to.
pub const CALLBACK_HEADER: &str = "x-alipay-sim-callback";

/// Body of the authorisation button's event.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeBody {
    /// Must be `phoneNumber`.
    pub scope: String,
    /// The user tapped "allow" (true) or "deny" (false).
    pub consent: bool,
}

/// Optional body of `my.getPhoneNumber`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetPhoneNumberBody {
    /// `protocols` as passed by the page.
    #[serde(default)]
    pub protocols: Option<Protocols>,
}

/// `my.getPhoneNumber({protocols: {isvAppId}})`, for third-party (ISV) template apps.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocols {
    /// The ISV's app id.
    #[serde(default, rename = "isvAppId")]
    pub isv_app_id: Option<String>,
}

/// Query of `my.getPhoneNumber`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetPhoneNumberQuery {
    /// Force this catalogue scenario regardless of state.
    #[serde(default)]
    pub scenario: Option<String>,
}

/// Path of a user route.
#[derive(Debug, Deserialize)]
pub struct UserPath {
    /// App id.
    pub app_id: String,
    /// User id.
    pub user_id: String,
}

fn json_response(callback: Callback, body: axum::body::Bytes) -> Response {
    let mut r = Response::new(axum::body::Body::from(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(CALLBACK_HEADER, HeaderValue::from_static(callback.as_str()));
    r
}

/// [`transport_faults`], journaling a call that a dropped connection ends.
async fn journaled_transport_faults(
    state: &AppState,
    rid: &RequestId,
    api: &'static str,
    p: &UserPath,
    scenario: Option<&str>,
    f: &Faults,
    fired: &mut Vec<&'static str>,
) -> Option<Response> {
    let r = transport_faults(f, fired).await?;
    record(
        state,
        rid,
        api,
        Some(p),
        scenario,
        Callback::Dropped,
        None,
        std::mem::take(fired),
        Default::default(),
    );
    Some(r)
}

/// Applies the connection-level faults (drop, latency). `Some(response)` means: answer that.
async fn transport_faults(f: &Faults, fired: &mut Vec<&'static str>) -> Option<Response> {
    if faults::roll(f.drop_rate) {
        fired.push("drop");
        return Some(faults::dropped());
    }
    if f.latency_ms > 0 {
        fired.push("latency");
        tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
    }
    None
}

fn ensure_user(state: &AppState, p: &UserPath) -> Result<(), ApiError> {
    let w = state.read();
    let app = w.app(&p.app_id)?;
    if !app.users.contains_key(&p.user_id) {
        return Err(ApiError::unknown_user(&p.app_id, &p.user_id));
    }
    Ok(())
}

/// `POST /jsapi/apps/{app_id}/users/{user_id}/authorize`: the user consents or refuses on the
/// `getAuthorize` button; the choice is recorded as the user's authorisation.
pub async fn authorize(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Params(p): Params<UserPath>,
    JsonBody(body): JsonBody<AuthorizeBody>,
) -> Result<Response, ApiError> {
    if body.scope != "phoneNumber" {
        return Err(ApiError::invalid(
            "scope",
            format!(
                "scope {:?} is not emulated: the phone-number button uses scope \"phoneNumber\"",
                body.scope
            ),
        ));
    }
    ensure_user(&state, &p)?;
    let f = state.current_faults();
    let mut fired = Vec::new();
    if let Some(r) =
        journaled_transport_faults(&state, &rid, "authorize", &p, None, &f, &mut fired).await
    {
        return Ok(r);
    }
    {
        let mut w = state.write();
        let app = w.app_mut(&p.app_id)?;
        let user = app
            .users
            .get_mut(&p.user_id)
            .ok_or_else(|| ApiError::unknown_user(&p.app_id, &p.user_id))?;
        if user.authorised != body.consent {
            user.authorised = body.consent;
            user.cached = None;
            app.version += 1;
        }
    }
    let (callback, v) = if body.consent {
        (
            Callback::OnGetAuthorize,
            serde_json::json!({"callback": "onGetAuthorize", "detail": {}}),
        )
    } else {
        (
            Callback::OnError,
            serde_json::json!({"callback": "onError", "detail": {"type": "getAuthorize", "errorMessage": "用户拒绝授权"}}),
        )
    };
    let bytes = axum::body::Bytes::from(v.to_string());
    record(
        &state,
        &rid,
        "authorize",
        Some(&p),
        None,
        callback,
        None,
        fired,
        bytes.clone(),
    );
    Ok(json_response(callback, bytes))
}

/// `GET /jsapi/apps/{app_id}/users/{user_id}/getSetting`: `authSetting.phoneNumber` is the
/// user's consent.
pub async fn get_setting(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Params(p): Params<UserPath>,
) -> Result<Response, ApiError> {
    ensure_user(&state, &p)?;
    let f = state.current_faults();
    let mut fired = Vec::new();
    if let Some(r) =
        journaled_transport_faults(&state, &rid, "getSetting", &p, None, &f, &mut fired).await
    {
        return Ok(r);
    }
    let authorised = {
        let w = state.read();
        w.apps
            .get(&p.app_id)
            .and_then(|a| a.users.get(&p.user_id))
            .map(|u| u.authorised)
            .ok_or_else(|| ApiError::unknown_user(&p.app_id, &p.user_id))?
    };
    let bytes = axum::body::Bytes::from(
        serde_json::json!({"authSetting": {"phoneNumber": authorised}}).to_string(),
    );
    record(
        &state,
        &rid,
        "getSetting",
        Some(&p),
        None,
        Callback::Success,
        None,
        fired,
        bytes.clone(),
    );
    Ok(json_response(Callback::Success, bytes))
}

#[allow(clippy::too_many_arguments)]
fn record(
    state: &AppState,
    rid: &RequestId,
    api: &'static str,
    p: Option<&UserPath>,
    scenario: Option<&str>,
    callback: Callback,
    expected: Option<crate::scenario::Expectation>,
    faults: Vec<&'static str>,
    answer: axum::body::Bytes,
) {
    state.journal.record(Entry {
        request_id: rid.0.clone(),
        api,
        app_id: p.map(|p| p.app_id.clone()),
        user_id: p.map(|p| p.user_id.clone()),
        scenario: scenario.map(str::to_string),
        callback,
        expected,
        faults,
        answer,
    });
}

fn fail_answer(f: &Faults) -> Answer {
    Answer {
        body: axum::body::Bytes::from(
            serde_json::json!({"error": f.fail_error, "errorMessage": f.fail_message}).to_string(),
        ),
        callback: Callback::Fail,
        expected: None,
    }
}

/// The sealed answer of a catalogue scenario with these keys.
fn scenario_answer(state: &AppState, id: &str, keys: &KeySet) -> Result<Answer, ApiError> {
    let s = state
        .catalogue()
        .get(id)
        .ok_or_else(|| ApiError::unknown_scenario(id))?;
    let built = s.build(keys);
    Ok(Answer::success(
        &built.body,
        built.response_is_object,
        built.expected,
    ))
}

/// `POST /jsapi/apps/{app_id}/users/{user_id}/getPhoneNumber[?scenario=<id>]`.
pub async fn get_phone_number(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Params(p): Params<UserPath>,
    Query(q): Query<GetPhoneNumberQuery>,
    JsonBody(body): JsonBody<GetPhoneNumberBody>,
) -> Result<Response, ApiError> {
    if let Some(id) = &q.scenario
        && state.catalogue().get(id).is_none()
    {
        return Err(ApiError::unknown_scenario(id));
    }
    let f = state.current_faults();
    let mut fired = Vec::new();
    let scenario = q.scenario.as_deref();
    if !f.is_quiet() {
        // Unknown ids get their 404 before any fault fires (answer_for checks them otherwise).
        ensure_user(&state, &p)?;
        if let Some(r) =
            journaled_transport_faults(&state, &rid, "getPhoneNumber", &p, scenario, &f, &mut fired)
                .await
        {
            return Ok(r);
        }
        if faults::roll(f.fail_rate) {
            fired.push("fail");
            let a = fail_answer(&f);
            record(
                &state,
                &rid,
                "getPhoneNumber",
                Some(&p),
                scenario,
                a.callback,
                None,
                fired,
                a.body.clone(),
            );
            return Ok(json_response(a.callback, a.body));
        }
    }
    let busy = scenario.is_none() && faults::roll(f.busy_rate);
    if busy {
        fired.push("busy");
    }
    let call = Call {
        isv_app_id: body
            .protocols
            .and_then(|p| p.isv_app_id)
            .is_some_and(|id| !id.is_empty()),
    };
    let answer = answer_for(&state, &p, scenario, call, busy, &f)?;
    record(
        &state,
        &rid,
        "getPhoneNumber",
        Some(&p),
        scenario,
        answer.callback,
        answer.expected.clone(),
        fired,
        answer.body.clone(),
    );
    Ok(json_response(answer.callback, answer.body.clone()))
}

/// The answer for the user's state (cached while the state is unchanged), a forced scenario
/// (cached per app), or a busy platform.
fn answer_for(
    state: &AppState,
    p: &UserPath,
    scenario: Option<&str>,
    call: Call,
    busy: bool,
    f: &Faults,
) -> Result<Arc<Answer>, ApiError> {
    // Snapshot under the read lock; sign without it.
    let (console, record, keys, version) = {
        let w = state.read();
        let app = w.app(&p.app_id)?;
        let user = app
            .users
            .get(&p.user_id)
            .ok_or_else(|| ApiError::unknown_user(&p.app_id, &p.user_id))?;
        // The cached state answer assumes the default call; an ISV template app's answer
        // depends on the call, so it is never taken from the cache.
        let cached = match scenario {
            Some(id) => app.scenario_cache.get(id).cloned(),
            None if !busy && !app.console.isv_template => user.cached.clone(),
            None => None,
        };
        if let Some(a) = cached {
            return Ok(a);
        }
        (
            app.console.clone(),
            user.clone(),
            app.keys.clone(),
            app.version,
        )
    };
    let (answer, cacheable) = match scenario {
        Some(id) => (scenario_answer(state, id, &keys)?, true),
        None => {
            let user = User {
                authorised: record.authorised,
                mobile: record.mobile.resolve(&state.mobiles),
            };
            let platform = Platform {
                busy,
                busy_delivery: f.busy_delivery,
            };
            let d = platform::decide(&console, &user, &call, &platform);
            let sealed = d.seal(&keys);
            let fresh = matches!(record.mobile, super::state::MobileSetting::Fresh);
            (
                Answer::sealed(&sealed, expectation(&d.payload)),
                !busy && !fresh && !console.isv_template,
            )
        }
    };
    let answer = Arc::new(answer);
    if cacheable {
        let mut w = state.write();
        if let Some(app) = w.apps.get_mut(&p.app_id)
            && app.version == version
        {
            match scenario {
                Some(id) => {
                    app.scenario_cache.insert(id.to_string(), answer.clone());
                }
                None => {
                    if let Some(u) = app.users.get_mut(&p.user_id) {
                        u.cached = Some(answer.clone());
                    }
                }
            }
        }
    }
    Ok(answer)
}

/// Path of the stateless scenario route.
#[derive(Debug, Deserialize)]
pub struct ScenarioPath {
    /// Catalogue scenario id.
    pub scenario_id: String,
}

/// `POST /jsapi/scenarios/{scenario_id}/getPhoneNumber`: the success-callback object of a
/// catalogue scenario sealed with the server's keys, without state or faults.
pub async fn scenario_phone_number(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Params(p): Params<ScenarioPath>,
) -> Result<Response, ApiError> {
    let cached = state
        .scenario_cache
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&p.scenario_id)
        .cloned();
    let answer = match cached {
        Some(a) => a,
        None => {
            let a = Arc::new(scenario_answer(&state, &p.scenario_id, &state.keys)?);
            state
                .scenario_cache
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(p.scenario_id.clone(), a.clone());
            a
        }
    };
    state.journal.record(Entry {
        request_id: rid.0.clone(),
        api: "getPhoneNumber",
        app_id: None,
        user_id: None,
        scenario: Some(p.scenario_id.clone()),
        callback: answer.callback,
        expected: answer.expected.clone(),
        faults: Vec::new(),
        answer: answer.body.clone(),
    });
    Ok(json_response(answer.callback, answer.body.clone()).into_response())
}
