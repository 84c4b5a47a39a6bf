//! The wall clock as log lines write it, in UTC: RFC 3339 for the server's log
//! (`2026-11-24T06:55:09.412Z`) and the Common Log Format's `[24/Nov/2026:06:55:09 +0000]`
//! for an access log. UTC because a log read on another machine, or across a change to
//! summer time, must not shift; by integer arithmetic, since it runs for every line.

use std::time::{SystemTime, UNIX_EPOCH};

/// A moment split into its UTC calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Utc {
    /// Now.
    pub fn now() -> Utc {
        Utc::at(SystemTime::now())
    }

    /// `time` in UTC; a time before 1970 (a clock set wrong) counts as 1970.
    pub fn at(time: SystemTime) -> Utc {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs() as i64;
        let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u32);
        let (year, month, day) = civil_from_days(days);
        Utc {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest / 60 % 60,
            second: rest % 60,
            millis: since.subsec_millis(),
        }
    }

    /// RFC 3339 (§5.6), with milliseconds: `2026-11-24T06:55:09.412Z`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }

    /// The Common Log Format's time, brackets included: `[24/Nov/2026:06:55:09 +0000]`.
    pub fn clf(&self) -> String {
        format!(
            "[{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000]",
            self.day,
            MONTHS[(self.month - 1) as usize],
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }
}

/// Splits a log line into its time and its message, if it starts with a time as
/// [`Utc::rfc3339`] writes it and a space: for readers of the server's log.
pub fn split_time(line: &str) -> Option<(&str, &str)> {
    const SHAPE: &[u8; 24] = b"dddd-dd-ddTdd:dd:dd.dddZ";
    let (time, message) = (line.get(..24)?, line.get(24..)?.strip_prefix(' ')?);
    let fits = time.bytes().zip(SHAPE).all(|(b, &want)| {
        if want == b'd' {
            b.is_ascii_digit()
        } else {
            b == want
        }
    });
    fits.then_some((time, message))
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`: eras of 400 years, months counted from March so
/// that the leap day comes last).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of the era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the year from March 1
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, millis: u64) -> Utc {
        Utc::at(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
    }

    #[test]
    fn rfc3339_is_utc_with_milliseconds() {
        assert_eq!(at(0, 0).rfc3339(), "1970-01-01T00:00:00.000Z");
        // `date -u -d @1795503309` says Tue Nov 24 06:55:09 UTC 2026.
        assert_eq!(at(1_795_503_309, 412).rfc3339(), "2026-11-24T06:55:09.412Z");
    }

    #[test]
    fn leap_days_and_year_ends_fall_where_the_calendar_puts_them() {
        // 2024-02-29 and 2000-02-29 exist (2000 is a leap year: divisible by 400).
        assert_eq!(at(1_709_164_800, 0).rfc3339(), "2024-02-29T00:00:00.000Z");
        assert_eq!(at(951_782_400, 0).rfc3339(), "2000-02-29T00:00:00.000Z");
        assert_eq!(at(1_735_689_599, 999).rfc3339(), "2024-12-31T23:59:59.999Z");
        assert_eq!(at(1_735_689_600, 0).rfc3339(), "2025-01-01T00:00:00.000Z");
    }

    #[test]
    fn a_line_splits_into_its_time_and_its_message() {
        let line = format!("{} cgilab: listening", at(1_795_503_309, 412).rfc3339());
        assert_eq!(
            split_time(&line),
            Some(("2026-11-24T06:55:09.412Z", "cgilab: listening"))
        );
        assert_eq!(
            split_time("cgilab: listening on http://127.0.0.1:8000"),
            None
        );
        assert_eq!(split_time("2026-11-24T06:55:09Z cgilab"), None);
        assert_eq!(split_time("2026-11-24T06:55:09.412Z"), None);
    }

    #[test]
    fn clf_time_is_in_brackets_with_an_offset() {
        assert_eq!(at(1_795_503_309, 412).clf(), "[24/Nov/2026:06:55:09 +0000]");
    }
}
