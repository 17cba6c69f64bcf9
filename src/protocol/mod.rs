//! The sans-IO chat core: every chat rule, written once, shared by both servers.
//!
//! Nothing here reads a socket or a clock. Drivers feed a [`Hub`] with what happened and
//! receive its decisions through a [`Sink`].

pub mod command;
pub mod flood;
pub mod hub;
pub mod line;
pub mod nick;
pub mod room;
pub mod sink;
pub mod text;
pub mod wire;

pub use hub::{Departure, Hub};
pub use sink::{ClientId, RoomId, Sink};
pub use wire::Line;
