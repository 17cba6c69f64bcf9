//! The load generator against both servers, through TLS, and against a real Redis: what it
//! reports must be true, since the benchmarks and BENCHMARKS.md stand on it.

#[allow(dead_code)] // The chat tests' Redis helper, of which these tests need the server.
#[path = "../../tests/util/redis.rs"]
mod redis_server;

use std::net::SocketAddr;
use std::time::Duration;

use chat_load::handshakes::{self, HandshakeConfig};
use chat_load::{Dialect, Pace, Stop, Summary, Swarm, SwarmConfig, Task};
use chat_tokio_stream::config::{Config, Location, TlsConfig};
use chat_tokio_stream::server::{self, Backend, ServerHandle};
use redis_server::RedisServer;

/// A server of `backend` on an ephemeral port, keeping nothing on disk.
fn start(backend: Backend, config: Config) -> ServerHandle {
    server::start(backend, config).expect("the server starts")
}

/// The defaults, on an ephemeral port, with an in-memory store.
fn config() -> Config {
    Config {
        addr: "127.0.0.1:0".parse().expect("a literal address"),
        db: Location::Memory,
        http: None,
        ..Config::default()
    }
}

/// What a task counted: lines said, deliveries, losses and duplicates.
fn counts(summary: &Summary) -> (u64, u64, u64, u64) {
    (
        summary.said,
        summary.delivered,
        summary.lost,
        summary.duplicated,
    )
}

fn swarm_config(server: SocketAddr, senders: usize, receivers: usize) -> SwarmConfig {
    SwarmConfig {
        servers: vec![server],
        senders,
        receivers,
        threads: 2,
        sources: 0,
        tag: 'z',
        tls: false,
        websocket: false,
        dialect: Dialect::Chat,
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
    assert_eq!(counts(&summary), (1, 300, 0, 0));
    assert!(summary.latency.max() > 0);
}

/// Through TLS (the server's self-signed certificate, accepted as a test tool does) the
/// counts are as exact, and the handshake mode completes handshakes without failures.
#[test]
fn tls_clients_count_every_delivery_and_handshakes_complete() {
    let server = start(
        Backend::Mio,
        Config {
            rate_limit: 0,
            tls: Some(TlsConfig {
                addr: "127.0.0.1:0".parse().expect("a literal address"),
                identity: None,
            }),
            ..config()
        },
    );
    let tls_addr = server.tls_addr().expect("a TLS listener");
    let mut swarm = Swarm::connect(&SwarmConfig {
        tls: true,
        ..swarm_config(tls_addr, 3, 20)
    })
    .expect("connect");
    let summary = swarm
        .run(Task::new(Pace::Window(8), Stop::Lines(50), 3))
        .expect("run");
    assert_eq!(counts(&summary), (150, 150 * 20, 0, 0));
    let handshakes = handshakes::run(&HandshakeConfig {
        server: tls_addr,
        in_flight: 4,
        duration: Duration::from_millis(500),
        sources: 0,
    })
    .expect("handshakes");
    assert!(handshakes.completed > 0, "{handshakes:?}");
    assert_eq!(handshakes.failed, 0, "{handshakes:?}");
    assert_eq!(handshakes.latency.len(), handshakes.completed);
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

/// WebSocket clients of the web listener count every delivery as exactly as TCP clients,
/// each line being one frame each way.
#[test]
fn websocket_clients_count_every_delivery() {
    let server = start(
        Backend::Mio,
        Config {
            rate_limit: 0,
            http: Some("127.0.0.1:0".parse().expect("a literal address")),
            ..config()
        },
    );
    let web = server.http_addr().expect("a web listener");
    let mut swarm = Swarm::connect(&SwarmConfig {
        websocket: true,
        ..swarm_config(web, 3, 20)
    })
    .expect("connect");
    let summary = swarm
        .run(Task::new(Pace::Window(8), Stop::Lines(50), 3))
        .expect("run");
    assert_eq!(counts(&summary), (150, 150 * 20, 0, 0));
}

/// The Redis dialect against a real `redis-server`: subscribers get every published line
/// once, in order, and are counted as deliveries, as exactly as for the chat server.
#[test]
fn redis_subscribers_count_every_published_line() {
    let redis = RedisServer::start();
    let mut swarm = Swarm::connect(&SwarmConfig {
        servers: vec![redis.addr()],
        senders: 2,
        receivers: 10,
        threads: 1,
        sources: 0,
        tag: 'r',
        tls: false,
        websocket: false,
        dialect: Dialect::Redis,
    })
    .expect("connect");
    let summary = swarm
        .run(Task::new(Pace::Window(4), Stop::Lines(40), 2))
        .expect("run");
    assert_eq!(counts(&summary), (80, 800, 0, 0));
}

/// Two servers on one Redis are one chat: clients spread over both, every line said on
/// either reaches every receiver on both, counted exactly.
#[test]
fn a_swarm_over_two_servers_of_one_chat_counts_every_delivery() {
    let redis = RedisServer::start();
    let shared = || Config {
        rate_limit: 0,
        redis: Some(redis.url()),
        ..config()
    };
    let one = start(Backend::Mio, shared());
    let two = start(Backend::Mio, shared());
    let mut swarm = Swarm::connect(&SwarmConfig {
        servers: vec![one.local_addr(), two.local_addr()],
        ..swarm_config(one.local_addr(), 4, 40)
    })
    .expect("connect");
    let summary = swarm
        .run(Task::new(Pace::Window(8), Stop::Lines(50), 4))
        .expect("run");
    assert_eq!(counts(&summary), (200, 200 * 40, 0, 0));
}
