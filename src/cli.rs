//! The binary's command line: flags, their defaults and help, and the checks that refuse a
//! value that makes no sense before the server starts, naming the flag and what it allows.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Parser};

use chat_tokio_stream::config::{Config, IdentityFiles, Location, TlsConfig};
use chat_tokio_stream::server::Backend;

/// The backend a build runs unless told otherwise: the Tokio reference in a build made to
/// compare against it (that is all the `tokio-impl` feature is for), the product otherwise.
#[cfg(feature = "tokio-impl")]
const DEFAULT_BACKEND: &str = "tokio";
#[cfg(not(feature = "tokio-impl"))]
const DEFAULT_BACKEND: &str = "mio";

/// A line-based chat server. Connect with `nc localhost 8080` or `telnet localhost 8080`,
/// pick a nickname and talk. Log verbosity comes from RUST_LOG (default: info).
#[derive(Debug, Parser)]
#[command(name = "chat-tokio-stream", version, about)]
#[command(group(ArgGroup::new("tls_listeners").args(["tls_addr", "https_addr"]).multiple(true)))]
pub struct Args {
    /// Address to listen on (a name such as localhost is resolved).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT", value_parser = socket_addr)]
    pub addr: SocketAddr,

    /// More nicknames nobody may take, comma-separated (server, admin, root, system,
    /// operator and moderator are always reserved).
    #[arg(long, value_delimiter = ',', value_name = "NICK,...")]
    pub reserved_nicks: Vec<String>,

    /// Longest line a client may send, in bytes; longer lines are refused and discarded.
    #[arg(long, default_value = "2048", value_name = "BYTES", allow_hyphen_values = true, value_parser = within(1, 1 << 20))]
    pub max_line: u64,

    /// Join and leave notices go to a room only while it has at most this many members.
    #[arg(long, default_value = "200", value_name = "MEMBERS", allow_hyphen_values = true, value_parser = within(0, u64::MAX))]
    pub announce_limit: u64,

    /// How many of a room's last messages a client entering it is shown, and `/history`
    /// shows by default.
    #[arg(long, default_value = "20", value_name = "N", allow_hyphen_values = true, value_parser = within(0, 1000))]
    pub history: u64,

    /// Unsent output a client's socket may refuse before it is disconnected as too slow.
    #[arg(long, default_value = "1048576", value_name = "BYTES", allow_hyphen_values = true, value_parser = within(1, u64::MAX))]
    pub max_outbuf: u64,

    /// Lines per second a client may send, with bursts of twice that; past it, its lines are
    /// taken at that pace. 0 turns flood control off.
    #[arg(long, default_value = "10", value_name = "N", allow_hyphen_values = true, value_parser = within(0, 1_000_000))]
    pub rate_limit: u64,

    /// Connections served at once; the next one is told the server is full and closed.
    #[arg(long, default_value = "10000", value_name = "N", allow_hyphen_values = true, value_parser = within(1, u64::MAX))]
    pub max_clients: u64,

    /// Seconds a connection may take to choose a nickname before it is closed (up to a year).
    #[arg(long, default_value = "60", value_name = "SECS", allow_hyphen_values = true, value_parser = within(1, 31_536_000))]
    pub login_timeout: u64,

    /// Rooms that may exist at once (#lobby is always allowed).
    #[arg(long, default_value = "1000", value_name = "N", allow_hyphen_values = true, value_parser = within(1, u64::MAX))]
    pub max_rooms: u64,

    /// The SQLite file that keeps room history (created if missing); `:memory:` keeps
    /// nothing on disk.
    #[arg(long, default_value = "chat.db", value_name = "PATH")]
    pub db: String,

    /// Messages older than this many days are deleted; 0 keeps everything.
    #[arg(long, default_value = "30", value_name = "DAYS", allow_hyphen_values = true, value_parser = within(0, 100_000))]
    pub retain_days: u64,

    /// Accounts that may kick, ban and mute once logged in, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "NICK,...")]
    pub operators: Vec<String>,

    /// Join the servers sharing this Redis (redis://HOST:PORT[/DB]) as one chat; history,
    /// accounts, bans and nicknames then live there instead of in --db.
    #[arg(long, value_name = "URL", conflicts_with_all = ["db", "retain_days"])]
    pub redis: Option<String>,
    /// Also listen here for the same protocol over TLS (the mio server only).
    #[arg(long, value_name = "HOST:PORT", value_parser = socket_addr)]
    pub tls_addr: Option<SocketAddr>,

    /// The TLS certificate chain (PEM, the server's certificate first) of --tls-addr and
    /// --https-addr; without it and --tls-key, a self-signed certificate for localhost and
    /// 127.0.0.1 is made at start-up.
    #[arg(long, value_name = "FILE", requires_all = ["tls_listeners", "tls_key"])]
    pub tls_cert: Option<PathBuf>,

    /// The private key of the --tls-cert certificate (PEM).
    #[arg(long, value_name = "FILE", requires_all = ["tls_listeners", "tls_cert"])]
    pub tls_key: Option<PathBuf>,

