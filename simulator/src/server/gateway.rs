//! The OpenAPI gateway a merchant's login back-end calls: `/gateway.do` (v2: form POST or GET,
//! the common parameters, RSA2/RSA request signatures, `{"<method>_response":{...},"sign":".."}`
//! answers) and the v3 paths (`/v3/alipay/system/oauth/token`, `/v3/alipay/user/info/share`:
//! JSON, the `Authorization: ALIPAY-SHA256withRSA ...` header, signed response headers).
//!
//! Methods: `alipay.system.oauth.token`, `alipay.user.info.share`, and in certificate mode
//! `alipay.open.app.alipaycert.download`. Bad input of any kind answers Alipay's own error
//! object with HTTP 200 (v2) or a 4xx JSON error (v3), never a 5xx unless the
//! `gateway_http_error_rate` fault asks for one.
//!
//! The wire pieces (signing string, answer writer, error objects, v3 header) are in
//! `protocol::gateway`; codes, tokens and identities are in `model::login`.

use std::time::Duration;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use super::answer::Callback;
use super::error::BODY_LIMIT;
use super::faults::{self, Faults, Fired};
use super::journal::{Api, Entry};
use super::middleware::RequestId;
use super::state::AppState;
use super::world::App;
use crate::model::login::{Grant, Refusal, Scope, Tokens};
use crate::protocol::crypto::{KeyPair, SignType, Verifier};
use crate::protocol::gateway::{
    ERROR_RESPONSE, GATEWAY_SUCCESS, GatewayError, ObjectWriter, Param, beijing_time, parse_form,
    parse_v3_authorization, response_key, signing_string, v3_error_body, v3_response_text,
    valid_timestamp, verify_v3_request,
};

/// `alipay.system.oauth.token`.
pub(crate) const OAUTH_TOKEN: &str = "alipay.system.oauth.token";
/// `alipay.user.info.share`.
pub(crate) const USER_INFO_SHARE: &str = "alipay.user.info.share";
/// `alipay.open.app.alipaycert.download` (certificate mode).
pub(crate) const CERT_DOWNLOAD: &str = "alipay.open.app.alipaycert.download";

/// The methods the gateway serves.
pub(crate) const METHODS: [&str; 3] = [OAUTH_TOKEN, USER_INFO_SHARE, CERT_DOWNLOAD];

/// What the app's keys say about signing its answers, snapshotted outside the lock.
struct Signing {
    key: KeyPair,
    cert_sn: Option<String>,
}

/// A finished v2 answer: the key it goes under, the object's text, and whether to sign it.
struct V2Answer {
    key: String,
    object: String,
    signed: bool,
}

impl V2Answer {
    fn ok(method: &str, object: String) -> Self {
        Self {
            key: response_key(method),
            object,
            signed: true,
        }
    }

    fn err(key: String, e: &GatewayError, signed: bool) -> Self {
        Self {
            key,
            object: e.to_json(),
            signed,
        }
    }
}

/// Reads the body up to the limit; `None` when it is larger or unreadable.
async fn read_body(req: Request) -> (axum::http::request::Parts, Option<Bytes>) {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.ok();
    (parts, bytes)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| {
            s.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(true)
}

fn get<'a>(params: &'a [Param], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn present<'a>(params: &'a [Param], name: &str) -> Option<&'a str> {
    get(params, name).filter(|v| !v.is_empty())
}

/// Applies the latency and HTTP-error faults shared by both protocols; `Some` ends the call.
async fn gateway_faults(f: &Faults, fired: &mut Vec<Fired>) -> Option<Response> {
    if f.gateway_latency_ms > 0 {
        fired.push(Fired::GatewayLatency);
        tokio::time::sleep(Duration::from_millis(f.gateway_latency_ms)).await;
    }
    if faults::roll(f.gateway_http_error_rate) {
        fired.push(Fired::GatewayHttpError);
        let status = StatusCode::from_u16(f.gateway_http_status).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut r = Response::new(Body::from(format!(
            "<html><body><h1>{status}</h1>alipay-sim: gateway_http_error_rate fault</body></html>"
        )));
        *r.status_mut() = status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r.headers_mut().insert(
            super::middleware::FAULT_HEADER,
            HeaderValue::from_static(Fired::GatewayHttpError.as_str()),
        );
        return Some(r);
    }
    None
}

