//! What the hub keeps about each client and about what it is waiting for: plain data, the
//! rules that use it are in the other files of the hub.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::protocol::flood::{FloodGate, RateLimit};
use crate::protocol::line::LineDecoder;
use crate::protocol::request::{Account, Secret};
use crate::protocol::room::RoomId;

/// The state of one connection.
#[derive(Debug)]
pub(super) struct Client {
    pub(super) presence: Presence,
    /// The client's unfinished input line.
    pub(super) decoder: LineDecoder,
    /// Its flood-control bucket.
    pub(super) flood: FloodGate,
    /// Where it comes from.
    pub(super) addr: IpAddr,
    /// When it connected, in seconds since the Unix epoch (for `/whois`).
    pub(super) since: u32,
}

/// Whether a client has a nickname yet.
#[derive(Debug)]
pub(super) enum Presence {
    /// Connected, asked for a nickname, none accepted yet; closed if still so at `deadline`.
    ChoosingNick {
        /// The end of `--login-timeout`.
        deadline: Instant,
    },
    /// Registered: has a nickname and is in a room.
    Chatting(Member),
}

/// A registered client's identity and place.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) nick: Arc<str>,
    pub(super) room: RoomId,
    /// Index of this client in its room's member array.
    pub(super) slot: usize,
}

/// A client waiting for a service's answer. While it waits, its input is held (the driver
/// stops reading it) and taken up, in order, once the answer has been acted on.
#[derive(Debug)]
pub(super) struct Waiting {
    /// The number of the ticket the answer must carry.
    pub(super) ticket: u64,
    /// What the answer is for.
    pub(super) purpose: Purpose,
}

/// What a waiting client asked for.
#[derive(Debug)]
pub(super) enum Purpose {
    /// To register as `nick` (reserved for it): the lobby's history is loading.
    Register {
        /// The nickname as typed.
        nick: Arc<str>,
    },
    /// To move to the room called `room`: its history is loading.
    Join {
        /// The room's name as typed, `#` included.
        room: Box<str>,
    },
    /// `/history`: older messages of its room are loading.
    History,
    /// Whether an account owns `nick` (reserved for the client), chosen to log in with or
    /// to rename to.
    LookUp {
        /// The nickname as typed.
        nick: Arc<str>,
        /// What the nickname is for.
        then: Then,
    },
    /// Whether the password typed for `account` is right.
    Verify {
        /// The account.
        account: Account,
        /// What the nickname is for.
        then: Then,
    },
    /// `/register`: the new password's hash is being made.
    HashForAccount,
    /// `/register`: the account is being made, with this hash.
    MakeAccount {
        /// The password's hash.
        hash: Box<str>,
    },
    /// `/passwd`: the old password is being checked; then the new one is hashed.
    CheckOldPassword {
        /// The new password.
        new: Secret,
    },
    /// `/passwd`: the new password's hash is being made.
    HashNewPassword,
    /// `/passwd`: the account is being given this hash.
    StorePassword {
        /// The new hash.
        hash: Box<str>,
    },
    /// `/msg` to someone not here: does an account own that name?
    MessageLookUp {
        /// The name as typed.
        to: Box<str>,
        /// The message.
        text: Box<str>,
    },
    /// `/msg` to an account that is away: the message is being kept for it.
    MessageKept {
        /// The account's name.
        to: Box<str>,
    },
    /// Just logged in: the private messages that waited are loading.
    Offline {
        /// The account's name.
        name: Box<str>,
    },
}

/// What a nickname being claimed is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Then {
    /// Logging in at the nickname prompt.
    LogIn,
    /// Renaming with `/nick`.
    Rename,
}

/// A client whose next line is a password, for the account that owns the nickname it chose.
#[derive(Debug)]
pub(super) struct Prompt {
    pub(super) account: Account,
    pub(super) then: Then,
}

/// The limits of the chat rules, from the configuration.
#[derive(Debug)]
pub(super) struct Limits {
    pub(super) max_line: usize,
    pub(super) announce_limit: usize,
    pub(super) rate: RateLimit,
    pub(super) max_clients: usize,
    pub(super) login_timeout: Duration,
    /// `--max-rooms`: rooms that may exist at once (`#lobby` always may).
    pub(super) max_rooms: usize,
    /// `--operators`, folded: accounts that may moderate once logged in.
    pub(super) operators: Vec<Box<str>>,
}

/// How a member leaves its room, for the notice the room gets.
#[derive(Debug, Clone, Copy)]
pub(super) enum Farewell<'a> {
    /// It left (with a reason in brackets, if any).
    Left(Option<&'a str>),
    /// An operator kicked it (and banned it, if `banned` says how long).
    Kicked {
        by: &'a str,
        reason: Option<&'a str>,
        banned: Option<&'a str>,
    },
}
