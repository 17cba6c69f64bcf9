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
pub mod redis;
pub mod store;

use std::io;

use hashing::Hashing;
pub use intake::StoreStats;
pub use mailbox::{Delivery, Inbox, Mailbox};
use redis::RedisStore;
use store::Store;

use crate::config::Config;
use crate::protocol::{Preload, Request, StoreRequest};

/// Every service a server runs.
#[derive(Debug)]
pub struct Services {
    store: AnyStore,
    hashing: Hashing,
}

/// The store a server was started with: one interface (the core's [`StoreRequest`]s and
/// their completions), two implementations.
#[derive(Debug)]
enum AnyStore {
    /// A server alone, keeping its state in SQLite (`--db`).
    Embedded(Store),
    /// One of many servers, sharing their state in Redis (`--redis`).
    Shared(RedisStore),
}

impl AnyStore {
    fn submit(&mut self, request: StoreRequest) {
        match self {
            AnyStore::Embedded(store) => store.submit(request),
            AnyStore::Shared(store) => store.submit(request),
        }
    }

    fn stats(&self) -> StoreStats {
        match self {
            AnyStore::Embedded(store) => store.stats(),
            AnyStore::Shared(store) => store.stats(),
        }
    }

    fn stop(self) {
        match self {
            AnyStore::Embedded(store) => store.stop(),
            AnyStore::Shared(store) => store.stop(),
        }
    }
}

impl Services {
    /// Starts the services for `config`, answering through `mailbox`. Returns them with what
    /// the chat core starts with. Fails if the store cannot be opened.
    pub fn start(config: &Config, mailbox: Mailbox) -> io::Result<(Services, Preload)> {
        let (store, preload) = match &config.redis {
            Some(url) => {
                let (store, preload) = RedisStore::open(url, mailbox.clone())?;
                (AnyStore::Shared(store), preload)
            }
            None => {
                let (store, preload) = Store::open(config, mailbox.clone())?;
                (AnyStore::Embedded(store), preload)
            }
        };
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

    /// How the store's queue is doing, for `/metrics`.
    pub fn store_stats(&self) -> StoreStats {
        self.store.stats()
    }

    /// Finishes what is queued (every message said is written) and stops every service.
    pub fn stop(self) {
        self.hashing.stop();
        self.store.stop();
    }
}
