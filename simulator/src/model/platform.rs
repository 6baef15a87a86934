//! The Alipay side as data: the mini-program's console configuration, the user, the call and the
//! platform decide the envelope, following the four steps of the `my.getPhoneNumber` document
//! in their order (encryption set up, product bound, user authorised, server decrypts).
//!
//! `my.getRunData` goes through the same steps and the same error table ([`decide_api`], one
//! function for both APIs); only its success plaintext (the step count) and what its document
//! says differs (docs/protocol.md#getrundata).

use serde::{Deserialize, Serialize};

use crate::protocol::crypto::{AesSize, SignType};
use crate::protocol::envelope::{EnvelopeFields, PlainShape, SealOptions, Sealed, seal};
use crate::protocol::keys::KeySet;
use crate::protocol::payload::{EmptyMobileForm, Payload, PlatformError, RunData};
pub(crate) use crate::protocol::signing::Signing;

/// Content encryption ("接口内容加密方式") as configured in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Encryption {
    /// Not configured: every call answers 40001 `isv.missing-encrypt-key`, unencrypted.
    #[serde(rename = "none")]
    None,
    /// AES-128 (the console's only choice in practice). The default.
    #[default]
    #[serde(rename = "aes-128")]
    Aes128,
    /// AES-192 (accepted by the SDKs; not known to be issued by Alipay).
    #[serde(rename = "aes-192")]
    Aes192,
    /// AES-256 (accepted by the SDKs; not known to be issued by Alipay).
    #[serde(rename = "aes-256")]
    Aes256,
    /// A key is set but unusable: 40002 `isv.invalid-encrypt`, unencrypted.
    #[serde(rename = "invalid")]
    Invalid,
}

impl Encryption {
    /// The AES key size the console set up, or `None` when answers go unencrypted.
    pub fn size(self) -> Option<AesSize> {
        match self {
            Encryption::Aes128 => Some(AesSize::Aes128),
            Encryption::Aes192 => Some(AesSize::Aes192),
            Encryption::Aes256 => Some(AesSize::Aes256),
            Encryption::None | Encryption::Invalid => None,
        }
    }
}

fn yes() -> bool {
    true
}

/// The mini-program's Open Platform console configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Console {
    /// Step 1: content encryption.
    #[serde(default)]
    pub encryption: Encryption,
    /// Signing method; without it no `sign` is sent.
    #[serde(default)]
    pub signing: Signing,
    /// Application gateway ("应用网关") set. Older docs: without it `sign` may be missing.
    #[serde(default = "yes")]
    pub gateway: bool,
    /// Step 2: the "获取会员手机号" product is bound.
    #[serde(default = "yes")]
    pub product_bound: bool,
    /// Step 2: the user-information application ("用户信息申请") is approved.
    #[serde(default = "yes")]
    pub user_info_approved: bool,
    /// The app is a third-party (ISV) template app, whose calls must pass `protocols.isvAppId`.
    #[serde(default)]
    pub isv_template: bool,
    /// Envelope header fields.
    #[serde(default)]
    pub envelope_fields: EnvelopeFields,
    /// Shape of unencrypted answers.
    #[serde(default)]
    pub unencrypted_shape: PlainShape,
    /// Certificate mode only: the envelope also carries `"alipay_cert_sn"` (the SN of the Alipay
    /// certificate whose key signed it), after the other fields. No source shows Alipay sending
    /// it for this API; some Go decoders read it.
    #[serde(default)]
    pub alipay_cert_sn: bool,
}

impl Default for Console {
    fn default() -> Self {
        Self {
            encryption: Encryption::Aes128,
            signing: Signing::Rsa2,
            gateway: true,
            product_bound: true,
            user_info_approved: true,
            isv_template: false,
            envelope_fields: EnvelopeFields::Minimal,
            unencrypted_shape: PlainShape::Nested,
            alipay_cert_sn: false,
        }
    }
}

/// The user's bound mobile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mobile {
    /// A number: 11 digits mainland, `cc-number` overseas (e.g. `1-1234432112`).
    Number(String),
    /// No bound phone, reported as `"mobile":""` or with no `mobile` key.
    Empty(EmptyMobileForm),
}

