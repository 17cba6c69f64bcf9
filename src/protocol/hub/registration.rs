//! Becoming a member: choosing a nickname (contract items 2 and 3), and the login deadline.
//!
//! An accepted nickname is reserved at once. The client is welcomed into `#lobby` as soon as
//! the lobby's recent history is known, which is at once unless the store has to be asked
//! (the first time after a start, say); meanwhile the client waits and its input is held.

use std::sync::Arc;

use super::{plural, Hub, Presence, Purpose};
use crate::protocol::command::{self, Command, Input};
use crate::protocol::nick::{self, NickError};
use crate::protocol::room::LOBBY;
use crate::protocol::sink::{ClientId, Sink};

impl Hub {
    /// A line from a client without a nickname yet: a nickname candidate, or `/quit`.
    pub(super) fn choose_nick(&mut self, id: ClientId, candidate: &str, sink: &mut impl Sink) {
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
            Ok(folded) => self.register(id, candidate.into(), folded, sink),
            Err(error) => {
                self.error(id, format_args!("{error}; please choose another"), sink);
                sink.send(id, &self.canned.nick_prompt);
            }
        }
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
        match self.nicks.get(&folded) {
            Some(&holder) if Some(holder) != owner => Err(NickError::Taken),
            _ => Ok(folded),
        }
    }

    /// Reserves `nick` for client `id` and welcomes it into the lobby, once the lobby's
    /// history is known.
    fn register(&mut self, id: ClientId, nick: Arc<str>, folded: Box<str>, sink: &mut impl Sink) {
        self.nicks.insert(folded, id);
        if self.history_known(LOBBY) {
            self.welcome(id, nick, sink);
        } else {
            self.load_history(id, LOBBY.into(), Purpose::Register { nick });
        }
    }

    /// Client `id`, whose nickname is reserved, becomes a member of the lobby.
    pub(super) fn welcome(&mut self, id: ClientId, nick: Arc<str>, sink: &mut impl Sink) {
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
        self.enter_room(id, nick, room, sink);
        self.arm_timer(id, sink);
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
        self.forget(id, None, sink);
        sink.close(id);
    }
}
