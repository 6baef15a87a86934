//! The admin API under `/__admin`: apps (console configuration and keys), users (mobile and
//! consent), faults, the journal, reset, the mobile seed, the catalogue and merchant bundles.
//! Modelled on WireMock's `/__admin` and moto's `/moto-api` (reset, seed, recorder).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::error::{ApiError, JsonBody, Params, Query, parse_json};
use super::faults::Faults;
use super::state::{App, AppState, KeysMode, MobileSetting, UserRecord};
use crate::keys::KeySet;
use crate::platform::Console;

/// The most apps the simulator holds.
pub const MAX_APPS: usize = 1000;
/// The most users one app holds.
pub const MAX_USERS: usize = 10_000;

/// App JSON as accepted by `POST`, `PUT` and (after merging) `PATCH`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppInput {
    /// Id (required on create; must match the path elsewhere).
    #[serde(default)]
    pub app_id: Option<String>,
    /// Display name (default: the id).
    #[serde(default)]
    pub name: Option<String>,
    /// Console configuration (default: fully configured).
    #[serde(default)]
    pub console: Option<Console>,
    /// `embedded` (default) or `generated`.
    #[serde(default)]
    pub keys: Option<KeysMode>,
}

fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// User JSON as accepted by `POST`, `PUT` and (after merging) `PATCH`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Id (required on create; must match the path elsewhere).
    #[serde(default)]
    pub user_id: Option<String>,
    /// Consented to the phone-number scope (default false: the user has not tapped the button).
    #[serde(default)]
    pub authorised: Option<bool>,
    /// A number, `""` (empty mobile), `null` (no mobile key), `"fresh"` (a new generated
    /// number per call); omitted: one generated number, kept.
    #[serde(default, deserialize_with = "nullable")]
    pub mobile: Option<Option<String>>,
}

/// Checks an app or user id: 1 to 64 characters of `A-Z a-z 0-9 . _ -`.
pub fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(ApiError::invalid(
            field,
            format!("{field} must be 1 to 64 characters of A-Z a-z 0-9 . _ -"),
        ));
    }
    Ok(())
}

fn body_id(field: &str, given: Option<&str>, path: &str) -> Result<(), ApiError> {
    match given {
        Some(g) if g != path => Err(ApiError::invalid(
            field,
            format!("{field} {g:?} in the body differs from {path:?} in the path"),
        )),
        _ => Ok(()),
    }
}

