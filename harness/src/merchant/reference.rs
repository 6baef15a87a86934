//! The reference merchant: a correct `my.getPhoneNumber` decryption endpoint.
//!
//! The mini-program forwards `res.response` as the request body, unchanged. This endpoint
//!
//! 1. reads the **raw body bytes**, whatever the `Content-Type` (never form- or URL-decodes
//!    them: base64 `+` would turn into a space), up to 64 KiB;
//! 2. hands the text to [`Opener::open`], which verifies `sign` over the raw `"ciphertext"`
//!    token (quotes included) with the Alipay public key *before* decrypting, then
//!    AES-CBC-decrypts strictly and reads `code`;
//! 3. answers one JSON object per outcome (the contract in `harness/contracts/reference.toml`):
//!
//! | outcome | status | body |
//! |---|---|---|
//! | a mobile | 200 | `{"status":"ok","mobile":"13800000000"}` |
//! | no bound mobile | 422 | `{"status":"no_mobile"}` |
//! | platform error | 422 | `{"status":"platform_error","code":"40003","sub_code":"...","sub_msg":"..."}` |
//! | 20000, busy | 503 + `Retry-After: 1` | `{"status":"retry_later","code":"20000"}` |
//! | refused envelope | 400 (413 when too large) | `{"status":"rejected","error":"bad_signature"}` |
//!
//! The rejection names only the error class: never the key, the ciphertext or a stack trace.
//! No input makes it answer 5xx other than the deliberate 503.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;

use alipay_sim::{OpenError, Opened, Opener, PlatformError};
use axum::Json;
use axum::body::{Body, HttpBody as _};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

/// The largest body accepted; real envelopes are under 1 KiB.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How much of an oversized body is read and discarded before answering 413.
pub const DRAIN_LIMIT: usize = 8 * 1024 * 1024;

/// The reference merchant's HTTP application: `POST` to any path, the body is the envelope.
/// `GET /openapi.json` serves its published contract ([`super::openapi`]).
pub fn router(opener: Opener) -> axum::Router {
    with_contract(post(decrypt), Arc::new(opener))
}

/// The reference merchant that also refuses unsigned platform errors (`merchant
/// --refuse-unsigned-errors`): an envelope without `sign` is refused as `missing_sign` before it
/// is opened. As safe as reporting them, but the developer loses the platform's hint (40001
/// means "configure content encryption").
pub fn strict_router(opener: Opener) -> axum::Router {
    with_contract(post(decrypt_strict), Arc::new(opener))
}

/// [`with_state`] plus `GET /openapi.json`, the one path that is not an envelope endpoint.
fn with_contract(
    handler: axum::routing::MethodRouter<Arc<Opener>>,
    state: Arc<Opener>,
) -> axum::Router {
    axum::Router::new()
        .route("/", handler.clone())
        .route("/{*path}", handler.clone())
        .route("/openapi.json", axum::routing::get(openapi_json))
        .with_state(state)
}

async fn openapi_json() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        super::openapi::document_text(),
    )
        .into_response()
}

/// The strict handler: refuses any envelope without `sign`, then opens like the reference.
async fn decrypt_strict(
    State(opener): State<Arc<Opener>>,
    Envelope(envelope): Envelope,
) -> Response {
    let unsigned = serde_json::from_str::<serde_json::Value>(&envelope)
        .ok()
        .and_then(|v| v.as_object().map(|o| !o.contains_key("sign")))
        .unwrap_or(false);
    if unsigned {
        return rejected("missing_sign");
    }
    open_and_answer(&opener, &envelope)
}

/// Mounts a `POST` handler on every path; shared by the broken merchants.
pub(crate) fn with_state<S: Clone + Send + Sync + 'static>(
    handler: axum::routing::MethodRouter<S>,
    state: S,
) -> axum::Router {
    axum::Router::new()
        .route("/", handler.clone())
        .route("/{*path}", handler)
        .with_state(state)
}

/// The handler: raw body in, one JSON answer out.
async fn decrypt(State(opener): State<Arc<Opener>>, Envelope(envelope): Envelope) -> Response {
    open_and_answer(&opener, &envelope)
}

