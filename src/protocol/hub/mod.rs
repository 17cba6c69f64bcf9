//! The chat state machine: every chat rule, no I/O.
//!
//! A [`Hub`] knows every client, its nickname and its room. Drivers report what happened on
//! the network ("client 7 connected", "sent these bytes", "its input ended", "its connection
//! broke", "the time you asked about has come") and pass a [`Sink`]; the hub answers by
//! writing lines, closes, timers and "read again" into the sink. What it must not do itself
//! (keep a message on disk, load older history) it queues as a [`Request`] for the driver to
//! hand to a service; the answer comes back through [`Hub::handle_completion`]. Because it
//! never reads a socket or a clock, a test can drive it line by line and look at exactly what
//! each client would receive.
//!
//! The hub's concerns, one file each: `input` (bytes to lines, pacing, held input),
//! `registration` (choosing a nickname, the login deadline), `rooms` (entering, leaving,
//! fan-out and history), `commands` (what each command does), `completions` (answers from
//! services).

mod commands;
mod completions;
mod input;
#[cfg(test)]
mod properties;
mod registration;
mod rooms;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use slab::Slab;

use super::clock::WallClock;
use super::command::COMMANDS;
use super::flood::{FloodGate, RateLimit};
use super::history::{HistoryCache, CACHED_EMPTY_ROOMS};
use super::line::LineDecoder;
use super::nick::ReservedNicks;
use super::request::{Record, Request};
use super::room::{self, Room, RoomId};
use super::sink::{ClientId, Sink};
use super::wire::{Encoder, Line, LineBatch};
use crate::config::Config;

/// The longest login timeout honoured: long enough for anyone, short enough that a deadline
/// never overflows the clock.
const MAX_LOGIN_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Why a client is leaving; it decides the wording of the "left" notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Departure {
    /// The client closed its side of the connection.
    EndOfInput,
    /// The connection failed (reset, or any other I/O error).
    ConnectionLost,
    /// The client did not read its output fast enough and went over `--max-outbuf`.
    TooSlow,
}

impl Departure {
    /// What the "left" notice adds in brackets, if anything.
    fn reason(&self) -> Option<&'static str> {
        match self {
            Departure::EndOfInput => None,
            Departure::ConnectionLost => Some("connection lost"),
            Departure::TooSlow => Some("too slow to keep up"),
        }
    }
}

/// What the driver knows about a new connection that matters to the chat rules.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The client may be `telnet`, which mixes commands into its input (the plain listener).
    pub telnet: bool,
}

/// The state of one connection.
#[derive(Debug)]
struct Client {
    presence: Presence,
    /// The client's unfinished input line.
    decoder: LineDecoder,
    /// Its flood-control bucket.
    flood: FloodGate,
}

