//! `/__admin/apps/{app_id}/users`: create, read, replace, patch and delete an app's users.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{AppPath, body_id, check_id, merge_patch, patch_object, refuse_nulls};
use crate::model::login::{valid_open_id, valid_user_id};
use crate::protocol::payload::MAX_STEP_COUNT;
use crate::server::error::{ApiError, JsonBody, Params, not_null, parse_json};
use crate::server::jsapi::UserPath;
use crate::server::state::AppState;
use crate::server::world::{MobileSetting, StepsSetting, UserRecord};

/// The longest `nick_name`, in characters.
pub(crate) const MAX_NICK_NAME_CHARS: usize = 64;

/// The most users one app holds.
pub(crate) const MAX_USERS: usize = 10_000;

fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// User JSON as accepted by `POST`, `PUT` and (after merging) `PATCH`. Every member may be
/// omitted (its default applies); only `mobile` may be `null` (a value: no mobile key).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserInput {
    /// Id (required on create; must match the path elsewhere).
    #[serde(default, deserialize_with = "not_null")]
    user_id: Option<String>,
    /// Consented to the phone-number scope (default false: the user has not tapped the button).
    #[serde(default, deserialize_with = "not_null")]
    authorised: Option<bool>,
    /// A number, `""` (empty mobile), `null` (no mobile key), `"fresh"` (a new generated
    /// number per call); omitted: one generated number, kept.
    #[serde(default, deserialize_with = "nullable")]
    mobile: Option<Option<String>>,
    /// The Alipay `user_id` (`2088` + 12 digits); omitted: derived from the user id.
    #[serde(default, deserialize_with = "not_null")]
    alipay_user_id: Option<String>,
    /// The user's `open_id` in this app; omitted: derived from the app and user ids.
    #[serde(default, deserialize_with = "not_null")]
    open_id: Option<String>,
    /// The profile's nick name; omitted: the user id.
    #[serde(default, deserialize_with = "not_null")]
    nick_name: Option<String>,
    /// The day's step count `my.getRunData` answers (0 to [`MAX_STEP_COUNT`], the same every
    /// day) or `"generated"`; omitted: generated.
    #[serde(default, deserialize_with = "not_null")]
    steps: Option<StepsInput>,
}

/// `steps` as written: a count or `"generated"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StepsInput {
    /// A count (`7` or `7.0`; checked against [`MAX_STEP_COUNT`]).
    Count(serde_json::Number),
    /// A word: only `"generated"` is one.
    Word(String),
}

fn steps_setting(s: Option<StepsInput>) -> Result<StepsSetting, ApiError> {
    let bad = |what: String| {
        ApiError::invalid(
            "steps",
            format!("steps {what} must be an integer from 0 to {MAX_STEP_COUNT} or \"generated\""),
        )
    };
    match s {
        None => Ok(StepsSetting::Generated),
        Some(StepsInput::Word(w)) if w == "generated" => Ok(StepsSetting::Generated),
        Some(StepsInput::Word(w)) => Err(bad(format!("{w:?}"))),
        Some(StepsInput::Count(n)) => {
            let whole = n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && (0.0..=f64::from(MAX_STEP_COUNT)).contains(f))
                    .map(|f| f as u64)
            });
            match whole.and_then(|c| u32::try_from(c).ok()) {
                Some(c) if c <= MAX_STEP_COUNT => Ok(StepsSetting::Count(c)),
                _ => Err(bad(n.to_string())),
            }
        }
    }
}

fn mobile_setting(state: &AppState, m: Option<Option<String>>) -> Result<MobileSetting, ApiError> {
    Ok(match m {
        None => MobileSetting::Number(state.mobiles().draw()),
        Some(None) => MobileSetting::Absent,
        Some(Some(s)) => match s.as_str() {
            "" => MobileSetting::EmptyString,
            "fresh" => MobileSetting::Fresh,
            "generated" => MobileSetting::Number(state.mobiles().draw()),
            m if valid_mobile(m) => MobileSetting::Number(m.to_string()),
            m => {
                return Err(ApiError::invalid(
                    "mobile",
                    format!(
                        "mobile {m:?} must be 5 to 15 digits (mainland: 11 digits), cc-number \
                         for overseas (e.g. 1-2025550123), \"\", null, \"fresh\" or \"generated\""
                    ),
                ));
            }
        },
    })
}

