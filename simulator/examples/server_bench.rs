//! Helpers of the server benchmarks (`simulator/benches/server.sh`, and `BENCHMARKS.md`'s
//! "Connection flood" and "Soak", which run this example directly):
//!
//! - `server_bench hello [ADDR]`: the "hello" baseline, the same stack as `alipay-sim serve`
//!   (axum behind the simulator's own accept loop, on a multi-threaded tokio runtime) answering
//!   `GET /` with `hello`; prints `listening on http://ADDR` first, like `serve`;
//! - `server_bench startup BIN [RUNS]`: starts `BIN serve --addr 127.0.0.1:0` RUNS times and
//!   reports the time from spawning the process to the first answer of
//!   `POST /jsapi/apps/demo/users/alice/getPhoneNumber` (median and max, in ms);
//! - `server_bench flood BIN [CONNECTIONS] [SERVE_ARGS...]`: starts `BIN serve`, opens
//!   CONNECTIONS idle connections one after another, holds them 2 s, closes them, and reports the server's
//!   RSS before, during and after (1 s, 10 s and 30 s after the close: jemalloc gives freed pages
//!   back over its 10 s decay time, so the last sample is the one that counts), its peak (VmHWM), and how many
//!   connections were served, refused with 503, or closed without an answer
//!   (`FLOOD_FIRST_BYTE=1`: each connection first sends one byte of a request head);
//! - `server_bench soak BIN [SECONDS] [CLIENTS]`: starts `BIN serve` and for SECONDS runs CLIENTS
//!   concurrent `getPhoneNumber` callers on `demo/erin` (a fresh mobile per call: one RSA2
//!   signature each, the signing limit) plus one admin caller cycling through create user,
//!   patch, read, journal, faults and delete; reports the server's RSS at start, peak and end,
//!   throughput and tail latencies overall and for the first and last tenth of the run (the
//!   baseline each is compared with).
//!
//! Numbers are reported, never asserted. The example's tests run `flood` and `soak` briefly
//! against the debug binary, so the commands keep working.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "support/proc_status.rs"]
mod proc_status;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: server_bench hello [ADDR] | startup BIN [RUNS] | flood BIN [CONNECTIONS] [SERVE_ARGS...] | soak BIN [SECONDS] [CLIENTS]";
    match args.first().map(String::as_str) {
        Some("hello") => hello(args.get(1).map_or("127.0.0.1:0", String::as_str)),
        Some("startup") => {
            let bin = args.get(1).ok_or(usage)?;
            let runs: usize = args.get(2).map_or(Ok(20), |s| s.parse())?;
            startup(bin, runs)
        }
        Some("flood") => {
            let bin = args.get(1).ok_or(usage)?;
            let n: usize = args.get(2).map_or(Ok(18_000), |s| s.parse())?;
            let report = flood(
                bin,
                n,
                &args[3.min(args.len())..],
                &[1, 10, 30].map(Duration::from_secs),
            )?;
            println!("{report}");
            Ok(())
        }
        Some("soak") => {
            let bin = args.get(1).ok_or(usage)?;
            let secs: u64 = args.get(2).map_or(Ok(600), |s| s.parse())?;
            let clients: usize = args.get(3).map_or(Ok(8), |s| s.parse())?;
            let report = soak(bin, Duration::from_secs(secs), clients)?;
            println!("{report}");
            Ok(())
        }
        _ => Err(usage.into()),
    }
}

fn hello(addr: &str) -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
        alipay_sim::server::serve(listener, app, alipay_sim::server::shutdown_signal()).await?;
        Ok(())
    })
}

/// One request over a fresh connection; true on a 200 answer.
fn post_once(addr: &str, path: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out.starts_with(b"HTTP/1.1 200")
}

/// A running `BIN serve --addr 127.0.0.1:0 ARGS...`, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(bin: &str, args: &[String]) -> Result<Self, Error> {
        let mut child = Command::new(bin)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .ok_or_else(|| format!("unexpected first line {line:?}"))?
            .to_string();
        Ok(Self { child, addr })
    }

    /// `VmRSS` or `VmHWM` of the server, in KiB.
    fn kb(&self, key: &str) -> u64 {
        proc_status::kib(&self.child.id().to_string(), key).unwrap_or(0)
    }

    /// Open file descriptors of the server (its listener, its connections, ...).
    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).map_or(0, |d| d.count())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn startup(bin: &str, runs: usize) -> Result<(), Error> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let server = Server::start(bin, &[])?;
        while !post_once(&server.addr, "/jsapi/apps/demo/users/alice/getPhoneNumber") {
            if started.elapsed() > Duration::from_secs(10) {
                return Err("no answer within 10 s".into());
            }
        }
        times.push(started.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "start_to_first_answer_ms median={:.1} max={:.1} runs={}",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        runs
    );
    Ok(())
}

/// Warms the server up (both the cached and the fresh path) so "idle" is measured after start-up.
fn warm(addr: &str) {
    for _ in 0..20 {
        post_once(addr, "/jsapi/apps/demo/users/alice/getPhoneNumber");
        post_once(addr, "/jsapi/apps/demo/users/erin/getPhoneNumber");
    }
}

