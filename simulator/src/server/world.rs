//! The simulator's world: apps (console configuration and keys) and their users, with the
//! cached sealed answer of each user's current state. Plain data: no lock, no HTTP.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::answer::Answer;
use super::mobiles::MobileGenerator;
use crate::model::login::{LoginSettings, derived_open_id, derived_user_id};
use crate::model::platform::{Console, Encryption, Mobile, Signing};
use crate::protocol::crypto::AesSize;
use crate::protocol::crypto::{KeyPair, Verifier};
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

/// A user's step counts (`my.getRunData`) as configured through the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum StepsSetting {
    /// A count drawn from the app, the user and the day (0 to 30 000, stable). The default.
    #[default]
    Generated,
    /// This count on every day.
    Count(u32),
}

impl StepsSetting {
    /// The admin API's JSON form: the count or `"generated"`.
    pub(crate) fn to_json(self) -> serde_json::Value {
        match self {
            StepsSetting::Generated => "generated".into(),
            StepsSetting::Count(n) => n.into(),
        }
    }

    /// The count of `count_date` for this user.
    pub(crate) fn count(self, app_id: &str, user_id: &str, count_date: &str) -> u32 {
        match self {
            StepsSetting::Generated => {
                crate::model::run_data::generated_steps(&format!("{app_id}/{user_id}"), count_date)
            }
            StepsSetting::Count(n) => n,
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
    /// The Alipay `user_id` (`2088` + 12 digits).
    pub(crate) alipay_user_id: String,
    /// The user's `open_id` in this app.
    pub(crate) open_id: String,
    /// The profile's `nick_name` (`alipay.user.info.share`).
    pub(crate) nick_name: String,
    /// The step counts `my.getRunData` answers.
    pub(crate) steps: StepsSetting,
}

impl UserRecord {
    /// A user with the identities derived from the app and the user id.
    pub(crate) fn new(
        app_id: &str,
        user_id: &str,
        authorised: bool,
        mobile: MobileSetting,
    ) -> Self {
        Self {
            authorised,
            mobile,
            cached: None,
            alipay_user_id: derived_user_id(user_id),
            open_id: derived_open_id(app_id, user_id),
            nick_name: user_id.to_string(),
            steps: StepsSetting::Generated,
        }
    }

    /// The admin API's JSON form.
    pub(crate) fn to_json(&self, user_id: &str) -> serde_json::Value {
        serde_json::json!({
            "user_id": user_id,
            "authorised": self.authorised,
            "mobile": self.mobile.to_json(),
            "alipay_user_id": self.alipay_user_id,
            "open_id": self.open_id,
            "nick_name": self.nick_name,
            "steps": self.steps.to_json(),
        })
    }
}

/// The Alipay certificate the gateway signs with after a rotation (certificate mode).
#[derive(Debug, Clone)]
pub(crate) struct RotatedCert {
    /// The key the new certificate holds; it signs gateway answers.
    pub(crate) key: KeyPair,
    /// `alipayCertPublicKey_RSA2.crt` text of the new certificate (leaf, then intermediate).
    pub(crate) pem: String,
    /// Its SN (`alipay_cert_sn`).
    pub(crate) sn: String,
    /// The root bundle the new certificate chains to (TEST ONLY, generated).
    pub(crate) root_pem: String,
}

/// The app's own public key as registered with the gateway, when set through the admin API.
#[derive(Debug, Clone)]
pub(crate) enum AppKeySetting {
    /// The key set's app key (key mode) or app certificate (certificate mode).
    FromKeys,
    /// A public key given through the admin API (key mode).
    PublicKey(Verifier),
    /// An app certificate given through the admin API (certificate mode): its key and SN.
    Cert {
        /// The certificate's public key.
        key: Verifier,
        /// Its SN (`app_cert_sn`).
        sn: String,
        /// The PEM text as given.
        pem: String,
    },
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
    /// Login settings: identities returned, lifetimes, scopes.
    pub(crate) login: LoginSettings,
    /// The app's public key or certificate registered with the gateway.
    pub(crate) app_key: AppKeySetting,
    /// Certificate mode: the Alipay certificates after rotations, newest last.
    pub(crate) rotations: Vec<Arc<RotatedCert>>,
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
            login: LoginSettings::default(),
            app_key: AppKeySetting::FromKeys,
            rotations: Vec::new(),
        }
    }

    /// Whether the gateway speaks certificate mode for this app (console signing `cert`).
    pub(crate) fn cert_mode(&self) -> bool {
        self.console.signing == Signing::Cert
    }

