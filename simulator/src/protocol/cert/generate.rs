//! Making TEST-ONLY certificate sets with `rcgen`, shaped like the console's download.
//!
//! A set has four self-signed roots in `alipayRootCert.crt` (non-RSA, RSA, non-RSA, RSA, as the
//! real file orders SM2, RSA, ECDSA, RSA), an intermediate "Class 2" CA issued by the first RSA
//! root, and two leaves it issued: the Alipay leaf (holding the platform key that signs envelopes)
//! and the app leaf (holding a fresh app key). DNs are shaped like Alipay's (C, O, OU, CN encoded in
//! that order, so the SN form reads `CN=..,OU=..,O=..,C=..`), serials are 16 bytes like real leaf
//! serials, validity is long, and every subject says TEST.
//!
//! No maintained Rust crate signs X.509 certificates with SM2-with-SM3 through `rcgen`, so the
//! first root (an SM2 root in the real file) is ECDSA P-256 here: any non-RSA root exercises the
//! SDKs' "RSA roots only" filter the same way.

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType, IsCa, Issuer,
    KeyPair as RcKeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
    PKCS_RSA_SHA256, PublicKeyData, RsaKeySize, SerialNumber, SignatureAlgorithm,
    SubjectPublicKeyInfo, date_time_ymd,
};
use rsa::PublicKey;
use rsa::pkcs8::EncodePublicKey;

use super::{CertError, CertFiles};
pub use super::{TEST_APP_ID, TEST_PID, VECTOR_E_SN};

fn gen_err(e: impl std::fmt::Display) -> CertError {
    CertError::Generate(e.to_string())
}

/// A DN in Alipay's attribute order (C, O, OU, CN).
fn dn(c: &str, o: &str, ou: Option<&str>, cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, c);
    dn.push(DnType::OrganizationName, o);
    if let Some(ou) = ou {
        dn.push(DnType::OrganizationalUnitName, ou);
    }
    dn.push(DnType::CommonName, cn);
    dn
}

fn params(
    name: DistinguishedName,
    serial: &[u8],
    years: (i32, i32),
    ca: Option<BasicConstraints>,
) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name;
    p.serial_number = Some(SerialNumber::from_slice(serial));
    p.not_before = date_time_ymd(years.0, 1, 1);
    p.not_after = date_time_ymd(years.1, 1, 1);
    match ca {
        Some(bc) => {
            p.is_ca = IsCa::Ca(bc);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        None => {
            // What the console's leaves carry: digitalSignature, nonRepudiation,
            // keyEncipherment, dataEncipherment.
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
                KeyUsagePurpose::KeyEncipherment,
                KeyUsagePurpose::DataEncipherment,
            ];
        }
    }
    p
}

/// A CA: its parameters (for the issuer name) and its signing key.
struct Ca {
    params: CertificateParams,
    key: RcKeyPair,
    cert: Certificate,
}

fn new_key(alg: &'static SignatureAlgorithm) -> Result<RcKeyPair, CertError> {
    if alg == &PKCS_RSA_SHA256 {
        RcKeyPair::generate_rsa_for(alg, RsaKeySize::_2048).map_err(gen_err)
    } else {
        RcKeyPair::generate_for(alg).map_err(gen_err)
    }
}

fn root(
    alg: &'static SignatureAlgorithm,
    name: DistinguishedName,
    serial: &[u8],
) -> Result<Ca, CertError> {
    let key = new_key(alg)?;
    let params = params(
        name,
        serial,
        (2024, 2074),
        Some(BasicConstraints::Unconstrained),
    );
    let cert = params.self_signed(&key).map_err(gen_err)?;
    Ok(Ca { params, key, cert })
}

fn intermediate(issuer: &Ca, name: DistinguishedName, serial: &[u8]) -> Result<Ca, CertError> {
    let key = new_key(&PKCS_RSA_SHA256)?;
    let mut params = params(
        name,
        serial,
        (2024, 2064),
        Some(BasicConstraints::Constrained(0)),
    );
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&key, &Issuer::from_params(&issuer.params, &issuer.key))
        .map_err(gen_err)?;
    Ok(Ca { params, key, cert })
}

