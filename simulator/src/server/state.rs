//! The simulator's world: apps (console configuration and keys), their users, the seeded mobile
//! generator, and the cache of sealed answers.
//!
//! Everything lives in memory behind one [`RwLock`]; no lock is held while signing. A sealed
//! answer for an unchanged app and user is deterministic (AES-CBC with a zero IV, PKCS#1 v1.5
//! signatures), so it is cached on the user and dropped whenever the app or the user changes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use axum::body::Bytes;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::faults::Faults;
use super::journal::Journal;
use crate::envelope::Sealed;
use crate::keys::KeySet;
use crate::payload::EmptyMobileForm;
use crate::platform::{Console, Encryption, Mobile, Signing};
use crate::scenario::{Catalogue, Expectation};

/// Where an app's keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeysMode {
    /// The server's key set: the embedded TEST keys, or the `--keys` directory.
    #[default]
    Embedded,
    /// A fresh set generated when the app was created (two RSA-2048 key generations).
    Generated,
}

/// A user's mobile as configured through the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MobileSetting {
    /// This number.
    Number(String),
    /// `"mobile":""` in the plaintext.
    EmptyString,
    /// No `mobile` key in the plaintext.
    Absent,
    /// A new generated mainland number on every call.
    Fresh,
}

impl MobileSetting {
    /// The admin API's JSON form: the number, `""`, `null` or `"fresh"`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            MobileSetting::Number(m) => m.as_str().into(),
            MobileSetting::EmptyString => "".into(),
            MobileSetting::Absent => serde_json::Value::Null,
            MobileSetting::Fresh => "fresh".into(),
        }
    }

    /// The platform model's mobile, drawing from `gen` for [`MobileSetting::Fresh`].
    pub fn resolve(&self, generator: &MobileGenerator) -> Mobile {
        match self {
            MobileSetting::Number(m) => Mobile::Number(m.clone()),
            MobileSetting::EmptyString => Mobile::Empty(EmptyMobileForm::EmptyString),
            MobileSetting::Absent => Mobile::Empty(EmptyMobileForm::Absent),
            MobileSetting::Fresh => Mobile::Number(generator.draw()),
        }
    }
}

/// One user of an app.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Consented to the `phoneNumber` scope on the authorisation button.
    pub authorised: bool,
    /// The bound mobile.
    pub mobile: MobileSetting,
    /// The sealed answer for the current state, once computed.
    pub cached: Option<Arc<Answer>>,
}

impl UserRecord {
    /// The admin API's JSON form.
    pub fn to_json(&self, user_id: &str) -> serde_json::Value {
        serde_json::json!({
            "user_id": user_id,
            "authorised": self.authorised,
            "mobile": self.mobile.to_json(),
        })
    }
}

/// One mini-program.
#[derive(Debug, Clone)]
pub struct App {
    /// Display name.
    pub name: String,
    /// Console configuration.
    pub console: Console,
    /// Where the keys come from.
    pub keys_mode: KeysMode,
    /// The platform keys this app's envelopes are sealed with.
    pub keys: Arc<KeySet>,
    /// Users by id.
    pub users: BTreeMap<String, UserRecord>,
    /// Bumped on every change to the app or its users; guards cache writes.
    pub version: u64,
    /// Sealed answers of forced catalogue scenarios, by scenario id.
    pub scenario_cache: HashMap<String, Arc<Answer>>,
}

impl App {
    /// A new app with no users.
    pub fn new(name: String, console: Console, keys_mode: KeysMode, keys: Arc<KeySet>) -> Self {
        Self {
            name,
            console,
            keys_mode,
            keys,
            users: BTreeMap::new(),
            version: 0,
            scenario_cache: HashMap::new(),
        }
    }

    /// Records a change: bumps the version and drops every cached answer.
    pub fn touch(&mut self) {
        self.version += 1;
        self.scenario_cache.clear();
        for u in self.users.values_mut() {
            u.cached = None;
        }
    }

