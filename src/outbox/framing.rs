//! How an outbox puts a queued line on the wire: as it is (newline-terminated, for `nc`,
//! `telnet` and TLS clients), or as WebSocket text frames, one per line, without the newline.
//!
//! A WebSocket frame from the server is unmasked (RFC 6455, 5.1), so its payload is the
//! line's own bytes: the shared buffer is not copied per recipient, each recipient only gets
//! a 2-4 byte header (10 past 64 KiB) in front of it, made when the outbox is flushed.

use std::collections::HashMap;
use std::ops::Range;

use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

use crate::protocol::Line;

/// Lines whose frames are kept at most: a flush pass sends the same lines (a batch per
/// sender that spoke) to every member of a room, one outbox after another; past this many,
/// the cache starts again empty.
const FRAMED_LINES: usize = 256;

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
        let mut bytes = [0; MAX_HEADER];
        let mut rest = &mut bytes[..];
        // Ten bytes hold any unmasked header, so formatting into them cannot fail.
        let _ = header.format(payload_len as u64, &mut rest);
        let len = (MAX_HEADER - rest.len()) as u8;
        Header { bytes, len }
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

/// The WebSocket frames of the last few short lines flushed, so that a line fanned out to
/// a thousand WebSocket clients is framed once, and each recipient's write copies its
/// frames in one piece, as a plain client's write copies the line. One cache serves the
/// whole loop (it belongs to the gather buffer).
#[derive(Debug, Default)]
pub struct FramedLines {
    /// By the address of the line's buffer: the line (held, so that the address cannot be
    /// another line's while it is here) and its frames back to back.
    entries: HashMap<usize, (Line, Vec<u8>)>,
}

impl FramedLines {
    /// The frames of `line`, made now unless they were made lately.
    pub fn frames_of(&mut self, line: &Line) -> &[u8] {
        let key = line.as_bytes().as_ptr() as usize;
        if self.entries.len() >= FRAMED_LINES && !self.entries.contains_key(&key) {
            self.entries.clear();
        }
        let (_, frames) = self.entries.entry(key).or_insert_with(|| {
            let bytes = line.as_bytes();
            let mut frames = Vec::with_capacity(Framing::WebSocket.wire_len(bytes));
            for frame in TextFrames::new(bytes) {
                frames.extend_from_slice(frame.header.as_bytes());
                frames.extend_from_slice(&bytes[frame.payload]);
            }
            (line.clone(), frames)
        });
        frames
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

    #[test]
    fn a_line_is_framed_once_while_it_is_among_the_last_few() {
        let mut encoder = crate::protocol::wire::Encoder::default();
        let line = encoder.encode(format_args!("a: hi"));
        let mut cache = FramedLines::default();
        assert_eq!(cache.frames_of(&line), b"\x81\x05a: hi");
        let first = cache.frames_of(&line).as_ptr();
        assert_eq!(cache.frames_of(&line.clone()).as_ptr(), first, "made once");
        let same_bytes = encoder.encode(format_args!("a: hi"));
        assert_ne!(
            cache.frames_of(&same_bytes).as_ptr(),
            first,
            "another buffer"
        );
        for n in 0..FRAMED_LINES + 5 {
            cache.frames_of(&encoder.encode(format_args!("{n}")));
        }
        assert!(cache.entries.len() <= FRAMED_LINES, "bounded");
    }
}
