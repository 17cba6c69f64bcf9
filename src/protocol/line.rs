//! Splitting a client's byte stream into lines, with a hard bound on line length.
//!
//! Bytes arrive in arbitrary pieces: a line split across reads, several lines in one read, a
//! UTF-8 character cut in two. The decoder hands out complete lines (the LF removed, and a CR
//! right before it) and keeps only the unfinished tail of the last one. A line longer than
//! the bound is reported once and its remaining bytes are skipped as they arrive, never
//! stored: a 40 MB line costs the server nothing but the time to scan it.

use memchr::memchr;

/// One result of decoding: a complete line, or the news that a line passed the bound.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A complete line without its line ending. The bytes may be any bytes at all.
    Line(&'a [u8]),
    /// The current line is longer than the bound; the decoder discards it up to its LF.
    TooLong,
}

/// What the decoder is doing with the line in progress.
#[derive(Debug, Default, PartialEq, Eq)]
enum State {
    /// Collecting bytes of the next line (possibly none yet).
    #[default]
    Collecting,
    /// `partial` holds a line that was handed out; clear it before going on.
    Delivered,
    /// Skipping the rest of an over-long line, up to and including its LF.
    Discarding,
}

/// Per-connection line splitter. Holds no allocation unless a line is split across reads.
#[derive(Debug, Default)]
pub struct LineDecoder {
    /// The unfinished line carried over from earlier input; never longer than the bound + 1
    /// (room for a CR that may turn out to precede the LF).
    partial: Vec<u8>,
    state: State,
}

impl LineDecoder {
    /// Takes the next piece out of `input`, advancing it past what was consumed. Returns
    /// `None` once `input` is used up; an unfinished line is kept for the next call.
    /// `max_line` is the longest line accepted, not counting the line ending.
    pub fn next_piece<'r, 'i: 'r>(
        &'r mut self,
        input: &mut &'i [u8],
        max_line: usize,
    ) -> Option<Piece<'r>> {
        if self.state == State::Delivered {
            // Drop the allocation as well: split lines are rare, idle clients should hold nothing.
            self.partial = Vec::new();
            self.state = State::Collecting;
        }
        if self.state == State::Discarding {
            let newline = memchr(b'\n', input)?;
            *input = &input[newline + 1..];
            self.state = State::Collecting;
        }
        if input.is_empty() {
            return None;
        }
        let Some(newline) = memchr(b'\n', input) else {
            return self.keep_unfinished(input, max_line);
        };
        let (head, rest) = (&input[..newline], &input[newline + 1..]);
        *input = rest;
        if self.partial.is_empty() {
            let line = strip_cr(head);
            return Some(if line.len() > max_line {
                Piece::TooLong
            } else {
                Piece::Line(line)
            });
        }
        if self.partial.len() + head.len() > max_line + 1 {
            self.partial = Vec::new();
            return Some(Piece::TooLong);
        }
        self.partial.extend_from_slice(head);
        self.state = State::Delivered;
        let line = strip_cr(&self.partial);
        Some(if line.len() > max_line {
            Piece::TooLong
        } else {
            Piece::Line(line)
        })
    }

    /// At end of input: the last line if the client sent one without a line ending.
    pub fn finish(&mut self, max_line: usize) -> Option<&[u8]> {
        if self.state != State::Collecting || self.partial.is_empty() {
            return None;
        }
        self.state = State::Delivered;
        let line = strip_cr(&self.partial);
        (line.len() <= max_line).then_some(line)
    }

    /// Stores an unfinished line, or reports it as too long if it already is.
    fn keep_unfinished(&mut self, input: &mut &[u8], max_line: usize) -> Option<Piece<'static>> {
        let unfinished = std::mem::take(input);
        if self.partial.len() + unfinished.len() > max_line + 1 {
            self.partial = Vec::new();
            self.state = State::Discarding;
            return Some(Piece::TooLong);
        }
        self.partial.extend_from_slice(unfinished);
        None
    }
}

