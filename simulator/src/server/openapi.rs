//! The OpenAPI 3.1 document of every route, served at `GET /openapi.json` and committed as
//! `simulator/openapi.json` (a test checks served == committed == routes).
//!
//! Written with `json!`, not derived (utoipa), after weighing it for issue 20 item 5: most
//! answers have no Rust type to derive from (apps, users, bundles and the journal are built as
//! JSON; gateway answers are written byte by byte, as they are signed), so derivation would add
//! types rather than remove code; limits come from handler constants, which derive attributes
//! take only as literals; and links, `5XX` answers and the gateway's any-method routes would stay
//! hand-written anyway, with the committed output no longer identical.

use std::sync::OnceLock;

use serde_json::{Value, json};

use super::admin::apps::{MAX_APPS, MAX_NAME_CHARS};
use super::admin::control::MAX_CLOCK_ADVANCE_SECS;
use super::admin::users::{MAX_NICK_NAME_CHARS, MAX_USERS, MOBILE_PATTERN};
use super::admin::{ID_MAX_LEN, id_pattern};
use super::authcode::{FAIL_NO_PERMISSION, FAIL_NO_RESULT, FAIL_REFUSED};
use super::error::BODY_LIMIT;
use super::faults::{
    DEFAULT_GATEWAY_HTTP_STATUS, Fired, GATEWAY_HTTP_STATUSES, MAX_FAIL_MESSAGE_CHARS,
    MAX_LATENCY_MS,
};
use super::forward::RELAY_OWNED;
use super::gateway::{CERT_DOWNLOAD, METHODS, OAUTH_TOKEN, USER_INFO_SHARE};
use super::journal::{Api, JOURNAL_CAPACITY};
use super::listener::{DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
use super::middleware::VERSION;
use crate::model::login::{
    DEFAULT_ACCESS_LIFETIME_SECS, DEFAULT_CODE_LIFETIME_SECS, DEFAULT_REFRESH_LIFETIME_SECS,
    IdentityMode, LoginSettings, MAX_LIFETIME_SECS, OPEN_ID_PATTERN, Scope, USER_ID_PATTERN,
};
use crate::protocol::gateway::{ERROR_RESPONSE, GATEWAY_SUCCESS, V3_SCHEME, response_key};
use crate::protocol::payload::MAX_STEP_COUNT;

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": json_content(schema)})
}

fn error(description: &str) -> Value {
    ok(description, schema_ref("Error"))
}

/// A response with links to further operations (the stateful flows: create an app, then its
/// users, then call the JSAPI). `links` is `(name, operationId, {param: runtime expression})`.
fn linked(mut response: Value, links: &[(&str, &str, Value)]) -> Value {
    let mut map = serde_json::Map::new();
    for (name, operation_id, parameters) in links {
        map.insert(
            (*name).to_string(),
            json!({"operationId": operation_id, "parameters": parameters}),
        );
    }
    response["links"] = Value::Object(map);
    response
}

fn path_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": schema})
}

/// The schema of an app or user id: the pattern [`check_id`](super::admin::check_id) checks.
fn id_schema() -> Value {
    json!({"type": "string", "pattern": id_pattern(), "minLength": 1, "maxLength": ID_MAX_LEN})
}

fn with_example(mut schema: Value, example: &str) -> Value {
    schema["examples"] = json!([example]);
    schema
}

fn app_param() -> Value {
    path_param(
        "app_id",
        "App id (`demo`, `cert`, `no-encryption`, `no-product`, `unsigned` by default). An id outside the pattern is a 400 naming app_id.",
        with_example(id_schema(), "demo"),
    )
}

fn user_param() -> Value {
    path_param(
        "user_id",
        "User id (`alice`, `bob`, `carol`, `dave`, `erin` in `demo`). An id outside the pattern is a 400 naming user_id.",
        with_example(id_schema(), "alice"),
    )
}

fn body(schema: Value, required: bool) -> Value {
    let mut b = json!({"required": required, "content": json_content(schema)});
    if !required {
        b["description"] = json!("Optional: an absent body is read as {}.");
    }
    b
}

fn op(
    operation_id: &str,
    summary: &str,
    description: &str,
    tag: &str,
    params: Vec<Value>,
    responses: Value,
) -> Value {
    let mut o = json!({"operationId": operation_id, "summary": summary, "description": description,
                       "tags": [tag], "responses": responses});
    if !params.is_empty() {
        o["parameters"] = Value::Array(params);
    }
    o
}

/// An operation with a JSON body: 413 and 415 are added to its responses, as [`JsonBody`]
/// answers them on every route.
///
/// [`JsonBody`]: super::error::JsonBody
fn with_body(mut o: Value, b: Value) -> Value {
    o["requestBody"] = b;
    o["responses"]["413"] = error("Body too large (body_too_large).");
    o["responses"]["415"] =
        error("The body is not JSON: a Content-Type other than application/json or *+json.");
    o
}

/// An HTTP header name (a token), as the relay's header parser takes it.
const HEADER_NAME_PATTERN: &str = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

/// An HTTP header value the relay sends: visible ASCII, spaces and tabs.
const HEADER_VALUE_PATTERN: &str = r"^[\t\x20-\x7E]*$";

/// The header names the relay refuses in `headers` (any case), and Content-Type (which goes in
/// `content_type`).
fn relay_owned_pattern() -> String {
    let names: Vec<String> = RELAY_OWNED
        .iter()
        .copied()
        .chain(["content-type"])
        .map(|name| {
            name.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_uppercase(), c)
                    } else if c == '-' {
                        "-".to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    format!("^({})$", names.join("|"))
}

/// The wire names of enum values (their serde names), for `enum` lists that follow the code.
fn enum_names<T: serde::Serialize>(values: &[T]) -> Vec<Value> {
    values
        .iter()
        .map(|v| serde_json::to_value(v).unwrap_or_default())
        .collect()
}

/// A login lifetime in seconds: 1 to [`MAX_LIFETIME_SECS`].
fn lifetime(default: u64, description: &str) -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": MAX_LIFETIME_SECS, "default": default,
           "description": format!("{description} Seconds, 1 to {MAX_LIFETIME_SECS} (a year).")})
}

fn alipay_user_id_schema() -> Value {
    json!({"type": "string", "pattern": USER_ID_PATTERN,
           "description": "The Alipay user_id (2088 and 12 digits). Default: derived from the user id (the same user id is the same Alipay account in every app)."})
}

fn open_id_schema() -> Value {
    json!({"type": "string", "pattern": OPEN_ID_PATTERN,
           "description": "The user's open_id in this app. Default: derived from the app and user ids."})
}

fn nick_name_schema() -> Value {
    json!({"type": "string", "maxLength": MAX_NICK_NAME_CHARS,
           "description": "The nick_name of alipay.user.info.share. Default: the user id."})
}

fn app_public_key_input() -> Value {
    json!({"type": "string", "description": "Key mode: the app's public key (SPKI PEM or the console's one-line base64) that verifies its gateway requests. Default: the key set's TEST app key, whose private half the bundle carries. A text that is not an RSA public key is a 400 naming app_public_key. Not together with app_cert."})
}

fn app_cert_input() -> Value {
    json!({"type": "string", "description": "Certificate mode: the app certificate (appCertPublicKey_<app_id>.crt text, PEM) whose key verifies the app's gateway requests and whose SN they must carry. Default: the key set's TEST app certificate. A text that is not such a certificate is a 400 naming app_cert. Not together with app_public_key (400 naming app_cert)."})
}

/// The one-line rule for `null`, shared by the schemas' descriptions.
const NULL_RULE: &str = "Every member may be omitted (its default applies); none may be null (400 naming it), except a user's mobile, where null is a value (no mobile key).";

fn schemas() -> Value {
    let mut s = base_schemas();
    s["GetRunDataBody"] = run_data_body_schema();
    s["Steps"] = steps_schema();
    s
}

