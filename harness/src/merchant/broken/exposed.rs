//! Broken merchants that expose what belongs elsewhere in an answer a harness reading only the
//! body for its own case would pass: the AES key in a response header, and the previous user's
//! mobile in a platform-error answer. See the variants of [`super::Broken`].

use std::sync::PoisonError;

use alipay_sim::Opened;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::super::reference::{Envelope, answer, platform_error, refused};
use super::Shared;

/// The header [`super::Broken::KeyInHeader`] adds to its refusals.
pub const DEBUG_HEADER: &str = "x-debug-decrypt";

pub(super) async fn key_in_header(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    match m.opener.open(&envelope) {
        Ok(opened) => answer(&opened.result),
        Err(e) => {
            let mut res = refused(&e);
            // BUG: a debugging aid left in production: the key the merchant decrypted with.
            if let Ok(v) = HeaderValue::from_str(&format!("aes-128-cbc key={}", m.aes_b64)) {
                res.headers_mut().insert(DEBUG_HEADER, v);
            }
            res
        }
    }
}

pub(super) async fn shared_user(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    let opened = match m.opener.open(&envelope) {
        Ok(opened) => opened.result,
        Err(e) => return refused(&e),
    };
    let mut current = m
        .current_user
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    match opened {
        Opened::Mobile(mobile) => {
            // The request's user becomes "the current user" of the whole process.
            *current = Some(mobile.clone());
            answer(&Opened::Mobile(mobile))
        }
        // BUG: the error answer describes "the current user": whoever logged in last.
        Opened::PlatformError(e) if !e.is_retryable() => match current.as_ref() {
            Some(mobile) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({
                    "status": "platform_error",
                    "code": e.code,
                    "sub_code": e.sub_code,
                    "sub_msg": e.sub_msg,
                    "user": {"mobile": mobile},
                })),
            )
                .into_response(),
            None => platform_error(&e),
        },
        other => answer(&other),
    }
}