fn journal(
    state: &AppState,
    rid: &RequestId,
    api: Api,
    app_id: Option<String>,
    fired: Vec<Fired>,
    answer: Bytes,
) {
    state.journal().record(Entry {
        request_id: rid.0.clone(),
        api,
        app_id,
        user_id: None,
        scenario: None,
        callback: Callback::Gateway,
        expected: None,
        faults: fired,
        answer,
    });
}

/// `GET|POST /gateway.do`: the v2 gateway.
pub(crate) async fn v2(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    req: Request,
) -> Response {
    let f = state.faults();
    let mut fired = Vec::new();
    if let Some(r) = gateway_faults(&f, &mut fired).await {
        journal(&state, &rid, Api::Gateway, None, fired, Bytes::new());
        return r;
    }
    let (parts, body) = read_body(req).await;
    let (app_id, answer, signing) = v2_answer(&state, &parts, body, &f, &mut fired);
    let text = match (&signing, answer.signed) {
        (Some(s), true) => {
            let bad = faults::roll(f.gateway_bad_sign_rate);
            if bad {
                fired.push(Fired::GatewayBadSign);
                // Signed over other bytes: the signature is well-formed and does not verify.
                let mut t = crate::protocol::gateway::write_answer(
                    &answer.key,
                    &format!("{} ", answer.object),
                    s.cert_sn.as_deref(),
                    Some((&s.key.signer, SignType::Rsa2)),
                );
                t = t.replacen(&format!("{} ", answer.object), &answer.object, 1);
                t
            } else {
                crate::protocol::gateway::write_answer(
                    &answer.key,
                    &answer.object,
                    s.cert_sn.as_deref(),
                    Some((&s.key.signer, SignType::Rsa2)),
                )
            }
        }
        _ => crate::protocol::gateway::write_answer(&answer.key, &answer.object, None, None),
    };
    let bytes = Bytes::from(text);
    journal(&state, &rid, Api::Gateway, app_id, fired, bytes.clone());
    let mut r = Response::new(Body::from(bytes));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    r
}

