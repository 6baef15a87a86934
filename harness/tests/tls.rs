//! HTTPS staging endpoints with a private CA: `--cacert FILE` trusts it, `--insecure` skips
//! verification (loudly), and without either the certificate is refused, which leaves nothing
//! reachable: one line, exit 2. The CA, the server certificate and the TLS endpoint are made
//! here, on 127.0.0.1:0, with `rcgen` and `tokio-rustls`.

use std::net::SocketAddr;
use std::sync::Arc;

use assert_cmd::Command;
use predicates::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA (PEM) and a server configuration whose certificate it signed for 127.0.0.1.
fn pki() -> (String, rustls::ServerConfig) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "alipay-harness TEST ONLY CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();

    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    (ca.pem(), config)
}

/// An HTTPS endpoint on a fresh loopback port that refuses every request with a 400.
async fn https_endpoint(config: rustls::ServerConfig) -> SocketAddr {
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return; // the client refused our certificate
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and the declared body, then answer.
                loop {
                    let Ok(n) = tls.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let body = r#"{"status":"rejected","error":"malformed"}"#;
                let answer = format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

fn harness(endpoint: &str) -> Command {
    let mut c = Command::cargo_bin("alipay-harness").unwrap();
    c.env_remove("ALIPAY_HARNESS_ENDPOINT")
        .env("NO_COLOR", "1")
        .args(["run", "--endpoint", endpoint])
        .args(["--cases", "tamper.body.empty", "--no-behaviour"]);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_is_trusted_with_cacert_and_refused_without() {
    let (ca_pem, config) = pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let addr = https_endpoint(config).await;
    let endpoint = format!("https://{addr}/phone");

    // The endpoint serves on this runtime while the harness process runs on a blocking thread.
    let run = |mut cmd: Command| tokio::task::spawn_blocking(move || cmd.output().unwrap());
    // Without --cacert: the certificate is not trusted, nothing is reachable.
    let out = run(harness(&endpoint)).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.starts_with(&format!("error: cannot reach {endpoint}: cannot connect"))
            && stderr.to_lowercase().contains("certificate"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    // With --cacert: verified, judged (a 400 refusal of an empty body passes).
    let mut with_ca = harness(&endpoint);
    with_ca.arg("--cacert").arg(&ca_file);
    let out = run(with_ca).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("PASS  tamper.body.empty"),
        "{out:?}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("WARNING"));

    // With --insecure: judged too, with a warning that cannot be missed.
    let mut insecure = harness(&endpoint);
    insecure.arg("--insecure");
    let out = run(insecure).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("WARNING: --insecure: the endpoint's TLS certificate is NOT verified"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("PASS  tamper.body.empty"));
}

#[test]
fn a_cacert_that_is_not_a_certificate_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("ca.pem");
    std::fs::write(
        &bad,
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    harness("https://127.0.0.1:1/")
        .arg("--cacert")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ca.pem"));
}
