//! The product: a single-threaded, edge-triggered event loop on `mio`.
//!
//! One thread owns one `Poll`, the listeners, a `Waker` and a slab of connections. A
//! connection is a transport (`io::Io`) and a codec (`codec::Codec`); there is one read
//! path and one flush path through them. A pass of the loop does, in order:
//!
//! 1. hand the chat core's requests to the services; flush every connection that got output
//!    during the previous pass (vectored writes, a byte budget each); drop connections that
//!    failed;
//! 2. sleep in `poll` (not at all if some connection was cut short by a budget), up to the
//!    next deadline;
//! 3. read each readable connection until `WouldBlock` or its read budget, handing the bytes
//!    to its codec and so to the chat core, which queues lines into outboxes; give the core
//!    the services' answers (the waker's events are the services' way of saying there are
//!    some); read the connections cut short last pass, once each, after everyone else had
//!    their turn; act on deadlines that are due; accept until `WouldBlock`.
//!
//! Output is therefore batched: however many lines a client is sent during a pass, it costs
//! one `writev` before the loop sleeps again. Write interest is registered only while a
//! socket refuses bytes. Connections are never dropped in the middle of a fan-out: a failed
//! socket is noted and dropped after the step that found it.
//!
//! A TLS connection (the second listener) is the same, with a rustls session in its transport
//! (`tls`): a read that advanced the handshake, or left records to send, lists the
//! connection for the flush, and the flush writes a pass's lines into the session as one
//! record (or as few as 16 KiB records allow).
//!
//! A web connection (`web`) is the same again, with an HTTP codec that becomes a WebSocket
//! codec on `GET /ws`, and an outbox that frames its lines; the read path is `read`, the
//! flush path `flush`.

mod accept;
mod codec;
mod connection;
mod connections;
mod counters;
mod flush;
mod io;
mod listeners;
mod read;
mod timers;
mod tls;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};

use rustls::ServerConfig;

use crate::config::Config;
use crate::lifecycle::{AcceptStarvation, SHUTDOWN_FLUSH_LIMIT};
use crate::protocol::{ClientId, Departure, Hub, Line, WallClock};
use crate::server::Addresses;
use crate::services::{Delivery, Inbox, Mailbox, Services};
use crate::shutdown::Shutdown;
use connection::Phase;
use connections::Connections;
use listeners::{Kind, Listener};
use timers::Deadline;

/// The token of the waker that other threads (services, the signal thread) use to get the
/// loop's attention.
const WAKER: Token = Token(usize::MAX);

/// Bytes read per `read` call. One buffer for the whole loop: connections keep only the
/// unfinished tail of a line (in the chat core), never a read buffer of their own.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes one connection may have read per pass before others get their turn: one chunk, a
/// couple of thousand chat lines, so that a client sending as fast as it can costs the
/// others a millisecond or so per pass, not tens.
const READ_BUDGET: usize = READ_CHUNK;
/// Bytes written to one connection per pass before others get their turn.
const WRITE_BUDGET: usize = 256 * 1024;
/// Events taken from the kernel per `poll`.
const EVENT_CAPACITY: usize = 1024;

/// A bound, not yet running, mio chat server.
pub struct MioServer {
    poll: Poll,
    listeners: Vec<Listener>,
    shutdown: Shutdown,
    hub: Hub,
    conns: Connections,
    services: Services,
    /// The services' answers.
    inbox: Inbox,
    read_buf: Box<[u8]>,
    /// The flush list being worked through; swapped with `conns.to_flush` so that neither
    /// list is reallocated pass after pass.
    flushing: Vec<ClientId>,
    /// The revisit list being worked through, swapped likewise.
    revisiting: Vec<ClientId>,
    /// Set while accepting is paused after running out of descriptors; retried then.
    accept_paused_until: Option<Instant>,
    /// Whether accepting is failing for lack of resources (logged once per episode).
    starvation: AcceptStarvation,
    /// The chat page's response, made once and shared by every request for it.
    page: Line,
}

