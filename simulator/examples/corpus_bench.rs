//! Corpus benchmark: how fast `alipay-sim corpus` writes genuine envelopes on every core, next to
//! `openssl speed rsa2048` measured in the same run, and its peak memory for a small and a large
//! corpus.
//!
//! ```sh
//! cargo run --release -p alipay-sim --example corpus_bench                 # full run (1M lines)
//! cargo run --release -p alipay-sim --example corpus_bench -- --quick      # seconds, no openssl
//! ```
//!
//! 1. `openssl speed -elapsed -seconds S rsa2048` (one process) gives sign/s for one core; the
//!    baseline is that × the number of cores. `openssl speed -multi CORES` is shown beside it.
//! 2. The corpus writer (the library's [`alipay_sim::corpus::write_to`], all cores, the default
//!    `genuine` mix: one AES encryption and one RSA2 signature per line) writes `--count` lines to
//!    a temporary file; its rate is lines/s over the wall-clock time. The same on one thread
//!    (`--count / cores` lines) compares with one OpenSSL process.
//! 3. Bounded memory: the example runs itself as a child process per size (`--rss-counts`,
//!    default 10000 and 1000000 lines), each writing its corpus to a temporary file and then
//!    reading its own peak resident set (`VmHWM` in `/proc/self/status`).
//!
//! Prints a Markdown table. Exit 0 when every measurement ran, 2 when one could not (openssl
//! missing, a child failed); the targets are reported, not enforced.

use std::process::Command;
use std::time::Instant;

use alipay_sim::{Catalogue, KeySet, corpus, corpus::Format, corpus::Mix, corpus::Plan};

#[path = "support/openssl_speed.rs"]
mod openssl_speed;
#[path = "support/proc_status.rs"]
mod proc_status;

struct Settings {
    count: u64,
    seconds: u64,
    rss_counts: Vec<u64>,
    quick: bool,
}

const USAGE: &str = "usage: corpus_bench [--count N] [--seconds S] [--rss-counts A,B] [--quick]
    --count N         lines for the rate measurement (default 30000)
    --seconds S       `openssl speed -seconds` (default 5)
    --rss-counts A,B  corpus sizes whose peak RSS is measured (default 10000,1000000)
    --quick           smoke run: 300 lines, RSS of 300 and 3000 lines, no openssl";

