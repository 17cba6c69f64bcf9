//! How services hand answers back to a driver: a channel, and a way to wake the driver.
//!
//! A service thread posts a [`Delivery`] (an answer, or news from other servers) and calls
//! the driver's wake function (the mio loop's `Waker`, a Tokio `Notify`); the driver drains
//! the channel every time it wakes, the same way it handles any other event.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use crate::protocol::{Completion, Remote};

/// What a service hands a driver, for the chat core.
#[derive(Debug)]
pub enum Delivery {
    /// The answer to a request (`Hub::handle_completion`).
    Completion(Completion),
    /// News from other servers (`Hub::handle_remote`).
    Remote(Remote),
}

/// The sending side, cloned into every service.
#[derive(Clone)]
pub struct Mailbox {
    sender: Sender<Delivery>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Mailbox {
    /// A mailbox whose posts wake the driver with `wake`, and the driver's end of it.
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> (Mailbox, Inbox) {
        let (sender, receiver) = mpsc::channel();
        let mailbox = Mailbox {
            sender,
            wake: Arc::new(wake),
        };
        (mailbox, Inbox { receiver })
    }

    /// Hands `completion` to the driver and wakes it. A driver that has stopped no longer
    /// listens; the answer is then dropped.
    pub fn post(&self, completion: Completion) {
        self.deliver(Delivery::Completion(completion));
    }

    /// Hands news from other servers to the driver and wakes it.
    pub fn post_remote(&self, remote: Remote) {
        self.deliver(Delivery::Remote(remote));
    }

    fn deliver(&self, delivery: Delivery) {
        if self.sender.send(delivery).is_ok() {
            (self.wake)();
        }
    }
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailbox")
    }
}

/// The driver's end: deliveries waiting to be given to the chat core.
#[derive(Debug)]
pub struct Inbox {
    receiver: Receiver<Delivery>,
}

impl Inbox {
    /// The next delivery, if one is waiting. Never blocks.
    pub fn next(&self) -> Option<Delivery> {
        self.receiver.try_recv().ok()
    }
}