    /// The admin API's JSON form (accepted back by `PUT`).
    pub fn to_json(&self, app_id: &str) -> serde_json::Value {
        serde_json::json!({
            "app_id": app_id,
            "name": self.name,
            "console": self.console,
            "keys": self.keys_mode,
        })
    }

    /// What the merchant backend of this app is configured with: the Alipay public key, the
    /// AES key of the configured size (null without content encryption) and the sign type (null
    /// when answers are unsigned: no signing method or no gateway). Never the private key.
    pub fn bundle(&self, app_id: &str) -> serde_json::Value {
        let mut b = serde_json::to_value(self.keys.merchant_bundle()).unwrap_or_default();
        let bits = match self.console.encryption {
            Encryption::None => None,
            Encryption::Aes128 | Encryption::Invalid => Some(128),
            Encryption::Aes192 => Some(192),
            Encryption::Aes256 => Some(256),
        };
        if let Some(obj) = b.as_object_mut() {
            obj.insert("app_id".into(), app_id.into());
            obj.insert(
                "aes_key".into(),
                bits.map(|b| crate::platform::aes_key_for(&self.keys, b).to_base64())
                    .into(),
            );
            obj.insert("encrypt_type".into(), bits.map(|_| "AES").into());
            obj.insert(
                "sign_type".into(),
                match self.console.signing {
                    // Without a gateway nothing is signed (see `platform::decide`).
                    _ if !self.console.gateway => serde_json::Value::Null,
                    Signing::None => serde_json::Value::Null,
                    Signing::Rsa2 | Signing::Cert => "RSA2".into(),
                    Signing::Rsa => "RSA".into(),
                },
            );
        }
        b
    }
}

/// The callback a JSAPI answer goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Callback {
    /// `success` of `my.getPhoneNumber` / `my.getSetting`.
    Success,
    /// `fail` of `my.getPhoneNumber`.
    Fail,
    /// The button's `onGetAuthorize` (consent).
    OnGetAuthorize,
    /// The button's `onError` (refusal).
    OnError,
    /// The connection was dropped without an answer (fault injection).
    Dropped,
}

impl Callback {
    /// The name used in the `X-Alipay-Sim-Callback` header and the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Callback::Success => "success",
            Callback::Fail => "fail",
            Callback::OnGetAuthorize => "onGetAuthorize",
            Callback::OnError => "onError",
            Callback::Dropped => "dropped",
        }
    }
}

/// A ready-to-send `my.getPhoneNumber` answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The exact JSON body.
    pub body: Bytes,
    /// Which callback it goes to.
    pub callback: Callback,
    /// What a correct merchant concludes from it (success answers only).
    pub expected: Option<Expectation>,
}

impl Answer {
    /// The success-callback object `{"response":<envelope>}` for an envelope text: a JSON string
    /// holding it, or, for the object shape, the object itself (byte-exact).
    pub fn success(envelope: &str, response_is_object: bool, expected: Expectation) -> Self {
        let object =
            response_is_object && serde_json::from_str::<serde::de::IgnoredAny>(envelope).is_ok();
        let token = if object {
            envelope.to_string()
        } else {
            serde_json::Value::String(envelope.to_string()).to_string()
        };
        let mut body = String::with_capacity(token.len() + 14);
        body.push_str("{\"response\":");
        body.push_str(&token);
        body.push('}');
        Self {
            body: Bytes::from(body),
            callback: Callback::Success,
            expected: Some(expected),
        }
    }

    /// The success answer of a sealed platform decision.
    pub fn sealed(sealed: &Sealed, expected: Expectation) -> Self {
        Self::success(&sealed.envelope, sealed.response_is_object, expected)
    }
}

