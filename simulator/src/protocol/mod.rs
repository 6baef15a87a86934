//! The protocol layer: the wire as Alipay writes it — AES and RSA, key and certificate files,
//! the plaintext, the envelope and the JSON it is made of. It knows nothing of apps, users,
//! cases or tools, and imports nothing from the `model` or `tools` layers.
//!
//! Inside the layer the modules import downwards only: `json` and `error` at the bottom, then
//! `key_format` and `layout`, `crypto`, `signing`, `cert`, `payload`, `envelope`, and `keys` on
//! top (a key set holds certificate material and hands out openers).

pub(crate) mod cert;
pub(crate) mod crypto;
pub(crate) mod envelope;
pub(crate) mod error;
pub(crate) mod gateway;
pub(crate) mod json;
pub(crate) mod key_format;
pub(crate) mod keys;
pub(crate) mod layout;
pub(crate) mod payload;
pub(crate) mod signing;
