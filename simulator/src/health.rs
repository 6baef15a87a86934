//! `alipay-sim health`: asks a running `alipay-sim serve` whether it is up, for container health
//! checks (a `FROM scratch` image has no curl) and scripts.
//!
//! It sends `GET /healthz` to the server (by default at `ALIPAY_SIM_ADDR`, the address `serve`
//! binds, with an unspecified address such as `0.0.0.0` replaced by loopback) and exits 0 when
//! the answer is `200` with `{"status":"ok"}` (with `--any-status`: any HTTP answer), 1 when the
//! server is unreachable or answers anything else, and 2 when the flags are wrong. Host names are resolved by the system resolver,
//! so `--url http://localhost:8780/healthz` also checks name resolution where it runs.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use alipay_sim::chain_line;

/// `alipay-sim health` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct HealthArgs {
    /// Address the server listens on, HOST:PORT or a port alone (`0.0.0.0` and `[::]` are checked
    /// on loopback). Ignored when --url is given.
    #[arg(
        long,
        env = "ALIPAY_SIM_ADDR",
        default_value = alipay_sim::server::DEFAULT_ADDR,
        value_name = "HOST:PORT"
    )]
    pub(crate) addr: String,
    /// Full URL to check instead, e.g. http://localhost:8780/healthz.
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// Healthy when the URL answers HTTP at all, whatever the status and body: for a service
    /// without a health endpoint, such as `alipay-harness merchant` (POST only).
    #[arg(long)]
    pub(crate) any_status: bool,
    /// Seconds to wait for the answer (0.1 to 60).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, value_parser = parse_timeout)]
    pub(crate) timeout: f64,
}

/// The health check could not be run (bad flags); an unhealthy server is not an error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HealthError {
    /// `--addr` is not HOST:PORT or a port.
    #[error("--addr {0:?} is not HOST:PORT (e.g. 127.0.0.1:8780) or a port number")]
    Addr(String),
    /// `--url` is not an http(s) URL.
    #[error("--url {url:?} is not an http:// or https:// URL: {reason}")]
    Url {
        /// The value given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client or the async runtime could not start.
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
    /// The result line could not be written.
    #[error("writing the result: {0}")]
    Io(std::io::Error),
}

// Not `#[from]`: that would also make the I/O error the source, and the message would repeat it.
impl From<std::io::Error> for HealthError {
    fn from(e: std::io::Error) -> Self {
        HealthError::Io(e)
    }
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if (0.1..=60.0).contains(&t) => Ok(t),
        _ => Err(format!("{s:?} is not a number of seconds from 0.1 to 60")),
    }
}

/// The URL checked for `addr` (`HOST:PORT` or a port), with an unspecified IP made loopback.
pub(crate) fn url_for_addr(addr: &str) -> Result<String, HealthError> {
    let addr = addr.trim();
    if let Ok(port) = addr.parse::<u16>() {
        return Ok(format!("http://127.0.0.1:{port}/healthz"));
    }
    if let Ok(sa) = addr.parse::<SocketAddr>() {
        let ip = match sa.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        return Ok(format!("http://{}/healthz", SocketAddr::new(ip, sa.port())));
    }
    // A host name and a port.
    match addr.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty()
                && port.parse::<u16>().is_ok()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') =>
        {
            Ok(format!("http://{host}:{port}/healthz"))
        }
        _ => Err(HealthError::Addr(addr.to_string())),
    }
}

/// Runs the check; returns 0 (healthy) or 1 (unhealthy), and prints one line saying which.
pub(crate) fn run(args: HealthArgs, stdout: &mut dyn Write) -> Result<i32, HealthError> {
    let url = match &args.url {
        Some(u) => {
            let parsed = reqwest::Url::parse(u).map_err(|e| HealthError::Url {
                url: u.clone(),
                reason: e.to_string(),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(HealthError::Url {
                    url: u.clone(),
                    reason: format!("scheme {:?}", parsed.scheme()),
                });
            }
            u.clone()
        }
        None => url_for_addr(&args.addr)?,
    };
    let timeout = Duration::from_secs_f64(args.timeout);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HealthError::Client(e.to_string()))?;
    let verdict = runtime.block_on(check(&url, timeout, args.any_status))?;
    match verdict {
        Ok(what) => {
            writeln!(stdout, "healthy: {url} ({what})")?;
            Ok(0)
        }
        Err(why) => {
            writeln!(stdout, "unhealthy: {url}: {why}")?;
            Ok(1)
        }
    }
}

/// `Ok(Ok(what))` when healthy, `Ok(Err(why))` when not.
async fn check(
    url: &str,
    timeout: Duration,
    any_status: bool,
) -> Result<Result<String, String>, HealthError> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| HealthError::Client(e.to_string()))?;
    let res = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => return Ok(Err(chain_line(&e))),
    };
    let status = res.status();
    let body = match res.bytes().await {
        Ok(b) => b,
        Err(e) => return Ok(Err(format!("reading the answer: {}", chain_line(&e)))),
    };
    if any_status {
        return Ok(Ok(format!("answered HTTP {status}")));
    }
    if status != reqwest::StatusCode::OK {
        return Ok(Err(format!("answered HTTP {status}")));
    }
    let v: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return Ok(Err("answer is not JSON".into())),
    };
    if v["status"] != "ok" {
        return Ok(Err(format!("answer has status {}", v["status"])));
    }
    Ok(Ok(format!(
        "alipay-sim {}",
        v["version"].as_str().unwrap_or("?")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_loopback_urls() {
        assert_eq!(
            url_for_addr("8780").unwrap(),
            "http://127.0.0.1:8780/healthz"
        );
        assert_eq!(
            url_for_addr("0.0.0.0:9000").unwrap(),
            "http://127.0.0.1:9000/healthz"
        );
        assert_eq!(
            url_for_addr("[::]:9000").unwrap(),
            "http://[::1]:9000/healthz"
        );
        assert_eq!(
            url_for_addr("localhost:81").unwrap(),
            "http://localhost:81/healthz"
        );
        for bad in ["", "host", "host:port", ":80", "a b:80", "1.2.3.4:99999"] {
            assert!(url_for_addr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timeouts_are_bounded() {
        assert!(parse_timeout("2").is_ok());
        for bad in ["0", "-1", "61", "x", "NaN"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}
