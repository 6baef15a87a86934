//! The OpenAPI 3.1 document of every route, served at `GET /openapi.json` and committed as
//! `simulator/openapi.json` (a test checks served == committed == routes).

use std::sync::OnceLock;

use serde_json::{Value, json};

use super::admin::apps::MAX_NAME_CHARS;
use super::admin::users::MOBILE_PATTERN;
use super::admin::{ID_MAX_LEN, id_pattern};
use super::faults::{MAX_FAIL_MESSAGE_CHARS, MAX_LATENCY_MS};
use super::forward::RELAY_OWNED;
use super::journal::JOURNAL_CAPACITY;
use super::listener::{DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
use super::middleware::VERSION;
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
            "required": ["app_id", "name", "console", "keys"],
            "properties": {
                "app_id": id_schema(),
                "name": {"type": "string", "maxLength": MAX_NAME_CHARS},
                "console": schema_ref("Console"),
                "keys": schema_ref("KeysMode")
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
                "keys": schema_ref("KeysMode")
            }
        },
        "AppBody": {
            "type": "object",
            "description": format!("Body of PUT and PATCH /__admin/apps/{{app_id}}: the app id is the path's. {NULL_RULE} PUT: an omitted member takes its default. PATCH: an omitted member keeps its value; console merges member by member. The body may also carry app_id when it equals the path's (so that a GET answer can be sent back as it is); a different app_id is a 400 naming app_id."),
            "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "maxLength": MAX_NAME_CHARS, "description": "Default (PUT): the app_id."},
                "console": {"allOf": [schema_ref("Console")], "description": "Default (PUT): fully configured. PATCH: only the members given change."},
                "keys": schema_ref("KeysMode")
            }
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
            "required": ["user_id", "authorised", "mobile"],
            "properties": {
                "user_id": id_schema(),
                "authorised": {"type": "boolean"},
                "mobile": schema_ref("Mobile"),
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
                "cert": {"type": "object", "description": "Certificate mode: the three certificate files a merchant configures instead of the public key (file names, PEM text in pem.alipay_root_cert, pem.alipay_cert, pem.app_cert) and the SNs its SDK computes (app_cert_sn, alipay_cert_sn, alipay_root_cert_sn). Certificates only, never a private key."}
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
                "fail_message": {"type": "string", "default": "该接口暂不支持", "maxLength": MAX_FAIL_MESSAGE_CHARS}
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
                "api": {"enum": ["getPhoneNumber", "getRunData", "authorize", "getSetting"]},
                "app_id": {"type": ["string", "null"]},
                "user_id": {"type": ["string", "null"]},
                "scenario": {"type": ["string", "null"]},
                "callback": {"enum": ["success", "fail", "onGetAuthorize", "onError", "dropped"]},
                "outcome": {"enum": ["accept", "no_mobile", "platform_error", "retry_later", "reject", null]},
                "code": {"type": ["string", "null"]},
                "sub_code": {"type": ["string", "null"]},
                "faults": {"type": "array", "items": {"enum": ["busy", "fail", "drop", "latency"]}},
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
                 "properties": {"seed": {"type": "integer", "minimum": 0, "maximum": u64::MAX, "description": "An integral number (7 or 7.0)."}}}
    })
}

fn paths() -> Value {
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
                json!({"201": linked(ok("Created.", schema_ref("App")), &app_links("$response.body#/app_id")), "400": bad.clone(), "409": error("The app exists, or the app limit (1000) is reached.")})),
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
                json!({"201": linked(ok("Created.", schema_ref("User")), &user_links("$response.body#/user_id")), "400": bad.clone(), "404": error("Unknown app."), "409": error("The user exists, or the user limit (10000 per app) is reached.")})),
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
                &format!("Every JSAPI call with what was answered, oldest first; the last {JOURNAL_CAPACITY} entries are kept."),
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
            "description": format!("The Alipay side of my.getPhoneNumber over HTTP: the mini-program JSAPI emulated (authorisation button, my.getPhoneNumber, my.getSetting) and an admin API under /__admin (apps, users, faults, journal, reset, seed, merchant bundles). TEST keys only. Every response carries X-Alipay-Sim-Version and X-Request-Id; every 4xx carries one Error object naming the field to blame; bodies are limited to 64 KiB. JSON bodies: an omitted member takes its default (PATCH: keeps its value), null is refused with a 400 naming it (the one exception is a user's mobile, where null is a value), and an integer may be written 7 or 7.0 (the float form up to 2^53, where floats are exact). Connections: a request head must arrive within serve --header-timeout (default {} s), a connection with nothing in flight is closed after serve --idle-timeout (default {} s) of silence, and a connection beyond serve --max-connections (default {DEFAULT_MAX_CONNECTIONS}) is answered 503 with Retry-After: 1 and the Error object too_many_connections, then closed, before any route sees it.", DEFAULT_HEADER_TIMEOUT.as_secs(), DEFAULT_IDLE_TIMEOUT.as_secs())
        },
        "servers": [{"url": "http://127.0.0.1:8780"}],
        "tags": [
            {"name": "jsapi", "description": "What a mini-program page calls."},
            {"name": "admin", "description": "Control surface."},
            {"name": "meta", "description": "Health and this document."},
            {"name": "ui", "description": "The browser emulator page and its forwarding relay."}
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
