//! `alipay-sim serve`: the Alipay side of `my.getPhoneNumber` over HTTP, stateful and hardened.
//!
//! How the pieces fit:
//!
//! - [`state`]: apps (console configuration, keys), users (mobile, consent), the seeded mobile
//!   generator and the cache of sealed answers, behind one lock;
//! - [`jsapi`]: the mini-program side: the authorisation button, `my.getPhoneNumber` (decided by
//!   [`crate::platform::decide`], sealed by [`crate::platform::Decision::seal`]), `my.getSetting`,
//!   and the per-request `?scenario=` override from the catalogue;
//! - [`admin`]: the control surface under `/__admin` (apps, users, faults, journal, reset, seed,
//!   bundles, catalogue);
//! - [`faults`] and [`journal`]: fault injection and the bounded call journal;
//! - [`error`]: the one JSON error shape and the extractors that produce it;
//! - [`openapi`]: the OpenAPI 3 document of every route;
//! - [`ui`] and [`forward`]: the emulator page and its fenced `my.request` relay.
//!
//! [`app`] builds the router (handler tests drive it with `oneshot`, no socket); [`serve`] runs
//! it on a listener with graceful shutdown; [`run`] is the `serve` command.

pub mod admin;
pub mod error;
pub mod faults;
pub mod forward;
pub mod journal;
pub mod jsapi;
pub mod openapi;
pub mod state;
pub mod ui;

use std::future::Future;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Args;
use tokio::net::TcpListener;

use self::error::{ApiError, BODY_LIMIT};
pub use self::state::AppState;
use crate::sources::Sources;

/// The header carrying the simulator's version on every response.
pub const VERSION_HEADER: &str = "x-alipay-sim-version";
/// The header carrying the request id on every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The simulator's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The default bind address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8780";
/// The longest a request with a body may take (the largest latency fault is 30 s); then 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long graceful shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The id of one request (from a client's `X-Request-Id`, or generated), in the request's
/// extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The router of every route, with `state` and the default forwarding fence (loopback only).
pub fn app(state: AppState) -> Router {
    app_with(state, forward::ForwardConfig::default())
}

/// The router of every route, with `state` and a forwarding allow-list.
pub fn app_with(state: AppState, forward_cfg: forward::ForwardConfig) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi_json))
        .route(
            "/jsapi/apps/{app_id}/users/{user_id}/authorize",
            post(jsapi::authorize),
        )
        .route(
            "/jsapi/apps/{app_id}/users/{user_id}/getPhoneNumber",
            post(jsapi::get_phone_number),
        )
        .route(
            "/jsapi/apps/{app_id}/users/{user_id}/getSetting",
            get(jsapi::get_setting),
        )
        .route(
            "/jsapi/scenarios/{scenario_id}/getPhoneNumber",
            post(jsapi::scenario_phone_number),
        )
        .route(
            "/__admin/apps",
            get(admin::list_apps).post(admin::create_app),
        )
        .route(
            "/__admin/apps/{app_id}",
            get(admin::get_app)
                .put(admin::put_app)
                .patch(admin::patch_app)
                .delete(admin::delete_app),
        )
        .route("/__admin/apps/{app_id}/bundle", get(admin::bundle))
        .route(
            "/__admin/apps/{app_id}/users",
            get(admin::list_users).post(admin::create_user),
        )
        .route(
            "/__admin/apps/{app_id}/users/{user_id}",
            get(admin::get_user)
                .put(admin::put_user)
                .patch(admin::patch_user)
                .delete(admin::delete_user),
        )
        .route(
            "/__admin/faults",
            get(admin::get_faults)
                .put(admin::put_faults)
                .delete(admin::delete_faults),
        )
        .route(
            "/__admin/journal",
            get(admin::get_journal).delete(admin::delete_journal),
        )
        .route("/__admin/reset", post(admin::reset))
        .route("/__admin/seed", get(admin::get_seed).put(admin::put_seed))
        .route("/__admin/scenarios", get(admin::scenarios))
        .with_state(state)
        .merge(ui::router())
        .merge(forward::router(forward_cfg))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(envelope))
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok", "version": VERSION}))
}

