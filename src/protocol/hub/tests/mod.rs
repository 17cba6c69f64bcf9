//! The chat rules, checked in memory: a recording sink stands in for the network, and a
//! small in-memory store answers the hub's requests the way the store service does.
//! This file holds that harness; the tests are in files by concern.

mod accounts;
mod bad_input;
mod commands;
mod completions;
mod limits;
mod moderation;
mod remote;
mod session;

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
