//! Fault settings, in the manner of WireMock's faults: a busy rate that turns answers into
//! 20000, a fail rate that answers the fail callback, added latency, and dropped connections;
//! for the OpenAPI gateway: busy, a signature that does not verify, latency and an HTTP 5xx.
//! Plain settings and draws; `jsapi` applies them to an answer.

use serde::{Deserialize, Serialize};

use super::error::integer;
use crate::model::platform::BusyDelivery;

/// The longest `fail_message`, in characters.
pub(crate) const MAX_FAIL_MESSAGE_CHARS: usize = 200;

/// The largest added latency, in milliseconds.
pub(crate) const MAX_LATENCY_MS: u64 = 30_000;

fn default_fail_error() -> i64 {
    1
}
fn default_fail_message() -> String {
    "该接口暂不支持".to_string()
}

/// A fault setting out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct FaultError {
    /// The offending field.
    pub(crate) field: &'static str,
    /// What is wrong with it.
    pub(crate) message: String,
}

/// Fault settings (`GET|PUT /__admin/faults`). Rates are probabilities in `[0, 1]` drawn per
/// call; 0 never, 1 always.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Faults {
    /// Share of `my.getPhoneNumber` answers turned into 20000 `aop.unknow-error` (system busy).
    #[serde(default)]
    pub(crate) busy_rate: f64,
    /// How a busy answer is delivered: `encrypted` (signed and encrypted, the default) or
    /// `plaintext`.
    #[serde(default)]
    pub(crate) busy_delivery: BusyDelivery,
    /// Delay added before every JSAPI answer, in milliseconds (at most 30000).
    #[serde(default, deserialize_with = "integer::u64")]
    pub(crate) latency_ms: u64,
    /// Share of JSAPI calls whose connection is closed without an answer.
    #[serde(default)]
    pub(crate) drop_rate: f64,
    /// Share of `my.getPhoneNumber` calls answered with the fail callback.
    #[serde(default)]
    pub(crate) fail_rate: f64,
    /// The fail callback's `error` (default 1, the documented code).
    #[serde(default = "default_fail_error", deserialize_with = "integer::i64")]
    pub(crate) fail_error: i64,
    /// The fail callback's `errorMessage` (default `该接口暂不支持`).
    #[serde(default = "default_fail_message")]
    pub(crate) fail_message: String,
    /// Share of OpenAPI gateway answers turned into 20000 `isp.unknow-error` (busy).
    #[serde(default)]
    pub(crate) gateway_busy_rate: f64,
    /// Share of gateway answers whose signature does not verify (signed over other bytes).
    #[serde(default)]
    pub(crate) gateway_bad_sign_rate: f64,
    /// Delay added before every gateway answer, in milliseconds (at most 30000).
    #[serde(default)]
    pub(crate) gateway_latency_ms: u64,
    /// Share of gateway calls answered with an HTTP 5xx and an HTML body (a failing load
    /// balancer), the only 5xx the simulator ever sends, and only when asked to.
    #[serde(default)]
    pub(crate) gateway_http_error_rate: f64,
    /// The status of those answers (500 to 599, default 502).
    #[serde(default = "default_http_status")]
    pub(crate) gateway_http_status: u16,
}

fn default_http_status() -> u16 {
    502
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
            gateway_busy_rate: 0.0,
            gateway_bad_sign_rate: 0.0,
            gateway_latency_ms: 0,
            gateway_http_error_rate: 0.0,
            gateway_http_status: default_http_status(),
        }
    }
}

impl Faults {
    /// Checks the ranges; the error names the field.
    pub(crate) fn validate(&self) -> Result<(), FaultError> {
        for (name, rate) in [
            ("busy_rate", self.busy_rate),
            ("drop_rate", self.drop_rate),
            ("fail_rate", self.fail_rate),
            ("gateway_busy_rate", self.gateway_busy_rate),
            ("gateway_bad_sign_rate", self.gateway_bad_sign_rate),
            ("gateway_http_error_rate", self.gateway_http_error_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(FaultError {
                    field: name,
                    message: format!("{name} must be between 0 and 1, got {rate}"),
                });
            }
        }
        for (name, ms) in [
            ("latency_ms", self.latency_ms),
            ("gateway_latency_ms", self.gateway_latency_ms),
        ] {
            if ms > MAX_LATENCY_MS {
                return Err(FaultError {
                    field: name,
                    message: format!("{name} must be at most {MAX_LATENCY_MS}, got {ms}"),
                });
            }
        }
        if !(500..=599).contains(&self.gateway_http_status) {
            return Err(FaultError {
                field: "gateway_http_status",
                message: format!(
                    "gateway_http_status must be between 500 and 599, got {}",
                    self.gateway_http_status
                ),
            });
        }
        if self.fail_message.chars().count() > MAX_FAIL_MESSAGE_CHARS {
            return Err(FaultError {
                field: "fail_message",
                message: format!(
                    "fail_message must be at most {MAX_FAIL_MESSAGE_CHARS} characters"
                ),
            });
        }
        Ok(())
    }
}

/// Draws an event of probability `rate`.
pub(crate) fn roll(rate: f64) -> bool {
    rate >= 1.0 || (rate > 0.0 && rand::random::<f64>() < rate)
}
