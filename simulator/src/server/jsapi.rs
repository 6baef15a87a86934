//! The mini-program JSAPI, emulated: the authorisation button (`open-type="getAuthorize"`,
//! `scope="phoneNumber"`), `my.getPhoneNumber`, `my.getRunData` and `my.getSetting`.
//!
//! `my.getPhoneNumber` answers exactly what the page's callback receives: the success-callback
//! object `{"response":"<envelope>"}` decided by [`crate::model::platform::decide`] for the app's console
//! and the user's state, or, when a fault asks for it, the fail-callback object.
//! `my.getRunData` answers the same way through the same decision
//! ([`crate::model::platform::decide_api`]), with the day's step count as the plaintext.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::admin::check_id;
use super::answer::{Answer, Callback};
use super::error::{ApiError, CheckParams, JsonBody, Params, Query};
use super::faults::{self, Faults, Fired};
use super::journal::{Api as Called, Entry};
use super::middleware::RequestId;
use super::state::AppState;
use super::world::MobileSetting;
use crate::model::platform::{self, Api, Call, Platform, User};
use crate::model::run_data::{china_date, valid_count_date};
use crate::model::scenario::Expectation;
use crate::model::scenario::build::expectation;
use crate::protocol::keys::KeySet;
use crate::protocol::payload::RunData;

/// The header naming the callback an answer goes to.
pub(crate) const CALLBACK_HEADER: &str = "x-alipay-sim-callback";

/// Body of the authorisation button's event.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthorizeBody {
    /// Must be `phoneNumber`.
    pub(crate) scope: String,
    /// The user tapped "allow" (true) or "deny" (false).
    pub(crate) consent: bool,
}

/// Optional body of `my.getPhoneNumber`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetPhoneNumberBody {
    /// `protocols` as passed by the page.
    #[serde(default)]
    pub(crate) protocols: Option<Protocols>,
}

/// `my.getPhoneNumber({protocols: {isvAppId}})`, for third-party (ISV) template apps.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Protocols {
    /// The ISV's app id.
    #[serde(default, rename = "isvAppId")]
    pub(crate) isv_app_id: Option<String>,
}

/// Optional body of `my.getRunData`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetRunDataBody {
    /// The day, `yyyy-mm-dd`; omitted: today in China (UTC+8).
    #[serde(default, rename = "countDate")]
    pub(crate) count_date: Option<String>,
    /// `protocols` as passed by the page.
    #[serde(default)]
    pub(crate) protocols: Option<Protocols>,
}

/// Query of `my.getPhoneNumber` and `my.getRunData`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetPhoneNumberQuery {
    /// Force this catalogue scenario regardless of state.
    #[serde(default)]
    pub(crate) scenario: Option<String>,
}

/// Path of a user route.
#[derive(Debug, Deserialize)]
pub(crate) struct UserPath {
    /// App id.
    pub(crate) app_id: String,
    /// User id.
    pub(crate) user_id: String,
}

impl CheckParams for UserPath {
    fn check(&self) -> Result<(), ApiError> {
        check_id("app_id", &self.app_id)?;
        check_id("user_id", &self.user_id)
    }
}

pub(crate) fn json_response(callback: Callback, body: Bytes) -> Response {
    let mut r = Response::new(Body::from(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(CALLBACK_HEADER, HeaderValue::from_static(callback.as_str()));
    r
}

/// One JSAPI call, for the journal.
pub(crate) struct CallRecord<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) rid: &'a RequestId,
    pub(crate) api: Called,
    pub(crate) path: Option<&'a UserPath>,
    pub(crate) scenario: Option<&'a str>,
}

impl CallRecord<'_> {
    /// Journals what was answered.
    pub(crate) fn record(
        &self,
        callback: Callback,
        expected: Option<Expectation>,
        faults: Vec<Fired>,
        answer: Bytes,
    ) {
        self.state.journal().record(Entry {
            request_id: self.rid.0.clone(),
            api: self.api,
            app_id: self.path.map(|p| p.app_id.clone()),
            user_id: self.path.map(|p| p.user_id.clone()),
            scenario: self.scenario.map(str::to_string),
            callback,
            expected,
            faults,
            answer,
        });
    }
}

