//! Accounts (contract item 12), checked in memory; the login state machine is driven
//! through every state with every input. Moderation has a file of its own.

use super::*;

/// A world where "alice" (an operator) and "bob" have accounts with passwords "alice-pass"
/// and "bob-pass".
pub(super) fn accounts() -> World {
    let mut w = World::new(Config {
        operators: vec!["Alice".into()],
        ..Config::default()
    });
    w.store.register("alice", "alice-pass");
    w.store.register("bob", "bob-pass");
    w
}

/// Client `id` logs in as `nick` with `password`; returns what it was told.
pub(super) fn log_in(w: &mut World, id: usize, nick: &str, password: &str) -> Vec<String> {
    w.connect(id);
    w.take(id);
    w.line(id, nick);
    let asked = w.take(id);
    assert_eq!(
        asked,
        [format!(
            "*** {} is a registered nickname: type its password",
            nick.to_ascii_lowercase()
        )],
        "{nick}"
    );
    w.line(id, password);
    w.take(id)
}

#[test]
fn a_registered_nickname_is_given_with_its_password_only() {
    let mut w = accounts();
    w.join(0, "carol");
    let got = log_in(&mut w, 1, "ALICE", "wrong");
    assert_eq!(
        got,
        ["!!! wrong password for alice", "*** What is your nickname?"]
    );
    assert_eq!(w.hub.nick(ClientId(1)), None);
    assert!(w.take(0).is_empty(), "the room hears nothing");
    w.line(1, "alice");
    w.take(1);
    w.line(1, "alice-pass");
    let welcome = w.take(1);
    assert!(welcome[0].starts_with("*** Welcome, alice!"), "{welcome:?}");
    assert_eq!(w.take(0), ["*** alice joined #lobby"]);
    assert_eq!(
        w.hub.nick(ClientId(1)),
        Some("alice"),
        "named as registered"
    );
}

#[test]
fn no_password_ever_reaches_a_client_or_the_history() {
    let mut w = accounts();
    w.join(0, "carol");
    log_in(&mut w, 1, "alice", "alice-pass");
    log_in(&mut w, 2, "bob", "not-bobs");
    w.line(2, "guest");
    w.line(2, "/register guest-secret");
    w.line(1, "/passwd alice-pass alice-new-pass");
    w.line(0, "/register carol-secret");
    w.line(0, "/passwd carol-secret carol-newer");
    let everything: Vec<String> = w.out.inbox.values().flatten().cloned().collect();
    for password in [
        "alice-pass",
        "not-bobs",
        "guest-secret",
        "alice-new-pass",
        "carol-secret",
        "carol-newer",
    ] {
        assert!(
            w.store.passwords.iter().any(|p| p == password),
            "{password} was used"
        );
        assert!(
            !everything.iter().any(|line| line.contains(password)),
            "{password} was sent to a client"
        );
        assert!(!w.store.kept.iter().any(|r| r.text.contains(password)));
    }
}

#[test]
fn register_makes_the_nickname_need_its_password_from_then_on() {
    let mut w = accounts();
    w.join(0, "carol");
    w.line(0, "/register short");
    assert_eq!(w.take(0), ["!!! a password has 8 to 128 bytes"]);
    w.line(0, "/register carol-secret");
    assert_eq!(
        w.take(0),
        ["*** carol is registered: from now on it is given only with its password"]
    );
    w.line(0, "/register again-secret");
    assert_eq!(w.take(0), ["!!! carol is registered already: it is yours"]);
    w.disconnect(0, Departure::EndOfInput);
    let got = log_in(&mut w, 1, "Carol", "carol-secret");
    assert!(got[0].starts_with("*** Welcome, carol!"), "{got:?}");
}

#[test]
fn passwd_checks_the_old_password_and_keeps_the_new_one() {
    let mut w = accounts();
    log_in(&mut w, 0, "bob", "bob-pass");
    w.line(0, "/passwd wrong-old bob-new-pass");
    assert_eq!(w.take(0), ["!!! wrong password; the password is unchanged"]);
    w.line(0, "/passwd bob-pass tiny");
    assert_eq!(w.take(0), ["!!! a password has 8 to 128 bytes"]);
    w.line(0, "/passwd bob-pass bob-new-pass");
    assert_eq!(w.take(0), ["*** Your password is changed."]);
    w.disconnect(0, Departure::EndOfInput);
    assert_eq!(
        log_in(&mut w, 1, "bob", "bob-pass"),
        ["!!! wrong password for bob", "*** What is your nickname?"]
    );
    w.line(1, "bob");
    w.line(1, "bob-new-pass");
    assert!(w.take(1).iter().any(|l| l.starts_with("*** Welcome, bob!")));
    w.join(2, "guest");
    w.line(2, "/passwd a-password another-one");
    assert_eq!(w.take(2), ["!!! you have no account: /register makes one"]);
}

