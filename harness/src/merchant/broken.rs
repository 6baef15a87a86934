//! Deliberately broken merchants: each is the reference merchant with one bug that real
//! backends have, so the test suite can prove the harness fails each of them on exactly the cases
//! that target that bug (`harness/tests/matrix.rs`). Never copy these.
//!
//! Each variant of [`Broken`] documents the real-world code it imitates. Everything a variant
//! does not mention behaves exactly like [`super::reference`](mod@super::reference).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alipay_sim::{Opened, Opener};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use serde_json::{Value, json};

mod exposed;
mod hidden;

pub use self::exposed::DEBUG_HEADER;

use super::MerchantConfig;
use super::reference::{
    Envelope, answer, open_and_answer, platform_error, read_envelope, refused, rejected, with_state,
};

/// Which bug a broken merchant has (`alipay-harness merchant --broken KIND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Broken {
    /// Decrypts without verifying `sign`: code that copied the official decryption sample
    /// (AESDEC) and never added the `AlipaySignature.rsaCheck` step. Forged envelopes
    /// encrypted with the app's AES key are accepted.
    SkipVerify,
    /// Verifies `sign` over the ciphertext *without* its surrounding double quotes, the classic
    /// mistake (`verify(data.response, data.sign)`): every genuine encrypted envelope is
    /// refused, and an envelope signed over the unquoted text would be accepted.
    UnquotedSign,
    /// Parses the envelope with a JSON library and verifies over the re-serialised `response`
    /// (`serde_json::to_string(&v["response"])`), as fastjson users without
    /// `Feature.OrderedField` do: the bytes change (`\/` becomes `/`), so a genuine signed
    /// plaintext object fails verification.
    Reserialise,
    /// Checks `code == "10000"` and returns `mobile` whatever it is: an account without a
    /// bound phone logs in as `""` (answers `200 {"status":"ok","mobile":""}`).
    EmptyMobileOk,
    /// Treats 20000 (platform busy) like any other platform error (422), so the page shows a
    /// final failure instead of retrying.
    BusyFinal,
    /// `serde_json::from_str(&body).unwrap()` and `.as_str().unwrap()` style code: a body
    /// that is not a JSON object with string fields crashes the handler, which answers 500
    /// with the panic message.
    CrashOnGarbage,
    /// URL-form-decodes the body when it arrives as `application/x-www-form-urlencoded`, as
    /// form-parsing frameworks do before the handler sees it: every `+` of the base64
    /// ciphertext and signature becomes a space, so genuine envelopes are refused.
    FormDecode,
    /// Keeps one "last decrypted result" slot shared by every request, like a `Cipher` or
    /// `StringBuilder` kept in a static field: each request writes it, yields, then answers
    /// from it. Sequential requests are right; concurrent ones get someone else's mobile.
    SharedCipher,
    /// Puts the configured AES key (base64) and the received ciphertext into every refusal's
    /// error message, as `"decrypt failed: key=" + key + " content=" + content` handlers do.
    LeakyErrors,
    /// Correct answers, but only after 3 seconds (`SLOW_DELAY`): a backend calling a slow
    /// dependency on every request.
    Slow,
    /// Returns the SDK's exception text when decryption fails, as a Java backend does with
    /// `AlipayApiException.getMessage()` (`AES解密失败：Aes内容 = <ciphertext>; charset = UTF-8`),
    /// serialised by Gson, which writes `=` as `\u003d` (and `/` as `\/`): the echoed
    /// ciphertext is invisible to a literal substring check.
    EscapedLeak,
    /// [`Broken::LeakyErrors`] behind a compressing reverse proxy: every answer is gzipped
    /// (`Content-Encoding: gzip`), so the leaks are only visible once decoded.
    GzipLeak,
    /// Decrypts before verifying and answers each failure with its own error (`bad_base64`,
    /// `bad_length`, `bad_padding`, `bad_plaintext`) before `bad_signature`, like
    /// smartwalle/alipay's `DecodePhoneNumber`: a padding oracle. Genuine and tampered cases
    /// are all answered correctly.
    DecryptFirst,
    /// Panics (an `unwrap()` on the parsed body, no panic-catching layer) on a body that is not
    /// a JSON object with string fields: the connection closes without an answer, while every
    /// other request is answered.
    CrashReset,
    /// A web app that redirects (`302 Location: /phone/error?...`) for every verified outcome
    /// that is not a mobile (platform errors, no mobile, busy) instead of answering it: no
    /// client code reads a 302 from `my.request` as an outcome.
    RedirectErrors,
    /// `POST /login` takes `user_id` / `open_id` / `mobile` from the request when the page
    /// sends them ("the page already knows who the user is").
    LoginTrustsClient,
    /// `POST /login` reads the ids from the gateway's answer without checking its `code` (the
    /// Node SDK's `exec` returns error objects instead of throwing): a reused, expired or
    /// foreign code logs in a user with no id, and 20000 is a login too.
    LoginErrorAsSuccess,
    /// `POST /login` does not verify the gateway answer's signature.
    LoginNoVerify,
    /// `POST /login` panics when the gateway answers an HTTP error page (`.json().unwrap()`).
    LoginCrashOnGatewayError,
    /// `POST /login` treats the gateway's 20000 (busy) like a refused code (401).
    LoginBusyFinal,
    /// `POST /login` calls `alipay.user.info.share` on every login, `auth_base` included, and
    /// ignores its answer.
    LoginReadsProfile,
    /// Adds a debugging header to every refusal, `X-Debug-Decrypt: aes-128-cbc key=<base64>`,
    /// left in from development: the body is the reference merchant's clean refusal, so a
    /// harness that reads only bodies passes it.
    KeyInHeader,
    /// Keeps "the current user" in one object shared by the whole process (a `static` or a
    /// singleton bean), set by every successful login, and describes it in final platform-error
    /// answers (`"user":{"mobile":...}`): a user whose phone authorisation fails sees the
    /// previous user's mobile.
    SharedUser,
}

