//! Contract item 7: bad input never kills the server or anyone's session. Line endings and
//! split writes, over-long lines, invalid UTF-8, terminal escapes and bidi tricks.

use crate::util::{config, start, unpaced, Client};
use chat_tokio_stream::config::Config;
use chat_tokio_stream::server::Backend;

/// Two registered clients, alice and bob, with bob's join notice already read by alice.
fn alice_and_bob(addr: std::net::SocketAddr) -> (Client, Client) {
    let mut alice = Client::join(addr, "alice");
    let bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    (alice, bob)
}

/// CRLF line endings (telnet's) are accepted, and the CR is not delivered.
fn crlf_is_a_line_ending(backend: Backend) {
    let server = start(backend, config());
    let mut bob = Client::join(server.local_addr(), "bob");
    let mut alice = Client::connect(server.local_addr());
    alice.read_prompt();
    alice.send_raw(b"alice\r\nhi there\r\n");
    bob.expect("*** alice joined #lobby");
    bob.expect("alice: hi there");
}

/// A line written in several pieces, with pauses between them, arrives as one line.
fn a_line_split_across_writes_arrives_whole(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, mut bob) = alice_and_bob(server.local_addr());
    bob.send_raw(b"hel");
    std::thread::sleep(std::time::Duration::from_millis(50));
    bob.send_raw(b"lo wo");
    std::thread::sleep(std::time::Duration::from_millis(50));
    bob.send_raw(b"rld\n");
    alice.expect("bob: hello world");
}

/// A multi-byte character cut in two between writes is delivered intact.
fn a_utf8_character_split_across_writes_is_intact(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, mut bob) = alice_and_bob(server.local_addr());
    let text = "naïve ☕ café\n".as_bytes();
    let cut = text
        .iter()
        .position(|&b| b == 0xE2)
        .expect("the cup's first byte")
        + 1;
    bob.send_raw(&text[..cut]);
    std::thread::sleep(std::time::Duration::from_millis(50));
    bob.send_raw(&text[cut..]);
    alice.expect("bob: naïve ☕ café");
}

/// A line over --max-line: the sender is told, the line is dropped whole, and both the
/// connection and the lines around it work.
fn an_over_long_line_is_refused_and_the_connection_keeps_working(backend: Backend) {
    let server = start(
        backend,
        Config {
            max_line: 64,
            ..config()
        },
    );
    let (mut alice, mut bob) = alice_and_bob(server.local_addr());
    let long = "x".repeat(65);
    bob.send_raw(format!("before\n{long}").as_bytes());
    std::thread::sleep(std::time::Duration::from_millis(50));
    bob.send_raw(format!("{long}\nafter\n").as_bytes());
    alice.expect("bob: before");
    let error = bob.line();
    assert!(
        error.starts_with("!!! ") && error.contains("64"),
        "{error:?}"
    );
    alice.expect("bob: after");
    // A line of exactly the limit, with CRLF, is fine.
    let exact = "y".repeat(64);
    bob.send(&format!("{exact}\r"));
    alice.expect(&format!("bob: {exact}"));
}

/// Invalid UTF-8 is delivered with U+FFFD in place of each bad sequence.
fn invalid_utf8_becomes_replacement_characters(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, mut bob) = alice_and_bob(server.local_addr());
    bob.send_raw(b"bad \xc0\xfe bytes \xc3\n");
    alice.expect("bob: bad \u{fffd}\u{fffd} bytes \u{fffd}");
}

/// ANSI escape sequences are removed whole: no colour codes, no title change, no leftovers.
fn ansi_escape_sequences_are_removed(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, mut bob) = alice_and_bob(server.local_addr());
    bob.send_raw(b"\x1b[2J\x1b[H\x1b[1;31mred alert\x1b[0m\x1b]0;pwned\x07!\n");
    alice.expect("bob: red alert!");
}

/// Control characters and the bidi overrides and isolates are removed; TAB is kept.
fn control_and_bidi_characters_are_removed(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, mut bob) = alice_and_bob(server.local_addr());
    bob.send_raw(
        "a\x07b\x08c\x7fd\u{85}e\tf \u{202e}gnp.exe\u{202c} \u{2066}x\u{2069}\n".as_bytes(),
    );
    alice.expect("bob: abcde\tf gnp.exe x");
}

/// Empty and whitespace-only lines, and lines that are empty once cleaned, are ignored.
fn blank_lines_are_ignored(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, mut bob) = alice_and_bob(server.local_addr());
    bob.send_raw(b"\n \n\t\r\n\x1b[0m\n\x07\nreal\n");
    alice.expect("bob: real");
}

/// A NUL-laden, invalid, escape-filled mess does not hurt the server: the sender's session
/// goes on and so does everyone else's.
fn garbage_does_not_break_the_session(backend: Backend) {
    let server = start(backend, unpaced());
    let (mut alice, mut bob) = alice_and_bob(server.local_addr());
    let garbage: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    bob.send_raw(&garbage);
    bob.send_raw(b"\nstill alive\n");
    alice.line_where(|l| l == "bob: still alive");
    alice.send("and well");
    bob.line_where(|l| l == "alice: and well");
}

backend_tests!(
    crlf_is_a_line_ending,
    a_line_split_across_writes_arrives_whole,
    a_utf8_character_split_across_writes_is_intact,
    an_over_long_line_is_refused_and_the_connection_keeps_working,
    invalid_utf8_becomes_replacement_characters,
    ansi_escape_sequences_are_removed,
    control_and_bidi_characters_are_removed,
    blank_lines_are_ignored,
    garbage_does_not_break_the_session,
);
