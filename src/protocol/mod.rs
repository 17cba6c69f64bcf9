//! The sans-IO chat core: every chat rule, written once, shared by both servers.
//!
//! Nothing here reads a socket or a clock. Drivers feed a [`Hub`] with what happened and
//! receive its decisions through a [`Sink`]; work that must not run on the driver's thread
//! leaves as a [`Request`] and comes back as a [`Completion`].

pub mod account;
pub mod clock;
pub mod command;
pub mod counters;
pub mod flood;
pub mod history;
pub mod hub;
pub mod line;
pub mod nick;
pub mod others;
pub mod request;
pub mod room;
pub mod sanctions;
pub mod sink;
pub mod telnet;
pub mod text;
pub mod wire;

pub use clock::WallClock;
pub use counters::{Counters, DisconnectReason};
pub use hub::{Departure, Hub, Peer};
pub use request::{
    Account, AuthRequest, Ban, Completion, Kind, Mute, Offline, Preload, Record, Remote, Request,
    Secret, StoreRequest, Ticket,
};
pub use sink::{ClientId, Flow, Sink};
pub use wire::Line;
