//! The thread that listens to Redis pub/sub for this server: presence and ban news, messages
//! for its own clients, and the channels of the rooms that have members here (only those:
//! a server does not pay for rooms it does not serve). What it hears goes to the driver as
//! news; what this server published itself is skipped.
//!
//! Its own connection, in subscriber mode. Between messages it takes its orders (the rooms
//! to watch or stop watching); the command thread wakes it with a message on this server's
//! channel when an order cannot wait, and reads time out now and then for the rest. When
//! Redis goes away it reconnects with back-off and subscribes again to everything.

use std::collections::HashSet;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::wire::{self, read_published};
use crate::protocol::room;
use crate::services::mailbox::Mailbox;

/// How long a read waits before the thread looks at its orders again (the orders that
/// cannot wait come with a wake-up message).
const READ_TIMEOUT: Duration = Duration::from_millis(500);
/// The first pause before reconnecting; it doubles up to [`MOST_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest pause between reconnection attempts.
const MOST_BACKOFF: Duration = Duration::from_secs(5);

/// What the subscriber is told to do.
#[derive(Debug)]
pub enum Order {
    /// Listen to a room's channel (a room here got its first member), and say so on
    /// `listening` once it does (or drop it, if Redis is out of reach).
    Watch {
        /// The room.
        room: Box<str>,
        /// Told when the subscription is in force.
        listening: SyncSender<()>,
    },
    /// Stop listening to a room's channel.
    Unwatch(Box<str>),
    /// Reconnect now if not listening (Redis is back), and say so on `listening` once
    /// listening.
    Listen {
        /// Told when the subscriptions are in force.
        listening: SyncSender<()>,
    },
    /// Stop altogether.
    Stop,
}

/// Starts the subscriber for server `id`, which publishes as `id` too, and returns once it
/// listens (so that nothing published from then on is missed), or fails if it cannot.
pub fn start(
    client: redis::Client,
    id: Box<str>,
    orders: Receiver<Order>,
    mailbox: Mailbox,
) -> std::io::Result<JoinHandle<()>> {
    let (ready, listening) = mpsc::sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("redis-subscriber".into())
        .spawn(move || {
            let mut subscriber = Subscriber {
                client,
                fixed: vec![
                    wire::PRESENCE.into(),
                    wire::SANCTIONS.into(),
                    wire::server_channel(&id),
                ],
                wake: wire::wake(&id),
                id,
                rooms: HashSet::new(),
                orders,
                mailbox,
                ready: Some(ready),
                backoff: FIRST_BACKOFF,
                waiting: Vec::new(),
            };
            subscriber.run();
        })?;
    match listening.recv_timeout(MOST_BACKOFF * 2) {
        Ok(Ok(())) => Ok(thread),
        Ok(Err(e)) => Err(std::io::Error::other(format!("cannot subscribe: {e}"))),
        Err(_) => Err(std::io::Error::other("cannot subscribe: no answer")),
    }
}

struct Subscriber {
    client: redis::Client,
    id: Box<str>,
    /// The message that only wakes this thread.
    wake: String,
    /// Channels listened to whatever the rooms.
    fixed: Vec<String>,
    /// The room channels listened to.
    rooms: HashSet<String>,
    orders: Receiver<Order>,
    mailbox: Mailbox,
    /// Told the outcome of the first attempt to listen, then `None`.
    ready: Option<SyncSender<Result<(), redis::RedisError>>>,
    /// The pause before the next attempt to reconnect.
    backoff: Duration,
    /// Told when the thread listens again.
    waiting: Vec<SyncSender<()>>,
}

/// Why a session of listening ended.
enum Ended {
    /// Told to stop.
    Stopped,
    /// The connection failed.
    Failed(redis::RedisError),
}

impl Subscriber {
    fn run(&mut self) {
        loop {
            match self.listen() {
                Ended::Stopped => return,
                Ended::Failed(e) => match self.ready.take() {
                    Some(ready) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                    None => log::debug!("redis subscriber: {e}; reconnecting"),
                },
            }
            if self.take_orders(self.backoff) {
                return;
            }
            self.backoff = (self.backoff * 2).min(MOST_BACKOFF);
        }
    }

    /// Connects, subscribes to everything wanted, and passes messages on until the
    /// connection fails or the thread is told to stop.
    fn listen(&mut self) -> Ended {
        let mut connection = match self.client.get_connection_with_timeout(MOST_BACKOFF) {
            Ok(connection) => connection,
            Err(e) => return Ended::Failed(e),
        };
        let mut pubsub = connection.as_pubsub();
        if let Err(e) = pubsub.set_read_timeout(Some(READ_TIMEOUT)) {
            return Ended::Failed(e);
        }
        let channels: Vec<&String> = self.fixed.iter().chain(self.rooms.iter()).collect();
        if let Err(e) = pubsub.subscribe(channels) {
            return Ended::Failed(e);
        }
        self.backoff = FIRST_BACKOFF;
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Ok(()));
        }
        for listening in self.waiting.drain(..) {
            let _ = listening.send(());
        }
        loop {
            loop {
                match self.orders.try_recv() {
                    Ok(Order::Watch { room, listening }) => {
                        let channel = wire::room_channel(&room::fold(&room));
                        if self.rooms.insert(channel.clone()) {
                            if let Err(e) = pubsub.subscribe(&channel) {
                                return Ended::Failed(e);
                            }
                        }
                        let _ = listening.send(());
                    }
                    Ok(Order::Listen { listening }) => {
                        let _ = listening.send(());
                    }
                    Ok(Order::Unwatch(room)) => {
                        let channel = wire::room_channel(&room::fold(&room));
                        if self.rooms.remove(&channel) {
                            if let Err(e) = pubsub.unsubscribe(&channel) {
                                return Ended::Failed(e);
                            }
                        }
                    }
                    Ok(Order::Stop) | Err(TryRecvError::Disconnected) => return Ended::Stopped,
                    Err(TryRecvError::Empty) => break,
                }
            }
            match pubsub.get_message() {
                Ok(message) => self.pass_on(message.get_payload_bytes()),
                Err(e) if e.is_timeout() => {}
                Err(e) => return Ended::Failed(e),
            }
        }
    }

    /// Between connections: applies the orders received for `pause` (less, if told to
    /// listen again); true if told to stop.
    fn take_orders(&mut self, pause: Duration) -> bool {
        let until = Instant::now() + pause;
        loop {
            match self
                .orders
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(Order::Watch { room, .. }) => {
                    self.rooms.insert(wire::room_channel(&room::fold(&room)));
                }
                Ok(Order::Unwatch(room)) => {
                    self.rooms.remove(&wire::room_channel(&room::fold(&room)));
                }
                Ok(Order::Listen { listening }) => {
                    self.waiting.push(listening);
                    return false;
                }
                Ok(Order::Stop) | Err(RecvTimeoutError::Disconnected) => return true,
                Err(RecvTimeoutError::Timeout) => return false,
            }
        }
    }

    /// Hands a message on to the driver, unless this server published it.
    fn pass_on(&self, payload: &[u8]) {
        let Ok(text) = std::str::from_utf8(payload) else {
            log::debug!("redis subscriber: a message that is not UTF-8");
            return;
        };
        if text == self.wake {
            return;
        }
        match read_published(text) {
            Some(published) if *published.origin != *self.id => {
                self.mailbox.post_remote(published.news);
            }
            Some(_) => {}
            None => log::debug!("redis subscriber: a message of unknown shape"),
        }
    }
}
