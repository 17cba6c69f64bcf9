//! The loop's one flush path: every connection that got output is written here, whatever
//! its transport and framing, and a connection that failed is dropped after the step that
//! found it.

use mio::Interest;

use super::connection::Phase;
use super::{MioServer, WRITE_BUDGET};
use crate::outbox::Flushed;
use crate::protocol::{ClientId, Departure};

impl MioServer {
    /// The flush path: writes out every connection that got output since the last flush.
    pub(super) fn flush_pending(&mut self) {
        std::mem::swap(&mut self.flushing, &mut self.conns.to_flush);
        for index in 0..self.flushing.len() {
            let id = self.flushing[index];
            self.flush(id);
        }
        self.flushing.clear();
    }

    /// Writes one connection's outbox, within its budget, and acts on how that went.
    fn flush(&mut self, id: ClientId) {
        let Some(conn) = self.conns.slab.get_mut(id.0) else {
            return;
        };
        conn.flush_pending = false;
        let before = conn.outbox.queued_bytes();
        let flushed = conn.outbox.flush_to(
            &mut conn.io,
            conn.framing,
            WRITE_BUDGET,
            &mut self.conns.gather,
        );
        self.conns.counters.bytes_out += (before - conn.outbox.queued_bytes()) as u64;
        match flushed {
            Ok(Flushed::Drained) => {
                if let Some(storage) = conn.outbox.release_storage() {
                    self.conns.spares.put(storage);
                }
                // A TLS session holds what it was given until its handshake completes; the
                // read path lists the connection for a flush then.
                if conn.phase == Phase::Closing && !conn.io.is_handshaking() {
                    conn.phase = Phase::Draining;
                    if let Err(e) = conn.io.shutdown_write() {
                        log::debug!("client {}: shutdown failed: {e}", id.0);
                    }
                    // Input may already be waiting, and no new event will say so.
                    self.conns.revisit(id);
                } else if conn.wants_writable {
                    conn.wants_writable = false;
                    self.conns
                        .reregister(id, Interest::READABLE, self.poll.registry());
                }
            }
            Ok(Flushed::Blocked) => {
                if !conn.wants_writable {
                    conn.wants_writable = true;
                    self.conns.reregister(
                        id,
                        Interest::READABLE | Interest::WRITABLE,
                        self.poll.registry(),
                    );
                }
            }
            Ok(Flushed::BudgetSpent) => self.conns.mark_for_flush(id),
            Err(e) => self.conns.fail(id, &e),
        }
    }

    /// Drops the connections whose sockets failed, after the step that found them, and tells
    /// the chat core (which ignores those it had already let go); their rooms' notices are
    /// flushed in the next pass.
    pub(super) fn drop_failed(&mut self) {
        while let Some((id, why)) = self.conns.failed.pop() {
            if why == Departure::TooSlow {
                let nick = self.hub.nick(id).unwrap_or("-");
                log::info!(
                    "client {} ({nick}) dropped: its socket refused more than --max-outbuf",
                    id.0
                );
            }
            self.conns.close_now(id, self.poll.registry());
            self.hub.disconnect(id, why, &mut self.conns);
        }
    }
}
