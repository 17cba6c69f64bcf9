//! How a connection's bytes are moved: over plain TCP, or (with the TLS listener) through
//! an encryption layer. The loop reads, writes and closes through this one type, so that
//! everything above it (the codecs, the outbox) is the same for every transport.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;

use super::tls::TlsStream;

/// A connection's transport.
#[derive(Debug)]
pub enum Io {
    /// Bytes as they are.
    Plain(TcpStream),
    /// TLS. Boxed: a session is a few kilobytes, and an idle plain connection should not
    /// pay for it.
    Tls(Box<TlsStream>),
}

impl Io {
    /// The socket, to register with the poll.
    pub fn socket(&mut self) -> &mut TcpStream {
        match self {
            Io::Plain(stream) => stream,
            Io::Tls(tls) => tls.socket(),
        }
    }

    /// Reads what the client sent, as plaintext.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Io::Plain(stream) => stream.read(buf),
            Io::Tls(tls) => tls.read(buf),
        }
    }

    /// Sends the client its bytes; returns how many were taken.
    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Io::Plain(stream) => stream.write_vectored(bufs),
            Io::Tls(tls) => tls.write_vectored(bufs),
        }
    }

    /// True while a TLS handshake is under way: nothing the client sends is input yet, and
    /// nothing written reaches it yet.
    pub fn is_handshaking(&self) -> bool {
        match self {
            Io::Plain(_) => false,
            Io::Tls(tls) => tls.is_handshaking(),
        }
    }

    /// True if the transport has output of its own to send (TLS handshake records, alerts).
    pub fn has_own_output(&self) -> bool {
        match self {
            Io::Plain(_) => false,
            Io::Tls(tls) => tls.has_records(),
        }
    }

    /// Ends the sending side once everything written has gone (the client reads EOF).
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Io::Plain(stream) => stream.shutdown(Shutdown::Write),
            Io::Tls(tls) => tls.shutdown_write(),
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Io::write_vectored(self, bufs)
    }

    /// Sends what the transport holds: nothing for plain TCP, records for TLS.
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Io::Plain(_) => Ok(()),
            Io::Tls(tls) => tls.flush(),
        }
    }
}
