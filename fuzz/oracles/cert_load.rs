//! Certificate loading (certificate mode, `alipay_sim::cert`): the PEM splitter and X.509 reading
//! of one file, and the whole three-file check (`CertSet::from_files`: SNs, keys, chains).
//!
//! Input: one selector byte, then a file's bytes. Selector 0: the bytes are one certificate file
//! read with `PemCerts::parse`, then its leaf SN, root SN and leaf key are read. 1-3: the bytes
//! replace the root bundle, the Alipay certificate or the app certificate of the committed TEST
//! set, and the three files are checked together.
//!
//! Oracle besides "no panic": every error names a certificate file; an SN is 32 lower-case hex
//! digits (a root SN: such groups joined with `_`); a parsed file holds at least one certificate;
//! a set that passes the check with a replaced file has the same app id and three SNs in form.
use std::sync::LazyLock;

use alipay_sim::{cert::CertFiles, cert::CertKeys, cert::CertSet, cert::PemCerts};

static EMBEDDED: LazyLock<CertFiles> = LazyLock::new(|| {
    CertKeys::embedded()
        .expect("the committed TEST certificate set loads")
        .set
        .files
});

const FILE: &str = "fuzz.crt";

fn is_sn(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Runs one input through the target and its oracle; panics on a finding.
pub(crate) fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    if sel % 4 == 0 {
        match PemCerts::parse(FILE, rest) {
            Err(e) => assert!(e.to_string().contains(FILE), "{e}"),
            Ok(certs) => {
                assert!(!certs.is_empty() && certs.len() == certs.ders().len());
                match certs.leaf_sn() {
                    Ok(sn) => assert!(is_sn(&sn), "leaf SN {sn:?}"),
                    Err(e) => assert!(e.to_string().contains(FILE), "{e}"),
                }
                match certs.root_sn() {
                    Ok(sn) => assert!(sn.split('_').all(is_sn), "root SN {sn:?}"),
                    Err(e) => assert!(e.to_string().contains(FILE), "{e}"),
                }
                if let Err(e) = certs.leaf_public_key() {
                    assert!(e.to_string().contains(FILE), "{e}");
                }
            }
        }
        return;
    }
    let text = String::from_utf8_lossy(rest).into_owned();
    let mut files = EMBEDDED.clone();
    let mut names = ["root.crt", "alipay.crt", "app.crt"];
    match sel % 4 {
        1 => files.root = text,
        2 => files.alipay = text,
        _ => files.app = text,
    }
    names[usize::from(sel % 4) - 1] = FILE;
    match CertSet::from_files(files, names) {
        Err(e) => assert!(e.to_string().starts_with("certificate file "), "{e}"),
        Ok(set) => {
            assert_eq!(set.files.app_id, EMBEDDED.app_id);
            assert!(is_sn(&set.sn.app_cert_sn) && is_sn(&set.sn.alipay_cert_sn));
            assert!(set.sn.alipay_root_cert_sn.split('_').all(is_sn));
        }
    }
}
