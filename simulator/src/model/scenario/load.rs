//! Loading the catalogue: the embedded `scenarios/*.toml` files or a directory of the user's
//! own, parsed, validated (ids, required fields, and each file's `expect` against the platform
//! model) and sorted by id. Errors name the file and the field.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::schema::{Outcome, Scenario};

/// A scenario file could not be used. Names the file and, where known, the field; an I/O
/// error keeps its source.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}{}: {message}", field_part(field))]
pub struct ScenarioError {
    /// The file (or `<embedded>/name` for the built-in catalogue).
    pub path: String,
    /// The field, e.g. `expect.outcome`, or `-` for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// The I/O error behind a file or directory that could not be read.
    #[source]
    pub source: Option<Arc<std::io::Error>>,
}

fn field_part(field: &str) -> String {
    if field == "-" {
        String::new()
    } else {
        format!(": {field}")
    }
}

impl ScenarioError {
    fn new(path: impl Into<String>, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            field: field.into(),
            message: message.into(),
            source: None,
        }
    }

    fn io(path: &Path, message: &str, source: std::io::Error) -> Self {
        Self {
            path: path.display().to_string(),
            field: "-".into(),
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }
}

/// The loaded, validated catalogue: the getPhoneNumber cases sorted by id, then the getRunData
/// cases sorted by id.
#[derive(Debug, Clone)]
pub struct Catalogue {
    scenarios: Vec<Scenario>,
    /// How many of `scenarios` (the first ones) are getPhoneNumber cases.
    phone: usize,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_scenarios.rs"));
}

impl Catalogue {
    /// The catalogue committed under `scenarios/`, embedded at build time and parsed once.
    ///
    /// The model-consistency check (each file's `expect` against the platform model) seals every
    /// case, so it is skipped here: the test suite runs it on the same files through
    /// [`Catalogue::load_dir`] and checks that both copies are equal.
    pub fn embedded() -> Self {
        static CATALOGUE: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
        CATALOGUE
            .get_or_init(|| {
                Self::parse_sources(
                    embedded::FILES
                        .iter()
                        .map(|(name, text)| (format!("<embedded>/{name}"), text.to_string())),
                    false,
                )
                .expect("the embedded catalogue is validated by the test suite")
            })
            .clone()
    }

    /// Loads every `*.toml` file in `dir` (not recursive).
    pub fn load_dir(dir: &Path) -> Result<Self, ScenarioError> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| ScenarioError::io(dir, "cannot read scenario directory", e))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(ScenarioError::new(
                dir.display().to_string(),
                "-",
                "no *.toml scenario files in this directory",
            ));
        }
        let mut sources = Vec::with_capacity(paths.len());
        for p in paths {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| ScenarioError::io(&p, "cannot read scenario file", e))?;
            sources.push((p.display().to_string(), text));
        }
        Self::from_sources(sources)
    }

    /// Parses and validates named TOML texts, including the check that each file's `expect`
    /// is what the platform model gives for its state.
    pub fn from_sources(
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ScenarioError> {
        Self::parse_sources(sources, true)
    }

    fn parse_sources(
        sources: impl IntoIterator<Item = (String, String)>,
        check_model: bool,
    ) -> Result<Self, ScenarioError> {
        let mut scenarios: Vec<Scenario> = Vec::new();
        let mut ids = BTreeSet::new();
        for (path, text) in sources {
            let s = parse_one(&path, &text, check_model)?;
            if !ids.insert(s.id.clone()) {
                return Err(ScenarioError::new(
                    path,
                    "id",
                    format!("duplicate scenario id {:?}", s.id),
                ));
            }
            scenarios.push(s);
        }
        scenarios.sort_by(|a, b| {
            (!a.api.is_phone_number(), &a.id).cmp(&(!b.api.is_phone_number(), &b.id))
        });
        let phone = scenarios.iter().filter(|s| s.api.is_phone_number()).count();
        Ok(Self { scenarios, phone })
    }

    /// The `my.getPhoneNumber` scenarios, sorted by id: the cases the harness runs against a
    /// merchant's phone-number endpoint and the corpus is made of. The getRunData cases are in
    /// [`Catalogue::run_data`]; [`Catalogue::all`] has both.
    pub fn scenarios(&self) -> &[Scenario] {
        &self.scenarios[..self.phone]
    }

    /// The `my.getRunData` scenarios, sorted by id.
    pub fn run_data(&self) -> &[Scenario] {
        &self.scenarios[self.phone..]
    }

    /// Every scenario: the getPhoneNumber ones, then the getRunData ones, each sorted by id.
    pub fn all(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// The scenario with this id, of either API.
    pub fn get(&self, id: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.id == id)
    }

    /// Number of getPhoneNumber scenarios (the length of [`Catalogue::scenarios`]).
    pub fn len(&self) -> usize {
        self.phone
    }

    /// True when there is no getPhoneNumber scenario (a directory of getRunData cases only).
    pub fn is_empty(&self) -> bool {
        self.phone == 0
    }
}

