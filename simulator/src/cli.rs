//! The `alipay-sim` command line: argument definitions and the commands' implementations.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::crypto::{AesKey, SignType, Verifier};
use crate::envelope::{Opened, Opener};
use crate::fixture::{self, Fixture};
use crate::keys::{self, KeySet};
use crate::scenario::Catalogue;

/// Offline Alipay side of my.getPhoneNumber. All keys are TEST ONLY.
#[derive(Debug, Parser)]
#[command(name = "alipay-sim", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write one fixture file per scenario plus a manifest (or print them as JSON lines).
    Fixtures(FixturesArgs),
    /// List the scenario catalogue.
    Scenarios(ScenariosArgs),
    /// Print the res.response string of one scenario.
    Seal(SealArgs),
    /// Open an envelope as a correct merchant would: verify, then decrypt.
    Open(OpenArgs),
    /// Key sets: generate a fresh TEST-ONLY set, or print a merchant bundle.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Serve the JSAPI (authorise, my.getPhoneNumber, my.getSetting) and the admin API over HTTP.
    Serve(crate::server::ServeArgs),
}

/// Where keys and scenarios come from.
#[derive(Debug, Args, Clone, Default)]
pub struct Sources {
    /// Key directory laid out like keys/ (default: the embedded TEST-ONLY set).
    #[arg(long, env = "ALIPAY_SIM_KEYS", value_name = "DIR")]
    pub keys: Option<PathBuf>,
    /// Scenario directory of *.toml files (default: the embedded catalogue).
    #[arg(long, env = "ALIPAY_SIM_SCENARIOS", value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
}

impl Sources {
    /// Loads the key set.
    pub fn key_set(&self) -> Result<KeySet> {
        match &self.keys {
            Some(dir) => Ok(KeySet::load_dir(dir)?),
            None => Ok(KeySet::embedded()),
        }
    }

    /// Loads the catalogue.
    pub fn catalogue(&self) -> Result<Catalogue> {
        match &self.scenarios {
            Some(dir) => Ok(Catalogue::load_dir(dir)?),
            None => Ok(Catalogue::embedded()),
        }
    }
}

/// `fixtures` arguments.
#[derive(Debug, Args)]
pub struct FixturesArgs {
    /// Output directory; without it, one fixture per line is printed to stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sources: Sources,
}

/// `scenarios` arguments.
#[derive(Debug, Args)]
pub struct ScenariosArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sources: Sources,
}

/// `seal` arguments.
#[derive(Debug, Args)]
pub struct SealArgs {
    /// Scenario id.
    pub id: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sources: Sources,
}

/// `open` arguments.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// File holding the envelope; `-` or nothing reads stdin.
    pub input: Option<PathBuf>,
    /// Key directory laid out like keys/ (Alipay public key and AES key are taken from it).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["alipay_public_key", "alipay_cert", "aes_key"])]
    pub keys: Option<PathBuf>,
    /// Alipay public key file (PEM or one-line base64).
    #[arg(long, value_name = "FILE", conflicts_with = "alipay_cert")]
    pub alipay_public_key: Option<PathBuf>,
    /// Certificate mode: alipayCertPublicKey_RSA2.crt; the Alipay public key is taken from its
    /// first certificate.
    #[arg(long, value_name = "FILE")]
    pub alipay_cert: Option<PathBuf>,
    /// AES key file (base64).
    #[arg(long, value_name = "FILE")]
    pub aes_key: Option<PathBuf>,
    /// Do not verify signatures (a merchant without signing configured).
    #[arg(long)]
    pub no_verify: bool,
    /// Signature algorithm the merchant is configured for.
    #[arg(long, default_value = "RSA2", value_parser = parse_sign_type)]
    pub sign_type: SignType,
    /// The input is the success-callback object `{"response": ...}` that my.getPhoneNumber
    /// returns (and `alipay-sim serve` answers), not the bare envelope.
    #[arg(long)]
    pub callback: bool,
}

