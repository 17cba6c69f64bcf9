//! The SQLite side of the store: opening a file safely, the schema and its migrations; the
//! queries are in `messages` (room history) and `accounts` (accounts, waiting private
//! messages, bans and mutes). Used only on the store's own thread (and once at start-up).
//!
//! WAL mode with `synchronous=NORMAL`: a commit is a write to the log, not an fsync, so a
//! killed process loses nothing it committed and a power cut at most the last transactions,
//! never the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};

use crate::protocol::Kind;

/// Marks a file as this server's store (`PRAGMA application_id`): "chat" in ASCII.
const APPLICATION_ID: i64 = 0x6368_6174;

/// The schema, one migration per version; `PRAGMA user_version` counts those applied.
/// Append only: a released migration never changes.
const MIGRATIONS: &[&str] = &[
    // 1: rooms and their messages.
    "CREATE TABLE rooms (
         id INTEGER PRIMARY KEY,
         folded TEXT NOT NULL UNIQUE,
         name TEXT NOT NULL,
         last_message INTEGER NOT NULL DEFAULT 0
     );
     CREATE INDEX rooms_by_activity ON rooms(last_message);
     CREATE TABLE messages (
         id INTEGER PRIMARY KEY,
         time INTEGER NOT NULL,
         room INTEGER NOT NULL REFERENCES rooms(id),
         nick TEXT NOT NULL,
         kind INTEGER NOT NULL,
         text TEXT NOT NULL
     );
     CREATE INDEX messages_by_room ON messages(room, id);",
    // 2: accounts, the private messages waiting for them, bans and mutes.
    "CREATE TABLE accounts (
         folded TEXT PRIMARY KEY,
         name TEXT NOT NULL,
         hash TEXT NOT NULL,
         created INTEGER NOT NULL
     );
     CREATE TABLE offline (
         id INTEGER PRIMARY KEY,
         recipient TEXT NOT NULL,
         time INTEGER NOT NULL,
         sender TEXT NOT NULL,
         text TEXT NOT NULL
     );
     CREATE INDEX offline_by_recipient ON offline(recipient, id);
     CREATE TABLE bans (
         name TEXT PRIMARY KEY,
         address TEXT,
         until INTEGER
     );
     CREATE TABLE mutes (
         name TEXT PRIMARY KEY,
         until INTEGER
     );",
];

/// Rooms whose ids are remembered between batches; past it the memory is cleared.
pub(super) const ROOM_IDS_KEPT: usize = 10_000;

/// Where the store lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A file, created if missing.
    File(PathBuf),
    /// Nothing on disk: history lasts as long as the process.
    Memory,
}

impl Location {
    /// `:memory:` is no file; anything else is a path.
    pub fn parse(text: &str) -> Location {
        if text == ":memory:" {
            Location::Memory
        } else {
            Location::File(text.into())
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Memory => f.write_str(":memory:"),
        }
    }
}

/// An open store.
pub struct Database {
    conn: Connection,
    /// Room ids by folded name, so that keeping a message rarely looks its room up.
    room_ids: HashMap<Box<str>, i64>,
    /// How long messages are kept, if not forever: older ones are never read, even before
    /// they are deleted.
    retain: Option<Duration>,
}

impl Database {
    /// Opens the store at `location`, creating it if missing, and brings its schema up to
    /// date. A file that is not a store of this server (not SQLite, another program's
    /// database, or a newer schema) is refused with an error naming it, and is not written.
    pub fn open(location: &Location, retain: Option<Duration>) -> std::io::Result<Database> {
        let named = |e: String| std::io::Error::other(format!("the store {location}: {e}"));
        let conn = match location {
            Location::File(path) => open_file(path),
            Location::Memory => Connection::open_in_memory(),
        }
        .map_err(|e| named(e.to_string()))?;
        check_is_ours(&conn).map_err(named)?;
        configure(&conn).map_err(|e| named(e.to_string()))?;
        migrate(&conn).map_err(|e| named(e.to_string()))?;
        Ok(Database {
            conn,
            room_ids: HashMap::new(),
            retain,
        })
    }
}

