//! The login cases: stable ids under `login.`, each with its severity by the "what can an
//! attacker do" rule, its bug class, why it matters and how to fix a failure.

use alipay_sim::{BugClass, Severity};

/// One login case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LoginCase {
    /// A genuine `auth_user` login: the code's user and the envelope's mobile.
    Genuine,
    /// A genuine `auth_base` login (a profile read would fail with 40006 and must not matter).
    AuthBase,
    /// An `auth_base` login calls no `alipay.user.info.share`.
    AuthBaseNoProfile,
    /// The same code twice: the second login is refused.
    CodeReused,
    /// An expired code is refused.
    CodeExpired,
    /// Another app's code is refused.
    CodeOtherApp,
    /// Another user's `user_id` beside the code is ignored.
    SmuggledUserId,
    /// Another user's `open_id` beside the code is ignored.
    SmuggledOpenId,
    /// Another user's `mobile` beside the code is ignored.
    SmuggledMobile,
    /// The gateway busy (20000): the contract's retry-later answer.
    GatewayBusy,
    /// The gateway's front answers a 5xx page: an answer, no crash, no login.
    GatewayHttpError,
    /// The gateway is slow: an answer, no crash.
    GatewaySlow,
    /// The gateway's answer does not verify: refused.
    GatewayBadSignature,
}

impl LoginCase {
    /// Every login case, in id order.
    pub const ALL: [LoginCase; 13] = [
        LoginCase::CodeExpired,
        LoginCase::CodeOtherApp,
        LoginCase::CodeReused,
        LoginCase::GatewayBadSignature,
        LoginCase::GatewayBusy,
        LoginCase::GatewayHttpError,
        LoginCase::GatewaySlow,
        LoginCase::Genuine,
        LoginCase::AuthBase,
        LoginCase::AuthBaseNoProfile,
        LoginCase::SmuggledMobile,
        LoginCase::SmuggledOpenId,
        LoginCase::SmuggledUserId,
    ];

