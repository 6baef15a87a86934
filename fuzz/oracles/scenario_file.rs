//! A scenario file (`scenarios/*.toml`, `--scenarios DIR`), loaded the way `load_dir` loads it:
//! TOML, field validation, then the model check that seals the case and compares its `expect`.
//!
//! Oracle besides "no panic": an error names the file; a file that loads builds into a fixture
//! (valid JSON) and into the case the harness sends (its echo check and refusal rule read).

use std::sync::LazyLock;

use alipay_harness::case::{echo_ciphertext, is_unsigned_error};
use alipay_sim::{Catalogue, Fixture, KeySet};

static KEYS: LazyLock<KeySet> = LazyLock::new(KeySet::embedded);

const PATH: &str = "fuzz/scenario.toml";

/// Runs one input through the target and its oracle; panics on a finding.
pub(crate) fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Catalogue::from_sources([(PATH.to_string(), text.to_string())]) {
        Err(e) => {
            assert_eq!(e.path, PATH, "{e}");
            assert!(!e.message.is_empty(), "{e}");
        }
        Ok(catalogue) => {
            for s in catalogue.scenarios() {
                // One seal per scenario (each is an RSA signature): checked, then made a fixture.
                let built = s.build(&KEYS);
                assert_eq!(built.id, s.id);
                let _ = (echo_ciphertext(&built), is_unsigned_error(&built));
                let json = Fixture::from_built(built, &KEYS).to_json();
                serde_json::from_str::<serde_json::Value>(&json).expect("a fixture is JSON");
            }
        }
    }
}
