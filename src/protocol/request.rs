//! Work the chat core asks for but must not do itself, and the answers it gets back.
//!
//! The core runs on the event loop, where nothing may block. Keeping a message on disk,
//! reading older history, looking an account up or hashing a password (tens of
//! milliseconds, by design) is done by services on threads of their own: the core queues a
//! [`Request`] (drivers take them with `Hub::poll_request` and hand them to the services),
//! and a service answers with a [`Completion`], which the driver gives back through
//! `Hub::handle_completion`. An answer about a client carries the [`Ticket`] its request was
//! given; by the time it arrives the client may have gone and its number been given to a new
//! connection, so the core only accepts an answer whose ticket it is still waiting for.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use super::others::Elsewhere;
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

/// A password as typed. Its `Debug` shows nothing of it, so it cannot reach a log by
/// accident, and its bytes are overwritten when it is dropped.
pub struct Secret(Box<str>);

impl Secret {
    /// Wraps a password.
    pub fn new(password: &str) -> Secret {
        Secret(password.into())
    }

    /// The password, for the hashing service only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_boxed_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

/// An account, as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The nickname it owns, as registered.
    pub name: Box<str>,
    /// Its password's hash, a PHC string (`$argon2id$v=19$m=...`).
    pub hash: Box<str>,
}

/// A private message kept for an account that was away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offline {
    /// The store's number for it, to forget it once delivered.
    pub id: i64,
    /// When it was sent, in milliseconds since the Unix epoch.
    pub unix_ms: i64,
    /// Who sent it.
    pub from: Box<str>,
    /// What it says.
    pub text: Box<str>,
}

/// A ban: a name (folded) that may not log in, and the address its client had, until a time
/// (milliseconds since the Unix epoch) or until lifted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ban {
    /// The nickname, folded.
    pub name: Box<str>,
    /// The banned client's address, if it was connected.
    pub address: Option<IpAddr>,
    /// When it ends; `None` lasts until `/unban`.
    pub until: Option<i64>,
}

/// A mute: a name (folded) whose chat, actions and private messages are refused, until a
/// time or until lifted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mute {
    /// The nickname, folded.
    pub name: Box<str>,
    /// When it ends; `None` lasts until `/unmute`.
    pub until: Option<i64>,
}

/// What the store gives the chat core when the server starts.
#[derive(Debug, Default)]
pub struct Preload {
    /// The recent messages of the most recently active rooms, oldest first.
    pub history: Vec<Record>,
    /// The bans in force.
    pub bans: Vec<Ban>,
    /// The mutes in force.
    pub mutes: Vec<Mute>,
    /// Who is on the other servers (none, for a server alone).
    pub others: Vec<Elsewhere>,
    /// Whether other servers write to the store too: then a room with no members here may
    /// be talking elsewhere, and its cached history would go stale, so none is kept.
    pub shared: bool,
}

/// Work for a service.
#[derive(Debug)]
pub enum Request {
    /// For the store.
    Store(StoreRequest),
    /// For the password-hashing pool.
    Auth(AuthRequest),
}

/// Work for the password-hashing pool.
#[derive(Debug)]
pub enum AuthRequest {
    /// Hash a new password: a [`Completion::Hashed`].
    Hash {
        /// Who waits for it.
        ticket: Ticket,
        /// The password.
        password: Secret,
    },
    /// Check a password against an account's hash: a [`Completion::Verified`].
    Verify {
        /// Who waits for it.
        ticket: Ticket,
        /// The password as typed.
        password: Secret,
        /// The account's hash.
        hash: Box<str>,
    },
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
    /// Claim nickname `name` for a client that will be in `room`, across every server
    /// sharing the store, and say which account owns it: a [`Completion::Claimed`]. (A
    /// store for one server has nothing to claim: the chat core's own check is enough.)
    Claim {
        /// Who waits for it.
        ticket: Ticket,
        /// The nickname, as typed.
        name: Box<str>,
        /// The room its client will be in.
        room: Arc<str>,
    },
    /// Nickname `name` is no longer used here.
    Release {
        /// The nickname.
        name: Box<str>,
    },
    /// The client called `name` is now in `room`.
    Moved {
        /// The nickname.
        name: Box<str>,
        /// The room, as its name was first written.
        room: Arc<str>,
    },
    /// A notice for the members of `room` on other servers (someone joined, left, was
    /// renamed or kicked here).
    Announce {
        /// The room, as its name was first written.
        room: Arc<str>,
        /// The notice, without its `*** `.
        text: Box<str>,
    },
    /// A private message for `to`, who is on another server.
    Direct {
        /// The nickname it is for.
        to: Box<str>,
        /// Who sends it.
        from: Box<str>,
        /// What it says.
        text: Box<str>,
    },
    /// An operator here kicks `nick`, who is on another server.
    Kick {
        /// Who is kicked.
        nick: Box<str>,
        /// The operator.
        by: Box<str>,
        /// Why, if said.
        reason: Option<Box<str>>,
    },
    /// A room here got its first member: its lines from other servers are wanted.
    Watch(Arc<str>),
    /// A room here lost its last member: its lines from other servers are not wanted.
    Unwatch(Arc<str>),
    /// The account that owns nickname `name`, if any: a [`Completion::Account`].
    LookUp {
        /// Who waits for it.
        ticket: Ticket,
        /// The nickname (any case).
        name: Box<str>,
    },
    /// Make an account for `name` unless the name has one: a [`Completion::Done`], false if
    /// it had.
    Register {
        /// Who waits for it.
        ticket: Ticket,
        /// The nickname, as registered.
        name: Box<str>,
        /// Its password's hash.
        hash: Box<str>,
    },
    /// Give account `name` a new password hash: a [`Completion::Done`].
    SetPassword {
        /// Who waits for it.
        ticket: Ticket,
        /// The account.
        name: Box<str>,
        /// The new hash.
        hash: Box<str>,
    },
    /// Keep a private message for account `to`, unless `limit` are waiting for it already:
    /// a [`Completion::Done`], false if it had too many.
    KeepOffline {
        /// Who waits for it.
        ticket: Ticket,
        /// The account it is for.
        to: Box<str>,
        /// The message.
        message: Offline,
        /// Messages an account may have waiting at most.
        limit: usize,
    },
    /// The messages waiting for account `name`, oldest first: a [`Completion::Offline`].
    TakeOffline {
        /// Who waits for them.
        ticket: Ticket,
        /// The account.
        name: Box<str>,
    },
    /// Forget account `name`'s waiting messages up to number `up_to`: they were delivered.
    DropOffline {
        /// The account.
        name: Box<str>,
        /// The last one delivered.
        up_to: i64,
    },
    /// Keep a ban (replacing any on the same name).
    Ban(Ban),
    /// Lift the ban on this name (folded).
    Unban(Box<str>),
    /// Keep a mute (replacing any on the same name).
    Mute(Mute),
    /// Lift the mute on this name (folded).
    Unmute(Box<str>),
}

