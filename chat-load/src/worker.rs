//! One load-generator thread: an event loop over its share of the simulated clients.
//!
//! A worker connects and registers its clients, then runs tasks the swarm hands it: its
//! senders say lines at the pace the task sets while its receivers read and check; when the
//! senders of every worker are done, receivers drain until they have every line said or the
//! drain time runs out, and the worker reports what it saw.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::peer::{Peer, Role, Tally};
use super::{Pace, Server, Shared, Stop, Task};

/// Connects started but not yet registered, per worker: bounded so that a big swarm does not
/// overflow the server's listen backlog.
const CONNECTS_IN_FLIGHT: usize = 256;
/// How long receivers may take, once senders stop, to get the last lines: a run ends at most
/// this long after its duration. Lines still missing then are counted as lost.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// How often a sender held back by its window looks again (deliveries counted by other
/// workers do not wake this one).
const WINDOW_RECHECK: Duration = Duration::from_millis(1);

/// Who a worker should create.
pub struct Roster {
    /// The clients, in the order to connect them.
    pub clients: Vec<Member>,
}

/// One simulated client to create.
pub struct Member {
    /// Sender or receiver.
    pub role: Role,
    /// Its nickname.
    pub nick: String,
    /// The loopback address to connect from, if chosen.
    pub source: Option<SocketAddr>,
    /// The server to connect to.
    pub server: SocketAddr,
}

/// What a worker saw during one task.
pub struct Outcome {
    /// Its receivers' counts, summed.
    pub tally: Tally,
    /// Latency of every delivery, in nanoseconds.
    pub latency: Histogram<u64>,
}

/// A load-generator thread's state.
pub struct Worker {
    poll: Poll,
    events: Events,
    peers: Slab<Peer>,
    shared: Arc<Shared>,
    read_buf: Box<[u8]>,
    /// This worker's senders: `(peer key, sender index)`.
    senders: Vec<(usize, usize)>,
}