/// The user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Step 3: the user consented on the `getAuthorize` button with scope `phoneNumber`.
    pub authorised: bool,
    /// The bound mobile.
    pub mobile: Mobile,
}

/// The call the page made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// `protocols.isvAppId` was passed (matters for ISV template apps only).
    pub isv_app_id: bool,
}

impl Default for Call {
    fn default() -> Self {
        Self { isv_app_id: true }
    }
}

/// Where the busy (20000) answer is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusyDelivery {
    /// Encrypted and signed like any business answer. The default.
    #[default]
    Encrypted,
    /// Unencrypted and unsigned, like the other "加密异常" answers (getRunData style).
    Plaintext,
}

/// The platform's own condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Platform {
    /// The platform answers 20000 "系统繁忙".
    pub busy: bool,
    /// How the busy answer is delivered.
    pub busy_delivery: BusyDelivery,
}

/// The JSAPI whose answer is decided: both are sealed the same way and share the error table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Api {
    /// `my.getPhoneNumber`: the bound mobile. The default.
    #[default]
    #[serde(rename = "getPhoneNumber")]
    GetPhoneNumber,
    /// `my.getRunData`: the step count of a day.
    #[serde(rename = "getRunData")]
    GetRunData,
}

impl Api {
    /// The JSAPI name: `getPhoneNumber` or `getRunData`.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::GetPhoneNumber => "getPhoneNumber",
            Api::GetRunData => "getRunData",
        }
    }

    /// True for `my.getPhoneNumber` (serde's `skip_serializing_if`: scenario and fixture files
    /// name the API only when it is not the default).
    pub fn is_phone_number(&self) -> bool {
        *self == Api::GetPhoneNumber
    }

    /// The 40006 answer in this API's document's words.
    fn insufficient_permissions(self) -> PlatformError {
        match self {
            Api::GetPhoneNumber => PlatformError::insufficient_permissions(),
            Api::GetRunData => PlatformError::insufficient_permissions_run_data(),
        }
    }

    /// The shape of the unencrypted "加密异常" answers: getRunData's document gives `res.response`
    /// as an Object for them; for getPhoneNumber no source settles it, so the console says.
    fn plain_shape(self, console: &Console) -> PlainShape {
        match self {
            Api::GetPhoneNumber => console.unencrypted_shape,
            Api::GetRunData => PlainShape::Object,
        }
    }

    /// getRunData's document lists 20000 among its unencrypted answers; for getPhoneNumber the
    /// platform setting decides.
    fn busy_delivery(self, platform: &Platform) -> BusyDelivery {
        match self {
            Api::GetPhoneNumber => platform.busy_delivery,
            Api::GetRunData => BusyDelivery::Plaintext,
        }
    }
}

/// What the platform decided, before sealing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The plaintext result.
    pub payload: Payload,
    /// Encrypted with the app's AES key of this size, or sent in the clear.
    pub encryption: Option<AesSize>,
    /// Signed with this algorithm, or unsigned.
    pub sign_type: Option<SignType>,
    /// Header fields.
    pub fields: EnvelopeFields,
    /// Shape if unencrypted.
    pub plain_shape: PlainShape,
    /// Append `"alipay_cert_sn"` to the (signed) envelope.
    pub alipay_cert_sn: bool,
}

/// Decides the answer, following the document's steps in order:
///
/// 0. an ISV template app called without `protocols.isvAppId`: 40001
///    `isv.missing-default-signature-type`, unencrypted and unsigned;
/// 1. no content encryption: 40001 `isv.missing-encrypt-key`; an unusable key: 40002; both
///    unencrypted and unsigned;
/// 2. the platform is busy: 20000;
/// 3. product not bound or user-info application not approved: 40006;
/// 4. the user did not authorise: 40003;
/// 5. otherwise the mobile, or an empty mobile.
///
/// Encrypted answers are signed when signing is configured and the gateway is set.
pub fn decide(console: &Console, user: &User, call: &Call, platform: &Platform) -> Decision {
    let success = match &user.mobile {
        Mobile::Number(m) => Payload::Mobile(m.clone()),
        Mobile::Empty(form) => Payload::EmptyMobile(*form),
    };
    decide_api(
        Api::GetPhoneNumber,
        console,
        user.authorised,
        success,
        call,
        platform,
    )
}

