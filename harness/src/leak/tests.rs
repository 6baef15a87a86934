//! The leak checks against every disguise of a secret, and the stack-frame finder.

use super::*;
use base64::engine::general_purpose::STANDARD;

#[test]
fn stack_frames_are_found_and_prose_is_not() {
    for trace in [
        "Error: boom\n    at Object.parse (/app/server.js:12:7)",
        "{\"error\":\"TypeError: x\\n    at handler (/srv/app.js:3:9)\"}",
        "java.lang.IllegalStateException\n\tat com.shop.Phone.decrypt(Phone.java:42)",
        "{\"trace\":\"x\\n\\tat com.shop.Phone.decrypt(Phone.java:42)\"}",
        "System.Exception\n   at Shop.Phone.Decrypt() in C:\\src\\Phone.cs:line 17",
        "Error\n    at /app/index.js:5:3",
    ] {
        assert!(stack_frame(trace).is_some(), "{trace}");
    }
    for prose in [
        "Please try again\n    at least once more.",
        "{\"status\":\"rejected\",\"error\":\"bad_signature\"}",
        "look at the docs",
        "arrived at 10:30",
    ] {
        assert_eq!(stack_frame(prose), None, "{prose}");
    }
}

fn km() -> (KeyMaterial, String) {
    let keys = KeySet::embedded();
    (KeyMaterial::from_keys(&keys), keys.aes.to_base64())
}

/// Every disguise the issue lists: each one hid the key from a literal substring check.
#[test]
fn the_aes_key_is_found_in_every_disguise() {
    let (km, b64) = km();
    let bytes = STANDARD.decode(&b64).unwrap();
    let gson = b64
        .replace('=', "\\u003d")
        .replace('/', "\\/")
        .replace('+', "\\u002b");
    let url = URL_SAFE_NO_PAD.encode(&bytes);
    let pct: String =
        percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC).to_string();
    let (a, b) = b64.split_at(10);
    let hex: String = bytes.iter().map(|x| format!("{x:02X}")).collect();
    let wrapped = STANDARD.encode(format!("decrypt failed: key={b64}"));
    for body in [
        format!("error: key {b64} bad"),
        format!("{{\"error\":\"key {gson}\"}}"),
        format!("<script>var e = \"{gson}\";</script>"),
        format!("<p>key &#x3D; {}&#61;&#61;</p>", b64.trim_end_matches('=')),
        format!("err=key%3D{pct}"),
        format!("{{\"k\":\"{url}\"}}"),
        format!("key:\n{a}\n{b}"),
        format!("{{\"k\":\"{a}\\n{b}\"}}"),
        format!("key={hex}"),
        format!("{{\"detail\":\"{wrapped}\"}}"),
        format!("{{\"e\":\"{{\\\"inner\\\":\\\"{gson}\\\"}}\"}}"),
        format!("<p>key: {a}<br>{b}</p>"),
    ] {
        assert_eq!(
            km.found_in(&Views::of(&body)),
            Some(SecretKind::AesKey),
            "{body}"
        );
    }
    for clean in [
        "{\"status\":\"rejected\",\"error\":\"bad_signature\"}",
        "{\"status\":\"ok\",\"mobile\":\"13812345678\"}",
        "",
    ] {
        assert_eq!(km.found_in(&Views::of(clean)), None, "{clean}");
    }
}

#[test]
fn private_keys_are_found_as_pem_one_line_and_any_der() {
    let (km, _) = km();
    let keys = KeySet::embedded();
    let pem = keys.platform.signer.private_pem();
    let one_line = pem_body(&pem);
    assert!(km.found_in(&Views::of(&pem)).is_some());
    let json_pem = serde_json::to_string(&serde_json::json!({ "k": pem })).unwrap();
    assert!(km.found_in(&Views::of(&json_pem)).is_some());
    assert_eq!(
        km.found_in(&Views::of(&format!("key={one_line}"))),
        Some(SecretKind::PrivateKeyOneLine)
    );
    // PKCS#1 (the RSAPrivateKey inside the PKCS#8 of a 2048-bit key, from byte 26), one line.
    let der = STANDARD.decode(&one_line).unwrap();
    assert_eq!(&der[22..24], &[0x04, 0x82], "PKCS#8 OCTET STRING header");
    let pkcs1 = STANDARD.encode(&der[26..]);
    assert_eq!(
        km.found_in(&Views::of(&format!("{{\"key\":\"{pkcs1}\"}}"))),
        Some(SecretKind::DerPrivateKey)
    );
    // Someone else's private key: found by its DER shape.
    let other = KeySet::generate();
    let other_line = pem_body(&other.attacker.signer.private_pem());
    assert_eq!(
        km.found_in(&Views::of(&format!("{{\"k\":\"{other_line}\"}}"))),
        Some(SecretKind::DerPrivateKey)
    );
}

