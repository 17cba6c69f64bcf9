//! The commands (contract item 6), checked in memory: help, nick, who, rooms, msg, join and
//! its history replay, quit.

use super::*;

#[test]
fn help_lists_every_command_with_its_usage() {
    let mut w = trio();
    w.line(0, "/HeLp");
    let help = w.take(0);
    assert!(help.iter().all(|l| l.starts_with("*** ")));
    for usage in [
        "/help",
        "/nick NEW",
        "/who",
        "/me ACTION",
        "/msg NICK TEXT",
        "/join #room",
        "/rooms",
        "/quit [MESSAGE]",
        "//text",
    ] {
        assert!(
            help.iter().any(|l| l.contains(usage)),
            "{usage} missing from {help:?}"
        );
    }
    assert!(w.take(1).is_empty());
}

#[test]
fn unknown_commands_and_missing_arguments_get_an_error_and_send_nothing() {
    let mut w = trio();
    for (line, expected) in [
        ("/dance", "/dance"),
        ("/nick", "/nick NEW"),
        ("/msg bob", "/msg NICK TEXT"),
        ("/me", "/me ACTION"),
        ("/join", "/join #room"),
    ] {
        w.line(0, line);
        let got = w.take(0);
        assert_eq!(got.len(), 1, "{line}: {got:?}");
        assert!(
            got[0].starts_with("!!! ") && got[0].contains(expected),
            "{line}: {got:?}"
        );
    }
    assert!(w.take(1).is_empty());
}

#[test]
fn a_double_slash_sends_a_literal_slash() {
    let mut w = trio();
    w.line(0, "//shrug");
    assert_eq!(w.take(1), ["alice: /shrug"]);
}

#[test]
fn me_sends_an_action_to_the_others() {
    let mut w = trio();
    w.line(0, "/me waves");
    assert_eq!(w.take(1), ["* alice waves"]);
    assert_eq!(w.take(2), ["* alice waves"]);
    assert!(w.take(0).is_empty());
}

#[test]
fn nick_renames_frees_the_old_name_at_once_and_tells_the_room() {
    let mut w = trio();
    w.line(0, "/nick alicia");
    assert_eq!(w.take(0), ["*** You are now known as alicia"]);
    assert_eq!(w.take(1), ["*** alice is now known as alicia"]);
    assert_eq!(w.take(2), ["*** alice is now known as alicia"]);
    w.line(1, "/nick ALICE");
    assert_eq!(w.take(1), ["*** You are now known as ALICE"]);
    w.take(0);
    w.line(0, "hi");
    assert_eq!(w.take(2), ["*** bob is now known as ALICE", "alicia: hi"]);
}

#[test]
fn nick_keeps_the_rules_of_the_first_nickname() {
    let mut w = World::new(Config {
        reserved_nicks: vec!["bot".into()],
        ..Config::default()
    });
    w.join(0, "alice");
    w.join(1, "bob");
    w.take(0);
    for (new, why) in [
        ("BOB", "taken"),
        ("root", "reserved"),
        ("bot", "reserved"),
        ("9x", "letter"),
        ("a.b", "letters"),
    ] {
        w.line(0, &format!("/nick {new}"));
        let got = w.take(0);
        assert_eq!(got.len(), 1, "{new}: {got:?}");
        assert!(
            got[0].starts_with("!!! ") && got[0].contains(why),
            "{new}: {got:?}"
        );
    }
    assert_eq!(w.hub.nick(ClientId(0)), Some("alice"));
    assert!(w.take(1).is_empty());
}

#[test]
fn nick_may_change_only_the_case() {
    let mut w = trio();
    w.line(0, "/nick Alice");
    assert_eq!(w.take(0), ["*** You are now known as Alice"]);
    w.line(0, "/nick Alice");
    assert!(w.take(0)[0].starts_with("!!! "));
}

#[test]
fn who_names_every_member_of_the_room_only() {
    let mut w = trio();
    w.line(2, "/join #other");
    w.drain();
    w.line(1, "/who");
    assert_eq!(w.take(1), ["*** 2 members in #lobby: alice, bob"]);
}

