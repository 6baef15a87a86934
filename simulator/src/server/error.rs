//! The one error shape every 4xx answer carries, and the extractors whose rejections use it.
//!
//! `{"error":"<snake_case kind>","message":"<human text>","field":"<offending field or null>"}`.
//! Axum's own extractors answer rejections in plain text; the server's handlers use [`JsonBody`],
//! [`Params`] and [`Query`] instead, which turn every rejection into an [`ApiError`] naming the
//! offending field.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::faults::FaultError;
use super::world::WorldError;

/// A client error: a status and the JSON body `{"error","message","field"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ApiError {
    /// HTTP status (always 4xx).
    #[serde(skip)]
    pub(crate) status: StatusCode,
    /// Stable snake_case kind, e.g. `unknown_app`.
    pub(crate) error: String,
    /// Human-readable explanation.
    pub(crate) message: String,
    /// The offending field, path parameter or query parameter, if one is to blame.
    pub(crate) field: Option<String>,
}

impl ApiError {
    /// A new error.
    pub(crate) fn new(
        status: StatusCode,
        error: &str,
        message: impl Into<String>,
        field: Option<&str>,
    ) -> Self {
        Self {
            status,
            error: error.to_string(),
            message: message.into(),
            field: field.map(str::to_string),
        }
    }

    /// 400 `invalid_field`: a field has a value the server cannot use.
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            message,
            Some(field),
        )
    }

    /// 404 `unknown_app`.
    pub(crate) fn unknown_app(app_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_app",
            format!("no app {app_id:?} (list them with GET /__admin/apps)"),
            Some("app_id"),
        )
    }

    /// 404 `unknown_user`.
    pub(crate) fn unknown_user(app_id: &str, user_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_user",
            format!(
                "app {app_id:?} has no user {user_id:?} (list them with GET /__admin/apps/{app_id}/users)"
            ),
            Some("user_id"),
        )
    }

    /// 404 `unknown_scenario`.
    pub(crate) fn unknown_scenario(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_scenario",
            format!("no catalogue scenario {id:?} (list them with GET /__admin/scenarios)"),
            Some("scenario"),
        )
    }

    /// 409 `conflict`: the resource already exists.
    pub(crate) fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message, Some(field))
    }

    /// The error for a bare status produced outside the handlers (unknown route, wrong method,
    /// body too large...), with a generic kind.
    pub(crate) fn from_status(status: StatusCode) -> Self {
        let (kind, message) = match status {
            StatusCode::NOT_FOUND => ("not_found", "no such route (see GET /openapi.json)"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "this route does not answer that method (see GET /openapi.json)",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large"),
            StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "the body must be JSON (Content-Type: application/json)",
            ),
            _ => ("bad_request", "the request could not be handled"),
        };
        Self::new(status, kind, message, None)
    }
}

impl From<WorldError> for ApiError {
    fn from(e: WorldError) -> Self {
        match &e {
            WorldError::UnknownApp(app) => ApiError::unknown_app(app),
            WorldError::UnknownUser { app, user } => ApiError::unknown_user(app, user),
        }
    }
}

impl From<FaultError> for ApiError {
    fn from(e: FaultError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = if self.status.is_client_error() {
            self.status
        } else {
            StatusCode::BAD_REQUEST
        };
        (status, axum::Json(self)).into_response()
    }
}