/// Decides a v2 answer: the app id (if known), the answer, and how to sign it.
fn v2_answer(
    state: &AppState,
    parts: &axum::http::request::Parts,
    body: Option<Bytes>,
    f: &Faults,
    fired: &mut Vec<Fired>,
) -> (Option<String>, V2Answer, Option<Signing>) {
    let unsigned = |e: GatewayError| (None, V2Answer::err(ERROR_RESPONSE.into(), &e, false), None);
    let Some(body) = body else {
        return unsigned(GatewayError::invalid(
            "isv.invalid-parameter",
            format!("请求体过大或无法读取（上限 {BODY_LIMIT} 字节）"),
        ));
    };
    let mut params = match parse_form(parts.uri.query().unwrap_or("").as_bytes()) {
        Ok(p) => p,
        Err(e) => return unsigned(GatewayError::invalid("isv.invalid-charset", e)),
    };
    if parts.method == Method::POST && !body.is_empty() && is_form(&parts.headers) {
        match parse_form(&body) {
            Ok(p) => params.extend(p),
            Err(e) => return unsigned(GatewayError::invalid("isv.invalid-charset", e)),
        }
    }
    for (i, (k, _)) in params.iter().enumerate() {
        if params[..i].iter().any(|(k2, _)| k2 == k) {
            return unsigned(GatewayError::invalid(
                "isv.invalid-parameter",
                format!("参数重复：{k}"),
            ));
        }
    }
    let Some(method) = present(&params, "method") else {
        return unsigned(GatewayError::missing(
            "isv.missing-method",
            "缺少方法名参数",
        ));
    };
    let known = METHODS.contains(&method);
    // Errors of a method the gateway serves go under its key (as the gateway's invalid-signature
    // answer quoted in the Node SDK does); others under `error_response`.
    let key = if known {
        response_key(method)
    } else {
        ERROR_RESPONSE.to_string()
    };
    let Some(app_id) = present(&params, "app_id").map(str::to_string) else {
        return (
            None,
            V2Answer::err(
                key,
                &GatewayError::missing("isv.missing-app-id", "缺少AppID参数"),
                false,
            ),
            None,
        );
    };
    // The app's keys, snapshotted.
    let snapshot = state.view(|w| {
        w.apps.get(&app_id).map(|a| {
            let (key, cert_sn) = a.gateway_signer();
            (
                a.app_verifier(),
                a.cert_mode(),
                a.keys.cert().map(|c| c.set.sn.alipay_root_cert_sn.clone()),
                Signing { key, cert_sn },
            )
        })
    });
    let Some((verifier, cert_mode, root_sn, signing)) = snapshot else {
        return (
            None,
            V2Answer::err(
                key,
                &GatewayError::invalid("isv.invalid-app-id", "无效的AppID参数"),
                false,
            ),
            None,
        );
    };
    let fail = |e: GatewayError| V2Answer::err(key.clone(), &e, true);
    let check = || -> Result<(), GatewayError> {
        if !known {
            return Err(GatewayError::invalid(
                "isv.invalid-method",
                format!("不存在的方法名：{method}"),
            ));
        }
        if let Some(fmt) = get(&params, "format")
            && !fmt.eq_ignore_ascii_case("json")
        {
            return Err(GatewayError::invalid(
                "isv.invalid-format",
                "无效的数据格式",
            ));
        }
        if let Some(cs) = get(&params, "charset")
            && !matches!(cs.to_ascii_lowercase().as_str(), "utf-8" | "utf8")
        {
            return Err(GatewayError::invalid(
                "isv.invalid-charset",
                format!("字符集 {cs} 不被模拟器支持（仅 utf-8）"),
            ));
        }
        let sign_type = match present(&params, "sign_type") {
            None => {
                return Err(GatewayError::missing(
                    "isv.missing-signature-type",
                    "缺少签名类型参数",
                ));
            }
            Some(t) => SignType::parse(t).ok_or_else(|| {
                GatewayError::invalid("isv.invalid-signature-type", "无效的签名类型")
            })?,
        };
        let Some(sign) = present(&params, "sign") else {
            return Err(GatewayError::missing(
                "isv.missing-signature",
                "缺少签名参数",
            ));
        };
        match present(&params, "timestamp") {
            None => {
                return Err(GatewayError::missing(
                    "isv.missing-timestamp",
                    "缺少时间戳参数",
                ));
            }
            Some(t) if !valid_timestamp(t) => {
                return Err(GatewayError::invalid(
                    "isv.invalid-timestamp",
                    "非法的时间戳参数，格式为 yyyy-MM-dd HH:mm:ss",
                ));
            }
            Some(_) => {}
        }
        match present(&params, "version") {
            None => return Err(GatewayError::missing("isv.missing-version", "缺少版本参数")),
            Some("1.0") => {}
            Some(_) => return Err(GatewayError::invalid("isv.invalid-version", "版本号不正确")),
        }
        let Some((verifier, app_sn)) = verifier.clone() else {
            return Err(GatewayError::invalid(
                "isv.missing-signature-config",
                "应用未配置对应签名算法的公钥或者证书",
            ));
        };
        if cert_mode {
            match present(&params, "app_cert_sn") {
                None => {
                    return Err(GatewayError::missing(
                        "isv.missing-app-cert-sn",
                        "缺少应用公钥证书序列号",
                    ));
                }
                Some(sn) if Some(sn) != app_sn.as_deref() => {
                    return Err(GatewayError::invalid(
                        "isv.app-cert-not-exist",
                        format!("应用公钥证书序列号 {sn} 不存在"),
                    ));
                }
                Some(_) => {}
            }
            match present(&params, "alipay_root_cert_sn") {
                None => {
                    return Err(GatewayError::missing(
                        "isv.missing-alipay-root-cert-sn",
                        "缺少支付宝根证书序列号",
                    ));
                }
                Some(sn) if Some(sn) != root_sn.as_deref() => {
                    return Err(GatewayError::invalid(
                        "isv.invalid-alipay-root-cert-sn",
                        "支付宝根证书序列号无效",
                    ));
                }
                Some(_) => {}
            }
        }
        let full = signing_string(&params, false);
        let ok = |s: &str| {
            verifier
                .verify_base64(sign_type, s.as_bytes(), sign)
                .is_ok()
        };
        if !ok(&full) && !ok(&signing_string(&params, true)) {
            return Err(GatewayError::invalid_signature(&full));
        }
        Ok(())
    };
    if let Err(e) = check() {
        return (Some(app_id), fail(e), Some(signing));
    }
    if faults::roll(f.gateway_busy_rate) {
        fired.push(Fired::GatewayBusy);
        return (Some(app_id), fail(GatewayError::busy()), Some(signing));
    }
    let answer = match method {
        OAUTH_TOKEN => oauth_token(state, &app_id, &params).map(|o| V2Answer::ok(method, o)),
        USER_INFO_SHARE => user_info_share(state, &app_id, get(&params, "auth_token"))
            .map(|o| V2Answer::ok(method, o))
            .map_err(|e| (key.clone(), e)),
        _ => cert_download(state, &app_id, get(&params, "biz_content"))
            .map(|o| V2Answer::ok(method, o))
            .map_err(|e| (key.clone(), e)),
    };
    let answer = answer.unwrap_or_else(|(k, e)| V2Answer::err(k, &e, true));
    (Some(app_id), answer, Some(signing))
}

