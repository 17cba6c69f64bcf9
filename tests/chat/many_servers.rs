//! Contract item 15: several servers started with one `--redis` are one chat. Each test
//! starts a real `redis-server` of its own and two or three real server binaries on it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chat_tokio_stream::server::Backend;

use crate::util::redis::{Link, RedisServer};
use crate::util::{binary, ChildServer, Client};

/// How long news may take to cross servers in these tests: far more than it takes (well
/// under a millisecond here), so that only a fault fails them.
const CROSSING: Duration = Duration::from_secs(10);

/// A chat server on the Redis at `url`, without flood control (the tests send fast).
fn server_on(backend: Backend, url: &str) -> ChildServer {
    ChildServer::spawn(backend, &["--redis", url, "--rate-limit", "0"])
}

/// Asks `client` for `/who` until the listing satisfies `wanted` (news from other servers
/// arrives a moment later than it is made); fails the test after [`CROSSING`].
fn who_until(client: &mut Client, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + CROSSING;
    loop {
        client.send("/who");
        let who = client.line_where(|l| l.starts_with("*** ") && l.contains(" member"));
        if wanted(&who) {
            return who;
        }
        assert!(
            Instant::now() < deadline,
            "{}: /who never satisfied the test; last: {who:?}",
            client.name
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a `/who` listing names `nick`.
fn lists(who: &str, nick: &str) -> bool {
    who.split([' ', ',']).any(|word| word == nick)
}

/// Waits until the server of every one of `clients` lists them all in their room, then
/// takes the news of their meeting (join notices) that is still on its way: from then on
/// every server listens to the room and knows who is in it, and each client's next line
/// is news.
fn meet(clients: &mut [&mut Client]) {
    let nicks: Vec<String> = clients.iter().map(|client| client.name.clone()).collect();
    for client in clients.iter_mut() {
        who_until(client, |who| nicks.iter().all(|nick| lists(who, nick)));
    }
    for client in clients.iter_mut() {
        client.lines_until_quiet(Duration::from_millis(200));
    }
}

/// Three servers on one Redis: a line said on one reaches the room's members on all of them,
/// in the order it was said; joins and leaves are told across; /who and /rooms count
/// everyone; /msg crosses.
fn three_servers_are_one_chat(backend: Backend) {
    let redis = RedisServer::start();
    let servers: Vec<ChildServer> = (0..3).map(|_| server_on(backend, &redis.url())).collect();
    let mut alice = Client::join(servers[0].addr, "alice");
    let mut bob = Client::join(servers[1].addr, "bob");
    meet(&mut [&mut alice, &mut bob]);
    let mut carol = Client::join(servers[2].addr, "carol");
    alice.expect("*** carol joined #lobby");
    bob.expect("*** carol joined #lobby");
    meet(&mut [&mut alice, &mut bob, &mut carol]);

    for n in 0..200 {
        alice.send(&format!("line {n}"));
    }
    for listener in [&mut bob, &mut carol] {
        for n in 0..200 {
            listener.expect(&format!("alice: line {n}"));
        }
    }
    bob.send("/me waves from server two");
    alice.expect("* bob waves from server two");
    carol.expect("* bob waves from server two");

    let who = who_until(&mut alice, |who| who.starts_with("*** 3 members"));
    assert_eq!(who, "*** 3 members in #lobby: alice, bob, carol");
    carol.send("/join #rust");
    carol.expect("*** You are now in #rust with 0 others.");
    alice.expect("*** carol left #lobby");
    bob.expect("*** carol left #lobby");
    who_until(&mut alice, |who| who.starts_with("*** 2 members"));
    alice.send("/rooms");
    alice.expect("*** 2 rooms: #lobby (2), #rust (1)");

    alice.send("/msg CAROL are you in #rust?");
    alice.expect("-> *carol* are you in #rust?");
    carol.expect("*alice* are you in #rust?");
    carol.send("/msg bob yes");
    bob.expect("*carol* yes");
    bob.send("/quit see you");
    alice.expect("*** bob left #lobby (saying \"see you\")");
}

/// A nickname held on one server cannot be taken on another, in any case; once let go it
/// can.
fn nicknames_are_unique_across_servers(backend: Backend) {
    let redis = RedisServer::start();
    let one = server_on(backend, &redis.url());
    let two = server_on(backend, &redis.url());
    let mut alice = Client::join(one.addr, "alice");
    let mut bob = Client::join(two.addr, "bob");
    meet(&mut [&mut alice, &mut bob]);
    let mut impostor = Client::connect(two.addr);
    impostor.read_prompt();
    impostor.send("ALICE");
    let refusal = impostor.line();
    assert!(
        refusal.starts_with("!!! ") && refusal.contains("taken"),
        "{refusal}"
    );
    impostor.read_prompt();
    alice.send("/quit");
    alice.line_where(|l| l == "*** Goodbye!");
    bob.expect("*** alice left #lobby");
    who_until(&mut bob, |who| !lists(who, "alice"));
    impostor.send("ALICE");
    let welcome = impostor.line();
    assert!(welcome.starts_with("*** Welcome, ALICE!"), "{welcome}");
}

/// Two clients on two servers pick the same new nickname at the same moment: exactly one
/// gets it (the claim in Redis is atomic).
fn a_race_for_one_nickname_has_one_winner(backend: Backend) {
    let redis = RedisServer::start();
    let one = server_on(backend, &redis.url());
    let two = server_on(backend, &redis.url());
    for round in 0..20 {
        let nick = format!("racer{round}");
        let mut first = Client::connect(one.addr);
        let mut second = Client::connect(two.addr);
        first.read_prompt();
        second.read_prompt();
        first.send(&nick);
        second.send(&nick);
        let outcomes = [first.line(), second.line()];
        let won = outcomes
            .iter()
            .filter(|l| l.starts_with(&format!("*** Welcome, {nick}!")))
            .count();
        let lost = outcomes
            .iter()
            .filter(|l| l.starts_with("!!! ") && l.contains("taken"))
            .count();
        assert_eq!((won, lost), (1, 1), "{outcomes:?}");
    }
}

/// History lives in Redis: what was said on one server replays to a newcomer on another,
/// on entering the room and with /history.
fn history_replays_across_servers(backend: Backend) {
    let redis = RedisServer::start();
    let one = server_on(backend, &redis.url());
    let two = server_on(backend, &redis.url());
    let mut alice = Client::join(one.addr, "alice");
    alice.send("/join #rust");
    alice.expect("*** You are now in #rust with 0 others.");
    alice.send("said on server one");
    alice.send("/me leaves a trace");
    alice.send("/quit");
    alice.line_where(|l| l == "*** Goodbye!");
    let mut bob = Client::join(two.addr, "bob");
    bob.send("/join #RUST");
    bob.expect("*** You are now in #RUST with 0 others.");
    bob.expect("*** Last 2 messages in #RUST:");
    bob.expect_history("alice: said on server one");
    bob.expect_history("* alice leaves a trace");
    bob.send("/history 1");
    bob.expect("*** Last 1 message in #RUST:");
    bob.expect_history("* alice leaves a trace");
}

/// Accounts, bans, mutes and waiting messages span the servers: registered on one, asked
/// for its password on another; an operator on one bans and mutes clients of another; a
/// message kept on one is delivered on another.
fn accounts_bans_and_mutes_span_servers(backend: Backend) {
    let redis = RedisServer::start();
    let args = [
        "--redis",
        &redis.url(),
        "--rate-limit",
        "0",
        "--operators",
        "olga",
    ];
    let one = ChildServer::spawn(backend, &args);
    let two = ChildServer::spawn(backend, &args);
    let mut olga = Client::join(one.addr, "olga");
    olga.send("/register operator password");
    olga.line_where(|l| l.starts_with("*** olga is registered"));
    let mut mallory = Client::connect_from(two.addr, MALLORYS_ADDRESS);
    mallory.name = "mallory".into();
    mallory.read_prompt();
    mallory.send("mallory");
    mallory.line_where(|l| l.starts_with("*** Welcome, mallory!"));
    let mut carol = Client::join(two.addr, "carol");
    meet(&mut [&mut olga, &mut mallory, &mut carol]);

    let mut impostor = Client::connect(two.addr);
    impostor.read_prompt();
    impostor.send("olga");
    let asked = impostor.line();
    assert!(
        asked.starts_with("!!! ") && asked.contains("taken"),
        "{asked}"
    );

    olga.send("/mute carol");
    olga.line_where(|l| l == "*** carol is muted until lifted");
    carol.line_where(|l| l.starts_with("!!! you are muted"));
    carol.send("can anyone hear me?");
    carol.expect("!!! you are muted until lifted; nothing was sent");

    olga.send("/ban mallory");
    olga.line_where(|l| l.starts_with("*** mallory is banned"));
    mallory.line_where(|l| l.starts_with("!!! you are banned from this server"));
    mallory.expect_closed();
    let mut again = Client::connect_from(two.addr, MALLORYS_ADDRESS);
    let refusal = again.line();
    assert!(
        refusal.starts_with("!!! you are banned from this server"),
        "the address is banned on every server: {refusal}"
    );

    olga.send("/unmute carol");
    olga.line_where(|l| l == "*** carol is no longer muted");
    carol.line_where(|l| l == "*** You may talk again.");
    carol.send("thank you");
    olga.line_where(|l| l == "carol: thank you");

    olga.send("/quit");
    olga.line_where(|l| l == "*** Goodbye!");
    who_until(&mut carol, |who| !lists(who, "olga"));
    carol.send("/msg olga thank you for the help");
    carol.expect("*** olga is away; they will get your message when they log in");
    let mut back = Client::connect(two.addr);
    back.read_prompt();
    back.send("olga");
    back.expect("*** olga is a registered nickname: type its password");
    back.send("operator password");
    let welcome = back.line();
    assert!(welcome.starts_with("*** Welcome, olga!"), "{welcome}");
    back.line_where(|l| l == "*** 1 private message came while you were away:");
    back.expect("*carol* thank you for the help");
}

/// Where mallory connects from, so that banning her address bans nobody else.
const MALLORYS_ADDRESS: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// A server killed with SIGKILL tells nobody; the others notice its heartbeat stopped and
/// report its clients left within 15 seconds, and their nicknames are free again.
fn a_killed_servers_clients_are_reported_left(backend: Backend) {
    let redis = RedisServer::start();
    let doomed = server_on(backend, &redis.url());
    let survivor = server_on(backend, &redis.url());
    let mut alice = Client::join(doomed.addr, "alice");
    let mut bob = Client::join(survivor.addr, "bob");
    meet(&mut [&mut alice, &mut bob]);
    let killed = Instant::now();
    doomed.signal(libc::SIGKILL);
    bob.line_where(|l| l == "*** alice left #lobby (its server went away)");
    let took = killed.elapsed();
    assert!(took <= Duration::from_secs(15), "reported after {took:?}");
    let who = who_until(&mut bob, |_| true);
    assert_eq!(who, "*** 1 member in #lobby: bob");
    let mut new_alice = Client::join(survivor.addr, "alice");
    new_alice.send("/who");
    new_alice.expect("*** 2 members in #lobby: alice, bob");
}

/// Redis stopped: every client is told once, chat on each server goes on; Redis started
/// again (empty): the servers rejoin on their own, tell their clients, and are one chat
/// again, with the nicknames claimed anew.
fn losing_redis_and_getting_it_back(backend: Backend) {
    let mut redis = RedisServer::start();
    let one = server_on(backend, &redis.url());
    let two = server_on(backend, &redis.url());
    let mut alice = Client::join(one.addr, "alice");
    let mut carol = Client::join(one.addr, "carol");
    let mut bob = Client::join(two.addr, "bob");
    meet(&mut [&mut alice, &mut carol, &mut bob]);

    redis.stop();
    let lost = "*** Lost contact with the other servers; chat here goes on.";
    for client in [&mut alice, &mut carol, &mut bob] {
        client.expect(lost);
    }
    alice.send("said while Redis was away");
    carol.expect("alice: said while Redis was away");
    let mut dave = Client::connect(two.addr);
    dave.read_prompt();
    dave.send("dave");
    let refusal = dave.line();
    assert!(
        refusal.starts_with("!!! ") && refusal.contains("try again"),
        "no new nickname can be claimed while the servers are apart: {refusal}"
    );

    redis.restart();
    let back = "*** In contact with the other servers again.";
    for client in [&mut alice, &mut carol, &mut bob] {
        client.expect(back);
    }
    meet(&mut [&mut alice, &mut carol, &mut bob]);
    bob.send("hello again");
    alice.expect("bob: hello again");
    carol.expect("bob: hello again");
    let mut impostor = Client::connect(two.addr);
    impostor.read_prompt();
    impostor.send("alice");
    let refusal = impostor.line();
    assert!(refusal.contains("taken"), "claimed anew: {refusal}");
}

/// One server parted from Redis while the others keep it: its clients are reported left
/// there, and their nicknames may be taken. When it is back, the claim in Redis wins: its
/// client is renamed and told, and both are in one chat again.
fn a_nickname_taken_while_apart_goes_to_the_store_s_claim(backend: Backend) {
    let redis = RedisServer::start();
    let link = Link::to(redis.addr());
    let parted = server_on(backend, &link.url());
    let other = server_on(backend, &redis.url());
    let mut alice = Client::join(parted.addr, "alice");
    let mut bob = Client::join(other.addr, "bob");
    meet(&mut [&mut alice, &mut bob]);

    link.cut();
    alice.expect("*** Lost contact with the other servers; chat here goes on.");
    bob.line_where(|l| l == "*** alice left #lobby (its server went away)");
    let mut usurper = Client::join(other.addr, "alice");
    bob.expect("*** alice joined #lobby");

    link.mend();
    alice.expect("!!! while the servers were apart, alice was taken on another server");
    alice.expect("*** You are now known as alice-2");
    alice.expect("*** In contact with the other servers again.");
    alice.name = "alice-2".into();
    meet(&mut [&mut alice, &mut bob, &mut usurper]);
    usurper.send("I am alice now");
    alice.expect("alice: I am alice now");
    bob.expect("alice: I am alice now");
}

/// With Redis out of reach at start-up, the server exits non-zero and says which URL.
fn an_unreachable_redis_stops_the_start(backend: Backend) {
    let closed: SocketAddr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("an address")
    };
    let url = format!("redis://{closed}");
    let output = binary(backend, &["--redis", &url])
        .output()
        .expect("run the binary");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot use Redis at {url}")),
        "{stderr}"
    );
}

/// A mio server and a Tokio server on one Redis are one chat too: the protocol between
/// servers belongs to the store, not to a driver.
#[cfg(feature = "tokio-impl")]
#[test]
fn a_mio_server_and_a_tokio_server_are_one_chat() {
    let redis = RedisServer::start();
    let mio = server_on(Backend::Mio, &redis.url());
    let tokio = server_on(Backend::Tokio, &redis.url());
    let mut alice = Client::join(mio.addr, "alice");
    let mut bob = Client::join(tokio.addr, "bob");
    meet(&mut [&mut alice, &mut bob]);
    alice.send("from the loop");
    bob.expect("alice: from the loop");
    bob.send("from the runtime");
    alice.expect("bob: from the runtime");
}

backend_tests!(
    three_servers_are_one_chat,
    nicknames_are_unique_across_servers,
    a_race_for_one_nickname_has_one_winner,
    history_replays_across_servers,
    accounts_bans_and_mutes_span_servers,
    a_killed_servers_clients_are_reported_left,
    losing_redis_and_getting_it_back,
    a_nickname_taken_while_apart_goes_to_the_store_s_claim,
    an_unreachable_redis_stops_the_start,
);