impl StoreRequest {
    /// The ticket of a request somebody waits for; `None` for the rest.
    pub fn ticket(&self) -> Option<Ticket> {
        match self {
            StoreRequest::History { ticket, .. }
            | StoreRequest::Claim { ticket, .. }
            | StoreRequest::LookUp { ticket, .. }
            | StoreRequest::Register { ticket, .. }
            | StoreRequest::SetPassword { ticket, .. }
            | StoreRequest::KeepOffline { ticket, .. }
            | StoreRequest::TakeOffline { ticket, .. } => Some(*ticket),
            _ => None,
        }
    }
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
    /// A new password's hash.
    Hashed {
        /// The request's ticket.
        ticket: Ticket,
        /// The hash, a PHC string.
        hash: Box<str>,
    },
    /// Whether a password matched.
    Verified {
        /// The request's ticket.
        ticket: Ticket,
        /// True if it did.
        matches: bool,
    },
    /// The answer to a [`StoreRequest::Claim`].
    Claimed {
        /// The request's ticket.
        ticket: Ticket,
        /// Another server's client has the nickname.
        taken: bool,
        /// The account that owns the nickname, if one does.
        account: Option<Account>,
    },
    /// The account a [`StoreRequest::LookUp`] asked for.
    Account {
        /// The request's ticket.
        ticket: Ticket,
        /// The account, if the name has one.
        account: Option<Account>,
    },
    /// Whether a change was made (see each request).
    Done {
        /// The request's ticket.
        ticket: Ticket,
        /// True if it was.
        done: bool,
    },
    /// The messages a [`StoreRequest::TakeOffline`] asked for.
    Offline {
        /// The request's ticket.
        ticket: Ticket,
        /// The messages, oldest first.
        messages: Vec<Offline>,
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
            Completion::History { ticket, .. }
            | Completion::Claimed { ticket, .. }
            | Completion::Hashed { ticket, .. }
            | Completion::Verified { ticket, .. }
            | Completion::Account { ticket, .. }
            | Completion::Done { ticket, .. }
            | Completion::Offline { ticket, .. }
            | Completion::Failed { ticket, .. } => *ticket,
        }
    }
}

/// News from other servers, or about the link to them, which no client asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Remote {
    /// A chat line or action said on another server, for the room's members here.
    Said(Record),
    /// A notice for the members of `room` here.
    Notice {
        /// The room (any case).
        room: Box<str>,
        /// The notice, without its `*** `.
        text: Box<str>,
    },
    /// Someone elsewhere took a nickname or moved rooms.
    Arrived(Elsewhere),
    /// Nickname `name` (any case) is no longer used elsewhere.
    Gone(Box<str>),
    /// A private message for `to`, a client here.
    Private {
        /// The nickname it is for.
        to: Box<str>,
        /// Who sent it.
        from: Box<str>,
        /// What it says.
        text: Box<str>,
    },
    /// An operator elsewhere kicked `nick`, a client here.
    Kicked {
        /// Who is kicked.
        nick: Box<str>,
        /// The operator.
        by: Box<str>,
        /// Why, if said.
        reason: Option<Box<str>>,
    },
    /// A ban was set elsewhere.
    Banned(Ban),
    /// The ban on this name (folded) was lifted elsewhere.
    Unbanned(Box<str>),
    /// A mute was set elsewhere.
    Muted(Mute),
    /// The mute on this name (folded) was lifted elsewhere.
    Unmuted(Box<str>),
    /// Contact with the other servers is lost; chat here goes on.
    Lost,
    /// Contact is back: `others` is everyone elsewhere now, and `taken` the nicknames
    /// clients here held that another server's clients claimed meanwhile.
    Back {
        /// Everyone on the other servers.
        others: Vec<Elsewhere>,
        /// Nicknames (as written) lost to other servers.
        taken: Vec<Box<str>>,
    },
}
