//! The OpenAPI gateway on the wire (`/gateway.do`, v2, and the `/v3/...` protocol): the string an
//! app signs, the answer Alipay writes and signs, Alipay's error objects, and the v3
//! `Authorization` header. No apps, users or tokens here (those are the model's), only bytes.
//!
//! docs/protocol.md, "The OpenAPI gateway in the login", has the sources for each rule.

use crate::protocol::crypto::{SignType, Signer, Verifier};
use crate::protocol::json::write_string;

/// `code` of a successful gateway answer.
pub const GATEWAY_SUCCESS: &str = "10000";

/// One request parameter, decoded (name, value).
pub type Param = (String, String);

/// The v2 signing string: every parameter except `sign`, sorted by name (byte order), joined
/// `name=value&...` with the raw (decoded, not URL-encoded) values.
///
/// With `drop_empty`, parameters with an empty value are left out (the Java SDK's rule,
/// `StringUtils.areNotEmpty`); without it every parameter is signed (the Node and Python SDKs).
/// The gateway itself accepts a signature over either form (docs/protocol.md, v2 signing string).
pub fn signing_string(params: &[Param], drop_empty: bool) -> String {
    let mut kept: Vec<&Param> = params
        .iter()
        .filter(|(k, v)| k != "sign" && !k.is_empty() && !(drop_empty && v.is_empty()))
        .collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in kept.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The answer key of a method: `alipay.system.oauth.token` → `alipay_system_oauth_token_response`.
pub fn response_key(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// The key gateway-level errors answer under when no method key applies.
pub const ERROR_RESPONSE: &str = "error_response";

/// A gateway error object, `{"code","msg","sub_code","sub_msg"}` (in that order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError {
    /// Public code: `20000`, `20001`, `40001`, `40002`, `40004`, `40006`.
    pub code: &'static str,
    /// The public code's message, e.g. `Invalid Arguments`.
    pub msg: &'static str,
    /// The specific reason, e.g. `isv.invalid-signature`.
    pub sub_code: &'static str,
    /// Human text (Chinese, as Alipay writes it).
    pub sub_msg: String,
}

impl GatewayError {
    fn new(code: &'static str, sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        let msg = match code {
            "20000" => "Service Currently Unavailable",
            "20001" => "Insufficient Token Permissions",
            "40001" => "Missing Required Arguments",
            "40002" => "Invalid Arguments",
            "40004" => "Business Failed",
            "40005" => "Call Limited",
            "40006" => "Insufficient Permissions",
            _ => "Unknown Error",
        };
        Self {
            code,
            msg,
            sub_code,
            sub_msg: sub_msg.into(),
        }
    }

    /// 40001 for a missing common parameter: `isv.missing-<what>` (e.g. `app-id`, `method`,
    /// `signature`, `signature-type`, `timestamp`, `version`).
    pub fn missing(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        Self::new("40001", sub_code, sub_msg)
    }

    /// 40002 `Invalid Arguments` with this sub-code.
    pub fn invalid(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        Self::new("40002", sub_code, sub_msg)
    }

    /// 40002 `isv.invalid-signature`, quoting the string the gateway verified (as Alipay does).
    pub fn invalid_signature(gateway_string: &str) -> Self {
        Self::invalid(
            "isv.invalid-signature",
            format!(
                "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{gateway_string}"
            ),
        )
    }

    /// 40002 `isv.code-invalid` (unknown, used, expired or another app's auth code).
    pub fn code_invalid() -> Self {
        Self::invalid("isv.code-invalid", "授权码code无效")
    }

    /// 40002 `isv.refresh-token-invalid` (unknown, used, expired or another app's refresh token).
    pub fn refresh_token_invalid() -> Self {
        Self::invalid("isv.refresh-token-invalid", "刷新令牌refresh_token无效")
    }

    /// 20000 `isp.unknow-error` (the business system is busy).
    pub fn busy() -> Self {
        Self::new("20000", "isp.unknow-error", "系统繁忙")
    }

    /// 20001 `aop.invalid-auth-token` (an unknown access token).
    pub fn invalid_auth_token() -> Self {
        Self::new("20001", "aop.invalid-auth-token", "无效的访问令牌")
    }

    /// 20001 `aop.auth-token-time-out` (an expired access token).
    pub fn auth_token_time_out() -> Self {
        Self::new("20001", "aop.auth-token-time-out", "访问令牌已过期")
    }

    /// 40006 `isv.insufficient-user-permissions` (a token without the needed scope).
    pub fn insufficient_user_permissions(sub_msg: impl Into<String>) -> Self {
        Self::new("40006", "isv.insufficient-user-permissions", sub_msg)
    }

    /// 40004 `Business Failed` with this sub-code.
    pub fn business(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        Self::new("40004", sub_code, sub_msg)
    }

    /// The object as Alipay writes it.
    pub fn to_json(&self) -> String {
        let mut o = ObjectWriter::new();
        o.str("code", self.code)
            .str("msg", self.msg)
            .str("sub_code", self.sub_code)
            .str("sub_msg", &self.sub_msg);
        o.finish()
    }
}

