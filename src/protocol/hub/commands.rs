//! What a registered client's lines do: chat, and each command of contract items 6 and 11.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::rooms::send_history;
use super::{member_of, plural, Farewell, Hub, Member, Purpose, Then};
use crate::protocol::command::{Command, Input};
use crate::protocol::nick;
use crate::protocol::request::{Kind, Request, StoreRequest};
use crate::protocol::room::{self, normalise_name};
use crate::protocol::sink::{ClientId, Sink};
use crate::protocol::wire::{Encoder, Line};

/// Longest `*** ` line a listing (`/who`, `/rooms`) makes before it continues on the next:
/// short enough to read in a terminal, long enough that a big room is not thousands of lines.
const LISTING_LINE_BYTES: usize = 400;

impl Hub {
    /// A sanitised, non-blank line from a registered client, already read as `input`.
    pub(super) fn handle_input(
        &mut self,
        id: ClientId,
        input: Input<'_>,
        now: Instant,
        sink: &mut impl Sink,
    ) {
        match input {
            Input::Chat(text) => self.say(id, text, now, sink),
            Input::Command(command) => self.run(id, command, now, sink),
            Input::Usage(usage) => self.error(id, format_args!("usage: {usage}"), sink),
            Input::Unknown(name) => {
                self.error(
                    id,
                    format_args!("unknown command {name}; type /help for the list"),
                    sink,
                );
            }
        }
    }

    fn run(&mut self, id: ClientId, command: Command<'_>, now: Instant, sink: &mut impl Sink) {
        match command {
            Command::Help => {
                for line in &self.canned.help {
                    sink.send(id, line);
                }
                if self.is_operator(id) {
                    for line in &self.canned.operator_help {
                        sink.send(id, line);
                    }
                }
            }
            Command::Nick(new) => self.rename(id, new, now, sink),
            Command::Who => self.who(id, sink),
            Command::Me(action) => self.act(id, action, now, sink),
            Command::Msg { to, text } => self.message(id, to, text, now, sink),
            Command::Join(name) => self.join(id, name, sink),
            Command::Rooms => self.list_rooms(id, sink),
            Command::Quit(message) => self.leave_on_request(id, message, sink),
            Command::History(count) => self.history(id, count, sink),
            Command::Register(password) => self.register_account(id, password, sink),
            Command::Passwd { old, new } => self.change_password(id, old, new, now, sink),
            Command::Kick { nick, reason } => self.kick(id, nick, reason, sink),
            Command::Ban { nick, minutes } => self.ban(id, nick, minutes, now, sink),
            Command::Unban(nick) => self.unban(id, nick, sink),
            Command::Mute { nick, minutes } => self.mute(id, nick, minutes, now, sink),
            Command::Unmute(nick) => self.unmute(id, nick, sink),
            Command::Whois(nick) => self.whois(id, nick, sink),
        }
    }

    /// Plain chat: `nick: text` to the rest of the room.
    pub(super) fn say(&mut self, id: ClientId, text: &str, now: Instant, sink: &mut impl Sink) {
        if !self.refuse_muted(id, now, sink) {
            self.publish(id, text, Kind::Chat, now, sink);
        }
    }

    /// `/me ACTION`: `* nick ACTION` to the rest of the room.
    pub(super) fn act(&mut self, id: ClientId, action: &str, now: Instant, sink: &mut impl Sink) {
        if !self.refuse_muted(id, now, sink) {
            self.publish(id, action, Kind::Action, now, sink);
        }
    }

    /// `/nick NEW`: same rules as the first nickname, and a registered one is given only
    /// with its password; the old one is free once the new one is given. A change of case only
    /// (`alice` to `Alice`) is always allowed, and keeps the account.
    fn rename(&mut self, id: ClientId, new: &str, now: Instant, sink: &mut impl Sink) {
        let Some(member) = member_of(&self.clients, id) else {
            return;
        };
        let old = Arc::clone(&member.nick);
        if *old == *new {
            self.error(id, format_args!("you are already called {new}"), sink);
            return;
        }
        let folded = match self.check_nick_free(new, Some(id)) {
            Ok(folded) => folded,
            Err(error) => {
                self.error(id, format_args!("{error}; you are still {old}"), sink);
                return;
            }
        };
        if nick::fold(&old) == folded {
            return self.rename_to(id, new.into(), sink);
        }
        if self.refuse_banned_name(id, &folded, now, sink) {
            return;
        }
        self.claim(id, new.into(), folded, Then::Rename);
    }