fn leaf(
    issuer: &Ca,
    name: DistinguishedName,
    serial: &[u8],
    key: &impl PublicKeyData,
) -> Result<Certificate, CertError> {
    let mut params = params(name, serial, (2025, 2045), None);
    params.use_authority_key_identifier_extension = true;
    params
        .signed_by(key, &Issuer::from_params(&issuer.params, &issuer.key))
        .map_err(gen_err)
}

fn spki_of(key: &PublicKey) -> Result<SubjectPublicKeyInfo, CertError> {
    let der = key.to_public_key_der().map_err(gen_err)?;
    SubjectPublicKeyInfo::from_der(der.as_bytes()).map_err(gen_err)
}

/// PEM text with LF line endings, as the console's files have.
fn pem_of(certs: &[&Certificate]) -> String {
    certs
        .iter()
        .map(|c| c.pem().replace("\r\n", "\n"))
        .collect()
}

/// A 16-byte leaf/intermediate serial shaped like Alipay's: `2026 1126` (a date) then random bytes.
fn long_serial() -> Vec<u8> {
    let tail: [u8; 12] = rand::random();
    let mut s = vec![0x20, 0x26, 0x11, 0x26];
    s.extend_from_slice(&tail);
    s
}

/// A published serial, written in hex.
fn serial_hex(digits: &str) -> Result<Vec<u8>, CertError> {
    hex::decode(digits).map_err(gen_err)
}

/// An 8-byte root serial (as the real roots have), positive.
fn root_serial() -> Vec<u8> {
    let mut s: [u8; 8] = rand::random();
    s[0] = (s[0] & 0x7f) | 0x10;
    s.to_vec()
}

