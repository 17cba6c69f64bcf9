//! A connection's queue of lines waiting to be written, flushed with vectored writes. Both
//! servers use it: the mio loop writes to its non-blocking socket, the Tokio task through
//! `try_write_vectored`.
//!
//! The queue holds shared [`Line`]s, so a line fanned out to a thousand clients sits in a
//! thousand queues as a thousand pointers to one buffer. Flushing gathers many queued lines
//! into one `writev`; a partial write is remembered as an offset into the first line. Once
//! drained, an outbox hands its storage back ([`Outbox::release_storage`]): idle connections
//! hold nothing, and a server that flushes a thousand outboxes a pass recycles their storage
//! through [`SpareQueues`] instead of allocating and freeing it for every recipient.
//!
//! A flush is given a [`Framing`]: the lines go out as they are, or (to a WebSocket client)
//! as one text frame each, whose small header is made at flush time in front of the shared
//! bytes. The connection keeps its framing, not the outbox: an idle connection's outbox is
//! three words and a queue that holds nothing. Bytes a transport or codec speaks by itself (an HTTP response, a WebSocket pong or
//! close frame, a Telnet answer) are queued raw, in order with the lines.
//!
//! Before each write, consecutive short lines are copied into one [`Gather`] buffer, so the
//! kernel gets a few contiguous pieces rather than one tiny piece per line: measured on
//! loopback with 1,000 receivers, `writev` of 40-byte pieces cost 20-25% more server CPU per
//! delivery than the copy it replaces. Long buffers (batches of lines) are written from where
//! they are.

mod framing;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use crate::protocol::Line;
pub use framing::Framing;
use framing::{FramedLines, TextFrames};

/// Most pieces in one `writev` (Linux allows 1024); a small stack array.
const MAX_IOVECS: usize = 64;
/// Lines shorter than this are copied into the gather buffer; longer ones are not worth it.
const GATHER_BELOW: usize = 1024;
/// The gather buffer's size: one write's worth of short lines.
const GATHER_BYTES: usize = 64 * 1024;

/// Scratch space where short queued lines are laid end to end before a write. One serves
/// many connections (it is empty between writes), so it costs nothing per connection.
#[derive(Debug, Default)]
pub struct Gather {
    bytes: Vec<u8>,
    /// WebSocket frames of lines lately flushed.
    framed: FramedLines,
}

/// One piece of a write: a stretch of the gather buffer, or a stretch of a queued buffer.
#[derive(Clone, Copy)]
enum Piece {
    Gathered {
        start: usize,
        end: usize,
    },
    Line {
        index: usize,
        start: usize,
        end: usize,
    },
}

/// Something queued: lines, framed as the outbox frames them, or raw bytes.
#[derive(Debug)]
enum Queued {
    Lines(Line),
    Raw(Line),
}

impl Queued {
    /// The queued buffer.
    fn buffer(&self) -> &Line {
        match self {
            Queued::Lines(line) | Queued::Raw(line) => line,
        }
    }

    /// Bytes it takes on the wire, framed with `framing`.
    fn wire_len(&self, framing: Framing) -> usize {
        match self {
            Queued::Lines(line) => framing.wire_len(line.as_bytes()),
            Queued::Raw(line) => line.len(),
        }
    }
}

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

/// Most empty queues kept for reuse: enough for every recipient of a busy pass in a big room,
/// bounded so that a burst does not pin memory.
const SPARE_QUEUES: usize = 4096;
/// Queues that grew past this many slots (a slow reader's backlog) are freed, not kept.
const SPARE_QUEUE_SLOTS: usize = 64;

/// An empty queue's storage, given away by a drained outbox.
#[derive(Debug)]
pub struct Storage(VecDeque<Queued>);

/// Empty line queues kept for reuse, so that fan-out does not allocate per recipient.
#[derive(Debug, Default)]
pub struct SpareQueues {
    queues: Vec<VecDeque<Queued>>,
}

impl SpareQueues {
    /// Keeps an empty queue for later, unless there are enough or it is oversized.
    pub fn put(&mut self, Storage(queue): Storage) {
        if self.queues.len() < SPARE_QUEUES && queue.capacity() <= SPARE_QUEUE_SLOTS {
            self.queues.push(queue);
        }
    }

    /// An empty queue, recycled if one is available.
    fn take(&mut self) -> VecDeque<Queued> {
        self.queues.pop().unwrap_or_default()
    }
}

/// Lines queued for one connection.
#[derive(Debug, Default)]
pub struct Outbox {
    lines: VecDeque<Queued>,
    /// Wire bytes of the first entry already written.
    offset: usize,
    /// Bytes of the queued buffers in total, for the slow-consumer limit (frame headers not
    /// counted: a few bytes a line).
    queued_bytes: usize,
}

