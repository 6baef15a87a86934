//! The `res.response` envelope: sealing (the Alipay side) and opening (what a correct merchant
//! does).
//!
//! Wire form (docs/protocol.md#defaults-and-variants):
//! `{"response":"<base64 AES-CBC ciphertext>","sign":"<base64 RSA signature>"}`, compact, where
//! the signature covers the ciphertext **wrapped in double quotes**, i.e. the raw JSON string token.
//! Unencrypted payloads are an object in place of the string and are signed over its raw text.
//!
//! ```
//! use alipay_sim::{KeySet, Opened, Opener, Payload, SealOptions, open, seal};
//!
//! let keys = KeySet::embedded();
//! let plaintext = Payload::Mobile("13800000000".into()).to_json();
//! let sealed = seal(&plaintext, &SealOptions::standard(&keys.aes, &keys.platform.signer));
//! assert!(sealed.envelope.starts_with(r#"{"response":""#));
//!
//! let opener = Opener::new(Some(keys.platform.verifier.clone()), Some(keys.aes.clone()));
//! let opened = opener.open(&sealed.envelope).unwrap();
//! assert_eq!(opened.result, Opened::Mobile("13800000000".into()));
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::protocol::crypto::{AesKey, SignType, Signer, Verifier, aes_decrypt, aes_encrypt};
use crate::protocol::error::{AesError, CallbackError, PayloadError, SignatureError};
use crate::protocol::json::{self, Kind};
use crate::protocol::payload::{Payload, PlatformError};

/// How an unencrypted payload (the 40001/40002 "加密异常" class) is shaped (Decision 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlainShape {
    /// `{"response":{...}}` as a string (getOpenUserInfo style). The default.
    #[default]
    Nested,
    /// The payload object itself as the string `{"code":...}`.
    Bare,
    /// The success callback's `response` is the payload *object*, not a string (getRunData style).
    Object,
}

/// Which top-level fields the envelope carries besides `response` and `sign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvelopeFields {
    /// `response` and `sign` only, as observed on real devices. The default.
    #[default]
    Minimal,
    /// `sign_type`, `encrypt_type`, `charset` appended after `sign`, in that order.
    Full,
}

/// Everything that decides the envelope's shape, besides the plaintext.
#[derive(Debug, Clone, Copy)]
pub struct SealOptions<'a> {
    /// AES key to encrypt with; `None` sends the plaintext object unencrypted.
    pub encrypt: Option<&'a AesKey>,
    /// Key and algorithm to sign with; `None` omits `sign`.
    pub sign: Option<(&'a Signer, SignType)>,
    /// Extra header fields.
    pub fields: EnvelopeFields,
    /// Shape of an unencrypted payload.
    pub plain_shape: PlainShape,
    /// Certificate mode: the SN of the Alipay certificate whose key signs, written as a last
    /// `"alipay_cert_sn"` member of a signed envelope (an unsigned one has no certificate to
    /// name, so it is left out there).
    pub alipay_cert_sn: Option<&'a str>,
}

impl<'a> SealOptions<'a> {
    /// The default production shape: AES-encrypted, RSA2-signed, minimal fields.
    pub fn standard(aes: &'a AesKey, signer: &'a Signer) -> Self {
        Self {
            encrypt: Some(aes),
            sign: Some((signer, SignType::Rsa2)),
            fields: EnvelopeFields::Minimal,
            plain_shape: PlainShape::Nested,
            alipay_cert_sn: None,
        }
    }
}

/// A sealed envelope and its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The exact `res.response` text.
    pub envelope: String,
    /// The base64 ciphertext, when encrypted.
    pub ciphertext: Option<String>,
    /// The exact text that was signed, when signed.
    pub signed_content: Option<String>,
    /// The base64 signature, when signed.
    pub sign: Option<String>,
    /// True when the success callback's `response` must be a JSON object, not a string
    /// ([`PlainShape::Object`]).
    pub response_is_object: bool,
}

/// Encrypts plaintext and returns standard base64, the `response` string's content.
pub fn encrypt_to_base64(key: &AesKey, plaintext: &[u8]) -> String {
    STANDARD.encode(aes_encrypt(key, plaintext))
}

/// The bytes Alipay signs for an encrypted payload: `"` + ciphertext + `"`.
pub fn quoted(ciphertext_b64: &str) -> String {
    format!("\"{ciphertext_b64}\"")
}

