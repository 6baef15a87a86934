//! Mutations that turn a genuine envelope into a tampered, forged or hostile body.
//!
//! Each starts from the parts of a genuine success envelope whose plaintext carries the case's
//! canary mobile, and changes one thing. Flags compose in the order listed in the file.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::NoPadding;
use serde::{Deserialize, Serialize};

use super::KeyRole;
use crate::protocol::crypto::SignType;
use crate::protocol::crypto::aes::encrypt_padded;
use crate::protocol::envelope::{
    EnvelopeFields, Sealed, assemble, encrypt_to_base64, quoted, seal,
};
use crate::protocol::keys::KeySet;
use crate::protocol::payload::{Payload, PlatformError};

/// One mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Flip one bit in the middle of the signature.
    FlipSignBit,
    /// Flip one bit of the first ciphertext block; keep the old signature.
    FlipCiphertextBit,
    /// Re-sign the envelope with the attacker's key.
    SignWithAttacker,
    /// Re-sign the envelope with the app's own key, the key of `appCertPublicKey_<appid>.crt`
    /// (a merchant that loaded the app certificate as the Alipay one accepts it).
    SignWithAppKey,
    /// Remove `sign`.
    RemoveSign,
    /// Re-sign with the Alipay key over the ciphertext *without* quotes (a merchant that verifies
    /// the unquoted text accepts it, so it would accept anything signed that way).
    SignUnquoted,
    /// Re-sign with SHA-1 and declare `"sign_type":"RSA"` to a merchant configured for RSA2.
    DeclareRsaSha1,
    /// Replace the ciphertext by the plaintext object itself and drop `sign`.
    PlaintextPayload,
    /// Set `sign` to 256 bytes of base64 garbage.
    BogusSign,
    /// A genuine signed 40003 `response` first, then a second `response` key with the canary.
    DuplicateResponse,
    /// Encrypt with the attacker's AES key, signed validly by Alipay.
    WrongAesKey,
    /// Invalid PKCS#7 padding (last byte right, others zero) under a valid signature.
    BadPadding,
    /// Drop the last base64 quantum: valid base64, not a whole number of blocks; signed validly.
    TruncateCiphertext,
    /// Put characters outside the base64 alphabet into the ciphertext; signed validly.
    NonBase64Ciphertext,
    /// An empty body.
    EmptyBody,
    /// A body that is not JSON.
    NonJsonBody,
    /// JSON of the wrong shape: `response` a number, `sign` an array.
    WrongShape,
    /// A body of more than 1 MiB: a `response` of 1 MiB of base64, signed validly.
    HugeBody,
    /// Not an attack: send the payload as an unencrypted object *signed* by Alipay over its raw
    /// text (with its `\/` escapes). Catches merchants that re-serialise JSON before verifying.
    SignedPlaintext,
}

impl Flag {
    /// True when the result must be rejected; false for flags that keep the envelope genuine.
    pub fn rejecting(self) -> bool {
        !matches!(self, Flag::SignedPlaintext)
    }
}

/// The parts of an envelope under mutation.
#[derive(Debug, Clone)]
pub(crate) struct Parts {
    /// Raw `response` value token: `"<b64>"` or an object text.
    pub token: String,
    pub sign: Option<String>,
    pub sign_type: SignType,
    pub signed_with: KeyRole,
    pub fields: EnvelopeFields,
    /// Raw members appended after the header fields, e.g. `"sign_type":"RSA"`.
    pub extra: Vec<String>,
    /// Replaces the whole body when set.
    pub body: Option<String>,
}

