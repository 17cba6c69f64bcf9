//! Every per-connection deadline of the event loop in one structure: the chat core's (the end
//! of a login, the next paced line), a closing connection's linger, and those the transports
//! add.
//!
//! A deadline is keyed by connection and kind, so it can be moved or cancelled by key; an
//! idle registered connection has none and costs nothing here. The loop sleeps until the
//! earliest and takes the ones that are due.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use crate::protocol::ClientId;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Deadline {
    /// The chat core asked to be called back (`Sink::set_timer`).
    Core,
    /// A closing connection is dropped if it has not finished by then.
    Linger,
    /// A TLS connection is dropped if its handshake has not completed by then.
    Handshake,
    /// A web connection is dropped if its HTTP request has not arrived by then.
    Request,
}

impl Deadline {
    /// Every kind, to cancel them all.
    const ALL: [Deadline; 4] = [
        Deadline::Core,
        Deadline::Linger,
        Deadline::Handshake,
        Deadline::Request,
    ];
}

/// A connection's deadline of one kind.
pub type Key = (ClientId, Deadline);

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Timers {
    /// Deadlines in time order.
    by_time: BTreeSet<(Instant, Key)>,
    /// Each key's deadline, to move or cancel it.
    by_key: HashMap<Key, Instant>,
}

impl Timers {
    /// Sets `key`'s deadline to `at`, replacing any it had.
    pub fn set(&mut self, key: Key, at: Instant) {
        if let Some(old) = self.by_key.insert(key, at) {
            self.by_time.remove(&(old, key));
        }
        self.by_time.insert((at, key));
    }

    /// Removes `key`'s deadline, if it has one.
    pub fn cancel(&mut self, key: Key) {
        if let Some(old) = self.by_key.remove(&key) {
            self.by_time.remove(&(old, key));
        }
    }

    /// Removes every deadline of `client` (its connection is gone).
    pub fn cancel_all(&mut self, client: ClientId) {
        for kind in Deadline::ALL {
            self.cancel((client, kind));
        }
    }

    /// The earliest deadline, if any.
    pub fn next(&self) -> Option<Instant> {
        self.by_time.first().map(|&(at, _)| at)
    }

    /// Removes and returns a deadline that is due at `now`, earliest first.
    pub fn pop_due(&mut self, now: Instant) -> Option<Key> {
        let &(at, key) = self.by_time.first()?;
        if at > now {
            return None;
        }
        self.by_time.pop_first();
        self.by_key.remove(&key);
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn deadlines_come_due_in_order_and_can_be_moved_or_cancelled() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut timers = Timers::default();
        timers.set((ClientId(1), Deadline::Core), at(30));
        timers.set((ClientId(2), Deadline::Core), at(10));
        timers.set((ClientId(3), Deadline::Linger), at(20));
        timers.set((ClientId(1), Deadline::Core), at(5));
        timers.cancel((ClientId(3), Deadline::Linger));
        assert_eq!(timers.next(), Some(at(5)));
        assert_eq!(timers.pop_due(at(4)), None);
        assert_eq!(timers.pop_due(at(50)), Some((ClientId(1), Deadline::Core)));
        assert_eq!(timers.pop_due(at(50)), Some((ClientId(2), Deadline::Core)));
        assert_eq!(timers.pop_due(at(50)), None);
        assert!(timers.by_key.is_empty());
    }

    #[test]
    fn all_of_a_clients_deadlines_go_with_it() {
        let now = Instant::now();
        let mut timers = Timers::default();
        timers.set((ClientId(1), Deadline::Core), now);
        timers.set((ClientId(1), Deadline::Linger), now);
        timers.set((ClientId(1), Deadline::Handshake), now);
        timers.set((ClientId(2), Deadline::Linger), now);
        timers.cancel_all(ClientId(1));
        assert_eq!(timers.pop_due(now), Some((ClientId(2), Deadline::Linger)));
        assert_eq!(timers.pop_due(now), None);
    }
}
