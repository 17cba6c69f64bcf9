//! The chat state machine: every chat rule, no I/O.
//!
//! A [`Hub`] knows every client, its nickname and its room. Drivers report what happened on
//! the network ("client 7 connected", "sent these bytes", "its input ended", "its connection
//! broke") and pass a [`Sink`]; the hub answers by writing lines and closes into the sink.
//! Because it never reads a socket or a clock, a test can drive it line by line and look at
//! exactly what each client would receive.

use std::collections::{HashMap, VecDeque};
use std::mem;
use std::time::{Duration, Instant};

use slab::Slab;

use super::command::{self, Command, Input, COMMANDS};
use super::flood::{FloodGate, RateLimit, Verdict};
use super::line::{LineDecoder, Piece};
use super::nick::{self, NickError, ReservedNicks};
use super::room::{self, Room, LOBBY};
use super::sink::{ClientId, RoomId, Sink};
use super::text::{is_blank, sanitize_into};
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
    nick: Box<str>,
    room: RoomId,
    /// Index of this client in its room's member array.
    slot: usize,
}

/// Lines every client gets, encoded once when the hub starts.
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
                "slow down: at most {} lines a second (bursts of {}); lines are being dropped",
                config.rate_limit,
                config.rate_limit.saturating_mul(2)
            )),
            help,
        }
    }
}

/// The chat core. See the module documentation.
pub struct Hub {
    max_line: usize,
    announce_limit: usize,
    history: usize,
    rate_limit: RateLimit,
    max_clients: usize,
    login_timeout: Duration,
    /// `--max-rooms`: rooms that may exist at once (`#lobby` always may).
    max_rooms: usize,
    reserved: ReservedNicks,
    /// Client state indexed by [`ClientId`]; the driver's ids are dense, so this stays small.
    clients: Vec<Option<Client>>,
    /// How many entries of `clients` are occupied.
    client_count: usize,
    /// Folded nickname to client: uniqueness and look-up without scanning clients.
    nicks: HashMap<Box<str>, ClientId>,
    rooms: Slab<Room>,
    /// Folded room name to room.
    room_index: HashMap<Box<str>, RoomId>,
    /// Login deadlines in order (the timeout is constant, so connection order is deadline
    /// order). Entries of clients that registered or left are skipped when they come up.
    logins: VecDeque<(Instant, ClientId)>,
    /// How many clients have no nickname yet: lets `logins` be compacted when it is mostly
    /// stale.
    choosing_count: usize,
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
    /// A hub with no clients, enforcing the rules and limits in `config`.
    pub fn new(config: &Config) -> Self {
        let mut encoder = Encoder::default();
        let canned = Canned::new(&mut encoder, config);
        Hub {
            max_line: config.max_line,
            announce_limit: config.announce_limit,
            history: config.history,
            rate_limit: RateLimit {
                per_second: config.rate_limit,
            },
            max_clients: config.max_clients,
            login_timeout: config.login_timeout.min(MAX_LOGIN_TIMEOUT),
            max_rooms: config.max_rooms,
            reserved: ReservedNicks::new(config.reserved_nicks.iter().map(String::as_str)),
            clients: Vec::new(),
            client_count: 0,
            nicks: HashMap::new(),
            rooms: Slab::new(),
            room_index: HashMap::new(),
            logins: VecDeque::new(),
            choosing_count: 0,
            encoder,
            batch: LineBatch::default(),
            batch_route: None,
            text: String::new(),
            canned,
        }
    }