    /// The stable id.
    pub fn id(self) -> &'static str {
        match self {
            LoginCase::Genuine => "login.genuine.auth-user",
            LoginCase::AuthBase => "login.scope.auth-base",
            LoginCase::AuthBaseNoProfile => "login.scope.auth-base-no-profile",
            LoginCase::CodeReused => "login.code.reused",
            LoginCase::CodeExpired => "login.code.expired",
            LoginCase::CodeOtherApp => "login.code.other-app",
            LoginCase::SmuggledUserId => "login.smuggled.user-id",
            LoginCase::SmuggledOpenId => "login.smuggled.open-id",
            LoginCase::SmuggledMobile => "login.smuggled.mobile",
            LoginCase::GatewayBusy => "login.gateway.busy",
            LoginCase::GatewayHttpError => "login.gateway.http-error",
            LoginCase::GatewaySlow => "login.gateway.slow",
            LoginCase::GatewayBadSignature => "login.gateway.bad-signature",
        }
    }

    /// The case with id `id`.
    pub fn by_id(id: &str) -> Option<LoginCase> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }

    /// One-line title.
    pub fn title(self) -> &'static str {
        match self {
            LoginCase::Genuine => "genuine auth_user login: the code's user, the envelope's mobile",
            LoginCase::AuthBase => {
                "genuine auth_base login succeeds (a failed profile read must not fail it)"
            }
            LoginCase::AuthBaseNoProfile => "auth_base login does not call alipay.user.info.share",
            LoginCase::CodeReused => "an auth code redeemed twice: the second login is refused",
            LoginCase::CodeExpired => "an expired auth code is refused",
            LoginCase::CodeOtherApp => "another app's auth code is refused",
            LoginCase::SmuggledUserId => "another user's user_id sent beside the code is ignored",
            LoginCase::SmuggledOpenId => "another user's open_id sent beside the code is ignored",
            LoginCase::SmuggledMobile => "another mobile sent beside the code is ignored",
            LoginCase::GatewayBusy => "gateway busy (20000): the retry-later answer",
            LoginCase::GatewayHttpError => "gateway 502 page: an answer, no crash, no login",
            LoginCase::GatewaySlow => "slow gateway: an answer, no crash",
            LoginCase::GatewayBadSignature => {
                "a gateway answer whose signature does not verify is refused"
            }
        }
    }

    /// How severe a failure is: what an attacker can do with it.
    pub fn severity(self) -> Severity {
        match self {
            // Anyone logs in as anyone by editing the request, forging or replaying the answer,
            // or bringing a code of their own app.
            LoginCase::SmuggledUserId
            | LoginCase::SmuggledOpenId
            | LoginCase::GatewayBadSignature
            | LoginCase::CodeOtherApp => Severity::Critical,
            // A leaked (logged, referred) code or a claimed phone number.
            LoginCase::CodeReused | LoginCase::SmuggledMobile => Severity::High,
            LoginCase::Genuine => Severity::High,
            // A narrow window; a denial of service; a lost login.
            LoginCase::CodeExpired
            | LoginCase::GatewayHttpError
            | LoginCase::GatewaySlow
            | LoginCase::GatewayBusy
            | LoginCase::AuthBase => Severity::Medium,
            LoginCase::AuthBaseNoProfile => Severity::Low,
        }
    }

    /// The class of bug a failure reveals.
    pub fn bug_class(self) -> BugClass {
        match self {
            LoginCase::SmuggledUserId
            | LoginCase::SmuggledOpenId
            | LoginCase::SmuggledMobile
            | LoginCase::GatewayBadSignature
            | LoginCase::CodeOtherApp
            | LoginCase::CodeReused
            | LoginCase::CodeExpired => BugClass::AuthBypass,
            LoginCase::GatewayHttpError | LoginCase::GatewaySlow => BugClass::Robustness,
            LoginCase::AuthBaseNoProfile => BugClass::Confidentiality,
            LoginCase::Genuine | LoginCase::AuthBase | LoginCase::GatewayBusy => {
                BugClass::Functionality
            }
        }
    }

    /// Why a correct merchant behaves as expected.
    pub fn why(self) -> &'static str {
        match self {
            LoginCase::Genuine | LoginCase::AuthBase => {
                "The auth code is the only proof of who the user is: the merchant redeems it at the gateway (alipay.system.oauth.token) and logs in the user the signed answer names. An auth_base login has no profile consent, so alipay.user.info.share answers 40006 and the login must not depend on it."
            }
            LoginCase::AuthBaseNoProfile => {
                "auth_base is the silent scope: the user consented to their id only. Reading the profile is outside the consent (and answers 40006)."
            }
            LoginCase::CodeReused | LoginCase::CodeExpired | LoginCase::CodeOtherApp => {
                "An auth code is single-use, short-lived and bound to the app it was issued to; the gateway refuses it otherwise (40002 isv.code-invalid). A merchant that logs a user in anyway, from a cache or from the error answer, lets whoever holds a stale or foreign code in."
            }
            LoginCase::SmuggledUserId | LoginCase::SmuggledOpenId | LoginCase::SmuggledMobile => {
                "Everything the page sends can be edited by the user. The identity comes from the gateway's signed answer and the mobile from the signed envelope; a user_id, open_id or mobile beside the code must be ignored, or anyone logs in as anyone."
            }
            LoginCase::GatewayBusy => {
                "20000 is transient: the page should try again. Refusing the user or logging them in without an identity are both wrong."
            }
            LoginCase::GatewayHttpError | LoginCase::GatewaySlow => {
                "The gateway's front sometimes answers an HTML error page or takes seconds. The endpoint must answer (an error it chooses), never crash, hang or log anyone in."
            }
            LoginCase::GatewayBadSignature => {
                "The gateway's answer is signed with the Alipay key: a merchant that does not verify it believes whoever answers its HTTP call (a proxy, a DNS spoof) about who the user is."
            }
        }
    }

    /// How to fix a failure.
    pub fn fix(self) -> &'static str {
        match self {
            LoginCase::Genuine | LoginCase::AuthBase => {
                "Redeem the code with alipay.system.oauth.token (grant_type=authorization_code), verify the answer's sign, and answer the user_id/open_id it names with the envelope's mobile; do not fail an auth_base login on alipay.user.info.share."
            }
            LoginCase::AuthBaseNoProfile => {
                "Call alipay.user.info.share only for logins the page requested with scopes auth_user."
            }
            LoginCase::CodeReused | LoginCase::CodeExpired | LoginCase::CodeOtherApp => {
                "Redeem every code at the gateway (no code cache) and treat any answer other than a verified success with a user id as a refusal (the Node SDK's exec returns error objects instead of throwing)."
            }
            LoginCase::SmuggledUserId | LoginCase::SmuggledOpenId | LoginCase::SmuggledMobile => {
                "Read only authCode and the envelope from the request; take user_id/open_id from the gateway's answer and the mobile from the opened envelope."
            }
            LoginCase::GatewayBusy => {
                "Map the gateway's 20000 to the same retry-later answer as a busy envelope (e.g. 503 with Retry-After)."
            }
            LoginCase::GatewayHttpError | LoginCase::GatewaySlow => {
                "Give the gateway call a timeout and treat a non-200 status, a non-JSON body or a timeout as 'gateway unavailable' (e.g. 502), without a stack trace."
            }
            LoginCase::GatewayBadSignature => {
                "Configure the SDK with the Alipay public key and verify every answer (Node: validateSign: true; Java/PHP/Python SDKs verify when the key is set); refuse an answer whose signature does not verify."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_sorted_and_under_login() {
        let ids: Vec<&str> = LoginCase::ALL.iter().map(|c| c.id()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted);
        for c in LoginCase::ALL {
            assert!(c.id().starts_with("login."));
            assert_eq!(LoginCase::by_id(c.id()), Some(c));
        }
    }
}
