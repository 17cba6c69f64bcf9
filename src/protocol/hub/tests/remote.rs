//! Other servers sharing the store (contract item 15), checked in memory: what the hub tells
//! the store for them, and what it does with their news.

use super::*;
use crate::protocol::others::Elsewhere;
use crate::protocol::request::{Ban, Mute, Remote};

fn elsewhere(nick: &str, room: &str) -> Elsewhere {
    Elsewhere {
        nick: nick.into(),
        room: room.into(),
        server: "s2".into(),
    }
}

impl World {
    fn remote(&mut self, remote: Remote) {
        self.hub.handle_remote(remote, &mut self.out);
        self.settle();
    }
}

#[test]
fn lines_from_elsewhere_reach_the_rooms_members_here_and_its_history() {
    let mut w = trio();
    w.remote(Remote::Said(Record {
        unix_ms: START_UNIX_MS,
        room: "#LOBBY".into(),
        nick: "zoe".into(),
        kind: Kind::Chat,
        text: "hello from afar".into(),
    }));
    for id in 0..3 {
        assert_eq!(w.take(id), ["zoe: hello from afar"]);
    }
    w.remote(Remote::Said(Record {
        unix_ms: START_UNIX_MS,
        room: "#nobody-here".into(),
        nick: "zoe".into(),
        kind: Kind::Action,
        text: "waves".into(),
    }));
    w.join(3, "dave");
    w.line(3, "/history 1");
    assert_eq!(
        w.take(3),
        [
            "*** Last 1 message in #lobby:",
            "[09:12] zoe: hello from afar"
        ]
    );
}

#[test]
fn who_rooms_and_nicknames_count_the_other_servers() {
    let mut w = trio();
    w.remote(Remote::Arrived(elsewhere("Zoe", "#lobby")));
    w.remote(Remote::Arrived(elsewhere("yann", "#rust")));
    w.line(0, "/who");
    assert_eq!(
        w.take(0),
        ["*** 4 members in #lobby: alice, bob, carol, Zoe"]
    );
    w.line(0, "/rooms");
    assert_eq!(w.take(0), ["*** 2 rooms: #lobby (4), #rust (1)"]);
    w.connect(3);
    w.take(3);
    w.line(3, "zoe");
    assert_eq!(
        w.take(3),
        [
            "!!! that nickname is taken; please choose another",
            "*** What is your nickname?"
        ]
    );
    w.remote(Remote::Gone("ZOE".into()));
    w.line(0, "/who");
    assert_eq!(w.take(0), ["*** 3 members in #lobby: alice, bob, carol"]);
}

#[test]
fn a_claim_the_store_refuses_is_taken_elsewhere() {
    let mut w = world();
    w.store.taken_elsewhere.insert("zoe".into());
    w.connect(0);
    w.take(0);
    w.line(0, "zoe");
    assert_eq!(
        w.take(0),
        [
            "!!! zoe is taken by someone on another server",
            "*** What is your nickname?"
        ]
    );
    assert!(w.store.shared.contains(&"release zoe".to_string()));
}

#[test]
fn the_store_hears_of_rooms_moves_notices_and_departures() {
    let mut w = world();
    w.hub.preload(Preload {
        shared: true,
        ..Preload::default()
    });
    w.join(0, "alice");
    w.remote(Remote::Arrived(elsewhere("zoe", "#lobby")));
    w.join(1, "bob");
    w.line(1, "/join #rust");
    w.disconnect(1, Departure::EndOfInput);
    assert_eq!(
        w.store.shared,
        [
            "watch #lobby",
            "announce #lobby: alice joined #lobby",
            "moved alice #lobby",
            "announce #lobby: bob joined #lobby",
            "moved bob #lobby",
            "watch #rust",
            "announce #lobby: bob left #lobby",
            "announce #rust: bob joined #rust",
            "moved bob #rust",
            "release bob",
            "unwatch #rust",
            "announce #rust: bob left #rust",
        ]
    );
}

#[test]
fn private_messages_cross_servers_both_ways() {
    let mut w = trio();
    w.remote(Remote::Arrived(elsewhere("zoe", "#rust")));
    w.line(0, "/msg ZOE are you there?");
    assert_eq!(w.take(0), ["-> *zoe* are you there?"]);
    assert_eq!(
        w.store.shared.last().map(String::as_str),
        Some("direct alice->zoe: are you there?")
    );
    w.remote(Remote::Private {
        to: "Bob".into(),
        from: "zoe".into(),
        text: "psst".into(),
    });
    assert_eq!(w.take(1), ["*zoe* psst"]);
}

