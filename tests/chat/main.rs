//! The chat over TCP: every rule of the protocol, tested the way `nc` uses the server, each
//! scenario written once and run against every server the build has (`backend_tests!`).
//! One test binary, one module per part of the protocol.

#[macro_use]
#[path = "../util/mod.rs"]
mod util;

mod accounts;
mod attacks;
mod bad_input;
mod commands;
mod history;
mod hostile;
mod limits;
mod many_servers;
mod messages;
mod registration;
mod shutdown;
mod startup;
mod telnet;
mod tls;
mod web;
