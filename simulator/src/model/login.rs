//! The login as data: Alipay identities (`user_id`, per-app `open_id`), the scopes of
//! `my.getAuthCode`, auth codes, access and refresh tokens, their lifetimes, and which identities
//! an app receives. Time is passed in (milliseconds since the epoch) so tests control it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Which identifiers the gateway returns to an app (`alipay.system.oauth.token`,
/// `alipay.user.info.share`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityMode {
    /// `open_id` only: apps created after Alipay's user_id → open_id migration. The default.
    #[default]
    OpenId,
    /// `user_id` only: older apps.
    UserId,
    /// Both.
    Both,
}

impl IdentityMode {
    /// Whether answers carry `user_id`.
    pub fn user_id(self) -> bool {
        matches!(self, IdentityMode::UserId | IdentityMode::Both)
    }

    /// Whether answers carry `open_id`.
    pub fn open_id(self) -> bool {
        matches!(self, IdentityMode::OpenId | IdentityMode::Both)
    }
}

/// A scope of `my.getAuthCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Silent authorisation: the user identifier only.
    #[serde(rename = "auth_base")]
    AuthBase,
    /// Active consent: also the profile through `alipay.user.info.share`.
    #[serde(rename = "auth_user")]
    AuthUser,
}

impl Scope {
    /// The JSAPI's name of the scope.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AuthBase => "auth_base",
            Scope::AuthUser => "auth_user",
        }
    }

    /// The scope of a name, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auth_base" => Some(Scope::AuthBase),
            "auth_user" => Some(Scope::AuthUser),
            _ => None,
        }
    }
}

/// Default auth-code lifetime in seconds. The document says "at least 3 minutes, at most 24
/// hours"; the simulator picks 5 minutes (docs/protocol.md, my.getAuthCode).
pub const DEFAULT_CODE_LIFETIME_SECS: u64 = 300;
/// Default access-token lifetime in seconds (`expires_in`): 15 days.
pub const DEFAULT_ACCESS_LIFETIME_SECS: u64 = 1_296_000;
/// Default refresh-token lifetime in seconds (`re_expires_in`): 30 days.
pub const DEFAULT_REFRESH_LIFETIME_SECS: u64 = 2_592_000;
/// The longest lifetime the admin API accepts (one year).
pub const MAX_LIFETIME_SECS: u64 = 31_536_000;

fn default_code() -> u64 {
    DEFAULT_CODE_LIFETIME_SECS
}
fn default_access() -> u64 {
    DEFAULT_ACCESS_LIFETIME_SECS
}
fn default_refresh() -> u64 {
    DEFAULT_REFRESH_LIFETIME_SECS
}
fn default_scopes() -> Vec<Scope> {
    vec![Scope::AuthBase, Scope::AuthUser]
}

/// An app's login settings (the admin API's `login` object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    /// Which identifiers the gateway returns.
    #[serde(default)]
    pub identity: IdentityMode,
    /// Auth-code lifetime, seconds (1 to one year).
    #[serde(default = "default_code")]
    pub code_lifetime_secs: u64,
    /// Access-token lifetime, seconds (`expires_in`).
    #[serde(default = "default_access")]
    pub access_token_lifetime_secs: u64,
    /// Refresh-token lifetime, seconds (`re_expires_in`).
    #[serde(default = "default_refresh")]
    pub refresh_token_lifetime_secs: u64,
    /// The scopes the app may ask for (`auth_user` needs the "获取会员信息" product).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<Scope>,
}

impl Default for LoginSettings {
    fn default() -> Self {
        Self {
            identity: IdentityMode::default(),
            code_lifetime_secs: DEFAULT_CODE_LIFETIME_SECS,
            access_token_lifetime_secs: DEFAULT_ACCESS_LIFETIME_SECS,
            refresh_token_lifetime_secs: DEFAULT_REFRESH_LIFETIME_SECS,
            scopes: default_scopes(),
        }
    }
}

impl LoginSettings {
    /// Checks the lifetimes (1 second to one year); the error names the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (name, v) in [
            ("login.code_lifetime_secs", self.code_lifetime_secs),
            (
                "login.access_token_lifetime_secs",
                self.access_token_lifetime_secs,
            ),
            (
                "login.refresh_token_lifetime_secs",
                self.refresh_token_lifetime_secs,
            ),
        ] {
            if !(1..=MAX_LIFETIME_SECS).contains(&v) {
                return Err((
                    name,
                    format!("{name} must be between 1 and {MAX_LIFETIME_SECS} seconds, got {v}"),
                ));
            }
        }
        Ok(())
    }
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize().into()
}

/// The JSON Schema pattern of an Alipay `user_id`, as [`valid_user_id`] checks it.
#[cfg(any(feature = "server", test))]
pub(crate) const USER_ID_PATTERN: &str = "^2088[0-9]{12}$";

/// The JSON Schema pattern of an `open_id`, as [`valid_open_id`] checks it.
#[cfg(any(feature = "server", test))]
pub(crate) const OPEN_ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