/// The identity fields of a grant's user, as the app's identity mode asks.
fn identity(o: &mut ObjectWriter, app: &App, user: &str) {
    let (uid, oid) = app
        .users
        .get(user)
        .map(|u| (u.alipay_user_id.clone(), u.open_id.clone()))
        .unwrap_or_else(|| {
            (
                crate::model::login::derived_user_id(user),
                crate::model::login::derived_open_id("", user),
            )
        });
    if app.login.identity.user_id() {
        o.str("user_id", &uid);
    }
    if app.login.identity.open_id() {
        o.str("open_id", &oid);
    }
}

fn tokens_object(state: &AppState, app_id: &str, t: &Tokens) -> String {
    state.view(|w| {
        let mut o = ObjectWriter::new();
        if let Some(app) = w.apps.get(app_id) {
            identity(&mut o, app, &t.grant.user);
        }
        o.str("access_token", &t.access_token)
            .raw("expires_in", &t.expires_in.to_string())
            .str("refresh_token", &t.refresh_token)
            .raw("re_expires_in", &t.re_expires_in.to_string())
            .str("auth_start", &beijing_time(t.grant.auth_start_ms / 1000));
        o.finish()
    })
}

/// `alipay.system.oauth.token`: the object, or the key and error to answer.
fn oauth_token(
    state: &AppState,
    app_id: &str,
    params: &[Param],
) -> Result<String, (String, GatewayError)> {
    let settings = state
        .view(|w| w.apps.get(app_id).map(|a| a.login.clone()))
        .unwrap_or_default();
    let now = state.now_ms();
    // Code and token errors come under `error_response` (the answer quoted in the Node SDK).
    let err = |e: GatewayError| (ERROR_RESPONSE.to_string(), e);
    let tokens = match present(params, "grant_type") {
        Some("authorization_code") => {
            let code = present(params, "code").unwrap_or("");
            state
                .login(|l| l.redeem_code(app_id, code, now, &settings))
                .map_err(|_| err(GatewayError::code_invalid()))?
        }
        Some("refresh_token") => {
            let rt = present(params, "refresh_token").unwrap_or("");
            state
                .login(|l| l.refresh(app_id, rt, now, &settings))
                .map_err(|_| err(GatewayError::refresh_token_invalid()))?
        }
        _ => {
            return Err(err(GatewayError::invalid(
                "isv.grant-type-invalid",
                "grant_type 参数不正确（authorization_code 或 refresh_token）",
            )));
        }
    };
    Ok(tokens_object(state, app_id, &tokens))
}

/// The grant behind an access token, or the gateway's error.
fn grant_of(state: &AppState, app_id: &str, token: Option<&str>) -> Result<Grant, GatewayError> {
    let now = state.now_ms();
    let token = token.filter(|t| !t.is_empty()).unwrap_or("");
    state
        .login(|l| l.access(app_id, token, now))
        .map_err(|r| match r {
            Refusal::Expired => GatewayError::auth_token_time_out(),
            _ => GatewayError::invalid_auth_token(),
        })
}

/// `alipay.user.info.share`: the profile for an `auth_user` token.
fn user_info_share(
    state: &AppState,
    app_id: &str,
    token: Option<&str>,
) -> Result<String, GatewayError> {
    let grant = grant_of(state, app_id, token)?;
    if !grant.has(Scope::AuthUser) {
        return Err(GatewayError::insufficient_user_permissions(
            "访问令牌只有 auth_base 授权，获取会员信息需要 auth_user",
        ));
    }
    Ok(state.view(|w| {
        let mut o = ObjectWriter::new();
        o.str("code", GATEWAY_SUCCESS).str("msg", "Success");
        if let Some(app) = w.apps.get(app_id) {
            identity(&mut o, app, &grant.user);
            let nick = app
                .users
                .get(&grant.user)
                .map(|u| u.nick_name.clone())
                .unwrap_or_else(|| grant.user.clone());
            o.str(
                "avatar",
                &format!(
                    "https://tfs.alipayobjects.com/images/partner/alipay-sim/{}.png",
                    grant.user
                ),
            )
            .str("city", "杭州市")
            .str("gender", "F")
            .str("nick_name", &nick)
            .str("province", "浙江省");
        }
        o.finish()
    }))
}

