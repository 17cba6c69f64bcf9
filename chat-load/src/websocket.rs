//! chat-load's WebSocket client, used the way the chat page uses the server: the opening
//! handshake on `/ws`, then every line said goes out as one masked text frame, and every
//! text frame that comes back is read as one line. The frame headers are tungstenite's.
//!
//! Received frames are decoded in place, in the reader's own buffer (a frame's header is
//! always longer than the newline that replaces it), so that the client's cost per line
//! stays close to plain TCP's and the comparison measures the server. Only a frame cut by a
//! read waits in the client, until the rest of it comes. A test tool: its key is fixed and
//! its masks predictable.

use std::io::{self, Cursor, Read, Write};
use std::net::SocketAddr;

use mio::net::TcpStream;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

/// The end of the server's answer to the upgrade.
const HEAD_END: &[u8] = b"\r\n\r\n";

/// A WebSocket over a non-blocking socket.
pub struct WebSocket {
    socket: TcpStream,
    /// Bytes for the socket: the upgrade request, then frames.
    out: Vec<u8>,
    /// Frames said before the server accepted the upgrade (RFC 6455, 4.1: wait for it).
    waiting: Vec<u8>,
    /// The server accepted the upgrade.
    open: bool,
    /// The server sent its close frame.
    closed: bool,
    /// Bytes read but not yet decoded: the answer's head, or a frame cut by a read.
    partial: Vec<u8>,
    /// The next frame's mask.
    mask: u32,
}

impl WebSocket {
    /// A WebSocket over `socket`, connecting to `server`: the upgrade request is written
    /// once the socket is connected.
    pub fn new(socket: TcpStream, server: SocketAddr) -> WebSocket {
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        WebSocket {
            socket,
            out: request.into_bytes(),
            waiting: Vec::new(),
            open: false,
            closed: false,
            partial: Vec::new(),
            mask: u32::from(server.port()) | 0x5a5a_0000,
        }
    }

    /// The socket.
    pub fn socket(&mut self) -> &mut TcpStream {
        &mut self.socket
    }

    /// True while bytes wait for the socket.
    pub fn has_unsent(&self) -> bool {
        !self.out.is_empty()
    }

    /// Says every line of `bytes` as a text frame; all of it is taken (what the socket does
    /// not take now waits here, as in a TLS session).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            self.mask = self.mask.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let mask = self.mask.to_be_bytes();
            let header = FrameHeader {
                opcode: OpCode::Data(Data::Text),
                mask: Some(mask),
                ..FrameHeader::default()
            };
            let frames = if self.open {
                &mut self.out
            } else {
                &mut self.waiting
            };
            header
                .format(line.len() as u64, frames)
                .map_err(io::Error::other)?;
            frames.extend(line.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        }
        self.flush()?;
        Ok(bytes.len())
    }

    /// Writes what waits, as far as the socket takes it.
    pub fn flush(&mut self) -> io::Result<()> {
        let mut written = 0;
        while written < self.out.len() {
            match self.socket.write(&self.out[written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.drain(..written);
        Ok(())
    }

    /// Reads lines into `buf` (each text frame's payload and a newline): `Ok(0)` once the
    /// server closed, `WouldBlock` once the socket would block.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.closed {
                return Ok(0);
            }
            let kept = self.partial.len();
            if kept >= buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a frame larger than the read buffer",
                ));
            }
            buf[..kept].copy_from_slice(&self.partial);
            self.partial.clear();
            let n = match self.socket.read(&mut buf[kept..]) {
                Ok(0) => return Ok(0),
                Ok(n) => n,
                Err(e) => {
                    self.partial.extend_from_slice(&buf[..kept]);
                    return Err(e);
                }
            };
            let mut start = 0;
            if !self.open {
                let Some(end) = find(&buf[..kept + n], HEAD_END) else {
                    self.partial.extend_from_slice(&buf[..kept + n]);
                    continue;
                };
                if !buf.starts_with(b"HTTP/1.1 101") {
                    return Err(io::Error::other("the server refused the WebSocket upgrade"));
                }
                self.open = true;
                self.out.append(&mut self.waiting);
                self.flush()?;
                start = end + HEAD_END.len();
            }
            let lines = self.decode(buf, start, kept + n)?;
            if lines > 0 || self.closed {
                return Ok(lines);
            }
        }
    }

    /// Decodes the frames in `buf[start..end]` in place, from the front of `buf`; keeps a
    /// cut frame for the next read. Returns the bytes of lines made.
    fn decode(&mut self, buf: &mut [u8], mut at: usize, end: usize) -> io::Result<usize> {
        let mut made = 0;
        while at < end {
            let mut cursor = Cursor::new(&buf[at..end]);
            let Some((header, length)) =
                FrameHeader::parse(&mut cursor).map_err(io::Error::other)?
            else {
                break;
            };
            let payload = at + cursor.position() as usize;
            let Some(frame_end) = usize::try_from(length)
                .ok()
                .and_then(|length| payload.checked_add(length))
                .filter(|&frame_end| frame_end <= end)
            else {
                break;
            };
            match header.opcode {
                OpCode::Data(Data::Text) => {
                    buf.copy_within(payload..frame_end, made);
                    made += frame_end - payload;
                    buf[made] = b'\n';
                    made += 1;
                }
                OpCode::Control(Control::Close) => self.closed = true,
                _ => {}
            }
            at = frame_end;
        }
        self.partial.extend_from_slice(&buf[at..end]);
        Ok(made)
    }
}

/// Where `needle` starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
