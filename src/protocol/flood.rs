//! Flood control that paces instead of dropping: a token bucket per client, on the driver's
//! clock.
//!
//! A client may send `rate` lines per second on average and bursts of `2 × rate`: enough for
//! a paste of a few lines at once. Past the burst its lines are not dropped; the core stops
//! taking them and takes the next one when the bucket has a token again, so a pasted block
//! arrives whole, just paced. The sender is told once per episode (an episode ends when its
//! bucket is full again). Time comes in as an argument: the core never reads a clock.

use std::time::{Duration, Instant};

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
    /// The client was told it is being slowed down, and has not been idle since.
    told: bool,
}

impl FloodGate {
    /// A full bucket: a new client may start with a burst (its nickname and a few lines).
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        FloodGate {
            tokens: limit.burst(),
            updated: now,
            told: false,
        }
    }

    /// Whether a line may be taken at `now`. Takes nothing: see [`FloodGate::take`].
    pub fn ready(&mut self, limit: RateLimit, now: Instant) -> bool {
        if limit.per_second == 0 {
            return true;
        }
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f32();
        self.tokens = (self.tokens + elapsed * limit.per_second as f32).min(limit.burst());
        self.updated = now;
        if self.tokens >= limit.burst() {
            self.told = false;
        }
        self.tokens >= 1.0
    }

    /// Spends one line's token (after [`FloodGate::ready`] said yes, for a line that counts).
    pub fn take(&mut self, limit: RateLimit) {
        if limit.per_second > 0 {
            self.tokens -= 1.0;
        }
    }

    /// When the next line may be taken, for a client that is not [`FloodGate::ready`].
    pub fn next_token_at(&self, limit: RateLimit) -> Instant {
        let missing = (1.0 - self.tokens).max(0.0);
        let rate = limit.per_second.max(1) as f32;
        // Round up to the millisecond, so that the wake-up finds the token there.
        let wait = Duration::from_secs_f32(missing / rate) + Duration::from_millis(1);
        self.updated + wait
    }

    /// True the first time in an episode of being slowed down: the client should be told.
    pub fn first_slowdown(&mut self) -> bool {
        !std::mem::replace(&mut self.told, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN: RateLimit = RateLimit { per_second: 10 };

    /// Takes lines at `at` while the gate allows, up to `lines`; returns how many it took.
    fn take_up_to(gate: &mut FloodGate, at: Instant, lines: usize) -> usize {
        let mut taken = 0;
        while taken < lines && gate.ready(TEN, at) {
            gate.take(TEN);
            taken += 1;
        }
        taken
    }

    #[test]
    fn a_burst_of_twice_the_rate_passes_then_the_gate_closes() {
        let start = Instant::now();
        let mut gate = FloodGate::new(TEN, start);
        assert_eq!(take_up_to(&mut gate, start, 25), 20);
        assert!(!gate.ready(TEN, start));
    }

    #[test]
    fn the_next_token_comes_at_the_rate() {
        let start = Instant::now();
        let mut gate = FloodGate::new(TEN, start);
        take_up_to(&mut gate, start, 20);
        let next = gate.next_token_at(TEN);
        let wait = next - start;
        assert!(
            wait >= Duration::from_millis(100) && wait <= Duration::from_millis(102),
            "{wait:?}"
        );
        assert!(gate.ready(TEN, next));
        assert_eq!(
            take_up_to(&mut gate, start + Duration::from_millis(500), 10),
            5
        );
    }

    #[test]
    fn the_client_is_told_once_per_episode() {
        let start = Instant::now();
        let mut gate = FloodGate::new(TEN, start);
        take_up_to(&mut gate, start, 20);
        assert!(gate.first_slowdown());
        assert!(!gate.first_slowdown());
        take_up_to(&mut gate, start + Duration::from_millis(200), 1);
        assert!(!gate.first_slowdown(), "still the same episode");
        let idle = start + Duration::from_secs(3);
        assert!(gate.ready(TEN, idle));
        assert!(gate.first_slowdown(), "a full bucket ended the episode");
    }

    #[test]
    fn the_bucket_never_holds_more_than_the_burst() {
        let start = Instant::now();
        let mut gate = FloodGate::new(TEN, start);
        assert_eq!(
            take_up_to(&mut gate, start + Duration::from_secs(3600), 30),
            20
        );
    }

    #[test]
    fn zero_turns_flood_control_off() {
        let off = RateLimit { per_second: 0 };
        let start = Instant::now();
        let mut gate = FloodGate::new(off, start);
        assert!((0..10_000).all(|_| {
            let ready = gate.ready(off, start);
            gate.take(off);
            ready
        }));
    }
}
