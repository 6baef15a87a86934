//! Behaviour checks: verdicts that need many requests rather than one.
//!
//! - [`DISTINCT_MOBILES`] ([`concurrency`]): parallel genuine envelopes, each must come back
//!   with its own mobile (a shared cipher or buffer mixes users up);
//! - [`UNIFORM_REJECTION`] ([`oracle`]): forged envelopes whose ciphertexts decrypt to
//!   different things must all get the same rejection (otherwise the endpoint is a padding
//!   oracle).
//!
//! Each check is one case in every report, with one deadline (`--timeout-ms`) for all of its
//! requests.

pub mod concurrency;
pub mod oracle;

use std::sync::Arc;

use alipay_sim::{BugClass, Severity};

use crate::context::Context;
use crate::verdict::{About, CaseKind, CaseResult, Expected};

/// The id of the concurrency check.
pub const DISTINCT_MOBILES: &str = "behaviour.concurrency.distinct-mobiles";

/// The id of the error-oracle check.
pub const UNIFORM_REJECTION: &str = "behaviour.oracle.uniform-rejection";

/// A behaviour check and its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Parallel success envelopes, each with its own mobile.
    DistinctMobiles {
        /// Number of requests.
        requests: usize,
        /// Requests in flight at once.
        parallel: usize,
    },
    /// Forged envelopes with different ciphertext shapes, each must get the same rejection.
    UniformRejection {
        /// How many times each forged envelope is sent.
        rounds: usize,
    },
}

impl Check {
    /// Every behaviour check with its default parameters.
    pub fn all() -> Vec<Check> {
        vec![
            Check::DistinctMobiles {
                requests: 64,
                parallel: 16,
            },
            Check::UniformRejection { rounds: 3 },
        ]
    }

    /// The stable id.
    pub fn id(&self) -> &'static str {
        match self {
            Check::DistinctMobiles { .. } => DISTINCT_MOBILES,
            Check::UniformRejection { .. } => UNIFORM_REJECTION,
        }
    }

    /// The mobiles the check seals into its envelopes (recorded in the run's ledger as the
    /// check's own before the run sends anything).
    pub fn mobiles(&self) -> Vec<String> {
        match self {
            Check::DistinctMobiles { requests, .. } => (0..*requests as u64)
                .map(|i| alipay_sim::generated_mobile(concurrency::MOBILE_SEED, i))
                .collect(),
            Check::UniformRejection { .. } => vec![oracle::CANARY.to_string()],
        }
    }

    /// One-line title.
    pub fn title(&self) -> String {
        match self {
            Check::DistinctMobiles { requests, parallel } => format!(
                "{requests} genuine envelopes for different mobiles, {parallel} at a time: each answer carries its own mobile"
            ),
            Check::UniformRejection { rounds } => format!(
                "{} forged envelopes (bad signature; ciphertexts that decrypt to JSON, to non-JSON, to bad padding, to invalid UTF-8, or are not whole blocks), {rounds} times each: one and the same rejection for all",
                oracle::VARIANTS
            ),
        }
    }

    /// Severity of a failure: critical for both (one user's mobile reaches someone else).
    pub fn severity(&self) -> Severity {
        Severity::Critical
    }

    /// Bug class of a failure.
    pub fn bug_class(&self) -> BugClass {
        BugClass::Confidentiality
    }

    fn why(&self) -> &'static str {
        match self {
            Check::DistinctMobiles { .. } => {
                "A cipher, buffer or decoder object shared across threads mixes up concurrent requests: one user gets another user's phone number, which is both wrong and a data leak."
            }
            Check::UniformRejection { .. } => {
                "The envelope is AES-CBC without a MAC: only the signature protects it. An endpoint that decrypts before verifying and answers differently when the padding or the JSON is bad than when the signature is bad is a padding oracle: anyone who captures one user's envelope can recover that user's phone number, byte by byte, through the merchant's own endpoint (a few thousand requests per byte)."
            }
        }
    }

    fn fix(&self) -> &'static str {
        match self {
            Check::DistinctMobiles { .. } => {
                "Create the AES cipher (and any decoder with state) per request, or guard it with a lock; never keep per-request state in a shared object."
            }
            Check::UniformRejection { .. } => {
                "Verify sign over the quoted ciphertext before any base64 decoding or decryption, and answer every refusal with one status and one body (e.g. 400 {\"error\":\"rejected\"}); keep the detail in server logs only."
            }
        }
    }
}

/// A result for `check` with no verdict yet (`Skip`, no request): each check fills it in.
fn skeleton(check: &Check, expected: Expected) -> CaseResult {
    let about = About {
        id: check.id().into(),
        title: check.title(),
        kind: CaseKind::Behaviour,
        severity: check.severity(),
        bug_class: check.bug_class(),
        why: check.why().into(),
        fix: check.fix().into(),
    };
    CaseResult::unrun(about, expected)
}

/// Runs a behaviour check.
pub async fn run(check: &Check, ctx: &Arc<Context>) -> CaseResult {
    match *check {
        Check::DistinctMobiles { requests, parallel } => {
            concurrency::run(check, requests, parallel, ctx).await
        }
        Check::UniformRejection { rounds } => oracle::run(check, rounds, ctx).await,
    }
}
