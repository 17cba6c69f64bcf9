//! How a simulated client's bytes travel: plain TCP, TLS through rustls driven over the
//! non-blocking socket the same way the server drives it, or a WebSocket ([`WebSocket`]),
//! as the chat page's.
//!
//! chat-load is a test tool: its TLS clients accept whatever certificate the server shows
//! (the server's self-signed one, a test certificate), checking only that the server holds
//! the certificate's key. Nothing it says is secret. Session resumption is off, so that every
//! connection costs a full handshake, as a first visit does.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use socket2::{Domain, SockAddr, Socket, Type};

use super::websocket::WebSocket;

/// A client TLS configuration for load: any certificate, TLS 1.2 or 1.3, no resumption.
pub fn client_config() -> Arc<ClientConfig> {
    accepting(|_| true)
}

/// A client TLS configuration (TLS 1.2 or 1.3, no resumption) that accepts the
/// certificates `accept` says yes to, instead of checking them against trusted roots; the
/// handshake's signatures are still checked, so the server must hold the certificate's key.
/// The server's tests use it to pin a fingerprint.
pub fn accepting(
    accept: impl Fn(&CertificateDer<'_>) -> bool + Send + Sync + 'static,
) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Chosen {
        accept: Box::new(accept),
        provider: Arc::clone(&provider),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.resumption = Resumption::disabled();
    Arc::new(config)
}

/// A simulated client's connection.
pub enum Transport {
    /// Bytes as they are.
    Plain(TcpStream),
    /// A TLS session over the socket.
    Tls(TcpStream, Box<ClientConnection>),
    /// A WebSocket, each line a text frame.
    WebSocket(Box<WebSocket>),
}

impl Transport {
    /// Starts a non-blocking connect to `server` from `source` (any port), through TLS
    /// with `tls` if given, or as a WebSocket if `websocket` (the handshake begins once the
    /// socket is writable).
    pub fn connect(
        server: SocketAddr,
        source: Option<SocketAddr>,
        tls: Option<&Arc<ClientConfig>>,
        websocket: bool,
    ) -> io::Result<Transport> {
        let socket = Socket::new(Domain::for_address(server), Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        socket.set_tcp_nodelay(true)?;
        if let Some(source) = source {
            defer_port_choice(&socket)?;
            socket.bind(&SockAddr::from(source))?;
        }
        match socket.connect(&SockAddr::from(server)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let socket = TcpStream::from_std(socket.into());
        if websocket {
            if tls.is_some() {
                return Err(io::Error::other("WebSocket over TLS is not supported"));
            }
            return Ok(Transport::WebSocket(Box::new(WebSocket::new(
                socket, server,
            ))));
        }
        let Some(config) = tls else {
            return Ok(Transport::Plain(socket));
        };
        let name = ServerName::try_from("localhost").expect("a valid name");
        let session = ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
        Ok(Transport::Tls(socket, Box::new(session)))
    }

    /// The socket, to register with the poll and check on the connect.
    pub fn socket(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(socket) | Transport::Tls(socket, _) => socket,
            Transport::WebSocket(websocket) => websocket.socket(),
        }
    }

    /// True while TLS records wait for the socket.
    pub fn has_records(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(_, session) => session.wants_write(),
            Transport::WebSocket(websocket) => websocket.has_unsent(),
        }
    }

    /// Reads plaintext: `Ok(0)` at the end of the stream, `WouldBlock` once the socket
    /// would block. Handshake records the read calls for are sent on the way.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (socket, session) = match self {
            Transport::Plain(socket) => return socket.read(buf),
            Transport::WebSocket(websocket) => return websocket.read(buf),
            Transport::Tls(socket, session) => (socket, session),
        };
        loop {
            match session.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            session.read_tls(socket)?;
            session
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            match send_records(socket, session) {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
        }
    }

    /// Writes as much of `bytes` as the connection takes now (for TLS: what the session
    /// takes, once the records it already held have gone).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let (socket, session) = match self {
            Transport::Plain(socket) => return socket.write(bytes),
            Transport::WebSocket(websocket) => return websocket.write(bytes),
            Transport::Tls(socket, session) => (socket, session),
        };
        send_records(socket, session)?;
        let taken = session.writer().write(bytes)?;
        match send_records(socket, session) {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
        if taken == 0 && !bytes.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Sends the TLS records held, as far as the socket takes them.
    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(_) => Ok(()),
            Transport::WebSocket(websocket) => websocket.flush(),
            Transport::Tls(socket, session) => match send_records(socket, session) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                other => other,
            },
        }
    }
}

/// Lets `connect` rather than `bind` pick the source port (IP_BIND_ADDRESS_NO_PORT): a port
/// picked at bind time must be free for every destination, and the kernel's search for one
/// grows slow as thousands of connections fill the range.
fn defer_port_choice(socket: &Socket) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: setsockopt on a socket we own, with a correctly sized int option.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Writes `session`'s records to `socket` until none are left or it would block.
fn send_records(socket: &mut TcpStream, session: &mut ClientConnection) -> io::Result<()> {
    while session.wants_write() {
        match session.write_tls(socket) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Accepts the certificates a function chooses; still checks the handshake's signatures.
struct Chosen {
    accept: Box<dyn Fn(&CertificateDer<'_>) -> bool + Send + Sync>,
    provider: Arc<CryptoProvider>,
}

impl std::fmt::Debug for Chosen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a certificate check of chat-load's")
    }
}

impl ServerCertVerifier for Chosen {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if (self.accept)(end_entity) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("certificate refused".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
