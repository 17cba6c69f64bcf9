//! A client's input: bytes to lines, each line to what it means, and the pace it is taken at.
//!
//! Lines are taken while the client may go on. It may not when it is ahead of its rate
//! (contract item 8: past the burst, lines are taken at `--rate-limit` a second) or while it
//! waits for a service's answer. Then the rest of what it sent is held, the driver is told to
//! stop reading it ([`Flow::Paused`]), and the hub takes the held input up again when the
//! next token is due (the driver calls [`Hub::timeout`]) or the answer has been acted on. A
//! client that sends faster than it may therefore costs the server at most one read of held
//! bytes: the rest waits in its own connection.

use std::mem;
use std::time::Instant;

use super::{member_of, Hub, Presence};
use crate::protocol::command::{self, Command, Input};
use crate::protocol::line::Piece;
use crate::protocol::sink::{ClientId, Flow, Sink};
use crate::protocol::text::{is_blank, sanitize_into};
use crate::protocol::wire::Line;

impl Hub {
    /// Bytes from client `id`, in any pieces, received at `now`: every complete line in them
    /// is acted upon while the client may go on; see the module documentation.
    pub fn receive(
        &mut self,
        id: ClientId,
        bytes: &[u8],
        now: Instant,
        sink: &mut impl Sink,
    ) -> Flow {
        if let Some(held) = self.held.get_mut(&id) {
            // The driver read a paused client after all: keep the order, hold this too.
            held.extend_from_slice(bytes);
            return Flow::Paused;
        }
        self.take_input(id, bytes, now, sink)
    }

    /// The time asked for with [`Sink::set_timer`] has come for client `id`: its login time
    /// may be over, or it may go on with held input.
    pub fn timeout(&mut self, id: ClientId, now: Instant, sink: &mut impl Sink) {
        let Some(client) = self.client_mut(id) else {
            return;
        };
        if let Presence::ChoosingNick { deadline } = client.presence {
            if deadline <= now {
                self.login_expired(id, sink);
                return;
            }
        }
        if !self.is_waiting(id) {
            self.take_held(id, now, sink);
        }
        self.arm_timer(id, sink);
    }

    /// Client `id` closed its sending side: act on its unterminated last line, if any, then
    /// let it leave and close the connection once what is queued for it is written. Drivers
    /// report this only while reading the client, never while it is paused.
    pub fn end_of_input(&mut self, id: ClientId, now: Instant, sink: &mut impl Sink) {
        let Some(client) = self.client_mut(id) else {
            return;
        };
        let mut decoder = mem::take(&mut client.decoder);
        if let Some(piece) = decoder.finish(self.limits.max_line) {
            self.handle_piece(id, piece, now, sink);
            self.send_batch(sink);
        }
        if self.client_mut(id).is_some() {
            self.disconnect(id, super::Departure::EndOfInput, sink);
            sink.close(id);
        }
    }

    /// Acts on client `id`'s held input, if any, and lets the driver read it again once all
    /// of it is taken.
    pub(super) fn take_held(&mut self, id: ClientId, now: Instant, sink: &mut impl Sink) {
        if let Some(held) = self.held.remove(&id) {
            if self.take_input(id, &held, now, sink) == Flow::Continue {
                sink.resume_reading(id);
            }
        }
    }

    /// Acts on `bytes` line by line while the client may go on; holds the rest.
    fn take_input(
        &mut self,
        id: ClientId,
        mut bytes: &[u8],
        now: Instant,
        sink: &mut impl Sink,
    ) -> Flow {
        let Some(client) = self.client_mut(id) else {
            return Flow::Continue;
        };
        let mut decoder = mem::take(&mut client.decoder);
        let max_line = self.limits.max_line;
        let rate = self.limits.rate;
        let flow = loop {
            if self.is_waiting(id) {
                break self.hold(id, bytes, sink);
            }
            if bytes.is_empty() {
                break Flow::Continue;
            }
            let Some(client) = self.client_mut(id) else {
                break Flow::Continue;
            };
            if !client.flood.ready(rate, now) {
                if client.flood.first_slowdown() {
                    self.send_batch(sink);
                    sink.send(id, &self.canned.slow_down);
                }
                break self.hold(id, bytes, sink);
            }
            let Some(piece) = decoder.next_piece(&mut bytes, max_line) else {
                break Flow::Continue;
            };
            if piece != Piece::Leave {
                self.handle_piece(id, piece, now, sink);
                continue;
            }
            // Telnet sends Ctrl-C as IP and then DO TIMING-MARK, and shows nothing until the
            // mark is granted: answer what follows first, so that the goodbye is seen.
            while let Some(piece) = decoder.next_piece(&mut bytes, max_line) {
                if let Piece::Reply(reply) = piece {
                    sink.send(id, &Line::raw(&reply));
                }
            }
            self.handle_piece(id, Piece::Leave, now, sink);
        };
        self.send_batch(sink);
        if let Some(client) = self.client_mut(id) {
            client.decoder = decoder;
        }
        flow
    }

    /// Keeps `bytes` until client `id` may go on, and tells the driver to stop reading it.
    fn hold(&mut self, id: ClientId, bytes: &[u8], sink: &mut impl Sink) -> Flow {
        if self.client_mut(id).is_none() {
            return Flow::Continue;
        }
        self.held.insert(id, bytes.to_vec());
        self.arm_timer(id, sink);
        Flow::Paused
    }

    /// One piece of decoded input from a known client.
    fn handle_piece(&mut self, id: ClientId, piece: Piece<'_>, now: Instant, sink: &mut impl Sink) {
        match piece {
            Piece::Line(raw) => {
                self.counters.lines_received += 1;
                self.handle_line(id, raw, now, sink)
            }
            Piece::TooLong => self.line_too_long(id, sink),
            Piece::Leave => self.leave_on_request(id, None, sink),
            Piece::Reply(bytes) => {
                self.send_batch(sink);
                sink.send(id, &Line::raw(&bytes));
            }
        }
    }

    /// One complete line: sanitised, then a nickname, a command or chat. A line that is not
    /// blank uses one token of the client's rate.
    fn handle_line(&mut self, id: ClientId, raw: &[u8], now: Instant, sink: &mut impl Sink) {
        let rate = self.limits.rate;
        let mut text = mem::take(&mut self.text);
        text.clear();
        sanitize_into(raw, &mut text);
        if let Some(prompt) = self.prompts.remove(&id) {
            // A password: acted on, never shown, relayed, kept or logged.
            self.password_line(id, prompt, text.trim(), now, sink);
            text.clear();
        } else if !is_blank(&text) {
            if let Some(client) = self.client_mut(id) {
                client.flood.take(rate);
            }
            if member_of(&self.clients, id).is_some() {
                match command::parse(&text) {
                    Input::Chat(chat) => self.say(id, chat, now, sink),
                    Input::Command(Command::Me(action)) => self.act(id, action, now, sink),
                    input => {
                        self.send_batch(sink);
                        self.handle_input(id, input, now, sink);
                    }
                }
            } else {
                self.choose_nick(id, text.trim(), now, sink);
            }
        }
        self.text = text;
    }

    fn line_too_long(&mut self, id: ClientId, sink: &mut impl Sink) {
        self.send_batch(sink);
        let limit = self.limits.max_line;
        self.error(
            id,
            format_args!(
                "line too long (the limit is {limit} bytes); the rest of it was discarded"
            ),
            sink,
        );
        if member_of(&self.clients, id).is_none() {
            sink.send(id, &self.canned.nick_prompt);
        }
    }
}