/// Assembles an envelope from a raw `response` value token (a quoted string or an object text),
/// an optional signature and the header-field choice. No escaping is applied: base64 needs none.
pub fn assemble(
    response_token: &str,
    sign: Option<&str>,
    sign_type: SignType,
    fields: EnvelopeFields,
) -> String {
    let mut out = String::with_capacity(response_token.len() + 400);
    out.push_str("{\"response\":");
    out.push_str(response_token);
    if let Some(s) = sign {
        out.push_str(",\"sign\":\"");
        out.push_str(s);
        out.push('"');
    }
    if fields == EnvelopeFields::Full {
        out.push_str(",\"sign_type\":\"");
        out.push_str(sign_type.as_str());
        out.push_str("\",\"encrypt_type\":\"AES\",\"charset\":\"UTF-8\"");
    }
    out.push('}');
    out
}

/// Seals a plaintext (normally [`Payload::to_json`]) into the `res.response` string.
pub fn seal(plaintext: &str, opts: &SealOptions<'_>) -> Sealed {
    let mut sealed = seal_body(plaintext, opts);
    if let Some(sn) = opts.alipay_cert_sn.filter(|_| sealed.sign.is_some()) {
        // A signed envelope is always an object written by `assemble`, so it ends in `}`.
        sealed.envelope.pop();
        sealed.envelope.push_str(",\"alipay_cert_sn\":\"");
        sealed.envelope.push_str(sn);
        sealed.envelope.push_str("\"}");
    }
    sealed
}

/// The envelope without the certificate SN.
fn seal_body(plaintext: &str, opts: &SealOptions<'_>) -> Sealed {
    let sign_type = opts.sign.map(|(_, t)| t).unwrap_or(SignType::Rsa2);
    match opts.encrypt {
        Some(key) => {
            let ct = encrypt_to_base64(key, plaintext.as_bytes());
            let token = quoted(&ct);
            let sign = opts
                .sign
                .map(|(signer, t)| signer.sign_base64(t, token.as_bytes()));
            Sealed {
                envelope: assemble(&token, sign.as_deref(), sign_type, opts.fields),
                ciphertext: Some(ct),
                signed_content: sign.as_ref().map(|_| token.clone()),
                sign,
                response_is_object: false,
            }
        }
        None => match opts.plain_shape {
            PlainShape::Nested => {
                let sign = opts
                    .sign
                    .map(|(signer, t)| signer.sign_base64(t, plaintext.as_bytes()));
                Sealed {
                    envelope: assemble(plaintext, sign.as_deref(), sign_type, opts.fields),
                    ciphertext: None,
                    signed_content: sign.as_ref().map(|_| plaintext.to_string()),
                    sign,
                    response_is_object: false,
                }
            }
            PlainShape::Bare | PlainShape::Object => Sealed {
                envelope: plaintext.to_string(),
                ciphertext: None,
                signed_content: None,
                sign: None,
                response_is_object: opts.plain_shape == PlainShape::Object,
            },
        },
    }
}

/// What a correct merchant concluded from an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Opened {
    /// The user's mobile number.
    Mobile(String),
    /// Success, but the account has no bound mobile: do not treat as a number.
    EmptyMobile,
    /// A platform error; 20000 means retry later.
    PlatformError(PlatformError),
}

/// The result of [`Opener::open`] with how it was protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedEnvelope {
    /// The conclusion.
    pub result: Opened,
    /// The signature was present and verified.
    pub verified: bool,
    /// The payload was AES-encrypted.
    pub encrypted: bool,
}

/// Why an envelope was rejected. Every variant means: do not trust, do not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Not a JSON object, or invalid JSON.
    #[error("malformed envelope: {0}")]
    Malformed(json::SyntaxError),
    /// A top-level key appears twice; which occurrence a parser keeps differs between libraries.
    #[error("malformed envelope: duplicate key {0:?}")]
    DuplicateKey(String),
    /// No `response` member.
    #[error("malformed envelope: no \"response\" field")]
    MissingResponse,
    /// `response` is neither a string nor an object, or a header field has the wrong type.
    #[error("malformed envelope: field {field:?} must be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// No `sign`, while a verification key is configured (signing removed or never added).
    #[error(
        "envelope has no sign, but an Alipay public key is configured: refusing unsigned content"
    )]
    MissingSign,
    /// `sign_type` names an algorithm we do not know.
    #[error("unsupported sign_type {0:?} (expected RSA2 or RSA)")]
    UnsupportedSignType(String),
    /// `sign_type` names a different algorithm than the one configured.
    #[error("sign_type {declared} does not match the configured {configured}")]
    SignTypeMismatch {
        /// What the envelope claims.
        declared: SignType,
        /// What the merchant is configured for.
        configured: SignType,
    },
    /// `encrypt_type` other than `AES`.
    #[error("unsupported encrypt_type {0:?} (expected AES)")]
    UnsupportedEncryptType(String),
    /// `charset` other than UTF-8.
    #[error("unsupported charset {0:?} (expected UTF-8)")]
    UnsupportedCharset(String),
    /// The signature did not verify.
    #[error("bad signature: {0}")]
    BadSignature(SignatureError),
    /// An encrypted payload, but no AES key configured.
    #[error("payload is encrypted but no AES key is configured")]
    NoAesKey,
    /// The ciphertext is not standard base64.
    #[error("ciphertext is not valid base64: {0}")]
    BadBase64(String),
    /// Decryption failed (length or padding).
    #[error("cannot decrypt: {0}")]
    Decrypt(AesError),
    /// The decrypted plaintext is not UTF-8 or not a well-formed result.
    #[error("bad plaintext: {0}")]
    BadPlaintext(PayloadError),
    /// An unencrypted payload claims success without a verified signature: anyone could write it.
    #[error("unencrypted payload claims success without a verified signature")]
    UnauthenticatedSuccess,
}

