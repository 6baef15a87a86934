//! Certificate mode (公钥证书): the three certificate files a merchant downloads from the console,
//! their serial-number digests (SN) and the checks a careful merchant makes on them.
//!
//! In certificate mode nothing changes on the wire: `my.getPhoneNumber` still returns
//! `{"response":"<AES ciphertext>","sign":"<RSA2 signature>"}`, and `sign` is still verified over the
//! quoted ciphertext. What changes is where the merchant gets the Alipay public key from: instead
//! of a one-line key it is configured with three files,
//!
//! - `alipayCertPublicKey_RSA2.crt`: the Alipay leaf certificate (its key signs envelopes), followed
//!   by the intermediate CA that issued it;
//! - `alipayRootCert.crt`: a bundle of self-signed roots, RSA and non-RSA mixed;
//! - `appCertPublicKey_<appid>.crt`: the app's own certificate (its key signs the app's requests).
//!
//! The SDKs derive three identifiers from them ([`CertSn`]), which the gateway checks on API calls:
//! `SN = hex(MD5(issuer DN as "CN=..,OU=..,O=..,C=.." + decimal serial))`, and for the root bundle
//! the SNs of the RSA-signed roots only, joined with `_` in file order.
//!
//! Parsing uses maintained crates only: `pem` for the PEM armour, `x509-parser` for the
//! certificates, the `rsa` crate for the chain's RSA signatures; `generate` (feature `cert-gen`,
//! part of `server`) makes TEST-ONLY sets with `rcgen`. Nothing here is hand-written DER. All of
//! this is pure Rust, so the protocol core stays free of C code.
//!
//! Every error is one [`CertError`] naming the file (or the content's role) and the problem.

#[cfg(feature = "cert-gen")]
pub mod generate;

use std::fs;
use std::path::{Path, PathBuf};

use md5::{Digest as _, Md5};
use rsa::PublicKey;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::keys::{self, KeyPair, TEST_ONLY_WARNING};

/// The app id of the committed TEST set (`keys/cert/appCertPublicKey_<appid>.crt`).
pub const TEST_APP_ID: &str = "2021000000000001";
/// The partner id (PID) written into the TEST leaves' subjects.
pub const TEST_PID: &str = "2088000000000001";

/// The published SNs of vector E (protocol notes §9-E, from the Node SDK's test fixtures):
/// `app_cert_sn`, `alipay_cert_sn`, `alipay_root_cert_sn`.
pub const VECTOR_E_SN: [&str; 3] = [
    "866efef280dec9137a87d047ac446315",
    "7513daaaa48aa3ba2e4018d84402479c",
    "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6",
];

/// File names of a certificate set inside a key directory (`keys/cert/`).
pub mod files {
    /// The directory of the certificate set, relative to a key directory.
    pub const DIR: &str = "cert";
    /// The root bundle (file name as the console names it).
    pub const ROOT: &str = "alipayRootCert.crt";
    /// The Alipay leaf certificate followed by its intermediate.
    pub const ALIPAY: &str = "alipayCertPublicKey_RSA2.crt";
    /// Prefix of the app certificate's file name, `appCertPublicKey_<appid>.crt`.
    pub const APP_PREFIX: &str = "appCertPublicKey_";
    /// Suffix of every certificate file.
    pub const CRT: &str = ".crt";
    /// The app's private key (TEST ONLY), PKCS#8 PEM, beside the certificates.
    pub const APP_PRIVATE: &str = "app/private.pkcs8.pem";
    /// The app's public key, SPKI PEM.
    pub const APP_PUBLIC_PEM: &str = "app/public.spki.pem";
    /// The three SNs and the app id, as JSON.
    pub const SN_JSON: &str = "cert-sn.json";

    /// The app certificate's file name for `app_id`.
    pub fn app(app_id: &str) -> String {
        format!("{APP_PREFIX}{app_id}{CRT}")
    }
}

/// The signature-algorithm OID prefix of the RSA family (`1.2.840.113549.1.1.*`): only roots signed
/// this way count in `alipay_root_cert_sn`, as in the Java and Node SDKs.
pub const RSA_SIGNATURE_OID_PREFIX: &str = "1.2.840.113549.1.1.";

