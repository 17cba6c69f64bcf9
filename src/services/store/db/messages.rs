//! Room history in the store: keeping messages in batches, the last of a room, the start-up
//! preload of the busiest rooms, and deleting what is past the retention time.

use rusqlite::params;
use std::collections::HashMap;
use std::sync::Arc;

use super::{kind_code, kind_from_code, limit_param, now_ms, Database, ROOM_IDS_KEPT};
use crate::protocol::room;
use crate::protocol::Record;

impl Database {
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
        now_ms().saturating_sub(i64::try_from(retain.as_millis()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::record;
    use super::super::Location;
    use super::*;
    use std::time::Duration;

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
}
