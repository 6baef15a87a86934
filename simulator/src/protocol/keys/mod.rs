//! TEST-ONLY key material: loading, the embedded default set, and generation of fresh sets.
//!
//! An Alipay mini-program backend is configured with two values from the Open Platform console:
//! the **Alipay public key** (to verify `sign`) and the **AES key** (to decrypt `response`). That
//! is [`MerchantKeys`], loadable from a directory that holds nothing else. The simulator (playing
//! Alipay) holds a [`KeySet`]: additionally the matching **Alipay private key**, which it never
//! serves, and an unrelated *attacker* key pair and AES key used to build negative cases.
//!
//! Accepted formats: PEM (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, SPKI `PUBLIC KEY`,
//! PKCS#1 `RSA PUBLIC KEY`) and the console's one-line base64 of the DER (PKCS#8 or PKCS#1 for
//! private keys, SPKI or PKCS#1 for public keys).
//!
//! Where: `keys/parse.rs` reads and writes the formats; `keys/mod.rs` holds the [`KeySet`];
//! `keys/merchant.rs` holds [`MerchantKeys`] and the [`MerchantBundle`].

mod merchant;

use std::fs;
use std::path::{Path, PathBuf};

use rsa::PrivateKey;

pub use self::merchant::{APP_KEY_WARNING, MerchantBundle, MerchantKeys};
use crate::protocol::cert::CertKeys;
use crate::protocol::crypto::AesKey;
use crate::protocol::crypto::KeyPair;
use crate::protocol::error::KeyError;
use crate::protocol::key_format::{
    parse_private_key, parse_public_key, public_key_one_line, public_key_pem,
};
use crate::protocol::layout::{TEST_ONLY_WARNING, key_files as files};

/// A full TEST-ONLY key set: the platform pair, the app's AES key, and the attacker's material.
#[derive(Clone, Debug)]
pub struct KeySet {
    /// The Alipay platform key pair (the private half signs envelopes; never served).
    pub platform: KeyPair,
    /// The app's AES content-encryption key.
    pub aes: AesKey,
    /// An unrelated key pair, for envelopes signed by someone other than Alipay.
    pub attacker: KeyPair,
    /// An AES key unrelated to the app's.
    pub attacker_aes: AesKey,
    /// The app's own key pair (key mode, TEST ONLY): the merchant signs its OpenAPI gateway
    /// requests with the private half; the simulated gateway holds the public half.
    pub app: KeyPair,
    /// Certificate mode: the certificate set whose Alipay leaf holds `platform`'s key.
    cert: CertSlot,
}

/// The certificate material of a key set: set when loaded or generated, else made on first use
/// (feature `cert-gen`).
#[derive(Clone, Debug, Default)]
struct CertSlot(std::sync::Arc<std::sync::OnceLock<Option<std::sync::Arc<CertKeys>>>>);

impl CertSlot {
    fn filled(keys: Option<CertKeys>) -> Self {
        let slot = Self::default();
        let _ = slot.0.set(keys.map(std::sync::Arc::new));
        slot
    }
}

macro_rules! embedded {
    ($file:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/keys/", $file))
    };
}

impl KeySet {
    /// The committed TEST-ONLY set from `keys/`, embedded in the binary (parsed once).
    pub fn embedded() -> Self {
        static SET: std::sync::OnceLock<KeySet> = std::sync::OnceLock::new();
        SET.get_or_init(Self::parse_embedded).clone()
    }

    fn parse_embedded() -> Self {
        let pk = |t: &str, w| parse_private_key(t, w).expect("embedded test key parses");
        let aes = |t: &str| AesKey::from_base64(t).expect("embedded AES key parses");
        Self {
            platform: KeyPair::from_private(pk(
                embedded!("platform/private.pkcs8.pem"),
                "embedded platform private key",
            )),
            aes: aes(embedded!("platform/aes.b64.txt")),
            attacker: KeyPair::from_private(pk(
                embedded!("attacker/private.pkcs8.pem"),
                "embedded attacker private key",
            )),
            attacker_aes: aes(embedded!("attacker/aes.b64.txt")),
            app: KeyPair::from_private(pk(
                embedded!("app/private.pkcs8.pem"),
                "embedded app private key",
            )),
            cert: CertSlot::filled(Some(
                CertKeys::embedded().expect("the embedded certificate set is checked by the tests"),
            )),
        }
    }

