//! The contract file: how a given backend answers each outcome class, so judging is exact.
//!
//! ```toml
//! [accept]
//! status = [200]
//! mobile = "/mobile"                     # JSON pointer; must equal the expected mobile
//! # mobile_regex = 'data-mobile="([0-9-]+)"'   # or: where the mobile is in a non-JSON answer
//! [no_mobile]
//! status = [422]
//! equals = { "/status" = "no_mobile" }   # JSON pointer -> required JSON value (any type:
//!                                        # "x", 0, true, [..], {..}; { json = "null" } for null)
//! [platform_error]
//! status = [422]
//! code = "/code"                         # JSON pointer; must equal the platform code
//! sub_code = "/sub_code"                 # optional: must equal the platform subCode
//! [retry_later]
//! status = [503]
//! code = "/code"
//! required_headers = ["Retry-After"]     # headers the answer must carry (any table)
//! [reject]
//! status = [400, 413]
//! [login]                                # login mode (`run --login-endpoint`): a success
//! status = [200]
//! user = "/open_id"                      # JSON pointer; the auth code's user_id or open_id
//! mobile = "/mobile"                     # JSON pointer; the envelope's mobile
//! [login_refused]                        # a login the gateway refused (reused code, ...)
//! status = [401]
//! ```
//! Every table and every key is optional: whatever is missing falls back to the default rule
//! (see [`crate::judge`]). Unknown tables and keys are errors naming the file and the field.

use std::path::Path;

use alipay_sim::Outcome;

/// A contract file could not be used. Names the file and, when one field is wrong, the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    /// The file.
    pub path: String,
    /// The dotted field; empty when the problem is the whole file (unreadable, not TOML).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ContractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.path, self.message)
        } else {
            write!(f, "{}: {}: {}", self.path, self.field, self.message)
        }
    }
}

impl std::error::Error for ContractError {}

/// A regular expression locating the mobile in an answer that is not JSON (HTML, text): the
/// first capture group, or the whole match when there is none, must equal the mobile.
#[derive(Debug, Clone)]
pub struct MobileRegex(pub regex::Regex);

impl PartialEq for MobileRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for MobileRegex {}

impl MobileRegex {
    /// The mobile the expression finds in `body`, if it matches.
    pub fn find<'a>(&self, body: &'a str) -> Option<&'a str> {
        let caps = self.0.captures(body)?;
        caps.get(1).or_else(|| caps.get(0)).map(|m| m.as_str())
    }
}

/// The rules for one outcome class.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    /// Allowed statuses; `None` keeps the default status rule.
    pub status: Option<Vec<u16>>,
    /// Pointer to the mobile (accept only).
    pub mobile: Option<String>,
    /// Where the mobile is in a non-JSON answer (accept only; instead of `mobile`).
    pub mobile_regex: Option<MobileRegex>,
    /// Pointer to the platform code (platform_error, retry_later).
    pub code: Option<String>,
    /// Pointer to the platform subCode (platform_error).
    pub sub_code: Option<String>,
    /// Pointer → required JSON value (any type).
    pub equals: Vec<(String, serde_json::Value)>,
    /// Headers the answer must carry (e.g. `Retry-After`).
    pub required_headers: Vec<String>,
    /// Pointer to the logged-in user's id, its `user_id` or `open_id` (login only).
    pub user: Option<String>,
}

impl Rule {
    /// True when the rule reads the answer as JSON.
    pub fn reads_json(&self) -> bool {
        self.mobile.is_some()
            || self.user.is_some()
            || self.code.is_some()
            || self.sub_code.is_some()
            || !self.equals.is_empty()
    }
}

/// A whole contract; `Contract::default()` means "default rules everywhere".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contract {
    /// Accepted (success with a mobile).
    pub accept: Option<Rule>,
    /// Success without a mobile.
    pub no_mobile: Option<Rule>,
    /// A final platform error.
    pub platform_error: Option<Rule>,
    /// Retry later (20000).
    pub retry_later: Option<Rule>,
    /// Rejected envelope.
    pub reject: Option<Rule>,
    /// Login mode: a successful login (`status`, `user`, `mobile`).
    pub login: Option<Rule>,
    /// Login mode: a login refused because the gateway refused it (`status`).
    pub login_refused: Option<Rule>,
}

