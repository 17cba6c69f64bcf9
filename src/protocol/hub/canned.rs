//! Lines many clients get, encoded once when the hub starts.

use super::super::command::{COMMANDS, OPERATOR_COMMANDS};
use super::super::wire::{Encoder, Line};
use crate::config::Config;

/// Lines many clients get, encoded once when the hub starts.
pub(super) struct Canned {
    pub(super) greeting: Line,
    pub(super) nick_prompt: Line,
    pub(super) shutdown: Line,
    pub(super) server_full: Line,
    pub(super) slow_down: Line,
    pub(super) help: Vec<Line>,
    /// The operators' part of `/help`.
    pub(super) operator_help: Vec<Line>,
}

impl Canned {
    pub(super) fn new(encoder: &mut Encoder, config: &Config) -> Self {
        let mut help = vec![encoder.notice(format_args!("Commands (names are case-insensitive):"))];
        help.extend(
            COMMANDS
                .iter()
                .map(|(usage, what)| encoder.notice(format_args!("  {usage:<20} {what}"))),
        );
        let mut operator_help = vec![encoder.notice(format_args!("Operator commands:"))];
        operator_help.extend(
            OPERATOR_COMMANDS
                .iter()
                .map(|(usage, what)| encoder.notice(format_args!("  {usage:<20} {what}"))),
        );
        Canned {
            greeting: encoder.notice(format_args!(
                "Welcome to chat-tokio-stream, a plain-text chat server."
            )),
            nick_prompt: encoder.notice(format_args!("What is your nickname?")),
            shutdown: encoder.notice(format_args!("The server is shutting down. Goodbye!")),
            server_full: encoder.error(format_args!(
                "the server is full ({} connections); please try again later",
                config.max_clients
            )),
            slow_down: encoder.error(format_args!(
                "slow down: at most {} lines a second (bursts of {}); the rest of what you sent is taken at that pace",
                config.rate_limit,
                config.rate_limit.saturating_mul(2)
            )),
            help,
            operator_help,
        }
    }
}