async fn openapi_json() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        openapi::document_text(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::from_status(StatusCode::NOT_FOUND)
}

async fn method_not_allowed() -> ApiError {
    ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED)
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

fn usable_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| s.to_string())
}

/// Every request: an id, a deadline, JSON for every error, the version and id headers, a log
/// line at debug level.
async fn envelope(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(usable_request_id)
        .unwrap_or_else(|| format!("req-{:06}", NEXT_REQUEST.fetch_add(1, Ordering::Relaxed)));
    req.extensions_mut().insert(RequestId(id.clone()));
    let logged = tracing::enabled!(tracing::Level::DEBUG)
        .then(|| (req.method().clone(), req.uri().clone(), Instant::now()));
    // Only a request with a body can stall (a slow sender); the handlers themselves never wait
    // longer than the largest latency fault.
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let mut res = if has_body {
        match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
            Ok(r) => r,
            Err(_) => ApiError::from_status(StatusCode::REQUEST_TIMEOUT).into_response(),
        }
    } else {
        next.run(req).await
    };
    let status = res.status();
    if (status.is_client_error() || status.is_server_error()) && !is_json(&res) {
        // A rejection produced outside our extractors: same JSON shape, same status.
        let e = ApiError::from_status(status);
        res = (status, axum::Json(e)).into_response();
    }
    let h = res.headers_mut();
    h.insert(VERSION_HEADER, HeaderValue::from_static(VERSION));
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(REQUEST_ID_HEADER, v);
    }
    if let Some((method, uri, started)) = logged {
        tracing::debug!(
            request_id = %id,
            method = %method,
            path = %uri.path(),
            status = status.as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "request"
        );
    }
    res
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

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
    #[arg(long, env = "ALIPAY_SIM_SEED", default_value_t = state::DEFAULT_SEED)]
    pub seed: u64,
    /// Also allow `POST /__forward` to reach HOST (any port) or HOST:PORT; repeatable. Without
    /// it only loopback targets are allowed.
    #[arg(long = "allow-forward", value_name = "HOST[:PORT]", value_parser = forward::parse_allow_entry)]
    pub allow_forward: Vec<String>,
    /// Log every request (debug level); RUST_LOG overrides.
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sources: Sources,
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    s.parse::<SocketAddr>()
        .map_err(|_| format!("{s:?} is not HOST:PORT (e.g. 127.0.0.1:8780) or a port number"))
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

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets
/// in-flight requests finish (at most [`SHUTDOWN_GRACE`]) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = rx.await;
    });
    let mut handle = tokio::spawn(std::future::IntoFuture::into_future(server));
    tokio::select! {
        r = &mut handle => return r.map_err(std::io::Error::other)?,
        () = shutdown => {}
    }
    tracing::info!("shutting down: no new connections; finishing in-flight requests");
    let _ = tx.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, handle).await {
        Ok(r) => r.map_err(std::io::Error::other)?,
        Err(_) => {
            tracing::warn!(
                "in-flight requests still running after {:?}; exiting anyway",
                SHUTDOWN_GRACE
            );
            Ok(())
        }
    }
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
pub fn run(args: ServeArgs, stdout: &mut dyn Write) -> anyhow::Result<i32> {
    init_tracing(args.verbose);
    let keys = args.sources.key_set()?;
    // A user's catalogue is validated before serving (its errors exit 2).
    let catalogue = args.sources.catalogue()?;
    let state = AppState::with_seed(keys, catalogue, args.seed);
    state.warm_up();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        eprintln!("{}", banner(addr, args.sources.keys.as_deref()));
        writeln!(stdout, "listening on http://{addr}")?;
        stdout.flush()?;
        if let Some(path) = &args.port_file {
            std::fs::write(path, format!("{}\n", addr.port()))
                .with_context(|| format!("writing the port to {}", path.display()))?;
        }
        tracing::info!(%addr, seed = args.seed, "alipay-sim serving");
        let forward_cfg = forward::ForwardConfig {
            allow: args.allow_forward.clone(),
        };
        serve(
            listener,
            app_with(state.clone(), forward_cfg),
            shutdown_signal(),
        )
        .await
        .context("serving")?;
        tracing::info!("stopped");
        Ok(0)
    })
}
