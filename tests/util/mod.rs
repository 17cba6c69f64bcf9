//! Shared helpers for the TCP tests: start a real server on 127.0.0.1:0, talk to it the way
//! `nc` does, and run one test body against every server implementation the build has.

#![allow(dead_code)] // Each test binary uses its own subset of these helpers.
#![allow(unsafe_code)] // `kill` to signal a child server, in one place (`child.rs`).

mod child;
pub mod redis;
pub mod tls;
pub mod web;

#[allow(unused_imports)] // As dead_code above: each test binary uses its own subset.
pub use child::{binary, binary_on, ChildServer};

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use rustls::{ClientConnection, StreamOwned};

use chat_tokio_stream::config::{Config, Location};
use chat_tokio_stream::server::{self, Backend, ServerHandle};

/// How long a client waits for an expected line before the test fails.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(10);

/// Generates one `#[test]` per backend for each named `fn(Backend)`, in modules named after
/// the backend, so `cargo test mio::` or `cargo test tokio::` picks one server.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod mio {
            $(
                #[test]
                fn $name() {
                    super::$name(chat_tokio_stream::server::Backend::Mio);
                }
            )*
        }
        #[cfg(feature = "tokio-impl")]
        mod tokio {
            $(
                #[test]
                fn $name() {
                    super::$name(chat_tokio_stream::server::Backend::Tokio);
                }
            )*
        }
    };
}

/// The contract's defaults, listening on an ephemeral loopback port, with a store that
/// keeps nothing on disk and no web listener (its default port would collide between tests
/// running at once; the web tests ask for one on port 0).
pub fn config() -> Config {
    Config {
        addr: "127.0.0.1:0".parse().expect("a literal address"),
        db: Location::Memory,
        http: None,
        ..Config::default()
    }
}

/// [`config`] with flood control off: for tests that send faster than a person types.
pub fn unpaced() -> Config {
    Config {
        rate_limit: 0,
        ..config()
    }
}

/// Starts a `backend` server with `config` on its own thread.
pub fn start(backend: Backend, config: Config) -> ServerHandle {
    let _ = env_logger::builder().is_test(true).try_init();
    server::start(backend, config).expect("the server starts")
}

/// How a test client's bytes travel: as they are, like `nc`, or through TLS, like
/// `openssl s_client`.
enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Transport {
    /// The TCP connection underneath.
    fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(stream) => stream,
            Transport::Tls(tls) => &tls.sock,
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(stream) => stream.read(buf),
            Transport::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(stream) => stream.write(buf),
            Transport::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(stream) => stream.flush(),
            Transport::Tls(tls) => tls.flush(),
        }
    }
}

/// One chat client, like `nc` (or, see [`tls`], like `openssl s_client`).
pub struct Client {
    /// Label used in failure messages.
    pub name: String,
    reader: BufReader<Transport>,
}

impl Client {
    /// Connects without registering.
    pub fn connect(addr: SocketAddr) -> Client {
        Client::over(Transport::Plain(connect_tcp(addr)))
    }

    /// Connects from the loopback address `source` (127.0.0.2, say), so that the server sees
    /// another address.
    pub fn connect_from(addr: SocketAddr, source: std::net::IpAddr) -> Client {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        socket
            .bind(&SocketAddr::new(source, 0).into())
            .expect("bind the source address");
        socket.connect(&addr.into()).expect("connect to the server");
        let stream: TcpStream = socket.into();
        stream
            .set_read_timeout(Some(LINE_TIMEOUT))
            .expect("set a read timeout");
        Client::over(Transport::Plain(stream))
    }

    /// A client not yet registered, talking over `transport`.
    fn over(transport: Transport) -> Client {
        Client {
            name: "?".into(),
            reader: BufReader::new(transport),
        }
    }

    /// Connects, answers the nickname prompt with `nick`, and its password prompt with
    /// `password`, and reads the welcome line.
    pub fn log_in(addr: SocketAddr, nick: &str, password: &str) -> Client {
        let mut client = Client::connect(addr);
        client.name = nick.into();
        client.read_prompt();
        client.send(nick);
        client.line_where(|l| l.contains("type its password"));
        client.send(password);
        client.line_where(|l| l.starts_with("*** Welcome, "));
        client
    }

    /// Connects, answers the nickname prompt with `nick` and reads the welcome line.
    pub fn join(addr: SocketAddr, nick: &str) -> Client {
        Client::connect(addr).register(nick)
    }

    /// Answers the nickname prompt with `nick` and reads the welcome line.
    fn register(mut self, nick: &str) -> Client {
        self.name = nick.into();
        self.read_prompt();
        self.send(nick);
        let welcome = self.line();
        assert!(
            welcome.starts_with("*** ") && welcome.contains(nick),
            "{nick}: expected a welcome, got {welcome:?}"
        );
        self
    }

    /// Reads the greeting up to and including the line that asks for a nickname.
    pub fn read_prompt(&mut self) {
        let prompt = self.line_where(|line| line.to_lowercase().contains("nickname"));
        assert!(
            prompt.starts_with("*** "),
            "{}: prompt is not a notice: {prompt:?}",
            self.name
        );
    }

    /// Sends `text` followed by a newline.
    pub fn send(&mut self, text: &str) {
        self.send_raw(format!("{text}\n").as_bytes());
    }

