//! The connections and the bookkeeping the chat core's decisions feed: the loop's [`Sink`].
//!
//! A line for a client is pushed onto its outbox and the client listed for the flush at the
//! end of the pass. `--max-outbuf` is about what the client's socket would not take, so an
//! outbox that crosses it in the middle of a pass is written out there and then, and only a
//! client whose socket still refuses the bytes is given up on as too slow. Giving up, like
//! any failure, takes effect after the current step: a fan-out never loses its way.

use std::io;
use std::time::Instant;

use mio::{Interest, Registry, Token};
use slab::Slab;

use tungstenite::protocol::frame::coding::CloseCode;

use super::connection::{Connection, Phase};
use super::counters::LoopCounters;
use super::timers::{Deadline, Timers};
use super::web::websocket;
use crate::lifecycle::CLOSE_LINGER;
use crate::outbox::{Framing, Gather, SpareQueues};
use crate::protocol::{ClientId, Departure, Line, Sink};

/// See the module documentation.
pub struct Connections {
    pub slab: Slab<Connection>,
    /// Connections with output queued since the last flush, each listed once.
    pub to_flush: Vec<ClientId>,
    /// Connections to read again next pass without waiting for an event: their read budget
    /// ran out, or the chat core let them go on. Each listed once.
    pub to_revisit: Vec<ClientId>,
    /// Connections that failed or fell too far behind, to drop after the current step.
    pub failed: Vec<(ClientId, Departure)>,
    /// Every connection's deadlines.
    pub timers: Timers,
    /// `--max-outbuf`: bytes a client's socket may refuse before it is dropped as too slow.
    max_outbuf: usize,
    /// Where short lines are laid end to end before each write (shared by all connections).
    pub gather: Gather,
    /// Drained outboxes' storage, reused by the next fan-out.
    pub spares: SpareQueues,
    /// The loop's clock, read once per pass.
    pub now: Instant,
    /// Connections open, by listener index.
    pub open_per_listener: Vec<u64>,
    /// What the loop counts for `/metrics`.
    pub counters: LoopCounters,
}

impl Connections {
    /// No connections yet from `listeners` listeners, dropping clients whose sockets refuse
    /// `max_outbuf` bytes.
    pub fn new(max_outbuf: usize, listeners: usize) -> Self {
        Connections {
            open_per_listener: vec![0; listeners],
            counters: LoopCounters::default(),
            slab: Slab::new(),
            to_flush: Vec::new(),
            to_revisit: Vec::new(),
            failed: Vec::new(),
            timers: Timers::default(),
            max_outbuf,
            gather: Gather::default(),
            spares: SpareQueues::default(),
            now: Instant::now(),
        }
    }

    /// Lists a connection for the next flush, once.
    pub fn mark_for_flush(&mut self, id: ClientId) {
        if let Some(conn) = self.slab.get_mut(id.0) {
            list_for_flush(&mut self.to_flush, id, conn);
        }
    }

    /// Lists a connection to be read again next pass, once.
    pub fn revisit(&mut self, id: ClientId) {
        if let Some(conn) = self.slab.get_mut(id.0) {
            if !conn.revisit_pending {
                conn.revisit_pending = true;
                self.to_revisit.push(id);
            }
        }
    }

    /// After a read from a transport that was in its TLS handshake (`was_handshaking`) or
    /// has output of its own: that output (handshake records, alerts) is listed for the
    /// flush, and a handshake that has just completed loses its deadline and has the lines
    /// that waited for it flushed.
    pub fn note_transport_progress(&mut self, id: ClientId, was_handshaking: bool) {
        let Some(conn) = self.slab.get_mut(id.0) else {
            return;
        };
        if was_handshaking && !conn.io.is_handshaking() {
            log::debug!("client {}: TLS handshake done", id.0);
            self.timers.cancel((id, Deadline::Handshake));
        }
        list_for_flush(&mut self.to_flush, id, conn);
    }

    /// Notes a socket error; the connection is dropped after the current step.
    pub fn fail(&mut self, id: ClientId, error: &io::Error) {
        log::debug!("client {}: {error}", id.0);
        self.give_up_on(id, Departure::ConnectionLost);
    }

    /// Stops all traffic to and from a connection and lists it to be dropped after the
    /// current step.
    pub fn give_up_on(&mut self, id: ClientId, why: Departure) {
        let Some(conn) = self.slab.get_mut(id.0) else {
            return;
        };
        if conn.phase != Phase::Failed {
            conn.phase = Phase::Failed;
            conn.outbox.clear();
            self.failed.push((id, why));
        }
    }

    /// Changes what a connection's socket is registered for.
    pub fn reregister(&mut self, id: ClientId, interest: Interest, registry: &Registry) {
        let Some(conn) = self.slab.get_mut(id.0) else {
            return;
        };
        if let Err(e) = registry.reregister(conn.io.socket(), Token(id.0), interest) {
            self.fail(id, &e);
        }
    }

