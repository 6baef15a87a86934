//! The accept loop of `serve`: HTTP/1.1 connections with the limits that shed hostile peers.
//!
//! `axum::serve` offers no connection knobs, so the loop drives hyper directly:
//!
//! - **header timeout** ([`Limits::header_timeout`]): from the first byte of a new connection (on
//!   a kept-alive one, from the previous answer), the whole request head must arrive within this
//!   time, or the connection is closed. A peer sending one header byte a second is cut (hyper's
//!   `header_read_timeout`, driven by a Tokio timer). A new connection that sends nothing is
//!   closed after the smaller of the two timeouts;
//! - **idle timeout** ([`Limits::idle_timeout`]): a connection with no request in flight that
//!   receives nothing for this long is closed (a keep-alive connection left open, or one opened
//!   and never used). The header timeout also bounds a silent connection, so the smaller of the
//!   two applies to it;
//! - **connection cap** ([`Limits::max_connections`]): beyond it a new connection is accepted
//!   only to be answered `503` with `Retry-After: 1` and a JSON error naming the flag, then
//!   closed. Refusals are themselves bounded ([`MAX_REFUSALS_IN_FLIGHT`] at once, each at most
//!   [`REFUSAL_LINGER`]); past that a connection is closed at once.
//!
//! Memory: until its first byte arrives a connection holds only its socket and a small task (a
//! `peek` gate before hyper, whose read buffer would otherwise be reserved at once); a connection
//! hyper serves holds two 8 KiB buffers. The cap bounds what a flood takes while it lasts; the
//! `alipay-sim` binary's allocator (jemalloc, the `jemalloc` feature) gives it back afterwards,
//! where glibc's malloc kept it. `BENCHMARKS.md` ("Connection flood") has the figures.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};

use super::error::ApiError;
use super::middleware::{VERSION, VERSION_HEADER};

/// The default of [`Limits::header_timeout`] (`serve --header-timeout`).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The default of [`Limits::idle_timeout`] (`serve --idle-timeout`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// The default of [`Limits::max_connections`] (`serve --max-connections`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// How many refused connections are being answered at once; past that they are closed at once.
pub(crate) const MAX_REFUSALS_IN_FLIGHT: usize = 64;
/// The longest a refused connection is kept (to send the 503 and read what the peer sent).
pub(crate) const REFUSAL_LINGER: Duration = Duration::from_secs(1);
/// How long graceful shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The connection limits of `serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most time a request head may take, counted from its first byte (on a kept-alive
    /// connection, from the previous answer).
    pub header_timeout: Duration,
    /// The most time a connection with no request in flight may stay silent.
    pub idle_timeout: Duration,
    /// The most connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` on `listener` with the default [`Limits`] until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, router, Limits::default(), shutdown).await
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then stops
/// accepting, lets in-flight requests finish (at most [`SHUTDOWN_GRACE`]) and returns.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    let refusal = Arc::new(refusal_bytes(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let builder = Arc::new(builder);
    // Tells connections still waiting for their first byte that the server is stopping.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!(%peer, "connection refused: {} connections open", limits.max_connections);
            match Arc::clone(&refusals).try_acquire_owned() {
                Ok(permit) => {
                    let refusal = Arc::clone(&refusal);
                    tokio::spawn(async move {
                        refuse(stream, &refusal).await;
                        drop(permit);
                    });
                }
                Err(_) => drop(stream),
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let mut stopping = stop_rx.clone();
        tokio::spawn(async move {
            // Until its first byte arrives a connection holds only its socket: hyper's buffers
            // are allocated when it first reads, so a flood of silent connections stays cheap.
            let first_wait = limits.idle_timeout.min(limits.header_timeout);
            let mut first = [0u8; 1];
            tokio::select! {
                // `peek`, not `readable`: readiness can be reported before any byte is there.
                r = stream.peek(&mut first) => if r.is_err() { return },
                () = tokio::time::sleep(first_wait) => {
                    tracing::debug!(%peer, "silent connection closed after {first_wait:?}");
                    return;
                }
                _ = stopping.changed() => return,
            }
            // Boxed: the task of a connection that never sends a byte stays small.
            Box::pin(serve_connection(
                stream, peer, router, &builder, watcher, limits,
            ))
            .await;
            drop(slot);
        });
    }
    let _ = stop_tx.send(true);
    drop(listener);
    tracing::info!("shutting down: no new connections; finishing in-flight requests");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests still running after {SHUTDOWN_GRACE:?}; exiting anyway");
    }
    Ok(())
}

/// Serves one connection whose first byte has arrived, until it ends or goes idle.
async fn serve_connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    router: Router,
    builder: &hyper::server::conn::http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
    limits: Limits,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service = Tracking {
        inner: TowerToHyperService::new(router),
        activity: Arc::clone(&activity),
    };
    let conn = watcher.watch(builder.serve_connection(io, service));
    let idle = limits.idle_timeout;
    tokio::select! {
        r = conn => {
            if let Err(e) = r {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        }
        () = activity.idle_for(idle) => {
            tracing::debug!(%peer, "idle connection closed after {idle:?}");
        }
    }
}

/// The whole answer to a connection beyond the cap.
fn refusal_bytes(max: usize) -> Vec<u8> {
    // The one error shape (`ApiError`, its body only: the status line below is the 503); the
    // answer is written by hand because it is sent before hyper takes the connection.
    let body = serde_json::to_string(&ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_connections",
        format!(
            "the simulator already serves {max} connections (serve --max-connections); retry later"
        ),
        None,
    ))
    .expect("an ApiError always serialises");
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\n{}: {}\r\ncontent-length: {}\r\n\r\n{body}",
        VERSION_HEADER,
        VERSION,
        body.len()
    )
    .into_bytes()
}

/// Sends the refusal, then reads (and discards) what the peer sent so that closing does not reset
/// the connection before the peer has read the answer; at most [`REFUSAL_LINGER`] in all.
async fn refuse(mut stream: TcpStream, answer: &[u8]) {
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        if stream.write_all(answer).await.is_err() {
            return;
        }
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 4096];
        let mut left = 64 * 1024usize;
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

/// What the idle watchdog of one connection watches: when a byte last moved, and how many
/// requests are being answered.
#[derive(Debug)]
struct Activity {
    started: Instant,
    /// Milliseconds since `started` of the last byte read or written, or of the last answer.
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
    settled: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            settled: Notify::new(),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.started + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// Completes once no request is in flight and nothing has moved for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if self.in_flight.load(Ordering::Acquire) > 0 {
                settled.await;
                continue;
            }
            let deadline = self.last() + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

/// Counts a request in flight while it lives. The watchdog ignores `last` while a request is in
/// flight, so only the end of one is recorded.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.settled.notify_waiters();
    }
}

/// The router as a hyper service that counts its requests in flight.
#[derive(Clone)]
struct Tracking {
    inner: TowerToHyperService<Router>,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Tracking {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let guard = InFlight::new(&self.activity);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await;
            drop(guard);
            res
        })
    }
}

/// A TCP stream that records when bytes move.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
