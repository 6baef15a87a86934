//! Fault settings, in the manner of WireMock's faults: a busy rate that turns answers into
//! 20000, a fail rate that answers the fail callback, added latency, and dropped connections.
//! Plain settings and draws; `jsapi` applies them to an answer.

use serde::{Deserialize, Serialize};

use super::error::integer;
use crate::platform::BusyDelivery;

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
    pub(crate) fn validate(&self) -> Result<(), FaultError> {
        for (name, rate) in [
            ("busy_rate", self.busy_rate),
            ("drop_rate", self.drop_rate),
            ("fail_rate", self.fail_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(FaultError {
                    field: name,
                    message: format!("{name} must be between 0 and 1, got {rate}"),
                });
            }
        }
        if self.latency_ms > MAX_LATENCY_MS {
            return Err(FaultError {
                field: "latency_ms",
                message: format!(
                    "latency_ms must be at most {MAX_LATENCY_MS}, got {}",
                    self.latency_ms
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