impl Outbox {
    /// Queues one line (or several, in one buffer).
    pub fn push(&mut self, line: Line) {
        self.enqueue(Queued::Lines(line));
    }

    /// Queues bytes to go out as they are, whatever the framing.
    pub fn push_raw(&mut self, bytes: Line) {
        self.enqueue(Queued::Raw(bytes));
    }

    /// Queues `queued` unless it is empty (nothing to write would make a write of nothing).
    fn enqueue(&mut self, queued: Queued) {
        let len = queued.buffer().len();
        if len > 0 {
            self.queued_bytes += len;
            self.lines.push_back(queued);
        }
    }

    /// Queues one line, taking storage from `spares` if the outbox has none.
    pub fn push_recycling(&mut self, line: Line, spares: &mut SpareQueues) {
        if self.lines.capacity() == 0 {
            self.lines = spares.take();
        }
        self.push(line);
    }

    /// If nothing is queued, gives away the queue's storage (an idle connection should hold
    /// nothing); the caller may keep it in a [`SpareQueues`] or drop it.
    pub fn release_storage(&mut self) -> Option<Storage> {
        (self.lines.is_empty() && self.lines.capacity() > 0)
            .then(|| Storage(std::mem::take(&mut self.lines)))
    }

    /// Unwritten bytes.
    pub fn queued_bytes(&self) -> usize {
        let written = self
            .lines
            .front()
            .map_or(0, |first| self.offset.min(first.buffer().len()));
        self.queued_bytes - written
    }

    /// Writes queued lines to `out`, framed with `framing`, until done, blocked, or `budget`
    /// bytes are written, using `gather` for short lines, then flushes `out` (a writer that
    /// holds output of its own, such as TLS records, sends it then). Interrupted writes are
    /// retried; any other error is returned. A connection flushes with one framing all its
    /// life after its first line (a web client's HTTP answer is raw, whatever the framing).
    pub fn flush_to(
        &mut self,
        out: &mut impl Write,
        framing: Framing,
        budget: usize,
        gather: &mut Gather,
    ) -> io::Result<Flushed> {
        let mut written_total = 0;
        while !self.lines.is_empty() {
            if written_total >= budget {
                return Ok(Flushed::BudgetSpent);
            }
            let mut pieces = [Piece::Gathered { start: 0, end: 0 }; MAX_IOVECS];
            let (count, whole) = self.plan(framing, &mut pieces, gather);
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            for (piece, slice) in pieces[..count].iter().zip(slices.iter_mut()) {
                *slice = IoSlice::new(match *piece {
                    Piece::Gathered { start, end } => &gather.bytes[start..end],
                    Piece::Line { index, start, end } => {
                        &self.lines[index].buffer().as_bytes()[start..end]
                    }
                });
            }
            match out.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    self.consume(framing, written, whole);
                    written_total += written;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Flushed::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        match out.flush() {
            Ok(()) => Ok(Flushed::Drained),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Flushed::Blocked),
            Err(e) => Err(e),
        }
    }

    /// Lays out the next write: consecutive short stretches copied into `gather` (frame
    /// headers always), long ones referenced where they are. Returns how many pieces of
    /// `pieces` it filled, and which entries it holds whole.
    fn plan(
        &self,
        framing: Framing,
        pieces: &mut [Piece; MAX_IOVECS],
        gather: &mut Gather,
    ) -> (usize, Whole) {
        let mut plan = Plan {
            pieces,
            count: 0,
            open: None,
            gather,
            planned: 0,
            whole: Whole::default(),
        };
        plan.gather.bytes.clear();
        for (index, queued) in self.lines.iter().enumerate() {
            let mut skip = if index == 0 { self.offset } else { 0 };
            let bytes = queued.buffer().as_bytes();
            let framed = matches!(queued, Queued::Lines(_)) && framing == Framing::WebSocket;
            if framed && skip == 0 && bytes.len() < GATHER_BELOW {
                if !plan.copy_frames_of(queued.buffer()) {
                    break;
                }
                plan.whole_through(index);
                continue;
            }
            if !framed {
                if !plan.refer(index, bytes, skip..bytes.len()) {
                    break;
                }
                plan.whole_through(index);
                continue;
            }
            for frame in TextFrames::new(bytes) {
                let header = frame.header.as_bytes();
                let wire = header.len() + frame.payload.len();
                if skip >= wire {
                    skip -= wire;
                    continue;
                }
                let payload = if skip < header.len() {
                    if !plan.copy(&header[skip..]) {
                        return (plan.count, plan.whole);
                    }
                    frame.payload
                } else {
                    frame.payload.start + skip - header.len()..frame.payload.end
                };
                skip = 0;
                if !plan.refer(index, bytes, payload) {
                    return (plan.count, plan.whole);
                }
            }
            plan.whole_through(index);
        }
        (plan.count, plan.whole)
    }

