//! # alipay-sim: the Alipay side of `my.getPhoneNumber`, offline
//!
//! A mini-program never sees the user's phone number. `my.getPhoneNumber` hands it an envelope,
//! `{"response":"<AES ciphertext>","sign":"<RSA2 signature>"}`, which it forwards to the merchant's
//! server. The server verifies `sign` over the ciphertext *wrapped in double quotes*, decrypts it
//! with AES-128-CBC (zero IV, PKCS#7) and reads `{"code":"10000","msg":"Success","mobile":"..."}`
//! or a platform error.
//!
//! This library produces those envelopes byte-exact for every platform state and opens them the
//! way a correct merchant must.
//!
//! ```
//! use alipay_sim::{KeySet, Opened, Payload, SealOptions, seal};
//!
//! let keys = KeySet::embedded(); // TEST-ONLY keys
//! let sealed = seal(
//!     &Payload::Mobile("13800000000".into()).to_json(),
//!     &SealOptions::standard(&keys.aes, &keys.platform.signer),
//! );
//! // The merchant side: only the Alipay public key and the AES key.
//! let opener = keys.merchant().opener(alipay_sim::platform::Signing::Rsa2, 128);
//! let opened = opener.open(&sealed.envelope).unwrap();
//! assert_eq!(opened.result, Opened::Mobile("13800000000".into()));
//! ```
//!
//! ## Where each behaviour lives
//!
//! | behaviour | module |
//! |---|---|
//! | AES-CBC, RSA PKCS#1 v1.5 (RSA2 / RSA), the signing backends | [`crypto`] |
//! | TEST-ONLY key sets (embedded, from a directory, generated); the merchant's keys | [`keys`] |
//! | certificate mode (公钥证书): the three certificate files, their SNs and checks | [`cert`] |
//! | `--keys DIR` / `--scenarios DIR` or the embedded ones | [`sources`] |
//! | the plaintext as Alipay writes it, and reading it back | [`payload`] |
//! | sealing and opening envelopes; the success-callback object | [`envelope`] |
//! | the JSON scanner keeping raw spans and duplicate keys (serde_json), Alipay's JSON writer | [`json`] |
//! | console, user and platform state deciding the answer | [`platform`] |
//! | the catalogue: file format, loading, building a case, tamper mutations | [`scenario`] |
//! | deterministic mobile numbers | [`mobile`] |
//! | fixture files and their manifest | [`fixture`] |
//! | envelope corpora for load engines (`alipay-sim corpus`) | [`corpus`] |
//! | typed errors | [`error`] |
//! | `alipay-sim serve` (feature `server`) | `server` |
//!
//! ## Features
//!
//! - `server` (default): the HTTP simulator and what only it and the `alipay-sim` binary use
//!   (axum, tokio, reqwest, clap, tracing). Without it the crate is the protocol core alone.
//! - `aws-lc` (default): RSA2 signing with aws-lc-rs, ten times faster than the pure-Rust `rsa`
//!   crate and byte-identical. Without it every signature is made by `rsa`.
//! - `cert-gen` (part of `server`): making TEST-ONLY certificate sets with `rcgen` (certificate
//!   mode). Reading and checking certificate sets is in the core; without `cert-gen` a key set
//!   has certificate material only when it comes with a `cert/` directory (the embedded one does).
//!
//! A test suite that only seals and opens envelopes needs
//! `alipay-sim = { ..., default-features = false }`.

pub mod cert;
pub mod corpus;
pub mod crypto;
pub mod envelope;
pub mod error;
pub mod fixture;
pub mod json;
pub mod keys;
pub mod mobile;
pub mod payload;
pub mod platform;
pub mod scenario;
#[cfg(feature = "server")]
pub mod server;
pub mod sources;

pub use envelope::{OpenError, Opened, Opener, SealOptions, Sealed, open, seal};
pub use keys::{KeySet, MerchantKeys};
pub use payload::{Payload, PlatformError};
pub use scenario::{Built, Catalogue, Scenario};
pub use sources::Sources;
