//! Answers from services, and what the client that waited for each does next.
//!
//! An answer is taken only if its ticket is the one its client waits for: a client that left
//! (and whose number a new connection may have since) waits for nothing, so a late answer
//! for it is dropped. Once the answer is acted on, the input the client sent meanwhile is
//! taken up, in order, and the driver reads the client again.

use std::sync::Arc;
use std::time::Instant;

use super::rooms::send_history;
use super::{member_of, Hub, Purpose};
use crate::protocol::request::{Completion, Record};
use crate::protocol::room::{self, LOBBY};
use crate::protocol::sink::{ClientId, Sink};
use crate::protocol::wire::Line;

impl Hub {
    /// A service's answer, received at `now`.
    pub fn handle_completion(
        &mut self,
        now: Instant,
        completion: Completion,
        sink: &mut impl Sink,
    ) {
        let ticket = completion.ticket();
        let id = ticket.client;
        match self.waiting.get(&id) {
            Some(waiting) if waiting.ticket == ticket.number => {}
            _ => {
                log::debug!(
                    "dropped an answer for client {}, which no longer waits for it",
                    id.0
                );
                return;
            }
        }
        let Some(waiting) = self.waiting.remove(&id) else {
            return;
        };
        self.answered(id, waiting.purpose, completion, now, sink);
        if !self.is_waiting(id) {
            self.take_held(id, now, sink);
        }
        self.arm_timer(id, sink);
    }

    /// Does what client `id` waited to do with `completion`, the answer for `purpose`.
    fn answered(
        &mut self,
        id: ClientId,
        purpose: Purpose,
        completion: Completion,
        now: Instant,
        sink: &mut impl Sink,
    ) {
        if let Completion::Failed { reason, .. } = &completion {
            let reason = reason.clone();
            return self.failed(id, purpose, &reason, sink);
        }
        match (purpose, completion) {
            (Purpose::Register { nick }, Completion::History { records, .. }) => {
                self.learn_history(LOBBY, &records);
                self.welcome(id, nick, sink);
            }
            (Purpose::Join { room }, Completion::History { records, .. }) => {
                self.learn_history(&room, &records);
                self.join_now(id, &room, sink);
            }
            (Purpose::History, Completion::History { records, .. }) => {
                self.show_history(id, &records, sink);
            }
            (Purpose::LookUp { nick, then }, Completion::Claimed { taken, account, .. }) => {
                self.looked_up(id, nick, then, taken, account, now, sink);
            }
            (Purpose::Verify { account, then }, Completion::Verified { matches, .. }) => {
                self.verified(id, account, then, matches, now, sink);
            }
            (Purpose::HashForAccount, Completion::Hashed { hash, .. }) => {
                self.make_account(id, hash);
            }
            (Purpose::MakeAccount { hash }, Completion::Done { done, .. }) => {
                self.account_made(id, hash, done, sink);
            }
            (Purpose::CheckOldPassword { new }, Completion::Verified { matches, .. }) => {
                self.old_password_checked(id, new, matches, now, sink);
            }
            (Purpose::HashNewPassword, Completion::Hashed { hash, .. }) => {
                self.store_password(id, hash);
            }
            (Purpose::StorePassword { hash }, Completion::Done { done, .. }) => {
                self.password_stored(id, hash, done, sink);
            }
            (Purpose::MessageLookUp { to, text }, Completion::Account { account, .. }) => {
                self.message_looked_up(id, &to, text, account, now, sink);
            }
            (Purpose::MessageKept { to }, Completion::Done { done, .. }) => {
                self.message_kept(id, &to, done, sink);
            }
            (Purpose::Offline { name }, Completion::Offline { messages, .. }) => {
                self.deliver_offline(id, name, messages, sink);
            }
            (purpose, completion) => {
                log::error!("an answer of the wrong kind for {purpose:?}: {completion:?}");
                self.failed(id, purpose, "the server got a wrong answer", sink);
            }
        }
    }

    /// A service could not do what client `id` waited for: it is told why, and what it was
    /// doing goes on without it, or is undone.
    fn failed(&mut self, id: ClientId, purpose: Purpose, reason: &str, sink: &mut impl Sink) {
        self.error(id, format_args!("{reason}"), sink);
        match purpose {
            // Without the history, but in.
            Purpose::Register { nick } => self.welcome(id, nick, sink),
            Purpose::Join { room } => self.join_now(id, &room, sink),
            Purpose::LookUp { then, .. } | Purpose::Verify { then, .. } => {
                self.unclaim(id, then, sink);
            }
            Purpose::History
            | Purpose::HashForAccount
            | Purpose::MakeAccount { .. }
            | Purpose::CheckOldPassword { .. }
            | Purpose::HashNewPassword
            | Purpose::StorePassword { .. }
            | Purpose::MessageLookUp { .. }
            | Purpose::MessageKept { .. }
            | Purpose::Offline { .. } => {}
        }
    }

    /// Fills the cache with `room`'s stored history, unless it learned the room meanwhile
    /// (another client's answer came first; what it holds since is newer).
    fn learn_history(&mut self, room: &str, records: &[Record]) {
        let folded = room::fold(room);
        if self.history.get(&folded).is_none() {
            let lines = self.history_lines(records);
            self.history.fill(&folded, lines);
        }
    }

    /// The answer to `/history`: the messages of the client's room.
    fn show_history(&mut self, id: ClientId, records: &[Record], sink: &mut impl Sink) {
        let Some(member) = member_of(&self.clients, id) else {
            return;
        };
        let name = Arc::clone(self.rooms[member.room.0].name());
        let lines = self.history_lines(records);
        send_history(&mut self.encoder, sink, id, &name, &lines);
    }

    /// Stored messages as history replays them.
    fn history_lines(&mut self, records: &[Record]) -> Vec<Line> {
        records
            .iter()
            .map(|record| self.history_line(record))
            .collect()
    }
}
