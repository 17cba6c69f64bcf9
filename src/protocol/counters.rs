//! What the chat core counts for `/metrics`: plain integers, bumped where things happen and
//! read only when the metrics are asked for, so that counting costs the hot path one add.

/// Why a connection the core knew about ended, for `chat_disconnects_total{reason}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client closed its side.
    Closed,
    /// The connection failed.
    ConnectionLost,
    /// Its socket refused more than `--max-outbuf`.
    TooSlow,
    /// `/quit` (or Telnet's Ctrl-C, Ctrl-D).
    Quit,
    /// An operator's `/kick` or `/ban`.
    Kicked,
    /// No nickname within `--login-timeout`.
    LoginTimeout,
    /// Turned away at `--max-clients`.
    ServerFull,
    /// Its address is banned.
    Banned,
    /// The server stopped.
    Shutdown,
}

impl DisconnectReason {
    /// Every reason, in the order of [`Counters::disconnects`].
    pub const ALL: [DisconnectReason; 9] = [
        DisconnectReason::Closed,
        DisconnectReason::ConnectionLost,
        DisconnectReason::TooSlow,
        DisconnectReason::Quit,
        DisconnectReason::Kicked,
        DisconnectReason::LoginTimeout,
        DisconnectReason::ServerFull,
        DisconnectReason::Banned,
        DisconnectReason::Shutdown,
    ];

    /// Its value of the metrics' `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            DisconnectReason::Closed => "closed",
            DisconnectReason::ConnectionLost => "connection_lost",
            DisconnectReason::TooSlow => "too_slow",
            DisconnectReason::Quit => "quit",
            DisconnectReason::Kicked => "kicked",
            DisconnectReason::LoginTimeout => "login_timeout",
            DisconnectReason::ServerFull => "server_full",
            DisconnectReason::Banned => "banned",
            DisconnectReason::Shutdown => "shutdown",
        }
    }
}

/// The core's counts since start-up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Lines taken from clients (chat, commands, nicknames, passwords; not blank ones).
    pub lines_received: u64,
    /// Passwords that did not match their account.
    pub login_failures: u64,
    /// Connections ended, by [`DisconnectReason`] (indexed as in [`DisconnectReason::ALL`]).
    pub disconnects: [u64; DisconnectReason::ALL.len()],
}

impl Counters {
    /// Counts one connection ended for `reason`.
    pub fn disconnected(&mut self, reason: DisconnectReason) {
        self.disconnects[reason as usize] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_has_its_own_slot_and_label() {
        let mut counters = Counters::default();
        for (index, reason) in DisconnectReason::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, index);
            for _ in 0..=index {
                counters.disconnected(reason);
            }
        }
        assert_eq!(counters.disconnects, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let labels: std::collections::HashSet<_> =
            DisconnectReason::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), DisconnectReason::ALL.len());
    }
}
