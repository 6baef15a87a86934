//! Helpers of the server benchmark (`simulator/benches/server.sh`):
//!
//! - `server_bench hello [ADDR]`: the axum "hello" baseline, the same stack as `alipay-sim serve`
//!   (axum on a multi-threaded tokio runtime) answering `GET /` with `hello`; prints
//!   `listening on http://ADDR` first, like `serve`;
//! - `server_bench startup BIN [RUNS]`: starts `BIN serve --addr 127.0.0.1:0` RUNS times and
//!   reports the time from spawning the process to the first answer of
//!   `POST /jsapi/apps/demo/users/alice/getPhoneNumber` (median and max, in ms).
//!
//! Numbers are reported, never asserted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("hello") => hello(args.get(1).map_or("127.0.0.1:0", String::as_str)),
        Some("startup") => {
            let bin = args
                .get(1)
                .ok_or("usage: server_bench startup BIN [RUNS]")?;
            let runs: usize = args.get(2).map_or(Ok(20), |s| s.parse())?;
            startup(bin, runs)
        }
        _ => Err("usage: server_bench hello [ADDR] | server_bench startup BIN [RUNS]".into()),
    }
}

fn hello(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
        axum::serve(listener, app)
            .with_graceful_shutdown(alipay_sim::server::shutdown_signal())
            .await?;
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

fn startup(bin: &str, runs: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = Command::new(bin)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
        let listening = started.elapsed();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .ok_or_else(|| format!("unexpected first line {line:?}"))?
            .to_string();
        while !post_once(&addr, "/jsapi/apps/demo/users/alice/getPhoneNumber") {
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                return Err("no answer within 10 s".into());
            }
        }
        times.push(started.elapsed());
        if std::env::var_os("SERVER_BENCH_DEBUG").is_some() {
            eprintln!(
                "listening after {listening:?}, answered after {:?}",
                started.elapsed()
            );
        }
        let _ = child.kill();
        let _ = child.wait();
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