/// `my.getRunData`'s optional body.
fn run_data_body_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": "Optional. countDate: the day, yyyy-mm-dd (omitted: today in China, UTC+8); a value that is not a real day (1970-01-01 to 9999-12-31) is answered with the fail callback {\"error\":2,...}. protocols.isvAppId matters for ISV template apps only.",
        "properties": {"countDate": {"type": "string"},
                       "protocols": {"type": "object", "additionalProperties": false,
                                     "properties": {"isvAppId": {"type": "string"}}}}
    })
}

/// A user's `steps` (admin API).
fn steps_schema() -> Value {
    json!({
        "anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_STEP_COUNT}, {"const": "generated"}],
        "description": "The day's step count my.getRunData answers: a count (the same every day) or \"generated\" (drawn from the app, the user and the day: 0 to 30000, stable; the default)."
    })
}

fn base_schemas() -> Value {
    let mut all = admin_schemas();
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), login_schemas()) {
        all.extend(more);
    }
    all
}

fn admin_schemas() -> Value {
    json!({
        "Error": {
            "type": "object",
            "description": "Every 4xx answer.",
            "required": ["error", "message", "field"],
            "properties": {
                "error": {"type": "string", "description": "Stable snake_case kind, e.g. unknown_app, unknown_user, unknown_scenario, malformed_json, invalid_field, body_too_large, not_found, method_not_allowed."},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"], "description": "The offending field, path or query parameter."}
            }
        },
        "Health": {"type": "object", "required": ["status", "version"],
                   "properties": {"status": {"const": "ok"}, "version": {"type": "string"}}},
        "Console": {
            "type": "object",
            "description": "The mini-program's Open Platform console configuration (alipay_sim::Console). Every field is optional; the default is fully configured.",
            "additionalProperties": false,
            "properties": {
                "encryption": {"enum": ["none", "aes-128", "aes-192", "aes-256", "invalid"], "default": "aes-128"},
                "signing": {"enum": ["none", "RSA2", "RSA", "cert"], "default": "RSA2", "description": "cert: certificate mode (公钥证书), RSA2 signed with the key of the Alipay certificate in the bundle's cert.pem.alipay_cert."},
                "gateway": {"type": "boolean", "default": true},
                "product_bound": {"type": "boolean", "default": true},
                "user_info_approved": {"type": "boolean", "default": true},
                "isv_template": {"type": "boolean", "default": false},
                "envelope_fields": {"enum": ["minimal", "full"], "default": "minimal"},
                "unencrypted_shape": {"enum": ["nested", "bare", "object"], "default": "nested"},
                "alipay_cert_sn": {"type": "boolean", "default": false, "description": "With signing cert: signed envelopes also carry \"alipay_cert_sn\"."}
            }
        },
        "App": {
            "type": "object",
            "description": "An app as the admin API answers it.",
            "additionalProperties": false,
            "required": ["app_id", "name", "console", "keys", "login"],
            "properties": {
                "app_id": id_schema(),
                "name": {"type": "string", "maxLength": MAX_NAME_CHARS},
                "console": schema_ref("Console"),
                "keys": schema_ref("KeysMode"),
                "login": schema_ref("LoginSettings"),
                "app_public_key": {"type": "string", "description": "The app public key given through the admin API (one-line base64); absent: the key set's TEST app key verifies the app's gateway requests."},
                "app_cert": {"type": "string", "description": "The app certificate given through the admin API (PEM); absent: the key set's TEST app certificate."}
            }
        },
        "LoginSettings": {
            "type": "object",
            "description": format!("The app's login settings (my.getAuthCode and the OpenAPI gateway). {NULL_RULE}"),
            "additionalProperties": false,
            "properties": {
                "identity": {"enum": enum_names(&[IdentityMode::OpenId, IdentityMode::UserId, IdentityMode::Both]), "default": IdentityMode::default(),
                             "description": "The identifiers alipay.system.oauth.token and alipay.user.info.share return: open_id (apps created after Alipay's user_id to open_id migration), user_id (older apps) or both."},
                "code_lifetime_secs": lifetime(DEFAULT_CODE_LIFETIME_SECS, "Auth-code lifetime."),
                "access_token_lifetime_secs": lifetime(DEFAULT_ACCESS_LIFETIME_SECS, "Access-token lifetime (expires_in)."),
                "refresh_token_lifetime_secs": lifetime(DEFAULT_REFRESH_LIFETIME_SECS, "Refresh-token lifetime (re_expires_in)."),
                "scopes": {"type": "array", "items": {"enum": enum_names(&[Scope::AuthBase, Scope::AuthUser])}, "default": LoginSettings::default().scopes,
                           "description": "The scopes the app may ask my.getAuthCode for (auth_user needs the member-information product). A scope asked for and not listed here lands in authErrorScopes."}
            }
        },
        "KeysMode": {"enum": ["embedded", "generated"], "default": "embedded",
                     "description": "embedded: the server's key set (embedded TEST keys or --keys). generated: a fresh set made when the app is created (two RSA-2048 key generations and a TEST certificate set: a fraction of a second to a few seconds); a replacement that asks for generated keys keeps them."},
        "AppCreate": {
            "type": "object",
            "description": format!("Body of POST /__admin/apps. {NULL_RULE}"),
            "additionalProperties": false,
            "required": ["app_id"],
            "properties": {
                "app_id": id_schema(),
                "name": {"type": "string", "maxLength": MAX_NAME_CHARS, "description": "Default: the app_id."},
                "console": {"allOf": [schema_ref("Console")], "description": "Default: fully configured."},
                "keys": schema_ref("KeysMode"),
                "login": {"allOf": [schema_ref("LoginSettings")], "description": "Default: open_id, the default lifetimes, both scopes."},
                "app_public_key": app_public_key_input(),
                "app_cert": app_cert_input()
            },
            "not": {"required": ["app_public_key", "app_cert"]}
        },
        "AppBody": {
            "type": "object",
            "description": format!("Body of PUT and PATCH /__admin/apps/{{app_id}}: the app id is the path's. {NULL_RULE} PUT: an omitted member takes its default. PATCH: an omitted member keeps its value; console merges member by member. The body may also carry app_id when it equals the path's (so that a GET answer can be sent back as it is); a different app_id is a 400 naming app_id."),
            "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "maxLength": MAX_NAME_CHARS, "description": "Default (PUT): the app_id."},
                "console": {"allOf": [schema_ref("Console")], "description": "Default (PUT): fully configured. PATCH: only the members given change."},
                "keys": schema_ref("KeysMode"),
                "login": {"allOf": [schema_ref("LoginSettings")], "description": "Default (PUT): open_id, the default lifetimes, both scopes. PATCH: only the members given change."},
                "app_public_key": app_public_key_input(),
                "app_cert": app_cert_input()
            },
            "not": {"required": ["app_public_key", "app_cert"]}
        },
        "Mobile": {
            "anyOf": [{"type": "null"}, {"enum": ["", "fresh", "generated"]},
                      {"type": "string", "pattern": MOBILE_PATTERN}],
            "description": "A number (mainland 11 digits, or cc-number for overseas), \"\" (empty mobile), null (no mobile key), \"fresh\" (a new generated mobile on every call), \"generated\" (one generated mobile, kept: what an omitted mobile means on POST and PUT). Generated mobiles follow the seed."
        },
        "User": {
            "type": "object",
            "description": "A user as the admin API answers it (mobile: a number, \"\", \"fresh\" or null).",
            "additionalProperties": false,
            "required": ["user_id", "authorised", "mobile", "alipay_user_id", "open_id", "nick_name"],
            "properties": {
                "user_id": id_schema(),
                "authorised": {"type": "boolean"},
                "mobile": schema_ref("Mobile"),
                "alipay_user_id": alipay_user_id_schema(),
                "open_id": open_id_schema(),
                "nick_name": nick_name_schema(),
                "steps": schema_ref("Steps")
            }
        },
        "UserCreate": {
            "type": "object",
            "description": format!("Body of POST /__admin/apps/{{app_id}}/users. {NULL_RULE}"),
            "additionalProperties": false,
            "required": ["user_id"],
            "properties": {
                "user_id": id_schema(),
                "authorised": {"type": "boolean", "default": false, "description": "Consented on the getAuthorize button with scope phoneNumber."},
                "mobile": schema_ref("Mobile"),
                "alipay_user_id": alipay_user_id_schema(),
                "open_id": open_id_schema(),
                "nick_name": nick_name_schema(),
                "steps": schema_ref("Steps")
            }
        },
        "UserBody": {
            "type": "object",
            "description": format!("Body of PUT and PATCH /__admin/apps/{{app_id}}/users/{{user_id}}: the user id is the path's. {NULL_RULE} PUT: an omitted member takes its default. PATCH: an omitted member keeps its value. The body may also carry user_id when it equals the path's; a different user_id is a 400 naming user_id."),
            "additionalProperties": false,
            "properties": {
                "authorised": {"type": "boolean", "default": false, "description": "Consented on the getAuthorize button with scope phoneNumber."},
                "mobile": schema_ref("Mobile"),
                "alipay_user_id": alipay_user_id_schema(),
                "open_id": open_id_schema(),
                "nick_name": nick_name_schema(),
                "steps": schema_ref("Steps")
            }
        },
        "Bundle": {
            "type": "object",
            "description": "What the app's merchant backend is configured with. Never the Alipay private key.",
            "required": ["app_id", "alipay_public_key", "alipay_public_key_pem", "aes_key", "sign_type"],
            "properties": {
                "app_id": {"type": "string"},
                "test_only": {"const": true},
                "warning": {"type": "string"},
                "alipay_public_key": {"type": "string", "description": "One-line base64 SPKI (the console form)."},
                "alipay_public_key_pem": {"type": "string"},
                "aes_key": {"type": ["string", "null"], "description": "Base64 AES key of the configured size; null without content encryption."},
                "sign_type": {"enum": ["RSA2", "RSA", null]},
                "encrypt_type": {"enum": ["AES", null]},
                "charset": {"const": "UTF-8"},
                "cert": {"type": "object", "description": "Certificate mode: the three certificate files a merchant configures instead of the public key (file names, PEM text in pem.alipay_root_cert, pem.alipay_cert, pem.app_cert) and the SNs its SDK computes (app_cert_sn, alipay_cert_sn, alipay_root_cert_sn). Certificates only, never a private key."},
                "app_public_key": {"type": "string", "description": "The app's own public key (one-line base64) the gateway verifies its requests with. Absent when the app has neither key nor certificate."},
                "app_cert_sn": {"type": "string", "description": "Certificate mode: the SN of the app certificate, the app_cert_sn of its gateway requests."},
                "app_private_key": {"type": "string", "description": "TEST ONLY: the app's own private key (PKCS#8 PEM) the merchant's SDK signs its gateway requests with, when it is the key set's app key (absent after app_public_key or app_cert was given). Never an Alipay private key."},
                "app_private_key_warning": {"type": "string"},
                "identity": {"enum": enum_names(&[IdentityMode::OpenId, IdentityMode::UserId, IdentityMode::Both]), "description": "login.identity: the identifiers the gateway returns."},
                "alipay_cert_sn": {"type": "string", "description": "After POST /__admin/apps/{app_id}/rotate-alipay-cert: the SN of the Alipay certificate now in use."},
                "alipay_cert": {"type": "string", "description": "After a rotation: that certificate (PEM, leaf then intermediate)."},
                "alipay_root_cert": {"type": "string", "description": "After a rotation: the TEST root bundle it chains to (PEM)."}
            }
        },
        "Faults": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "busy_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0, "description": "Share of getPhoneNumber answers turned into 20000 aop.unknow-error."},
                "busy_delivery": {"enum": ["encrypted", "plaintext"], "default": "encrypted"},
                "latency_ms": {"type": "integer", "minimum": 0, "maximum": MAX_LATENCY_MS, "default": 0, "description": "Added before every JSAPI answer."},
                "drop_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0, "description": "Share of JSAPI calls whose connection is closed without an answer."},
                "fail_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0, "description": "Share of getPhoneNumber calls answered with the fail callback."},
                "fail_error": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX, "default": 1},
                "fail_message": {"type": "string", "default": "该接口暂不支持", "maxLength": MAX_FAIL_MESSAGE_CHARS},
                "gateway_busy_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0, "description": "Share of OpenAPI gateway answers turned into 20000 isp.unknow-error (v3: 503 unknow-error)."},
                "gateway_bad_sign_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0, "description": "Share of signed gateway answers whose signature does not verify."},
                "gateway_latency_ms": {"type": "integer", "minimum": 0, "maximum": MAX_LATENCY_MS, "default": 0, "description": "Added before every gateway answer."},
                "gateway_http_error_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0, "description": "Share of gateway calls answered with an HTTP 5xx and an HTML body (a failing load balancer): the only 5xx the simulator sends, and only when asked to."},
                "gateway_http_status": {"type": "integer", "minimum": GATEWAY_HTTP_STATUSES.start(), "maximum": GATEWAY_HTTP_STATUSES.end(), "default": DEFAULT_GATEWAY_HTTP_STATUS, "description": "The status of those answers."}
            }
        },
        "SuccessCallback": {
            "type": "object",
            "description": "Exactly the object my.getPhoneNumber's success callback receives.",
            "required": ["response"],
            "properties": {"response": {"type": ["string", "object"], "description": "The envelope {\"response\":\"<ciphertext>\",\"sign\":\"...\"} as a string; an object for the unencrypted object shape."}}
        },
        "FailCallback": {
            "type": "object",
            "required": ["error", "errorMessage"],
            "properties": {"error": {"type": "integer"}, "errorMessage": {"type": "string"}}
        },
        "AuthorizeBody": {
            "type": "object",
            "additionalProperties": false,
            "required": ["scope", "consent"],
            "properties": {"scope": {"const": "phoneNumber"}, "consent": {"type": "boolean"}}
        },
        "AuthorizeAnswer": {
            "type": "object",
            "required": ["callback", "detail"],
            "properties": {
                "callback": {"enum": ["onGetAuthorize", "onError"]},
                "detail": {"type": "object", "description": "{} on consent; {\"type\":\"getAuthorize\",\"errorMessage\":\"用户拒绝授权\"} on refusal."}
            }
        },
        "GetPhoneNumberBody": {
            "type": "object",
            "additionalProperties": false,
            "description": "Optional. protocols.isvAppId matters for ISV template apps only.",
            "properties": {"protocols": {"type": "object", "additionalProperties": false,
                                         "properties": {"isvAppId": {"type": "string"}}}}
        },
        "Setting": {
            "type": "object",
            "required": ["authSetting"],
            "properties": {"authSetting": {"type": "object", "required": ["phoneNumber"],
                                            "properties": {"phoneNumber": {"type": "boolean"}}}}
        },
        "JournalEntry": {
            "type": "object",
            "required": ["seq", "request_id", "api", "callback", "answer"],
            "properties": {
                "seq": {"type": "integer"},
                "request_id": {"type": "string"},
                "api": {"enum": enum_names(&Api::ALL)},
                "app_id": {"type": ["string", "null"]},
                "user_id": {"type": ["string", "null"]},
                "scenario": {"type": ["string", "null"]},
                "callback": {"enum": ["success", "fail", "onGetAuthorize", "onError", "dropped", "gateway"], "description": "gateway: an OpenAPI gateway answer."},
                "outcome": {"enum": ["accept", "no_mobile", "platform_error", "retry_later", "reject", null]},
                "code": {"type": ["string", "null"]},
                "sub_code": {"type": ["string", "null"]},
                "faults": {"type": "array", "items": {"enum": enum_names(&Fired::ALL)}},
                "answer": {"description": "The exact body sent (null when dropped)."}
            }
        },
        "Scenario": {
            "type": "object",
            "required": ["id", "kind", "title", "expect"],
            "properties": {
                "id": {"type": "string"}, "kind": {"enum": ["platform", "tamper"]},
                "title": {"type": "string"}, "expect": {"type": "object"},
                "severity": {"type": "string"}, "bug_class": {"type": "string"},
                "console": {"allOf": [schema_ref("Console")], "description": "The console the case models: an app created with it gets the matching bundle."},
                "merchant": {"type": "object", "description": "The merchant configuration the case applies to (verifies, aes_bits, any_signing)."}
            }
        },
        "ForwardRequest": {"type": "object", "additionalProperties": false, "required": ["url"],
            "description": "A GET has no body: with method GET, body must be empty (400 naming body).",
            "anyOf": [{"properties": {"method": {"pattern": "^[Pp][Oo][Ss][Tt]$"}}},
                      {"properties": {"body": {"maxLength": 0}}}],
            "properties": {"url": {"type": "string", "description": "The merchant URL: loopback (127.0.0.0/8, ::1, localhost) unless serve --allow-forward admits it. Anything else, a text that is not an http(s) URL included, is refused with 403 forward_refused (field url) and nothing is sent."},
                           "method": {"type": "string", "pattern": "^([Pp][Oo][Ss][Tt]|[Gg][Ee][Tt])$", "default": "POST", "description": "POST (default) or GET (no body); case does not matter."},
                           "body": {"type": "string", "default": "", "description": "Sent as it is, with its real Content-Length."},
                           "content_type": {"type": "string", "pattern": HEADER_VALUE_PATTERN, "description": "Default application/json, like my.request."},
                           "headers": {"type": "object",
                                       "propertyNames": {"pattern": HEADER_NAME_PATTERN, "not": {"pattern": relay_owned_pattern()}},
                                       "additionalProperties": {"type": "string", "pattern": HEADER_VALUE_PATTERN},
                                       "description": "Extra headers, as my.request's headers. Host, Content-Length, Transfer-Encoding, User-Agent, X-Alipay-Sim-Forwarded and hop-by-hop headers (Connection, Keep-Alive, TE, Trailer, Upgrade, Expect, Proxy-*) are set by the relay and refused here (400, field headers). The content type goes in content_type: a Content-Type member here is accepted only when it agrees with content_type (400 naming content_type otherwise)."}}},
        "ForwardAnswer": {"type": "object", "required": ["status", "headers", "body", "elapsed_ms"],
            "properties": {"status": {"type": "integer"}, "headers": {"type": "object"}, "body": {"type": "string"},
                           "elapsed_ms": {"type": "integer"}, "truncated": {"type": "boolean"},
                           "lossy": {"type": "boolean"}, "url": {"type": "string"}}},
        "Seed": {"type": "object", "additionalProperties": false, "required": ["seed"],
                 "properties": {"seed": {"type": "integer", "minimum": 0}, "drawn": {"type": "integer"}}},
        "SeedInput": {"type": "object", "additionalProperties": false, "required": ["seed"],
                 "properties": {"seed": {"type": "integer", "minimum": 0, "maximum": u64::MAX, "description": "An integral number (7 or 7.0)."}}},
        "Clock": {"type": "object", "additionalProperties": false, "required": ["now_ms", "offset_ms"],
                  "properties": {"now_ms": {"type": "integer", "minimum": 0, "description": "The simulator's time, ms since the epoch: the system time plus the offset."},
                                 "offset_ms": {"type": "integer", "minimum": 0, "description": "How far the clock was moved forward since start-up or the last reset."}}},
        "ClockAdvance": {"type": "object", "additionalProperties": false, "required": ["advance_secs"],
                  "properties": {"advance_secs": {"type": "integer", "minimum": 0, "maximum": MAX_CLOCK_ADVANCE_SECS, "description": "Seconds to move the clock forward (7 or 7.0)."}}},
        "Rotation": {"type": "object", "additionalProperties": false, "required": ["app_id", "alipay_cert_sn"],
                  "properties": {"app_id": id_schema(), "alipay_cert_sn": {"type": "string", "description": "The SN of the new Alipay certificate."}}}
    })
}

