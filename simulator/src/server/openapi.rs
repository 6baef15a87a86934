//! The OpenAPI 3.1 document of every route, served at `GET /openapi.json` and committed as
//! `simulator/openapi.json` (a test checks served == committed == routes).

use std::sync::OnceLock;

use serde_json::{Value, json};

use super::faults::MAX_LATENCY_MS;
use super::journal::JOURNAL_CAPACITY;
use super::listener::{DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
use super::middleware::VERSION;

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

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string"}})
}

fn app_param() -> Value {
    path_param(
        "app_id",
        "App id (`demo`, `cert`, `no-encryption`, `no-product`, `unsigned` by default).",
    )
}

fn user_param() -> Value {
    path_param(
        "user_id",
        "User id (`alice`, `bob`, `carol`, `dave`, `erin` in `demo`).",
    )
}

fn body(schema: Value, required: bool) -> Value {
    let mut b = json!({"required": required, "content": json_content(schema)});
    if !required {
        b["description"] = json!("Optional: an absent body is read as {}.");
    }
    b
}

fn op(summary: &str, description: &str, tag: &str, params: Vec<Value>, responses: Value) -> Value {
    let mut o = json!({"summary": summary, "description": description, "tags": [tag],
                       "responses": responses});
    if !params.is_empty() {
        o["parameters"] = Value::Array(params);
    }
    o
}

fn with_body(mut o: Value, b: Value) -> Value {
    o["requestBody"] = b;
    o
}

fn schemas() -> Value {
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
            "additionalProperties": false,
            "properties": {
                "app_id": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9._-]{1,64}$", "description": "Required on POST; on PUT/PATCH it may be omitted or null, and otherwise must equal the path's app_id."},
                "name": {"type": ["string", "null"], "maxLength": 200, "description": "null or omitted: the app_id."},
                "console": {"anyOf": [schema_ref("Console"), {"type": "null"}], "description": "null or omitted: fully configured (PATCH: unchanged)."},
                "keys": {"enum": ["embedded", "generated", null], "default": "embedded",
                         "description": "embedded: the server's key set (embedded TEST keys or --keys). generated: a fresh set made when the app is created (two RSA-2048 key generations and a TEST certificate set: a fraction of a second to a few seconds)."}
            }
        },
        "User": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "user_id": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9._-]{1,64}$", "description": "Required on POST; on PUT/PATCH it may be omitted or null, and otherwise must equal the path's user_id."},
                "authorised": {"type": ["boolean", "null"], "default": false, "description": "Consented on the getAuthorize button with scope phoneNumber."},
                "mobile": {"anyOf": [{"type": "null"}, {"enum": ["", "fresh", "generated"]},
                                     {"type": "string", "pattern": "^([0-9]{5,15}|[0-9]{1,4}-[0-9]{4,14})$"}],
                           "description": "A number (mainland 11 digits, or cc-number for overseas), \"\" (empty mobile), null (no mobile key), \"fresh\" (a new generated mobile on every call), \"generated\" or omitted (one generated mobile, kept). Generated mobiles follow the seed."}
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
                "fail_error": {"type": "integer", "default": 1},
                "fail_message": {"type": "string", "default": "该接口暂不支持", "maxLength": 200}
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
                "api": {"enum": ["getPhoneNumber", "authorize", "getSetting"]},
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
            "properties": {"url": {"type": "string", "description": "The merchant URL: loopback (127.0.0.0/8, ::1, localhost) unless serve --allow-forward admits it."},
                           "method": {"enum": ["POST", "GET", null], "default": "POST", "description": "POST (default) or GET (no body); case does not matter."},
                           "body": {"type": "string", "default": "", "description": "Sent as it is, with its real Content-Length."},
                           "content_type": {"type": ["string", "null"], "description": "Default application/json, like my.request; a content-type member of headers is the same setting."},
                           "headers": {"type": "object", "additionalProperties": {"type": "string"},
                                       "description": "Extra headers, as my.request's headers. Host, Content-Length, Transfer-Encoding, User-Agent, X-Alipay-Sim-Forwarded and hop-by-hop headers (Connection, Keep-Alive, TE, Trailer, Upgrade, Expect, Proxy-*) are set by the relay and refused here (400, field headers)."}}},
        "ForwardAnswer": {"type": "object", "required": ["status", "headers", "body", "elapsed_ms"],
            "properties": {"status": {"type": "integer"}, "headers": {"type": "object"}, "body": {"type": "string"},
                           "elapsed_ms": {"type": "integer"}, "truncated": {"type": "boolean"},
                           "lossy": {"type": "boolean"}, "url": {"type": "string"}}},
        "Seed": {"type": "object", "additionalProperties": false, "required": ["seed"],
                 "properties": {"seed": {"type": "integer", "minimum": 0}, "drawn": {"type": "integer"}}},
        "SeedInput": {"type": "object", "additionalProperties": false, "required": ["seed"],
                 "properties": {"seed": {"type": "integer", "minimum": 0, "maximum": u64::MAX}}}
    })
}

