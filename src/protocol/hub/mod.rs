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
//! `registration` (choosing a nickname, the login deadline), `accounts` (passwords,
//! registering, messages for accounts that are away), `moderation` (operators' commands),
//! `rooms` (entering, leaving, fan-out and history), `commands` (what each command does),
//! `completions` (answers from services).

mod accounts;
mod canned;
mod commands;
mod completions;
mod input;
mod moderation;
#[cfg(test)]
mod properties;
mod registration;
mod remote;
mod rooms;
mod state;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use slab::Slab;

use super::account::Throttle;
use super::clock::WallClock;
use super::counters::{Counters, DisconnectReason};
use super::flood::{FloodGate, RateLimit};
use super::history::{HistoryCache, CACHED_EMPTY_ROOMS};
use super::line::LineDecoder;
use super::nick::{self, ReservedNicks};
use super::others::Others;
use super::request::{Account, Preload, Record, Request, StoreRequest};
use super::room::{self, Room, RoomId};
use super::sanctions::Sanctions;
use super::sink::{ClientId, Sink};
use super::wire::{Encoder, Line, LineBatch};
use crate::config::Config;
use canned::Canned;
use state::{Client, Farewell, Limits, Member, Presence, Prompt, Purpose, Then, Waiting};

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
    /// How `/metrics` counts it.
    fn counted_as(&self) -> DisconnectReason {
        match self {
            Departure::EndOfInput => DisconnectReason::Closed,
            Departure::ConnectionLost => DisconnectReason::ConnectionLost,
            Departure::TooSlow => DisconnectReason::TooSlow,
        }
    }

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
    /// Where it comes from: bans and password throttling go by address.
    pub addr: IpAddr,
    /// The client may be `telnet`, which mixes commands into its input (the plain listener).
    pub telnet: bool,
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
    /// Nicknames clients hold besides their own while claiming them (to register, or to
    /// rename), folded; each is also in `nicks`.
    reservations: HashMap<ClientId, Box<str>>,
    /// Clients whose next line is a password.
    prompts: HashMap<ClientId, Prompt>,
    /// Clients logged in to an account, and the account.
    logged_in: HashMap<ClientId, Account>,
    /// Guessing passwords, throttled.
    throttle: Throttle,
    /// Bans and mutes in force.
    sanctions: Sanctions,
    /// Who is on the other servers sharing the store.
    others: Others,
    /// Whether other servers share the store ([`Preload::shared`]): then room notices are
    /// sent to them too.
    shared: bool,
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
    /// What `/metrics` reports.
    counters: Counters,
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
                operators: config
                    .operators
                    .iter()
                    .map(|name| nick::fold(name))
                    .collect(),
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
            reservations: HashMap::new(),
            prompts: HashMap::new(),
            logged_in: HashMap::new(),
            throttle: Throttle::default(),
            sanctions: Sanctions::default(),
            others: Others::default(),
            shared: false,
            encoder,
            batch: LineBatch::default(),
            batch_route: None,
            text: String::new(),
            canned,
            counters: Counters::default(),
        }
    }

    /// Takes what the store kept (at start-up): the history cache gets each room's recent
    /// messages, oldest first, and the bans and mutes in force apply.
    pub fn preload(&mut self, preload: Preload) {
        self.shared = preload.shared;
        if preload.shared {
            self.history = HistoryCache::new(self.history.per_room(), 0);
        }
        self.sanctions = Sanctions::load(preload.bans, preload.mutes);
        for elsewhere in preload.others {
            self.others.set(elsewhere);
        }
        let mut by_room: HashMap<Box<str>, Vec<Line>> = HashMap::new();
        for record in preload.history {
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
            self.counters.disconnected(DisconnectReason::ServerFull);
            sink.send(id, &self.canned.server_full);
            sink.close(id);
            return;
        }
        let unix_ms = self.clock.unix_ms(now);
        if let Some(ban) = self.sanctions.address_ban(peer.addr, unix_ms) {
            self.counters.disconnected(DisconnectReason::Banned);
            let until = super::clock::until(ban.until);
            let line = self
                .encoder
                .error(format_args!("you are banned from this server{until}"));
            sink.send(id, &line);
            sink.close(id);
            return;
        }
        if self.clients.len() <= id.0 {
            self.clients.resize_with(id.0 + 1, || None);
        }
        if self.clients[id.0].is_some() {
            log::error!("client {} connected twice; dropping its old state", id.0);
            self.forget(
                id,
                Farewell::Left(None),
                DisconnectReason::ConnectionLost,
                sink,
            );
        }
        let deadline = now + self.limits.login_timeout;
        self.clients[id.0] = Some(Client {
            presence: Presence::ChoosingNick { deadline },
            decoder: LineDecoder::new(peer.telnet),
            flood: FloodGate::new(self.limits.rate, now),
            addr: peer.addr,
            since: u32::try_from(unix_ms / 1000).unwrap_or(0),
        });
        self.client_count += 1;
        sink.send(id, &self.canned.greeting);
        sink.send(id, &self.canned.nick_prompt);
        sink.set_timer(id, Some(deadline));
    }

    /// Client `id` is gone (the driver has closed or is closing it): forget it and tell its
    /// room. Unknown ids are ignored, so a driver may report an end more than once.
    pub fn disconnect(&mut self, id: ClientId, why: Departure, sink: &mut impl Sink) {
        self.forget(id, Farewell::Left(why.reason()), why.counted_as(), sink);
    }

    /// The server is stopping: every client gets a goodbye line and is closed.
    pub fn shutdown(&mut self, sink: &mut impl Sink) {
        for (index, client) in self.clients.iter_mut().enumerate() {
            if client.take().is_some() {
                self.counters.disconnected(DisconnectReason::Shutdown);
                let id = ClientId(index);
                sink.send(id, &self.canned.shutdown);
                sink.close(id);
            }
        }
        self.client_count = 0;
        self.nicks.clear();
        self.waiting.clear();
        self.held.clear();
        self.reservations.clear();
        self.prompts.clear();
        self.logged_in.clear();
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

    /// What the core counted, and how many clients have a nickname now, for `/metrics`.
    pub fn counters(&self) -> (&Counters, usize) {
        let registered = self
            .clients
            .iter()
            .flatten()
            .filter(|client| matches!(client.presence, Presence::Chatting(_)))
            .count();
        (&self.counters, registered)
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
    /// how it went.
    fn forget(
        &mut self,
        id: ClientId,
        farewell: Farewell<'_>,
        reason: DisconnectReason,
        sink: &mut impl Sink,
    ) {
        let Some(client) = self.clients.get_mut(id.0).and_then(Option::take) else {
            return;
        };
        self.client_count -= 1;
        self.counters.disconnected(reason);
        self.held.remove(&id);
        self.waiting.remove(&id);
        self.prompts.remove(&id);
        self.logged_in.remove(&id);
        self.release(id);
        if let Presence::Chatting(member) = client.presence {
            let folded = nick::fold(&member.nick);
            self.nicks.remove(&folded);
            self.requests
                .push_back(Request::Store(StoreRequest::Release { name: folded }));
            self.leave_room(id, &member, farewell, sink);
        }
    }

    /// Holds nickname `folded` for client `id` while it claims it.
    fn reserve(&mut self, id: ClientId, folded: Box<str>) {
        self.release(id);
        self.nicks.insert(folded.clone(), id);
        self.reservations.insert(id, folded);
    }

    /// Lets go of the nickname client `id` was claiming, if any, here and in the store.
    fn release(&mut self, id: ClientId) {
        if let Some(folded) = self.reservations.remove(&id) {
            if self.nicks.get(&folded) == Some(&id) {
                self.nicks.remove(&folded);
            }
            self.requests
                .push_back(Request::Store(StoreRequest::Release { name: folded }));
        }
    }

    /// True if client `id` is logged in to an account named in `--operators`.
    fn is_operator(&self, id: ClientId) -> bool {
        self.logged_in
            .get(&id)
            .is_some_and(|account| self.limits.operators.contains(&nick::fold(&account.name)))
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
