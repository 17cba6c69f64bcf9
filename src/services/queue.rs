//! A work queue between threads, bounded in bytes: what a service has not yet done can
//! never grow without limit, however fast work arrives.
//!
//! The producer (a driver's thread) never waits: past the bound, [`ByteQueue::push`] hands
//! the item back and the producer decides what to do with it (drop and count it, answer
//! "busy"). The consumer (the service's thread) takes everything waiting at once, so that it
//! can work in batches.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// See the module documentation.
#[derive(Debug)]
pub struct ByteQueue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
    /// Bytes the queue may hold.
    limit: usize,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<(T, usize)>,
    bytes: usize,
    closed: bool,
}

/// What [`ByteQueue::take_all`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// Items were moved into the caller's buffer.
    Work,
    /// Nothing came before the timeout.
    Idle,
    /// The queue is closed and empty: the consumer should stop.
    Closed,
}

impl<T> ByteQueue<T> {
    /// An empty queue that holds at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        ByteQueue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                bytes: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            limit,
        }
    }

    /// Adds `item`, which counts as `bytes`, unless that would pass the bound (or the queue
    /// is closed): then the item comes back.
    pub fn push(&self, item: T, bytes: usize) -> Result<(), T> {
        let mut state = self.lock();
        if state.closed || state.bytes + bytes > self.limit {
            return Err(item);
        }
        state.bytes += bytes;
        state.items.push_back((item, bytes));
        self.wake_if_first(state);
        Ok(())
    }

    /// Adds `item` whatever the bound: for the few items somebody waits for, whose number
    /// is bounded elsewhere. Fails only if the queue is closed.
    pub fn push_always(&self, item: T) -> Result<(), T> {
        let mut state = self.lock();
        if state.closed {
            return Err(item);
        }
        state.items.push_back((item, 0));
        self.wake_if_first(state);
        Ok(())
    }

    /// Wakes the consumer if the item just pushed is the only one: the consumer waits only
    /// on an empty queue, and takes everything at once, so a later push finds it awake or
    /// about to take. (Waking it for every item would cost the producer a system call per
    /// item, and the consumer a wake-up per item.)
    fn wake_if_first(&self, state: MutexGuard<'_, State<T>>) {
        let first = state.items.len() == 1;
        drop(state);
        if first {
            self.ready.notify_one();
        }
    }

    /// Moves everything waiting into `into`, in order, waiting up to `timeout` for something
    /// to arrive.
    pub fn take_all(&self, into: &mut Vec<T>, timeout: Duration) -> Taken {
        let mut state = self.lock();
        if state.items.is_empty() && !state.closed {
            state = self
                .ready
                .wait_timeout(state, timeout)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if state.items.is_empty() {
            return if state.closed {
                Taken::Closed
            } else {
                Taken::Idle
            };
        }
        state.bytes = 0;
        into.extend(state.items.drain(..).map(|(item, _)| item));
        Taken::Work
    }

    /// How many items wait, for `/metrics`.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// True if nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// No more items will be accepted; the consumer finishes what is queued, then stops.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // The state is a queue and a count; a panic elsewhere cannot leave it inconsistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_past_the_bound_come_back_and_taking_frees_the_room() {
        let queue = ByteQueue::new(10);
        assert_eq!(queue.push("a", 6), Ok(()));
        assert_eq!(queue.push("b", 6), Err("b"));
        assert_eq!(queue.push_always("c"), Ok(()));
        let mut taken = Vec::new();
        assert_eq!(queue.take_all(&mut taken, Duration::ZERO), Taken::Work);
        assert_eq!(taken, ["a", "c"]);
        assert_eq!(queue.push("d", 10), Ok(()));
    }

    #[test]
    fn a_closed_queue_gives_out_what_it_holds_then_says_closed() {
        let queue = ByteQueue::new(10);
        queue.push("a", 1).unwrap();
        queue.close();
        assert_eq!(queue.push("b", 1), Err("b"));
        let mut taken = Vec::new();
        assert_eq!(queue.take_all(&mut taken, Duration::ZERO), Taken::Work);
        assert_eq!(queue.take_all(&mut taken, Duration::ZERO), Taken::Closed);
        assert_eq!(taken, ["a"]);
    }

    #[test]
    fn a_waiting_consumer_is_woken_by_the_first_push_and_takes_the_rest_with_it() {
        let queue = std::sync::Arc::new(ByteQueue::new(100));
        let consumer = {
            let queue = std::sync::Arc::clone(&queue);
            std::thread::spawn(move || {
                let mut taken = Vec::new();
                while taken.len() < 3 {
                    assert_eq!(
                        queue.take_all(&mut taken, Duration::from_secs(60)),
                        Taken::Work,
                        "woken by a push, long before the timeout"
                    );
                }
                taken
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        for item in 1..=3 {
            queue.push(item, 1).unwrap();
        }
        assert_eq!(consumer.join().unwrap(), [1, 2, 3]);
    }

    #[test]
    fn an_empty_queue_waits_then_reports_idle() {
        let queue: ByteQueue<u8> = ByteQueue::new(10);
        let mut taken = Vec::new();
        assert_eq!(
            queue.take_all(&mut taken, Duration::from_millis(10)),
            Taken::Idle
        );
    }
}
