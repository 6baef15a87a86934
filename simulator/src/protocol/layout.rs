//! Where TEST-ONLY key material lives on disk, and the banner that marks it.
//!
//! The file names of a key directory sit here, below both `keys` (which reads and writes a key
//! directory) and `cert` (whose errors name the platform key file), so neither imports the other
//! for a name.

/// The warning every generated key file set carries.
pub const TEST_ONLY_WARNING: &str =
    "TEST ONLY: simulator key material. Never configure it in a production Alipay app.";

/// File names inside a key directory (see `keys/README.md`): the layout `KeySet::load_dir` reads and `KeySet::write_dir` writes.
pub mod key_files {
    /// The platform (Alipay) private key, PKCS#8 PEM. Never served.
    pub const PLATFORM_PRIVATE: &str = "platform/private.pkcs8.pem";
    /// The platform (Alipay) public key, SPKI PEM.
    pub const PLATFORM_PUBLIC_PEM: &str = "platform/public.spki.pem";
    /// The platform public key as the console shows it: one line of base64 SPKI DER.
    pub const PLATFORM_PUBLIC_B64: &str = "platform/public.b64.txt";
    /// The app's AES content-encryption key, base64.
    pub const PLATFORM_AES: &str = "platform/aes.b64.txt";
    /// The attacker's private key, PKCS#8 PEM.
    pub const ATTACKER_PRIVATE: &str = "attacker/private.pkcs8.pem";
    /// The attacker's public key, SPKI PEM.
    pub const ATTACKER_PUBLIC_PEM: &str = "attacker/public.spki.pem";
    /// The attacker's public key, one-line base64.
    pub const ATTACKER_PUBLIC_B64: &str = "attacker/public.b64.txt";
    /// An AES key unrelated to the app's.
    pub const ATTACKER_AES: &str = "attacker/aes.b64.txt";
    /// The app's own private key (key mode), PKCS#8 PEM: TEST ONLY, it signs the merchant's
    /// OpenAPI gateway requests and is handed out in the app bundle.
    pub const APP_PRIVATE: &str = "app/private.pkcs8.pem";
    /// The app's public key (registered with the simulated gateway), SPKI PEM.
    pub const APP_PUBLIC_PEM: &str = "app/public.spki.pem";
    /// The app's public key, one-line base64 (the form the console takes).
    pub const APP_PUBLIC_B64: &str = "app/public.b64.txt";
    /// The merchant bundle as a `.env` file.
    pub const MERCHANT_ENV: &str = "merchant.env";
    /// The merchant bundle as JSON.
    pub const MERCHANT_JSON: &str = "merchant.json";
}
