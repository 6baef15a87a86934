//! `/__admin/apps`: create, read, replace, patch and delete apps, and their merchant bundles.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::{AppPath, body_id, check_id, merge_patch, patch_object, refuse_nulls};
use crate::model::login::LoginSettings;
use crate::model::platform::Console;
use crate::protocol::cert::PemCerts;
use crate::protocol::cert::generate::generate;
use crate::protocol::crypto::{KeyPair, Verifier};
use crate::protocol::key_format::parse_public_key;
use crate::protocol::keys::KeySet;
use crate::server::error::{ApiError, JsonBody, Params, not_null, parse_json};
use crate::server::state::AppState;
use crate::server::world::{App, AppKeySetting, KeysMode, RotatedCert};

/// The most apps the simulator holds.
pub(crate) const MAX_APPS: usize = 1000;

/// App JSON as accepted by `POST`, `PUT` and (after merging) `PATCH`. Every member may be
/// omitted (its default applies) but none may be `null` (400 naming it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppInput {
    /// Id (required on create; must match the path elsewhere).
    #[serde(default, deserialize_with = "not_null")]
    app_id: Option<String>,
    /// Display name (default: the id).
    #[serde(default, deserialize_with = "not_null")]
    name: Option<String>,
    /// Console configuration (default: fully configured).
    #[serde(default, deserialize_with = "not_null")]
    console: Option<Console>,
    /// `embedded` (default) or `generated`.
    #[serde(default, deserialize_with = "not_null")]
    keys: Option<KeysMode>,
    /// Login settings (identities returned, lifetimes, scopes); default: open_id only.
    #[serde(default, deserialize_with = "not_null")]
    login: Option<LoginSettings>,
    /// Key mode: the app's public key (PEM or the console's one-line base64) that verifies its
    /// gateway requests; default: the key set's TEST app key.
    #[serde(default, deserialize_with = "not_null")]
    app_public_key: Option<String>,
    /// Certificate mode: the app certificate (`appCertPublicKey_<appid>.crt` text); default: the
    /// key set's TEST app certificate.
    #[serde(default, deserialize_with = "not_null")]
    app_cert: Option<String>,
}

fn app_key_setting(input: &AppInput) -> Result<AppKeySetting, ApiError> {
    match (&input.app_public_key, &input.app_cert) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "app_cert",
            "give app_public_key (key mode) or app_cert (certificate mode), not both",
        )),
        (Some(k), None) => parse_public_key(k, "app_public_key")
            .map(|k| AppKeySetting::PublicKey(Verifier::new(k)))
            .map_err(|e| ApiError::invalid("app_public_key", e.to_string())),
        (None, Some(pem)) => {
            let bad =
                |e: crate::protocol::error::CertError| ApiError::invalid("app_cert", e.to_string());
            let certs = PemCerts::parse("app_cert", pem.as_bytes()).map_err(bad)?;
            Ok(AppKeySetting::Cert {
                key: Verifier::new(certs.leaf_public_key().map_err(bad)?),
                sn: certs.leaf_sn().map_err(bad)?,
                pem: pem.clone(),
            })
        }
        (None, None) => Ok(AppKeySetting::FromKeys),
    }
}

/// The longest app name, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 200;

/// The keys of an app that has generated ones: a replacement that asks for generated keys keeps
/// them.
fn generated_keys(app: &App) -> Option<Arc<KeySet>> {
    (app.keys_mode == KeysMode::Generated).then(|| app.keys.clone())
}

