//! `my.getRunData`'s inputs: the `countDate` a call names (a calendar day, `yyyy-mm-dd`), the
//! day the platform assumes when the call names none (today in China, UTC+8), and the step count
//! a user has when none was set (drawn from the user and the day, so it is stable).
//! docs/protocol.md#getrundata.

use crate::model::mobile::SplitMix64;

/// The day the catalogue's getRunData cases count when a scenario names none: the date of the
/// document's sample plaintext.
pub(crate) const DEFAULT_COUNT_DATE: &str = "2018-12-19";

/// The most steps a generated count has (a plausible busy day; a set count may go up to
/// [`crate::protocol::payload::MAX_STEP_COUNT`]).
pub(crate) const GENERATED_MAX_STEPS: u64 = 30_000;

/// Whether `s` is a `countDate`: `yyyy-mm-dd`, a real Gregorian day of the years 1970 to 9999.
pub(crate) fn valid_count_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    (1970..=9999).contains(&y) && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The calendar day in China (UTC+8, no daylight saving) at `unix_secs`, as `yyyy-mm-dd` (the
/// server's default `countDate`).
#[cfg(any(feature = "server", test))]
pub(crate) fn china_date(unix_secs: u64) -> String {
    let days = (unix_secs + 8 * 3600) / 86_400;
    // Civil-from-days (H. Hinnant's algorithm), for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The generated step count of `who` (an app and user, or a scenario id) on `count_date`:
/// 0 to 30 000, the same for the same inputs.
pub(crate) fn generated_steps(who: &str, count_date: &str) -> u32 {
    let mut r = SplitMix64::from_text(&format!("{who}#steps#{count_date}"));
    // GENERATED_MAX_STEPS fits in u32.
    (r.next_u64() % (GENERATED_MAX_STEPS + 1)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_dates_are_real_days() {
        for ok in [
            "2018-12-19",
            "2024-02-29",
            "2000-02-29",
            "1970-01-01",
            "9999-12-31",
        ] {
            assert!(valid_count_date(ok), "{ok}");
        }
        for bad in [
            "",
            "2018-12-1",
            "2018/12/19",
            "2018-13-01",
            "2018-00-10",
            "2018-12-32",
            "2023-02-29",
            "1900-02-29",
            "1969-12-31",
            "+018-12-19",
            "2018-1a-19",
            "２018-12-19",
            "2018-12-19 ",
        ] {
            assert!(!valid_count_date(bad), "{bad}");
        }
    }

    #[test]
    fn china_date_is_utc_plus_eight() {
        assert_eq!(china_date(0), "1970-01-01");
        // 2018-12-19 15:59:59 UTC is 23:59:59 in China; a second later it is the 20th there.
        assert_eq!(china_date(1_545_235_199), "2018-12-19");
        assert_eq!(china_date(1_545_235_200), "2018-12-20");
        assert_eq!(china_date(951_782_400), "2000-02-29");
    }

    #[test]
    fn generated_steps_are_stable_and_bounded() {
        assert_eq!(
            generated_steps("a/u", "2018-12-19"),
            generated_steps("a/u", "2018-12-19")
        );
        let all: Vec<u32> = (1..=28)
            .map(|d| generated_steps("a/u", &format!("2018-02-{d:02}")))
            .collect();
        assert!(all.iter().all(|&c| u64::from(c) <= GENERATED_MAX_STEPS));
        assert!(all.windows(2).any(|w| w[0] != w[1]));
    }
}
