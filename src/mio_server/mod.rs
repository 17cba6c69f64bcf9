//! The product: a single-threaded, edge-triggered event loop on `mio`.
//!
//! One thread at a time owns one `Poll`, the listener, a `Waker` and a slab of connections.
//! A pass of the loop does, in order:
//!
//! 1. flush every connection that got output during the previous pass (vectored writes,
//!    a byte budget each), then drop connections that failed or outstayed their linger;
//! 2. sleep in `poll` (not at all if some connection was cut short by a budget), up to the
//!    next deadline (a login timeout, a linger, an accept back-off);
//! 3. read each readable connection, and those cut short last pass, until `WouldBlock` or its
//!    read budget, handing the bytes to the chat core, which queues lines into outboxes; let
//!    the core act on deadlines that passed; accept until `WouldBlock`.
//!
//! Output is therefore batched: however many lines a client is sent during a pass, it costs
//! one `writev` before the loop sleeps again. Write interest is registered only while a
//! socket refuses bytes. Connections are never dropped in the middle of a fan-out: a failed
//! socket is noted and dropped after the step that found it.

mod connection;

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::config::Config;
use crate::lifecycle::{AcceptStarvation, ACCEPT_BACKOFF, CLOSE_LINGER, SHUTDOWN_FLUSH_LIMIT};
use crate::outbox::{Flushed, Gather, SpareQueues};
use crate::protocol::{ClientId, Departure, Hub, Line, Sink};
use crate::shutdown::Shutdown;
use crate::sys;
use connection::{Connection, Phase};

/// The listening socket's token. Slab keys count up from 0 and never get near it.
const LISTENER: Token = Token(usize::MAX);
/// The token of the waker that other threads use to get the loop's attention.
const WAKER: Token = Token(usize::MAX - 1);

/// Bytes read per `read` call. One buffer for the whole loop: connections keep only the
/// unfinished tail of a line (in the chat core), never a read buffer of their own.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes one connection may have read per pass before others get their turn.
const READ_BUDGET: usize = 4 * READ_CHUNK;
/// Bytes written to one connection per pass before others get their turn.
const WRITE_BUDGET: usize = 256 * 1024;
/// Events taken from the kernel per `poll`.
const EVENT_CAPACITY: usize = 1024;

/// A bound, not yet running, mio chat server.
pub struct MioServer {
    poll: Poll,
    listener: TcpListener,
    shutdown: Shutdown,
    hub: Hub,
    conns: Connections,
    read_buf: Box<[u8]>,
    /// Where short lines are laid end to end before each write (shared by all connections).
    gather: Gather,
    /// The flush list being worked through; swapped with `conns.to_flush` so that neither
    /// list is reallocated pass after pass.
    flushing: Vec<ClientId>,
    /// Connections whose read budget ran out with input possibly left: read them next pass
    /// without waiting for an event (edge-triggered readiness will not repeat it).
    unread: Vec<ClientId>,
    /// Set while accepting is paused after running out of descriptors; retried then.
    accept_paused_until: Option<Instant>,
    /// Whether accepting is failing for lack of resources (logged once per episode).
    starvation: AcceptStarvation,
    /// When to give memory back after a crowd has left.
    reclaim: sys::Reclaim,
}

