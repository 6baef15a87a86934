//! How envelopes are signed, as the console configures it ("接口加签方式"): none, RSA2, RSA or
//! certificate mode. A protocol notion (it decides whether `sign` exists and how it is made),
//! shared by the merchant's opener and the platform model.

use serde::{Deserialize, Serialize};

use crate::protocol::crypto::SignType;

/// Signing ("接口加签方式") as configured in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Signing {
    /// Not configured: no `sign` field.
    #[serde(rename = "none")]
    None,
    /// RSA2 (SHA256withRSA), the default.
    #[default]
    #[serde(rename = "RSA2")]
    Rsa2,
    /// RSA (SHA1withRSA), legacy.
    #[serde(rename = "RSA")]
    Rsa,
    /// Certificate mode (公钥证书): RSA2, signed with the key of the Alipay leaf certificate
    /// (`alipayCertPublicKey_RSA2.crt`); the envelope is the same as in key mode.
    #[serde(rename = "cert")]
    Cert,
}

impl Signing {
    /// The names [`Signing`] parses from and displays as: `RSA2`, `RSA`, `none`, `cert`.
    pub const NAMES: [&'static str; 4] = ["RSA2", "RSA", "none", "cert"];

    /// The name: `RSA2`, `RSA`, `none` or `cert`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signing::Rsa2 => "RSA2",
            Signing::Rsa => "RSA",
            Signing::None => "none",
            Signing::Cert => "cert",
        }
    }

    /// The signature type, if signing is configured.
    pub fn sign_type(self) -> Option<SignType> {
        match self {
            Signing::None => None,
            Signing::Rsa2 => Some(SignType::Rsa2),
            Signing::Rsa => Some(SignType::Rsa),
            Signing::Cert => Some(SignType::Rsa2),
        }
    }
}

impl From<SignType> for Signing {
    fn from(t: SignType) -> Self {
        match t {
            SignType::Rsa2 => Signing::Rsa2,
            SignType::Rsa => Signing::Rsa,
        }
    }
}

impl std::fmt::Display for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signing name that is not `RSA2`, `RSA`, `none` or `cert`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a signing configuration (expected RSA2, RSA, none or cert)")]
pub struct UnknownSigning(pub String);

impl std::str::FromStr for Signing {
    type Err = UnknownSigning;

    /// Parses `RSA2`, `RSA`, `none` or `cert` (exactly, as the console and the flags write them).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RSA2" => Ok(Signing::Rsa2),
            "RSA" => Ok(Signing::Rsa),
            "none" => Ok(Signing::None),
            "cert" => Ok(Signing::Cert),
            other => Err(UnknownSigning(other.to_string())),
        }
    }
}
