//! The case catalogue: one TOML file per case under `scenarios/`, embedded in the binary and
//! overridable with a directory of the user's own.
//!
//! A *platform* case is a console / user / call / platform state; the model in
//! [`crate::model::platform`] decides its envelope and the file states the outcome a correct merchant
//! must reach (the loader checks the two agree). A *tamper* case (a `[tamper]` table) starts from
//! a genuine success envelope carrying a *canary* mobile and applies mutations to it; the canary
//! must never appear in a merchant's answer. See `scenarios/README.md` for the file format.
//!
//! Where each part lives: [`schema`] (the file format), [`load`] (the [`Catalogue`] and its
//! validation), [`build`] (a scenario and keys to the exact body, a [`Built`] case) and
//! [`tamper`] (the mutations of tamper cases, applied by `build`).

pub(crate) mod build;
pub(crate) mod load;
pub(crate) mod schema;
pub(crate) mod tamper;

pub use self::build::Built;
#[cfg(feature = "testing")]
pub(crate) use self::load::valid_id;
pub use self::load::{Catalogue, ScenarioError, toml_error_line};
pub(crate) use self::schema::MobileSpec;
pub use self::schema::{
    BugClass, Expectation, KeyRole, Kind, MerchantProfile, Outcome, Scenario, Severity,
};