    /// The certificate-mode material (公钥证书) of this set: the committed set (embedded), the
    /// set loaded from a key directory's `cert/`, or the one made with a generated set. For a key
    /// directory without `cert/` a fresh TEST set is made on first use when the crate has the
    /// `cert-gen` feature (its SNs then change from run to run; `alipay-sim keys generate`
    /// writes one), and there is none without it: no certificate, so no certificate mode (no
    /// `alipay_cert_sn`, and the app-key forgery is signed with the attacker key instead).
    pub fn cert(&self) -> Option<&CertKeys> {
        self.cert
            .0
            .get_or_init(|| {
                #[cfg(feature = "cert-gen")]
                {
                    CertKeys::generate(self.platform.verifier.public_key())
                        .ok()
                        .map(std::sync::Arc::new)
                }
                #[cfg(not(feature = "cert-gen"))]
                {
                    None
                }
            })
            .as_deref()
    }

    /// Loads a key directory laid out like `keys/`.
    ///
    /// The platform private key and AES key are required. When `platform/public.spki.pem` or
    /// `platform/public.b64.txt` exists it must match the private key. The attacker files are
    /// optional and default to the embedded attacker set.
    pub fn load_dir(dir: &Path) -> Result<Self, KeyError> {
        let private_path = dir.join(files::PLATFORM_PRIVATE);
        if !private_path.exists() {
            return Err(KeyError::Missing {
                dir: dir.to_path_buf(),
                what: "the Alipay private key, needed to seal envelopes \
                       (a merchant directory with only the public key and AES key opens them)",
                looked_for: files::PLATFORM_PRIVATE.into(),
            });
        }
        let private = parse_private_key(&read(&private_path)?, "Alipay private key")
            .map_err(|e| in_file(&private_path, e))?;
        let platform = KeyPair::from_private(private);
        for rel in [files::PLATFORM_PUBLIC_PEM, files::PLATFORM_PUBLIC_B64] {
            let path = dir.join(rel);
            if path.exists() {
                let public = parse_public_key(&read(&path)?, "Alipay public key")
                    .map_err(|e| in_file(&path, e))?;
                if &public != platform.verifier.public_key() {
                    return Err(KeyError::PairMismatch {
                        private: private_path,
                        public: path,
                    });
                }
            }
        }
        let aes_path = dir.join(files::PLATFORM_AES);
        let aes = AesKey::from_base64(&read(&aes_path)?).map_err(|e| in_file(&aes_path, e))?;

        let fallback = Self::embedded();
        let attacker_path = dir.join(files::ATTACKER_PRIVATE);
        let attacker = if attacker_path.exists() {
            KeyPair::from_private(
                parse_private_key(&read(&attacker_path)?, "attacker private key")
                    .map_err(|e| in_file(&attacker_path, e))?,
            )
        } else {
            fallback.attacker
        };
        let attacker_aes_path = dir.join(files::ATTACKER_AES);
        let attacker_aes = if attacker_aes_path.exists() {
            AesKey::from_base64(&read(&attacker_aes_path)?)
                .map_err(|e| in_file(&attacker_aes_path, e))?
        } else {
            fallback.attacker_aes
        };
        let app_path = dir.join(files::APP_PRIVATE);
        let app = if app_path.exists() {
            KeyPair::from_private(
                parse_private_key(&read(&app_path)?, "app private key")
                    .map_err(|e| in_file(&app_path, e))?,
            )
        } else {
            fallback.app
        };
        let cert = match CertKeys::load_dir(dir, platform.verifier.public_key())? {
            Some(c) => CertSlot::filled(Some(c)),
            None => CertSlot::default(),
        };
        Ok(Self {
            platform,
            aes,
            attacker,
            attacker_aes,
            app,
            cert,
        })
    }

