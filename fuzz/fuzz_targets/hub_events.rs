//! Feeds arbitrary bytes to the chat core as a script of network events (connections,
//! input in arbitrary pieces, ends, failures, time passing) and checks that it never panics,
//! never sends a line a terminal would interpret, and never sends to a client that is gone.

#![no_main]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chat_tokio_stream::config::Config;
use chat_tokio_stream::protocol::{ClientId, Departure, Hub, Line, Sink};
use libfuzzer_sys::fuzz_target;

/// Connection ids the script can name: few, so that ids are reused and rooms get crowded.
const IDS: u8 = 8;

/// The driver side: which ids are open, and a check on every line.
#[derive(Default)]
struct Driver {
    open: HashSet<ClientId>,
}

impl Driver {
    fn check(&self, to: ClientId, line: &Line) {
        assert!(self.open.contains(&to), "a line for {to:?}, which is not open");
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
    }
}

fuzz_target!(|script: &[u8]| {
    let config = Config { max_clients: 6, max_line: 64, history: 4, announce_limit: 3, ..Config::default() };
    let mut hub = Hub::new(&config);
    let mut driver = Driver::default();
    let mut now = Instant::now();
    let mut rest = script;
    // Each step: an opcode byte, a client byte, then for input a length byte and that many bytes.
    while let [op, who, tail @ ..] = rest {
        rest = tail;
        let id = ClientId(usize::from(who % IDS));
        match op % 6 {
            0 => {
                if driver.open.insert(id) {
                    hub.connect(id, now, &mut driver);
                }
            }
            1 => {
                let (len, tail) = rest.split_first().map_or((0, rest), |(len, tail)| (usize::from(*len), tail));
                let (input, tail) = tail.split_at(len.min(tail.len()));
                rest = tail;
                hub.receive(id, input, now, &mut driver);
            }
            2 => hub.end_of_input(id, now, &mut driver),
            3 => {
                if driver.open.remove(&id) {
                    hub.disconnect(id, Departure::ConnectionLost, &mut driver);
                }
            }
            4 => {
                now += Duration::from_millis(u64::from(*who) * 40);
                hub.tick(now, &mut driver);
            }
            _ => {
                if driver.open.remove(&id) {
                    hub.disconnect(id, Departure::TooSlow, &mut driver);
                }
            }
        }
    }
    hub.shutdown(&mut driver);
    assert!(driver.open.is_empty(), "shutdown closed everyone");
});
