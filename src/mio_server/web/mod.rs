//! The web listener (`--http-addr`, `--https-addr`): the chat page, a WebSocket into the same
//! chat as `nc` users, `/metrics` and `/healthz`, all served by the event loop itself (so a
//! stuck loop cannot say it is healthy).
//!
//! A web connection starts with the HTTP codec: its request head is collected, bounded, and
//! parsed by `httparse` ([`request`]). A plain request is answered ([`response`]) and the
//! connection closed once the answer is written (one request per connection). `GET /ws`
//! switches the connection to the WebSocket codec ([`websocket`]) and the outbox to
//! WebSocket framing, and introduces the client to the chat core like any other: from then
//! on it is a chat client that happens to speak frames, under every limit the others have.
//! A request must be complete within [`REQUEST_TIMEOUT`] of the accept.

pub mod metrics;
pub mod request;
pub mod response;
pub mod websocket;

use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::CloseCode;

use super::codec::Codec;
use super::connections::Connections;
use super::timers::Deadline;
use super::MioServer;
use crate::outbox::Framing;
use crate::protocol::{ClientId, Departure, Flow, Hub, Peer, Sink};
use metrics::Snapshot;
use request::{Parsed, Route};
use response::Status;
use websocket::{Decoder, Event};

/// How long a web client has to send its request after connecting: plenty for a browser,
/// and a slow-loris client holds its connection no longer than this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A WebSocket client's codec: the frame reader, what the client sent right after its
/// request (read first), and a close that must wait until the core takes the client's held
/// text.
#[derive(Debug, Default)]
pub struct WebSocketInput {
    decoder: Decoder,
    early: Vec<u8>,
    close_pending: Option<CloseCode>,
}

impl WebSocketInput {
    /// Starts reading frames; `early` is what the client sent after its request.
    pub fn new(early: Vec<u8>) -> Self {
        WebSocketInput {
            decoder: Decoder::default(),
            early,
            close_pending: None,
        }
    }

    /// Input to take before the socket's: the early bytes, or (as no bytes) the close
    /// that waited.
    pub fn take_set_aside(&mut self) -> Option<Vec<u8>> {
        (!self.early.is_empty() || self.close_pending.is_some())
            .then(|| std::mem::take(&mut self.early))
    }

    /// Frames read from client `id`. Their text is gathered in place, each message ending
    /// in a newline, and handed to the chat core at once (so that a burst of messages is
    /// one input, batched like a TCP client's lines); pings are answered; a close is
    /// answered and the client let go, once the core has taken the text before it; a
    /// protocol error closes with its code. When the core pauses the client, it holds the
    /// rest of this read, as for any client, and the loop reads no more.
    pub fn input(
        &mut self,
        id: ClientId,
        bytes: &mut [u8],
        now: Instant,
        hub: &mut Hub,
        conns: &mut Connections,
    ) -> Flow {
        if let Some(code) = self.close_pending.take() {
            return closed(id, code, now, hub, conns);
        }
        let mut text = Text {
            flow: Flow::Continue,
            end: 0,
        };
        let mut at = 0;
        loop {
            match self.decoder.next(bytes, &mut at) {
                Ok(None) => break,
                Ok(Some(Event::Text(range))) => {
                    bytes.copy_within(range.clone(), text.end);
                    text.end += range.len();
                }
                Ok(Some(Event::MessageEnd)) if text.end < at => {
                    bytes[text.end] = b'\n';
                    text.end += 1;
                }
                Ok(Some(Event::MessageEnd)) => {
                    text.hand_over(id, bytes, now, hub, conns);
                    text.flow = then(text.flow, hub.receive(id, b"\n", now, conns));
                }
                Ok(Some(Event::Ping(payload))) => conns.send_raw(id, websocket::pong(payload)),
                Ok(Some(Event::Close(code))) => {
                    text.hand_over(id, bytes, now, hub, conns);
                    if text.flow == Flow::Paused {
                        self.close_pending = Some(code);
                        return Flow::Paused;
                    }
                    return closed(id, code, now, hub, conns);
                }
                Err(failure) => {
                    log::debug!("client {}: WebSocket closed: {}", id.0, failure.why);
                    conns.close_websocket(id, failure.code);
                    hub.disconnect(id, Departure::ConnectionLost, conns);
                    return Flow::Continue;
                }
            }
        }
        text.hand_over(id, bytes, now, hub, conns);
        text.flow
    }
}