/// Whether a client has a nickname yet.
#[derive(Debug)]
enum Presence {
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
struct Member {
    nick: Arc<str>,
    room: RoomId,
    /// Index of this client in its room's member array.
    slot: usize,
}

/// A client waiting for a service's answer. While it waits, its input is held (the driver
/// stops reading it) and taken up, in order, once the answer has been acted on.
#[derive(Debug)]
struct Waiting {
    /// The number of the ticket the answer must carry.
    ticket: u64,
    /// What the answer is for.
    purpose: Purpose,
}

/// What a waiting client asked for.
#[derive(Debug)]
enum Purpose {
    /// To register as `nick` (already reserved for it): the lobby's history is loading.
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
}

/// The limits of the chat rules, from the configuration.
#[derive(Debug)]
struct Limits {
    max_line: usize,
    announce_limit: usize,
    rate: RateLimit,
    max_clients: usize,
    login_timeout: Duration,
    /// `--max-rooms`: rooms that may exist at once (`#lobby` always may).
    max_rooms: usize,
}

/// Lines many clients get, encoded once when the hub starts.
struct Canned {
    greeting: Line,
    nick_prompt: Line,
    shutdown: Line,
    server_full: Line,
    slow_down: Line,
    help: Vec<Line>,
}

impl Canned {
    fn new(encoder: &mut Encoder, config: &Config) -> Self {
        let mut help = vec![encoder.notice(format_args!("Commands (names are case-insensitive):"))];
        help.extend(
            COMMANDS
                .iter()
                .map(|(usage, what)| encoder.notice(format_args!("  {usage:<16} {what}"))),
        );
        Canned {
            greeting: encoder.notice(format_args!(
                "Welcome to chat-tokio-stream, a plain-text chat server."
            )),
            nick_prompt: encoder.notice(format_args!("What is your nickname?")),
            shutdown: encoder.notice(format_args!("The server is shutting down. Goodbye!")),
            server_full: encoder.error(format_args!(
                "the server is full ({} connections); please try again later",
                config.max_clients
            )),
            slow_down: encoder.error(format_args!(
                "slow down: at most {} lines a second (bursts of {}); the rest of what you sent is taken at that pace",
                config.rate_limit,
                config.rate_limit.saturating_mul(2)
            )),
            help,
        }
    }
}

/// The chat core. See the module documentation.
pub struct Hub {
    limits: Limits,
    reserved: ReservedNicks,
    /// Client state indexed by [`ClientId`]; the driver's ids are dense, so this stays small.
    clients: Vec<Option<Client>>,
    /// How many entries of `clients` are occupied.
    client_count: usize,
    /// Folded nickname to client: uniqueness and look-up without scanning clients. A client
    /// that is registering holds its name here before it is welcomed.
    nicks: HashMap<Box<str>, ClientId>,
    rooms: Slab<Room>,
    /// Folded room name to room.
    room_index: HashMap<Box<str>, RoomId>,
    /// Rooms' recent messages, outliving the rooms.
    history: HistoryCache,
    /// Turns the drivers' instants into time stamps.
    clock: WallClock,
    /// Work for services, taken by the driver with [`Hub::poll_request`].
    requests: VecDeque<Request>,
    /// The number of the next ticket.
    next_ticket: u64,
    /// Clients waiting for an answer (rare, so kept apart from [`Client`]).
    waiting: HashMap<ClientId, Waiting>,
    /// Input of clients the driver was told to stop reading ([`super::Flow::Paused`]), not
    /// yet acted on: at most one read's worth each. An entry, even an empty one, means the
    /// driver is not reading that client.
    held: HashMap<ClientId, Vec<u8>>,
    encoder: Encoder,
    /// Chat lines and actions from the client being read, not yet sent: consecutive ones by
    /// one author to one room go out as one buffer. Sent before anything else happens, and
    /// at the end of every input.
    batch: LineBatch,
    /// Who the batch is from and for.
    batch_route: Option<(ClientId, RoomId)>,
    /// Reused buffer for sanitised text.
    text: String,
    canned: Canned,
}

impl Hub {
    /// A hub with no clients, enforcing the rules and limits in `config`; `clock` turns
    /// instants into the time stamps of history.
    pub fn new(config: &Config, clock: WallClock) -> Self {
        let mut encoder = Encoder::default();
        let canned = Canned::new(&mut encoder, config);
        Hub {
            limits: Limits {
                max_line: config.max_line,
                announce_limit: config.announce_limit,
                rate: RateLimit {
                    per_second: config.rate_limit,
                },
                max_clients: config.max_clients,
                login_timeout: config.login_timeout.min(MAX_LOGIN_TIMEOUT),
                max_rooms: config.max_rooms,
            },
            reserved: ReservedNicks::new(config.reserved_nicks.iter().map(String::as_str)),
            clients: Vec::new(),
            client_count: 0,
            nicks: HashMap::new(),
            rooms: Slab::new(),
            room_index: HashMap::new(),
            history: HistoryCache::new(config.history, CACHED_EMPTY_ROOMS),
            clock,
            requests: VecDeque::new(),
            next_ticket: 0,
            waiting: HashMap::new(),
            held: HashMap::new(),
            encoder,
            batch: LineBatch::default(),
            batch_route: None,
            text: String::new(),
            canned,
        }
    }

    /// Fills the history cache with messages the store kept (at start-up): each room named
    /// in `records` gets its messages among them, oldest first.
    pub fn preload(&mut self, records: Vec<Record>) {
        let mut by_room: HashMap<Box<str>, Vec<Line>> = HashMap::new();
        for record in records {
            let line = self.history_line(&record);
            by_room
                .entry(room::fold(&record.room))
                .or_default()
                .push(line);
        }
        for (room, lines) in by_room {
            self.history.fill(&room, lines);
        }
    }

    /// A new connection, numbered `id` by the driver, at `now`: greet it and ask for a
    /// nickname; or, past `--max-clients`, tell it the server is full and close it.
    pub fn connect(&mut self, id: ClientId, peer: Peer, now: Instant, sink: &mut impl Sink) {
        if self.client_count >= self.limits.max_clients {
            sink.send(id, &self.canned.server_full);
            sink.close(id);
            return;
        }
        if self.clients.len() <= id.0 {
            self.clients.resize_with(id.0 + 1, || None);
        }
        if self.clients[id.0].is_some() {
            log::error!("client {} connected twice; dropping its old state", id.0);
            self.disconnect(id, Departure::ConnectionLost, sink);
        }
        let deadline = now + self.limits.login_timeout;
        self.clients[id.0] = Some(Client {
            presence: Presence::ChoosingNick { deadline },
            decoder: LineDecoder::new(peer.telnet),
            flood: FloodGate::new(self.limits.rate, now),
        });
        self.client_count += 1;
        sink.send(id, &self.canned.greeting);
        sink.send(id, &self.canned.nick_prompt);
        sink.set_timer(id, Some(deadline));
    }

    /// Client `id` is gone (the driver has closed or is closing it): forget it and tell its
    /// room. Unknown ids are ignored, so a driver may report an end more than once.
    pub fn disconnect(&mut self, id: ClientId, why: Departure, sink: &mut impl Sink) {
        self.forget(id, why.reason(), sink);
    }

