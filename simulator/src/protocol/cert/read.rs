//! One certificate file in PEM: its certificates, their SNs and the leaf's public key.

use super::*;

/// The DER certificates of one PEM file, in file order.
#[derive(Debug, Clone)]
pub struct PemCerts {
    pub(super) file: String,
    pub(super) ders: Vec<Vec<u8>>,
}

impl PemCerts {
    /// Splits PEM `text` into certificates. `file` names the source in errors.
    ///
    /// Refused: text without any `-----BEGIN CERTIFICATE-----` block, broken armour or base64, a
    /// block of another type (e.g. a private key), a block that is not an X.509 certificate, and
    /// a `-----BEGIN` line the PEM reader did not consume (nothing is silently dropped).
    pub fn parse(file: &str, text: &[u8]) -> Result<Self, CertError> {
        let not_pem = |detail: String| CertError::NotPem {
            file: file.to_owned(),
            detail,
        };
        let begins = text
            .windows(b"-----BEGIN ".len())
            .filter(|w| *w == b"-----BEGIN ")
            .count();
        if begins == 0 {
            let detail = if text.first() == Some(&0x30) {
                "it looks like binary DER; convert it with `openssl x509 -inform DER`".to_owned()
            } else if text.iter().all(u8::is_ascii_whitespace) {
                "the file is empty".to_owned()
            } else {
                "no -----BEGIN CERTIFICATE----- line".to_owned()
            };
            return Err(not_pem(detail));
        }
        let blocks = pem::parse_many(text).map_err(|e| not_pem(e.to_string()))?;
        if blocks.len() != begins {
            return Err(not_pem(format!(
                "{begins} -----BEGIN lines but {} well-formed PEM blocks",
                blocks.len()
            )));
        }
        let mut ders = Vec::with_capacity(blocks.len());
        for (i, block) in blocks.into_iter().enumerate() {
            let index = i + 1;
            if block.tag() != "CERTIFICATE" {
                return Err(CertError::NotCertificate {
                    file: file.to_owned(),
                    index,
                    detail: format!("the PEM block is {:?}, not CERTIFICATE", block.tag()),
                });
            }
            let der = block.into_contents();
            match X509Certificate::from_der(&der) {
                Ok(([], _)) => {}
                Ok((rest, _)) => {
                    return Err(CertError::NotCertificate {
                        file: file.to_owned(),
                        index,
                        detail: format!("{} bytes after the certificate", rest.len()),
                    });
                }
                Err(e) => {
                    return Err(CertError::NotCertificate {
                        file: file.to_owned(),
                        index,
                        detail: e.to_string(),
                    });
                }
            }
            ders.push(der);
        }
        Ok(Self {
            file: file.to_owned(),
            ders,
        })
    }

    /// Reads and splits a PEM file.
    pub fn read(path: &Path) -> Result<Self, CertError> {
        let bytes = fs::read(path).map_err(|e| CertError::io(path, e))?;
        Self::parse(&path.display().to_string(), &bytes)
    }

    /// The name used in errors.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// How many certificates the file holds.
    pub fn len(&self) -> usize {
        self.ders.len()
    }

    /// Whether the file holds no certificate (never true for a parsed file).
    pub fn is_empty(&self) -> bool {
        self.ders.is_empty()
    }

    /// The DER bytes of each certificate, in file order.
    pub fn ders(&self) -> &[Vec<u8>] {
        &self.ders
    }

    pub(super) fn cert(&self, i: usize) -> X509Certificate<'_> {
        // Every block was parsed once in `parse`; parsing again cannot fail.
        X509Certificate::from_der(&self.ders[i])
            .expect("checked when the file was parsed")
            .1
    }

    /// The SN of the first certificate (what the SDKs use for `app_cert_sn`/`alipay_cert_sn`).
    pub fn leaf_sn(&self) -> Result<String, CertError> {
        cert_sn(&self.cert(0), &self.file)
    }

    /// `alipay_root_cert_sn`: the SNs of the RSA-signed certificates, joined with `_` in file order.
    pub fn root_sn(&self) -> Result<String, CertError> {
        let mut sns = Vec::new();
        let mut found = Vec::new();
        for i in 0..self.ders.len() {
            let cert = self.cert(i);
            let oid = cert.signature_algorithm.algorithm.to_id_string();
            if oid.starts_with(RSA_SIGNATURE_OID_PREFIX) {
                sns.push(cert_sn(&cert, &self.file)?);
            }
            found.push(oid);
        }
        if sns.is_empty() {
            return Err(CertError::NoRsaRoot {
                file: self.file.clone(),
                found: found.join(", "),
            });
        }
        Ok(sns.join("_"))
    }

    /// The RSA public key of the first certificate.
    pub fn leaf_public_key(&self) -> Result<PublicKey, CertError> {
        let cert = self.cert(0);
        let spki = cert.public_key();
        PublicKey::from_public_key_der(spki.raw).map_err(|e| CertError::NotRsaKey {
            file: self.file.clone(),
            detail: format!(
                "key algorithm {} ({e})",
                spki.algorithm.algorithm.to_id_string()
            ),
        })
    }
}

/// The issuer DN the way the SDKs render it for the SN: attributes from the most specific
/// (last encoded) to the least, `shortName=value`, joined with `,` (Java's RFC 2253 form and
/// Node's reversed attribute list agree on this for the DNs Alipay uses).
pub fn issuer_for_sn(name: &X509Name<'_>, file: &str) -> Result<String, CertError> {
    let registry = x509_parser::objects::oid_registry();
    let mut parts = Vec::new();
    for attr in name.iter_attributes() {
        let oid = attr.attr_type();
        let short = x509_parser::objects::oid2abbrev(oid, registry)
            .map(str::to_owned)
            .unwrap_or_else(|_| oid.to_id_string());
        let value = attr.as_str().map_err(|_| CertError::IssuerName {
            file: file.to_owned(),
            attribute: short.clone(),
        })?;
        parts.push(format!("{short}={value}"));
    }
    parts.reverse();
    Ok(parts.join(","))
}

/// The SN of one certificate: lowercase hex of `MD5(issuer + decimal serial)`, 32 characters.
pub fn cert_sn(cert: &X509Certificate<'_>, file: &str) -> Result<String, CertError> {
    Ok(sn_of(
        &issuer_for_sn(cert.issuer(), file)?,
        &cert.tbs_certificate.serial.to_str_radix(10),
    ))
}

/// `hex(MD5(issuer + serial_decimal))`, the SN formula itself.
pub fn sn_of(issuer: &str, serial_decimal: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(issuer.as_bytes());
    md5.update(serial_decimal.as_bytes());
    hex::encode(md5.finalize())
}

/// Reads the Alipay public key out of `alipayCertPublicKey_RSA2.crt` (its first certificate), as
/// every SDK does. No chain check: this is what a merchant's verification uses.
pub fn alipay_public_key_from_cert(path: &Path) -> Result<PublicKey, CertError> {
    PemCerts::read(path)?.leaf_public_key()
}
