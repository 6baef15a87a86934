//! `alipay-sim serve`: the Alipay side of `my.getPhoneNumber` over HTTP, stateful and hardened.
//!
//! Where each behaviour lives:
//!
//! | behaviour | module |
//! |---|---|
//! | the `serve` flags, banner, logging, signals | `command` |
//! | accepting connections: header and idle timeouts, the connection cap, graceful shutdown | `listener` |
//! | request id, deadline, JSON errors, version header on every answer | `middleware` |
//! | the one JSON error shape and the extractors that produce it | `error` |
//! | the shared state handle (no lock is handed out) | `state` |
//! | apps, users, console configuration, cached answers | `world` |
//! | generated mobiles | `mobiles` |
//! | a ready-to-send answer and its callback | `answer` |
//! | the bounded call journal | `journal` |
//! | fault settings and draws | `faults` |
//! | the mini-program JSAPI (button, `my.getPhoneNumber`, `my.getSetting`, `?scenario=`) | `jsapi` |
//! | the admin API under `/__admin` | `admin` (`apps`, `users`, `control`) |
//! | the emulator page | `ui` |
//! | `POST /__forward`: the fence (which targets) and the relay (what is sent) | `forward` (`fence`, `relay`) |
//! | the OpenAPI document | [`openapi`] |
//!
//! [`app`] builds the router (tests and fuzz targets drive it with `oneshot`, no socket);
//! [`serve`] / [`serve_with`] run it on a listener; [`run`] is the `serve` command.

mod admin;
mod answer;
mod command;
mod error;
mod faults;
mod forward;
mod journal;
mod jsapi;
mod listener;
mod middleware;
mod mobiles;
pub mod openapi;
mod state;
mod ui;
mod world;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use self::command::{ServeArgs, banner, run, shutdown_signal};
use self::error::{ApiError, BODY_LIMIT};
pub use self::forward::{AllowEntryError, ForwardConfig};
pub use self::listener::{
    DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, Limits, SHUTDOWN_GRACE,
    serve, serve_with,
};
pub use self::state::AppState;
use crate::cli::Sources;

/// The header carrying the simulator's version on every response.
pub const VERSION_HEADER: &str = "x-alipay-sim-version";
/// The header carrying the request id on every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The simulator's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The default bind address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8780";
/// The longest a request with a body may take (the largest latency fault is 30 s); then 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The router of every route, with `state` and the default forwarding fence (loopback only).
pub fn app(state: AppState) -> Router {
    app_with(state, ForwardConfig::default())
}

/// The router of every route, with `state` and a forwarding allow-list.
pub fn app_with(state: AppState, forward_cfg: ForwardConfig) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi_json))
        .route(
            "/jsapi/apps/{app_id}/users/{user_id}/authorize",
            post(jsapi::authorize),
        )
        .route(
            "/jsapi/apps/{app_id}/users/{user_id}/getPhoneNumber",
            post(jsapi::get_phone_number),
        )
        .route(
            "/jsapi/apps/{app_id}/users/{user_id}/getSetting",
            get(jsapi::get_setting),
        )
        .route(
            "/jsapi/scenarios/{scenario_id}/getPhoneNumber",
            post(jsapi::scenario_phone_number),
        )
        .route(
            "/__admin/apps",
            get(admin::apps::list_apps).post(admin::apps::create_app),
        )
        .route(
            "/__admin/apps/{app_id}",
            get(admin::apps::get_app)
                .put(admin::apps::put_app)
                .patch(admin::apps::patch_app)
                .delete(admin::apps::delete_app),
        )
        .route("/__admin/apps/{app_id}/bundle", get(admin::apps::bundle))
        .route(
            "/__admin/apps/{app_id}/users",
            get(admin::users::list_users).post(admin::users::create_user),
        )
        .route(
            "/__admin/apps/{app_id}/users/{user_id}",
            get(admin::users::get_user)
                .put(admin::users::put_user)
                .patch(admin::users::patch_user)
                .delete(admin::users::delete_user),
        )
        .route(
            "/__admin/faults",
            get(admin::control::get_faults)
                .put(admin::control::put_faults)
                .delete(admin::control::delete_faults),
        )
        .route(
            "/__admin/journal",
            get(admin::control::get_journal).delete(admin::control::delete_journal),
        )
        .route("/__admin/reset", post(admin::control::reset))
        .route(
            "/__admin/seed",
            get(admin::control::get_seed).put(admin::control::put_seed),
        )
        .route("/__admin/scenarios", get(admin::control::scenarios))
        .with_state(state)
        .merge(ui::router())
        .merge(forward::router(forward_cfg))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(middleware::envelope))
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok", "version": VERSION}))
}

async fn openapi_json() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        openapi::document_text(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::from_status(StatusCode::NOT_FOUND)
}

async fn method_not_allowed() -> ApiError {
    ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED)
}
