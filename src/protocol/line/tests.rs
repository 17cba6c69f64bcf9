//! The line decoder's tests: lines split anywhere, bounds, CR handling.

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
        let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
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