/// A certificate file could not be used. Each variant names the file (a path, or the role of
/// content passed in memory) and what was wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertError {
    /// The file could not be read.
    #[error("certificate file {file}: cannot read: {message}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error text.
        message: String,
    },
    /// The text is not PEM (no `-----BEGIN CERTIFICATE-----` block, or broken armour).
    #[error("certificate file {file}: not PEM: {detail}")]
    NotPem {
        /// The file.
        file: String,
        /// What was found instead.
        detail: String,
    },
    /// A PEM block is not an X.509 certificate.
    #[error("certificate file {file}: block {index} is not an X.509 certificate: {detail}")]
    NotCertificate {
        /// The file.
        file: String,
        /// 1-based position of the block in the file.
        index: usize,
        /// What the parser said.
        detail: String,
    },
    /// The root bundle holds no RSA-signed root, so `alipay_root_cert_sn` would be empty.
    #[error(
        "certificate file {file}: the root bundle holds no RSA-signed root \
         (signature OID 1.2.840.113549.1.1.*), so alipay_root_cert_sn would be empty; \
         found: {found}"
    )]
    NoRsaRoot {
        /// The file.
        file: String,
        /// The signature algorithms that were found.
        found: String,
    },
    /// A leaf certificate does not hold an RSA public key.
    #[error("certificate file {file}: the certificate does not hold an RSA public key: {detail}")]
    NotRsaKey {
        /// The file.
        file: String,
        /// What it holds instead.
        detail: String,
    },
    /// A leaf certificate holds a different key than the private key it must go with.
    #[error(
        "certificate file {file}: its public key is not the public half of {key} \
         (the certificate and the key belong to different key pairs)"
    )]
    KeyMismatch {
        /// The certificate file.
        file: String,
        /// The key it was compared with.
        key: String,
    },
    /// A certificate's issuer name has a value we cannot render as text (the SN needs it).
    #[error("certificate file {file}: issuer attribute {attribute} is not a text value")]
    IssuerName {
        /// The file.
        file: String,
        /// The attribute's OID or short name.
        attribute: String,
    },
    /// The chain from a leaf to an RSA root in the bundle does not verify.
    #[error("certificate file {file}: chain does not verify: {detail}")]
    Chain {
        /// The leaf's file.
        file: String,
        /// Which link broke and why.
        detail: String,
    },
    /// A certificate directory does not hold exactly one `appCertPublicKey_<appid>.crt`.
    #[error("certificate directory {dir}: {detail}")]
    Layout {
        /// The directory.
        dir: String,
        /// What is missing or ambiguous.
        detail: String,
    },
    /// Making a TEST-ONLY certificate set failed (a library error; not expected in practice).
    #[error("generating a TEST-ONLY certificate set: {0}")]
    Generate(String),
}

/// The three certificate serial-number digests the SDKs compute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSn {
    /// `app_cert_sn`: SN of `appCertPublicKey_<appid>.crt`.
    pub app_cert_sn: String,
    /// `alipay_cert_sn`: SN of the first certificate of `alipayCertPublicKey_RSA2.crt`.
    pub alipay_cert_sn: String,
    /// `alipay_root_cert_sn`: SNs of the RSA-signed roots of `alipayRootCert.crt`, joined with `_`.
    pub alipay_root_cert_sn: String,
}

/// The DER certificates of one PEM file, in file order.
#[derive(Debug, Clone)]
pub struct PemCerts {
    file: String,
    ders: Vec<Vec<u8>>,
}

impl PemCerts {
    /// Splits PEM `text` into certificates. `file` names the source in errors.
    ///
    /// Refused: text without any `-----BEGIN CERTIFICATE-----` block, broken armour or base64, a
    /// block of another type (e.g. a private key), a block that is not an X.509 certificate, and
    /// a `-----BEGIN` line the PEM reader did not consume (nothing is silently dropped).
    pub fn parse(file: &str, text: &[u8]) -> Result<Self, CertError> {
        let not_pem = |detail: String| CertError::NotPem {
            file: file.to_owned(),
            detail,
        };
        let begins = text
            .windows(b"-----BEGIN ".len())
            .filter(|w| *w == b"-----BEGIN ")
            .count();
        if begins == 0 {
            let detail = if text.first() == Some(&0x30) {
                "it looks like binary DER; convert it with `openssl x509 -inform DER`".to_owned()
            } else if text.iter().all(u8::is_ascii_whitespace) {
                "the file is empty".to_owned()
            } else {
                "no -----BEGIN CERTIFICATE----- line".to_owned()
            };
            return Err(not_pem(detail));
        }
        let blocks = pem::parse_many(text).map_err(|e| not_pem(e.to_string()))?;
        if blocks.len() != begins {
            return Err(not_pem(format!(
                "{begins} -----BEGIN lines but {} well-formed PEM blocks",
                blocks.len()
            )));
        }
        let mut ders = Vec::with_capacity(blocks.len());
        for (i, block) in blocks.into_iter().enumerate() {
            let index = i + 1;
            if block.tag() != "CERTIFICATE" {
                return Err(CertError::NotCertificate {
                    file: file.to_owned(),
                    index,
                    detail: format!("the PEM block is {:?}, not CERTIFICATE", block.tag()),
                });
            }
            let der = block.into_contents();
            match X509Certificate::from_der(&der) {
                Ok(([], _)) => {}
                Ok((rest, _)) => {
                    return Err(CertError::NotCertificate {
                        file: file.to_owned(),
                        index,
                        detail: format!("{} bytes after the certificate", rest.len()),
                    });
                }
                Err(e) => {
                    return Err(CertError::NotCertificate {
                        file: file.to_owned(),
                        index,
                        detail: e.to_string(),
                    });
                }
            }
            ders.push(der);
        }
        Ok(Self {
            file: file.to_owned(),
            ders,
        })
    }

