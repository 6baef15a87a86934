//! Invariants of the committed catalogue, and loader errors that name file and field.

use std::collections::BTreeSet;
use std::path::Path;

use alipay_sim::{
    Api, Catalogue, KeySet, Kind, Opened, Opener, Outcome, Payload, RunData,
    testing::valid_scenario_id as valid_id,
};

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

#[test]
fn embedded_catalogue_equals_the_directory() {
    let a = Catalogue::embedded();
    let b = Catalogue::load_dir(&dir()).unwrap();
    assert_eq!(a.all(), b.all());
    assert!(a.len() >= 30);
    assert!(a.run_data().len() >= 8);
}

#[test]
fn ids_are_stable_dotted_names_matching_file_names() {
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&p).unwrap();
            let c = Catalogue::from_sources([(p.display().to_string(), text)]).unwrap();
            let s = &c.all()[0];
            assert!(valid_id(&s.id));
            assert_eq!(
                p.file_stem().unwrap().to_str().unwrap(),
                s.id,
                "file name must be the id"
            );
            let family = s.id.split('.').next().unwrap();
            match (s.api, s.kind()) {
                (Api::GetRunData, _) => assert_eq!(family, "rundata", "{}", s.id),
                (Api::GetPhoneNumber, Kind::Platform) => assert_eq!(family, "platform", "{}", s.id),
                (Api::GetPhoneNumber, Kind::Tamper) => assert_eq!(family, "tamper", "{}", s.id),
            }
            assert!(seen.insert(s.id.clone()));
        }
    }
}

/// Ids once landed must never disappear (they are users' JUnit test names).
#[test]
fn landed_ids_are_never_removed() {
    let landed = include_str!("landed-ids.txt");
    let cat = Catalogue::embedded();
    for id in landed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        assert!(
            cat.get(id).is_some(),
            "landed scenario id {id} was removed or renamed"
        );
    }
}

#[test]
fn every_success_ciphertext_contains_plus_and_slash() {
    let keys = KeySet::embedded();
    let mut checked = 0;
    for s in Catalogue::embedded().scenarios() {
        let b = s.build(&keys);
        if b.expected.outcome == Outcome::Accept && b.encrypted {
            let m = alipay_sim::json::scan_object(&b.body).unwrap();
            let ct = m[0].string.as_deref().unwrap();
            assert!(ct.contains('+') && ct.contains('/'), "{}: {ct}", s.id);
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked}");
}

#[test]
fn a_correct_merchant_reaches_every_expected_outcome() {
    let keys = KeySet::embedded();
    for s in Catalogue::embedded().scenarios() {
        let b = s.build(&keys);
        let profile = s.merchant_profile();
        let mut opener = Opener::new(
            profile
                .verifies
                .or(if profile.any_signing {
                    Some(alipay_sim::SignType::Rsa2)
                } else {
                    None
                })
                .map(|_| keys.platform.verifier.clone()),
            b.merchant_aes.clone().or(Some(keys.aes.clone())),
        );
        if let Some(t) = profile.verifies {
            opener.sign_type = t;
        }
        let got = opener.open(&b.body);
        let e = &b.expected;
        match (e.outcome, &got) {
            (Outcome::Accept, Ok(o)) => {
                assert_eq!(
                    o.result,
                    Opened::Mobile(e.mobile.clone().unwrap()),
                    "{}",
                    s.id
                )
            }
            (Outcome::NoMobile, Ok(o)) => assert_eq!(o.result, Opened::EmptyMobile, "{}", s.id),
            (Outcome::PlatformError | Outcome::RetryLater, Ok(o)) => match &o.result {
                Opened::PlatformError(pe) => {
                    assert_eq!(Some(&pe.code), e.code.as_ref(), "{}", s.id);
                    if let Some(sc) = &e.sub_code {
                        assert_eq!(&pe.sub_code, sc, "{}", s.id);
                    }
                }
                other => panic!("{}: got {other:?}", s.id),
            },
            (Outcome::Reject, Err(_)) => {}
            (outcome, got) => panic!("{}: expected {outcome}, got {got:?}", s.id),
        }
        if let Some(canary) = &b.canary {
            assert!(canary.len() >= 11, "{}", s.id);
        }
    }
}

/// The getRunData cases: only in `run_data()` (never among the phone cases the harness and the
/// corpus run), and a careful reader of each (signature over the quoted ciphertext, AES, then
/// the step-count plaintext; or the error object in the clear) reaches the file's outcome.
#[test]
fn run_data_cases_are_apart_and_read_as_expected() {
    let cat = Catalogue::embedded();
    assert!(cat.scenarios().iter().all(|s| s.api == Api::GetPhoneNumber));
    assert!(cat.run_data().iter().all(|s| s.api == Api::GetRunData));
    assert_eq!(
        cat.all().len(),
        cat.scenarios().len() + cat.run_data().len()
    );
    assert!(cat.get("rundata.genuine").is_some());
    let keys = KeySet::embedded();
    for s in cat.run_data() {
        let b = s.build(&keys);
        let plaintext = if b.encrypted {
            let env: serde_json::Value = serde_json::from_str(&b.body).unwrap();
            let ct = env["response"].as_str().unwrap();
            if b.signed {
                use base64::Engine as _;
                let sig = base64::engine::general_purpose::STANDARD
                    .decode(env["sign"].as_str().unwrap())
                    .unwrap();
                keys.platform
                    .verifier
                    .verify(b.sign_type.unwrap(), format!("\"{ct}\"").as_bytes(), &sig)
                    .unwrap_or_else(|e| panic!("{}: {e}", s.id));
            }
            let raw =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, ct).unwrap();
            String::from_utf8(
                alipay_sim::aes_decrypt(b.merchant_aes.as_ref().unwrap(), &raw).unwrap(),
            )
            .unwrap()
        } else {
            assert!(b.response_is_object && !b.signed, "{}: {}", s.id, b.body);
            b.body.clone()
        };
        assert_eq!(Some(&plaintext), b.plaintext.as_ref(), "{}", s.id);
        match (s.expect.outcome, RunData::parse(&plaintext).unwrap()) {
            (Outcome::Accept, Payload::Steps(r)) => {
                assert_eq!(r.count_date, s.count_date(), "{}", s.id);
                if let Some(n) = s.user.steps {
                    assert_eq!(r.count, n, "{}", s.id);
                }
            }
            (Outcome::PlatformError | Outcome::RetryLater, Payload::Error(e)) => {
                assert_eq!(Some(&e.code), s.expect.code.as_ref(), "{}", s.id);
            }
            (o, p) => panic!("{}: expected {o}, read {p:?}", s.id),
        }
    }
}

