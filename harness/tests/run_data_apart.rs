//! The catalogue's `my.getRunData` cases (`rundata.*`, issue 17 item 6) are not phone-number
//! cases: the harness never sends a step-count envelope to a phone-number endpoint and expects a
//! mobile. Its case list is exactly what it is without them.

use assert_cmd::Command;

fn listing(args: &[&str]) -> String {
    let out = Command::cargo_bin("alipay-harness")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

fn scenarios_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

#[test]
fn the_phone_case_list_is_the_catalogue_without_its_run_data_cases() {
    // The committed catalogue does hold getRunData cases...
    let run_data: Vec<_> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("rundata.")
        })
        .collect();
    assert!(run_data.len() >= 8, "{run_data:?}");
    // ...and the list with them equals, byte for byte, the list of a directory without them.
    let without = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(scenarios_dir()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.ends_with(".toml") && !name.starts_with("rundata.") {
            std::fs::copy(&p, without.path().join(&name)).unwrap();
        }
    }
    let dir = without.path().to_str().unwrap();
    for format in ["text", "json"] {
        let embedded = listing(&["list", "--format", format]);
        let from_dir = listing(&["list", "--format", format, "--scenarios", dir]);
        let full_dir = scenarios_dir();
        let with_run_data = listing(&[
            "list",
            "--format",
            format,
            "--scenarios",
            full_dir.to_str().unwrap(),
        ]);
        assert_eq!(embedded, from_dir, "{format}");
        assert_eq!(with_run_data, from_dir, "{format}");
        assert!(!embedded.contains("rundata."), "{embedded}");
    }
    let run = listing(&["run", "--list"]);
    assert!(!run.contains("rundata."), "{run}");
    assert!(
        run.lines().any(|l| l == "platform.success.mainland"),
        "{run}"
    );
}