/// Decides a `my.getRunData` answer: the steps of [`decide`] with the day's step count as the
/// success plaintext (docs/protocol.md#getrundata).
pub fn decide_run_data(
    console: &Console,
    authorised: bool,
    steps: RunData,
    call: &Call,
    platform: &Platform,
) -> Decision {
    decide_api(
        Api::GetRunData,
        console,
        authorised,
        Payload::Steps(steps),
        call,
        platform,
    )
}

/// The one decision both JSAPIs share: the steps of [`decide`] in order, with `success` as the
/// answer when every step passes. What differs by `api` is only what its document says: the
/// 40006 wording and, for getRunData, the unencrypted Object form of its "加密异常" answers
/// (40001, 40002 and 20000).
pub fn decide_api(
    api: Api,
    console: &Console,
    authorised: bool,
    success: Payload,
    call: &Call,
    platform: &Platform,
) -> Decision {
    let signed = if console.gateway {
        console.signing.sign_type()
    } else {
        None
    };
    let clear = |payload: Payload| Decision {
        payload,
        encryption: None,
        sign_type: None,
        fields: console.envelope_fields,
        plain_shape: api.plain_shape(console),
        alipay_cert_sn: false,
    };
    if console.isv_template && !call.isv_app_id {
        return clear(Payload::Error(
            PlatformError::missing_default_signature_type(),
        ));
    }
    match console.encryption {
        Encryption::None => return clear(Payload::Error(PlatformError::missing_encrypt_key())),
        Encryption::Invalid => return clear(Payload::Error(PlatformError::invalid_encrypt())),
        _ => {}
    }
    if platform.busy && api.busy_delivery(platform) == BusyDelivery::Plaintext {
        return clear(Payload::Error(PlatformError::busy()));
    }
    let payload = if platform.busy {
        Payload::Error(PlatformError::busy())
    } else if !console.product_bound || !console.user_info_approved {
        Payload::Error(api.insufficient_permissions())
    } else if !authorised {
        Payload::Error(PlatformError::invalid_auth_relations())
    } else {
        success
    };
    Decision {
        payload,
        encryption: console.encryption.size(),
        sign_type: signed,
        fields: console.envelope_fields,
        plain_shape: api.plain_shape(console),
        alipay_cert_sn: console.signing == Signing::Cert
            && console.alipay_cert_sn
            && signed.is_some(),
    }
}

