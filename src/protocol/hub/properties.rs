//! Property tests of the hub: random sequences of network events must never make it panic,
//! never make it send anything a terminal would interpret, never give one nickname to two
//! clients, and never let its indexes disagree with its clients.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

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
        nick.prop_map(|n| format!("/msg {n} hi")),
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
    ]
}

/// A driver's view: which ids are open, and a check on every line the hub sends.
#[derive(Default)]
struct Driver {
    open: HashSet<ClientId>,
    closing: HashSet<ClientId>,
    problems: Vec<String>,
}

impl Driver {
    fn check_line(&mut self, to: ClientId, line: &Line) {
        if !self.open.contains(&to) {
            self.problems
                .push(format!("line for {to:?}, which is not open: {line:?}"));
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
}

/// The hub's indexes agree with its clients, and no folded nickname is held twice.
fn check_consistency(hub: &Hub) -> Result<(), String> {
    let mut holders: HashMap<Box<str>, ClientId> = HashMap::new();
    let mut registered = 0;
    let mut choosing = 0;
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
    if hub.nicks.len() != registered
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
    if hub.client_count != registered + choosing || hub.choosing_count != choosing {
        return Err(format!(
            "counts {} / {} for {registered} + {choosing}",
            hub.client_count, hub.choosing_count
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_events_keeps_the_hub_sound(events in prop::collection::vec(event(), 0..80)) {
        let config = Config { max_clients: 6, history: 3, announce_limit: 2, rate_limit: 3, ..Config::default() };
        let mut hub = Hub::new(&config);
        let mut driver = Driver::default();
        let mut now = Instant::now();
        for event in events {
            match event {
                Event::Connect(id) => {
                    let id = ClientId(id);
                    // A driver reuses an id only once the connection is gone.
                    if !driver.open.contains(&id) {
                        driver.closing.remove(&id);
                        driver.open.insert(id);
                        hub.connect(id, now, &mut driver);
                    }
                }
                Event::Line(id, line) => hub.receive(ClientId(id), format!("{line}\n").as_bytes(), now, &mut driver),
                Event::Bytes(id, bytes) => hub.receive(ClientId(id), &bytes, now, &mut driver),
                Event::EndOfInput(id) => hub.end_of_input(ClientId(id), now, &mut driver),
                Event::Lost(id) | Event::TooSlow(id) if driver.open.remove(&ClientId(id)) => {
                    hub.disconnect(ClientId(id), Departure::ConnectionLost, &mut driver);
                }
                Event::Lost(_) | Event::TooSlow(_) => {}
                Event::Wait(ms) => {
                    now += Duration::from_millis(ms);
                    hub.tick(now, &mut driver);
                }
            }
            prop_assert!(driver.problems.is_empty(), "{:?}", driver.problems);
            if let Err(problem) = check_consistency(&hub) {
                prop_assert!(false, "{}", problem);
            }
        }
        hub.shutdown(&mut driver);
        prop_assert!(driver.problems.is_empty(), "{:?}", driver.problems);
        prop_assert_eq!(hub.client_count(), 0);
    }
}
