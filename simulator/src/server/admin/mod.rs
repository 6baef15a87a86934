//! The admin API under `/__admin`, modelled on WireMock's `/__admin` and moto's `/moto-api`
//! (reset, seed, recorder):
//!
//! - `apps`: apps (console configuration and keys) and their merchant bundles;
//! - `users`: an app's users (mobile and consent);
//! - `control`: faults, the journal, reset, the mobile seed and the catalogue.
//!
//! This file holds what they share: id checks and JSON merge patches.

pub(crate) mod apps;
pub(crate) mod control;
pub(crate) mod users;

use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;

/// Path of an app route.
#[derive(Debug, Deserialize)]
pub(crate) struct AppPath {
    /// App id.
    pub(crate) app_id: String,
}

/// Checks an app or user id: 1 to 64 characters of `A-Z a-z 0-9 . _ -`.
pub(crate) fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(ApiError::invalid(
            field,
            format!("{field} must be 1 to 64 characters of A-Z a-z 0-9 . _ -"),
        ));
    }
    Ok(())
}

/// Checks that an id given in the body (if any) is the one in the path.
fn body_id(field: &str, given: Option<&str>, path: &str) -> Result<(), ApiError> {
    match given {
        Some(g) if g != path => Err(ApiError::invalid(
            field,
            format!("{field} {g:?} in the body differs from {path:?} in the path"),
        )),
        _ => Ok(()),
    }
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Some(t) = target.as_object_mut() {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// A PATCH body must be a JSON object.
fn patch_object(body: Value) -> Result<Value, ApiError> {
    if body.is_object() {
        Ok(body)
    } else {
        Err(ApiError::invalid(
            "body",
            "a PATCH body must be a JSON object (merge patch)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(
            &mut t,
            &serde_json::json!({"b": {"c": null, "e": 4}, "f": [1]}),
        );
        assert_eq!(
            t,
            serde_json::json!({"a": 1, "b": {"d": 3, "e": 4}, "f": [1]})
        );
    }

    #[test]
    fn ids_are_checked() {
        assert!(check_id("app_id", "demo-2.x_y").is_ok());
        for bad in ["", "a b", "ä", &"x".repeat(65)] {
            assert_eq!(
                check_id("app_id", bad).unwrap_err().field.as_deref(),
                Some("app_id")
            );
        }
    }
}
