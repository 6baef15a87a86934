//! The two primitives of the envelope: AES-CBC content encryption and RSA PKCS#1 v1.5
//! signatures ("RSA2" = SHA-256, "RSA" = SHA-1).
//!
//! Signing sits behind a small seam ([`SignBackend`]) because the signature is the whole cost of
//! sealing: the pure-Rust `rsa` crate handles keys everywhere, and aws-lc-rs (the `aws-lc`
//! feature, on by default) signs RSA2 about ten times faster, byte-identically.
//!
//! Verification (the merchant's side) always uses the `rsa` crate. So an RSA2 signature made by
//! aws-lc-rs is checked by other code than the code that made it, but an RSA (SHA-1) signature,
//! and any signature made without the `aws-lc` feature or with [`SignBackend::RustCrypto`], is
//! made and checked by the same crate: a bug shared by both halves would not show here. That is
//! why the test suite also checks our envelopes with code we did not write (the `openssl` CLI in
//! `simulator/tests/openssl_kat.rs`, the official SDKs under `interop/`).

pub(crate) mod aes;
pub(crate) mod rsa;

pub use self::aes::{
    AesKey, AesSize, UnknownAesSize, decrypt as aes_decrypt, encrypt as aes_encrypt,
};
pub use self::rsa::{KeyPair, SignBackend, SignType, Signer, Verifier};