    /// Reads and splits a PEM file.
    pub fn read(path: &Path) -> Result<Self, CertError> {
        let file = path.display().to_string();
        let bytes = fs::read(path).map_err(|e| CertError::Io {
            file: file.clone(),
            message: e.to_string(),
        })?;
        Self::parse(&file, &bytes)
    }

    /// The name used in errors.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// How many certificates the file holds.
    pub fn len(&self) -> usize {
        self.ders.len()
    }

    /// Whether the file holds no certificate (never true for a parsed file).
    pub fn is_empty(&self) -> bool {
        self.ders.is_empty()
    }

    /// The DER bytes of each certificate, in file order.
    pub fn ders(&self) -> &[Vec<u8>] {
        &self.ders
    }

    fn cert(&self, i: usize) -> X509Certificate<'_> {
        // Every block was parsed once in `parse`; parsing again cannot fail.
        X509Certificate::from_der(&self.ders[i])
            .expect("checked when the file was parsed")
            .1
    }

    /// The SN of the first certificate (what the SDKs use for `app_cert_sn`/`alipay_cert_sn`).
    pub fn leaf_sn(&self) -> Result<String, CertError> {
        cert_sn(&self.cert(0), &self.file)
    }

    /// `alipay_root_cert_sn`: the SNs of the RSA-signed certificates, joined with `_` in file order.
    pub fn root_sn(&self) -> Result<String, CertError> {
        let mut sns = Vec::new();
        let mut found = Vec::new();
        for i in 0..self.ders.len() {
            let cert = self.cert(i);
            let oid = cert.signature_algorithm.algorithm.to_id_string();
            if oid.starts_with(RSA_SIGNATURE_OID_PREFIX) {
                sns.push(cert_sn(&cert, &self.file)?);
            }
            found.push(oid);
        }
        if sns.is_empty() {
            return Err(CertError::NoRsaRoot {
                file: self.file.clone(),
                found: found.join(", "),
            });
        }
        Ok(sns.join("_"))
    }

    /// The RSA public key of the first certificate.
    pub fn leaf_public_key(&self) -> Result<PublicKey, CertError> {
        let cert = self.cert(0);
        let spki = cert.public_key();
        PublicKey::from_public_key_der(spki.raw).map_err(|e| CertError::NotRsaKey {
            file: self.file.clone(),
            detail: format!(
                "key algorithm {} ({e})",
                spki.algorithm.algorithm.to_id_string()
            ),
        })
    }
}

/// The issuer DN the way the SDKs render it for the SN: attributes from the most specific
/// (last encoded) to the least, `shortName=value`, joined with `,` (Java's RFC 2253 form and
/// Node's reversed attribute list agree on this for the DNs Alipay uses).
pub fn issuer_for_sn(name: &X509Name<'_>, file: &str) -> Result<String, CertError> {
    let registry = x509_parser::objects::oid_registry();
    let mut parts = Vec::new();
    for attr in name.iter_attributes() {
        let oid = attr.attr_type();
        let short = x509_parser::objects::oid2abbrev(oid, registry)
            .map(str::to_owned)
            .unwrap_or_else(|_| oid.to_id_string());
        let value = attr.as_str().map_err(|_| CertError::IssuerName {
            file: file.to_owned(),
            attribute: short.clone(),
        })?;
        parts.push(format!("{short}={value}"));
    }
    parts.reverse();
    Ok(parts.join(","))
}

/// The SN of one certificate: lowercase hex of `MD5(issuer + decimal serial)`, 32 characters.
pub fn cert_sn(cert: &X509Certificate<'_>, file: &str) -> Result<String, CertError> {
    Ok(sn_of(
        &issuer_for_sn(cert.issuer(), file)?,
        &cert.tbs_certificate.serial.to_str_radix(10),
    ))
}