/// The JSON Schema pattern of a mobile number, as [`valid_mobile`] checks it.
pub(crate) const MOBILE_PATTERN: &str = "^([0-9]{5,15}|[0-9]{1,4}-[0-9]{4,14})$";

fn valid_mobile(m: &str) -> bool {
    let digits = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    match m.split_once('-') {
        Some((cc, n)) => digits(cc, 1, 4) && digits(n, 4, 14),
        None => digits(m, 5, 15),
    }
}

fn user_record(
    state: &AppState,
    app_id: &str,
    user_id: &str,
    input: UserInput,
) -> Result<UserRecord, ApiError> {
    let mut r = UserRecord::new(
        app_id,
        user_id,
        input.authorised.unwrap_or(false),
        mobile_setting(state, input.mobile)?,
    );
    r.steps = steps_setting(input.steps)?;
    if let Some(u) = input.alipay_user_id {
        if !valid_user_id(&u) {
            return Err(ApiError::invalid(
                "alipay_user_id",
                format!("alipay_user_id {u:?} must be 2088 followed by 12 digits"),
            ));
        }
        r.alipay_user_id = u;
    }
    if let Some(o) = input.open_id {
        if !valid_open_id(&o) {
            return Err(ApiError::invalid(
                "open_id",
                "open_id must be 1 to 64 characters of A-Z a-z 0-9 _ -",
            ));
        }
        r.open_id = o;
    }
    if let Some(n) = input.nick_name {
        if n.chars().count() > MAX_NICK_NAME_CHARS {
            return Err(ApiError::invalid(
                "nick_name",
                format!("nick_name must be at most {MAX_NICK_NAME_CHARS} characters"),
            ));
        }
        r.nick_name = n;
    }
    Ok(r)
}

fn store_user(
    state: &AppState,
    app_id: &str,
    user_id: &str,
    record: UserRecord,
    create_only: bool,
) -> Result<(StatusCode, Value), ApiError> {
    state.update(|w| {
        let app = w.app_mut(app_id)?;
        let exists = app.users.contains_key(user_id);
        if exists && create_only {
            return Err(ApiError::conflict(
                "user_id",
                format!("app {app_id:?} already has user {user_id:?} (PUT replaces it)"),
            ));
        }
        if !exists && app.users.len() >= MAX_USERS {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "limit_reached",
                format!("an app holds at most {MAX_USERS} users; delete some or reset"),
                Some("user_id"),
            ));
        }
        let v = record.to_json(user_id);
        app.users.insert(user_id.to_string(), record);
        app.version += 1;
        let status = if exists {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok((status, v))
    })
}

/// `GET /__admin/apps/{app_id}/users`.
pub(crate) async fn list_users(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
) -> Result<Json<Value>, ApiError> {
    let v = state.view(|w| {
        w.app(&p.app_id)
            .map(|a| Value::Array(a.users.iter().map(|(id, u)| u.to_json(id)).collect()))
    })?;
    Ok(Json(v))
}

/// `POST /__admin/apps/{app_id}/users`.
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
    JsonBody(input): JsonBody<UserInput>,
) -> Result<Response, ApiError> {
    let id = input
        .user_id
        .clone()
        .ok_or_else(|| ApiError::invalid("user_id", "user_id is required"))?;
    check_id("user_id", &id)?;
    state.view(|w| w.app(&p.app_id).map(|_| ()))?;
    let record = user_record(&state, &p.app_id, &id, input)?;
    let (status, v) = store_user(&state, &p.app_id, &id, record, true)?;
    Ok((status, Json(v)).into_response())
}

