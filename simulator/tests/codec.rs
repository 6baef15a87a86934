//! The codec against public vectors and against every class of broken envelope.

use alipay_sim::{
    AesError, AesKey, EmptyMobileForm, EnvelopeFields, KeySet, OpenError, Opened, Opener, Payload,
    PlainShape, PlatformError, SealOptions, SignType, assemble, quoted, seal,
};

fn keys() -> KeySet {
    KeySet::embedded()
}

fn opener(k: &KeySet) -> Opener {
    Opener::new(Some(k.platform.verifier.clone()), Some(k.aes.clone()))
}

fn success(k: &KeySet) -> String {
    seal(
        &Payload::Mobile("13812345678".into()).to_json(),
        &SealOptions::standard(&k.aes, &k.platform.signer),
    )
    .envelope
}

#[test]
fn public_vector_a_opens_unsigned() {
    // docs/protocol.md#vector-a (gopay): key + ciphertext, no signature published.
    let aes = AesKey::from_base64("TDftre9FpItr46e9BVNJcw==").unwrap();
    let env = r#"{"response":"MkvuiIZsGOC8S038cu/JIpoRKnF+ZFjoIRGf5d/K4+ctYjCtb/eEkwgrdB5TeH/93bxff1Ylb+SE+UGStlpvcg=="}"#;
    let o = Opener::new(None, Some(aes)).open(env).unwrap();
    assert_eq!(o.result, Opened::Mobile("13247120685".into()));
    assert!(!o.verified);
}

