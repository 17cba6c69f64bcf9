//! Requests and completions, checked in memory: answers for clients that left, input held
//! while a client waits, and history from the cache or the store.

use super::*;

#[test]
fn an_answer_for_a_client_that_left_is_dropped_even_if_its_number_was_reused() {
    let mut w = world();
    w.join(0, "alice");
    w.store.hold_answers = true;
    w.line(0, "/join #elsewhere");
    assert_eq!(
        w.store.held_answers.len(),
        1,
        "the room's history was asked for"
    );
    w.disconnect(0, Departure::ConnectionLost);
    w.store.hold_answers = false;
    w.join(0, "bob");
    w.drain();
    let late = w.store.held_answers.remove(0);
    w.hub.handle_completion(w.now, late, &mut w.out);
    w.settle();
    assert!(w.take(0).is_empty(), "bob is not moved by alice's answer");
    w.line(0, "/who");
    assert_eq!(w.take(0), ["*** 1 member in #lobby: bob"]);
}

#[test]
fn input_sent_while_waiting_for_an_answer_is_held_and_taken_in_order() {
    let mut w = trio();
    w.store.hold_answers = true;
    w.send(0, b"/join #new\nfirst in new\n/me smiles\n");
    assert!(w.paused.contains(&ClientId(0)), "the driver stops reading");
    assert!(w.take(1).is_empty(), "nothing happens before the answer");
    let answer = w.store.held_answers.remove(0);
    w.hub.handle_completion(w.now, answer, &mut w.out);
    w.settle();
    assert!(w.paused.is_empty(), "reading again");
    assert_eq!(w.take(0), ["*** You are now in #new with 0 others."]);
    assert_eq!(w.take(1), ["*** alice left #lobby"]);
    w.store.hold_answers = false;
    w.line(1, "/join #new");
    w.take(1);
    w.line(1, "/history");
    assert_eq!(
        w.take(1),
        [
            "*** Last 2 messages in #new:",
            "[09:12] alice: first in new",
            "[09:12] * alice smiles"
        ]
    );
}

#[test]
fn history_comes_from_the_cache_or_else_from_the_store() {
    let mut w = World::new(Config {
        history: 2,
        ..Config::default()
    });
    w.join(0, "alice");
    for n in 1..=4 {
        w.line(0, &format!("message {n}"));
    }
    w.line(0, "/history 1");
    assert_eq!(
        w.take(0),
        ["*** Last 1 message in #lobby:", "[09:12] alice: message 4"]
    );
    w.store.hold_answers = true;
    w.line(0, "/history 3");
    assert!(
        w.take(0).is_empty(),
        "more than the cache holds: asked the store"
    );
    let answer = w.store.held_answers.remove(0);
    w.hub.handle_completion(w.now, answer, &mut w.out);
    w.settle();
    assert_eq!(
        w.take(0),
        [
            "*** Last 3 messages in #lobby:",
            "[09:12] alice: message 2",
            "[09:12] alice: message 3",
            "[09:12] alice: message 4"
        ]
    );
    w.store.hold_answers = false;
    w.line(0, "/history 1000");
    assert_eq!(w.take(0).len(), 5, "a header and all four");
    w.line(0, "/history 1001");
    assert_eq!(w.take(0), ["!!! usage: /history [N]"]);
}

#[test]
fn chat_and_actions_are_kept_but_notices_and_private_messages_are_not() {
    let mut w = trio();
    w.line(0, "hello");
    w.line(1, "/me waves");
    w.line(2, "/msg alice secret");
    w.line(2, "/nick caroline");
    let kept: Vec<(String, String, Kind, String)> = w
        .store
        .kept
        .iter()
        .map(|r| {
            (
                r.room.to_string(),
                r.nick.to_string(),
                r.kind,
                r.text.to_string(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            ("#lobby".into(), "alice".into(), Kind::Chat, "hello".into()),
            ("#lobby".into(), "bob".into(), Kind::Action, "waves".into())
        ]
    );
    assert_eq!(w.store.kept[0].unix_ms, START_UNIX_MS);
}

#[test]
fn history_from_before_a_restart_is_replayed() {
    let mut before = trio();
    before.line(0, "said before the restart");
    let kept = std::mem::take(&mut before.store.kept);
    let mut after = world();
    after.hub.preload(Preload {
        history: kept,
        ..Preload::default()
    });
    after.connect(0);
    after.line(0, "dave");
    let got = after.take(0);
    assert_eq!(
        got[got.len() - 2..],
        [
            "*** Last 1 message in #lobby:",
            "[09:12] alice: said before the restart"
        ]
    );
}