const TABLES: [&str; 7] = [
    "accept",
    "no_mobile",
    "platform_error",
    "retry_later",
    "reject",
    "login",
    "login_refused",
];

fn allowed_keys(table: &str) -> &'static [&'static str] {
    match table {
        "accept" => &[
            "status",
            "mobile",
            "mobile_regex",
            "equals",
            "required_headers",
        ],
        "platform_error" => &["status", "code", "sub_code", "equals", "required_headers"],
        "retry_later" => &["status", "code", "equals", "required_headers"],
        "login" => &["status", "user", "mobile"],
        "login_refused" => &["status"],
        _ => &["status", "equals", "required_headers"],
    }
}

impl Contract {
    /// The rule for `outcome`, if the contract has one.
    pub fn rule(&self, outcome: Outcome) -> Option<&Rule> {
        match outcome {
            Outcome::Accept => self.accept.as_ref(),
            Outcome::NoMobile => self.no_mobile.as_ref(),
            Outcome::PlatformError => self.platform_error.as_ref(),
            Outcome::RetryLater => self.retry_later.as_ref(),
            Outcome::Reject => self.reject.as_ref(),
        }
    }

    /// Reads and validates a contract file.
    pub fn load(path: &Path) -> Result<Self, ContractError> {
        let text = std::fs::read_to_string(path).map_err(|e| ContractError {
            path: path.display().to_string(),
            field: String::new(),
            message: format!("cannot read the contract file: {e}"),
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses and validates contract text; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<Self, ContractError> {
        let err = |field: &str, message: String| ContractError {
            path: path.to_string(),
            field: field.to_string(),
            message,
        };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let at = alipay_sim::toml_error_line(text, &e)
                .map(|line| format!(" (line {line})"))
                .unwrap_or_default();
            err("", format!("not valid TOML: {}{at}", e.message().trim()))
        })?;
        let mut contract = Contract::default();
        for (name, value) in &table {
            if !TABLES.contains(&name.as_str()) {
                return Err(err(
                    name,
                    format!("unknown table (expected one of {})", TABLES.join(", ")),
                ));
            }
            let toml::Value::Table(t) = value else {
                return Err(err(name, "must be a table, e.g. [accept]".into()));
            };
            let rule = parse_rule(name, t).map_err(|(f, m)| err(&f, m))?;
            if rule.mobile.is_some() && rule.mobile_regex.is_some() {
                return Err(err(
                    &format!("{name}.mobile_regex"),
                    "give either mobile (a JSON pointer) or mobile_regex, not both".into(),
                ));
            }
            let slot = match name.as_str() {
                "accept" => &mut contract.accept,
                "no_mobile" => &mut contract.no_mobile,
                "platform_error" => &mut contract.platform_error,
                "retry_later" => &mut contract.retry_later,
                "login" => &mut contract.login,
                "login_refused" => &mut contract.login_refused,
                _ => &mut contract.reject,
            };
            *slot = Some(rule);
        }
        Ok(contract)
    }
}

fn parse_rule(table: &str, t: &toml::Table) -> Result<Rule, (String, String)> {
    let mut rule = Rule::default();
    let allowed = allowed_keys(table);
    for (key, value) in t {
        let field = format!("{table}.{key}");
        if !allowed.contains(&key.as_str()) {
            return Err((
                field,
                format!("unknown key (allowed in [{table}]: {})", allowed.join(", ")),
            ));
        }
        match key.as_str() {
            "status" => {
                let arr = value.as_array().ok_or_else(|| {
                    (
                        field.clone(),
                        "must be an array of statuses, e.g. [200]".into(),
                    )
                })?;
                if arr.is_empty() {
                    return Err((field, "must list at least one status".into()));
                }
                let mut statuses = Vec::new();
                for v in arr {
                    match v.as_integer() {
                        Some(n) if (100..=599).contains(&n) => statuses.push(n as u16),
                        _ => {
                            return Err((field, format!("{v} is not an HTTP status (100 to 599)")));
                        }
                    }
                }
                rule.status = Some(statuses);
            }
            "mobile" | "code" | "sub_code" | "user" => {
                let p = pointer(&field, value)?;
                match key.as_str() {
                    "mobile" => rule.mobile = Some(p),
                    "user" => rule.user = Some(p),
                    "code" => rule.code = Some(p),
                    _ => rule.sub_code = Some(p),
                }
            }
            "mobile_regex" => {
                let text = value.as_str().ok_or_else(|| {
                    (
                        field.clone(),
                        "must be a regular expression string, e.g. 'mobile: ([0-9-]+)'".into(),
                    )
                })?;
                let re = regex::Regex::new(text).map_err(|e| {
                    (
                        field.clone(),
                        format!("not a valid regular expression: {e}"),
                    )
                })?;
                rule.mobile_regex = Some(MobileRegex(re));
            }
            "required_headers" => {
                let arr = value.as_array().ok_or_else(|| {
                    (
                        field.clone(),
                        "must be an array of header names, e.g. [\"Retry-After\"]".into(),
                    )
                })?;
                for v in arr {
                    let name = v
                        .as_str()
                        .filter(|n| reqwest::header::HeaderName::from_bytes(n.as_bytes()).is_ok())
                        .ok_or_else(|| (field.clone(), format!("{v} is not a header name")))?;
                    rule.required_headers.push(name.to_string());
                }
            }
            _ => {
                let eq = value.as_table().ok_or_else(|| {
                    (
                        field.clone(),
                        "must be a table of JSON pointer = value".into(),
                    )
                })?;
                for (p, v) in eq {
                    let f = format!("{field}.{p:?}");
                    if !p.starts_with('/') {
                        return Err((f, "a JSON pointer must start with '/'".into()));
                    }
                    rule.equals
                        .push((p.clone(), json_value(v).map_err(|m| (f, m))?));
                }
            }
        }
    }
    Ok(rule)
}

/// A TOML value as the JSON value it stands for; `{ json = "..." }` is JSON text (the only way
/// to say `null`, which TOML lacks).
fn json_value(v: &toml::Value) -> Result<serde_json::Value, String> {
    if let toml::Value::Table(t) = v
        && t.len() == 1
        && let Some(text) = t.get("json")
    {
        let text = text
            .as_str()
            .ok_or("{ json = ... } takes JSON text as a string, e.g. { json = \"null\" }")?;
        return serde_json::from_str(text).map_err(|e| format!("{text:?} is not JSON: {e}"));
    }
    if let toml::Value::Datetime(_) = v {
        return Err("a TOML date has no JSON equivalent; write it as a string".into());
    }
    serde_json::to_value(v).map_err(|e| format!("cannot be compared as JSON: {e}"))
}

fn pointer(field: &str, value: &toml::Value) -> Result<String, (String, String)> {
    let p = value.as_str().ok_or_else(|| {
        (
            field.to_string(),
            "must be a JSON pointer string, e.g. \"/mobile\"".into(),
        )
    })?;
    if !p.starts_with('/') {
        return Err((
            field.to_string(),
            format!("{p:?} is not a JSON pointer (it must start with '/')"),
        ));
    }
    Ok(p.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[accept]
status = [200]
mobile = "/mobile"
[no_mobile]
status = [422]
equals = { "/status" = "no_mobile" }
[platform_error]
status = [422]
code = "/code"
sub_code = "/sub_code"
[retry_later]
status = [503]
code = "/code"
[reject]
status = [400, 413]
"#;

    #[test]
    fn parses_the_documented_format() {
        let c = Contract::parse("c.toml", FULL).unwrap();
        assert_eq!(
            c.accept.as_ref().unwrap().mobile.as_deref(),
            Some("/mobile")
        );
        assert_eq!(
            c.no_mobile.as_ref().unwrap().equals,
            vec![("/status".to_string(), serde_json::json!("no_mobile"))]
        );
        assert_eq!(c.reject.as_ref().unwrap().status, Some(vec![400, 413]));
        assert_eq!(
            c.rule(Outcome::PlatformError).unwrap().sub_code.as_deref(),
            Some("/sub_code")
        );
        assert_eq!(Contract::parse("c.toml", "").unwrap(), Contract::default());
    }

    #[test]
    fn unknown_keys_and_bad_values_name_path_and_field() {
        let cases = [
            ("[acept]\n", "acept", "unknown table"),
            ("[accept]\nmobil = \"/m\"\n", "accept.mobil", "unknown key"),
            ("[reject]\ncode = \"/c\"\n", "reject.code", "unknown key"),
            ("[accept]\nstatus = 200\n", "accept.status", "array"),
            (
                "[accept]\nstatus = [99]\n",
                "accept.status",
                "not an HTTP status",
            ),
            ("[accept]\nstatus = []\n", "accept.status", "at least one"),
            (
                "[accept]\nmobile = \"mobile\"\n",
                "accept.mobile",
                "JSON pointer",
            ),
            (
                "[no_mobile]\nequals = { \"status\" = \"x\" }\n",
                "no_mobile.equals.\"status\"",
                "start with '/'",
            ),
            (
                "[no_mobile]\nequals = { \"/s\" = { json = \"nul\" } }\n",
                "no_mobile.equals.\"/s\"",
                "is not JSON",
            ),
            (
                "[accept]\nmobile_regex = \"(\"\n",
                "accept.mobile_regex",
                "regular expression",
            ),
            (
                "[accept]\nmobile = \"/m\"\nmobile_regex = \"m\"\n",
                "accept.mobile_regex",
                "not both",
            ),
            (
                "[reject]\nrequired_headers = [\"bad name\"]\n",
                "reject.required_headers",
                "not a header name",
            ),
            (
                "[reject]\nmobile_regex = \"x\"\n",
                "reject.mobile_regex",
                "unknown key",
            ),
            ("accept = 1\n", "accept", "must be a table"),
            ("[accept\n", "", "not valid TOML"),
        ];
        for (text, field, msg) in cases {
            let e = Contract::parse("my.toml", text).unwrap_err();
            assert_eq!(e.path, "my.toml");
            assert_eq!(e.field, field, "{text}: {e}");
            assert!(e.message.contains(msg), "{text}: {e}");
            assert!(e.to_string().starts_with("my.toml: "));
            assert!(!e.to_string().contains(": -:"), "{e}");
        }
    }

    #[test]
    fn equals_takes_any_json_value_and_headers_and_regex_parse() {
        let c = Contract::parse(
            "c.toml",
            r#"
[accept]
mobile_regex = 'data-mobile="([0-9-]+)"'
equals = { "/ok" = true, "/code" = 0, "/tags" = ["a", 1], "/data" = { json = "null" }, "/o" = { a = 1 } }
[retry_later]
required_headers = ["Retry-After"]
"#,
        )
        .unwrap();
        let a = c.accept.unwrap();
        assert_eq!(
            a.equals,
            vec![
                ("/code".to_string(), serde_json::json!(0)),
                ("/data".to_string(), serde_json::Value::Null),
                ("/o".to_string(), serde_json::json!({"a": 1})),
                ("/ok".to_string(), serde_json::json!(true)),
                ("/tags".to_string(), serde_json::json!(["a", 1])),
            ]
        );
        let re = a.mobile_regex.unwrap();
        assert_eq!(re.find("<b data-mobile=\"138\">"), Some("138"));
        assert_eq!(
            c.retry_later.unwrap().required_headers,
            vec!["Retry-After".to_string()]
        );
    }

    #[test]
    fn login_tables_take_their_own_keys() {
        let c = Contract::parse(
            "c.toml",
            "[login]\nstatus = [200]\nuser = \"/open_id\"\nmobile = \"/mobile\"\n[login_refused]\nstatus = [401]\n",
        )
        .unwrap();
        let l = c.login.unwrap();
        assert_eq!(l.user.as_deref(), Some("/open_id"));
        assert_eq!(l.mobile.as_deref(), Some("/mobile"));
        assert_eq!(c.login_refused.unwrap().status, Some(vec![401]));
        for (text, field) in [
            ("[login]\nuser = \"open_id\"\n", "login.user"),
            ("[login]\ncode = \"/c\"\n", "login.code"),
            ("[login_refused]\nuser = \"/u\"\n", "login_refused.user"),
            ("[accept]\nuser = \"/u\"\n", "accept.user"),
        ] {
            assert_eq!(
                Contract::parse("c.toml", text).unwrap_err().field,
                field,
                "{text}"
            );
        }
    }

    #[test]
    fn unreadable_file_names_the_path() {
        let e = Contract::load(Path::new("/nonexistent/contract.toml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/nonexistent/contract.toml: cannot read the contract file: No such file or directory (os error 2)"
        );
    }
}
