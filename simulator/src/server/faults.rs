//! Fault injection, in the manner of WireMock's faults: a busy rate that turns answers into
//! 20000, a fail rate that answers the fail callback, added latency, and dropped connections.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use crate::platform::BusyDelivery;

/// The largest added latency, in milliseconds.
pub const MAX_LATENCY_MS: u64 = 30_000;

fn default_fail_error() -> i64 {
    1
}
fn default_fail_message() -> String {
    "该接口暂不支持".to_string()
}

/// Fault settings (`GET|PUT /__admin/faults`). Rates are probabilities in `[0, 1]` drawn per
/// call; 0 never, 1 always.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Share of `my.getPhoneNumber` answers turned into 20000 `aop.unknow-error` (system busy).
    #[serde(default)]
    pub busy_rate: f64,
    /// How a busy answer is delivered: `encrypted` (signed and encrypted, the default) or
    /// `plaintext`.
    #[serde(default)]
    pub busy_delivery: BusyDelivery,
    /// Delay added before every JSAPI answer, in milliseconds (at most 30000).
    #[serde(default)]
    pub latency_ms: u64,
    /// Share of JSAPI calls whose connection is closed without an answer.
    #[serde(default)]
    pub drop_rate: f64,
    /// Share of `my.getPhoneNumber` calls answered with the fail callback.
    #[serde(default)]
    pub fail_rate: f64,
    /// The fail callback's `error` (default 1, the documented code).
    #[serde(default = "default_fail_error")]
    pub fail_error: i64,
    /// The fail callback's `errorMessage` (default `该接口暂不支持`).
    #[serde(default = "default_fail_message")]
    pub fail_message: String,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            busy_rate: 0.0,
            busy_delivery: BusyDelivery::Encrypted,
            latency_ms: 0,
            drop_rate: 0.0,
            fail_rate: 0.0,
            fail_error: default_fail_error(),
            fail_message: default_fail_message(),
        }
    }
}

impl Faults {
    /// Checks the ranges; the error names the field.
    pub fn validate(&self) -> Result<(), ApiError> {
        for (name, rate) in [
            ("busy_rate", self.busy_rate),
            ("drop_rate", self.drop_rate),
            ("fail_rate", self.fail_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(ApiError::invalid(
                    name,
                    format!("{name} must be between 0 and 1, got {rate}"),
                ));
            }
        }
        if self.latency_ms > MAX_LATENCY_MS {
            return Err(ApiError::invalid(
                "latency_ms",
                format!(
                    "latency_ms must be at most {MAX_LATENCY_MS}, got {}",
                    self.latency_ms
                ),
            ));
        }
        if self.fail_message.chars().count() > 200 {
            return Err(ApiError::invalid(
                "fail_message",
                "fail_message must be at most 200 characters",
            ));
        }
        Ok(())
    }

    /// True when no fault can fire.
    pub fn is_quiet(&self) -> bool {
        self.busy_rate == 0.0
            && self.latency_ms == 0
            && self.drop_rate == 0.0
            && self.fail_rate == 0.0
    }
}

/// Draws an event of probability `rate`.
pub fn roll(rate: f64) -> bool {
    rate >= 1.0 || (rate > 0.0 && rand::random::<f64>() < rate)
}

/// A body that fails at once: hyper closes the connection without sending the response.
struct Dropped;

impl http_body::Body for Dropped {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by fault injection",
        ))))
    }
}

/// The response that makes the server close the connection without answering.
pub fn dropped() -> Response {
    let mut r = Response::new(Body::new(Dropped));
    *r.status_mut() = StatusCode::OK;
    r
}
