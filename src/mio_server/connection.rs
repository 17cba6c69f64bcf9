//! One accepted socket as the event loop sees it: its transport, its codec, its outbox and
//! where it is in its life.

use super::codec::Codec;
use super::io::Io;
use crate::outbox::{Framing, Outbox};

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading and writing.
    Open,
    /// The chat core is done with it: write what is queued, then close; input is ignored.
    /// Dropped at its linger deadline if the client does not take its last lines.
    Closing,
    /// Everything is written and the write side shut (the client has its FIN); what the
    /// client still sends is read and thrown away until it closes or the linger deadline.
    /// Closing with unread input would make the kernel reset the connection, and a reset can
    /// destroy lines the client has not read yet (its goodbye, or why it was refused).
    Draining,
    /// The socket failed: nothing more is read or queued; dropped after the current step.
    Failed,
}

/// A client connection owned by the event loop's slab.
#[derive(Debug)]
pub struct Connection {
    /// The transport, registered with the poll under the connection's slab key.
    pub io: Io,
    /// How its bytes become chat input.
    pub codec: Codec,
    /// Output waiting to be written.
    pub outbox: Outbox,
    /// How its outbox's lines go on the wire: as they are, or as WebSocket frames once the
    /// client has upgraded.
    pub framing: Framing,
    /// Open, closing, draining or failed.
    pub phase: Phase,
    /// Already in the loop's list of connections to flush this pass.
    pub flush_pending: bool,
    /// Registered for writable events (only while output is blocked).
    pub wants_writable: bool,
    /// The chat core holds input of this client: do not read it until told to resume.
    pub paused: bool,
    /// Already in the list of connections to read again next pass.
    pub revisit_pending: bool,
    /// The listener it came from (its index: there are at most four), for the metrics.
    pub listener: u8,
}

impl Connection {
    /// A freshly accepted connection from the `listener`th listener.
    pub fn new(io: Io, codec: Codec, listener: u8) -> Self {
        Connection {
            io,
            codec,
            listener,
            outbox: Outbox::default(),
            framing: Framing::Lines,
            phase: Phase::Open,
            flush_pending: false,
            wants_writable: false,
            paused: false,
            revisit_pending: false,
        }
    }

    /// True if the loop should read this connection: open and not paused, draining, or
    /// closing but still in a TLS handshake, which must complete before its last lines can
    /// go out (what such a connection sends is thrown away, as when draining).
    pub fn wants_input(&self) -> bool {
        match self.phase {
            Phase::Open => !self.paused,
            Phase::Draining => true,
            Phase::Closing => self.io.is_handshaking(),
            Phase::Failed => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every connection is a slab slot of this size, and the slab doubles as it grows, so
    /// each byte here costs up to two per connection: an idle connection's memory is mostly
    /// this and the chat core's client. The web and TLS keep their state boxed apart.
    #[test]
    fn a_connection_slot_stays_small() {
        assert_eq!(std::mem::size_of::<Codec>(), 8);
        assert!(
            std::mem::size_of::<Connection>() <= 80,
            "{} bytes",
            std::mem::size_of::<Connection>()
        );
    }
}
