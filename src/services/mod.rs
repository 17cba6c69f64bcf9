//! Services: the work the chat core asks for that must not run on a driver's thread (disk,
//! password hashing), each on threads of its own, shared by both drivers.
//!
//! A driver takes the core's requests after each call into it and hands them to
//! [`Services::submit`], which never blocks. Answers come back through the [`Mailbox`] the
//! services were started with; the driver drains its [`Inbox`] whenever it wakes and gives
//! each answer to the core.

pub mod hashing;
pub mod intake;
pub mod mailbox;
pub mod queue;
pub mod store;

use std::io;

use hashing::Hashing;
pub use mailbox::{Delivery, Inbox, Mailbox};
use store::Store;

use crate::config::Config;
use crate::protocol::{Preload, Request};

/// Every service a server runs.
#[derive(Debug)]
pub struct Services {
    store: Store,
    hashing: Hashing,
}

impl Services {
    /// Starts the services for `config`, answering through `mailbox`. Returns them with what
    /// the chat core starts with. Fails if the store cannot be opened.
    pub fn start(config: &Config, mailbox: Mailbox) -> io::Result<(Services, Preload)> {
        let (store, preload) = Store::open(config, mailbox.clone())?;
        let hashing = Hashing::start(mailbox)?;
        Ok((Services { store, hashing }, preload))
    }

    /// Hands `request` to the service that does it. Never blocks.
    pub fn submit(&mut self, request: Request) {
        match request {
            Request::Store(request) => self.store.submit(request),
            Request::Auth(request) => self.hashing.submit(request),
        }
    }

    /// Finishes what is queued (every message said is written) and stops every service.
    pub fn stop(self) {
        self.hashing.stop();
        self.store.stop();
    }
}
