//! The store: room history in an embedded SQLite file (contract item 11), kept by a thread of
//! its own so that no disk access ever runs on a driver's thread.
//!
//! Messages reach the thread through a queue bounded in bytes. The thread takes everything
//! waiting at once and keeps it in one transaction (group commit: one commit for many
//! lines). A line that comes to an idle store is committed at once; while lines keep
//! coming, commits are at least [`COMMIT_INTERVAL`] apart, and what arrives meanwhile
//! joins the next one.
//! Past the bound, the newest messages are dropped and counted, never waited for: a slow disk
//! does not slow the chat. Reads (`/history`, a room's history on entering it) go through the
//! same queue, behind the writes sent before them, so a client always finds what it has just
//! said. A write that fails (disk full, read-only file) is logged once per episode, and the
//! chat goes on. Old messages are deleted (`--retain-days`) in small batches between writes.

pub mod db;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use db::Database;
pub use db::Location;

use super::intake::{Intake, StoreStats};
use super::mailbox::Mailbox;
use super::queue::{ByteQueue, Taken};
use crate::config::Config;
use crate::protocol::history::CACHED_EMPTY_ROOMS;
use crate::protocol::{Completion, Preload, Record, StoreRequest};

/// Oldest messages deleted per retention step: a short transaction that never holds up
/// writes for long.
const RETENTION_BATCH: usize = 1000;
/// How often the thread looks for expired messages when the last look found none.
const RETENTION_PERIOD: Duration = Duration::from_secs(60);
/// The shortest time between two commits while lines keep coming. Each commit rewrites the
/// last pages of the messages table and its index and takes the file's locks: committed
/// at every wake-up, a chat of 50,000 lines a second made a commit of a few lines each,
/// and the store spent more on commits than on lines. Requests someone waits for
/// (`/history`, a login's account) wait at most this much longer.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(20);

/// The store, as the drivers see it.
#[derive(Debug)]
pub struct Store {
    intake: Intake,
    thread: JoinHandle<()>,
}

impl Store {
    /// Opens the store (refusing a file that is not one), reads what the chat core starts
    /// with, and starts the store's thread, which answers through `mailbox`.
    pub fn open(config: &Config, mailbox: Mailbox) -> std::io::Result<(Store, Preload)> {
        let retain = (config.retain_days > 0)
            .then(|| Duration::from_secs(u64::from(config.retain_days) * 24 * 60 * 60));
        let db = Database::open(&config.db, retain)?;
        let started = Instant::now();
        let failed =
            |e: rusqlite::Error| std::io::Error::other(format!("the store {}: {e}", config.db));
        let history = db
            .preload(CACHED_EMPTY_ROOMS, config.history)
            .map_err(failed)?;
        let (bans, mutes) = db.sanctions().map_err(failed)?;
        log::info!(
            "store {}: loaded {} recent messages, {} bans and {} mutes in {:.0?}",
            config.db,
            history.len(),
            bans.len(),
            mutes.len(),
            started.elapsed()
        );
        let preload = Preload {
            history,
            bans,
            mutes,
            others: Vec::new(),
            shared: false,
        };
        let (intake, queue) = Intake::open("the store");
        let worker = Worker {
            db,
            queue,
            mailbox,
            failing: false,
        };
        let thread = std::thread::Builder::new()
            .name("store".into())
            .spawn(move || worker.run())?;
        Ok((Store { intake, thread }, preload))
    }

    /// Hands a request to the store's thread. Never blocks.
    pub fn submit(&mut self, request: StoreRequest) {
        match request {
            // One server alone: nobody else shares its nicknames, rooms or clients.
            StoreRequest::Release { .. }
            | StoreRequest::Moved { .. }
            | StoreRequest::Announce { .. }
            | StoreRequest::Direct { .. }
            | StoreRequest::Kick { .. }
            | StoreRequest::Watch(_)
            | StoreRequest::Unwatch(_) => {}
            other => self.intake.push(other),
        }
    }

    /// How its queue is doing, for `/metrics`.
    pub fn stats(&self) -> StoreStats {
        self.intake.stats()
    }

    /// Writes what is queued, then stops the thread and closes the file.
    pub fn stop(self) {
        let Store { intake, thread } = self;
        drop(intake);
        if thread.join().is_err() {
            log::error!("the store's thread panicked");
        }
    }
}

/// The store's thread.
struct Worker {
    db: Database,
    queue: Arc<ByteQueue<StoreRequest>>,
    mailbox: Mailbox,
    /// Writes are failing (logged once, when it starts).
    failing: bool,
}

impl Worker {
    fn run(mut self) {
        let mut jobs = Vec::new();
        let mut records = Vec::new();
        let mut next_retention = Instant::now();
        let mut last_commit: Option<Instant> = None;
        loop {
            if let Some(at) = last_commit.take() {
                std::thread::sleep(COMMIT_INTERVAL.saturating_sub(at.elapsed()));
            }
            let wait = next_retention.saturating_duration_since(Instant::now());
            let taken = self.queue.take_all(&mut jobs, wait.min(RETENTION_PERIOD));
            for job in jobs.drain(..) {
                match job {
                    StoreRequest::Keep(record) => records.push(record),
                    other => {
                        // What was said before the question is part of the answer.
                        self.keep(&mut records);
                        self.handle(other);
                    }
                }
            }
            if !records.is_empty() {
                self.keep(&mut records);
                last_commit = Some(Instant::now());
            }
            if taken == Taken::Closed {
                return;
            }
            if Instant::now() >= next_retention {
                next_retention = Instant::now() + self.delete_expired();
            }
        }
    }

