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
//! Signing is the whole cost (an RSA-2048 signature per genuine line), so lines are sealed on
//! every core: `T` worker threads (default: all cores) take chunks of [`CHUNK`] lines round-robin
//! (worker `w` seals chunks `w`, `w + T`, `w + 2T`, ...), and the calling thread writes the
//! chunks in order. Each worker can be at most two chunks ahead, so memory is bounded by
//! `3·T·CHUNK` lines whatever the count, and the output is ordered and reproducible.
//!
//! CSV quoting is written by hand (quote a field that holds `,`, `"`, CR or LF, double its `"`):
//! it is one small function, and the CSV reader of Python's standard library reads every
//! corpus back in `load/` and in this module's tests (through `tests/corpus.rs`).

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::crypto::SignType;
use crate::envelope::{SealOptions, seal};
use crate::error::KeyError;
use crate::keys::KeySet;
use crate::payload::Payload;
use crate::scenario::{Catalogue, Expectation, MobileSpec, Scenario, ScenarioError, build};

/// The largest corpus: the number of distinct mainland mobiles (`1`, a digit 3-9, nine digits).
pub const MAX_COUNT: u64 = crate::mobile::MAINLAND_SPACE;

/// Lines per chunk handed to a worker thread.
pub const CHUNK: u64 = 64;

/// A prefix selection leaves out cases whose body is larger than this.
pub const PREFIX_BODY_LIMIT: usize = 64 * 1024;

/// The name of the built-in standard success case.
pub const GENUINE: &str = "genuine";

/// The CSV header line (without its line ending).
pub const CSV_HEADER: &str = "id,case,outcome,mobile,code,sub_code,canary,content_type,envelope";

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
    #[error("--threads {0}: must be between 1 and 1024 (0 means every core)")]
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

/// One `NAME=WEIGHT` entry of `--mix`.
#[derive(Debug, Clone, PartialEq)]
pub struct MixEntry {
    /// `genuine`, a catalogue id or an id prefix.
    pub name: String,
    /// A positive weight.
    pub weight: f64,
}

/// The parsed `--mix` value: which cases, in which proportions.
#[derive(Debug, Clone, PartialEq)]
pub struct Mix(pub Vec<MixEntry>);

impl Default for Mix {
    fn default() -> Self {
        Mix(vec![MixEntry {
            name: GENUINE.into(),
            weight: 1.0,
        }])
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={}", e.name, e.weight)?;
        }
        Ok(())
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut entries: Vec<MixEntry> = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!(
                    "{s:?} has an empty entry; write NAME=WEIGHT,NAME=WEIGHT (e.g. genuine=90,tamper=10)"
                ));
            }
            let (name, weight) = part.split_once('=').ok_or_else(|| {
                format!("{part:?} is not NAME=WEIGHT (e.g. genuine=90 or tamper.signature=5)")
            })?;
            let name = name.trim();
            let weight: f64 = weight
                .trim()
                .parse()
                .map_err(|_| format!("{part:?}: weight {:?} is not a number", weight.trim()))?;
            if !(weight.is_finite() && weight > 0.0) {
                return Err(format!(
                    "{part:?}: weight must be a positive number, got {weight}"
                ));
            }
            if name.is_empty() {
                return Err(format!("{part:?}: the name before '=' is empty"));
            }
            if entries.iter().any(|e| e.name == name) {
                return Err(format!("{name:?} is listed twice"));
            }
            entries.push(MixEntry {
                name: name.to_string(),
                weight,
            });
        }
        Ok(Mix(entries))
    }
}

/// How a case's lines are made.
#[derive(Debug, Clone)]
enum Source {
    /// The standard success envelope with the line's mobile.
    Genuine,
    /// A catalogue case re-sealed with the line's mobile (`overseas`: the `cc-number` form).
    PerLine {
        scenario: Box<Scenario>,
        overseas: bool,
    },
    /// The same bytes on every line.
    Fixed(Box<Fixed>),
}

#[derive(Debug, Clone)]
struct Fixed {
    expect: Expectation,
    content_type: Option<String>,
    envelope: String,
}

#[derive(Debug, Clone)]
struct Planned {
    name: String,
    /// Upper bound of this case's share of `[0, 1)`.
    until: f64,
    source: Source,
}

