//! Codec benchmark: seal and open rates on one core, next to `openssl speed rsa2048`.
//!
//! ```text
//! cargo run --release -p alipay-sim --example codec_bench -- --seconds 3
//! cargo run --release -p alipay-sim --example codec_bench -- --quick   # sub-second smoke run
//! ```
//!
//! Every measurement is single-threaded and timed by wall clock (`std::time::Instant`) after a
//! warm-up, so the rates are "per core". Sealing uses a different mobile number on every
//! iteration, so each seal is a fresh AES encryption and a fresh RSA signature. OpenSSL is run as
//! a child process (`openssl speed -elapsed -seconds N rsa2048`, one process, wall clock) and its
//! sign/s and verify/s are the yardsticks. The target: sealing at no less than half of OpenSSL's
//! RSA-2048 sign rate. The program prints a Markdown report on stdout; it exits 2 on bad flags and
//! 1 when a measured operation gives a wrong answer or `openssl` cannot be run. A missed target is
//! reported, not an error.

use std::hint::black_box;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use alipay_sim::{
    AesKey, KeyPair, KeySet, Opened, Opener, Payload, SealOptions, SignBackend, Signer, Verifier,
    encrypt_to_base64, parse_private_key, seal,
};

#[path = "support/openssl_speed.rs"]
mod openssl_speed;

/// The committed TEST-ONLY platform private key, the same text `KeySet::embedded()` parses.
const PLATFORM_PRIVATE_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/keys/platform/private.pkcs8.pem"
));

/// The target: seal rate / OpenSSL sign rate.
const TARGET_RATIO: f64 = 0.5;

/// Command-line settings.
struct Settings {
    /// Measuring time per operation.
    measure: Duration,
    /// Warm-up time per operation.
    warm_up: Duration,
    /// `-seconds` passed to `openssl speed` (whole seconds, at least 1).
    openssl_seconds: u64,
    /// The smoke-run mode.
    quick: bool,
}

const USAGE: &str = "usage: codec_bench [--seconds N] [--quick]\n  \
    --seconds N  measuring time per operation, whole seconds 1..=600 (default 3)\n  \
    --quick      sub-second smoke run (50 ms per operation, openssl speed skipped)";

fn parse_args(args: &[String]) -> Result<Settings, String> {
    let mut seconds: u64 = 3;
    let mut quick = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--seconds" => {
                let v = it
                    .next()
                    .ok_or_else(|| "--seconds needs a value".to_string())?;
                seconds = parse_seconds(v)?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => match other.strip_prefix("--seconds=") {
                Some(v) => seconds = parse_seconds(v)?,
                None => return Err(format!("unknown argument {other:?}")),
            },
        }
    }
    Ok(if quick {
        Settings {
            measure: Duration::from_millis(50),
            warm_up: Duration::from_millis(10),
            openssl_seconds: 0,
            quick,
        }
    } else {
        Settings {
            measure: Duration::from_secs(seconds),
            warm_up: Duration::from_millis(300),
            openssl_seconds: seconds,
            quick,
        }
    })
}

fn parse_seconds(v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(n) if (1..=600).contains(&n) => Ok(n),
        _ => Err(format!(
            "--seconds {v:?}: expected a whole number of seconds from 1 to 600"
        )),
    }
}

/// One measured rate.
struct Rate {
    ops: u64,
    elapsed: Duration,
}

impl Rate {
    fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
    fn micros(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.ops as f64
    }
}

/// Runs `op(i)` for `warm_up`, then for at least `measure` of wall time, checking the clock every
/// 16 iterations; `op` returns an error message when it produced a wrong answer.
fn run<F>(warm_up: Duration, measure: Duration, mut op: F) -> Result<Rate, String>
where
    F: FnMut(u64) -> Result<(), String>,
{
    let mut i: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < warm_up {
        op(i)?;
        i += 1;
    }
    let start = Instant::now();
    let mut ops: u64 = 0;
    loop {
        for _ in 0..16 {
            op(i)?;
            i += 1;
            ops += 1;
        }
        let elapsed = start.elapsed();
        if elapsed >= measure {
            return Ok(Rate { ops, elapsed });
        }
    }
}

/// A distinct mainland-format mobile for iteration `i`.
fn mobile(i: u64) -> String {
    format!("138{:08}", i % 100_000_000)
}