/// Generated mainland mobiles, reproducible from a seed.
///
/// The n-th number is an affine bijection of `n` over the 7 x 10^9 numbers `1[3-9]xxxxxxxxx`, with
/// a multiplier and offset derived from the seed: the same seed gives the same sequence, and no
/// number repeats within the first 7 x 10^9 draws.
#[derive(Debug)]
pub struct MobileGenerator {
    inner: Mutex<(u64, u64)>,
}

const SPACE: u64 = 7_000_000_000;

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The `n`-th generated mobile for `seed`.
pub fn generated_mobile(seed: u64, n: u64) -> String {
    let offset = splitmix(seed) % SPACE;
    // A multiplier coprime with 7 x 10^9 = 2^9 x 5^9 x 7 makes the map a bijection.
    let mut mul = splitmix(seed ^ 0x0005_eed0_fa11_9a7e) % SPACE;
    while mul.is_multiple_of(2) || mul.is_multiple_of(5) || mul.is_multiple_of(7) {
        mul = (mul + 1) % SPACE;
    }
    let x = (n % SPACE + offset) % SPACE;
    let idx = ((u128::from(mul) * u128::from(x)) % u128::from(SPACE)) as u64;
    format!("1{}{:09}", 3 + idx / 1_000_000_000, idx % 1_000_000_000)
}

impl MobileGenerator {
    /// A generator at the start of `seed`'s sequence.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: Mutex::new((seed, 0)),
        }
    }

    /// The next number.
    pub fn draw(&self) -> String {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let n = g.1;
        g.1 += 1;
        generated_mobile(g.0, n)
    }

    /// Restarts the sequence of `seed`.
    pub fn reseed(&self, seed: u64) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = (seed, 0);
    }

    /// The seed and the number of draws so far.
    pub fn status(&self) -> (u64, u64) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The default seed of generated mobiles.
pub const DEFAULT_SEED: u64 = 0;

/// All apps.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// Apps by id.
    pub apps: BTreeMap<String, App>,
}

/// The ready users of the default app `demo`, one per platform outcome.
pub const DEMO_USERS: [(&str, bool, &str); 5] = [
    ("alice", true, "13812345678"),
    ("bob", true, "1-2025550123"),
    ("carol", true, ""),
    ("dave", false, "13900001111"),
    ("erin", true, "fresh"),
];

fn parse_setting(s: &str) -> MobileSetting {
    match s {
        "" => MobileSetting::EmptyString,
        "fresh" => MobileSetting::Fresh,
        m => MobileSetting::Number(m.to_string()),
    }
}

impl World {
    /// The app `id`, or the 404 error naming it.
    pub fn app(&self, id: &str) -> Result<&App, ApiError> {
        self.apps.get(id).ok_or_else(|| ApiError::unknown_app(id))
    }

    /// The app `id` for changing, or the 404 error naming it.
    pub fn app_mut(&mut self, id: &str) -> Result<&mut App, ApiError> {
        self.apps
            .get_mut(id)
            .ok_or_else(|| ApiError::unknown_app(id))
    }