    /// Adds a freshly accepted connection under `id` (a vacant key of the slab).
    pub fn insert(&mut self, id: ClientId, conn: Connection) {
        self.open_per_listener[usize::from(conn.listener)] += 1;
        self.slab.insert(conn);
        debug_assert!(self.slab.contains(id.0));
    }

    /// Removes a connection from the loop and closes its socket.
    pub fn close_now(&mut self, id: ClientId, registry: &Registry) {
        if self.slab.contains(id.0) {
            let mut conn = self.slab.remove(id.0);
            self.open_per_listener[usize::from(conn.listener)] -= 1;
            if let Err(e) = registry.deregister(conn.io.socket()) {
                log::debug!("client {}: deregister failed: {e}", id.0);
            }
            self.timers.cancel_all(id);
            log::debug!("client {} closed", id.0);
        }
    }

    /// Queues bytes a codec speaks by itself for client `id` (an HTTP response, a pong),
    /// in order with its lines and under the same `--max-outbuf`.
    pub fn send_raw(&mut self, id: ClientId, bytes: Line) {
        let Some(conn) = self.slab.get_mut(id.0) else {
            return;
        };
        if conn.phase == Phase::Open {
            conn.outbox.push_raw(bytes);
            self.queued(id);
        }
    }

    /// Closes WebSocket client `id` with `code` once what is queued for it is written.
    pub fn close_websocket(&mut self, id: ClientId, code: CloseCode) {
        self.send_raw(id, websocket::close(code));
        self.begin_closing(id);
    }

    /// Client `id` got output: list it for the flush, and write it through if it crossed
    /// `--max-outbuf`.
    fn queued(&mut self, id: ClientId) {
        let Some(conn) = self.slab.get_mut(id.0) else {
            return;
        };
        list_for_flush(&mut self.to_flush, id, conn);
        if conn.outbox.queued_bytes() > self.max_outbuf {
            self.write_through(id);
        }
    }

    /// Stops taking output for client `id`: what is queued is written, then it is closed
    /// (or dropped at its linger deadline).
    fn begin_closing(&mut self, id: ClientId) {
        let Some(conn) = self.slab.get_mut(id.0) else {
            return;
        };
        if conn.phase == Phase::Open {
            conn.phase = Phase::Closing;
            list_for_flush(&mut self.to_flush, id, conn);
            self.timers
                .set((id, Deadline::Linger), self.now + CLOSE_LINGER);
        }
    }

    /// Writes a client's outbox now, in the middle of a pass, because it crossed
    /// `--max-outbuf`; gives up on the client if its socket still refuses that much.
    fn write_through(&mut self, id: ClientId) {
        let Some(conn) = self.slab.get_mut(id.0) else {
            return;
        };
        let before = conn.outbox.queued_bytes();
        let flushed =
            conn.outbox
                .flush_to(&mut conn.io, conn.framing, usize::MAX, &mut self.gather);
        self.counters.bytes_out += (before - conn.outbox.queued_bytes()) as u64;
        match flushed {
            Ok(_) if conn.outbox.queued_bytes() > self.max_outbuf => {
                self.give_up_on(id, Departure::TooSlow);
            }
            Ok(_) => {}
            Err(e) => self.fail(id, &e),
        }
    }
}

impl Sink for Connections {
    fn send(&mut self, to: ClientId, line: &Line) {
        let Some(conn) = self.slab.get_mut(to.0) else {
            return;
        };
        if conn.phase != Phase::Open {
            return;
        }
        self.counters.deliveries += 1;
        conn.outbox.push_recycling(line.clone(), &mut self.spares);
        self.queued(to);
    }

    /// A WebSocket client is sent a close frame (1000) after its last lines.
    fn close(&mut self, client: ClientId) {
        let Some(conn) = self.slab.get_mut(client.0) else {
            return;
        };
        if conn.phase == Phase::Open && conn.framing == Framing::WebSocket {
            self.send_raw(client, websocket::close(CloseCode::Normal));
        }
        self.begin_closing(client);
    }

    fn set_timer(&mut self, client: ClientId, at: Option<Instant>) {
        match at {
            Some(at) if self.slab.contains(client.0) => {
                self.timers.set((client, Deadline::Core), at);
            }
            _ => self.timers.cancel((client, Deadline::Core)),
        }
    }

    fn resume_reading(&mut self, client: ClientId) {
        if let Some(conn) = self.slab.get_mut(client.0) {
            conn.paused = false;
            // Input may be waiting in the socket, and no new event will say so.
            self.revisit(client);
        }
    }
}

/// Puts `conn` on the flush list unless it is there already.
fn list_for_flush(to_flush: &mut Vec<ClientId>, id: ClientId, conn: &mut Connection) {
    if !conn.flush_pending {
        conn.flush_pending = true;
        to_flush.push(id);
    }
}
