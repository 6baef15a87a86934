//! Where keys and scenarios come from: a directory the user names, or the embedded TEST-ONLY
//! set and catalogue. The one copy of that choice, used by the command line, the server and the
//! harness.

use std::path::PathBuf;

use crate::model::scenario::{Catalogue, ScenarioError};
use crate::protocol::error::KeyError;
use crate::protocol::keys::{KeySet, MerchantKeys};

/// A key directory and a scenario directory, each optional (`None`: the embedded one).
///
/// With the `server` feature it is also the `--keys DIR` / `--scenarios DIR` flags (env
/// `ALIPAY_SIM_KEYS`, `ALIPAY_SIM_SCENARIOS`) of `alipay-sim`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "server", derive(clap::Args))]
pub struct Sources {
    /// Key directory laid out like keys/ (default: the embedded TEST-ONLY set).
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ALIPAY_SIM_KEYS", value_name = "DIR")
    )]
    pub keys: Option<PathBuf>,
    /// Scenario directory of *.toml files (default: the embedded catalogue).
    #[cfg_attr(
        feature = "server",
        arg(long, env = "ALIPAY_SIM_SCENARIOS", value_name = "DIR")
    )]
    pub scenarios: Option<PathBuf>,
}

impl Sources {
    /// Both embedded: the committed TEST-ONLY keys and catalogue.
    pub fn embedded() -> Self {
        Self::default()
    }

    /// The full key set (what plays Alipay: it seals, so it needs the Alipay private key).
    pub fn key_set(&self) -> Result<KeySet, KeyError> {
        match &self.keys {
            Some(dir) => KeySet::load_dir(dir),
            None => Ok(KeySet::embedded()),
        }
    }

    /// The merchant's keys only (what opens envelopes: the Alipay public key and the AES key).
    /// The directory need not hold a private key.
    pub fn merchant_keys(&self) -> Result<MerchantKeys, KeyError> {
        match &self.keys {
            Some(dir) => MerchantKeys::load_dir(dir),
            None => Ok(MerchantKeys::embedded()),
        }
    }

    /// The catalogue.
    pub fn catalogue(&self) -> Result<Catalogue, ScenarioError> {
        match &self.scenarios {
            Some(dir) => Catalogue::load_dir(dir),
            None => Ok(Catalogue::embedded()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::layout::key_files as files;

    #[test]
    fn a_merchant_directory_opens_but_cannot_seal() {
        let tmp = tempfile::tempdir().unwrap();
        let written = KeySet::embedded().merchant().write_dir(tmp.path()).unwrap();
        assert!(
            written
                .iter()
                .all(|p| !std::fs::read_to_string(p).unwrap().contains("PRIVATE"))
        );
        let sources = Sources {
            keys: Some(tmp.path().to_path_buf()),
            scenarios: None,
        };
        assert_eq!(sources.merchant_keys().unwrap(), MerchantKeys::embedded());
        let e = sources.key_set().unwrap_err();
        assert!(matches!(e, KeyError::Missing { .. }), "{e}");
        assert!(e.to_string().contains(files::PLATFORM_PRIVATE), "{e}");
    }

    #[test]
    fn a_merchant_directory_must_hold_both_keys() {
        let tmp = tempfile::tempdir().unwrap();
        let e = MerchantKeys::load_dir(tmp.path()).unwrap_err().to_string();
        assert!(
            e.contains("Alipay public key") && e.contains(files::PLATFORM_PUBLIC_B64),
            "{e}"
        );
        KeySet::embedded().merchant().write_dir(tmp.path()).unwrap();
        std::fs::remove_file(tmp.path().join(files::PLATFORM_AES)).unwrap();
        let e = MerchantKeys::load_dir(tmp.path()).unwrap_err().to_string();
        assert!(
            e.contains("AES key") && e.contains(files::PLATFORM_AES),
            "{e}"
        );
        // Two public key files that disagree are refused, naming both.
        let attacker = KeySet::embedded().attacker.public_one_line();
        std::fs::write(tmp.path().join(files::PLATFORM_PUBLIC_B64), attacker).unwrap();
        let e = MerchantKeys::load_dir(tmp.path()).unwrap_err();
        assert!(matches!(e, KeyError::PublicKeyMismatch { .. }), "{e}");
    }

    #[test]
    fn an_unreadable_directory_keeps_the_io_error() {
        let missing = std::path::Path::new("/nonexistent/alipay-sim-keys");
        let e = Sources {
            keys: Some(missing.into()),
            scenarios: Some(missing.into()),
        };
        let err = e.catalogue().unwrap_err();
        assert!(std::error::Error::source(&err).is_some(), "{err}");
        assert!(!err.to_string().contains(": -:"), "{err}");
    }
}
