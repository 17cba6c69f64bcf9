//! The driver's side of a store's queue, the same for both stores: lines to keep are
//! offered, and past the queue's bound dropped and counted (a slow store must not slow the
//! chat), with one warning per episode; every other request is taken whatever the bound,
//! because a client waits for it (one each at most) or an operator made it.

use std::sync::Arc;

use super::queue::ByteQueue;
use crate::protocol::StoreRequest;

/// Bytes of lines waiting for a store at most: a few seconds of the busiest chat a server
/// can carry, so that only a store that has stopped loses lines.
const QUEUE_BYTES: usize = 16 << 20;
/// What a queued line costs besides its text: the record and the queue's bookkeeping.
const RECORD_OVERHEAD: usize = 96;

/// A store queue's figures, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Requests waiting for the store.
    pub queued: usize,
    /// Lines not kept because the queue was full, ever.
    pub dropped: u64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Intake {
    queue: Arc<ByteQueue<StoreRequest>>,
    /// The store, as the log names it.
    store: &'static str,
    /// Lines dropped because the queue was full, ever.
    dropped: u64,
    /// Whether the last line offered was dropped (so that an episode is logged once).
    dropping: bool,
}

impl Intake {
    /// A new queue for the store the log calls `store`: this end for the driver, the other
    /// for the store's thread.
    pub fn open(store: &'static str) -> (Intake, Arc<ByteQueue<StoreRequest>>) {
        let queue = Arc::new(ByteQueue::new(QUEUE_BYTES));
        let intake = Intake {
            queue: Arc::clone(&queue),
            store,
            dropped: 0,
            dropping: false,
        };
        (intake, queue)
    }

    /// How the queue is doing, for `/metrics`.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            queued: self.queue.len(),
            dropped: self.dropped,
        }
    }

    /// Queues `request`. Never blocks.
    pub fn push(&mut self, request: StoreRequest) {
        let StoreRequest::Keep(record) = request else {
            if self.queue.push_always(request).is_err() {
                log::debug!("{} is closed; a request was not done", self.store);
            }
            return;
        };
        let bytes = RECORD_OVERHEAD + record.room.len() + record.nick.len() + record.text.len();
        match self.queue.push(StoreRequest::Keep(record), bytes) {
            Ok(()) if self.dropping => {
                self.dropping = false;
                log::info!(
                    "{} keeps up again; {} messages were not kept so far",
                    self.store,
                    self.dropped
                );
            }
            Ok(()) => {}
            Err(_) => {
                self.dropped += 1;
                if !self.dropping {
                    self.dropping = true;
                    log::warn!(
                        "{} cannot keep up with the chat: new messages are not kept until it does",
                        self.store
                    );
                }
            }
        }
    }
}

impl Drop for Intake {
    /// No more requests: the store's thread finishes what is queued and stops, whether the
    /// server stopped cleanly or failed.
    fn drop(&mut self) {
        self.queue.close();
    }
}