    /// A new connection, numbered `id` by the driver, at `now`: greet it and ask for a
    /// nickname; or, past `--max-clients`, tell it the server is full and close it.
    pub fn connect(&mut self, id: ClientId, now: Instant, sink: &mut impl Sink) {
        if self.client_count >= self.max_clients {
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
        let deadline = now + self.login_timeout;
        self.clients[id.0] = Some(Client {
            presence: Presence::ChoosingNick { deadline },
            decoder: LineDecoder::default(),
            flood: FloodGate::new(self.rate_limit, now),
        });
        self.client_count += 1;
        self.choosing_count += 1;
        self.logins.push_back((deadline, id));
        if self.logins.len() > 2 * self.choosing_count + 64 {
            let clients = &self.clients;
            self.logins
                .retain(|&(deadline, id)| is_choosing_until(clients, id, deadline));
        }
        sink.send(id, &self.canned.greeting);
        sink.send(id, &self.canned.nick_prompt);
    }

    /// Bytes from client `id`, in any pieces, received at `now`: every complete line in them
    /// is acted upon.
    pub fn receive(&mut self, id: ClientId, bytes: &[u8], now: Instant, sink: &mut impl Sink) {
        let Some(client) = self.client_mut(id) else {
            return;
        };
        let mut decoder = mem::take(&mut client.decoder);
        let mut rest = bytes;
        while let Some(piece) = decoder.next_piece(&mut rest, self.max_line) {
            match piece {
                Piece::Line(line) => self.handle_line(id, line, now, sink),
                Piece::TooLong => self.line_too_long(id, sink),
            }
            if self.client_mut(id).is_none() {
                self.send_batch(sink);
                return;
            }
        }
        self.send_batch(sink);
        if let Some(client) = self.client_mut(id) {
            client.decoder = decoder;
        }
    }

    /// Client `id` closed its sending side: act on its unterminated last line, if any, then
    /// let it leave and close the connection once what is queued for it is written.
    pub fn end_of_input(&mut self, id: ClientId, now: Instant, sink: &mut impl Sink) {
        let Some(client) = self.client_mut(id) else {
            return;
        };
        let mut decoder = mem::take(&mut client.decoder);
        if let Some(line) = decoder.finish(self.max_line) {
            self.handle_line(id, line, now, sink);
            self.send_batch(sink);
        }
        if self.client_mut(id).is_some() {
            self.disconnect(id, Departure::EndOfInput, sink);
            sink.close(id);
        }
    }

    /// Client `id` is gone (the driver has closed or is closing it): forget it and tell its
    /// room. Unknown ids are ignored, so a driver may report an end more than once.
    pub fn disconnect(&mut self, id: ClientId, why: Departure, sink: &mut impl Sink) {
        self.forget(id, why.reason(), sink);
    }

    /// Time has passed: closes the connections that have had no nickname for
    /// `--login-timeout`. Drivers call it at [`Hub::next_deadline`].
    pub fn tick(&mut self, now: Instant, sink: &mut impl Sink) {
        while let Some(&(deadline, id)) = self.logins.front() {
            if deadline > now {
                return;
            }
            self.logins.pop_front();
            if is_choosing_until(&self.clients, id, deadline) {
                let seconds = self.login_timeout.as_secs_f32();
                self.error(
                    id,
                    format_args!("no nickname chosen within {seconds} s; goodbye"),
                    sink,
                );
                self.forget(id, None, sink);
                sink.close(id);
            }
        }
    }

    /// When [`Hub::tick`] next has something to do, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.logins.front().map(|&(deadline, _)| deadline)
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
        self.choosing_count = 0;
        self.logins.clear();
        self.nicks.clear();
        self.room_index.clear();
        for (index, _) in mem::take(&mut self.rooms) {
            sink.room_closed(RoomId(index));
        }
    }

    /// Gives back the spare capacity a crowd left behind in the hub's tables. Drivers call it
    /// (see `sys::Reclaim`) once most clients have gone.
    pub fn shrink_to_fit(&mut self) {
        let used = self
            .clients
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |last| last + 1);
        self.clients.truncate(used);
        self.clients.shrink_to_fit();
        self.nicks.shrink_to_fit();
        self.rooms.shrink_to_fit();
        for (_, room) in self.rooms.iter_mut() {
            room.shrink_to_fit();
        }
        self.room_index.shrink_to_fit();
        self.logins.shrink_to_fit();
        self.batch.shrink_to_fit();
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

    /// Removes client `id` and, if it was registered, frees its nickname and tells its room
    /// it left (with `reason` in brackets).
    fn forget(&mut self, id: ClientId, reason: Option<&str>, sink: &mut impl Sink) {
        let Some(client) = self.clients.get_mut(id.0).and_then(Option::take) else {
            return;
        };
        self.client_count -= 1;
        match client.presence {
            Presence::Chatting(member) => {
                self.nicks.remove(&nick::fold(&member.nick));
                self.leave_room(id, &member, reason, sink);
            }
            Presence::ChoosingNick { .. } => self.choosing_count -= 1,
        }
    }