fn seal_distinct(settings: &Settings, signer: &Signer, aes: &AesKey) -> Result<Rate, String> {
    let opts = SealOptions::standard(aes, signer);
    let mut last = String::new();
    run(settings.warm_up, settings.measure, |i| {
        let plaintext = Payload::Mobile(mobile(i)).to_json();
        let sealed = seal(&plaintext, &opts);
        if sealed.envelope == last || sealed.sign.is_none() {
            return Err(format!("seal #{i} did not produce a new signed envelope"));
        }
        last = black_box(sealed.envelope);
        Ok(())
    })
}

fn open_distinct(
    settings: &Settings,
    signer: &Signer,
    verifier: &Verifier,
    aes: &AesKey,
) -> Result<Rate, String> {
    const SET: u64 = 256;
    let opts = SealOptions::standard(aes, signer);
    let envelopes: Vec<(String, String)> = (0..SET)
        .map(|i| {
            let m = mobile(i);
            let env = seal(&Payload::Mobile(m.clone()).to_json(), &opts).envelope;
            (env, m)
        })
        .collect();
    let opener = Opener::new(Some(verifier.clone()), Some(aes.clone()));
    run(settings.warm_up, settings.measure, |i| {
        let (envelope, expected) = &envelopes[(i % SET) as usize];
        match opener.open(black_box(envelope)) {
            Ok(o) if o.verified && o.result == Opened::Mobile(expected.clone()) => Ok(()),
            Ok(o) => Err(format!("open #{i} gave the wrong answer: {:?}", o.result)),
            Err(e) => Err(format!("open #{i} failed: {e}")),
        }
    })
}

fn aes_only(settings: &Settings, aes: &AesKey) -> Result<Rate, String> {
    run(settings.warm_up, settings.measure, |i| {
        let plaintext = Payload::Mobile(mobile(i)).to_json();
        let ct = encrypt_to_base64(aes, plaintext.as_bytes());
        if ct.is_empty() {
            return Err(format!("AES #{i} produced no ciphertext"));
        }
        black_box(ct);
        Ok(())
    })
}

/// Parsing the embedded key set's platform private key from PEM and preparing both halves (what
/// start-up does; no key is generated).
fn key_parse(settings: &Settings) -> Result<Rate, String> {
    run(settings.warm_up, settings.measure, |_| {
        let key = parse_private_key(black_box(PLATFORM_PRIVATE_PEM), "embedded platform key")
            .map_err(|e| e.to_string())?;
        black_box(KeyPair::from_private(key));
        Ok(())
    })
}

fn machine() -> Vec<String> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "unknown".into());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown (no /proc/cpuinfo)".into());
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown (rustc not on PATH)".into());
    vec![
        format!("- CPU: {cpu}"),
        format!("- cores (nproc): {cores}"),
        format!("- {rustc}, {} build", build_profile()),
    ]
}

fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug (numbers meaningless: use --release)"
    } else {
        "release"
    }
}

fn row(op: &str, r: &Rate, ratio: &str) -> String {
    format!(
        "| {op} | {:.0} | {:.1} | {ratio} |",
        r.per_sec(),
        r.micros()
    )
}

fn ratio(r: &Rate, base: Option<f64>, what: &str) -> String {
    match base {
        Some(b) => format!("{:.2} × {what}", r.per_sec() / b),
        None => "n/a".into(),
    }
}