fn parse_args(args: &[String]) -> Result<Settings, String> {
    let mut s = Settings {
        count: 30_000,
        seconds: 5,
        rss_counts: vec![10_000, 1_000_000],
        quick: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--count" => s.count = number(&value("--count")?)?,
            "--seconds" => s.seconds = number(&value("--seconds")?)?,
            "--rss-counts" => {
                s.rss_counts = value("--rss-counts")?
                    .split(',')
                    .map(number)
                    .collect::<Result<_, _>>()?
            }
            "--quick" => {
                s.quick = true;
                s.count = 300;
                s.rss_counts = vec![300, 3000];
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(s)
}

fn number(v: &str) -> Result<u64, String> {
    v.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{v:?} is not a positive whole number"))
}

fn plan() -> Plan {
    Plan::new(
        &Mix::default(),
        &Catalogue::embedded(),
        KeySet::embedded(),
        0,
    )
    .expect("the default mix plans")
}

/// Writes `count` lines to a temporary file on every core; returns (lines/s, bytes).
fn write_corpus(count: u64, threads: usize) -> Result<(f64, u64), String> {
    let dir = std::env::temp_dir().join(format!("corpus-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("corpus.ndjson");
    let plan = plan();
    let started = Instant::now();
    let s =
        corpus::write_to(&plan, count, Format::Ndjson, threads, &path).map_err(|e| e.to_string());
    let elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    let s = s?;
    Ok((count as f64 / elapsed.as_secs_f64(), s.bytes))
}

/// Runs this example as a child that writes `count` lines and reports its peak RSS.
fn child_rss(count: u64) -> Result<(u64, f64), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let text = openssl_speed::stdout_of(
        Command::new(exe).args(["--child", &count.to_string()]),
        &format!("the child for {count} lines"),
    )?;
    let mut parts = text.split_whitespace();
    let rss = parts.next().and_then(|v| v.parse().ok());
    let rate = parts.next().and_then(|v| v.parse().ok());
    match (rss, rate) {
        (Some(rss), Some(rate)) => Ok((rss, rate)),
        _ => Err(format!("child printed {text:?}")),
    }
}

/// The command and its sign/s of `openssl speed -elapsed [-multi N] -seconds S rsa2048`.
fn openssl_sign(seconds: u64, multi: Option<usize>) -> Result<(String, f64), String> {
    let speed = openssl_speed::rsa2048(seconds, multi)?;
    Ok((speed.command, speed.sign_per_sec))
}

fn run(s: &Settings) -> Result<(), String> {
    let cores = corpus::default_threads();
    println!(
        "# corpus_bench ({} build, {cores} cores)\n",
        if cfg!(debug_assertions) {
            "debug: numbers meaningless, use --release"
        } else {
            "release"
        }
    );
    // Each corpus measurement right after the OpenSSL one it is compared with, so that both see
    // about the same load from whatever else runs on the machine.
    let one = (!s.quick)
        .then(|| openssl_sign(s.seconds, None))
        .transpose()?;
    let (rate1, _) = write_corpus((s.count / cores as u64).max(1), 1)?;
    let multi = (!s.quick)
        .then(|| openssl_sign(s.seconds, Some(cores)))
        .transpose()?;
    let (rate, bytes) = write_corpus(s.count, cores)?;
    let openssl = one.zip(multi);
    println!("| measurement | value | ratio |");
    println!("|---|---:|---|");
    let baseline = openssl.as_ref().map(|((_, one), _)| one * cores as f64);
    let ratio = |base: Option<f64>| match base {
        Some(b) => format!("{:.2} × baseline", rate / b),
        None => "n/a".into(),
    };
    println!(
        "| corpus, {} genuine lines, {cores} threads: lines/s | {rate:.0} | {} |",
        s.count,
        ratio(baseline)
    );
    println!(
        "| corpus, {} genuine lines, 1 thread: lines/s | {rate1:.0} | {} |",
        (s.count / cores as u64).max(1),
        match &openssl {
            Some(((_, one), _)) => format!("{:.2} × one openssl process", rate1 / one),
            None => "n/a".into(),
        }
    );
    if let Some(((cmd1, one), (cmdm, multi))) = &openssl {
        println!("| `{cmd1}`: sign/s (one process) | {one:.0} | |");
        println!(
            "| baseline: that × {cores} cores | {:.0} | 1.00 × |",
            one * cores as f64
        );
        println!(
            "| `{cmdm}`: sign/s (all processes) | {multi:.0} | corpus: {} |",
            ratio(Some(*multi)).replace("baseline", "this")
        );
    }
    println!(
        "| corpus bytes per line | {:.0} | |",
        bytes as f64 / s.count as f64
    );
    for &n in &s.rss_counts {
        let (rss, r) = child_rss(n)?;
        println!(
            "| peak RSS writing {n} lines (child process, {r:.0} lines/s) | {:.1} MiB | |",
            rss as f64 / 1024.0
        );
    }
    if let Some(b) = baseline {
        println!(
            "\nTarget: corpus ≥ 0.8 × openssl sign/s × cores ({:.0} lines/s): {}.",
            0.8 * b,
            if rate >= 0.8 * b { "met" } else { "NOT met" }
        );
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        // Child: write the corpus, then report peak RSS (KiB) and the rate.
        let result = args
            .get(1)
            .ok_or_else(|| "--child needs a count".to_string())
            .and_then(|c| number(c))
            .and_then(|n| write_corpus(n, corpus::default_threads()))
            .and_then(|(rate, _)| Ok((proc_status::kib("self", "VmHWM")?, rate)));
        match result {
            Ok((rss, rate)) => println!("{rss} {rate}"),
            Err(e) => {
                eprintln!("corpus_bench child: {e}");
                std::process::exit(2);
            }
        }
        return;
    }
    let code = match parse_args(&args).and_then(|s| run(&s)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("corpus_bench: {e}");
            2
        }
    };
    std::process::exit(code);
}
