//! Fixture files: one JSON file per scenario plus a manifest of SHA-256 digests.
//!
//! The directory holds the getPhoneNumber cases and `manifest.json` (what phone-number checkers
//! read, unchanged by the other APIs), `rundata/` the getRunData cases and `gateway/` the OpenAPI
//! gateway's answers ([`gateway`]), each with its own `manifest.json`.
//!
//! Output is byte-identical from run to run for the same keys and catalogue: no timestamps, sorted
//! by id, deterministic mobiles, deterministic signatures (PKCS#1 v1.5) and ciphertexts (zero IV).
//! The file format is described by `simulator/fixture.schema.json`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::platform::Api;
use crate::model::scenario::{Built, Catalogue, KeyRole, Scenario};
use crate::protocol::keys::KeySet;

pub(crate) mod gateway;

/// A fixture file or directory could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct FixtureError {
    /// The file or directory.
    pub path: PathBuf,
    /// What the operating system said.
    #[source]
    pub source: std::io::Error,
}

/// The `schema` value of fixture files.
pub const FIXTURE_SCHEMA: &str = "alipay-sim/fixture/v1";
/// The `schema` value of the manifest.
pub const MANIFEST_SCHEMA: &str = "alipay-sim/fixture-manifest/v1";

/// The keys a merchant needs to open a fixture.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FixtureKeys {
    /// The AES key the merchant is configured with (base64), or null when unencrypted.
    pub aes_key: Option<String>,
    /// The Alipay public key the merchant verifies with (one-line base64 SPKI).
    pub alipay_public_key: String,
    /// Whose key signed the envelope, if any.
    pub signed_with: Option<KeyRole>,
    /// Certificate mode: the certificate files and SNs (cert-mode cases, and envelopes signed
    /// with the app key, whose certificate is the one a confused merchant loaded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<crate::protocol::cert::CertBundle>,
}

/// The success callback object `my.getPhoneNumber` passes to the page.
#[derive(Debug, Clone, Serialize)]
pub struct SuccessCallback {
    /// `res.response`: the envelope string (or, for the object shape, the object).
    pub response: serde_json::Value,
}

/// One fixture file: a [`Built`] case as the JSON the file format (`fixture.schema.json`) lays
/// out, plus the Alipay public key it was signed for.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The built case.
    pub built: Built,
    /// The JSAPI the case answers (written as `api` only when it is not getPhoneNumber).
    pub api: Api,
    /// The Alipay public key the merchant verifies with (one-line base64 SPKI).
    pub alipay_public_key: String,
    /// Certificate mode: the certificate files and SNs, for cert-mode cases and app-key
    /// signatures (when the key set has certificate material).
    pub cert: Option<crate::protocol::cert::CertBundle>,
}

impl Fixture {
    /// Builds the fixture of one scenario.
    pub fn of(scenario: &Scenario, keys: &KeySet) -> Self {
        let mut f = Self::from_built(scenario.build(keys), keys);
        f.api = scenario.api;
        f
    }

    /// The fixture of a case already built with `keys`.
    pub fn from_built(built: Built, keys: &KeySet) -> Self {
        let cert = (built.profile.cert_mode || built.signed_with == Some(KeyRole::App))
            .then(|| keys.cert().map(|c| c.set.bundle()))
            .flatten();
        Self {
            built,
            api: Api::GetPhoneNumber,
            alipay_public_key: keys.platform.public_one_line(),
            cert,
        }
    }

    /// The success-callback object `my.getPhoneNumber` passes to the page for this case.
    pub fn success_callback(&self) -> SuccessCallback {
        let b = &self.built;
        let response = if b.response_is_object {
            serde_json::from_str(&b.body).unwrap_or(serde_json::Value::String(b.body.clone()))
        } else {
            serde_json::Value::String(b.body.clone())
        };
        SuccessCallback { response }
    }

    /// The file text: pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("fixture serialises");
        s.push('\n');
        s
    }
}

impl Serialize for Fixture {
    /// The fields in the order of `fixture.schema.json` (the files are byte-identical from run
    /// to run, so the order is part of the format).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let b = &self.built;
        let mut st = s.serialize_struct("Fixture", 20)?;
        st.serialize_field("schema", FIXTURE_SCHEMA)?;
        st.serialize_field("id", &b.id)?;
        st.serialize_field("title", &b.title)?;
        st.serialize_field("kind", &b.kind)?;
        if self.api.is_phone_number() {
            st.skip_field("api")?;
        } else {
            st.serialize_field("api", &self.api)?;
        }
        st.serialize_field("res_response", &b.body)?;
        st.serialize_field("success_callback", &self.success_callback())?;
        st.serialize_field("plaintext", &b.plaintext)?;
        st.serialize_field("encrypted", &b.encrypted)?;
        st.serialize_field("signed", &b.signed)?;
        st.serialize_field("sign_type", &b.sign_type)?;
        st.serialize_field("expected", &b.expected)?;
        st.serialize_field("canary", &b.canary)?;
        st.serialize_field("content_type", &b.content_type)?;
        st.serialize_field(
            "keys",
            &FixtureKeys {
                aes_key: b.merchant_aes.as_ref().map(|k| k.to_base64()),
                alipay_public_key: self.alipay_public_key.clone(),
                signed_with: b.signed_with,
                cert: self.cert.clone(),
            },
        )?;
        st.serialize_field("merchant_profile", &b.profile)?;
        st.serialize_field("bug_class", &b.bug_class)?;
        st.serialize_field("severity", &b.severity)?;
        st.serialize_field("remediation", &b.remediation)?;
        st.serialize_field("source", &b.source)?;
        st.end()
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

/// Writes every fixture and `manifest.json` into `out`: the getPhoneNumber cases at the top,
/// the getRunData cases in `out/rundata/`, the gateway answers in `out/gateway/`, each directory
/// with its manifest; returns the paths written (manifests included).
///
/// An error names the file or directory that could not be written.
pub fn write_all(
    catalogue: &Catalogue,
    keys: &KeySet,
    out: &Path,
) -> Result<Vec<PathBuf>, FixtureError> {
    let mut written = Vec::new();
    let files = |scenarios: &[Scenario]| -> Vec<(String, String)> {
        scenarios
            .iter()
            .map(|s| (s.id.clone(), Fixture::of(s, keys).to_json()))
            .collect()
    };
    write_dir(out, files(catalogue.scenarios()), keys, &mut written)?;
    write_dir(
        &out.join("rundata"),
        files(catalogue.run_data()),
        keys,
        &mut written,
    )?;
    let gateway = gateway::gateway_fixtures(keys)
        .into_iter()
        .map(|f| (f.id.clone(), f.to_json()))
        .collect();
    write_dir(&out.join("gateway"), gateway, keys, &mut written)?;
    Ok(written)
}

/// Writes `<id>.json` for each (id, text) and the manifest into `dir`.
fn write_dir(
    dir: &Path,
    files: Vec<(String, String)>,
    keys: &KeySet,
    written: &mut Vec<PathBuf>,
) -> Result<(), FixtureError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FixtureError { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut entries = Vec::new();
    for (id, text) in files {
        let file = format!("{id}.json");
        let path = dir.join(&file);
        fs::write(&path, &text).map_err(io(&path))?;
        entries.push(ManifestEntry {
            id,
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
    let path = dir.join("manifest.json");
    let mut text = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
    text.push('\n');
    fs::write(&path, text).map_err(io(&path))?;
    written.push(path);
    Ok(())
}
