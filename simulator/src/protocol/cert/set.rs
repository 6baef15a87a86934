//! The three console files together: loading, checking, the SNs and the merchant's bundle.

use super::chain::verify_chain;
use super::*;

/// The text of the three certificate files of a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    /// The app id (from `appCertPublicKey_<appid>.crt`).
    pub app_id: String,
    /// `alipayRootCert.crt`.
    pub root: String,
    /// `alipayCertPublicKey_RSA2.crt`.
    pub alipay: String,
    /// `appCertPublicKey_<appid>.crt`.
    pub app: String,
}

/// A loaded, checked certificate set: the files, the keys they hold, and their SNs.
#[derive(Debug, Clone)]
pub struct CertSet {
    /// The file contents, as a merchant downloads them.
    pub files: CertFiles,
    /// The Alipay public key from the leaf of `alipayCertPublicKey_RSA2.crt`.
    pub alipay_public_key: PublicKey,
    /// The app public key from `appCertPublicKey_<appid>.crt`.
    pub app_public_key: PublicKey,
    /// The three SNs.
    pub sn: CertSn,
}

impl CertSet {
    /// Checks three files given as text. `names` label each in errors (root, alipay, app).
    ///
    /// Checks: each is PEM holding certificates; the root bundle holds at least one RSA-signed
    /// root; both leaves hold RSA keys; each leaf chains, through the intermediates that follow
    /// the Alipay leaf, to an RSA root of the bundle, every signature verifying and every
    /// certificate valid today.
    pub fn from_files(files: CertFiles, names: [&str; 3]) -> Result<Self, CertError> {
        let [root_name, alipay_name, app_name] = names;
        let root = PemCerts::parse(root_name, files.root.as_bytes())?;
        let alipay = PemCerts::parse(alipay_name, files.alipay.as_bytes())?;
        let app = PemCerts::parse(app_name, files.app.as_bytes())?;
        let sn = CertSn {
            app_cert_sn: app.leaf_sn()?,
            alipay_cert_sn: alipay.leaf_sn()?,
            alipay_root_cert_sn: root.root_sn()?,
        };
        let alipay_public_key = alipay.leaf_public_key()?;
        let app_public_key = app.leaf_public_key()?;
        verify_chain(&alipay, &alipay, &root)?;
        verify_chain(&app, &alipay, &root)?;
        Ok(Self {
            files,
            alipay_public_key,
            app_public_key,
            sn,
        })
    }

    /// Loads a merchant's three files from disk (the console's download).
    pub fn load(root: &Path, alipay: &Path, app: &Path, app_id: &str) -> Result<Self, CertError> {
        // Read as bytes, not as UTF-8: binary DER or other non-text content then reaches
        // `PemCerts::parse` (which names it) instead of failing as an encoding error.
        let read = |p: &Path| -> Result<String, CertError> {
            let bytes = fs::read(p).map_err(|e| CertError::io(p, e))?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        let files = CertFiles {
            app_id: app_id.to_owned(),
            root: read(root)?,
            alipay: read(alipay)?,
            app: read(app)?,
        };
        let names = [root, alipay, app].map(|p| p.display().to_string());
        Self::from_files(files, [&names[0], &names[1], &names[2]])
    }

    /// Loads the certificate set of a key directory (`<dir>/cert/`), checking that the Alipay leaf
    /// holds `platform`'s key (the key that signs envelopes) and, when `cert/app/private.pkcs8.pem`
    /// is present, that the app leaf holds the app key. Returns the set and the app key pair.
    pub fn load_dir(
        dir: &Path,
        platform: &PublicKey,
    ) -> Result<(Self, Option<KeyPair>), CertError> {
        let cert_dir = dir.join(files::DIR);
        let app_id = find_app_id(&cert_dir)?;
        let alipay_path = cert_dir.join(files::ALIPAY);
        let set = Self::load(
            &cert_dir.join(files::ROOT),
            &alipay_path,
            &cert_dir.join(files::app(&app_id)),
            &app_id,
        )?;
        if &set.alipay_public_key != platform {
            return Err(CertError::KeyMismatch {
                file: alipay_path.display().to_string(),
                key: format!(
                    "the Alipay platform private key ({})",
                    dir.join(crate::protocol::layout::key_files::PLATFORM_PRIVATE)
                        .display()
                ),
            });
        }
        let app_private = cert_dir.join(files::APP_PRIVATE);
        let app_pair = if app_private.exists() {
            let text =
                fs::read_to_string(&app_private).map_err(|e| CertError::io(&app_private, e))?;
            let pair = app_key_pair(&text, &app_private.display().to_string())?;
            if pair.verifier.public_key() != &set.app_public_key {
                return Err(CertError::KeyMismatch {
                    file: cert_dir.join(files::app(&app_id)).display().to_string(),
                    key: format!("the app private key ({})", app_private.display()),
                });
            }
            Some(pair)
        } else {
            None
        };
        Ok((set, app_pair))
    }
}

/// The certificate-mode material of a key set: the checked certificate set and the app key pair
/// its app certificate holds (the app key signs the "wrong certificate" tamper case).
#[derive(Debug, Clone)]
pub struct CertKeys {
    /// The three files, their keys and SNs.
    pub set: CertSet,
    /// The app key pair (TEST ONLY).
    pub app: KeyPair,
}

macro_rules! embedded_cert {
    ($file:expr) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/keys/cert/", $file))
    };
}

