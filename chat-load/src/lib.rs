//! chat-load: a load generator for any server that speaks the line chat protocol. This library
//! is its engine, shared by the `chat-load` binary and the server's criterion benches.
//!
//! A [`Swarm`] is a set of simulated clients (senders and receivers, all in `#lobby`) spread
//! over worker threads, each an event loop of its own. It runs [`Task`]s: senders say
//! numbered, time-stamped lines at a pace (a window of lines in flight, or a fixed rate),
//! receivers check that every line of every sender arrives once and in order, and the
//! [`Summary`] gives deliveries, losses, duplicates and the latency distribution. It speaks
//! only the chat protocol, so it loads any server that does.

pub mod handshakes;
mod peer;
pub mod process;
mod transport;
mod websocket;
mod worker;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use peer::Role;
pub use transport::accepting;
use worker::{Member, Outcome, Roster, Worker};

/// Who to simulate and how.
#[derive(Debug, Clone)]
pub struct SwarmConfig {
    /// The chat servers (one, or several that are one chat): client `n` connects to
    /// server `n` modulo their number.
    pub servers: Vec<SocketAddr>,
    /// Clients that talk.
    pub senders: usize,
    /// Clients that listen and check.
    pub receivers: usize,
    /// Event-loop threads to spread the clients over.
    pub threads: usize,
    /// Connect from this many loopback source addresses (127.0.0.1, 127.0.0.2, ...), so that
    /// more connections than one address has ephemeral ports can be made; 0 lets the system
    /// choose. Only for a server on loopback.
    pub sources: u8,
    /// First letter of every nickname; swarms sharing a server need different tags.
    pub tag: char,
    /// Connect through TLS (accepting any certificate: this is a test tool).
    pub tls: bool,
    /// Connect as WebSocket clients (`server` is then the web listener), as the chat page.
    pub websocket: bool,
    /// What the server speaks.
    pub dialect: Dialect,
}

/// What the server under load speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The chat protocol: clients register a nickname and say lines in `#lobby`.
    Chat,
    /// Redis pub/sub, as the reference: receivers SUBSCRIBE to a channel, senders PUBLISH
    /// the lines a chat server would have relayed, so that receivers check them alike.
    Redis,
}

/// How fast senders talk.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Closed loop: each sender keeps at most this many lines not yet received by every
    /// receiver.
    Window(u32),
    /// Open loop: this many lines a second in all, on a fixed schedule; latency is measured
    /// from each line's scheduled time, so a stalled server cannot hide its backlog
    /// (no coordinated omission).
    Rate(f64),
}

/// When senders stop.
#[derive(Debug, Clone)]
pub enum Stop {
    /// After this long.
    After(Duration),
    /// After each has said this many lines.
    Lines(u64),
    /// When another thread sets the flag (a background load).
    Signal(Arc<AtomicBool>),
}

/// One measurement: who talks, how fast, until when.
#[derive(Debug, Clone)]
pub struct Task {
    /// The pace.
    pub pace: Pace,
    /// The end.
    pub stop: Stop,
    /// Which senders talk (indexes); the others stay quiet.
    pub speakers: Vec<usize>,
    /// Bytes of each line's text (padded); at least the sequence number and stamp.
    pub line_bytes: usize,
    /// Each sender's line count when the task started (set by [`Swarm::run`]).
    first_seq: Vec<u64>,
}

impl Task {
    /// A task in which every one of `senders` senders talks, with short lines.
    pub fn new(pace: Pace, stop: Stop, senders: usize) -> Task {
        Task {
            pace,
            stop,
            speakers: (0..senders).collect(),
            line_bytes: 0,
            first_seq: Vec::new(),
        }
    }
}

/// What a task measured.
#[derive(Debug, Clone)]
pub struct Summary {
    /// From the start until every receiver had every line (or gave up).
    pub elapsed: Duration,
    /// Lines said by all senders.
    pub said: u64,
    /// Lines received by all receivers, each counted once per receiver.
    pub delivered: u64,
    /// Lines some receiver never got.
    pub lost: u64,
    /// Lines some receiver got twice.
    pub duplicated: u64,
    /// Per delivery, nanoseconds from the line's stamp to its receipt.
    pub latency: Histogram<u64>,
}

