//! The chat rules, checked in memory: a recording sink stands in for the network, and a
//! small in-memory store answers the hub's requests the way the store service does.
//! Accounts and moderation have a file of their own (`accounts`).

mod accounts;
mod remote;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::*;
use crate::protocol::request::{
    Account, AuthRequest, Completion, Kind, Offline, Preload, Record, Request, StoreRequest,
};
use crate::protocol::sink::Flow;

/// Records what the hub decided, per client, as text; keeps the timers it asked for.
#[derive(Default)]
struct Recorder {
    inbox: HashMap<ClientId, Vec<String>>,
    closed: Vec<ClientId>,
    timers: HashMap<ClientId, Instant>,
    /// Clients the hub asked to read again.
    resumed: Vec<ClientId>,
}

impl Sink for Recorder {
    fn send(&mut self, to: ClientId, line: &Line) {
        let text = String::from_utf8_lossy(line.as_bytes());
        let inbox = self.inbox.entry(to).or_default();
        match text.strip_suffix('\n') {
            Some(text) => inbox.extend(text.split('\n').map(str::to_owned)),
            None => inbox.push(format!("raw {:?}", line.as_bytes())),
        }
    }

    fn close(&mut self, client: ClientId) {
        self.closed.push(client);
    }

    fn set_timer(&mut self, client: ClientId, at: Option<Instant>) {
        match at {
            Some(at) => self.timers.insert(client, at),
            None => self.timers.remove(&client),
        };
    }

    fn resume_reading(&mut self, client: ClientId) {
        self.resumed.push(client);
    }
}

/// What the store and the hashing pool would do with the hub's requests, in memory. A
/// "hash" here is the password with a prefix: what matters to the core is only whether a
/// password matches.
#[derive(Default)]
struct MemoryStore {
    kept: Vec<Record>,
    /// Accounts by folded name.
    accounts: HashMap<String, Account>,
    /// Private messages waiting, by folded account name.
    offline: HashMap<String, Vec<Offline>>,
    /// Bans and mutes made or lifted, in order, as the store was told.
    sanctions: Vec<String>,
    /// Passwords the hashing pool was given, to check that none goes anywhere else.
    passwords: Vec<String>,
    /// Nicknames (folded) clients of other servers hold in the store.
    taken_elsewhere: HashSet<String>,
    /// What the hub told the store for the other servers, in order, as text.
    shared: Vec<String>,
    /// When set, answers wait in `held_answers` until a test delivers them.
    hold_answers: bool,
    held_answers: Vec<Completion>,
}

impl MemoryStore {
    fn answer(&mut self, request: Request) -> Option<Completion> {
        let completion = match request {
            Request::Store(request) => self.store(request)?,
            Request::Auth(AuthRequest::Hash { ticket, password }) => {
                self.passwords.push(password.expose().to_owned());
                Completion::Hashed {
                    ticket,
                    hash: format!("hashed:{}", password.expose()).into(),
                }
            }
            Request::Auth(AuthRequest::Verify {
                ticket,
                password,
                hash,
            }) => {
                self.passwords.push(password.expose().to_owned());
                Completion::Verified {
                    ticket,
                    matches: *hash == *format!("hashed:{}", password.expose()),
                }
            }
        };
        if self.hold_answers {
            self.held_answers.push(completion);
            None
        } else {
            Some(completion)
        }
    }