/// `samples`: when to read the server's RSS after the connections are closed (from the close).
fn flood(
    bin: &str,
    n: usize,
    serve_args: &[String],
    samples: &[Duration],
) -> Result<String, Error> {
    let server = Server::start(bin, serve_args)?;
    warm(&server.addr);
    std::thread::sleep(Duration::from_millis(500));
    let idle = server.kb("VmRSS");
    let fds_idle = server.fds();
    let started = Instant::now();
    let mut socks = Vec::with_capacity(n);
    let mut failed_connects = 0usize;
    // FLOOD_FIRST_BYTE=1: each connection sends one byte of a request head (a slowloris start),
    // so the server starts reading it; otherwise the connections stay silent.
    let first_byte = std::env::var_os("FLOOD_FIRST_BYTE").is_some();
    for _ in 0..n {
        match TcpStream::connect(&server.addr) {
            Ok(mut s) => {
                if first_byte {
                    let _ = s.write_all(b"G");
                }
                socks.push(s);
            }
            Err(_) => failed_connects += 1,
        }
    }
    let connect_s = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(2));
    let during = server.kb("VmRSS");
    let fds_during = server.fds();
    // What each connection got: a 503 (refused), a close without an answer, or nothing yet
    // (still being served).
    let (mut refused, mut closed, mut open) = (0usize, 0usize, 0usize);
    for s in &socks {
        let _ = s.set_nonblocking(true);
        let mut buf = [0u8; 32];
        match (&*s).read(&mut buf) {
            Ok(0) => closed += 1,
            Ok(k) if buf[..k].starts_with(b"HTTP/1.1 503") => refused += 1,
            Ok(_) => closed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => open += 1,
            Err(_) => closed += 1,
        }
    }
    drop(socks);
    let closed_at = Instant::now();
    let mut after = Vec::with_capacity(samples.len());
    for &at in samples {
        std::thread::sleep(at.saturating_sub(closed_at.elapsed()));
        after.push((at, server.kb("VmRSS")));
    }
    let fds_after = server.fds();
    let peak = server.kb("VmHWM");
    let healthy = post_once(&server.addr, "/jsapi/apps/demo/users/alice/getPhoneNumber");
    let rss_after: Vec<String> = after
        .iter()
        .map(|(at, kb)| format!("after_close_{}={kb}", secs(*at)))
        .collect();
    let kept: Vec<String> = after
        .iter()
        .map(|(at, kb)| format!("{:+} KiB after {}", *kb as i64 - idle as i64, secs(*at)))
        .collect();
    Ok(format!(
        "flood: {n} {} connections opened in {connect_s:.1} s (failed connects: {failed_connects}), serve args: {serve_args:?}\n\
         connections 2 s later: {open} open (served), {refused} refused with 503, {closed} closed without an answer\n\
         rss_kb idle={idle} during={during} peak_vmhwm={peak} {}\n\
         server fds: idle={fds_idle} during={fds_during} after={fds_after}\n\
         after - idle: {}; answers afterwards: {healthy}",
        if first_byte { "one-byte" } else { "silent" },
        rss_after.join(" "),
        kept.join(", "),
    ))
}

