//! The two primitives of the envelope: AES-CBC content encryption and RSA PKCS#1 v1.5
//! signatures ("RSA2" = SHA-256, "RSA" = SHA-1).
//!
//! Signing sits behind a small seam ([`SignBackend`]) because the signature is the whole cost of
//! sealing: the pure-Rust `rsa` crate handles keys everywhere, and aws-lc-rs signs RSA2 about ten
//! times faster. Verification (the merchant's side) always uses the `rsa` crate, so the code that
//! checks a signature is not the code that made it.

pub mod aes;
pub mod rsa;

pub use self::aes::{AesKey, decrypt as aes_decrypt, encrypt as aes_encrypt};
pub use self::rsa::{SignBackend, SignType, Signer, Verifier};