fn mobile_setting(state: &AppState, m: Option<Option<String>>) -> Result<MobileSetting, ApiError> {
    Ok(match m {
        None => MobileSetting::Number(state.mobiles.draw()),
        Some(None) => MobileSetting::Absent,
        Some(Some(s)) => match s.as_str() {
            "" => MobileSetting::EmptyString,
            "fresh" => MobileSetting::Fresh,
            "generated" => MobileSetting::Number(state.mobiles.draw()),
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

fn valid_mobile(m: &str) -> bool {
    let digits = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    match m.split_once('-') {
        Some((cc, n)) => digits(cc, 1, 4) && digits(n, 4, 14),
        None => digits(m, 5, 15),
    }
}

async fn keys_for(state: &AppState, mode: KeysMode, current: Option<&App>) -> Arc<KeySet> {
    match (mode, current) {
        (KeysMode::Generated, Some(app)) if app.keys_mode == KeysMode::Generated => {
            app.keys.clone()
        }
        (KeysMode::Generated, _) => {
            // Two RSA-2048 key generations: a fraction of a second to a few seconds; off the
            // async workers.
            match tokio::task::spawn_blocking(KeySet::generate).await {
                Ok(k) => Arc::new(k),
                Err(_) => state.keys.clone(),
            }
        }
        (KeysMode::Embedded, _) => state.keys.clone(),
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "name must be at most 200 characters",
        ));
    }
    Ok(())
}

/// Path of an app route.
#[derive(Debug, Deserialize)]
pub struct AppPath {
    /// App id.
    pub app_id: String,
}

/// Path of a user route.
pub use super::jsapi::UserPath;

/// `GET /__admin/apps`.
pub async fn list_apps(State(state): State<AppState>) -> Json<Value> {
    let w = state.read();
    Json(Value::Array(
        w.apps.iter().map(|(id, a)| a.to_json(id)).collect(),
    ))
}

/// `POST /__admin/apps`.
pub async fn create_app(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<AppInput>,
) -> Result<Response, ApiError> {
    let id = input
        .app_id
        .clone()
        .ok_or_else(|| ApiError::invalid("app_id", "app_id is required"))?;
    check_id("app_id", &id)?;
    if state.read().apps.contains_key(&id) {
        return Err(ApiError::conflict(
            "app_id",
            format!("app {id:?} already exists (PUT /__admin/apps/{id} replaces it)"),
        ));
    }
    let app = build_app(&state, &id, input, None).await?;
    insert_app(&state, &id, app, true).map(|v| (StatusCode::CREATED, Json(v)).into_response())
}

async fn build_app(
    state: &AppState,
    id: &str,
    input: AppInput,
    current: Option<&App>,
) -> Result<App, ApiError> {
    let name = input.name.unwrap_or_else(|| id.to_string());
    check_name(&name)?;
    let mode = input.keys.unwrap_or_default();
    let keys = keys_for(state, mode, current).await;
    let mut app = App::new(name, input.console.unwrap_or_default(), mode, keys);
    if let Some(cur) = current {
        app.users = cur.users.clone();
        app.version = cur.version;
        app.touch();
    }
    Ok(app)
}

fn insert_app(state: &AppState, id: &str, app: App, create_only: bool) -> Result<Value, ApiError> {
    let mut w = state.write();
    if create_only && w.apps.contains_key(id) {
        return Err(ApiError::conflict(
            "app_id",
            format!("app {id:?} already exists"),
        ));
    }
    if !w.apps.contains_key(id) && w.apps.len() >= MAX_APPS {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "limit_reached",
            format!("the simulator holds at most {MAX_APPS} apps; delete some or reset"),
            Some("app_id"),
        ));
    }
    let v = app.to_json(id);
    match w.apps.get_mut(id) {
        // Keep users added concurrently while keys were being generated.
        Some(existing) => {
            let users = std::mem::take(&mut existing.users);
            let version = existing.version;
            *existing = app;
            existing.users = users;
            existing.version = version;
            existing.touch();
        }
        None => {
            w.apps.insert(id.to_string(), app);
        }
    }
    Ok(v)
}

/// `GET /__admin/apps/{app_id}`.
pub async fn get_app(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
) -> Result<Json<Value>, ApiError> {
    let w = state.read();
    let app = w.app(&p.app_id)?;
    Ok(Json(app.to_json(&p.app_id)))
}