/// The schemas of the login: `my.getAuthCode` and the OpenAPI gateway's answers.
fn login_schemas() -> Value {
    let scope_names = enum_names(&[Scope::AuthBase, Scope::AuthUser]);
    let scope_text = [Scope::AuthBase, Scope::AuthUser]
        .map(Scope::as_str)
        .join(", ");
    let identity = |o: &mut Value| {
        o["properties"]["user_id"] = json!({"type": "string", "pattern": USER_ID_PATTERN, "description": "With login.identity user_id or both."});
        o["properties"]["open_id"] = json!({"type": "string", "pattern": OPEN_ID_PATTERN, "description": "With login.identity open_id (the default) or both."});
    };
    let mut token = json!({
        "type": "object", "additionalProperties": false,
        "description": "alipay.system.oauth.token's answer: the identity, the tokens and their lifetimes (login.*_lifetime_secs).",
        "required": ["access_token", "expires_in", "refresh_token", "re_expires_in", "auth_start"],
        "properties": {
            "access_token": {"type": "string"}, "expires_in": {"type": "integer", "minimum": 1, "maximum": MAX_LIFETIME_SECS},
            "refresh_token": {"type": "string"}, "re_expires_in": {"type": "integer", "minimum": 1, "maximum": MAX_LIFETIME_SECS},
            "auth_start": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$", "description": "When the user authorised, Beijing time; kept across refreshes."}
        }
    });
    identity(&mut token);
    let profile = |v2: bool| {
        let mut o = json!({
            "type": "object", "additionalProperties": false,
            "description": "alipay.user.info.share's answer (an auth_user token): the identity and the profile.",
            "required": ["avatar", "city", "gender", "nick_name", "province"],
            "properties": {"avatar": {"type": "string"}, "city": {"type": "string"}, "gender": {"enum": ["F", "M"]},
                           "nick_name": {"type": "string"}, "province": {"type": "string"}}
        });
        identity(&mut o);
        if v2 {
            o["required"] = json!([
                "code",
                "msg",
                "avatar",
                "city",
                "gender",
                "nick_name",
                "province"
            ]);
            o["properties"]["code"] = json!({"const": GATEWAY_SUCCESS});
            o["properties"]["msg"] = json!({"const": "Success"});
        }
        o
    };
    json!({
        "AuthCodeBody": {
            "type": "object", "additionalProperties": false,
            "description": format!("Body of my.getAuthCode. {NULL_RULE}"),
            "properties": {
                "scopes": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}], "default": "auth_base",
                           "description": format!("One scope or a list ({scope_text}). A name that is no scope, or an empty list, answers the fail callback with error {FAIL_NO_RESULT}; scopes the app may not ask for (login.scopes) land in authErrorScopes, and none left answers error {FAIL_NO_PERMISSION}.")},
                "consent": {"type": "boolean", "default": true, "description": format!("The user's choice on the consent sheet auth_user shows; false answers the fail callback with error {FAIL_REFUSED}. auth_base shows no sheet.")}
            }
        },
        "AuthCodeSuccess": {
            "type": "object", "additionalProperties": false,
            "description": "Exactly the object my.getAuthCode's success callback receives. The code is single use, bound to the app, the user and the granted scopes, and expires after login.code_lifetime_secs.",
            "required": ["authCode", "authErrorScopes", "authSuccessScopes"],
            "properties": {
                "authCode": {"type": "string"},
                "authErrorScopes": {"type": "object", "additionalProperties": {"const": "40006"}, "description": "Each refused scope with 40006."},
                "authSuccessScopes": {"type": "array", "minItems": 1, "items": {"enum": scope_names}}
            }
        },
        "OauthToken": token,
        "UserInfoShare": profile(true),
        "UserInfoShareV3": profile(false),
        "CertDownload": {
            "type": "object", "additionalProperties": false,
            "description": "alipay.open.app.alipaycert.download's answer (certificate mode): the Alipay certificate of the SN asked for, base64 of its PEM.",
            "required": ["code", "msg", "alipay_cert_content"],
            "properties": {"code": {"const": GATEWAY_SUCCESS}, "msg": {"const": "Success"}, "alipay_cert_content": {"type": "string"}}
        },
        "GatewayError": {
            "type": "object", "additionalProperties": false,
            "description": "Alipay's error object: a public code (20000 busy, 20001 token, 40001 missing parameter, 40002 invalid parameter, 40004 business failure, 40006 permission) and the specific sub_code (isv.*, aop.*, isp.*) with a sub_msg in Chinese, as Alipay writes them.",
            "required": ["code", "msg", "sub_code", "sub_msg"],
            "properties": {"code": {"enum": ["20000", "20001", "40001", "40002", "40004", "40006"]}, "msg": {"type": "string"},
                           "sub_code": {"type": "string"}, "sub_msg": {"type": "string"}}
        },
        "GatewayAnswer": gateway_answer(),
        "GatewayParams": gateway_params_schema(),
        "V3TokenBody": {
            "type": "object",
            "description": "alipay.system.oauth.token's JSON body; a member may also come from the query.",
            "properties": {"grant_type": {"type": "string", "description": "authorization_code or refresh_token; anything else is a 400 grant-type-invalid."},
                           "code": {"type": "string"}, "refresh_token": {"type": "string"}}
        },
        "V3UserInfoBody": {
            "type": "object",
            "description": "alipay.user.info.share's JSON body; auth_token may also come from the query.",
            "properties": {"auth_token": {"type": "string"}}
        },
        "V3Error": {
            "type": "object", "additionalProperties": false,
            "description": "A v3 error: the v2 sub_code without its isv./aop./isp. prefix, and a message.",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}
        }
    })
}

