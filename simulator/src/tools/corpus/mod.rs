//! Envelope corpora for distributed load engines (Locust, k6, Gatling, JMeter).
//!
//! A load engine can replay requests at any scale, but it cannot seal Alipay envelopes, and it
//! cannot tell whether the merchant answered each request with *that* request's mobile. A corpus
//! gives it both: `alipay-sim corpus --count N --out FILE` writes N lines, each one request the
//! engine posts as-is and the answer a correct merchant must give.
//!
//! # The NDJSON format (the default)
//!
//! One JSON object per line (`\n`-terminated, UTF-8), in `id` order:
//!
//! ```json
//! {"id":0,"case":"genuine","expect":{"outcome":"accept","mobile":"13512345678"},"envelope":"{\"response\":\"…\",\"sign\":\"…\"}"}
//! {"id":1,"case":"tamper.signature.bit-flip","expect":{"outcome":"reject"},"canary":"14987654321","envelope":"…"}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `id` | the line number, from 0 |
//! | `case` | `genuine` (a standard success envelope: AES-128, RSA2, minimal fields) or the catalogue id the line was built from |
//! | `expect` | what a correct merchant concludes, an [`Expectation`]: `outcome` is `accept` (with `mobile`), `no_mobile`, `platform_error` (with `code`, `sub_code`), `retry_later` (with `code`) or `reject` |
//! | `canary` | present on tamper lines: the mobile inside the forged or damaged envelope; it must never appear in the merchant's answer |
//! | `content_type` | present when the request must be sent with this `Content-Type` instead of `application/json` |
//! | `envelope` | the exact request body (`res.response`, as the mini-program forwards it) |
//!
//! Every mobile in a corpus (`expect.mobile` and `canary`) is distinct: line `id` gets number
//! `P(id)` where `P` is a seeded permutation of `0..7·10⁹`, written as a mainland number (`1`, a
//! digit 3-9 and nine digits; `1-` and ten digits for the overseas case). So a corpus holds at
//! most [`MAX_COUNT`] lines. The same count, mix, seed and keys always give the same file.
//!
//! With `--format csv` the same records are written as RFC 4180 CSV with a header line:
//! `id,case,outcome,mobile,code,sub_code,canary,content_type,envelope` (absent values are empty).
//!
//! # The mix
//!
//! `--mix genuine=90,platform.error=5,tamper=5` chooses each line's case at random (seeded) with
//! those weights (any positive numbers; they are normalised). A name is `genuine`, a catalogue id,
//! or a dotted prefix of ids (`tamper`, `tamper.signature`, `platform.error`) standing for every
//! catalogue case under it that applies to a merchant configured the standard way (RSA2, AES-128),
//! its weight shared equally among them. A prefix leaves out cases whose body is over 64 KiB
//! (`tamper.body.huge`); name such a case by its id to include it. Catalogue cases that carry a
//! mobile (successes, and the canary of tamper cases) are re-sealed for every line with that
//! line's distinct mobile; the others (platform errors, bodies that carry no mobile) are the same
//! bytes on every line, exactly as Alipay would send them.
//!
//! # How it runs
//!
//! Signing is the whole cost (an RSA-2048 signature per genuine line; up to two per re-sealed
//! tamper line, as `Scenario::build` signs before most tamper flags re-sign or drop the
//! signature), so lines are sealed on
//! every core: `T` worker threads (default: all cores) take chunks of [`CHUNK`] lines round-robin
//! (worker `w` seals chunks `w`, `w + T`, `w + 2T`, ...), and the calling thread writes the
//! chunks in order. Each worker can be at most two chunks ahead, so memory is bounded by
//! `3·T·CHUNK` lines whatever the count, and the output is ordered and reproducible.
//!
//! CSV quoting is written by hand (quote a field that holds `,`, `"`, CR or LF, double its `"`):
//! it is one small function, and the CSV reader of Python's standard library reads every
//! corpus back in `load/` and in this module's tests (through `tests/corpus.rs`).
//!
//! # Where each part lives
//!
//! | what | file |
//! |---|---|
//! | the format, the record, the errors, the threaded writer and the `corpus` command | `mod.rs` |
//! | `--mix` and the plan: which case each line is built from, with which mobile | `plan.rs` |
//! | one record as an NDJSON or CSV line | `record.rs` |

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::model::platform::Signing;
use crate::model::scenario::{Catalogue, Expectation, MobileSpec, Scenario, ScenarioError, build};
use crate::protocol::envelope::{SealOptions, seal};
use crate::protocol::error::KeyError;
use crate::protocol::keys::KeySet;
use crate::protocol::payload::Payload;

