//! The merchant's side of the keys: [`MerchantKeys`] (the Alipay public key and the AES key,
//! never a private key), the bundle a merchant is configured with, and the AES key sizes.

use std::path::{Path, PathBuf};

use rsa::PublicKey;
use serde::Serialize;

use super::{
    KeySet, files, in_file, parse_public_key, public_key_one_line, public_key_pem, read, write_file,
};
use crate::protocol::cert::{CertBundle, CertSet};
use crate::protocol::crypto::{AesKey, AesSize, SignType, Verifier};
use crate::protocol::envelope::Opener;
use crate::protocol::error::KeyError;
use crate::protocol::layout::TEST_ONLY_WARNING;
use crate::protocol::signing::Signing;

/// What a merchant backend holds: the Alipay public key (to verify `sign`) and the app's AES
/// key (to decrypt `response`). Never a private key.
///
/// ```
/// use alipay_sim::{AesSize, KeySet, MerchantKeys, Signing};
///
/// let merchant = MerchantKeys::embedded();
/// assert_eq!(merchant, KeySet::embedded().merchant());
/// let opener = merchant.opener(Signing::Rsa2, AesSize::Aes128);
/// assert!(opener.verifier.is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantKeys {
    /// The Alipay public key ("支付宝公钥").
    pub alipay_public_key: Verifier,
    /// The app's AES key ("接口内容加密方式").
    pub aes: AesKey,
    /// Certificate mode: the three certificate files and their SNs, when the set has them.
    pub cert: Option<CertBundle>,
}

impl MerchantKeys {
    /// The merchant half of the embedded TEST-ONLY set.
    pub fn embedded() -> Self {
        KeySet::embedded().merchant()
    }

    /// Loads a directory holding only what a merchant has, in the `keys/` layout:
    /// the Alipay public key as `platform/public.spki.pem` or `platform/public.b64.txt` (if both
    /// exist they must be the same key) and the AES key as `platform/aes.b64.txt`. A private key
    /// in the directory is neither needed nor read.
    pub fn load_dir(dir: &Path) -> Result<Self, KeyError> {
        let mut public: Option<(PathBuf, PublicKey)> = None;
        for rel in [files::PLATFORM_PUBLIC_PEM, files::PLATFORM_PUBLIC_B64] {
            let path = dir.join(rel);
            if !path.exists() {
                continue;
            }
            let key = parse_public_key(&read(&path)?, "Alipay public key")
                .map_err(|e| in_file(&path, e))?;
            match &public {
                Some((first, k)) if k != &key => {
                    return Err(KeyError::PublicKeyMismatch {
                        first: first.clone(),
                        second: path,
                    });
                }
                Some(_) => {}
                None => public = Some((path, key)),
            }
        }
        let Some((_, public)) = public else {
            return Err(KeyError::Missing {
                dir: dir.to_path_buf(),
                what: "the Alipay public key",
                looked_for: format!(
                    "{} or {}",
                    files::PLATFORM_PUBLIC_PEM,
                    files::PLATFORM_PUBLIC_B64
                ),
            });
        };
        let aes_path = dir.join(files::PLATFORM_AES);
        if !aes_path.exists() {
            return Err(KeyError::Missing {
                dir: dir.to_path_buf(),
                what: "the AES key",
                looked_for: files::PLATFORM_AES.into(),
            });
        }
        let aes = AesKey::from_base64(&read(&aes_path)?).map_err(|e| in_file(&aes_path, e))?;
        // Certificate mode: `cert/` (if present) must hold a leaf with this public key.
        let cert = if dir.join(crate::protocol::cert::files::DIR).is_dir() {
            Some(CertSet::load_dir(dir, &public)?.0.bundle())
        } else {
            None
        };
        Ok(Self {
            alipay_public_key: Verifier::new(public),
            aes,
            cert,
        })
    }

    /// The [`Opener`] of a correct merchant configured with `signing` and the app's AES key of
    /// `size`: it verifies with the Alipay public key unless signing is [`Signing::None`].
    pub fn opener(&self, signing: Signing, size: AesSize) -> Opener {
        let mut opener = Opener::new(
            signing.sign_type().map(|_| self.alipay_public_key.clone()),
            Some(self.aes.of_size(size)),
        );
        opener.sign_type = signing.sign_type().unwrap_or(SignType::Rsa2);
        opener
    }

    /// What the merchant is configured with, as the console shows it.
    pub fn bundle(&self) -> MerchantBundle {
        MerchantBundle {
            test_only: true,
            warning: TEST_ONLY_WARNING,
            alipay_public_key: public_key_one_line(self.alipay_public_key.public_key()),
            alipay_public_key_pem: public_key_pem(self.alipay_public_key.public_key()),
            aes_key: self.aes.to_base64(),
            sign_type: SignType::Rsa2,
            encrypt_type: "AES",
            charset: "UTF-8",
            cert: self.cert.clone(),
            app_public_key: None,
            app_private_key: None,
            app_private_key_warning: None,
        }
    }