/// How a call goes on after the fault prelude.
pub(crate) enum Prelude {
    /// Answer normally; these faults are in force and these already fired.
    Go(Arc<Faults>, Vec<Fired>),
    /// The call ends with this response (the connection is dropped).
    Done(Response),
}

/// The start every JSAPI call on a user shares: the app and the user must exist (404 before any
/// fault fires); then a drop fault ends the call (journaled, connection closed without an
/// answer) and a latency fault waits.
pub(crate) async fn prelude(call: &CallRecord<'_>) -> Result<Prelude, ApiError> {
    if let Some(p) = call.path {
        call.state
            .view(|w| w.user(&p.app_id, &p.user_id).map(|_| ()))?;
    }
    let f = call.state.faults();
    let mut fired = Vec::new();
    if faults::roll(f.drop_rate) {
        fired.push(Fired::Drop);
        call.record(Callback::Dropped, None, fired, Bytes::new());
        return Ok(Prelude::Done(dropped()));
    }
    if f.latency_ms > 0 {
        fired.push(Fired::Latency);
        tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
    }
    Ok(Prelude::Go(f, fired))
}

/// A body that fails at once: hyper closes the connection without sending the response.
struct Dropped;

impl http_body::Body for Dropped {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by fault injection",
        ))))
    }
}

/// The response that makes the server close the connection without answering.
pub(crate) fn dropped() -> Response {
    let mut r = Response::new(Body::new(Dropped));
    *r.status_mut() = StatusCode::OK;
    r
}

/// `POST /jsapi/apps/{app_id}/users/{user_id}/authorize`: the user consents or refuses on the
/// `getAuthorize` button; the choice is recorded as the user's authorisation.
pub(crate) async fn authorize(
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
    let call = CallRecord {
        state: &state,
        rid: &rid,
        api: Called::Authorize,
        path: Some(&p),
        scenario: None,
    };
    let fired = match prelude(&call).await? {
        Prelude::Go(_, fired) => fired,
        Prelude::Done(r) => return Ok(r),
    };
    state.update(|w| {
        let app = w.app_mut(&p.app_id)?;
        let Some(user) = app.users.get_mut(&p.user_id) else {
            return Err(ApiError::unknown_user(&p.app_id, &p.user_id));
        };
        if user.authorised != body.consent {
            user.authorised = body.consent;
            user.cached = None;
            app.version += 1;
        }
        Ok(())
    })?;
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
    let bytes = Bytes::from(v.to_string());
    call.record(callback, None, fired, bytes.clone());
    Ok(json_response(callback, bytes))
}

/// `GET /jsapi/apps/{app_id}/users/{user_id}/getSetting`: `authSetting.phoneNumber` is the
/// user's consent.
pub(crate) async fn get_setting(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Params(p): Params<UserPath>,
) -> Result<Response, ApiError> {
    let call = CallRecord {
        state: &state,
        rid: &rid,
        api: Called::GetSetting,
        path: Some(&p),
        scenario: None,
    };
    let fired = match prelude(&call).await? {
        Prelude::Go(_, fired) => fired,
        Prelude::Done(r) => return Ok(r),
    };
    let authorised = state.view(|w| w.user(&p.app_id, &p.user_id).map(|u| u.authorised))?;
    let bytes =
        Bytes::from(serde_json::json!({"authSetting": {"phoneNumber": authorised}}).to_string());
    call.record(Callback::Success, None, fired, bytes.clone());
    Ok(json_response(Callback::Success, bytes))
}

fn fail_answer(f: &Faults) -> Answer {
    Answer {
        body: Bytes::from(
            serde_json::json!({"error": f.fail_error, "errorMessage": f.fail_message}).to_string(),
        ),
        callback: Callback::Fail,
        expected: None,
    }
}