impl MioServer {
    /// Binds the listeners, opens the store and prepares the loop. Nothing is served until
    /// [`MioServer::run`].
    pub fn bind(config: &Config) -> std::io::Result<Self> {
        let poll = Poll::new()?;
        let listeners = open_listeners(config, &poll)?;
        let listener_count = listeners.len();
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let wake = move || {
            if let Err(e) = waker.wake() {
                log::error!("could not wake the event loop: {e}");
            }
        };
        let (mailbox, inbox) = Mailbox::new(wake.clone());
        let shutdown = Shutdown::new(wake);
        let (services, preload) = Services::start(config, mailbox)?;
        let mut hub = Hub::new(config, WallClock::start());
        hub.preload(preload);
        Ok(MioServer {
            poll,
            listeners,
            shutdown,
            hub,
            conns: Connections::new(config.max_outbuf, listener_count),
            services,
            inbox,
            read_buf: vec![0; READ_CHUNK].into_boxed_slice(),
            flushing: Vec::new(),
            revisiting: Vec::new(),
            accept_paused_until: None,
            starvation: AcceptStarvation::default(),
            page: web::response::page(),
        })
    }

    /// The addresses the listeners actually bound (their ports, when the configuration asked
    /// for port 0).
    pub fn addresses(&self) -> std::io::Result<Addresses> {
        let of = |label: &str| -> std::io::Result<Option<SocketAddr>> {
            self.listeners
                .iter()
                .find(|listener| listener.kind.label() == label)
                .map(|listener| listener.socket.local_addr())
                .transpose()
        };
        Ok(Addresses {
            line: self.listeners[0].socket.local_addr()?,
            tls: of("tls")?,
            http: of("http")?,
            https: of("https")?,
        })
    }

    /// The handle that stops [`MioServer::run`].
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves until shutdown is requested, then says goodbye to everyone, writes what the
    /// services still hold, and returns.
    pub fn run(mut self) -> std::io::Result<()> {
        let mut events = Events::with_capacity(EVENT_CAPACITY);
        // When the current pass began: when `poll` returned.
        let mut woke: Option<Instant> = None;
        loop {
            self.conns.now = Instant::now();
            self.submit_requests();
            self.flush_pending();
            self.drop_failed();
            if self.shutdown.is_requested() {
                return self.say_goodbye(&mut events);
            }
            if let Some(woke) = woke.take() {
                self.conns.counters.passes.observe(woke.elapsed());
            }
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            self.conns.now = Instant::now();
            woke = Some(self.conns.now);
            let mut listeners_ready = false;
            for event in events.iter() {
                let token = event.token();
                if token == WAKER {
                    continue;
                }
                if Listener::index(token, self.listeners.len()).is_some() {
                    listeners_ready = true;
                    continue;
                }
                let id = ClientId(token.0);
                if event.is_writable() {
                    self.conns.mark_for_flush(id);
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.read_from(id);
                }
            }
            self.take_deliveries();
            self.revisit();
            self.fire_timers();
            let accept_due = match self.accept_paused_until {
                Some(until) => until <= self.conns.now,
                None => listeners_ready,
            };
            if accept_due {
                self.accept_all();
            }
        }
    }

    /// How long `poll` may sleep: not at all while work is left over from the last pass.
    fn poll_timeout(&self) -> Option<Duration> {
        if !self.conns.to_flush.is_empty() || !self.conns.to_revisit.is_empty() {
            return Some(Duration::ZERO);
        }
        [self.accept_paused_until, self.conns.timers.next()]
            .into_iter()
            .flatten()
            .min()
            .map(|deadline| deadline.saturating_duration_since(self.conns.now))
    }

    /// Hands the chat core's requests to the services.
    fn submit_requests(&mut self) {
        while let Some(request) = self.hub.poll_request() {
            self.services.submit(request);
        }
    }

    /// Gives the chat core every answer and every piece of news the services have posted.
    fn take_deliveries(&mut self) {
        while let Some(delivery) = self.inbox.next() {
            match delivery {
                Delivery::Completion(completion) => {
                    self.hub
                        .handle_completion(self.conns.now, completion, &mut self.conns);
                }
                Delivery::Remote(remote) => self.hub.handle_remote(remote, &mut self.conns),
            }
        }
    }

