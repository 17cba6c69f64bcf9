//! chat-tokio-stream: a line-based TCP chat server for `nc` and `telnet`, and a chat page
//! for the browser over a WebSocket into the same rooms.
//!
//! The product is a single-threaded event loop on `mio`. With the `tokio-impl` feature a
//! Tokio reference server, speaking the same protocol through the same chat core, is built
//! beside it so that the two can be compared honestly.
//!
//! # Layout
//!
//! ```text
//!  listener ─▶ Io (Plain | Tls) ─▶ Codec (Lines | Http | WebSocket) ─▶ Hub ─▶ Sink ─▶ Outbox ─▶ Io
//!                                                                     │ ▲
//!                                      poll_request                   │ │  handle_completion,
//!                                                                     ▼ │  handle_remote
//!        Services (threads): store (SQLite, or Redis shared with other servers) · hashing
//!                            ── Mailbox (channel + the driver's waker)
//! ```
//!
//! - [`protocol`]: the sans-IO chat core; no sockets, no clocks.
//!   - [`protocol::hub`]: the state machine that applies every chat rule, in files by concern
//!     (input and pacing, registration, rooms, commands, answers from services).
//!   - [`protocol::line`], [`protocol::telnet`]: bytes to bounded lines, minus Telnet's
//!     commands on the plain listener.
//!   - [`protocol::text`]: makes client text safe for terminals.
//!   - [`protocol::nick`], [`protocol::room`], [`protocol::command`]: nicknames, rooms and
//!     commands. [`protocol::flood`]: the per-client pace.
//!   - [`protocol::history`]: rooms' recent messages, apart from the rooms.
//!   - [`protocol::request`]: what the core asks services for, their answers, and news
//!     from other servers. [`protocol::others`]: who is on the other servers.
//!   - [`protocol::account`], [`protocol::sanctions`]: password rules and throttles; bans
//!     and mutes.
//!   - [`protocol::wire`]: encoded server lines, shared by all recipients.
//!   - [`protocol::counters`]: what the core counts for `/metrics`.
//!   - [`protocol::sink`]: client ids, [`protocol::Flow`] and the [`protocol::Sink`] drivers
//!     implement. [`protocol::clock`]: instants to time stamps.
//! - [`services`]: work off the drivers' threads: the SQLite [`services::store`] or the
//!   shared [`services::redis`] store (one interface), the argon2id [`services::hashing`]
//!   pool, the byte-bounded [`services::queue`] and its driver's end
//!   [`services::intake`], the [`services::mailbox`] that brings answers and news back.
//! - [`mio_server`]: the product, a single-threaded edge-triggered event loop: connections
//!   are a transport (plain TCP or a rustls session) and a codec, with one read path, one
//!   flush path and one timer structure. Its web listener serves the chat page, a WebSocket,
//!   `/metrics` and `/healthz`. [`certificate`]: the TLS listeners' certificate.
//! - `tokio_server` (feature `tokio-impl`): the Tokio reference server, same core and services,
//!   one task per connection.
//! - [`outbox`]: a connection's queue of shared lines, flushed with vectored writes, as lines
//!   or as WebSocket frames (both servers).
//! - [`server`]: starts either server on its own thread; a handle stops it.
//! - [`shutdown`]: the thread-safe trigger that asks a server to stop.
//! - [`lifecycle`]: the closing and shutdown timings and the accept back-off both servers
//!   keep. [`listen`]: opening a listening socket.
//! - [`config`]: every tunable, with the protocol's defaults. (The command line that fills it
//!   is the binary's: `src/cli.rs`.)
//! - [`sys`]: process set-up (the open-file limit).

#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod certificate;
pub mod config;
pub mod lifecycle;
pub mod listen;
pub mod mio_server;
pub mod outbox;
pub mod protocol;
pub mod server;
pub mod services;
pub mod shutdown;
pub mod sys;
#[cfg(feature = "tokio-impl")]
pub mod tokio_server;
