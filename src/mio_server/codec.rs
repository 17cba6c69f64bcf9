//! How a connection's bytes become chat input: the line protocol of `nc` and `telnet`. (The
//! web listener adds an HTTP request and WebSocket frames.)
//!
//! The read path hands every chunk it reads to the connection's codec, which hands what it
//! makes of it to the chat core and says whether to go on reading.

use std::time::Instant;

use super::connections::Connections;
use crate::protocol::{ClientId, Flow, Hub};

/// A connection's codec.
#[derive(Debug, Default)]
pub enum Codec {
    /// Newline-delimited text, straight to the chat core (which splits and bounds lines).
    #[default]
    Lines,
}

impl Codec {
    /// Bytes read from client `id` at `now`.
    pub fn input(
        &mut self,
        id: ClientId,
        bytes: &[u8],
        now: Instant,
        hub: &mut Hub,
        conns: &mut Connections,
    ) -> Flow {
        match self {
            Codec::Lines => hub.receive(id, bytes, now, conns),
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
        match self {
            Codec::Lines => hub.end_of_input(id, now, conns),
        }
    }
}