/// Whether `s` is an Alipay `user_id`: `2088` and 12 digits.
pub fn valid_user_id(s: &str) -> bool {
    s.len() == 16 && s.starts_with("2088") && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` can be an `open_id`: 1 to 64 characters of `A-Z a-z 0-9 _ -`.
pub fn valid_open_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The stable `user_id` of a simulated user: `2088` and 12 digits derived from the user's name
/// (the same name is the same Alipay account in every app).
pub fn derived_user_id(user: &str) -> String {
    let d = digest(&["alipay-sim user_id", user]);
    let n = u64::from_be_bytes(d[..8].try_into().unwrap_or_default()) % 1_000_000_000_000;
    format!("2088{n:012}")
}

/// The stable `open_id` of a user in an app: `0` and 45 characters of `[0-9A-Za-z]` derived from
/// both (the shape of real open_ids; a different app sees a different open_id).
pub fn derived_open_id(app_id: &str, user: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let a = digest(&["alipay-sim open_id", app_id, user]);
    let b = digest(&["alipay-sim open_id/2", app_id, user]);
    let mut s = String::from("0");
    for byte in a.iter().chain(b.iter()).take(45) {
        s.push(ALPHABET[usize::from(*byte) % ALPHABET.len()] as char);
    }
    s
}

/// Who and what a code or token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The app that obtained it.
    pub app_id: String,
    /// The simulated user (the admin API's user id).
    pub user: String,
    /// The granted scopes.
    pub scopes: Vec<Scope>,
    /// When the user authorised (ms since the epoch); kept across refreshes (`auth_start`).
    pub auth_start_ms: u64,
}

impl Grant {
    /// Whether the grant includes `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Why a code or token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Never issued (or forgotten after a reset).
    Unknown,
    /// Already redeemed.
    Used,
    /// Past its lifetime.
    Expired,
    /// Issued to another app.
    OtherApp,
}

/// The answer of a token grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// `access_token` (`authusrB...` for auth_user, `authbseB...` for auth_base).
    pub access_token: String,
    /// `expires_in`, seconds.
    pub expires_in: u64,
    /// `refresh_token`.
    pub refresh_token: String,
    /// `re_expires_in`, seconds.
    pub re_expires_in: u64,
    /// The grant behind the tokens.
    pub grant: Grant,
}

#[derive(Debug, Clone)]
struct Entry {
    grant: Grant,
    expires_ms: u64,
    used: bool,
}

/// The most codes and tokens held at once; the oldest-expiring are forgotten beyond it.
pub const MAX_ENTRIES: usize = 100_000;

/// Issued auth codes, access tokens and refresh tokens.
#[derive(Debug, Default)]
pub struct LoginStore {
    codes: HashMap<String, Entry>,
    access: HashMap<String, Entry>,
    refresh: HashMap<String, Entry>,
}

fn random_hex(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        out.push_str(&format!("{:02x}", rand::random::<u8>()));
    }
    out
}

fn insert(map: &mut HashMap<String, Entry>, key: String, entry: Entry, now_ms: u64) {
    if map.len() >= MAX_ENTRIES {
        map.retain(|_, e| e.expires_ms > now_ms && !e.used);
        if map.len() >= MAX_ENTRIES
            && let Some(k) = map
                .iter()
                .min_by_key(|(_, e)| e.expires_ms)
                .map(|(k, _)| k.clone())
        {
            map.remove(&k);
        }
    }
    map.insert(key, entry);
}

fn check(
    map: &mut HashMap<String, Entry>,
    key: &str,
    app_id: &str,
    now_ms: u64,
    consume: bool,
) -> Result<Grant, Refusal> {
    let e = map.get_mut(key).ok_or(Refusal::Unknown)?;
    if e.grant.app_id != app_id {
        // Another app's code is refused without spending it.
        return Err(Refusal::OtherApp);
    }
    if e.used {
        return Err(Refusal::Used);
    }
    if now_ms >= e.expires_ms {
        return Err(Refusal::Expired);
    }
    if consume {
        e.used = true;
    }
    Ok(e.grant.clone())
}

impl LoginStore {
    /// Issues a single-use auth code for `grant`, valid `lifetime_secs`.
    pub fn issue_code(&mut self, grant: Grant, now_ms: u64, lifetime_secs: u64) -> String {
        let code = random_hex(16);
        let expires_ms = now_ms.saturating_add(lifetime_secs.saturating_mul(1000));
        insert(
            &mut self.codes,
            code.clone(),
            Entry {
                grant,
                expires_ms,
                used: false,
            },
            now_ms,
        );
        code
    }

    /// Redeems a code for `app_id` (once) and issues tokens.
    pub fn redeem_code(
        &mut self,
        app_id: &str,
        code: &str,
        now_ms: u64,
        settings: &LoginSettings,
    ) -> Result<Tokens, Refusal> {
        let grant = check(&mut self.codes, code, app_id, now_ms, true)?;
        Ok(self.issue_tokens(grant, now_ms, settings))
    }

