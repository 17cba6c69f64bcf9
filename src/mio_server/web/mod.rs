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

/// A WebSocket client's codec: the frame reader, and the bytes it has not read yet because
/// the chat core paused the client (at most one read's worth, as the core holds for others).
#[derive(Debug, Default)]
pub struct WebSocketInput {
    decoder: Decoder,
    set_aside: Vec<u8>,
}

impl WebSocketInput {
    /// Starts reading frames; `early` is what the client sent after its request.
    pub fn new(early: Vec<u8>) -> Self {
        WebSocketInput {
            decoder: Decoder::default(),
            set_aside: early,
        }
    }

    /// Bytes set aside, to read before the socket's (none, but an event still to take,
    /// when the client was paused right at the end of a message).
    pub fn take_set_aside(&mut self) -> Option<Vec<u8>> {
        (!self.set_aside.is_empty() || self.decoder.has_pending())
            .then(|| std::mem::take(&mut self.set_aside))
    }

    /// Frames from client `id`: text to the chat core (each message ends a line), pings
    /// answered, a close answered and the client let go; a protocol error closes with its
    /// code. When the core pauses the client, the rest is set aside.
    pub fn input(
        &mut self,
        id: ClientId,
        mut bytes: &mut [u8],
        now: Instant,
        hub: &mut Hub,
        conns: &mut Connections,
    ) -> Flow {
        loop {
            let flow = match self.decoder.next(&mut bytes) {
                Ok(None) => return Flow::Continue,
                Ok(Some(Event::Text(text))) => hub.receive(id, text, now, conns),
                Ok(Some(Event::MessageEnd)) => hub.receive(id, b"\n", now, conns),
                Ok(Some(Event::Ping(payload))) => {
                    conns.send_raw(id, websocket::pong(payload));
                    Flow::Continue
                }
                Ok(Some(Event::Close(code))) => {
                    conns.close_websocket(id, code);
                    hub.end_of_input(id, now, conns);
                    return Flow::Continue;
                }
                Err(failure) => {
                    log::debug!("client {}: WebSocket closed: {}", id.0, failure.why);
                    conns.close_websocket(id, failure.code);
                    hub.disconnect(id, Departure::ConnectionLost, conns);
                    return Flow::Continue;
                }
            };
            if flow == Flow::Paused {
                self.set_aside.extend_from_slice(bytes);
                return Flow::Paused;
            }
        }
    }
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
        conn.codec = Codec::WebSocket(Box::new(WebSocketInput::new(early)));
        conn.outbox.set_framing(Framing::WebSocket);
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