/// A validated plan: the cases, their shares, the keys and the seed.
#[derive(Debug, Clone)]
pub struct Plan {
    cases: Vec<Planned>,
    keys: KeySet,
    seed: u64,
}

/// The merchant a corpus is for: RSA2 signatures, an AES-128 key.
fn applies_to_standard_merchant(s: &Scenario) -> bool {
    let p = s.merchant_profile();
    (p.any_signing || p.verifies == Some(SignType::Rsa2)) && p.aes_bits.is_none_or(|b| b == 128)
}

fn under_prefix(id: &str, prefix: &str) -> bool {
    id == prefix || (id.starts_with(prefix) && id.as_bytes().get(prefix.len()) == Some(&b'.'))
}

impl Plan {
    /// Resolves `mix` against `catalogue`: every name must select at least one case that applies
    /// to a standard (RSA2, AES-128) merchant.
    pub fn new(
        mix: &Mix,
        catalogue: &Catalogue,
        keys: KeySet,
        seed: u64,
    ) -> Result<Self, CorpusError> {
        if mix.0.is_empty() {
            return Err(CorpusError::Mix("no entries".into()));
        }
        // (name, weight) per selected case, in mix order; a case selected twice adds up.
        let mut selected: Vec<(String, f64, Option<Scenario>)> = Vec::new();
        for entry in &mix.0 {
            let mut picked: Vec<Scenario> = Vec::new();
            if entry.name == GENUINE {
                add(&mut selected, GENUINE, entry.weight, None);
                continue;
            }
            if let Some(s) = catalogue.get(&entry.name) {
                if !applies_to_standard_merchant(s) {
                    return Err(CorpusError::Mix(format!(
                        "{} does not apply to a merchant configured with RSA2 and AES-128 (a corpus is for that merchant)",
                        s.id
                    )));
                }
                picked.push(s.clone());
            } else {
                let under: Vec<&Scenario> = catalogue
                    .scenarios()
                    .iter()
                    .filter(|s| under_prefix(&s.id, &entry.name))
                    .collect();
                if under.is_empty() {
                    let mut prefixes: Vec<String> = catalogue
                        .scenarios()
                        .iter()
                        .filter_map(|s| {
                            let mut it = s.id.splitn(3, '.');
                            Some(format!("{}.{}", it.next()?, it.next()?))
                        })
                        .collect();
                    prefixes.dedup();
                    return Err(CorpusError::Mix(format!(
                        "{:?} is neither `genuine`, a catalogue id nor a prefix of one (prefixes: tamper, platform, {}; `alipay-sim scenarios` lists the ids)",
                        entry.name,
                        prefixes.join(", ")
                    )));
                }
                for s in under {
                    if applies_to_standard_merchant(s)
                        && build_sample(s, &keys, 0).body.len() <= PREFIX_BODY_LIMIT
                    {
                        picked.push(s.clone());
                    }
                }
                if picked.is_empty() {
                    return Err(CorpusError::Mix(format!(
                        "{:?}: no case under it applies to a merchant configured with RSA2 and AES-128",
                        entry.name
                    )));
                }
            }
            let share = entry.weight / picked.len() as f64;
            for s in picked {
                let id = s.id.clone();
                add(&mut selected, &id, share, Some(s));
            }
        }
        let total: f64 = selected.iter().map(|(_, w, _)| w).sum();
        let mut acc = 0.0;
        let mut cases = Vec::with_capacity(selected.len());
        let n = selected.len();
        for (i, (name, weight, scenario)) in selected.into_iter().enumerate() {
            acc += weight / total;
            let until = if i + 1 == n { 1.0 } else { acc };
            let source = match scenario {
                None => Source::Genuine,
                Some(s) => source_of(s, &keys),
            };
            cases.push(Planned {
                name,
                until,
                source,
            });
        }
        Ok(Self { cases, keys, seed })
    }

    /// The case names of this plan and their shares (summing to 1), in mix order.
    pub fn shares(&self) -> Vec<(String, f64)> {
        let mut prev = 0.0;
        self.cases
            .iter()
            .map(|c| {
                let s = c.until - prev;
                prev = c.until;
                (c.name.clone(), s)
            })
            .collect()
    }

