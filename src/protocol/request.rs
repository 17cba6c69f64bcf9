//! Work the chat core asks for but must not do itself, and the answers it gets back.
//!
//! The core runs on the event loop, where nothing may block. Keeping a message on disk or
//! reading older history is done by services on threads of their own: the core queues a
//! [`Request`] (drivers take them with `Hub::poll_request` and hand them to the services),
//! and a service answers with a [`Completion`], which the driver gives back through
//! `Hub::handle_completion`. An answer about a client carries the [`Ticket`] its request was
//! given; by the time it arrives the client may have gone and its number been given to a new
//! connection, so the core only accepts an answer whose ticket it is still waiting for.

use std::sync::Arc;

use super::sink::ClientId;

/// Names one request of one client: the answer is only taken if the core still waits for
/// exactly this ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket {
    /// The client that asked.
    pub(crate) client: ClientId,
    /// Unique among the core's tickets.
    pub(crate) number: u64,
}

/// What kind of message a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `alice: text`
    Chat,
    /// `* alice text`
    Action,
}

/// One message said in a room, as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// When it was said, in milliseconds since the Unix epoch.
    pub unix_ms: i64,
    /// The room, as its name was first written (`#Rust`).
    pub room: Arc<str>,
    /// Who said it.
    pub nick: Arc<str>,
    /// A chat line or an action.
    pub kind: Kind,
    /// What was said, sanitised.
    pub text: Box<str>,
}

/// Work for a service.
#[derive(Debug)]
pub enum Request {
    /// For the store.
    Store(StoreRequest),
}

/// Work for the store.
#[derive(Debug)]
pub enum StoreRequest {
    /// Keep this message. Nobody waits for it: a store that falls behind may drop it.
    Keep(Record),
    /// The last `limit` messages of `room`, oldest first, as a [`Completion::History`].
    History {
        /// Who waits for them.
        ticket: Ticket,
        /// The room (any case; the store compares names folded).
        room: Arc<str>,
        /// How many, at most.
        limit: usize,
    },
}

/// A service's answer.
#[derive(Debug)]
pub enum Completion {
    /// The messages a [`StoreRequest::History`] asked for, oldest first.
    History {
        /// The request's ticket.
        ticket: Ticket,
        /// The messages.
        records: Vec<Record>,
    },
    /// The service could not do what `ticket` asked (it is overloaded, or failed); the
    /// client is told why and goes on.
    Failed {
        /// The request's ticket.
        ticket: Ticket,
        /// Why, in words for the client.
        reason: Box<str>,
    },
}

impl Completion {
    /// The ticket of the request this answers.
    pub fn ticket(&self) -> Ticket {
        match self {
            Completion::History { ticket, .. } | Completion::Failed { ticket, .. } => *ticket,
        }
    }
}
