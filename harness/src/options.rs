//! Validated run options, built from the raw command-line arguments ([`crate::cli::RunArgs`]).
//! Everything that can be wrong with the invocation (a bad URL, an unreadable contract, a broken
//! template, a typo'd glob) is found here, before any request is sent, and is an exit-2 error.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use alipay_sim::{Catalogue, KeySet, Severity, Sources};
use anyhow::{Context as _, bail};
use reqwest::Url;

use crate::case::EndpointProfile;
use crate::contract::Contract;
use crate::delivery::Delivery;
use crate::expected::ExpectedFailures;
use crate::login::LoginOptions;
use crate::select::{self, Selection};
use crate::transport::{Limits, TlsOptions};

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The endpoint URL (http or https).
    pub endpoint: Url,
    /// The contract (default rules when none was given).
    pub contract: Contract,
    /// The case catalogue.
    pub catalogue: Catalogue,
    /// The key set envelopes are sealed with.
    pub keys: Arc<KeySet>,
    /// Which cases run.
    pub selection: Selection,
    /// Failures at or above this severity give exit code 1.
    pub fail_on: Severity,
    /// Per-request limits.
    pub limits: Limits,
    /// Cases in flight at once.
    pub concurrency: usize,
    /// How envelopes are delivered.
    pub delivery: Delivery,
    /// The endpoint's declared configuration.
    pub profile: EndpointProfile,
    /// Run the behaviour checks too.
    pub behaviour: bool,
    /// How HTTPS certificates are trusted.
    pub tls: TlsOptions,
    /// Run the `my.getPhoneNumber` catalogue and behaviour checks against `endpoint` (false when
    /// only `--login-endpoint` was given).
    pub phone: bool,
    /// Login mode (`--login-endpoint`).
    pub login: Option<LoginOptions>,
    /// Known failures (`--expected-failures`), validated against the catalogue.
    pub expected_failures: Option<ExpectedFailures>,
}

/// Reads and validates the `--expected-failures` file against the ids of `catalogue`, the
/// behaviour checks and the login cases.
pub fn expected_failures(
    path: Option<&Path>,
    catalogue: &Catalogue,
) -> anyhow::Result<Option<ExpectedFailures>> {
    let Some(path) = path else { return Ok(None) };
    let known: std::collections::BTreeSet<String> = catalogue
        .scenarios()
        .iter()
        .map(|s| s.id.clone())
        .chain(
            crate::behaviour::Check::all()
                .iter()
                .map(|c| c.id().to_string()),
        )
        .chain(
            crate::login::LoginCase::ALL
                .iter()
                .map(|c| c.id().to_string()),
        )
        .collect();
    Ok(Some(ExpectedFailures::load(path, &known)?))
}

/// Parses and checks an endpoint URL.
pub fn endpoint(text: &str) -> anyhow::Result<Url> {
    url_flag("--endpoint", text)
}

/// Parses and checks an http(s) URL given to `flag`.
pub fn url_flag(flag: &str, text: &str) -> anyhow::Result<Url> {
    let url = Url::parse(text).with_context(|| format!("{flag} {text:?} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("{flag} {text:?}: expected an http:// or https:// URL with a host");
    }
    Ok(url)
}

/// The catalogue: embedded, or loaded from `dir` (through [`Sources`], the library's one
/// directory-or-embedded loader).
pub fn catalogue(dir: Option<&Path>) -> anyhow::Result<Catalogue> {
    Sources {
        keys: None,
        scenarios: dir.map(Path::to_path_buf),
    }
    .catalogue()
    .context("--scenarios")
}

/// The full key set `run` seals with (it plays Alipay, so it needs the Alipay private key):
/// embedded, or loaded from `dir` through [`Sources`].
pub fn keys(dir: Option<&Path>) -> anyhow::Result<KeySet> {
    Sources {
        keys: dir.map(Path::to_path_buf),
        scenarios: None,
    }
    .key_set()
    .context("--keys")
}

/// The selection from the raw options (reading a `--last-failed` report).
pub fn selection(
    cases: &[String],
    skip: &[String],
    shard: Option<select::Shard>,
    last_failed: Option<&Path>,
) -> anyhow::Result<Selection> {
    let last_failed = last_failed.map(select::last_failed).transpose()?;
    Ok(Selection {
        cases: cases.to_vec(),
        skip: skip.to_vec(),
        last_failed,
        shard,
    })
}

/// The TLS options, with the `--cacert` file read now (an exit-2 error naming the file).
pub fn tls(cacert: Option<&Path>, insecure: bool) -> anyhow::Result<TlsOptions> {
    Ok(TlsOptions {
        ca_certs: match cacert {
            Some(path) => crate::transport::load_ca(path)?,
            None => Vec::new(),
        },
        insecure,
    })
}

/// The contract at `path`, or the default rules.
pub fn contract(path: Option<&Path>) -> anyhow::Result<Contract> {
    Ok(match path {
        Some(p) => Contract::load(p)?,
        None => Contract::default(),
    })
}

impl RunOptions {
    /// Options with defaults for everything but the endpoint and contract: embedded catalogue
    /// and keys, all cases, fail on any severity, 5 s timeout, 64 KiB answer cap, 4 in flight,
    /// raw delivery, an RSA2/AES-128 endpoint, behaviour checks on.
    pub fn new(endpoint: Url, contract: Contract) -> Self {
        Self {
            endpoint,
            contract,
            catalogue: Catalogue::embedded(),
            keys: Arc::new(KeySet::embedded()),
            selection: Selection::default(),
            fail_on: Severity::Low,
            limits: Limits {
                timeout: Duration::from_millis(5000),
                max_answer_bytes: 65536,
            },
            concurrency: 4,
            delivery: Delivery::raw(),
            profile: EndpointProfile::STANDARD,
            behaviour: true,
            tls: TlsOptions::default(),
            phone: true,
            login: None,
            expected_failures: None,
        }
    }
}
