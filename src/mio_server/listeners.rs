//! The loop's listening sockets, each on a token of its own and with a kind that says what
//! its connections speak. Another listener is one more entry in the list.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use mio::net::TcpListener;
use mio::{Interest, Registry, Token};
use rustls::ServerConfig;

use super::codec::Codec;
use crate::listen::listen;

/// What a listener's connections speak.
#[derive(Clone, Debug)]
pub enum Kind {
    /// The line protocol, for `nc` and `telnet`.
    Plain,
    /// The line protocol over TLS with this configuration, for `openssl s_client` and the like.
    Tls(Arc<ServerConfig>),
}

impl Kind {
    /// The codec a new connection on this listener starts with.
    pub fn codec(&self) -> Codec {
        match self {
            Kind::Plain | Kind::Tls(_) => Codec::Lines,
        }
    }

    /// The flag that chooses its address, for error messages.
    pub fn flag(&self) -> &'static str {
        match self {
            Kind::Plain => "--addr",
            Kind::Tls(_) => "--tls-addr",
        }
    }

    /// Whether its clients may be `telnet`, which mixes commands into the line protocol.
    pub fn telnet(&self) -> bool {
        match self {
            Kind::Plain => true,
            Kind::Tls(_) => false,
        }
    }
}

/// A listening socket and its kind.
#[derive(Debug)]
pub struct Listener {
    /// The socket, registered under [`Listener::token`].
    pub socket: TcpListener,
    /// What its connections speak.
    pub kind: Kind,
}

/// The first listener's token; the others count down from it. Slab keys count up from 0
/// and never get near it.
const FIRST_LISTENER: usize = usize::MAX - 1;

impl Listener {
    /// Binds `addr` for connections of `kind` and registers it as the `index`th listener.
    pub fn open(
        addr: SocketAddr,
        kind: Kind,
        index: usize,
        registry: &Registry,
    ) -> io::Result<Self> {
        let mut socket = TcpListener::from_std(listen(addr, kind.flag())?);
        registry.register(&mut socket, Listener::token(index), Interest::READABLE)?;
        Ok(Listener { socket, kind })
    }

    /// The token of the `index`th listener.
    pub fn token(index: usize) -> Token {
        Token(FIRST_LISTENER - index)
    }

    /// Which listener `token` belongs to, if any of `count`.
    pub fn index(token: Token, count: usize) -> Option<usize> {
        let index = FIRST_LISTENER.checked_sub(token.0)?;
        (index < count).then_some(index)
    }
}