    /// The zero-configuration world: app `demo` (fully configured) with users alice (mainland
    /// mobile), bob (overseas), carol (empty mobile), dave (not authorised), erin (fresh mobile
    /// per call); apps `cert` (certificate mode), `no-encryption`, `no-product` and `unsigned`,
    /// each with user alice.
    pub fn default_with(keys: &Arc<KeySet>) -> Self {
        let mut apps = BTreeMap::new();
        let mut demo = App::new(
            "Demo mini-program (fully configured)".into(),
            Console::default(),
            KeysMode::Embedded,
            keys.clone(),
        );
        for (id, authorised, mobile) in DEMO_USERS {
            demo.users.insert(
                id.into(),
                UserRecord {
                    authorised,
                    mobile: parse_setting(mobile),
                    cached: None,
                },
            );
        }
        apps.insert("demo".to_string(), demo);
        for (id, name, console) in [
            (
                "cert",
                "Certificate mode (公钥证书): verify with alipayCertPublicKey_RSA2.crt",
                Console {
                    signing: Signing::Cert,
                    ..Console::default()
                },
            ),
            (
                "no-encryption",
                "Content encryption not set up (40001)",
                Console {
                    encryption: Encryption::None,
                    ..Console::default()
                },
            ),
            (
                "no-product",
                "Phone-number product not bound (40006)",
                Console {
                    product_bound: false,
                    ..Console::default()
                },
            ),
            (
                "unsigned",
                "No signing method set up (no sign field)",
                Console {
                    signing: Signing::None,
                    ..Console::default()
                },
            ),
        ] {
            let mut app = App::new(name.into(), console, KeysMode::Embedded, keys.clone());
            app.users.insert(
                "alice".into(),
                UserRecord {
                    authorised: true,
                    mobile: MobileSetting::Number("13812345678".into()),
                    cached: None,
                },
            );
            apps.insert(id.to_string(), app);
        }
        Self { apps }
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Shared {
    /// The scenario catalogue.
    pub catalogue: Catalogue,
    /// The server's key set ("embedded" apps use it).
    pub keys: Arc<KeySet>,
    /// Apps and users.
    pub world: RwLock<World>,
    /// Generated mobiles.
    pub mobiles: MobileGenerator,
    /// Fault injection settings.
    pub faults: RwLock<Arc<Faults>>,
    /// The bounded journal of JSAPI calls.
    pub journal: Journal,
    /// Sealed answers of the stateless scenario route, by scenario id.
    pub scenario_cache: RwLock<HashMap<String, Arc<Answer>>>,
    /// The seed reset returns to.
    pub default_seed: u64,
}

/// The state handed to every handler: cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

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
        }))
    }

    /// The catalogue.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// On a background thread, makes one throw-away RSA2 signature: the signing backend's first
    /// use costs tens of milliseconds (entropy seeding), which the first answer should not pay.
    pub fn warm_up(&self) {
        let keys = Arc::clone(&self.keys);
        std::thread::spawn(move || {
            let _ = keys
                .platform
                .signer
                .sign(crate::crypto::SignType::Rsa2, b"alipay-sim warm-up");
        });
    }

    /// The zero-configuration state: embedded TEST keys and catalogue.
    pub fn embedded() -> Self {
        Self::new(KeySet::embedded(), Catalogue::embedded())
    }

    /// Reads the world (a poisoned lock is recovered: every write leaves it consistent).
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, World> {
        self.world.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the world.
    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, World> {
        self.world.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The current fault settings.
    pub fn current_faults(&self) -> Arc<Faults> {
        self.faults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, f: Faults) {
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(f);
    }

    /// Back to the default state: default apps and users, no faults, empty journal, the
    /// start-up seed.
    pub fn reset(&self) {
        *self.write() = World::default_with(&self.keys);
        self.set_faults(Faults::default());
        self.journal.clear();
        self.mobiles.reseed(self.default_seed);
        self.scenario_cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_mobiles_are_mainland_reproducible_and_distinct() {
        let a: Vec<String> = (0..2000).map(|n| generated_mobile(7, n)).collect();
        let b: Vec<String> = (0..2000).map(|n| generated_mobile(7, n)).collect();
        assert_eq!(a, b);
        assert_ne!(a[0], generated_mobile(8, 0));
        let set: std::collections::HashSet<_> = a.iter().collect();
        assert_eq!(set.len(), a.len());
        for m in &a {
            assert_eq!(m.len(), 11, "{m}");
            assert!(
                m.starts_with('1') && (b'3'..=b'9').contains(&m.as_bytes()[1]),
                "{m}"
            );
            assert!(m.bytes().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn the_generator_restarts_on_reseed() {
        let g = MobileGenerator::new(3);
        let first = g.draw();
        assert_ne!(first, g.draw());
        g.reseed(3);
        assert_eq!(first, g.draw());
        assert_eq!(g.status(), (3, 1));
    }
}
