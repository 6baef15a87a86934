//! Fixture files: one JSON file per scenario plus a manifest of SHA-256 digests.
//!
//! Output is byte-identical from run to run for the same keys and catalogue: no timestamps, sorted
//! by id, deterministic mobiles, deterministic signatures (PKCS#1 v1.5) and ciphertexts (zero IV).
//! The file format is described by `simulator/fixture.schema.json`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::crypto::SignType;
use crate::keys::KeySet;
use crate::scenario::build::KeyRole;
use crate::scenario::{
    BugClass, Catalogue, Expectation, Kind, MerchantProfile, Scenario, Severity,
};

/// The `schema` value of fixture files.
pub const FIXTURE_SCHEMA: &str = "alipay-sim/fixture/v1";
/// The `schema` value of the manifest.
pub const MANIFEST_SCHEMA: &str = "alipay-sim/fixture-manifest/v1";

/// The keys a merchant needs to open a fixture.
#[derive(Debug, Clone, Serialize)]
pub struct FixtureKeys {
    /// The AES key the merchant is configured with (base64), or null when unencrypted.
    pub aes_key: Option<String>,
    /// The Alipay public key the merchant verifies with (one-line base64 SPKI).
    pub alipay_public_key: String,
    /// Whose key signed the envelope, if any.
    pub signed_with: Option<KeyRole>,
    /// Certificate mode: the certificate files and SNs (cert-mode cases, and envelopes signed
    /// with the app key, whose certificate is the one a confused merchant loaded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<crate::cert::CertBundle>,
}

/// The success callback object `my.getPhoneNumber` passes to the page.
#[derive(Debug, Clone, Serialize)]
pub struct SuccessCallback {
    /// `res.response`: the envelope string (or, for the object shape, the object).
    pub response: serde_json::Value,
}

/// One fixture file.
#[derive(Debug, Clone, Serialize)]
pub struct Fixture {
    /// Always [`FIXTURE_SCHEMA`].
    pub schema: &'static str,
    /// Scenario id.
    pub id: String,
    /// Scenario title.
    pub title: String,
    /// Platform or tamper.
    pub kind: Kind,
    /// The exact `res.response` text (for tamper cases: the exact request body).
    pub res_response: String,
    /// The success-callback object.
    pub success_callback: SuccessCallback,
    /// The plaintext inside (exact text that was encrypted or embedded).
    pub plaintext: Option<String>,
    /// AES-encrypted.
    pub encrypted: bool,
    /// Carries `sign`.
    pub signed: bool,
    /// Algorithm of `sign`.
    pub sign_type: Option<SignType>,
    /// What a correct merchant concludes.
    pub expected: Expectation,
    /// A mobile that must never appear in a merchant's answer.
    pub canary: Option<String>,
    /// Deliver with this content type instead of `application/json`.
    pub content_type: Option<String>,
    /// Keys.
    pub keys: FixtureKeys,
    /// Which merchant configurations the case applies to.
    pub merchant_profile: MerchantProfile,
    /// Bug class.
    pub bug_class: BugClass,
    /// Severity.
    pub severity: Severity,
    /// How to fix a failure.
    pub remediation: String,
    /// Sources.
    pub source: String,
}

impl Fixture {
    /// Builds the fixture of one scenario.
    pub fn of(scenario: &Scenario, keys: &KeySet) -> Self {
        let built = scenario.build(keys);
        let profile = scenario.merchant_profile();
        let response = if built.response_is_object {
            serde_json::from_str(&built.body)
                .unwrap_or(serde_json::Value::String(built.body.clone()))
        } else {
            serde_json::Value::String(built.body.clone())
        };
        Self {
            schema: FIXTURE_SCHEMA,
            id: scenario.id.clone(),
            title: scenario.title.clone(),
            kind: scenario.kind(),
            res_response: built.body.clone(),
            success_callback: SuccessCallback { response },
            plaintext: built.plaintext.clone(),
            encrypted: built.encrypted,
            signed: built.signed,
            sign_type: built.sign_type,
            expected: built.expected.clone(),
            canary: built.canary.clone(),
            content_type: built.content_type.clone(),
            keys: FixtureKeys {
                aes_key: built.merchant_aes.as_ref().map(|k| k.to_base64()),
                alipay_public_key: keys.platform.public_one_line(),
                signed_with: built.signed_with,
                cert: (profile.cert_mode || built.signed_with == Some(KeyRole::App))
                    .then(|| keys.cert().bundle()),
            },
            merchant_profile: profile,
            bug_class: scenario.bug_class,
            severity: scenario.severity,
            remediation: scenario.remediation.clone(),
            source: scenario.source.clone(),
        }
    }

    /// The file text: pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("fixture serialises");
        s.push('\n');
        s
    }
}

/// One manifest entry.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestEntry {
    /// Scenario id.
    pub id: String,
    /// File name inside the output directory.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// The manifest written beside the fixtures.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Always [`MANIFEST_SCHEMA`].
    pub schema: &'static str,
    /// The generator and its version.
    pub generator: String,
    /// The Alipay public key all fixtures are signed for (one-line base64 SPKI).
    pub alipay_public_key: String,
    /// One entry per fixture, sorted by id.
    pub files: Vec<ManifestEntry>,
}

/// Writes every fixture and `manifest.json` into `out`; returns the paths written.
pub fn write_all(
    catalogue: &Catalogue,
    keys: &KeySet,
    out: &Path,
) -> std::io::Result<Vec<PathBuf>> {
    fs::create_dir_all(out)?;
    let mut written = Vec::new();
    let mut entries = Vec::new();
    for s in catalogue.scenarios() {
        let text = Fixture::of(s, keys).to_json();
        let file = format!("{}.json", s.id);
        let path = out.join(&file);
        fs::write(&path, &text)?;
        entries.push(ManifestEntry {
            id: s.id.clone(),
            file,
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
        });
        written.push(path);
    }
    let manifest = Manifest {
        schema: MANIFEST_SCHEMA,
        generator: format!("alipay-sim {}", env!("CARGO_PKG_VERSION")),
        alipay_public_key: keys.platform.public_one_line(),
        files: entries,
    };
    let path = out.join("manifest.json");
    let mut text = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
    text.push('\n');
    fs::write(&path, text)?;
    written.push(path);
    Ok(written)
}
