//! A WebSocket client's frames (RFC 6455), read sans-IO: headers parsed by tungstenite,
//! payloads unmasked in place in the read buffer and handed on (as ranges of it) as they
//! arrive, so that a connection buffers at most a frame header (14 bytes) and a control
//! frame's payload (125), never a message. The chat core bounds the lines (`--max-line`), as
//! for any client.
//!
//! Text messages are checked to be UTF-8 across frames and reads; binary messages end the
//! connection with 1003, protocol errors with 1002, bad UTF-8 with 1007. The server's own
//! frames are made here too: pongs and close frames (text frames are the outbox's).

use std::io::Cursor;
use std::ops::Range;

use tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};
use tungstenite::protocol::frame::{CloseFrame, Frame, FrameHeader};

use crate::protocol::Line;

/// The longest client frame header: two bytes, a 64-bit length, a mask.
const MAX_HEADER: usize = 14;
/// The longest control frame payload (RFC 6455, 5.5).
const MAX_CONTROL: u64 = 125;

/// What the client's bytes meant, one piece at a time.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// The next bytes of a text message: where they are in the buffer, unmasked, UTF-8 so
    /// far.
    Text(Range<usize>),
    /// The text message is complete.
    MessageEnd,
    /// A ping: answer with a pong carrying this payload.
    Ping(Vec<u8>),
    /// The client closes: answer with a close frame with this code, then close.
    Close(CloseCode),
}

/// Why the connection must be failed: the close code to send, and why (for the log).
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    /// The close code the server sends.
    pub code: CloseCode,
    /// What went wrong.
    pub why: &'static str,
}

fn fail<T>(code: CloseCode, why: &'static str) -> Result<T, Failure> {
    Err(Failure { code, why })
}

/// The frame being read.
#[derive(Debug)]
struct Current {
    opcode: OpCode,
    is_final: bool,
    mask: [u8; 4],
    /// Payload bytes already read (where the mask is at).
    read: u64,
    /// Payload bytes still to come.
    remaining: u64,
}

/// A WebSocket connection's reading side. See the module documentation.
#[derive(Debug, Default)]
pub struct Decoder {
    /// The header read so far.
    header: [u8; MAX_HEADER],
    header_len: usize,
    frame: Option<Current>,
    /// Inside a text message that has more frames to come.
    in_message: bool,
    utf8: Utf8Check,
    /// A control frame's payload, while it arrives.
    control: Vec<u8>,
}

impl Decoder {
    /// The next event in `buf` from `at` on, moving `at` past what it used; `Ok(None)` once
    /// all of `buf` is used and no event is complete. Payloads are unmasked where they are.
    pub fn next(&mut self, buf: &mut [u8], at: &mut usize) -> Result<Option<Event>, Failure> {
        loop {
            let Some(frame) = &mut self.frame else {
                if *at == buf.len() {
                    return Ok(None);
                }
                *at += self.read_header(&buf[*at..])?;
                continue;
            };
            if frame.remaining == 0 {
                let frame = self.frame.take().expect("a frame is being read");
                match self.finish(frame)? {
                    Some(event) => return Ok(Some(event)),
                    None => continue,
                }
            }
            let left = buf.len() - *at;
            if left == 0 {
                return Ok(None);
            }
            let take = usize::try_from(frame.remaining).map_or(left, |r| r.min(left));
            let range = *at..*at + take;
            *at += take;
            let chunk = &mut buf[range.clone()];
            for (index, byte) in chunk.iter_mut().enumerate() {
                *byte ^= frame.mask[(frame.read as usize + index) % 4];
            }
            frame.read += take as u64;
            frame.remaining -= take as u64;
            if let OpCode::Control(_) = frame.opcode {
                self.control.extend_from_slice(chunk);
                continue;
            }
            if !self.utf8.feed(chunk) {
                return fail(CloseCode::Invalid, "a text message that is not UTF-8");
            }
            return Ok(Some(Event::Text(range)));
        }
    }

    /// Takes header bytes from `input`; starts the frame once the header is complete.
    /// Returns how many bytes of `input` it used.
    fn read_header(&mut self, input: &[u8]) -> Result<usize, Failure> {
        let take = (MAX_HEADER - self.header_len).min(input.len());
        self.header[self.header_len..self.header_len + take].copy_from_slice(&input[..take]);
        let mut cursor = Cursor::new(&self.header[..self.header_len + take]);
        let parsed = match FrameHeader::parse(&mut cursor) {
            Ok(parsed) => parsed,
            Err(_) => return fail(CloseCode::Protocol, "a frame with an unknown opcode"),
        };
        let Some((header, length)) = parsed else {
            self.header_len += take;
            return Ok(take);
        };
        let used = cursor.position() as usize - self.header_len;
        self.header_len = 0;
        self.start(header, length)?;
        Ok(used)
    }

