//! Wall-clock time for the chat core, which only ever sees the driver's monotonic instants.
//!
//! History lines carry a time stamp (`[09:12] alice: hi`) and the store keeps each message's
//! time. The core never reads a clock: the driver reads both clocks once, when it starts,
//! and the core turns every later `Instant` into wall-clock time from that anchor.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// An instant and the wall-clock time it was, in milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    at: Instant,
    unix_ms: i64,
}

impl WallClock {
    /// The anchor `at` = `unix_ms`, for tests that want fixed times.
    pub fn new(at: Instant, unix_ms: i64) -> Self {
        WallClock { at, unix_ms }
    }

    /// Reads both clocks now: what a driver does once, when it starts.
    pub fn start() -> Self {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
            });
        WallClock::new(Instant::now(), unix_ms)
    }

    /// The wall-clock time of `now`, in milliseconds since the Unix epoch.
    pub fn unix_ms(&self, now: Instant) -> i64 {
        let since = now.saturating_duration_since(self.at).as_millis();
        self.unix_ms
            .saturating_add(i64::try_from(since).unwrap_or(i64::MAX))
    }
}

/// The `[HH:MM] ` stamp, in UTC, that history lines start with.
pub fn stamp(unix_ms: i64) -> Stamp {
    let minutes = unix_ms.div_euclid(60_000);
    Stamp {
        hours: minutes.div_euclid(60).rem_euclid(24) as u8,
        minutes: minutes.rem_euclid(60) as u8,
    }
}

/// A date and time of day, UTC, as people read it: `2026-11-30 09:12 UTC`.
pub fn utc(unix_ms: i64) -> String {
    let minutes = unix_ms.div_euclid(60_000);
    let (year, month, day) = civil_date(minutes.div_euclid(24 * 60));
    let (hour, minute) = (
        minutes.div_euclid(60).rem_euclid(24),
        minutes.rem_euclid(60),
    );
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

/// How long a ban or a mute lasts, for the people told about it: ` until 2026-11-30 10:42
/// UTC`, or ` until lifted` for one without an end.
pub fn until(until: Option<i64>) -> String {
    match until {
        Some(unix_ms) => format!(" until {}", utc(unix_ms)),
        None => " until lifted".into(),
    }
}

/// The year, month and day of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// An hour and minute of the day, UTC; displays as `[HH:MM]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    hours: u8,
    minutes: u8,
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{:02}:{:02}]", self.hours, self.minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn instants_become_wall_clock_times_from_the_anchor() {
        let at = Instant::now();
        let clock = WallClock::new(at, 1_000);
        assert_eq!(clock.unix_ms(at + Duration::from_millis(234)), 1_234);
        assert_eq!(clock.unix_ms(at), 1_000);
    }

    #[test]
    fn stamps_are_utc_hours_and_minutes() {
        // 2026-11-30 09:12:59 UTC.
        let ms = 1_796_029_979_000;
        assert_eq!(stamp(ms).to_string(), "[09:12]");
        assert_eq!(stamp(0).to_string(), "[00:00]");
        assert_eq!(stamp(-60_000).to_string(), "[23:59]");
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc(1_796_029_979_000), "2026-11-30 09:12 UTC");
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc(-86_400_000), "1969-12-31 00:00 UTC");
        assert_eq!(until(None), " until lifted");
        assert_eq!(until(Some(0)), " until 1970-01-01 00:00 UTC");
    }
}