/// Writes a compact JSON object member by member, in order (Alipay's key order is part of the
/// signed bytes, so objects are written, never re-serialised).
#[derive(Debug, Default)]
pub struct ObjectWriter {
    out: String,
}

impl ObjectWriter {
    /// An empty object.
    pub fn new() -> Self {
        Self {
            out: String::from("{"),
        }
    }

    fn key(&mut self, k: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        write_string(&mut self.out, k);
        self.out.push(':');
    }

    /// A string member.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        write_string(&mut self.out, v);
        self
    }

    /// A member whose value is raw JSON text (a number, an object...), written as given.
    pub fn raw(&mut self, k: &str, json: &str) -> &mut Self {
        self.key(k);
        self.out.push_str(json);
        self
    }

    /// The object's text.
    pub fn finish(&mut self) -> String {
        let mut s = std::mem::take(&mut self.out);
        s.push('}');
        s
    }
}

/// A v2 answer: `{"<key>":<object>[,"alipay_cert_sn":"<sn>"][,"sign":"<base64>"]}`, with the
/// object written once and `sign` made over exactly its bytes (RSA2 with `signer`).
///
/// `alipay_cert_sn` comes before `sign`, as in the answers the PHP certificate client cuts
/// (it cuts the signed text before `"alipay_cert_sn"`); the Java SDK finds the object by its
/// key, Node's `getSignStr` trims to the object's braces.
pub fn write_answer(
    key: &str,
    object: &str,
    alipay_cert_sn: Option<&str>,
    signer: Option<(&Signer, SignType)>,
) -> String {
    let mut out = String::with_capacity(object.len() + key.len() + 400);
    out.push('{');
    write_string(&mut out, key);
    out.push(':');
    out.push_str(object);
    if let Some(sn) = alipay_cert_sn {
        out.push_str(",\"alipay_cert_sn\":");
        write_string(&mut out, sn);
    }
    if let Some((s, t)) = signer {
        // Base64 is written as is: `/` stays unescaped in `sign` (the SDKs read it raw).
        out.push_str(",\"sign\":\"");
        out.push_str(&s.sign_base64(t, object.as_bytes()));
        out.push('"');
    }
    out.push('}');
    out
}

