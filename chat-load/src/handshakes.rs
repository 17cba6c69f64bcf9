//! Handshakes per second: TLS connections opened with a fixed number in flight, each taken
//! through its handshake until the server's first line (its greeting, which it can only
//! send once the handshake is done) arrives, then reset. Every one is a full handshake: the
//! clients keep no sessions to resume.
//!
//! Connections are reset rather than closed, so that this side keeps no TIME_WAIT sockets
//! and the source ports last however long the run.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::transport::{self, Transport};
use super::worker::histogram;

/// What to measure.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// The server's TLS listener.
    pub server: SocketAddr,
    /// Handshakes under way at once.
    pub in_flight: usize,
    /// How long to go on starting new ones.
    pub duration: Duration,
    /// Loopback source addresses to spread the connections over (0: the system chooses).
    pub sources: u8,
}

/// What a run measured.
#[derive(Debug)]
pub struct HandshakeSummary {
    /// Connections that got their first line.
    pub completed: u64,
    /// Connections the server closed, or that failed, before that.
    pub failed: u64,
    /// How long the run took.
    pub elapsed: Duration,
    /// Nanoseconds from the connect to the first line, per completed handshake.
    pub latency: Histogram<u64>,
}

impl HandshakeSummary {
    /// Completed handshakes per second.
    pub fn per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// One connection on its way through the handshake.
struct Attempt {
    transport: Transport,
    started: Instant,
}

/// Runs handshakes against `config.server` for `config.duration`.
pub fn run(config: &HandshakeConfig) -> io::Result<HandshakeSummary> {
    let tls = transport::client_config();
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut attempts: Slab<Attempt> = Slab::with_capacity(config.in_flight);
    let mut summary = HandshakeSummary {
        completed: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latency: histogram(),
    };
    let mut buf = vec![0; 16 * 1024];
    let started = Instant::now();
    let mut opened = 0u64;
    while started.elapsed() < config.duration {
        while attempts.len() < config.in_flight {
            let source = (config.sources > 0).then(|| {
                let host = 1 + (opened % u64::from(config.sources)) as u8;
                SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)), 0)
            });
            opened += 1;
            let mut transport = Transport::connect(config.server, source, Some(&tls), false)?;
            let entry = attempts.vacant_entry();
            poll.registry().register(
                transport.socket(),
                Token(entry.key()),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            entry.insert(Attempt {
                transport,
                started: Instant::now(),
            });
        }
        poll.poll(&mut events, Some(Duration::from_millis(10)))?;
        for event in &events {
            let key = event.token().0;
            let Some(attempt) = attempts.get_mut(key) else {
                continue;
            };
            match step(attempt, &mut buf, event.is_writable()) {
                Ok(None) => continue,
                Ok(Some(())) => {
                    summary.completed += 1;
                    summary
                        .latency
                        .saturating_record(elapsed_ns(attempt.started));
                }
                Err(e) => {
                    log::debug!("a handshake failed: {e}");
                    summary.failed += 1;
                }
            }
            let mut done = attempts.remove(key);
            poll.registry().deregister(done.transport.socket())?;
            reset(done.transport.socket());
        }
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Moves one attempt on after a readiness event: `Some(())` once the server's first line
/// has arrived, an error if the connection failed or ended before.
fn step(attempt: &mut Attempt, buf: &mut [u8], writable: bool) -> io::Result<Option<()>> {
    if writable {
        let socket = attempt.transport.socket();
        if let Some(e) = socket.take_error()? {
            return Err(e);
        }
        if socket.peer_addr().is_err() {
            return Ok(None); // Not connected yet: a spurious event.
        }
        attempt.transport.flush()?;
    }
    loop {
        match attempt.transport.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) if buf[..n].contains(&b'\n') => return Ok(Some(())),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Closes `socket` with a reset, leaving no TIME_WAIT behind.
fn reset(socket: &mio::net::TcpStream) {
    if let Err(e) = socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO)) {
        log::debug!("cannot set SO_LINGER: {e}");
    }
}

fn elapsed_ns(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
