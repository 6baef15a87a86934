//! The `alipay-sim` command line (part of the binary, not of the library): argument definitions
//! and the commands' implementations, each a few lines over the library. `anyhow` stays here,
//! at the binary's edge.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use alipay_sim::{
    AesKey, AesSize, Fixture, KeySet, Opened, Opener, SignType, Signing, Sources,
    TEST_ONLY_WARNING, Verifier, from_callback, key_files, parse_public_key, server::ServeArgs,
    write_fixtures,
};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

/// Offline Alipay side of my.getPhoneNumber. All keys are TEST ONLY.
#[derive(Debug, Parser)]
#[command(name = "alipay-sim", version, about, long_about = None)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
    Serve(ServeCmd),
    /// Write N distinct signed envelopes, each with the answer it must get, for load engines.
    Corpus(alipay_sim::corpus::CorpusArgs),
    /// Check that a running `serve` answers (exit 0 healthy, 1 not), e.g. as a container HEALTHCHECK.
    Health(crate::health::HealthArgs),
}

/// `serve` arguments: the server's own, plus the port as a positional or `--port` shorthand.
#[derive(Debug, Args)]
pub(crate) struct ServeCmd {
    /// Port to listen on at 127.0.0.1 (shorthand for --addr 127.0.0.1:PORT; 0 picks a free one).
    #[arg(value_name = "PORT", conflicts_with_all = ["addr", "port"])]
    pub(crate) port_arg: Option<u16>,
    /// Same as the positional PORT.
    #[arg(long, value_name = "PORT", conflicts_with = "addr")]
    pub(crate) port: Option<u16>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub(crate) args: ServeArgs,
}

impl ServeCmd {
    /// The server's arguments with the port shorthand applied.
    pub(crate) fn into_args(self) -> ServeArgs {
        let mut args = self.args;
        if let Some(port) = self.port_arg.or(self.port) {
            args.addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        }
        args
    }
}

/// `fixtures` arguments.
#[derive(Debug, Args)]
pub(crate) struct FixturesArgs {
    /// Output directory; without it, one fixture per line is printed to stdout.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub(crate) sources: Sources,
}

/// `scenarios` arguments.
#[derive(Debug, Args)]
pub(crate) struct ScenariosArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub(crate) sources: Sources,
}

/// `seal` arguments.
#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    /// Scenario id.
    pub(crate) id: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub(crate) sources: Sources,
}

/// `open` arguments.
#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// File holding the envelope; `-` or nothing reads stdin.
    pub(crate) input: Option<PathBuf>,
    /// Key directory laid out like keys/: only the Alipay public key
    /// (platform/public.spki.pem or platform/public.b64.txt) and the AES key
    /// (platform/aes.b64.txt) are read; no private key is needed.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["alipay_public_key", "alipay_cert", "aes_key"])]
    pub(crate) keys: Option<PathBuf>,
    /// Alipay public key file (PEM or one-line base64).
    #[arg(long, value_name = "FILE", conflicts_with = "alipay_cert")]
    pub(crate) alipay_public_key: Option<PathBuf>,
    /// Certificate mode: alipayCertPublicKey_RSA2.crt; the Alipay public key is taken from its
    /// first certificate.
    #[arg(long, value_name = "FILE")]
    pub(crate) alipay_cert: Option<PathBuf>,
    /// AES key file (base64).
    #[arg(long, value_name = "FILE")]
    pub(crate) aes_key: Option<PathBuf>,
    /// Do not verify signatures (a merchant without signing configured).
    #[arg(long)]
    pub(crate) no_verify: bool,
    /// Signature algorithm the merchant is configured for.
    #[arg(long, default_value = "RSA2", value_parser = parse_sign_type)]
    pub(crate) sign_type: SignType,
    /// AES key size the merchant decrypts with, for --keys or the embedded set (192 and 256
    /// are derived from its key as the simulator does; --aes-key files are used as they are).
    #[arg(long, default_value_t = AesSize::Aes128)]
    pub(crate) aes_bits: AesSize,
    /// The input is the success-callback object `{"response": ...}` that my.getPhoneNumber
    /// returns (and `alipay-sim serve` answers), not the bare envelope.
    #[arg(long)]
    pub(crate) callback: bool,
}

/// A `--sign-type` value that is not `RSA2` or `RSA`.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not RSA2 or RSA")]
pub(crate) struct BadSignType(String);

