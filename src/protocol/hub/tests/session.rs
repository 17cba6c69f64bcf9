//! Connecting, choosing a nickname, chatting and leaving, checked in memory.

use super::*;

#[test]
fn a_new_connection_is_greeted_and_asked_for_a_nickname() {
    let mut w = world();
    w.connect(0);
    let got = w.take(0);
    assert!(got.len() >= 2, "{got:?}");
    assert!(got.iter().all(|l| l.starts_with("*** ")));
    assert!(got.last().is_some_and(|l| l.contains("nickname")));
}

#[test]
fn registering_welcomes_the_client_and_tells_the_room() {
    let mut w = world();
    w.join(0, "alice");
    w.connect(1);
    w.take(1);
    w.line(1, "  bob  ");
    assert_eq!(
        w.take(1),
        ["*** Welcome, bob! You are in #lobby with 1 other. Type /help for commands."]
    );
    assert_eq!(w.take(0), ["*** bob joined #lobby"]);
    assert_eq!(w.hub.nick(ClientId(1)), Some("bob"));
}

#[test]
fn a_refused_nickname_gets_one_error_and_the_prompt_again() {
    let mut w = world();
    w.join(0, "alice");
    w.connect(1);
    w.take(1);
    for (bad, why) in [
        ("ALICE", "taken"),
        ("admin", "reserved"),
        ("9lives", "letter"),
        ("a b", "letters, digits"),
    ] {
        w.line(1, bad);
        let got = w.take(1);
        assert_eq!(got.len(), 2, "{bad}: {got:?}");
        assert!(
            got[0].starts_with("!!! ") && got[0].contains(why),
            "{bad}: {got:?}"
        );
        assert!(got[1].contains("nickname"), "{bad}: {got:?}");
        assert_eq!(w.hub.nick(ClientId(1)), None);
    }
    assert!(w.take(0).is_empty(), "nobody hears about refused nicknames");
}

#[test]
fn names_from_reserved_nicks_are_refused() {
    let mut w = World::new(Config {
        reserved_nicks: vec!["Bot".into()],
        ..Config::default()
    });
    w.connect(0);
    w.take(0);
    w.line(0, "bot");
    assert!(w.take(0)[0].contains("reserved"));
}

#[test]
fn chat_goes_to_everyone_else_in_order_and_is_not_echoed() {
    let mut w = world();
    w.join(0, "alice");
    w.join(1, "bob");
    w.join(2, "carol");
    w.take(0);
    w.take(1);
    w.send(0, b"one\ntwo\n");
    assert!(w.take(0).is_empty());
    assert_eq!(w.take(1), ["alice: one", "alice: two"]);
    assert_eq!(w.take(2), ["alice: one", "alice: two"]);
}

#[test]
fn chat_text_is_sanitised_and_blank_lines_are_dropped() {
    let mut w = world();
    w.join(0, "alice");
    w.join(1, "bob");
    w.take(0);
    w.send(1, b"\x1b[31mred\x1b[0m \xff\r\n   \n\x07\n");
    assert_eq!(w.take(0), ["bob: red \u{fffd}"]);
}

#[test]
fn an_over_long_line_gets_an_error_and_is_not_delivered() {
    let mut w = World::new(Config {
        max_line: 8,
        ..Config::default()
    });
    w.join(0, "alice");
    w.join(1, "bob");
    w.take(0);
    w.send(1, b"123456789\nok\n");
    assert_eq!(w.take(0), ["bob: ok"]);
    let errors = w.take(1);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("!!! ") && errors[0].contains('8'));
}

#[test]
fn end_of_input_delivers_the_last_line_then_leaves_and_closes() {
    let mut w = world();
    w.join(0, "alice");
    w.join(1, "bob");
    w.take(0);
    w.send(1, b"bye now");
    w.end_of_input(1);
    assert_eq!(w.take(0), ["bob: bye now", "*** bob left #lobby"]);
    assert_eq!(w.out.closed, [ClientId(1)]);
    assert_eq!(w.hub.client_count(), 1);
}