impl CertKeys {
    /// The committed TEST set from `keys/cert/`, embedded in the binary. Its Alipay leaf holds
    /// the embedded platform key.
    pub fn embedded() -> Result<Self, CertError> {
        let files = CertFiles {
            app_id: TEST_APP_ID.to_owned(),
            root: embedded_cert!("alipayRootCert.crt").to_owned(),
            alipay: embedded_cert!("alipayCertPublicKey_RSA2.crt").to_owned(),
            app: embedded_cert!("appCertPublicKey_2021000000000001.crt").to_owned(),
        };
        let set = CertSet::from_files(
            files,
            [
                "<embedded>/keys/cert/alipayRootCert.crt",
                "<embedded>/keys/cert/alipayCertPublicKey_RSA2.crt",
                "<embedded>/keys/cert/appCertPublicKey_2021000000000001.crt",
            ],
        )?;
        let app = app_key_pair(
            embedded_cert!("app/private.pkcs8.pem"),
            "<embedded>/keys/cert/app/private.pkcs8.pem",
        )?;
        Ok(Self { set, app })
    }

    /// Loads `<dir>/cert/` (see [`CertSet::load_dir`]); `Ok(None)` when the directory has no
    /// `cert/`. A `cert/` without the app private key is an error.
    pub fn load_dir(dir: &Path, platform: &PublicKey) -> Result<Option<Self>, CertError> {
        if !dir.join(files::DIR).is_dir() {
            return Ok(None);
        }
        let (set, app) = CertSet::load_dir(dir, platform)?;
        let app = app.ok_or_else(|| CertError::Layout {
            dir: dir.join(files::DIR).display().to_string(),
            detail: format!(
                "{} is missing (the app key pair of the set)",
                files::APP_PRIVATE
            ),
        })?;
        Ok(Some(Self { set, app }))
    }

    /// A fresh TEST set for `platform`, app id [`TEST_APP_ID`].
    #[cfg(feature = "cert-gen")]
    pub fn generate(platform: &PublicKey) -> Result<Self, CertError> {
        let made = generate::generate(platform, TEST_APP_ID)?;
        let set = CertSet::from_files(
            made.files,
            [files::ROOT, files::ALIPAY, &files::app(TEST_APP_ID)],
        )?;
        let app = app_key_pair(
            &made.app_private_pem,
            "<generated>/cert/app/private.pkcs8.pem",
        )?;
        Ok(Self { set, app })
    }

    /// Writes the set under `<dir>/cert/` (see [`write_cert_dir`]).
    pub fn write_dir(&self, dir: &Path) -> Result<Vec<PathBuf>, CertError> {
        write_cert_dir(dir, &self.set.files, &self.app.signer.private_pem())
    }
}

impl CertSet {
    /// What a certificate-mode merchant is configured with besides the AES key.
    pub fn bundle(&self) -> CertBundle {
        CertBundle {
            app_id: self.files.app_id.clone(),
            files: [
                files::ROOT.to_owned(),
                files::ALIPAY.to_owned(),
                files::app(&self.files.app_id),
            ],
            sn: self.sn.clone(),
            pem: CertPems {
                alipay_root_cert: self.files.root.clone(),
                alipay_cert: self.files.alipay.clone(),
                app_cert: self.files.app.clone(),
            },
        }
    }
}

/// The text of the three certificate files (public material: certificates only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertPems {
    /// `alipayRootCert.crt`.
    pub alipay_root_cert: String,
    /// `alipayCertPublicKey_RSA2.crt`.
    pub alipay_cert: String,
    /// `appCertPublicKey_<appid>.crt`.
    pub app_cert: String,
}

/// The certificate part of a merchant bundle: file names (under `cert/`) and the SNs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertBundle {
    /// The app id.
    pub app_id: String,
    /// The three files a merchant configures, relative to the set's `cert/` directory: root
    /// bundle, Alipay certificate, app certificate.
    pub files: [String; 3],
    /// The SNs the merchant's SDK computes from them.
    #[serde(flatten)]
    pub sn: CertSn,
    /// The files' text, for SDKs configured with `*Content` instead of paths.
    pub pem: CertPems,
}

/// Finds `appCertPublicKey_<appid>.crt` in `cert_dir`; exactly one must exist.
pub(super) fn find_app_id(cert_dir: &Path) -> Result<String, CertError> {
    let layout = |detail: String| CertError::Layout {
        dir: cert_dir.display().to_string(),
        detail,
    };
    let entries = fs::read_dir(cert_dir).map_err(|e| layout(format!("cannot list: {e}")))?;
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|name| {
            name.strip_prefix(files::APP_PREFIX)
                .and_then(|rest| rest.strip_suffix(files::CRT))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    match ids.len() {
        1 => Ok(ids.remove(0)),
        0 => Err(layout(format!(
            "no {}<appid>{} file",
            files::APP_PREFIX,
            files::CRT
        ))),
        _ => Err(layout(format!(
            "several app certificates ({}); keep one",
            ids.iter()
                .map(|id| files::app(id))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The app key pair from its PEM (`file` names where it came from in the error).
fn app_key_pair(pem: &str, file: &str) -> Result<KeyPair, CertError> {
    let key =
        key_format::parse_private_key(pem, "app private key").map_err(|e| CertError::AppKey {
            file: file.to_string(),
            detail: e.to_string(),
        })?;
    Ok(KeyPair::from_private(key))
}