impl Broken {
    /// The login bug of a `Login*` kind (its envelope endpoint is the reference's).
    pub fn login_flaw(self) -> Option<super::login::LoginFlaw> {
        use super::login::LoginFlaw;
        Some(match self {
            Broken::LoginTrustsClient => LoginFlaw::TrustsClient,
            Broken::LoginErrorAsSuccess => LoginFlaw::ErrorAsSuccess,
            Broken::LoginNoVerify => LoginFlaw::NoVerify,
            Broken::LoginCrashOnGatewayError => LoginFlaw::CrashOn5xx,
            Broken::LoginBusyFinal => LoginFlaw::BusyFinal,
            Broken::LoginReadsProfile => LoginFlaw::ReadsProfile,
            _ => return None,
        })
    }
}

/// How long [`Broken::Slow`] waits before every answer (longer than any sane client timeout).
pub const SLOW_DELAY: Duration = Duration::from_secs(3);

/// How long [`Broken::SharedCipher`] yields between writing and reading its shared slot.
pub const SHARED_CIPHER_YIELD: Duration = Duration::from_millis(10);

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use clap::ValueEnum as _;
        match self.to_possible_value() {
            Some(v) => f.write_str(v.get_name()),
            None => write!(f, "{self:?}"),
        }
    }
}

/// What the broken handlers share.
struct Merchant {
    /// The reference merchant's opener (verifies, then decrypts).
    opener: Opener,
    /// The same without a verifier: decrypts and interprets only.
    decrypt_only: Opener,
    /// The AES key in base64 (for [`Broken::LeakyErrors`] and [`Broken::KeyInHeader`] only).
    aes_b64: String,
    /// The one result slot of [`Broken::SharedCipher`].
    slot: Mutex<Option<Opened>>,
    /// The "current user" of [`Broken::SharedUser`].
    current_user: Mutex<Option<String>>,
}

type Shared = State<Arc<Merchant>>;

fn m_opener(m: &Merchant) -> Opener {
    m.opener.clone()
}