    /// The server is stopping: every client gets a goodbye line and is closed.
    pub fn shutdown(&mut self, sink: &mut impl Sink) {
        for (index, client) in self.clients.iter_mut().enumerate() {
            if client.take().is_some() {
                let id = ClientId(index);
                sink.send(id, &self.canned.shutdown);
                sink.close(id);
            }
        }
        self.client_count = 0;
        self.nicks.clear();
        self.waiting.clear();
        self.held.clear();
        for (_, room) in std::mem::take(&mut self.rooms) {
            self.history.unpin(&room::fold(room.name()));
        }
        self.room_index.clear();
    }

    /// The next piece of work for a service, if any. Drivers take them all after each call
    /// into the hub.
    pub fn poll_request(&mut self) -> Option<Request> {
        self.requests.pop_front()
    }

    /// How many connections the hub knows, registered or not.
    pub fn client_count(&self) -> usize {
        self.client_count
    }

    /// Client `id`'s nickname, if it has one yet (for log lines).
    pub fn nick(&self, id: ClientId) -> Option<&str> {
        member_of(&self.clients, id).map(|member| &*member.nick)
    }

    fn client_mut(&mut self, id: ClientId) -> Option<&mut Client> {
        self.clients.get_mut(id.0)?.as_mut()
    }

    fn member_mut(&mut self, id: ClientId) -> Option<&mut Member> {
        match &mut self.client_mut(id)?.presence {
            Presence::Chatting(member) => Some(member),
            Presence::ChoosingNick { .. } => None,
        }
    }

    /// True while client `id` waits for a service's answer.
    fn is_waiting(&self, id: ClientId) -> bool {
        !self.waiting.is_empty() && self.waiting.contains_key(&id)
    }

    /// Queues `request`, made with a new ticket for client `id`, and makes the client wait
    /// for its answer for `purpose`.
    fn ask(
        &mut self,
        id: ClientId,
        purpose: Purpose,
        request: impl FnOnce(super::Ticket) -> Request,
    ) {
        self.next_ticket += 1;
        let ticket = super::Ticket {
            client: id,
            number: self.next_ticket,
        };
        self.requests.push_back(request(ticket));
        self.waiting.insert(
            id,
            Waiting {
                ticket: ticket.number,
                purpose,
            },
        );
    }

    /// Asks the driver to call back at the client's next deadline: the end of its login
    /// time, or when it may go on with held input (unless it waits for an answer instead).
    fn arm_timer(&mut self, id: ClientId, sink: &mut impl Sink) {
        let paced = self.held.contains_key(&id) && !self.is_waiting(id);
        let rate = self.limits.rate;
        let Some(client) = self.clients.get(id.0).and_then(Option::as_ref) else {
            return;
        };
        let login = match client.presence {
            Presence::ChoosingNick { deadline } => Some(deadline),
            Presence::Chatting(_) => None,
        };
        let pace = paced.then(|| client.flood.next_token_at(rate));
        let next = match (login, pace) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        sink.set_timer(id, next);
    }

    /// Removes client `id` and, if it was registered, frees its nickname and tells its room
    /// it left (with `reason` in brackets).
    fn forget(&mut self, id: ClientId, reason: Option<&str>, sink: &mut impl Sink) {
        let Some(client) = self.clients.get_mut(id.0).and_then(Option::take) else {
            return;
        };
        self.client_count -= 1;
        self.held.remove(&id);
        if let Some(Waiting {
            purpose: Purpose::Register { nick },
            ..
        }) = self.waiting.remove(&id)
        {
            self.nicks.remove(&super::nick::fold(&nick));
        }
        if let Presence::Chatting(member) = client.presence {
            self.nicks.remove(&super::nick::fold(&member.nick));
            self.leave_room(id, &member, reason, sink);
        }
    }

    /// Sends one `!!! ` line to client `id`.
    fn error(&mut self, id: ClientId, text: std::fmt::Arguments<'_>, sink: &mut impl Sink) {
        let line = self.encoder.error(text);
        sink.send(id, &line);
    }

    /// Sends one `*** ` line to client `id`.
    fn notice(&mut self, id: ClientId, text: std::fmt::Arguments<'_>, sink: &mut impl Sink) {
        let line = self.encoder.notice(text);
        sink.send(id, &line);
    }

    /// A stored message as history replays it.
    fn history_line(&mut self, record: &Record) -> Line {
        let stamp = super::clock::stamp(record.unix_ms);
        self.encoder
            .history(stamp, record.kind, &record.nick, &record.text)
    }
}

/// "s" unless `count` is one.
fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// Client `id`'s registration, if it is connected and has a nickname. A free function so that
/// callers can hold it while using the hub's other fields.
fn member_of(clients: &[Option<Client>], id: ClientId) -> Option<&Member> {
    match &clients.get(id.0)?.as_ref()?.presence {
        Presence::Chatting(member) => Some(member),
        Presence::ChoosingNick { .. } => None,
    }
}