    /// One complete line from a known client: sanitised, then a nickname, a command or chat.
    fn handle_line(&mut self, id: ClientId, raw: &[u8], now: Instant, sink: &mut impl Sink) {
        let mut text = mem::take(&mut self.text);
        text.clear();
        sanitize_into(raw, &mut text);
        if !is_blank(&text) && self.admits(id, now, sink) {
            if member_of(&self.clients, id).is_some() {
                match command::parse(&text) {
                    Input::Chat(chat) => self.say(id, chat, sink),
                    Input::Command(Command::Me(action)) => self.act(id, action, sink),
                    input => {
                        self.send_batch(sink);
                        self.handle_input(id, input, sink);
                    }
                }
            } else {
                self.choose_nick(id, text.trim(), sink);
            }
        }
        self.text = text;
    }

    /// Flood control: whether client `id` may send a line at `now`; tells it when not.
    fn admits(&mut self, id: ClientId, now: Instant, sink: &mut impl Sink) -> bool {
        let limit = self.rate_limit;
        let Some(client) = self.client_mut(id) else {
            return false;
        };
        match client.flood.check(limit, now) {
            Verdict::Admit => true,
            Verdict::DropAndWarn => {
                sink.send(id, &self.canned.slow_down);
                false
            }
            Verdict::Drop => false,
        }
    }