    /// Builds line `id`. Deterministic in (plan, id).
    pub fn record(&self, id: u64) -> Record {
        let u = (crate::mobile::SplitMix64::nth(self.seed ^ 0x5eed_c0de_0000_0000, id) >> 11)
            as f64
            / (1u64 << 53) as f64;
        let case = self
            .cases
            .iter()
            .find(|c| u < c.until)
            .unwrap_or_else(|| self.cases.last().expect("a plan has at least one case"));
        let p = crate::mobile::permuted_index(self.seed, id);
        match &case.source {
            Source::Genuine => {
                let mobile = crate::mobile::mainland_number(p);
                let plaintext = Payload::Mobile(mobile.clone()).to_json();
                let sealed = seal(
                    &plaintext,
                    &SealOptions::standard(&self.keys.aes, &self.keys.platform.signer),
                );
                Record {
                    id,
                    case: GENUINE.into(),
                    expect: build::expectation(&Payload::Mobile(mobile)),
                    canary: None,
                    content_type: None,
                    envelope: sealed.envelope,
                }
            }
            Source::PerLine { scenario, overseas } => {
                let mobile = if *overseas {
                    overseas_number(p)
                } else {
                    crate::mobile::mainland_number(p)
                };
                let mut s = (**scenario).clone();
                s.user.mobile = MobileSpec::Literal(mobile);
                let built = s.build(&self.keys);
                Record {
                    id,
                    case: case.name.clone(),
                    expect: built.expected,
                    canary: built.canary,
                    content_type: built.content_type,
                    envelope: built.body,
                }
            }
            Source::Fixed(f) => Record {
                id,
                case: case.name.clone(),
                expect: f.expect.clone(),
                canary: None,
                content_type: f.content_type.clone(),
                envelope: f.envelope.clone(),
            },
        }
    }
}

fn add(
    selected: &mut Vec<(String, f64, Option<Scenario>)>,
    name: &str,
    w: f64,
    s: Option<Scenario>,
) {
    match selected.iter_mut().find(|(n, _, _)| n == name) {
        Some(e) => e.1 += w,
        None => selected.push((name.to_string(), w, s)),
    }
}

/// Builds `s` with a literal mobile made from `p` in the scenario's own style.
fn build_sample(s: &Scenario, keys: &KeySet, p: u64) -> build::Built {
    let mut s = s.clone();
    match numbering(&s.user.mobile) {
        Some(false) => s.user.mobile = MobileSpec::Literal(crate::mobile::mainland_number(p)),
        Some(true) => s.user.mobile = MobileSpec::Literal(overseas_number(p)),
        None => {}
    }
    s.build(keys)
}

/// Whether a case's mobile is replaced per line, and in which form: `Some(true)` overseas,
/// `Some(false)` mainland, `None` (empty or absent) not at all. A literal number in a user's own
/// catalogue is replaced too (in its form), so that every mobile of a corpus stays distinct.
fn numbering(m: &MobileSpec) -> Option<bool> {
    match m {
        MobileSpec::Mainland => Some(false),
        MobileSpec::Overseas => Some(true),
        MobileSpec::Literal(n) => Some(n.contains('-')),
        MobileSpec::Empty | MobileSpec::Absent => None,
    }
}

/// Per-line when the mobile changes the bytes, fixed otherwise.
fn source_of(s: Scenario, keys: &KeySet) -> Source {
    let a = build_sample(&s, keys, 1);
    if let Some(overseas) = numbering(&s.user.mobile)
        && a.body != build_sample(&s, keys, 2).body
    {
        return Source::PerLine {
            scenario: Box::new(s),
            overseas,
        };
    }
    // The body does not depend on the mobile, so no mobile can be read out of it: no canary.
    Source::Fixed(Box::new(Fixed {
        expect: a.expected,
        content_type: a.content_type,
        envelope: a.body,
    }))
}

/// `1-` and ten digits: a distinct overseas (NANP) number for each `p < MAX_COUNT`.
fn overseas_number(p: u64) -> String {
    format!("1-{p:010}")
}

