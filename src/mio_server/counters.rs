//! What the event loop counts for `/metrics`: plain integers (the loop is one thread),
//! bumped with one add where things happen and read only when the metrics are asked for.

use std::time::Duration;

/// Upper bounds of the loop pass histogram's buckets, in microseconds: from an idle pass
/// (tens of microseconds) to a stalled one (a quarter of a second).
pub const PASS_BOUNDS_MICROS: [u64; 12] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
];

/// How long the loop's passes took, in fixed buckets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassHistogram {
    /// Passes per bucket of [`PASS_BOUNDS_MICROS`] (not cumulative); the last slot counts
    /// those longer than every bound.
    pub buckets: [u64; PASS_BOUNDS_MICROS.len() + 1],
    /// Every pass's duration added up, in microseconds.
    pub sum_micros: u64,
}

impl PassHistogram {
    /// Counts a pass that took `took`.
    pub fn observe(&mut self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros = self.sum_micros.saturating_add(micros);
        let bucket = PASS_BOUNDS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(PASS_BOUNDS_MICROS.len());
        self.buckets[bucket] += 1;
    }

    /// Passes counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// The loop's counts since start-up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoopCounters {
    /// Bytes read from clients (plaintext, after TLS).
    pub bytes_in: u64,
    /// Bytes of output clients' sockets took (plaintext, before TLS).
    pub bytes_out: u64,
    /// Lines (or batches of lines) queued for a client.
    pub deliveries: u64,
    /// TLS handshakes that failed or did not finish in time.
    pub tls_handshakes_failed: u64,
    /// How long the passes of the loop took.
    pub passes: PassHistogram,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_lands_in_the_first_bucket_that_holds_it() {
        let mut passes = PassHistogram::default();
        passes.observe(Duration::from_micros(50));
        passes.observe(Duration::from_micros(51));
        passes.observe(Duration::from_secs(3));
        assert_eq!(passes.buckets[0], 1);
        assert_eq!(passes.buckets[1], 1);
        assert_eq!(passes.buckets[PASS_BOUNDS_MICROS.len()], 1);
        assert_eq!(passes.count(), 3);
        assert_eq!(passes.sum_micros, 3_000_101);
    }
}