/// `GET /__admin/apps/{app_id}/users/{user_id}`.
pub(crate) async fn get_user(
    State(state): State<AppState>,
    Params(p): Params<UserPath>,
) -> Result<Json<Value>, ApiError> {
    let v = state.view(|w| w.user(&p.app_id, &p.user_id).map(|u| u.to_json(&p.user_id)))?;
    Ok(Json(v))
}

/// `PUT /__admin/apps/{app_id}/users/{user_id}`: creates or replaces the user.
pub(crate) async fn put_user(
    State(state): State<AppState>,
    Params(p): Params<UserPath>,
    JsonBody(input): JsonBody<UserInput>,
) -> Result<Response, ApiError> {
    body_id("user_id", input.user_id.as_deref(), &p.user_id)?;
    state.view(|w| w.app(&p.app_id).map(|_| ()))?;
    let record = user_record(&state, &p.app_id, &p.user_id, input)?;
    let (status, v) = store_user(&state, &p.app_id, &p.user_id, record, false)?;
    Ok((status, Json(v)).into_response())
}

/// `PATCH /__admin/apps/{app_id}/users/{user_id}`: a JSON merge patch of the user
/// (`"mobile": null` sets "no mobile key").
pub(crate) async fn patch_user(
    State(state): State<AppState>,
    Params(p): Params<UserPath>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let patch = patch_object(patch)?;
    refuse_nulls(&patch, &["mobile"])?;
    let current = state.view(|w| w.user(&p.app_id, &p.user_id).cloned())?;
    let mut merged = current.to_json(&p.user_id);
    merge_patch(&mut merged, &patch);
    if patch.get("mobile") == Some(&Value::Null) {
        // Unlike a plain merge patch, `"mobile": null` sets "no mobile key" rather than
        // removing the member.
        merged["mobile"] = Value::Null;
    }
    let input: UserInput = parse_json(merged.to_string().as_bytes())?;
    body_id("user_id", input.user_id.as_deref(), &p.user_id)?;
    let record = user_record(&state, &p.app_id, &p.user_id, input)?;
    let v = state.update(|w| {
        let app = w.app_mut(&p.app_id)?;
        let Some(slot) = app.users.get_mut(&p.user_id) else {
            return Err(ApiError::unknown_user(&p.app_id, &p.user_id));
        };
        *slot = record;
        let v = slot.to_json(&p.user_id);
        app.version += 1;
        Ok(v)
    })?;
    Ok(Json(v))
}

/// `DELETE /__admin/apps/{app_id}/users/{user_id}`.
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    Params(p): Params<UserPath>,
) -> Result<StatusCode, ApiError> {
    state.update(|w| {
        let app = w.app_mut(&p.app_id)?;
        if app.users.remove(&p.user_id).is_none() {
            return Err(ApiError::unknown_user(&p.app_id, &p.user_id));
        }
        app.version += 1;
        Ok(StatusCode::NO_CONTENT)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_are_checked() {
        for ok in ["13800000000", "1-2025550123", "852-12345678", "12345"] {
            assert!(valid_mobile(ok), "{ok}");
        }
        for bad in ["", "1380000000a", "+8613800000000", "1-", "-123456", "1234"] {
            assert!(!valid_mobile(bad), "{bad}");
        }
        // The published pattern is the check.
        let schema = serde_json::json!({"type": "string", "pattern": MOBILE_PATTERN});
        let validator = jsonschema::validator_for(&schema).unwrap();
        for m in [
            "13800000000",
            "1-2025550123",
            "12345",
            "1234",
            "1234567890123456",
            "12345-1234",
            "1-123",
            "1-123456789012345",
            "1380000000a",
            "+86138",
            "138\n",
            "",
        ] {
            assert_eq!(
                validator.is_valid(&serde_json::json!(m)),
                valid_mobile(m),
                "{m:?}"
            );
        }
    }
}
