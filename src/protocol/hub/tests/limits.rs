//! Limits, checked in memory: lines encoded once, pacing past the burst, --max-clients,
//! the login timeout, --max-rooms, and limits too large to add up.

use super::*;

#[test]
fn a_message_is_encoded_once_and_shared_by_every_recipient() {
    struct Pointers(Vec<*const u8>);
    impl Sink for Pointers {
        fn send(&mut self, _: ClientId, line: &Line) {
            self.0.push(line.as_bytes().as_ptr());
        }
        fn close(&mut self, _: ClientId) {}
        fn set_timer(&mut self, _: ClientId, _: Option<Instant>) {}
        fn resume_reading(&mut self, _: ClientId) {}
    }
    let mut w = trio();
    let mut pointers = Pointers(Vec::new());
    let _ = w
        .hub
        .receive(ClientId(0), b"shared\n", w.now, &mut pointers);
    assert_eq!(pointers.0.len(), 2);
    assert_eq!(pointers.0[0], pointers.0[1]);
}

#[test]
fn a_flood_past_the_burst_is_paced_not_dropped_with_one_warning() {
    let mut w = World::new(Config {
        rate_limit: 2,
        ..Config::default()
    });
    w.join(0, "alice");
    w.join(1, "bob");
    w.drain();
    let flood: String = (0..10).map(|n| format!("line {n}\n")).collect();
    w.send(1, flood.as_bytes());
    assert!(w.paused.contains(&ClientId(1)));
    // The nickname took one token of the burst of 4.
    assert_eq!(w.take(0), ["bob: line 0", "bob: line 1", "bob: line 2"]);
    let warnings = w.take(1);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("!!! ") && warnings[0].contains("2 lines a second"));
    // One more line every half second, and no more warnings.
    w.advance(Duration::from_millis(510));
    assert_eq!(w.take(0), ["bob: line 3"]);
    w.advance(Duration::from_millis(3000));
    assert_eq!(w.take(0).len(), 6, "the rest, at the rate");
    assert!(w.take(1).is_empty(), "told once for the whole episode");
    assert_eq!(w.paused, HashSet::new(), "reading again once all is taken");
    assert!(!w.out.timers.contains_key(&ClientId(1)));
}

#[test]
fn a_paced_client_is_told_again_only_after_its_bucket_refilled() {
    let mut w = World::new(Config {
        rate_limit: 1,
        ..Config::default()
    });
    w.join(0, "alice");
    w.join(1, "bob");
    w.drain();
    w.send(1, b"a\nb\nc\n");
    w.advance(Duration::from_secs(2));
    assert_eq!(w.take(0), ["bob: a", "bob: b"], "burst of 2, less the nick");
    assert_eq!(w.take(1).len(), 1);
    w.advance(Duration::from_secs(10));
    assert_eq!(w.take(0), ["bob: c"]);
    w.send(1, b"d\ne\nf\n");
    assert_eq!(w.take(0), ["bob: d", "bob: e"]);
    assert_eq!(w.take(1).len(), 1, "a new episode, a new warning");
}

#[test]
fn quit_waits_its_turn_behind_paced_lines() {
    let mut w = World::new(Config {
        rate_limit: 1,
        ..Config::default()
    });
    w.join(0, "alice");
    w.join(1, "bob");
    w.drain();
    w.send(1, b"one\ntwo\nthree\n/quit done\n");
    assert!(w.out.closed.is_empty());
    w.advance(Duration::from_secs(4));
    assert_eq!(
        w.take(0),
        [
            "bob: one",
            "bob: two",
            "bob: three",
            "*** bob left #lobby (saying \"done\")"
        ]
    );
    assert_eq!(w.out.closed, [ClientId(1)]);
}

#[test]
fn blank_lines_do_not_use_up_the_rate() {
    let mut w = World::new(Config {
        rate_limit: 1,
        ..Config::default()
    });
    w.join(0, "alice");
    w.join(1, "bob");
    w.drain();
    w.send(1, b"\n\n\n\x1b[0m\nhi\n");
    assert_eq!(w.take(0), ["bob: hi"]);
}

