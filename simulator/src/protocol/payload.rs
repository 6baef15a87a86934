//! The decrypted plaintext of `my.getPhoneNumber` and `my.getRunData`: what Alipay encrypts,
//! written byte-exact.
//!
//! Success: `{"code":"10000","msg":"Success","mobile":"13800000000"}` (getPhoneNumber),
//! `{"count":16880,"countDate":"2018-12-19","code":"10000","msg":"Success"}` (getRunData,
//! docs/protocol.md#getrundata-plaintext); platform error (both):
//! `{"code":"40003","msg":"Insufficient Conditions","subCode":"isv.invalid-auth-relations","subMsg":"无效的授权关系"}`.
//! Compact, keys in that order, `code` a string, camelCase `subCode`/`subMsg`, UTF-8 kept, `/`
//! written as `\/` (docs/protocol.md#field-names, vector C).

use serde::{Deserialize, Serialize};

use crate::protocol::error::PayloadError;
use crate::protocol::json::write_object;

/// The success code.
pub const SUCCESS_CODE: &str = "10000";

/// A platform error as Alipay reports it inside the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformError {
    /// Numeric code as a string, e.g. `40003`.
    pub code: String,
    /// English message, e.g. `Insufficient Conditions`.
    pub msg: String,
    /// Dotted sub-code, e.g. `isv.invalid-auth-relations`.
    pub sub_code: String,
    /// Chinese description, e.g. `无效的授权关系`.
    pub sub_msg: String,
}

impl PlatformError {
    fn new(code: &str, msg: &str, sub_code: &str, sub_msg: &str) -> Self {
        Self {
            code: code.into(),
            msg: msg.into(),
            sub_code: sub_code.into(),
            sub_msg: sub_msg.into(),
        }
    }

    /// 40001 `isv.missing-encrypt-key`: content encryption (AES) not configured.
    pub fn missing_encrypt_key() -> Self {
        Self::new(
            "40001",
            "Missing Required Arguments",
            "isv.missing-encrypt-key",
            "缺少加密配置",
        )
    }

    /// 40001 `isv.missing-default-signature-type`: a third-party (ISV) template call without
    /// `protocols.isvAppId`, or an app with no default signature type.
    pub fn missing_default_signature_type() -> Self {
        Self::new(
            "40001",
            "Missing Required Arguments",
            "isv.missing-default-signature-type",
            "应用未设置默认签名类型",
        )
    }

    /// 40002 `isv.invalid-encrypt`: the configured AES key is unusable.
    pub fn invalid_encrypt() -> Self {
        Self::new(
            "40002",
            "Invalid Arguments",
            "isv.invalid-encrypt",
            "加密异常",
        )
    }

    /// 40003 `isv.invalid-auth-relations`: the user has not authorised the phone-number scope.
    pub fn invalid_auth_relations() -> Self {
        Self::new(
            "40003",
            "Insufficient Conditions",
            "isv.invalid-auth-relations",
            "无效的授权关系",
        )
    }

    /// 40006 `isv.insufficient-isv-permissions`: product not bound or user-info application not
    /// approved. The subMsg carries a URL, so its plaintext has `\/` (vector C).
    pub fn insufficient_permissions() -> Self {
        Self::new(
            "40006",
            "Insufficient Permissions",
            "isv.insufficient-isv-permissions",
            "ISV权限不足，建议在开发者中心检查对应功能是否已经添加，解决办法详见：https://docs.open.alipay.com/common/isverror",
        )
    }

    /// 40006 `isv.insufficient-isv-permissions` as `my.getRunData`'s document words it: the
    /// run-data product's contract is not in force (docs/protocol.md#getrundata-errors).
    pub fn insufficient_permissions_run_data() -> Self {
        Self::new(
            "40006",
            "Insufficient Permissions",
            "isv.insufficient-isv-permissions",
            "ISV权限不足，建议在开发者中心检查签约是否已经生效。",
        )
    }

    /// 20000 `aop.unknow-error` (sic): the platform is busy; retry later.
    pub fn busy() -> Self {
        Self::new(
            "20000",
            "Service Currently Unavailable",
            "aop.unknow-error",
            "系统繁忙",
        )
    }