#[test]
fn the_ciphertext_is_found_in_its_forms() {
    let ct = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY+/+/AB==";
    let s = Secret::from_base64(SecretKind::Ciphertext, ct);
    let gson = ct.replace('=', "\\u003d").replace('/', "\\/");
    for body in [
        format!("x {ct}"),
        format!("{{\"m\":\"content {gson}\"}}"),
        format!("{{\"m\":\"{}\"}}", ct.replace('+', "-").replace('/', "_")),
        format!("c%3D{}", ct.replace('+', "%2B").replace('/', "%2F")),
    ] {
        assert!(s.found_in(&Views::of(&body)), "{body}");
    }
    assert!(!s.found_in(&Views::of("{\"error\":\"bad_padding\"}")));
    // A megabyte ciphertext (tamper.body.huge) is matched by its start.
    let huge = "QUJD".repeat(256 * 1024);
    let s = Secret::from_base64(SecretKind::Ciphertext, &huge);
    assert!(s.found_in(&Views::of(&format!(
        "echo {}",
        &huge[..MAX_SECRET_CHARS + 8]
    ))));
    assert!(!s.found_in(&Views::of(&huge[..64])));
}

#[test]
fn redaction_covers_plain_forms_and_pem() {
    let (km, b64) = km();
    let red = km.redact(&format!("k={b64} k2={}", b64.replace('/', "\\/")));
    assert!(!red.contains(b64.trim_end_matches('=')), "{red}");
    assert!(red.contains("[REDACTED the AES key]"), "{red}");
    let pem = "a -----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY----- b";
    assert_eq!(km.redact(pem), "a [REDACTED PEM block] b");
    assert_eq!(km.redact("x -----BEGIN RSA"), "x [REDACTED PEM block]");
}

#[test]
fn unescaping_handles_surrogates_and_entities() {
    assert_eq!(unescape_embedded(r"a\u003db\/c"), "a=b/c");
    assert_eq!(unescape_embedded(r"\ud83d\ude00"), "😀");
    assert_eq!(unescape_embedded("&#x3D;&#61;&amp;"), "==&amp;");
    assert_eq!(unescape_embedded(r"\q \u12"), r"\q \u12");
}

mod ledger {
    use super::super::*;

    fn with(entries: &[(&str, &str)]) -> RunLedger {
        let l = RunLedger::new();
        for (m, owner) in entries {
            assert!(l.record(IdentityKind::Mobile, m, owner));
        }
        l
    }

    #[test]
    fn another_cases_mobile_is_crossed_and_names_its_owner() {
        let l = with(&[("13911112222", "platform.success.mainland")]);
        let body = r#"{"status":"platform_error","code":"40003","user":{"mobile":"13911112222"}}"#;
        let got = l.crossed_in(
            &Views::of(body),
            "platform.error.40003-invalid-auth-relations",
        );
        assert_eq!(
            got,
            vec![Crossed {
                kind: IdentityKind::Mobile,
                value: "13911112222".into(),
                owner: Owner::Case("platform.success.mainland".into()),
            }]
        );
        // Escaped, the mobile is still read.
        let escaped = r#"{"m":"139\u00311112222"}"#;
        assert_eq!(l.crossed_in(&Views::of(escaped), "x").len(), 1);
    }

    #[test]
    fn own_and_shared_values_are_never_crossed() {
        let l = with(&[
            ("13911112222", "a"),
            ("13911112222", "b"),
            ("13933334444", "b"),
        ]);
        let body = "13911112222 13933334444";
        assert!(l.crossed_in(&Views::of("13911112222"), "a").is_empty());
        assert_eq!(l.crossed_in(&Views::of(body), "a")[0].value, "13933334444");
        assert!(l.crossed_in(&Views::of(body), "b").is_empty());
    }

    /// The automaton is built once and reused; a value recorded after a look-up (a login case
    /// records its user as it goes) is found by the next look-up, and a new owner of a known
    /// value counts at once.
    #[test]
    fn values_recorded_after_a_look_up_are_found() {
        let l = with(&[("13911112222", "a")]);
        let body = "13911112222 13955556666";
        assert_eq!(l.crossed_in(&Views::of(body), "z").len(), 1);
        assert!(l.record(IdentityKind::Mobile, "13955556666", "b"));
        let values: Vec<String> = l
            .crossed_in(&Views::of(body), "z")
            .into_iter()
            .map(|c| c.value)
            .collect();
        assert_eq!(values, ["13911112222", "13955556666"]);
        assert!(l.record(IdentityKind::Mobile, "13955556666", "z"));
        assert_eq!(l.crossed_in(&Views::of(body), "z").len(), 1);
    }

