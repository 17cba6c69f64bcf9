//! The outbox's unit tests: partial writes, budgets, storage reuse, gathering, framing.

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
        outbox
            .flush_to(&mut out, Framing::Lines, usize::MAX, &mut Gather::default())
            .unwrap(),
        Flushed::Blocked
    );
    assert_eq!(outbox.queued_bytes(), 4);
    out.calls = 10;
    assert_eq!(
        outbox
            .flush_to(&mut out, Framing::Lines, usize::MAX, &mut Gather::default())
            .unwrap(),
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
    assert_eq!(
        outbox
            .flush_to(&mut out, Framing::Lines, 5, &mut Gather::default())
            .unwrap(),
        Flushed::BudgetSpent
    );
    assert_eq!(out.got, b"aaaa\n");
}

#[test]
fn a_drained_outbox_gives_its_storage_away_for_reuse() {
    let mut outbox = outbox_with(&["x"]);
    let mut out = Trickle {
        got: Vec::new(),
        chunk: 100,
        calls: 1,
    };
    assert_eq!(
        outbox
            .flush_to(&mut out, Framing::Lines, usize::MAX, &mut Gather::default())
            .unwrap(),
        Flushed::Drained
    );
    let storage = outbox.release_storage().expect("drained storage");
    assert_eq!(outbox.lines.capacity(), 0);
    let capacity = storage.0.capacity();
    let mut spares = SpareQueues::default();
    spares.put(storage);
    let mut other = Outbox::default();
    other.push_recycling(Encoder::default().encode(format_args!("a: b")), &mut spares);
    assert!(spares.queues.is_empty(), "the spare was taken");
    assert_eq!(
        other.lines.capacity(),
        capacity,
        "and it is the storage now in use"
    );
    assert!(
        other.release_storage().is_none(),
        "a queue with lines keeps its storage"
    );
}

#[test]
fn short_lines_are_gathered_and_long_ones_written_in_place() {
    let long = "y".repeat(2000);
    let mut outbox = outbox_with(&["a", "b", &long, "c"]);
    let mut pieces = [Piece::Gathered { start: 0, end: 0 }; MAX_IOVECS];
    let mut gather = Gather::default();
    assert_eq!(outbox.plan(Framing::Lines, &mut pieces, &mut gather).0, 3);
    assert!(matches!(pieces[0], Piece::Gathered { start: 0, end: 4 }));
    assert!(matches!(
        pieces[1],
        Piece::Line {
            index: 2,
            start: 0,
            end: 2001
        }
    ));
    assert!(matches!(pieces[2], Piece::Gathered { start: 4, end: 6 }));
    let mut out = Trickle {
        got: Vec::new(),
        chunk: usize::MAX,
        calls: 1,
    };
    assert_eq!(
        outbox
            .flush_to(&mut out, Framing::Lines, usize::MAX, &mut gather)
            .unwrap(),
        Flushed::Drained
    );
    assert_eq!(out.got, format!("a\nb\n{long}\nc\n").as_bytes());
}

#[test]
fn a_write_of_many_lines_stops_at_the_gather_size_and_resumes() {
    let line = "z".repeat(999);
    let lines: Vec<&str> = std::iter::repeat_n(line.as_str(), 100).collect();
    let mut outbox = outbox_with(&lines);
    let mut out = Trickle {
        got: Vec::new(),
        chunk: usize::MAX,
        calls: 10,
    };
    assert_eq!(
        outbox
            .flush_to(&mut out, Framing::Lines, usize::MAX, &mut Gather::default())
            .unwrap(),
        Flushed::Drained
    );
    assert_eq!(out.got.len(), 100 * 1000);
    assert_eq!(out.calls, 8, "two writes of 64 KiB at most");
}

/// Decodes the server's unmasked text frames in `wire` into their payloads.
fn text_frames(mut wire: &[u8]) -> Vec<String> {
    let mut messages = Vec::new();
    while !wire.is_empty() {
        assert_eq!(wire[0], 0x81, "a final text frame");
        let (len, header) = match wire[1] {
            126 => (usize::from(u16::from_be_bytes([wire[2], wire[3]])), 4),
            len => (usize::from(len), 2),
        };
        messages.push(String::from_utf8(wire[header..header + len].to_vec()).unwrap());
        wire = &wire[header + len..];
    }
    messages
}

#[test]
fn websocket_framing_makes_each_line_a_frame_and_raw_bytes_stay_raw() {
    let mut outbox = Outbox::default();
    outbox.push_raw(Line::raw(b"HTTP/1.1 101 Switching Protocols\r\n\r\n"));
    let mut batch = crate::protocol::wire::LineBatch::default();
    let at = crate::protocol::clock::stamp(0);
    batch.push(at, crate::protocol::Kind::Chat, "a", "one");
    batch.push(at, crate::protocol::Kind::Chat, "a", &"x".repeat(1500));
    outbox.push(batch.take().unwrap());
    outbox.push(Encoder::default().encode(format_args!("*** two")));
    let mut out = Trickle {
        got: Vec::new(),
        chunk: usize::MAX,
        calls: 1,
    };
    assert_eq!(
        outbox
            .flush_to(
                &mut out,
                Framing::WebSocket,
                usize::MAX,
                &mut Gather::default()
            )
            .unwrap(),
        Flushed::Drained
    );
    let head = b"HTTP/1.1 101 Switching Protocols\r\n\r\n";
    assert_eq!(&out.got[..head.len()], head);
    let long = format!("a: {}", "x".repeat(1500));
    assert_eq!(
        text_frames(&out.got[head.len()..]),
        ["a: one", long.as_str(), "*** two"]
    );
}

#[test]
fn websocket_frames_survive_writes_cut_anywhere() {
    let long = "y".repeat(1200);
    for chunk in [1, 2, 3, 5, 7, 64, 1000] {
        let mut outbox = outbox_with(&["short", &long, "end"]);
        let mut out = Trickle {
            got: Vec::new(),
            chunk,
            calls: usize::MAX,
        };
        let mut gather = Gather::default();
        assert_eq!(
            outbox
                .flush_to(&mut out, Framing::WebSocket, usize::MAX, &mut gather)
                .unwrap(),
            Flushed::Drained
        );
        assert_eq!(
            text_frames(&out.got),
            ["short", long.as_str(), "end"],
            "{chunk}"
        );
        assert_eq!(outbox.queued_bytes(), 0);
    }
}

#[test]
fn a_websocket_outbox_counts_what_is_queued_not_the_frame_headers() {
    let mut outbox = outbox_with(&["hello", "world"]);
    assert_eq!(outbox.queued_bytes(), 12);
    let mut out = Trickle {
        got: Vec::new(),
        chunk: 3,
        calls: 1,
    };
    assert_eq!(
        outbox
            .flush_to(
                &mut out,
                Framing::WebSocket,
                usize::MAX,
                &mut Gather::default()
            )
            .unwrap(),
        Flushed::Blocked
    );
    assert_eq!(
        outbox.queued_bytes(),
        9,
        "three bytes of the first line went"
    );
    outbox.clear();
    assert_eq!(outbox.queued_bytes(), 0);
}