fn paths() -> Value {
    let user_ops = || vec![app_param(), user_param()];
    let not_found = error("Unknown app or user.");
    let bad =
        error("Malformed JSON, wrong types, unknown fields or values (the error names the field).");
    json!({
        "/healthz": {"get": op("Liveness", "Answers at once, with the version.", "meta", vec![],
            json!({"200": ok("Up.", schema_ref("Health"))}))},
        "/openapi.json": {"get": op("This document", "The OpenAPI 3.1 document of every route.", "meta", vec![],
            json!({"200": ok("The document.", json!({"type": "object"}))}))},
        "/jsapi/apps/{app_id}/users/{user_id}/authorize": {"post": with_body(op(
            "The authorisation button",
            "<button open-type=\"getAuthorize\" scope=\"phoneNumber\">: the user consents (onGetAuthorize) or refuses (onError). The choice is recorded as the user's authorisation.",
            "jsapi", user_ops(),
            json!({"200": ok("The button event.", schema_ref("AuthorizeAnswer")), "400": bad.clone(), "404": not_found.clone(), "413": error("Body too large.")})),
            body(schema_ref("AuthorizeBody"), true))},
        "/jsapi/apps/{app_id}/users/{user_id}/getPhoneNumber": {"post": with_body(op(
            "my.getPhoneNumber",
            "Answers exactly the success-callback object {\"response\":\"<envelope>\"} for the app's console and the user's state (header X-Alipay-Sim-Callback: success), or the fail-callback object when a fail fault fires (X-Alipay-Sim-Callback: fail). A drop fault closes the connection without an answer. Answers for an unchanged state are cached.",
            "jsapi",
            vec![app_param(), user_param(),
                 json!({"name": "scenario", "in": "query", "required": false,
                        "description": "Force this catalogue scenario (GET /__admin/scenarios), sealed with the app's keys, regardless of state and of the busy fault.",
                        "schema": {"type": "string"}})],
            json!({"200": {"description": "The success or fail callback object.",
                           "headers": {"X-Alipay-Sim-Callback": {"schema": {"enum": ["success", "fail"]}}},
                           "content": json_content(json!({"oneOf": [schema_ref("SuccessCallback"), schema_ref("FailCallback")]}))},
                   "400": bad.clone(), "404": error("Unknown app, user or scenario."), "413": error("Body too large.")})),
            body(schema_ref("GetPhoneNumberBody"), false))},
        "/jsapi/apps/{app_id}/users/{user_id}/getSetting": {"get": op(
            "my.getSetting", "authSetting.phoneNumber is the user's consent.", "jsapi", user_ops(),
            json!({"200": ok("The setting.", schema_ref("Setting")), "404": not_found.clone()}))},
        "/jsapi/scenarios/{scenario_id}/getPhoneNumber": {"post": op(
            "A catalogue scenario, stateless",
            "The success-callback object of a catalogue scenario sealed with the server's keys; no state, no faults.",
            "jsapi", vec![path_param("scenario_id", "Catalogue scenario id.")],
            json!({"200": ok("The success callback object.", schema_ref("SuccessCallback")), "404": error("Unknown scenario.")}))},
        "/__admin/apps": {
            "get": op("List apps", "", "admin", vec![], json!({"200": ok("Apps.", json!({"type": "array", "items": schema_ref("App")}))})),
            "post": with_body(op("Create an app", "app_id is required; name, console and keys default.", "admin", vec![],
                json!({"201": ok("Created.", schema_ref("App")), "400": bad.clone(), "409": error("The app exists, or the app limit (1000) is reached.")})),
                body(json!({"allOf": [schema_ref("App")], "required": ["app_id"]}), true))
        },
        "/__admin/apps/{app_id}": {
            "get": op("Read an app", "", "admin", vec![app_param()], json!({"200": ok("The app.", schema_ref("App")), "404": error("Unknown app.")})),
            "put": with_body(op("Create or replace an app", "Users are kept.", "admin", vec![app_param()],
                json!({"200": ok("Replaced.", schema_ref("App")), "201": ok("Created.", schema_ref("App")), "400": bad.clone(), "409": error("App limit reached.")})),
                body(schema_ref("App"), false)),
            "patch": with_body(op("Update an app", "A JSON merge patch (RFC 7386), e.g. {\"console\":{\"product_bound\":false}}.", "admin", vec![app_param()],
                json!({"200": ok("Updated.", schema_ref("App")), "400": bad.clone(), "404": error("Unknown app.")})),
                body(schema_ref("App"), false)),
            "delete": op("Delete an app", "", "admin", vec![app_param()], json!({"204": {"description": "Deleted."}, "404": error("Unknown app.")}))
        },
        "/__admin/apps/{app_id}/bundle": {"get": op("The merchant bundle",
            "The Alipay public key and the AES key the app's merchant backend is configured with. The Alipay private key is never served.",
            "admin", vec![app_param()], json!({"200": ok("The bundle.", schema_ref("Bundle")), "404": error("Unknown app.")}))},
        "/__admin/apps/{app_id}/users": {
            "get": op("List users", "", "admin", vec![app_param()], json!({"200": ok("Users.", json!({"type": "array", "items": schema_ref("User")})), "404": error("Unknown app.")})),
            "post": with_body(op("Create a user", "user_id is required.", "admin", vec![app_param()],
                json!({"201": ok("Created.", schema_ref("User")), "400": bad.clone(), "404": error("Unknown app."), "409": error("The user exists, or the user limit (10000 per app) is reached.")})),
                body(json!({"allOf": [schema_ref("User")], "required": ["user_id"]}), true))
        },
        "/__admin/apps/{app_id}/users/{user_id}": {
            "get": op("Read a user", "", "admin", user_ops(), json!({"200": ok("The user.", schema_ref("User")), "404": not_found.clone()})),
            "put": with_body(op("Create or replace a user", "", "admin", user_ops(),
                json!({"200": ok("Replaced.", schema_ref("User")), "201": ok("Created.", schema_ref("User")), "400": bad.clone(), "404": error("Unknown app."), "409": error("User limit reached.")})),
                body(schema_ref("User"), false)),
            "patch": with_body(op("Update a user", "A JSON merge patch, except that \"mobile\": null sets \"no mobile key\".", "admin", user_ops(),
                json!({"200": ok("Updated.", schema_ref("User")), "400": bad.clone(), "404": not_found.clone()})),
                body(schema_ref("User"), false)),
            "delete": op("Delete a user", "", "admin", user_ops(), json!({"204": {"description": "Deleted."}, "404": not_found.clone()}))
        },
        "/__admin/faults": {
            "get": op("Fault settings", "", "admin", vec![], json!({"200": ok("The settings.", schema_ref("Faults"))})),
            "put": with_body(op("Set faults", "Replaces the settings; omitted fields mean no fault.", "admin", vec![],
                json!({"200": ok("The settings.", schema_ref("Faults")), "400": bad.clone()})), body(schema_ref("Faults"), false)),
            "delete": op("Clear faults", "", "admin", vec![], json!({"200": ok("The settings.", schema_ref("Faults"))}))
        },
        "/__admin/journal": {
            "get": op("The journal",
                &format!("Every JSAPI call with what was answered, oldest first; the last {JOURNAL_CAPACITY} entries are kept."),
                "admin",
                vec![json!({"name": "since", "in": "query", "required": false, "description": "Only entries with seq above this.", "schema": {"type": "integer", "minimum": 0}})],
                json!({"200": ok("Entries.", json!({"type": "array", "items": schema_ref("JournalEntry")})), "400": bad.clone()})),
            "delete": op("Clear the journal", "", "admin", vec![], json!({"204": {"description": "Cleared."}}))
        },
        "/__admin/reset": {"post": op("Reset", "Default apps and users, no faults, empty journal, the start-up seed.", "admin", vec![],
            json!({"200": ok("Reset.", json!({"type": "object"}))}))},
        "/__admin/seed": {
            "get": op("The mobile seed", "", "admin", vec![], json!({"200": ok("Seed and draws so far.", schema_ref("Seed"))})),
            "put": with_body(op("Set the mobile seed", "Restarts the generated-mobile sequence: the same seed gives the same mobiles.", "admin", vec![],
                json!({"200": ok("The seed.", schema_ref("Seed")), "400": bad})), body(schema_ref("SeedInput"), true))
        },
        "/": {"get": op("The emulator page", "A browser page that plays the mini-program: button, my.getPhoneNumber, forwarding to a merchant server.", "ui", vec![],
            json!({"200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}}}))},
        "/ui/{file}": {"get": op("An asset of the emulator page", "", "ui", vec![path_param("file", "Asset name, e.g. app.js.")],
            json!({"200": {"description": "The asset."}, "404": error("Unknown asset.")}))},
        "/__forward": {"post": with_body(op("Forward to a merchant server (my.request)",
            "Sends a request on the page's behalf and hands back the merchant's answer, whatever its status. The request is rebuilt: method, the URL's path and query, the body, and Host, Content-Type, Content-Length, Accept, User-Agent (alipay-sim relay), X-Alipay-Sim-Forwarded plus the given headers. Only loopback targets unless serve --allow-forward HOST[:PORT] allows more; a host name the allow-list does not admit (other than localhost) is refused without being looked up; redirects are not followed; the answer is capped at 1 MiB.",
            "ui", vec![],
            json!({"200": ok("The merchant's answer.", schema_ref("ForwardAnswer")), "400": bad.clone(),
                   "403": error("Refused target (forward_refused, field url), a page opened at a domain name (forward_refused, field host), or a forwarding loop (forward_loop)."),
                   "413": error("Body too large."),
                   "415": error("The body is not JSON."),
                   "424": error("The merchant could not be reached (forward_failed) or did not answer in time (forward_timeout).")})),
            body(schema_ref("ForwardRequest"), true))},
        "/__admin/scenarios": {"get": op("The catalogue", "Every scenario accepted by ?scenario=.", "admin", vec![],
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
            "description": format!("The Alipay side of my.getPhoneNumber over HTTP: the mini-program JSAPI emulated (authorisation button, my.getPhoneNumber, my.getSetting) and an admin API under /__admin (apps, users, faults, journal, reset, seed, merchant bundles). TEST keys only. Every response carries X-Alipay-Sim-Version and X-Request-Id; every 4xx carries one Error object; bodies are limited to 64 KiB. Connections: a request head must arrive within serve --header-timeout (default {} s), a connection with nothing in flight is closed after serve --idle-timeout (default {} s) of silence, and a connection beyond serve --max-connections (default {DEFAULT_MAX_CONNECTIONS}) is answered 503 with Retry-After: 1 and the Error object too_many_connections, then closed, before any route sees it.", DEFAULT_HEADER_TIMEOUT.as_secs(), DEFAULT_IDLE_TIMEOUT.as_secs())
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
