//! The SQLite side of the store: opening a file safely, the schema and its migrations, and
//! the queries. Used only on the store's own thread (and once at start-up).
//!
//! WAL mode with `synchronous=NORMAL`: a commit is a write to the log, not an fsync, so a
//! killed process loses nothing it committed and a power cut at most the last transactions,
//! never the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OpenFlags};

use crate::protocol::room;
use crate::protocol::{Kind, Record};

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
];

/// Rooms whose ids are remembered between batches; past it the memory is cleared.
const ROOM_IDS_KEPT: usize = 10_000;

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

    /// Keeps `records` in one transaction.
    pub fn keep(&mut self, records: &[Record]) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        let mut last_in_room: HashMap<i64, i64> = HashMap::new();
        {
            let mut find_room = tx.prepare_cached(
                "INSERT INTO rooms (folded, name) VALUES (?1, ?2)
                 ON CONFLICT (folded) DO UPDATE SET folded = excluded.folded
                 RETURNING id",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (time, room, nick, kind, text) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            if self.room_ids.len() > ROOM_IDS_KEPT {
                self.room_ids.clear();
            }
            for record in records {
                let folded = room::fold(&record.room);
                let room_id = match self.room_ids.get(&folded) {
                    Some(&id) => id,
                    None => {
                        let id: i64 = find_room
                            .query_row(params![&*folded, &*record.room], |row| row.get(0))?;
                        self.room_ids.insert(folded, id);
                        id
                    }
                };
                insert.execute(params![
                    record.unix_ms,
                    room_id,
                    &*record.nick,
                    kind_code(record.kind),
                    &*record.text
                ])?;
                last_in_room.insert(room_id, tx.last_insert_rowid());
            }
            let mut touch =
                tx.prepare_cached("UPDATE rooms SET last_message = ?2 WHERE id = ?1")?;
            for (room_id, last) in last_in_room {
                touch.execute(params![room_id, last])?;
            }
        }
        tx.commit()
    }

    /// The last `limit` messages of `room`, oldest first.
    pub fn recent(&self, room: &Arc<str>, limit: usize) -> rusqlite::Result<Vec<Record>> {
        let mut query = self.conn.prepare_cached(
            "SELECT time, nick, kind, text FROM messages
             WHERE room = (SELECT id FROM rooms WHERE folded = ?1) AND time >= ?3
             ORDER BY id DESC LIMIT ?2",
        )?;
        let folded = room::fold(room);
        let mut records = query
            .query_map(
                params![&*folded, limit_param(limit), self.cutoff()],
                |row| {
                    Ok(Record {
                        unix_ms: row.get(0)?,
                        room: Arc::clone(room),
                        nick: row.get::<_, String>(1)?.into(),
                        kind: kind_from_code(row.get(2)?),
                        text: row.get::<_, String>(3)?.into(),
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<Record>>>()?;
        records.reverse();
        Ok(records)
    }

    /// The last `per_room` messages of each of the `rooms` most recently active rooms, in one
    /// bounded query: what the history cache starts with.
    pub fn preload(&self, rooms: usize, per_room: usize) -> rusqlite::Result<Vec<Record>> {
        if per_room == 0 {
            return Ok(Vec::new());
        }
        let mut query = self.conn.prepare(
            "SELECT r.name, m.time, m.nick, m.kind, m.text
             FROM (SELECT id, name FROM rooms ORDER BY last_message DESC LIMIT ?1) AS r,
                  messages AS m
             WHERE m.id IN (SELECT id FROM messages WHERE room = r.id ORDER BY id DESC LIMIT ?2)
               AND m.time >= ?3
             ORDER BY m.id",
        )?;
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        let params = params![limit_param(rooms), limit_param(per_room), self.cutoff()];
        let rows = query.query_map(params, |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, String>(4)?,
            ))
        })?;
        let mut records = Vec::new();
        for row in rows {
            let (name, unix_ms, nick, kind, text) = row?;
            let room = Arc::clone(
                names
                    .entry(name)
                    .or_insert_with_key(|name| name.as_str().into()),
            );
            records.push(Record {
                unix_ms,
                room,
                nick: nick.into(),
                kind: kind_from_code(kind),
                text: text.into(),
            });
        }
        Ok(records)
    }

    /// Deletes up to `batch` of the oldest messages past the retention time; returns how
    /// many. Messages are numbered in the order they were said, so the oldest are the lowest
    /// numbers: each batch is a short range at the start of the table.
    pub fn delete_expired(&self, batch: usize) -> rusqlite::Result<usize> {
        if self.retain.is_none() {
            return Ok(0);
        }
        self.conn.execute(
            "DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT ?2)
             AND time < ?1",
            params![self.cutoff(), limit_param(batch)],
        )
    }

    /// The time before which messages are past the retention time (or the beginning of
    /// time), in milliseconds since the Unix epoch.
    fn cutoff(&self) -> i64 {
        let Some(retain) = self.retain else {
            return i64::MIN;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
            });
        now.saturating_sub(i64::try_from(retain.as_millis()).unwrap_or(i64::MAX))
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

fn kind_code(kind: Kind) -> i64 {
    match kind {
        Kind::Chat => 0,
        Kind::Action => 1,
    }
}

fn kind_from_code(code: i64) -> Kind {
    match code {
        1 => Kind::Action,
        _ => Kind::Chat,
    }
}

/// A count as SQLite takes it.
fn limit_param(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(room: &str, nick: &str, text: &str, unix_ms: i64) -> Record {
        Record {
            unix_ms,
            room: room.into(),
            nick: nick.into(),
            kind: Kind::Chat,
            text: text.into(),
        }
    }

    #[test]
    fn kept_messages_come_back_by_room_oldest_first() {
        let mut db = Database::open(&Location::Memory, None).unwrap();
        db.keep(&[
            record("#Rust", "alice", "one", 1),
            record("#lobby", "bob", "elsewhere", 2),
            record("#rust", "carol", "two", 3),
        ])
        .unwrap();
        db.keep(&[record("#rust", "alice", "three", 4)]).unwrap();
        let texts: Vec<String> = db
            .recent(&"#RUST".into(), 2)
            .unwrap()
            .iter()
            .map(|r| format!("{}: {}", r.nick, r.text))
            .collect();
        assert_eq!(texts, ["carol: two", "alice: three"]);
        assert!(db.recent(&"#nowhere".into(), 5).unwrap().is_empty());
    }

    #[test]
    fn preload_takes_the_last_of_each_recent_room() {
        let mut db = Database::open(&Location::Memory, None).unwrap();
        let mut records = Vec::new();
        for n in 0..5 {
            records.push(record("#a", "x", &format!("a{n}"), n));
            records.push(record("#b", "y", &format!("b{n}"), n));
        }
        records.push(record("#c", "z", "c0", 9));
        db.keep(&records).unwrap();
        let got: Vec<String> = db
            .preload(2, 2)
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.room, r.text))
            .collect();
        assert_eq!(
            got,
            ["#b b3", "#b b4", "#c c0"],
            "the two rooms last active"
        );
    }

    #[test]
    fn expired_messages_are_never_read_and_deleted_in_batches() {
        let day = Duration::from_secs(24 * 3600);
        let mut db = Database::open(&Location::Memory, Some(day)).unwrap();
        let now = db.cutoff() + i64::try_from(day.as_millis()).unwrap();
        let two_days = 2 * i64::try_from(day.as_millis()).unwrap();
        let mut records: Vec<Record> = (0..7)
            .map(|n| record("#a", "x", "old", now - two_days + n))
            .collect();
        records.extend((0..3).map(|n| record("#a", "x", "new", now + n)));
        db.keep(&records).unwrap();
        let texts = |db: &Database| -> Vec<String> {
            db.recent(&"#a".into(), 100)
                .unwrap()
                .iter()
                .map(|r| r.text.to_string())
                .collect()
        };
        assert_eq!(
            texts(&db),
            ["new", "new", "new"],
            "expired messages are not read"
        );
        assert_eq!(db.preload(10, 100).unwrap().len(), 3);
        assert_eq!(db.delete_expired(4).unwrap(), 4);
        assert_eq!(db.delete_expired(4).unwrap(), 3);
        assert_eq!(db.delete_expired(4).unwrap(), 0);
        assert_eq!(texts(&db), ["new", "new", "new"]);
        let forever = Database::open(&Location::Memory, None).unwrap();
        assert_eq!(forever.delete_expired(4).unwrap(), 0);
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