impl OpenError {
    /// A short stable name for the error class (used in JSON output).
    pub fn kind(&self) -> &'static str {
        match self {
            OpenError::Malformed(_) => "malformed",
            OpenError::DuplicateKey(_) => "duplicate_key",
            OpenError::MissingResponse => "missing_response",
            OpenError::WrongType { .. } => "wrong_type",
            OpenError::MissingSign => "missing_sign",
            OpenError::UnsupportedSignType(_) => "unsupported_sign_type",
            OpenError::SignTypeMismatch { .. } => "sign_type_mismatch",
            OpenError::UnsupportedEncryptType(_) => "unsupported_encrypt_type",
            OpenError::UnsupportedCharset(_) => "unsupported_charset",
            OpenError::BadSignature(_) => "bad_signature",
            OpenError::NoAesKey => "no_aes_key",
            OpenError::BadBase64(_) => "bad_base64",
            OpenError::Decrypt(_) => "bad_ciphertext",
            OpenError::BadPlaintext(_) => "bad_plaintext",
            OpenError::UnauthenticatedSuccess => "unauthenticated_success",
        }
    }
}

/// A merchant's configuration for opening envelopes.
#[derive(Debug, Clone)]
pub struct Opener {
    /// The Alipay public key; `None` means signing is not configured and `sign` is ignored.
    pub verifier: Option<Verifier>,
    /// The AES key; `None` means content encryption is not configured.
    pub aes: Option<AesKey>,
    /// The configured signature algorithm (default RSA2).
    pub sign_type: SignType,
}

/// Opens an envelope with the given configuration; see [`Opener::open`].
pub fn open(
    envelope: &str,
    verifier: Option<&Verifier>,
    aes: Option<&AesKey>,
) -> Result<OpenedEnvelope, OpenError> {
    Opener::new(verifier.cloned(), aes.cloned()).open(envelope)
}

impl Opener {
    /// A configuration verifying RSA2 with `verifier` (if any) and decrypting with `aes` (if any).
    pub fn new(verifier: Option<Verifier>, aes: Option<AesKey>) -> Self {
        Self {
            verifier,
            aes,
            sign_type: SignType::Rsa2,
        }
    }

    /// What a correct merchant does with the raw `res.response` string:
    ///
    /// 1. parse it strictly as one JSON object, refusing duplicate keys;
    /// 2. take the signed content from the raw text: the `response` string token *with* its
    ///    quotes, or the raw object text;
    /// 3. if a public key is configured: require `sign` (except for an unencrypted platform error,
    ///    which Alipay sends unsigned), pin the algorithm, verify, and stop on failure;
    /// 4. only then base64-decode and AES-decrypt with a strict padding check;
    /// 5. read `code`: `10000` with a mobile, `10000` with an empty mobile, or a platform error.
    ///
    /// An unencrypted payload may report an error unsigned, but may never claim success
    /// without a verified signature. It never decrypts before verifying.
    pub fn open(&self, envelope: &str) -> Result<OpenedEnvelope, OpenError> {
        let members = json::scan_object(envelope).map_err(OpenError::Malformed)?;
        for (i, m) in members.iter().enumerate() {
            if members[..i].iter().any(|o| o.key == m.key) {
                return Err(OpenError::DuplicateKey(m.key.clone()));
            }
        }
        let get = |k: &str| members.iter().find(|m| m.key == k);
        let text_field = |k: &'static str| -> Result<Option<&str>, OpenError> {
            match get(k) {
                None => Ok(None),
                Some(m) => m.string.as_deref().map(Some).ok_or(OpenError::WrongType {
                    field: k,
                    expected: "a string",
                }),
            }
        };

