//! How an envelope reaches the endpoint: the raw body (default, as `my.request` sends it), a
//! JSON field, a form field, a query parameter or a body template; plus extra headers and the
//! case-id header.
//!
//! ## Templates
//! A template file (`--deliver template:FILE`) is sent as the body with `Content-Type:
//! application/json` (override with `--header 'Content-Type: ...'`). Two placeholders:
//! - `{{envelope}}` is replaced by the envelope **escaped as the contents of a JSON string**
//!   (quotes, backslashes and control characters escaped, no surrounding quotes), so a template
//!   writes `{"response": "{{envelope}}", "user": 42}`;
//! - `{{envelope_raw}}` is replaced by the envelope bytes unchanged (for non-JSON templates).
//!
//! A template must contain at least one placeholder.
//!
//! Login mode (`--login-endpoint`) also delivers the auth code: a template writes `{{auth_code}}`
//! (JSON-string-escaped, like `{{envelope}}`; empty in a `my.getPhoneNumber`-only request); the
//! other forms send it as the field or parameter `authCode` beside the envelope's, and `raw`
//! sends `{"authCode": "<code>", "response": "<envelope>"}` ([`Delivery::prepare_login`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};

/// The header naming the case on every request.
pub const CASE_HEADER: &str = "X-Alipay-Harness-Case";

/// The default body content type.
pub const JSON: &str = "application/json";

/// The form content type.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// A delivery option could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// `--deliver` is not one of the known forms.
    #[error(
        "--deliver {0:?}: expected raw, json-field:NAME, form-field:NAME, query:NAME or template:FILE"
    )]
    Unknown(String),
    /// A field or parameter name is empty.
    #[error("--deliver {0:?}: the name after ':' must not be empty")]
    EmptyName(String),
    /// The template file could not be read.
    #[error("template {path}: cannot read: {message}")]
    TemplateUnreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// The template has no placeholder.
    #[error("template {0}: contains neither {{{{envelope}}}} nor {{{{envelope_raw}}}}")]
    NoPlaceholder(PathBuf),
    /// A `--header` is not `Name: value`.
    #[error("--header {0:?}: expected 'Name: value' with a valid header name and value")]
    BadHeader(String),
}

/// How the envelope is put into the request, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliverySpec {
    /// The envelope is the body.
    Raw,
    /// `{"NAME": <envelope>}`.
    JsonField(String),
    /// `NAME=<url-encoded envelope>` as `application/x-www-form-urlencoded`.
    FormField(String),
    /// `?NAME=<url-encoded envelope>` with an empty body.
    Query(String),
    /// A body template file.
    Template(PathBuf),
}

impl FromStr for DeliverySpec {
    type Err = DeliveryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "raw" {
            return Ok(DeliverySpec::Raw);
        }
        let (kind, name) = s
            .split_once(':')
            .ok_or_else(|| DeliveryError::Unknown(s.into()))?;
        if name.is_empty() {
            return Err(DeliveryError::EmptyName(s.into()));
        }
        Ok(match kind {
            "json-field" => DeliverySpec::JsonField(name.into()),
            "form-field" => DeliverySpec::FormField(name.into()),
            "query" => DeliverySpec::Query(name.into()),
            "template" => DeliverySpec::Template(name.into()),
            _ => return Err(DeliveryError::Unknown(s.into())),
        })
    }
}

impl fmt::Display for DeliverySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliverySpec::Raw => f.write_str("raw"),
            DeliverySpec::JsonField(n) => write!(f, "json-field:{n}"),
            DeliverySpec::FormField(n) => write!(f, "form-field:{n}"),
            DeliverySpec::Query(n) => write!(f, "query:{n}"),
            DeliverySpec::Template(p) => write!(f, "template:{}", p.display()),
        }
    }
}

/// A validated delivery: the template loaded, the headers parsed.
#[derive(Debug, Clone)]
pub struct Delivery {
    mode: Mode,
    headers: Vec<(HeaderName, HeaderValue)>,
    content_type_override: Option<String>,
}