/// The line without the CR the contract says to drop before the LF.
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` one after another and collects what comes out, as owned values.
    fn decode(chunks: &[&[u8]], max_line: usize) -> Vec<Option<Vec<u8>>> {
        let mut decoder = LineDecoder::default();
        let mut out = Vec::new();
        for chunk in chunks {
            let mut input = *chunk;
            while let Some(piece) = decoder.next_piece(&mut input, max_line) {
                out.push(match piece {
                    Piece::Line(line) => Some(line.to_vec()),
                    Piece::TooLong => None,
                });
            }
        }
        out
    }

    fn lines(items: &[&str]) -> Vec<Option<Vec<u8>>> {
        items.iter().map(|s| Some(s.as_bytes().to_vec())).collect()
    }

    #[test]
    fn several_lines_in_one_chunk_come_out_in_order() {
        assert_eq!(
            decode(&[b"alice\nhello\n"], 100),
            lines(&["alice", "hello"])
        );
    }

    #[test]
    fn a_line_split_across_chunks_is_joined() {
        assert_eq!(
            decode(&[b"hel", b"lo wor", b"ld\nnext\n"], 100),
            lines(&["hello world", "next"])
        );
    }

    #[test]
    fn crlf_and_a_cr_split_from_its_lf_are_both_dropped() {
        assert_eq!(
            decode(&[b"one\r\ntwo\r", b"\n"], 100),
            lines(&["one", "two"])
        );
    }

    #[test]
    fn a_lone_cr_inside_a_line_is_kept_for_the_sanitiser() {
        assert_eq!(decode(&[b"a\rb\n"], 100), lines(&["a\rb"]));
    }

    #[test]
    fn a_line_of_exactly_the_bound_passes_even_with_crlf() {
        let line = [b'x'; 8];
        assert_eq!(decode(&[&line, b"\r\n"], 8), lines(&["xxxxxxxx"]));
        assert_eq!(decode(&[b"xxxxxxxx\r\n"], 8), lines(&["xxxxxxxx"]));
    }

    #[test]
    fn an_over_long_line_is_reported_once_and_the_next_line_survives() {
        let out = decode(&[b"0123456789", b"0123456789", b"0123\nok\n"], 8);
        assert_eq!(out, vec![None, Some(b"ok".to_vec())]);
    }

    #[test]
    fn an_over_long_line_in_one_chunk_is_reported() {
        assert_eq!(
            decode(&[b"0123456789\nok\n"], 8),
            vec![None, Some(b"ok".to_vec())]
        );
    }

    #[test]
    fn an_over_long_line_never_grows_the_buffer() {
        let mut decoder = LineDecoder::default();
        let chunk = [b'x'; 4096];
        for _ in 0..1000 {
            let mut input = &chunk[..];
            while decoder.next_piece(&mut input, 2048).is_some() {}
            assert!(decoder.partial.capacity() <= 2049);
        }
    }

    #[test]
    fn a_completed_split_line_releases_its_buffer() {
        let mut decoder = LineDecoder::default();
        let mut input = &b"abc"[..];
        assert_eq!(decoder.next_piece(&mut input, 10), None);
        let mut input = &b"def\n"[..];
        assert_eq!(
            decoder.next_piece(&mut input, 10),
            Some(Piece::Line(b"abcdef"))
        );
        let mut input = &b""[..];
        assert_eq!(decoder.next_piece(&mut input, 10), None);
        assert_eq!(decoder.partial.capacity(), 0);
    }

    #[test]
    fn a_utf8_character_split_across_chunks_is_whole_in_the_line() {
        let text = "héllo".as_bytes();
        assert_eq!(
            decode(&[&text[..2], &text[2..], b"\n"], 100),
            lines(&["héllo"])
        );
    }

    #[test]
    fn finish_returns_an_unterminated_last_line_once() {
        let mut decoder = LineDecoder::default();
        let mut input = &b"bye"[..];
        assert_eq!(decoder.next_piece(&mut input, 10), None);
        assert_eq!(decoder.finish(10), Some(&b"bye"[..]));
        assert_eq!(decoder.finish(10), None);
    }

    #[test]
    fn finish_returns_nothing_while_discarding() {
        let mut decoder = LineDecoder::default();
        let mut input = &b"0123456789"[..];
        assert_eq!(decoder.next_piece(&mut input, 4), Some(Piece::TooLong));
        assert_eq!(decoder.finish(4), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Bytes from a small alphabet, so that newlines, CRs and long runs are common.
        fn stream() -> impl Strategy<Value = Vec<u8>> {
            prop::collection::vec(
                prop::sample::select(vec![b'a', b'b', b'\n', b'\r', 0xff, 0xc3]),
                0..200,
            )
        }

        proptest! {
            #[test]
            fn any_split_of_a_stream_decodes_like_the_whole(
                bytes in stream(),
                cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
                max_line in 1usize..12,
            ) {
                let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
                points.sort_unstable();
                let mut chunks = Vec::new();
                let mut start = 0;
                for point in points {
                    chunks.push(&bytes[start..point]);
                    start = point;
                }
                chunks.push(&bytes[start..]);
                prop_assert_eq!(decode(&chunks, max_line), decode(&[&bytes], max_line));
            }

            #[test]
            fn the_carried_over_tail_never_passes_the_bound(bytes in stream(), max_line in 1usize..12) {
                let mut decoder = LineDecoder::default();
                for byte in bytes {
                    let mut input = &[byte][..];
                    while decoder.next_piece(&mut input, max_line).is_some() {}
                    prop_assert!(decoder.partial.len() <= max_line + 1);
                }
            }
        }
    }
}
