//! The store shared by many servers (contract item 15): Redis, through the `redis` crate's
//! blocking client, on threads of its own. It does what the embedded store does (history,
//! accounts, waiting messages, bans, mutes), so that the chat core cannot tell the two
//! apart, and it carries what servers tell each other: every room line once to the room's
//! channel, notices, presence, private messages and kicks.
//!
//! - History: a stream per room (`XADD ... MAXLEN ~ 10000`), appended and published by one
//!   Lua script, so that what is kept and what is sent cannot disagree.
//! - Nicknames: claimed by a script that refuses one held by a live server. Each server
//!   beats every two seconds (`chat:servers`); one silent for ten is dead, and the first
//!   server to notice frees its nicknames and tells their rooms they left.
//! - Trouble: if Redis goes away, every client is told once, chat on each server goes on,
//!   and the store reconnects with back-off; then it claims its clients' nicknames again
//!   (a nickname another server's client took meanwhile stays theirs: the chat core renames
//!   ours) and tells the clients it is back. Lines said meanwhile stay on their server: the
//!   others never see them, and they are not in the shared history.

mod queries;
mod subscriber;
pub mod wire;
mod worker;

use std::hash::{BuildHasher, Hasher};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::intake::{Intake, StoreStats};
use super::mailbox::Mailbox;
use crate::protocol::{Preload, StoreRequest};
use queries::Scripts;
use worker::Worker;

/// How long connecting may take before Redis counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a server says it is alive.
const BEAT: Duration = Duration::from_secs(2);
/// How long a server may be silent before the others count it dead and free its clients'
/// nicknames: five beats, so a slow beat is not a death, and with the next beat of whoever
/// notices, well within fifteen seconds.
const DEAD_AFTER: Duration = Duration::from_secs(10);
/// The first pause before reconnecting; it doubles up to [`MOST_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest pause between reconnection attempts.
const MOST_BACKOFF: Duration = Duration::from_secs(5);

/// The store on Redis, as the drivers see it.
#[derive(Debug)]
pub struct RedisStore {
    intake: Intake,
    worker: JoinHandle<()>,
    subscriber: JoinHandle<()>,
}

impl RedisStore {
    /// Connects to the Redis at `url` (or fails, naming it), reads what the chat core
    /// starts with, and starts the threads, which answer through `mailbox`.
    pub fn open(url: &str, mailbox: Mailbox) -> std::io::Result<(RedisStore, Preload)> {
        let failed =
            |e: redis::RedisError| std::io::Error::other(format!("cannot use Redis at {url}: {e}"));
        let client = redis::Client::open(url).map_err(failed)?;
        let mut con = client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .map_err(failed)?;
        let id: Box<str> = server_id().into();
        let scripts = Scripts::default();
        queries::beat(&mut con, &id, &scripts).map_err(failed)?;
        // Listening first, then reading who is where: whoever arrives in between is heard.
        let (orders, orders_in) = mpsc::channel();
        let subscriber = subscriber::start(client.clone(), id.clone(), orders_in, mailbox.clone())
            .map_err(|e| std::io::Error::other(format!("cannot use Redis at {url}: {e}")))?;
        let preload = Preload {
            history: Vec::new(),
            bans: queries::load_map(&mut con, wire::BANS, wire::read_ban).map_err(failed)?,
            mutes: queries::load_map(&mut con, wire::MUTES, wire::read_mute).map_err(failed)?,
            others: queries::others(&mut con, &id).map_err(failed)?,
            shared: true,
        };
        log::info!(
            "store: Redis at {url}, as server {id}; {} clients on other servers",
            preload.others.len()
        );
        let (intake, queue) = Intake::open("Redis");
        let worker = Worker::new(client, con, id, scripts, queue, orders, mailbox);
        let worker = std::thread::Builder::new()
            .name("redis".into())
            .spawn(move || worker.run())?;
        Ok((
            RedisStore {
                intake,
                worker,
                subscriber,
            },
            preload,
        ))
    }

    /// Hands a request to the store's threads. Never blocks.
    pub fn submit(&mut self, request: StoreRequest) {
        self.intake.push(request);
    }

    /// How its queue is doing, for `/metrics`.
    pub fn stats(&self) -> StoreStats {
        self.intake.stats()
    }

    /// Publishes what is queued, frees this server's nicknames (telling the other servers
    /// its clients left), and stops the threads.
    pub fn stop(self) {
        let RedisStore {
            intake,
            worker,
            subscriber,
        } = self;
        drop(intake);
        for thread in [worker, subscriber] {
            if thread.join().is_err() {
                log::error!("a Redis thread panicked");
            }
        }
    }
}

/// A name for this server among the others: random, so that two servers started at once on
/// one machine never share one.
fn server_id() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", hasher.finish())
}
