//! # alipay-sim: the Alipay side of `my.getPhoneNumber`, offline
//!
//! A mini-program never sees the user's phone number. `my.getPhoneNumber` hands it an envelope,
//! `{"response":"<AES ciphertext>","sign":"<RSA2 signature>"}`, which it forwards to the merchant's
//! server. The server verifies `sign` over the ciphertext *wrapped in double quotes*, decrypts it
//! with AES-128-CBC (zero IV, PKCS#7) and reads `{"code":"10000","msg":"Success","mobile":"..."}`
//! or a platform error.
//!
//! This library produces those envelopes byte-exact for every platform state and opens them the
//! way a correct merchant must.
//!
//! ```
//! use alipay_sim::{AesSize, KeySet, Opened, Payload, SealOptions, Signing, seal};
//!
//! let keys = KeySet::embedded(); // TEST-ONLY keys
//! let sealed = seal(
//!     &Payload::Mobile("13800000000".into()).to_json(),
//!     &SealOptions::standard(&keys.aes, &keys.platform.signer),
//! );
//! // The merchant side: only the Alipay public key and the AES key.
//! let opener = keys.merchant().opener(Signing::Rsa2, AesSize::Aes128);
//! let opened = opener.open(&sealed.envelope).unwrap();
//! assert_eq!(opened.result, Opened::Mobile("13800000000".into()));
//! ```
//!
//! ## Layers, and where each behaviour lives
//!
//! The library is three layers, each a private module; what users call is re-exported here.
//! A layer imports only from the layers above it in this list (`.ci/layers` checks it):
//!
//! 1. **protocol** (`src/protocol/`): the wire, as Alipay writes it, with no notion of apps,
//!    users or cases.
//! 2. **model** (`src/model/`): the platform deciding an answer, and the case catalogue.
//! 3. **tools** (`src/tools/`): fixtures, corpora and where keys and cases come from.
//!
//! `server` (feature `server`) and the `alipay-sim` binary sit on top of all three.
//!
//! | behaviour | file |
//! |---|---|
//! | AES-CBC and the one door to an AES key of a size ([`AesKey::of_size`]) | `protocol/crypto/aes.rs` |
//! | RSA PKCS#1 v1.5 (RSA2 / RSA), the signing backends, [`KeyPair`] | `protocol/crypto/rsa.rs` |
//! | key formats read and written (PEM, the console's one-line base64) | `protocol/key_format.rs` |
//! | file names of a key directory, the TEST ONLY banner | `protocol/layout.rs` |
//! | TEST-ONLY key sets (embedded, from a directory, generated); the merchant's keys | `protocol/keys/` |
//! | certificate mode (公钥证书): the three files, their SNs and checks | `protocol/cert/` ([`cert`]) |
//! | how envelopes are signed (none, RSA2, RSA, certificate mode) | `protocol/signing.rs` |
//! | the plaintext as Alipay writes it, and reading it back | `protocol/payload.rs` |
//! | sealing and opening envelopes (the certificate SN included); the callback object | `protocol/envelope.rs` |
//! | the JSON scanner keeping raw spans and duplicate keys, Alipay's JSON writer | `protocol/json.rs` ([`json`]) |
//! | typed errors of the protocol | `protocol/error.rs` |
//! | the OpenAPI gateway's wire: v2 signing string, signed answers, errors, v3 headers | `protocol/gateway.rs` ([`gateway`]) |
//! | console, user and platform state deciding the answer | `model/platform.rs` |
//! | the catalogue: file format, loading, building a case, tamper mutations | `model/scenario/` |
//! | deterministic mobile numbers | `model/mobile.rs` |
//! | identities, auth codes, tokens, scopes, lifetimes, identity mode | `model/login.rs` ([`login`]) |
//! | fixture files and their manifest | `tools/fixture.rs` |
//! | envelope corpora for load engines (`alipay-sim corpus`) | `tools/corpus/` ([`corpus`]) |
//! | `--keys DIR` / `--scenarios DIR` or the embedded ones | `tools/sources.rs` |
//! | one line for an error chain, a closed pipe | `tools/error_chain.rs` |
//! | `alipay-sim serve` (feature `server`) | `server/` |
//!
//! The protocol as this crate implements it is written down in `docs/protocol.md` at the
//! repository's root.
//!
//! ## Features
//!
//! - `server` (default): the HTTP simulator and what only it and the `alipay-sim` binary use
//!   (axum, tokio, reqwest, clap, tracing). Without it the crate is the protocol core alone.
//! - `aws-lc` (default): RSA2 signing with aws-lc-rs, ten times faster than the pure-Rust `rsa`
//!   crate and byte-identical. Without it every signature is made by `rsa`.
//! - `cert-gen` (part of `server`): making TEST-ONLY certificate sets with `rcgen` (certificate
//!   mode). Reading and checking certificate sets is in the core; without `cert-gen` a key set
//!   has certificate material only when it comes with a `cert/` directory (the embedded one does).
//! - `testing`: a `testing` module with the two internals this crate's own tests and fuzz
//!   targets reach into (the JSON scanner's depth limit, the scenario id rule). Not a stable API.
//!
//! A test suite that only seals and opens envelopes needs
//! `alipay-sim = { ..., default-features = false }`.

mod model;
mod protocol;
#[cfg(feature = "server")]
pub mod server;
mod tools;

