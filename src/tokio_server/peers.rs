//! The state every connection task shares, behind one mutex: the chat core, the services,
//! and each client's queue. The queues are the Tokio server's [`Sink`].
//!
//! Each client has one unbounded channel of [`Item`]s and a count of the bytes queued for it
//! and not yet written. The count bounds the queue: a client whose backlog passes twice
//! `--max-outbuf` (its task has not even been scheduled to write it) is dropped at once;
//! below that, its task judges after each write whether its socket refused more than
//! `--max-outbuf`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use slab::Slab;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;

use crate::protocol::{ClientId, Departure, Hub, Line, Sink};
use crate::services::Services;

/// What the chat core wants a connection task to do.
#[derive(Debug)]
pub enum Item {
    /// Write this.
    Line(Line),
    /// Write what is queued, then close.
    Close,
    /// Call `Hub::timeout` at this time (or never).
    Timer(Option<Instant>),
    /// Read the client again.
    Resume,
}

/// One client's queue, as the core's side sees it.
#[derive(Debug)]
struct Peer {
    /// `None` once the client was cut off for being too slow: the task sees its queue end.
    items: Option<UnboundedSender<Item>>,
    /// Bytes sent to the task and not yet written by it.
    unsent: Arc<AtomicUsize>,
}

/// The shared state.
pub struct State {
    /// The chat core.
    pub hub: Hub,
    /// Every client's queue, keyed by its client id.
    pub peers: Peers,
    /// Where the core's requests go.
    pub services: Services,
}

/// The clients' queues: the [`Sink`] the core writes into.
pub struct Peers {
    slab: Slab<Peer>,
    /// `--max-outbuf`.
    max_outbuf: usize,
    /// Clients found too slow while the core was busy, to disconnect when it is done.
    too_slow: Vec<ClientId>,
}

/// A task's end of its queue.
pub struct Queue {
    /// The items.
    pub items: UnboundedReceiver<Item>,
    /// Bytes sent and not yet written (the task subtracts what it writes).
    pub unsent: Arc<AtomicUsize>,
}

impl Peers {
    /// No clients yet.
    pub fn new(max_outbuf: usize) -> Self {
        Peers {
            slab: Slab::new(),
            max_outbuf,
            too_slow: Vec::new(),
        }
    }

    /// A new client's id and its task's end of the queue.
    pub fn add(&mut self) -> (ClientId, Queue) {
        let (items, receiver) = mpsc::unbounded_channel();
        let unsent = Arc::new(AtomicUsize::new(0));
        let id = ClientId(self.slab.insert(Peer {
            items: Some(items),
            unsent: Arc::clone(&unsent),
        }));
        (
            id,
            Queue {
                items: receiver,
                unsent,
            },
        )
    }

    /// Forgets client `id`: its task has ended, and the id may be given to a new one.
    pub fn remove(&mut self, id: ClientId) {
        self.slab.try_remove(id.0);
    }

    /// Ends client `id`'s queue; its task closes the connection without writing more. The
    /// id stays the task's until it ends.
    fn cut_off(&mut self, id: ClientId) {
        if let Some(peer) = self.slab.get_mut(id.0) {
            peer.items = None;
        }
    }

    fn deliver(&mut self, to: ClientId, item: Item) {
        if let Some(items) = self.slab.get(to.0).and_then(|peer| peer.items.as_ref()) {
            // A task that has ended no longer reads its queue; nothing is lost that matters.
            let _ = items.send(item);
        }
    }
}

impl Sink for Peers {
    fn send(&mut self, to: ClientId, line: &Line) {
        let Some(peer) = self.slab.get(to.0) else {
            return;
        };
        let unsent = peer.unsent.fetch_add(line.len(), Ordering::Relaxed) + line.len();
        if unsent > 2 * self.max_outbuf {
            self.too_slow.push(to);
        } else {
            self.deliver(to, Item::Line(line.clone()));
        }
    }

    fn close(&mut self, client: ClientId) {
        self.deliver(client, Item::Close);
    }

    fn set_timer(&mut self, client: ClientId, at: Option<Instant>) {
        self.deliver(client, Item::Timer(at));
    }

    fn resume_reading(&mut self, client: ClientId) {
        self.deliver(client, Item::Resume);
    }
}

/// The shared state behind its mutex, and the news that the server is stopping.
pub struct Shared {
    state: Mutex<State>,
    /// Set when the server stops: closing connections then do not wait for their clients.
    stopping: AtomicBool,
    /// Wakes the connections that are waiting for their clients to close.
    stop: Notify,
}

impl Shared {
    /// Shares `state`.
    pub fn new(state: State) -> Self {
        Shared {
            state: Mutex::new(state),
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
        }
    }

    /// The server is stopping: closing connections stop waiting for their clients.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.stop.notify_waiters();
    }

    /// Completes once the server is stopping.
    pub async fn stopping(&self) {
        let notified = self.stop.notified();
        tokio::pin!(notified);
        // Registered before the flag is read, so that a stop in between is not missed.
        notified.as_mut().enable();
        if !self.stopping.load(Ordering::SeqCst) {
            notified.await;
        }
    }

    /// Runs `act` on the core with the clients' queues as its sink, then finishes what it
    /// started: clients found too slow are disconnected, requests go to the services. The
    /// lock is never held across an await.
    pub fn with_hub<T>(&self, act: impl FnOnce(&mut Hub, &mut Peers) -> T) -> T {
        let mut state = self.lock();
        let State {
            hub,
            peers,
            services,
        } = &mut *state;
        let result = act(hub, peers);
        while let Some(id) = peers.too_slow.pop() {
            peers.cut_off(id);
            hub.disconnect(id, Departure::TooSlow, peers);
        }
        while let Some(request) = hub.poll_request() {
            services.submit(request);
        }
        result
    }

    /// The state, once nobody else shares it.
    pub fn into_state(self) -> State {
        self.state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, for setting up and tearing down.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave it in a state worse than stopping the
        // whole server would; poisoning is ignored.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