/// `PUT /__admin/apps/{app_id}`: creates or replaces the app (its users are kept).
pub async fn put_app(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
    JsonBody(input): JsonBody<AppInput>,
) -> Result<Response, ApiError> {
    check_id("app_id", &p.app_id)?;
    body_id("app_id", input.app_id.as_deref(), &p.app_id)?;
    let current = state.read().apps.get(&p.app_id).cloned();
    let created = current.is_none();
    let app = build_app(&state, &p.app_id, input, current.as_ref()).await?;
    let v = insert_app(&state, &p.app_id, app, false)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(v)).into_response())
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Some(t) = target.as_object_mut() {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn patch_object(body: Value) -> Result<Value, ApiError> {
    if body.is_object() {
        Ok(body)
    } else {
        Err(ApiError::invalid(
            "body",
            "a PATCH body must be a JSON object (merge patch)",
        ))
    }
}

/// `PATCH /__admin/apps/{app_id}`: a JSON merge patch of the app (e.g.
/// `{"console":{"product_bound":false}}`).
pub async fn patch_app(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let patch = patch_object(patch)?;
    let current = state
        .read()
        .apps
        .get(&p.app_id)
        .cloned()
        .ok_or_else(|| ApiError::unknown_app(&p.app_id))?;
    let mut merged = current.to_json(&p.app_id);
    merge_patch(&mut merged, &patch);
    let input: AppInput = parse_json(merged.to_string().as_bytes())?;
    body_id("app_id", input.app_id.as_deref(), &p.app_id)?;
    let app = build_app(&state, &p.app_id, input, Some(&current)).await?;
    if !state.read().apps.contains_key(&p.app_id) {
        return Err(ApiError::unknown_app(&p.app_id));
    }
    insert_app(&state, &p.app_id, app, false).map(Json)
}

/// `DELETE /__admin/apps/{app_id}`.
pub async fn delete_app(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
) -> Result<StatusCode, ApiError> {
    state
        .write()
        .apps
        .remove(&p.app_id)
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or_else(|| ApiError::unknown_app(&p.app_id))
}

/// `GET /__admin/apps/{app_id}/bundle`: the merchant bundle (Alipay public key, AES key).
pub async fn bundle(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
) -> Result<Json<Value>, ApiError> {
    let w = state.read();
    let app = w.app(&p.app_id)?;
    Ok(Json(app.bundle(&p.app_id)))
}

/// `GET /__admin/apps/{app_id}/users`.
pub async fn list_users(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
) -> Result<Json<Value>, ApiError> {
    let w = state.read();
    let app = w.app(&p.app_id)?;
    Ok(Json(Value::Array(
        app.users.iter().map(|(id, u)| u.to_json(id)).collect(),
    )))
}

fn store_user(
    state: &AppState,
    app_id: &str,
    user_id: &str,
    record: UserRecord,
    create_only: bool,
) -> Result<(StatusCode, Value), ApiError> {
    let mut w = state.write();
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
    Ok((
        if exists {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        v,
    ))
}

fn user_record(state: &AppState, input: UserInput) -> Result<UserRecord, ApiError> {
    Ok(UserRecord {
        authorised: input.authorised.unwrap_or(false),
        mobile: mobile_setting(state, input.mobile)?,
        cached: None,
    })
}

/// `POST /__admin/apps/{app_id}/users`.
pub async fn create_user(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
    JsonBody(input): JsonBody<UserInput>,
) -> Result<Response, ApiError> {
    let id = input
        .user_id
        .clone()
        .ok_or_else(|| ApiError::invalid("user_id", "user_id is required"))?;
    check_id("user_id", &id)?;
    if !state.read().apps.contains_key(&p.app_id) {
        return Err(ApiError::unknown_app(&p.app_id));
    }
    let record = user_record(&state, input)?;
    let (status, v) = store_user(&state, &p.app_id, &id, record, true)?;
    Ok((status, Json(v)).into_response())
}

/// `GET /__admin/apps/{app_id}/users/{user_id}`.
pub async fn get_user(
    State(state): State<AppState>,
    Params(p): Params<UserPath>,
) -> Result<Json<Value>, ApiError> {
    let w = state.read();
    let app = w.app(&p.app_id)?;
    let u = app
        .users
        .get(&p.user_id)
        .ok_or_else(|| ApiError::unknown_user(&p.app_id, &p.user_id))?;
    Ok(Json(u.to_json(&p.user_id)))
}

/// `PUT /__admin/apps/{app_id}/users/{user_id}`: creates or replaces the user.
pub async fn put_user(
    State(state): State<AppState>,
    Params(p): Params<UserPath>,
    JsonBody(input): JsonBody<UserInput>,
) -> Result<Response, ApiError> {
    check_id("user_id", &p.user_id)?;
    body_id("user_id", input.user_id.as_deref(), &p.user_id)?;
    if !state.read().apps.contains_key(&p.app_id) {
        return Err(ApiError::unknown_app(&p.app_id));
    }
    let record = user_record(&state, input)?;
    let (status, v) = store_user(&state, &p.app_id, &p.user_id, record, false)?;
    Ok((status, Json(v)).into_response())
}

/// `PATCH /__admin/apps/{app_id}/users/{user_id}`: a JSON merge patch of the user
/// (`"mobile": null` sets "no mobile key").
pub async fn patch_user(
    State(state): State<AppState>,
    Params(p): Params<UserPath>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let patch = patch_object(patch)?;
    let current = {
        let w = state.read();
        let app = w.app(&p.app_id)?;
        app.users
            .get(&p.user_id)
            .cloned()
            .ok_or_else(|| ApiError::unknown_user(&p.app_id, &p.user_id))?
    };
    let mut merged = current.to_json(&p.user_id);
    merge_patch(&mut merged, &patch);
    if patch.get("mobile") == Some(&Value::Null) {
        // Unlike a plain merge patch, `"mobile": null` sets "no mobile key" rather than
        // removing the member.
        merged["mobile"] = Value::Null;
    }
    let input: UserInput = parse_json(merged.to_string().as_bytes())?;
    body_id("user_id", input.user_id.as_deref(), &p.user_id)?;
    let record = user_record(&state, input)?;
    let mut w = state.write();
    let app = w.app_mut(&p.app_id)?;
    let slot = app
        .users
        .get_mut(&p.user_id)
        .ok_or_else(|| ApiError::unknown_user(&p.app_id, &p.user_id))?;
    *slot = record;
    app.version += 1;
    Ok(Json(slot.to_json(&p.user_id)))
}

/// `DELETE /__admin/apps/{app_id}/users/{user_id}`.
pub async fn delete_user(
    State(state): State<AppState>,
    Params(p): Params<UserPath>,
) -> Result<StatusCode, ApiError> {
    let mut w = state.write();
    let app = w.app_mut(&p.app_id)?;
    app.users
        .remove(&p.user_id)
        .ok_or_else(|| ApiError::unknown_user(&p.app_id, &p.user_id))?;
    app.version += 1;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /__admin/faults`.
pub async fn get_faults(State(state): State<AppState>) -> Json<Faults> {
    Json(Faults::clone(&state.current_faults()))
}

/// `PUT /__admin/faults`: replaces the fault settings (omitted fields: no fault).
pub async fn put_faults(
    State(state): State<AppState>,
    JsonBody(f): JsonBody<Faults>,
) -> Result<Json<Faults>, ApiError> {
    f.validate()?;
    state.set_faults(f.clone());
    Ok(Json(f))
}

/// `DELETE /__admin/faults`: no faults.
pub async fn delete_faults(State(state): State<AppState>) -> Json<Faults> {
    let f = Faults::default();
    state.set_faults(f.clone());
    Json(f)
}

/// Query of `GET /__admin/journal`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalQuery {
    /// Only entries with a sequence number above this.
    #[serde(default, deserialize_with = "number_param")]
    pub since: Option<u64>,
}

fn number_param<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<u64>()
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a non-negative integer")))
}

/// `GET /__admin/journal[?since=<seq>]`.
pub async fn get_journal(
    State(state): State<AppState>,
    Query(q): Query<JournalQuery>,
) -> Json<Value> {
    Json(state.journal.to_json(q.since.unwrap_or(0)))
}

/// `DELETE /__admin/journal`.
pub async fn delete_journal(State(state): State<AppState>) -> StatusCode {
    state.journal.clear();
    StatusCode::NO_CONTENT
}

/// `POST /__admin/reset`: default apps and users, no faults, empty journal, start-up seed.
pub async fn reset(State(state): State<AppState>) -> Json<Value> {
    state.reset();
    Json(serde_json::json!({"status": "reset", "seed": state.default_seed}))
}

/// Body of `PUT /__admin/seed`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedBody {
    /// The seed of generated mobiles.
    pub seed: u64,
}

/// `GET /__admin/seed`.
pub async fn get_seed(State(state): State<AppState>) -> Json<Value> {
    let (seed, drawn) = state.mobiles.status();
    Json(serde_json::json!({"seed": seed, "drawn": drawn}))
}

/// `PUT /__admin/seed`: restarts the generated-mobile sequence of this seed.
pub async fn put_seed(
    State(state): State<AppState>,
    JsonBody(b): JsonBody<SeedBody>,
) -> Json<Value> {
    state.mobiles.reseed(b.seed);
    Json(serde_json::json!({"seed": b.seed, "drawn": 0}))
}

/// `GET /__admin/scenarios`: the catalogue, each case with the console it models and the
/// merchant configuration it applies to (so a client can create a matching app and bundle).
pub async fn scenarios(State(state): State<AppState>) -> Json<Value> {
    Json(Value::Array(
        state
            .catalogue()
            .scenarios()
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id, "kind": s.kind(), "title": s.title, "expect": s.expect,
                    "severity": s.severity, "bug_class": s.bug_class,
                    "console": s.console, "merchant": s.merchant_profile(),
                })
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(
            &mut t,
            &serde_json::json!({"b": {"c": null, "e": 4}, "f": [1]}),
        );
        assert_eq!(
            t,
            serde_json::json!({"a": 1, "b": {"d": 3, "e": 4}, "f": [1]})
        );
    }

    #[test]
    fn mobiles_and_ids_are_checked() {
        for ok in ["13800000000", "1-2025550123", "852-12345678", "12345"] {
            assert!(valid_mobile(ok), "{ok}");
        }
        for bad in ["", "1380000000a", "+8613800000000", "1-", "-123456", "1234"] {
            assert!(!valid_mobile(bad), "{bad}");
        }
        assert!(check_id("app_id", "demo-2.x_y").is_ok());
        for bad in ["", "a b", "ä", &"x".repeat(65)] {
            assert_eq!(
                check_id("app_id", bad).unwrap_err().field.as_deref(),
                Some("app_id")
            );
        }
    }
}
