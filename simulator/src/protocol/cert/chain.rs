//! Chain verification: issuer names and the RSA signatures of the certificates above the leaf.

use super::*;

/// Verifies that the first certificate of `leaf` chains to a self-signed RSA root of `roots`,
/// using the certificates after the first one of `intermediates` as the only intermediates.
pub(super) fn verify_chain(
    leaf: &PemCerts,
    intermediates: &PemCerts,
    roots: &PemCerts,
) -> Result<(), CertError> {
    let chain_err = |detail: String| CertError::Chain {
        file: leaf.file.clone(),
        detail,
    };
    let mut pool: Vec<(X509Certificate<'_>, bool)> = Vec::new();
    for i in 1..intermediates.len() {
        pool.push((intermediates.cert(i), false));
    }
    for i in 0..roots.len() {
        pool.push((roots.cert(i), true));
    }
    let mut current = leaf.cert(0);
    for _ in 0..=pool.len() {
        if !current.validity().is_valid() {
            return Err(chain_err(format!(
                "\"{}\" is not valid today (valid {} to {})",
                current.subject(),
                current.validity().not_before,
                current.validity().not_after
            )));
        }
        let Some((issuer, is_root)) = pool
            .iter()
            .find(|(c, _)| c.subject().as_raw() == current.issuer().as_raw())
        else {
            return Err(chain_err(format!(
                "no certificate in {} or {} is the issuer \"{}\" of \"{}\"",
                intermediates.file,
                roots.file,
                current.issuer(),
                current.subject()
            )));
        };
        verify_rsa_signature(&current, issuer).map_err(|e| {
            chain_err(format!(
                "the signature of \"{}\" does not verify with the key of \"{}\": {e}",
                current.subject(),
                issuer.subject()
            ))
        })?;
        if *is_root {
            let oid = issuer.signature_algorithm.algorithm.to_id_string();
            if !oid.starts_with(RSA_SIGNATURE_OID_PREFIX) {
                return Err(chain_err(format!(
                    "it ends at root \"{}\", which is not RSA-signed ({oid})",
                    issuer.subject()
                )));
            }
            if !issuer.validity().is_valid() {
                return Err(chain_err(format!(
                    "root \"{}\" is not valid today",
                    issuer.subject()
                )));
            }
            return Ok(());
        }
        current = issuer.clone();
    }
    Err(chain_err("the issuer chain loops".into()))
}

/// Verifies `cert`'s signature with `issuer`'s key. Only RSA PKCS#1 v1.5 signatures (SHA-1,
/// SHA-256, SHA-384, SHA-512) are checked: a chain that matters here ends at an RSA root, and
/// every link of a console chain is RSA-signed.
pub(super) fn verify_rsa_signature(
    cert: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> Result<(), String> {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier as _;
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    let key = PublicKey::from_public_key_der(issuer.public_key().raw)
        .map_err(|e| format!("the issuer's key is not RSA ({e})"))?;
    let sig = Signature::try_from(cert.signature_value.data.as_ref())
        .map_err(|e| format!("malformed signature ({e})"))?;
    let tbs: &[u8] = cert.tbs_certificate.as_ref();
    let checked = match oid.as_str() {
        "1.2.840.113549.1.1.11" => VerifyingKey::<sha2::Sha256>::new(key).verify(tbs, &sig),
        "1.2.840.113549.1.1.12" => VerifyingKey::<sha2::Sha384>::new(key).verify(tbs, &sig),
        "1.2.840.113549.1.1.13" => VerifyingKey::<sha2::Sha512>::new(key).verify(tbs, &sig),
        "1.2.840.113549.1.1.5" => VerifyingKey::<sha1::Sha1>::new(key).verify(tbs, &sig),
        other => {
            return Err(format!(
                "signature algorithm {other} is not RSA PKCS#1 v1.5"
            ));
        }
    };
    checked.map_err(|_| "wrong signature".to_owned())
}