    /// Writes the merchant's files in the `keys/` layout (`platform/public.spki.pem`,
    /// `platform/public.b64.txt`, `platform/aes.b64.txt`, and the three certificate files under
    /// `cert/` when the keys have them): a directory [`MerchantKeys::load_dir`] reads, with no
    /// private key in it.
    pub fn write_dir(&self, dir: &Path) -> Result<Vec<PathBuf>, KeyError> {
        let key = self.alipay_public_key.public_key();
        let mut written = Vec::new();
        for (rel, text) in [
            (files::PLATFORM_PUBLIC_PEM, public_key_pem(key)),
            (
                files::PLATFORM_PUBLIC_B64,
                format!("{}\n", public_key_one_line(key)),
            ),
            (files::PLATFORM_AES, format!("{}\n", self.aes.to_base64())),
        ] {
            written.push(write_file(&dir.join(rel), &text)?);
        }
        // Certificate mode: the three certificate files, as the console hands them out.
        if let Some(c) = &self.cert {
            let texts = [&c.pem.alipay_root_cert, &c.pem.alipay_cert, &c.pem.app_cert];
            for (name, text) in c.files.iter().zip(texts) {
                let path = dir.join(crate::protocol::cert::files::DIR).join(name);
                written.push(write_file(&path, text)?);
            }
        }
        Ok(written)
    }
}

/// The values a merchant backend is configured with, for one key set.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MerchantBundle {
    /// Always true: these are test keys.
    pub test_only: bool,
    /// A human-readable TEST ONLY warning.
    pub warning: &'static str,
    /// The Alipay public key, one-line base64 SPKI (the console form, "支付宝公钥").
    pub alipay_public_key: String,
    /// The same key as SPKI PEM.
    pub alipay_public_key_pem: String,
    /// The AES key, base64 (the console form, "接口内容加密方式").
    pub aes_key: String,
    /// The signature type to expect.
    pub sign_type: SignType,
    /// The content encryption type.
    pub encrypt_type: &'static str,
    /// The charset of signed content and plaintext.
    pub charset: &'static str,
    /// Certificate mode: the three certificate files (under `cert/`), their text and SNs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<CertBundle>,
    /// The app's own public key (one-line base64), as registered with the simulated gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_public_key: Option<String>,
    /// The app's own private key, PKCS#8 PEM, **TEST ONLY**: the merchant's SDK signs its
    /// OpenAPI gateway requests with it. Never the Alipay private key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_private_key: Option<String>,
    /// The TEST ONLY label of `app_private_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_private_key_warning: Option<&'static str>,
}

/// The label of the app private key in a bundle.
pub const APP_KEY_WARNING: &str = "TEST ONLY: this app private key is public (committed or served by the simulator); \
     use it only against alipay-sim, never with a real Alipay app";

impl MerchantBundle {
    /// The bundle with the app's own key pair (TEST ONLY) added.
    pub fn with_app_key(mut self, app: &crate::protocol::crypto::KeyPair) -> Self {
        self.app_public_key = Some(app.public_one_line());
        self.app_private_key = Some(app.signer.private_pem());
        self.app_private_key_warning = Some(APP_KEY_WARNING);
        self
    }

    /// The bundle as a `.env` file.
    pub fn to_env(&self) -> String {
        let mut env = format!(
            "# {}\nALIPAY_PUBLIC_KEY={}\nALIPAY_AES_KEY={}\nALIPAY_SIGN_TYPE={}\nALIPAY_ENCRYPT_TYPE={}\nALIPAY_CHARSET={}\n",
            self.warning,
            self.alipay_public_key,
            self.aes_key,
            self.sign_type,
            self.encrypt_type,
            self.charset
        );
        if let Some(k) = &self.app_public_key {
            env.push_str(&format!("ALIPAY_APP_PUBLIC_KEY={k}\n"));
        }
        if self.app_private_key.is_some() {
            env.push_str(
                "# TEST ONLY app private key (signs gateway requests): app/private.pkcs8.pem\nALIPAY_APP_PRIVATE_KEY_PATH=app/private.pkcs8.pem\n",
            );
        }
        if let Some(c) = &self.cert {
            env.push_str(&format!(
                "# Certificate mode (files under cert/)\nALIPAY_APP_ID={}\nALIPAY_ROOT_CERT_PATH=cert/{}\n\
                 ALIPAY_PUBLIC_CERT_PATH=cert/{}\nALIPAY_APP_CERT_PATH=cert/{}\nALIPAY_APP_CERT_SN={}\n\
                 ALIPAY_CERT_SN={}\nALIPAY_ROOT_CERT_SN={}\n",
                c.app_id,
                c.files[0],
                c.files[1],
                c.files[2],
                c.sn.app_cert_sn,
                c.sn.alipay_cert_sn,
                c.sn.alipay_root_cert_sn,
            ));
        }
        env
    }
}
