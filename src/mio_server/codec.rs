//! How a connection's bytes become chat input: the line protocol of `nc` and `telnet`; on
//! the web listener, an HTTP request, and then (after `GET /ws`) WebSocket frames.
//!
//! The read path hands every chunk it reads to the connection's codec, which hands what it
//! makes of it to the chat core and says whether to go on reading, or (for HTTP) hands back
//! the request for the loop to answer.

use std::time::Instant;

use super::connections::Connections;
use super::web::request::{Parsed, RequestHead};
use super::web::WebSocketInput;
use crate::protocol::{ClientId, Flow, Hub};

/// A connection's codec: one word in every connection, the web's state boxed apart.
#[derive(Debug, Default)]
pub enum Codec {
    /// Newline-delimited text, straight to the chat core (which splits and bounds lines).
    #[default]
    Lines,
    /// A web client, at either stage (one box, so that idle chat clients do not pay for a
    /// second variant's tag).
    Web(Box<Web>),
}

/// A web client's stage.
#[derive(Debug)]
pub enum Web {
    /// An HTTP request head being collected.
    Http(RequestHead),
    /// WebSocket frames, their text to the chat core.
    WebSocket(WebSocketInput),
}

/// What a codec made of a read.
#[derive(Debug)]
pub enum Input {
    /// Chat input was handed to the core: go on reading, or stop until it says.
    Chat(Flow),
    /// An HTTP request head is complete (or hopeless): the loop answers it.
    Request(Parsed),
}

impl Codec {
    /// The codec of a new web connection.
    pub fn http() -> Codec {
        Codec::Web(Box::new(Web::Http(RequestHead::default())))
    }

    /// The codec of a web connection that has upgraded to a WebSocket.
    pub fn websocket(input: WebSocketInput) -> Codec {
        Codec::Web(Box::new(Web::WebSocket(input)))
    }

    /// Bytes read from client `id` at `now` (mutable: WebSocket payloads are unmasked where
    /// they are).
    pub fn input(
        &mut self,
        id: ClientId,
        bytes: &mut [u8],
        now: Instant,
        hub: &mut Hub,
        conns: &mut Connections,
    ) -> Input {
        match self {
            Codec::Lines => Input::Chat(hub.receive(id, bytes, now, conns)),
            Codec::Web(web) => match &mut **web {
                Web::Http(head) => match head.push(bytes) {
                    Parsed::Partial => Input::Chat(Flow::Continue),
                    parsed => Input::Request(parsed),
                },
                Web::WebSocket(socket) => Input::Chat(socket.input(id, bytes, now, hub, conns)),
            },
        }
    }

    /// True while it waits for an HTTP request (a web connection that has asked for nothing
    /// yet).
    pub fn awaits_request(&self) -> bool {
        matches!(self, Codec::Web(web) if matches!(**web, Web::Http(_)))
    }

    /// Input the codec holds, to be read before the socket's once the client may go on: a
    /// WebSocket's first frames (sent with its request), or its close that waited for the
    /// core to take the text before it.
    pub fn take_set_aside(&mut self) -> Option<Vec<u8>> {
        match self {
            Codec::Web(web) => match &mut **web {
                Web::WebSocket(socket) => socket.take_set_aside(),
                Web::Http(_) => None,
            },
            Codec::Lines => None,
        }
    }

    /// Client `id` closed its sending side.
    pub fn end_of_input(
        &mut self,
        id: ClientId,
        now: Instant,
        hub: &mut Hub,
        conns: &mut Connections,
    ) {
        if !self.awaits_request() {
            hub.end_of_input(id, now, conns);
        }
    }
}
