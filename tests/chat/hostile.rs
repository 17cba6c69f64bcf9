//! Hostile clients, beyond the bad input of contract item 7: a megabyte of random bytes, a
//! client that stalls mid-line, resets in the middle of a write, half-closed sockets. The
//! server must neither crash nor let one client hurt another's session.

use std::time::Duration;

use crate::util::{config, start, unpaced, Client};
use chat_tokio_stream::config::Config;
use chat_tokio_stream::server::Backend;

/// Deterministic pseudo-random bytes (xorshift), so that a failure can be replayed. Never
/// 0xFF, which on the plain listener starts a Telnet command (tests/chat/telnet.rs).
fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            match (seed >> 32) as u8 {
                0xff => 0xfe,
                byte => byte,
            }
        })
        .collect()
}

/// True if `line` is something a terminal can show as-is: no control characters but TAB,
/// no escape, no bidi control.
fn is_terminal_safe(line: &str) -> bool {
    line.chars().all(|c| {
        c == '\t'
            || !(c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c))
    })
}

/// 1 MB of random bytes, newlines and all, from a registered client with flood control off:
/// everything that reaches the others is terminal-safe UTF-8, and both sessions go on. (The
/// output bound is raised: relayed with U+FFFD for every bad byte, the noise is ~3 MB, more
/// than a reader in a debug build keeps up with; the bound has tests of its own.)
fn a_megabyte_of_random_lines_is_relayed_safely(backend: Backend) {
    let server = start(
        backend,
        Config {
            max_outbuf: 64 << 20,
            ..unpaced()
        },
    );
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    let noise = random_bytes(1 << 20, 0x9e37_79b9_7f4a_7c15);
    let writer = std::thread::spawn(move || {
        bob.send_raw(&noise);
        bob.send_raw(b"\nthe end\n");
        bob
    });
    loop {
        let line = alice.line();
        assert!(is_terminal_safe(&line), "unsafe line relayed: {line:?}");
        if line == "bob: the end" {
            break;
        }
    }
    let mut bob = writer.join().expect("the noise was sent");
    alice.send("still talking to you");
    bob.line_where(|l| l == "alice: still talking to you");
}

/// 1 MB of random bytes with no newline at all: one "too long" error, nothing relayed, and
/// the connection works once a newline ends the monster line.
fn a_megabyte_without_newlines_is_refused_and_skipped(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    let noise: Vec<u8> = random_bytes(1 << 20, 42)
        .into_iter()
        .map(|b| if b == b'\n' { b'.' } else { b })
        .collect();
    bob.send_raw(&noise);
    bob.send_raw(b"\nback to normal\n");
    alice.expect("bob: back to normal");
    let error = bob.line();
    assert!(
        error.starts_with("!!! ") && error.contains("too long"),
        "{error:?}"
    );
}

/// A client that sends half a line and stalls holds up nobody, and its line is delivered
/// whole when it finally finishes it; one that stalls halfway through its nickname is closed
/// at the login timeout.
fn a_client_stalling_mid_line_holds_up_nobody(backend: Backend) {
    let server = start(
        backend,
        Config {
            login_timeout: Duration::from_secs(1),
            ..config()
        },
    );
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut carol = Client::join(addr, "carol");
    let mut staller = Client::join(addr, "staller");
    alice.line_where(|l| l.contains("staller joined"));
    carol.line_where(|l| l.contains("staller joined"));
    staller.send_raw(b"this line never seems to en");
    let mut half_nick = Client::connect(addr);
    half_nick.read_prompt();
    half_nick.send_raw(b"ali");
    for n in 0..5 {
        carol.send(&format!("meanwhile {n}"));
        alice.expect(&format!("carol: meanwhile {n}"));
    }
    let closing = half_nick.line();
    assert!(closing.starts_with("!!! "), "{closing:?}");
    half_nick.expect_closed();
    staller.send_raw(b"d\n");
    alice.expect("staller: this line never seems to end");
}

/// A client that resets its connection while the server is writing a backlog to it: the
/// server drops it, tells the room, and carries on.
fn a_reset_in_the_middle_of_a_write_hurts_nobody(backend: Backend) {
    let server = start(backend, unpaced());
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let victim = Client::join(addr, "victim");
    let mut bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    let padding = "y".repeat(500);
    let burst: String = (0..2000).map(|n| format!("{n} {padding}\n")).collect();
    bob.send_raw(burst.as_bytes());
    alice.line_where(|l| l.starts_with("bob: 100 "));
    victim.reset();
    alice.line_where(|l| l.contains("victim left"));
    bob.send("after the reset");
    alice.line_where(|l| l == "bob: after the reset");
}

/// A client that half-closes after a command still gets the answer, then the close; the room
/// hears that it left.
fn a_half_closed_client_gets_its_answer_then_the_close(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    bob.send("/who");
    bob.shutdown_write();
    bob.expect("*** 2 members in #lobby: alice, bob");
    bob.expect_closed();
    alice.expect("*** bob left #lobby");
}

backend_tests!(
    a_megabyte_of_random_lines_is_relayed_safely,
    a_megabyte_without_newlines_is_refused_and_skipped,
    a_client_stalling_mid_line_holds_up_nobody,
    a_reset_in_the_middle_of_a_write_hurts_nobody,
    a_half_closed_client_gets_its_answer_then_the_close,
);