#[test]
fn nick_to_a_registered_name_asks_its_password_and_keeps_the_old_name_if_wrong() {
    let mut w = accounts();
    w.join(0, "carol");
    w.join(1, "guest");
    w.take(0);
    w.line(1, "/nick bob");
    assert_eq!(
        w.take(1),
        ["*** bob is a registered nickname: type its password"]
    );
    w.line(1, "nope-nope");
    assert_eq!(
        w.take(1),
        ["!!! wrong password for bob", "*** You are still guest"]
    );
    assert!(w.take(0).is_empty());
    w.line(1, "/nick bob");
    w.line(1, "bob-pass");
    assert_eq!(
        w.take(1),
        [
            "*** bob is a registered nickname: type its password",
            "*** You are now known as bob"
        ]
    );
    assert_eq!(w.take(0), ["*** guest is now known as bob"]);
    w.join(2, "guest");
}

#[test]
fn five_wrong_passwords_lock_the_account_for_five_minutes() {
    let mut w = accounts();
    for attempt in 0..5 {
        let got = log_in(&mut w, 0, "bob", &format!("guess-{attempt}"));
        let expected = if attempt == 4 {
            "!!! wrong password for bob; bob is locked for 5 minutes"
        } else {
            "!!! wrong password for bob"
        };
        assert_eq!(got[0], expected);
        w.disconnect(0, Departure::EndOfInput);
    }
    w.connect(0);
    w.take(0);
    w.line(0, "bob");
    assert_eq!(
        w.take(0),
        [
            "!!! too many wrong passwords for bob; try again in 5 minutes",
            "*** What is your nickname?"
        ]
    );
    w.advance(Duration::from_secs(5 * 60));
    let got = log_in(&mut w, 1, "bob", "bob-pass");
    assert!(
        got.iter().any(|l| l.starts_with("*** Welcome, bob!")),
        "{got:?}"
    );
}

#[test]
fn one_address_gets_ten_password_attempts_then_waits() {
    let mut w = accounts();
    for n in 0..10 {
        w.store.register(&format!("account{n}"), "its-password");
    }
    w.connect(0);
    w.take(0);
    for n in 0..10 {
        w.line(0, &format!("account{n}"));
        w.line(0, "a-wrong-guess");
    }
    w.drain();
    w.line(0, "bob");
    w.line(0, "bob-pass");
    assert_eq!(
        w.take(0),
        [
            "*** bob is a registered nickname: type its password",
            "!!! too many password attempts from your address; wait a minute and try again",
            "*** What is your nickname?"
        ]
    );
    let checked = w.store.passwords.len();
    w.advance(Duration::from_secs(31));
    w.line(0, "bob");
    w.line(0, "bob-pass");
    assert!(w.take(0).iter().any(|l| l.starts_with("*** Welcome, bob!")));
    assert_eq!(
        w.store.passwords.len(),
        checked + 1,
        "the refused attempt was never hashed"
    );
}

#[test]
fn a_message_for_an_account_that_is_away_waits_for_its_next_login() {
    let mut w = accounts();
    w.join(0, "carol");
    w.line(0, "/msg Bob are you there?");
    assert_eq!(
        w.take(0),
        ["*** bob is away; they will get your message when they log in"]
    );
    w.line(0, "/msg nobody hello");
    assert_eq!(w.take(0), ["!!! nobody here is called nobody"]);
    let got = log_in(&mut w, 1, "bob", "bob-pass");
    assert_eq!(
        got[got.len() - 2..],
        [
            "*** 1 private message came while you were away:",
            "*carol* are you there?"
        ]
    );
    w.disconnect(1, Departure::EndOfInput);
    let again = log_in(&mut w, 1, "bob", "bob-pass");
    assert!(
        !again.iter().any(|l| l.contains("are you there")),
        "delivered once"
    );
}

#[test]
fn waiting_messages_are_bounded_per_account() {
    let mut w = World::new(Config {
        rate_limit: 0,
        ..Config::default()
    });
    w.store.register("bob", "bob-pass");
    w.join(0, "carol");
    for n in 0..super::super::accounts::OFFLINE_LIMIT {
        w.line(0, &format!("/msg bob note {n}"));
    }
    w.drain();
    w.line(0, "/msg bob one too many");
    assert_eq!(
        w.take(0),
        ["!!! bob has 100 messages waiting already; try again later"]
    );
}