    /// Generates a fresh set: two RSA-2048 pairs and two random 16-byte AES keys; the app key
    /// pair is the one the generated certificate set's app certificate holds (a third RSA-2048
    /// generation without the `cert-gen` feature).
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut gen_pair = || {
            KeyPair::from_private(
                PrivateKey::new(&mut rng, 2048).expect("RSA-2048 key generation succeeds"),
            )
        };
        let platform = gen_pair();
        let attacker = gen_pair();
        let aes = || {
            let bytes: [u8; 16] = rand::random();
            AesKey::from_bytes(&bytes).expect("16 bytes")
        };
        #[cfg(feature = "cert-gen")]
        let made = CertKeys::generate(platform.verifier.public_key()).ok();
        #[cfg(not(feature = "cert-gen"))]
        let made: Option<CertKeys> = None;
        let app = match &made {
            Some(c) => c.app.clone(),
            None => gen_pair(),
        };
        let cert = CertSlot::filled(made);
        Self {
            platform,
            aes: aes(),
            attacker,
            attacker_aes: aes(),
            app,
            cert,
        }
    }

    /// The merchant's half of this set: the Alipay public key and the AES key.
    pub fn merchant(&self) -> MerchantKeys {
        MerchantKeys {
            alipay_public_key: self.platform.verifier.clone(),
            aes: self.aes.clone(),
            cert: self.cert().map(|c| c.set.bundle()),
        }
    }

    /// What a merchant backend must be configured with for this set, including the app's own
    /// key pair (TEST ONLY: the merchant signs its gateway requests with it). Never the Alipay
    /// private key.
    pub fn merchant_bundle(&self) -> MerchantBundle {
        self.merchant().bundle().with_app_key(&self.app)
    }

    /// Writes the set to `dir` in the `keys/` layout, plus its certificate set (`cert/`), the
    /// merchant bundle (`merchant.env`, `merchant.json`) and a README marking it TEST ONLY.
    pub fn write_dir(&self, dir: &Path) -> Result<Vec<PathBuf>, KeyError> {
        let cert_written = match self.cert() {
            Some(c) => c.write_dir(dir)?,
            None => Vec::new(),
        };
        let mut written = Vec::new();
        let mut put = |rel: &str, text: String| -> Result<(), KeyError> {
            written.push(write_file(&dir.join(rel), &text)?);
            Ok(())
        };
        for (pair, aes, private, pem, b64, aes_file) in [
            (
                &self.platform,
                &self.aes,
                files::PLATFORM_PRIVATE,
                files::PLATFORM_PUBLIC_PEM,
                files::PLATFORM_PUBLIC_B64,
                files::PLATFORM_AES,
            ),
            (
                &self.attacker,
                &self.attacker_aes,
                files::ATTACKER_PRIVATE,
                files::ATTACKER_PUBLIC_PEM,
                files::ATTACKER_PUBLIC_B64,
                files::ATTACKER_AES,
            ),
        ] {
            put(private, pair.signer.private_pem())?;
            put(pem, public_key_pem(pair.verifier.public_key()))?;
            put(b64, format!("{}\n", pair.public_one_line()))?;
            put(aes_file, format!("{}\n", aes.to_base64()))?;
        }
        put(files::APP_PRIVATE, self.app.signer.private_pem())?;
        put(
            files::APP_PUBLIC_PEM,
            public_key_pem(self.app.verifier.public_key()),
        )?;
        put(
            files::APP_PUBLIC_B64,
            format!("{}\n", self.app.public_one_line()),
        )?;
        let bundle = self.merchant_bundle();
        put(files::MERCHANT_ENV, bundle.to_env())?;
        put(
            files::MERCHANT_JSON,
            format!(
                "{}\n",
                serde_json::to_string_pretty(&bundle).expect("bundle serialises")
            ),
        )?;
        put(
            "README.md",
            format!(
                "# {TEST_ONLY_WARNING}\n\nGenerated by `alipay-sim keys generate`. Layout as in the repository's `keys/README.md`.\n"
            ),
        )?;
        written.extend(cert_written);
        Ok(written)
    }
}

fn read(path: &Path) -> Result<String, KeyError> {
    fs::read_to_string(path).map_err(|e| io_err(path, e))
}

fn write_file(path: &Path, text: &str) -> Result<PathBuf, KeyError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    }
    fs::write(path, text).map_err(|e| io_err(path, e))?;
    Ok(path.to_path_buf())
}