/// A form or query string decoded into pairs: `+` is a space, `%XX` a byte; the bytes must be
/// UTF-8. Pairs without `=` have an empty value. An error names what could not be decoded.
pub fn parse_form(text: &[u8]) -> Result<Vec<Param>, String> {
    fn decode(s: &[u8]) -> Option<String> {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => {
                    let hex = |b: u8| (b as char).to_digit(16);
                    match (hex(s[i + 1]), hex(s[i + 2])) {
                        (Some(h), Some(l)) => {
                            out.push((h * 16 + l) as u8);
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    let mut params = Vec::new();
    for pair in text.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let k = decode(k).ok_or_else(|| "a parameter name is not UTF-8".to_string())?;
        let v = decode(v).ok_or_else(|| format!("parameter {k:?} is not UTF-8"))?;
        params.push((k, v));
    }
    Ok(params)
}

/// The gateway's time format, `yyyy-MM-dd HH:mm:ss`.
const TIMESTAMP: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// Whether `s` is a v2 `timestamp`: `yyyy-MM-dd HH:mm:ss`, a real date and time.
pub fn valid_timestamp(s: &str) -> bool {
    s.len() == 19 && time::PrimitiveDateTime::parse(s, TIMESTAMP).is_ok()
}

/// Unix seconds as `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving), the
/// gateway's time format.
pub fn beijing_time(unix_secs: u64) -> String {
    let t = i64::try_from(unix_secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::macros::offset!(+8));
    // Formatting a date of years 1970..=9999 with this description cannot fail.
    t.format(TIMESTAMP).unwrap_or_default()
}

/// The scheme of the v3 `Authorization` header.
pub const V3_SCHEME: &str = "ALIPAY-SHA256withRSA";

/// A parsed v3 `Authorization: ALIPAY-SHA256withRSA app_id=..,[app_cert_sn=..,]nonce=..,timestamp=..,sign=..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Authorization {
    /// The text between the scheme and `,sign=` (the signed "auth string").
    pub auth_string: String,
    /// `app_id`.
    pub app_id: String,
    /// `app_cert_sn` (certificate mode).
    pub app_cert_sn: Option<String>,
    /// `nonce`.
    pub nonce: String,
    /// `timestamp` (milliseconds).
    pub timestamp: String,
    /// `sign`, base64.
    pub sign: String,
}

/// Parses a v3 `Authorization` header; the error says what is wrong.
pub fn parse_v3_authorization(header: &str) -> Result<V3Authorization, String> {
    let rest = header
        .strip_prefix(V3_SCHEME)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| format!("the authorization header must start with {V3_SCHEME:?}"))?;
    let (auth_string, sign) = rest
        .rsplit_once(",sign=")
        .ok_or_else(|| "the authorization header has no sign".to_string())?;
    let mut app_id = None;
    let mut app_cert_sn = None;
    let mut nonce = None;
    let mut timestamp = None;
    for part in auth_string.split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("authorization part {part:?} is not name=value"))?;
        match k {
            "app_id" => app_id = Some(v.to_string()),
            "app_cert_sn" => app_cert_sn = Some(v.to_string()),
            "nonce" => nonce = Some(v.to_string()),
            "timestamp" => timestamp = Some(v.to_string()),
            _ => {}
        }
    }
    let need = |v: Option<String>, name: &str| {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| format!("the authorization header has no {name}"))
    };
    Ok(V3Authorization {
        auth_string: auth_string.to_string(),
        app_id: need(app_id, "app_id")?,
        app_cert_sn,
        nonce: need(nonce, "nonce")?,
        timestamp: need(timestamp, "timestamp")?,
        sign: need(Some(sign.to_string()), "sign")?,
    })
}

/// The text a v3 request signs: `<auth string>\n<METHOD>\n<path and query>\n<body>\n`, plus
/// `<app_auth_token>\n` when one is sent.
pub fn v3_request_text(
    auth_string: &str,
    method: &str,
    path_and_query: &str,
    body: &str,
    app_auth_token: Option<&str>,
) -> String {
    let mut s = format!("{auth_string}\n{method}\n{path_and_query}\n{body}\n");
    if let Some(t) = app_auth_token {
        s.push_str(t);
        s.push('\n');
    }
    s
}

/// The v3 auth string: `app_id=..[,app_cert_sn=..],nonce=..,timestamp=..` (the Node SDK's order).
pub fn v3_auth_string(
    app_id: &str,
    app_cert_sn: Option<&str>,
    nonce: &str,
    timestamp_ms: u64,
) -> String {
    let mut auth = format!("app_id={app_id}");
    if let Some(sn) = app_cert_sn {
        auth.push_str(&format!(",app_cert_sn={sn}"));
    }
    auth.push_str(&format!(",nonce={nonce},timestamp={timestamp_ms}"));
    auth
}