/// Checks an id: dotted lowercase segments of `[a-z0-9-]`, at least two segments.
pub(crate) fn valid_id(id: &str) -> bool {
    let segs: Vec<&str> = id.split('.').collect();
    segs.len() >= 2
        && segs.iter().all(|s| {
            !s.is_empty()
                && !s.starts_with('-')
                && !s.ends_with('-')
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// The 1-based line of `text` a TOML parse error points at, when it has a position.
pub fn toml_error_line(text: &str, e: &toml::de::Error) -> Option<usize> {
    e.span()
        .map(|sp| before(text, sp.start).matches('\n').count() + 1)
}

/// `text` up to byte `at`, floored to a character boundary (never panics).
fn before(text: &str, at: usize) -> &str {
    let mut end = at.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn parse_one(path: &str, text: &str, check_model: bool) -> Result<Scenario, ScenarioError> {
    let s: Scenario = toml::from_str(text).map_err(|e| {
        let message = e.message().to_string();
        let field = field_of(text, &e);
        let at = toml_error_line(text, &e)
            .map(|line| format!(" (line {line})"))
            .unwrap_or_default();
        ScenarioError::new(path, field, format!("{message}{at}"))
    })?;
    let fail = |field: &str, message: String| ScenarioError::new(path, field, message);
    if !valid_id(&s.id) {
        return Err(fail(
            "id",
            format!(
                "{:?} is not a dotted id of lowercase segments [a-z0-9-] (e.g. platform.success.mainland)",
                s.id
            ),
        ));
    }
    for (field, value) in [
        ("title", &s.title),
        ("models", &s.models),
        ("remediation", &s.remediation),
        ("source", &s.source),
    ] {
        if value.trim().is_empty() {
            return Err(fail(field, "must not be empty".into()));
        }
    }
    let needs_code = matches!(
        s.expect.outcome,
        Outcome::PlatformError | Outcome::RetryLater
    );
    if needs_code && s.expect.code.is_none() {
        return Err(fail(
            "expect.code",
            format!("required when outcome is {}", s.expect.outcome),
        ));
    }
    if !needs_code && (s.expect.code.is_some() || s.expect.sub_code.is_some()) {
        return Err(fail(
            "expect.code",
            format!(
                "only platform_error and retry_later take a code, not {}",
                s.expect.outcome
            ),
        ));
    }
    if let Some(t) = &s.tamper
        && t.flags.is_empty()
        && t.content_type.is_none()
        && s.payload.is_none()
    {
        return Err(fail(
            "tamper.flags",
            "a tamper case needs at least one flag, a content_type, or a [payload]".into(),
        ));
    }
    check_api_fields(&s).map_err(|(field, message)| fail(field, message))?;
    if !check_model {
        return Ok(s);
    }
    // The model must reach the outcome the file states.
    let keys = crate::protocol::keys::KeySet::embedded();
    let built = s.build(&keys);
    let e = &built.expected;
    if e.outcome != s.expect.outcome
        || (s.expect.code.is_some() && e.code != s.expect.code)
        || (s.expect.sub_code.is_some() && e.sub_code != s.expect.sub_code)
    {
        return Err(fail(
            "expect",
            format!(
                "the platform model gives outcome {} code {:?} subCode {:?}, the file says {} {:?} {:?}",
                e.outcome, e.code, e.sub_code, s.expect.outcome, s.expect.code, s.expect.sub_code
            ),
        ));
    }
    Ok(s)
}

/// The fields that belong to one API only: `user.steps` and `call.count_date` to getRunData,
/// tamper cases and `user.mobile` to getPhoneNumber (a getRunData case is genuine).
fn check_api_fields(s: &Scenario) -> Result<(), (&'static str, String)> {
    use crate::model::platform::Api;
    match s.api {
        Api::GetPhoneNumber => {
            if s.user.steps.is_some() {
                return Err((
                    "user.steps",
                    "only a getRunData case (api = \"getRunData\") has steps".into(),
                ));
            }
            if s.call.count_date.is_some() {
                return Err((
                    "call.count_date",
                    "only a getRunData case (api = \"getRunData\") has a count_date".into(),
                ));
            }
        }
        Api::GetRunData => {
            if s.tamper.is_some() {
                return Err((
                    "tamper",
                    "tamper cases are getPhoneNumber cases; a getRunData case is genuine".into(),
                ));
            }
            if s.user.mobile != super::MobileSpec::Mainland {
                return Err((
                    "user.mobile",
                    "a getRunData case has steps, not a mobile".into(),
                ));
            }
            if let Some(d) = &s.call.count_date
                && !crate::model::run_data::valid_count_date(d)
            {
                return Err((
                    "call.count_date",
                    format!("{d:?} is not a day yyyy-mm-dd (1970-01-01 to 9999-12-31)"),
                ));
            }
            if let Some(n) = s.user.steps
                && n > crate::protocol::payload::MAX_STEP_COUNT
            {
                return Err((
                    "user.steps",
                    format!(
                        "{n} is more than {} steps",
                        crate::protocol::payload::MAX_STEP_COUNT
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Finds the dotted key path at the error's position, so errors can name the field.
fn field_of(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return "-".into();
    };
    let upto = before(text, span.start);
    let mut table = String::new();
    for line in upto.lines() {
        let l = line.trim();
        if l.starts_with('[') && l.ends_with(']') {
            table = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
    }
    let line = text[upto.rfind('\n').map(|i| i + 1).unwrap_or(0)..]
        .lines()
        .next()
        .unwrap_or_default();
    let key = line
        .split('=')
        .next()
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or_default();
    match (table.is_empty(), key.is_empty()) {
        (true, true) => "-".into(),
        (true, false) => key.to_string(),
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}