/// A forced scenario must exist and be a case of the API called.
fn check_scenario(state: &AppState, id: &str, api: Api) -> Result<(), ApiError> {
    let s = state
        .catalogue()
        .get(id)
        .ok_or_else(|| ApiError::unknown_scenario(id))?;
    if s.api != api {
        return Err(ApiError::invalid(
            "scenario",
            format!(
                "scenario {id:?} is a {} case; force it on {}, not on {}",
                s.api.as_str(),
                s.api.as_str(),
                api.as_str()
            ),
        ));
    }
    Ok(())
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
pub(crate) async fn get_phone_number(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Params(p): Params<UserPath>,
    Query(q): Query<GetPhoneNumberQuery>,
    JsonBody(body): JsonBody<GetPhoneNumberBody>,
) -> Result<Response, ApiError> {
    let isv = isv_call(body.protocols);
    let call = Sealed {
        api: Api::GetPhoneNumber,
        called: Called::GetPhoneNumber,
        ask: Ask::PhoneNumber(isv),
        refused: None,
    };
    sealed_call(&state, &rid, &p, q.scenario.as_deref(), call).await
}

/// The fail-callback object of `my.getRunData` for a `countDate` that is not a day: error 2,
/// "invalid parameter" in its document's fail table.
fn invalid_count_date(d: &str) -> Answer {
    Answer {
        body: Bytes::from(
            serde_json::json!({
                "error": 2,
                "errorMessage": format!("参数无效: countDate {d:?} is not a day yyyy-mm-dd"),
            })
            .to_string(),
        ),
        callback: Callback::Fail,
        expected: None,
    }
}

/// `POST /jsapi/apps/{app_id}/users/{user_id}/getRunData[?scenario=<id>]`: as
/// `getPhoneNumber`, with the user's step count of `countDate` as the plaintext.
pub(crate) async fn get_run_data(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Params(p): Params<UserPath>,
    Query(q): Query<GetPhoneNumberQuery>,
    JsonBody(body): JsonBody<GetRunDataBody>,
) -> Result<Response, ApiError> {
    let isv = isv_call(body.protocols);
    let date = body.count_date.unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        china_date(now)
    });
    let call = Sealed {
        api: Api::GetRunData,
        called: Called::GetRunData,
        refused: (!valid_count_date(&date)).then(|| invalid_count_date(&date)),
        ask: Ask::RunData(isv, &date),
    };
    sealed_call(&state, &rid, &p, q.scenario.as_deref(), call).await
}

/// Whether the page passed an ISV template's `protocols.isvAppId`.
fn isv_call(protocols: Option<Protocols>) -> Call {
    Call {
        isv_app_id: protocols
            .and_then(|p| p.isv_app_id)
            .is_some_and(|id| !id.is_empty()),
    }
}

/// One sealed-envelope JSAPI call (`getPhoneNumber`, `getRunData`).
struct Sealed<'a> {
    /// The catalogue's API (which scenarios may be forced).
    api: Api,
    /// The journal's name of the call.
    called: Called,
    /// What the page asked for.
    ask: Ask<'a>,
    /// A fail callback for arguments the JSAPI refuses (after the delivery faults).
    refused: Option<Answer>,
}

/// The shared path of the sealed-envelope JSAPIs: a forced scenario checked against the API, the
/// delivery faults, refused arguments, the fail and busy faults, then the answer; journaled once.
async fn sealed_call(
    state: &AppState,
    rid: &RequestId,
    p: &UserPath,
    scenario: Option<&str>,
    sealed: Sealed<'_>,
) -> Result<Response, ApiError> {
    if let Some(id) = scenario {
        check_scenario(state, id, sealed.api)?;
    }
    let call = CallRecord {
        state,
        rid,
        api: sealed.called,
        path: Some(p),
        scenario,
    };
    let (f, mut fired) = match prelude(&call).await? {
        Prelude::Go(f, fired) => (f, fired),
        Prelude::Done(r) => return Ok(r),
    };
    if let Some(a) = sealed.refused {
        call.record(a.callback, None, fired, a.body.clone());
        return Ok(json_response(a.callback, a.body));
    }
    if faults::roll(f.fail_rate) {
        fired.push(Fired::Fail);
        let a = fail_answer(&f);
        call.record(a.callback, None, fired, a.body.clone());
        return Ok(json_response(a.callback, a.body));
    }
    let busy = scenario.is_none() && faults::roll(f.busy_rate);
    if busy {
        fired.push(Fired::Busy);
    }
    let answer = answer_for(state, p, scenario, sealed.ask, busy, &f)?;
    call.record(
        answer.callback,
        answer.expected.clone(),
        fired,
        answer.body.clone(),
    );
    Ok(json_response(answer.callback, answer.body.clone()))
}