/// Where a client can be on its way in, for the table below.
#[derive(Debug, Clone, Copy)]
enum Stage {
    /// The store is asked whether "bob" has an account.
    LookingUp,
    /// Asked for bob's password.
    Prompted,
    /// The hashing pool checks the password.
    Verifying,
    /// In, the lobby's history loading.
    Entering,
}

/// What can happen to a client at each stage.
#[derive(Debug, Clone, Copy)]
enum Event {
    /// It sends a line.
    Line,
    /// It closes its side.
    EndOfInput,
    /// Its connection breaks.
    Lost,
    /// Its login time runs out.
    Timeout,
    /// The answer it waits for (if any) comes.
    Answer,
    /// It leaves, a new connection gets its number, and then the answer comes.
    AnswerAfterLeaving,
}

/// Where bob's name is at the end.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Client 1 is a member called bob.
    In,
    /// Client 1 holds the name while it logs in.
    Reserved,
    /// Nobody holds it.
    Free,
}

/// Brings client 1, logging in as bob, to `stage`, with answers held.
fn at_stage(stage: Stage) -> World {
    let mut w = World::new(Config {
        login_timeout: Duration::from_secs(30),
        ..Config::default()
    });
    w.store.register("bob", "bob-pass");
    w.join(0, "watcher");
    w.connect(1);
    w.drain();
    w.store.hold_answers = true;
    w.line(1, "bob");
    let answer = |w: &mut World| {
        let answer = w.store.held_answers.remove(0);
        w.hub.handle_completion(w.now, answer, &mut w.out);
        w.settle();
    };
    if matches!(stage, Stage::Prompted | Stage::Verifying | Stage::Entering) {
        answer(&mut w);
    }
    if matches!(stage, Stage::Verifying | Stage::Entering) {
        w.line(1, "bob-pass");
    }
    if matches!(stage, Stage::Entering) {
        // The lobby's history is only asked for the first time: a fresh lobby here.
        answer(&mut w);
    }
    w
}

#[test]
fn the_login_state_machine_takes_every_input_in_every_state() {
    use Event::*;
    use Stage::*;
    for stage in [LookingUp, Prompted, Verifying, Entering] {
        for event in [Line, EndOfInput, Lost, Timeout, Answer, AnswerAfterLeaving] {
            let mut w = at_stage(stage);
            let waiting = !w.store.held_answers.is_empty();
            assert_eq!(waiting, !matches!(stage, Prompted), "{stage:?}");
            match event {
                Line => w.line(1, "hello?"),
                EndOfInput => w.end_of_input(1),
                Lost => w.disconnect(1, Departure::ConnectionLost),
                Timeout => w.advance(Duration::from_secs(30)),
                Answer => {
                    if let Some(answer) = w.store.held_answers.pop() {
                        w.hub.handle_completion(w.now, answer, &mut w.out);
                        w.settle();
                    }
                }
                AnswerAfterLeaving => {
                    w.disconnect(1, Departure::ConnectionLost);
                    w.store.hold_answers = false;
                    w.connect(1);
                    if let Some(answer) = w.store.held_answers.pop() {
                        w.hub.handle_completion(w.now, answer, &mut w.out);
                        w.settle();
                    }
                }
            }
            w.store.hold_answers = false;
            while let Some(answer) = w.store.held_answers.pop() {
                w.hub.handle_completion(w.now, answer, &mut w.out);
                w.settle();
            }
            let case = format!("{stage:?} then {event:?}");
            let expected = match (stage, event) {
                (LookingUp | Prompted, Answer) => Outcome::Reserved,
                (Verifying | Entering, Line | Answer) | (Entering, Timeout) => Outcome::In,
                _ => Outcome::Free,
            };
            let holder = w.hub.nicks.get("bob").copied();
            let found = match (holder, w.hub.nick(ClientId(1))) {
                (None, _) => Outcome::Free,
                (Some(ClientId(1)), Some("bob")) => Outcome::In,
                (Some(ClientId(1)), _) => Outcome::Reserved,
                (Some(other), _) => panic!("{case}: bob is held by {other:?}"),
            };
            assert_eq!(found, expected, "{case}");
            // Whatever happened, a second client can always get in, as bob or another name.
            w.connect(2);
            w.line(2, "carol");
            assert!(
                w.take(2)
                    .iter()
                    .any(|l| l.starts_with("*** Welcome, carol")),
                "{case}"
            );
            assert!(
                w.hub
                    .reservations
                    .values()
                    .all(|n| w.hub.nicks.contains_key(n)),
                "{case}"
            );
        }
    }
}