/// A v2 answer: `{"<method>_response": {...}, "sign": "..."}` (and `alipay_cert_sn` in
/// certificate mode), or the same with `error_response`.
fn gateway_answer() -> Value {
    let mut properties = serde_json::Map::new();
    for method in METHODS {
        let success = match method {
            OAUTH_TOKEN => "OauthToken",
            USER_INFO_SHARE => "UserInfoShare",
            CERT_DOWNLOAD => "CertDownload",
            _ => continue,
        };
        properties.insert(
            response_key(method),
            json!({"anyOf": [schema_ref(success), schema_ref("GatewayError")]}),
        );
    }
    properties.insert(ERROR_RESPONSE.into(), schema_ref("GatewayError"));
    properties.insert(
        "alipay_cert_sn".into(),
        json!({"type": "string", "description": "Certificate mode: the SN of the Alipay certificate that signed the answer (a new one after a rotation)."}),
    );
    properties.insert(
        "sign".into(),
        json!({"type": "string", "description": "RSA2 over the exact bytes of the response object, base64. Absent from the answers given before the app's keys are known (no app_id, an unknown app_id)."}),
    );
    json!({
        "type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 3,
        "description": "A /gateway.do answer, always HTTP 200: one response object under <method>_response (the method's answer, or an error about the method's call) or error_response (errors before a method is known, and code or token errors of alipay.system.oauth.token), then alipay_cert_sn and sign.",
        "properties": properties
    })
}