    /// Member `id` becomes `new` (a name it holds): the old name is free, the room is told,
    /// and a mute on the old name follows it.
    pub(super) fn rename_to(&mut self, id: ClientId, new: Arc<str>, sink: &mut impl Sink) {
        let new_folded = nick::fold(&new);
        // The claim of `new` is over; a claim of another name (renamed by the store while
        // claiming it) goes on.
        if self.reservations.get(&id) == Some(&new_folded) {
            self.reservations.remove(&id);
        }
        let Some(member) = self.member_mut(id) else {
            return;
        };
        let old = std::mem::replace(&mut member.nick, Arc::clone(&new));
        let room = member.room;
        let old_folded = nick::fold(&old);
        if old_folded != new_folded {
            self.nicks.remove(&old_folded);
            self.follow_mute(&old_folded, &new_folded);
        }
        self.nicks.insert(new_folded, id);
        let notice = self
            .encoder
            .notice(format_args!("{old} is now known as {new}"));
        let room = &mut self.rooms[room.0];
        room.forget_listing();
        sink.broadcast(room.members(), Some(id), &notice);
        self.notice(id, format_args!("You are now known as {new}"), sink);
    }

    /// `/who`: every member of the client's room, here and on other servers, in alphabetical
    /// order. The listing is built once and kept until the members change, so that asking
    /// again costs almost nothing.
    fn who(&mut self, id: ClientId, sink: &mut impl Sink) {
        let Some(member) = member_of(&self.clients, id) else {
            return;
        };
        let room = &self.rooms[member.room.0];
        let listing = match room.listing() {
            Some(listing) => Arc::clone(listing),
            None => {
                let elsewhere = self.others.members_of(&room::fold(room.name()));
                let mut nicks: Vec<&str> = room
                    .members()
                    .iter()
                    .filter_map(|&m| member_of(&self.clients, m))
                    .map(|m| &*m.nick)
                    .chain(elsewhere.map(|nick| &**nick))
                    .collect();
                nicks.sort_unstable_by(|a, b| cmp_ignoring_case(a, b));
                let header = format!(
                    "{} member{} in {}:",
                    nicks.len(),
                    plural(nicks.len()),
                    room.name()
                );
                let listing: Arc<[Line]> = listing_lines(&mut self.encoder, header, &nicks).into();
                self.rooms[member.room.0].set_listing(Arc::clone(&listing));
                listing
            }
        };
        for line in listing.iter() {
            sink.send(id, line);
        }
    }

    /// `/rooms`: every room with its member count (here and on other servers), in
    /// alphabetical order.
    fn list_rooms(&mut self, id: ClientId, sink: &mut impl Sink) {
        let mut counts: HashMap<Box<str>, (&str, usize)> = HashMap::new();
        let here = self
            .rooms
            .iter()
            .map(|(_, room)| (&**room.name(), room.members().len()));
        let elsewhere = self.others.rooms().map(|(name, count)| (&**name, count));
        for (name, count) in here.chain(elsewhere) {
            counts.entry(room::fold(name)).or_insert((name, 0)).1 += count;
        }
        let mut rooms: Vec<(&str, usize)> = counts.into_values().collect();
        rooms.sort_unstable_by(|(a, _), (b, _)| cmp_ignoring_case(a, b));
        let entries: Vec<String> = rooms
            .iter()
            .map(|(name, count)| format!("{name} ({count})"))
            .collect();
        let header = format!("{} room{}:", rooms.len(), plural(rooms.len()));
        for line in listing_lines(&mut self.encoder, header, &entries) {
            sink.send(id, &line);
        }
    }

    /// `/msg NICK TEXT`: to one client only; the sender sees what went to whom.
    /// An account that is away gets it when it next logs in.
    fn message(&mut self, id: ClientId, to: &str, text: &str, now: Instant, sink: &mut impl Sink) {
        if self.refuse_muted(id, now, sink) {
            return;
        }
        let target = match self.nicks.get(&nick::fold(to)) {
            Some(&target) if target == id => {
                self.error(id, format_args!("that is you: /msg someone else"), sink);
                return;
            }
            Some(&target) => target,
            None if self.others.get(&nick::fold(to)).is_some() => {
                return self.message_elsewhere(id, to, text, sink);
            }
            None => return self.message_away(id, to, text),
        };
        let (Some(sender), Some(recipient)) = (
            member_of(&self.clients, id),
            member_of(&self.clients, target),
        ) else {
            return self.message_away(id, to, text);
        };
        let private = self
            .encoder
            .encode(format_args!("*{}* {text}", sender.nick));
        let receipt = self
            .encoder
            .encode(format_args!("-> *{}* {text}", recipient.nick));
        sink.send(target, &private);
        sink.send(id, &receipt);
    }

