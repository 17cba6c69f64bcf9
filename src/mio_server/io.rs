//! How a connection's bytes are moved: over plain TCP, or (with the TLS listener) through
//! an encryption layer. The loop reads, writes and closes through this one type, so that
//! everything above it (the codecs, the outbox) is the same for every transport.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;

/// A connection's transport.
#[derive(Debug)]
pub enum Io {
    /// Bytes as they are.
    Plain(TcpStream),
}

impl Io {
    /// The socket, to register with the poll.
    pub fn socket(&mut self) -> &mut TcpStream {
        match self {
            Io::Plain(stream) => stream,
        }
    }

    /// Reads what the client sent, as plaintext.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Io::Plain(stream) => stream.read(buf),
        }
    }

    /// Sends the client its bytes; returns how many were taken.
    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Io::Plain(stream) => stream.write_vectored(bufs),
        }
    }

    /// Ends the sending side once everything written has gone (the client reads EOF).
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Io::Plain(stream) => stream.shutdown(Shutdown::Write),
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

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
