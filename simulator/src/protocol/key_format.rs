//! The key formats we read: PEM (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, SPKI
//! `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`) and the console's one-line base64 of the DER, and the
//! forms we write (one-line SPKI, SPKI PEM).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::{PrivateKey, PublicKey};

use crate::protocol::error::KeyError;

/// Parses an RSA private key from PEM (PKCS#8 or PKCS#1) or one-line base64 DER.
pub fn parse_private_key(text: &str, what: &'static str) -> Result<PrivateKey, KeyError> {
    let t = text.trim();
    let err = |detail: String| KeyError::Rsa { what, detail };
    if t.is_empty() {
        return Err(err("the text is empty".into()));
    }
    if t.starts_with("-----BEGIN PRIVATE KEY-----") {
        return PrivateKey::from_pkcs8_pem(t).map_err(|e| err(format!("PKCS#8 PEM: {e}")));
    }
    if t.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        return PrivateKey::from_pkcs1_pem(t).map_err(|e| err(format!("PKCS#1 PEM: {e}")));
    }
    if t.starts_with("-----BEGIN") {
        let label = t.lines().next().unwrap_or_default();
        return Err(err(format!(
            "unsupported PEM block {label:?} (expected PRIVATE KEY or RSA PRIVATE KEY)"
        )));
    }
    let der = decode_one_line(t).map_err(err)?;
    PrivateKey::from_pkcs8_der(&der)
        .or_else(|_| PrivateKey::from_pkcs1_der(&der))
        .map_err(|e| err(format!("base64 DER is neither PKCS#8 nor PKCS#1: {e}")))
}

/// Parses an RSA public key from PEM (SPKI or PKCS#1) or one-line base64 DER (the console form).
pub fn parse_public_key(text: &str, what: &'static str) -> Result<PublicKey, KeyError> {
    let t = text.trim();
    let err = |detail: String| KeyError::Rsa { what, detail };
    if t.is_empty() {
        return Err(err("the text is empty".into()));
    }
    if t.starts_with("-----BEGIN PUBLIC KEY-----") {
        return PublicKey::from_public_key_pem(t).map_err(|e| err(format!("SPKI PEM: {e}")));
    }
    if t.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
        return PublicKey::from_pkcs1_pem(t).map_err(|e| err(format!("PKCS#1 PEM: {e}")));
    }
    if t.starts_with("-----BEGIN") {
        let label = t.lines().next().unwrap_or_default();
        return Err(err(format!(
            "unsupported PEM block {label:?} (expected PUBLIC KEY or RSA PUBLIC KEY; \
             a private key is not a public key)"
        )));
    }
    let der = decode_one_line(t).map_err(err)?;
    PublicKey::from_public_key_der(&der)
        .or_else(|_| PublicKey::from_pkcs1_der(&der))
        .map_err(|e| err(format!("base64 DER is neither SPKI nor PKCS#1: {e}")))
}

fn decode_one_line(t: &str) -> Result<Vec<u8>, String> {
    // The console copies keys as one line; tolerate line breaks a user may have pasted.
    let joined: String = t.split_whitespace().collect();
    STANDARD
        .decode(joined)
        .map_err(|e| format!("not PEM and not base64 DER: {e}"))
}

/// The one-line base64 SPKI form the Alipay console shows for a public key.
pub fn public_key_one_line(key: &PublicKey) -> String {
    let der = key
        .to_public_key_der()
        .expect("encoding a valid RSA public key as SPKI cannot fail");
    STANDARD.encode(der.as_bytes())
}

/// The SPKI PEM form of a public key (`-----BEGIN PUBLIC KEY-----`).
pub fn public_key_pem(key: &PublicKey) -> String {
    key.to_public_key_pem(LineEnding::LF)
        .expect("encoding a valid RSA public key as PEM cannot fail")
}
