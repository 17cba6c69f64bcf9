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
}