#[derive(Debug, Clone)]
enum Mode {
    Raw,
    JsonField(String),
    FormField(String),
    Query(String),
    Template(String),
}

/// One request, ready to send and to print as `curl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    /// The full URL (query included).
    pub url: String,
    /// The `Content-Type`, when there is a body to describe.
    pub content_type: Option<String>,
    /// Every other header, in order: the case id first, then the user's.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// Parses `Name: value`.
pub fn parse_header(s: &str) -> Result<(HeaderName, HeaderValue), DeliveryError> {
    let bad = || DeliveryError::BadHeader(s.into());
    let (name, value) = s.split_once(':').ok_or_else(bad)?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
    Ok((name, value))
}

impl Delivery {
    /// Validates `spec` (reading a template file) and the extra `headers` (`Name: value`).
    /// A `Content-Type` among the headers replaces the delivery's default content type.
    pub fn new(spec: &DeliverySpec, headers: &[String]) -> Result<Self, DeliveryError> {
        let mode = match spec {
            DeliverySpec::Raw => Mode::Raw,
            DeliverySpec::JsonField(n) => Mode::JsonField(n.clone()),
            DeliverySpec::FormField(n) => Mode::FormField(n.clone()),
            DeliverySpec::Query(n) => Mode::Query(n.clone()),
            DeliverySpec::Template(p) => Mode::Template(load_template(p)?),
        };
        let mut parsed = Vec::new();
        let mut content_type_override = None;
        for h in headers {
            let (name, value) = parse_header(h)?;
            if name == reqwest::header::CONTENT_TYPE {
                content_type_override = Some(
                    value
                        .to_str()
                        .map_err(|_| DeliveryError::BadHeader(h.clone()))?
                        .to_string(),
                );
            } else {
                parsed.push((name, value));
            }
        }
        Ok(Self {
            mode,
            headers: parsed,
            content_type_override,
        })
    }

    /// The raw delivery with no extra headers.
    pub fn raw() -> Self {
        Self {
            mode: Mode::Raw,
            headers: Vec::new(),
            content_type_override: None,
        }
    }

    /// Builds the request for one envelope. `case_content_type` (a case that must be delivered
    /// with a specific content type) wins over every default and override when there is a body.
    pub fn prepare(
        &self,
        endpoint: &Url,
        case_id: &str,
        envelope: &str,
        response_is_object: bool,
        case_content_type: Option<&str>,
    ) -> PreparedRequest {
        let mut url = endpoint.clone();
        let (default_ct, body): (Option<&str>, Vec<u8>) = match &self.mode {
            Mode::Raw => (Some(JSON), envelope.as_bytes().to_vec()),
            Mode::JsonField(name) => {
                let value = if response_is_object {
                    serde_json::from_str::<serde_json::Value>(envelope)
                        .unwrap_or_else(|_| serde_json::Value::String(envelope.into()))
                } else {
                    serde_json::Value::String(envelope.into())
                };
                let mut obj = serde_json::Map::new();
                obj.insert(name.clone(), value);
                (
                    Some(JSON),
                    serde_json::Value::Object(obj).to_string().into_bytes(),
                )
            }
            Mode::FormField(name) => (
                Some(FORM),
                format!("{}={}", form_encode(name), form_encode(envelope)).into_bytes(),
            ),
            Mode::Query(name) => {
                url.query_pairs_mut().append_pair(name, envelope);
                (None, Vec::new())
            }
            Mode::Template(t) => (Some(JSON), fill_template(t, envelope).into_bytes()),
        };
        self.finish(url, case_id, default_ct, body, case_content_type)
    }

    /// True when a template delivery has no `{{auth_code}}`, so it cannot carry a login.
    pub fn lacks_auth_code(&self) -> bool {
        matches!(&self.mode, Mode::Template(t) if !t.contains(AUTH_CODE))
    }

