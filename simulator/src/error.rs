//! Typed errors of the protocol library. Each names what was wrong and where; I/O errors keep
//! their source.
//!
//! Envelope rejections are [`crate::envelope::OpenError`]; catalogue errors are
//! [`crate::scenario::ScenarioError`].

use std::path::PathBuf;

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
    Cert(#[from] crate::cert::CertError),
    /// The private and public key of a pair do not match.
    #[error("{private} and {public} are not one key pair")]
    PairMismatch {
        /// The private key file.
        private: PathBuf,
        /// The public key file.
        public: PathBuf,
    },
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
}

/// A success-callback object (`{"response": ...}`) whose envelope cannot be taken out.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum CallbackError {
    /// Not a JSON object.
    #[error("success-callback object is not a JSON object: {0}")]
    NotAnObject(crate::json::SyntaxError),
    /// No `response` member.
    #[error("success-callback object has no \"response\" field")]
    MissingResponse,
    /// `response` is neither a string nor an object.
    #[error("success-callback \"response\" is neither a string nor an object")]
    WrongType,
}

/// One line for an error and its chain of sources, `outer: inner: innermost`, skipping a cause
/// whose text the line already ends with (several errors here, like [`KeyError::File`], print
/// their source in their own message and also return it from `source()`). Both binaries print
/// their fatal errors with it.
pub fn chain_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut cause = Some(error);
    while let Some(e) = cause {
        let text = e.to_string();
        if !line.ends_with(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        cause = e.source();
    }
    line
}

/// True when the error, or any error in its chain of sources, is a write to a closed pipe, direct
/// or through `serde_json`'s writer (`alipay-sim ... | head`): both binaries exit 0 on it instead
/// of printing an error.
pub fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
        {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = KeyError::Io {
            path: PathBuf::from("keys/platform/aes.b64.txt"),
            source: io,
        };
        assert_eq!(
            chain_line(&e),
            "key file keys/platform/aes.b64.txt: no such file"
        );
        let wrapped = KeyError::File {
            path: PathBuf::from("k/p.pem"),
            source: Box::new(KeyError::AesLength { len: 3 }),
        };
        let line = chain_line(&wrapped);
        assert_eq!(line.matches("AES key is 3 bytes").count(), 1, "{line}");
    }

    /// A writer whose reader has gone.
    struct ClosedPipe;

    impl std::io::Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_found_anywhere_in_the_chain() {
        let not_found = KeyError::Io {
            path: PathBuf::from("k"),
            source: std::io::ErrorKind::NotFound.into(),
        };
        assert!(!is_broken_pipe(&not_found));
        let pipe = KeyError::File {
            path: PathBuf::from("k"),
            source: Box::new(KeyError::Io {
                path: PathBuf::from("k"),
                source: std::io::ErrorKind::BrokenPipe.into(),
            }),
        };
        assert!(is_broken_pipe(&pipe));
        let json = serde_json::to_writer(ClosedPipe, &[1]).unwrap_err();
        assert!(is_broken_pipe(&json));
    }
}
