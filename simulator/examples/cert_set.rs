//! Writes certificate-mode material with `alipay_sim::cert`.
//!
//! - `cargo run -p alipay-sim --example cert_set -- write KEYS_DIR [APP_ID]` makes a fresh TEST-ONLY
//!   certificate set under `KEYS_DIR/cert/` whose Alipay leaf holds `KEYS_DIR`'s platform key
//!   (this is how `keys/cert/` was made: `... -- write keys`);
//! - `cargo run -p alipay-sim --example cert_set -- vector-e OUT_DIR` writes certificates with the
//!   issuer names and serials of public vector E (docs/protocol.md#vector-e) and `expected-sn.json` with the published
//!   SNs, for checking other implementations (`interop/node/cert-check.mjs`).
//!
//! Exit codes: 0 written, 2 could not run.

use std::path::PathBuf;
use std::process::ExitCode;

use alipay_sim::{KeySet, cert::files, cert::generate};
use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Write TEST-ONLY certificate-mode material")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A fresh TEST-ONLY certificate set under KEYS_DIR/cert/, for KEYS_DIR's platform key.
    Write {
        /// A key directory laid out like `keys/`.
        keys_dir: PathBuf,
        /// The app id in `appCertPublicKey_<appid>.crt`.
        #[arg(default_value = generate::TEST_APP_ID)]
        app_id: String,
    },
    /// Certificates carrying vector E's issuers and serials, plus `expected-sn.json`.
    VectorE {
        /// Output directory (created).
        out: PathBuf,
    },
}

fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Write { keys_dir, app_id } => {
            let keys = KeySet::load_dir(&keys_dir)?;
            let made = generate::generate(keys.platform.verifier.public_key(), &app_id)?;
            for path in made.write_dir(&keys_dir)? {
                println!("{}", path.display());
            }
        }
        Command::VectorE { out } => {
            let set = generate::vector_e()?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let [app, alipay, root] = generate::VECTOR_E_SN;
            let expected = serde_json::json!({
                "app_id": set.app_id,
                "app_cert_sn": app,
                "alipay_cert_sn": alipay,
                "alipay_root_cert_sn": root,
            });
            for (name, text) in [
                (files::ROOT.to_owned(), set.root),
                (files::ALIPAY.to_owned(), set.alipay),
                (files::app(&set.app_id), set.app),
                ("expected-sn.json".to_owned(), format!("{expected:#}\n")),
            ] {
                let path = out.join(name);
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("{}", path.display());
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
