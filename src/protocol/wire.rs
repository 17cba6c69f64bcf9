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

use super::clock::Stamp;
use super::request::Kind;

/// One or more complete server lines (each ending in `\n`), immutable and cheap to clone.
/// Rarely, bytes a transport speaks instead (a Telnet answer).
#[derive(Clone, PartialEq, Eq)]
pub struct Line(Arc<[u8]>);

impl Line {
    /// Bytes sent as they are, not a line: a Telnet answer.
    pub fn raw(bytes: &[u8]) -> Line {
        Line(Arc::from(bytes))
    }

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

    /// A message as it is delivered live: `alice: text` or `* alice text`.
    pub fn message(&mut self, kind: Kind, nick: &str, text: &str) -> Line {
        self.encode(format_args!("{}", Message { kind, nick, text }))
    }

    /// A message as history replays it: `[09:12] alice: text` or `[09:12] * alice text`.
    pub fn history(&mut self, stamp: Stamp, kind: Kind, nick: &str, text: &str) -> Line {
        self.encode(format_args!("{stamp} {}", Message { kind, nick, text }))
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
    /// Appends a message (`nick: text`, or `* nick text` for an action), and returns it as
    /// history replays it, stamped with `stamp`.
    pub fn push(&mut self, stamp: Stamp, kind: Kind, nick: &str, text: &str) -> Line {
        let message = Message { kind, nick, text };
        let start = self.bytes.len();
        // Writing into a Vec cannot fail.
        let _ = writeln!(self.bytes, "{stamp} {message}");
        let line = Line(Arc::from(&self.bytes[start..]));
        self.bytes.truncate(start);
        let _ = writeln!(self.bytes, "{message}");
        line
    }

    /// Everything appended since the last call, as one shared buffer; `None` if nothing was.
    pub fn take(&mut self) -> Option<Line> {
        let line = (!self.bytes.is_empty()).then(|| Line(Arc::from(&self.bytes[..])));
        self.bytes.clear();
        line
    }
}

/// A chat line or an action as it goes on the wire, without its newline.
struct Message<'a> {
    kind: Kind,
    nick: &'a str,
    text: &'a str,
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Chat => write!(f, "{}: {}", self.nick, self.text),
            Kind::Action => write!(f, "* {} {}", self.nick, self.text),
        }
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
        let at = crate::protocol::clock::stamp(9 * 3_600_000 + 12 * 60_000);
        assert_eq!(batch.take(), None);
        assert_eq!(
            batch.push(at, Kind::Chat, "a", "one").as_bytes(),
            b"[09:12] a: one\n"
        );
        assert_eq!(
            batch.push(at, Kind::Action, "a", "waves").as_bytes(),
            b"[09:12] * a waves\n"
        );
        assert_eq!(
            batch.take().expect("two lines").as_bytes(),
            b"a: one\n* a waves\n"
        );
        assert_eq!(batch.take(), None, "taking empties the batch");
    }
}