    fn store(&mut self, request: StoreRequest) -> Option<Completion> {
        Some(match request {
            StoreRequest::Keep(record) => {
                self.kept.push(record);
                return None;
            }
            StoreRequest::History {
                ticket,
                room,
                limit,
            } => {
                let folded = room.to_ascii_lowercase();
                let mut records: Vec<Record> = self
                    .kept
                    .iter()
                    .rev()
                    .filter(|r| r.room.to_ascii_lowercase() == folded)
                    .take(limit)
                    .cloned()
                    .collect();
                records.reverse();
                Completion::History { ticket, records }
            }
            StoreRequest::LookUp { ticket, name } => Completion::Account {
                ticket,
                account: self.accounts.get(&name.to_ascii_lowercase()).cloned(),
            },
            StoreRequest::Claim { ticket, name, .. } => Completion::Claimed {
                ticket,
                taken: self.taken_elsewhere.contains(&name.to_ascii_lowercase()),
                account: self.accounts.get(&name.to_ascii_lowercase()).cloned(),
            },
            StoreRequest::Release { name } => {
                self.shared.push(format!("release {name}"));
                return None;
            }
            StoreRequest::Moved { name, room } => {
                self.shared.push(format!("moved {name} {room}"));
                return None;
            }
            StoreRequest::Announce { room, text } => {
                self.shared.push(format!("announce {room}: {text}"));
                return None;
            }
            StoreRequest::Direct { to, from, text } => {
                self.shared.push(format!("direct {from}->{to}: {text}"));
                return None;
            }
            StoreRequest::Kick { nick, by, reason } => {
                self.shared.push(format!("kick {nick} by {by}: {reason:?}"));
                return None;
            }
            StoreRequest::Watch(room) => {
                self.shared.push(format!("watch {room}"));
                return None;
            }
            StoreRequest::Unwatch(room) => {
                self.shared.push(format!("unwatch {room}"));
                return None;
            }
            StoreRequest::Register { ticket, name, hash } => {
                let folded = name.to_ascii_lowercase();
                let done = !self.accounts.contains_key(&folded);
                if done {
                    self.accounts.insert(folded, Account { name, hash });
                }
                Completion::Done { ticket, done }
            }
            StoreRequest::SetPassword { ticket, name, hash } => {
                let account = self.accounts.get_mut(&name.to_ascii_lowercase());
                let done = account.is_some();
                if let Some(account) = account {
                    account.hash = hash;
                }
                Completion::Done { ticket, done }
            }
            StoreRequest::KeepOffline {
                ticket,
                to,
                mut message,
                limit,
            } => {
                let waiting = self.offline.entry(to.to_ascii_lowercase()).or_default();
                let done = waiting.len() < limit;
                if done {
                    message.id = waiting.len() as i64 + 1;
                    waiting.push(message);
                }
                Completion::Done { ticket, done }
            }
            StoreRequest::TakeOffline { ticket, name } => Completion::Offline {
                ticket,
                messages: self
                    .offline
                    .get(&name.to_ascii_lowercase())
                    .cloned()
                    .unwrap_or_default(),
            },
            StoreRequest::DropOffline { name, up_to } => {
                if let Some(waiting) = self.offline.get_mut(&name.to_ascii_lowercase()) {
                    waiting.retain(|message| message.id > up_to);
                }
                return None;
            }
            StoreRequest::Ban(ban) => {
                self.sanctions
                    .push(format!("ban {} {:?}", ban.name, ban.until));
                return None;
            }
            StoreRequest::Unban(name) => {
                self.sanctions.push(format!("unban {name}"));
                return None;
            }
            StoreRequest::Mute(mute) => {
                self.sanctions
                    .push(format!("mute {} {:?}", mute.name, mute.until));
                return None;
            }
            StoreRequest::Unmute(name) => {
                self.sanctions.push(format!("unmute {name}"));
                return None;
            }
        })
    }

    /// Makes an account `name` whose password is `password`.
    fn register(&mut self, name: &str, password: &str) {
        self.accounts.insert(
            name.to_ascii_lowercase(),
            Account {
                name: name.into(),
                hash: format!("hashed:{password}").into(),
            },
        );
    }
}

/// Client `id`'s address: each its own.
fn address(id: usize) -> std::net::IpAddr {
    std::net::IpAddr::from([10, 0, (id >> 8) as u8, id as u8])
}

/// 2026-11-30 09:12:00 UTC: what the test clock's start is, so that stamps are `[09:12]`.
const START_UNIX_MS: i64 = 1_796_029_920_000;

/// A hub, its recorder and its store, with shorthands for what clients do. Every action is
/// followed by what a driver does after calling the hub: requests go to the store, and its
/// answers come back.
struct World {
    hub: Hub,
    out: Recorder,
    store: MemoryStore,
    /// The clock the hub is told about.
    now: Instant,
    /// Clients the hub paused and has not resumed.
    paused: HashSet<ClientId>,
}

impl World {
    fn new(config: Config) -> Self {
        let now = Instant::now();
        World {
            hub: Hub::new(&config, WallClock::new(now, START_UNIX_MS)),
            out: Recorder::default(),
            store: MemoryStore::default(),
            now,
            paused: HashSet::new(),
        }
    }

    /// Takes the hub's requests and gives it the store's answers, until there are none.
    fn settle(&mut self) {
        while let Some(request) = self.hub.poll_request() {
            if let Some(completion) = self.store.answer(request) {
                self.hub
                    .handle_completion(self.now, completion, &mut self.out);
            }
        }
        for id in self.out.resumed.drain(..) {
            self.paused.remove(&id);
        }
    }

    fn connect(&mut self, id: usize) {
        self.connect_as(id, false);
    }

    /// Connects client `id`, which speaks Telnet if `telnet`.
    fn connect_as(&mut self, id: usize, telnet: bool) {
        self.hub.connect(
            ClientId(id),
            Peer {
                addr: address(id),
                telnet,
            },
            self.now,
            &mut self.out,
        );
        self.settle();
    }

    /// Client `id` sends raw bytes; a client the hub pauses is noted in `paused`.
    fn send(&mut self, id: usize, bytes: &[u8]) {
        let flow = self
            .hub
            .receive(ClientId(id), bytes, self.now, &mut self.out);
        if flow == Flow::Paused {
            self.paused.insert(ClientId(id));
        }
        self.settle();
    }

