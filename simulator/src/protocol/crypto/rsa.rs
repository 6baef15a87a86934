//! RSA PKCS#1 v1.5 signatures as Alipay uses them: `RSA2` (SHA256withRSA, the default) and the
//! legacy `RSA` (SHA1withRSA).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::EncodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer as _, Verifier as _};
use rsa::{PrivateKey, PublicKey};
use serde::{Deserialize, Serialize};

use crate::protocol::error::SignatureError;
use crate::protocol::key_format::public_key_one_line;

/// The signature algorithm named by the envelope's `sign_type` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SignType {
    /// `RSA2`: SHA256withRSA, RSASSA-PKCS1-v1_5. The mini-program default.
    #[serde(rename = "RSA2")]
    Rsa2,
    /// `RSA`: SHA1withRSA, RSASSA-PKCS1-v1_5. Legacy.
    #[serde(rename = "RSA")]
    Rsa,
}

impl SignType {
    /// The wire name: `RSA2` or `RSA`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Rsa2 => "RSA2",
            SignType::Rsa => "RSA",
        }
    }

    /// Parses the wire name exactly (`RSA2` or `RSA`, case-sensitive as Alipay writes it).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RSA2" => Some(SignType::Rsa2),
            "RSA" => Some(SignType::Rsa),
            _ => None,
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which implementation computes RSA2 signatures.
///
/// Both produce byte-identical signatures (PKCS#1 v1.5 is deterministic); they differ only in
/// speed. SHA-1 (`RSA`) signatures always use RustCrypto because aws-lc-rs does not offer
/// PKCS#1 v1.5 SHA-1 signing. aws-lc-rs is only compiled in with the `aws-lc` feature (on by
/// default); without it every signer uses RustCrypto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignBackend {
    /// aws-lc-rs (AWS-LC, assembly-optimised): the default with the `aws-lc` feature.
    AwsLc,
    /// The pure-Rust `rsa` crate (RustCrypto): the default without it.
    RustCrypto,
}

impl Default for SignBackend {
    fn default() -> Self {
        if cfg!(feature = "aws-lc") {
            SignBackend::AwsLc
        } else {
            SignBackend::RustCrypto
        }
    }
}

#[cfg(feature = "aws-lc")]
type FastKey = std::sync::Arc<aws_lc_rs::signature::RsaKeyPair>;
/// Without the `aws-lc` feature there is no fast key; the type keeps [`Signer`] one shape.
#[cfg(not(feature = "aws-lc"))]
type FastKey = std::convert::Infallible;

/// The aws-lc-rs key pair for `key`, when the feature is on and aws-lc-rs accepts the key.
#[cfg(feature = "aws-lc")]
fn fast_key(key: &PrivateKey) -> Option<FastKey> {
    let der = key.to_pkcs8_der().ok()?;
    aws_lc_rs::signature::RsaKeyPair::from_pkcs8(der.as_bytes())
        .ok()
        .map(std::sync::Arc::new)
}

#[cfg(not(feature = "aws-lc"))]
fn fast_key(_key: &PrivateKey) -> Option<FastKey> {
    None
}

#[cfg(feature = "aws-lc")]
fn fast_sign(pair: &FastKey, message: &[u8]) -> Vec<u8> {
    let mut sig = vec![0u8; pair.public_modulus_len()];
    let rng = aws_lc_rs::rand::SystemRandom::new();
    pair.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &rng,
        message,
        &mut sig,
    )
    .expect("RSA PKCS#1 v1.5 signing with a validated key cannot fail");
    sig
}

#[cfg(not(feature = "aws-lc"))]
fn fast_sign(pair: &FastKey, _message: &[u8]) -> Vec<u8> {
    match *pair {}
}

/// A private key ready to sign Alipay envelopes.
#[derive(Clone)]
pub struct Signer {
    key: PrivateKey,
    sha256: SigningKey<rsa::sha2::Sha256>,
    sha1: SigningKey<sha1::Sha1>,
    fast: Option<FastKey>,
    backend: SignBackend,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({:?}, private key hidden)", self.backend)
    }
}

impl Signer {
    /// Wraps a private key, with the default (fastest available) backend.
    pub fn new(key: PrivateKey) -> Self {
        Self::with_backend(key, SignBackend::default())
    }

    /// Wraps a private key with an explicit backend. If aws-lc-rs refuses the key (e.g. a key
    /// under 2048 bits), or the `aws-lc` feature is off, the signer falls back to RustCrypto;
    /// [`Signer::backend`] says which one signs.
    pub fn with_backend(key: PrivateKey, backend: SignBackend) -> Self {
        let fast = match backend {
            SignBackend::AwsLc => fast_key(&key),
            SignBackend::RustCrypto => None,
        };
        let backend = if fast.is_some() {
            SignBackend::AwsLc
        } else {
            SignBackend::RustCrypto
        };
        Self {
            sha256: SigningKey::new(key.clone()),
            sha1: SigningKey::new(key.clone()),
            key,
            fast,
            backend,
        }
    }