async fn keys_for(state: &AppState, mode: KeysMode, kept: Option<Arc<KeySet>>) -> Arc<KeySet> {
    match (mode, kept) {
        (KeysMode::Generated, Some(keys)) => keys,
        (KeysMode::Generated, None) => {
            // Two RSA-2048 key generations and a TEST certificate set: a fraction of a second
            // to a few seconds; off the async workers.
            match tokio::task::spawn_blocking(KeySet::generate).await {
                Ok(k) => Arc::new(k),
                Err(_) => state.keys().clone(),
            }
        }
        (KeysMode::Embedded, _) => state.keys().clone(),
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid(
            "name",
            format!("name must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(())
}

/// `GET /__admin/apps`.
pub(crate) async fn list_apps(State(state): State<AppState>) -> Json<Value> {
    Json(state.view(|w| Value::Array(w.apps.iter().map(|(id, a)| a.to_json(id)).collect())))
}

/// `POST /__admin/apps`.
pub(crate) async fn create_app(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<AppInput>,
) -> Result<Response, ApiError> {
    let id = input
        .app_id
        .clone()
        .ok_or_else(|| ApiError::invalid("app_id", "app_id is required"))?;
    check_id("app_id", &id)?;
    if state.view(|w| w.apps.contains_key(&id)) {
        return Err(ApiError::conflict(
            "app_id",
            format!("app {id:?} already exists (PUT /__admin/apps/{id} replaces it)"),
        ));
    }
    let app = build_app(&state, &id, input, None).await?;
    let (status, v) = insert_app(&state, &id, app, Store::Create)?;
    Ok((status, Json(v)).into_response())
}

async fn build_app(
    state: &AppState,
    id: &str,
    input: AppInput,
    kept: Option<Arc<KeySet>>,
) -> Result<App, ApiError> {
    let name = input.name.clone().unwrap_or_else(|| id.to_string());
    check_name(&name)?;
    let app_key = app_key_setting(&input)?;
    let login = input.login.unwrap_or_default();
    login
        .validate()
        .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let mode = input.keys.unwrap_or_default();
    let keys = keys_for(state, mode, kept).await;
    // No users yet: `insert_app` keeps those of the app it replaces.
    let mut app = App::new(name, input.console.unwrap_or_default(), mode, keys);
    app.login = login;
    app.app_key = app_key;
    Ok(app)
}

/// What storing an app may do to an app already there (or missing): decided under the same lock
/// as the store, so a concurrent create or delete cannot slip in while keys are generated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    /// `POST`: only a new app.
    Create,
    /// `PUT`: a new app or a replacement.
    Upsert,
    /// `PATCH`: only a replacement (an app deleted meanwhile is not brought back).
    Replace,
}

/// Stores `app` under `id` as `how` allows; the status is 201 for a new app, 200 for a
/// replacement (whose users are kept).
fn insert_app(
    state: &AppState,
    id: &str,
    app: App,
    how: Store,
) -> Result<(StatusCode, Value), ApiError> {
    state.update(|w| {
        let exists = w.apps.contains_key(id);
        if exists && how == Store::Create {
            return Err(ApiError::conflict(
                "app_id",
                format!("app {id:?} already exists"),
            ));
        }
        if !exists && how == Store::Replace {
            return Err(ApiError::unknown_app(id));
        }
        if !exists && w.apps.len() >= MAX_APPS {
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
                let rotations = std::mem::take(&mut existing.rotations);
                let version = existing.version;
                *existing = app;
                existing.users = users;
                existing.rotations = rotations;
                existing.version = version;
                existing.touch();
                Ok((StatusCode::OK, v))
            }
            None => {
                w.apps.insert(id.to_string(), app);
                Ok((StatusCode::CREATED, v))
            }
        }
    })
}

/// `GET /__admin/apps/{app_id}`.
pub(crate) async fn get_app(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
) -> Result<Json<Value>, ApiError> {
    let v = state.view(|w| w.app(&p.app_id).map(|a| a.to_json(&p.app_id)))?;
    Ok(Json(v))
}

/// `PUT /__admin/apps/{app_id}`: creates or replaces the app (its users are kept).
pub(crate) async fn put_app(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
    JsonBody(input): JsonBody<AppInput>,
) -> Result<Response, ApiError> {
    body_id("app_id", input.app_id.as_deref(), &p.app_id)?;
    let kept = state
        .view(|w| w.apps.get(&p.app_id).map(generated_keys))
        .flatten();
    let app = build_app(&state, &p.app_id, input, kept).await?;
    let (status, v) = insert_app(&state, &p.app_id, app, Store::Upsert)?;
    Ok((status, Json(v)).into_response())
}

/// `PATCH /__admin/apps/{app_id}`: a JSON merge patch of the app (e.g.
/// `{"console":{"product_bound":false}}`).
pub(crate) async fn patch_app(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let patch = patch_object(patch)?;
    refuse_nulls(&patch, &[])?;
    let (mut merged, kept) = state.view(|w| {
        w.app(&p.app_id)
            .map(|a| (a.to_json(&p.app_id), generated_keys(a)))
    })?;
    merge_patch(&mut merged, &patch);
    let input: AppInput = parse_json(merged.to_string().as_bytes())?;
    body_id("app_id", input.app_id.as_deref(), &p.app_id)?;
    let app = build_app(&state, &p.app_id, input, kept).await?;
    insert_app(&state, &p.app_id, app, Store::Replace).map(|(_, v)| Json(v))
}

/// `DELETE /__admin/apps/{app_id}`.
pub(crate) async fn delete_app(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
) -> Result<StatusCode, ApiError> {
    state
        .update(|w| w.apps.remove(&p.app_id))
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or_else(|| ApiError::unknown_app(&p.app_id))
}

/// `GET /__admin/apps/{app_id}/bundle`: the merchant bundle (Alipay public key, AES key).
pub(crate) async fn bundle(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
) -> Result<Json<Value>, ApiError> {
    let v = state.view(|w| w.app(&p.app_id).map(|a| a.bundle(&p.app_id)))?;
    Ok(Json(v))
}

/// `POST /__admin/apps/{app_id}/rotate-alipay-cert`: certificate mode only. Issues a new Alipay
/// certificate holding a new key; the gateway's next answers are signed with it and carry its
/// `alipay_cert_sn`, and `alipay.open.app.alipaycert.download` serves it (and the earlier ones).
pub(crate) async fn rotate_alipay_cert(
    State(state): State<AppState>,
    Params(p): Params<AppPath>,
) -> Result<Json<Value>, ApiError> {
    let cert_mode = state.view(|w| w.app(&p.app_id).map(App::cert_mode))?;
    if !cert_mode {
        return Err(ApiError::invalid(
            "app_id",
            "the app is not in certificate mode (console.signing \"cert\"): nothing to rotate",
        ));
    }
    let made = tokio::task::spawn_blocking(new_alipay_cert)
        .await
        .ok()
        .flatten()
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "rotation_failed",
                "a new TEST certificate could not be made",
                None,
            )
        })?;
    let sn = made.sn.clone();
    state.update(|w| {
        let app = w.app_mut(&p.app_id)?;
        app.rotations.push(Arc::new(made));
        // Keep the last few: a merchant may still ask for a recent one.
        if app.rotations.len() > 8 {
            app.rotations.remove(0);
        }
        Ok::<_, ApiError>(())
    })?;
    Ok(Json(
        serde_json::json!({"app_id": p.app_id, "alipay_cert_sn": sn}),
    ))
}

/// A new RSA-2048 key and a TEST certificate set for it; the Alipay certificate and its SN.
fn new_alipay_cert() -> Option<RotatedCert> {
    let key = KeyPair::from_private(rsa::PrivateKey::new(&mut rand::rng(), 2048).ok()?);
    let made = generate(
        key.verifier.public_key(),
        crate::protocol::cert::TEST_APP_ID,
    )
    .ok()?;
    let sn = PemCerts::parse("alipay", made.files.alipay.as_bytes())
        .ok()?
        .leaf_sn()
        .ok()?;
    Some(RotatedCert {
        key,
        pem: made.files.alipay,
        sn,
        root_pem: made.files.root,
    })
}
