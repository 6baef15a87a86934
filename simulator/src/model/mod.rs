//! The model layer: the Alipay platform as data. The console, the user, the call and the
//! platform's own state decide what `my.getPhoneNumber` answers (`platform`); the catalogue
//! turns cases written as TOML into that state and the outcome a correct merchant reaches
//! (`scenario`); `mobile` makes deterministic numbers; `login` holds Alipay identities, auth codes
//! and tokens (the OpenAPI gateway's side of the login); `run_data` the inputs of `my.getRunData` (days and
//! step counts). Imports the protocol layer, never tools.

pub(crate) mod login;
pub(crate) mod mobile;
pub(crate) mod platform;
pub(crate) mod run_data;
pub(crate) mod scenario;
