//! The loop's one read path: every readable connection, whatever its transport and codec,
//! is read here, and what it sent handed to its codec.

use super::codec::Input;
use super::connection::Phase;
use super::{MioServer, READ_BUDGET};
use crate::protocol::{ClientId, Flow};

impl MioServer {
    /// Reads, once each, the connections listed to be read again.
    pub(super) fn revisit(&mut self) {
        std::mem::swap(&mut self.revisiting, &mut self.conns.to_revisit);
        for index in 0..self.revisiting.len() {
            let id = self.revisiting[index];
            if let Some(conn) = self.conns.slab.get_mut(id.0) {
                conn.revisit_pending = false;
                self.read_from(id);
            }
        }
        self.revisiting.clear();
    }

    /// Reads one connection until it would block, its input ends, the chat core pauses it,
    /// or its budget runs out (then it is read again next pass). Input its codec set aside
    /// comes first. A draining connection's input (or a closing one's, while its TLS
    /// handshake completes) is read and thrown away until the client closes.
    pub(super) fn read_from(&mut self, id: ClientId) {
        let mut budget = READ_BUDGET;
        loop {
            let Some(conn) = self.conns.slab.get_mut(id.0) else {
                return;
            };
            if !conn.wants_input() {
                return;
            }
            let draining = conn.phase != Phase::Open;
            if !draining {
                if let Some(mut set_aside) = conn.codec.take_set_aside() {
                    if self.feed(id, &mut set_aside) == Flow::Paused {
                        return self.pause(id);
                    }
                    continue;
                }
            }
            let was_handshaking = conn.io.is_handshaking();
            let read = conn.io.read(&mut self.read_buf);
            if was_handshaking || conn.io.has_own_output() {
                self.conns.note_transport_progress(id, was_handshaking);
            }
            match read {
                Ok(0) if draining => return self.conns.close_now(id, self.poll.registry()),
                Ok(0) => {
                    log::debug!("client {} closed its side", id.0);
                    let Some(conn) = self.conns.slab.get_mut(id.0) else {
                        return;
                    };
                    let mut codec = std::mem::take(&mut conn.codec);
                    codec.end_of_input(id, self.conns.now, &mut self.hub, &mut self.conns);
                    // The core closes clients it knows; make sure of it for any it did not.
                    crate::protocol::Sink::close(&mut self.conns, id);
                    return;
                }
                Ok(n) => {
                    self.conns.counters.bytes_in += n as u64;
                    if !draining {
                        let mut read_buf = std::mem::take(&mut self.read_buf);
                        let flow = self.feed(id, &mut read_buf[..n]);
                        self.read_buf = read_buf;
                        if flow == Flow::Paused {
                            return self.pause(id);
                        }
                    }
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        self.conns.revisit(id);
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) if draining => return self.conns.close_now(id, self.poll.registry()),
                Err(e) => {
                    if was_handshaking {
                        self.conns.counters.tls_handshakes_failed += 1;
                    }
                    return self.conns.fail(id, &e);
                }
            }
        }
    }

    /// Stops reading client `id` until the chat core says it may go on.
    fn pause(&mut self, id: ClientId) {
        if let Some(conn) = self.conns.slab.get_mut(id.0) {
            conn.paused = true;
        }
    }

    /// Hands `bytes` from client `id` to its codec, and answers its request if that
    /// completed one.
    fn feed(&mut self, id: ClientId, bytes: &mut [u8]) -> Flow {
        let Some(conn) = self.conns.slab.get_mut(id.0) else {
            return Flow::Continue;
        };
        let mut codec = std::mem::take(&mut conn.codec);
        let input = codec.input(id, bytes, self.conns.now, &mut self.hub, &mut self.conns);
        if let Some(conn) = self.conns.slab.get_mut(id.0) {
            conn.codec = codec;
        }
        match input {
            Input::Chat(flow) => flow,
            Input::Request(parsed) => self.serve(id, parsed),
        }
    }
}