    /// Client `id` sends one line.
    fn line(&mut self, id: usize, text: &str) {
        self.send(id, format!("{text}\n").as_bytes());
    }

    /// Connects client `id` and registers it as `nick`; drops its greeting and welcome.
    fn join(&mut self, id: usize, nick: &str) {
        self.connect(id);
        self.line(id, nick);
        let got = self.take(id);
        assert!(
            got.iter().any(|l| l.starts_with("*** Welcome, ")),
            "{nick}: {got:?}"
        );
    }

    /// Client `id` closes its sending side.
    fn end_of_input(&mut self, id: usize) {
        self.hub.end_of_input(ClientId(id), self.now, &mut self.out);
        self.settle();
    }

    /// The driver reports client `id` gone.
    fn disconnect(&mut self, id: usize, why: Departure) {
        self.hub.disconnect(ClientId(id), why, &mut self.out);
        self.settle();
    }

    /// Lets `time` pass, calling the hub back at each timer it set, as a driver does.
    fn advance(&mut self, time: Duration) {
        let end = self.now + time;
        loop {
            let due = self
                .out
                .timers
                .iter()
                .filter(|(_, &at)| at <= end)
                .min_by_key(|(_, &at)| at)
                .map(|(&id, &at)| (id, at));
            let Some((id, at)) = due else { break };
            self.out.timers.remove(&id);
            self.now = self.now.max(at);
            self.hub.timeout(id, self.now, &mut self.out);
            self.settle();
        }
        self.now = end;
    }

    /// Forgets everything sent to anyone so far.
    fn drain(&mut self) {
        self.out.inbox.clear();
    }

    /// Everything client `id` was sent since the last call.
    fn take(&mut self, id: usize) -> Vec<String> {
        self.out.inbox.remove(&ClientId(id)).unwrap_or_default()
    }
}

fn world() -> World {
    World::new(Config::default())
}

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

/// alice, bob and carol in #lobby, with the join notices already read.
fn trio() -> World {
    let mut w = world();
    w.join(0, "alice");
    w.join(1, "bob");
    w.join(2, "carol");
    for id in 0..3 {
        w.take(id);
    }
    w
}

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
fn an_over_long_nickname_gets_the_error_and_the_prompt_again() {
    let mut w = World::new(Config {
        max_line: 16,
        ..Config::default()
    });
    w.connect(0);
    w.take(0);
    w.send(0, &[b'x'; 5000]);
    w.send(0, b"\n");
    let got = w.take(0);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("!!! line too long"), "{got:?}");
    assert!(got[1].contains("nickname"), "{got:?}");
    w.line(0, "alice");
    assert!(w.take(0)[0].starts_with("*** Welcome, alice"));
}

#[test]
fn an_over_long_last_line_before_the_end_of_input_is_reported() {
    let mut w = World::new(Config {
        max_line: 8,
        ..Config::default()
    });
    w.join(0, "alice");
    w.join(1, "bob");
    w.drain();
    w.send(1, b"this is far too long");
    w.end_of_input(1);
    let got = w.take(1);
    assert!(got[0].starts_with("!!! line too long"), "{got:?}");
    assert_eq!(w.take(0), ["*** bob left #lobby"]);
}

#[test]
fn telnet_ctrl_c_leaves_and_its_timing_mark_is_answered() {
    let mut w = world();
    w.join(0, "alice");
    w.connect_as(1, true);
    w.line(1, "bob");
    w.drain();
    w.send(1, b"still here?\r\n\xff\xf4\xff\xfd\x06");
    assert_eq!(
        w.take(0),
        ["bob: still here?", "*** bob left #lobby"],
        "the command bytes are never relayed"
    );
    assert_eq!(
        w.take(1),
        ["raw [255, 251, 6]", "*** Goodbye!"],
        "the timing mark is granted first, or telnet would not show the goodbye"
    );
    assert_eq!(w.out.closed, [ClientId(1)]);
}

#[test]
fn telnet_negotiation_is_refused_and_ctrl_d_alone_leaves() {
    let mut w = world();
    w.join(0, "alice");
    w.connect_as(1, true);
    w.line(1, "bob");
    w.drain();
    w.send(1, b"\xff\xfd\x18\xff\xfb\x1fhi\r\n");
    assert_eq!(
        w.take(1),
        ["raw [255, 252, 24]", "raw [255, 254, 31]"],
        "WONT and DONT"
    );
    assert_eq!(w.take(0), ["bob: hi"]);
    w.send(1, b"\x04\r\n");
    assert_eq!(w.take(0), ["*** bob left #lobby"]);
    assert_eq!(w.out.closed, [ClientId(1)]);
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
