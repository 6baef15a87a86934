//! The simulator's controls under `/__admin`: faults, the journal, reset, the mobile seed, the
//! catalogue and the clock codes and tokens expire against.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::model::login::MAX_LIFETIME_SECS;
use crate::server::error::{ApiError, JsonBody, Query, integer};
use crate::server::faults::Faults;
use crate::server::state::AppState;

/// `GET /__admin/faults`.
pub(crate) async fn get_faults(State(state): State<AppState>) -> Json<Faults> {
    Json(Faults::clone(&state.faults()))
}

/// `PUT /__admin/faults`: replaces the fault settings (omitted fields: no fault).
pub(crate) async fn put_faults(
    State(state): State<AppState>,
    JsonBody(f): JsonBody<Faults>,
) -> Result<Json<Faults>, ApiError> {
    f.validate()?;
    state.set_faults(f.clone());
    Ok(Json(f))
}

/// `DELETE /__admin/faults`: no faults.
pub(crate) async fn delete_faults(State(state): State<AppState>) -> Json<Faults> {
    let f = Faults::default();
    state.set_faults(f.clone());
    Json(f)
}

/// Query of `GET /__admin/journal`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JournalQuery {
    /// Only entries with a sequence number above this.
    #[serde(default, deserialize_with = "number_param")]
    since: Option<u64>,
}

fn number_param<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<u64>()
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a non-negative integer")))
}

/// `GET /__admin/journal[?since=<seq>]`.
pub(crate) async fn get_journal(
    State(state): State<AppState>,
    Query(q): Query<JournalQuery>,
) -> Json<Value> {
    Json(state.journal().to_json(q.since.unwrap_or(0)))
}

/// `DELETE /__admin/journal`.
pub(crate) async fn delete_journal(State(state): State<AppState>) -> StatusCode {
    state.journal().clear();
    StatusCode::NO_CONTENT
}

/// `POST /__admin/reset`: default apps and users, no faults, empty journal, start-up seed.
pub(crate) async fn reset(State(state): State<AppState>) -> Json<Value> {
    state.reset();
    Json(serde_json::json!({"status": "reset", "seed": state.default_seed()}))
}

/// Body of `PUT /__admin/seed`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedBody {
    /// The seed of generated mobiles.
    #[serde(deserialize_with = "integer::u64")]
    seed: u64,
}

/// `GET /__admin/seed`.
pub(crate) async fn get_seed(State(state): State<AppState>) -> Json<Value> {
    let (seed, drawn) = state.mobiles().status();
    Json(serde_json::json!({"seed": seed, "drawn": drawn}))
}

/// `PUT /__admin/seed`: restarts the generated-mobile sequence of this seed.
pub(crate) async fn put_seed(
    State(state): State<AppState>,
    JsonBody(b): JsonBody<SeedBody>,
) -> Json<Value> {
    state.mobiles().reseed(b.seed);
    Json(serde_json::json!({"seed": b.seed, "drawn": 0}))
}

/// `GET /__admin/scenarios`: the catalogue, each case with the console it models and the
/// merchant configuration it applies to (so a client can create a matching app and bundle).
pub(crate) async fn scenarios(State(state): State<AppState>) -> Json<Value> {
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

/// The furthest `POST /__admin/clock` moves the clock in one call: ten times the longest
/// lifetime (ten years).
pub(crate) const MAX_CLOCK_ADVANCE_SECS: u64 = MAX_LIFETIME_SECS * 10;

/// Body of `POST /__admin/clock`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClockBody {
    /// Seconds to move the simulator's clock forward (expiry tests without sleeping).
    #[serde(deserialize_with = "integer::u64")]
    advance_secs: u64,
}

fn clock_json(state: &AppState) -> Value {
    serde_json::json!({"now_ms": state.now_ms(), "offset_ms": state.clock_offset_ms()})
}

/// `GET /__admin/clock`: the simulator's clock (system time plus the offset).
pub(crate) async fn get_clock(State(state): State<AppState>) -> Json<Value> {
    Json(clock_json(&state))
}

/// `POST /__admin/clock`: moves the clock forward (codes and tokens expire against it); reset
/// returns it to the system time.
pub(crate) async fn advance_clock(
    State(state): State<AppState>,
    JsonBody(b): JsonBody<ClockBody>,
) -> Result<Json<Value>, ApiError> {
    if b.advance_secs > MAX_CLOCK_ADVANCE_SECS {
        return Err(ApiError::invalid(
            "advance_secs",
            format!("advance_secs must be at most {MAX_CLOCK_ADVANCE_SECS} (ten years)"),
        ));
    }
    state.advance_clock(b.advance_secs.saturating_mul(1000));
    Ok(Json(clock_json(&state)))
}
