//! The router: every route of the simulator and the layers every route shares.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

use super::error::{ApiError, BODY_LIMIT};
use super::forward::{self, ForwardConfig};
use super::middleware::{self, VERSION};
use super::state::AppState;
use super::{admin, authcode, gateway, jsapi, openapi, ui};

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
            "/jsapi/apps/{app_id}/users/{user_id}/getRunData",
            post(jsapi::get_run_data),
        )
        .route(
            "/jsapi/apps/{app_id}/users/{user_id}/getSetting",
            get(jsapi::get_setting),
        )
        .route(
            "/jsapi/apps/{app_id}/users/{user_id}/getAuthCode",
            post(authcode::get_auth_code),
        )
        // The OpenAPI gateway answers every method in Alipay's shape (never the admin JSON).
        .route("/gateway.do", any(gateway::v2))
        .route("/v3/alipay/system/oauth/token", any(gateway::v3))
        .route("/v3/alipay/user/info/share", any(gateway::v3))
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
            "/__admin/apps/{app_id}/rotate-alipay-cert",
            post(admin::apps::rotate_alipay_cert),
        )
        .route(
            "/__admin/clock",
            get(admin::control::get_clock).post(admin::control::advance_clock),
        )
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
