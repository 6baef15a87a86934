//! Merchants for testing the harness itself: the correct reference merchant and deliberately
//! broken ones.
//!
//! A *merchant* here is the server-side decryption endpoint a mini-program forwards
//! `res.response` to. [`reference`](mod@reference) is the correct one (and an example to
//! copy): it opens the envelope with [`alipay_sim::Opener`] and answers with the JSON
//! described in `harness/contracts/reference.toml`. [`broken`] holds small variations of it, each with one
//! bug real backends have; the verdict-matrix test (`harness/tests/matrix.rs`) proves the harness
//! fails each of them on exactly the cases that target its bug.
//!
//! `alipay-harness merchant` runs [`serve_cli`]; `alipay-harness demo` uses [`spawn_reference`].

pub mod broken;
pub mod login;
pub mod openapi;
pub mod reference;

use std::net::SocketAddr;
use std::path::PathBuf;

use alipay_sim::{AesSize, MerchantKeys, Opener, Signing, Sources};
use anyhow::Context as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use self::broken::Broken;

/// How a merchant is configured: its keys, whether it verifies signatures, and its AES key
/// size. The default is the standard production set-up: embedded TEST-ONLY keys, RSA2
/// verification, AES-128.
#[derive(Debug, Clone)]
pub struct MerchantConfig {
    /// What a merchant holds: the Alipay public key and the AES key (never a private key).
    pub keys: MerchantKeys,
    /// The signing the merchant verifies; [`Signing::None`] means no Alipay public key is
    /// configured (the console has no 接口加签方式), so `sign` is ignored.
    pub signing: Signing,
    /// AES key size in bits (128, 192 or 256); other sizes are derived from the AES key as the
    /// simulator does ([`alipay_sim::AesKey::of_size`]).
    pub aes_bits: AesSize,
    /// Serve one of the deliberately broken merchants instead of the reference.
    pub broken: Option<Broken>,
    /// Refuse every envelope without `sign` while a public key is configured, unsigned platform
    /// errors (40001, 40002, the unencrypted 20000) included: the stricter of the two safe
    /// choices (the default reports them).
    pub refuse_unsigned_errors: bool,
    /// Also serve `POST /login` ([`login`](mod@login)), calling this gateway.
    pub login: Option<login::LoginGateway>,
}

impl Default for MerchantConfig {
    fn default() -> Self {
        Self {
            keys: MerchantKeys::embedded(),
            signing: Signing::Rsa2,
            aes_bits: AesSize::Aes128,
            broken: None,
            refuse_unsigned_errors: false,
            login: None,
        }
    }
}

impl MerchantConfig {
    /// The [`Opener`] a correct merchant with this configuration uses.
    pub fn opener(&self) -> Opener {
        self.keys.opener(self.signing, self.aes_bits)
    }
}

/// The HTTP application for a configuration: the reference merchant, or the broken one named by
/// [`MerchantConfig::broken`].
pub fn router(cfg: MerchantConfig) -> axum::Router {
    let login = cfg.login.clone().map(|gw| {
        login::router(
            cfg.opener(),
            cfg.keys.alipay_public_key.clone(),
            gw,
            cfg.broken.and_then(Broken::login_flaw),
        )
    });
    let envelope = envelope_router(cfg);
    match login {
        Some(l) => envelope.merge(l),
        None => envelope,
    }
}

fn envelope_router(cfg: MerchantConfig) -> axum::Router {
    match cfg.broken {
        None if cfg.refuse_unsigned_errors && cfg.signing != Signing::None => {
            reference::strict_router(cfg.opener())
        }
        None => reference::router(cfg.opener()),
        Some(kind) => broken::router(kind, &cfg),
    }
}

/// A merchant serving on a loopback port in the background. Dropping it (or calling
/// [`Spawned::shutdown`]) stops the server.
#[derive(Debug)]
pub struct Spawned {
    /// The address it listens on.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Spawned {
    /// The endpoint URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops accepting connections, lets requests in flight finish, and waits for the server.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .context("merchant server task failed")?
                .context("merchant server failed")?;
        }
        Ok(())
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a merchant on `127.0.0.1:0` (a free port) in the current tokio runtime.
pub async fn spawn(cfg: MerchantConfig) -> anyhow::Result<Spawned> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind 127.0.0.1:0 for the merchant")?;
    Ok(serve_on(listener, router(cfg))?)
}

/// Starts the reference merchant with the default configuration (embedded keys, RSA2,
/// AES-128) on `127.0.0.1:0`; this is what `alipay-harness demo` runs against.
pub async fn spawn_reference() -> anyhow::Result<Spawned> {
    spawn(MerchantConfig::default()).await
}