#[test]
fn the_connection_past_max_clients_is_told_and_closed() {
    let mut w = World::new(Config {
        max_clients: 2,
        ..Config::default()
    });
    w.join(0, "alice");
    w.connect(1);
    w.connect(2);
    let got = w.take(2);
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("!!! ") && got[0].contains("full"));
    assert_eq!(w.out.closed, [ClientId(2)]);
    assert_eq!(w.hub.client_count(), 2);
    w.send(2, b"carol\n");
    assert!(w.take(2).is_empty(), "a refused connection is not served");
    w.disconnect(1, Departure::EndOfInput);
    w.join(3, "dave");
}

#[test]
fn a_connection_without_a_nickname_is_closed_at_the_login_timeout() {
    let mut w = World::new(Config {
        login_timeout: Duration::from_secs(10),
        ..Config::default()
    });
    w.connect(0);
    assert_eq!(
        w.out.timers.get(&ClientId(0)),
        Some(&(w.now + Duration::from_secs(10)))
    );
    w.advance(Duration::from_secs(5));
    w.join(1, "early");
    assert!(
        !w.out.timers.contains_key(&ClientId(1)),
        "a registered client has no deadline"
    );
    w.connect(2);
    w.drain();
    w.advance(Duration::from_secs(5));
    let got = w.take(0);
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("!!! ") && got[0].contains("10 s"));
    assert_eq!(w.out.closed, [ClientId(0)]);
    w.line(2, "late");
    w.advance(Duration::from_secs(5));
    assert_eq!(
        w.out.closed,
        [ClientId(0)],
        "registered clients are not timed out"
    );
    assert!(w.out.timers.is_empty());
}

#[test]
fn a_reused_id_gets_its_own_login_deadline() {
    let mut w = World::new(Config {
        login_timeout: Duration::from_secs(10),
        ..Config::default()
    });
    w.connect(0);
    w.disconnect(0, Departure::ConnectionLost);
    w.advance(Duration::from_secs(9));
    w.connect(0);
    w.advance(Duration::from_secs(1));
    assert!(
        w.out.closed.is_empty(),
        "the old deadline belongs to the old connection"
    );
    w.advance(Duration::from_secs(9));
    assert_eq!(w.out.closed, [ClientId(0)]);
}

#[test]
fn new_rooms_past_max_rooms_are_refused_but_the_lobby_never_is() {
    let mut w = World::new(Config {
        max_rooms: 2,
        ..Config::default()
    });
    w.join(0, "alice");
    w.join(1, "bob");
    w.join(2, "carol");
    w.line(1, "/join #a");
    w.drain();
    w.line(2, "/join #b");
    let got = w.take(2);
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with("!!! ") && got[0].contains("2 rooms"),
        "{got:?}"
    );
    w.line(2, "/join #A");
    assert_eq!(
        w.take(2),
        ["*** You are now in #a with 1 other."],
        "existing rooms stay open"
    );
    w.drain();
    w.line(1, "/join #b");
    assert_eq!(w.take(1), ["!!! there are already 2 rooms, the most this server allows; join one of them (see /rooms)"]);
    w.line(0, "/join #b");
    assert_eq!(
        w.take(0),
        ["*** You are now in #b with 0 others."],
        "leaving the lobby empty frees it"
    );
    w.join(3, "dave");
    w.line(3, "/rooms");
    assert_eq!(
        w.take(3),
        ["*** 3 rooms: #a (2), #b (1), #lobby (1)"],
        "newcomers always get a lobby"
    );
}

#[test]
fn absurd_limits_do_not_overflow() {
    let mut w = World::new(Config {
        login_timeout: Duration::MAX,
        rate_limit: u32::MAX,
        ..Config::default()
    });
    w.join(0, "alice");
    w.advance(Duration::from_secs(3600));
    assert_eq!(w.hub.nick(ClientId(0)), Some("alice"));
}
