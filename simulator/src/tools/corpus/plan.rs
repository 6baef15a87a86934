//! `--mix` and the plan: which case each corpus line is built from, and with which mobile.

use super::*;
use crate::protocol::crypto::AesSize;

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
    /// A catalogue case re-sealed with the line's mobile (in the case's own form).
    PerLine(Box<Scenario>),
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

/// The merchant a corpus is for: RSA2 signatures (key mode, not certificate mode), an AES-128
/// key.
fn applies_to_standard_merchant(s: &Scenario) -> bool {
    s.merchant_profile()
        .mismatch(Signing::Rsa2, AesSize::Aes128)
        .is_none()
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
                        && build_numbered(s, &keys, 0).body.len() <= PREFIX_BODY_LIMIT
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
        let u = (crate::model::mobile::SplitMix64::nth(self.seed ^ 0x5eed_c0de_0000_0000, id) >> 11)
            as f64
            / (1u64 << 53) as f64;
        let case = self
            .cases
            .iter()
            .find(|c| u < c.until)
            .unwrap_or_else(|| self.cases.last().expect("a plan has at least one case"));
        let p = crate::model::mobile::permuted_index(self.seed, id);
        match &case.source {
            Source::Genuine => {
                let mobile = crate::model::mobile::mainland_number(p);
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
            Source::PerLine(scenario) => {
                let built = build_numbered(scenario, &self.keys, p);
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
fn build_numbered(s: &Scenario, keys: &KeySet, p: u64) -> build::Built {
    let mut s = s.clone();
    match numbering(&s.user.mobile) {
        Some(false) => {
            s.user.mobile = MobileSpec::Literal(crate::model::mobile::mainland_number(p))
        }
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
    let a = build_numbered(&s, keys, 1);
    if numbering(&s.user.mobile).is_some() && a.body != build_numbered(&s, keys, 2).body {
        return Source::PerLine(Box::new(s));
    }
    // The body does not depend on the mobile, so no mobile can be read out of it: no canary.
    Source::Fixed(Box::new(Fixed {
        expect: a.expected,
        content_type: a.content_type,
        envelope: a.body,
    }))
}

/// `1-` and ten digits: a distinct overseas (NANP) number for each `p < MAX_COUNT`.
pub(super) fn overseas_number(p: u64) -> String {
    format!("1-{p:010}")
}
