//! What the chat core tells a driver to do, and the name it uses for a connection.
//!
//! The core never touches a socket or a clock. Each call into it takes a [`Sink`], the
//! driver's outgoing side, and the core writes its decisions into it: "queue this line for
//! this client", "close this client once its output is flushed", "call me back about this
//! client at this time", "read from this client again". The mio driver turns them into
//! outbox pushes and timer entries; the Tokio driver into items on each task's queue.

use std::time::Instant;

use super::wire::Line;

/// A connection, as the driver numbers it. The driver picks the number (its slab key) when
/// it reports the connection; the core keeps its state under the same number, so a line for
/// a client is routed without any lookup. The driver gives the number to a new connection
/// only after the old one's socket is closed, and the core tells a late answer for the old
/// one apart by its ticket (see [`super::Ticket`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub usize);

/// What a driver does after handing a client's input to the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// Stop reading from this client: the core holds input it cannot act on yet (the client
    /// is ahead of its rate, or waits for an answer). Its further bytes stay in its own
    /// connection until the core calls [`Sink::resume_reading`].
    Paused,
}

/// The driver side of the core: where its decisions go.
pub trait Sink {
    /// Queue `line` for one client.
    fn send(&mut self, to: ClientId, line: &Line);

    /// Queue `line` for each of `members` except `except` (the author, who is never echoed).
    fn broadcast(&mut self, members: &[ClientId], except: Option<ClientId>, line: &Line) {
        for &member in members {
            if Some(member) != except {
                self.send(member, line);
            }
        }
    }

    /// Close `client` once the lines already queued for it are written. The core has
    /// forgotten the client; nothing more will be queued for it.
    fn close(&mut self, client: ClientId);

    /// Call `Hub::timeout` for `client` at `at`, instead of any time asked for before;
    /// `None` cancels. A call that comes late, or for nothing, is harmless.
    fn set_timer(&mut self, client: ClientId, at: Option<Instant>);

    /// `client`'s held input is all taken: read from it again (after [`Flow::Paused`]).
    fn resume_reading(&mut self, client: ClientId);
}