    /// Sends bytes exactly as given.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let transport = self.reader.get_mut();
        transport
            .write_all(bytes)
            .and_then(|()| transport.flush())
            .unwrap_or_else(|e| panic!("{}: write failed: {e}", self.name));
    }

    /// The next line, without its newline. Fails the test on timeout or end of stream.
    pub fn line(&mut self) -> String {
        let mut bytes = Vec::new();
        match self.reader.read_until(b'\n', &mut bytes) {
            Ok(0) => panic!("{}: connection closed while a line was expected", self.name),
            Ok(_) => {}
            Err(e) => panic!("{}: no line within {LINE_TIMEOUT:?}: {e}", self.name),
        }
        assert_eq!(
            bytes.pop(),
            Some(b'\n'),
            "{}: stream ended inside a line",
            self.name
        );
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{}: line is not UTF-8: {e}", self.name))
    }

    /// Reads exactly `buf.len()` bytes, whatever they are (a Telnet answer, say).
    pub fn read_exact(&mut self, buf: &mut [u8]) {
        self.reader
            .read_exact(buf)
            .unwrap_or_else(|e| panic!("{}: read failed: {e}", self.name));
    }

    /// Reads everything until the server closes the connection cleanly.
    pub fn read_to_end(&mut self, into: &mut Vec<u8>) {
        self.reader
            .read_to_end(into)
            .unwrap_or_else(|e| panic!("{}: not closed cleanly: {e}", self.name));
    }

    /// Asserts that the next line is exactly `expected`.
    pub fn expect(&mut self, expected: &str) {
        let got = self.line();
        assert_eq!(got, expected, "{}: unexpected line", self.name);
    }

    /// Asserts that the next line is a line of history: `[HH:MM] ` and then `expected`.
    pub fn expect_history(&mut self, expected: &str) {
        let got = self.line();
        let stamped = got.len() > 8
            && got.as_bytes()[0] == b'['
            && got[1..6].chars().all(|c| c.is_ascii_digit() || c == ':')
            && &got[6..8] == "] ";
        assert!(
            stamped && &got[8..] == expected,
            "{}: expected [HH:MM] {expected:?}, got {got:?}",
            self.name
        );
    }

    /// Skips lines until one satisfies `wanted`, and returns it.
    pub fn line_where(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        loop {
            let line = self.line();
            if wanted(&line) {
                return line;
            }
        }
    }

    /// Reads and returns the lines that arrive until none has for `quiet`.
    pub fn lines_until_quiet(&mut self, quiet: Duration) -> Vec<String> {
        self.reader
            .get_ref()
            .tcp()
            .set_read_timeout(Some(quiet))
            .expect("set a read timeout");
        let mut lines = Vec::new();
        let mut bytes = Vec::new();
        while matches!(self.reader.read_until(b'\n', &mut bytes), Ok(n) if n > 0) {
            lines.push(String::from_utf8_lossy(bytes.trim_ascii_end()).into_owned());
            bytes.clear();
        }
        self.reader
            .get_ref()
            .tcp()
            .set_read_timeout(Some(LINE_TIMEOUT))
            .expect("set a read timeout");
        lines
    }

    /// Asserts that the server closes the connection next, cleanly (FIN, not a reset), with
    /// no more lines before.
    pub fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty(),
                "{}: more lines before the close: {:?}",
                self.name,
                String::from_utf8_lossy(&rest)
            ),
            Err(e) => panic!("{}: the connection was not closed cleanly: {e}", self.name),
        }
    }

    /// Another handle on the TCP connection, for writing from elsewhere (plain bytes: not
    /// through TLS).
    pub fn writer(&self) -> TcpStream {
        self.reader
            .get_ref()
            .tcp()
            .try_clone()
            .expect("clone the stream")
    }

    /// Asserts that the next line is an error ("!!! ") mentioning `word`, and that the server
    /// then closes the connection cleanly.
    pub fn expect_error_and_close(&mut self, word: &str) {
        let error = self.line();
        assert!(
            error.starts_with("!!! ") && error.contains(word),
            "{}: expected an error about {word:?}, got {error:?}",
            self.name
        );
        self.expect_closed();
    }

    /// Closes the sending side, as `nc` does at the end of its input (after close_notify,
    /// over TLS).
    pub fn shutdown_write(&mut self) {
        if let Transport::Tls(tls) = self.reader.get_mut() {
            tls.conn.send_close_notify();
            tls.flush().expect("close_notify");
        }
        self.reader
            .get_ref()
            .tcp()
            .shutdown(Shutdown::Write)
            .expect("half-close");
    }

    /// Drops the connection with a reset instead of a clean close.
    pub fn reset(self) {
        let stream = match self.reader.into_inner() {
            Transport::Plain(stream) => stream,
            Transport::Tls(tls) => tls.sock,
        };
        reset(stream);
    }
}

/// A blocking connection to `addr` whose reads give up after [`LINE_TIMEOUT`].
pub fn connect_tcp(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(LINE_TIMEOUT))
        .expect("set a read timeout");
    stream
}

/// Closes `stream` with a reset (RST) instead of a clean close (FIN).
pub fn reset(stream: TcpStream) {
    // A zero linger time makes close() send RST.
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("set SO_LINGER");
    drop(stream);
}

/// Reads the resident set size of process `pid` from /proc, in bytes.
pub fn rss_bytes(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/<pid>/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .expect("a VmRSS line");
    kib * 1024
}
