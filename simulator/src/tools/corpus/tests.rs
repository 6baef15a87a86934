use super::plan::overseas_number;
use super::record::csv_field;
use super::*;
use crate::model::scenario::Outcome;
use crate::protocol::envelope::{Opened, Opener};

fn plan(mix: &str, seed: u64) -> Plan {
    Plan::new(
        &mix.parse().unwrap(),
        &Catalogue::embedded(),
        KeySet::embedded(),
        seed,
    )
    .unwrap()
}

#[test]
fn permutation_is_injective_on_a_window_and_numbers_have_the_right_shape() {
    let mut seen = std::collections::HashSet::new();
    for i in 0..200_000 {
        assert!(seen.insert(crate::model::mobile::permuted_index(7, i)));
    }
    // Across the wrap-around of the last line.
    assert_ne!(
        crate::model::mobile::permuted_index(0, MAX_COUNT - 1),
        crate::model::mobile::permuted_index(0, 0)
    );
    assert_eq!(crate::model::mobile::mainland_number(0), "13000000000");
    assert_eq!(
        crate::model::mobile::mainland_number(MAX_COUNT - 1),
        "19999999999"
    );
    assert_eq!(overseas_number(42), "1-0000000042");
}

#[test]
fn mix_parsing_names_what_is_wrong() {
    assert_eq!("genuine=1".parse::<Mix>().unwrap(), Mix::default());
    for (bad, says) in [
        ("genuine", "not NAME=WEIGHT"),
        ("genuine=x", "not a number"),
        ("genuine=0", "positive"),
        ("genuine=-1", "positive"),
        ("genuine=inf", "positive"),
        ("=3", "empty"),
        ("genuine=1,,tamper=1", "empty entry"),
        ("genuine=1,genuine=2", "twice"),
    ] {
        let e = bad.parse::<Mix>().unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn unknown_or_inapplicable_names_are_refused() {
    let cat = Catalogue::embedded();
    let keys = KeySet::embedded();
    let e = Plan::new(&"nope=1".parse().unwrap(), &cat, keys.clone(), 0).unwrap_err();
    assert!(e.to_string().contains("\"nope\" is neither"), "{e}");
    let e = Plan::new(
        &"platform.success.aes-256=1".parse().unwrap(),
        &cat,
        keys.clone(),
        0,
    )
    .unwrap_err();
    assert!(e.to_string().contains("RSA2 and AES-128"), "{e}");
    // `tamp` is not a dotted prefix of `tamper.…`.
    assert!(Plan::new(&"tamp=1".parse().unwrap(), &cat, keys, 0).is_err());
}

#[test]
fn prefixes_expand_to_applicable_cases_and_leave_out_huge_bodies() {
    let p = plan("tamper=1", 0);
    let names: Vec<String> = p.shares().into_iter().map(|(n, _)| n).collect();
    assert!(names.iter().all(|n| n.starts_with("tamper.")), "{names:?}");
    assert!(!names.iter().any(|n| n == "tamper.body.huge"), "{names:?}");
    assert!(names.iter().any(|n| n == "tamper.signature.bit-flip"));
    let total: f64 = p.shares().iter().map(|(_, s)| s).sum();
    assert!((total - 1.0).abs() < 1e-9);
    // Certificate-mode cases are for a merchant that declares it, not for the corpus's merchant.
    let p = plan("platform.success=1", 0);
    let names: Vec<String> = p.shares().into_iter().map(|(n, _)| n).collect();
    assert!(
        names.iter().any(|n| n == "platform.success.mainland"),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.contains(".cert")), "{names:?}");
    // Named by id, the huge body is allowed.
    let p = plan("tamper.body.huge=1", 0);
    assert!(p.record(0).envelope.len() > PREFIX_BODY_LIMIT);
}

#[test]
fn every_kind_of_line_opens_to_its_stated_outcome() {
    let p = plan("genuine=4,platform=3,tamper=3", 3);
    let keys = KeySet::embedded();
    let opener = Opener::new(Some(keys.platform.verifier.clone()), Some(keys.aes.clone()));
    let mut outcomes = std::collections::HashSet::new();
    for id in 0..400 {
        let r = p.record(id);
        outcomes.insert(r.expect.outcome);
        let got = opener.open(&r.envelope);
        match r.expect.outcome {
            Outcome::Accept => assert_eq!(
                got.unwrap().result,
                Opened::Mobile(r.expect.mobile.clone().unwrap()),
                "{}",
                r.case
            ),
            Outcome::Reject => assert!(got.is_err(), "{} opened", r.case),
            Outcome::NoMobile => assert_eq!(got.unwrap().result, Opened::EmptyMobile),
            Outcome::PlatformError | Outcome::RetryLater => match got.unwrap().result {
                Opened::PlatformError(e) => assert_eq!(Some(e.code), r.expect.code),
                other => panic!("{}: {other:?}", r.case),
            },
        }
    }
    assert!(outcomes.len() >= 4, "{outcomes:?}");
}

#[test]
fn csv_fields_are_quoted_only_when_needed() {
    let mut out = Vec::new();
    csv_field(&mut out, "plain");
    out.push(b'|');
    csv_field(&mut out, r#"{"a":1,"b":"x"}"#);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"plain|"{""a"":1,""b"":""x""}""#
    );
}

#[test]
fn the_writer_is_ordered_and_independent_of_the_thread_count() {
    let p = plan("genuine=1,platform.error=1", 1);
    let mut one = Vec::new();
    let mut three = Vec::new();
    write(&p, 300, Format::Ndjson, 1, &mut one, "one").unwrap();
    let s = write(&p, 300, Format::Ndjson, 3, &mut three, "three").unwrap();
    assert_eq!(one, three);
    assert_eq!(s.lines, 300);
    assert_eq!(s.bytes, three.len() as u64);
    for (i, line) in three
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let r: Record = serde_json::from_slice(line).unwrap();
        assert_eq!(r.id, i as u64);
    }
}

#[test]
fn an_output_error_stops_the_workers_and_is_reported() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let e = write(
        &plan("genuine=1", 0),
        10_000,
        Format::Ndjson,
        2,
        &mut Full,
        "x.ndjson",
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("x.ndjson") && e.to_string().contains("disk full"),
        "{e}"
    );
}
