//! chat-tokio-stream: a line-based TCP chat server for `nc` and `telnet`.
//!
//! The product is a single-threaded event loop on `mio`. With the `tokio-impl` feature a
//! Tokio reference server, speaking the same protocol through the same chat core, is built
//! beside it so that the two can be compared honestly.
//!
//! # Layout
//!
//! - [`protocol`]: the sans-IO chat core; no sockets, no clocks.
//!   - [`protocol::line`]: splits a byte stream into bounded lines.
//!   - [`protocol::text`]: makes client text safe for terminals.
//!   - [`protocol::nick`]: nickname rules and the reserved names.
//!   - [`protocol::room`]: room names, a room's members (stored for cheap fan-out) and its
//!     recent messages.
//!   - [`protocol::command`]: reads a line as a command or as chat.
//!   - [`protocol::wire`]: encoded server lines, shared by all recipients.
//!   - [`protocol::sink`]: client and room ids, and the [`protocol::Sink`] drivers implement.
//!   - [`protocol::hub`]: the state machine that applies every chat rule.
//! - [`mio_server`]: the product, a single-threaded edge-triggered event loop.
//! - `tokio_server` (feature `tokio-impl`): the Tokio reference server, same core, one task
//!   per connection, broadcast channels per room.
//! - [`outbox`]: a connection's queue of shared lines, flushed with vectored writes (both
//!   servers).
//! - [`server`]: starts either server on its own thread; a handle stops it.
//! - [`shutdown`]: the thread-safe trigger that asks a server to stop.
//! - [`lifecycle`]: the closing and shutdown timings and the accept back-off both servers
//!   keep.
//! - [`load`]: the load generator's engine (simulated clients on event-loop threads), used
//!   by the `chat-load` binary and the benches.
//! - [`config`]: every tunable, with the contract's defaults.
//! - [`cli`]: the command-line flags that fill a [`config::Config`].
//! - [`sys`]: process set-up (the open-file limit).

#![deny(missing_docs)]

pub mod cli;
pub mod config;
pub mod lifecycle;
pub mod load;
pub mod mio_server;
pub mod outbox;
pub mod protocol;
pub mod server;
pub mod shutdown;
pub mod sys;
#[cfg(feature = "tokio-impl")]
pub mod tokio_server;
