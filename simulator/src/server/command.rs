//! The `serve` command: its flags, the start-up banner, logging and signals.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tokio::net::TcpListener;

use super::forward::{self, ForwardConfig};
use super::listener::{self, Limits};
use super::middleware::VERSION;
use super::mobiles::DEFAULT_SEED;
use super::routes::app_with;
use super::state::AppState;
use crate::tools::sources::Sources;

/// Why `serve` could not start or stopped with an error (the binary's exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The key set (`--keys DIR`) could not be loaded.
    #[error(transparent)]
    Keys(#[from] crate::protocol::error::KeyError),
    /// The catalogue (`--scenarios DIR`) could not be loaded.
    #[error(transparent)]
    Catalogue(#[from] crate::model::scenario::ScenarioError),
    /// An operating-system step failed: `what` says which (binding, writing the port file, ...).
    #[error("{what}: {source}")]
    Io {
        /// The step, with the address or path it concerned.
        what: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// Attaches the step's description to an io error.
fn step<T>(what: impl FnOnce() -> String, r: std::io::Result<T>) -> Result<T, ServeError> {
    r.map_err(|source| ServeError::Io {
        what: what(),
        source,
    })
}

/// The default bind address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8780";

/// `serve` arguments.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind, HOST:PORT, or a port alone (on 127.0.0.1); port 0 picks a free port.
    #[arg(
        long,
        env = "ALIPAY_SIM_ADDR",
        default_value = DEFAULT_ADDR,
        value_name = "ADDR",
        value_parser = parse_addr
    )]
    pub addr: SocketAddr,
    /// Also write the bound port (one line) to this file once listening.
    #[arg(long, value_name = "FILE")]
    pub port_file: Option<PathBuf>,
    /// Seed of generated mobiles (reset returns to it).
    #[arg(long, env = "ALIPAY_SIM_SEED", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Also allow `POST /__forward` to reach HOST (any port) or HOST:PORT; repeatable. Without
    /// it only loopback targets are allowed.
    #[arg(long = "allow-forward", value_name = "HOST[:PORT]", value_parser = forward::parse_allow_entry)]
    pub allow_forward: Vec<String>,
    /// Seconds a request head (request line and headers) may take, counted from its first byte
    /// (on a kept-alive connection, from the previous answer); a slower peer is disconnected.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub header_timeout: Duration,
    /// Seconds a connection with no request in flight may stay silent before it is closed.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_seconds)]
    pub idle_timeout: Duration,
    /// Connections served at once; more are answered 503 (Retry-After: 1) and closed.
    #[arg(long, value_name = "N", default_value_t = listener::DEFAULT_MAX_CONNECTIONS,
          value_parser = parse_connections)]
    pub max_connections: usize,
    /// Log every request (debug level); RUST_LOG overrides.
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sources: Sources,
}

impl ServeArgs {
    /// The connection limits the flags ask for.
    pub fn limits(&self) -> Limits {
        Limits {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
        }
    }
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    s.parse::<SocketAddr>()
        .map_err(|_| format!("{s:?} is not HOST:PORT (e.g. 127.0.0.1:8780) or a port number"))
}

/// Seconds, fractions allowed, from 0.01 to 3600.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.01..=3600.0).contains(&v) => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!(
            "{s:?} is not a number of seconds from 0.01 to 3600 (e.g. 10 or 2.5)"
        )),
    }
}

/// A connection count from 1 to 1,000,000.
fn parse_connections(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?} is not a number of connections from 1 to 1000000"
        )),
    }
}

/// The banner printed on stderr at start-up.
pub fn banner(addr: SocketAddr, keys_from: Option<&std::path::Path>) -> String {
    let keys = match keys_from {
        Some(dir) => format!("keys from {} (treated as TEST material)", dir.display()),
        None => "the embedded TEST keys".to_string(),
    };
    let mut b = format!(
        "==================================================================\n\
         alipay-sim {VERSION}: TEST KEYS. Envelopes are sealed with {keys}.\n\
         These keys are public test material: never configure them in a\n\
         production Alipay app. The Alipay private key is never served.\n\
         Try: curl -s -X POST http://{addr}/jsapi/apps/demo/users/alice/getPhoneNumber\n\
         API: http://{addr}/openapi.json\n\
         ==================================================================",
    );
    if !addr.ip().is_loopback() {
        b.push_str(&format!(
            "\nwarning: listening on non-loopback {}: anyone who can reach it can drive the simulator",
            addr.ip()
        ));
    }
    b
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}

fn init_tracing(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if verbose {
        "alipay_sim=debug"
    } else {
        "alipay_sim=info"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .try_init();
}

/// The `serve` command: binds, prints the TEST-KEYS banner on stderr and
/// `listening on http://ADDR` as the first line of stdout, serves until SIGINT/SIGTERM.
pub fn run(args: ServeArgs, stdout: &mut dyn Write) -> Result<i32, ServeError> {
    init_tracing(args.verbose);
    let keys = args.sources.key_set()?;
    // A user's catalogue is validated before serving (its errors exit 2).
    let catalogue = args.sources.catalogue()?;
    let state = AppState::with_seed(keys, catalogue, args.seed);
    state.warm_up();
    let runtime = step(
        || "starting the async runtime".into(),
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    )?;
    runtime.block_on(async {
        let listener = step(
            || format!("cannot listen on {}", args.addr),
            TcpListener::bind(args.addr).await,
        )?;
        let addr = step(|| "reading the bound address".into(), listener.local_addr())?;
        eprintln!("{}", banner(addr, args.sources.keys.as_deref()));
        step(
            || "writing to stdout".into(),
            writeln!(stdout, "listening on http://{addr}").and_then(|()| stdout.flush()),
        )?;
        if let Some(path) = &args.port_file {
            step(
                || format!("writing the port to {}", path.display()),
                std::fs::write(path, format!("{}\n", addr.port())),
            )?;
        }
        let limits = args.limits();
        tracing::info!(
            %addr,
            seed = args.seed,
            max_connections = limits.max_connections,
            header_timeout_ms = limits.header_timeout.as_millis() as u64,
            idle_timeout_ms = limits.idle_timeout.as_millis() as u64,
            "alipay-sim serving"
        );
        let forward_cfg = ForwardConfig {
            allow: args.allow_forward.clone(),
        };
        step(
            || "serving".into(),
            listener::serve_with(
                listener,
                app_with(state.clone(), forward_cfg),
                limits,
                shutdown_signal(),
            )
            .await,
        )?;
        tracing::info!("stopped");
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_checked() {
        assert_eq!(parse_seconds("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_seconds("10"), Ok(Duration::from_secs(10)));
        for bad in ["0", "-1", "x", "", "3601", "NaN"] {
            assert!(parse_seconds(bad).unwrap_err().contains("seconds"), "{bad}");
        }
        assert_eq!(parse_connections("64"), Ok(64));
        for bad in ["0", "-1", "x", "1000001"] {
            assert!(parse_connections(bad).is_err(), "{bad}");
        }
    }
}