/// Opens the envelope and answers; a refusal names only the error class.
pub(crate) fn open_and_answer(opener: &Opener, envelope: &str) -> Response {
    match opener.open(envelope) {
        Ok(opened) => answer(&opened.result),
        Err(e) => refused(&e),
    }
}

/// The answer for a refused envelope: 400 naming the error class only.
pub(crate) fn refused(e: &OpenError) -> Response {
    // The error text names what was wrong, never key material.
    tracing::info!(error = %e, "envelope refused");
    rejected(e.kind())
}

/// Reads the body as text: 413 when over [`BODY_LIMIT`], 400 when unreadable or not UTF-8.
///
/// An oversized body is still read to its end (up to [`DRAIN_LIMIT`]) and discarded: closing a
/// connection while the client is still sending makes it lose the 413 answer.
pub(crate) async fn read_envelope(mut body: Body) -> Result<String, Response> {
    let mut bytes = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| rejected("unreadable_body"))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        total += data.len();
        if total <= BODY_LIMIT {
            bytes.extend_from_slice(&data);
        } else if total > DRAIN_LIMIT {
            break;
        }
    }
    if total > BODY_LIMIT {
        let mut res = refusal(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
        if total > DRAIN_LIMIT {
            // Not read to the end: this connection cannot carry another request.
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        return Err(res);
    }
    String::from_utf8(bytes).map_err(|_| rejected("not_utf8"))
}

/// The request body as the envelope text: [`read_envelope`] as an extractor, so every handler
/// (the reference and the broken merchants) starts from the same refusals (413
/// `body_too_large`, 400 `not_utf8`, 400 `unreadable_body`) without repeating the prelude.
pub(crate) struct Envelope(pub(crate) String);

impl<S: Send + Sync> FromRequest<S> for Envelope {
    type Rejection = Response;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Response> {
        read_envelope(req.into_body()).await.map(Envelope)
    }
}

/// The answer for a verified, decrypted result.
pub(crate) fn answer(result: &Opened) -> Response {
    match result {
        Opened::Mobile(mobile) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "mobile": mobile})),
        )
            .into_response(),
        // Code 10000 without a number: not a login.
        Opened::EmptyMobile => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"status": "no_mobile"})),
        )
            .into_response(),
        // 20000 is transient: tell the page to try again, do not store it as final.
        Opened::PlatformError(e) if e.is_retryable() => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            Json(json!({"status": "retry_later", "code": e.code})),
        )
            .into_response(),
        Opened::PlatformError(e) => platform_error(e),
    }
}

/// 422 reporting a (final) platform error with its code, subCode and subMsg.
pub(crate) fn platform_error(e: &PlatformError) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({
            "status": "platform_error",
            "code": e.code,
            "sub_code": e.sub_code,
            "sub_msg": e.sub_msg,
        })),
    )
        .into_response()
}

/// 400 `{"status":"rejected","error":"<class>"}`.
pub(crate) fn rejected(error: &str) -> Response {
    refusal(StatusCode::BAD_REQUEST, error)
}