/// The v2 common and method parameters: every one optional in the schema, since the gateway
/// answers a missing or malformed one in its own answer (HTTP 200), never with an HTTP error.
fn gateway_params() -> Vec<(&'static str, String)> {
    vec![
        ("app_id", "The app (an admin API app id). Missing: 40001 isv.missing-app-id; unknown: 40002 isv.invalid-app-id (unsigned).".into()),
        ("method", format!("{OAUTH_TOKEN}, {USER_INFO_SHARE}, or in certificate mode {CERT_DOWNLOAD}. Missing: isv.missing-method; another: isv.invalid-method.")),
        ("format", "JSON (any case) or omitted; another: isv.invalid-format.".into()),
        ("charset", "utf-8 (or utf8, any case) or omitted; another: isv.invalid-charset.".into()),
        ("sign_type", "RSA2 or RSA. Missing: isv.missing-signature-type; another: isv.invalid-signature-type.".into()),
        ("sign", "Base64 signature with the app's private key over every other parameter sorted by name and joined name=value&... (raw values; with or without the empty ones). Missing: isv.missing-signature; one that does not verify: isv.invalid-signature, quoting the string the gateway verified.".into()),
        ("timestamp", "yyyy-MM-dd HH:mm:ss. Missing: isv.missing-timestamp; another form: isv.invalid-timestamp.".into()),
        ("version", "1.0. Missing: isv.missing-version; another: isv.invalid-version.".into()),
        ("app_cert_sn", "Certificate mode: the app certificate's SN (isv.missing-app-cert-sn, isv.app-cert-not-exist).".into()),
        ("alipay_root_cert_sn", "Certificate mode: the Alipay root certificate's SN (isv.missing-alipay-root-cert-sn, isv.invalid-alipay-root-cert-sn).".into()),
        ("grant_type", format!("{OAUTH_TOKEN}: authorization_code (with code) or refresh_token (with refresh_token); another: isv.grant-type-invalid.")),
        ("code", format!("{OAUTH_TOKEN}: the authCode of my.getAuthCode; single use, bound to the app; one unknown, used or expired: isv.code-invalid.")),
        ("refresh_token", format!("{OAUTH_TOKEN}: a refresh token of this app.")),
        ("auth_token", format!("{USER_INFO_SHARE}: an access token with scope auth_user (aop.invalid-auth-token, aop.auth-token-time-out, isv.insufficient-user-permissions).")),
        ("biz_content", format!("{CERT_DOWNLOAD}: {{\"alipay_cert_sn\":\"<SN>\"}}.")),
    ]
}

fn gateway_params_schema() -> Value {
    let mut properties = serde_json::Map::new();
    for (name, description) in gateway_params() {
        properties.insert(
            name.into(),
            json!({"type": "string", "description": description}),
        );
    }
    json!({
        "type": "object",
        "description": "The v2 parameters as a form body (application/x-www-form-urlencoded, UTF-8). The query may carry any of them too (the SDKs put the common ones there); a parameter given twice is isv.invalid-parameter. Other parameters are signed like the rest.",
        "properties": properties,
        "additionalProperties": {"type": "string"}
    })
}

fn paths() -> Value {
    let mut all = admin_paths();
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), login_paths()) {
        all.extend(more);
    }
    all
}

