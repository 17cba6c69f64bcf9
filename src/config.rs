//! Every tunable of the server in one plain struct, shared by the chat core, the services
//! and both drivers.
//!
//! The defaults are the ones the protocol (docs/PROTOCOL.md) fixes; the binary's command line
//! only overrides them. Keeping the struct free of I/O lets tests build a server with any
//! limits.

use std::net::SocketAddr;
use std::time::Duration;

pub use crate::certificate::IdentityFiles;
pub use crate::services::store::Location;

/// The settings a server runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen. Tests use `127.0.0.1:0` and ask the server for the port it got.
    pub addr: SocketAddr,
    /// Nicknames refused in addition to the built-in reserved ones (compared case-insensitively).
    pub reserved_nicks: Vec<String>,
    /// The longest line a client may send, in bytes, not counting the line ending.
    pub max_line: usize,
    /// Join and leave notices go to a room only while it has at most this many members.
    pub announce_limit: usize,
    /// How many of a room's last messages a client entering it is shown.
    pub history: usize,
    /// Unsent output a client may have queued before it is disconnected as too slow.
    pub max_outbuf: usize,
    /// Lines per second a client may send (bursts of twice that); 0 turns flood control off.
    pub rate_limit: u32,
    /// Connections served at once; the next one is told the server is full and closed.
    pub max_clients: usize,
    /// How long a connection may go without an accepted nickname before it is closed (at
    /// most a year is honoured).
    pub login_timeout: Duration,
    /// Rooms that may exist at once; `/join` of a new room past it is refused (`#lobby` is
    /// never refused).
    pub max_rooms: usize,
    /// Where room history is kept (`--db`).
    pub db: Location,
    /// Messages older than this many days are deleted from the store; 0 keeps everything.
    pub retain_days: u32,
    /// Accounts that may kick, ban and mute once logged in (`--operators`).
    pub operators: Vec<String>,
    /// The Redis that servers forming one chat share (`--redis`); with it, `db` is unused.
    pub redis: Option<String>,
    /// The TLS listener, if there is one (`--tls-addr`).
    pub tls: Option<TlsConfig>,
    /// The web listener (`--http-addr`): the chat page, its WebSocket, `/metrics` and
    /// `/healthz` (the mio server only). Tests set `None`: the default port would collide.
    pub http: Option<SocketAddr>,
    /// The web listener over TLS (`--https-addr`), with the certificate `tls` would use.
    pub https: Option<TlsConfig>,
}

/// A listener over TLS: the line protocol's (contract item 13) or the web's (item 14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The certificate chain and key to serve; `None` makes a self-signed certificate for
    /// localhost and 127.0.0.1 at start-up.
    pub identity: Option<IdentityFiles>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            // Loopback, port 8080: `nc localhost 8080` works out of the box.
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            reserved_nicks: Vec::new(),
            max_line: 2048,
            announce_limit: 200,
            history: 20,
            max_outbuf: 1 << 20,
            rate_limit: 10,
            max_clients: 10_000,
            login_timeout: Duration::from_secs(60),
            max_rooms: 1000,
            db: Location::File("chat.db".into()),
            retain_days: 30,
            operators: Vec::new(),
            redis: None,
            tls: None,
            // Beside the line protocol's port: open http://127.0.0.1:8081 in a browser.
            http: Some(SocketAddr::from(([127, 0, 0, 1], 8081))),
            https: None,
        }
    }
}