    /// Acts on every deadline that is due.
    fn fire_timers(&mut self) {
        while let Some((id, deadline)) = self.conns.timers.pop_due(self.conns.now) {
            match deadline {
                Deadline::Core => self.hub.timeout(id, self.conns.now, &mut self.conns),
                Deadline::Linger => {
                    log::debug!("client {}: closed at its linger deadline", id.0);
                    self.conns.close_now(id, self.poll.registry());
                }
                Deadline::Handshake => {
                    self.conns.counters.tls_handshakes_failed += 1;
                    log::debug!(
                        "client {}: no TLS handshake within {:?}; closed",
                        id.0,
                        tls::HANDSHAKE_TIMEOUT
                    );
                    self.conns.give_up_on(id, Departure::ConnectionLost);
                }
                Deadline::Request => {
                    log::debug!(
                        "client {}: no HTTP request within {:?}; closed",
                        id.0,
                        web::REQUEST_TIMEOUT
                    );
                    self.conns.give_up_on(id, Departure::ConnectionLost);
                }
            }
        }
    }

    /// Shutdown: stop accepting, tell everyone, flush for a bounded time, let the services
    /// finish, return.
    fn say_goodbye(mut self, events: &mut Events) -> std::io::Result<()> {
        log::info!(
            "shutting down; saying goodbye to {} clients",
            self.hub.client_count()
        );
        for listener in &mut self.listeners {
            if let Err(e) = self.poll.registry().deregister(&mut listener.socket) {
                log::debug!("cannot deregister a listener: {e}");
            }
        }
        self.hub.shutdown(&mut self.conns);
        // A client still in its TLS handshake, or a web client that has not asked for
        // anything yet, can be told nothing: let it go at once.
        let untold: Vec<usize> = self
            .conns
            .slab
            .iter()
            .filter_map(|(key, conn)| {
                (conn.io.is_handshaking() || conn.codec.awaits_request()).then_some(key)
            })
            .collect();
        for key in untold {
            self.conns.close_now(ClientId(key), self.poll.registry());
        }
        let give_up_at = Instant::now() + SHUTDOWN_FLUSH_LIMIT;
        loop {
            self.conns.now = Instant::now();
            self.flush_pending();
            self.drop_failed();
            // Goodbyes written: read what each client sent (closing with unread input would
            // reset the connection), then close without waiting for the client.
            let draining: Vec<ClientId> = self
                .conns
                .slab
                .iter()
                .filter(|(_, conn)| conn.phase == Phase::Draining)
                .map(|(key, _)| ClientId(key))
                .collect();
            for id in draining {
                self.read_from(id);
                self.conns.close_now(id, self.poll.registry());
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
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
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
        self.submit_requests();
        self.services.stop();
        Ok(())
    }
}

/// Binds every listener `config` asks for: the line protocol's first, then TLS, HTTP and
/// HTTPS. Both TLS listeners serve one certificate (made once, when it is self-signed).
fn open_listeners(config: &Config, poll: &Poll) -> std::io::Result<Vec<Listener>> {
    let tls_config: Option<Arc<ServerConfig>> = config
        .tls
        .as_ref()
        .or(config.https.as_ref())
        .map(tls::configure)
        .transpose()?;
    let mut wanted = vec![(config.addr, Kind::Plain)];
    if let (Some(tls), Some(server_config)) = (&config.tls, &tls_config) {
        wanted.push((tls.addr, Kind::Tls(Arc::clone(server_config))));
    }
    if let Some(addr) = config.http {
        wanted.push((addr, Kind::Http));
    }
    if let (Some(https), Some(server_config)) = (&config.https, &tls_config) {
        wanted.push((https.addr, Kind::Https(Arc::clone(server_config))));
    }
    wanted
        .into_iter()
        .enumerate()
        .map(|(index, (addr, kind))| Listener::open(addr, kind, index, poll.registry()))
        .collect()
}
