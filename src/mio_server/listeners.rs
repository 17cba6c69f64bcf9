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
    /// The web: one HTTP request (the page, metrics, health), or a WebSocket into the chat.
    Http,
    /// The web over TLS with this configuration.
    Https(Arc<ServerConfig>),
}

impl Kind {
    /// The codec a new connection on this listener starts with.
    pub fn codec(&self) -> Codec {
        match self {
            Kind::Plain | Kind::Tls(_) => Codec::Lines,
            Kind::Http | Kind::Https(_) => Codec::http(),
        }
    }

    /// The TLS configuration of its connections, if they speak TLS.
    pub fn tls(&self) -> Option<&Arc<ServerConfig>> {
        match self {
            Kind::Tls(config) | Kind::Https(config) => Some(config),
            Kind::Plain | Kind::Http => None,
        }
    }

    /// Whether its connections enter the chat when accepted (the web's only once upgraded to
    /// a WebSocket).
    pub fn chats_at_once(&self) -> bool {
        matches!(self, Kind::Plain | Kind::Tls(_))
    }

    /// The flag that chooses its address, for error messages.
    pub fn flag(&self) -> &'static str {
        match self {
            Kind::Plain => "--addr",
            Kind::Tls(_) => "--tls-addr",
            Kind::Http => "--http-addr",
            Kind::Https(_) => "--https-addr",
        }
    }

    /// Its name in the metrics' `listener` label.
    pub fn label(&self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::Tls(_) => "tls",
            Kind::Http => "http",
            Kind::Https(_) => "https",
        }
    }

    /// Whether its clients may be `telnet`, which mixes commands into the line protocol.
    pub fn telnet(&self) -> bool {
        matches!(self, Kind::Plain)
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