fn parse_sign_type(s: &str) -> Result<SignType, String> {
    SignType::parse(s).ok_or_else(|| format!("{s:?} is not RSA2 or RSA"))
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a fresh TEST-ONLY key set, its certificate set (cert/: the three console
    /// certificate files, the app key pair, the SNs) and merchant bundle into DIR.
    Generate {
        /// Output directory (must not already hold a key set unless --force).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Overwrite an existing key set.
        #[arg(long)]
        force: bool,
    },
    /// Print the merchant bundle of a key set as JSON or .env: Alipay public key, AES key, and for
    /// certificate mode the three certificate files and their SNs (app_cert_sn, alipay_cert_sn,
    /// alipay_root_cert_sn).
    Bundle {
        /// Key directory (default: embedded set).
        #[arg(long, value_name = "DIR")]
        keys: Option<PathBuf>,
        /// Print as a .env file instead of JSON.
        #[arg(long)]
        env: bool,
    },
}

/// Runs a command; returns the process exit code (0 ok, 1 a negative result such as a rejected
/// envelope). Errors are the caller's exit code 2.
pub fn run(cli: Cli, stdout: &mut dyn Write) -> Result<i32> {
    match cli.command {
        Command::Fixtures(a) => {
            let keys = a.sources.key_set()?;
            let cat = a.sources.catalogue()?;
            match a.out {
                Some(dir) => {
                    let written = fixture::write_all(&cat, &keys, &dir)
                        .with_context(|| format!("writing fixtures to {}", dir.display()))?;
                    writeln!(
                        stdout,
                        "wrote {} fixtures and manifest.json to {}",
                        written.len() - 1,
                        dir.display()
                    )?;
                }
                None => {
                    for s in cat.scenarios() {
                        let f = Fixture::of(s, &keys);
                        writeln!(stdout, "{}", serde_json::to_string(&f)?)?;
                    }
                }
            }
            Ok(0)
        }
        Command::Scenarios(a) => {
            let cat = a.sources.catalogue()?;
            if a.json {
                let list: Vec<_> = cat
                    .scenarios()
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "id": s.id, "kind": s.kind(), "title": s.title,
                            "expect": s.expect, "severity": s.severity, "bug_class": s.bug_class,
                        })
                    })
                    .collect();
                writeln!(stdout, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                for s in cat.scenarios() {
                    writeln!(
                        stdout,
                        "{:<55} {:<14} {:<8} {}",
                        s.id,
                        s.expect.outcome.to_string(),
                        s.severity.to_string(),
                        s.title
                    )?;
                }
                writeln!(stdout, "{} scenarios", cat.len())?;
            }
            Ok(0)
        }
        Command::Seal(a) => {
            let keys = a.sources.key_set()?;
            let cat = a.sources.catalogue()?;
            let Some(s) = cat.get(&a.id) else {
                bail!(
                    "unknown scenario id {:?} (see `alipay-sim scenarios`)",
                    a.id
                );
            };
            writeln!(stdout, "{}", s.build(&keys).body)?;
            Ok(0)
        }
        Command::Open(a) => open_cmd(a, stdout),
        Command::Serve(a) => crate::server::run(a, stdout),
        Command::Keys(KeysCommand::Generate { out, force }) => {
            let marker = out.join(keys::files::PLATFORM_PRIVATE);
            if marker.exists() && !force {
                bail!(
                    "{} already exists; pass --force to overwrite the key set in {}",
                    marker.display(),
                    out.display()
                );
            }
            let set = KeySet::generate();
            let written = set.write_dir(&out)?;
            writeln!(stdout, "{}", keys::TEST_ONLY_WARNING)?;
            for p in written {
                writeln!(stdout, "wrote {}", p.display())?;
            }
            Ok(0)
        }
        Command::Keys(KeysCommand::Bundle { keys, env }) => {
            let set = match keys {
                Some(d) => KeySet::load_dir(&d)?,
                None => KeySet::embedded(),
            };
            let b = set.merchant_bundle();
            if env {
                write!(stdout, "{}", b.to_env())?;
            } else {
                writeln!(stdout, "{}", serde_json::to_string_pretty(&b)?)?;
            }
            Ok(0)
        }
    }
}