fn serve_on(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<Spawned> {
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                // A dropped sender also means stop.
                let _ = stopped.await;
            })
            .await
    });
    Ok(Spawned {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

/// The value parser of a signing flag (`merchant --signing`, `run --merchant-signing`): one of
/// [`Signing::NAMES`] (`--help` lists them, a typo is matched against them), parsed with
/// `Signing`'s own `FromStr`. (`Signing` is the library's type, so it cannot derive
/// `clap::ValueEnum` here, and a mapped `PossibleValuesParser` drops the list from `--help`.)
#[derive(Debug, Clone, Copy)]
pub(crate) struct SigningParser;

impl clap::builder::TypedValueParser for SigningParser {
    type Value = Signing;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Signing, clap::Error> {
        clap::builder::PossibleValuesParser::new(Signing::NAMES)
            .parse_ref(cmd, arg, value)?
            .parse()
            .map_err(|e| clap::Error::raw(clap::error::ErrorKind::InvalidValue, e).with_cmd(cmd))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            Signing::NAMES
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

/// `alipay-harness merchant`: serve the reference merchant (or a broken one) over HTTP.
#[derive(Debug, Clone, clap::Args)]
pub struct MerchantArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8781")]
    pub addr: SocketAddr,
    /// Directory with the merchant's keys in the `keys/` layout: `platform/public.spki.pem` or
    /// `platform/public.b64.txt`, and `platform/aes.b64.txt`; no private key is needed
    /// (default: the embedded TEST-ONLY keys).
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
    /// Signature algorithm to verify, or `none` when no Alipay public key is configured.
    #[arg(long, default_value = "RSA2", value_parser = SigningParser)]
    pub signing: Signing,
    /// AES key size in bits.
    #[arg(long, default_value_t = AesSize::Aes128)]
    pub aes_bits: AesSize,
    /// Serve a deliberately broken merchant instead (for trying out the harness).
    #[arg(long, value_enum, value_name = "KIND")]
    pub broken: Option<Broken>,
    /// Refuse unsigned platform errors too (both that and reporting them are safe).
    #[arg(long)]
    pub refuse_unsigned_errors: bool,
    /// Also serve `POST /login` {"authCode", "response"}, redeeming codes at this OpenAPI
    /// gateway, e.g. http://127.0.0.1:8780/gateway.do (an `alipay-sim serve`, or the one
    /// `alipay-harness run --login-endpoint` starts).
    #[arg(long, value_name = "URL")]
    pub login_gateway: Option<reqwest::Url>,
    /// The app id `/login` calls the gateway as.
    #[arg(long, default_value = "demo", requires = "login_gateway")]
    pub app_id: String,
}

/// The app key the login signs with: `DIR/app/private.pkcs8.pem` of `--keys`, else the embedded
/// TEST-ONLY app key.
fn app_key(keys: Option<&std::path::Path>) -> anyhow::Result<alipay_sim::KeyPair> {
    match keys {
        None => Ok(alipay_sim::KeySet::embedded().app),
        Some(dir) => {
            let path = dir.join("app").join("private.pkcs8.pem");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("--keys: cannot read {}", path.display()))?;
            let key = alipay_sim::parse_private_key(&text, "app private key")
                .with_context(|| format!("--keys: {}", path.display()))?;
            Ok(alipay_sim::KeyPair::from_private(key))
        }
    }
}

/// Runs the `merchant` subcommand: prints `listening on http://ADDR` as the first line of
/// stdout, then serves until Ctrl-C.
pub async fn serve_cli(args: MerchantArgs) -> anyhow::Result<()> {
    let keys = Sources {
        keys: args.keys.clone(),
        scenarios: None,
    }
    .merchant_keys()
    .context("--keys")?;
    let cfg = MerchantConfig {
        keys,
        signing: args.signing,
        aes_bits: args.aes_bits,
        broken: args.broken,
        refuse_unsigned_errors: args.refuse_unsigned_errors,
        login: match &args.login_gateway {
            Some(url) => Some(login::LoginGateway {
                url: url.clone(),
                app_id: args.app_id.clone(),
                app_key: app_key(args.keys.as_deref())?,
            }),
            None => None,
        },
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    match cfg.broken {
        Some(kind) => {
            tracing::warn!(%addr, broken = %kind, "serving a DELIBERATELY BROKEN merchant")
        }
        None => {
            tracing::info!(%addr, signing = %cfg.signing, aes_bits = %cfg.aes_bits, "reference merchant ready")
        }
    }
    axum::serve(listener, router(cfg))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("merchant server failed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: MerchantArgs,
    }

    #[test]
    fn flags_parse_with_their_documented_names() {
        let cli = Cli::try_parse_from([
            "merchant",
            "--addr",
            "127.0.0.1:0",
            "--signing",
            "none",
            "--aes-bits",
            "256",
            "--broken",
            "skip-verify",
        ])
        .unwrap();
        assert_eq!(cli.args.signing, Signing::None);
        assert_eq!(cli.args.aes_bits, AesSize::Aes256);
        assert_eq!(cli.args.broken, Some(Broken::SkipVerify));
        let strict = Cli::try_parse_from(["merchant", "--refuse-unsigned-errors"]).unwrap();
        assert!(strict.args.refuse_unsigned_errors);
        let defaults = Cli::try_parse_from(["merchant"]).unwrap();
        assert!(!defaults.args.refuse_unsigned_errors);
        assert_eq!(defaults.args.signing, Signing::Rsa2);
        assert_eq!(defaults.args.aes_bits, AesSize::Aes128);
        assert_eq!(defaults.args.broken, None);
    }

    #[test]
    fn bad_flags_are_named() {
        let err = Cli::try_parse_from(["merchant", "--aes-bits", "100"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("100") && err.contains("AES key size"), "{err}");
        let err = Cli::try_parse_from(["merchant", "--signing", "rsa2"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("rsa2") && err.contains("RSA2, RSA, none"),
            "{err}"
        );
        let err = Cli::try_parse_from(["merchant", "--broken", "nope"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("skip-verify"), "{err}");
    }

    #[tokio::test]
    async fn spawned_merchant_answers_over_a_socket_and_shuts_down() {
        let merchant = spawn_reference().await.unwrap();
        assert!(merchant.addr.ip().is_loopback());
        let client = reqwest::Client::new();
        let res = client
            .post(merchant.url())
            .body("not an envelope")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        // A body far over the limit gets its 413 answer, not a reset connection.
        let res = client
            .post(format!("{}getPhoneNumber", merchant.url()))
            .header("content-type", "application/json")
            .body(vec![b'A'; 1024 * 1024 + 7])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413);
        assert_eq!(
            res.text().await.unwrap(),
            r#"{"error":"body_too_large","status":"rejected"}"#
        );
        merchant.shutdown().await.unwrap();
    }
}
