//! # alipay-sim: the Alipay side of `my.getPhoneNumber`, offline
//!
//! A mini-program never sees the user's phone number. `my.getPhoneNumber` hands it an envelope,
//! `{"response":"<AES ciphertext>","sign":"<RSA2 signature>"}`, which it forwards to the merchant's
//! server. The server verifies `sign` over the ciphertext *wrapped in double quotes*, decrypts it
//! with AES-128-CBC (zero IV, PKCS#7) and reads `{"code":"10000","msg":"Success","mobile":"..."}`
//! or a platform error.
//!
//! This library produces those envelopes byte-exact for every platform state and opens them the
//! way a correct merchant must:
//!
//! - [`crypto`]: AES-CBC and RSA PKCS#1 v1.5 (RSA2 / RSA), behind a signing seam;
//! - [`keys`]: TEST-ONLY key sets (embedded, loaded from a directory, or generated);
//! - [`cert`]: certificate mode (公钥证书): the three certificate files, their SNs and checks;
//! - [`payload`]: the plaintext as Alipay writes it;
//! - [`envelope`]: seal and open;
//! - [`platform`]: the console, user and platform state that decide the answer;
//! - [`scenario`]: the case catalogue (`scenarios/*.toml`), tamper cases included;
//! - [`fixture`]: fixture files and their manifest;
//! - [`server`]: `alipay-sim serve`, the JSAPI and admin API over HTTP.
#![warn(missing_docs)]

pub mod cert;
pub mod cli;
pub mod crypto;
pub mod envelope;
pub mod error;
pub mod fixture;
pub mod json;
pub mod keys;
pub mod payload;
pub mod platform;
pub mod scenario;
pub mod server;

pub use envelope::{OpenError, Opened, Opener, SealOptions, Sealed, open, seal};
pub use keys::KeySet;
pub use payload::{Payload, PlatformError};