impl Summary {
    /// Deliveries per second over the whole task.
    pub fn deliveries_per_second(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Where a worker's clients connect, and how they talk there.
struct Server {
    /// The TLS client configuration, if clients connect through TLS.
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Whether clients connect as WebSockets.
    websocket: bool,
    dialect: Dialect,
}

/// Counters the workers share.
struct Shared {
    /// Stamps are nanoseconds since this instant.
    epoch: Instant,
    senders: usize,
    receivers: usize,
    workers: usize,
    /// Lines each sender has said, ever.
    sent: Vec<AtomicU64>,
    /// Deliveries of each sender's lines counted by receivers, ever (for the windows).
    delivered: Vec<AtomicU64>,
    /// Workers whose senders are done with the current task.
    senders_done: AtomicUsize,
}

impl Shared {
    fn sent_snapshot(&self) -> Vec<u64> {
        self.sent.iter().map(|s| s.load(Ordering::SeqCst)).collect()
    }
}

/// A worker thread, as the swarm drives it.
struct WorkerThread {
    tasks: mpsc::Sender<Task>,
    outcomes: mpsc::Receiver<io::Result<Outcome>>,
    thread: Option<JoinHandle<()>>,
}

/// A connected, registered set of simulated clients. Dropping it closes them.
pub struct Swarm {
    shared: Arc<Shared>,
    workers: Vec<WorkerThread>,
}

impl Swarm {
    /// Connects and registers every client, spread over `config.threads` threads.
    pub fn connect(config: &SwarmConfig) -> io::Result<Swarm> {
        let threads = config.threads.max(1);
        let shared = Arc::new(Shared {
            epoch: Instant::now(),
            senders: config.senders,
            receivers: config.receivers,
            workers: threads,
            sent: (0..config.senders).map(|_| AtomicU64::new(0)).collect(),
            delivered: (0..config.senders).map(|_| AtomicU64::new(0)).collect(),
            senders_done: AtomicUsize::new(0),
        });
        let mut rosters: Vec<Roster> = (0..threads)
            .map(|_| Roster {
                clients: Vec::new(),
            })
            .collect();
        let everyone = (0..config.senders)
            .map(|k| (Role::Sender(k), format!("{}s{k}", config.tag)))
            .chain((0..config.receivers).map(|i| (Role::Receiver, format!("{}r{i}", config.tag))));
        for (n, (role, nick)) in everyone.enumerate() {
            let source = (config.sources > 0).then(|| {
                let host = 1 + (n % usize::from(config.sources)) as u8;
                SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)), 0)
            });
            let server = config
                .servers
                .get(n % config.servers.len().max(1))
                .copied()
                .ok_or_else(|| io::Error::other("no server to connect to"))?;
            rosters[n % threads].clients.push(Member {
                role,
                nick,
                source,
                server,
            });
        }
        let mut workers = Vec::new();
        let (ready_tx, ready_rx) = mpsc::channel();
        for (index, roster) in rosters.into_iter().enumerate() {
            let (tasks, task_rx) = mpsc::channel::<Task>();
            let (outcome_tx, outcomes) = mpsc::channel();
            let (shared, ready_tx) = (Arc::clone(&shared), ready_tx.clone());
            let server = Server {
                tls: config.tls.then(transport::client_config),
                websocket: config.websocket,
                dialect: config.dialect,
            };
            let thread = std::thread::Builder::new()
                .name(format!("load-{index}"))
                .spawn(move || {
                    let mut worker = match Worker::start(&server, roster, shared) {
                        Ok(worker) => {
                            let _ = ready_tx.send(Ok(()));
                            worker
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    for task in task_rx {
                        if outcome_tx.send(worker.run(&task)).is_err() {
                            return;
                        }
                    }
                })?;
            workers.push(WorkerThread {
                tasks,
                outcomes,
                thread: Some(thread),
            });
        }
        for _ in 0..threads {
            ready_rx
                .recv()
                .map_err(|_| io::Error::other("a load worker died while connecting"))??;
        }
        Ok(Swarm { shared, workers })
    }

    /// Runs `task` on every worker and merges what they saw.
    pub fn run(&mut self, mut task: Task) -> io::Result<Summary> {
        task.first_seq = self.shared.sent_snapshot();
        let said_before: u64 = task.first_seq.iter().sum();
        self.shared.senders_done.store(0, Ordering::SeqCst);
        let started = Instant::now();
        for worker in &self.workers {
            worker
                .tasks
                .send(task.clone())
                .map_err(|_| io::Error::other("a load worker has stopped"))?;
        }
        let mut summary = Summary {
            elapsed: Duration::ZERO,
            said: 0,
            delivered: 0,
            lost: 0,
            duplicated: 0,
            latency: worker::histogram(),
        };
        let mut failure = None;
        for worker in &self.workers {
            match worker.outcomes.recv() {
                Ok(Ok(outcome)) => {
                    summary.delivered += outcome.tally.delivered;
                    summary.lost += outcome.tally.lost;
                    summary.duplicated += outcome.tally.duplicated;
                    // Both histograms have the same bounds, so adding cannot fail.
                    let _ = summary.latency.add(&outcome.latency);
                }
                Ok(Err(e)) => failure = Some(e),
                Err(_) => failure = Some(io::Error::other("a load worker has stopped")),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        summary.elapsed = started.elapsed();
        summary.said = self.shared.sent_snapshot().iter().sum::<u64>() - said_before;
        Ok(summary)
    }

    /// Deliveries counted by receivers since the swarm connected, for progress reports while
    /// a task runs (on another thread).
    pub fn delivery_counter(&self) -> DeliveryCounter {
        DeliveryCounter(Arc::clone(&self.shared))
    }
}

/// Reads how many deliveries a swarm's receivers have counted so far.
#[derive(Clone)]
pub struct DeliveryCounter(Arc<Shared>);

impl DeliveryCounter {
    /// Deliveries so far.
    pub fn get(&self) -> u64 {
        self.0
            .delivered
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .sum()
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            // Closing the task channel ends the worker's loop; its clients close with it.
            let (closed, _) = mpsc::channel();
            drop(std::mem::replace(&mut worker.tasks, closed));
            if let Some(thread) = worker.thread.take() {
                let _ = thread.join();
            }
        }
    }
}
