//! AES-CBC with a zero IV and PKCS#7 padding, the only content encryption Alipay uses for
//! `my.getPhoneNumber` (console "接口内容加密方式", `encrypt_type` `AES`).

use aes::{Aes128, Aes192, Aes256};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::{Padding, Pkcs7};
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};

use crate::protocol::error::{AesError, KeyError};

/// The all-zero IV every Alipay SDK uses for this API.
const ZERO_IV: [u8; 16] = [0; 16];

/// An AES content-encryption key of 16, 24 or 32 bytes (AES-128/192/256).
///
/// Any other length is an error, never silently truncated (PHP's `openssl_decrypt` truncates,
/// which is how a 25-byte key "works" there; see docs/protocol.md#vector-d).
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey(Vec<u8>);

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material, not even in debug output.
        write!(f, "AesKey({} bits)", self.0.len() * 8)
    }
}

impl AesKey {
    /// Wraps raw key bytes; fails unless there are 16, 24 or 32 of them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        match bytes.len() {
            16 | 24 | 32 => Ok(Self(bytes.to_vec())),
            n => Err(KeyError::AesLength { len: n }),
        }
    }

    /// Decodes the console form: standard base64 (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| KeyError::AesBase64(e.to_string()))?;
        Self::from_bytes(&bytes)
    }

    /// The console form of the key: standard base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.0)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Key length in bits (128, 192 or 256).
    pub fn bits(&self) -> usize {
        self.0.len() * 8
    }

    /// The app's key of the given size, derived from this (base) key: the one place an AES key
    /// of a size is made.
    ///
    /// [`AesSize::Aes128`] is the base key itself, whatever its own size. 192- and 256-bit keys
    /// (for the variants the SDKs accept) are derived deterministically: the first 24 or 32 bytes
    /// of `SHA-256("alipay-sim aes-<bits>" || base) || SHA-256("alipay-sim aes-<bits>/2" || base)`.
    pub fn of_size(&self, size: AesSize) -> AesKey {
        use sha2::{Digest, Sha256};
        if size == AesSize::Aes128 {
            return self.clone();
        }
        let label = format!("alipay-sim aes-{}", size.bits());
        let mut material = Sha256::new()
            .chain_update(label.as_bytes())
            .chain_update(&self.0)
            .finalize()
            .to_vec();
        material.extend_from_slice(
            &Sha256::new()
                .chain_update(format!("{label}/2").as_bytes())
                .chain_update(&self.0)
                .finalize(),
        );
        material.truncate(size.bytes());
        AesKey(material)
    }
}

/// The size of an AES content-encryption key: the console issues 128-bit keys; the SDKs also
/// accept 192 and 256. A size is one of these three by construction, so nothing downstream
/// checks (or panics on) a bit count.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(try_from = "usize", into = "usize")]
pub enum AesSize {
    /// AES-128, 16 bytes: the console's key and the default.
    #[default]
    Aes128,
    /// AES-192, 24 bytes.
    Aes192,
    /// AES-256, 32 bytes.
    Aes256,
}

impl AesSize {
    /// Every size, smallest first.
    pub const ALL: [AesSize; 3] = [AesSize::Aes128, AesSize::Aes192, AesSize::Aes256];

    /// The size in bits: 128, 192 or 256.
    pub fn bits(self) -> usize {
        match self {
            AesSize::Aes128 => 128,
            AesSize::Aes192 => 192,
            AesSize::Aes256 => 256,
        }
    }

    /// The size in bytes: 16, 24 or 32.
    pub fn bytes(self) -> usize {
        self.bits() / 8
    }

    /// The size of `bits` bits, if it is one of the three.
    pub fn from_bits(bits: usize) -> Result<Self, UnknownAesSize> {
        Self::ALL
            .into_iter()
            .find(|s| s.bits() == bits)
            .ok_or_else(|| UnknownAesSize(bits.to_string()))
    }
}

impl std::fmt::Display for AesSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.bits())
    }
}

/// An AES key size that is not 128, 192 or 256 bits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an AES key size (expected 128, 192 or 256)")]
pub struct UnknownAesSize(pub String);

impl std::str::FromStr for AesSize {
    type Err = UnknownAesSize;

    /// Parses `128`, `192` or `256`, as the flags and files write them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<usize>()
            .ok()
            .and_then(|b| Self::from_bits(b).ok())
            .ok_or_else(|| UnknownAesSize(s.to_string()))
    }
}

impl TryFrom<usize> for AesSize {
    type Error = UnknownAesSize;

    fn try_from(bits: usize) -> Result<Self, Self::Error> {
        Self::from_bits(bits)
    }
}

impl From<AesSize> for usize {
    fn from(size: AesSize) -> usize {
        size.bits()
    }
}

/// Encrypts `plaintext` with AES-CBC, zero IV, PKCS#7 padding; returns the raw ciphertext.
///
/// A plaintext whose length is a multiple of 16 gains a whole block of `0x10` padding.
pub fn encrypt(key: &AesKey, plaintext: &[u8]) -> Vec<u8> {
    encrypt_padded::<Pkcs7>(key, plaintext)
}

/// AES-CBC with a zero IV and the padding `P`; `NoPadding` lets the tamper cases write a
/// padding of their own (the caller then supplies whole blocks).
pub(crate) fn encrypt_padded<P: Padding>(key: &AesKey, data: &[u8]) -> Vec<u8> {
    let k = key.as_bytes();
    match k.len() {
        16 => cbc::Encryptor::<Aes128>::new_from_slices(k, &ZERO_IV)
            .expect("length checked by AesKey")
            .encrypt_padded_vec::<P>(data),
        24 => cbc::Encryptor::<Aes192>::new_from_slices(k, &ZERO_IV)
            .expect("length checked by AesKey")
            .encrypt_padded_vec::<P>(data),
        _ => cbc::Encryptor::<Aes256>::new_from_slices(k, &ZERO_IV)
            .expect("length checked by AesKey")
            .encrypt_padded_vec::<P>(data),
    }
}