    /// Trades a refresh token of `app_id` (once) for new tokens; the grant and `auth_start`
    /// carry over.
    pub fn refresh(
        &mut self,
        app_id: &str,
        refresh_token: &str,
        now_ms: u64,
        settings: &LoginSettings,
    ) -> Result<Tokens, Refusal> {
        let grant = check(&mut self.refresh, refresh_token, app_id, now_ms, true)?;
        Ok(self.issue_tokens(grant, now_ms, settings))
    }

    /// The grant behind an access token presented by `app_id`.
    pub fn access(&mut self, app_id: &str, token: &str, now_ms: u64) -> Result<Grant, Refusal> {
        check(&mut self.access, token, app_id, now_ms, false)
    }

    fn issue_tokens(&mut self, grant: Grant, now_ms: u64, s: &LoginSettings) -> Tokens {
        let prefix = if grant.has(Scope::AuthUser) {
            "authusrB"
        } else {
            "authbseB"
        };
        let access_token = format!("{prefix}{}", random_hex(16));
        let refresh_token = format!("{prefix}{}", random_hex(16));
        let at = |secs: u64| now_ms.saturating_add(secs.saturating_mul(1000));
        insert(
            &mut self.access,
            access_token.clone(),
            Entry {
                grant: grant.clone(),
                expires_ms: at(s.access_token_lifetime_secs),
                used: false,
            },
            now_ms,
        );
        insert(
            &mut self.refresh,
            refresh_token.clone(),
            Entry {
                grant: grant.clone(),
                expires_ms: at(s.refresh_token_lifetime_secs),
                used: false,
            },
            now_ms,
        );
        Tokens {
            access_token,
            expires_in: s.access_token_lifetime_secs,
            refresh_token,
            re_expires_in: s.refresh_token_lifetime_secs,
            grant,
        }
    }

    /// Forgets every code and token.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_patterns_are_the_checks() {
        let user_id =
            jsonschema::validator_for(&serde_json::json!({"pattern": USER_ID_PATTERN})).unwrap();
        let open_id =
            jsonschema::validator_for(&serde_json::json!({"pattern": OPEN_ID_PATTERN})).unwrap();
        let long = "a".repeat(64);
        let longer = "a".repeat(65);
        for s in [
            "2088000000000000",
            "2088123",
            "20881234567890123",
            "3088123456789012",
            "2088a23456789012",
            "",
            "0abcXYZ_-",
            "a b",
            "é",
            long.as_str(),
            longer.as_str(),
            derived_user_id("alice").as_str(),
            derived_open_id("demo", "alice").as_str(),
        ] {
            let v = serde_json::Value::from(s);
            assert_eq!(user_id.is_valid(&v), valid_user_id(s), "{s:?}");
            assert_eq!(open_id.is_valid(&v), valid_open_id(s), "{s:?}");
        }
    }

    fn grant(app: &str, scopes: &[Scope]) -> Grant {
        Grant {
            app_id: app.into(),
            user: "alice".into(),
            scopes: scopes.to_vec(),
            auth_start_ms: 0,
        }
    }

    #[test]
    fn identities_are_stable_and_well_formed() {
        let u = derived_user_id("alice");
        assert!(valid_user_id(&u), "{u}");
        assert_eq!(u, derived_user_id("alice"));
        assert_ne!(u, derived_user_id("bob"));
        let o = derived_open_id("demo", "alice");
        assert_eq!(o.len(), 46);
        assert!(valid_open_id(&o));
        assert_ne!(o, derived_open_id("cert", "alice"));
        assert!(!valid_user_id("2088123"));
        assert!(!valid_user_id("2099123456789012"));
    }

    #[test]
    fn codes_are_single_use_expire_and_bound_to_the_app() {
        let s = LoginSettings::default();
        let mut st = LoginStore::default();
        let code = st.issue_code(grant("demo", &[Scope::AuthBase]), 1000, 10);
        assert_eq!(
            st.redeem_code("other", &code, 1000, &s),
            Err(Refusal::OtherApp)
        );
        let t = st.redeem_code("demo", &code, 2000, &s).unwrap();
        assert!(t.access_token.starts_with("authbseB"));
        assert_eq!(st.redeem_code("demo", &code, 2000, &s), Err(Refusal::Used));
        let late = st.issue_code(grant("demo", &[Scope::AuthUser]), 0, 10);
        assert_eq!(
            st.redeem_code("demo", &late, 10_000, &s),
            Err(Refusal::Expired)
        );
        assert_eq!(st.redeem_code("demo", "nope", 0, &s), Err(Refusal::Unknown));
        // Refresh tokens: single use, bound to the app, new tokens each time.
        let r = st.refresh("demo", &t.refresh_token, 3000, &s).unwrap();
        assert_ne!(r.access_token, t.access_token);
        assert_eq!(
            st.refresh("demo", &t.refresh_token, 3000, &s),
            Err(Refusal::Used)
        );
        assert_eq!(
            st.refresh("x", &r.refresh_token, 3000, &s),
            Err(Refusal::OtherApp)
        );
        assert!(st.access("demo", &r.access_token, 3000).is_ok());
        let exp = (s.access_token_lifetime_secs + 1) * 1000 + 3000;
        assert_eq!(
            st.access("demo", &r.access_token, exp),
            Err(Refusal::Expired)
        );
    }
}