/// The largest corpus: the number of distinct mainland mobiles (`1`, a digit 3-9, nine digits).
pub(crate) const MAX_COUNT: u64 = crate::model::mobile::MAINLAND_SPACE;

/// The most sealing threads a corpus is written with.
pub(crate) const MAX_THREADS: usize = 1024;

/// Lines per chunk handed to a worker thread.
pub(crate) const CHUNK: u64 = 64;

/// A prefix selection leaves out cases whose body is larger than this.
pub(crate) const PREFIX_BODY_LIMIT: usize = 64 * 1024;

/// The name of the built-in standard success case.
pub(crate) const GENUINE: &str = "genuine";

/// The CSV header line (without its line ending).
pub(crate) const CSV_HEADER: &str =
    "id,case,outcome,mobile,code,sub_code,canary,content_type,envelope";

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "server", derive(clap::ValueEnum))]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Ndjson,
    /// RFC 4180 CSV with a header line.
    Csv,
}

/// One corpus line: a request and the answer a correct merchant must give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The line number, from 0.
    pub id: u64,
    /// `genuine` or the catalogue id the line was built from.
    pub case: String,
    /// What a correct merchant concludes.
    pub expect: Expectation,
    /// A mobile that must never appear in the answer (tamper lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<String>,
    /// The `Content-Type` to send with, when not `application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The exact request body.
    pub envelope: String,
}

/// A corpus could not be planned or written. Each variant names what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// `--count` out of range.
    #[error("--count {0}: must be between 1 and {MAX_COUNT} (the number of distinct mobiles)")]
    Count(u64),
    /// `--mix` could not be parsed or names nothing usable.
    #[error("--mix: {0}")]
    Mix(String),
    /// `--threads` out of range.
    #[error("--threads {0}: must be between 1 and {MAX_THREADS} (0 means every core)")]
    Threads(usize),
    /// The key set could not be loaded (the message names the file).
    #[error("--keys: {0}")]
    Keys(KeyError),
    /// The catalogue could not be loaded (the message names the file and field).
    #[error("--scenarios: {0}")]
    Scenarios(ScenarioError),
    /// The output could not be written.
    #[error("writing the corpus to {path}: {error}")]
    Write {
        /// The output (`-` for stdout).
        path: String,
        /// The I/O error.
        error: io::Error,
    },
}

mod plan;
mod record;
#[cfg(test)]
mod tests;

pub use plan::{Mix, MixEntry, Plan};
pub(crate) use record::write_record;

/// What writing a corpus did.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Lines written.
    pub lines: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Worker threads used.
    pub threads: usize,
    /// Wall-clock time.
    pub elapsed: Duration,
}