/// Decrypts raw AES-CBC ciphertext (zero IV) and strictly checks the PKCS#7 padding.
///
/// Fails on an empty ciphertext, a length that is not a whole number of blocks, or padding that
/// is not `n` bytes of value `n` with `1 <= n <= 16`.
pub fn decrypt(key: &AesKey, ciphertext: &[u8]) -> Result<Vec<u8>, AesError> {
    if ciphertext.is_empty() {
        return Err(AesError::Empty);
    }
    if !ciphertext.len().is_multiple_of(16) {
        return Err(AesError::NotBlockAligned {
            len: ciphertext.len(),
        });
    }
    let k = key.as_bytes();
    let out = match k.len() {
        16 => cbc::Decryptor::<Aes128>::new_from_slices(k, &ZERO_IV)
            .expect("length checked by AesKey")
            .decrypt_padded_vec::<Pkcs7>(ciphertext),
        24 => cbc::Decryptor::<Aes192>::new_from_slices(k, &ZERO_IV)
            .expect("length checked by AesKey")
            .decrypt_padded_vec::<Pkcs7>(ciphertext),
        _ => cbc::Decryptor::<Aes256>::new_from_slices(k, &ZERO_IV)
            .expect("length checked by AesKey")
            .decrypt_padded_vec::<Pkcs7>(ciphertext),
    };
    out.map_err(|_| AesError::BadPadding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_aes_keys_have_their_sizes_and_differ() {
        let base = AesKey::from_bytes(&[7; 16]).unwrap();
        assert_eq!(base.of_size(AesSize::Aes128), base);
        let k24 = base.of_size(AesSize::Aes192);
        let k32 = base.of_size(AesSize::Aes256);
        assert_eq!((k24.bits(), k32.bits()), (192, 256));
        assert_ne!(k24.as_bytes(), &k32.as_bytes()[..24]);
    }

    #[test]
    fn a_size_is_one_of_three_and_reads_as_its_bits() {
        for size in AesSize::ALL {
            assert_eq!(size.to_string().parse::<AesSize>(), Ok(size));
            assert_eq!(AesSize::try_from(size.bits()), Ok(size));
            assert_eq!(size.bytes() * 8, size.bits());
        }
        assert_eq!(
            "129".parse::<AesSize>().unwrap_err().to_string(),
            "\"129\" is not an AES key size (expected 128, 192 or 256)"
        );
        assert!(AesSize::try_from(0).is_err());
        assert_eq!(serde_json::to_string(&AesSize::Aes256).unwrap(), "256");
        assert!(serde_json::from_str::<AesSize>("64").is_err());
    }

    #[test]
    fn vector_a_from_gopay_decrypts() {
        // docs/protocol.md#vector-a (gopay unit test).
        let key = AesKey::from_base64("TDftre9FpItr46e9BVNJcw==").unwrap();
        let ct = STANDARD
            .decode("MkvuiIZsGOC8S038cu/JIpoRKnF+ZFjoIRGf5d/K4+ctYjCtb/eEkwgrdB5TeH/93bxff1Ylb+SE+UGStlpvcg==")
            .unwrap();
        let pt = decrypt(&key, &ct).unwrap();
        assert_eq!(
            pt,
            br#"{"code":"10000","msg":"Success","mobile":"13247120685"}"#
        );
        assert_eq!(encrypt(&key, &pt), ct);
    }

    #[test]
    fn whole_block_plaintext_gains_a_full_padding_block() {
        let key = AesKey::from_bytes(&[7; 16]).unwrap();
        let ct = encrypt(&key, &[b'x'; 32]);
        assert_eq!(ct.len(), 48);
    }

    #[test]
    fn wrong_key_is_a_padding_error_or_garbage_never_a_panic() {
        let key = AesKey::from_bytes(&[1; 16]).unwrap();
        let other = AesKey::from_bytes(&[2; 16]).unwrap();
        let ct = encrypt(&key, b"{\"code\":\"10000\"}");
        match decrypt(&other, &ct) {
            Err(AesError::BadPadding) => {}
            Ok(pt) => assert_ne!(pt, b"{\"code\":\"10000\"}"),
            Err(e) => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn key_lengths_other_than_16_24_32_are_refused() {
        for n in [0, 15, 17, 25, 31, 33] {
            assert!(AesKey::from_bytes(&vec![0; n]).is_err(), "{n}");
        }
        // Vector D's 25-byte key must be refused, not truncated.
        assert!(AesKey::from_base64("ZXdCNW9ta1FsRGlVbzQ0TVdXbzJKN001dA==").is_err());
    }

    #[test]
    fn misaligned_and_empty_ciphertexts_are_typed_errors() {
        let key = AesKey::from_bytes(&[1; 16]).unwrap();
        assert_eq!(decrypt(&key, &[]), Err(AesError::Empty));
        assert_eq!(
            decrypt(&key, &[0; 17]),
            Err(AesError::NotBlockAligned { len: 17 })
        );
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = AesKey::from_bytes(&[0xAB; 16]).unwrap();
        assert_eq!(format!("{key:?}"), "AesKey(128 bits)");
    }
}