    /// Writes `records` in one transaction and empties it.
    fn keep(&mut self, records: &mut Vec<Record>) {
        if records.is_empty() {
            return;
        }
        match self.db.keep(records) {
            Ok(()) if self.failing => {
                self.failing = false;
                log::info!("the store can be written again");
            }
            Ok(()) => {}
            Err(e) => {
                if !self.failing {
                    self.failing = true;
                    log::error!("cannot write to the store ({e}); messages are not kept until it can be written again");
                }
            }
        }
        records.clear();
    }

    /// Does one request other than keeping a message, and answers it if someone waits.
    fn handle(&self, request: StoreRequest) {
        let answered = match request {
            StoreRequest::Keep(_) => return,
            StoreRequest::History {
                ticket,
                room,
                limit,
            } => (
                ticket,
                self.db
                    .recent(&room, limit)
                    .map(|records| Completion::History { ticket, records }),
            ),
            StoreRequest::LookUp { ticket, name } => (
                ticket,
                self.db
                    .account(&name)
                    .map(|account| Completion::Account { ticket, account }),
            ),
            // Alone, the chat core's own check of a nickname is the whole claim.
            StoreRequest::Claim { ticket, name, .. } => (
                ticket,
                self.db.account(&name).map(|account| Completion::Claimed {
                    ticket,
                    taken: false,
                    account,
                }),
            ),
            StoreRequest::Register { ticket, name, hash } => (
                ticket,
                self.db
                    .register(&name, &hash)
                    .map(|done| Completion::Done { ticket, done }),
            ),
            StoreRequest::SetPassword { ticket, name, hash } => (
                ticket,
                self.db
                    .set_password(&name, &hash)
                    .map(|done| Completion::Done { ticket, done }),
            ),
            StoreRequest::KeepOffline {
                ticket,
                to,
                message,
                limit,
            } => (
                ticket,
                self.db
                    .keep_offline(&to, &message, limit)
                    .map(|done| Completion::Done { ticket, done }),
            ),
            StoreRequest::TakeOffline { ticket, name } => (
                ticket,
                self.db
                    .offline(&name)
                    .map(|messages| Completion::Offline { ticket, messages }),
            ),
            StoreRequest::DropOffline { name, up_to } => {
                return self.note(self.db.drop_offline(&name, up_to));
            }
            StoreRequest::Release { .. }
            | StoreRequest::Moved { .. }
            | StoreRequest::Announce { .. }
            | StoreRequest::Direct { .. }
            | StoreRequest::Kick { .. }
            | StoreRequest::Watch(_)
            | StoreRequest::Unwatch(_) => return,
            StoreRequest::Ban(ban) => return self.note(self.db.ban(&ban)),
            StoreRequest::Unban(name) => return self.note(self.db.unban(&name)),
            StoreRequest::Mute(mute) => return self.note(self.db.mute(&mute)),
            StoreRequest::Unmute(name) => return self.note(self.db.unmute(&name)),
        };
        let completion = match answered {
            (_, Ok(completion)) => completion,
            (ticket, Err(e)) => {
                log::warn!("the store could not answer a request: {e}");
                Completion::Failed {
                    ticket,
                    reason: "the store could not be read or written".into(),
                }
            }
        };
        self.mailbox.post(completion);
    }

    /// Logs a change nobody waits for that could not be made.
    fn note(&self, result: rusqlite::Result<()>) {
        if let Err(e) = result {
            log::error!("the store could not record a change: {e}");
        }
    }

    /// Deletes one batch of expired messages; returns how long to wait before the next.
    fn delete_expired(&mut self) -> Duration {
        match self.db.delete_expired(RETENTION_BATCH) {
            // A full batch: there may be more; go on soon, after whatever is queued.
            Ok(deleted) if deleted == RETENTION_BATCH => Duration::ZERO,
            Ok(_) => RETENTION_PERIOD,
            Err(e) => {
                log::warn!("cannot delete expired messages from the store: {e}");
                RETENTION_PERIOD
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Kind;

    fn record(text: &str) -> Record {
        Record {
            unix_ms: 0,
            room: "#lobby".into(),
            nick: "alice".into(),
            kind: Kind::Chat,
            text: text.into(),
        }
    }

    /// A worker on an in-memory store, whose answers are dropped.
    fn worker() -> Worker {
        let (mailbox, _inbox) = Mailbox::new(|| {});
        Worker {
            db: Database::open(&Location::Memory, None).unwrap(),
            queue: Arc::new(ByteQueue::new(1 << 20)),
            mailbox,
            failing: false,
        }
    }

    #[test]
    fn a_store_that_cannot_be_written_is_noted_once_and_writing_resumes_when_it_can() {
        let mut worker = worker();
        worker.keep(&mut vec![record("fits")]);
        worker.db.limit_size(true);
        let big = || -> Vec<Record> { (0..2000).map(|n| record(&"x".repeat(n % 200))).collect() };
        let mut batch = big();
        worker.keep(&mut batch);
        assert!(worker.failing, "the failure is noted");
        assert!(
            batch.is_empty(),
            "what could not be written is let go, not retried forever"
        );
        worker.keep(&mut big());
        assert!(worker.failing, "still failing");
        worker.db.limit_size(false);
        worker.keep(&mut vec![record("room again")]);
        assert!(!worker.failing, "writing works again");
        let texts: Vec<String> = worker
            .db
            .recent(&"#lobby".into(), 10)
            .unwrap()
            .iter()
            .map(|r| r.text.to_string())
            .collect();
        assert_eq!(texts, ["fits", "room again"]);
    }
}
