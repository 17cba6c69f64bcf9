//! The reads and the multi-key steps the store does on Redis, one function each, shared by
//! start-up and the command thread.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::{Commands, Connection, Script};

use super::wire::{self, SEP};
use super::DEAD_AFTER;
use crate::protocol::others::Elsewhere;
use crate::protocol::{nick, room};
use crate::protocol::{Account, Kind, Offline, Record};

/// The scripts, loaded once (the client sends each script's body the first time a server
/// uses it, and its hash after).
pub(super) struct Scripts {
    pub(super) say: Script,
    pub(super) claim: Script,
    pub(super) release: Script,
    pub(super) reap: Script,
    pub(super) keep_offline: Script,
    pub(super) drop_offline: Script,
}

impl Default for Scripts {
    fn default() -> Self {
        Scripts {
            say: wire::say_script(),
            claim: wire::claim_script(),
            release: wire::release_script(),
            reap: wire::reap_script(),
            keep_offline: wire::keep_offline_script(),
            drop_offline: wire::drop_offline_script(),
        }
    }
}

/// Says server `id` is alive, and frees the nicknames of servers that are not.
pub(super) fn beat(con: &mut Connection, id: &str, scripts: &Scripts) -> redis::RedisResult<()> {
    let now = now_ms();
    con.zadd::<_, _, _, ()>(wire::SERVERS, id, now)?;
    let dead_before = now - DEAD_AFTER.as_millis() as i64;
    let reaped: i64 = scripts
        .reap
        .key(wire::SERVERS)
        .key(wire::NICKS)
        .arg(dead_before)
        .arg(wire::PRESENCE)
        .arg("")
        .invoke(con)?;
    if reaped > 0 {
        log::info!("{reaped} server(s) stopped beating; their clients were let go");
    }
    Ok(())
}

/// Claims nickname `name` (folded `folded`) for server `id`'s client in `room`; false if a
/// live server holds it.
pub(super) fn claim(
    con: &mut Connection,
    scripts: &Scripts,
    id: &str,
    folded: &str,
    name: &str,
    room: &str,
) -> redis::RedisResult<bool> {
    let oldest_live = now_ms() - DEAD_AFTER.as_millis() as i64;
    scripts
        .claim
        .key(wire::NICKS)
        .key(wire::SERVERS)
        .key(wire::server_nicks(id))
        .arg(folded)
        .arg(wire::holder(id, name, room))
        .arg(id)
        .arg(oldest_live)
        .arg(wire::PRESENCE)
        .arg(wire::arrived(id, name, room))
        .invoke(con)
}

/// The server whose client holds nickname `name`, if any.
pub(super) fn owner(con: &mut Connection, name: &str) -> redis::RedisResult<Option<String>> {
    let held: Option<String> = con.hget(wire::NICKS, &*nick::fold(name))?;
    Ok(held
        .as_deref()
        .and_then(wire::read_holder)
        .map(|holder| holder.server.to_string()))
}

/// Everyone on a live server other than `id`.
pub(super) fn others(con: &mut Connection, id: &str) -> redis::RedisResult<Vec<Elsewhere>> {
    let oldest_live = now_ms() - DEAD_AFTER.as_millis() as i64;
    let live: Vec<String> = con.zrangebyscore(wire::SERVERS, oldest_live, "+inf")?;
    let held: HashMap<String, String> = con.hgetall(wire::NICKS)?;
    Ok(held
        .values()
        .filter_map(|value| wire::read_holder(value))
        .filter(|who| *who.server != *id && live.iter().any(|server| **server == *who.server))
        .collect())
}

/// The account of folded nickname `folded`, if it has one.
pub(super) fn account(con: &mut Connection, folded: &str) -> redis::RedisResult<Option<Account>> {
    let value: Option<String> = con.hget(wire::ACCOUNTS, folded)?;
    Ok(value.and_then(|value| {
        let (name, hash) = value.split_once(SEP)?;
        Some(Account {
            name: name.into(),
            hash: hash.into(),
        })
    }))
}

/// The last `limit` lines of `room`, oldest first.
pub(super) fn history(
    con: &mut Connection,
    room: &Arc<str>,
    limit: usize,
) -> redis::RedisResult<Vec<Record>> {
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XREVRANGE")
        .arg(wire::history_stream(&room::fold(room)))
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(limit)
        .query(con)?;
    let mut records: Vec<Record> = entries
        .iter()
        .filter_map(|(_, fields)| {
            let field = |name: &str| {
                fields
                    .chunks(2)
                    .find(|pair| pair.first().is_some_and(|f| f == name))
                    .and_then(|pair| pair.get(1))
            };
            Some(Record {
                unix_ms: field("t")?.parse().ok()?,
                room: Arc::clone(room),
                nick: field("n")?.as_str().into(),
                kind: if field("k")? == "1" {
                    Kind::Action
                } else {
                    Kind::Chat
                },
                text: field("x")?.as_str().into(),
            })
        })
        .collect();
    records.reverse();
    Ok(records)
}

/// A hash of bans or mutes, read back with `read`.
pub(super) fn load_map<T>(
    con: &mut Connection,
    key: &str,
    read: fn(&str, &str) -> T,
) -> redis::RedisResult<Vec<T>> {
    let map: HashMap<String, String> = con.hgetall(key)?;
    Ok(map.iter().map(|(name, value)| read(name, value)).collect())
}

/// A waiting message as its list keeps it: `id SEP time SEP from SEP text`.
pub(super) fn read_offline(entry: &str) -> Option<Offline> {
    let mut fields = entry.splitn(4, SEP);
    Some(Offline {
        id: fields.next()?.parse().ok()?,
        unix_ms: fields.next()?.parse().ok()?,
        from: fields.next()?.into(),
        text: fields.next()?.into(),
    })
}

/// The wall-clock time now, in milliseconds since the Unix epoch.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}