    /// Whether a merchant should retry later rather than treat this as final (code 20000).
    pub fn is_retryable(&self) -> bool {
        self.code == "20000"
    }
}

/// How an account without a bound phone is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyMobileForm {
    /// `"mobile":""` (the default).
    #[default]
    EmptyString,
    /// No `mobile` key at all.
    Absent,
}

/// The most steps [`RunData::count`] holds (a documented limit of the simulator, not Alipay's:
/// docs/protocol.md#getrundata-plaintext).
pub const MAX_STEP_COUNT: u32 = 999_999;

/// The step count of one day, as `my.getRunData` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunData {
    /// Steps walked that day (a JSON number in the plaintext).
    pub count: u32,
    /// The day, `yyyy-mm-dd` (the call's `countDate`).
    pub count_date: String,
}

/// A decrypted `my.getPhoneNumber` or `my.getRunData` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Success with a mobile number (`11` digits mainland, `cc-number` overseas).
    Mobile(String),
    /// Success, but the account has no bound mobile.
    EmptyMobile(EmptyMobileForm),
    /// `my.getRunData` success: the day's step count.
    Steps(RunData),
    /// A platform error.
    Error(PlatformError),
}

impl Payload {
    /// The plaintext exactly as Alipay writes it.
    ///
    /// ```
    /// use alipay_sim::{Payload, PlatformError};
    /// assert_eq!(
    ///     Payload::Mobile("13800000000".into()).to_json(),
    ///     r#"{"code":"10000","msg":"Success","mobile":"13800000000"}"#
    /// );
    /// assert!(Payload::Error(PlatformError::insufficient_permissions())
    ///     .to_json()
    ///     .contains(r"https:\/\/docs.open.alipay.com"));
    /// ```
    pub fn to_json(&self) -> String {
        match self {
            Payload::Mobile(m) => {
                write_object(&[("code", SUCCESS_CODE), ("msg", "Success"), ("mobile", m)])
            }
            Payload::EmptyMobile(EmptyMobileForm::EmptyString) => {
                write_object(&[("code", SUCCESS_CODE), ("msg", "Success"), ("mobile", "")])
            }
            Payload::EmptyMobile(EmptyMobileForm::Absent) => {
                write_object(&[("code", SUCCESS_CODE), ("msg", "Success")])
            }
            Payload::Steps(r) => {
                // `count` is a number: written as digits, then the date and the strings.
                let mut out = format!("{{\"count\":{},", r.count);
                let rest = write_object(&[
                    ("countDate", &r.count_date),
                    ("code", SUCCESS_CODE),
                    ("msg", "Success"),
                ]);
                out.push_str(&rest[1..]);
                out
            }
            Payload::Error(e) => write_object(&[
                ("code", &e.code),
                ("msg", &e.msg),
                ("subCode", &e.sub_code),
                ("subMsg", &e.sub_msg),
            ]),
        }
    }

    /// Interprets decrypted `my.getPhoneNumber` plaintext as a correct merchant does (a
    /// getRunData plaintext is read by [`RunData::parse`]): `code` must be a string;
    /// `10000` with a non-empty string `mobile` is a number, with `""` or no `mobile` an empty
    /// mobile; any other code is a platform error.
    pub fn parse(plaintext: &str) -> Result<Self, PayloadError> {
        let v: serde_json::Value =
            serde_json::from_str(plaintext).map_err(|e| PayloadError::NotJson(e.to_string()))?;
        let obj = v.as_object().ok_or(PayloadError::NotAnObject)?;
        let code = match obj.get("code") {
            Some(serde_json::Value::String(c)) => c.as_str(),
            Some(_) => return Err(PayloadError::NotAString("code")),
            None => return Err(PayloadError::MissingCode),
        };
        let text = |k: &'static str| -> Result<String, PayloadError> {
            match obj.get(k) {
                None | Some(serde_json::Value::Null) => Ok(String::new()),
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(PayloadError::NotAString(k)),
            }
        };
        if code == SUCCESS_CODE {
            match obj.get("mobile") {
                None => Ok(Payload::EmptyMobile(EmptyMobileForm::Absent)),
                Some(serde_json::Value::String(m)) if m.is_empty() => {
                    Ok(Payload::EmptyMobile(EmptyMobileForm::EmptyString))
                }
                Some(serde_json::Value::String(m)) => Ok(Payload::Mobile(m.clone())),
                Some(_) => Err(PayloadError::NotAString("mobile")),
            }
        } else {
            Ok(Payload::Error(PlatformError {
                code: code.to_string(),
                msg: text("msg")?,
                sub_code: text("subCode")?,
                sub_msg: text("subMsg")?,
            }))
        }
    }
}