impl Worker {
    /// Connects and registers every client in `roster`.
    pub fn start(server: &Server, roster: Roster, shared: Arc<Shared>) -> io::Result<Worker> {
        let mut worker = Worker {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            peers: Slab::with_capacity(roster.clients.len()),
            shared,
            read_buf: vec![0; 64 * 1024].into_boxed_slice(),
            senders: Vec::new(),
        };
        let total = roster.clients.len();
        let mut pending = roster.clients.into_iter();
        let mut registering = 0;
        let mut ready = 0;
        let give_up = Instant::now() + Duration::from_secs(60 + total as u64 / 100);
        let mut scratch = histogram();
        while ready < total {
            while registering < CONNECTS_IN_FLIGHT {
                let Some(Member {
                    role,
                    nick,
                    source,
                    server: addr,
                }) = pending.next()
                else {
                    break;
                };
                let peer = Peer::connect(
                    addr,
                    source,
                    (server.tls.as_ref(), server.websocket, server.dialect),
                    role,
                    nick,
                    worker.shared.senders,
                )?;
                let key = worker.add(peer)?;
                if let Role::Sender(index) = role {
                    worker.senders.push((key, index));
                }
                registering += 1;
            }
            if Instant::now() > give_up {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("only {ready} of {total} clients registered"),
                ));
            }
            for (key, writable, readable) in worker.wait(Duration::from_millis(100))? {
                let was_ready = worker.peers[key].is_ready();
                worker.handle(key, writable, readable, &mut scratch)?;
                if !was_ready && worker.peers[key].is_ready() {
                    registering -= 1;
                    ready += 1;
                }
            }
        }
        Ok(worker)
    }

    fn add(&mut self, mut peer: Peer) -> io::Result<usize> {
        let entry = self.peers.vacant_entry();
        let key = entry.key();
        self.poll.registry().register(
            peer.transport.socket(),
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        entry.insert(peer);
        Ok(key)
    }

    /// Waits up to `timeout` for readiness; returns `(peer key, writable, readable)` for each
    /// event, copied out so that the peers can be handled while the event buffer is reused.
    fn wait(&mut self, timeout: Duration) -> io::Result<Vec<(usize, bool, bool)>> {
        self.poll.poll(&mut self.events, Some(timeout))?;
        let ready = self.events.iter().map(|e| {
            (
                e.token().0,
                e.is_writable(),
                e.is_readable() || e.is_read_closed(),
            )
        });
        Ok(ready.collect())
    }

    /// Acts on one readiness event for peer `key`.
    fn handle(
        &mut self,
        key: usize,
        writable: bool,
        readable: bool,
        latency: &mut Histogram<u64>,
    ) -> io::Result<()> {
        let epoch = self.shared.epoch;
        let peer = &mut self.peers[key];
        if writable {
            peer.on_writable()?;
        }
        let delivered = &self.shared.delivered;
        if readable
            && !peer.on_readable(
                &mut self.read_buf,
                || nanos_since(epoch),
                latency,
                delivered,
            )?
        {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the server closed a client's connection",
            ));
        }
        if let Some(refusal) = &self.peers[key].refused {
            return Err(refused(refusal));
        }
        Ok(())
    }

    /// Runs one task to its end and reports what this worker's receivers saw.
    pub fn run(&mut self, task: &Task) -> io::Result<Outcome> {
        let mut latency = histogram();
        for peer in self.peers.iter_mut().map(|(_, p)| p) {
            peer.sequences.tally = Tally::default();
        }
        let started = Instant::now();
        let workers = self.shared.workers;
        let mut my_senders_done = false;
        let mut drain_until: Option<Instant> = None;
        let padding = "x".repeat(task.line_bytes.saturating_sub(24));
        loop {
            let now = Instant::now();
            if !my_senders_done {
                let stopped = self.say_due_lines(task, started, now, &padding)?;
                if stopped {
                    my_senders_done = true;
                    self.shared.senders_done.fetch_add(1, Ordering::SeqCst);
                }
            }
            if drain_until.is_none() && self.shared.senders_done.load(Ordering::SeqCst) >= workers {
                drain_until = Some(now + DRAIN_LIMIT);
            }
            if let Some(until) = drain_until {
                let sent = self.shared.sent_snapshot();
                if now >= until
                    || self
                        .peers
                        .iter()
                        .all(|(_, p)| p.role != Role::Receiver || p.sequences.has_all(&sent))
                {
                    break;
                }
            }
            let timeout = match (&task.pace, my_senders_done) {
                (_, true) => Duration::from_millis(5),
                (Pace::Window(_), false) => WINDOW_RECHECK,
                (Pace::Rate(_), false) => self
                    .next_due(task, started)
                    .saturating_duration_since(Instant::now()),
            };
            for (key, writable, readable) in self.wait(timeout)? {
                self.handle(key, writable, readable, &mut latency)?;
            }
        }
        let sent = self.shared.sent_snapshot();
        let mut tally = Tally::default();
        for peer in self
            .peers
            .iter_mut()
            .map(|(_, p)| p)
            .filter(|p| p.role == Role::Receiver)
        {
            peer.sequences.count_missing(&sent);
            tally.delivered += peer.sequences.tally.delivered;
            tally.lost += peer.sequences.tally.lost;
            tally.duplicated += peer.sequences.tally.duplicated;
        }
        Ok(Outcome { tally, latency })
    }

    /// Lets each of this worker's senders say what its pace allows by `now`. Returns true
    /// once the task's stop condition holds for all of them.
    fn say_due_lines(
        &mut self,
        task: &Task,
        started: Instant,
        now: Instant,
        padding: &str,
    ) -> io::Result<bool> {
        let receivers = self.shared.receivers as u64;
        let mut all_stopped = true;
        for &(key, index) in &self.senders {
            if !task.speakers.contains(&index) {
                continue;
            }
            let sent = &self.shared.sent[index];
            loop {
                let said = sent.load(Ordering::SeqCst);
                if task
                    .stop
                    .reached(said - task.first_seq[index], started, now)
                {
                    break;
                }
                all_stopped = false;
                let stamp = match task.pace {
                    Pace::Window(window) => {
                        let delivered = self.shared.delivered[index].load(Ordering::SeqCst);
                        if said * receivers >= delivered + u64::from(window) * receivers {
                            break;
                        }
                        nanos_since(self.shared.epoch)
                    }
                    Pace::Rate(_) => {
                        let due = task.due(index, said - task.first_seq[index], started);
                        if due > now {
                            break;
                        }
                        nanos_between(self.shared.epoch, due)
                    }
                };
                let peer = &mut self.peers[key];
                if peer.has_unsent() {
                    break; // The server is not taking this sender's lines: wait.
                }
                peer.say(said, stamp, padding)?;
                sent.store(said + 1, Ordering::SeqCst);
            }
        }
        Ok(all_stopped)
    }

    /// When the next line of a fixed-rate task is due, over this worker's senders.
    fn next_due(&self, task: &Task, started: Instant) -> Instant {
        self.senders
            .iter()
            .filter(|(_, index)| task.speakers.contains(index))
            .map(|&(_, index)| {
                task.due(
                    index,
                    self.shared.sent[index].load(Ordering::SeqCst) - task.first_seq[index],
                    started,
                )
            })
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_millis(5))
    }
}

impl Stop {
    /// True once a sender that has said `said` lines in this task should stop.
    fn reached(&self, said: u64, started: Instant, now: Instant) -> bool {
        match self {
            Stop::After(duration) => now >= started + *duration,
            Stop::Lines(lines) => said >= *lines,
            Stop::Signal(flag) => flag.load(Ordering::Relaxed),
        }
    }
}

impl Task {
    /// When sender `index`'s line number `n` (in this task) is scheduled, for a fixed rate.
    fn due(&self, index: usize, n: u64, started: Instant) -> Instant {
        let Pace::Rate(per_second) = self.pace else {
            return started;
        };
        let speakers = self.speakers.len() as f64;
        let position = self.speakers.iter().position(|&s| s == index).unwrap_or(0) as f64;
        // Senders take turns: together they say `per_second` lines a second, evenly spaced.
        let offset = (n as f64 * speakers + position) / per_second;
        started + Duration::from_secs_f64(offset)
    }
}

/// A latency histogram: 1 ns to 60 s, three significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("constant, valid histogram bounds")
}

/// The error a `!!! ` line from the server ends the run with: the figures would not measure
/// what they claim.
fn refused(line: &str) -> io::Error {
    let advice = if line.contains("slow down") {
        "the server is rate limiting: start it with --rate-limit 0"
    } else {
        "the server refused what a simulated client did"
    };
    io::Error::other(format!("{advice} (it said: {line})"))
}

fn nanos_since(epoch: Instant) -> u64 {
    nanos_between(epoch, Instant::now())
}

fn nanos_between(epoch: Instant, then: Instant) -> u64 {
    u64::try_from(then.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX)
}