    /// Serve the chat page, its WebSocket, /metrics and /healthz here (the mio server only);
    /// `off` serves none [default: 127.0.0.1:8081].
    #[arg(long, value_name = "HOST:PORT|off", value_parser = web_addr)]
    pub http_addr: Option<WebAddr>,

    /// Also serve the web over TLS here, with the certificate of --tls-cert and --tls-key, or
    /// a self-signed one (the mio server only).
    #[arg(long, value_name = "HOST:PORT", value_parser = socket_addr)]
    pub https_addr: Option<SocketAddr>,

    /// Which server to run: the mio event loop (the product) or the Tokio reference (only in
    /// a build with `--features tokio-impl`, where it is the default).
    #[arg(long, default_value = DEFAULT_BACKEND, value_name = "mio|tokio", value_parser = backend)]
    pub backend: Backend,
}

impl Args {
    /// The server settings these flags describe.
    pub fn config(&self) -> Config {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Config {
            addr: self.addr,
            reserved_nicks: self.reserved_nicks.clone(),
            max_line: size(self.max_line),
            announce_limit: size(self.announce_limit),
            history: size(self.history),
            max_outbuf: size(self.max_outbuf),
            rate_limit: u32::try_from(self.rate_limit).unwrap_or(u32::MAX),
            max_clients: size(self.max_clients),
            login_timeout: Duration::from_secs(self.login_timeout),
            max_rooms: size(self.max_rooms),
            db: Location::parse(&self.db),
            retain_days: u32::try_from(self.retain_days).unwrap_or(u32::MAX),
            operators: self.operators.clone(),
            redis: self.redis.clone(),
            tls: self.tls_addr.map(|addr| self.tls_config(addr)),
            http: self.web_addr(),
            https: self.https_addr.map(|addr| self.tls_config(addr)),
        }
    }

    /// A TLS listener on `addr` with the certificate the flags name, if they name one.
    fn tls_config(&self, addr: SocketAddr) -> TlsConfig {
        TlsConfig {
            addr,
            identity: self
                .tls_cert
                .clone()
                .zip(self.tls_key.clone())
                .map(|(cert, key)| IdentityFiles { cert, key }),
        }
    }

    /// Where to serve the web: where `--http-addr` says; without it, the default address
    /// for a backend that serves the web, and nowhere for one that does not (so that a
    /// `tokio-impl` build still starts with no flags).
    pub fn web_addr(&self) -> Option<SocketAddr> {
        match self.http_addr {
            Some(WebAddr(addr)) => addr,
            None if self.backend.serves_web() => Config::default().http,
            None => None,
        }
    }
}

/// The value of `--http-addr`: an address, or `None` for `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebAddr(pub Option<SocketAddr>);

/// `off`, or an address as [`socket_addr`] reads it.
fn web_addr(text: &str) -> Result<WebAddr, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(WebAddr(None));
    }
    socket_addr(text)
        .map(|addr| WebAddr(Some(addr)))
        .map_err(|e| format!("{e}; or off"))
}

/// A parser for whole numbers from `min` to `max`, whose errors say what is allowed (clap
/// adds the flag's name): "-1" gets "must be at least 0", not "unexpected argument".
fn within(min: u64, max: u64) -> impl Fn(&str) -> Result<u64, String> + Clone {
    move |text| {
        let range = if max == u64::MAX {
            format!("a whole number, at least {min}")
        } else {
            format!("a whole number from {min} to {max}")
        };
        let value: i128 = text
            .trim()
            .parse()
            .map_err(|_| format!("expected {range}"))?;
        if value < i128::from(min) {
            return Err(format!("must be at least {min} ({range})"));
        }
        u64::try_from(value)
            .ok()
            .filter(|&value| value <= max)
            .ok_or_else(|| format!("must be at most {max} ({range})"))
    }
}

/// An address to listen on, with names resolved; an IPv4 address is preferred, so that
/// `localhost` means 127.0.0.1, where `nc localhost` connects first on most systems.
fn socket_addr(text: &str) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("expected HOST:PORT, such as 127.0.0.1:8080 ({e})"))?
        .collect();
    addrs
        .iter()
        .find(|addr| addr.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("{text} names no address"))
}

