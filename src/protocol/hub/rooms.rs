//! Rooms: entering and leaving them (contract items 3, 5 and 10), fan-out of chat lines to
//! their members (item 4), and replaying their history (item 11).
//!
//! A chat line is encoded once into a batch shared by every recipient, kept in the history
//! cache as the stamped line a newcomer is replayed, and handed to the store as a record.

use std::sync::Arc;
use std::time::Instant;

use super::{member_of, plural, Client, Farewell, Hub, Member, Presence, Purpose};
use crate::protocol::clock::stamp;
use crate::protocol::counters::DisconnectReason;
use crate::protocol::request::{Kind, Record, Request, StoreRequest};
use crate::protocol::room::{self, Room, RoomId};
use crate::protocol::sink::{ClientId, Sink};
use crate::protocol::wire::{Encoder, Line};

/// The most characters of a `/quit` message shown to the room: a sentence, not a page.
pub const MAX_QUIT_MESSAGE: usize = 160;

impl Hub {
    /// True if the history cache holds `room`'s recent messages, so that entering it needs
    /// no store.
    pub(super) fn history_known(&mut self, room: &str) -> bool {
        self.history.per_room() == 0 || self.history.get(&room::fold(room)).is_some()
    }

    /// Asks the store for `room`'s recent messages on behalf of client `id`, which waits.
    pub(super) fn load_history(&mut self, id: ClientId, room: Arc<str>, purpose: Purpose) {
        let limit = self.history.per_room();
        self.ask(id, purpose, |ticket| {
            Request::Store(StoreRequest::History {
                ticket,
                room,
                limit,
            })
        });
    }

    /// The id of the room called `name`, created if it does not exist.
    pub(super) fn room_named(&mut self, name: &str) -> RoomId {
        let folded = room::fold(name);
        if let Some(&room) = self.room_index.get(&folded) {
            return room;
        }
        self.history.pin(&folded);
        let room = Room::new(name);
        self.requests
            .push_back(Request::Store(StoreRequest::Watch(Arc::clone(room.name()))));
        let room = RoomId(self.rooms.insert(room));
        self.room_index.insert(folded, room);
        room
    }

    /// How many are in `room` here and elsewhere.
    pub(super) fn population(&self, room: &Room) -> usize {
        room.members().len() + self.others.count_in(&room::fold(room.name()))
    }

    /// Sends `*** text` to the members of `room` other than `except`, and to those on other
    /// servers.
    fn announce(
        &mut self,
        room: RoomId,
        except: Option<ClientId>,
        text: String,
        sink: &mut impl Sink,
    ) {
        let room = &self.rooms[room.0];
        let notice = self.encoder.notice(format_args!("{text}"));
        sink.broadcast(room.members(), except, &notice);
        let name = Arc::clone(room.name());
        self.announce_elsewhere(&name, text);
    }

    /// Sends `*** text` to the members of room `name` on other servers. Always, with a
    /// shared store: whether a room has members elsewhere is known here only a moment
    /// after they arrive, and a notice must not depend on that moment.
    fn announce_elsewhere(&mut self, name: &Arc<str>, text: String) {
        if self.shared {
            self.requests
                .push_back(Request::Store(StoreRequest::Announce {
                    room: Arc::clone(name),
                    text: text.into(),
                }));
        }
    }

    /// Puts a registered client into `room`, announces it there and replays the room's
    /// recent messages to the newcomer.
    pub(super) fn enter_room(
        &mut self,
        id: ClientId,
        nick: Arc<str>,
        room: RoomId,
        sink: &mut impl Sink,
    ) {
        let slot = self.rooms[room.0].add(id);
        let name = Arc::clone(self.rooms[room.0].name());
        if self.population(&self.rooms[room.0]) <= self.limits.announce_limit {
            self.announce(room, Some(id), format!("{nick} joined {name}"), sink);
        }
        self.requests.push_back(Request::Store(StoreRequest::Moved {
            name: nick.as_ref().into(),
            room: Arc::clone(&name),
        }));
        if let Some(history) = self.history.get(&room::fold(&name)) {
            if !history.is_empty() {
                send_history(&mut self.encoder, sink, id, &name, history);
            }
        }
        if let Some(client) = self.client_mut(id) {
            client.presence = Presence::Chatting(Member { nick, room, slot });
        }
    }

