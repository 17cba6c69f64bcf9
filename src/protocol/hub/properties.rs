//! Property tests of the hub: random sequences of network events, timers and late answers
//! from services must never make it panic, never make it send anything a terminal would
//! interpret, never give one nickname to two clients, never let its indexes disagree with
//! its clients, and never leave a client's held input with nothing to take it up again.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::protocol::nick;
use crate::protocol::others::Elsewhere;
use crate::protocol::request::{
    Account, AuthRequest, Ban, Completion, Mute, Record, Remote, Request, StoreRequest,
};
use crate::protocol::sink::Flow;

/// What a driver may report, over a handful of connection ids.
#[derive(Debug, Clone)]
enum Event {
    Connect(usize),
    Line(usize, String),
    Bytes(usize, Vec<u8>),
    EndOfInput(usize),
    Lost(usize),
    TooSlow(usize),
    Wait(u64),
    /// The store answers its oldest question.
    Answer,
    /// News from another server.
    Remote(u8),
}

/// Connection ids in play: enough for crowded rooms, few enough that ids get reused.
const IDS: usize = 7;

/// Lines that exercise registration, renames, rooms and messages with colliding names.
fn line() -> impl Strategy<Value = String> {
    let nick = prop::sample::select(vec![
        "alice", "Alice", "bob", "BOB", "carol", "dave", "erin", "frank", "root", "9lives",
    ]);
    let room = prop::sample::select(vec!["#a", "#A", "#lobby", "#", "#bad name"]);
    prop_oneof![
        nick.clone().prop_map(String::from),
        nick.clone().prop_map(|n| format!("/nick {n}")),
        room.prop_map(|r| format!("/join {r}")),
        nick.clone().prop_map(|n| format!("/msg {n} hi")),
        prop::sample::select(vec![
            "right",
            "wrong",
            "/register right",
            "/register short",
            "/passwd right wrong!!",
            "/passwd wrong right",
            "/kick bob",
            "/ban bob 5",
            "/mute Bob",
            "/unmute bob",
            "/unban bob",
            "/whois alice"
        ])
        .prop_map(String::from),
        prop::sample::select(vec!["/history", "/history 2", "/join #new", "/join #A"])
            .prop_map(String::from),
        prop::sample::select(vec![
            "hello",
            "/who",
            "/rooms",
            "/me waves",
            "/quit bye",
            "/help",
            "//x",
            "/nope",
            "  "
        ])
        .prop_map(String::from),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    let id = 0..IDS;
    prop_oneof![
        2 => id.clone().prop_map(Event::Connect),
        6 => (id.clone(), line()).prop_map(|(id, line)| Event::Line(id, line)),
        1 => (id.clone(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(id, bytes)| Event::Bytes(id, bytes)),
        1 => id.clone().prop_map(Event::EndOfInput),
        1 => id.clone().prop_map(Event::Lost),
        1 => id.prop_map(Event::TooSlow),
        1 => (0u64..3000).prop_map(Event::Wait),
        2 => Just(Event::Answer),
        1 => (0u8..10).prop_map(Event::Remote),
    ]
}

/// News from another server, of ten kinds, about names that collide with local ones.
fn remote(kind: u8) -> Remote {
    let who = |nick: &str, room: &str| Elsewhere {
        nick: nick.into(),
        room: room.into(),
        server: "s2".into(),
    };
    match kind {
        0 => Remote::Arrived(who("zoe", "#lobby")),
        1 => Remote::Arrived(who("Dave", "#a")),
        2 => Remote::Gone("zoe".into()),
        3 => Remote::Said(Record {
            unix_ms: 0,
            room: "#lobby".into(),
            nick: "zoe".into(),
            kind: crate::protocol::Kind::Chat,
            text: "from afar".into(),
        }),
        4 => Remote::Private {
            to: "alice".into(),
            from: "zoe".into(),
            text: "psst".into(),
        },
        5 => Remote::Kicked {
            nick: "bob".into(),
            by: "olga".into(),
            reason: None,
        },
        6 => Remote::Banned(Ban {
            name: "carol".into(),
            address: None,
            until: None,
        }),
        7 => Remote::Muted(Mute {
            name: "dave".into(),
            until: None,
        }),
        8 => Remote::Lost,
        _ => Remote::Back {
            others: vec![who("erin", "#lobby")],
            taken: vec!["erin".into(), "alice".into()],
        },
    }
}

/// A driver's view: which ids are open, paused and timed, what paused clients sent meanwhile,
/// and a check on every line the hub sends.
#[derive(Default)]
struct Driver {
    open: HashSet<ClientId>,
    closing: HashSet<ClientId>,
    problems: Vec<String>,
    timers: HashMap<ClientId, Instant>,
    paused: HashSet<ClientId>,
    /// Bytes sent by paused clients, waiting in their sockets.
    unread: HashMap<ClientId, Vec<u8>>,
    /// Clients the hub let go on, whose unread bytes are to be read.
    resumed: Vec<ClientId>,
}

impl Driver {
    fn check_line(&mut self, to: ClientId, line: &Line) {
        if !self.open.contains(&to) {
            self.problems
                .push(format!("line for {to:?}, which is not open: {line:?}"));
        }
        if let [0xff, 251 | 252 | 254, _] = line.as_bytes() {
            // A Telnet answer, which only a Telnet client (an even id) may get.
            if !to.0.is_multiple_of(2) {
                self.problems.push(format!("a Telnet answer for {to:?}"));
            }
            return;
        }
        let Ok(text) = std::str::from_utf8(line.as_bytes()) else {
            self.problems.push(format!("not UTF-8: {line:?}"));
            return;
        };
        let Some(body) = text.strip_suffix('\n') else {
            self.problems.push(format!("no newline: {line:?}"));
            return;
        };
        // A batch holds several lines: each must be non-empty and safe on its own.
        for one in body.split('\n') {
            let unsafe_char = one.chars().any(|c| {
                c != '\t'
                    && (c.is_control()
                        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
            });
            if one.is_empty() || unsafe_char {
                self.problems
                    .push(format!("empty or unsafe line {one:?} in {line:?}"));
            }
        }
    }
}

impl Sink for Driver {
    fn send(&mut self, to: ClientId, line: &Line) {
        self.check_line(to, line);
    }

    fn close(&mut self, client: ClientId) {
        // The driver keeps a closing connection until its output is written; here that is at
        // once, and the id becomes free for a new connection.
        if self.open.remove(&client) {
            self.closing.insert(client);
        } else {
            self.problems
                .push(format!("close of {client:?}, which is not open"));
        }
    }

    fn set_timer(&mut self, client: ClientId, at: Option<Instant>) {
        match at {
            Some(at) => self.timers.insert(client, at),
            None => self.timers.remove(&client),
        };
    }

    fn resume_reading(&mut self, client: ClientId) {
        if !self.paused.remove(&client) {
            self.problems
                .push(format!("resumed {client:?}, which was not paused"));
        }
        self.resumed.push(client);
    }
}

/// The services' part: answers wait until an `Answer` event. "alice" and "Bob" have
/// accounts whose password is "right" (and "alice" is an operator); registering works once.
#[derive(Default)]
struct Store {
    questions: std::collections::VecDeque<Completion>,
    registered: HashSet<String>,
}

impl Store {
    /// The account of nickname `name`, if it has one.
    fn account(&self, name: Box<str>) -> Option<Account> {
        let folded = name.to_ascii_lowercase();
        let known = folded == "alice" || folded == "bob" || self.registered.contains(&folded);
        known.then(|| Account {
            name,
            hash: "hashed:right".into(),
        })
    }

    /// The answer `request` will get, if it gets one.
    fn answer(&mut self, request: Request) -> Option<Completion> {
        let hashed = |password: &str| format!("hashed:{password}").into();
        Some(match request {
            Request::Store(StoreRequest::History { ticket, .. }) => Completion::History {
                ticket,
                records: Vec::new(),
            },
            Request::Store(StoreRequest::LookUp { ticket, name }) => Completion::Account {
                ticket,
                account: self.account(name),
            },
            // "frank" is held by a client of another server.
            Request::Store(StoreRequest::Claim { ticket, name, .. }) => Completion::Claimed {
                ticket,
                taken: name.eq_ignore_ascii_case("frank"),
                account: self.account(name),
            },
            Request::Store(StoreRequest::Register { ticket, name, .. }) => Completion::Done {
                ticket,
                done: self.registered.insert(name.to_ascii_lowercase()),
            },
            Request::Store(
                StoreRequest::SetPassword { ticket, .. } | StoreRequest::KeepOffline { ticket, .. },
            ) => Completion::Done { ticket, done: true },
            Request::Store(StoreRequest::TakeOffline { ticket, .. }) => Completion::Offline {
                ticket,
                messages: Vec::new(),
            },
            Request::Store(_) => return None,
            Request::Auth(AuthRequest::Hash { ticket, password }) => Completion::Hashed {
                ticket,
                hash: hashed(password.expose()),
            },
            Request::Auth(AuthRequest::Verify {
                ticket,
                password,
                hash,
            }) => Completion::Verified {
                ticket,
                matches: hash == hashed(password.expose()),
            },
        })
    }
}

/// A driver and a store around a hub, doing what the real ones do between events.
struct Harness {
    hub: Hub,
    driver: Driver,
    store: Store,
    now: Instant,
}

impl Harness {
    /// Client `id` sends `bytes`: read now, or left in its socket while it is paused.
    fn input(&mut self, id: ClientId, bytes: &[u8]) {
        if self.driver.paused.contains(&id) {
            self.driver
                .unread
                .entry(id)
                .or_default()
                .extend_from_slice(bytes);
            return;
        }
        if self.hub.receive(id, bytes, self.now, &mut self.driver) == Flow::Paused {
            self.driver.paused.insert(id);
        }
    }

    /// What a driver does after each event: requests to the store, resumed clients read.
    fn settle(&mut self) {
        loop {
            while let Some(request) = self.hub.poll_request() {
                if let Some(answer) = self.store.answer(request) {
                    self.store.questions.push_back(answer);
                }
            }
            let Some(id) = self.driver.resumed.pop() else {
                return;
            };
            if let Some(bytes) = self.driver.unread.remove(&id) {
                self.input(id, &bytes);
            }
        }
    }
}

/// The hub's indexes agree with its clients, and no folded nickname is held twice.
fn check_consistency(hub: &Hub) -> Result<(), String> {
    let mut holders: HashMap<Box<str>, ClientId> = HashMap::new();
    let mut registered = 0;
    let mut choosing = 0;
    let registering = hub.reservations.len();
    for (index, client) in hub.clients.iter().enumerate() {
        let Some(client) = client else { continue };
        let id = ClientId(index);
        match &client.presence {
            Presence::Chatting(member) => {
                registered += 1;
                if let Some(other) = holders.insert(nick::fold(&member.nick), id) {
                    return Err(format!("{} is held by {other:?} and {id:?}", member.nick));
                }
                let room = hub
                    .rooms
                    .get(member.room.0)
                    .ok_or(format!("{id:?} is in a missing room"))?;
                if room.members().get(member.slot) != Some(&id) {
                    return Err(format!(
                        "{id:?} is not at its slot {} in {}",
                        member.slot,
                        room.name()
                    ));
                }
            }
            Presence::ChoosingNick { .. } => choosing += 1,
        }
    }
    if hub.nicks.len() != registered + registering
        || holders
            .iter()
            .any(|(nick, id)| hub.nicks.get(nick) != Some(id))
    {
        return Err(format!(
            "nick index {:?} does not match the clients {holders:?}",
            hub.nicks
        ));
    }
    let members: usize = hub.rooms.iter().map(|(_, room)| room.members().len()).sum();
    if members != registered {
        return Err(format!(
            "{members} room members for {registered} registered clients"
        ));
    }
    if hub.rooms.iter().any(|(_, room)| room.members().is_empty()) {
        return Err("an empty room was kept".into());
    }
    if hub.room_index.len() != hub.rooms.len() {
        return Err("room index and rooms disagree".into());
    }
    if hub.client_count != registered + choosing {
        return Err(format!(
            "count {} for {registered} + {choosing}",
            hub.client_count
        ));
    }
    for id in hub.waiting.keys().chain(hub.held.keys()) {
        if hub.clients.get(id.0).and_then(Option::as_ref).is_none() {
            return Err(format!("{id:?} is gone but still waits or holds input"));
        }
    }
    for id in hub.waiting.keys() {
        if !hub.held.contains_key(id) {
            return Err(format!("{id:?} waits but the driver was not told to pause"));
        }
    }
    Ok(())
}

/// Every client whose input is held will have it taken up: it waits for an answer (which
/// the store will give), or the driver holds a timer for it.
fn check_no_stuck_input(hub: &Hub, driver: &Driver) -> Result<(), String> {
    for id in hub.held.keys() {
        if !hub.waiting.contains_key(id) && !driver.timers.contains_key(id) {
            return Err(format!("{id:?} holds input with nothing to take it up"));
        }
    }
    Ok(())
}

/// Sequences tried per run: 1024, or `PROPTEST_CASES` for a longer search.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(1024)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_events_keeps_the_hub_sound(events in prop::collection::vec(event(), 0..80)) {
        let config = Config { max_clients: 6, history: 3, announce_limit: 2, rate_limit: 3, operators: vec!["alice".into()], ..Config::default() };
        let now = Instant::now();
        let mut h = Harness {
            hub: Hub::new(&config, WallClock::new(now, 0)),
            driver: Driver::default(),
            store: Store::default(),
            now,
        };
        for event in events {
            match event {
                Event::Connect(id) => {
                    let id = ClientId(id);
                    // A driver reuses an id only once the connection is gone.
                    if !h.driver.open.contains(&id) {
                        h.driver.closing.remove(&id);
                        h.driver.paused.remove(&id);
                        h.driver.unread.remove(&id);
                        h.driver.open.insert(id);
                        h.hub.connect(id, Peer { addr: [10, 0, 0, id.0 as u8].into(), telnet: id.0.is_multiple_of(2) }, h.now, &mut h.driver);
                    }
                }
                Event::Line(id, line) => h.input(ClientId(id), format!("{line}\n").as_bytes()),
                Event::Bytes(id, bytes) => h.input(ClientId(id), &bytes),
                Event::EndOfInput(id) => {
                    let id = ClientId(id);
                    // A paused client's end is only seen once it is read again.
                    if !h.driver.paused.contains(&id) {
                        h.hub.end_of_input(id, h.now, &mut h.driver);
                    }
                }
                Event::Lost(id) | Event::TooSlow(id) if h.driver.open.remove(&ClientId(id)) => {
                    h.driver.timers.remove(&ClientId(id));
                    h.hub.disconnect(ClientId(id), Departure::ConnectionLost, &mut h.driver);
                }
                Event::Lost(_) | Event::TooSlow(_) => {}
                Event::Wait(ms) => {
                    h.now += Duration::from_millis(ms);
                    let due: Vec<ClientId> = h.driver.timers.iter().filter(|(_, &at)| at <= h.now).map(|(&id, _)| id).collect();
                    for id in due {
                        h.driver.timers.remove(&id);
                        h.hub.timeout(id, h.now, &mut h.driver);
                    }
                }
                Event::Answer => {
                    if let Some(answer) = h.store.questions.pop_front() {
                        h.hub.handle_completion(h.now, answer, &mut h.driver);
                    }
                }
                Event::Remote(kind) => h.hub.handle_remote(remote(kind), &mut h.driver),
            }
            h.settle();
            prop_assert!(h.driver.problems.is_empty(), "{:?}", h.driver.problems);
            if let Err(problem) = check_consistency(&h.hub).and_then(|()| check_no_stuck_input(&h.hub, &h.driver)) {
                prop_assert!(false, "{}", problem);
            }
        }
        h.hub.shutdown(&mut h.driver);
        prop_assert!(h.driver.problems.is_empty(), "{:?}", h.driver.problems);
        prop_assert_eq!(h.hub.client_count(), 0);
    }
}
