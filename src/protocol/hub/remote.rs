//! News from other servers sharing the store (contract item 15): their clients' lines and
//! notices for the rooms that have members here, who is where, private messages and kicks
//! for clients here, bans and mutes, and the link to them lost or back. A line from
//! elsewhere is encoded once here and reaches local members the way local lines do.

use std::sync::Arc;

use super::{member_of, Hub};
use crate::protocol::clock;
use crate::protocol::nick::{self, MAX_NICK_LEN};
use crate::protocol::request::{Ban, Record, Remote, Request, StoreRequest};
use crate::protocol::room;
use crate::protocol::sink::{ClientId, Sink};

impl Hub {
    /// News from other servers.
    pub fn handle_remote(&mut self, remote: Remote, sink: &mut impl Sink) {
        self.send_batch(sink);
        match remote {
            Remote::Said(record) => self.said_elsewhere(&record, sink),
            Remote::Notice { room, text } => {
                if let Some(&room) = self.room_index.get(&room::fold(&room)) {
                    let notice = self.encoder.notice(format_args!("{text}"));
                    sink.broadcast(self.rooms[room.0].members(), None, &notice);
                }
            }
            Remote::Arrived(who) => {
                if let Some(before) = self.others.get(&nick::fold(&who.nick)) {
                    let before = room::fold(&before.room);
                    self.forget_listing(&before);
                }
                self.forget_listing(&room::fold(&who.room));
                self.others.set(who);
            }
            Remote::Gone(name) => {
                if let Some(gone) = self.others.remove(&nick::fold(&name)) {
                    self.forget_listing(&room::fold(&gone.room));
                }
            }
            Remote::Private { to, from, text } => {
                if let Some(target) = self.member_here(&to) {
                    let line = self.encoder.encode(format_args!("*{from}* {text}"));
                    sink.send(target, &line);
                }
            }
            Remote::Kicked { nick, by, reason } => {
                if let Some(target) = self.member_here(&nick) {
                    self.remove_by_operator(target, &by, reason.as_deref(), None, sink);
                }
            }
            Remote::Banned(ban) => self.banned_elsewhere(ban, sink),
            Remote::Unbanned(name) => {
                self.sanctions.unban(&name);
            }
            Remote::Muted(mute) => {
                let until = clock::until(mute.until);
                if let Some(target) = self.member_here(&mute.name) {
                    self.error(target, format_args!("you are muted{until}"), sink);
                }
                self.sanctions.mute(mute);
            }
            Remote::Unmuted(name) => {
                if self.sanctions.unmute(&name) {
                    if let Some(target) = self.member_here(&name) {
                        self.notice(target, format_args!("You may talk again."), sink);
                    }
                }
            }
            Remote::Lost => {
                self.others.clear();
                self.forget_listings();
                self.tell_everyone(
                    "Lost contact with the other servers; chat here goes on.",
                    sink,
                );
            }
            Remote::Back { others, taken } => {
                self.others.clear();
                for who in others {
                    self.others.set(who);
                }
                self.forget_listings();
                for name in taken {
                    self.lost_to_another_server(&name, sink);
                }
                self.tell_everyone("In contact with the other servers again.", sink);
            }
        }
    }

    /// A line said elsewhere in a room that has members here: to them, and to its history.
    fn said_elsewhere(&mut self, record: &Record, sink: &mut impl Sink) {
        let folded = room::fold(&record.room);
        let Some(&room) = self.room_index.get(&folded) else {
            return;
        };
        let line = self
            .encoder
            .message(record.kind, &record.nick, &record.text);
        sink.broadcast(self.rooms[room.0].members(), None, &line);
        let history = self.history_line(record);
        self.history.push(&folded, history);
    }

    /// A ban set elsewhere: it applies here too, and a client here with that name is
    /// kicked. Its address is only known here, so the ban is sent on again with it.
    fn banned_elsewhere(&mut self, ban: Ban, sink: &mut impl Sink) {
        let target = self.member_here(&ban.name);
        let mut ban = ban;
        if let Some(client) = target.and_then(|id| self.clients.get(id.0)?.as_ref()) {
            if ban.address.is_none() {
                ban.address = Some(client.addr);
                self.requests
                    .push_back(Request::Store(StoreRequest::Ban(ban.clone())));
            }
        }
        self.sanctions.ban(ban.clone());
        if let Some(target) = target {
            let until = clock::until(ban.until);
            self.remove_by_operator(target, "an operator", None, Some(&until), sink);
        }
    }

    /// While the servers were apart, a client elsewhere claimed `name`, which a member here
    /// holds: the claim in the store wins, and the member here is renamed and told.
    fn lost_to_another_server(&mut self, name: &str, sink: &mut impl Sink) {
        let Some(id) = self.member_here(name) else {
            return;
        };
        let Some(old) = member_of(&self.clients, id).map(|member| Arc::clone(&member.nick)) else {
            return;
        };
        let Some(new) = self.free_variant(&old) else {
            return;
        };
        self.error(
            id,
            format_args!("while the servers were apart, {old} was taken on another server"),
            sink,
        );
        let new: Arc<str> = new.into();
        self.rename_to(id, Arc::clone(&new), sink);
        if let Some(member) = member_of(&self.clients, id) {
            let room = Arc::clone(self.rooms[member.room.0].name());
            self.requests.push_back(Request::Store(StoreRequest::Moved {
                name: new.as_ref().into(),
                room,
            }));
        }
    }

    /// `name-2`, `name-3`, ...: the first that nobody here or elsewhere has.
    fn free_variant(&self, name: &str) -> Option<String> {
        (2..1000).find_map(|n: u32| {
            let suffix = format!("-{n}");
            let stem: String = name.chars().take(MAX_NICK_LEN - suffix.len()).collect();
            let candidate = format!("{stem}{suffix}");
            let folded = nick::fold(&candidate);
            (!self.nicks.contains_key(&folded) && self.others.get(&folded).is_none())
                .then_some(candidate)
        })
    }

    /// The member here called `name` (any case), if any: not one that is only claiming it.
    fn member_here(&self, name: &str) -> Option<ClientId> {
        let folded = nick::fold(name);
        let &id = self.nicks.get(&folded)?;
        member_of(&self.clients, id)
            .filter(|member| nick::fold(&member.nick) == folded)
            .map(|_| id)
    }

    /// The `/who` listing of room `folded` here, if it exists, is out of date.
    fn forget_listing(&mut self, folded: &str) {
        if let Some(&room) = self.room_index.get(folded) {
            self.rooms[room.0].forget_listing();
        }
    }

    /// Every `/who` listing here is out of date.
    fn forget_listings(&mut self) {
        for (_, room) in self.rooms.iter_mut() {
            room.forget_listing();
        }
    }

    /// A `*** ` line to every member here.
    fn tell_everyone(&mut self, text: &str, sink: &mut impl Sink) {
        let notice = self.encoder.notice(format_args!("{text}"));
        for (_, room) in &self.rooms {
            sink.broadcast(room.members(), None, &notice);
        }
    }
}