    /// Takes a client out of its room, tells the room how it went (`farewell`), and removes
    /// the room if it is now empty. Kicks are always announced, whatever the room's size.
    pub(super) fn leave_room(
        &mut self,
        id: ClientId,
        member: &Member,
        farewell: Farewell<'_>,
        sink: &mut impl Sink,
    ) {
        self.send_batch(sink);
        let announce = self.population(&self.rooms[member.room.0]) <= self.limits.announce_limit
            || matches!(farewell, Farewell::Kicked { .. });
        let room = &mut self.rooms[member.room.0];
        if let Some(moved) = room.remove(member.slot) {
            if let Some(Client {
                presence: Presence::Chatting(other),
                ..
            }) = self.clients.get_mut(moved.0).and_then(Option::as_mut)
            {
                other.slot = member.slot;
            }
        }
        let name = Arc::clone(self.rooms[member.room.0].name());
        let text = announce.then(|| {
            let nick = &member.nick;
            match farewell {
                Farewell::Left(Some(reason)) => format!("{nick} left {name} ({reason})"),
                Farewell::Left(None) => format!("{nick} left {name}"),
                Farewell::Kicked { by, reason, banned } => {
                    let banned =
                        banned.map_or(String::new(), |until| format!(" and banned{until}"));
                    let reason = reason.map_or(String::new(), |reason| format!(": {reason}"));
                    format!("{nick} was kicked by {by}{banned}{reason}")
                }
            }
        });
        if self.rooms[member.room.0].members().is_empty() {
            self.rooms.remove(member.room.0);
            let folded = room::fold(&name);
            self.history.unpin(&folded);
            self.room_index.remove(&folded);
            self.requests
                .push_back(Request::Store(StoreRequest::Unwatch(Arc::clone(&name))));
            if let Some(text) = text {
                self.announce_elsewhere(&name, text);
            }
            return;
        }
        if let Some(text) = text {
            self.announce(member.room, Some(id), text, sink);
        }
    }

    /// The client asked to leave (`/quit`, Telnet's Ctrl-C or Ctrl-D): a goodbye, its room
    /// sees it leave (with its parting words, quoted and cut to a sentence), and it is closed.
    pub(super) fn leave_on_request(
        &mut self,
        id: ClientId,
        message: Option<&str>,
        sink: &mut impl Sink,
    ) {
        self.send_batch(sink);
        if member_of(&self.clients, id).is_some() {
            self.notice(id, format_args!("Goodbye!"), sink);
        }
        let quoted = message.map(|message| format!("saying \"{}\"", shorten(message)));
        self.forget(
            id,
            Farewell::Left(quoted.as_deref()),
            DisconnectReason::Quit,
            sink,
        );
        sink.close(id);
    }

    /// A chat line (or an action) from a member, for everyone else in its room, for the
    /// room's history and for the store. It joins the batch being built.
    pub(super) fn publish(
        &mut self,
        id: ClientId,
        text: &str,
        kind: Kind,
        now: Instant,
        sink: &mut impl Sink,
    ) {
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
        let unix_ms = self.clock.unix_ms(now);
        let nick = Arc::clone(&member.nick);
        let history = self.batch.push(stamp(unix_ms), kind, &nick, text);
        let name = Arc::clone(self.rooms[room.0].name());
        self.history.push(&room::fold(&name), history);
        self.requests
            .push_back(Request::Store(StoreRequest::Keep(Record {
                unix_ms,
                room: name,
                nick,
                kind,
                text: text.into(),
            })));
    }

    /// Sends the batch of chat lines, if any, to its room.
    pub(super) fn send_batch(&mut self, sink: &mut impl Sink) {
        let Some((author, room)) = self.batch_route.take() else {
            return;
        };
        if let (Some(line), Some(members)) = (self.batch.take(), self.rooms.get(room.0)) {
            sink.broadcast(members.members(), Some(author), &line);
        }
    }
}

/// Sends client `id` a header and `lines`, the messages of `room` oldest first, as replayed
/// on entering it and for `/history`.
pub(super) fn send_history<'a>(
    encoder: &mut Encoder,
    sink: &mut impl Sink,
    id: ClientId,
    room: &str,
    lines: impl IntoIterator<Item = &'a Line, IntoIter: ExactSizeIterator>,
) {
    let lines = lines.into_iter();
    let header = match lines.len() {
        0 => encoder.notice(format_args!("No messages in {room} yet.")),
        n => encoder.notice(format_args!("Last {n} message{} in {room}:", plural(n))),
    };
    sink.send(id, &header);
    for line in lines {
        sink.send(id, line);
    }
}

/// `message` cut to [`MAX_QUIT_MESSAGE`] characters, marked with an ellipsis if it was cut.
fn shorten(message: &str) -> std::borrow::Cow<'_, str> {
    match message.char_indices().nth(MAX_QUIT_MESSAGE) {
        Some((end, _)) => format!("{}…", &message[..end]).into(),
        None => message.into(),
    }
}