#[test]
fn who_splits_a_big_room_over_several_lines_and_names_everyone() {
    let mut w = World::new(Config {
        announce_limit: 0,
        ..Config::default()
    });
    for id in 0..300 {
        w.join(id, &format!("member{id:03}"));
    }
    w.line(0, "/who");
    let lines = w.take(0);
    assert!(lines.len() > 1, "{lines:?}");
    assert!(lines[0].starts_with("*** 300 members in #lobby: "));
    assert!(lines
        .iter()
        .all(|l| l.starts_with("*** ") && l.len() <= LISTING_LIMIT));
    let named: usize = lines.iter().map(|l| l.matches("member").count()).sum();
    assert_eq!(named, 301, "300 nicks plus the header's 'members'");
}

/// What a listing line may be at most: the listing bound plus the `*** ` prefix.
const LISTING_LIMIT: usize = 400 + 4;

#[test]
fn rooms_lists_every_room_with_its_member_count() {
    let mut w = trio();
    w.line(1, "/join #rust");
    w.line(2, "/join #Rust");
    w.drain();
    w.line(0, "/rooms");
    assert_eq!(w.take(0), ["*** 2 rooms: #lobby (1), #rust (2)"]);
}

#[test]
fn msg_reaches_only_its_target_and_confirms_to_the_sender() {
    let mut w = trio();
    w.line(0, "/msg BOB meet me at noon");
    assert_eq!(w.take(1), ["*alice* meet me at noon"]);
    assert_eq!(w.take(0), ["-> *bob* meet me at noon"]);
    assert!(w.take(2).is_empty());
}

#[test]
fn msg_reaches_a_member_of_another_room() {
    let mut w = trio();
    w.line(1, "/join #away");
    w.take(1);
    w.line(0, "/msg bob psst");
    assert_eq!(w.take(1), ["*alice* psst"]);
}

#[test]
fn msg_to_yourself_or_to_nobody_is_an_error() {
    let mut w = trio();
    w.line(0, "/msg alice hi me");
    w.line(0, "/msg zed hi");
    let got = w.take(0);
    assert_eq!(got.len(), 2);
    assert!(got[0].starts_with("!!! ") && got[0].contains("you"));
    assert!(got[1].starts_with("!!! ") && got[1].contains("zed"));
    assert!(w.take(1).is_empty() && w.take(2).is_empty());
}

#[test]
fn join_moves_the_client_and_both_rooms_hear_about_it() {
    let mut w = trio();
    w.line(0, "/join #rust");
    assert_eq!(w.take(0), ["*** You are now in #rust with 0 others."]);
    assert_eq!(w.take(1), ["*** alice left #lobby"]);
    assert_eq!(w.take(2), ["*** alice left #lobby"]);
    w.line(1, "/join rust");
    assert_eq!(w.take(1), ["*** You are now in #rust with 1 other."]);
    assert_eq!(w.take(0), ["*** bob joined #rust"]);
    assert_eq!(w.take(2), ["*** bob left #lobby"]);
    w.line(0, "only rust");
    assert_eq!(w.take(1), ["alice: only rust"]);
    assert!(w.take(2).is_empty());
}

#[test]
fn join_refuses_bad_names_and_the_current_room() {
    let mut w = trio();
    for (name, why) in [
        ("#", "at least one"),
        ("#a b", "letters"),
        ("#LOBBY", "already"),
    ] {
        w.line(0, &format!("/join {name}"));
        let got = w.take(0);
        assert_eq!(got.len(), 1, "{name}: {got:?}");
        assert!(
            got[0].starts_with("!!! ") && got[0].contains(why),
            "{name}: {got:?}"
        );
    }
    w.line(0, &format!("/join #{}", "x".repeat(33)));
    assert!(w.take(0)[0].contains("32"));
    assert!(w.take(1).is_empty());
}

#[test]
fn a_room_goes_when_its_last_member_leaves_but_its_history_stays() {
    let mut w = trio();
    w.line(0, "/join #temp");
    w.line(1, "/join #temp");
    w.line(0, "remember me");
    w.line(0, "/join #lobby");
    w.line(1, "/join #lobby");
    w.drain();
    w.line(0, "/rooms");
    assert_eq!(w.take(0), ["*** 1 room: #lobby (3)"]);
    w.line(2, "/join #temp");
    assert_eq!(
        w.take(2),
        [
            "*** You are now in #temp with 0 others.",
            "*** Last 1 message in #temp:",
            "[09:12] alice: remember me"
        ]
    );
}

