//! Feeds arbitrary bytes to the chat core as a script of network events (connections,
//! input in arbitrary pieces, ends, failures, time passing, answers from the store) and
//! checks that it never panics, never sends a line a terminal would interpret, and never
//! sends to a client that is gone.

#![no_main]

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use chat_tokio_stream::config::Config;
use chat_tokio_stream::protocol::{
    ClientId, Completion, Departure, Hub, Line, Peer, Request, Sink, StoreRequest, WallClock,
};
use libfuzzer_sys::fuzz_target;

/// Connection ids the script can name: few, so that ids are reused and rooms get crowded.
const IDS: u8 = 8;

/// The driver side: which ids are open and their timers, and a check on every line.
#[derive(Default)]
struct Driver {
    open: HashSet<ClientId>,
    timers: HashMap<ClientId, Instant>,
}

impl Driver {
    fn check(&self, to: ClientId, line: &Line) {
        assert!(self.open.contains(&to), "a line for {to:?}, which is not open");
        if let [0xff, 251 | 252 | 254, _] = line.as_bytes() {
            return; // A Telnet answer.
        }
        let text = std::str::from_utf8(line.as_bytes()).expect("lines are UTF-8");
        let body = text.strip_suffix('\n').expect("lines end in a newline");
        // A batch holds several lines: each must be non-empty and safe on its own.
        for one in body.split('\n') {
            assert!(!one.is_empty(), "an empty line in {body:?}");
            assert!(
                !one.chars().any(|c| c != '\t'
                    && (c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))),
                "unsafe line {one:?}"
            );
        }
    }
}

impl Sink for Driver {
    fn send(&mut self, to: ClientId, line: &Line) {
        self.check(to, line);
    }

    fn close(&mut self, client: ClientId) {
        assert!(self.open.remove(&client), "close of {client:?}, which is not open");
        self.timers.remove(&client);
    }

    fn set_timer(&mut self, client: ClientId, at: Option<Instant>) {
        match at {
            Some(at) => self.timers.insert(client, at),
            None => self.timers.remove(&client),
        };
    }

    fn resume_reading(&mut self, _: ClientId) {}
}

fuzz_target!(|script: &[u8]| {
    let config = Config { max_clients: 6, max_line: 64, history: 4, announce_limit: 3, ..Config::default() };
    let mut now = Instant::now();
    let mut hub = Hub::new(&config, WallClock::new(now, 0));
    let mut driver = Driver::default();
    let mut answers = VecDeque::new();
    let mut rest = script;
    // Each step: an opcode byte, a client byte, then for input a length byte and that many bytes.
    while let [op, who, tail @ ..] = rest {
        rest = tail;
        let id = ClientId(usize::from(who % IDS));
        match op % 7 {
            0 => {
                if driver.open.insert(id) {
                    hub.connect(id, Peer { telnet: who & 8 != 0 }, now, &mut driver);
                }
            }
            1 => {
                let (len, tail) = rest.split_first().map_or((0, rest), |(len, tail)| (usize::from(*len), tail));
                let (input, tail) = tail.split_at(len.min(tail.len()));
                rest = tail;
                let _ = hub.receive(id, input, now, &mut driver);
            }
            2 => hub.end_of_input(id, now, &mut driver),
            3 => {
                if driver.open.remove(&id) {
                    hub.disconnect(id, Departure::ConnectionLost, &mut driver);
                }
            }
            4 => {
                now += Duration::from_millis(u64::from(*who) * 40);
                let due: Vec<ClientId> = driver.timers.iter().filter(|(_, &at)| at <= now).map(|(&id, _)| id).collect();
                for id in due {
                    driver.timers.remove(&id);
                    hub.timeout(id, now, &mut driver);
                }
            }
            5 => {
                if let Some(answer) = answers.pop_front() {
                    hub.handle_completion(now, answer, &mut driver);
                }
            }
            _ => {
                if driver.open.remove(&id) {
                    hub.disconnect(id, Departure::TooSlow, &mut driver);
                }
            }
        }
        while let Some(request) = hub.poll_request() {
            if let Request::Store(StoreRequest::History { ticket, .. }) = request {
                answers.push_back(Completion::History { ticket, records: Vec::new() });
            }
        }
    }
    hub.shutdown(&mut driver);
    assert!(driver.open.is_empty(), "shutdown closed everyone");
});