#[test]
fn kicks_bans_and_mutes_from_elsewhere_apply_here() {
    let mut w = trio();
    w.remote(Remote::Muted(Mute {
        name: "carol".into(),
        until: None,
    }));
    assert_eq!(w.take(2), ["!!! you are muted until lifted"]);
    w.line(2, "hello?");
    assert_eq!(
        w.take(2),
        ["!!! you are muted until lifted; nothing was sent"]
    );
    w.remote(Remote::Unmuted("carol".into()));
    assert_eq!(w.take(2), ["*** You may talk again."]);
    w.remote(Remote::Kicked {
        nick: "carol".into(),
        by: "olga".into(),
        reason: Some("enough".into()),
    });
    assert_eq!(w.take(2), ["!!! you were kicked by olga: enough"]);
    assert_eq!(w.take(0), ["*** carol was kicked by olga: enough"]);
    w.drain();
    w.remote(Remote::Banned(Ban {
        name: "bob".into(),
        address: None,
        until: None,
    }));
    assert_eq!(
        w.take(1),
        ["!!! you are banned from this server by an operator until lifted"]
    );
    assert_eq!(
        w.store.sanctions.last().map(String::as_str),
        Some("ban bob None"),
        "sent on again, with the address only this server knew"
    );
    w.connect(1);
    assert_eq!(
        w.take(1),
        ["!!! you are banned from this server until lifted"]
    );
}

#[test]
fn losing_the_other_servers_is_told_and_a_name_taken_meanwhile_is_changed() {
    let mut w = trio();
    w.remote(Remote::Arrived(elsewhere("zoe", "#lobby")));
    w.remote(Remote::Lost);
    for id in 0..3 {
        assert_eq!(
            w.take(id),
            ["*** Lost contact with the other servers; chat here goes on."]
        );
    }
    w.line(0, "/who");
    assert_eq!(w.take(0), ["*** 3 members in #lobby: alice, bob, carol"]);
    w.line(0, "still here");
    assert_eq!(w.take(1), ["alice: still here"]);
    w.remote(Remote::Back {
        others: vec![elsewhere("bob", "#lobby")],
        taken: vec!["Bob".into()],
    });
    assert_eq!(
        w.take(1),
        [
            "!!! while the servers were apart, bob was taken on another server",
            "*** You are now known as bob-2",
            "*** In contact with the other servers again."
        ]
    );
    assert_eq!(
        w.take(0),
        [
            "*** bob is now known as bob-2",
            "*** In contact with the other servers again."
        ]
    );
    w.line(0, "/who");
    assert_eq!(
        w.take(0),
        ["*** 4 members in #lobby: alice, bob, bob-2, carol"]
    );
}

#[test]
fn with_a_shared_store_a_room_nobody_here_is_in_is_read_again_from_the_store() {
    let mut w = world();
    w.hub.preload(Preload {
        shared: true,
        ..Preload::default()
    });
    w.join(0, "alice");
    w.line(0, "/join #rust");
    w.line(0, "said here");
    w.line(0, "/join #lobby");
    w.store.kept.push(Record {
        unix_ms: START_UNIX_MS,
        room: "#rust".into(),
        nick: "zoe".into(),
        kind: Kind::Chat,
        text: "said elsewhere while nobody here was in #rust".into(),
    });
    w.take(0);
    w.line(0, "/join #rust");
    let got = w.take(0);
    assert!(
        got.contains(&"[09:12] zoe: said elsewhere while nobody here was in #rust".to_string()),
        "{got:?}"
    );
    assert!(
        got.iter().any(|line| line.ends_with("alice: said here")),
        "{got:?}"
    );
}

#[test]
fn newcomers_are_told_of_the_members_elsewhere_too() {
    let mut w = world();
    w.remote(Remote::Arrived(elsewhere("zoe", "#lobby")));
    w.remote(Remote::Arrived(elsewhere("yann", "#rust")));
    w.connect(0);
    w.take(0);
    w.line(0, "alice");
    assert_eq!(
        w.take(0)[0],
        "*** Welcome, alice! You are in #lobby with 1 other. Type /help for commands."
    );
    w.line(0, "/join #rust");
    assert_eq!(w.take(0), ["*** You are now in #rust with 1 other."]);
}

#[test]
fn a_name_lost_while_claiming_another_is_changed_and_the_claim_goes_on() {
    let mut w = world();
    w.join(0, "erin");
    w.store.hold_answers = true;
    w.line(0, "/nick alice");
    w.remote(Remote::Back {
        others: vec![elsewhere("erin", "#lobby")],
        taken: vec!["erin".into(), "alice".into()],
    });
    assert_eq!(
        w.take(0),
        [
            "!!! while the servers were apart, erin was taken on another server",
            "*** You are now known as erin-2",
            "*** In contact with the other servers again.",
        ],
        "alice is only being claimed: it is not renamed away"
    );
    w.store.hold_answers = false;
    let Completion::Claimed {
        ticket, account, ..
    } = w.store.held_answers.remove(0)
    else {
        panic!("the claim of alice waits for its answer");
    };
    let taken = Completion::Claimed {
        ticket,
        taken: true,
        account,
    };
    w.hub.handle_completion(w.now, taken, &mut w.out);
    w.settle();
    assert_eq!(
        w.take(0),
        [
            "!!! alice is taken by someone on another server",
            "*** You are still erin-2"
        ]
    );
    assert_eq!(w.hub.nick(ClientId(0)), Some("erin-2"));
    w.connect(1);
    w.take(1);
    w.line(1, "alice");
    assert!(
        w.take(1)[0].starts_with("*** Welcome, alice!"),
        "no stale claim of alice is left here"
    );
}