/// The largest request body accepted, in bytes; larger bodies get 413 `body_too_large`.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body deserialised into `T`; every failure becomes an [`ApiError`] naming the field.
///
/// An empty body (no bytes at all) is read as `{}` so that handlers whose fields all have
/// defaults accept it; whitespace alone is malformed JSON, like any other text that is not JSON.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json_ct = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .map(|v| {
                v.to_str()
                    .map(|s| {
                        let m = s
                            .split(';')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_ascii_lowercase();
                        m == "application/json" || m.ends_with("+json")
                    })
                    .unwrap_or(false)
            });
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection)?;
        if json_ct == Some(false) && !bytes.is_empty() {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON: send Content-Type: application/json (or none)",
                Some("content-type"),
            ));
        }
        if bytes.is_empty() {
            return parse_json(b"{}").map(JsonBody);
        }
        // Whitespace alone is not JSON (a body that is there must be a JSON text).
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            None => parse_json(&bytes).map(JsonBody),
            Some(b'{') => parse_json(&bytes).map(JsonBody),
            Some(_) => {
                // Report unparseable text as such; a well-formed non-object as the wrong type.
                parse_json::<serde::de::IgnoredAny>(&bytes)?;
                Err(ApiError::invalid("body", "the body must be a JSON object"))
            }
        }
    }
}

fn bytes_rejection(r: BytesRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {BODY_LIMIT} bytes"),
            Some("body"),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unreadable_body",
            format!("the request body could not be read: {}", r.body_text()),
            Some("body"),
        )
    }
}

/// Parses JSON into `T`, naming the offending field on failure (`a.b[2].c`).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let malformed = |message: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {message}"),
            Some("body"),
        )
    };
    // Syntax first: serde_json reports some type errors (a number where an enum is expected)
    // as syntax errors, so well-formedness is decided on its own.
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(malformed(e.to_string()));
    }
    let value: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    if value.is_ok() {
        de.end().map_err(|e| malformed(e.to_string()))?;
    }
    value.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // `unknown field `x`, expected ...`: name the field itself, not its parent.
        let field = match message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(name) if path == "." => name.to_string(),
            Some(name) if path == name || path.ends_with(&format!(".{name}")) => path,
            Some(name) => format!("{path}.{name}"),
            None if path == "." => match message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                Some(name) => name.to_string(),
                None => "body".to_string(),
            },
            None => path,
        };
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("{field}: {message}"),
            Some(&field),
        )
    })
}

/// Path parameters that are checked once extracted: an id the server could never hold is a 400
/// naming the parameter on every route, not a 404 on some and a 400 on others.
pub(crate) trait CheckParams {
    /// Checks the parameters; the error names the offending one.
    fn check(&self) -> Result<(), ApiError>;
}

/// Path parameters as strings, with rejections (bad percent-encoding, invalid UTF-8) and
/// [`CheckParams`] failures as [`ApiError`]s.
#[derive(Debug)]
pub(crate) struct Params<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: DeserializeOwned + CheckParams + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let p = axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|r: PathRejection| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_path",
                    format!("a path parameter is unusable: {}", r.body_text()),
                    Some("path"),
                )
            })?;
        p.0.check()?;
        Ok(Params(p.0))
    }
}

/// `deserialize_with` for an optional member that may be omitted but not `null`: with
/// `#[serde(default)]`, an absent member is `None` and `null` is an error naming the member
/// (serde's `Option` would read `null` as absent and silently drop it).
pub(crate) fn not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// JSON integers as JSON Schema reads them: `7` and `7.0` are the same integer (`"type":
/// "integer"` admits both), so an integral float is accepted up to 2^53 (where floats stop being
/// exact); `7.5` and out-of-range values are errors naming the member.
pub(crate) mod integer {
    use serde::Deserialize;
    use serde::de::{Deserializer, Error};

    fn integral<'de, D: Deserializer<'de>, T: TryFrom<i128>>(d: D) -> Result<T, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        let wide = if let Some(u) = n.as_u64() {
            Some(i128::from(u))
        } else if let Some(i) = n.as_i64() {
            Some(i128::from(i))
        } else {
            // A float form only where floats are exact (up to 2^53): beyond it an integer
            // literal out of range (-9223372036854775809) reads as an in-range float.
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_EXACT_FLOAT)
                .map(|f| f as i128)
        };
        wide.and_then(|w| T::try_from(w).ok()).ok_or_else(|| {
            D::Error::custom(format!(
                "{n} is not an integer in the range of {}",
                std::any::type_name::<T>()
            ))
        })
    }

    /// The largest integer a float holds exactly, 2^53.
    const MAX_EXACT_FLOAT: f64 = 9_007_199_254_740_992.0;

    /// A `u64`, from `7` or `7.0`.
    pub(crate) fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        integral(d)
    }

    /// An `i64`, from `7` or `7.0`.
    pub(crate) fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        integral(d)
    }

    /// A `u16`, from `7` or `7.0`.
    pub(crate) fn u16<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
        integral(d)
    }
}