impl GeneratedCerts {
    /// Checks the set and writes it under `<dir>/cert/` (see [`super::write_cert_dir`]).
    pub fn write_dir(&self, dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>, CertError> {
        super::write_cert_dir(dir, &self.files, &self.app_private_pem)
    }
}

/// A freshly generated set: the three files and the app private key.
#[derive(Debug, Clone)]
pub struct GeneratedCerts {
    /// The three certificate files.
    pub files: CertFiles,
    /// The app's private key, PKCS#8 PEM (TEST ONLY).
    pub app_private_pem: String,
}

/// Generates a TEST-ONLY set whose Alipay leaf holds `platform` (the key that signs envelopes)
/// and whose app leaf holds a fresh RSA-2048 app key.
pub fn generate(platform: &PublicKey, app_id: &str) -> Result<GeneratedCerts, CertError> {
    const O: &str = "alipay-sim TEST ONLY";
    const OU: &str = "Certification Authority TEST ONLY";
    let roots = [
        root(
            &PKCS_ECDSA_P256_SHA256,
            dn(
                "CN",
                "alipay-sim TEST NRCAC",
                None,
                "alipay-sim TEST ONLY ROOTCA",
            ),
            &root_serial(),
        )?,
        root(
            &PKCS_RSA_SHA256,
            dn(
                "CN",
                O,
                Some(OU),
                "alipay-sim TEST ONLY Certification Authority R1",
            ),
            &root_serial(),
        )?,
        root(
            &PKCS_ECDSA_P384_SHA384,
            dn(
                "CN",
                O,
                Some(OU),
                "alipay-sim TEST ONLY Certification Authority E1",
            ),
            &root_serial(),
        )?,
        root(
            &PKCS_RSA_SHA256,
            dn(
                "CN",
                "alipay-sim TEST Trust",
                Some("TEST ONLY Trust Network"),
                "alipay-sim TEST ONLY Class 2 Root CA - G3",
            ),
            &root_serial(),
        )?,
    ];
    let class2 = intermediate(
        &roots[1],
        dn(
            "CN",
            O,
            Some(OU),
            "alipay-sim TEST ONLY Certification Authority Class 2 R1",
        ),
        &long_serial(),
    )?;
    let merchant_o = "alipay-sim TEST ONLY 测试商户";
    let alipay_leaf = leaf(
        &class2,
        dn(
            "CN",
            merchant_o,
            Some("Alipay"),
            &format!("支付宝(中国)网络技术有限公司-{TEST_PID} TEST"),
        ),
        &long_serial(),
        &spki_of(platform)?,
    )?;
    let app_key = new_key(&PKCS_RSA_SHA256)?;
    let app_leaf = leaf(
        &class2,
        dn(
            "CN",
            merchant_o,
            Some("Alipay TEST"),
            &format!("{TEST_PID}-{app_id}"),
        ),
        &long_serial(),
        &app_key,
    )?;
    Ok(GeneratedCerts {
        files: CertFiles {
            app_id: app_id.to_owned(),
            root: pem_of(&roots.iter().map(|r| &r.cert).collect::<Vec<_>>()),
            alipay: pem_of(&[&alipay_leaf, &class2.cert]),
            app: pem_of(&[&app_leaf]),
        },
        app_private_pem: app_key.serialize_pem().replace("\r\n", "\n"),
    })
}

/// Certificates with the issuer names and serial numbers of vector E (docs/protocol.md#vector-e), made with our own
/// keys: the SN depends only on those two fields, so any correct SN implementation must return
/// [`VECTOR_E_SN`] for them. The roots are the real roots' names and serials (R1 and iTrusChina
/// G3 RSA-signed, E1 ECDSA-signed, and a non-RSA first root standing in for the SM2 one); the
/// leaves' subjects say TEST. For tests and interop only; never committed.
pub fn vector_e() -> Result<CertFiles, CertError> {
    const ANT: &str = "Ant Financial";
    const CA: &str = "Certification Authority";
    let roots = [
        root(
            &PKCS_ECDSA_P256_SHA256,
            dn("CN", "alipay-sim TEST", None, "stand-in for the SM2 ROOTCA"),
            &root_serial(),
        )?,
        root(
            &PKCS_RSA_SHA256,
            dn(
                "CN",
                ANT,
                Some(CA),
                "Ant Financial Certification Authority R1",
            ),
            &serial_hex("1FCFA18D6A480D11")?,
        )?,
        root(
            &PKCS_ECDSA_P384_SHA384,
            dn(
                "CN",
                ANT,
                Some(CA),
                "Ant Financial Certification Authority E1",
            ),
            &serial_hex("417EFA52C07FDF4A")?,
        )?,
        root(
            &PKCS_RSA_SHA256,
            dn(
                "CN",
                "iTrusChina",
                Some("China Trust Network"),
                "iTrusChina Class 2 Root CA - G3",
            ),
            &serial_hex("10C764E9D560384212D9C08FD10E373FDD0FB396")?,
        )?,
    ];
    let class = |n: u8| {
        intermediate(
            &roots[1],
            dn(
                "CN",
                ANT,
                Some(CA),
                &format!("Ant Financial Certification Authority Class {n} R1"),
            ),
            &long_serial(),
        )
    };
    let (class1, class2) = (class(1)?, class(2)?);
    // Both leaves: the same TEST subject, vector E's serial, a fresh key.
    let leaf_of = |issuer: &Ca, serial: &str| {
        leaf(
            issuer,
            dn(
                "CN",
                "alipay-sim TEST ONLY",
                Some("vector E"),
                "alipay-sim vector E TEST ONLY",
            ),
            &serial_hex(serial)?,
            &new_key(&PKCS_RSA_SHA256)?,
        )
    };
    let alipay_leaf = leaf_of(&class2, "20200514E63C2FE04D538716FE21358B")?;
    let app_leaf = leaf_of(&class1, "2020051862039D4090897BA4D51C2126")?;
    Ok(CertFiles {
        app_id: "2021001161683774".to_owned(),
        root: pem_of(&roots.iter().map(|r| &r.cert).collect::<Vec<_>>()),
        alipay: pem_of(&[&alipay_leaf, &class2.cert]),
        app: pem_of(&[&app_leaf]),
    })
}