/// Writes one record in `format` (with its line ending) to `out`.
pub fn write_record(out: &mut Vec<u8>, r: &Record, format: Format) {
    match format {
        Format::Ndjson => {
            serde_json::to_writer(&mut *out, r).expect("a record always serialises");
            out.push(b'\n');
        }
        Format::Csv => {
            let fields: [&str; 8] = [
                &r.case,
                outcome_str(&r.expect),
                r.expect.mobile.as_deref().unwrap_or(""),
                r.expect.code.as_deref().unwrap_or(""),
                r.expect.sub_code.as_deref().unwrap_or(""),
                r.canary.as_deref().unwrap_or(""),
                r.content_type.as_deref().unwrap_or(""),
                &r.envelope,
            ];
            out.extend_from_slice(r.id.to_string().as_bytes());
            for f in fields {
                out.push(b',');
                csv_field(out, f);
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

fn outcome_str(e: &Expectation) -> &'static str {
    use crate::scenario::Outcome;
    match e.outcome {
        Outcome::Accept => "accept",
        Outcome::NoMobile => "no_mobile",
        Outcome::PlatformError => "platform_error",
        Outcome::RetryLater => "retry_later",
        Outcome::Reject => "reject",
    }
}

/// RFC 4180: quote a field holding `,`, `"`, CR or LF; double each `"` inside.
fn csv_field(out: &mut Vec<u8>, f: &str) {
    if f.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.push(b'"');
        for b in f.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(f.as_bytes());
    }
}

/// What [`write()`] did.
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

/// Streams lines `0..count` of `plan` to `out` in `format`, sealing on `threads` workers.
///
/// Memory is bounded (about `3 · threads · CHUNK` lines in flight) whatever `count` is. An error
/// writing `out` stops the workers and is returned; `name` is how errors refer to `out`.
pub fn write(
    plan: &Plan,
    count: u64,
    format: Format,
    threads: usize,
    out: &mut dyn Write,
    name: &str,
) -> Result<Summary, CorpusError> {
    if count == 0 || count > MAX_COUNT {
        return Err(CorpusError::Count(count));
    }
    if threads == 0 || threads > 1024 {
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
    if count == 0 || count > MAX_COUNT {
        return Err(CorpusError::Count(count));
    }
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
    pub sources: crate::sources::Sources,
}

/// The `corpus` command: plans, writes, and reports on stdout (on stderr when the corpus itself
/// goes to stdout). Exit code 0; every error is the caller's exit code 2.
#[cfg(feature = "server")]
pub fn run(args: CorpusArgs, stdout: &mut dyn Write) -> Result<i32, CorpusError> {
    if args.count == 0 || args.count > MAX_COUNT {
        return Err(CorpusError::Count(args.count));
    }
    if args.threads > 1024 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Opened, Opener};
    use crate::scenario::Outcome;

    fn plan(mix: &str, seed: u64) -> Plan {
        Plan::new(
            &mix.parse().unwrap(),
            &Catalogue::embedded(),
            KeySet::embedded(),
            seed,
        )
        .unwrap()
    }

    #[test]
    fn permutation_is_injective_on_a_window_and_numbers_have_the_right_shape() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000 {
            assert!(seen.insert(crate::mobile::permuted_index(7, i)));
        }
        // Across the wrap-around of the last line.
        assert_ne!(
            crate::mobile::permuted_index(0, MAX_COUNT - 1),
            crate::mobile::permuted_index(0, 0)
        );
        assert_eq!(crate::mobile::mainland_number(0), "13000000000");
        assert_eq!(crate::mobile::mainland_number(MAX_COUNT - 1), "19999999999");
        assert_eq!(overseas_number(42), "1-0000000042");
    }

    #[test]
    fn mix_parsing_names_what_is_wrong() {
        assert_eq!("genuine=1".parse::<Mix>().unwrap(), Mix::default());
        for (bad, says) in [
            ("genuine", "not NAME=WEIGHT"),
            ("genuine=x", "not a number"),
            ("genuine=0", "positive"),
            ("genuine=-1", "positive"),
            ("genuine=inf", "positive"),
            ("=3", "empty"),
            ("genuine=1,,tamper=1", "empty entry"),
            ("genuine=1,genuine=2", "twice"),
        ] {
            let e = bad.parse::<Mix>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_or_inapplicable_names_are_refused() {
        let cat = Catalogue::embedded();
        let keys = KeySet::embedded();
        let e = Plan::new(&"nope=1".parse().unwrap(), &cat, keys.clone(), 0).unwrap_err();
        assert!(e.to_string().contains("\"nope\" is neither"), "{e}");
        let e = Plan::new(
            &"platform.success.aes-256=1".parse().unwrap(),
            &cat,
            keys.clone(),
            0,
        )
        .unwrap_err();
        assert!(e.to_string().contains("RSA2 and AES-128"), "{e}");
        // `tamp` is not a dotted prefix of `tamper.…`.
        assert!(Plan::new(&"tamp=1".parse().unwrap(), &cat, keys, 0).is_err());
    }

    #[test]
    fn prefixes_expand_to_applicable_cases_and_leave_out_huge_bodies() {
        let p = plan("tamper=1", 0);
        let names: Vec<String> = p.shares().into_iter().map(|(n, _)| n).collect();
        assert!(names.iter().all(|n| n.starts_with("tamper.")), "{names:?}");
        assert!(!names.iter().any(|n| n == "tamper.body.huge"), "{names:?}");
        assert!(names.iter().any(|n| n == "tamper.signature.bit-flip"));
        let total: f64 = p.shares().iter().map(|(_, s)| s).sum();
        assert!((total - 1.0).abs() < 1e-9);
        // Named by id, the huge body is allowed.
        let p = plan("tamper.body.huge=1", 0);
        assert!(p.record(0).envelope.len() > PREFIX_BODY_LIMIT);
    }

    #[test]
    fn every_kind_of_line_opens_to_its_stated_outcome() {
        let p = plan("genuine=4,platform=3,tamper=3", 3);
        let keys = KeySet::embedded();
        let opener = Opener::new(Some(keys.platform.verifier.clone()), Some(keys.aes.clone()));
        let mut outcomes = std::collections::HashSet::new();
        for id in 0..400 {
            let r = p.record(id);
            outcomes.insert(r.expect.outcome);
            let got = opener.open(&r.envelope);
            match r.expect.outcome {
                Outcome::Accept => assert_eq!(
                    got.unwrap().result,
                    Opened::Mobile(r.expect.mobile.clone().unwrap()),
                    "{}",
                    r.case
                ),
                Outcome::Reject => assert!(got.is_err(), "{} opened", r.case),
                Outcome::NoMobile => assert_eq!(got.unwrap().result, Opened::EmptyMobile),
                Outcome::PlatformError | Outcome::RetryLater => match got.unwrap().result {
                    Opened::PlatformError(e) => assert_eq!(Some(e.code), r.expect.code),
                    other => panic!("{}: {other:?}", r.case),
                },
            }
        }
        assert!(outcomes.len() >= 4, "{outcomes:?}");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        let mut out = Vec::new();
        csv_field(&mut out, "plain");
        out.push(b'|');
        csv_field(&mut out, r#"{"a":1,"b":"x"}"#);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"plain|"{""a"":1,""b"":""x""}""#
        );
    }

    #[test]
    fn the_writer_is_ordered_and_independent_of_the_thread_count() {
        let p = plan("genuine=1,platform.error=1", 1);
        let mut one = Vec::new();
        let mut three = Vec::new();
        write(&p, 300, Format::Ndjson, 1, &mut one, "one").unwrap();
        let s = write(&p, 300, Format::Ndjson, 3, &mut three, "three").unwrap();
        assert_eq!(one, three);
        assert_eq!(s.lines, 300);
        assert_eq!(s.bytes, three.len() as u64);
        for (i, line) in three
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let r: Record = serde_json::from_slice(line).unwrap();
            assert_eq!(r.id, i as u64);
        }
    }

    #[test]
    fn an_output_error_stops_the_workers_and_is_reported() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = write(
            &plan("genuine=1", 0),
            10_000,
            Format::Ndjson,
            2,
            &mut Full,
            "x.ndjson",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("x.ndjson") && e.to_string().contains("disk full"),
            "{e}"
        );
    }
}
