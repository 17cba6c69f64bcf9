//! What operators may do (contract item 12): kick, ban and mute, lift bans and mutes, and see
//! who someone is. Operators are the accounts `--operators` names, once logged in; anyone
//! else gets `!!! `. Operators cannot act on each other, nor on themselves: a mistyped
//! nickname must not lock an operator out, and demoting one is a matter of configuration.
//! Bans and mutes are kept in memory for the checks and sent to the store, so that they
//! outlive a restart and reach the other servers sharing it. A client on another server is
//! kicked, banned or muted by its own server, which the store tells.

use std::sync::Arc;
use std::time::Instant;

use super::{member_of, Farewell, Hub, Presence};
use crate::protocol::clock;
use crate::protocol::counters::DisconnectReason;
use crate::protocol::nick;
use crate::protocol::others::Elsewhere;
use crate::protocol::request::{Ban, Mute, Request, StoreRequest};
use crate::protocol::sink::{ClientId, Sink};

/// Whom an operator's command is about.
enum Target {
    /// A client here.
    Here(ClientId),
    /// A client on another server.
    Elsewhere(Elsewhere),
}

impl Hub {
    /// `/kick NICK [REASON]`: the client is disconnected; its room hears it was kicked.
    pub(super) fn kick(
        &mut self,
        id: ClientId,
        nick: &str,
        reason: Option<&str>,
        sink: &mut impl Sink,
    ) {
        let Some((target, by)) = self.moderated(id, nick, sink) else {
            return;
        };
        match target {
            Target::Here(target) => self.remove_by_operator(target, &by, reason, None, sink),
            Target::Elsewhere(who) => {
                self.requests.push_back(Request::Store(StoreRequest::Kick {
                    nick: who.nick.as_ref().into(),
                    by: by.as_ref().into(),
                    reason: reason.map(Into::into),
                }));
            }
        }
        self.notice(id, format_args!("{nick} is kicked"), sink);
    }

    /// `/ban NICK [MINUTES]`: kicked, and neither its name nor its address may come back
    /// until the ban ends or is lifted.
    pub(super) fn ban(
        &mut self,
        id: ClientId,
        nick: &str,
        minutes: Option<u32>,
        now: Instant,
        sink: &mut impl Sink,
    ) {
        let Some((target, by)) = self.moderated(id, nick, sink) else {
            return;
        };
        // The address of a client elsewhere is its server's to add.
        let address = match &target {
            Target::Here(target) => self
                .clients
                .get(target.0)
                .and_then(Option::as_ref)
                .map(|c| c.addr),
            Target::Elsewhere(_) => None,
        };
        let until = self.sanction_end(minutes, now);
        let ban = Ban {
            name: nick::fold(nick),
            address,
            until,
        };
        self.sanctions.ban(ban.clone());
        self.requests
            .push_back(Request::Store(StoreRequest::Ban(ban)));
        let until = clock::until(until);
        if let Target::Here(target) = target {
            self.remove_by_operator(target, &by, None, Some(&until), sink);
        }
        self.notice(id, format_args!("{nick} is banned{until}"), sink);
    }

    /// `/unban NICK`: the name and its address may come back.
    pub(super) fn unban(&mut self, id: ClientId, nick: &str, sink: &mut impl Sink) {
        if !self.require_operator(id, sink) {
            return;
        }
        let folded = nick::fold(nick);
        if self.sanctions.unban(&folded) {
            self.requests
                .push_back(Request::Store(StoreRequest::Unban(folded)));
            self.notice(id, format_args!("{nick} is no longer banned"), sink);
        } else {
            self.error(id, format_args!("{nick} is not banned"), sink);
        }
    }

    /// `/mute NICK [MINUTES]`: its chat lines, actions and private messages are refused until
    /// the mute ends or is lifted.
    pub(super) fn mute(
        &mut self,
        id: ClientId,
        nick: &str,
        minutes: Option<u32>,
        now: Instant,
        sink: &mut impl Sink,
    ) {
        let Some((target, by)) = self.moderated(id, nick, sink) else {
            return;
        };
        let until = self.sanction_end(minutes, now);
        let mute = Mute {
            name: nick::fold(nick),
            until,
        };
        self.sanctions.mute(mute.clone());
        self.requests
            .push_back(Request::Store(StoreRequest::Mute(mute)));
        let until = clock::until(until);
        if let Target::Here(target) = target {
            self.error(target, format_args!("you are muted by {by}{until}"), sink);
        }
        self.notice(id, format_args!("{nick} is muted{until}"), sink);
    }

    /// `/unmute NICK`: it may talk again.
    pub(super) fn unmute(&mut self, id: ClientId, nick: &str, sink: &mut impl Sink) {
        if !self.require_operator(id, sink) {
            return;
        }
        let folded = nick::fold(nick);
        if !self.sanctions.unmute(&folded) {
            self.error(id, format_args!("{nick} is not muted"), sink);
            return;
        }
        self.requests
            .push_back(Request::Store(StoreRequest::Unmute(folded.clone())));
        if let Some(&target) = self.nicks.get(&folded) {
            self.notice(target, format_args!("You may talk again."), sink);
        }
        self.notice(id, format_args!("{nick} is no longer muted"), sink);
    }