/// The HTTP application of a broken merchant.
pub fn router(kind: Broken, cfg: &MerchantConfig) -> axum::Router {
    let opener = cfg.opener();
    let merchant = Arc::new(Merchant {
        decrypt_only: Opener {
            verifier: None,
            ..opener.clone()
        },
        aes_b64: opener
            .aes
            .as_ref()
            .map(|k| k.to_base64())
            .unwrap_or_default(),
        opener,
        slot: Mutex::new(None),
        current_user: Mutex::new(None),
    });
    let handler: MethodRouter<Arc<Merchant>> = match kind {
        Broken::SkipVerify => post(skip_verify),
        Broken::UnquotedSign => post(unquoted_sign),
        Broken::Reserialise => post(reserialise),
        Broken::EmptyMobileOk => post(empty_mobile_ok),
        Broken::BusyFinal => post(busy_final),
        Broken::CrashOnGarbage => post(crash_on_garbage),
        Broken::FormDecode => post(form_decode),
        Broken::SharedCipher => post(shared_cipher),
        Broken::LeakyErrors => post(leaky_errors),
        Broken::Slow => post(slow),
        Broken::EscapedLeak => post(hidden::escaped_leak),
        Broken::GzipLeak => post(hidden::gzip_leak),
        Broken::DecryptFirst => post(hidden::decrypt_first),
        Broken::CrashReset => post(hidden::crash_reset),
        Broken::RedirectErrors => post(hidden::redirect_errors),
        Broken::KeyInHeader => post(exposed::key_in_header),
        Broken::SharedUser => post(exposed::shared_user),
        // A login bug: the envelope endpoint is the reference's (the login route is
        // `super::login`'s, with the flaw).
        Broken::LoginTrustsClient
        | Broken::LoginErrorAsSuccess
        | Broken::LoginNoVerify
        | Broken::LoginCrashOnGatewayError
        | Broken::LoginBusyFinal
        | Broken::LoginReadsProfile => return super::reference::router(m_opener(&merchant)),
    };
    with_state(handler, merchant)
}

async fn skip_verify(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    // BUG: no signature check at all.
    open_and_answer(&m.decrypt_only, &envelope)
}

/// Verifies `sign` over `signed(envelope)` (the bug), then decrypts without verifying again.
/// Envelopes without a string `sign`, or with signing not configured, go the reference way.
fn verify_wrong_bytes(
    m: &Merchant,
    envelope: &str,
    signed: fn(&Value) -> Option<String>,
) -> Response {
    let parsed: Option<Value> = serde_json::from_str(envelope).ok();
    let sign = parsed.as_ref().and_then(|v| v["sign"].as_str());
    let content = parsed.as_ref().and_then(signed);
    match (&m.opener.verifier, sign, content) {
        (Some(verifier), Some(sign), Some(content)) => {
            if verifier
                .verify_base64(m.opener.sign_type, content.as_bytes(), sign)
                .is_err()
            {
                return rejected("bad_signature");
            }
            open_and_answer(&m.decrypt_only, envelope)
        }
        _ => open_and_answer(&m.opener, envelope),
    }
}

async fn unquoted_sign(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    // BUG: the string's content, without the quotes Alipay signed.
    verify_wrong_bytes(&m, &envelope, |v| {
        v["response"].as_str().map(str::to_string)
    })
}

async fn reserialise(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    // BUG: re-serialised text instead of the raw bytes of the envelope.
    verify_wrong_bytes(&m, &envelope, |v| {
        v.get("response")
            .and_then(|r| serde_json::to_string(r).ok())
    })
}

async fn empty_mobile_ok(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    match m.opener.open(&envelope).map(|o| o.result) {
        // BUG: code 10000 is taken as "here is a number".
        Ok(Opened::EmptyMobile) => {
            (StatusCode::OK, Json(json!({"status": "ok", "mobile": ""}))).into_response()
        }
        Ok(result) => answer(&result),
        Err(e) => refused(&e),
    }
}

async fn busy_final(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    match m.opener.open(&envelope).map(|o| o.result) {
        // BUG: 20000 answered as a final platform error, like 40003.
        Ok(Opened::PlatformError(e)) if e.is_retryable() => platform_error(&e),
        Ok(result) => answer(&result),
        Err(e) => refused(&e),
    }
}