/// The methods the gateway's routes answer (every one, in Alipay's shape), as the routes test
/// probes them.
const GATEWAY_METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `getAuthCode`, the clock, the Alipay-certificate rotation and the OpenAPI gateway.
fn login_paths() -> Value {
    let bad = error(
        "Malformed JSON, wrong types, null, unknown fields, or an id outside its pattern (the error names the field).",
    );
    let v2_params: Vec<Value> = gateway_params()
        .into_iter()
        .map(|(name, description)| {
            json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}})
        })
        .collect();
    let html_5xx = json!({"description": "Only when the gateway_http_error_rate fault fires: its gateway_http_status and an HTML body (header X-Alipay-Sim-Fault: gateway_http_error).",
                          "content": {"text/html": {"schema": {"type": "string"}}}});
    let mut gateway = serde_json::Map::new();
    for method in GATEWAY_METHODS {
        let (summary, description) = match method {
            "get" => (
                "The v2 gateway, parameters in the query",
                "What an SDK sends with GET: every parameter in the query.",
            ),
            "post" => (
                "The v2 gateway, form POST",
                "What the SDKs send: a form body (application/x-www-form-urlencoded; also read when Content-Type is absent), the common parameters there or in the query. A body of another type is not read.",
            ),
            _ => (
                "The v2 gateway, another method",
                "Answered like GET, in Alipay's shape: the parameters are read from the query; a body is not read.",
            ),
        };
        let mut o = op(
            &format!("gateway{}", capitalised(method)),
            summary,
            &format!(
                "{description} Methods: {OAUTH_TOKEN}, {USER_INFO_SHARE}, {CERT_DOWNLOAD} (certificate mode). Every answer is HTTP 200 with Alipay's object, errors included (a missing or wrong parameter, a signature that does not verify, a code already used, a body over {BODY_LIMIT} bytes: isv.invalid-parameter), signed with the app's Alipay key once the app is known. Faults: gateway_busy_rate, gateway_bad_sign_rate, gateway_latency_ms, gateway_http_error_rate. Journaled with api gateway."
            ),
            "gateway",
            v2_params.clone(),
            json!({"200": ok("Alipay's answer or error object.", schema_ref("GatewayAnswer")), "5XX": html_5xx.clone()}),
        );
        if method == "post" {
            o["requestBody"] = json!({"required": false, "content": {"application/x-www-form-urlencoded": {"schema": schema_ref("GatewayParams")}}});
        }
        gateway.insert(method.into(), o);
    }
    let v3 = |path: &str, base: &str, what: &str, body_schema: &str, ok_schema: &str| {
        let mut item = serde_json::Map::new();
        for method in GATEWAY_METHODS {
            let mut params = vec![
                json!({"name": "Authorization", "in": "header", "required": true,
                       "description": format!("{V3_SCHEME} app_id=...,[app_cert_sn=...,]nonce=...,timestamp=<ms>,sign=<base64>: RSA2 with the app's private key over the auth string, the method, the path and query, the body and (when sent) the alipay-app-auth-token header, each followed by a newline. Missing, malformed or not verifying: 401 missing-signature / invalid-signature."),
                       "schema": {"type": "string"}}),
                json!({"name": "alipay-root-cert-sn", "in": "header", "required": false, "description": "Certificate mode: the Alipay root certificate's SN (400 missing-alipay-root-cert-sn, invalid-alipay-root-cert-sn).", "schema": {"type": "string"}}),
                json!({"name": "alipay-app-auth-token", "in": "header", "required": false, "description": "Signed when sent; not otherwise used.", "schema": {"type": "string"}}),
            ];
            if base == "userInfoShareV3" {
                params.push(json!({"name": "auth_token", "in": "query", "required": false, "description": "The access token (auth_user), when the body does not carry it.", "schema": {"type": "string"}}));
            }
            let signed = |d: &str| {
                json!({"description": d,
                "headers": {"alipay-trace-id": {"required": true, "schema": {"type": "string"}},
                            "alipay-timestamp": {"schema": {"type": "string"}, "description": "Signed answers (the app is known): milliseconds."},
                            "alipay-nonce": {"schema": {"type": "string"}},
                            "alipay-signature": {"schema": {"type": "string"}, "description": "RSA2 over timestamp, nonce and body, each followed by a newline, base64."},
                            "alipay-sn": {"schema": {"type": "string"}, "description": "Certificate mode: the signing Alipay certificate's SN."}},
                "content": json_content(schema_ref(if d.starts_with("The answer") { ok_schema } else { "V3Error" }))})
            };
            let mut o = op(
                &format!("{base}{}", capitalised(method)),
                &format!("v3 {what}"),
                &format!(
                    "The v3 protocol: JSON, the Authorization header, signed response headers. Every method is answered alike (the method is part of what is signed); the SDKs use {}. Errors are the v3 error object; faults as for /gateway.do (busy: 503 unknow-error). Journaled with api gateway.v3.",
                    if base == "oauthTokenV3" {
                        "POST"
                    } else {
                        "GET or POST"
                    }
                ),
                "gateway",
                params,
                json!({"200": signed("The answer."),
                       "400": signed("A body that is not a JSON object or not UTF-8 (or over the limit), an unknown app_id, a certificate SN that does not match, a wrong grant_type, a code or refresh token that is unknown, used or expired."),
                       "401": signed("No, a malformed or a not verifying Authorization; an unknown or expired access token."),
                       "403": signed("An access token without auth_user."),
                       "503": signed("The gateway_busy_rate fault fired."),
                       "5XX": html_5xx.clone()}),
            );
            if !matches!(method, "get" | "delete") {
                o["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": schema_ref(body_schema)}}});
            }
            item.insert(method.into(), o);
        }
        (path.to_string(), Value::Object(item))
    };
    let mut paths = serde_json::Map::new();
    paths.insert("/gateway.do".into(), Value::Object(gateway));
    for (path, item) in [
        v3(
            "/v3/alipay/system/oauth/token",
            "oauthTokenV3",
            OAUTH_TOKEN,
            "V3TokenBody",
            "OauthToken",
        ),
        v3(
            "/v3/alipay/user/info/share",
            "userInfoShareV3",
            USER_INFO_SHARE,
            "V3UserInfoBody",
            "UserInfoShareV3",
        ),
    ] {
        paths.insert(path, item);
    }
    paths.insert("/jsapi/apps/{app_id}/users/{user_id}/getAuthCode".into(), json!({"post": with_body(op(
        "getAuthCode",
        "my.getAuthCode",
        "Answers exactly the success-callback object (header X-Alipay-Sim-Callback: success) with a fresh auth code for alipay.system.oauth.token, or the fail-callback object (X-Alipay-Sim-Callback: fail). The JSAPI faults drop and latency apply. Journaled with api getAuthCode.",
        "jsapi", vec![app_param(), user_param()],
        json!({"200": {"description": "The success or fail callback object.",
                       "headers": {"X-Alipay-Sim-Callback": {"schema": {"enum": ["success", "fail"]}}},
                       "content": json_content(json!({"oneOf": [schema_ref("AuthCodeSuccess"), schema_ref("FailCallback")]}))},
               "400": bad.clone(), "404": error("Unknown app or user.")})),
        body(schema_ref("AuthCodeBody"), false))}));
    paths.insert("/__admin/clock".into(), json!({
        "get": op("getClock", "The simulator's clock", "Codes and tokens expire against it.", "admin", vec![],
            json!({"200": ok("The clock.", schema_ref("Clock"))})),
        "post": with_body(op("advanceClock", "Move the clock forward", "Expiry tests without waiting: codes and tokens expire against the moved clock. Reset returns it to the system time.", "admin", vec![],
            json!({"200": ok("The clock.", schema_ref("Clock")), "400": bad.clone()})),
            body(schema_ref("ClockAdvance"), true))
    }));
    let mut cert_app = app_param();
    cert_app["schema"]["examples"] = json!(["cert"]);
    paths.insert("/__admin/apps/{app_id}/rotate-alipay-cert".into(), json!({"post": op(
        "rotateAlipayCert", "Rotate the Alipay certificate",
        "Certificate mode only. Issues a new TEST Alipay certificate holding a new key (an RSA-2048 generation: up to a few seconds): the gateway's next answers are signed with it and carry its alipay_cert_sn, alipay.open.app.alipaycert.download serves it and the recent earlier ones, and the bundle names it. A request body, if any, is not read.",
        "admin", vec![cert_app],
        json!({"200": ok("The new certificate's SN.", schema_ref("Rotation")),
               "400": error("An id outside its pattern, or an app not in certificate mode (invalid_field, naming app_id)."),
               "404": error("Unknown app."),
               "409": error("A new TEST certificate could not be made (rotation_failed).")}))}));
    Value::Object(paths)
}

