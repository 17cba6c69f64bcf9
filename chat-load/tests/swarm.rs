//! The load generator against both servers: what it reports must be true, since the
//! benchmarks and BENCHMARKS.md stand on it.

use std::time::Duration;

use chat_load::{Pace, Stop, Swarm, SwarmConfig, Task};
use chat_tokio_stream::config::{Config, Location};
use chat_tokio_stream::server::{self, Backend, ServerHandle};

/// A server of `backend` on an ephemeral port, keeping nothing on disk.
fn start(backend: Backend, config: Config) -> ServerHandle {
    server::start(backend, config).expect("the server starts")
}

/// The defaults, on an ephemeral port, with an in-memory store.
fn config() -> Config {
    Config {
        addr: "127.0.0.1:0".parse().expect("a literal address"),
        db: Location::Memory,
        ..Config::default()
    }
}

fn swarm_config(server: std::net::SocketAddr, senders: usize, receivers: usize) -> SwarmConfig {
    SwarmConfig {
        server,
        senders,
        receivers,
        threads: 2,
        sources: 0,
        tag: 'z',
    }
}

/// A closed-loop run delivers every line to every receiver exactly once, and says so.
fn a_fanout_run_counts_every_delivery(backend: Backend) {
    let server = start(
        backend,
        Config {
            rate_limit: 0,
            ..config()
        },
    );
    let mut swarm = Swarm::connect(&swarm_config(server.local_addr(), 3, 20)).expect("connect");
    let summary = swarm
        .run(Task::new(Pace::Window(8), Stop::Lines(50), 3))
        .expect("run");
    assert_eq!(summary.said, 150);
    assert_eq!(summary.delivered, 150 * 20);
    assert_eq!((summary.lost, summary.duplicated), (0, 0));
    assert_eq!(summary.latency.len(), 150 * 20, "one latency per delivery");
    // A second task continues the same sequences.
    let again = swarm
        .run(Task::new(
            Pace::Rate(500.0),
            Stop::After(Duration::from_millis(300)),
            3,
        ))
        .expect("run");
    assert!(again.said > 0 && again.delivered == again.said * 20 && again.lost == 0);
}

/// One line to many receivers (the idle mode's broadcast) reaches each exactly once.
fn a_broadcast_reaches_every_receiver_once(backend: Backend) {
    let server = start(backend, config());
    let mut swarm = Swarm::connect(&swarm_config(server.local_addr(), 1, 300)).expect("connect");
    let summary = swarm
        .run(Task::new(Pace::Window(1), Stop::Lines(1), 1))
        .expect("run");
    assert_eq!(
        (
            summary.said,
            summary.delivered,
            summary.lost,
            summary.duplicated
        ),
        (1, 300, 0, 0)
    );
    assert!(summary.latency.max() > 0);
}

#[test]
fn a_fanout_run_counts_every_delivery_mio() {
    a_fanout_run_counts_every_delivery(Backend::Mio);
}

#[test]
fn a_fanout_run_counts_every_delivery_tokio() {
    a_fanout_run_counts_every_delivery(Backend::Tokio);
}

#[test]
fn a_broadcast_reaches_every_receiver_once_mio() {
    a_broadcast_reaches_every_receiver_once(Backend::Mio);
}

#[test]
fn a_broadcast_reaches_every_receiver_once_tokio() {
    a_broadcast_reaches_every_receiver_once(Backend::Tokio);
}