impl Parts {
    pub(crate) fn from_sealed(s: &Sealed, fields: EnvelopeFields) -> Self {
        let token = match (&s.ciphertext, &s.signed_content) {
            (Some(ct), _) => quoted(ct),
            (None, Some(content)) => content.clone(),
            (None, None) => s.envelope.clone(),
        };
        Self {
            token,
            sign: s.sign.clone(),
            sign_type: SignType::Rsa2,
            signed_with: KeyRole::Platform,
            fields,
            extra: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn encrypted(&self) -> bool {
        self.token.starts_with('"')
    }

    pub(crate) fn render(&self) -> String {
        if let Some(b) = &self.body {
            return b.clone();
        }
        let mut env = assemble(
            &self.token,
            self.sign.as_deref(),
            self.sign_type,
            self.fields,
        );
        if !self.extra.is_empty() {
            env.pop();
            for m in &self.extra {
                env.push(',');
                env.push_str(m);
            }
            env.push('}');
        }
        env
    }

    fn resign(&mut self, keys: &KeySet) {
        self.sign = Some(
            keys.platform
                .signer
                .sign_base64(SignType::Rsa2, self.token.as_bytes()),
        );
        self.sign_type = SignType::Rsa2;
        self.signed_with = KeyRole::Platform;
    }

    fn ciphertext(&self) -> Vec<u8> {
        STANDARD
            .decode(self.token.trim_matches('"'))
            .unwrap_or_default()
    }
}

fn flip_middle_bit(b64: &str) -> String {
    let mut bytes = STANDARD.decode(b64).unwrap_or_default();
    if bytes.is_empty() {
        return "AA==".into();
    }
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    STANDARD.encode(bytes)
}

/// Applies one flag.
pub(crate) fn apply(flag: Flag, p: &mut Parts, plaintext: &mut Option<String>, keys: &KeySet) {
    let pt = plaintext.clone().unwrap_or_default();
    match flag {
        Flag::FlipSignBit => {
            let s = p.sign.clone().unwrap_or_default();
            p.sign = Some(flip_middle_bit(&s));
        }
        Flag::FlipCiphertextBit => {
            let mut ct = p.ciphertext();
            if let Some(b) = ct.first_mut() {
                *b ^= 0x01;
            }
            p.token = quoted(&STANDARD.encode(ct));
        }
        Flag::SignWithAttacker => {
            p.sign = Some(
                keys.attacker
                    .signer
                    .sign_base64(SignType::Rsa2, p.token.as_bytes()),
            );
            p.signed_with = KeyRole::Attacker;
        }
        Flag::SignWithAppKey => {
            // Without certificate material (see `KeySet::cert`) there is no app key: the attacker
            // key stands in, still a key other than Alipay's.
            let (signer, role) = match keys.cert() {
                Some(c) => (&c.app.signer, KeyRole::App),
                None => (&keys.attacker.signer, KeyRole::Attacker),
            };
            p.sign = Some(signer.sign_base64(SignType::Rsa2, p.token.as_bytes()));
            p.signed_with = role;
        }
        Flag::RemoveSign => p.sign = None,
        Flag::SignUnquoted => {
            let unquoted = p.token.trim_matches('"').to_string();
            p.sign = Some(
                keys.platform
                    .signer
                    .sign_base64(SignType::Rsa2, unquoted.as_bytes()),
            );
        }
        Flag::DeclareRsaSha1 => {
            p.sign = Some(
                keys.platform
                    .signer
                    .sign_base64(SignType::Rsa, p.token.as_bytes()),
            );
            p.sign_type = SignType::Rsa;
            if p.fields == EnvelopeFields::Minimal {
                p.extra.push("\"sign_type\":\"RSA\"".into());
            }
        }
        Flag::PlaintextPayload => {
            p.token = pt.clone();
            p.sign = None;
        }
        Flag::BogusSign => {
            let garbage: Vec<u8> = (0..256u32).map(|i| (i * 151 + 7) as u8).collect();
            p.sign = Some(STANDARD.encode(garbage));
            p.signed_with = KeyRole::Attacker;
        }
        Flag::DuplicateResponse => {
            // {"response":<genuine signed 40003>,"sign":<its signature>,"response":<canary>}
            let genuine = seal(
                &Payload::Error(PlatformError::invalid_auth_relations()).to_json(),
                &crate::protocol::envelope::SealOptions::standard(&keys.aes, &keys.platform.signer),
            );
            let canary = std::mem::replace(
                &mut p.token,
                quoted(&genuine.ciphertext.unwrap_or_default()),
            );
            p.sign = genuine.sign;
            p.signed_with = KeyRole::Platform;
            p.extra.push(format!("\"response\":{canary}"));
        }
        Flag::WrongAesKey => {
            p.token = quoted(&encrypt_to_base64(&keys.attacker_aes, pt.as_bytes()));
            p.resign(keys);
        }
        Flag::BadPadding => {
            let mut padded = pt.clone().into_bytes();
            let mut n = 16 - padded.len() % 16;
            if n == 1 {
                n = 17;
            }
            padded.extend(std::iter::repeat_n(0u8, n - 1));
            padded.push(n as u8);
            p.token = quoted(&STANDARD.encode(encrypt_padded::<NoPadding>(&keys.aes, &padded)));
            p.resign(keys);
        }
        Flag::TruncateCiphertext => {
            let b64 = p.token.trim_matches('"');
            let cut = &b64[..b64.len().saturating_sub(4)];
            p.token = quoted(cut);
            p.resign(keys);
        }
        Flag::NonBase64Ciphertext => {
            let b64 = p.token.trim_matches('"');
            let mid = b64.len() / 2;
            p.token = quoted(&format!("{}!*{}", &b64[..mid], &b64[mid + 2..]));
            p.resign(keys);
        }
        Flag::EmptyBody => p.body = Some(String::new()),
        Flag::NonJsonBody => {
            p.body = Some(format!(
                "response={}&sign={}",
                p.token.trim_matches('"'),
                p.sign.clone().unwrap_or_default()
            ));
        }
        Flag::WrongShape => {
            p.body = Some(r#"{"response":10000,"sign":["RSA2"],"mobile":null}"#.into());
        }
        Flag::SignedPlaintext => {
            p.token = pt.clone();
            p.resign(keys);
        }
        Flag::HugeBody => {
            let huge = "A".repeat(1024 * 1024);
            p.token = quoted(&huge);
            p.resign(keys);
        }
    }
}
