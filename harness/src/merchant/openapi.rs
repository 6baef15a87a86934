//! The reference merchant's published contract: an OpenAPI 3.1 document served at
//! `GET /openapi.json` (the same answers as `harness/contracts/reference.toml`, in the form a
//! client generator or schemathesis reads). `.ci/schemathesis` checks the running merchant
//! against it.

use std::sync::OnceLock;

use serde_json::{Value, json};

use super::reference::BODY_LIMIT;

/// The document.
pub fn document() -> Value {
    let answer = |description: &str, schema: Value| {
        json!({"description": description,
               "content": {"application/json": {"schema": schema}}})
    };
    let rejected = json!({"$ref": "#/components/schemas/Rejected"});
    let post = |operation_id: &str, params: Value| {
        json!({
            "operationId": operation_id,
            "summary": "Open a my.getPhoneNumber envelope",
            "description": format!("The body is `res.response` exactly as the mini-program received it, read as raw text whatever the Content-Type (never form- or URL-decoded), up to {BODY_LIMIT} bytes. The signature is verified over the raw ciphertext token before anything is decrypted. A body that is not a validly signed envelope for this merchant's keys is refused with 400 naming only the error class: no schema can tell a forged envelope from a real one, so every documented status is an answer to a well-formed request."),
            "parameters": params,
            "requestBody": {"required": true, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}},
                "text/plain": {"schema": {"type": "string"}}
            }},
            "responses": {
                "200": answer("A mobile.", json!({"$ref": "#/components/schemas/Mobile"})),
                "400": answer("A refused envelope (or a body that is not UTF-8 or could not be read).", rejected.clone()),
                "413": answer("A body over the limit.", rejected.clone()),
                "422": answer("No bound mobile, or a final platform error.", json!({"oneOf": [
                    {"$ref": "#/components/schemas/NoMobile"},
                    {"$ref": "#/components/schemas/PlatformError"}]})),
                "503": {"description": "20000 (system busy): transient, try again.",
                        "headers": {"Retry-After": {"required": true, "schema": {"const": "1"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RetryLater"}}}}
            }
        })
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "alipay-harness reference merchant",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A correct my.getPhoneNumber decryption endpoint (alipay-harness merchant): POST the envelope to any path but /openapi.json, get one JSON answer per outcome. Never a 5xx other than the deliberate 503, never key material in an answer. TEST keys only."
        },
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "paths": {
            "/": {"post": post("openEnvelope", json!([]))},
            "/{path}": {"post": post("openEnvelopeAt", json!([{
                "name": "path", "in": "path", "required": true,
                "description": "Any path is served alike (e.g. getPhoneNumber); this document lists single segments.",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}
            }]))},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document",
                "responses": {"200": answer("The document.", json!({"type": "object"}))}
            }}
        },
        "components": {"schemas": {
            "Envelope": {"type": "object", "description": "The envelope as Alipay sends it: {\"response\":\"<base64 ciphertext>\",\"sign\":\"...\"} plus optional header fields (sign_type, encrypt_type, charset, alipay_cert_sn).",
                         "properties": {"response": {"type": ["string", "object"]}, "sign": {"type": "string"}}},
            "Mobile": {"type": "object", "additionalProperties": false, "required": ["status", "mobile"],
                       "properties": {"status": {"const": "ok"}, "mobile": {"type": "string"}}},
            "NoMobile": {"type": "object", "additionalProperties": false, "required": ["status"],
                         "properties": {"status": {"const": "no_mobile"}}},
            "PlatformError": {"type": "object", "additionalProperties": false, "required": ["status", "code"],
                              "properties": {"status": {"const": "platform_error"}, "code": {"type": "string"},
                                             "sub_code": {"type": ["string", "null"]}, "sub_msg": {"type": ["string", "null"]}}},
            "RetryLater": {"type": "object", "additionalProperties": false, "required": ["status", "code"],
                           "properties": {"status": {"const": "retry_later"}, "code": {"const": "20000"}}},
            "Rejected": {"type": "object", "additionalProperties": false, "required": ["status", "error"],
                         "properties": {"status": {"const": "rejected"},
                                        "error": {"type": "string", "pattern": "^[a-z0-9_]+$", "description": "The error class only (bad_signature, missing_sign, not_utf8, body_too_large, ...)."}}}
        }}
    })
}

/// The document as served: pretty-printed, with a final newline.
pub fn document_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
        s.push('\n');
        s
    })
}