impl MioServer {
    /// Binds `config.addr` and prepares the loop. Nothing is served until [`MioServer::run`].
    pub fn bind(config: &Config) -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(config.addr)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let shutdown = Shutdown::new(move || {
            if let Err(e) = waker.wake() {
                log::error!("could not wake the event loop for shutdown: {e}");
            }
        });
        Ok(MioServer {
            poll,
            listener,
            shutdown,
            hub: Hub::new(config),
            conns: Connections::new(config.max_outbuf),
            read_buf: vec![0; READ_CHUNK].into_boxed_slice(),
            gather: Gather::default(),
            flushing: Vec::new(),
            unread: Vec::new(),
            accept_paused_until: None,
            starvation: AcceptStarvation::default(),
            reclaim: sys::Reclaim::default(),
        })
    }

    /// The address actually bound (its port, when `config.addr` asked for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The handle that stops [`MioServer::run`].
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves until shutdown is requested, then says goodbye to everyone and returns.
    ///
    /// The loop runs on a thread of its own, watched from this one. When most clients have
    /// left, it shrinks its tables and hands itself back; this thread waits for the loop's
    /// thread to exit, returns free memory to the operating system, and starts the loop again
    /// on a fresh thread. The move is what makes the memory come back: glibc keeps a cache of
    /// freed blocks per thread, released only when the thread exits, and those blocks pin
    /// pages that `malloc_trim` cannot return (a 1,000-client soak ended 11% above its
    /// baseline without the move, under 10% with it).
    pub fn run(self) -> io::Result<()> {
        let mut server = self;
        while let Some(handed_back) = server.serve_on_a_fresh_thread()? {
            sys::release_free_memory();
            log::debug!(
                "gave memory back; {} clients left",
                handed_back.hub.client_count()
            );
            server = handed_back;
        }
        Ok(())
    }

    /// Runs [`MioServer::serve`] on a new thread and waits for it to end. If no thread can be
    /// started, the loop carries on on this one rather than dropping everyone.
    fn serve_on_a_fresh_thread(self) -> io::Result<Option<MioServer>> {
        let (hand_over, take_over) = std::sync::mpsc::channel::<MioServer>();
        let spawned = std::thread::Builder::new()
            .name("mio-loop".into())
            .spawn(move || take_over.recv().map_or(Ok(None), MioServer::serve));
        match spawned {
            Ok(thread) => {
                if let Err(std::sync::mpsc::SendError(server)) = hand_over.send(self) {
                    return server.serve();
                }
                thread
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("the event loop panicked")))
            }
            Err(e) => {
                log::warn!("cannot start a thread for the event loop ({e}); it stays where it is");
                self.serve()
            }
        }
    }

    /// The event loop: returns `None` after shutdown, or itself once it is time to give
    /// memory back (see [`MioServer::run`]).
    fn serve(mut self) -> io::Result<Option<MioServer>> {
        let mut events = Events::with_capacity(EVENT_CAPACITY);
        loop {
            self.conns.now = Instant::now();
            self.flush_pending();
            self.drop_failed();
            self.drop_lingering();
            if self.reclaim.due(self.hub.client_count()) {
                self.shrink_tables();
                return Ok(Some(self));
            }
            if self.shutdown.is_requested() {
                return self.say_goodbye(&mut events).map(|()| None);
            }
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            self.conns.now = Instant::now();
            let mut listener_ready = false;
            for event in events.iter() {
                match event.token() {
                    LISTENER => listener_ready = true,
                    WAKER => {}
                    Token(key) => {
                        let id = ClientId(key);
                        if event.is_writable() {
                            self.conns.mark_for_flush(id);
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.read_from(id);
                        }
                    }
                }
            }
            for id in std::mem::take(&mut self.unread) {
                self.read_from(id);
            }
            if self
                .hub
                .next_deadline()
                .is_some_and(|deadline| deadline <= self.conns.now)
            {
                self.hub.tick(self.conns.now, &mut self.conns);
            }
            let accept_due = match self.accept_paused_until {
                Some(until) => until <= self.conns.now,
                None => listener_ready,
            };
            if accept_due {
                self.accept_all();
            }
        }
    }

    /// How long `poll` may sleep: not at all while work is left over from the last pass.
    fn poll_timeout(&self) -> Option<Duration> {
        if !self.conns.to_flush.is_empty() || !self.unread.is_empty() {
            return Some(Duration::ZERO);
        }
        let deadlines = [
            self.accept_paused_until,
            self.conns.lingering.front().map(|&(deadline, _)| deadline),
            self.hub.next_deadline(),
        ];
        deadlines
            .into_iter()
            .flatten()
            .min()
            .map(|deadline| deadline.saturating_duration_since(self.conns.now))
    }

    /// Accepts until the listener would block. Running out of descriptors pauses accepting
    /// for a moment (connections wait in the listen backlog) instead of spinning on an error
    /// that cannot clear by itself; it is logged once per episode.
    fn accept_all(&mut self) {
        self.accept_paused_until = None;
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    self.starvation.succeeded();
                    self.admit(stream, peer);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.starvation.failed(&e) => {
                    self.accept_paused_until = Some(self.conns.now + ACCEPT_BACKOFF);
                    return;
                }
                Err(e) => log::debug!("accept failed: {e}"),
            }
        }
    }

    /// Registers a new connection and introduces it to the chat core.
    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        if let Err(e) = stream.set_nodelay(true) {
            log::debug!("{peer}: cannot set TCP_NODELAY: {e}");
        }
        let entry = self.conns.slab.vacant_entry();
        let id = ClientId(entry.key());
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, Token(id.0), Interest::READABLE)
        {
            log::warn!("{peer}: cannot register the connection: {e}");
            return;
        }
        log::debug!("client {} connected from {peer}", id.0);
        entry.insert(Connection::new(stream, peer));
        self.hub.connect(id, self.conns.now, &mut self.conns);
    }

    /// Reads from one connection until it would block, its input ends, or its budget runs out.
    fn read_from(&mut self, id: ClientId) {
        let mut budget = READ_BUDGET;
        loop {
            let Some(conn) = self.conns.slab.get_mut(id.0) else {
                return;
            };
            match conn.phase {
                Phase::Open => {}
                Phase::Draining { .. } => return self.discard_input(id),
                Phase::Closing { .. } | Phase::Failed => return,
            }
            match conn.stream.read(&mut self.read_buf) {
                Ok(0) => {
                    log::debug!("client {} ({}) closed its side", id.0, conn.peer);
                    self.hub.end_of_input(id, self.conns.now, &mut self.conns);
                    // The core closes clients it knows; make sure of it for any it did not.
                    self.conns.close(id);
                    return;
                }
                Ok(n) => {
                    self.hub
                        .receive(id, &self.read_buf[..n], self.conns.now, &mut self.conns);
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        self.unread.push(id);
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.conns.fail(id, &e);
                    return;
                }
            }
        }
    }

    /// Reads and throws away what a draining connection sends; closes it once the client
    /// has closed its side (or the socket fails).
    fn discard_input(&mut self, id: ClientId) {
        let mut budget = READ_BUDGET;
        while let Some(conn) = self.conns.slab.get_mut(id.0) {
            match conn.stream.read(&mut self.read_buf) {
                Ok(0) => break,
                Ok(n) => {
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        self.unread.push(id);
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.conns.close_now(id, self.poll.registry());
    }

    /// Writes out every connection that got output since the last flush.
    fn flush_pending(&mut self) {
        std::mem::swap(&mut self.flushing, &mut self.conns.to_flush);
        for id in self.flushing.drain(..) {
            let Some(conn) = self.conns.slab.get_mut(id.0) else {
                continue;
            };
            conn.flush_pending = false;
            match conn
                .outbox
                .flush_to(&mut conn.stream, WRITE_BUDGET, &mut self.gather)
            {
                Ok(Flushed::Drained) => {
                    if let Some(storage) = conn.outbox.release_storage() {
                        self.conns.spares.put(storage);
                    }
                    if let Phase::Closing { deadline } = conn.phase {
                        conn.phase = Phase::Draining { deadline };
                        if let Err(e) = conn.stream.shutdown(std::net::Shutdown::Write) {
                            log::debug!("client {}: shutdown failed: {e}", id.0);
                        }
                        // Input may already be waiting, and no new event will say so.
                        self.unread.push(id);
                    } else if conn.wants_writable {
                        conn.wants_writable = false;
                        self.conns
                            .reregister(id, Interest::READABLE, self.poll.registry());
                    }
                }
                Ok(Flushed::Blocked) => {
                    if !conn.wants_writable {
                        conn.wants_writable = true;
                        self.conns.reregister(
                            id,
                            Interest::READABLE | Interest::WRITABLE,
                            self.poll.registry(),
                        );
                    }
                }
                Ok(Flushed::BudgetSpent) => self.conns.mark_for_flush(id),
                Err(e) => self.conns.fail(id, &e),
            }
        }
    }

    /// Drops the connections whose sockets failed, after the step that found them, and tells
    /// the chat core (which ignores those it had already let go); their rooms' notices are
    /// flushed in the next pass.
    fn drop_failed(&mut self) {
        while let Some((id, why)) = self.conns.failed.pop() {
            if why == Departure::TooSlow {
                let nick = self.hub.nick(id).unwrap_or("-");
                log::info!(
                    "client {} ({nick}) dropped: over --max-outbuf, not reading fast enough",
                    id.0
                );
            }
            self.conns.close_now(id, self.poll.registry());
            self.hub.disconnect(id, why, &mut self.conns);
        }
    }

    /// Drops closing connections that did not take their last lines in time.
    fn drop_lingering(&mut self) {
        while let Some(&(deadline, id)) = self.conns.lingering.front() {
            if deadline > self.conns.now {
                return;
            }
            self.conns.lingering.pop_front();
            if self
                .conns
                .slab
                .get(id.0)
                .is_some_and(|conn| conn.phase.deadline() == Some(deadline))
            {
                log::debug!("client {}: closed at its linger deadline", id.0);
                self.conns.close_now(id, self.poll.registry());
            }
        }
    }

    /// Most clients have left: shrinks the tables a crowd grew (the memory itself is returned
    /// by [`MioServer::run`]).
    fn shrink_tables(&mut self) {
        self.hub.shrink_to_fit();
        self.conns.slab.shrink_to_fit();
        self.conns.to_flush.shrink_to_fit();
        self.conns.failed.shrink_to_fit();
        self.conns.lingering.shrink_to_fit();
        self.conns.spares.clear();
        self.flushing.shrink_to_fit();
        self.unread.shrink_to_fit();
    }

    /// Shutdown: stop accepting, tell everyone, flush for a bounded time, return.
    fn say_goodbye(mut self, events: &mut Events) -> io::Result<()> {
        log::info!(
            "shutting down; saying goodbye to {} clients",
            self.hub.client_count()
        );
        if let Err(e) = self.poll.registry().deregister(&mut self.listener) {
            log::debug!("cannot deregister the listener: {e}");
        }
        self.hub.shutdown(&mut self.conns);
        let give_up_at = Instant::now() + SHUTDOWN_FLUSH_LIMIT;
        loop {
            self.conns.now = Instant::now();
            self.flush_pending();
            self.drop_failed();
            // Goodbyes written: read what each client sent once (closing with unread input
            // would reset the connection), then close without waiting for the client.
            for id in std::mem::take(&mut self.unread) {
                let draining = self
                    .conns
                    .slab
                    .get(id.0)
                    .is_some_and(|c| matches!(c.phase, Phase::Draining { .. }));
                if draining {
                    self.discard_input(id);
                    self.conns.close_now(id, self.poll.registry());
                }
            }
            if self.conns.slab.is_empty() || self.conns.now >= give_up_at {
                break;
            }
            let wait = if self.conns.to_flush.is_empty() {
                give_up_at - self.conns.now
            } else {
                Duration::ZERO
            };
            match self.poll.poll(events, Some(wait)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                if event.is_writable() {
                    self.conns.mark_for_flush(ClientId(event.token().0));
                }
            }
        }
        log::info!(
            "shut down; {} connections could not be flushed in time",
            self.conns.slab.len()
        );
        Ok(())
    }
}

/// The connections and the bookkeeping the chat core's decisions feed: the loop's [`Sink`].
struct Connections {
    slab: Slab<Connection>,
    /// Connections with output queued since the last flush, each listed once.
    to_flush: Vec<ClientId>,
    /// Connections that failed or fell too far behind, to drop after the current step.
    failed: Vec<(ClientId, Departure)>,
    /// `--max-outbuf`: queued bytes past which a client is dropped as too slow.
    max_outbuf: usize,
    /// Drained outboxes' storage, reused by the next fan-out.
    spares: SpareQueues,
    /// Closing connections and when to give up on them, in deadline order (the linger time
    /// is constant, so order of closing is order of deadline).
    lingering: VecDeque<(Instant, ClientId)>,
    /// The loop's clock, read once per pass.
    now: Instant,
}

impl Connections {
    fn new(max_outbuf: usize) -> Self {
        Connections {
            slab: Slab::new(),
            to_flush: Vec::new(),
            failed: Vec::new(),
            max_outbuf,
            spares: SpareQueues::default(),
            lingering: VecDeque::new(),
            now: Instant::now(),
        }
    }

    /// Lists a connection for the next flush, once.
    fn mark_for_flush(&mut self, id: ClientId) {
        if let Some(conn) = self.slab.get_mut(id.0) {
            list_for_flush(&mut self.to_flush, id, conn);
        }
    }

    /// Notes a socket error; the connection is dropped after the current step.
    fn fail(&mut self, id: ClientId, error: &io::Error) {
        if let Some(conn) = self.slab.get(id.0) {
            log::debug!("client {} ({}): {error}", id.0, conn.peer);
        }
        self.give_up_on(id, Departure::ConnectionLost);
    }

    /// Stops all traffic to and from a connection and lists it to be dropped after the
    /// current step.
    fn give_up_on(&mut self, id: ClientId, why: Departure) {
        let Some(conn) = self.slab.get_mut(id.0) else {
            return;
        };
        if conn.phase != Phase::Failed {
            conn.phase = Phase::Failed;
            conn.outbox.clear();
            self.failed.push((id, why));
        }
    }

    fn reregister(&mut self, id: ClientId, interest: Interest, registry: &mio::Registry) {
        let Some(conn) = self.slab.get_mut(id.0) else {
            return;
        };
        if let Err(e) = registry.reregister(&mut conn.stream, Token(id.0), interest) {
            self.fail(id, &e);
        }
    }

    /// Removes a connection from the loop and closes its socket.
    fn close_now(&mut self, id: ClientId, registry: &mio::Registry) {
        if self.slab.contains(id.0) {
            let mut conn = self.slab.remove(id.0);
            if let Err(e) = registry.deregister(&mut conn.stream) {
                log::debug!("client {}: deregister failed: {e}", id.0);
            }
            log::debug!("client {} ({}) closed", id.0, conn.peer);
        }
    }
}

impl Sink for Connections {
    fn send(&mut self, to: ClientId, line: &Line) {
        let Some(conn) = self.slab.get_mut(to.0) else {
            return;
        };
        if conn.phase != Phase::Open {
            return;
        }
        conn.outbox.push_recycling(line.clone(), &mut self.spares);
        if conn.outbox.queued_bytes() > self.max_outbuf {
            self.give_up_on(to, Departure::TooSlow);
        } else {
            list_for_flush(&mut self.to_flush, to, conn);
        }
    }

    fn close(&mut self, client: ClientId) {
        let Some(conn) = self.slab.get_mut(client.0) else {
            return;
        };
        if conn.phase == Phase::Open {
            let deadline = self.now + CLOSE_LINGER;
            conn.phase = Phase::Closing { deadline };
            self.lingering.push_back((deadline, client));
            list_for_flush(&mut self.to_flush, client, conn);
        }
    }
}

/// Puts `conn` on the flush list unless it is there already.
fn list_for_flush(to_flush: &mut Vec<ClientId>, id: ClientId, conn: &mut Connection) {
    if !conn.flush_pending {
        conn.flush_pending = true;
        to_flush.push(id);
    }
}