#[test]
fn joining_replays_the_rooms_history_after_a_header_in_order() {
    let mut w = World::new(Config {
        history: 3,
        ..Config::default()
    });
    w.join(0, "alice");
    w.join(1, "bob");
    for n in 1..=4 {
        w.line(0, &format!("message {n}"));
    }
    w.line(1, "/me nods");
    w.connect(2);
    w.take(2);
    w.line(2, "carol");
    assert_eq!(
        w.take(2),
        [
            "*** Welcome, carol! You are in #lobby with 2 others. Type /help for commands.",
            "*** Last 3 messages in #lobby:",
            "[09:12] alice: message 3",
            "[09:12] alice: message 4",
            "[09:12] * bob nods",
        ]
    );
}

#[test]
fn history_holds_no_notices_and_can_be_turned_off() {
    let mut w = trio();
    w.line(0, "/join #quiet");
    w.line(1, "/join #quiet");
    w.line(1, "/nick robert");
    w.line(0, "/msg robert private");
    w.drain();
    w.line(2, "/join #quiet");
    assert_eq!(w.take(2), ["*** You are now in #quiet with 2 others."]);

    let mut w = World::new(Config {
        history: 0,
        ..Config::default()
    });
    w.join(0, "alice");
    w.line(0, "not kept");
    w.join(1, "bob");
    w.line(1, "/who");
    assert_eq!(w.take(1), ["*** 2 members in #lobby: alice, bob"]);
}

#[test]
fn quit_says_goodbye_tells_the_room_with_the_message_and_closes() {
    let mut w = trio();
    w.send(1, b"/quit see you all\nthis is never sent\n");
    assert_eq!(w.take(1), ["*** Goodbye!"]);
    assert_eq!(w.take(0), ["*** bob left #lobby (saying \"see you all\")"]);
    assert_eq!(w.out.closed, [ClientId(1)]);
    w.line(2, "/quit");
    assert_eq!(w.take(0), ["*** carol left #lobby"]);
    assert_eq!(w.hub.client_count(), 1);
}

#[test]
fn before_a_nickname_only_quit_works() {
    let mut w = world();
    w.connect(0);
    w.take(0);
    w.line(0, "/who");
    let got = w.take(0);
    assert!(
        got[0].starts_with("!!! ") && got[1].contains("nickname"),
        "{got:?}"
    );
    w.line(0, "/QUIT");
    assert_eq!(w.out.closed, [ClientId(0)]);
    assert_eq!(w.hub.client_count(), 0);
}

#[test]
fn a_quit_message_is_quoted_and_cut_to_a_sentence() {
    let mut w = trio();
    let long = "*** admin: the server is closing, send your password to ".repeat(10);
    w.line(1, &format!("/quit {long}"));
    let got = w.take(0);
    assert_eq!(got.len(), 1);
    let notice = &got[0];
    assert!(
        notice.starts_with("*** bob left #lobby (saying \"*** admin: "),
        "{notice}"
    );
    assert!(notice.ends_with("…\")"), "{notice}");
    assert!(notice.chars().count() < 160 + 40, "{notice}");
}

#[test]
fn who_is_kept_until_the_room_or_a_name_in_it_changes() {
    let mut w = trio();
    w.line(0, "/who");
    assert_eq!(w.take(0), ["*** 3 members in #lobby: alice, bob, carol"]);
    assert!(w.hub.rooms[0].listing().is_some(), "kept");
    w.line(1, "/nick Aaron");
    w.drain();
    w.line(0, "/who");
    assert_eq!(w.take(0), ["*** 3 members in #lobby: Aaron, alice, carol"]);
    w.join(3, "zed");
    w.disconnect(2, Departure::EndOfInput);
    w.drain();
    w.line(0, "/who");
    assert_eq!(w.take(0), ["*** 3 members in #lobby: Aaron, alice, zed"]);
}