/// What the page asked for.
#[derive(Debug, Clone, Copy)]
enum Ask<'a> {
    /// `my.getPhoneNumber` with this call.
    PhoneNumber(Call),
    /// `my.getRunData` with this call, for this day.
    RunData(Call, &'a str),
}

/// The answer for the user's state (getPhoneNumber: cached while the state is unchanged), a
/// forced scenario (cached per app), or a busy platform.
fn answer_for(
    state: &AppState,
    p: &UserPath,
    scenario: Option<&str>,
    ask: Ask<'_>,
    busy: bool,
    f: &Faults,
) -> Result<Arc<Answer>, ApiError> {
    // Only getPhoneNumber's state answer is cached: getRunData's depends on the day asked.
    let phone = matches!(ask, Ask::PhoneNumber(_));
    // Snapshot under the read lock; sign without it.
    let snapshot = state.view(|w| {
        let app = w.app(&p.app_id)?;
        let user = w.user(&p.app_id, &p.user_id)?;
        // The cached state answer assumes the default call; an ISV template app's answer
        // depends on the call, so it is never taken from the cache.
        let cached = match scenario {
            Some(id) => app.scenario_cache.get(id).cloned(),
            None if phone && !busy && !app.console.isv_template => user.cached.clone(),
            None => None,
        };
        Ok::<_, ApiError>(match cached {
            Some(a) => Err(a),
            None => Ok((
                app.console.clone(),
                user.clone(),
                app.keys.clone(),
                app.version,
            )),
        })
    })?;
    let (console, record, keys, version) = match snapshot {
        Ok(s) => s,
        Err(cached) => return Ok(cached),
    };
    let (answer, cacheable) = match scenario {
        Some(id) => (scenario_answer(state, id, &keys)?, true),
        None => {
            let platform = Platform {
                busy,
                busy_delivery: f.busy_delivery,
            };
            let d = match ask {
                Ask::PhoneNumber(call) => {
                    let user = User {
                        authorised: record.authorised,
                        mobile: record.mobile.resolve(state.mobiles()),
                    };
                    platform::decide(&console, &user, &call, &platform)
                }
                Ask::RunData(call, date) => {
                    let steps = RunData {
                        count: record.steps.count(&p.app_id, &p.user_id, date),
                        count_date: date.to_string(),
                    };
                    platform::decide_run_data(&console, record.authorised, steps, &call, &platform)
                }
            };
            let sealed = d.seal(&keys);
            let fresh = matches!(record.mobile, MobileSetting::Fresh);
            (
                Answer::sealed(&sealed, expectation(&d.payload)),
                phone && !busy && !fresh && !console.isv_template,
            )
        }
    };
    let answer = Arc::new(answer);
    if cacheable {
        state.update(|w| {
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
        });
    }
    Ok(answer)
}

/// Path of the stateless scenario route.
#[derive(Debug, Deserialize)]
pub(crate) struct ScenarioPath {
    /// Catalogue scenario id.
    scenario_id: String,
}

impl CheckParams for ScenarioPath {
    /// Any text: an id that is not in the catalogue is a 404 `unknown_scenario`.
    fn check(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// `POST /jsapi/scenarios/{scenario_id}/getPhoneNumber`: the success-callback object of a
/// catalogue scenario sealed with the server's keys, without state or faults.
pub(crate) async fn scenario_phone_number(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Params(p): Params<ScenarioPath>,
) -> Result<Response, ApiError> {
    check_scenario(&state, &p.scenario_id, Api::GetPhoneNumber)?;
    let answer = match state.cached_scenario(&p.scenario_id) {
        Some(a) => a,
        None => {
            let a = Arc::new(scenario_answer(&state, &p.scenario_id, state.keys())?);
            state.cache_scenario(&p.scenario_id, a.clone());
            a
        }
    };
    CallRecord {
        state: &state,
        rid: &rid,
        api: Called::GetPhoneNumber,
        path: None,
        scenario: Some(&p.scenario_id),
    }
    .record(
        answer.callback,
        answer.expected.clone(),
        Vec::new(),
        answer.body.clone(),
    );
    Ok(json_response(answer.callback, answer.body.clone()).into_response())
}
