//! The rules of accounts that need no service: what a password may be, and the throttles on
//! guessing one.
//!
//! Guessing is throttled twice. Per account, as the protocol says: five wrong passwords
//! within ten minutes lock the account for five minutes. Per address: ten attempts at once,
//! then one every thirty seconds, so that one address can neither lock out every account
//! nor keep the hashing pool busy. Both live in memory: a restart clears them, which only
//! the server's operator can cause, and keeping them in the store would turn every wrong
//! guess into a disk write an attacker controls.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The shortest password accepted, in bytes.
pub const MIN_PASSWORD: usize = 8;
/// The longest password accepted, in bytes.
pub const MAX_PASSWORD: usize = 128;
/// Wrong passwords for one account that lock it...
pub const LOCKOUT_FAILURES: usize = 5;
/// ...within this long...
pub const LOCKOUT_WINDOW: Duration = Duration::from_secs(10 * 60);
/// ...for this long.
pub const LOCKOUT: Duration = Duration::from_secs(5 * 60);
/// Password attempts one address may make at once.
pub const ADDRESS_BURST: f32 = 10.0;
/// How often an address gets another attempt.
pub const ADDRESS_REFILL: Duration = Duration::from_secs(30);
/// Addresses remembered before those with a full allowance are forgotten.
const ADDRESSES_KEPT: usize = 4096;

/// Why a new password is refused.
pub fn check_password(password: &str) -> Result<(), String> {
    if (MIN_PASSWORD..=MAX_PASSWORD).contains(&password.len()) {
        Ok(())
    } else {
        Err(format!(
            "a password has {MIN_PASSWORD} to {MAX_PASSWORD} bytes"
        ))
    }
}

/// Recent wrong passwords for one account.
#[derive(Debug, Default)]
struct Failures {
    /// When they were typed, oldest first; at most [`LOCKOUT_FAILURES`].
    times: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

/// One address's allowance of password attempts.
#[derive(Debug)]
struct Allowance {
    attempts: f32,
    updated: Instant,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Throttle {
    /// By folded account name.
    accounts: HashMap<Box<str>, Failures>,
    addresses: HashMap<IpAddr, Allowance>,
}

impl Throttle {
    /// When `account` (folded) may be tried again, if it is locked at `now`.
    pub fn locked_until(&self, account: &str, now: Instant) -> Option<Instant> {
        self.accounts
            .get(account)
            .and_then(|failures| failures.locked_until)
            .filter(|&until| until > now)
    }

    /// Takes one of `address`'s attempts at `now`; false if it has none left.
    pub fn attempt(&mut self, address: IpAddr, now: Instant) -> bool {
        if self.addresses.len() >= ADDRESSES_KEPT {
            self.addresses
                .retain(|_, allowance| refilled(allowance, now) < ADDRESS_BURST);
        }
        let allowance = self.addresses.entry(address).or_insert(Allowance {
            attempts: ADDRESS_BURST,
            updated: now,
        });
        allowance.attempts = refilled(allowance, now);
        allowance.updated = now;
        if allowance.attempts < 1.0 {
            return false;
        }
        allowance.attempts -= 1.0;
        true
    }

    /// A wrong password for `account` (folded) at `now`; returns the end of the lockout if
    /// this one caused it.
    pub fn failed(&mut self, account: &str, now: Instant) -> Option<Instant> {
        let failures = self.accounts.entry(account.into()).or_default();
        while failures
            .times
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) > LOCKOUT_WINDOW)
        {
            failures.times.pop_front();
        }
        failures.times.push_back(now);
        if failures.times.len() < LOCKOUT_FAILURES {
            return None;
        }
        failures.times.clear();
        let until = now + LOCKOUT;
        failures.locked_until = Some(until);
        Some(until)
    }

    /// A right password for `account`: its failures are forgotten.
    pub fn succeeded(&mut self, account: &str) {
        self.accounts.remove(account);
    }
}

/// An allowance's attempts at `now`, refilled since it was last used.
fn refilled(allowance: &Allowance, now: Instant) -> f32 {
    let elapsed = now.saturating_duration_since(allowance.updated);
    let more = elapsed.as_secs_f32() / ADDRESS_REFILL.as_secs_f32();
    (allowance.attempts + more).min(ADDRESS_BURST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_have_eight_to_128_bytes() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        assert!(check_password(&"x".repeat(128)).is_ok());
        assert!(check_password(&"x".repeat(129)).is_err());
    }

    #[test]
    fn five_wrong_within_ten_minutes_lock_for_five() {
        let start = Instant::now();
        let mut throttle = Throttle::default();
        for minute in 0..4 {
            let at = start + Duration::from_secs(minute * 60);
            assert_eq!(throttle.failed("alice", at), None);
        }
        let fifth = start + Duration::from_secs(9 * 60);
        assert_eq!(throttle.failed("alice", fifth), Some(fifth + LOCKOUT));
        assert_eq!(throttle.locked_until("alice", fifth), Some(fifth + LOCKOUT));
        assert_eq!(throttle.locked_until("bob", fifth), None);
        assert_eq!(throttle.locked_until("alice", fifth + LOCKOUT), None);
    }

    #[test]
    fn failures_older_than_the_window_do_not_count_and_success_clears() {
        let start = Instant::now();
        let mut throttle = Throttle::default();
        for n in 0..4 {
            throttle.failed("alice", start + Duration::from_secs(n));
        }
        let later = start + LOCKOUT_WINDOW + Duration::from_secs(60);
        assert_eq!(
            throttle.failed("alice", later),
            None,
            "the first four expired"
        );
        throttle.succeeded("alice");
        for n in 0..4 {
            assert_eq!(
                throttle.failed("alice", later + Duration::from_secs(n)),
                None
            );
        }
    }

    #[test]
    fn an_address_gets_ten_attempts_then_one_every_thirty_seconds() {
        let start = Instant::now();
        let address: IpAddr = [10, 0, 0, 1].into();
        let mut throttle = Throttle::default();
        assert!((0..10).all(|_| throttle.attempt(address, start)));
        assert!(!throttle.attempt(address, start));
        assert!(
            throttle.attempt([10, 0, 0, 2].into(), start),
            "others are not affected"
        );
        assert!(!throttle.attempt(address, start + Duration::from_secs(29)));
        assert!(throttle.attempt(address, start + Duration::from_secs(31)));
    }
}
