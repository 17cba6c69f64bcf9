//! Splitting a client's byte stream into lines, with a hard bound on line length.
//!
//! Bytes arrive in arbitrary pieces: a line split across reads, several lines in one read, a
//! UTF-8 character cut in two. The decoder hands out complete lines (the LF removed, and a CR
//! right before it) and keeps only the unfinished tail of the last one. A line longer than
//! the bound is reported once and its remaining bytes are skipped as they arrive, never
//! stored: a 40 MB line costs the server nothing but the time to scan it.
//!
//! On the plain listener the decoder also speaks the minimum of Telnet (see
//! [`super::telnet`]): it looks for `IAC` in the same scan that looks for LF, so a client
//! that never sends an `IAC` costs nothing more.

use memchr::{memchr, memchr2};

use super::telnet::{Step, Telnet, IAC};

/// What `telnet` sends, as a line of its own, when its user presses Ctrl-D.
const CTRL_D: u8 = 0x04;

/// One result of decoding.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A complete line without its line ending. The bytes may be any bytes at all.
    Line(&'a [u8]),
    /// The current line is longer than the bound; the decoder discards it up to its LF.
    TooLong,
    /// The client asked to leave: Telnet's interrupt, break or end of file, or a Telnet line
    /// that is only Ctrl-D.
    Leave,
    /// Bytes to send back to the client (a Telnet answer).
    Reply([u8; 3]),
}

/// What the decoder is doing with the line in progress.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
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
    /// Where a Telnet client is inside a command sequence; `None` where Telnet is not spoken.
    telnet: Option<Telnet>,
}

impl LineDecoder {
    /// A decoder for a client that may be `telnet`, which sends commands in band.
    pub fn new(telnet: bool) -> Self {
        LineDecoder {
            telnet: telnet.then_some(Telnet::Data),
            ..LineDecoder::default()
        }
    }

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
        loop {
            if let Some(piece) = self.telnet_sequence(input, max_line) {
                return Some(piece);
            }
            if input.is_empty() {
                return None;
            }
            let special = match self.telnet {
                Some(_) => memchr2(b'\n', IAC, input),
                None => memchr(b'\n', input),
            };
            match special {
                None => return self.keep_unfinished(input, max_line),
                Some(at) if input[at] == IAC => {
                    let head = &input[..at];
                    *input = &input[at..];
                    if let Some(piece) = self.append(head, max_line) {
                        return Some(piece);
                    }
                }
                Some(newline) => {
                    let (head, rest) = (&input[..newline], &input[newline + 1..]);
                    *input = rest;
                    if self.state == State::Discarding {
                        self.state = State::Collecting;
                        continue;
                    }
                    let telnet = self.telnet.is_some();
                    return Some(match self.complete(head, max_line) {
                        Piece::Line([CTRL_D]) if telnet => Piece::Leave,
                        piece => piece,
                    });
                }
            }
        }
    }

    /// At end of input: the last line if the client sent one without a line ending, or
    /// [`Piece::TooLong`] if that line was over the bound.
    pub fn finish(&mut self, max_line: usize) -> Option<Piece<'_>> {
        match self.state {
            State::Discarding => {
                self.state = State::Delivered;
                Some(Piece::TooLong)
            }
            State::Collecting if !self.partial.is_empty() => {
                self.state = State::Delivered;
                let line = strip_cr(&self.partial);
                Some(if line.len() > max_line {
                    Piece::TooLong
                } else {
                    Piece::Line(line)
                })
            }
            State::Collecting | State::Delivered => None,
        }
    }

    /// Runs `input` through the Telnet state machine while a sequence is in progress (and
    /// at an `IAC`, which starts one). Returns a piece if the sequence produced one.
    fn telnet_sequence(&mut self, input: &mut &[u8], max_line: usize) -> Option<Piece<'static>> {
        let telnet = self.telnet.as_mut()?;
        while let Some((&byte, rest)) = input.split_first() {
            if !telnet.in_sequence() && byte != IAC {
                return None;
            }
            *input = rest;
            match telnet.step(byte) {
                Step::Nothing => {}
                Step::Data(byte) => {
                    if let Some(piece) = self.append(&[byte], max_line) {
                        return Some(piece);
                    }
                    return self.telnet_sequence(input, max_line);
                }
                Step::Reply(bytes) => return Some(Piece::Reply(bytes)),
                Step::Leave => {
                    // Like an interrupted line in a terminal: what was typed of it is gone.
                    self.partial = Vec::new();
                    self.state = State::Collecting;
                    return Some(Piece::Leave);
                }
            }
        }
        None
    }

    /// Appends bytes that belong to the current line without ending it.
    fn append(&mut self, bytes: &[u8], max_line: usize) -> Option<Piece<'static>> {
        if self.state == State::Discarding {
            return None;
        }
        if self.partial.len() + bytes.len() > max_line + 1 {
            self.partial = Vec::new();
            self.state = State::Discarding;
            return Some(Piece::TooLong);
        }
        self.partial.extend_from_slice(bytes);
        None
    }

    /// The line that `head` (the bytes before its LF) completes.
    fn complete<'r>(&'r mut self, head: &'r [u8], max_line: usize) -> Piece<'r> {
        if self.partial.is_empty() {
            let line = strip_cr(head);
            return if line.len() > max_line {
                Piece::TooLong
            } else {
                Piece::Line(line)
            };
        }
        if self.partial.len() + head.len() > max_line + 1 {
            self.partial = Vec::new();
            return Piece::TooLong;
        }
        self.partial.extend_from_slice(head);
        self.state = State::Delivered;
        let line = strip_cr(&self.partial);
        if line.len() > max_line {
            Piece::TooLong
        } else {
            Piece::Line(line)
        }
    }

    /// Stores an unfinished line, or reports it as too long if it already is.
    fn keep_unfinished(&mut self, input: &mut &[u8], max_line: usize) -> Option<Piece<'static>> {
        let unfinished = std::mem::take(input);
        self.append(unfinished, max_line)
    }
}