#[cfg(test)]
impl Database {
    /// Makes the store as full as it is now (`full`), or lets it grow again: how a test
    /// makes writes fail as on a full disk.
    pub fn limit_size(&self, full: bool) {
        let pages: i64 = if full {
            self.conn
                .query_row("PRAGMA page_count", [], |row| row.get(0))
                .unwrap()
        } else {
            1 << 30
        };
        self.conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .unwrap();
    }
}

/// Opens an existing or new file without writing to it yet.
fn open_file(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// Refuses, before anything is written, a file that is not a store of this server.
fn check_is_ours(conn: &Connection) -> Result<(), String> {
    let read = |e: rusqlite::Error| format!("cannot be read as a SQLite database ({e})");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(read)?;
    let application: i64 = conn
        .query_row("PRAGMA application_id", [], |row| row.get(0))
        .map_err(read)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .map_err(read)?;
    let known = MIGRATIONS.len() as i64;
    if application != APPLICATION_ID && (application != 0 || tables != 0) {
        return Err("is another program's database, not a chat store".into());
    }
    if version > known {
        return Err(format!(
            "was made by a newer version of this server (schema {version}; this one knows up to {known})"
        ));
    }
    Ok(())
}

/// The settings every connection needs.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // In memory, the journal mode stays "memory"; the answer is not an error.
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A second server on the same file waits for the lock instead of failing at once.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

/// Applies the migrations the store has not had yet, each in its own transaction.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
        let version = index as i64 + 1;
        conn.execute_batch(&format!(
            "BEGIN; {migration}; PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {version}; COMMIT;"
        ))?;
        log::info!("store schema migrated to version {version}");
    }
    Ok(())
}

pub(super) fn kind_code(kind: Kind) -> i64 {
    match kind {
        Kind::Chat => 0,
        Kind::Action => 1,
    }
}

pub(super) fn kind_from_code(code: i64) -> Kind {
    match code {
        1 => Kind::Action,
        _ => Kind::Chat,
    }
}

/// A count as SQLite takes it.
/// The wall-clock time now, in milliseconds since the Unix epoch.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

pub(super) fn limit_param(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

mod accounts;
mod messages;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Record;

    /// A chat line for the tests of every part of the store.
    pub(super) fn record(room: &str, nick: &str, text: &str, unix_ms: i64) -> Record {
        Record {
            unix_ms,
            room: room.into(),
            nick: nick.into(),
            kind: Kind::Chat,
            text: text.into(),
        }
    }

    /// Opening `path` is refused with an error naming it, and the file is not changed.
    fn assert_refused_untouched(path: &Path, why: &str) {
        let before = std::fs::read(path).unwrap();
        let error = Database::open(&Location::File(path.to_owned()), None)
            .err()
            .expect("refused");
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(why), "{message}");
        assert_eq!(std::fs::read(path).unwrap(), before);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, b"these are my notes, not a database\n".repeat(200)).unwrap();
        assert_refused_untouched(&path, "cannot be read as a SQLite database");
    }

    #[test]
    fn a_store_from_a_newer_version_or_another_program_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let newer = dir.path().join("newer.db");
        let conn = Connection::open(&newer).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 99;"
        ))
        .unwrap();
        drop(conn);
        assert_refused_untouched(&newer, "newer version");
        let other = dir.path().join("other.db");
        let conn = Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE accounts (x)").unwrap();
        drop(conn);
        assert_refused_untouched(&other, "another program");
    }

    #[test]
    fn a_new_file_gets_the_whole_schema_and_opens_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db");
        let mut db = Database::open(&Location::File(path.clone()), None).unwrap();
        db.keep(&[record("#a", "x", "kept", 1)]).unwrap();
        drop(db);
        let db = Database::open(&Location::File(path), None).unwrap();
        let version: i64 = db
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        assert_eq!(db.recent(&"#a".into(), 5).unwrap()[0].text.as_ref(), "kept");
    }
}
