//! Contract item 6: the commands, over TCP, against every server the build has.

use crate::util::{config, start, unpaced, Client};
use chat_tokio_stream::config::Config;
use chat_tokio_stream::server::Backend;

/// alice and bob in #lobby, with bob's join notice read by alice.
fn alice_and_bob(addr: std::net::SocketAddr) -> (Client, Client) {
    let mut alice = Client::join(addr, "alice");
    let bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    (alice, bob)
}

/// /help lists every command, one usage per line, as notices.
fn help_lists_every_command(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, _bob) = alice_and_bob(server.local_addr());
    alice.send("/help");
    let header = alice.line();
    assert!(header.starts_with("*** "), "{header:?}");
    for usage in [
        "/help",
        "/nick NEW",
        "/who",
        "/me ACTION",
        "/msg NICK TEXT",
        "/join #room",
        "/rooms",
        "/history [N]",
        "/register PASSWORD",
        "/passwd OLD NEW",
        "/quit [MESSAGE]",
        "//text",
    ] {
        let line = alice.line();
        assert!(
            line.starts_with("*** ") && line.contains(usage),
            "expected {usage}, got {line:?}"
        );
    }
}

/// /nick renames: the room hears old and new, the old name is free at once, and the new
/// name is used for chat.
fn nick_renames_and_frees_the_old_name(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let (mut alice, mut bob) = alice_and_bob(addr);
    bob.send("/NICK robert");
    bob.expect("*** You are now known as robert");
    alice.expect("*** bob is now known as robert");
    let mut newcomer = Client::join(addr, "bob");
    newcomer.send("I am the new bob");
    alice.line_where(|l| l == "bob: I am the new bob");
    bob.line_where(|l| l == "bob: I am the new bob");
    bob.send("/nick alice");
    let error = bob.line();
    assert!(
        error.starts_with("!!! ") && error.contains("taken"),
        "{error:?}"
    );
    bob.send("still robert");
    alice.expect("robert: still robert");
}

/// /who names every member of the caller's room.
fn who_names_the_members_of_the_room(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, _bob) = alice_and_bob(server.local_addr());
    alice.send("/who");
    alice.expect("*** 2 members in #lobby: alice, bob");
}

/// /me sends an action line to the others.
fn me_sends_an_action(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, mut bob) = alice_and_bob(server.local_addr());
    bob.send("/me waves at everyone");
    alice.expect("* bob waves at everyone");
}

/// /msg reaches only its target; the sender gets a receipt; mistakes get "!!! ".
fn msg_is_private_and_confirmed(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let (mut alice, mut bob) = alice_and_bob(addr);
    let mut carol = Client::join(addr, "carol");
    alice.line_where(|l| l.contains("carol joined"));
    bob.line_where(|l| l.contains("carol joined"));
    alice.send("/msg Bob lunch at noon?");
    alice.expect("-> *bob* lunch at noon?");
    bob.expect("*alice* lunch at noon?");
    alice.send("/msg nobody hello");
    let error = alice.line();
    assert!(
        error.starts_with("!!! ") && error.contains("nobody"),
        "{error:?}"
    );
    alice.send("/msg alice hello me");
    assert!(alice.line().starts_with("!!! "));
    // carol heard none of it: the next thing she hears is alice speaking to the room.
    alice.send("public now");
    carol.expect("alice: public now");
}

/// /join moves between rooms: each room hears its own notices and chat, the newcomer gets
/// the room's history, and /rooms counts everyone.
fn join_moves_between_rooms_with_history(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let (mut alice, mut bob) = alice_and_bob(addr);
    alice.send("/join #rust");
    alice.expect("*** You are now in #rust with 0 others.");
    bob.expect("*** alice left #lobby");
    alice.send("first in rust");
    alice.send("/me is alone");
    // The server answers alice's lines in order: once /who is answered, both are in history.
    alice.send("/who");
    alice.expect("*** 1 member in #rust: alice");
    bob.send("/join rust");
    bob.expect("*** You are now in #rust with 1 other.");
    bob.expect("*** Last 2 messages in #rust:");
    bob.expect_history("alice: first in rust");
    bob.expect_history("* alice is alone");
    alice.expect("*** bob joined #rust");
    bob.send("/rooms");
    bob.expect("*** 1 room: #rust (2)");
    let mut carol = Client::join(addr, "carol");
    carol.send("/rooms");
    carol.expect("*** 2 rooms: #lobby (1), #rust (2)");
    carol.send("lobby only");
    bob.send("rust only");
    alice.expect("bob: rust only");
}

/// --history bounds the replay.
fn history_flag_bounds_the_replay(backend: Backend) {
    let server = start(
        backend,
        Config {
            history: 2,
            ..config()
        },
    );
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    for n in 1..=5 {
        alice.send(&format!("n{n}"));
    }
    alice.send("/who");
    alice.line_where(|l| l.contains("1 member"));
    let mut bob = Client::join(addr, "bob");
    bob.expect("*** Last 2 messages in #lobby:");
    bob.expect_history("alice: n4");
    bob.expect_history("alice: n5");
}

/// A history longer than any channel's item count is replayed whole: the output bound is in
/// bytes, and a reader that keeps reading is never cut off.
fn a_long_history_is_replayed_whole(backend: Backend) {
    let server = start(
        backend,
        Config {
            history: 1500,
            ..unpaced()
        },
    );
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let said: String = (0..1500).map(|n| format!("n{n}\n")).collect();
    alice.send_raw(said.as_bytes());
    alice.send("/who");
    alice.line_where(|l| l.contains("1 member"));
    let mut bob = Client::join(addr, "bob");
    bob.expect("*** Last 1500 messages in #lobby:");
    for n in 0..1500 {
        bob.expect_history(&format!("alice: n{n}"));
    }
    bob.send("/who");
    bob.expect("*** 2 members in #lobby: alice, bob");
}

/// /quit with a message: goodbye, the room sees the message, the server closes.
fn quit_with_a_message_closes_the_connection(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, mut bob) = alice_and_bob(server.local_addr());
    bob.send("/quit off to lunch");
    bob.expect("*** Goodbye!");
    bob.expect_closed();
    alice.expect("*** bob left #lobby (saying \"off to lunch\")");
}

/// "//text" sends "/text"; unknown commands get "!!! " and send nothing.
fn slash_escape_and_unknown_commands(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, mut bob) = alice_and_bob(server.local_addr());
    bob.send("/dance");
    let error = bob.line();
    assert!(
        error.starts_with("!!! ") && error.contains("/dance"),
        "{error:?}"
    );
    bob.send("//dance");
    alice.expect("bob: /dance");
}

backend_tests!(
    help_lists_every_command,
    nick_renames_and_frees_the_old_name,
    who_names_the_members_of_the_room,
    me_sends_an_action,
    msg_is_private_and_confirmed,
    join_moves_between_rooms_with_history,
    history_flag_bounds_the_replay,
    a_long_history_is_replayed_whole,
    quit_with_a_message_closes_the_connection,
    slash_escape_and_unknown_commands,
);
