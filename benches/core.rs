//! The chat core alone, no sockets: what `/who` in a big room costs, built and then kept
//! (the attack of issue 15: thousands of members, bursts of `/who`).
//! `cargo bench --bench core`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

use chat_tokio_stream::config::Config;
use chat_tokio_stream::protocol::{
    ClientId, Completion, Departure, Hub, Line, Peer, Request, Sink, StoreRequest, WallClock,
};

/// Counts what would be written, and nothing else.
#[derive(Default)]
struct Counter {
    bytes: usize,
}

impl Sink for Counter {
    fn send(&mut self, _: ClientId, line: &Line) {
        self.bytes += line.len();
    }
    fn close(&mut self, _: ClientId) {}
    fn set_timer(&mut self, _: ClientId, _: Option<Instant>) {}
    fn resume_reading(&mut self, _: ClientId) {}
}

/// A hub with `members` registered clients in `#lobby`, every request answered as a fresh
/// store would.
fn crowd(members: usize) -> (Hub, Counter, Instant) {
    // No pace: the bench measures the work, not the flood control.
    let config = Config {
        announce_limit: 0,
        rate_limit: 0,
        ..Config::default()
    };
    let now = Instant::now();
    let mut hub = Hub::new(&config, WallClock::new(now, 0));
    let mut sink = Counter::default();
    for n in 0..members {
        let id = ClientId(n);
        let peer = Peer {
            addr: [10, 0, (n >> 8) as u8, n as u8].into(),
            telnet: false,
        };
        hub.connect(id, peer, now, &mut sink);
        let _ = hub.receive(id, format!("Member{n:05}\n").as_bytes(), now, &mut sink);
        settle(&mut hub, &mut sink, now);
    }
    (hub, sink, now)
}

/// Answers the hub's requests as a fresh store would: no accounts, no history.
fn settle(hub: &mut Hub, sink: &mut Counter, now: Instant) {
    while let Some(request) = hub.poll_request() {
        let answer = match request {
            Request::Store(StoreRequest::LookUp { ticket, .. }) => Completion::Account {
                ticket,
                account: None,
            },
            Request::Store(StoreRequest::History { ticket, .. }) => Completion::History {
                ticket,
                records: Vec::new(),
            },
            _ => continue,
        };
        hub.handle_completion(now, answer, sink);
    }
}

fn who(c: &mut Criterion) {
    let mut group = c.benchmark_group("who");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    for members in [100, 5000] {
        let (mut hub, mut sink, now) = crowd(members);
        // Every member asks in turn, as an attack of many connections would.
        let mut asker = 0;
        group.bench_function(BenchmarkId::new("kept", members), |b| {
            b.iter(|| {
                asker = (asker + 1) % members;
                let _ = hub.receive(ClientId(asker), b"/who\n", now, &mut sink);
            })
        });
        // The listing rebuilt each time: someone joins or leaves between two /who.
        let churn = members;
        let peer = Peer {
            addr: [10, 1, 0, 1].into(),
            telnet: false,
        };
        group.bench_function(BenchmarkId::new("rebuilt", members), |b| {
            b.iter(|| {
                hub.connect(ClientId(churn), peer, now, &mut sink);
                let _ = hub.receive(ClientId(churn), b"newcomer\n", now, &mut sink);
                settle(&mut hub, &mut sink, now);
                let _ = hub.receive(ClientId(0), b"/who\n", now, &mut sink);
                hub.disconnect(ClientId(churn), Departure::EndOfInput, &mut sink);
            })
        });
        assert!(sink.bytes > 0);
    }
    group.finish();
}

criterion_group!(benches, who);
criterion_main!(benches);