    /// Drops everything queued (the connection is being dropped).
    pub fn clear(&mut self) {
        *self = Outbox::default();
    }

    /// Forgets `written` wire bytes (framed with `framing`) from the front of the queue, of a
    /// write planned with `whole` (what it held whole is dropped without measuring it again).
    fn consume(&mut self, framing: Framing, mut written: usize, whole: Whole) {
        if written >= whole.bytes {
            for queued in self.lines.drain(..whole.entries) {
                self.queued_bytes -= queued.buffer().len();
            }
            self.offset = 0;
            written -= whole.bytes;
        }
        while let Some(first) = self.lines.front() {
            let left_in_first = first.wire_len(framing) - self.offset;
            if written < left_in_first {
                self.offset += written;
                return;
            }
            written -= left_in_first;
            self.offset = 0;
            self.queued_bytes -= first.buffer().len();
            self.lines.pop_front();
        }
    }
}

/// The first entries a write holds whole (what was left of them), and their wire bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Whole {
    entries: usize,
    bytes: usize,
}

/// A write being laid out: the pieces so far, and the gathered piece short stretches are
/// being appended to (its index and start), if the last piece is one; the bytes planned, and
/// the entries planned whole.
struct Plan<'a> {
    pieces: &'a mut [Piece; MAX_IOVECS],
    count: usize,
    open: Option<(usize, usize)>,
    gather: &'a mut Gather,
    planned: usize,
    whole: Whole,
}

impl Plan<'_> {
    /// Entry `index` is planned to its end.
    fn whole_through(&mut self, index: usize) {
        self.whole = Whole {
            entries: index + 1,
            bytes: self.planned,
        };
    }

    /// Adds `range` of queued buffer `index` (whose bytes are `bytes`): copied if short,
    /// referenced if long. False if the write is full.
    fn refer(&mut self, index: usize, bytes: &[u8], range: std::ops::Range<usize>) -> bool {
        if range.is_empty() {
            return true;
        }
        if range.len() < GATHER_BELOW {
            return self.copy(&bytes[range]);
        }
        if self.count == MAX_IOVECS {
            return false;
        }
        self.planned += range.len();
        self.pieces[self.count] = Piece::Line {
            index,
            start: range.start,
            end: range.end,
        };
        self.count += 1;
        self.open = None;
        true
    }

    /// Copies `bytes` into the gather buffer, extending the last piece if it is gathered.
    /// False if the write is full.
    fn copy(&mut self, bytes: &[u8]) -> bool {
        if !self.has_room(bytes.len()) {
            return false;
        }
        let start = self.gather.bytes.len();
        self.gather.bytes.extend_from_slice(bytes);
        self.gathered(start);
        true
    }

    /// Copies the WebSocket frames of `line` (made once for all its recipients) into the
    /// gather buffer, as [`Plan::copy`] does. False if the write is full.
    fn copy_frames_of(&mut self, line: &Line) -> bool {
        let Gather { bytes, framed } = &mut *self.gather;
        let frames = framed.frames_of(line);
        if !fits(bytes.len() + frames.len(), self.open.is_some(), self.count) {
            return false;
        }
        let start = bytes.len();
        bytes.extend_from_slice(frames);
        self.gathered(start);
        true
    }

    /// True if `len` more bytes can be gathered into this write.
    fn has_room(&self, len: usize) -> bool {
        fits(
            self.gather.bytes.len() + len,
            self.open.is_some(),
            self.count,
        )
    }

    /// Bytes from `start` to the end of the gather buffer were just gathered: they extend
    /// the last piece if it is gathered, or make a new one.
    fn gathered(&mut self, start: usize) {
        let end = self.gather.bytes.len();
        self.planned += end - start;
        match self.open {
            Some((last, first_start)) => {
                self.pieces[last] = Piece::Gathered {
                    start: first_start,
                    end,
                }
            }
            None => {
                self.pieces[self.count] = Piece::Gathered { start, end };
                self.open = Some((self.count, start));
                self.count += 1;
            }
        }
    }
}

/// True if a write may gather `gathered` bytes in all, with `count` pieces so far, the last
/// one gathered (`open`) or not.
fn fits(gathered: usize, open: bool, count: usize) -> bool {
    gathered <= GATHER_BYTES && (open || count < MAX_IOVECS)
}