impl Decision {
    /// Seals the decision with the platform keys of `keys`. Without certificate material there
    /// is no certificate, hence no SN (see `KeySet::cert`).
    pub fn seal(&self, keys: &KeySet) -> Sealed {
        let aes = self.encryption.map(|size| keys.aes.of_size(size));
        let sn = keys
            .cert()
            .filter(|_| self.alipay_cert_sn)
            .map(|cert| cert.set.sn.alipay_cert_sn.as_str());
        seal(
            &self.payload.to_json(),
            &SealOptions {
                encrypt: aes.as_ref(),
                sign: self.sign_type.map(|t| (&keys.platform.signer, t)),
                fields: self.fields,
                plain_shape: self.plain_shape,
                alipay_cert_sn: sn,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            authorised: true,
            mobile: Mobile::Number("13800000000".into()),
        }
    }

    #[test]
    fn the_steps_apply_in_document_order() {
        let base = Console::default();
        let p = Platform::default();
        let c = Call::default();
        let code = |con: &Console, u: &User, p: &Platform| match decide(con, u, &c, p).payload {
            Payload::Error(e) => e.sub_code,
            other => format!("{other:?}"),
        };
        // Missing encryption wins over everything else.
        let mut con = Console {
            encryption: Encryption::None,
            product_bound: false,
            ..base.clone()
        };
        let unauth = User {
            authorised: false,
            ..user()
        };
        assert_eq!(code(&con, &unauth, &p), "isv.missing-encrypt-key");
        con.encryption = Encryption::Aes128;
        assert_eq!(code(&con, &unauth, &p), "isv.insufficient-isv-permissions");
        con.product_bound = true;
        assert_eq!(code(&con, &unauth, &p), "isv.invalid-auth-relations");
        let busy = Platform { busy: true, ..p };
        assert_eq!(code(&con, &unauth, &busy), "aop.unknow-error");
        assert_eq!(
            decide(&con, &user(), &c, &p).payload,
            Payload::Mobile("13800000000".into())
        );
    }

    fn steps() -> RunData {
        RunData {
            count: 16880,
            count_date: "2018-12-19".into(),
        }
    }

    #[test]
    fn run_data_shares_the_steps_and_seals_the_step_count() {
        let con = Console::default();
        let c = Call::default();
        let p = Platform::default();
        let d = decide_run_data(&con, true, steps(), &c, &p);
        assert_eq!(d.payload, Payload::Steps(steps()));
        assert_eq!(d.encryption, decide(&con, &user(), &c, &p).encryption);
        assert_eq!(d.sign_type, Some(SignType::Rsa2));
        let keys = KeySet::embedded();
        let sealed = d.seal(&keys);
        assert!(sealed.envelope.starts_with("{\"response\":\""));
        assert!(sealed.sign.is_some());
        // The same error table: 40003 unauthorised (encrypted), 40006 in getRunData's words.
        let unauth = decide_run_data(&con, false, steps(), &c, &p);
        assert_eq!(
            unauth.payload,
            Payload::Error(PlatformError::invalid_auth_relations())
        );
        assert!(unauth.encryption.is_some());
        let unbound = Console {
            product_bound: false,
            ..con.clone()
        };
        assert_eq!(
            decide_run_data(&unbound, true, steps(), &c, &p).payload,
            Payload::Error(PlatformError::insufficient_permissions_run_data())
        );
    }

    #[test]
    fn run_data_encryption_errors_and_busy_are_an_object_in_the_clear() {
        let keys = KeySet::embedded();
        let none = Console {
            encryption: Encryption::None,
            ..Console::default()
        };
        let sealed = decide_run_data(&none, true, steps(), &Call::default(), &Platform::default())
            .seal(&keys);
        assert!(sealed.response_is_object);
        assert_eq!(
            sealed.envelope,
            r#"{"code":"40001","msg":"Missing Required Arguments","subCode":"isv.missing-encrypt-key","subMsg":"缺少加密配置"}"#
        );
        // Busy is unencrypted whatever the platform's busy delivery says for getPhoneNumber.
        let busy = Platform {
            busy: true,
            busy_delivery: BusyDelivery::Encrypted,
        };
        let d = decide_run_data(&Console::default(), true, steps(), &Call::default(), &busy);
        assert_eq!(d.encryption, None);
        assert_eq!(d.payload, Payload::Error(PlatformError::busy()));
        assert!(d.seal(&keys).response_is_object);
    }

    #[test]
    fn missing_encryption_is_plaintext_and_unsigned() {
        let d = decide(
            &Console {
                encryption: Encryption::None,
                ..Console::default()
            },
            &user(),
            &Call::default(),
            &Platform::default(),
        );
        assert_eq!(d.encryption, None);
        assert_eq!(d.sign_type, None);
        let sealed = d.seal(&KeySet::embedded());
        assert_eq!(
            sealed.envelope,
            r#"{"response":{"code":"40001","msg":"Missing Required Arguments","subCode":"isv.missing-encrypt-key","subMsg":"缺少加密配置"}}"#
        );
    }

    #[test]
    fn no_signing_or_no_gateway_means_no_sign() {
        for con in [
            Console {
                signing: Signing::None,
                ..Console::default()
            },
            Console {
                gateway: false,
                ..Console::default()
            },
        ] {
            let sealed = decide(&con, &user(), &Call::default(), &Platform::default())
                .seal(&KeySet::embedded());
            assert!(!sealed.envelope.contains("\"sign\""), "{}", sealed.envelope);
        }
    }
}