/// `mio` or `tokio`; the latter only in a build that has it.
fn backend(text: &str) -> Result<Backend, String> {
    match text {
        "mio" => Ok(Backend::Mio),
        #[cfg(feature = "tokio-impl")]
        "tokio" => Ok(Backend::Tokio),
        #[cfg(not(feature = "tokio-impl"))]
        "tokio" => Err(
            "the Tokio reference server is not in this build; build with --features tokio-impl"
                .into(),
        ),
        _ => Err("expected mio or tokio".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn error(args: &[&str]) -> String {
        let mut argv = vec!["chat-tokio-stream"];
        argv.extend_from_slice(args);
        let error = Args::try_parse_from(argv).expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::ValueValidation, "{error}");
        error.to_string()
    }

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
        assert_eq!(config.db, expected.db);
        assert_eq!(config.retain_days, expected.retain_days);
        assert_eq!(config.tls, None);
        assert_eq!(config.https, None);
        #[cfg(not(feature = "tokio-impl"))]
        assert_eq!(config.http, expected.http);
        assert!(config.reserved_nicks.is_empty());
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
            "--db",
            ":memory:",
            "--retain-days",
            "0",
            "--operators",
            "alice,Bob",
            "--backend",
            "mio",
            "--tls-addr",
            "127.0.0.1:8443",
            "--tls-cert",
            "chain.pem",
            "--tls-key",
            "key.pem",
            "--http-addr",
            "127.0.0.1:9080",
            "--https-addr",
            "127.0.0.1:9443",
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
        assert_eq!(config.db, Location::Memory);
        assert_eq!(config.retain_days, 0);
        assert_eq!(config.operators, ["alice", "Bob"]);
        assert_eq!(args.backend, Backend::Mio);
        let tls = config.tls.expect("a TLS listener");
        assert_eq!(tls.addr.port(), 8443);
        assert_eq!(
            tls.identity,
            Some(IdentityFiles {
                cert: "chain.pem".into(),
                key: "key.pem".into()
            })
        );
        assert_eq!(config.http, Some("127.0.0.1:9080".parse().unwrap()));
        let https = config.https.expect("a web listener over TLS");
        assert_eq!(https.addr.port(), 9443);
        assert_eq!(https.identity, tls.identity, "one certificate for both");
    }

    #[test]
    fn the_web_can_be_turned_off_and_served_over_tls_alone() {
        let args = Args::parse_from(["chat-tokio-stream", "--http-addr", "off"]);
        assert_eq!(args.config().http, None);
        let args = Args::parse_from([
            "chat-tokio-stream",
            "--https-addr",
            "127.0.0.1:9443",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ]);
        let config = args.config();
        assert_eq!(config.tls, None);
        assert!(config.https.expect("https").identity.is_some());
        let message = error(&["--http-addr", "nowhere"]);
        assert!(message.contains("--http-addr"), "{message}");
        assert!(message.contains("or off"), "{message}");
    }

    #[test]
    fn a_tls_listener_without_files_makes_its_own_certificate_and_files_need_each_other() {
        let args = Args::parse_from(["chat-tokio-stream", "--tls-addr", "127.0.0.1:8443"]);
        assert_eq!(args.config().tls.expect("a TLS listener").identity, None);
        for flags in [
            &["--tls-addr", "127.0.0.1:8443", "--tls-cert", "c.pem"][..],
            &["--tls-addr", "127.0.0.1:8443", "--tls-key", "k.pem"],
            &["--tls-cert", "c.pem", "--tls-key", "k.pem"],
        ] {
            let mut argv = vec!["chat-tokio-stream"];
            argv.extend_from_slice(flags);
            let error = Args::try_parse_from(argv).expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::MissingRequiredArgument, "{error}");
        }
    }

    #[test]
    fn values_that_make_no_sense_are_refused_naming_the_flag_and_the_range() {
        for flag in ["--max-outbuf", "--max-clients", "--max-rooms", "--max-line"] {
            let message = error(&[flag, "0"]);
            assert!(message.contains(flag), "{message}");
            assert!(message.contains("must be at least 1"), "{message}");
        }
        let message = error(&["--history", "-1"]);
        assert!(message.contains("--history"), "{message}");
        assert!(message.contains("must be at least 0"), "{message}");
        let message = error(&["--login-timeout", "99999999999"]);
        assert!(message.contains("must be at most 31536000"), "{message}");
        let message = error(&["--rate-limit", "lots"]);
        assert!(
            message.contains("a whole number from 0 to 1000000"),
            "{message}"
        );
    }

    #[test]
    fn a_host_name_resolves() {
        let args = Args::parse_from(["chat-tokio-stream", "--addr", "localhost:8080"]);
        assert!(args.addr.ip().is_loopback());
        assert_eq!(args.addr.port(), 8080);
    }

    #[cfg(feature = "tokio-impl")]
    #[test]
    fn the_tokio_build_runs_tokio_unless_told_otherwise() {
        let args = Args::parse_from(["chat-tokio-stream"]);
        assert_eq!(args.backend, Backend::Tokio);
        assert_eq!(
            args.config().http,
            None,
            "the Tokio reference serves no web"
        );
        let args = Args::parse_from(["chat-tokio-stream", "--backend", "mio"]);
        assert_eq!(args.config().http, Config::default().http);
    }

    #[cfg(not(feature = "tokio-impl"))]
    #[test]
    fn the_default_build_runs_mio_and_says_what_tokio_needs() {
        assert_eq!(
            Args::parse_from(["chat-tokio-stream"]).backend,
            Backend::Mio
        );
        let message = error(&["--backend", "tokio"]);
        assert!(message.contains("--features tokio-impl"), "{message}");
    }
}