    /// `/whois NICK`: its account, address, arrival and room.
    pub(super) fn whois(&mut self, id: ClientId, nick: &str, sink: &mut impl Sink) {
        if !self.require_operator(id, sink) {
            return;
        }
        let Some(target) = self.member_called(nick) else {
            match self.others.get(&nick::fold(nick)) {
                Some(who) => {
                    let line = self.encoder.notice(format_args!(
                        "{}: on another server ({}); in {}",
                        who.nick, who.server, who.room
                    ));
                    sink.send(id, &line);
                }
                None => self.error(id, format_args!("nobody here is called {nick}"), sink),
            }
            return;
        };
        let (Some(client), Some(member)) = (
            self.clients.get(target.0).and_then(Option::as_ref),
            member_of(&self.clients, target),
        ) else {
            return;
        };
        let account = match self.logged_in.get(&target) {
            Some(_) if self.is_operator(target) => "logged in to its account, an operator",
            Some(_) => "logged in to its account",
            None => "a guest (no account)",
        };
        let line = self.encoder.notice(format_args!(
            "{}: {account}; from {}; here since {}; in {}",
            member.nick,
            client.addr,
            clock::utc(i64::from(client.since) * 1000),
            self.rooms[member.room.0].name()
        ));
        sink.send(id, &line);
    }

    /// True if member `id` is muted at `now`; then it is told its line was not sent.
    pub(super) fn refuse_muted(
        &mut self,
        id: ClientId,
        now: Instant,
        sink: &mut impl Sink,
    ) -> bool {
        if self.sanctions.no_mutes() {
            return false;
        }
        let Some(member) = member_of(&self.clients, id) else {
            return false;
        };
        let folded = nick::fold(&member.nick);
        let unix_ms = self.clock.unix_ms(now);
        let Some(mute) = self.sanctions.mute_of(&folded, unix_ms) else {
            return false;
        };
        let until = clock::until(mute.until);
        self.error(
            id,
            format_args!("you are muted{until}; nothing was sent"),
            sink,
        );
        true
    }

    /// A muted member renamed: the mute follows it to its new name.
    pub(super) fn follow_mute(&mut self, old: &str, new: &str) {
        let Some(mute) = self.sanctions.mute_of(old, i64::MIN) else {
            return;
        };
        let mute = Mute {
            name: new.into(),
            until: mute.until,
        };
        self.sanctions.mute(mute.clone());
        self.requests
            .push_back(Request::Store(StoreRequest::Mute(mute)));
    }

    /// The client an operator's command names, here or elsewhere, and the operator's
    /// nickname; or `None` after telling the operator why not (not an operator, nobody by
    /// that name, an operator).
    fn moderated(
        &mut self,
        id: ClientId,
        nick: &str,
        sink: &mut impl Sink,
    ) -> Option<(Target, Arc<str>)> {
        if !self.require_operator(id, sink) {
            return None;
        }
        let folded = nick::fold(nick);
        let target = match self.member_called(nick) {
            Some(target) => Target::Here(target),
            None => match self.others.get(&folded) {
                Some(who) => Target::Elsewhere(who.clone()),
                None => {
                    self.error(id, format_args!("nobody here is called {nick}"), sink);
                    return None;
                }
            },
        };
        let operator = match target {
            Target::Here(target) => self.is_operator(target),
            // Operators are the same accounts on every server.
            Target::Elsewhere(_) => self.limits.operators.contains(&folded),
        };
        if operator {
            self.error(
                id,
                format_args!(
                    "{nick} is an operator; operators cannot kick, ban or mute each other"
                ),
                sink,
            );
            return None;
        }
        let by = member_of(&self.clients, id).map(|member| Arc::clone(&member.nick))?;
        Some((target, by))
    }

    /// True if client `id` is an operator; otherwise it is told.
    fn require_operator(&mut self, id: ClientId, sink: &mut impl Sink) -> bool {
        if self.is_operator(id) {
            return true;
        }
        self.error(id, format_args!("only operators may do that"), sink);
        false
    }

    /// The registered client called `nick`, if any.
    fn member_called(&self, nick: &str) -> Option<ClientId> {
        let &id = self.nicks.get(&nick::fold(nick))?;
        member_of(&self.clients, id).map(|_| id)
    }

    /// When a ban or mute of `minutes` given at `now` ends; `None` lasts until lifted.
    fn sanction_end(&self, minutes: Option<u32>, now: Instant) -> Option<i64> {
        minutes.map(|minutes| self.clock.unix_ms(now) + i64::from(minutes) * 60_000)
    }

    /// Disconnects `target`, telling it and its room that operator `by` kicked it (for
    /// `reason`; banned until `banned`, if it was).
    pub(super) fn remove_by_operator(
        &mut self,
        target: ClientId,
        by: &str,
        reason: Option<&str>,
        banned: Option<&str>,
        sink: &mut impl Sink,
    ) {
        let told = match (banned, reason) {
            (Some(until), _) => format!("you are banned from this server by {by}{until}"),
            (None, Some(reason)) => format!("you were kicked by {by}: {reason}"),
            (None, None) => format!("you were kicked by {by}"),
        };
        self.error(target, format_args!("{told}"), sink);
        let farewell = Farewell::Kicked { by, reason, banned };
        if matches!(
            self.clients.get(target.0).and_then(Option::as_ref),
            Some(client) if matches!(client.presence, Presence::Chatting(_))
        ) {
            self.forget(target, farewell, DisconnectReason::Kicked, sink);
            sink.close(target);
        }
    }
}