/// A sample time as the report writes it: `10s`, or `0.1s` below a second.
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Latencies in microseconds, with the time each was taken (ms since the start).
#[derive(Default)]
struct Samples {
    at_ms: Vec<u32>,
    us: Vec<u32>,
    errors: u64,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// `count, req/s, p50, p99, p99.9, max` of the samples taken in `[from, to)` ms.
fn summary(s: &Samples, from: u32, to: u32) -> String {
    let mut v: Vec<u32> = s
        .at_ms
        .iter()
        .zip(&s.us)
        .filter(|(t, _)| (from..to).contains(*t))
        .map(|(_, us)| *us)
        .collect();
    v.sort_unstable();
    let secs = f64::from(to - from) / 1000.0;
    format!(
        "{} ok, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        v.len(),
        v.len() as f64 / secs,
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        percentile(&v, 0.999),
        v.last().map_or(0.0, |m| f64::from(*m) / 1000.0),
    )
}

fn soak(bin: &str, length: Duration, clients: usize) -> Result<String, Error> {
    let server = Server::start(bin, &[])?;
    warm(&server.addr);
    std::thread::sleep(Duration::from_millis(500));
    let rss_start = server.kb("VmRSS");
    let base = format!("http://{}", server.addr);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    // RSS every 250 ms, on a plain thread.
    let rss_peak = Arc::new(AtomicU64::new(rss_start));
    let sampler = {
        let (stop, peak) = (stop.clone(), rss_peak.clone());
        let pid = server.child.id();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(
                    proc_status::kib(&pid.to_string(), "VmRSS").unwrap_or(0),
                    Ordering::Relaxed,
                );
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let (phone, admin) = rt.block_on(async {
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(2))
            .build()?;
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (c, base, stop) = (client.clone(), base.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut s = Samples::default();
                let url = format!("{base}/jsapi/apps/demo/users/erin/getPhoneNumber");
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let ok = match c.post(&url).send().await {
                        Ok(r) if r.status() == 200 => r
                            .bytes()
                            .await
                            .is_ok_and(|b| b.starts_with(b"{\"response\":")),
                        _ => false,
                    };
                    record(&mut s, started, t, ok);
                }
                s
            }));
        }
        let admin = {
            let (c, base, stop) = (client.clone(), base.clone(), stop.clone());
            tokio::spawn(async move {
                let mut s = Samples::default();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let user = format!("{base}/__admin/apps/demo/users/soak{}", i % 50);
                    let steps: [(reqwest::Method, String, Option<serde_json::Value>); 6] = [
                        (
                            reqwest::Method::PUT,
                            user.clone(),
                            Some(serde_json::json!({"authorised": true})),
                        ),
                        (
                            reqwest::Method::PATCH,
                            user.clone(),
                            Some(serde_json::json!({"mobile": "fresh"})),
                        ),
                        (reqwest::Method::GET, user.clone(), None),
                        (
                            reqwest::Method::GET,
                            format!("{base}/__admin/journal?since={}", i * 7),
                            None,
                        ),
                        (
                            reqwest::Method::PUT,
                            format!("{base}/__admin/faults"),
                            Some(serde_json::json!({})),
                        ),
                        (reqwest::Method::DELETE, user.clone(), None),
                    ];
                    for (method, url, body) in steps {
                        let t = Instant::now();
                        let mut req = c.request(method, &url);
                        if let Some(b) = &body {
                            req = req.json(b);
                        }
                        let ok = match req.send().await {
                            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                            _ => false,
                        };
                        record(&mut s, started, t, ok);
                    }
                }
                s
            })
        };
        tokio::time::sleep(length).await;
        stop.store(true, Ordering::Relaxed);
        let mut phone = Samples::default();
        for t in tasks {
            let s = t.await?;
            phone.at_ms.extend(s.at_ms);
            phone.us.extend(s.us);
            phone.errors += s.errors;
        }
        Ok::<_, Error>((phone, admin.await?))
    })?;
    let _ = sampler.join();
    let rss_end = server.kb("VmRSS");
    let hwm = server.kb("VmHWM");
    std::thread::sleep(Duration::from_secs(6));
    let rss_idle_after = server.kb("VmRSS");
    let total = u32::try_from(length.as_millis()).unwrap_or(u32::MAX);
    let tenth = total / 10;
    Ok(format!(
        "soak: {} s, {clients} getPhoneNumber clients on demo/erin (fresh mobile: one RSA2 signature each) + 1 admin client\n\
         getPhoneNumber: {} ({} errors)\n  first tenth: {}\n  last tenth:  {}\n\
         admin: {} ({} errors)\n  first tenth: {}\n  last tenth:  {}\n\
         rss_kb start={rss_start} peak={} (VmHWM {hwm}) end={rss_end} idle_6s_after={rss_idle_after}",
        length.as_secs(),
        summary(&phone, 0, total),
        phone.errors,
        summary(&phone, 0, tenth),
        summary(&phone, total - tenth, total),
        summary(&admin, 0, total),
        admin.errors,
        summary(&admin, 0, tenth),
        summary(&admin, total - tenth, total),
        rss_peak.load(Ordering::Relaxed).max(rss_end),
    ))
}

fn record(s: &mut Samples, started: Instant, t: Instant, ok: bool) {
    if ok {
        s.at_ms
            .push(u32::try_from(t.duration_since(started).as_millis()).unwrap_or(u32::MAX));
        s.us.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
    } else {
        s.errors += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `alipay-sim` binary next to this example (`cargo test` builds both).
    fn bin() -> String {
        let exe = std::env::current_exe().expect("current exe");
        let dir = exe
            .parent()
            .and_then(|d| d.parent())
            .expect("target/<profile>/examples");
        let bin = dir.join("alipay-sim");
        assert!(bin.exists(), "{} is not built", bin.display());
        bin.display().to_string()
    }

    #[test]
    fn flood_reports_served_refused_and_memory() {
        let report = flood(
            &bin(),
            60,
            &["--max-connections".into(), "20".into()],
            &[Duration::from_millis(100)],
        )
        .expect("flood");
        assert!(report.contains("rss_kb idle="), "{report}");
        // 60 connections against a cap of 20: 40 were refused (or closed, past the refusal cap).
        let line = report.lines().nth(1).unwrap_or("");
        let refused: usize = line
            .split(", ")
            .find(|p| p.contains("refused"))
            .and_then(|p| p.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(refused >= 1, "{report}");
        assert!(report.ends_with("answers afterwards: true"), "{report}");
    }

    #[test]
    fn soak_reports_latency_and_memory() {
        let report = soak(&bin(), Duration::from_secs(2), 2).expect("soak");
        assert!(report.contains("getPhoneNumber: "), "{report}");
        assert!(report.contains("rss_kb start="), "{report}");
        assert_eq!(report.matches("(0 errors)").count(), 2, "{report}");
    }
}
