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
    let day = time::macros::format_description!("[year]-[month]-[day]");
    s.len() == 10 && time::Date::parse(s, day).is_ok_and(|d| (1970..=9999).contains(&d.year()))
}

/// The calendar day in China (UTC+8, no daylight saving) at `unix_secs`, as `yyyy-mm-dd` (the
/// server's default `countDate`): the day of the gateway's Beijing time.
#[cfg(any(feature = "server", test))]
pub(crate) fn china_date(unix_secs: u64) -> String {
    let mut t = crate::protocol::gateway::beijing_time(unix_secs);
    t.truncate(10);
    t
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
