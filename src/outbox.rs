//! A connection's queue of lines waiting to be written, flushed with vectored writes. Both
//! servers use it: the mio loop writes to its non-blocking socket, the Tokio task through
//! `try_write_vectored`.
//!
//! The queue holds shared [`Line`]s, so a line fanned out to a thousand clients sits in a
//! thousand queues as a thousand pointers to one buffer. Flushing gathers many queued lines
//! into one `writev`; a partial write is remembered as an offset into the first line. An
//! empty outbox holds no allocation, so idle connections cost nothing here.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use crate::protocol::Line;

/// Most lines gathered into one `writev`. Chat lines are short, so this is tens of
/// kilobytes per call while the iovec array stays a small stack buffer (Linux allows 1024).
const MAX_IOVECS: usize = 128;

/// How a flush ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Flushed {
    /// Everything queued was written.
    Drained,
    /// The socket would block: wait for it to become writable.
    Blocked,
    /// The byte budget for this pass ran out with output left: come back next pass.
    BudgetSpent,
}

/// Lines queued for one connection.
#[derive(Debug, Default)]
pub struct Outbox {
    lines: VecDeque<Line>,
    /// Bytes of the first line already written.
    offset: usize,
    /// Unwritten bytes in total, for the slow-consumer limit.
    queued_bytes: usize,
}

impl Outbox {
    /// Queues one line.
    pub fn push(&mut self, line: Line) {
        self.queued_bytes += line.len();
        self.lines.push_back(line);
    }

    /// Unwritten bytes.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Writes queued lines to `out` until done, blocked, or `budget` bytes are written.
    /// Interrupted writes are retried; any other error is returned.
    pub fn flush_to(&mut self, out: &mut impl Write, budget: usize) -> io::Result<Flushed> {
        let mut written_total = 0;
        while !self.lines.is_empty() {
            if written_total >= budget {
                return Ok(Flushed::BudgetSpent);
            }
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let mut count = 0;
            for (line, slice) in self.lines.iter().zip(slices.iter_mut()) {
                let skip = if count == 0 { self.offset } else { 0 };
                *slice = IoSlice::new(&line.as_bytes()[skip..]);
                count += 1;
            }
            match out.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    self.consume(written);
                    written_total += written;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Flushed::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // Drained: give the ring's storage back, an idle connection should hold nothing.
        self.lines = VecDeque::new();
        Ok(Flushed::Drained)
    }

    /// Drops everything queued (the connection is being dropped).
    pub fn clear(&mut self) {
        *self = Outbox::default();
    }

    /// Forgets `written` bytes from the front of the queue.
    fn consume(&mut self, mut written: usize) {
        self.queued_bytes -= written;
        while let Some(first) = self.lines.front() {
            let left_in_first = first.len() - self.offset;
            if written < left_in_first {
                self.offset += written;
                return;
            }
            written -= left_in_first;
            self.offset = 0;
            self.lines.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::Encoder;

    /// A writer that, like `writev` on a busy socket, takes at most `chunk` bytes per call
    /// across all the slices it is given, and would block after `calls` calls.
    struct Trickle {
        got: Vec<u8>,
        chunk: usize,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if self.calls == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.calls -= 1;
            let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            let n = all.len().min(self.chunk);
            self.got.extend_from_slice(&all[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn outbox_with(lines: &[&str]) -> Outbox {
        let mut enc = Encoder::default();
        let mut outbox = Outbox::default();
        for line in lines {
            outbox.push(enc.encode(format_args!("{line}")));
        }
        outbox
    }

    #[test]
    fn partial_writes_resume_at_the_right_byte() {
        let mut outbox = outbox_with(&["hello", "world"]);
        let mut out = Trickle {
            got: Vec::new(),
            chunk: 4,
            calls: 2,
        };
        assert_eq!(
            outbox.flush_to(&mut out, usize::MAX).unwrap(),
            Flushed::Blocked
        );
        assert_eq!(outbox.queued_bytes(), 4);
        out.calls = 10;
        assert_eq!(
            outbox.flush_to(&mut out, usize::MAX).unwrap(),
            Flushed::Drained
        );
        assert_eq!(out.got, b"hello\nworld\n");
        assert_eq!(outbox.queued_bytes(), 0);
    }

    #[test]
    fn the_budget_stops_a_flush_with_output_left() {
        let mut outbox = outbox_with(&["aaaa", "bbbb", "cccc"]);
        let mut out = Trickle {
            got: Vec::new(),
            chunk: 5,
            calls: 10,
        };
        assert_eq!(outbox.flush_to(&mut out, 5).unwrap(), Flushed::BudgetSpent);
        assert_eq!(out.got, b"aaaa\n");
    }

    #[test]
    fn a_drained_outbox_holds_no_storage() {
        let mut outbox = outbox_with(&["x"]);
        let mut out = Trickle {
            got: Vec::new(),
            chunk: 100,
            calls: 1,
        };
        assert_eq!(
            outbox.flush_to(&mut out, usize::MAX).unwrap(),
            Flushed::Drained
        );
        assert_eq!(outbox.lines.capacity(), 0);
    }
}
