//! The run's ledger of identities: every mobile (and, in login runs, every `user_id`, `open_id`
//! and access token) the harness hands to the endpoint, with the case it belongs to, so that an
//! answer naming a user that its own case never sent is caught as a cross-user leak.
//!
//! # What is recorded, and for whom
//!
//! - each catalogue case's users: the mobile it expects back, the canary mobile of a forged
//!   envelope, and any mobile in the plaintext it sealed (owner: the case id);
//! - each behaviour check's users (owner: the check's id): the distinct-mobiles check's 64
//!   numbers, the error-oracle check's canary;
//! - the simulator's **test users**: the ready users of its default app `demo` ([`DEMO_USERS`]),
//!   which a merchant that was tried out against the simulator may still hold (owner: the test
//!   user's name). A merchant answering with one of them names a user that no case sent.
//!
//! Everything is recorded before the first request is sent ([`crate::runner::run_plan`] seals
//! every case first), so a merchant that remembers a user from an earlier run, or from a case
//! that has not been judged yet, is caught whatever the order the cases finish in.
//!
//! # What counts as crossed
//!
//! A value is *crossed* in an answer when some readable view of the answer (its body, its
//! headers, its reason phrase; [`Views::of_answer`]) contains it as a whole token and none of its
//! owners is the case being judged: a mobile that this case sealed too (two cases may share one),
//! or that it expects back, is never crossed. A whole token means not glued to more digits (a
//! mobile, a `user_id`) or to more letters and digits (an `open_id`, a token), so a mobile is not
//! found inside a longer number such as a millisecond timestamp. Values shorter than
//! [`MIN_IDENTITY_CHARS`] are not recorded: they would be found by chance.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use super::Views;
use aho_corasick::AhoCorasick;
use alipay_sim::Built;

/// Values shorter than this are not recorded (found by chance in unrelated text).
pub const MIN_IDENTITY_CHARS: usize = 8;

/// The ready users of the simulator's default app `demo` that have a mobile (name, mobile), as
/// `alipay-sim serve` creates them (`simulator/src/server/world.rs`, `DEMO_USERS`).
pub const DEMO_USERS: &[(&str, &str)] = &[
    ("alice", "13812345678"),
    ("bob", "1-2025550123"),
    ("dave", "13900001111"),
];

/// What kind of identity a ledger entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentityKind {
    /// A mobile number (`13812345678`, `1-2025550123`).
    Mobile,
    /// An Alipay `user_id` (`2088...`).
    UserId,
    /// An `open_id`.
    OpenId,
    /// An access token (or refresh token).
    AccessToken,
}

impl IdentityKind {
    /// True when `c`, next to a match, would make the match part of a longer token.
    fn glues(self, c: char) -> bool {
        match self {
            IdentityKind::Mobile | IdentityKind::UserId => c.is_ascii_digit(),
            IdentityKind::OpenId | IdentityKind::AccessToken => c.is_ascii_alphanumeric(),
        }
    }

    /// True when a match between `before` and `after` is part of a longer token. China's
    /// country code before a mobile (`+86`, `0086`, or `86` starting the number) is no glue.
    fn glued(self, before: &str, after: &str) -> bool {
        let country_code = || {
            before.strip_suffix("86").is_some_and(|rest| {
                rest.ends_with('+')
                    || rest.ends_with("00")
                    || !rest.chars().next_back().is_some_and(|c| c.is_ascii_digit())
            })
        };
        let glued_before = before.chars().next_back().is_some_and(|c| self.glues(c))
            && !(self == IdentityKind::Mobile && country_code());
        glued_before || after.chars().next().is_some_and(|c| self.glues(c))
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdentityKind::Mobile => "mobile",
            IdentityKind::UserId => "user_id",
            IdentityKind::OpenId => "open_id",
            IdentityKind::AccessToken => "access token",
        })
    }
}

/// Whom a recorded value belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// A case (or behaviour check) of this run, by id.
    Case(String),
    /// One of the simulator's test users, by name.
    TestUser(String),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Case(id) => write!(f, "case {id}"),
            Owner::TestUser(name) => write!(f, "the simulator's test user {name}"),
        }
    }
}

/// A value of another user found in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crossed {
    /// What kind of value.
    pub kind: IdentityKind,
    /// The value.
    pub value: String,
    /// Whom it belongs to (the first owner, cases before test users, when several share it).
    pub owner: Owner,
}