/// The v3 `Authorization` header value a client sends for `auth_string` (see
/// [`v3_auth_string`]), as the Node SDK's `curl` builds it: RSA2 over [`v3_request_text`].
pub fn v3_authorization(
    signer: &Signer,
    auth_string: &str,
    method: &str,
    path_and_query: &str,
    body: &str,
) -> String {
    let text = v3_request_text(auth_string, method, path_and_query, body, None);
    let sign = signer.sign_base64(SignType::Rsa2, text.as_bytes());
    format!("{V3_SCHEME} {auth_string},sign={sign}")
}

/// Verifies a v3 request's signature with the app's public key.
pub fn verify_v3_request(
    verifier: &Verifier,
    auth: &V3Authorization,
    method: &str,
    path_and_query: &str,
    body: &str,
    app_auth_token: Option<&str>,
) -> bool {
    let text = v3_request_text(
        &auth.auth_string,
        method,
        path_and_query,
        body,
        app_auth_token,
    );
    verifier
        .verify_base64(SignType::Rsa2, text.as_bytes(), &auth.sign)
        .is_ok()
}

/// The text a v3 answer's `alipay-signature` covers: `<alipay-timestamp>\n<alipay-nonce>\n<body>\n`.
pub fn v3_response_text(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

/// A v3 error body, `{"code":"...","message":"..."}`.
pub fn v3_error_body(code: &str, message: &str) -> String {
    let mut o = ObjectWriter::new();
    o.str("code", code).str("message", message);
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(k: &str, v: &str) -> Param {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn the_signing_string_is_sorted_raw_and_without_sign() {
        let params = vec![
            p("timestamp", "2024-05-13 17:49:20"),
            p("sign", "xx"),
            p("method", "alipay.security.risk.content.analyze"),
            p("app_id", "2021000122671080"),
            p("version", "1.0"),
            p("sign_type", "RSA2"),
            p("charset", "utf-8"),
            p("empty", ""),
        ];
        // The string the gateway quotes in its 40002 sub_msg (docs/protocol.md, v2 signing string).
        assert_eq!(
            signing_string(&params, true),
            "app_id=2021000122671080&charset=utf-8&method=alipay.security.risk.content.analyze&sign_type=RSA2&timestamp=2024-05-13 17:49:20&version=1.0"
        );
        assert!(signing_string(&params, false).contains("&empty=&"));
    }

    #[test]
    fn forms_decode_and_refuse_bad_utf8() {
        assert_eq!(
            parse_form(b"a=x+y%2B&b&c=%E4%B8%AD&d=%zz&e=%4").unwrap(),
            vec![
                p("a", "x y+"),
                p("b", ""),
                p("c", "中"),
                p("d", "%zz"),
                p("e", "%4")
            ]
        );
        assert!(parse_form(b"a=%ff").is_err());
    }

    #[test]
    fn timestamps_and_beijing_time() {
        assert!(valid_timestamp("2024-05-13 17:49:20"));
        for bad in [
            "2024-05-13T17:49:20",
            "2024-13-13 17:49:20",
            "2024-05-13 17:49",
            "",
        ] {
            assert!(!valid_timestamp(bad), "{bad}");
        }
        assert_eq!(beijing_time(0), "1970-01-01 08:00:00");
        assert_eq!(beijing_time(1_715_593_760), "2024-05-13 17:49:20");
    }

    #[test]
    fn v3_headers_parse() {
        let a = parse_v3_authorization(
            "ALIPAY-SHA256withRSA app_id=1,app_cert_sn=ab,nonce=n,timestamp=5,sign=c2ln",
        )
        .unwrap();
        assert_eq!(a.auth_string, "app_id=1,app_cert_sn=ab,nonce=n,timestamp=5");
        assert_eq!(a.app_cert_sn.as_deref(), Some("ab"));
        assert_eq!(a.sign, "c2ln");
        for bad in [
            "",
            "Bearer x",
            "ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=5",
            "ALIPAY-SHA256withRSA nonce=n,timestamp=5,sign=x",
        ] {
            assert!(parse_v3_authorization(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_are_written_in_alipays_order() {
        assert_eq!(
            GatewayError::code_invalid().to_json(),
            r#"{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid","sub_msg":"授权码code无效"}"#
        );
    }
}