/// The line without the CR the contract says to drop before the LF.
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What came out, as owned values: `Some(line)`, or `None` for a line that was too long.
    type Decoded = Vec<Option<Vec<u8>>>;

    /// Feeds `chunks` one after another to `decoder` and collects the lines (Telnet answers
    /// and wishes to leave are left out; see the Telnet tests).
    fn decode_with(decoder: &mut LineDecoder, chunks: &[&[u8]], max_line: usize) -> Decoded {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut input = *chunk;
            while let Some(piece) = decoder.next_piece(&mut input, max_line) {
                match piece {
                    Piece::Line(line) => out.push(Some(line.to_vec())),
                    Piece::TooLong => out.push(None),
                    Piece::Leave | Piece::Reply(_) => {}
                }
            }
        }
        out
    }

    fn decode(chunks: &[&[u8]], max_line: usize) -> Decoded {
        decode_with(&mut LineDecoder::default(), chunks, max_line)
    }

    fn lines(items: &[&str]) -> Decoded {
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
        assert_eq!(decoder.finish(10), Some(Piece::Line(&b"bye"[..])));
        assert_eq!(decoder.finish(10), None);
    }

    #[test]
    fn finish_reports_an_unterminated_line_that_was_too_long() {
        let mut decoder = LineDecoder::default();
        let mut input = &b"0123456789"[..];
        assert_eq!(decoder.next_piece(&mut input, 4), Some(Piece::TooLong));
        assert_eq!(decoder.finish(4), Some(Piece::TooLong));
        assert_eq!(decoder.finish(4), None);
        let mut decoder = LineDecoder::default();
        let mut input = &b"01234"[..];
        assert_eq!(decoder.next_piece(&mut input, 4), None, "bound + 1 is kept");
        assert_eq!(decoder.finish(4), Some(Piece::TooLong));
    }

    /// Everything that comes out, Telnet answers and wishes to leave included, as text.
    fn telnet_pieces(chunks: &[&[u8]], max_line: usize) -> Vec<String> {
        let mut decoder = LineDecoder::new(true);
        let mut out = Vec::new();
        for chunk in chunks {
            let mut input = *chunk;
            while let Some(piece) = decoder.next_piece(&mut input, max_line) {
                out.push(match piece {
                    Piece::Line(line) => format!("line {}", String::from_utf8_lossy(line)),
                    Piece::TooLong => "too long".to_owned(),
                    Piece::Leave => "leave".to_owned(),
                    Piece::Reply(bytes) => format!("reply {bytes:?}"),
                });
            }
        }
        out
    }

    #[test]
    fn telnet_ctrl_c_as_telnet_sends_it_is_a_wish_to_leave_and_an_answer() {
        // Typed "still here?", Enter, then Ctrl-C: IAC IP, IAC DO TIMING-MARK.
        assert_eq!(
            telnet_pieces(&[b"still here?\r\n", &[255, 244, 255, 253, 6]], 100),
            ["line still here?", "leave", "reply [255, 251, 6]"]
        );
    }

    #[test]
    fn telnet_negotiation_inside_a_line_is_taken_out_and_refused() {
        assert_eq!(
            telnet_pieces(&[b"he", &[255, 253, 24, b'l'], b"lo\n"], 100),
            ["reply [255, 252, 24]", "line hello"]
        );
    }

    #[test]
    fn telnet_sequences_split_across_reads_are_understood() {
        assert_eq!(
            telnet_pieces(&[b"a", &[255], &[250, 24], &[1, 255], &[240], b"b\n"], 100),
            ["line ab"]
        );
    }

    #[test]
    fn telnet_ctrl_d_alone_on_a_line_is_a_wish_to_leave() {
        assert_eq!(
            telnet_pieces(&[b"a\x04\r\n\x04\r\n"], 100),
            ["line a\u{4}", "leave"]
        );
        assert_eq!(decode(&[b"\x04\n"], 100), vec![Some(vec![4])]);
    }

    #[test]
    fn telnet_escaped_ff_is_a_data_byte() {
        assert_eq!(
            telnet_pieces(&[&[b'x', 255, 255, b'y', b'\n']], 100),
            ["line x\u{fffd}y"]
        );
    }

    #[test]
    fn telnet_interrupt_inside_an_over_long_line_still_leaves() {
        assert_eq!(
            telnet_pieces(&[b"0123456789", &[255, 244]], 4),
            ["too long", "leave"]
        );
    }

    #[test]
    fn without_telnet_ff_bytes_are_data() {
        assert_eq!(
            decode(&[&[255, 244, b'\n']], 100),
            vec![Some(vec![255, 244])]
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Bytes from a small alphabet, so that newlines, CRs, IACs and long runs are common.
        fn stream() -> impl Strategy<Value = Vec<u8>> {
            prop::collection::vec(
                prop::sample::select(vec![
                    b'a', b'b', b'\n', b'\r', 0xff, 0xc3, 253, 244, 250, 240,
                ]),
                0..200,
            )
        }

        /// Splits `bytes` at the given cut points.
        fn split<'a>(bytes: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
            let mut points: Vec<usize> =
                cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for point in points {
                chunks.push(&bytes[start..point]);
                start = point;
            }
            chunks.push(&bytes[start..]);
            chunks
        }

        proptest! {
            #[test]
            fn any_split_of_a_stream_decodes_like_the_whole(
                bytes in stream(),
                cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
                max_line in 1usize..12,
                telnet: bool,
            ) {
                let chunks = split(&bytes, &cuts);
                prop_assert_eq!(
                    decode_with(&mut LineDecoder::new(telnet), &chunks, max_line),
                    decode_with(&mut LineDecoder::new(telnet), &[&bytes], max_line)
                );
            }

            #[test]
            fn the_carried_over_tail_never_passes_the_bound(
                bytes in stream(),
                max_line in 1usize..12,
                telnet: bool,
            ) {
                let mut decoder = LineDecoder::new(telnet);
                for byte in bytes {
                    let mut input = &[byte][..];
                    while decoder.next_piece(&mut input, max_line).is_some() {}
                    prop_assert!(decoder.partial.len() <= max_line + 1);
                }
            }

            #[test]
            fn escaped_data_comes_out_of_telnet_as_it_went_in(bytes in stream(), max_line in 1usize..12) {
                let escaped: Vec<u8> = bytes
                    .iter()
                    .flat_map(|&b| if b == IAC { vec![IAC, IAC] } else { vec![b] })
                    .collect();
                prop_assert_eq!(
                    decode_with(&mut LineDecoder::new(true), &[&escaped], max_line),
                    decode(&[&bytes], max_line)
                );
            }
        }
    }
}