    /// The key that verifies the app's requests, and in certificate mode the `app_cert_sn` the
    /// request must carry.
    pub(crate) fn app_verifier(&self) -> Option<(Verifier, Option<String>)> {
        match &self.app_key {
            AppKeySetting::PublicKey(v) => Some((v.clone(), None)),
            AppKeySetting::Cert { key, sn, .. } => Some((key.clone(), Some(sn.clone()))),
            AppKeySetting::FromKeys if self.cert_mode() => {
                let c = self.keys.cert()?;
                Some((
                    Verifier::new(c.set.app_public_key.clone()),
                    Some(c.set.sn.app_cert_sn.clone()),
                ))
            }
            AppKeySetting::FromKeys => Some((self.keys.app.verifier.clone(), None)),
        }
    }

    /// The app private key handed out in the bundle (TEST ONLY), when the simulator has it.
    pub(crate) fn app_private(&self) -> Option<&KeyPair> {
        match &self.app_key {
            AppKeySetting::FromKeys if self.cert_mode() => self.keys.cert().map(|c| &c.app),
            AppKeySetting::FromKeys => Some(&self.keys.app),
            _ => None,
        }
    }

    /// The key pair that signs gateway answers, and in certificate mode its `alipay_cert_sn`.
    pub(crate) fn gateway_signer(&self) -> (KeyPair, Option<String>) {
        if let Some(r) = self.rotations.last() {
            return (r.key.clone(), Some(r.sn.clone()));
        }
        let sn = if self.cert_mode() {
            self.keys.cert().map(|c| c.set.sn.alipay_cert_sn.clone())
        } else {
            None
        };
        (self.keys.platform.clone(), sn)
    }

    /// The Alipay certificate text of `sn` (the current one or an earlier one), for
    /// `alipay.open.app.alipaycert.download`.
    pub(crate) fn alipay_cert(&self, sn: &str) -> Option<String> {
        if let Some(r) = self.rotations.iter().find(|r| r.sn == sn) {
            return Some(r.pem.clone());
        }
        let c = self.keys.cert()?;
        (c.set.sn.alipay_cert_sn == sn).then(|| c.set.files.alipay.clone())
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
    /// `app_public_key` and `app_cert` appear only when given: the admin API refuses `null`, and
    /// this form must go back through PUT as it is and be the base a PATCH merges into.
    pub(crate) fn to_json(&self, app_id: &str) -> serde_json::Value {
        let mut v = serde_json::json!({
            "app_id": app_id,
            "name": self.name,
            "console": self.console,
            "keys": self.keys_mode,
            "login": self.login,
        });
        match &self.app_key {
            AppKeySetting::PublicKey(k) => {
                v["app_public_key"] =
                    crate::protocol::key_format::public_key_one_line(k.public_key()).into();
            }
            AppKeySetting::Cert { pem, .. } => v["app_cert"] = pem.as_str().into(),
            AppKeySetting::FromKeys => {}
        }
        v
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
            // The gateway side: the app's own key (TEST ONLY) and the app id it signs for.
            obj.remove("app_public_key");
            obj.remove("app_private_key");
            obj.remove("app_private_key_warning");
            if let Some((v, sn)) = self.app_verifier() {
                obj.insert(
                    "app_public_key".into(),
                    crate::protocol::key_format::public_key_one_line(v.public_key()).into(),
                );
                if let Some(sn) = sn {
                    obj.insert("app_cert_sn".into(), sn.into());
                }
            }
            if let Some(k) = self.app_private() {
                obj.insert("app_private_key".into(), k.signer.private_pem().into());
                obj.insert(
                    "app_private_key_warning".into(),
                    crate::protocol::keys::APP_KEY_WARNING.into(),
                );
            }
            obj.insert(
                "identity".into(),
                serde_json::to_value(self.login.identity).unwrap_or_default(),
            );
            if let Some(r) = self.rotations.last() {
                obj.insert("alipay_cert_sn".into(), r.sn.clone().into());
                obj.insert("alipay_cert".into(), r.pem.clone().into());
                obj.insert("alipay_root_cert".into(), r.root_pem.clone().into());
            }
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
                UserRecord::new("demo", id, authorised, parse_setting(mobile)),
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
                UserRecord::new(
                    id,
                    "alice",
                    true,
                    MobileSetting::Number("13812345678".into()),
                ),
            );
            apps.insert(id.to_string(), app);
        }
        Self { apps }
    }
}
