//! The simulator's world: apps (console configuration and keys) and their users, with the
//! cached sealed answer of each user's current state. Plain data: no lock, no HTTP.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::answer::Answer;
use super::mobiles::MobileGenerator;
use crate::model::platform::{Console, Encryption, Mobile, Signing};
use crate::protocol::crypto::AesSize;
use crate::protocol::keys::KeySet;
use crate::protocol::payload::EmptyMobileForm;

/// A lookup in the world that found nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WorldError {
    /// No app with this id.
    #[error("no app {0:?}")]
    UnknownApp(String),
    /// The app has no user with this id.
    #[error("app {app:?} has no user {user:?}")]
    UnknownUser {
        /// The app id.
        app: String,
        /// The user id.
        user: String,
    },
}

/// Where an app's keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KeysMode {
    /// The server's key set: the embedded TEST keys, or the `--keys` directory.
    #[default]
    Embedded,
    /// A fresh set generated when the app was created (two RSA-2048 key generations and a TEST
    /// certificate set).
    Generated,
}

/// A user's mobile as configured through the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MobileSetting {
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
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            MobileSetting::Number(m) => m.as_str().into(),
            MobileSetting::EmptyString => "".into(),
            MobileSetting::Absent => serde_json::Value::Null,
            MobileSetting::Fresh => "fresh".into(),
        }
    }

    /// The platform model's mobile, drawing from `gen` for [`MobileSetting::Fresh`].
    pub(crate) fn resolve(&self, generator: &MobileGenerator) -> Mobile {
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
pub(crate) struct UserRecord {
    /// Consented to the `phoneNumber` scope on the authorisation button.
    pub(crate) authorised: bool,
    /// The bound mobile.
    pub(crate) mobile: MobileSetting,
    /// The sealed answer for the current state, once computed.
    pub(crate) cached: Option<Arc<Answer>>,
}

impl UserRecord {
    /// The admin API's JSON form.
    pub(crate) fn to_json(&self, user_id: &str) -> serde_json::Value {
        serde_json::json!({
            "user_id": user_id,
            "authorised": self.authorised,
            "mobile": self.mobile.to_json(),
        })
    }
}

/// One mini-program.
#[derive(Debug, Clone)]
pub(crate) struct App {
    /// Display name.
    pub(crate) name: String,
    /// Console configuration.
    pub(crate) console: Console,
    /// Where the keys come from.
    pub(crate) keys_mode: KeysMode,
    /// The platform keys this app's envelopes are sealed with.
    pub(crate) keys: Arc<KeySet>,
    /// Users by id.
    pub(crate) users: BTreeMap<String, UserRecord>,
    /// Bumped on every change to the app or its users; guards cache writes.
    pub(crate) version: u64,
    /// Sealed answers of forced catalogue scenarios, by scenario id.
    pub(crate) scenario_cache: HashMap<String, Arc<Answer>>,
}

impl App {
    /// A new app with no users.
    pub(crate) fn new(
        name: String,
        console: Console,
        keys_mode: KeysMode,
        keys: Arc<KeySet>,
    ) -> Self {
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
    pub(crate) fn touch(&mut self) {
        self.version += 1;
        self.scenario_cache.clear();
        for u in self.users.values_mut() {
            u.cached = None;
        }
    }

    /// The admin API's JSON form (accepted back by `PUT`).
    pub(crate) fn to_json(&self, app_id: &str) -> serde_json::Value {
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
    pub(crate) fn bundle(&self, app_id: &str) -> serde_json::Value {
        let mut b = serde_json::to_value(self.keys.merchant_bundle()).unwrap_or_default();
        // An unusable key ("invalid") is still a 128-bit key in the console.
        let size = match self.console.encryption {
            Encryption::Invalid => Some(AesSize::Aes128),
            other => other.size(),
        };
        if let Some(obj) = b.as_object_mut() {
            obj.insert("app_id".into(), app_id.into());
            obj.insert(
                "aes_key".into(),
                size.map(|s| self.keys.aes.of_size(s).to_base64()).into(),
            );
            obj.insert("encrypt_type".into(), size.map(|_| "AES").into());
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

/// All apps.
#[derive(Debug, Clone, Default)]
pub(crate) struct World {
    /// Apps by id.
    pub(crate) apps: BTreeMap<String, App>,
}

/// The ready users of the default app `demo`, one per platform outcome.
pub(crate) const DEMO_USERS: [(&str, bool, &str); 5] = [
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
    /// The app `id`.
    pub(crate) fn app(&self, id: &str) -> Result<&App, WorldError> {
        self.apps
            .get(id)
            .ok_or_else(|| WorldError::UnknownApp(id.to_string()))
    }

    /// The app `id`, for changing.
    pub(crate) fn app_mut(&mut self, id: &str) -> Result<&mut App, WorldError> {
        self.apps
            .get_mut(id)
            .ok_or_else(|| WorldError::UnknownApp(id.to_string()))
    }

    /// The user `user_id` of the app `app_id`.
    pub(crate) fn user(&self, app_id: &str, user_id: &str) -> Result<&UserRecord, WorldError> {
        self.app(app_id)?
            .users
            .get(user_id)
            .ok_or_else(|| WorldError::UnknownUser {
                app: app_id.to_string(),
                user: user_id.to_string(),
            })
    }

    /// The zero-configuration world: app `demo` (fully configured) with users alice (mainland
    /// mobile), bob (overseas), carol (empty mobile), dave (not authorised), erin (fresh mobile
    /// per call); apps `cert` (certificate mode), `no-encryption`, `no-product` and `unsigned`,
    /// each with user alice.
    pub(crate) fn default_with(keys: &Arc<KeySet>) -> Self {
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
