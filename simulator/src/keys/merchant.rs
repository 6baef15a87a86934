//! The merchant's side of the keys: [`MerchantKeys`] (the Alipay public key and the AES key,
//! never a private key), the bundle a merchant is configured with, and the AES key sizes.

use std::path::{Path, PathBuf};

use rsa::PublicKey;
use serde::Serialize;

use super::{
    KeySet, files, in_file, parse_public_key, public_key_one_line, public_key_pem, read, write_file,
};
use crate::crypto::{AesKey, SignType, Verifier};
use crate::envelope::Opener;
use crate::error::KeyError;
use crate::platform::Signing;

/// The app's AES key of the given size, derived from its base key.
///
/// 128 bits is the base key itself (whatever its size). 192- and 256-bit keys (for the variants
/// the SDKs accept) are derived deterministically: the first 24 or 32 bytes of
/// `SHA-256("alipay-sim aes-<bits>" || base) || SHA-256("alipay-sim aes-<bits>/2" || base)`.
///
/// # Panics
///
/// When `bits` is not 128, 192 or 256.
pub fn aes_key_of_size(base: &AesKey, bits: usize) -> AesKey {
    use sha2::{Digest, Sha256};
    if bits == 128 {
        return base.clone();
    }
    assert!(
        bits == 192 || bits == 256,
        "AES key size {bits} is not 128, 192 or 256"
    );
    let label = format!("alipay-sim aes-{bits}");
    let mut material = Sha256::new()
        .chain_update(label.as_bytes())
        .chain_update(base.as_bytes())
        .finalize()
        .to_vec();
    material.extend_from_slice(
        &Sha256::new()
            .chain_update(format!("{label}/2").as_bytes())
            .chain_update(base.as_bytes())
            .finalize(),
    );
    AesKey::from_bytes(&material[..bits / 8]).expect("24 or 32 bytes")
}

/// What a merchant backend holds: the Alipay public key (to verify `sign`) and the app's AES
/// key (to decrypt `response`). Never a private key.
///
/// ```
/// use alipay_sim::keys::{KeySet, MerchantKeys};
/// use alipay_sim::platform::Signing;
///
/// let merchant = MerchantKeys::embedded();
/// assert_eq!(merchant, KeySet::embedded().merchant());
/// let opener = merchant.opener(Signing::Rsa2, 128);
/// assert!(opener.verifier.is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantKeys {
    /// The Alipay public key ("支付宝公钥").
    pub alipay_public_key: Verifier,
    /// The app's AES key ("接口内容加密方式").
    pub aes: AesKey,
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
        Ok(Self {
            alipay_public_key: Verifier::new(public),
            aes,
        })
    }

    /// The AES key of `bits` bits (see [`aes_key_of_size`]).
    pub fn aes_key(&self, bits: usize) -> AesKey {
        aes_key_of_size(&self.aes, bits)
    }

    /// The [`Opener`] of a correct merchant configured with `signing` and an AES key of
    /// `aes_bits` bits: it verifies with the Alipay public key unless signing is
    /// [`Signing::None`].
    pub fn opener(&self, signing: Signing, aes_bits: usize) -> Opener {
        let mut opener = Opener::new(
            signing.sign_type().map(|_| self.alipay_public_key.clone()),
            Some(self.aes_key(aes_bits)),
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
        }
    }

    /// Writes the merchant's files in the `keys/` layout (`platform/public.spki.pem`,
    /// `platform/public.b64.txt`, `platform/aes.b64.txt`): a directory [`MerchantKeys::load_dir`]
    /// reads, with no private key in it.
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
        Ok(written)
    }
}

/// The warning every generated key file set carries.
pub const TEST_ONLY_WARNING: &str =
    "TEST ONLY: simulator key material. Never configure it in a production Alipay app.";

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
}

impl MerchantBundle {
    /// The bundle as a `.env` file.
    pub fn to_env(&self) -> String {
        format!(
            "# {}\nALIPAY_PUBLIC_KEY={}\nALIPAY_AES_KEY={}\nALIPAY_SIGN_TYPE={}\nALIPAY_ENCRYPT_TYPE={}\nALIPAY_CHARSET={}\n",
            self.warning,
            self.alipay_public_key,
            self.aes_key,
            self.sign_type,
            self.encrypt_type,
            self.charset
        )
    }
}
