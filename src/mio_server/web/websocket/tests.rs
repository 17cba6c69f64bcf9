//! The frame reader, fed client frames in every shape: masked, fragmented, cut anywhere.

use super::*;

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame as a browser sends it: masked.
fn frame(opcode: OpCode, is_final: bool, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        is_final,
        opcode,
        mask: Some(MASK),
        ..FrameHeader::default()
    };
    let mut bytes = Vec::new();
    header.format(payload.len() as u64, &mut bytes).unwrap();
    bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    bytes
}

fn text(payload: &str) -> Vec<u8> {
    frame(OpCode::Data(Data::Text), true, payload.as_bytes())
}

/// What the decoder makes of `bytes` fed in pieces of `piece` bytes: text messages
/// (joined), pings and closes as strings; stops at a failure.
fn decode(bytes: &[u8], piece: usize) -> Result<Vec<String>, Failure> {
    let mut decoder = Decoder::default();
    let mut events = Vec::new();
    let mut message = Vec::new();
    for chunk in bytes.chunks(piece) {
        let mut chunk = chunk.to_vec();
        let mut at = 0;
        while let Some(event) = decoder.next(&mut chunk, &mut at)? {
            match event {
                Event::Text(range) => message.extend_from_slice(&chunk[range]),
                Event::MessageEnd => {
                    events.push(String::from_utf8(std::mem::take(&mut message)).unwrap())
                }
                Event::Ping(payload) => events.push(format!("ping {payload:?}")),
                Event::Close(code) => events.push(format!("close {}", u16::from(code))),
            }
        }
    }
    Ok(events)
}

#[test]
fn masked_text_is_unmasked_whatever_the_pieces() {
    let mut bytes = text("hello");
    bytes.extend(text(&"é".repeat(200)));
    for piece in [1, 2, 3, 7, 100, 1000] {
        assert_eq!(
            decode(&bytes, piece).unwrap(),
            ["hello".to_string(), "é".repeat(200)],
            "{piece}"
        );
    }
}

#[test]
fn fragments_make_one_message_and_pings_may_come_between_them() {
    let mut bytes = frame(OpCode::Data(Data::Text), false, b"one ");
    bytes.extend(frame(OpCode::Control(Control::Ping), true, b"hi"));
    bytes.extend(frame(OpCode::Data(Data::Continue), false, b"two "));
    bytes.extend(frame(OpCode::Data(Data::Continue), true, b"three"));
    for piece in [1, 5, 1000] {
        assert_eq!(
            decode(&bytes, piece).unwrap(),
            ["ping [104, 105]", "one two three"],
            "{piece}"
        );
    }
}

#[test]
fn a_close_is_answered_with_its_code() {
    let mut bytes = frame(OpCode::Control(Control::Close), true, &[0x03, 0xe9]);
    assert_eq!(decode(&bytes, 1).unwrap(), ["close 1001"]);
    bytes = frame(OpCode::Control(Control::Close), true, b"");
    assert_eq!(decode(&bytes, 3).unwrap(), ["close 1000"]);
    bytes = frame(OpCode::Control(Control::Close), true, &[0x03]);
    assert_eq!(decode(&bytes, 3).unwrap_err().code, CloseCode::Protocol);
}

#[test]
fn binary_is_refused_with_1003() {
    let bytes = frame(OpCode::Data(Data::Binary), true, b"\x00\x01");
    assert_eq!(
        decode(&bytes, 100).unwrap_err().code,
        CloseCode::Unsupported
    );
}

#[test]
fn bad_utf8_is_refused_with_1007_even_split_across_frames() {
    let bytes = frame(OpCode::Data(Data::Text), true, b"ok \xff");
    assert_eq!(decode(&bytes, 100).unwrap_err().code, CloseCode::Invalid);
    let euro = "€".as_bytes();
    let mut split = frame(OpCode::Data(Data::Text), false, &euro[..1]);
    split.extend(frame(OpCode::Data(Data::Continue), true, &euro[1..]));
    assert_eq!(decode(&split, 1).unwrap(), ["€"]);
    let cut = frame(OpCode::Data(Data::Text), true, &euro[..2]);
    assert_eq!(decode(&cut, 100).unwrap_err().code, CloseCode::Invalid);
}

#[test]
fn protocol_errors_are_refused_with_1002() {
    let unmasked = [0x81, 0x02, b'h', b'i'];
    let continuation = frame(OpCode::Data(Data::Continue), true, b"x");
    let mut nested = frame(OpCode::Data(Data::Text), false, b"a");
    nested.extend(text("b"));
    let long_ping = frame(OpCode::Control(Control::Ping), true, &[0; 126]);
    let fragmented_ping = frame(OpCode::Control(Control::Ping), false, b"");
    let mut reserved = text("x");
    reserved[0] |= 0x40;
    let unknown = [0x83, 0x80, 0, 0, 0, 0];
    for bytes in [
        &unmasked[..],
        &continuation,
        &nested,
        &long_ping,
        &fragmented_ping,
        &reserved,
        &unknown,
    ] {
        assert_eq!(
            decode(bytes, 100).unwrap_err().code,
            CloseCode::Protocol,
            "{bytes:?}"
        );
    }
}

#[test]
fn pongs_are_ignored_and_server_frames_are_unmasked() {
    let bytes = frame(OpCode::Control(Control::Pong), true, b"x");
    assert_eq!(decode(&bytes, 100).unwrap(), Vec::<String>::new());
    assert_eq!(pong(b"hi".to_vec()).as_bytes(), [0x8a, 2, b'h', b'i']);
    assert_eq!(
        close(CloseCode::Unsupported).as_bytes(),
        [0x88, 2, 0x03, 0xeb]
    );
}