    /// Builds a login request: the auth code (`authCode`, or the template's `{{auth_code}}`)
    /// beside the envelope, plus `extra` fields (what a client might smuggle in). `None` when
    /// the delivery cannot carry `extra`: a template whose output is not a JSON object.
    pub fn prepare_login(
        &self,
        endpoint: &Url,
        case_id: &str,
        auth_code: &str,
        envelope: &str,
        extra: &[(&str, &str)],
    ) -> Option<PreparedRequest> {
        let mut url = endpoint.clone();
        let json_object = |pairs: Vec<(&str, &str)>| {
            let mut obj = serde_json::Map::new();
            for (k, v) in pairs.into_iter().chain(extra.iter().copied()) {
                obj.insert(k.to_string(), serde_json::Value::String(v.into()));
            }
            serde_json::Value::Object(obj).to_string().into_bytes()
        };
        let form = |pairs: Vec<(&str, &str)>| {
            pairs
                .into_iter()
                .chain(extra.iter().copied())
                .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes()
        };
        let (default_ct, body): (Option<&str>, Vec<u8>) = match &self.mode {
            Mode::Raw => (
                Some(JSON),
                json_object(vec![(AUTH_CODE_FIELD, auth_code), ("response", envelope)]),
            ),
            Mode::JsonField(name) => (
                Some(JSON),
                json_object(vec![(AUTH_CODE_FIELD, auth_code), (name, envelope)]),
            ),
            Mode::FormField(name) => (
                Some(FORM),
                form(vec![(AUTH_CODE_FIELD, auth_code), (name, envelope)]),
            ),
            Mode::Query(name) => {
                let mut q = url.query_pairs_mut();
                q.append_pair(AUTH_CODE_FIELD, auth_code);
                q.append_pair(name, envelope);
                for (k, v) in extra {
                    q.append_pair(k, v);
                }
                drop(q);
                (None, Vec::new())
            }
            Mode::Template(t) => {
                let filled = fill_login_template(t, auth_code, envelope);
                if extra.is_empty() {
                    (Some(JSON), filled.into_bytes())
                } else {
                    let serde_json::Value::Object(mut obj) =
                        serde_json::from_str::<serde_json::Value>(&filled).ok()?
                    else {
                        return None;
                    };
                    for (k, v) in extra {
                        obj.insert(k.to_string(), serde_json::Value::String((*v).into()));
                    }
                    (
                        Some(JSON),
                        serde_json::Value::Object(obj).to_string().into_bytes(),
                    )
                }
            }
        };
        Some(self.finish(url, case_id, default_ct, body, None))
    }

    fn finish(
        &self,
        url: Url,
        case_id: &str,
        default_ct: Option<&str>,
        body: Vec<u8>,
        case_content_type: Option<&str>,
    ) -> PreparedRequest {
        let content_type = default_ct.map(|d| {
            case_content_type
                .or(self.content_type_override.as_deref())
                .unwrap_or(d)
                .to_string()
        });
        let mut headers = vec![(CASE_HEADER.to_string(), case_id.to_string())];
        for (n, v) in &self.headers {
            headers.push((
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            ));
        }
        PreparedRequest {
            url: url.to_string(),
            content_type,
            headers,
            body,
        }
    }
}

fn load_template(path: &Path) -> Result<String, DeliveryError> {
    let text = std::fs::read_to_string(path).map_err(|e| DeliveryError::TemplateUnreadable {
        path: path.into(),
        message: e.to_string(),
    })?;
    if !text.contains("{{envelope}}") && !text.contains("{{envelope_raw}}") {
        return Err(DeliveryError::NoPlaceholder(path.into()));
    }
    Ok(text)
}

/// The template placeholder of the auth code (login mode).
pub const AUTH_CODE: &str = "{{auth_code}}";

/// The field or parameter name of the auth code in the non-template deliveries (the name
/// `my.getAuthCode`'s success callback gives it).
pub const AUTH_CODE_FIELD: &str = "authCode";

/// Fills `{{envelope}}` (JSON-string-escaped, no quotes) and `{{envelope_raw}}` (as is);
/// `{{auth_code}}` becomes empty (no login in this request).
pub fn fill_template(template: &str, envelope: &str) -> String {
    fill_login_template(template, "", envelope)
}