/// True when unwrap-style field access survives the envelope object `o`: its `response`, if any,
/// is a string or an object, and its `sign`, if any, a string ([`Broken::CrashOnGarbage`],
/// [`Broken::CrashReset`]).
fn unwrap_survives(o: &serde_json::Map<String, Value>) -> bool {
    o.get("response")
        .is_none_or(|r| r.is_string() || r.is_object())
        && o.get("sign").is_none_or(Value::is_string)
}

async fn crash_on_garbage(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    // BUG: unwrap-style field access; the framework turns the panic into a 500 with its message.
    let parsed = serde_json::from_str::<Value>(&envelope);
    let problem = match &parsed {
        Err(e) => Some(format!(
            "called `Result::unwrap()` on an `Err` value: Error({e:?})"
        )),
        Ok(Value::Object(o)) => {
            (!unwrap_survives(o)).then(|| "called `Option::unwrap()` on a `None` value".to_string())
        }
        Ok(_) => Some("called `Option::unwrap()` on a `None` value".to_string()),
    };
    match problem {
        Some(message) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "thread 'tokio-runtime-worker' panicked at src/main.rs:42:57:\n{message}\n\
                 note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"
            ),
        )
            .into_response(),
        None => open_and_answer(&m.opener, &envelope),
    }
}

async fn form_decode(
    State(m): Shared,
    headers: HeaderMap,
    Envelope(envelope): Envelope,
) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    // BUG: the form parser decoded the body before the handler read it.
    let envelope = if is_form {
        form_urldecode(&envelope)
    } else {
        envelope
    };
    open_and_answer(&m.opener, &envelope)
}

/// `application/x-www-form-urlencoded` decoding of one value, as a form parser does it: `+` is
/// a space, `%XX` a byte (`percent-encoding`).
fn form_urldecode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

async fn shared_cipher(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    let opened = match m.opener.open(&envelope) {
        Ok(opened) => opened,
        Err(e) => return refused(&e),
    };
    // BUG: the result goes through one slot shared by every request in flight.
    *m.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(opened.result);
    tokio::time::sleep(SHARED_CIPHER_YIELD).await;
    let shared = m
        .slot
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    match shared {
        Some(result) => answer(&result),
        None => rejected("internal"),
    }
}

async fn leaky_errors(State(m): Shared, Envelope(envelope): Envelope) -> Response {
    match m.opener.open(&envelope) {
        Ok(opened) => answer(&opened.result),
        Err(e) => {
            let content = serde_json::from_str::<Value>(&envelope)
                .ok()
                .and_then(|v| v["response"].as_str().map(str::to_string))
                .unwrap_or(envelope);
            // BUG: key material and the received ciphertext in the answer.
            let error = format!("decrypt failed: key={} content={content}: {e}", m.aes_b64);
            (
                StatusCode::BAD_REQUEST,
                Json(json!({"status": "rejected", "error": error})),
            )
                .into_response()
        }
    }
}

