//! Web helpers: one HTTP request over raw TCP (or TLS), and a WebSocket chat client made
//! with tungstenite's client, each line it is sent being one text message.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

use super::{connect_tcp, LINE_TIMEOUT};
use chat_tokio_stream::config::Config;

/// The test [`super::config`] with a web listener on an ephemeral port.
pub fn web_config() -> Config {
    Config {
        http: Some("127.0.0.1:0".parse().expect("a literal address")),
        ..super::config()
    }
}

/// An HTTP response as read off the wire, up to the server's close.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The head, status line and headers.
    pub head: String,
    /// The body.
    pub body: String,
}

/// Sends `request` (raw bytes) and reads the response until the server closes.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Response {
    let mut stream = connect_tcp(addr);
    stream.write_all(request).expect("send the request");
    read_response(&mut stream)
}

/// `GET path` over plain HTTP.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes(),
    )
}

/// `GET path` over HTTPS with `config`.
pub fn get_tls(addr: SocketAddr, config: &Arc<ClientConfig>, path: &str) -> Response {
    let name = ServerName::try_from("localhost").expect("a name");
    let session = ClientConnection::new(Arc::clone(config), name).expect("a client");
    let mut stream = StreamOwned::new(session, connect_tcp(addr));
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .expect("send the request");
    read_response(&mut stream)
}

fn read_response(stream: &mut impl Read) -> Response {
    let mut bytes = Vec::new();
    if let Err(e) = stream.read_to_end(&mut bytes) {
        // A TLS peer may close without close_notify; what came is what counts.
        assert!(!bytes.is_empty(), "no response: {e}");
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    Response {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// A chat client over a WebSocket, as the page is.
pub struct WsClient {
    /// Label used in failure messages.
    pub name: String,
    socket: WebSocket<TcpStream>,
}

impl WsClient {
    /// Opens a WebSocket to `addr`'s `/ws` without registering.
    pub fn connect(addr: SocketAddr) -> WsClient {
        let stream = connect_tcp(addr);
        let (socket, response) = tungstenite::client(format!("ws://{addr}/ws"), stream)
            .expect("the WebSocket handshake");
        assert_eq!(response.status(), 101);
        WsClient {
            name: format!("ws client of {addr}"),
            socket,
        }
    }

    /// Connects, answers the nickname prompt with `nick` and reads the welcome.
    pub fn join(addr: SocketAddr, nick: &str) -> WsClient {
        let mut client = WsClient::connect(addr);
        client.name = nick.to_string();
        client.line_where(|line| line.contains("nickname"));
        client.send(nick);
        client.line_where(|line| line.starts_with("*** Welcome"));
        client
    }

    /// Sends one text message.
    pub fn send(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .expect("send a message");
    }

    /// Sends one message as it is.
    pub fn send_message(&mut self, message: Message) {
        self.socket.send(message).expect("send a message");
    }

    /// The next message from the server (pongs and pings included), or a failure after
    /// [`LINE_TIMEOUT`].
    pub fn message(&mut self) -> Message {
        self.socket
            .read()
            .unwrap_or_else(|e| panic!("{}: no message: {e}", self.name))
    }

    /// The next text message: one line, which must hold no newline.
    pub fn line(&mut self) -> String {
        loop {
            match self.message() {
                Message::Text(text) => {
                    assert!(!text.contains('\n'), "one line a message: {text:?}");
                    return text.to_string();
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("{}: expected a line, got {other:?}", self.name),
            }
        }
    }

    /// Reads lines until one satisfies `wanted`; fails after [`LINE_TIMEOUT`].
    pub fn line_where(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            assert!(Instant::now() < deadline, "{}: no such line", self.name);
            let line = self.line();
            if wanted(&line) {
                return line;
            }
        }
    }

    /// Reads until the server's close frame, and returns its code.
    pub fn expect_close(&mut self) -> CloseCode {
        let deadline = Instant::now() + LINE_TIMEOUT;
        while Instant::now() < deadline {
            match self.socket.read() {
                Ok(Message::Close(frame)) => return frame.expect("a close code").code,
                Ok(_) => {}
                Err(e) => panic!("{}: no close frame: {e}", self.name),
            }
        }
        panic!("{}: no close frame in time", self.name)
    }

    /// Lets the server go quiet for `quiet`, and returns what it sent meanwhile.
    pub fn lines_until_quiet(&mut self, quiet: Duration) -> Vec<String> {
        self.socket
            .get_ref()
            .set_read_timeout(Some(quiet))
            .expect("a timeout");
        let mut lines = Vec::new();
        while let Ok(message) = self.socket.read() {
            if let Message::Text(text) = message {
                lines.push(text.to_string());
            }
        }
        self.socket
            .get_ref()
            .set_read_timeout(Some(LINE_TIMEOUT))
            .expect("a timeout");
        lines
    }

    /// The WebSocket, for what the helpers do not cover.
    pub fn socket(&mut self) -> &mut WebSocket<TcpStream> {
        &mut self.socket
    }
}
