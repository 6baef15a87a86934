//! Typed errors of the protocol library. Each names what was wrong and where; I/O errors keep
//! their source.
//!
//! Envelope rejections are [`crate::protocol::envelope::OpenError`]; catalogue errors belong to
//! the model layer (`ScenarioError`).

use std::path::{Path, PathBuf};

/// A key could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// An AES key that is not 16, 24 or 32 bytes long.
    #[error("AES key is {len} bytes; it must be 16, 24 or 32 bytes (it is never truncated)")]
    AesLength {
        /// The decoded length.
        len: usize,
    },
    /// An AES key whose text is not standard base64.
    #[error("AES key is not valid base64: {0}")]
    AesBase64(String),
    /// An RSA key in no format we read (PEM PKCS#1, PKCS#8, SPKI, or the console's one-line base64).
    #[error("{what} is not a valid RSA key: {detail}")]
    Rsa {
        /// Which key was expected (e.g. "Alipay private key").
        what: &'static str,
        /// What the parsers said.
        detail: String,
    },
    /// A key file could not be read or parsed.
    #[error("key file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        #[source]
        source: Box<KeyError>,
    },
    /// A key file could not be read (or written) at all.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Two files of one directory hold different Alipay public keys.
    #[error("{first} and {second} are different public keys")]
    PublicKeyMismatch {
        /// The first file read.
        first: PathBuf,
        /// The file that disagrees with it.
        second: PathBuf,
    },
    /// A key directory lacks a file it needs.
    #[error("key directory {dir}: {what} not found (looked for {looked_for})")]
    Missing {
        /// The directory.
        dir: PathBuf,
        /// Which key, e.g. "the Alipay public key".
        what: &'static str,
        /// The file names tried, relative to the directory.
        looked_for: String,
    },
    /// The certificate set (`cert/`) of a key directory could not be used.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// The private and public key of a pair do not match.
    #[error("{private} and {public} are not one key pair")]
    PairMismatch {
        /// The private key file.
        private: PathBuf,
        /// The public key file.
        public: PathBuf,
    },
}

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
    /// The app private key beside the certificates (`app/private.pkcs8.pem`) is not a key.
    #[error("app key file {file}: {detail}")]
    AppKey {
        /// The key file.
        file: String,
        /// What the key parser said.
        detail: String,
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

impl CertError {
    /// [`CertError::Io`] for `path`.
    pub(crate) fn io(path: &Path, e: std::io::Error) -> Self {
        CertError::Io {
            file: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

/// AES decryption failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum AesError {
    /// The ciphertext decoded to zero bytes.
    #[error("ciphertext is empty")]
    Empty,
    /// The ciphertext is not a whole number of 16-byte blocks.
    #[error("ciphertext is {len} bytes, not a multiple of the 16-byte AES block")]
    NotBlockAligned {
        /// Its length.
        len: usize,
    },
    /// The last block does not end in valid PKCS#7 padding (wrong key or tampered ciphertext).
    #[error("PKCS#7 padding is invalid (wrong AES key or tampered ciphertext)")]
    BadPadding,
}

/// A signature did not check out.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum SignatureError {
    /// The `sign` field is not standard base64.
    #[error("sign is not valid base64: {0}")]
    Base64(String),
    /// The signature does not match the signed content under the configured public key.
    #[error("signature does not verify with the configured Alipay public key")]
    Mismatch,
}

/// Decrypted or embedded plaintext that is not a well-formed result object.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum PayloadError {
    /// The bytes are not UTF-8.
    #[error("decrypted bytes are not UTF-8 (valid up to byte {valid_up_to})")]
    NotUtf8 {
        /// How many leading bytes were valid UTF-8.
        valid_up_to: usize,
    },
    /// The text is not JSON.
    #[error("plaintext is not JSON: {0}")]
    NotJson(String),
    /// The JSON is not an object.
    #[error("plaintext is not a JSON object")]
    NotAnObject,
    /// There is no `code` member.
    #[error("plaintext has no code field")]
    MissingCode,
    /// A member that must be a string is not one.
    #[error("plaintext field {0} is not a string")]
    NotAString(&'static str),
    /// A getRunData member is missing or of the wrong type (`count`: an integer from 0,
    /// `countDate`: a string).
    #[error("plaintext field {0} is missing or not {1}")]
    WrongField(&'static str, &'static str),
}

/// A success-callback object (`{"response": ...}`) whose envelope cannot be taken out.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum CallbackError {
    /// Not a JSON object.
    #[error("success-callback object is not a JSON object: {0}")]
    NotAnObject(crate::protocol::json::SyntaxError),
    /// No `response` member.
    #[error("success-callback object has no \"response\" field")]
    MissingResponse,
    /// `response` is neither a string nor an object.
    #[error("success-callback \"response\" is neither a string nor an object")]
    WrongType,
}
