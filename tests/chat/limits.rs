//! Contract item 8, over TCP against every server the build has: flood control, the
//! connection cap and the login timeout. (The output bound is in tests/memory.rs, since it
//! measures memory.)

use std::time::{Duration, Instant};

use crate::util::{config, start, unpaced, Client};
use chat_tokio_stream::config::Config;
use chat_tokio_stream::server::Backend;

/// --rate-limit 5 (bursts of 10): 50 lines pasted at once all arrive, in order, the first
/// ten at once and the other forty at five a second; the sender is told once that it is
/// being slowed down, and nobody else waits for it.
fn a_pasted_block_arrives_whole_and_paced(backend: Backend) {
    let server = start(
        backend,
        Config {
            rate_limit: 5,
            ..config()
        },
    );
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut carol = Client::join(addr, "carol");
    alice.line_where(|l| l.contains("carol joined"));
    let mut bob = Client::join(addr, "bob");
    alice.expect("*** bob joined #lobby");
    carol.expect("*** bob joined #lobby");
    // The nickname took a token; let the bucket fill up again.
    std::thread::sleep(Duration::from_millis(300));
    let paste: String = (0..50).map(|n| format!("pasted {n}\n")).collect();
    let sent = Instant::now();
    bob.send_raw(paste.as_bytes());
    let mut arrived = Vec::new();
    for n in 0..50 {
        alice.expect(&format!("bob: pasted {n}"));
        arrived.push(sent.elapsed());
        if n == 12 {
            // Meanwhile, carol is not held up by bob's pace.
            carol.line_where(|l| l == "bob: pasted 12");
            carol.send("I am not paced");
            alice.expect("carol: I am not paced");
        }
    }
    assert!(
        arrived[9] < Duration::from_secs(2),
        "the first ten came at once: {:?}",
        arrived[9]
    );
    assert!(
        arrived[49] - arrived[9] >= Duration::from_millis(7500),
        "the other forty were paced at five a second: {:?}",
        arrived[49] - arrived[9]
    );
    let warning = bob.line();
    assert!(
        warning.starts_with("!!! ") && warning.contains("slow down"),
        "{warning:?}"
    );
    bob.send("/who");
    let next = bob.line_where(|l| l.starts_with("!!! ") || l.starts_with("*** 3 members"));
    assert!(
        next.starts_with("*** 3 members"),
        "one warning only: {next:?}"
    );
}

/// --max-clients 2: the third connection gets one "!!! " line and is closed; once someone
/// leaves there is room again.
fn the_connection_past_max_clients_is_refused(backend: Backend) {
    let server = start(
        backend,
        Config {
            max_clients: 2,
            ..config()
        },
    );
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let bob = Client::join(addr, "bob");
    Client::connect(addr).expect_error_and_close("full");
    drop(bob);
    alice.line_where(|l| l.contains("bob left"));
    let _carol = Client::join(addr, "carol");
}

/// A refused connection that has already sent input still gets its "!!! " line and a clean
/// close, not a reset that could destroy the line on its way.
fn a_refused_connection_with_unread_input_is_closed_cleanly(backend: Backend) {
    let server = start(
        backend,
        Config {
            max_clients: 1,
            ..config()
        },
    );
    let _alice = Client::join(server.local_addr(), "alice");
    let mut late = Client::connect(server.local_addr());
    late.send_raw(format!("bob\n{}\n", "x".repeat(100_000)).as_bytes());
    late.expect_error_and_close("full");
}

/// A client that quits with a megabyte of input behind its /quit (more than the server reads
/// before acting on it) gets its goodbye and a clean close, not a reset.
fn quitting_with_input_still_unread_is_a_clean_close(backend: Backend) {
    let server = start(backend, unpaced());
    let mut bob = Client::join(server.local_addr(), "bob");
    bob.send_raw(format!("/quit\n{}", "y".repeat(1 << 20)).as_bytes());
    bob.expect("*** Goodbye!");
    bob.expect_closed();
}

/// --max-rooms 2: with #lobby and #a in use, a new room is refused with "!!! " and nothing
/// changes; an existing room can still be joined.
fn new_rooms_past_max_rooms_are_refused(backend: Backend) {
    let server = start(
        backend,
        Config {
            max_rooms: 2,
            ..config()
        },
    );
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    let mut carol = Client::join(addr, "carol");
    carol.send("/join #a");
    carol.expect("*** You are now in #a with 0 others.");
    bob.send("/join #b");
    let refusal = bob.line_where(|l| l.starts_with("!!! "));
    assert!(refusal.contains("2 rooms"), "{refusal:?}");
    bob.send("/join #a");
    bob.expect("*** You are now in #a with 1 other.");
    alice.line_where(|l| l == "*** bob left #lobby");
}

/// --login-timeout 1: a connection that never picks a nickname is told and closed; one that
/// did is left alone.
fn a_connection_without_a_nickname_is_closed_at_the_login_timeout(backend: Backend) {
    let server = start(
        backend,
        Config {
            login_timeout: Duration::from_secs(1),
            ..config()
        },
    );
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut idle = Client::connect(addr);
    idle.read_prompt();
    idle.expect_error_and_close("nickname");
    let mut bob = Client::join(addr, "bob");
    alice.expect("*** bob joined #lobby");
    std::thread::sleep(Duration::from_millis(1500));
    bob.send("still here");
    alice.expect("bob: still here");
}

backend_tests!(
    a_pasted_block_arrives_whole_and_paced,
    the_connection_past_max_clients_is_refused,
    a_refused_connection_with_unread_input_is_closed_cleanly,
    quitting_with_input_still_unread_is_a_clean_close,
    new_rooms_past_max_rooms_are_refused,
    a_connection_without_a_nickname_is_closed_at_the_login_timeout,
);