    /// `/msg` to someone on another server: the store takes it there.
    fn message_elsewhere(&mut self, id: ClientId, to: &str, text: &str, sink: &mut impl Sink) {
        let (Some(sender), Some(recipient)) = (
            member_of(&self.clients, id),
            self.others.get(&nick::fold(to)),
        ) else {
            return;
        };
        let receipt = self
            .encoder
            .encode(format_args!("-> *{}* {text}", recipient.nick));
        let request = StoreRequest::Direct {
            to: recipient.nick.as_ref().into(),
            from: sender.nick.as_ref().into(),
            text: text.into(),
        };
        self.requests.push_back(Request::Store(request));
        sink.send(id, &receipt);
    }

    /// `/join #room`: leave the current room (it sees "left"), enter the new one (it sees
    /// "joined"), and get the new room's recent messages, loaded from the store first if the
    /// cache does not have them.
    fn join(&mut self, id: ClientId, name: &str, sink: &mut impl Sink) {
        let name = match normalise_name(name) {
            Ok(name) => name,
            Err(error) => {
                self.error(id, format_args!("{error}"), sink);
                return;
            }
        };
        if self.history_known(&name) {
            self.join_now(id, &name, sink);
        } else {
            let room = name.as_str().into();
            let purpose = Purpose::Join {
                room: name.into_boxed_str(),
            };
            self.load_history(id, room, purpose);
        }
    }

    /// Moves member `id` to the room called `name` (well-formed, its history known or not to
    /// be had) unless it is there already or the room cannot be made.
    pub(super) fn join_now(&mut self, id: ClientId, name: &str, sink: &mut impl Sink) {
        let Some(member) = member_of(&self.clients, id) else {
            return;
        };
        let current = &self.rooms[member.room.0];
        if room::fold(current.name()) == room::fold(name) {
            let current = Arc::clone(current.name());
            self.error(id, format_args!("you are already in {current}"), sink);
            return;
        }
        // A new room must fit under --max-rooms, counting the one this move may empty.
        let frees_one = current.members().len() == 1;
        let is_new = !self.room_index.contains_key(&room::fold(name));
        if is_new && self.rooms.len() - usize::from(frees_one) >= self.limits.max_rooms {
            let limit = self.limits.max_rooms;
            self.error(id, format_args!("there are already {limit} rooms, the most this server allows; join one of them (see /rooms)"), sink);
            return;
        }
        let leaving = Member {
            nick: Arc::clone(&member.nick),
            room: member.room,
            slot: member.slot,
        };
        // The new room first: its history, just loaded perhaps, is pinned before leaving
        // the old room lets the cache evict.
        let room = self.room_named(name);
        self.leave_room(id, &leaving, Farewell::Left(None), sink);
        let others = self.population(&self.rooms[room.0]);
        let line = self.encoder.notice(format_args!(
            "You are now in {} with {others} other{}.",
            self.rooms[room.0].name(),
            plural(others)
        ));
        sink.send(id, &line);
        self.enter_room(id, leaving.nick, room, sink);
    }

    /// `/history [N]`: the last N messages of the client's room (default `--history`), from
    /// the cache if it holds that many, else from the store.
    fn history(&mut self, id: ClientId, count: Option<usize>, sink: &mut impl Sink) {
        let Some(member) = member_of(&self.clients, id) else {
            return;
        };
        let name = Arc::clone(self.rooms[member.room.0].name());
        let count = count.unwrap_or(self.history.per_room()).max(1);
        if let Some(cached) = self.history.get(&room::fold(&name)) {
            if cached.len() >= count {
                let skip = cached.len() - count;
                send_history(&mut self.encoder, sink, id, &name, cached.range(skip..));
                return;
            }
        }
        self.ask(id, Purpose::History, |ticket| {
            Request::Store(StoreRequest::History {
                ticket,
                room: name,
                limit: count,
            })
        });
    }
}

/// Compares two names ignoring ASCII case, without allocating (`/who` sorts thousands);
/// names that differ only in case are ordered as written, so the order is total.
fn cmp_ignoring_case(a: &str, b: &str) -> Ordering {
    fn folded(name: &str) -> impl Iterator<Item = u8> + '_ {
        name.bytes().map(|c| c.to_ascii_lowercase())
    }
    folded(a).cmp(folded(b)).then_with(|| a.cmp(b))
}

/// `header` followed by the comma-separated `items`, as `*** ` lines of at most about
/// [`LISTING_LINE_BYTES`] each, so that a room of thousands lists in tens of lines.
fn listing_lines(encoder: &mut Encoder, header: String, items: &[impl AsRef<str>]) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut line = header;
    let mut separator = " ";
    for item in items {
        let item = item.as_ref();
        if !line.is_empty() && line.len() + separator.len() + item.len() > LISTING_LINE_BYTES {
            lines.push(encoder.notice(format_args!("{line}")));
            line.clear();
            separator = "";
        }
        line.push_str(separator);
        line.push_str(item);
        separator = ", ";
    }
    lines.push(encoder.notice(format_args!("{line}")));
    lines
}
