//! Flood control: a token bucket per client, on the driver's clock.
//!
//! A client may send `rate` lines per second on average and bursts of `2 × rate`: enough
//! for a paste of a few lines, not for a script. Lines past the limit are dropped, and the
//! sender is told at most once per second, so that the warnings are not a flood of their
//! own. Time comes in as an argument: the core never reads a clock.

use std::time::{Duration, Instant};

/// How often a flooding client is told that lines are being dropped.
const WARN_INTERVAL: Duration = Duration::from_secs(1);

/// What to do with a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit: act on it.
    Admit,
    /// Over the limit: drop it and tell the sender.
    DropAndWarn,
    /// Over the limit, and the sender was told less than a second ago: just drop it.
    Drop,
}

/// The per-second rate and burst, shared by every client.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Lines per second; 0 turns flood control off.
    pub per_second: u32,
}

impl RateLimit {
    /// The largest burst: twice the per-second rate.
    pub fn burst(self) -> f32 {
        2.0 * self.per_second as f32
    }
}

/// One client's bucket.
#[derive(Debug, Clone)]
pub struct FloodGate {
    /// Lines the client may send right now (fractional: refilled continuously).
    tokens: f32,
    /// When `tokens` was last brought up to date.
    updated: Instant,
    /// When the client was last told its lines are dropped.
    warned: Option<Instant>,
}

impl FloodGate {
    /// A full bucket: a new client may start with a burst (its nickname and a few lines).
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        FloodGate {
            tokens: limit.burst(),
            updated: now,
            warned: None,
        }
    }

    /// Decides about one line sent at `now`.
    pub fn check(&mut self, limit: RateLimit, now: Instant) -> Verdict {
        if limit.per_second == 0 {
            return Verdict::Admit;
        }
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f32();
        self.tokens = (self.tokens + elapsed * limit.per_second as f32).min(limit.burst());
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Admit;
        }
        match self.warned {
            Some(warned) if now.saturating_duration_since(warned) < WARN_INTERVAL => Verdict::Drop,
            _ => {
                self.warned = Some(now);
                Verdict::DropAndWarn
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN: RateLimit = RateLimit { per_second: 10 };

    fn verdicts(gate: &mut FloodGate, at: Instant, lines: usize) -> Vec<Verdict> {
        (0..lines).map(|_| gate.check(TEN, at)).collect()
    }

    #[test]
    fn a_burst_of_twice_the_rate_passes_then_lines_drop_with_one_warning() {
        let start = Instant::now();
        let mut gate = FloodGate::new(TEN, start);
        let got = verdicts(&mut gate, start, 25);
        assert!(got[..20].iter().all(|v| *v == Verdict::Admit));
        assert_eq!(got[20], Verdict::DropAndWarn);
        assert!(got[21..].iter().all(|v| *v == Verdict::Drop));
    }

    #[test]
    fn tokens_come_back_at_the_rate_and_warnings_at_most_once_a_second() {
        let start = Instant::now();
        let mut gate = FloodGate::new(TEN, start);
        verdicts(&mut gate, start, 21);
        let later = start + Duration::from_millis(500);
        let got = verdicts(&mut gate, later, 6);
        assert_eq!(
            got[..5],
            [
                Verdict::Admit,
                Verdict::Admit,
                Verdict::Admit,
                Verdict::Admit,
                Verdict::Admit
            ]
        );
        assert_eq!(got[5], Verdict::Drop, "warned half a second ago");
        let much_later = start + Duration::from_millis(1500);
        let got = verdicts(&mut gate, much_later, 12);
        assert!(got[..10].iter().all(|v| *v == Verdict::Admit));
        assert_eq!(got[10], Verdict::DropAndWarn);
    }

    #[test]
    fn the_bucket_never_holds_more_than_the_burst() {
        let start = Instant::now();
        let mut gate = FloodGate::new(TEN, start);
        let got = verdicts(&mut gate, start + Duration::from_secs(3600), 21);
        assert_eq!(got.iter().filter(|v| **v == Verdict::Admit).count(), 20);
    }

    #[test]
    fn zero_turns_flood_control_off() {
        let off = RateLimit { per_second: 0 };
        let start = Instant::now();
        let mut gate = FloodGate::new(off, start);
        assert!((0..10_000).all(|_| gate.check(off, start) == Verdict::Admit));
    }
}
