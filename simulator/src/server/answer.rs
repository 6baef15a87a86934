//! A ready-to-send JSAPI answer and the callback it goes to.

use axum::body::Bytes;
use serde::Serialize;

use crate::model::scenario::Expectation;
use crate::protocol::envelope::Sealed;

/// The callback a JSAPI answer goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Callback {
    /// `success` of `my.getPhoneNumber` / `my.getSetting`.
    Success,
    /// `fail` of `my.getPhoneNumber`.
    Fail,
    /// The button's `onGetAuthorize` (consent).
    OnGetAuthorize,
    /// The button's `onError` (refusal).
    OnError,
    /// The connection was dropped without an answer (fault injection).
    Dropped,
    /// An OpenAPI gateway answer (not a JSAPI callback).
    Gateway,
}

impl Callback {
    /// The name used in the `X-Alipay-Sim-Callback` header and the journal.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Callback::Success => "success",
            Callback::Fail => "fail",
            Callback::OnGetAuthorize => "onGetAuthorize",
            Callback::OnError => "onError",
            Callback::Dropped => "dropped",
            Callback::Gateway => "gateway",
        }
    }
}

/// A ready-to-send `my.getPhoneNumber` answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// The exact JSON body.
    pub(crate) body: Bytes,
    /// Which callback it goes to.
    pub(crate) callback: Callback,
    /// What a correct merchant concludes from it (success answers only).
    pub(crate) expected: Option<Expectation>,
}

impl Answer {
    /// The success-callback object `{"response":<envelope>}` for an envelope text: a JSON string
    /// holding it, or, for the object shape, the object itself (byte-exact).
    pub(crate) fn success(envelope: &str, response_is_object: bool, expected: Expectation) -> Self {
        let object =
            response_is_object && serde_json::from_str::<serde::de::IgnoredAny>(envelope).is_ok();
        let token = if object {
            envelope.to_string()
        } else {
            serde_json::Value::String(envelope.to_string()).to_string()
        };
        let mut body = String::with_capacity(token.len() + 14);
        body.push_str("{\"response\":");
        body.push_str(&token);
        body.push('}');
        Self {
            body: Bytes::from(body),
            callback: Callback::Success,
            expected: Some(expected),
        }
    }

    /// The success answer of a sealed platform decision.
    pub(crate) fn sealed(sealed: &Sealed, expected: Expectation) -> Self {
        Self::success(&sealed.envelope, sealed.response_is_object, expected)
    }
}