impl RunData {
    /// Interprets decrypted `my.getRunData` plaintext as a correct merchant does: `code` must be
    /// a string; `10000` needs `count` (a non-negative integer) and `countDate` (a string); any
    /// other code is a platform error.
    pub fn parse(plaintext: &str) -> Result<Payload, PayloadError> {
        let v: serde_json::Value =
            serde_json::from_str(plaintext).map_err(|e| PayloadError::NotJson(e.to_string()))?;
        let obj = v.as_object().ok_or(PayloadError::NotAnObject)?;
        match obj.get("code") {
            Some(serde_json::Value::String(c)) if c == SUCCESS_CODE => {}
            Some(serde_json::Value::String(_)) => return Payload::parse(plaintext),
            Some(_) => return Err(PayloadError::NotAString("code")),
            None => return Err(PayloadError::MissingCode),
        }
        let count = obj
            .get("count")
            .and_then(serde_json::Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .ok_or(PayloadError::WrongField("count", "an integer from 0"))?;
        let count_date = match obj.get("countDate") {
            Some(serde_json::Value::String(d)) => d.clone(),
            _ => return Err(PayloadError::WrongField("countDate", "a string")),
        };
        Ok(Payload::Steps(RunData { count, count_date }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_data_plaintext_follows_the_documented_sample() {
        let p = Payload::Steps(RunData {
            count: 16880,
            count_date: "2018-12-19".into(),
        });
        assert_eq!(
            p.to_json(),
            r#"{"count":16880,"countDate":"2018-12-19","code":"10000","msg":"Success"}"#
        );
        assert_eq!(RunData::parse(&p.to_json()).unwrap(), p);
        let e = Payload::Error(PlatformError::insufficient_permissions_run_data());
        assert_eq!(RunData::parse(&e.to_json()).unwrap(), e);
        assert!(
            RunData::parse(r#"{"code":"10000","count":"5","countDate":"2018-12-19"}"#).is_err()
        );
        assert!(RunData::parse(r#"{"code":"10000","count":-1,"countDate":"2018-12-19"}"#).is_err());
        assert!(RunData::parse(r#"{"code":"10000","count":5}"#).is_err());
    }

    #[test]
    fn vector_c_plaintext_is_reproduced_byte_for_byte() {
        let expected = r#"{"code":"40006","msg":"Insufficient Permissions","subCode":"isv.insufficient-isv-permissions","subMsg":"ISV权限不足，建议在开发者中心检查对应功能是否已经添加，解决办法详见：https:\/\/docs.open.alipay.com\/common\/isverror"}"#;
        let ours = Payload::Error(PlatformError::insufficient_permissions()).to_json();
        assert_eq!(ours, expected);
        assert_eq!(ours.len(), 256);
    }

    #[test]
    fn parse_round_trips_every_form() {
        for p in [
            Payload::Mobile("1-1234432112".into()),
            Payload::EmptyMobile(EmptyMobileForm::EmptyString),
            Payload::EmptyMobile(EmptyMobileForm::Absent),
            Payload::Error(PlatformError::busy()),
            Payload::Error(PlatformError::insufficient_permissions()),
        ] {
            assert_eq!(Payload::parse(&p.to_json()).unwrap(), p);
        }
    }

    #[test]
    fn parse_refuses_wrong_types() {
        assert!(Payload::parse(r#"{"code":10000,"mobile":"1"}"#).is_err());
        assert!(Payload::parse(r#"{"code":"10000","mobile":13800000000}"#).is_err());
        assert!(Payload::parse(r#"[1]"#).is_err());
        assert!(Payload::parse("not json").is_err());
    }
}
