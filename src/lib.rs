//! chat-tokio-stream: a line-based TCP chat server for `nc` and `telnet`.
//!
//! The product is a single-threaded event loop on `mio`. With the `tokio-impl` feature a
//! Tokio reference server, speaking the same protocol through the same chat core, is built
//! beside it so that the two can be compared honestly.
//!
//! # Layout

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