#[test]
fn a_lost_or_slow_client_is_announced_with_the_reason_and_not_closed_by_the_core() {
    let mut w = world();
    w.join(0, "alice");
    w.join(1, "bob");
    w.join(2, "carol");
    w.take(0);
    w.disconnect(1, Departure::ConnectionLost);
    w.disconnect(2, Departure::TooSlow);
    assert_eq!(
        w.take(0),
        [
            "*** bob left #lobby (connection lost)",
            "*** carol left #lobby (too slow to keep up)"
        ]
    );
    assert!(w.out.closed.is_empty());
}

#[test]
fn a_nickname_is_free_again_once_its_owner_left() {
    let mut w = world();
    w.join(0, "alice");
    w.disconnect(0, Departure::EndOfInput);
    w.join(1, "Alice");
    assert_eq!(w.hub.nick(ClientId(1)), Some("Alice"));
}

#[test]
fn an_unregistered_client_leaving_is_not_announced() {
    let mut w = world();
    w.join(0, "alice");
    w.connect(1);
    w.disconnect(1, Departure::ConnectionLost);
    assert!(w.take(0).is_empty());
    assert_eq!(w.hub.client_count(), 1);
}

#[test]
fn input_from_unknown_or_departed_clients_is_ignored() {
    let mut w = world();
    w.join(0, "alice");
    w.take(0);
    w.send(7, b"ghost\n");
    w.end_of_input(7);
    w.disconnect(7, Departure::ConnectionLost);
    assert!(w.take(0).is_empty());
    assert!(w.out.closed.is_empty());
}

#[test]
fn join_and_leave_notices_respect_the_announce_limit() {
    let mut w = World::new(Config {
        announce_limit: 2,
        ..Config::default()
    });
    w.join(0, "a");
    w.join(1, "b");
    assert_eq!(w.take(0), ["*** b joined #lobby"]);
    w.join(2, "c");
    assert!(w.take(0).is_empty(), "three members is past the limit");
    w.disconnect(2, Departure::EndOfInput);
    assert!(w.take(0).is_empty(), "c left a room of three");
    w.disconnect(1, Departure::EndOfInput);
    assert_eq!(w.take(0), ["*** b left #lobby"]);
}

#[test]
fn members_stay_reachable_whatever_order_others_leave_in() {
    let mut w = world();
    for id in 0..10 {
        w.join(id, &format!("n{id}"));
    }
    for id in [3, 0, 9, 5] {
        w.disconnect(id, Departure::EndOfInput);
    }
    for id in 0..10 {
        w.take(id);
    }
    w.line(1, "roll call");
    let reached: Vec<usize> = (0..10).filter(|&id| !w.take(id).is_empty()).collect();
    assert_eq!(reached, [2, 4, 6, 7, 8]);
}

#[test]
fn the_last_member_leaving_closes_the_room() {
    let mut w = world();
    w.join(0, "alice");
    w.disconnect(0, Departure::EndOfInput);
    assert!(w.hub.rooms.is_empty());
    assert!(w.hub.room_index.is_empty());
    w.join(1, "bob");
    assert_eq!(w.hub.rooms.len(), 1);
}

#[test]
fn shutdown_says_goodbye_to_every_client_and_closes_them() {
    let mut w = world();
    w.join(0, "alice");
    w.connect(1);
    w.take(1);
    w.hub.shutdown(&mut w.out);
    for id in 0..2 {
        let got = w.take(id);
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("*** ") && got[0].contains("shutting down"));
    }
    assert_eq!(w.out.closed, [ClientId(0), ClientId(1)]);
    assert_eq!(w.hub.client_count(), 0);
}

#[test]
fn a_reused_id_starts_a_fresh_client() {
    let mut w = world();
    w.join(0, "alice");
    w.disconnect(0, Departure::ConnectionLost);
    w.connect(0);
    assert_eq!(w.hub.nick(ClientId(0)), None);
    w.line(0, "alice");
    assert_eq!(w.hub.nick(ClientId(0)), Some("alice"));
}