/// The envelope inside a success-callback object: its `response` string, or the raw text of its
/// `response` object (the unencrypted "object" shape).
fn envelope_of_callback(text: &str) -> Result<String, String> {
    let members = crate::json::scan_object(text)
        .map_err(|e| format!("success-callback object is not a JSON object: {e}"))?;
    let m = members
        .iter()
        .find(|m| m.key == "response")
        .ok_or("success-callback object has no \"response\" field")?;
    match (&m.string, m.kind) {
        (Some(s), _) => Ok(s.clone()),
        (None, crate::json::Kind::Object) => Ok(text[m.span.clone()].to_string()),
        _ => Err("success-callback \"response\" is neither a string nor an object".into()),
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn open_cmd(a: OpenArgs, stdout: &mut dyn Write) -> Result<i32> {
    // Certificate mode: the Alipay key comes out of alipayCertPublicKey_RSA2.crt.
    let cert_verifier = match &a.alipay_cert {
        Some(p) => Some(Verifier::new(crate::cert::alipay_public_key_from_cert(p)?)),
        None => None,
    };
    let (verifier, aes) = match (&a.keys, &a.alipay_public_key, &a.aes_key) {
        (None, None, ak) if cert_verifier.is_some() => {
            let aes = match ak {
                Some(p) => Some(
                    AesKey::from_base64(&read_text(p)?)
                        .with_context(|| format!("AES key in {}", p.display()))?,
                ),
                None => None,
            };
            (cert_verifier, aes)
        }
        (Some(dir), _, _) => {
            let set = KeySet::load_dir(dir)?;
            (Some(set.platform.verifier.clone()), Some(set.aes.clone()))
        }
        (None, None, None) => {
            let set = KeySet::embedded();
            (Some(set.platform.verifier.clone()), Some(set.aes.clone()))
        }
        (None, pk, ak) => {
            let verifier = match pk {
                Some(p) => Some(Verifier::new(
                    keys::parse_public_key(&read_text(p)?, "Alipay public key")
                        .with_context(|| format!("in {}", p.display()))?,
                )),
                None => None,
            };
            let aes = match ak {
                Some(p) => Some(
                    AesKey::from_base64(&read_text(p)?)
                        .with_context(|| format!("AES key in {}", p.display()))?,
                ),
                None => None,
            };
            (verifier, aes)
        }
    };
    let mut opener = Opener::new(if a.no_verify { None } else { verifier }, aes);
    opener.sign_type = a.sign_type;
    let mut raw = Vec::new();
    match &a.input {
        Some(p) if p.as_os_str() != "-" => {
            raw = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?
        }
        _ => {
            std::io::stdin()
                .take(16 * 1024 * 1024)
                .read_to_end(&mut raw)
                .context("reading the envelope from stdin")?;
        }
    }
    let text = match String::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => {
            writeln!(
                stdout,
                "{}",
                serde_json::json!({"error": "malformed", "message": format!("envelope is not UTF-8 (byte {})", e.utf8_error().valid_up_to())})
            )?;
            return Ok(1);
        }
    };
    // Tolerate the trailing newline shells and editors add.
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let unwrapped;
    let text = if a.callback {
        match envelope_of_callback(text) {
            Ok(t) => {
                unwrapped = t;
                unwrapped.as_str()
            }
            Err(message) => {
                writeln!(
                    stdout,
                    "{}",
                    serde_json::json!({"error": "malformed_callback", "message": message})
                )?;
                return Ok(1);
            }
        }
    } else {
        text
    };
    match opener.open(text) {
        Ok(o) => {
            let v = match &o.result {
                Opened::Mobile(m) => serde_json::json!({"result": "mobile", "mobile": m}),
                Opened::EmptyMobile => serde_json::json!({"result": "empty_mobile"}),
                Opened::PlatformError(e) => serde_json::json!({
                    "result": "platform_error", "code": e.code, "msg": e.msg,
                    "sub_code": e.sub_code, "sub_msg": e.sub_msg,
                }),
            };
            writeln!(stdout, "{v}")?;
            Ok(0)
        }
        Err(e) => {
            writeln!(
                stdout,
                "{}",
                serde_json::json!({"error": e.kind(), "message": e.to_string()})
            )?;
            Ok(1)
        }
    }
}
