//! The server's side of the wire format: encoded lines, shared by every recipient.
//!
//! A line is encoded once, newline included, into one reference-counted buffer; fanning it
//! out to a thousand clients costs a thousand reference-count increments, not a thousand
//! copies. Consecutive lines that go to the same people can share one buffer too
//! ([`LineBatch`]), so that each recipient's socket gets one contiguous write instead of one
//! small piece per line. The prefixes are fixed by the contract: notices start with `*** `,
//! errors with `!!! `, chat is `nick: text`, actions are `* nick text`.

use std::fmt;
use std::io::Write;
use std::sync::Arc;

/// One or more complete server lines (each ending in `\n`), immutable and cheap to clone.
#[derive(Clone, PartialEq, Eq)]
pub struct Line(Arc<[u8]>);

impl Line {
    /// The bytes to put on the wire, newline included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes, newlines included.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false for lines the [`Encoder`] or a [`LineBatch`] builds: a line holds at
    /// least its newline.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Line({:?})", String::from_utf8_lossy(&self.0))
    }
}

/// Builds [`Line`]s through one reusable scratch buffer, so encoding a line costs exactly one
/// allocation: the shared buffer itself.
#[derive(Default)]
pub struct Encoder {
    scratch: Vec<u8>,
}

impl Encoder {
    /// A `*** ` notice.
    pub fn notice(&mut self, text: fmt::Arguments<'_>) -> Line {
        self.encode(format_args!("*** {text}"))
    }

    /// A `!!! ` error, for the one client that caused it.
    pub fn error(&mut self, text: fmt::Arguments<'_>) -> Line {
        self.encode(format_args!("!!! {text}"))
    }

    /// Any line; the newline is appended here.
    pub fn encode(&mut self, text: fmt::Arguments<'_>) -> Line {
        self.scratch.clear();
        // Writing into a Vec cannot fail.
        let _ = self.scratch.write_fmt(text);
        self.scratch.push(b'\n');
        Line(Arc::from(&self.scratch[..]))
    }
}

/// Chat lines encoded back to back, to go out as one shared [`Line`]: when a client sends a
/// burst, its room gets one buffer, and every member one contiguous write, for the lot.
#[derive(Default)]
pub struct LineBatch {
    bytes: Vec<u8>,
}

impl LineBatch {
    /// Appends a chat line `nick: text` and returns it on its own (for the room's history).
    pub fn push_chat(&mut self, nick: &str, text: &str) -> Line {
        self.push(format_args!("{nick}: {text}"))
    }

    /// Appends an action line `* nick text` and returns it on its own.
    pub fn push_action(&mut self, nick: &str, text: &str) -> Line {
        self.push(format_args!("* {nick} {text}"))
    }

    /// Everything appended since the last call, as one shared buffer; `None` if nothing was.
    pub fn take(&mut self) -> Option<Line> {
        let line = (!self.bytes.is_empty()).then(|| Line(Arc::from(&self.bytes[..])));
        self.bytes.clear();
        line
    }

    /// Gives back spare capacity a burst left behind.
    pub fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
    }

    fn push(&mut self, text: fmt::Arguments<'_>) -> Line {
        let start = self.bytes.len();
        // Writing into a Vec cannot fail.
        let _ = self.bytes.write_fmt(text);
        self.bytes.push(b'\n');
        Line(Arc::from(&self.bytes[start..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_and_errors_end_in_one_newline() {
        let mut enc = Encoder::default();
        assert_eq!(enc.notice(format_args!("hi")).as_bytes(), b"*** hi\n");
        assert_eq!(enc.error(format_args!("no")).as_bytes(), b"!!! no\n");
        assert_eq!(enc.encode(format_args!("free")).as_bytes(), b"free\n");
    }

    #[test]
    fn clones_share_one_buffer() {
        let line = Encoder::default().notice(format_args!("shared"));
        let copy = line.clone();
        assert!(std::ptr::eq(line.as_bytes(), copy.as_bytes()));
    }

    #[test]
    fn a_batch_is_its_lines_back_to_back_in_one_buffer() {
        let mut batch = LineBatch::default();
        assert_eq!(batch.take(), None);
        assert_eq!(batch.push_chat("a", "one").as_bytes(), b"a: one\n");
        assert_eq!(batch.push_action("a", "waves").as_bytes(), b"* a waves\n");
        assert_eq!(
            batch.take().expect("two lines").as_bytes(),
            b"a: one\n* a waves\n"
        );
        assert_eq!(batch.take(), None, "taking empties the batch");
    }
}