#[test]
fn public_vector_c_opens_to_40006_and_we_reproduce_its_ciphertext() {
    let aes = AesKey::from_base64("Lj59Ubk1ZyzlUZGTKgTl6A==").unwrap();
    let ct = "4m4HcVZR14pvTtmNbqgkH3qtmLhJpCZx6oi6u2stmGUo2Z3OmKhtHF/VaiFQ023pKJvhXwSRVjC3IBaotOduxO/zIrIqfg+xnvBWY2zYC/UDLPbsm66yz8omvQLRBGsP8MHYLaOFEgFUgREOCa8AKH7u9v6YlnTIdp1XZGGZnKydissMwTiU4xrM5quZnFwqgTSXmCzSEfeHfjr4qTO+pLGRfY/0J/U932FCq012udkj0pA1UspfCnUU4LY8z3AiPr63TKS4ZEj5Pxz5x7beTf5pGQDrrFHaB87/dbbo8V/143RalmWsyNTiKlAA6S8OO4uXtL6tkYXCddyYQnk6waYqrZOgJLnVS5o9PLzzChU=";
    let env = format!(r#"{{"response":"{ct}"}}"#);
    let o = Opener::new(None, Some(aes.clone())).open(&env).unwrap();
    assert_eq!(
        o.result,
        Opened::PlatformError(PlatformError::insufficient_permissions())
    );
    // Our plaintext writer and AES produce Alipay's exact bytes.
    let ours = seal(
        &Payload::Error(PlatformError::insufficient_permissions()).to_json(),
        &SealOptions {
            encrypt: Some(&aes),
            sign: None,
            fields: EnvelopeFields::Minimal,
            plain_shape: PlainShape::Nested,
            alipay_cert_sn: None,
        },
    );
    assert_eq!(ours.ciphertext.as_deref(), Some(ct));
    assert_eq!(ours.envelope, env);
}

#[test]
fn public_vector_b_envelope_shape_is_ours() {
    // docs/protocol.md#vector-b: a real envelope is exactly {"response":"…","sign":"…"}; its key decrypts it.
    let env = r#"{"response":"3UO4ElDwNFuhOg+3UVTlCaiHYgtPFis0EOEy/gBPRuCw1ZX4P5gNsbbATblw5LWfKsEpa5FuFwNUrz14E2Dr8Q==","sign":"N8T+WmCZk5ulYd32bS9uR9KFYkTojqKaYKVAi3HFEp/6RrFrSMoRzD5J29OHfghlxoOe6ZG5Hf2ZKaxdtxURgY04YhmPbygS/l1ECJDmB2yGsPPaTbFP/o20QdpPmFriAVOiWwQLbnVUzm0uwb33zx38YUhyg8L9Rw/q0ts7ZQbIooJXg4JpLQ7cpAScxilRg1JnsTzmClz+UQbOTatnl8gz9NqyTStuAUXecVEOGR/nHMkO53WFkJw3TgAYEdWMclORBUoylQ3O+n8Dkq0uBrWoNQnm7921GUZ9QbrZjcE+zbkoxBfR1jxA7Pp78Pyy6eTVcfyZVO/xQfliBBm5nQ=="}"#;
    let aes = AesKey::from_base64("FywUuew48mvipAYW+NmZqg==").unwrap();
    // Alipay's public key for it is not published: open without verification.
    let o = Opener::new(None, Some(aes.clone())).open(env).unwrap();
    assert_eq!(o.result, Opened::Mobile("15811449547".into()));
    // With *our* key configured the genuine-but-foreign signature must be refused.
    let k = keys();
    let e = Opener::new(Some(k.platform.verifier.clone()), Some(aes))
        .open(env)
        .unwrap_err();
    assert!(matches!(e, OpenError::BadSignature(_)), "{e}");
}

#[test]
fn seal_then_open_every_payload_and_shape() {
    let k = keys();
    for p in [
        Payload::Mobile("13800000000".into()),
        Payload::Mobile("1-1234432112".into()),
        Payload::EmptyMobile(EmptyMobileForm::EmptyString),
        Payload::EmptyMobile(EmptyMobileForm::Absent),
        Payload::Error(PlatformError::busy()),
        Payload::Error(PlatformError::insufficient_permissions()),
    ] {
        for fields in [EnvelopeFields::Minimal, EnvelopeFields::Full] {
            for t in [SignType::Rsa2, SignType::Rsa] {
                let env = seal(
                    &p.to_json(),
                    &SealOptions {
                        encrypt: Some(&k.aes),
                        sign: Some((&k.platform.signer, t)),
                        fields,
                        plain_shape: PlainShape::Nested,
                        alipay_cert_sn: None,
                    },
                )
                .envelope;
                let mut o = opener(&k);
                o.sign_type = t;
                let got = o.open(&env).unwrap();
                assert!(got.verified && got.encrypted);
                let want = match &p {
                    Payload::Mobile(m) => Opened::Mobile(m.clone()),
                    Payload::EmptyMobile(_) => Opened::EmptyMobile,
                    Payload::Error(e) => Opened::PlatformError(e.clone()),
                    Payload::Steps(_) => unreachable!("getPhoneNumber payloads only"),
                };
                assert_eq!(got.result, want, "{env}");
            }
        }
    }
}

#[test]
fn the_signature_covers_the_quoted_ciphertext() {
    let k = keys();
    let s = seal(
        &Payload::Mobile("13800000000".into()).to_json(),
        &SealOptions::standard(&k.aes, &k.platform.signer),
    );
    let ct = s.ciphertext.unwrap();
    assert_eq!(s.signed_content.as_deref(), Some(quoted(&ct).as_str()));
    let sig = s.sign.unwrap();
    k.platform
        .verifier
        .verify_base64(SignType::Rsa2, format!("\"{ct}\"").as_bytes(), &sig)
        .unwrap();
    assert!(
        k.platform
            .verifier
            .verify_base64(SignType::Rsa2, ct.as_bytes(), &sig)
            .is_err()
    );
    assert_eq!(
        s.envelope,
        format!(r#"{{"response":"{ct}","sign":"{sig}"}}"#)
    );
}

#[test]
fn full_fields_come_in_documented_order() {
    let k = keys();
    let env = seal(
        &Payload::Mobile("13800000000".into()).to_json(),
        &SealOptions {
            fields: EnvelopeFields::Full,
            ..SealOptions::standard(&k.aes, &k.platform.signer)
        },
    )
    .envelope;
    assert!(
        env.ends_with(r#"","sign_type":"RSA2","encrypt_type":"AES","charset":"UTF-8"}"#),
        "{env}"
    );
}

fn kind_of(k: &KeySet, env: &str) -> &'static str {
    opener(k).open(env).unwrap_err().kind()
}

#[test]
fn every_class_of_broken_envelope_has_its_typed_error() {
    let k = keys();
    let good = success(&k);
    let members = alipay_sim::json::scan_object(&good).unwrap();
    let ct = members[0].string.clone().unwrap();
    let sig = members[1].string.clone().unwrap();
    let resign = |token: &str| {
        k.platform
            .signer
            .sign_base64(SignType::Rsa2, token.as_bytes())
    };

    assert_eq!(kind_of(&k, ""), "malformed");
    assert_eq!(kind_of(&k, "not json"), "malformed");
    assert_eq!(kind_of(&k, "[1,2]"), "malformed");
    assert_eq!(kind_of(&k, &format!("{good} trailing")), "malformed");
    assert_eq!(kind_of(&k, r#"{"sign":"x"}"#), "missing_response");
    assert_eq!(
        kind_of(
            &k,
            &format!(r#"{{"response":"{ct}","sign":"{sig}","response":"x"}}"#)
        ),
        "duplicate_key"
    );
    assert_eq!(kind_of(&k, r#"{"response":12,"sign":"x"}"#), "wrong_type");
    assert_eq!(
        kind_of(&k, &format!(r#"{{"response":"{ct}","sign":7}}"#)),
        "wrong_type"
    );
    assert_eq!(
        kind_of(&k, &format!(r#"{{"response":"{ct}"}}"#)),
        "missing_sign"
    );
    assert_eq!(
        kind_of(
            &k,
            &format!(r#"{{"response":"{ct}","sign":"{sig}","sign_type":"MD5"}}"#)
        ),
        "unsupported_sign_type"
    );
    assert_eq!(
        kind_of(
            &k,
            &format!(r#"{{"response":"{ct}","sign":"{sig}","sign_type":"RSA"}}"#)
        ),
        "sign_type_mismatch"
    );
    assert_eq!(
        kind_of(
            &k,
            &format!(r#"{{"response":"{ct}","sign":"{sig}","encrypt_type":"SM4"}}"#)
        ),
        "unsupported_encrypt_type"
    );
    assert_eq!(
        kind_of(
            &k,
            &format!(r#"{{"response":"{ct}","sign":"{sig}","charset":"GBK"}}"#)
        ),
        "unsupported_charset"
    );
    assert_eq!(
        kind_of(
            &k,
            &format!(r#"{{"response":"{ct}","sign":"not base64!"}}"#)
        ),
        "bad_signature"
    );
    let flipped = format!("{}A{}", &sig[..10], &sig[11..]);
    let flipped = if flipped == sig {
        format!("{}B{}", &sig[..10], &sig[11..])
    } else {
        flipped
    };
    assert_eq!(
        kind_of(&k, &format!(r#"{{"response":"{ct}","sign":"{flipped}"}}"#)),
        "bad_signature"
    );
    // Validly signed but undecryptable contents: only the decrypt stage can catch them.
    let bad_b64 = "\"abc!def\"";
    assert_eq!(
        kind_of(
            &k,
            &assemble(
                bad_b64,
                Some(&resign(bad_b64)),
                SignType::Rsa2,
                EnvelopeFields::Minimal
            )
        ),
        "bad_base64"
    );
    let short = "\"AAAAAAAAAAAAAAAAAAAAAAA=\""; // 17 bytes
    assert_eq!(
        kind_of(
            &k,
            &assemble(
                short,
                Some(&resign(short)),
                SignType::Rsa2,
                EnvelopeFields::Minimal
            )
        ),
        "bad_ciphertext"
    );
    let other = alipay_sim::encrypt_to_base64(
        &k.attacker_aes,
        b"{\"code\":\"10000\",\"msg\":\"Success\",\"mobile\":\"13800000000\"}",
    );
    let token = quoted(&other);
    let e = opener(&k)
        .open(&assemble(
            &token,
            Some(&resign(&token)),
            SignType::Rsa2,
            EnvelopeFields::Minimal,
        ))
        .unwrap_err();
    assert!(
        matches!(
            e,
            OpenError::Decrypt(AesError::BadPadding) | OpenError::BadPlaintext(_)
        ),
        "{e}"
    );
    let not_json = quoted(&alipay_sim::encrypt_to_base64(&k.aes, b"hello"));
    assert_eq!(
        kind_of(
            &k,
            &assemble(
                &not_json,
                Some(&resign(&not_json)),
                SignType::Rsa2,
                EnvelopeFields::Minimal
            )
        ),
        "bad_plaintext"
    );
    // A plaintext success claim is never accepted without a verified signature.
    let plain = Payload::Mobile("13800000000".into()).to_json();
    assert_eq!(
        kind_of(&k, &format!(r#"{{"response":{plain}}}"#)),
        "missing_sign"
    );
    assert_eq!(
        Opener::new(None, Some(k.aes.clone()))
            .open(&format!(r#"{{"response":{plain}}}"#))
            .unwrap_err()
            .kind(),
        "unauthenticated_success"
    );
    assert_eq!(
        kind_of(&k, &format!(r#"{{"response":{plain},"sign":"{sig}"}}"#)),
        "bad_signature"
    );
    // Encrypted payload with no AES key configured.
    assert_eq!(
        Opener::new(Some(k.platform.verifier.clone()), None)
            .open(&good)
            .unwrap_err()
            .kind(),
        "no_aes_key"
    );
}

#[test]
fn unsigned_unencrypted_platform_errors_are_reported_not_rejected() {
    let k = keys();
    let e = Payload::Error(PlatformError::missing_encrypt_key()).to_json();
    for env in [format!(r#"{{"response":{e}}}"#), e.clone()] {
        let o = opener(&k).open(&env).unwrap();
        assert_eq!(
            o.result,
            Opened::PlatformError(PlatformError::missing_encrypt_key())
        );
        assert!(!o.verified && !o.encrypted);
    }
}

#[test]
fn signed_plaintext_is_verified_over_raw_text_with_its_escapes() {
    let k = keys();
    let plain = Payload::Error(PlatformError::insufficient_permissions()).to_json();
    assert!(plain.contains(r"\/"));
    let sig = k
        .platform
        .signer
        .sign_base64(SignType::Rsa2, plain.as_bytes());
    let env = format!(r#"{{"response":{plain},"sign":"{sig}"}}"#);
    let o = opener(&k).open(&env).unwrap();
    assert!(o.verified);
    // The same object re-serialised (as serde_json or fastjson without OrderedField would) is
    // different bytes, so its signature cannot be the same.
    let reser =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&plain).unwrap()).unwrap();
    assert_ne!(reser, plain);
}

#[test]
fn rustcrypto_and_aws_lc_backends_sign_identically() {
    use alipay_sim::{SignBackend, Signer};
    let pem = include_str!("../keys/platform/private.pkcs8.pem");
    let key = alipay_sim::parse_private_key(pem, "k").unwrap();
    let a = Signer::with_backend(key.clone(), SignBackend::AwsLc);
    let b = Signer::with_backend(key, SignBackend::RustCrypto);
    // Without the `aws-lc` feature an AwsLc request falls back to RustCrypto, and says so.
    let fast = if cfg!(feature = "aws-lc") {
        SignBackend::AwsLc
    } else {
        SignBackend::RustCrypto
    };
    assert_eq!(a.backend(), fast);
    assert_eq!(b.backend(), SignBackend::RustCrypto);
    for msg in [&b"\"abc\""[..], b"", &[0u8; 1000]] {
        assert_eq!(a.sign(SignType::Rsa2, msg), b.sign(SignType::Rsa2, msg));
        assert_eq!(a.sign(SignType::Rsa, msg), b.sign(SignType::Rsa, msg));
    }
}