    /// The backend actually in use for RSA2.
    pub fn backend(&self) -> SignBackend {
        self.backend
    }

    /// The private key as PKCS#8 PEM, for writing a generated TEST-ONLY key set to disk.
    pub fn private_pem(&self) -> String {
        self.key
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .expect("encoding a valid RSA private key as PKCS#8 cannot fail")
            .to_string()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.to_public_key()
    }

    /// Signs `message` and returns the raw signature bytes.
    pub fn sign(&self, sign_type: SignType, message: &[u8]) -> Vec<u8> {
        match (sign_type, &self.fast) {
            (SignType::Rsa2, Some(pair)) => fast_sign(pair, message),
            (SignType::Rsa2, None) => self.sha256.sign(message).to_vec(),
            (SignType::Rsa, _) => self.sha1.sign(message).to_vec(),
        }
    }

    /// Signs `message` and returns the signature as standard base64, the `sign` field's form.
    pub fn sign_base64(&self, sign_type: SignType, message: &[u8]) -> String {
        STANDARD.encode(self.sign(sign_type, message))
    }
}

/// A public key that checks Alipay signatures (the merchant's "支付宝公钥").
#[derive(Clone)]
pub struct Verifier {
    key: PublicKey,
    sha256: VerifyingKey<rsa::sha2::Sha256>,
    sha1: VerifyingKey<sha1::Sha1>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier(RSA public key)")
    }
}

impl PartialEq for Verifier {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Verifier {}

impl Verifier {
    /// Wraps a public key.
    pub fn new(key: PublicKey) -> Self {
        Self {
            sha256: VerifyingKey::new(key.clone()),
            sha1: VerifyingKey::new(key.clone()),
            key,
        }
    }

    /// The wrapped public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// Checks a raw signature over `message`.
    pub fn verify(
        &self,
        sign_type: SignType,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let sig = Signature::try_from(signature).map_err(|_| SignatureError::Mismatch)?;
        let ok = match sign_type {
            SignType::Rsa2 => self.sha256.verify(message, &sig).is_ok(),
            SignType::Rsa => self.sha1.verify(message, &sig).is_ok(),
        };
        if ok {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// Checks a base64 signature (the `sign` field's form) over `message`.
    pub fn verify_base64(
        &self,
        sign_type: SignType,
        message: &[u8],
        signature_b64: &str,
    ) -> Result<(), SignatureError> {
        let sig = STANDARD
            .decode(signature_b64)
            .map_err(|e| SignatureError::Base64(e.to_string()))?;
        self.verify(sign_type, message, &sig)
    }
}

/// An RSA key pair: a signer and the matching verifier.
#[derive(Clone, Debug)]
pub struct KeyPair {
    /// Signs with the private key.
    pub signer: Signer,
    /// Verifies with the public key.
    pub verifier: Verifier,
}

impl KeyPair {
    /// Builds a pair from a private key (the public half is derived from it).
    pub fn from_private(key: PrivateKey) -> Self {
        let verifier = Verifier::new(key.to_public_key());
        Self {
            signer: Signer::new(key),
            verifier,
        }
    }

    /// The public key in the console's one-line base64 form.
    pub fn public_one_line(&self) -> String {
        public_key_one_line(self.verifier.public_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::keys::KeySet;

    #[test]
    fn both_backends_make_byte_identical_rsa2_signatures() {
        let key = KeySet::embedded().platform.signer.key;
        let aws = Signer::with_backend(key.clone(), SignBackend::AwsLc);
        let rust = Signer::with_backend(key, SignBackend::RustCrypto);
        assert_eq!(aws.backend(), SignBackend::default());
        assert_eq!(rust.backend(), SignBackend::RustCrypto);
        let verifier = KeySet::embedded().platform.verifier;
        for message in [
            &b""[..],
            b"\"abc+/=\"",
            b"{\"code\":\"10000\",\"msg\":\"Success\",\"mobile\":\"13800000000\"}",
            &[0xffu8; 1000][..],
        ] {
            let a = aws.sign(SignType::Rsa2, message);
            let r = rust.sign(SignType::Rsa2, message);
            assert_eq!(a.len(), 256);
            assert_eq!(a, r, "backends disagree on {message:?}");
            verifier.verify(SignType::Rsa2, message, &a).unwrap();
            // SHA-1 always goes through RustCrypto, whichever backend was asked for.
            assert_eq!(
                aws.sign(SignType::Rsa, message),
                rust.sign(SignType::Rsa, message)
            );
        }
    }
}