fn bench(settings: &Settings) -> Result<String, String> {
    // Cold start-up: the first KeySet::embedded() parses the committed PEMs; nothing generates.
    let t = Instant::now();
    let keys = KeySet::embedded();
    let cold_start = t.elapsed();

    let private = parse_private_key(PLATFORM_PRIVATE_PEM, "embedded platform key")
        .map_err(|e| e.to_string())?;
    let aws = Signer::with_backend(private.clone(), SignBackend::AwsLc);
    if aws.backend() != SignBackend::AwsLc {
        return Err("aws-lc-rs refused the embedded platform key".into());
    }
    let rust = Signer::with_backend(private, SignBackend::RustCrypto);
    let verifier = &keys.platform.verifier;
    let aes = &keys.aes;

    let seal_aws = seal_distinct(settings, &aws, aes)?;
    let seal_rust = seal_distinct(settings, &rust, aes)?;
    let open = open_distinct(settings, &aws, verifier, aes)?;
    let aes_rate = aes_only(settings, aes)?;
    let parse = key_parse(settings)?;

    let openssl = if settings.quick {
        None
    } else {
        Some(openssl_speed::rsa2048(settings.openssl_seconds, None)?)
    };
    let sign = openssl.as_ref().map(|o| o.sign_per_sec);
    let verify = openssl.as_ref().map(|o| o.verify_per_sec);

    let mut out = Vec::new();
    out.push(format!(
        "Machine:\n\n{}\n- OpenSSL: {}\n",
        machine().join("\n"),
        match &openssl {
            Some(o) => o.version.clone(),
            None => openssl_speed::version().unwrap_or_else(|e| e),
        }
    ));
    out.push(format!(
        "Single thread, wall clock, {} ms warm-up then {} ms per operation ({} mode).\n",
        settings.warm_up.as_millis(),
        settings.measure.as_millis(),
        if settings.quick { "--quick" } else { "full" }
    ));
    out.push("| operation | ops/s | µs/op | ratio to OpenSSL |".into());
    out.push("|---|---:|---:|---|".into());
    out.push(row(
        "seal, distinct payloads, RSA2 via aws-lc-rs (default)",
        &seal_aws,
        &ratio(&seal_aws, sign, "sign/s"),
    ));
    out.push(row(
        "seal, distinct payloads, RSA2 via `rsa` crate",
        &seal_rust,
        &ratio(&seal_rust, sign, "sign/s"),
    ));
    out.push(row(
        "open (verify with `rsa` crate + decrypt + parse)",
        &open,
        &ratio(&open, verify, "verify/s"),
    ));
    out.push(row(
        &format!(
            "AES-{}-CBC encrypt + base64 only (no signature)",
            aes.bits()
        ),
        &aes_rate,
        "n/a",
    ));
    out.push(row(
        "parse embedded platform key from PEM (no key generation)",
        &parse,
        "n/a",
    ));
    if let Some(o) = &openssl {
        out.push(format!(
            "| `{}`: sign | {:.0} | {:.1} | 1.00 × sign/s |",
            o.command,
            o.sign_per_sec,
            1e6 / o.sign_per_sec
        ));
        out.push(format!(
            "| `{}`: verify | {:.0} | {:.1} | 1.00 × verify/s |",
            o.command,
            o.verify_per_sec,
            1e6 / o.verify_per_sec
        ));
    }
    out.push(String::new());
    out.push(format!(
        "Cold start (first `KeySet::embedded()`: parse two PEM key pairs and two AES keys): {:.2} ms.",
        cold_start.as_secs_f64() * 1e3
    ));
    match sign {
        Some(s) => {
            let aws_met = seal_aws.per_sec() >= TARGET_RATIO * s;
            let rust_met = seal_rust.per_sec() >= TARGET_RATIO * s;
            let yes = |b: bool| if b { "met" } else { "NOT met" };
            out.push(format!(
                "Target (seal ≥ {TARGET_RATIO} × OpenSSL sign/s = {:.0}/s): aws-lc-rs backend {} \
                 ({:.2} ×); `rsa` crate backend {} ({:.2} ×).",
                TARGET_RATIO * s,
                yes(aws_met),
                seal_aws.per_sec() / s,
                yes(rust_met),
                seal_rust.per_sec() / s,
            ));
        }
        None => out.push("Target: not judged in --quick mode (openssl speed skipped).".into()),
    }
    Ok(out.join("\n"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match parse_args(&args) {
        Ok(s) => s,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("codec_bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match bench(&settings) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("codec_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_run_measures_every_operation() {
        let report = bench(&parse_args(&["--quick".into()]).unwrap()).unwrap();
        for op in [
            "aws-lc-rs",
            "`rsa` crate",
            "open (verify",
            "-CBC encrypt + base64",
            "parse embedded",
        ] {
            assert!(report.contains(op), "{op} missing from:\n{report}");
        }
        assert!(report.contains("not judged in --quick mode"), "{report}");
    }

    #[test]
    fn flags_are_checked() {
        assert!(parse_args(&["--seconds".into(), "0".into()]).is_err());
        assert!(parse_args(&["--seconds".into()]).is_err());
        assert!(parse_args(&["--fast".into()]).is_err());
        assert_eq!(
            parse_args(&["--seconds=5".into()]).unwrap().measure,
            Duration::from_secs(5)
        );
        assert!(parse_args(&["--quick".into()]).unwrap().quick);
    }
}
