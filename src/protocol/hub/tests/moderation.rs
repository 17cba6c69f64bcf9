//! Moderation (contract item 12), checked in memory: operators kick, ban and mute, others
//! may not, and operators cannot act on each other.

use super::accounts::{accounts, log_in};
use super::*;

#[test]
fn operators_kick_ban_and_mute_and_others_may_not() {
    let mut w = accounts();
    log_in(&mut w, 0, "alice", "alice-pass");
    w.join(1, "mallory");
    w.join(2, "carol");
    w.drain();
    w.line(2, "/kick mallory");
    assert_eq!(w.take(2), ["!!! only operators may do that"]);
    w.line(0, "/mute mallory 10");
    assert_eq!(
        w.take(0),
        ["*** mallory is muted until 2026-11-30 09:22 UTC"]
    );
    assert_eq!(
        w.take(1),
        ["!!! you are muted by alice until 2026-11-30 09:22 UTC"]
    );
    w.line(1, "spam");
    w.line(1, "/me spams");
    w.line(1, "/msg carol spam");
    assert_eq!(w.take(1).len(), 3);
    assert!(w.take(2).is_empty(), "nothing from a muted client");
    w.line(1, "/nick mal");
    w.line(1, "still muted?");
    assert!(
        w.take(1)[1].starts_with("!!! you are muted"),
        "the mute follows a rename"
    );
    w.line(0, "/unmute mallory");
    w.line(0, "/unmute mal");
    w.line(1, "free again");
    assert_eq!(
        w.take(2).last().map(String::as_str),
        Some("mal: free again")
    );
    w.drain();
    w.line(0, "/kick mal flooding");
    assert_eq!(w.take(2), ["*** mal was kicked by alice: flooding"]);
    assert_eq!(w.take(1), ["!!! you were kicked by alice: flooding"]);
    assert!(w.out.closed.contains(&ClientId(1)));
    assert_eq!(
        w.take(0),
        ["*** mal was kicked by alice: flooding", "*** mal is kicked"]
    );
}

#[test]
fn a_ban_keeps_the_name_and_the_address_out_until_lifted() {
    let mut w = accounts();
    log_in(&mut w, 0, "alice", "alice-pass");
    w.join(1, "mallory");
    w.drain();
    w.line(0, "/ban mallory");
    assert_eq!(
        w.take(1),
        ["!!! you are banned from this server by alice until lifted"]
    );
    assert_eq!(
        w.take(0),
        [
            "*** mallory was kicked by alice and banned until lifted",
            "*** mallory is banned until lifted"
        ]
    );
    assert_eq!(w.store.sanctions, ["ban mallory None"]);
    // The same address comes back: refused before any nickname.
    w.connect(1);
    assert_eq!(
        w.take(1),
        ["!!! you are banned from this server until lifted"]
    );
    // Another address, the same name: refused at the prompt.
    w.connect(2);
    w.take(2);
    w.line(2, "Mallory");
    assert_eq!(
        w.take(2),
        [
            "!!! that nickname is banned until lifted",
            "*** What is your nickname?"
        ]
    );
    w.line(0, "/unban mallory");
    assert_eq!(w.take(0), ["*** mallory is no longer banned"]);
    w.line(2, "mallory");
    assert!(w.take(2)[0].starts_with("*** Welcome, mallory"));
}

#[test]
fn operators_cannot_act_on_each_other_and_see_their_own_help() {
    let mut w = World::new(Config {
        operators: vec!["alice".into(), "bob".into()],
        ..Config::default()
    });
    w.store.register("alice", "alice-pass");
    w.store.register("bob", "bob-pass");
    log_in(&mut w, 0, "alice", "alice-pass");
    log_in(&mut w, 1, "bob", "bob-pass");
    w.join(2, "carol");
    w.drain();
    for command in ["/kick bob", "/ban bob", "/mute bob", "/kick alice"] {
        w.line(0, command);
        let got = w.take(0);
        assert_eq!(got.len(), 1);
        assert!(
            got[0].contains("operators cannot kick, ban or mute each other"),
            "{got:?}"
        );
    }
    w.line(0, "/help");
    assert!(w.take(0).iter().any(|l| l.contains("/ban NICK [MINUTES]")));
    w.line(2, "/help");
    assert!(!w.take(2).iter().any(|l| l.contains("/ban")));
    w.line(0, "/whois carol");
    assert_eq!(
        w.take(0),
        ["*** carol: a guest (no account); from 10.0.0.2; here since 2026-11-30 09:12 UTC; in #lobby"]
    );
}