    #[test]
    fn a_mobile_inside_a_longer_number_is_not_crossed() {
        let l = with(&[("13911112222", "a"), ("1-2025550199", "a")]);
        for text in [
            "ts=1391111222233",
            "id 913911112222",
            "{\"n\":21-20255501990}",
            "no mobile here",
        ] {
            assert!(l.crossed_in(&Views::of(text), "z").is_empty(), "{text}");
        }
        for text in ["+86 13911112222.", "tel:13911112222", "(+1-2025550199)"] {
            assert_eq!(l.crossed_in(&Views::of(text), "z").len(), 1, "{text}");
        }
    }

    /// Another user's mobile with China's country code, in groups, or in base64 (whose `=`
    /// padding used to split the run below the decoded length) is still that mobile.
    #[test]
    fn a_mobile_with_a_country_code_in_groups_or_in_base64_is_crossed() {
        let l = with(&[("13911112222", "a")]);
        for text in [
            "+8613911112222",
            "{\"m\":\"8613911112222\"}",
            "008613911112222",
            "139 1111 2222",
            "139-1111-2222",
            "{\"m\":\"MTM5MTExMTIyMjI=\"}",
        ] {
            assert_eq!(l.crossed_in(&Views::of(text), "z").len(), 1, "{text}");
        }
        // Glued to other digits it is still a longer number.
        for text in ["98613911112222", "1-139-1111-22223"] {
            assert!(l.crossed_in(&Views::of(text), "z").is_empty(), "{text}");
        }
    }

    #[test]
    fn short_values_are_not_recorded_and_tokens_need_whole_words() {
        let l = RunLedger::new();
        assert!(!l.record(IdentityKind::Mobile, "12345", "a"));
        assert!(!l.record(IdentityKind::AccessToken, "", "a"));
        assert!(l.is_empty());
        assert!(l.record(IdentityKind::AccessToken, "authusrB1a2b3c4d", "login.a"));
        assert!(l.record(IdentityKind::UserId, "2088102150477652", "login.a"));
        assert!(l.record(
            IdentityKind::OpenId,
            "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5",
            "login.a"
        ));
        assert_eq!(l.len(), 3);
        assert!(
            l.crossed_in(&Views::of("Bearer authusrB1a2b3c4dX"), "login.b")
                .is_empty()
        );
        let got = l.crossed_in(
            &Views::of(r#"{"access_token":"authusrB1a2b3c4d","user_id":"2088102150477652"}"#),
            "login.b",
        );
        let kinds: Vec<IdentityKind> = got.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [IdentityKind::UserId, IdentityKind::AccessToken]);
    }

    #[test]
    fn the_simulators_test_users_are_known_and_named() {
        let l = RunLedger::with_test_users();
        let got = l.crossed_in(&Views::of(r#"{"mobile":"13812345678"}"#), "any.case");
        assert_eq!(got[0].owner, Owner::TestUser("alice".into()));
        assert_eq!(got[0].owner.to_string(), "the simulator's test user alice");
        // A case that sealed alice's number owns it.
        l.record(IdentityKind::Mobile, "13812345678", "any.case");
        assert!(
            l.crossed_in(&Views::of(r#"{"mobile":"13812345678"}"#), "any.case")
                .is_empty()
        );
    }

    /// `DEMO_USERS` are the simulator's: read from its source so that they cannot drift (in the
    /// workspace, or next to the harness where `.ci/package` unpacks both crates).
    #[test]
    fn demo_users_match_the_simulator() {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let candidates = [
            here.join("../simulator/src/server/world.rs"),
            here.join(concat!(
                "../alipay-sim-",
                env!("CARGO_PKG_VERSION"),
                "/src/server/world.rs"
            )),
        ];
        let world = candidates
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_else(|| panic!("the simulator's world.rs at one of {candidates:?}"));
        for (name, mobile) in DEMO_USERS {
            assert!(
                world.contains(&format!("(\"{name}\", true, \"{mobile}\")"))
                    || world.contains(&format!("(\"{name}\", false, \"{mobile}\")")),
                "{name} {mobile}"
            );
        }
        let with_numbers = world
            .lines()
            .filter(|l| l.trim_start().starts_with("(\"") && l.contains(", \"1"))
            .count();
        assert_eq!(
            with_numbers,
            DEMO_USERS.len(),
            "every demo user with a number"
        );
    }

    #[test]
    fn headers_and_the_reason_phrase_are_read_too() {
        let l = with(&[("13911112222", "a")]);
        let v = Views::of_answer("{}", ["text/plain", "user=13911112222"], None);
        assert_eq!(l.crossed_in(&v, "b").len(), 1);
        let v = Views::of_answer("{}", [], Some("Bad user 13911112222"));
        assert_eq!(l.crossed_in(&v, "b").len(), 1);
        assert!(
            l.crossed_in(&Views::of_answer("{}", ["x"], Some("Bad")), "b")
                .is_empty()
        );
    }
}
