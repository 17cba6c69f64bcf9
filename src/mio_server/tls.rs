//! The TLS transport: rustls driven sans-IO over a non-blocking socket, the way rustls's
//! `tlsserver-mio` example drives it.
//!
//! Reading: `read_tls` from the socket, `process_new_packets`, then the plaintext `reader()`,
//! which the loop's one read path hands to the codec like a plain connection's bytes.
//! Writing: the outbox's gathered slices go into the plaintext `writer()` in big pieces (so a
//! client's lines of one pass become one record, or as few as the 16 KiB record limit
//! allows), then `write_tls` until the socket would block or nothing is left.
//!
//! rustls is allowed to hold at most [`BUFFER_LIMIT`] bytes of the server's output, so that
//! a client that does not read leaves its backlog in the outbox, where `--max-outbuf` counts
//! it. What rustls writes by itself (handshake records, alerts, session tickets) is bounded
//! by the configuration, and goes out through the same flush path.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

use mio::net::TcpStream;
use rustls::crypto::CryptoProvider;
use rustls::{ServerConfig, ServerConnection};

use crate::certificate::{Identity, SELF_SIGNED_NAMES};
use crate::config::TlsConfig;

/// How long a client may take to finish its handshake before it is closed (contract item 13).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes of output rustls may hold for one connection: one full record's worth of plaintext.
/// Each flush gives it that much at most, and writes the record out before giving more, so a
/// client that does not read leaves the rest queued in its outbox.
const BUFFER_LIMIT: usize = 16 * 1024;

/// The crypto rustls uses: ring (see Cargo.toml for why).
pub fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The TLS listener's configuration: its certificate loaded (or made, and then its
/// fingerprint logged so that users can check it).
pub fn configure(tls: &TlsConfig) -> io::Result<Arc<ServerConfig>> {
    let identity = match &tls.identity {
        Some(files) => {
            let identity = Identity::load(files, &provider())?;
            log::info!(
                "TLS certificate {}, SHA-256 fingerprint {}",
                files.cert.display(),
                identity.fingerprint()
            );
            identity
        }
        None => {
            let identity = Identity::self_signed()?;
            log::info!(
                "TLS certificate: self-signed for {}, made at start-up, SHA-256 fingerprint {}",
                SELF_SIGNED_NAMES.join(" and "),
                identity.fingerprint()
            );
            identity
        }
    };
    server_config(identity)
}

/// The server side of TLS 1.2 and 1.3 with `identity`, no client certificates.
pub fn server_config(identity: Identity) -> io::Result<Arc<ServerConfig>> {
    let config = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .and_then(|builder| {
            builder
                .with_no_client_auth()
                .with_single_cert(identity.chain, identity.key)
        })
        .map_err(|e| io::Error::other(format!("cannot set up TLS: {e}")))?;
    Ok(Arc::new(config))
}

/// A socket with a TLS session over it. Generic over the socket so that the tests can drive it
/// through memory.
#[derive(Debug)]
pub struct TlsStream<S = TcpStream> {
    socket: S,
    session: ServerConnection,
}

impl<S: Read + Write> TlsStream<S> {
    /// A session with `config` over a freshly accepted `socket`, handshake not begun.
    pub fn new(socket: S, config: Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        let mut session = ServerConnection::new(config)?;
        session.set_buffer_limit(Some(BUFFER_LIMIT));
        Ok(TlsStream { socket, session })
    }

    /// The socket, to register with the poll or to shut down.
    pub fn socket(&mut self) -> &mut S {
        &mut self.socket
    }

    /// True until the handshake has completed.
    pub fn is_handshaking(&self) -> bool {
        self.session.is_handshaking()
    }

    /// True if the session has records to send: handshake messages, alerts, or output not
    /// yet written.
    pub fn has_records(&self) -> bool {
        self.session.wants_write()
    }

    /// Reads what the client sent, as plaintext: `Ok(0)` when its input has ended (with
    /// close_notify, or without it: a chat line lost to truncation is no worse than one lost
    /// to a reset). `WouldBlock` only once the socket would block, as for a plain socket. A
    /// client that breaks the protocol gets its alert, if the socket takes it at once, and an
    /// `InvalidData` error.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.session.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            // Nothing decrypted is waiting: take more from the socket (EOF included, which
            // the reader reports above next time round).
            self.session.read_tls(&mut self.socket)?;
            if let Err(error) = self.session.process_new_packets() {
                // Best effort: the connection is dropped whether or not the alert goes out.
                let _ = self.session.write_tls(&mut self.socket);
                return Err(io::Error::new(io::ErrorKind::InvalidData, error));
            }
        }
    }

    /// Writes every record the session holds, or fails with `WouldBlock` if the socket
    /// will not take them all now.
    fn send_records(&mut self) -> io::Result<()> {
        while self.session.wants_write() {
            match self.session.write_tls(&mut self.socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Ends the session with close_notify, sent if the socket takes it now.
    fn close_notify(&mut self) -> io::Result<()> {
        self.session.send_close_notify();
        match self.send_records() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    /// Takes as much of `bufs` as rustls may hold (encrypting it once the handshake is done),
    /// after writing out what it held before; `WouldBlock` if it can take nothing because
    /// the socket is full.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_records()?;
        let taken = self.session.writer().write_vectored(bufs)?;
        match self.send_records() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
        if taken == 0 && bufs.iter().any(|buf| !buf.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Writes every record the session holds.
    fn flush(&mut self) -> io::Result<()> {
        self.send_records()
    }
}

impl TlsStream<TcpStream> {
    /// Ends the sending side: close_notify, then the socket's FIN.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.close_notify()?;
        self.socket.shutdown(Shutdown::Write)
    }
}

#[cfg(test)]
mod tests;