/// `get` → `Get`.
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn admin_paths() -> Value {
    let user_ops = || vec![app_param(), user_param()];
    let not_found = error("Unknown app or user.");
    let bad = error(
        "Malformed JSON, wrong types, null, unknown fields or values, or an id outside its pattern (the error names the field).",
    );
    let bad_id = error("An id outside its pattern (invalid_field, naming app_id or user_id).");
    // The stateful flows: a created app leads to its reads, its users and a new user; a created
    // user to its reads and to the JSAPI calls.
    let app_links = |from: &str| {
        let app = json!({"app_id": from});
        vec![
            ("GetApp", "getApp", app.clone()),
            ("PatchApp", "patchApp", app.clone()),
            ("GetBundle", "getBundle", app.clone()),
            ("ListUsers", "listUsers", app.clone()),
            ("CreateUser", "createUser", app.clone()),
            ("DeleteApp", "deleteApp", app),
        ]
    };
    let user_links = |from: &str| {
        let user = json!({"app_id": "$request.path.app_id", "user_id": from});
        vec![
            ("GetUser", "getUser", user.clone()),
            ("PatchUser", "patchUser", user.clone()),
            ("Authorize", "authorize", user.clone()),
            ("GetPhoneNumber", "getPhoneNumber", user.clone()),
            ("GetRunData", "getRunData", user.clone()),
            ("GetSetting", "getSetting", user.clone()),
            ("GetAuthCode", "getAuthCode", user.clone()),
            ("DeleteUser", "deleteUser", user),
        ]
    };
    let asset_names: Vec<&str> = super::ui::asset_names();
    json!({
        "/healthz": {"get": op("healthz", "Liveness", "Answers at once, with the version.", "meta", vec![],
            json!({"200": ok("Up.", schema_ref("Health"))}))},
        "/openapi.json": {"get": op("openapi", "This document", "The OpenAPI 3.1 document of every route.", "meta", vec![],
            json!({"200": ok("The document.", json!({"type": "object"}))}))},
        "/jsapi/apps/{app_id}/users/{user_id}/authorize": {"post": with_body(op(
            "authorize",
            "The authorisation button",
            "<button open-type=\"getAuthorize\" scope=\"phoneNumber\">: the user consents (onGetAuthorize) or refuses (onError). The choice is recorded as the user's authorisation.",
            "jsapi", user_ops(),
            json!({"200": ok("The button event.", schema_ref("AuthorizeAnswer")), "400": bad.clone(), "404": not_found.clone()})),
            body(schema_ref("AuthorizeBody"), true))},
        "/jsapi/apps/{app_id}/users/{user_id}/getPhoneNumber": {"post": with_body(op(
            "getPhoneNumber",
            "my.getPhoneNumber",
            "Answers exactly the success-callback object {\"response\":\"<envelope>\"} for the app's console and the user's state (header X-Alipay-Sim-Callback: success), or the fail-callback object when a fail fault fires (X-Alipay-Sim-Callback: fail). A drop fault closes the connection without an answer. Answers for an unchanged state are cached.",
            "jsapi",
            vec![app_param(), user_param(),
                 json!({"name": "scenario", "in": "query", "required": false,
                        "description": "Force this catalogue scenario (GET /__admin/scenarios), sealed with the app's keys, regardless of state and of the busy fault. An id not in the catalogue is a 404 unknown_scenario.",
                        "schema": {"type": "string"}})],
            json!({"200": {"description": "The success or fail callback object.",
                           "headers": {"X-Alipay-Sim-Callback": {"schema": {"enum": ["success", "fail"]}}},
                           "content": json_content(json!({"oneOf": [schema_ref("SuccessCallback"), schema_ref("FailCallback")]}))},
                   "400": bad.clone(), "404": error("Unknown app, user or scenario.")})),
            body(schema_ref("GetPhoneNumberBody"), false))},
        "/jsapi/apps/{app_id}/users/{user_id}/getRunData": {"post": with_body(op(
            "getRunData",
            "my.getRunData",
            "Answers like getPhoneNumber (the same envelope, error table, consent, faults and callbacks) with the user's step count of countDate as the plaintext {\"count\":N,\"countDate\":\"yyyy-mm-dd\",\"code\":\"10000\",\"msg\":\"Success\"}. 40001, 40002 and 20000 come as res.response objects in the clear (its document's 加密异常). A countDate that is not a day: the fail callback with error 2. Not cached.",
            "jsapi",
            vec![app_param(), user_param(),
                 json!({"name": "scenario", "in": "query", "required": false,
                        "description": "Force this getRunData catalogue scenario (rundata.*), sealed with the app's keys, regardless of state and of the busy fault. An id not in the catalogue is a 404 unknown_scenario; a getPhoneNumber scenario is a 400 naming scenario.",
                        "schema": {"type": "string"}})],
            json!({"200": {"description": "The success or fail callback object.",
                           "headers": {"X-Alipay-Sim-Callback": {"schema": {"enum": ["success", "fail"]}}},
                           "content": json_content(json!({"oneOf": [schema_ref("SuccessCallback"), schema_ref("FailCallback")]}))},
                   "400": bad.clone(), "404": error("Unknown app, user or scenario.")})),
            body(schema_ref("GetRunDataBody"), false))},
        "/jsapi/apps/{app_id}/users/{user_id}/getSetting": {"get": op(
            "getSetting", "my.getSetting", "authSetting.phoneNumber is the user's consent.", "jsapi", user_ops(),
            json!({"200": ok("The setting.", schema_ref("Setting")), "400": bad_id.clone(), "404": not_found.clone()}))},
        "/jsapi/scenarios/{scenario_id}/getPhoneNumber": {"post": op(
            "scenarioPhoneNumber",
            "A catalogue scenario, stateless",
            "The success-callback object of a catalogue scenario sealed with the server's keys; no state, no faults. A request body, if any, is not read.",
            "jsapi", vec![path_param("scenario_id", "Catalogue scenario id (GET /__admin/scenarios); any other is a 404 unknown_scenario.", json!({"type": "string"}))],
            json!({"200": ok("The success callback object.", schema_ref("SuccessCallback")), "404": error("Unknown scenario.")}))},
        "/__admin/apps": {
            "get": op("listApps", "List apps", "", "admin", vec![], json!({"200": ok("Apps.", json!({"type": "array", "items": schema_ref("App")}))})),
            "post": with_body(op("createApp", "Create an app", "app_id is required; name, console and keys default.", "admin", vec![],
                json!({"201": linked(ok("Created.", schema_ref("App")), &app_links("$response.body#/app_id")), "400": bad.clone(), "409": error(&format!("The app exists, or the app limit ({MAX_APPS}) is reached."))})),
                body(schema_ref("AppCreate"), true))
        },
        "/__admin/apps/{app_id}": {
            "get": op("getApp", "Read an app", "", "admin", vec![app_param()], json!({"200": ok("The app.", schema_ref("App")), "400": bad_id.clone(), "404": error("Unknown app.")})),
            "put": with_body(op("putApp", "Create or replace an app", "Users are kept. Omitted members take their defaults.", "admin", vec![app_param()],
                json!({"200": ok("Replaced.", schema_ref("App")), "201": linked(ok("Created.", schema_ref("App")), &app_links("$request.path.app_id")), "400": bad.clone(), "409": error("App limit reached.")})),
                body(schema_ref("AppBody"), false)),
            "patch": with_body(op("patchApp", "Update an app", "A merge patch, e.g. {\"console\":{\"product_bound\":false}}: the members given replace the app's, console member by member; omitted members are kept. Unlike RFC 7386, null removes nothing: it is refused (400 naming the member, e.g. console.user_info_approved); to go back to a default, give the default value.", "admin", vec![app_param()],
                json!({"200": ok("Updated.", schema_ref("App")), "400": bad.clone(), "404": error("Unknown app.")})),
                body(schema_ref("AppBody"), false)),
            "delete": op("deleteApp", "Delete an app", "", "admin", vec![app_param()], json!({"204": {"description": "Deleted."}, "400": bad_id.clone(), "404": error("Unknown app.")}))
        },
        "/__admin/apps/{app_id}/bundle": {"get": op("getBundle", "The merchant bundle",
            "The Alipay public key and the AES key the app's merchant backend is configured with. The Alipay private key is never served.",
            "admin", vec![app_param()], json!({"200": ok("The bundle.", schema_ref("Bundle")), "400": bad_id.clone(), "404": error("Unknown app.")}))},
        "/__admin/apps/{app_id}/users": {
            "get": op("listUsers", "List users", "", "admin", vec![app_param()], json!({"200": ok("Users.", json!({"type": "array", "items": schema_ref("User")})), "400": bad_id.clone(), "404": error("Unknown app.")})),
            "post": with_body(op("createUser", "Create a user", "user_id is required; authorised and mobile default.", "admin", vec![app_param()],
                json!({"201": linked(ok("Created.", schema_ref("User")), &user_links("$response.body#/user_id")), "400": bad.clone(), "404": error("Unknown app."), "409": error(&format!("The user exists, or the user limit ({MAX_USERS} per app) is reached."))})),
                body(schema_ref("UserCreate"), true))
        },
        "/__admin/apps/{app_id}/users/{user_id}": {
            "get": op("getUser", "Read a user", "", "admin", user_ops(), json!({"200": ok("The user.", schema_ref("User")), "400": bad_id.clone(), "404": not_found.clone()})),
            "put": with_body(op("putUser", "Create or replace a user", "Omitted members take their defaults.", "admin", user_ops(),
                json!({"200": ok("Replaced.", schema_ref("User")), "201": linked(ok("Created.", schema_ref("User")), &user_links("$request.path.user_id")), "400": bad.clone(), "404": error("Unknown app."), "409": error("User limit reached.")})),
                body(schema_ref("UserBody"), false)),
            "patch": with_body(op("patchUser", "Update a user", "A merge patch: the members given replace the user's, omitted members are kept. null is refused (400 naming the member) except for mobile, where \"mobile\": null sets \"no mobile key\".", "admin", user_ops(),
                json!({"200": ok("Updated.", schema_ref("User")), "400": bad.clone(), "404": not_found.clone()})),
                body(schema_ref("UserBody"), false)),
            "delete": op("deleteUser", "Delete a user", "", "admin", user_ops(), json!({"204": {"description": "Deleted."}, "400": bad_id, "404": not_found.clone()}))
        },
        "/__admin/faults": {
            "get": op("getFaults", "Fault settings", "", "admin", vec![], json!({"200": ok("The settings.", schema_ref("Faults"))})),
            "put": with_body(op("putFaults", "Set faults", "Replaces the settings; omitted fields mean no fault.", "admin", vec![],
                json!({"200": linked(ok("The settings.", schema_ref("Faults")),
                                     &[("GetFaults", "getFaults", json!({})), ("DeleteFaults", "deleteFaults", json!({}))]),
                       "400": bad.clone()})), body(schema_ref("Faults"), false)),
            "delete": op("deleteFaults", "Clear faults", "", "admin", vec![], json!({"200": ok("The settings.", schema_ref("Faults"))}))
        },
        "/__admin/journal": {
            "get": op("getJournal", "The journal",
                &format!("Every JSAPI and OpenAPI gateway call with what was answered, oldest first; the last {JOURNAL_CAPACITY} entries are kept."),
                "admin",
                vec![json!({"name": "since", "in": "query", "required": false, "description": "Only entries with seq above this.", "schema": {"type": "integer", "minimum": 0, "maximum": u64::MAX}})],
                json!({"200": ok("Entries.", json!({"type": "array", "items": schema_ref("JournalEntry")})), "400": bad.clone()})),
            "delete": op("deleteJournal", "Clear the journal", "", "admin", vec![], json!({"204": {"description": "Cleared."}}))
        },
        "/__admin/reset": {"post": op("reset", "Reset", "Default apps and users, no faults, empty journal, the start-up seed.", "admin", vec![],
            json!({"200": ok("Reset.", json!({"type": "object"}))}))},
        "/__admin/seed": {
            "get": op("getSeed", "The mobile seed", "", "admin", vec![], json!({"200": ok("Seed and draws so far.", schema_ref("Seed"))})),
            "put": with_body(op("putSeed", "Set the mobile seed", "Restarts the generated-mobile sequence: the same seed gives the same mobiles.", "admin", vec![],
                json!({"200": ok("The seed.", schema_ref("Seed")), "400": bad.clone()})), body(schema_ref("SeedInput"), true))
        },
        "/": {"get": op("page", "The emulator page", "A browser page that plays the mini-program: button, my.getPhoneNumber, forwarding to a merchant server.", "ui", vec![],
            json!({"200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}}}))},
        "/ui/{file}": {"get": op("asset", "An asset of the emulator page", "", "ui", vec![path_param("file", "Asset name; any other is a 404 not_found naming file.", json!({"enum": asset_names}))],
            json!({"200": {"description": "The asset."}, "404": error("Unknown asset.")}))},
        "/__forward": {"post": with_body(op("forward", "Forward to a merchant server (my.request)",
            "Sends a request on the page's behalf and hands back the merchant's answer, whatever its status. The request is rebuilt: method, the URL's path and query, the body, and Host, Content-Type, Content-Length, Accept, User-Agent (alipay-sim relay), X-Alipay-Sim-Forwarded plus the given headers. Only loopback targets unless serve --allow-forward HOST[:PORT] allows more; a host name the allow-list does not admit (other than localhost) is refused without being looked up; redirects are not followed; the answer is capped at 1 MiB.",
            "ui", vec![],
            json!({"200": ok("The merchant's answer.", schema_ref("ForwardAnswer")), "400": bad,
                   "403": error("Refused target (forward_refused, field url), a page opened at a domain name (forward_refused, field host), or a forwarding loop (forward_loop)."),
                   "424": error("The merchant could not be reached (forward_failed) or did not answer in time (forward_timeout).")})),
            body(schema_ref("ForwardRequest"), true))},
        "/__admin/scenarios": {"get": op("listScenarios", "The catalogue", "Every scenario accepted by ?scenario=.", "admin", vec![],
            json!({"200": ok("Scenarios.", json!({"type": "array", "items": schema_ref("Scenario")}))}))}
    })
}

/// The document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "alipay-sim",
            "version": VERSION,
            "description": format!("The Alipay side of my.getPhoneNumber and of the login over HTTP: the mini-program JSAPI emulated (authorisation button, my.getPhoneNumber, my.getSetting, my.getAuthCode), the OpenAPI gateway a merchant's back-end calls (/gateway.do v2, the v3 paths: alipay.system.oauth.token, alipay.user.info.share, alipay.open.app.alipaycert.download) and an admin API under /__admin (apps, users, faults, journal, reset, seed, clock, merchant bundles, certificate rotation). TEST keys only. The gateway answers in Alipay's shapes (v2: HTTP 200 with an error object; v3: its own error object), not with the Error object below. Every response carries X-Alipay-Sim-Version and X-Request-Id; every 4xx carries one Error object naming the field to blame; bodies are limited to 64 KiB. JSON bodies: an omitted member takes its default (PATCH: keeps its value), null is refused with a 400 naming it (the one exception is a user's mobile, where null is a value), and an integer may be written 7 or 7.0 (the float form up to 2^53, where floats are exact). Connections: a request head must arrive within serve --header-timeout (default {} s), a connection with nothing in flight is closed after serve --idle-timeout (default {} s) of silence, and a connection beyond serve --max-connections (default {DEFAULT_MAX_CONNECTIONS}) is answered 503 with Retry-After: 1 and the Error object too_many_connections, then closed, before any route sees it.", DEFAULT_HEADER_TIMEOUT.as_secs(), DEFAULT_IDLE_TIMEOUT.as_secs())
        },
        "servers": [{"url": "http://127.0.0.1:8780"}],
        "tags": [
            {"name": "jsapi", "description": "What a mini-program page calls."},
            {"name": "admin", "description": "Control surface."},
            {"name": "meta", "description": "Health and this document."},
            {"name": "ui", "description": "The browser emulator page and its forwarding relay."},
            {"name": "gateway", "description": "The OpenAPI gateway a merchant's login back-end calls, in Alipay's shapes."}
        ],
        "paths": paths(),
        "components": {"schemas": schemas()}
    })
}

/// The document as served and committed: pretty-printed, with a final newline.
pub fn document_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
        s.push('\n');
        s
    })
}

/// Every `(METHOD, path)` the document declares, sorted.
pub fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                for method in item.keys() {
                    out.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
    }
    out.sort();
    out
}