fn refusal(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"status": "rejected", "error": error}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merchant::MerchantConfig;
    use alipay_sim::{AesSize, Catalogue, KeySet, Outcome, Signing};
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn post(
        app: axum::Router,
        body: impl Into<Body>,
        content_type: &str,
    ) -> (StatusCode, Option<String>, serde_json::Value) {
        let req = Request::post("/getPhoneNumber")
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        let status = res.status();
        let retry = res
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {bytes:?}"));
        (status, retry, value)
    }

    /// Every catalogue case that applies to a merchant configured like `cfg`, posted through
    /// the router, gets exactly the answer its expectation calls for.
    async fn catalogue_against(cfg: MerchantConfig) -> usize {
        let keys = KeySet::embedded();
        let mut checked = 0;
        for scenario in Catalogue::embedded().scenarios() {
            let profile = scenario.merchant_profile();
            if profile.mismatch(cfg.signing, cfg.aes_bits).is_some() {
                continue;
            }
            let built = scenario.build(&keys);
            let content_type = built.content_type.as_deref().unwrap_or("application/json");
            let (status, retry, v) =
                post(router(cfg.opener()), built.body.clone(), content_type).await;
            let id = &scenario.id;
            let e = &built.expected;
            match e.outcome {
                Outcome::Accept => {
                    assert_eq!(status, StatusCode::OK, "{id}: {v}");
                    assert_eq!(v["mobile"].as_str(), e.mobile.as_deref(), "{id}");
                }
                Outcome::NoMobile => {
                    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{id}: {v}");
                    assert_eq!(v, json!({"status": "no_mobile"}), "{id}");
                }
                Outcome::PlatformError => {
                    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{id}: {v}");
                    assert_eq!(v["status"], "platform_error", "{id}");
                    assert_eq!(v["code"].as_str(), e.code.as_deref(), "{id}");
                    assert_eq!(v["sub_code"].as_str(), e.sub_code.as_deref(), "{id}");
                }
                Outcome::RetryLater => {
                    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{id}: {v}");
                    assert_eq!(retry.as_deref(), Some("1"), "{id}");
                    assert_eq!(v, json!({"status": "retry_later", "code": "20000"}), "{id}");
                }
                Outcome::Reject => {
                    assert!(
                        status == StatusCode::BAD_REQUEST
                            || status == StatusCode::PAYLOAD_TOO_LARGE,
                        "{id}: {status} {v}"
                    );
                    assert_eq!(v["status"], "rejected", "{id}");
                    let canary = built.canary.as_deref().unwrap_or("no canary");
                    assert!(
                        !v.to_string().contains(canary),
                        "{id} leaks the canary: {v}"
                    );
                }
            }
            checked += 1;
        }
        checked
    }

    #[tokio::test]
    async fn every_case_gets_its_expected_answer_in_the_default_configuration() {
        let n = catalogue_against(MerchantConfig::default()).await;
        assert!(n >= 30, "only {n} cases applied");
    }

    #[tokio::test]
    async fn every_case_gets_its_expected_answer_in_the_other_configurations() {
        for (signing, aes_bits) in [
            (Signing::None, AesSize::Aes128),
            (Signing::Rsa, AesSize::Aes128),
            (Signing::Rsa2, AesSize::Aes192),
            (Signing::Rsa2, AesSize::Aes256),
        ] {
            let cfg = MerchantConfig {
                signing,
                aes_bits,
                ..MerchantConfig::default()
            };
            // Each configuration has its own success case besides the unencrypted errors.
            assert!(catalogue_against(cfg).await > 5, "{signing} {aes_bits}");
        }
    }

    #[tokio::test]
    async fn hostile_bodies_get_a_4xx_naming_the_error_class() {
        let app = || router(MerchantConfig::default().opener());
        let (status, _, v) = post(app(), vec![0xff, 0xfe, b'{'], "application/json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(v, json!({"status": "rejected", "error": "not_utf8"}));

        let (status, _, v) = post(app(), "x".repeat(BODY_LIMIT + 1), "text/plain").await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(v, json!({"status": "rejected", "error": "body_too_large"}));

        // Far too large: not read to the end, so the connection is closed after the answer.
        let req = Request::post("/")
            .body(Body::from(vec![b'x'; DRAIN_LIMIT + 1]))
            .unwrap();
        let res = app().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(res.headers()[header::CONNECTION], "close");

        let (status, _, v) = post(app(), r#"{"response":"AAAA"}"#, "application/json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(v, json!({"status": "rejected", "error": "missing_sign"}));
    }

    #[tokio::test]
    async fn the_contract_is_served_at_its_one_get_route() {
        let app = router(MerchantConfig::default().opener());
        let res = app
            .clone()
            .oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        // Every status the handler answers is documented.
        let responses = &doc["paths"]["/{path}"]["post"]["responses"];
        for status in ["200", "400", "413", "422", "503"] {
            assert!(responses[status].is_object(), "{status} undocumented");
        }
        let req = Request::post("/openapi.json")
            .body(Body::from("{}"))
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn any_path_is_served_and_other_methods_are_refused() {
        let app = router(MerchantConfig::default().opener());
        let res = app
            .clone()
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        let (status, _, _) = post(app, "{}", "application/json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