async fn slow(State(m): Shared, body: Body) -> Response {
    // BUG (operational): every answer waits for something slow.
    // The wait comes before the body is read (so not the `Envelope` extractor): even the 413
    // for an oversized body is late, and every case times out.
    tokio::time::sleep(SLOW_DELAY).await;
    match read_envelope(body).await {
        Ok(envelope) => open_and_answer(&m.opener, &envelope),
        Err(refusal) => refusal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alipay_sim::{Catalogue, KeySet};
    use axum::http::Request;
    use tower::ServiceExt as _;

    fn body_of(id: &str) -> String {
        let catalogue = Catalogue::embedded();
        catalogue.get(id).unwrap().build(&KeySet::embedded()).body
    }

    async fn post(kind: Broken, body: String, content_type: &str) -> (StatusCode, String) {
        let cfg = MerchantConfig {
            broken: Some(kind),
            ..MerchantConfig::default()
        };
        let req = Request::post("/")
            .header(header::CONTENT_TYPE, content_type)
            .body(axum::body::Body::from(body))
            .unwrap();
        let res = super::super::router(cfg).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn post_case(kind: Broken, id: &str) -> (StatusCode, String) {
        post(kind, body_of(id), "application/json").await
    }

    #[test]
    fn names_are_kebab_case() {
        assert_eq!(Broken::SkipVerify.to_string(), "skip-verify");
        assert_eq!(Broken::EmptyMobileOk.to_string(), "empty-mobile-ok");
        assert_eq!(Broken::DecryptFirst.to_string(), "decrypt-first");
        assert_eq!(Broken::RedirectErrors.to_string(), "redirect-errors");
    }

    #[test]
    fn form_decoding_turns_plus_into_space_and_percent_into_bytes() {
        assert_eq!(form_urldecode("a+b%2Fc%zz%4"), "a b/c%zz%4");
    }

    #[tokio::test]
    async fn skip_verify_accepts_a_forged_signature() {
        let (status, body) = post_case(Broken::SkipVerify, "tamper.signature.attacker-key").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Flipping a bit of the first ciphertext block garbles the whole first plaintext block, so
    /// strict JSON parsing refuses it even without verification: that case cannot tell a
    /// skip-verify merchant from a correct one.
    #[tokio::test]
    async fn skip_verify_still_refuses_a_garbled_ciphertext() {
        let (status, body) = post_case(Broken::SkipVerify, "tamper.ciphertext.bit-flip").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("bad_plaintext"), "{body}");
    }

    #[tokio::test]
    async fn unquoted_sign_refuses_genuine_and_accepts_unquoted() {
        let (status, _) = post_case(Broken::UnquotedSign, "platform.success.mainland").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) =
            post_case(Broken::UnquotedSign, "tamper.signature.unquoted-content").await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn reserialise_refuses_the_signed_plaintext_error_only() {
        let (status, _) = post_case(Broken::Reserialise, "platform.success.mainland").await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) =
            post_case(Broken::Reserialise, "tamper.payload.signed-plaintext-error").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }

    #[tokio::test]
    async fn answer_mapping_bugs() {
        let (status, body) =
            post_case(Broken::EmptyMobileOk, "platform.success.empty-mobile").await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, r#"{"mobile":"","status":"ok"}"#)
        );
        let (status, _) = post_case(Broken::BusyFinal, "platform.busy.20000").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[tokio::test]
    async fn crash_on_garbage_answers_500_with_a_panic_message() {
        let (status, body) = post_case(Broken::CrashOnGarbage, "tamper.body.wrong-shape").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains("panicked at"), "{body}");
        let (status, _) = post_case(Broken::CrashOnGarbage, "platform.success.mainland").await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn form_decode_breaks_form_deliveries_only() {
        let id = "tamper.delivery.form-content-type";
        let form = "application/x-www-form-urlencoded";
        let (status, _) = post(Broken::FormDecode, body_of(id), form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = post(Broken::FormDecode, body_of(id), "application/json").await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn leaky_errors_echo_the_key() {
        let (status, body) = post_case(Broken::LeakyErrors, "tamper.aes.bad-padding").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains(&KeySet::embedded().aes.to_base64()));
    }

    #[tokio::test]
    async fn shared_cipher_mixes_up_concurrent_answers() {
        let cfg = MerchantConfig {
            broken: Some(Broken::SharedCipher),
            ..MerchantConfig::default()
        };
        let app = super::super::router(cfg);
        let ids = ["platform.success.mainland", "platform.success.overseas"];
        let send = |id: &str| {
            let req = Request::post("/")
                .body(axum::body::Body::from(body_of(id)))
                .unwrap();
            let app = app.clone();
            async move {
                let res = app.oneshot(req).await.unwrap();
                let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                    .await
                    .unwrap();
                String::from_utf8(bytes.to_vec()).unwrap()
            }
        };
        // Sequentially, each answer is its own.
        let keys = KeySet::embedded();
        let catalogue = Catalogue::embedded();
        let mobile = |id: &str| {
            catalogue
                .get(id)
                .unwrap()
                .build(&keys)
                .expected
                .mobile
                .unwrap()
        };
        for id in ids {
            assert!(send(id).await.contains(&mobile(id)));
        }
        // Concurrently, both read the slot after both wrote it: one gets the other's mobile.
        let (a, b) = tokio::join!(send(ids[0]), send(ids[1]));
        assert_eq!(a, b, "both answers come from the one shared slot");
    }
}