/// `hex(MD5(issuer + serial_decimal))`, the SN formula itself.
pub fn sn_of(issuer: &str, serial_decimal: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(issuer.as_bytes());
    md5.update(serial_decimal.as_bytes());
    hex::encode(md5.finalize())
}

/// Reads the Alipay public key out of `alipayCertPublicKey_RSA2.crt` (its first certificate), as
/// every SDK does. No chain check: this is what a merchant's verification uses.
pub fn alipay_public_key_from_cert(path: &Path) -> Result<PublicKey, CertError> {
    PemCerts::read(path)?.leaf_public_key()
}

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
        // Each file is checked as PEM first, so that binary DER or other non-text content is
        // reported as such rather than as an encoding error.
        let read = |p: &Path| -> Result<String, CertError> {
            let bytes = fs::read(p).map_err(|e| CertError::Io {
                file: p.display().to_string(),
                message: e.to_string(),
            })?;
            PemCerts::parse(&p.display().to_string(), &bytes)?;
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
                    dir.join(keys::files::PLATFORM_PRIVATE).display()
                ),
            });
        }
        let app_private = cert_dir.join(files::APP_PRIVATE);
        let app_pair = if app_private.exists() {
            let text = fs::read_to_string(&app_private).map_err(|e| CertError::Io {
                file: app_private.display().to_string(),
                message: e.to_string(),
            })?;
            let key = keys::parse_private_key(&text, "app private key").map_err(|e| {
                CertError::KeyMismatch {
                    file: app_private.display().to_string(),
                    key: e.to_string(),
                }
            })?;
            let pair = KeyPair::from_private(key);
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
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../keys/cert/", $file))
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
        let key =
            keys::parse_private_key(embedded_cert!("app/private.pkcs8.pem"), "app private key")
                .map_err(|e| CertError::KeyMismatch {
                    file: "<embedded>/keys/cert/app/private.pkcs8.pem".into(),
                    key: e.to_string(),
                })?;
        Ok(Self {
            set,
            app: KeyPair::from_private(key),
        })
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
        let key = keys::parse_private_key(&made.app_private_pem, "app private key")
            .map_err(|e| CertError::Generate(e.to_string()))?;
        Ok(Self {
            set,
            app: KeyPair::from_private(key),
        })
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
fn find_app_id(cert_dir: &Path) -> Result<String, CertError> {
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

/// Verifies that the first certificate of `leaf` chains to a self-signed RSA root of `roots`,
/// using the certificates after the first one of `intermediates` as the only intermediates.
fn verify_chain(
    leaf: &PemCerts,
    intermediates: &PemCerts,
    roots: &PemCerts,
) -> Result<(), CertError> {
    let chain_err = |detail: String| CertError::Chain {
        file: leaf.file.clone(),
        detail,
    };
    let mut pool: Vec<(X509Certificate<'_>, bool)> = Vec::new();
    for i in 1..intermediates.len() {
        pool.push((intermediates.cert(i), false));
    }
    for i in 0..roots.len() {
        pool.push((roots.cert(i), true));
    }
    let mut current = leaf.cert(0);
    for _ in 0..=pool.len() {
        if !current.validity().is_valid() {
            return Err(chain_err(format!(
                "\"{}\" is not valid today (valid {} to {})",
                current.subject(),
                current.validity().not_before,
                current.validity().not_after
            )));
        }
        let Some((issuer, is_root)) = pool
            .iter()
            .find(|(c, _)| c.subject().as_raw() == current.issuer().as_raw())
        else {
            return Err(chain_err(format!(
                "no certificate in {} or {} is the issuer \"{}\" of \"{}\"",
                intermediates.file,
                roots.file,
                current.issuer(),
                current.subject()
            )));
        };
        verify_rsa_signature(&current, issuer).map_err(|e| {
            chain_err(format!(
                "the signature of \"{}\" does not verify with the key of \"{}\": {e}",
                current.subject(),
                issuer.subject()
            ))
        })?;
        if *is_root {
            let oid = issuer.signature_algorithm.algorithm.to_id_string();
            if !oid.starts_with(RSA_SIGNATURE_OID_PREFIX) {
                return Err(chain_err(format!(
                    "it ends at root \"{}\", which is not RSA-signed ({oid})",
                    issuer.subject()
                )));
            }
            if !issuer.validity().is_valid() {
                return Err(chain_err(format!(
                    "root \"{}\" is not valid today",
                    issuer.subject()
                )));
            }
            return Ok(());
        }
        current = issuer.clone();
    }
    Err(chain_err("the issuer chain loops".into()))
}

/// Verifies `cert`'s signature with `issuer`'s key. Only RSA PKCS#1 v1.5 signatures (SHA-1,
/// SHA-256, SHA-384, SHA-512) are checked: a chain that matters here ends at an RSA root, and
/// every link of a console chain is RSA-signed.
fn verify_rsa_signature(
    cert: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> Result<(), String> {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier as _;
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    let key = PublicKey::from_public_key_der(issuer.public_key().raw)
        .map_err(|e| format!("the issuer's key is not RSA ({e})"))?;
    let sig = Signature::try_from(cert.signature_value.data.as_ref())
        .map_err(|e| format!("malformed signature ({e})"))?;
    let tbs: &[u8] = cert.tbs_certificate.as_ref();
    let checked = match oid.as_str() {
        "1.2.840.113549.1.1.11" => VerifyingKey::<sha2::Sha256>::new(key).verify(tbs, &sig),
        "1.2.840.113549.1.1.12" => VerifyingKey::<sha2::Sha384>::new(key).verify(tbs, &sig),
        "1.2.840.113549.1.1.13" => VerifyingKey::<sha2::Sha512>::new(key).verify(tbs, &sig),
        "1.2.840.113549.1.1.5" => VerifyingKey::<sha1::Sha1>::new(key).verify(tbs, &sig),
        other => {
            return Err(format!(
                "signature algorithm {other} is not RSA PKCS#1 v1.5"
            ));
        }
    };
    checked.map_err(|_| "wrong signature".to_owned())
}

/// The directory layout written for a cert set, relative to a key directory.
pub fn paths(dir: &Path, app_id: &str) -> [PathBuf; 3] {
    let d = dir.join(files::DIR);
    [
        d.join(files::ROOT),
        d.join(files::ALIPAY),
        d.join(files::app(app_id)),
    ]
}

/// `cert/cert-sn.json`: what a merchant's SDK will compute from the set.
#[derive(Debug, Serialize)]
struct SnFile<'a> {
    test_only: bool,
    warning: &'a str,
    app_id: &'a str,
    #[serde(flatten)]
    sn: &'a CertSn,
}

/// Checks a set (as [`CertSet::from_files`] does) and writes it under `<dir>/cert/`: the
/// three certificate files, the app key pair, `cert-sn.json` and a TEST ONLY README. Returns the
/// written paths.
pub fn write_cert_dir(
    dir: &Path,
    cert_files: &CertFiles,
    app_private_pem: &str,
) -> Result<Vec<PathBuf>, CertError> {
    let gen_err = |e: String| CertError::Generate(e);
    {
        let set = CertSet::from_files(
            cert_files.clone(),
            [files::ROOT, files::ALIPAY, &files::app(&cert_files.app_id)],
        )?;
        let app_public_pem = set
            .app_public_key
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .map_err(|e| gen_err(e.to_string()))?;
        let sn_json = serde_json::to_string_pretty(&SnFile {
            test_only: true,
            warning: TEST_ONLY_WARNING,
            app_id: &cert_files.app_id,
            sn: &set.sn,
        })
        .map_err(|e| gen_err(e.to_string()))?;
        let cert_dir = dir.join(files::DIR);
        // A set has one app certificate: drop those of a set this one replaces.
        if let Ok(entries) = std::fs::read_dir(&cert_dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(files::APP_PREFIX)
                    && name.ends_with(files::CRT)
                    && name != files::app(&cert_files.app_id)
                {
                    std::fs::remove_file(e.path()).map_err(|err| CertError::Io {
                        file: e.path().display().to_string(),
                        message: err.to_string(),
                    })?;
                }
            }
        }
        let mut written = Vec::new();
        for (rel, text) in [
            (files::ROOT.to_owned(), cert_files.root.clone()),
            (files::ALIPAY.to_owned(), cert_files.alipay.clone()),
            (files::app(&cert_files.app_id), cert_files.app.clone()),
            (files::APP_PRIVATE.to_owned(), app_private_pem.to_owned()),
            (files::APP_PUBLIC_PEM.to_owned(), app_public_pem),
            (files::SN_JSON.to_owned(), format!("{sn_json}\n")),
            (
                "README.md".to_owned(),
                format!(
                    "# {TEST_ONLY_WARNING}\n\nA TEST-ONLY certificate set (公钥证书) made by alipay-sim: \
                     no real CA issued it and nothing trusts it. See the repository's keys/README.md.\n"
                ),
            ),
        ] {
            let path = cert_dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| CertError::Io {
                    file: parent.display().to_string(),
                    message: e.to_string(),
                })?;
            }
            std::fs::write(&path, text).map_err(|e| CertError::Io {
                file: path.display().to_string(),
                message: e.to_string(),
            })?;
            written.push(path);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests;