fn parse_sign_type(s: &str) -> Result<SignType, BadSignType> {
    SignType::parse(s).ok_or_else(|| BadSignType(s.to_string()))
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
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
pub(crate) fn run(cli: Cli, stdout: &mut dyn Write) -> Result<i32> {
    match cli.command {
        Command::Fixtures(a) => {
            let keys = a.sources.key_set()?;
            let cat = a.sources.catalogue()?;
            match a.out {
                Some(dir) => {
                    let written = write_fixtures(&cat, &keys, &dir)?;
                    let manifests = written
                        .iter()
                        .filter(|p| p.file_name().is_some_and(|n| n == "manifest.json"))
                        .count();
                    writeln!(
                        stdout,
                        "wrote {} fixtures and manifest.json to {} (getRunData cases in rundata/, gateway answers in gateway/)",
                        written.len() - manifests,
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
        Command::Serve(a) => Ok(alipay_sim::server::run(a.into_args(), stdout)?),
        Command::Corpus(a) => Ok(alipay_sim::corpus::run(a, stdout)?),
        Command::Health(a) => Ok(crate::health::run(a, stdout)?),
        Command::Keys(KeysCommand::Generate { out, force }) => {
            let marker = out.join(key_files::PLATFORM_PRIVATE);
            if marker.exists() && !force {
                bail!(
                    "{} already exists; pass --force to overwrite the key set in {}",
                    marker.display(),
                    out.display()
                );
            }
            let set = KeySet::generate();
            let written = set.write_dir(&out)?;
            writeln!(stdout, "{}", TEST_ONLY_WARNING)?;
            for p in written {
                writeln!(stdout, "wrote {}", p.display())?;
            }
            Ok(0)
        }
        Command::Keys(KeysCommand::Bundle { keys, env }) => {
            let sources = Sources {
                keys,
                scenarios: None,
            };
            let b = sources.merchant_keys()?.bundle();
            if env {
                write!(stdout, "{}", b.to_env())?;
            } else {
                writeln!(stdout, "{}", serde_json::to_string_pretty(&b)?)?;
            }
            Ok(0)
        }
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn open_cmd(a: OpenArgs, stdout: &mut dyn Write) -> Result<i32> {
    let signing = if a.no_verify {
        Signing::None
    } else {
        Signing::from(a.sign_type)
    };
    // Certificate mode: the Alipay key comes out of alipayCertPublicKey_RSA2.crt.
    let cert_key = match &a.alipay_cert {
        Some(p) => Some(Verifier::new(
            alipay_sim::cert::alipay_public_key_from_cert(p)?,
        )),
        None => None,
    };
    // clap refuses --keys together with --alipay-public-key, --alipay-cert or --aes-key.
    let opener = match (&a.alipay_public_key, &a.aes_key) {
        (None, None) if cert_key.is_none() => Sources {
            keys: a.keys.clone(),
            scenarios: None,
        }
        .merchant_keys()?
        .opener(signing, a.aes_bits),
        (pk, ak) => {
            let verifier = match pk {
                Some(p) => Some(Verifier::new(
                    parse_public_key(&read_text(p)?, "Alipay public key")
                        .with_context(|| format!("in {}", p.display()))?,
                )),
                None => cert_key,
            };
            let aes = match ak {
                Some(p) => Some(
                    AesKey::from_base64(&read_text(p)?)
                        .with_context(|| format!("AES key in {}", p.display()))?,
                ),
                None => None,
            };
            let mut opener = Opener::new(verifier.filter(|_| !a.no_verify), aes);
            opener.sign_type = a.sign_type;
            opener
        }
    };
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
        match from_callback(text) {
            Ok(t) if looks_like_bare_envelope(&t) => {
                writeln!(
                    stdout,
                    "{}",
                    serde_json::json!({"error": "malformed_callback", "message":
                        "--callback expects the success-callback object {\"response\":\"<envelope>\"}, \
                         but the input is a bare envelope {\"response\":\"<ciphertext>\",\"sign\":...}: \
                         drop --callback"})
                )?;
                return Ok(1);
            }
            Ok(t) => {
                unwrapped = t;
                unwrapped.as_str()
            }
            Err(e) => {
                writeln!(
                    stdout,
                    "{}",
                    serde_json::json!({"error": "malformed_callback", "message": format!("--callback: {e}")})
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
            let mut message = e.to_string();
            if !a.callback && looks_like_callback(text) {
                message.push_str(
                    " (the input looks like a success-callback object {\"response\":\"<envelope>\"}: \
                     pass --callback)",
                );
            }
            writeln!(
                stdout,
                "{}",
                serde_json::json!({"error": e.kind(), "message": message})
            )?;
            Ok(1)
        }
    }
}

/// The input's `response` is itself an envelope (a JSON object text), as in the success-callback
/// object; a real envelope's `response` is base64 ciphertext or an object, never a string
/// starting with `{`.
fn looks_like_callback(text: &str) -> bool {
    from_callback(text).is_ok_and(|inner| inner.trim_start().starts_with('{'))
}

/// `--callback` was given, but what it unwrapped is not an envelope: a success-callback object's
/// `response` is always an envelope (a JSON object text), so a bare string there means the input
/// was the envelope itself.
fn looks_like_bare_envelope(unwrapped: &str) -> bool {
    !unwrapped.trim_start().starts_with('{')
}
