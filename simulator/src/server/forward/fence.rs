//! The fence of `POST /__forward`: which targets the relay may reach.
//!
//! - only `http` and `https` URLs, without credentials in them;
//! - by default only loopback targets: an IP literal in `127.0.0.0/8` or `::1` (IPv4-mapped
//!   included), or the name `localhost` / `*.localhost`, which is mapped to `127.0.0.1` and `::1`
//!   here and never looked up (RFC 6761);
//! - anything else only when its `HOST[:PORT]` is on the allow-list (`--allow-forward`);
//! - a name is looked up only when the allow-list admits it: any other name is refused before
//!   any resolver is asked (`http:///x` names the host `x`, which is refused, not resolved). So a
//!   name cannot resolve to loopback for a check and elsewhere for the connection: names that
//!   are not allow-listed are never resolved at all. The HTTP client connects through
//!   [`FenceResolver`], which applies the same rule.
//!
//! Allow-list entries are parsed here by hand: `HOST`, `HOST:PORT`, `[v6]`, `[v6]:PORT` or a bare
//! IPv6 address, a grammar smaller than a URL's, whose errors must name the flag.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::ForwardConfig;

/// An allow-list entry that is not `HOST[:PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--allow-forward {entry:?}: {reason} (expected HOST or HOST:PORT, e.g. api.test:8443 or [fd00::1]:9000)"
)]
pub struct AllowEntryError {
    /// The entry as given.
    pub entry: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A clap `value_parser` for `--allow-forward`: accepts `HOST[:PORT]` and returns it unchanged.
pub(crate) fn parse_allow_entry(entry: &str) -> Result<String, AllowEntryError> {
    AllowEntry::parse(entry).map(|_| entry.to_string())
}

/// One parsed allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AllowEntry {
    /// Lower-case domain name or canonical IP text (no brackets).
    host: String,
    /// `None`: any port.
    port: Option<u16>,
}

impl AllowEntry {
    pub(crate) fn parse(entry: &str) -> Result<Self, AllowEntryError> {
        let fail = |reason| AllowEntryError {
            entry: entry.to_string(),
            reason,
        };
        let trimmed = entry.trim();
        if trimmed.is_empty() {
            return Err(fail("empty entry"));
        }
        if trimmed.contains("://") || trimmed.contains('/') || trimmed.contains('@') {
            return Err(fail("give a host, not a URL"));
        }
        let (host, port) = if let Some(rest) = trimmed.strip_prefix('[') {
            let (inside, after) = rest
                .split_once(']')
                .ok_or_else(|| fail("unclosed '[' in an IPv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| fail("text after ']' must be :PORT"))?,
                ),
            };
            if inside.parse::<Ipv6Addr>().is_err() {
                return Err(fail("not an IPv6 address inside [ ]"));
            }
            (inside, port)
        } else if trimmed.matches(':').count() > 1 {
            // A bare IPv6 address, without a port.
            if trimmed.parse::<Ipv6Addr>().is_err() {
                return Err(fail("not a host name or IP address"));
            }
            (trimmed, None)
        } else {
            match trimmed.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (trimmed, None),
            }
        };
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(fail("the port must be a number from 1 to 65535")),
                Ok(n) => Some(n),
            },
        };
        let host = normalise_host(host);
        let is_ip = host.parse::<IpAddr>().is_ok();
        let valid_name = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if !is_ip && !valid_name {
            return Err(fail("not a host name or IP address"));
        }
        Ok(Self { host, port })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|p| p == port)
    }
}

/// Lower-cases a host, strips IPv6 brackets and a trailing dot, and writes IPs canonically.
pub(crate) fn normalise_host(host: &str) -> String {
    let h = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    match h.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => h,
    }
}

/// True for `127.0.0.0/8`, `::1` and IPv4-mapped loopback (`::ffff:127.x.y.z`).
pub(crate) fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// True for `localhost` and names under it (RFC 6761: always loopback, never looked up).
pub(crate) fn is_localhost_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// The addresses `localhost` stands for.
const LOCALHOST_ADDRS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
];

/// Why the fence refused a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// The URL does not parse.
    #[error("{url:?} is not a URL: {reason}")]
    BadUrl {
        /// The text given.
        url: String,
        /// The parser's complaint.
        reason: String,
    },
    /// Not `http` or `https`.
    #[error("scheme {scheme:?} is not forwarded: only http and https are")]
    Scheme {
        /// The scheme found.
        scheme: String,
    },
    /// The URL carries a user name or password.
    #[error("URLs with credentials (user:password@) are not forwarded")]
    Credentials,
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
    /// An IP address outside loopback that is not allow-listed.
    #[error(
        "host {host} (port {port}) is not loopback: only loopback targets (127.0.0.0/8, ::1, localhost) are forwarded by default; to allow it, start the simulator with --allow-forward {allow_hint}"
    )]
    NotLoopback {
        /// The address as in the URL.
        host: String,
        /// The port.
        port: u16,
        /// The `HOST:PORT` to pass to `--allow-forward`.
        allow_hint: String,
    },
    /// A name other than `localhost` that is not allow-listed: refused without being looked up.
    #[error(
        "host {host} (port {port}) is a name that is not on the allow-list, so it was not looked up: by default only loopback targets (127.0.0.0/8, ::1, localhost) are forwarded; to allow it, start the simulator with --allow-forward {allow_hint}"
    )]
    NameNotAllowed {
        /// The name as in the URL (normalised).
        host: String,
        /// The port.
        port: u16,
        /// The `HOST:PORT` to pass to `--allow-forward`.
        allow_hint: String,
    },
}