/// `alipay.open.app.alipaycert.download`: the Alipay certificate of the SN asked for.
fn cert_download(
    state: &AppState,
    app_id: &str,
    biz_content: Option<&str>,
) -> Result<String, GatewayError> {
    let sn = biz_content
        .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
        .and_then(|v| v.get("alipay_cert_sn")?.as_str().map(str::to_string))
        .ok_or_else(|| {
            GatewayError::invalid(
                "isv.invalid-parameter",
                "biz_content 必须是 {\"alipay_cert_sn\":\"...\"}",
            )
        })?;
    let pem = state
        .view(|w| w.apps.get(app_id).and_then(|a| a.alipay_cert(&sn)))
        .ok_or_else(|| {
            GatewayError::business(
                "isv.alipay-cert-not-exist",
                format!("支付宝公钥证书 {sn} 不存在"),
            )
        })?;
    use base64::Engine as _;
    let content = base64::engine::general_purpose::STANDARD.encode(pem.as_bytes());
    let mut o = ObjectWriter::new();
    o.str("code", GATEWAY_SUCCESS)
        .str("msg", "Success")
        .str("alipay_cert_content", &content);
    Ok(o.finish())
}

/// A v3 answer: status, body, and the signing key (None: unsigned).
fn v3_response(
    status: StatusCode,
    body: String,
    signing: Option<&Signing>,
    bad_sign: bool,
) -> Response {
    let mut r = Response::new(Body::from(body.clone()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    let nonce = format!("{:032x}", rand::random::<u128>());
    let trace = format!("{:032x}", rand::random::<u128>());
    if let Ok(v) = HeaderValue::from_str(&trace) {
        h.insert("alipay-trace-id", v);
    }
    if let Some(s) = signing {
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
            .to_string();
        let signed_body = if bad_sign { format!("{body} ") } else { body };
        let sig = s.key.signer.sign_base64(
            SignType::Rsa2,
            v3_response_text(&ts, &nonce, &signed_body).as_bytes(),
        );
        for (k, v) in [
            ("alipay-timestamp", ts),
            ("alipay-nonce", nonce),
            ("alipay-signature", sig),
        ] {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        }
        if let Some(sn) = &s.cert_sn
            && let Ok(v) = HeaderValue::from_str(sn)
        {
            h.insert("alipay-sn", v);
        }
    }
    r
}

fn v3_err(status: StatusCode, code: &str, message: &str) -> (StatusCode, String) {
    (status, v3_error_body(code, message))
}

/// `/v3/alipay/system/oauth/token` and `/v3/alipay/user/info/share`: the v3 protocol.
pub(crate) async fn v3(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    req: Request,
) -> Response {
    let f = state.faults();
    let mut fired = Vec::new();
    if let Some(r) = gateway_faults(&f, &mut fired).await {
        journal(&state, &rid, Api::GatewayV3, None, fired, Bytes::new());
        return r;
    }
    let (parts, body) = read_body(req).await;
    let (app_id, (status, text), signing) = v3_answer(&state, &parts, body, &f, &mut fired);
    let bad = signing.is_some() && faults::roll(f.gateway_bad_sign_rate);
    if bad {
        fired.push(Fired::GatewayBadSign);
    }
    journal(
        &state,
        &rid,
        Api::GatewayV3,
        app_id,
        fired,
        Bytes::from(text.clone()),
    );
    v3_response(status, text, signing.as_ref(), bad)
}

fn v3_answer(
    state: &AppState,
    parts: &axum::http::request::Parts,
    body: Option<Bytes>,
    f: &Faults,
    fired: &mut Vec<Fired>,
) -> (Option<String>, (StatusCode, String), Option<Signing>) {
    let bad_request = |code: &str, m: &str| (None, v3_err(StatusCode::BAD_REQUEST, code, m), None);
    let Some(body) = body else {
        return bad_request("invalid-parameter", "the body is too large or unreadable");
    };
    let Ok(body_text) = std::str::from_utf8(&body) else {
        return bad_request("invalid-parameter", "the body is not UTF-8");
    };
    let Some(auth) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return (
            None,
            v3_err(
                StatusCode::UNAUTHORIZED,
                "missing-signature",
                "the Authorization header is missing",
            ),
            None,
        );
    };
    let auth = match parse_v3_authorization(auth) {
        Ok(a) => a,
        Err(m) => {
            return (
                None,
                v3_err(StatusCode::UNAUTHORIZED, "invalid-signature", &m),
                None,
            );
        }
    };
    let snapshot = state.view(|w| {
        w.apps.get(&auth.app_id).map(|a| {
            let (key, cert_sn) = a.gateway_signer();
            (
                a.app_verifier(),
                a.cert_mode(),
                a.keys.cert().map(|c| c.set.sn.alipay_root_cert_sn.clone()),
                Signing { key, cert_sn },
            )
        })
    });
    let Some((verifier, cert_mode, root_sn, signing)) = snapshot else {
        return bad_request("invalid-app-id", "no such app_id");
    };
    let app_id = Some(auth.app_id.clone());
    let done = |status: StatusCode, code: &str, m: &str, signing: Signing| {
        (app_id.clone(), v3_err(status, code, m), Some(signing))
    };
    let Some((verifier, app_sn)): Option<(Verifier, Option<String>)> = verifier else {
        return done(
            StatusCode::BAD_REQUEST,
            "missing-signature-config",
            "the app has no public key or certificate",
            signing,
        );
    };
    if cert_mode {
        if auth.app_cert_sn.as_deref() != app_sn.as_deref() {
            return done(
                StatusCode::BAD_REQUEST,
                if auth.app_cert_sn.is_none() {
                    "missing-app-cert-sn"
                } else {
                    "app-cert-not-exist"
                },
                "app_cert_sn does not match the app certificate",
                signing,
            );
        }
        let root = parts
            .headers
            .get("alipay-root-cert-sn")
            .and_then(|v| v.to_str().ok());
        if root != root_sn.as_deref() {
            return done(
                StatusCode::BAD_REQUEST,
                if root.is_none() {
                    "missing-alipay-root-cert-sn"
                } else {
                    "invalid-alipay-root-cert-sn"
                },
                "alipay-root-cert-sn does not match the Alipay root certificate",
                signing,
            );
        }
    }
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let app_auth_token = parts
        .headers
        .get("alipay-app-auth-token")
        .and_then(|v| v.to_str().ok());
    if !verify_v3_request(
        &verifier,
        &auth,
        parts.method.as_str(),
        path_and_query,
        body_text,
        app_auth_token,
    ) {
        return done(
            StatusCode::UNAUTHORIZED,
            "invalid-signature",
            "the request signature does not verify with the app's public key",
            signing,
        );
    }
    if faults::roll(f.gateway_busy_rate) {
        fired.push(Fired::GatewayBusy);
        return done(
            StatusCode::SERVICE_UNAVAILABLE,
            "unknow-error",
            "系统繁忙",
            signing,
        );
    }
    let json: serde_json::Value = if body_text.trim().is_empty() {
        serde_json::Value::Object(Default::default())
    } else {
        match serde_json::from_str(body_text) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => {
                return done(
                    StatusCode::BAD_REQUEST,
                    "invalid-parameter",
                    "the body must be a JSON object",
                    signing,
                );
            }
        }
    };
    let field = |name: &str| -> Option<String> {
        json.get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| {
                parse_form(parts.uri.query().unwrap_or("").as_bytes())
                    .ok()
                    .and_then(|q| get(&q, name).map(str::to_string))
            })
    };
    let id = auth.app_id.clone();
    let result = match parts.uri.path() {
        "/v3/alipay/system/oauth/token" => {
            let params: Vec<Param> = ["grant_type", "code", "refresh_token"]
                .iter()
                .filter_map(|k| field(k).map(|v| (k.to_string(), v)))
                .collect();
            oauth_token(state, &id, &params).map_err(|(_, e)| e)
        }
        _ => user_info_share(state, &id, field("auth_token").as_deref()),
    };
    match result {
        Ok(object) => {
            // v3 answers carry the fields without the v2 `code`/`msg`.
            let body = strip_code_msg(&object);
            (app_id, (StatusCode::OK, body), Some(signing))
        }
        Err(e) => {
            let status = match e.code {
                "20001" => StatusCode::UNAUTHORIZED,
                "40006" => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            };
            let code = e
                .sub_code
                .split_once('.')
                .map(|(_, c)| c)
                .unwrap_or(e.sub_code);
            done(status, code, &e.sub_msg, signing)
        }
    }
}

/// Drops a leading `"code":"10000","msg":"Success",` from a v2 object (v3 bodies have neither).
fn strip_code_msg(object: &str) -> String {
    object
        .strip_prefix("{\"code\":\"10000\",\"msg\":\"Success\",")
        .map(|rest| format!("{{{rest}"))
        .unwrap_or_else(|| object.to_string())
}
