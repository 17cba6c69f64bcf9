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
    /// The socket failed: nothing more is read or queued; dropped after the current step.
    Failed,
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
    /// Open or closing.
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
