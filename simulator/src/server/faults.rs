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

/// The statuses `gateway_http_status` may take: the 5xx range.
pub(crate) const GATEWAY_HTTP_STATUSES: std::ops::RangeInclusive<u16> = 500..=599;

/// The default `gateway_http_status`: 502 Bad Gateway, what a failing load balancer answers.
pub(crate) const DEFAULT_GATEWAY_HTTP_STATUS: u16 = 502;

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
    #[serde(default, deserialize_with = "integer::u64")]
    pub(crate) gateway_latency_ms: u64,
    /// Share of gateway calls answered with an HTTP 5xx and an HTML body (a failing load
    /// balancer), the only 5xx the simulator ever sends, and only when asked to.
    #[serde(default)]
    pub(crate) gateway_http_error_rate: f64,
    /// The status of those answers (500 to 599, default 502).
    #[serde(default = "default_http_status", deserialize_with = "integer::u16")]
    pub(crate) gateway_http_status: u16,
}

fn default_http_status() -> u16 {
    DEFAULT_GATEWAY_HTTP_STATUS
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
        if !GATEWAY_HTTP_STATUSES.contains(&self.gateway_http_status) {
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

/// A fault that fired on a call: the journal's `faults` names and the `X-Alipay-Sim-Fault`
/// header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Fired {
    /// `busy`: a `my.getPhoneNumber` answer turned into 20000 (`busy_rate`).
    Busy,
    /// `fail`: the fail callback (`fail_rate`).
    Fail,
    /// `drop`: the connection closed without an answer (`drop_rate`).
    Drop,
    /// `latency`: a JSAPI answer delayed (`latency_ms`).
    Latency,
    /// `gateway_latency`: a gateway answer delayed (`gateway_latency_ms`).
    GatewayLatency,
    /// `gateway_http_error`: an HTTP 5xx instead of a gateway answer
    /// (`gateway_http_error_rate`).
    GatewayHttpError,
    /// `gateway_bad_sign`: a gateway answer whose signature does not verify
    /// (`gateway_bad_sign_rate`).
    GatewayBadSign,
    /// `gateway_busy`: a gateway answer turned into 20000 (`gateway_busy_rate`).
    GatewayBusy,
}

impl Fired {
    /// Every fault, in the order the document lists them.
    pub(crate) const ALL: [Fired; 8] = [
        Fired::Busy,
        Fired::Fail,
        Fired::Drop,
        Fired::Latency,
        Fired::GatewayLatency,
        Fired::GatewayHttpError,
        Fired::GatewayBadSign,
        Fired::GatewayBusy,
    ];

    /// The wire name (the serde name).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Fired::Busy => "busy",
            Fired::Fail => "fail",
            Fired::Drop => "drop",
            Fired::Latency => "latency",
            Fired::GatewayLatency => "gateway_latency",
            Fired::GatewayHttpError => "gateway_http_error",
            Fired::GatewayBadSign => "gateway_bad_sign",
            Fired::GatewayBusy => "gateway_busy",
        }
    }
}

/// Draws an event of probability `rate`.
pub(crate) fn roll(rate: f64) -> bool {
    rate >= 1.0 || (rate > 0.0 && rand::random::<f64>() < rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fired_fault_has_one_name_on_the_wire_and_in_the_header() {
        for f in Fired::ALL {
            assert_eq!(
                serde_json::to_value(f).unwrap(),
                serde_json::Value::from(f.as_str())
            );
        }
        assert_eq!(Fired::GatewayHttpError.as_str(), "gateway_http_error");
    }
}
