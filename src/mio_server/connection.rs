//! One accepted socket as the event loop sees it: the stream, its outbox and its flags.

use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;

use crate::outbox::Outbox;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading and writing.
    Open,
    /// The chat core is done with it: write what is queued, then close; give up at
    /// `deadline`. Input is ignored.
    Closing {
        /// When to drop the connection even if its output is not all written.
        deadline: Instant,
    },
    /// Everything is written and the write side shut (the client has its FIN); what the
    /// client still sends is read and thrown away until it closes or `deadline`. Closing with
    /// unread input would make the kernel reset the connection, and a reset can destroy
    /// lines the client has not read yet (its goodbye, or the reason it was refused).
    Draining {
        /// When to drop the connection whether or not the client has closed.
        deadline: Instant,
    },
    /// The socket failed: nothing more is read or queued; dropped after the current step.
    Failed,
}

impl Phase {
    /// The give-up time of a closing or draining connection.
    pub fn deadline(self) -> Option<Instant> {
        match self {
            Phase::Closing { deadline } | Phase::Draining { deadline } => Some(deadline),
            Phase::Open | Phase::Failed => None,
        }
    }
}

/// A client connection owned by the event loop's slab.
#[derive(Debug)]
pub struct Connection {
    /// The socket, registered with the poll under the connection's slab key.
    pub stream: TcpStream,
    /// For log lines.
    pub peer: SocketAddr,
    /// Lines waiting to be written.
    pub outbox: Outbox,
    /// Open, closing, draining or failed.
    pub phase: Phase,
    /// Already in the loop's list of connections to flush this pass.
    pub flush_pending: bool,
    /// Registered for writable events (only while output is blocked).
    pub wants_writable: bool,
}

impl Connection {
    /// A freshly accepted connection.
    pub fn new(stream: TcpStream, peer: SocketAddr) -> Self {
        Connection {
            stream,
            peer,
            outbox: Outbox::default(),
            phase: Phase::Open,
            flush_pending: false,
            wants_writable: false,
        }
    }
}