// The protocol layer.
pub use protocol::crypto::{
    AesKey, AesSize, KeyPair, SignBackend, SignType, Signer, UnknownAesSize, Verifier, aes_decrypt,
    aes_encrypt,
};
pub use protocol::envelope::{
    EnvelopeFields, OpenError, Opened, OpenedEnvelope, Opener, PlainShape, SealOptions, Sealed,
    assemble, encrypt_to_base64, from_callback, open, quoted, seal,
};
pub use protocol::error::{
    AesError, CallbackError, CertError, KeyError, PayloadError, SignatureError,
};
pub use protocol::key_format::{
    parse_private_key, parse_public_key, public_key_one_line, public_key_pem,
};
pub use protocol::keys::{APP_KEY_WARNING, KeySet, MerchantBundle, MerchantKeys};
pub use protocol::layout::{TEST_ONLY_WARNING, key_files};
pub use protocol::payload::{
    EmptyMobileForm, MAX_STEP_COUNT, Payload, PlatformError, RunData, SUCCESS_CODE,
};
pub use protocol::signing::{Signing, UnknownSigning};

/// Certificate mode (公钥证书): the three certificate files, their SNs and the checks a careful
/// merchant makes (`src/protocol/cert/`).
pub mod cert {
    #[cfg(feature = "cert-gen")]
    pub use crate::protocol::cert::generate;
    pub use crate::protocol::cert::{
        CertBundle, CertFiles, CertKeys, CertPems, CertSet, CertSn, PemCerts, TEST_APP_ID,
        TEST_PID, VECTOR_E_SN, alipay_public_key_from_cert, cert_sn, files, issuer_for_sn, sn_of,
        write_cert_dir,
    };
}

/// The JSON scanner that keeps raw spans and duplicate keys, and Alipay's compact JSON writer
/// (`src/protocol/json.rs`).
pub mod json {
    pub use crate::protocol::json::{
        Kind, Member, SyntaxError, scan_object, write_object, write_string,
    };
}

/// The OpenAPI gateway on the wire (`src/protocol/gateway.rs`): the v2 signing string, the
/// answer written once and signed over its exact bytes, Alipay's error objects, the v3
/// `Authorization` header and signed response headers.
pub mod gateway {
    pub use crate::protocol::gateway::{
        ERROR_RESPONSE, GATEWAY_SUCCESS, GatewayError, ObjectWriter, Param, V3_SCHEME,
        V3Authorization, beijing_time, parse_form, parse_v3_authorization, response_key,
        signing_string, v3_auth_string, v3_authorization, v3_error_body, v3_request_text,
        v3_response_text, valid_timestamp, verify_v3_request, write_answer,
    };
}

/// The login as data (`src/model/login.rs`): Alipay identities, `my.getAuthCode` scopes, auth
/// codes and tokens with their lifetimes, and which identities an app receives.
pub mod login {
    pub use crate::model::login::{
        DEFAULT_ACCESS_LIFETIME_SECS, DEFAULT_CODE_LIFETIME_SECS, DEFAULT_REFRESH_LIFETIME_SECS,
        Grant, IdentityMode, LoginSettings, LoginStore, MAX_ENTRIES, MAX_LIFETIME_SECS, Refusal,
        Scope, Tokens, derived_open_id, derived_user_id, valid_open_id, valid_user_id,
    };
}

// The model layer.
pub use model::mobile::generated_mobile;
pub use model::platform::{
    Api, BusyDelivery, Call, Console, Decision, Encryption, Mobile, Platform, User, decide,
    decide_api, decide_run_data,
};
pub use model::scenario::{
    BugClass, Built, Catalogue, Expectation, KeyRole, Kind, MerchantProfile, Outcome, Scenario,
    ScenarioError, Severity, toml_error_line,
};

// The tools layer.
pub use tools::error_chain::{chain_line, is_broken_pipe};
pub use tools::fixture::gateway::{
    GATEWAY_FIXTURE_APP_ID, GATEWAY_FIXTURE_SCHEMA, GATEWAY_FIXTURE_USER, GatewayExpectation,
    GatewayFixture, GatewayFixtureKeys, gateway_fixtures,
};
pub use tools::fixture::{
    FIXTURE_SCHEMA, Fixture, FixtureError, MANIFEST_SCHEMA, Manifest, write_all as write_fixtures,
};
pub use tools::sources::Sources;

/// Envelope corpora for load engines, `alipay-sim corpus` (`src/tools/corpus/`).
pub mod corpus {
    #[cfg(feature = "server")]
    pub use crate::tools::corpus::{CorpusArgs, run};
    pub use crate::tools::corpus::{
        CorpusError, Format, Mix, MixEntry, Plan, Record, Summary, default_threads, write_to,
    };
}

/// Internals that this crate's own tests, examples and fuzz targets reach into. Not a stable
/// API: nothing outside this repository should enable the `testing` feature.
#[cfg(feature = "testing")]
pub mod testing {
    /// The JSON scanner's nesting limit (deeper input is refused, never recursed into).
    pub const JSON_MAX_DEPTH: usize = crate::protocol::json::MAX_DEPTH;

    /// Whether `id` is a well-formed scenario id: dotted lowercase segments of `[a-z0-9-]`, at
    /// least two of them.
    pub fn valid_scenario_id(id: &str) -> bool {
        crate::model::scenario::valid_id(id)
    }
}
