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
        match waiting.purpose {
            Purpose::Register { nick } => {
                self.learn_history(id, LOBBY, completion, sink);
                self.welcome(id, nick, sink);
            }
            Purpose::Join { room } => {
                self.learn_history(id, &room, completion, sink);
                self.join_now(id, &room, sink);
            }
            Purpose::History => self.show_history(id, completion, sink),
        }
        self.take_held(id, now, sink);
        self.arm_timer(id, sink);
    }

    /// Fills the cache with `room`'s stored history, unless it learned the room meanwhile
    /// (another client's answer came first; what it holds since is newer). If the store
    /// failed, client `id` is told that it enters without the history.
    fn learn_history(
        &mut self,
        id: ClientId,
        room: &str,
        completion: Completion,
        sink: &mut impl Sink,
    ) {
        match completion {
            Completion::History { records, .. } => {
                let folded = room::fold(room);
                if self.history.get(&folded).is_none() {
                    let lines = self.history_lines(&records);
                    self.history.fill(&folded, lines);
                }
            }
            Completion::Failed { reason, .. } => {
                self.error(
                    id,
                    format_args!("the history of {room} could not be loaded ({reason})"),
                    sink,
                );
            }
        }
    }

    /// The answer to `/history`: the messages, or why there are none.
    fn show_history(&mut self, id: ClientId, completion: Completion, sink: &mut impl Sink) {
        let Some(member) = member_of(&self.clients, id) else {
            return;
        };
        let name = Arc::clone(self.rooms[member.room.0].name());
        match completion {
            Completion::History { records, .. } => {
                let lines = self.history_lines(&records);
                send_history(&mut self.encoder, sink, id, &name, &lines);
            }
            Completion::Failed { reason, .. } => {
                self.error(
                    id,
                    format_args!("the history of {name} could not be loaded ({reason})"),
                    sink,
                );
            }
        }
    }

    /// Stored messages as history replays them.
    fn history_lines(&mut self, records: &[Record]) -> Vec<Line> {
        records
            .iter()
            .map(|record| self.history_line(record))
            .collect()
    }
}
