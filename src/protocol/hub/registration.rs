//! Becoming a member: choosing a nickname (contract items 2, 3 and 12), and the login
//! deadline.
//!
//! An accepted nickname is reserved at once, and the store is asked whether an account owns
//! it (see `accounts`: then its password is asked for). The client is then welcomed into
//! `#lobby` as soon as the lobby's recent history is known, which is at once unless the
//! store has to be asked (the first time after a start, say). Meanwhile the client waits and
//! its input is held.

use std::sync::Arc;
use std::time::Instant;

use super::{plural, Farewell, Hub, Presence, Purpose, Then};
use crate::protocol::clock;
use crate::protocol::command::{self, Command, Input};
use crate::protocol::counters::DisconnectReason;
use crate::protocol::nick::{self, NickError};
use crate::protocol::room::LOBBY;
use crate::protocol::sink::{ClientId, Sink};

impl Hub {
    /// A line from a client without a nickname yet: a nickname candidate, or `/quit`.
    pub(super) fn choose_nick(
        &mut self,
        id: ClientId,
        candidate: &str,
        now: Instant,
        sink: &mut impl Sink,
    ) {
        if candidate.starts_with('/') {
            if let Input::Command(Command::Quit(_)) = command::parse(candidate) {
                self.leave_on_request(id, None, sink);
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
            Ok(folded) if self.refuse_banned_name(id, &folded, now, sink) => {
                sink.send(id, &self.canned.nick_prompt);
            }
            Ok(folded) => self.claim(id, candidate.into(), folded, Then::LogIn),
            Err(error) => {
                self.error(id, format_args!("{error}; please choose another"), sink);
                sink.send(id, &self.canned.nick_prompt);
            }
        }
    }

    /// True if the nickname `folded` is banned; then client `id` is told so.
    pub(super) fn refuse_banned_name(
        &mut self,
        id: ClientId,
        folded: &str,
        now: Instant,
        sink: &mut impl Sink,
    ) -> bool {
        let unix_ms = self.clock.unix_ms(now);
        let Some(ban) = self.sanctions.name_ban(folded, unix_ms) else {
            return false;
        };
        let until = clock::until(ban.until);
        self.error(id, format_args!("that nickname is banned{until}"), sink);
        true
    }

    /// Checks that `nick` is well-formed, not reserved and not taken by anyone but `owner`;
    /// returns its folded form.
    pub(super) fn check_nick_free(
        &self,
        nick: &str,
        owner: Option<ClientId>,
    ) -> Result<Box<str>, NickError> {
        nick::check_shape(nick)?;
        let folded = nick::fold(nick);
        if self.reserved.contains(&folded) {
            return Err(NickError::Reserved);
        }
        if self.others.get(&folded).is_some() {
            return Err(NickError::Taken);
        }
        match self.nicks.get(&folded) {
            Some(&holder) if Some(holder) != owner => Err(NickError::Taken),
            _ => Ok(folded),
        }
    }

    /// Welcomes client `id`, which holds `nick`, into the lobby once the lobby's history is
    /// known.
    pub(super) fn enter_lobby(&mut self, id: ClientId, nick: Arc<str>, sink: &mut impl Sink) {
        if self.history_known(LOBBY) {
            self.welcome(id, nick, sink);
        } else {
            self.load_history(id, LOBBY.into(), Purpose::Register { nick });
        }
    }

    /// Client `id`, which holds `nick`, becomes a member of the lobby; if it logged in to an
    /// account, the private messages that waited for it are asked for.
    pub(super) fn welcome(&mut self, id: ClientId, nick: Arc<str>, sink: &mut impl Sink) {
        self.reservations.remove(&id);
        let room = self.room_named(LOBBY);
        let others = self.population(&self.rooms[room.0]);
        self.notice(
            id,
            format_args!(
                "Welcome, {nick}! You are in {LOBBY} with {others} other{}. Type /help for commands.",
                plural(others)
            ),
            sink,
        );
        self.enter_room(id, nick, room, sink);
        self.arm_timer(id, sink);
        if let Some(account) = self.logged_in.get(&id) {
            let name = account.name.clone();
            self.take_offline(id, name);
        }
    }

    /// The login time of client `id` is over without a nickname: it is told and closed.
    pub(super) fn login_expired(&mut self, id: ClientId, sink: &mut impl Sink) {
        let Some(client) = self.client_mut(id) else {
            return;
        };
        if !matches!(client.presence, Presence::ChoosingNick { .. }) {
            return;
        }
        let seconds = self.limits.login_timeout.as_secs_f32();
        self.error(
            id,
            format_args!("no nickname chosen within {seconds} s; goodbye"),
            sink,
        );
        self.forget(
            id,
            Farewell::Left(None),
            DisconnectReason::LoginTimeout,
            sink,
        );
        sink.close(id);
    }
}