    fn line_too_long(&mut self, id: ClientId, sink: &mut impl Sink) {
        let limit = self.max_line;
        self.error(
            id,
            format_args!(
                "line too long (the limit is {limit} bytes); the rest of it was discarded"
            ),
            sink,
        );
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

    /// A line from a client without a nickname yet: a nickname candidate, or `/quit`.
    fn choose_nick(&mut self, id: ClientId, candidate: &str, sink: &mut impl Sink) {
        if candidate.starts_with('/') {
            if let Input::Command(Command::Quit(_)) = command::parse(candidate) {
                self.forget(id, None, sink);
                sink.close(id);
                return;
            }
            self.error(
                id,
                format_args!("choose a nickname first; commands work after that"),
                sink,
            );
            sink.send(id, &self.canned.nick_prompt);
            return;
        }
        match self.check_nick_free(candidate, None) {
            Ok(folded) => self.register(id, candidate, folded, sink),
            Err(error) => {
                self.error(id, format_args!("{error}; please choose another"), sink);
                sink.send(id, &self.canned.nick_prompt);
            }
        }
    }

    /// Checks that `nick` is well-formed, not reserved and not taken by anyone but `owner`;
    /// returns its folded form.
    fn check_nick_free(&self, nick: &str, owner: Option<ClientId>) -> Result<Box<str>, NickError> {
        nick::check_shape(nick)?;
        let folded = nick::fold(nick);
        if self.reserved.contains(&folded) {
            return Err(NickError::Reserved);
        }
        match self.nicks.get(&folded) {
            Some(&holder) if Some(holder) != owner => Err(NickError::Taken),
            _ => Ok(folded),
        }
    }

    fn register(&mut self, id: ClientId, nick: &str, folded: Box<str>, sink: &mut impl Sink) {
        self.nicks.insert(folded, id);
        self.choosing_count -= 1;
        let room = self.room_named(LOBBY);
        let others = self.rooms[room.0].members().len();
        self.notice(
            id,
            format_args!(
                "Welcome, {nick}! You are in {LOBBY} with {others} other{}. Type /help for commands.",
                plural(others)
            ),
            sink,
        );
        self.enter_room(id, nick.into(), room, sink);
    }

    /// The id of the room called `name`, created if it does not exist.
    fn room_named(&mut self, name: &str) -> RoomId {
        let folded = room::fold(name);
        if let Some(&room) = self.room_index.get(&folded) {
            return room;
        }
        let room = RoomId(self.rooms.insert(Room::new(name)));
        self.room_index.insert(folded, room);
        room
    }

    /// Puts a registered client into `room`, announces it there and replays the room's
    /// recent messages to the newcomer.
    fn enter_room(&mut self, id: ClientId, nick: Box<str>, room: RoomId, sink: &mut impl Sink) {
        let members = &mut self.rooms[room.0];
        let slot = members.add(id);
        sink.entered_room(id, room);
        if members.members().len() <= self.announce_limit {
            let notice = self
                .encoder
                .notice(format_args!("{nick} joined {}", members.name()));
            sink.broadcast(room, members.members(), Some(id), &notice);
        }
        let history = members.history();
        if !history.is_empty() {
            let header = self.encoder.notice(format_args!(
                "Last {} message{} in {}:",
                history.len(),
                plural(history.len()),
                members.name()
            ));
            sink.send(id, &header);
            for line in history {
                sink.send(id, line);
            }
        }
        if let Some(client) = self.client_mut(id) {
            client.presence = Presence::Chatting(Member { nick, room, slot });
        }
    }

    /// Takes a client out of its room, announces it (with `reason` in brackets), and removes
    /// the room if it is now empty.
    fn leave_room(
        &mut self,
        id: ClientId,
        member: &Member,
        reason: Option<&str>,
        sink: &mut impl Sink,
    ) {
        let room = &mut self.rooms[member.room.0];
        let announce = room.members().len() <= self.announce_limit;
        if let Some(moved) = room.remove(member.slot) {
            if let Some(Client {
                presence: Presence::Chatting(other),
                ..
            }) = self.clients.get_mut(moved.0).and_then(Option::as_mut)
            {
                other.slot = member.slot;
            }
        }
        let room = &self.rooms[member.room.0];
        if room.members().is_empty() {
            let room = self.rooms.remove(member.room.0);
            self.room_index.remove(&room::fold(room.name()));
            sink.room_closed(member.room);
            return;
        }
        if announce {
            let notice = match reason {
                Some(reason) => self.encoder.notice(format_args!(
                    "{} left {} ({reason})",
                    member.nick,
                    room.name()
                )),
                None => self
                    .encoder
                    .notice(format_args!("{} left {}", member.nick, room.name())),
            };
            sink.broadcast(member.room, room.members(), Some(id), &notice);
        }
    }

    /// A chat line (or, with `action`, an action) from a member, for everyone else in its
    /// room and for the room's history. It joins the batch being built; see [`LineBatch`].
    fn publish(&mut self, id: ClientId, text: &str, action: bool, sink: &mut impl Sink) {
        let Some(room) = member_of(&self.clients, id).map(|member| member.room) else {
            return;
        };
        if self.batch_route != Some((id, room)) {
            self.send_batch(sink);
            self.batch_route = Some((id, room));
        }
        let Some(member) = member_of(&self.clients, id) else {
            return;
        };
        let line = if action {
            self.batch.push_action(&member.nick, text)
        } else {
            self.batch.push_chat(&member.nick, text)
        };
        self.rooms[room.0].remember(&line, self.history);
    }

    /// Sends the batch of chat lines, if any, to its room.
    fn send_batch(&mut self, sink: &mut impl Sink) {
        let Some((author, room)) = self.batch_route.take() else {
            return;
        };
        if let (Some(line), Some(members)) = (self.batch.take(), self.rooms.get(room.0)) {
            sink.broadcast(room, members.members(), Some(author), &line);
        }
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

/// True if client `id` is still waiting for a nickname with this very `deadline` (and so is
/// not a newer connection that reused the id).
fn is_choosing_until(clients: &[Option<Client>], id: ClientId, deadline: Instant) -> bool {
    matches!(
        clients.get(id.0).and_then(Option::as_ref),
        Some(Client { presence: Presence::ChoosingNick { deadline: d }, .. }) if *d == deadline
    )
}

/// Client `id`'s registration, if it is connected and has a nickname. A free function so that
/// callers can hold it while using the hub's other fields.
fn member_of(clients: &[Option<Client>], id: ClientId) -> Option<&Member> {
    match &clients.get(id.0)?.as_ref()?.presence {
        Presence::Chatting(member) => Some(member),
        Presence::ChoosingNick { .. } => None,
    }
}

mod commands;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
