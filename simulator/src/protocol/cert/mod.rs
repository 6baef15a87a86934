//! Certificate mode (公钥证书): the three certificate files a merchant downloads from the console,
//! their serial-number digests (SN) and the checks a careful merchant makes on them.
//!
//! In certificate mode nothing changes on the wire: `my.getPhoneNumber` still returns
//! `{"response":"<AES ciphertext>","sign":"<RSA2 signature>"}`, and `sign` is still verified over the
//! quoted ciphertext. What changes is where the merchant gets the Alipay public key from: instead
//! of a one-line key it is configured with three files,
//!
//! - `alipayCertPublicKey_RSA2.crt`: the Alipay leaf certificate (its key signs envelopes), followed
//!   by the intermediate CA that issued it;
//! - `alipayRootCert.crt`: a bundle of self-signed roots, RSA and non-RSA mixed;
//! - `appCertPublicKey_<appid>.crt`: the app's own certificate (its key signs the app's requests).
//!
//! The SDKs derive three identifiers from them ([`CertSn`]), which the gateway checks on API calls:
//! `SN = hex(MD5(issuer DN as "CN=..,OU=..,O=..,C=.." + decimal serial))`, and for the root bundle
//! the SNs of the RSA-signed roots only, joined with `_` in file order.
//!
//! Parsing uses maintained crates only: `pem` for the PEM armour, `x509-parser` for the
//! certificates, the `rsa` crate for the chain's RSA signatures; `generate` (feature `cert-gen`,
//! part of `server`) makes TEST-ONLY sets with `rcgen`. Nothing here is hand-written DER. All of
//! this is pure Rust, so the protocol core stays free of C code.
//!
//! Every error is one [`CertError`] naming the file (or the content's role) and the problem.
//!
//! # Where each part lives
//!
//! | what | file |
//! |---|---|
//! | the file names, the errors, the SN triple | `mod.rs` |
//! | one PEM file: its certificates, SNs and leaf key | `read.rs` |
//! | the three files together: loading, checking, the merchant bundle | `set.rs` |
//! | chain verification (issuer names and RSA signatures) | `chain.rs` |
//! | writing a certificate directory and its `cert-sn.json` | `dir.rs` |
//! | making a TEST-ONLY set (feature `cert-gen`) | `generate.rs` |

#[cfg(feature = "cert-gen")]
pub mod generate;

use std::fs;
use std::path::{Path, PathBuf};

use md5::{Digest as _, Md5};
use rsa::PublicKey;
use rsa::pkcs8::DecodePublicKey;
use serde::{Deserialize, Serialize};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::protocol::crypto::KeyPair;
use crate::protocol::error::CertError;
use crate::protocol::key_format;
use crate::protocol::layout::TEST_ONLY_WARNING;

/// The app id of the committed TEST set (`keys/cert/appCertPublicKey_<appid>.crt`).
pub const TEST_APP_ID: &str = "2021000000000001";
/// The partner id (PID) written into the TEST leaves' subjects.
pub const TEST_PID: &str = "2088000000000001";

/// The published SNs of vector E (docs/protocol.md#vector-e, from the Node SDK's test fixtures):
/// `app_cert_sn`, `alipay_cert_sn`, `alipay_root_cert_sn`.
pub const VECTOR_E_SN: [&str; 3] = [
    "866efef280dec9137a87d047ac446315",
    "7513daaaa48aa3ba2e4018d84402479c",
    "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6",
];

/// File names of a certificate set inside a key directory (`keys/cert/`).
pub mod files {
    /// The directory of the certificate set, relative to a key directory.
    pub const DIR: &str = "cert";
    /// The root bundle (file name as the console names it).
    pub const ROOT: &str = "alipayRootCert.crt";
    /// The Alipay leaf certificate followed by its intermediate.
    pub const ALIPAY: &str = "alipayCertPublicKey_RSA2.crt";
    /// Prefix of the app certificate's file name, `appCertPublicKey_<appid>.crt`.
    pub const APP_PREFIX: &str = "appCertPublicKey_";
    /// Suffix of every certificate file.
    pub const CRT: &str = ".crt";
    /// The app's private key (TEST ONLY), PKCS#8 PEM, beside the certificates.
    pub const APP_PRIVATE: &str = "app/private.pkcs8.pem";
    /// The app's public key, SPKI PEM.
    pub const APP_PUBLIC_PEM: &str = "app/public.spki.pem";
    /// The three SNs and the app id, as JSON.
    pub const SN_JSON: &str = "cert-sn.json";

    /// The app certificate's file name for `app_id`.
    pub fn app(app_id: &str) -> String {
        format!("{APP_PREFIX}{app_id}{CRT}")
    }
}

/// The signature-algorithm OID prefix of the RSA family (`1.2.840.113549.1.1.*`): only roots signed
/// this way count in `alipay_root_cert_sn`, as in the Java and Node SDKs.
pub(crate) const RSA_SIGNATURE_OID_PREFIX: &str = "1.2.840.113549.1.1.";

/// The three certificate serial-number digests the SDKs compute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSn {
    /// `app_cert_sn`: SN of `appCertPublicKey_<appid>.crt`.
    pub app_cert_sn: String,
    /// `alipay_cert_sn`: SN of the first certificate of `alipayCertPublicKey_RSA2.crt`.
    pub alipay_cert_sn: String,
    /// `alipay_root_cert_sn`: SNs of the RSA-signed roots of `alipayRootCert.crt`, joined with `_`.
    pub alipay_root_cert_sn: String,
}

mod chain;
mod dir;
mod read;
mod set;

pub use dir::write_cert_dir;
pub use read::{PemCerts, alipay_public_key_from_cert, cert_sn, issuer_for_sn, sn_of};
pub use set::{CertBundle, CertFiles, CertKeys, CertPems, CertSet};

#[cfg(test)]
mod tests;