fn io_err(path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn in_file(path: &Path, e: KeyError) -> KeyError {
    KeyError::File {
        path: path.to_path_buf(),
        source: Box::new(e),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_set_loads_and_matches_the_directory() {
        let embedded = KeySet::embedded();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys");
        let loaded = KeySet::load_dir(&dir).unwrap();
        assert_eq!(
            embedded.platform.public_one_line(),
            loaded.platform.public_one_line()
        );
        assert_eq!(embedded.aes, loaded.aes);
        assert_ne!(embedded.aes, embedded.attacker_aes);
        assert_ne!(
            embedded.platform.public_one_line(),
            embedded.attacker.public_one_line()
        );
    }

    #[test]
    fn every_accepted_format_parses_to_the_same_key() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/platform");
        let pkcs8 = fs::read_to_string(dir.join("private.pkcs8.pem")).unwrap();
        let pkcs1 = fs::read_to_string(dir.join("private.pkcs1.pem")).unwrap();
        let a = parse_private_key(&pkcs8, "k").unwrap();
        let b = parse_private_key(&pkcs1, "k").unwrap();
        assert_eq!(a.to_public_key(), b.to_public_key());
        let spki = fs::read_to_string(dir.join("public.spki.pem")).unwrap();
        let line = fs::read_to_string(dir.join("public.b64.txt")).unwrap();
        assert_eq!(
            parse_public_key(&spki, "k").unwrap(),
            parse_public_key(&line, "k").unwrap()
        );
        assert_eq!(parse_public_key(&line, "k").unwrap(), a.to_public_key());
    }

    #[test]
    fn broken_keys_are_named_errors() {
        for bad in [
            "",
            "hello",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "TUlJQklq",
        ] {
            let e = parse_private_key(bad, "Alipay private key").unwrap_err();
            assert!(e.to_string().starts_with("Alipay private key"), "{e}");
            let e = parse_public_key(bad, "Alipay public key").unwrap_err();
            assert!(e.to_string().starts_with("Alipay public key"), "{e}");
        }
    }

    #[test]
    fn a_broken_file_names_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        KeySet::embedded().write_dir(tmp.path()).unwrap();
        fs::write(tmp.path().join(files::PLATFORM_AES), "c2hvcnQ=\n").unwrap();
        let e = KeySet::load_dir(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("platform/aes.b64.txt"), "{e}");
        assert!(e.contains("5 bytes"), "{e}");
    }

    #[test]
    fn a_mismatched_public_key_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let set = KeySet::embedded();
        set.write_dir(tmp.path()).unwrap();
        fs::copy(
            tmp.path().join(files::ATTACKER_PUBLIC_PEM),
            tmp.path().join(files::PLATFORM_PUBLIC_PEM),
        )
        .unwrap();
        let e = KeySet::load_dir(tmp.path()).unwrap_err();
        assert!(matches!(e, KeyError::PairMismatch { .. }), "{e}");
    }

    #[test]
    fn written_set_round_trips_with_bundle() {
        let tmp = tempfile::tempdir().unwrap();
        let set = KeySet::embedded();
        set.write_dir(tmp.path()).unwrap();
        let back = KeySet::load_dir(tmp.path()).unwrap();
        assert_eq!(back.aes, set.aes);
        let env = fs::read_to_string(tmp.path().join(files::MERCHANT_ENV)).unwrap();
        assert!(env.contains(&format!("ALIPAY_AES_KEY={}", set.aes.to_base64())));
        assert!(env.starts_with("# TEST ONLY"));
        let json: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(tmp.path().join(files::MERCHANT_JSON)).unwrap(),
        )
        .unwrap();
        assert_eq!(json["alipay_public_key"], set.platform.public_one_line());
        assert_eq!(json["test_only"], true);
        // The only private key in the bundle is the app's own, labelled TEST ONLY; never the
        // Alipay (platform) private key.
        let text = fs::read_to_string(tmp.path().join(files::MERCHANT_JSON)).unwrap();
        assert_eq!(text.matches("BEGIN PRIVATE KEY").count(), 1);
        assert_eq!(json["app_private_key"], set.app.signer.private_pem());
        assert!(
            json["app_private_key_warning"]
                .as_str()
                .unwrap()
                .contains("TEST ONLY")
        );
        assert!(!text.contains(&set.platform.signer.private_pem().replace('\n', "\\n")));
        let back = KeySet::load_dir(tmp.path()).unwrap();
        assert_eq!(back.app.public_one_line(), set.app.public_one_line());
    }
}