/// [`fill_template`] with `{{auth_code}}` replaced by `auth_code`, JSON-string-escaped.
pub fn fill_login_template(template: &str, auth_code: &str, envelope: &str) -> String {
    let escape = |s: &str| {
        let quoted = serde_json::Value::String(s.into()).to_string();
        quoted[1..quoted.len() - 1].to_string()
    };
    let escaped = escape(envelope);
    let code = escape(auth_code);
    // Split on the raw placeholder first, and fill the code before the envelope, so that an
    // envelope containing a placeholder is not substituted again.
    template
        .split("{{envelope_raw}}")
        .map(|part| {
            part.replace(AUTH_CODE, &code)
                .replace("{{envelope}}", &escaped)
        })
        .collect::<Vec<_>>()
        .join(envelope)
}

/// `application/x-www-form-urlencoded` encoding (`form_urlencoded`): `A-Za-z0-9*-._` kept,
/// space as `+`, the rest `%XX`.
pub fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://127.0.0.1:9/phone?app=1").unwrap()
    }

    const ENV: &str = r#"{"response":"ab+c/d==","sign":"x"}"#;

    #[test]
    fn parses_every_spec_and_rejects_garbage() {
        assert_eq!("raw".parse::<DeliverySpec>().unwrap(), DeliverySpec::Raw);
        assert_eq!(
            "json-field:data".parse::<DeliverySpec>().unwrap(),
            DeliverySpec::JsonField("data".into())
        );
        assert_eq!(
            "query:r".parse::<DeliverySpec>().unwrap(),
            DeliverySpec::Query("r".into())
        );
        assert!(matches!(
            "json-field:".parse::<DeliverySpec>(),
            Err(DeliveryError::EmptyName(_))
        ));
        assert!(matches!(
            "body".parse::<DeliverySpec>(),
            Err(DeliveryError::Unknown(_))
        ));
        for s in ["raw", "form-field:x", "template:/t.json"] {
            assert_eq!(s.parse::<DeliverySpec>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn raw_is_the_envelope_with_json_and_case_header() {
        let r = Delivery::raw().prepare(&url(), "a.b", ENV, false, None);
        assert_eq!(r.body, ENV.as_bytes());
        assert_eq!(r.content_type.as_deref(), Some(JSON));
        assert_eq!(r.headers[0], (CASE_HEADER.into(), "a.b".into()));
        assert_eq!(r.url, "http://127.0.0.1:9/phone?app=1");
        let form = Delivery::raw().prepare(&url(), "a.b", ENV, false, Some(FORM));
        assert_eq!(form.content_type.as_deref(), Some(FORM));
        let empty = Delivery::raw().prepare(&url(), "a.b", "", false, None);
        assert!(empty.body.is_empty());
        assert_eq!(empty.content_type.as_deref(), Some(JSON));
    }

    #[test]
    fn json_field_embeds_string_or_object() {
        let d = Delivery::new(&DeliverySpec::JsonField("response".into()), &[]).unwrap();
        let r = d.prepare(&url(), "a.b", ENV, false, None);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["response"], ENV);
        let r = d.prepare(&url(), "a.b", ENV, true, None);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["response"]["sign"], "x");
    }

    #[test]
    fn form_and_query_percent_encode_plus_and_slash() {
        let d = Delivery::new(&DeliverySpec::FormField("res".into()), &[]).unwrap();
        let r = d.prepare(&url(), "a.b", "a+b/c d", false, None);
        assert_eq!(r.body, b"res=a%2Bb%2Fc+d");
        assert_eq!(r.content_type.as_deref(), Some(FORM));
        let d = Delivery::new(&DeliverySpec::Query("res".into()), &[]).unwrap();
        let r = d.prepare(&url(), "a.b", "a+b", false, None);
        assert!(r.body.is_empty());
        assert_eq!(r.content_type, None);
        let u = Url::parse(&r.url).unwrap();
        let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![("app".into(), "1".into()), ("res".into(), "a+b".into())]
        );
    }

    #[test]
    fn template_escapes_for_json_and_keeps_raw() {
        let t = r#"{"data":"{{envelope}}","raw":{{envelope_raw}}}"#;
        let out = fill_template(t, ENV);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["data"], ENV);
        assert_eq!(v["raw"]["sign"], "x");
        assert_eq!(
            fill_template("{{envelope}}", "{{envelope_raw}}"),
            "{{envelope_raw}}"
        );
    }

    #[test]
    fn login_requests_carry_the_code_beside_the_envelope() {
        let smuggle = [("user_id", "2088000000000002")];
        let raw = Delivery::raw()
            .prepare_login(&url(), "login.x", "c0de", ENV, &smuggle)
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&raw.body).unwrap();
        assert_eq!(v["authCode"], "c0de");
        assert_eq!(v["response"], ENV);
        assert_eq!(v["user_id"], "2088000000000002");
        let d = Delivery::new(&DeliverySpec::FormField("res".into()), &[]).unwrap();
        let r = d.prepare_login(&url(), "login.x", "c+d", "e", &[]).unwrap();
        assert_eq!(r.body, b"authCode=c%2Bd&res=e");
        let d = Delivery::new(&DeliverySpec::Query("res".into()), &[]).unwrap();
        let r = d
            .prepare_login(&url(), "login.x", "c", "e", &smuggle)
            .unwrap();
        assert!(
            r.url
                .ends_with("?app=1&authCode=c&res=e&user_id=2088000000000002"),
            "{}",
            r.url
        );
        assert_eq!(
            fill_login_template(
                r#"{"code":"{{auth_code}}","r":"{{envelope}}"}"#,
                "a\"b",
                "{{auth_code}}"
            ),
            r#"{"code":"a\"b","r":"{{auth_code}}"}"#
        );
        assert_eq!(fill_template("[{{auth_code}}]{{envelope}}", "e"), "[]e");
    }

    #[test]
    fn a_template_that_is_not_a_json_object_cannot_smuggle() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.txt");
        std::fs::write(&p, "code={{auth_code}}&r={{envelope}}").unwrap();
        let d = Delivery::new(&DeliverySpec::Template(p), &[]).unwrap();
        assert!(!d.lacks_auth_code());
        assert!(d.prepare_login(&url(), "l.x", "c", "e", &[]).is_some());
        assert!(
            d.prepare_login(&url(), "l.x", "c", "e", &[("mobile", "1")])
                .is_none()
        );
        let p = dir.path().join("t.json");
        std::fs::write(&p, r#"{"r":"{{envelope}}"}"#).unwrap();
        assert!(
            Delivery::new(&DeliverySpec::Template(p), &[])
                .unwrap()
                .lacks_auth_code()
        );
        assert!(!Delivery::raw().lacks_auth_code());
    }

    #[test]
    fn template_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.json");
        std::fs::write(&p, "{}").unwrap();
        let e = Delivery::new(&DeliverySpec::Template(p.clone()), &[]).unwrap_err();
        assert!(e.to_string().contains("t.json"), "{e}");
        let missing = dir.path().join("missing.json");
        let e = Delivery::new(&DeliverySpec::Template(missing), &[]).unwrap_err();
        assert!(e.to_string().contains("missing.json"), "{e}");
        std::fs::write(&p, "{\"r\":\"{{envelope}}\"}").unwrap();
        let d = Delivery::new(&DeliverySpec::Template(p), &[]).unwrap();
        let r = d.prepare(&url(), "a.b", "e", false, None);
        assert_eq!(r.body, b"{\"r\":\"e\"}");
    }

    #[test]
    fn headers_are_validated_and_content_type_overrides() {
        assert!(Delivery::new(&DeliverySpec::Raw, &["no colon".into()]).is_err());
        assert!(Delivery::new(&DeliverySpec::Raw, &["bad name: v".into()]).is_err());
        let d = Delivery::new(
            &DeliverySpec::Raw,
            &[
                "Authorization: Bearer t".into(),
                "Content-Type: text/plain".into(),
            ],
        )
        .unwrap();
        let r = d.prepare(&url(), "a.b", ENV, false, None);
        assert_eq!(r.content_type.as_deref(), Some("text/plain"));
        assert_eq!(r.headers[1], ("authorization".into(), "Bearer t".into()));
    }
}
