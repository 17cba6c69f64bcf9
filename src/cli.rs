//! The server's command line: flags, their defaults and their help text.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

use crate::config::Config;
use crate::server::Backend;

/// A line-based TCP chat server. Connect with `nc localhost 8080` or `telnet localhost 8080`,
/// pick a nickname and talk. Log verbosity comes from RUST_LOG (default: info).
#[derive(Debug, Parser)]
#[command(name = "chat-tokio-stream", version, about)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: SocketAddr,

    /// More nicknames nobody may take, comma-separated (server, admin, root, system,
    /// operator and moderator are always reserved).
    #[arg(long, value_delimiter = ',', value_name = "NICK,...")]
    pub reserved_nicks: Vec<String>,

    /// Longest line a client may send, in bytes; longer lines are refused and discarded.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u32).range(1..), value_name = "BYTES")]
    pub max_line: u32,

    /// Join and leave notices go to a room only while it has at most this many members.
    #[arg(long, default_value_t = 200, value_name = "MEMBERS")]
    pub announce_limit: usize,

    /// How many of a room's last messages a client entering it is shown.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub history: usize,

    /// Unsent output a client may have queued before it is disconnected as too slow.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_outbuf: usize,

    /// Lines per second a client may send, with bursts of twice that; excess lines are
    /// dropped. 0 turns flood control off.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=1_000_000), value_name = "N")]
    pub rate_limit: u32,

    /// Connections served at once; the next one is told the server is full and closed.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_clients: usize,

    /// Seconds a connection may take to choose a nickname before it is closed (up to a year).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=31_536_000), value_name = "SECS")]
    pub login_timeout: u64,

    /// Rooms that may exist at once (#lobby is always allowed); each keeps its history.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_rooms: usize,

    /// Which server to run: the mio event loop or the Tokio reference.
    #[cfg(feature = "tokio-impl")]
    #[arg(long, value_enum, default_value = "tokio")]
    pub backend: Backend,
}

impl Args {
    /// The server implementation to run: always mio, unless built with `tokio-impl`, where
    /// `--backend` chooses and Tokio is the default.
    pub fn backend(&self) -> Backend {
        #[cfg(feature = "tokio-impl")]
        return self.backend;
        #[cfg(not(feature = "tokio-impl"))]
        return Backend::Mio;
    }

    /// The server settings these flags describe.
    pub fn config(&self) -> Config {
        Config {
            addr: self.addr,
            reserved_nicks: self.reserved_nicks.clone(),
            max_line: self.max_line as usize,
            announce_limit: self.announce_limit,
            history: self.history,
            max_outbuf: self.max_outbuf,
            rate_limit: self.rate_limit,
            max_clients: self.max_clients,
            login_timeout: Duration::from_secs(self.login_timeout),
            max_rooms: self.max_rooms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_contracts() {
        let config = Args::parse_from(["chat-tokio-stream"]).config();
        let expected = Config::default();
        assert_eq!(config.addr, expected.addr);
        assert_eq!(config.max_line, expected.max_line);
        assert_eq!(config.announce_limit, expected.announce_limit);
        assert_eq!(config.history, expected.history);
        assert_eq!(config.max_outbuf, expected.max_outbuf);
        assert_eq!(config.rate_limit, expected.rate_limit);
        assert_eq!(config.max_clients, expected.max_clients);
        assert_eq!(config.login_timeout, expected.login_timeout);
        assert_eq!(config.max_rooms, expected.max_rooms);
        assert!(config.reserved_nicks.is_empty());
    }

    #[cfg(feature = "tokio-impl")]
    #[test]
    fn the_tokio_build_runs_tokio_unless_told_otherwise() {
        assert_eq!(
            Args::parse_from(["chat-tokio-stream"]).backend(),
            Backend::Tokio
        );
        assert_eq!(
            Args::parse_from(["chat-tokio-stream", "--backend", "mio"]).backend(),
            Backend::Mio
        );
    }

    #[cfg(not(feature = "tokio-impl"))]
    #[test]
    fn the_default_build_runs_mio() {
        assert_eq!(
            Args::parse_from(["chat-tokio-stream"]).backend(),
            Backend::Mio
        );
    }

    #[test]
    fn every_flag_is_read() {
        let args = Args::parse_from([
            "chat-tokio-stream",
            "--addr",
            "0.0.0.0:9000",
            "--reserved-nicks",
            "bot,guest",
            "--max-line",
            "100",
            "--announce-limit",
            "5",
            "--history",
            "3",
            "--max-outbuf",
            "4096",
            "--rate-limit",
            "0",
            "--max-clients",
            "7",
            "--login-timeout",
            "9",
            "--max-rooms",
            "3",
        ]);
        let config = args.config();
        assert_eq!(config.addr.port(), 9000);
        assert_eq!(config.reserved_nicks, ["bot", "guest"]);
        assert_eq!(config.max_line, 100);
        assert_eq!(config.announce_limit, 5);
        assert_eq!(config.history, 3);
        assert_eq!(config.max_outbuf, 4096);
        assert_eq!(config.rate_limit, 0);
        assert_eq!(config.max_clients, 7);
        assert_eq!(config.login_timeout, Duration::from_secs(9));
        assert_eq!(config.max_rooms, 3);
    }
}
