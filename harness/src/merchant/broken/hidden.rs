//! Broken merchants whose bugs a literal-minded harness misses (false passes) or misjudges:
//! leaks hidden by escaping and by compression, a padding oracle, a crash that drops the
//! connection, and redirects in place of answers. See the variants of [`super::Broken`].

use std::io::Write as _;

use alipay_sim::{OpenError, Opened, aes_decrypt as decrypt};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::super::reference::{Envelope, answer, open_and_answer, refused, rejected};
use super::Shared;

/// Serialises like Gson's default `toJson`: HTML-sensitive characters and `=` as `\uXXXX`,
/// plus `/` as `\/` (as several Java and PHP encoders do).
fn gson(v: &Value) -> String {
    v.to_string()
        .replace('=', "\\u003d")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027")
        .replace('/', "\\/")
}

pub(super) async fn escaped_leak(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    match m.opener.open(&envelope) {
        Ok(opened) => answer(&opened.result),
        Err(e @ (OpenError::BadBase64(_) | OpenError::Decrypt(_) | OpenError::BadPlaintext(_))) => {
            let content = serde_json::from_str::<Value>(&envelope)
                .ok()
                .and_then(|v| v["response"].as_str().map(str::to_string))
                .unwrap_or_default();
            // BUG: the SDK's exception text, which embeds the ciphertext, goes to the client.
            let error = format!(
                "com.alipay.api.AlipayApiException: AES解密失败：Aes内容 = {content}; charset = UTF-8 ({})",
                e.kind()
            );
            let body = gson(&json!({"status": "rejected", "error": error}));
            (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        Err(e) => refused(&e),
    }
}

pub(super) async fn gzip_leak(state: Shared, envelope: Envelope) -> Response {
    let res = super::leaky_errors(state, envelope).await;
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return rejected("internal");
    };
    // The proxy compresses every answer, whatever the client asked for.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    if gz.write_all(&bytes).is_err() {
        return rejected("internal");
    }
    let Ok(compressed) = gz.finish() else {
        return rejected("internal");
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    Response::from_parts(parts, Body::from(compressed))
}

pub(super) async fn decrypt_first(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    let parsed = serde_json::from_str::<Value>(&envelope).ok();
    if let (Some(ct), Some(key)) = (
        parsed
            .as_ref()
            .and_then(|v| v["response"].as_str().map(str::to_string)),
        m.opener.aes.as_ref(),
    ) {
        // BUG: decrypt first, and say what went wrong, before the signature is looked at.
        let Ok(bytes) = STANDARD.decode(&ct) else {
            return rejected("bad_base64");
        };
        if bytes.is_empty() || !bytes.len().is_multiple_of(16) {
            return rejected("bad_length");
        }
        let Ok(plain) = decrypt(key, &bytes) else {
            return rejected("bad_padding");
        };
        if serde_json::from_slice::<Value>(&plain).is_err() {
            return rejected("bad_plaintext");
        }
    }
    open_and_answer(&m.opener, &envelope)
}

pub(super) async fn crash_reset(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    // BUG: unwrap-style parsing with no panic-catching layer: the connection task dies.
    let parsed = serde_json::from_str::<Value>(&envelope).ok();
    let usable = parsed
        .as_ref()
        .and_then(Value::as_object)
        .is_some_and(super::unwrap_survives);
    if !usable {
        std::panic::resume_unwind(Box::new(
            "crash-reset merchant: called `Option::unwrap()` on a `None` value (deliberate)",
        ));
    }
    open_and_answer(&m.opener, &envelope)
}

pub(super) async fn redirect_errors(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    match m.opener.open(&envelope).map(|o| o.result) {
        Ok(Opened::Mobile(mobile)) => answer(&Opened::Mobile(mobile)),
        // BUG: the error page is a redirect, not an answer.
        Ok(Opened::EmptyMobile) => redirect("no_mobile"),
        Ok(Opened::PlatformError(e)) => redirect(&e.code),
        Err(e) => refused(&e),
    }
}

fn redirect(what: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("/phone/error?code={what}"))],
        Json(json!({"redirect": "/phone/error"})),
    )
        .into_response()
}
