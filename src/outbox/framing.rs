//! How an outbox puts a queued line on the wire: as it is (newline-terminated, for `nc`,
//! `telnet` and TLS clients), or as WebSocket text frames, one per line, without the newline.
//!
//! A WebSocket frame from the server is unmasked (RFC 6455, 5.1), so its payload is the
//! line's own bytes: the shared buffer is not copied per recipient, each recipient only gets
//! a 2-4 byte header (10 past 64 KiB) in front of it, made when the outbox is flushed.

use std::io::Cursor;
use std::ops::Range;

use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

/// Longest header of an unmasked frame: two bytes and a 64-bit length.
const MAX_HEADER: usize = 10;

/// How an outbox's lines go on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Framing {
    /// As they are.
    #[default]
    Lines,
    /// Each line one unmasked WebSocket text frame, without its newline.
    WebSocket,
}

impl Framing {
    /// Bytes `line` takes on the wire.
    pub fn wire_len(self, line: &[u8]) -> usize {
        match self {
            Framing::Lines => line.len(),
            Framing::WebSocket => TextFrames::new(line)
                .map(|frame| frame.header.len() + frame.payload.len())
                .sum(),
        }
    }
}

/// A frame's header, made where it is needed.
#[derive(Clone, Copy, Debug)]
pub struct Header {
    bytes: [u8; MAX_HEADER],
    len: u8,
}

impl Header {
    /// The header of a final, unmasked text frame of `payload_len` bytes.
    pub fn text(payload_len: usize) -> Header {
        let header = FrameHeader {
            opcode: OpCode::Data(Data::Text),
            ..FrameHeader::default()
        };
        let mut cursor = Cursor::new([0; MAX_HEADER]);
        // Ten bytes hold any unmasked header, so formatting into them cannot fail.
        let _ = header.format(payload_len as u64, &mut cursor);
        Header {
            len: cursor.position() as u8,
            bytes: cursor.into_inner(),
        }
    }

    /// Its bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// How many bytes it has.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
}

/// One text frame of a queued buffer: its header and where its payload is in the buffer.
#[derive(Clone, Debug)]
pub struct TextFrame {
    /// The frame's header.
    pub header: Header,
    /// The line's bytes in the buffer, without the newline.
    pub payload: Range<usize>,
}

/// The text frames a buffer of newline-terminated lines becomes (an unterminated tail is a
/// line too).
pub struct TextFrames<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> TextFrames<'a> {
    /// The frames of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        TextFrames { bytes, at: 0 }
    }
}

impl Iterator for TextFrames<'_> {
    type Item = TextFrame;

    fn next(&mut self) -> Option<TextFrame> {
        let rest = self.bytes.get(self.at..).filter(|rest| !rest.is_empty())?;
        let (end, next) = match memchr::memchr(b'\n', rest) {
            Some(newline) => (self.at + newline, self.at + newline + 1),
            None => (self.bytes.len(), self.bytes.len()),
        };
        let frame = TextFrame {
            header: Header::text(end - self.at),
            payload: self.at..end,
        };
        self.at = next;
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_take_two_four_or_ten_bytes_by_length() {
        assert_eq!(Header::text(0).as_bytes(), [0x81, 0]);
        assert_eq!(Header::text(125).as_bytes(), [0x81, 125]);
        assert_eq!(Header::text(126).as_bytes(), [0x81, 126, 0, 126]);
        assert_eq!(Header::text(65535).as_bytes(), [0x81, 126, 0xff, 0xff]);
        assert_eq!(Header::text(65536).len(), 10);
    }

    #[test]
    fn each_line_of_a_buffer_is_a_frame_without_its_newline() {
        let bytes = b"a: one\n* a waves\n";
        let frames: Vec<_> = TextFrames::new(bytes).collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(&bytes[frames[0].payload.clone()], b"a: one");
        assert_eq!(&bytes[frames[1].payload.clone()], b"* a waves");
        assert_eq!(Framing::WebSocket.wire_len(bytes), 2 + 6 + 2 + 9);
        assert_eq!(Framing::Lines.wire_len(bytes), bytes.len());
        let tail: Vec<_> = TextFrames::new(b"x\ny").map(|f| f.payload).collect();
        assert_eq!(tail, [0..1, 2..3]);
    }
}
