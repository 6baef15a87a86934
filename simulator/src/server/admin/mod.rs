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

use super::error::{ApiError, CheckParams};

/// The longest app or user id.
pub(crate) const ID_MAX_LEN: usize = 64;

/// The punctuation an id may hold besides ASCII letters and digits.
const ID_PUNCTUATION: &[u8] = b"._-";

/// The JSON Schema pattern of an app or user id, as [`check_id`] checks it (the OpenAPI document
/// publishes this; a unit test holds the two together).
pub(crate) fn id_pattern() -> String {
    format!("^[A-Za-z0-9._-]{{1,{ID_MAX_LEN}}}$")
}

/// Path of an app route.
#[derive(Debug, Deserialize)]
pub(crate) struct AppPath {
    /// App id.
    pub(crate) app_id: String,
}

impl CheckParams for AppPath {
    fn check(&self) -> Result<(), ApiError> {
        check_id("app_id", &self.app_id)
    }
}

/// Checks an app or user id: 1 to 64 characters of `A-Z a-z 0-9 . _ -`.
pub(crate) fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    if id.is_empty()
        || id.len() > ID_MAX_LEN
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || ID_PUNCTUATION.contains(&b))
    {
        return Err(ApiError::invalid(
            field,
            format!("{field} must be 1 to {ID_MAX_LEN} characters of A-Z a-z 0-9 . _ -"),
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

/// Refuses every `null` in a PATCH body, naming its member (`console.gateway`), except the
/// top-level members in `null_is_a_value` (a user's `mobile`, where `null` means "no mobile
/// key"). A `null` never means "remove" or "default" here: to go back to a default, give the
/// default value.
fn refuse_nulls(patch: &Value, null_is_a_value: &[&str]) -> Result<(), ApiError> {
    fn walk(v: &Value, path: &str) -> Result<(), ApiError> {
        if let Value::Object(map) = v {
            for (k, v) in map {
                let field = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if v.is_null() {
                    return Err(ApiError::invalid(
                        &field,
                        format!(
                            "{field} is null: a PATCH sets the members it gives; omit {field} to \
                             keep it, or give its value"
                        ),
                    ));
                }
                walk(v, &field)?;
            }
        }
        Ok(())
    }
    match patch {
        Value::Object(map) => {
            for (k, v) in map {
                if v.is_null() && null_is_a_value.contains(&k.as_str()) {
                    continue;
                }
                walk(
                    &Value::Object([(k.clone(), v.clone())].into_iter().collect()),
                    "",
                )?;
            }
            Ok(())
        }
        other => walk(other, ""),
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
    fn nulls_in_a_patch_are_refused_by_name() {
        let e = refuse_nulls(
            &serde_json::json!({"console": {"user_info_approved": null}}),
            &[],
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("console.user_info_approved"));
        let e = refuse_nulls(&serde_json::json!({"name": null}), &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("name"));
        assert!(refuse_nulls(&serde_json::json!({"mobile": null}), &["mobile"]).is_ok());
        assert!(refuse_nulls(&serde_json::json!({"a": {"b": [null]}}), &[]).is_ok());
    }

    #[test]
    fn the_published_id_pattern_is_the_check() {
        let schema = serde_json::json!({"type": "string", "pattern": id_pattern()});
        let validator = jsonschema::validator_for(&schema).unwrap();
        let long = "x".repeat(ID_MAX_LEN);
        let longer = "x".repeat(ID_MAX_LEN + 1);
        for id in [
            "demo",
            "demo-2.x_y",
            "A",
            &long,
            &longer,
            "",
            "a b",
            "ä",
            "a/b",
            "\u{2}",
            "a\n",
            "%02",
            "..",
            "-",
            "a+b",
            "é",
            "ａ",
        ] {
            assert_eq!(
                validator.is_valid(&serde_json::json!(id)),
                check_id("app_id", id).is_ok(),
                "{id:?}"
            );
        }
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
