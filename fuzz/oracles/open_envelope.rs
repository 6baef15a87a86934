//! The envelope opener under every configuration a merchant can have.
//!
//! Input: one selector byte, then the envelope text (UTF-8; other bytes are skipped, as the HTTP
//! layer hands the opener a `&str`). The selector picks the Alipay public key (none, the
//! platform's, an attacker's), the AES key (none, 128/192/256-bit platform keys, an attacker's)
//! and the configured algorithm (RSA2, RSA). When its top bit is set the text is instead taken as
//! a *plaintext*: sealed the way Alipay seals it and opened again, which must give exactly what
//! `Payload::parse` reads from the plaintext.
//!
//! Oracle besides "no panic": a success (a mobile or an empty mobile) is never reported unless
//! it was verified, or encrypted while no public key is configured; `verified` implies a key is
//! configured; every error has a kind and a message.

use std::sync::LazyLock;

use alipay_sim::{
    AesKey, AesSize, EnvelopeFields, KeySet, OpenError, Opened, Opener, Payload, SealOptions,
    SignType, Verifier, seal,
};

static KEYS: LazyLock<KeySet> = LazyLock::new(KeySet::embedded);

fn verifier(sel: u8) -> Option<Verifier> {
    match sel % 3 {
        0 => None,
        1 => Some(KEYS.platform.verifier.clone()),
        _ => Some(KEYS.attacker.verifier.clone()),
    }
}

fn aes(sel: u8) -> Option<AesKey> {
    match sel % 5 {
        0 => None,
        1 => Some(KEYS.aes.clone()),
        2 => Some(KEYS.aes.of_size(AesSize::Aes192)),
        3 => Some(KEYS.aes.of_size(AesSize::Aes256)),
        _ => Some(KEYS.attacker_aes.clone()),
    }
}

fn open_checked(opener: &Opener, text: &str) -> Result<alipay_sim::OpenedEnvelope, OpenError> {
    let got = opener.open(text);
    match &got {
        Ok(o) => {
            if o.verified {
                assert!(
                    opener.verifier.is_some(),
                    "verified without a public key: {text:?}"
                );
            }
            if matches!(o.result, Opened::Mobile(_) | Opened::EmptyMobile) {
                assert!(
                    o.verified || (o.encrypted && opener.verifier.is_none()),
                    "success accepted without authentication: {text:?} -> {o:?}"
                );
            }
        }
        Err(e) => {
            assert!(!e.kind().is_empty());
            assert!(!e.to_string().is_empty());
        }
    }
    got
}

/// Runs one input through the target and its oracle; panics on a finding.
pub(crate) fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if sel & 0x80 == 0 {
        let mut opener = Opener::new(verifier(sel), aes(sel / 3));
        if sel & 0x40 != 0 {
            opener.sign_type = SignType::Rsa;
        }
        let _ = open_checked(&opener, text);
        return;
    }

    // Seal-and-open: the text is a plaintext.
    let sign_type = if sel & 1 == 0 {
        SignType::Rsa2
    } else {
        SignType::Rsa
    };
    let fields = if sel & 2 == 0 {
        EnvelopeFields::Minimal
    } else {
        EnvelopeFields::Full
    };
    let key = aes(1 + (sel >> 2) % 4).expect("an AES key");
    let opts = SealOptions {
        encrypt: Some(&key),
        sign: Some((&KEYS.platform.signer, sign_type)),
        fields,
        plain_shape: Default::default(),
        alipay_cert_sn: None,
    };
    let sealed = seal(text, &opts);
    let mut opener = Opener::new(Some(KEYS.platform.verifier.clone()), Some(key.clone()));
    opener.sign_type = sign_type;
    let got = open_checked(&opener, &sealed.envelope);
    match Payload::parse(text) {
        Ok(p) => {
            let o =
                got.unwrap_or_else(|e| panic!("a genuine envelope of {text:?} was refused: {e}"));
            assert!(o.verified && o.encrypted);
            let want = match p {
                Payload::Mobile(m) => Opened::Mobile(m),
                Payload::EmptyMobile(_) => Opened::EmptyMobile,
                Payload::Error(e) => Opened::PlatformError(e),
                Payload::Steps(_) => unreachable!("Payload::parse reads getPhoneNumber plaintext"),
            };
            assert_eq!(o.result, want, "plaintext {text:?}");
        }
        Err(_) => assert!(
            matches!(got, Err(OpenError::BadPlaintext(_))),
            "plaintext {text:?} is not a result, yet opening gave {got:?}"
        ),
    }
}
