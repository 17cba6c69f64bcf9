//! Contract items 1–3: the nickname prompt, the nickname rules, the welcome and the
//! "joined" notice.

use crate::util::{config, start, Client};
use chat_tokio_stream::config::Config;
use chat_tokio_stream::server::Backend;

/// A new connection is greeted, and the last greeting line asks for a nickname: the line
/// right after the prompt is already the answer to the nickname.
fn greeting_ends_with_the_nickname_prompt(backend: Backend) {
    let server = start(backend, config());
    let mut client = Client::connect(server.local_addr());
    let first = client.line();
    assert!(first.starts_with("*** "), "{first:?}");
    client.read_prompt();
    client.send("alice");
    let welcome = client.line();
    assert!(
        welcome.starts_with("*** ") && welcome.contains("alice"),
        "{welcome:?}"
    );
}

/// An accepted nickname gets a welcome naming it, and the room hears that it joined.
fn a_new_member_is_welcomed_and_announced(backend: Backend) {
    let server = start(backend, config());
    let mut alice = Client::join(server.local_addr(), "alice");
    let _bob = Client::join(server.local_addr(), "bob");
    let notice = alice.line();
    assert!(
        notice.starts_with("*** ") && notice.contains("bob") && notice.contains("joined"),
        "{notice:?}"
    );
}

/// Each malformed nickname gets one "!!! " line and the prompt again; the connection stays
/// usable and a good nickname is then accepted.
fn malformed_nicknames_are_refused_and_asked_again(backend: Backend) {
    let server = start(backend, config());
    let mut client = Client::connect(server.local_addr());
    client.read_prompt();
    let too_long = "a".repeat(25);
    for bad in [
        "1abc",
        "_abc",
        "al ice",
        "a.b",
        "élodie",
        "bob!",
        too_long.as_str(),
    ] {
        client.send(bad);
        let error = client.line();
        assert!(error.starts_with("!!! "), "{bad:?} got {error:?}");
        client.read_prompt();
    }
    client.send(&"a".repeat(24));
    assert!(client.line().starts_with("*** Welcome"));
}

/// Nicknames are unique ignoring case; a nickname is free again once its owner leaves.
fn nicknames_are_unique_ignoring_case_until_their_owner_leaves(backend: Backend) {
    let server = start(backend, config());
    let alice = Client::join(server.local_addr(), "Alice");
    let mut other = Client::connect(server.local_addr());
    other.read_prompt();
    other.send("aLiCe");
    let error = other.line();
    assert!(
        error.starts_with("!!! ") && error.contains("taken"),
        "{error:?}"
    );
    other.read_prompt();

    let mut watcher = Client::join(server.local_addr(), "watcher");
    drop(alice);
    watcher.line_where(|l| l.contains("Alice") && l.contains("left"));
    other.send("alice");
    assert!(other.line().contains("alice"));
}

/// The built-in reserved names are refused in any case, and so are those given with
/// --reserved-nicks.
fn reserved_nicknames_are_refused(backend: Backend) {
    let server = start(
        backend,
        Config {
            reserved_nicks: vec!["bot".into(), "Guest".into()],
            ..config()
        },
    );
    let mut client = Client::connect(server.local_addr());
    client.read_prompt();
    for name in [
        "server",
        "Admin",
        "ROOT",
        "system",
        "operator",
        "moderator",
        "bot",
        "GUEST",
    ] {
        client.send(name);
        let error = client.line();
        assert!(
            error.starts_with("!!! ") && error.contains("reserved"),
            "{name}: {error:?}"
        );
        client.read_prompt();
    }
    client.send("ok");
    assert!(client.line().starts_with("*** Welcome"));
}

/// Blank lines at the prompt are ignored rather than refused.
fn blank_lines_at_the_prompt_are_ignored(backend: Backend) {
    let server = start(backend, config());
    let mut client = Client::connect(server.local_addr());
    client.read_prompt();
    client.send_raw(b"\n   \r\n\t\nalice\n");
    assert!(client.line().starts_with("*** Welcome, alice"));
}

/// Join notices stop once a room has more than --announce-limit members.
fn join_notices_stop_past_the_announce_limit(backend: Backend) {
    let server = start(
        backend,
        Config {
            announce_limit: 3,
            ..config()
        },
    );
    let addr = server.local_addr();
    let mut first = Client::join(addr, "m1");
    let _m2 = Client::join(addr, "m2");
    let _m3 = Client::join(addr, "m3");
    assert!(first.line().contains("m2 joined"));
    assert!(first.line().contains("m3 joined"));
    let mut fourth = Client::join(addr, "m4");
    let _m5 = Client::join(addr, "m5");
    // m4 and m5 joined silently: the next thing m1 hears is m4 speaking.
    fourth.send("marker");
    first.expect("m4: marker");
}

backend_tests!(
    greeting_ends_with_the_nickname_prompt,
    a_new_member_is_welcomed_and_announced,
    malformed_nicknames_are_refused_and_asked_again,
    nicknames_are_unique_ignoring_case_until_their_owner_leaves,
    reserved_nicknames_are_refused,
    blank_lines_at_the_prompt_are_ignored,
    join_notices_stop_past_the_announce_limit,
);