/// Every identity handed out in one run, with its owners. Shared by every case of the run
/// (through the [`crate::judge::Judge`] in the run's [`crate::context::Context`]); recording and
/// looking up are safe from any task.
#[derive(Debug, Default)]
pub struct RunLedger {
    entries: Mutex<BTreeMap<(IdentityKind, String), BTreeSet<Owner>>>,
    /// The automaton over every recorded value, built on the first look-up after a new value
    /// (every value is recorded before the first request, so a run builds it about once, not
    /// once per answer).
    index: Mutex<Option<Arc<Index>>>,
}

/// Every recorded value, in the ledger's order, and one automaton finding them all.
#[derive(Debug)]
struct Index {
    keys: Vec<(IdentityKind, String)>,
    automaton: AhoCorasick,
}

impl RunLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// A ledger holding the simulator's test users ([`DEMO_USERS`]): the one every run starts
    /// with.
    pub fn with_test_users() -> Self {
        let ledger = Self::new();
        for (name, mobile) in DEMO_USERS {
            ledger.insert(
                IdentityKind::Mobile,
                mobile,
                Owner::TestUser((*name).into()),
            );
        }
        ledger
    }

    fn insert(&self, kind: IdentityKind, value: &str, owner: Owner) -> bool {
        let value = value.trim();
        if value.chars().count() < MIN_IDENTITY_CHARS {
            return false;
        }
        // Locks in the order `index` takes them (index, then entries): a look-up building the
        // automaton meanwhile waits, then sees the new value.
        let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (kind, value.to_string());
        if !entries.contains_key(&key) {
            *index = None;
        }
        entries.entry(key).or_default().insert(owner);
        true
    }

    /// Records that `value` (of `kind`) was handed out for case `owner_case_id`. Returns false
    /// (and records nothing) for values shorter than [`MIN_IDENTITY_CHARS`].
    pub fn record(&self, kind: IdentityKind, value: &str, owner_case_id: &str) -> bool {
        self.insert(kind, value, Owner::Case(owner_case_id.to_string()))
    }

    /// Records a value of one of the simulator's test users, `name`.
    pub fn record_test_user(&self, kind: IdentityKind, value: &str, name: &str) -> bool {
        self.insert(kind, value, Owner::TestUser(name.to_string()))
    }

    /// Records the users of a sealed catalogue case (owner: its id): the mobile it expects back,
    /// its canary, and every `mobile` string in the plaintext it sealed.
    pub fn record_built(&self, case: &Built) {
        let mut mobiles: Vec<String> = case.expected.mobile.iter().cloned().collect();
        mobiles.extend(case.canary.iter().cloned());
        if let Some(v) = case
            .plaintext
            .as_deref()
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        {
            mobile_strings(&v, &mut mobiles);
        }
        for m in mobiles {
            self.record(IdentityKind::Mobile, &m, &case.id);
        }
    }

    /// How many distinct values are recorded.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values of other users (not owned by `case_id`) that `views` contain as whole
    /// tokens, in the ledger's order (by kind, then value).
    pub fn crossed_in(&self, views: &Views, case_id: &str) -> Vec<Crossed> {
        let Some(index) = self.index() else {
            return Vec::new();
        };
        let mut found = BTreeSet::new();
        for text in views.readable() {
            for m in index.automaton.find_overlapping_iter(text) {
                let i = m.pattern().as_usize();
                let kind = index.keys[i].0;
                if !kind.glued(&text[..m.start()], &text[m.end()..]) {
                    found.insert(i);
                }
            }
        }
        if found.is_empty() {
            return Vec::new();
        }
        let own = Owner::Case(case_id.to_string());
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        found
            .into_iter()
            .filter_map(|i| {
                let key = &index.keys[i];
                let owners = entries.get(key)?;
                if owners.contains(&own) {
                    return None;
                }
                Some(Crossed {
                    kind: key.0,
                    value: key.1.clone(),
                    owner: owners.iter().next()?.clone(),
                })
            })
            .collect()
    }

    /// The automaton over every recorded value (built now when a value was added since the last
    /// look-up); `None` when nothing is recorded or it cannot be built.
    fn index(&self) -> Option<Arc<Index>> {
        let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        if index.is_none() {
            let keys: Vec<(IdentityKind, String)> = self
                .entries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .keys()
                .cloned()
                .collect();
            if keys.is_empty() {
                return None;
            }
            let automaton = AhoCorasick::new(keys.iter().map(|(_, v)| v.as_str())).ok()?;
            *index = Some(Arc::new(Index { keys, automaton }));
        }
        index.clone()
    }
}

/// Every string value of a `mobile` member anywhere in `v`.
fn mobile_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                match x {
                    serde_json::Value::String(s) if k == "mobile" => out.push(s.clone()),
                    _ => mobile_strings(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| mobile_strings(x, out)),
        _ => {}
    }
}