        let response = match get("response") {
            Some(r) => r,
            // The "bare" 40001 shape: the payload object itself, unsigned.
            None if get("code").is_some() => {
                return self.unsigned_plain(envelope);
            }
            None => return Err(OpenError::MissingResponse),
        };
        let sign = text_field("sign")?;
        let declared = match text_field("sign_type")? {
            None => None,
            Some(t) => Some(
                SignType::parse(t).ok_or_else(|| OpenError::UnsupportedSignType(t.to_string()))?,
            ),
        };
        if let Some(t) = text_field("encrypt_type")?
            && t != "AES"
        {
            return Err(OpenError::UnsupportedEncryptType(t.to_string()));
        }
        if let Some(c) = text_field("charset")?
            && !c.eq_ignore_ascii_case("UTF-8")
            && !c.eq_ignore_ascii_case("UTF8")
        {
            return Err(OpenError::UnsupportedCharset(c.to_string()));
        }
        let raw = &envelope[response.span.clone()];
        let encrypted = match response.kind {
            Kind::String => true,
            Kind::Object => false,
            _ => {
                return Err(OpenError::WrongType {
                    field: "response",
                    expected: "a string (ciphertext) or an object (plaintext)",
                });
            }
        };

        let mut verified = false;
        if let Some(verifier) = &self.verifier {
            match sign {
                None if !encrypted => return self.unsigned_plain(raw),
                None => return Err(OpenError::MissingSign),
                Some(sig) => {
                    if let Some(d) = declared
                        && d != self.sign_type
                    {
                        return Err(OpenError::SignTypeMismatch {
                            declared: d,
                            configured: self.sign_type,
                        });
                    }
                    verifier
                        .verify_base64(self.sign_type, raw.as_bytes(), sig)
                        .map_err(OpenError::BadSignature)?;
                    verified = true;
                }
            }
        }

        let plaintext = if encrypted {
            let key = self.aes.as_ref().ok_or(OpenError::NoAesKey)?;
            let b64 = response.string.as_deref().unwrap_or_default();
            let ct = STANDARD
                .decode(b64)
                .map_err(|e| OpenError::BadBase64(e.to_string()))?;
            let pt = aes_decrypt(key, &ct).map_err(OpenError::Decrypt)?;
            String::from_utf8(pt).map_err(|e| {
                OpenError::BadPlaintext(PayloadError::NotUtf8 {
                    valid_up_to: e.utf8_error().valid_up_to(),
                })
            })?
        } else {
            raw.to_string()
        };
        let payload = Payload::parse(&plaintext).map_err(OpenError::BadPlaintext)?;
        if !encrypted && !verified && !matches!(payload, Payload::Error(_)) {
            return Err(OpenError::UnauthenticatedSuccess);
        }
        Ok(OpenedEnvelope {
            result: to_opened(payload)?,
            verified,
            encrypted,
        })
    }

    fn unsigned_plain(&self, raw: &str) -> Result<OpenedEnvelope, OpenError> {
        match Payload::parse(raw).map_err(OpenError::BadPlaintext)? {
            Payload::Error(e) => Ok(OpenedEnvelope {
                result: Opened::PlatformError(e),
                verified: false,
                encrypted: false,
            }),
            _ if self.verifier.is_some() => Err(OpenError::MissingSign),
            _ => Err(OpenError::UnauthenticatedSuccess),
        }
    }
}

/// The envelope inside a success-callback object `{"response": ...}` (what `my.getPhoneNumber`
/// passes to the page and `alipay-sim serve` answers): its `response` string, or the raw text of
/// its `response` object (the unencrypted "object" shape, [`PlainShape::Object`]).
pub fn from_callback(callback: &str) -> Result<String, CallbackError> {
    let members = json::scan_object(callback).map_err(CallbackError::NotAnObject)?;
    let m = members
        .iter()
        .find(|m| m.key == "response")
        .ok_or(CallbackError::MissingResponse)?;
    match (&m.string, m.kind) {
        (Some(s), _) => Ok(s.clone()),
        (None, Kind::Object) => Ok(callback[m.span.clone()].to_string()),
        _ => Err(CallbackError::WrongType),
    }
}

/// The conclusion from a getPhoneNumber payload ([`Payload::parse`] never reads a step count,
/// so [`Payload::Steps`] is refused rather than guessed at).
fn to_opened(p: Payload) -> Result<Opened, OpenError> {
    Ok(match p {
        Payload::Mobile(m) => Opened::Mobile(m),
        Payload::EmptyMobile(_) => Opened::EmptyMobile,
        Payload::Error(e) => Opened::PlatformError(e),
        Payload::Steps(_) => {
            return Err(OpenError::BadPlaintext(PayloadError::WrongField(
                "mobile",
                "a getPhoneNumber plaintext",
            )));
        }
    })
}
