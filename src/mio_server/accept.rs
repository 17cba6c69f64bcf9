//! Taking new connections: accepting on every listener, and giving each connection its
//! transport (a TLS session, on the TLS listener, with its handshake deadline), its codec and
//! its place in the chat core.
//!
//! A TLS client enters the chat core when it is accepted, like any other: its greeting waits
//! in the TLS session and goes out, encrypted, once the handshake completes. So both of its
//! deadlines run from the accept: the handshake's ([`HANDSHAKE_TIMEOUT`]) and the login's.

use std::net::SocketAddr;
use std::sync::Arc;

use mio::net::TcpStream;
use mio::{Interest, Token};

use super::connection::Connection;
use super::io::Io;
use super::listeners::Kind;
use super::timers::Deadline;
use super::tls::{TlsStream, HANDSHAKE_TIMEOUT};
use super::web::REQUEST_TIMEOUT;
use super::MioServer;
use crate::lifecycle::ACCEPT_BACKOFF;
use crate::protocol::{ClientId, Peer};

impl MioServer {
    /// Accepts on every listener until it would block. Running out of descriptors pauses
    /// accepting for a moment (connections wait in the listen backlog) instead of spinning
    /// on an error that cannot clear by itself; it is logged once per episode.
    pub(super) fn accept_all(&mut self) {
        self.accept_paused_until = None;
        // A connection keeps its listener's index in a byte; there are at most four.
        for (index, listener_id) in (0..self.listeners.len()).zip(0u8..) {
            loop {
                let listener = &self.listeners[index];
                match listener.socket.accept() {
                    Ok((stream, peer)) => {
                        self.starvation.succeeded();
                        let kind = listener.kind.clone();
                        self.admit(stream, peer, &kind, listener_id);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) if self.starvation.failed(&e) => {
                        self.accept_paused_until = Some(self.conns.now + ACCEPT_BACKOFF);
                        return;
                    }
                    Err(e) => log::debug!("accept failed: {e}"),
                }
            }
        }
    }

    /// Registers a new connection of `kind` from the `listener`th listener and introduces
    /// it to the chat core (a web connection only once it asks for a WebSocket; until then
    /// it has [`REQUEST_TIMEOUT`] to ask for anything).
    fn admit(&mut self, stream: TcpStream, peer: SocketAddr, kind: &Kind, listener: u8) {
        if let Err(e) = stream.set_nodelay(true) {
            log::debug!("{peer}: cannot set TCP_NODELAY: {e}");
        }
        let mut io = match kind.tls() {
            None => Io::Plain(stream),
            Some(config) => match TlsStream::new(stream, Arc::clone(config)) {
                Ok(tls) => Io::Tls(Box::new(tls)),
                Err(e) => {
                    log::warn!("{peer}: cannot start a TLS session: {e}");
                    return;
                }
            },
        };
        let id = ClientId(self.conns.slab.vacant_key());
        if let Err(e) = self
            .poll
            .registry()
            .register(io.socket(), Token(id.0), Interest::READABLE)
        {
            log::warn!("{peer}: cannot register the connection: {e}");
            return;
        }
        log::debug!("client {} connected from {peer}", id.0);
        if io.is_handshaking() {
            let deadline = self.conns.now + HANDSHAKE_TIMEOUT;
            self.conns.timers.set((id, Deadline::Handshake), deadline);
        }
        self.conns
            .insert(id, Connection::new(io, kind.codec(), listener));
        if !kind.chats_at_once() {
            let deadline = self.conns.now + REQUEST_TIMEOUT;
            self.conns.timers.set((id, Deadline::Request), deadline);
            return;
        }
        let peer = Peer {
            addr: peer.ip(),
            telnet: kind.telnet(),
        };
        self.hub.connect(id, peer, self.conns.now, &mut self.conns);
    }
}