/// Query parameters deserialised into `T` (use `deny_unknown_fields` on `T`), with rejections as
/// [`ApiError`]s naming the parameter.
#[derive(Debug)]
pub(crate) struct Query<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_deserializer(q);
        de.map(Query)
    }
}

fn serde_urlencoded_deserializer<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    // Decode pairs ourselves (axum's Query extractor hides the parameter name in its text), then
    // feed them to serde as a JSON object of strings.
    let mut map = serde_json::Map::new();
    for (k, v) in form_pairs(q)? {
        if map.contains_key(&k) {
            return Err(ApiError::invalid(
                &k,
                format!("query parameter {k:?} is given more than once"),
            ));
        }
        map.insert(k, serde_json::Value::String(v));
    }
    serde_path_to_error::deserialize(serde_json::Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
            .unwrap_or(path);
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("query parameter {field}: {message}"),
            Some(&field),
        )
    })
}

/// The `&`-separated `name=value` pairs of a query, `+` read as a space and percent-escapes
/// decoded (`percent-encoding`); a name or value that does not decode to UTF-8 is an error
/// naming it.
fn form_pairs(q: &str) -> Result<Vec<(String, String)>, ApiError> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
    };
    let mut out = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode(k).map_err(|_| {
            ApiError::invalid(
                "query",
                "a query parameter name is not valid percent-encoded UTF-8",
            )
        })?;
        let v = decode(v).map_err(|_| {
            ApiError::invalid(
                &k,
                format!("query parameter {k:?} is not valid percent-encoded UTF-8"),
            )
        })?;
        out.push((k, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        consent: bool,
        inner: Option<Inner>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"consent":"yes"}"#).unwrap_err();
        assert_eq!(
            (e.error.as_str(), e.field.as_deref()),
            ("invalid_field", Some("consent"))
        );
        let e = parse_json::<Body>(br#"{"consent":true,"inner":{"n":-1}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner.n"));
        let e = parse_json::<Body>(br#"{"consent":true,"extra":1}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("extra"));
        let e = parse_json::<Body>(br#"{"consent":true,"inner":{"n":1,"x":2}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner.x"));
        let e = parse_json::<Body>(br#"{}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("consent"));
        let e = parse_json::<Body>(br#"{"consent":tru"#).unwrap_err();
        assert_eq!(
            (e.error.as_str(), e.field.as_deref()),
            ("malformed_json", Some("body"))
        );
        let e = parse_json::<Body>(br#"{"consent":true} x"#).unwrap_err();
        assert_eq!(e.error, "malformed_json");
    }

    #[test]
    fn query_pairs_are_decoded_and_bad_utf8_is_named() {
        assert_eq!(
            form_pairs("a=x%20y+z&b&&c=%E4%B8%AD").unwrap(),
            vec![
                ("a".to_string(), "x y z".to_string()),
                ("b".to_string(), String::new()),
                ("c".to_string(), "中".to_string()),
            ]
        );
        let e = form_pairs("since=%ff").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("since"));
        assert_eq!(
            form_pairs("%ff=1").unwrap_err().field.as_deref(),
            Some("query")
        );
        // A `%` that starts no escape is kept as it is (WHATWG URL rules).
        assert_eq!(form_pairs("x=%zz").unwrap()[0].1, "%zz");
    }
}