#[test]
fn api_only_fields_are_refused_elsewhere() {
    let head = "id = \"x.y\"\ntitle = \"t\"\nmodels = \"m\"\nremediation = \"r\"\nsource = \"s\"\n";
    for (extra, field) in [
        ("[user]\nsteps = 5\n", "user.steps"),
        ("[call]\ncount_date = \"2018-12-19\"\n", "call.count_date"),
    ] {
        let e = load_err(&format!("{head}{extra}[expect]\noutcome = \"accept\"\n"));
        assert!(e.contains(field) && e.contains("getRunData"), "{e}");
    }
    let run = format!("{head}api = \"getRunData\"\n");
    for (extra, field) in [
        ("[user]\nsteps = 1000000\n", "user.steps"),
        ("[user]\nmobile = \"overseas\"\n", "user.mobile"),
        ("[call]\ncount_date = \"2018-02-30\"\n", "call.count_date"),
        ("[tamper]\nflags = [\"flip_sign_bit\"]\n", "tamper"),
    ] {
        let e = load_err(&format!("{run}{extra}[expect]\noutcome = \"accept\"\n"));
        assert!(e.contains(field), "{e}");
    }
}

#[test]
fn builds_are_deterministic() {
    let keys = KeySet::embedded();
    for s in Catalogue::embedded().all() {
        assert_eq!(s.build(&keys).body, s.build(&keys).body, "{}", s.id);
    }
}

fn load_err(text: &str) -> String {
    Catalogue::from_sources([("scen/bad.toml".to_string(), text.to_string())])
        .unwrap_err()
        .to_string()
}

const GOOD: &str = r#"
id = "platform.custom.case"
title = "t"
models = "m"
remediation = "r"
source = "s"
[expect]
outcome = "accept"
"#;

#[test]
fn bad_scenario_files_name_path_and_field() {
    assert!(Catalogue::from_sources([("a.toml".into(), GOOD.into())]).is_ok());
    let e = load_err(&GOOD.replace("outcome = \"accept\"", "outcome = \"maybe\""));
    assert!(e.starts_with("scen/bad.toml: expect.outcome:"), "{e}");
    let e = load_err(&format!("{GOOD}\n[console]\nencryption = \"des\"\n"));
    assert!(e.starts_with("scen/bad.toml: console.encryption:"), "{e}");
    let e = load_err(&GOOD.replace("title = \"t\"", "title = \"t\"\ncolour = \"red\""));
    assert!(e.contains("scen/bad.toml") && e.contains("colour"), "{e}");
    let e = load_err(&GOOD.replace("platform.custom.case", "Platform Case"));
    assert!(e.starts_with("scen/bad.toml: id:"), "{e}");
    let e = load_err(&GOOD.replace("outcome = \"accept\"", "outcome = \"reject\""));
    assert!(
        e.starts_with("scen/bad.toml: expect:") && e.contains("platform model"),
        "{e}"
    );
    let e = load_err(&GOOD.replace("outcome = \"accept\"", "outcome = \"platform_error\""));
    assert!(e.starts_with("scen/bad.toml: expect.code:"), "{e}");
    let e = load_err(&format!("{GOOD}\n[user]\nmobile = \"+86 138\"\n"));
    assert!(e.starts_with("scen/bad.toml: user.mobile:"), "{e}");
    let e = load_err("this is not toml");
    assert!(e.starts_with("scen/bad.toml:"), "{e}");
    let twice = Catalogue::from_sources([
        ("a.toml".to_string(), GOOD.to_string()),
        ("b.toml".to_string(), GOOD.to_string()),
    ])
    .unwrap_err()
    .to_string();
    assert!(twice.starts_with("b.toml: id: duplicate"), "{twice}");
}

#[test]
fn a_scenario_directory_of_the_users_own_loads() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("mine.toml"), GOOD).unwrap();
    let c = Catalogue::load_dir(tmp.path()).unwrap();
    assert_eq!(c.len(), 1);
    let empty = tempfile::tempdir().unwrap();
    let e = Catalogue::load_dir(empty.path()).unwrap_err().to_string();
    assert!(e.contains("no *.toml"), "{e}");
    let e = Catalogue::load_dir(&empty.path().join("nope"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot read scenario directory"), "{e}");
}

#[test]
fn every_id_is_in_the_scenarios_readme_table() {
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    for s in Catalogue::embedded().all() {
        assert!(
            readme.contains(&format!("| `{}` |", s.id)),
            "scenarios/README.md has no table row for {}",
            s.id
        );
    }
}
