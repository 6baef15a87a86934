//! The state every handler shares: the world, the fault settings, the journal, the mobile
//! generator and the cache of stateless scenario answers.
//!
//! Everything lives in memory. The world is behind one lock that this module never hands out:
//! callers pass a closure to [`AppState::view`] or [`AppState::update`], which cannot hold the
//! lock across an `.await` or while signing. A sealed answer for an unchanged app and user is
//! deterministic (AES-CBC with a zero IV, PKCS#1 v1.5 signatures), so it is cached on the user and
//! dropped whenever the app or the user changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::answer::Answer;
use super::faults::Faults;
use super::journal::Journal;
use super::mobiles::{DEFAULT_SEED, MobileGenerator};
use super::world::World;
use crate::model::login::LoginStore;
use crate::model::scenario::Catalogue;
use crate::protocol::keys::KeySet;

/// Everything the handlers share.
#[derive(Debug)]
struct Shared {
    catalogue: Catalogue,
    /// The server's key set ("embedded" apps use it).
    keys: Arc<KeySet>,
    world: RwLock<World>,
    mobiles: MobileGenerator,
    faults: RwLock<Arc<Faults>>,
    journal: Journal,
    /// Sealed answers of the stateless scenario route, by scenario id.
    scenario_cache: RwLock<HashMap<String, Arc<Answer>>>,
    /// The seed reset returns to.
    default_seed: u64,
    /// Issued auth codes and tokens.
    login: Mutex<LoginStore>,
    /// Milliseconds added to the system clock (`POST /__admin/clock`), for expiry tests.
    clock_offset_ms: AtomicU64,
}

/// The simulator's state, handed to every handler: cheap to clone (one shared allocation).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// A fresh default state over a key set and a catalogue, with the default seed.
    pub fn new(keys: KeySet, catalogue: Catalogue) -> Self {
        Self::with_seed(keys, catalogue, DEFAULT_SEED)
    }

    /// A fresh default state whose generated mobiles follow `seed`.
    pub fn with_seed(keys: KeySet, catalogue: Catalogue, seed: u64) -> Self {
        let keys = Arc::new(keys);
        Self(Arc::new(Shared {
            catalogue,
            world: RwLock::new(World::default_with(&keys)),
            keys,
            mobiles: MobileGenerator::new(seed),
            faults: RwLock::new(Arc::new(Faults::default())),
            journal: Journal::default(),
            scenario_cache: RwLock::new(HashMap::new()),
            default_seed: seed,
            login: Mutex::new(LoginStore::default()),
            clock_offset_ms: AtomicU64::new(0),
        }))
    }

    /// The zero-configuration state: embedded TEST keys and catalogue.
    pub fn embedded() -> Self {
        Self::new(KeySet::embedded(), Catalogue::embedded())
    }

    /// The catalogue.
    pub(crate) fn catalogue(&self) -> &Catalogue {
        &self.0.catalogue
    }

    /// The server's key set.
    pub(crate) fn keys(&self) -> &Arc<KeySet> {
        &self.0.keys
    }

    /// The generated-mobile sequence.
    pub(crate) fn mobiles(&self) -> &MobileGenerator {
        &self.0.mobiles
    }

    /// The journal of JSAPI calls.
    pub(crate) fn journal(&self) -> &Journal {
        &self.0.journal
    }

    /// The seed reset returns to.
    pub(crate) fn default_seed(&self) -> u64 {
        self.0.default_seed
    }

    /// On a background thread, makes one throw-away RSA2 signature: the signing backend's first
    /// use costs tens of milliseconds (entropy seeding), which the first answer should not pay.
    pub(crate) fn warm_up(&self) {
        let keys = Arc::clone(&self.0.keys);
        std::thread::spawn(move || {
            let _ = keys.platform.signer.sign(
                crate::protocol::crypto::SignType::Rsa2,
                b"alipay-sim warm-up",
            );
        });
    }

    /// The simulator's clock: the system time plus the offset set through `/__admin/clock`, in
    /// milliseconds since the epoch. Every expiry is decided against it.
    pub(crate) fn now_ms(&self) -> u64 {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        system.saturating_add(self.0.clock_offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward by `ms` (never backwards); returns the total offset.
    pub(crate) fn advance_clock(&self, ms: u64) -> u64 {
        let prev = self
            .0
            .clock_offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_add(ms))
            })
            .unwrap_or(0);
        prev.saturating_add(ms)
    }

    /// The clock offset in milliseconds.
    pub(crate) fn clock_offset_ms(&self) -> u64 {
        self.0.clock_offset_ms.load(Ordering::Relaxed)
    }

    /// Works on the store of codes and tokens (never held across an `.await`).
    pub(crate) fn login<R>(&self, f: impl FnOnce(&mut LoginStore) -> R) -> R {
        f(&mut self.0.login.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reads the world. A poisoned lock is recovered: every update leaves the world consistent.
    pub(crate) fn view<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.0.world.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Changes the world.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.0.world.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// The current fault settings.
    pub(crate) fn faults(&self) -> Arc<Faults> {
        self.0
            .faults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the fault settings.
    pub(crate) fn set_faults(&self, f: Faults) {
        *self.0.faults.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(f);
    }

    /// The cached answer of the stateless scenario route for `id`.
    pub(crate) fn cached_scenario(&self, id: &str) -> Option<Arc<Answer>> {
        self.0
            .scenario_cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Caches the answer of the stateless scenario route for `id`.
    pub(crate) fn cache_scenario(&self, id: &str, answer: Arc<Answer>) {
        self.0
            .scenario_cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), answer);
    }

    /// Back to the default state: default apps and users, no faults, empty journal, no codes or
    /// tokens, the system clock, the start-up seed.
    pub(crate) fn reset(&self) {
        let fresh = World::default_with(&self.0.keys);
        self.update(|w| *w = fresh);
        self.set_faults(Faults::default());
        self.0.journal.clear();
        self.login(|l| l.clear());
        self.0.clock_offset_ms.store(0, Ordering::Relaxed);
        self.0.mobiles.reseed(self.0.default_seed);
        self.0
            .scenario_cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