/// Text gathered at the front of the read buffer, and how the core took what was handed
/// over so far.
struct Text {
    flow: Flow,
    end: usize,
}

impl Text {
    /// Hands the text gathered so far to the core.
    fn hand_over(
        &mut self,
        id: ClientId,
        bytes: &[u8],
        now: Instant,
        hub: &mut Hub,
        conns: &mut Connections,
    ) {
        if self.end > 0 {
            self.flow = then(self.flow, hub.receive(id, &bytes[..self.end], now, conns));
            self.end = 0;
        }
    }
}

/// Paused if either was: once paused, the core holds whatever it is given next.
fn then(before: Flow, now: Flow) -> Flow {
    if before == Flow::Paused {
        Flow::Paused
    } else {
        now
    }
}

/// Client `id` sent a close with `code`: it is answered with the same code, and the client
/// leaves.
fn closed(
    id: ClientId,
    code: CloseCode,
    now: Instant,
    hub: &mut Hub,
    conns: &mut Connections,
) -> Flow {
    conns.close_websocket(id, code);
    hub.end_of_input(id, now, conns);
    Flow::Continue
}

impl MioServer {
    /// Answers client `id`'s request once its head is complete (or hopeless).
    pub(super) fn serve(&mut self, id: ClientId, parsed: Parsed) -> Flow {
        let answer = match parsed {
            Parsed::Partial => return Flow::Continue,
            Parsed::Complete {
                route: Route::WebSocket { accept },
                rest,
            } => return self.upgrade(id, &accept, rest),
            Parsed::Complete { route, .. } => match route {
                Route::Page => self.page.clone(),
                Route::Health => response::response(Status::Ok, "text/plain", b"ok"),
                Route::Metrics => response::response(
                    Status::Ok,
                    metrics::CONTENT_TYPE,
                    self.snapshot().render().as_bytes(),
                ),
                Route::NotFound | Route::WebSocket { .. } => response::text(
                    Status::NotFound,
                    "not found: this server serves /, /ws, /metrics and /healthz",
                ),
            },
            Parsed::Malformed(why) => response::text(Status::BadRequest, why),
            Parsed::TooLarge => {
                response::text(Status::HeadersTooLarge, "request headers over 8 KiB")
            }
        };
        self.conns.send_raw(id, answer);
        self.conns.close(id);
        Flow::Continue
    }

    /// Turns client `id` into a WebSocket chat client.
    fn upgrade(&mut self, id: ClientId, accept: &str, early: Vec<u8>) -> Flow {
        self.conns
            .send_raw(id, response::switching_protocols(accept));
        let Some(conn) = self.conns.slab.get_mut(id.0) else {
            return Flow::Continue;
        };
        let addr = match conn.io.socket().peer_addr() {
            Ok(addr) => addr.ip(),
            Err(e) => {
                self.conns.fail(id, &e);
                return Flow::Continue;
            }
        };
        conn.codec = Codec::websocket(WebSocketInput::new(early));
        conn.framing = Framing::WebSocket;
        self.conns.timers.cancel((id, Deadline::Request));
        // What the client sent after its request is read first, next pass.
        self.conns.revisit(id);
        let peer = Peer {
            addr,
            telnet: false,
        };
        self.hub.connect(id, peer, self.conns.now, &mut self.conns);
        Flow::Continue
    }

    /// Every figure `/metrics` reports, now.
    fn snapshot(&self) -> Snapshot {
        let (core, registered) = self.hub.counters();
        Snapshot {
            connections: self
                .listeners
                .iter()
                .zip(&self.conns.open_per_listener)
                .map(|(listener, &open)| (listener.kind.label(), open))
                .collect(),
            registered,
            core: core.clone(),
            looped: self.conns.counters.clone(),
            store: self.services.store_stats(),
        }
    }
}