    /// Checks a new frame's header against the protocol and what came before.
    fn start(&mut self, header: FrameHeader, length: u64) -> Result<(), Failure> {
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return fail(
                CloseCode::Protocol,
                "reserved bits set, no extension agreed",
            );
        }
        let Some(mask) = header.mask else {
            return fail(CloseCode::Protocol, "a client frame that is not masked");
        };
        match header.opcode {
            OpCode::Data(Data::Binary) => {
                return fail(CloseCode::Unsupported, "binary messages are not chat")
            }
            OpCode::Data(Data::Text) if self.in_message => {
                return fail(CloseCode::Protocol, "a new message inside a fragmented one")
            }
            OpCode::Data(Data::Continue) if !self.in_message => {
                return fail(CloseCode::Protocol, "a continuation of no message")
            }
            OpCode::Data(_) => self.in_message = !header.is_final,
            OpCode::Control(_) if !header.is_final || length > MAX_CONTROL => {
                return fail(
                    CloseCode::Protocol,
                    "a fragmented or oversized control frame",
                )
            }
            OpCode::Control(_) => {}
        }
        self.frame = Some(Current {
            opcode: header.opcode,
            is_final: header.is_final,
            mask,
            read: 0,
            remaining: length,
        });
        Ok(())
    }

    /// The event a frame makes once all its payload is read, if any.
    fn finish(&mut self, frame: Current) -> Result<Option<Event>, Failure> {
        match frame.opcode {
            OpCode::Data(_) if frame.is_final => {
                if !self.utf8.is_complete() {
                    return fail(CloseCode::Invalid, "a text message ends inside a character");
                }
                Ok(Some(Event::MessageEnd))
            }
            OpCode::Data(_) => Ok(None),
            OpCode::Control(Control::Ping) => {
                Ok(Some(Event::Ping(std::mem::take(&mut self.control))))
            }
            OpCode::Control(Control::Close) => {
                let payload = std::mem::take(&mut self.control);
                match payload.as_slice() {
                    [] => Ok(Some(Event::Close(CloseCode::Normal))),
                    [high, low, reason @ ..] => {
                        let code = CloseCode::from(u16::from_be_bytes([*high, *low]));
                        if !code.is_allowed() || std::str::from_utf8(reason).is_err() {
                            return fail(CloseCode::Protocol, "a close frame that is not valid");
                        }
                        Ok(Some(Event::Close(code)))
                    }
                    [_] => fail(CloseCode::Protocol, "a close frame with half a code"),
                }
            }
            OpCode::Control(_) => {
                self.control.clear();
                Ok(None)
            }
        }
    }
}

/// Checks that text arriving in pieces is UTF-8, keeping at most the first bytes of one
/// character that a piece cut in two.
#[derive(Debug, Default)]
struct Utf8Check {
    pending: [u8; 4],
    pending_len: usize,
}

impl Utf8Check {
    /// Takes the next piece; false if the text is not UTF-8.
    fn feed(&mut self, mut bytes: &[u8]) -> bool {
        while self.pending_len > 0 {
            let Some((&byte, rest)) = bytes.split_first() else {
                return true;
            };
            self.pending[self.pending_len] = byte;
            self.pending_len += 1;
            bytes = rest;
            match std::str::from_utf8(&self.pending[..self.pending_len]) {
                Ok(_) => self.pending_len = 0,
                Err(e) if e.error_len().is_some() => return false,
                Err(_) if self.pending_len == 4 => return false,
                Err(_) => {}
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => true,
            Err(e) if e.error_len().is_some() => false,
            Err(e) => {
                let tail = &bytes[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len();
                true
            }
        }
    }

    /// True if no character is cut short.
    fn is_complete(&self) -> bool {
        self.pending_len == 0
    }
}

/// A pong answering a ping with `payload`.
pub fn pong(payload: Vec<u8>) -> Line {
    encode(Frame::pong(payload))
}

/// A close frame with `code`.
pub fn close(code: CloseCode) -> Line {
    encode(Frame::close(Some(CloseFrame {
        code,
        reason: "".into(),
    })))
}

fn encode(frame: Frame) -> Line {
    let mut bytes = Vec::with_capacity(frame.len());
    // Writing into a Vec cannot fail.
    let _ = frame.format(&mut bytes);
    Line::raw(&bytes)
}

#[cfg(test)]
mod tests;
