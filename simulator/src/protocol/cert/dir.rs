//! Writing a certificate directory (the three files and `cert-sn.json`).

use super::*;

/// `cert/cert-sn.json`: what a merchant's SDK will compute from the set.
#[derive(Debug, Serialize)]
struct SnFile<'a> {
    test_only: bool,
    warning: &'a str,
    app_id: &'a str,
    #[serde(flatten)]
    sn: &'a CertSn,
}

/// Checks a set (as [`CertSet::from_files`] does) and writes it under `<dir>/cert/`: the
/// three certificate files, the app key pair, `cert-sn.json` and a TEST ONLY README. Returns the
/// written paths.
pub fn write_cert_dir(
    dir: &Path,
    cert_files: &CertFiles,
    app_private_pem: &str,
) -> Result<Vec<PathBuf>, CertError> {
    let set = CertSet::from_files(
        cert_files.clone(),
        [files::ROOT, files::ALIPAY, &files::app(&cert_files.app_id)],
    )?;
    let sn_json = serde_json::to_string_pretty(&SnFile {
        test_only: true,
        warning: TEST_ONLY_WARNING,
        app_id: &cert_files.app_id,
        sn: &set.sn,
    })
    .expect("cert-sn.json serialises");
    let cert_dir = dir.join(files::DIR);
    // A set has one app certificate: drop those of a set this one replaces.
    if let Ok(entries) = fs::read_dir(&cert_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(files::APP_PREFIX)
                && name.ends_with(files::CRT)
                && name != files::app(&cert_files.app_id)
            {
                fs::remove_file(e.path()).map_err(|err| CertError::io(&e.path(), err))?;
            }
        }
    }
    let mut written = Vec::new();
    for (rel, text) in [
        (files::ROOT.to_owned(), cert_files.root.clone()),
        (files::ALIPAY.to_owned(), cert_files.alipay.clone()),
        (files::app(&cert_files.app_id), cert_files.app.clone()),
        (files::APP_PRIVATE.to_owned(), app_private_pem.to_owned()),
        (
            files::APP_PUBLIC_PEM.to_owned(),
            key_format::public_key_pem(&set.app_public_key),
        ),
        (files::SN_JSON.to_owned(), format!("{sn_json}\n")),
        (
            "README.md".to_owned(),
            format!(
                "# {TEST_ONLY_WARNING}\n\nA TEST-ONLY certificate set (公钥证书) made by alipay-sim: \
                 no real CA issued it and nothing trusts it. See the repository's keys/README.md.\n"
            ),
        ),
    ] {
        let path = cert_dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| CertError::io(parent, e))?;
        }
        fs::write(&path, text).map_err(|e| CertError::io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}