/// The loopback-only fence plus the allow-list.
#[derive(Debug, Clone)]
pub(crate) struct Fence {
    allow: Vec<AllowEntry>,
}

/// A target the fence let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The parsed URL.
    pub(crate) url: Url,
    /// Normalised host.
    pub(crate) host: String,
    /// Port (explicit or the scheme's default).
    pub(crate) port: u16,
    /// True when allowed by the allow-list rather than by being loopback.
    pub(crate) allow_listed: bool,
}

/// The `HOST:PORT` to pass to `--allow-forward` for a target.
pub(crate) fn allow_hint(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl Fence {
    /// Builds a fence; an invalid allow-list entry is logged and ignored (the `serve` flag's
    /// parser and [`ForwardConfig::check`] reject them up front).
    pub(crate) fn new(cfg: &ForwardConfig) -> Self {
        let allow = cfg
            .allow
            .iter()
            .filter_map(|e| {
                AllowEntry::parse(e)
                    .inspect_err(|err| tracing::warn!("{err}; the entry is ignored"))
                    .ok()
            })
            .collect();
        Self { allow }
    }

    fn allow_listed(&self, host: &str, port: u16) -> bool {
        self.allow.iter().any(|e| e.matches(host, port))
    }

    /// Applies the whole fence to `url`. Nothing is resolved: names are judged by the rules
    /// alone, so a refused name is never looked up.
    pub(crate) fn check(&self, url: &str) -> Result<Target, Refusal> {
        let parsed = Url::parse(url.trim()).map_err(|e| Refusal::BadUrl {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        match parsed.scheme() {
            "http" | "https" => {}
            other => {
                return Err(Refusal::Scheme {
                    scheme: other.to_string(),
                });
            }
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Refusal::Credentials);
        }
        // The URL parser has already canonicalised IP literals (`127.1` is `127.0.0.1`).
        let host = normalise_host(parsed.host_str().ok_or(Refusal::NoHost)?);
        if host.is_empty() {
            return Err(Refusal::NoHost);
        }
        let port = parsed.port_or_known_default().ok_or(Refusal::NoHost)?;
        let allow_listed = self.allow_listed(&host, port);
        if !allow_listed {
            match host.parse::<IpAddr>() {
                Ok(ip) if is_loopback(ip) => {}
                Ok(_) => {
                    return Err(Refusal::NotLoopback {
                        allow_hint: allow_hint(&host, port),
                        host,
                        port,
                    });
                }
                Err(_) if is_localhost_name(&host) => {}
                Err(_) => {
                    return Err(Refusal::NameNotAllowed {
                        allow_hint: allow_hint(&host, port),
                        host,
                        port,
                    });
                }
            }
        }
        Ok(Target {
            url: parsed,
            host,
            port,
            allow_listed,
        })
    }

    /// The resolver the HTTP client connects through.
    pub(crate) fn resolver(&self) -> FenceResolver {
        FenceResolver {
            allowed_names: self
                .allow
                .iter()
                .filter(|e| e.host.parse::<IpAddr>().is_err())
                .map(|e| e.host.clone())
                .collect(),
        }
    }
}

/// What the connect-time resolver does with a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// `localhost`: these addresses, without asking any resolver.
    Loopback,
    /// An allow-listed name: ask the system resolver; any address is allowed.
    Lookup,
    /// Any other name: refused, not looked up.
    Refuse,
}

/// The resolver the HTTP client connects through: the fence's rule again, at connect time.
#[derive(Debug, Clone)]
pub(crate) struct FenceResolver {
    allowed_names: HashSet<String>,
}

impl FenceResolver {
    /// What happens to `name` (already normalised).
    pub(crate) fn plan(&self, name: &str) -> Resolution {
        if is_localhost_name(name) {
            Resolution::Loopback
        } else if self.allowed_names.contains(name) {
            Resolution::Lookup
        } else {
            Resolution::Refuse
        }
    }
}

impl Resolve for FenceResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = normalise_host(name.as_str());
        let plan = self.plan(&host);
        Box::pin(async move {
            let found: Vec<SocketAddr> = match plan {
                Resolution::Loopback => LOCALHOST_ADDRS
                    .iter()
                    .map(|ip| SocketAddr::new(*ip, 0))
                    .collect(),
                Resolution::Lookup => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
                Resolution::Refuse => {
                    return Err(Box::new(Refusal::NameNotAllowed {
                        allow_hint: allow_hint(&host, 0),
                        host,
                        port: 0,
                    })
                        as Box<dyn std::error::Error + Send + Sync>);
                }
            };
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fence(allow: &[&str]) -> Fence {
        Fence::new(&ForwardConfig {
            allow: allow.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn refused(r: Result<Target, Refusal>) -> Refusal {
        match r {
            Ok(t) => panic!("expected a refusal, got {t:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn loopback_literals_and_localhost_pass() {
        let f = fence(&[]);
        for url in [
            "http://127.0.0.1:9000/decrypt",
            "http://127.1.2.3/",
            "https://127.0.0.1/x",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:9000/decrypt",
            "http://LocalHost./",
            "http://merchant.localhost:9000/",
        ] {
            let t = f.check(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(!t.allow_listed, "{url}");
        }
        let t = f.check("http://localhost:9000/decrypt").expect("localhost");
        assert_eq!((t.host.as_str(), t.port), ("localhost", 9000));
    }

    #[test]
    fn private_and_public_literals_are_refused_with_a_hint() {
        let f = fence(&[]);
        let r = refused(f.check("http://10.0.0.1/"));
        assert_eq!(
            r,
            Refusal::NotLoopback {
                host: "10.0.0.1".into(),
                port: 80,
                allow_hint: "10.0.0.1:80".into(),
            }
        );
        let msg = r.to_string();
        assert!(msg.contains("--allow-forward 10.0.0.1:80"), "{msg}");
        for url in [
            "http://192.168.1.1:8080/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0:9000/",
            "http://[fd00::1]/",
            "http://[::ffff:10.0.0.1]/",
            "https://8.8.8.8/",
        ] {
            assert!(
                matches!(refused(f.check(url)), Refusal::NotLoopback { .. }),
                "{url}"
            );
        }
        let r = refused(f.check("http://[fd00::1]:9000/"));
        assert!(
            r.to_string().contains("--allow-forward [fd00::1]:9000"),
            "{r}"
        );
    }

    #[test]
    fn names_that_cannot_be_allowed_are_refused_without_a_lookup() {
        // `check` is synchronous and resolves nothing: a refused name never reaches a resolver.
        let f = fence(&["api.test:8443"]);
        // `http:///x` is the URL of the host `x`.
        let r = refused(f.check("http:///x"));
        assert_eq!(
            r,
            Refusal::NameNotAllowed {
                host: "x".into(),
                port: 80,
                allow_hint: "x:80".into(),
            }
        );
        assert!(r.to_string().contains("not looked up"), "{r}");
        for url in [
            "http://127.0.0.1.nip.io/",
            "http://example.test/",
            "http://api.test:9000/",
            "https://localhost.evil.test/",
        ] {
            assert!(
                matches!(refused(f.check(url)), Refusal::NameNotAllowed { .. }),
                "{url}"
            );
        }
        // The connect-time resolver: localhost from a table, allow-listed names looked up,
        // every other name refused without a lookup.
        let r = f.resolver();
        assert_eq!(r.plan("localhost"), Resolution::Loopback);
        assert_eq!(r.plan("a.localhost"), Resolution::Loopback);
        assert_eq!(r.plan("api.test"), Resolution::Lookup);
        assert_eq!(r.plan("x"), Resolution::Refuse);
        assert_eq!(r.plan("127.0.0.1.nip.io"), Resolution::Refuse);
    }

    #[test]
    fn other_schemes_credentials_and_non_urls_are_refused() {
        let f = fence(&[]);
        assert_eq!(
            refused(f.check("file:///etc/passwd")),
            Refusal::Scheme {
                scheme: "file".into()
            }
        );
        assert!(matches!(
            refused(f.check("gopher://127.0.0.1/")),
            Refusal::Scheme { .. }
        ));
        assert_eq!(
            refused(f.check("http://u:p@127.0.0.1/")),
            Refusal::Credentials
        );
        assert!(matches!(
            refused(f.check("not a url")),
            Refusal::BadUrl { .. }
        ));
    }

    #[test]
    fn allow_list_opens_exactly_what_it_names() {
        let f = fence(&["10.0.0.1:8080", "[fd00::1]", "Api.Test"]);
        assert!(
            f.check("http://10.0.0.1:8080/x")
                .expect("allowed")
                .allow_listed
        );
        assert!(matches!(
            refused(f.check("http://10.0.0.1:8081/x")),
            Refusal::NotLoopback { .. }
        ));
        assert!(
            f.check("http://[fd00::1]:1234/")
                .expect("any port")
                .allow_listed
        );
        assert!(
            f.check("https://api.test/decrypt")
                .expect("allowed")
                .allow_listed
        );
    }

    #[test]
    fn allow_entries_are_validated() {
        for ok in [
            "example.test",
            "example.test:8443",
            "10.0.0.5",
            "[fd00::1]:9000",
            "fd00::1",
        ] {
            assert!(parse_allow_entry(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "http://example.test",
            "example.test/x",
            "host:0",
            "host:99999",
            "[fd00::1",
            "a b",
        ] {
            let err = parse_allow_entry(bad).expect_err(bad);
            assert!(err.to_string().contains("--allow-forward"), "{err}");
        }
        assert!(
            ForwardConfig {
                allow: vec!["ok.test".into(), "bad/".into()]
            }
            .check()
            .is_err()
        );
    }
}