impl Summary {
    /// Lines per second.
    pub fn rate(&self) -> f64 {
        self.lines as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Every core (`available_parallelism`), or 1 when it is unknown.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A corpus has 1 to [`MAX_COUNT`] lines.
fn check_count(count: u64) -> Result<(), CorpusError> {
    if count == 0 || count > MAX_COUNT {
        return Err(CorpusError::Count(count));
    }
    Ok(())
}

/// Streams lines `0..count` of `plan` to `out` in `format`, sealing on `threads` workers.
///
/// Memory is bounded (about `3 · threads · CHUNK` lines in flight) whatever `count` is. An error
/// writing `out` stops the workers and is returned; `name` is how errors refer to `out`.
pub(crate) fn write(
    plan: &Plan,
    count: u64,
    format: Format,
    threads: usize,
    out: &mut dyn Write,
    name: &str,
) -> Result<Summary, CorpusError> {
    check_count(count)?;
    if threads == 0 || threads > MAX_THREADS {
        return Err(CorpusError::Threads(threads));
    }
    let started = Instant::now();
    let werr = |source: io::Error| CorpusError::Write {
        path: name.to_string(),
        error: source,
    };
    let mut bytes = 0u64;
    if format == Format::Csv {
        out.write_all(CSV_HEADER.as_bytes()).map_err(werr)?;
        out.write_all(b"\r\n").map_err(werr)?;
        bytes += CSV_HEADER.len() as u64 + 2;
    }
    let chunks = count.div_ceil(CHUNK);
    let workers = threads.min(usize::try_from(chunks).unwrap_or(usize::MAX));
    let result = std::thread::scope(|scope| -> Result<(), CorpusError> {
        let mut receivers = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(2);
            receivers.push(rx);
            scope.spawn(move || {
                let mut k = w as u64;
                while k < chunks {
                    let first = k * CHUNK;
                    let last = (first + CHUNK).min(count);
                    let mut buf = Vec::with_capacity(((last - first) as usize) * 800);
                    for id in first..last {
                        write_record(&mut buf, &plan.record(id), format);
                    }
                    if tx.send(buf).is_err() {
                        return; // the writer stopped (an output error)
                    }
                    k += workers as u64;
                }
            });
        }
        for k in 0..chunks {
            let rx = &receivers[(k % workers as u64) as usize];
            let buf = rx
                .recv()
                .map_err(|_| werr(io::Error::other("a sealing thread stopped early")))?;
            bytes += buf.len() as u64;
            out.write_all(&buf).map_err(werr)?;
        }
        Ok(())
        // Dropping the receivers on an error unblocks the workers, which then return.
    });
    result?;
    out.flush().map_err(werr)?;
    Ok(Summary {
        lines: count,
        bytes,
        threads: workers,
        elapsed: started.elapsed(),
    })
}

/// Writes a corpus to the file `path` (through `path.partial`, renamed when complete, so an
/// interrupted run never leaves a short file under the final name) or to stdout for `-`.
pub fn write_to(
    plan: &Plan,
    count: u64,
    format: Format,
    threads: usize,
    path: &Path,
) -> Result<Summary, CorpusError> {
    if path.as_os_str() == "-" {
        let stdout = io::stdout();
        let mut w = io::BufWriter::with_capacity(1 << 20, stdout.lock());
        return write(plan, count, format, threads, &mut w, "-");
    }
    let name = path.display().to_string();
    let werr = |source: io::Error| CorpusError::Write {
        path: name.clone(),
        error: source,
    };
    if path.is_dir() {
        return Err(werr(io::Error::other("is a directory")));
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial).map_err(&werr)?;
    let mut w = io::BufWriter::with_capacity(1 << 20, file);
    let summary = match write(plan, count, format, threads, &mut w, &name) {
        Ok(s) => s,
        Err(e) => {
            drop(w);
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let file = w.into_inner().map_err(|e| werr(e.into_error()))?;
    file.sync_all().map_err(&werr)?;
    std::fs::rename(&partial, path).map_err(&werr)?;
    Ok(summary)
}

/// `alipay-sim corpus` arguments (feature `server`, which carries the command line).
#[cfg(feature = "server")]
#[derive(Debug, clap::Args)]
pub struct CorpusArgs {
    /// Number of lines (envelopes) to write, 1 to 7000000000.
    #[arg(long, value_name = "N")]
    pub count: u64,
    /// Output file (written as FILE.partial, renamed when complete); `-` writes to stdout.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,
    /// Cases and their weights: NAME=WEIGHT,... where NAME is `genuine`, a catalogue id or an id
    /// prefix (e.g. genuine=90,platform.error=5,tamper=5).
    #[arg(long, value_name = "NAME=WEIGHT,...", default_value = "genuine=1")]
    pub mix: Mix,
    /// Seed of the mobiles and of the mix draw (the same seed gives the same file).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sealing threads; 0 uses every core.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// `--keys DIR` / `--scenarios DIR`, or the embedded ones.
    #[command(flatten)]
    pub sources: crate::tools::sources::Sources,
}

/// The `corpus` command: plans, writes, and reports on stdout (on stderr when the corpus itself
/// goes to stdout). Exit code 0; every error is the caller's exit code 2.
#[cfg(feature = "server")]
pub fn run(args: CorpusArgs, stdout: &mut dyn Write) -> Result<i32, CorpusError> {
    // Before the keys and the catalogue are loaded: a wrong flag fails at once.
    check_count(args.count)?;
    if args.threads > MAX_THREADS {
        return Err(CorpusError::Threads(args.threads));
    }
    let keys = args.sources.key_set().map_err(CorpusError::Keys)?;
    let catalogue = args.sources.catalogue().map_err(CorpusError::Scenarios)?;
    let plan = Plan::new(&args.mix, &catalogue, keys, args.seed)?;
    let threads = if args.threads == 0 {
        default_threads()
    } else {
        args.threads
    };
    tracing::info!(count = args.count, mix = %args.mix, threads, "writing corpus");
    let s = write_to(&plan, args.count, args.format, threads, &args.out)?;
    let line = format!(
        "wrote {} lines ({} bytes, {}) to {} in {:.2} s: {:.0} lines/s on {} threads",
        s.lines,
        s.bytes,
        match args.format {
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        },
        args.out.display(),
        s.elapsed.as_secs_f64(),
        s.rate(),
        s.threads
    );
    let report = |w: &mut dyn Write| writeln!(w, "{line}");
    let shown = if args.out.as_os_str() == "-" {
        report(&mut io::stderr())
    } else {
        report(stdout)
    };
    shown.map_err(|error| CorpusError::Write {
        path: "stdout".into(),
        error,
    })?;
    Ok(0)
}
