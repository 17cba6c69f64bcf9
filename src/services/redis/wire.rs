//! What servers sharing one Redis write there, and how: key and channel names, the text of
//! each record and message, and the Lua scripts that change several keys at once.
//!
//! Fields are joined with the unit separator (0x1F). Nicknames, room names, hashes and chat
//! text never hold it: the sanitiser removes every control character from what clients send.

use std::net::IpAddr;
use std::sync::Arc;

use redis::Script;

use crate::protocol::others::Elsewhere;
use crate::protocol::{Ban, Kind, Mute, Record, Remote};

/// Separates the fields of a record or a message.
pub const SEP: char = '\u{1f}';

/// Servers, scored by their last heartbeat (milliseconds since the Unix epoch).
pub const SERVERS: &str = "chat:servers";
/// Who holds each nickname: folded nickname to `server SEP nick SEP room`.
pub const NICKS: &str = "chat:nicks";
/// Accounts: folded nickname to `name SEP hash`.
pub const ACCOUNTS: &str = "chat:accounts";
/// Bans: folded nickname to `address SEP until` (either may be empty).
pub const BANS: &str = "chat:bans";
/// Mutes: folded nickname to `until` (empty: until lifted).
pub const MUTES: &str = "chat:mutes";
/// The counter that numbers waiting private messages.
pub const OFFLINE_SEQUENCE: &str = "chat:offline-sequence";
/// Where presence news goes: who took a nickname, moved or left.
pub const PRESENCE: &str = "chat:presence";
/// Where ban and mute news goes.
pub const SANCTIONS: &str = "chat:sanctions";
/// Messages a room's history stream keeps, about (`XADD MAXLEN ~`).
pub const HISTORY_LENGTH: usize = 10_000;

/// The nicknames server `id` holds (so that they can be freed if it dies).
pub fn server_nicks(id: &str) -> String {
    format!("chat:server:{id}:nicks")
}

/// Where messages for server `id`'s clients go (private messages, kicks).
pub fn server_channel(id: &str) -> String {
    format!("chat:server:{id}")
}

/// Where a room's lines and notices go.
pub fn room_channel(folded: &str) -> String {
    format!("chat:room:{folded}")
}

/// A room's history stream.
pub fn history_stream(folded: &str) -> String {
    format!("chat:history:{folded}")
}

/// The private messages waiting for account `folded`.
pub fn offline_list(folded: &str) -> String {
    format!("chat:offline:{folded}")
}

/// A message published on a channel, decoded; `origin` is the server that published it
/// (empty for what a server publishes about another, dead one).
#[derive(Debug, PartialEq)]
pub struct Published {
    /// The server that published it.
    pub origin: Box<str>,
    /// The news in it.
    pub news: Remote,
}

/// `S origin time kind nick room text`: a line said in a room.
pub fn said(origin: &str, record: &Record) -> String {
    let kind = match record.kind {
        Kind::Chat => 'c',
        Kind::Action => 'a',
    };
    format!(
        "S{SEP}{origin}{SEP}{}{SEP}{kind}{SEP}{}{SEP}{}{SEP}{}",
        record.unix_ms, record.nick, record.room, record.text
    )
}

/// `N origin room text`: a notice for a room.
pub fn notice(origin: &str, room: &str, text: &str) -> String {
    format!("N{SEP}{origin}{SEP}{room}{SEP}{text}")
}

/// `A origin nick room`: someone took a nickname or moved rooms.
pub fn arrived(origin: &str, nick: &str, room: &str) -> String {
    format!("A{SEP}{origin}{SEP}{nick}{SEP}{room}")
}

/// `G origin nick`: a nickname is free again.
pub fn gone(origin: &str, nick: &str) -> String {
    format!("G{SEP}{origin}{SEP}{nick}")
}

/// `P origin to from text`: a private message for a client of the server that reads it.
pub fn private(origin: &str, to: &str, from: &str, text: &str) -> String {
    format!("P{SEP}{origin}{SEP}{to}{SEP}{from}{SEP}{text}")
}

/// `K origin nick by reason`: kick a client of the server that reads it.
pub fn kick(origin: &str, nick: &str, by: &str, reason: Option<&str>) -> String {
    format!(
        "K{SEP}{origin}{SEP}{nick}{SEP}{by}{SEP}{}",
        reason.unwrap_or("")
    )
}

/// `W origin`: what a server publishes to its own channel to wake its subscriber (which
/// then takes its new orders); nobody else listens there for it.
pub fn wake(origin: &str) -> String {
    format!("W{SEP}{origin}")
}

/// `B origin name address until`: a ban.
pub fn banned(origin: &str, ban: &Ban) -> String {
    format!("B{SEP}{origin}{SEP}{}{SEP}{}", ban.name, ban_value(ban))
}

/// `b origin name`: a ban lifted.
pub fn unbanned(origin: &str, name: &str) -> String {
    format!("b{SEP}{origin}{SEP}{name}")
}

/// `M origin name until`: a mute.
pub fn muted(origin: &str, mute: &Mute) -> String {
    format!(
        "M{SEP}{origin}{SEP}{}{SEP}{}",
        mute.name,
        until_value(mute.until)
    )
}

/// `m origin name`: a mute lifted.
pub fn unmuted(origin: &str, name: &str) -> String {
    format!("m{SEP}{origin}{SEP}{name}")
}

/// A ban as the `chat:bans` hash keeps it: `address SEP until`.
pub fn ban_value(ban: &Ban) -> String {
    let address = ban.address.map(|a| a.to_string()).unwrap_or_default();
    format!("{address}{SEP}{}", until_value(ban.until))
}

/// An end time as kept: milliseconds, or empty for "until lifted".
pub fn until_value(until: Option<i64>) -> String {
    until.map(|u| u.to_string()).unwrap_or_default()
}

/// A ban read back from the `chat:bans` hash.
pub fn read_ban(name: &str, value: &str) -> Ban {
    let (address, until) = value.split_once(SEP).unwrap_or((value, ""));
    Ban {
        name: name.into(),
        address: address.parse::<IpAddr>().ok(),
        until: until.parse().ok(),
    }
}

/// A mute read back from the `chat:mutes` hash.
pub fn read_mute(name: &str, value: &str) -> Mute {
    Mute {
        name: name.into(),
        until: value.parse().ok(),
    }
}

/// Who holds a nickname, as `chat:nicks` keeps it: `server SEP nick SEP room`.
pub fn holder(server: &str, nick: &str, room: &str) -> String {
    format!("{server}{SEP}{nick}{SEP}{room}")
}

/// A `chat:nicks` value read back.
pub fn read_holder(value: &str) -> Option<Elsewhere> {
    let mut fields = value.splitn(3, SEP);
    let server = fields.next()?;
    let nick = fields.next()?;
    let room = fields.next()?;
    Some(Elsewhere {
        nick: nick.into(),
        room: room.into(),
        server: server.into(),
    })
}

/// A message received on a channel, decoded; `None` if it is not one of ours.
pub fn read_published(payload: &str) -> Option<Published> {
    let mut fields = payload.split(SEP);
    let tag = fields.next()?;
    let origin: Box<str> = fields.next()?.into();
    let mut field = || fields.next();
    let news = match tag {
        "S" => {
            let unix_ms = field()?.parse().ok()?;
            let kind = match field()? {
                "a" => Kind::Action,
                _ => Kind::Chat,
            };
            let nick: Arc<str> = field()?.into();
            let room: Arc<str> = field()?.into();
            Remote::Said(Record {
                unix_ms,
                room,
                nick,
                kind,
                text: field()?.into(),
            })
        }
        "N" => Remote::Notice {
            room: field()?.into(),
            text: field()?.into(),
        },
        "A" => Remote::Arrived(Elsewhere {
            nick: field()?.into(),
            room: field()?.into(),
            server: origin.as_ref().into(),
        }),
        "G" => Remote::Gone(field()?.into()),
        "P" => Remote::Private {
            to: field()?.into(),
            from: field()?.into(),
            text: field()?.into(),
        },
        "K" => Remote::Kicked {
            nick: field()?.into(),
            by: field()?.into(),
            reason: field().filter(|r| !r.is_empty()).map(Into::into),
        },
        "B" => {
            let name = field()?;
            let address = field()?;
            let until = field()?;
            Remote::Banned(read_ban(name, &format!("{address}{SEP}{until}")))
        }
        "b" => Remote::Unbanned(field()?.into()),
        "M" => {
            let name = field()?;
            Remote::Muted(read_mute(name, field()?))
        }
        "m" => Remote::Unmuted(field()?.into()),
        _ => return None,
    };
    Some(Published { origin, news })
}

/// Appends a line to its room's history and publishes it, in one step, so that the two
/// can never disagree. KEYS: the stream. ARGV: the length kept, the channel, the message,
/// then time, nick, kind, text and room for the stream entry.
pub fn say_script() -> Script {
    Script::new(
        r"
        redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
            't', ARGV[4], 'n', ARGV[5], 'k', ARGV[6], 'x', ARGV[7], 'r', ARGV[8])
        redis.call('PUBLISH', ARGV[2], ARGV[3])
        return 1
        ",
    )
}

/// Claims a nickname for a server unless a live server (one whose heartbeat is not older
/// than `ARGV[4]`) holds it, and tells everyone. KEYS: `chat:nicks`, `chat:servers`, the
/// server's nickname set. ARGV: folded nickname, holder value, server id, oldest live
/// heartbeat, presence channel, presence message. Returns 1 if claimed, 0 if not.
pub fn claim_script() -> Script {
    Script::new(
        r"
        local held = redis.call('HGET', KEYS[1], ARGV[1])
        if held then
            local owner = string.match(held, '^([^\31]*)')
            if owner ~= ARGV[3] then
                local beat = redis.call('ZSCORE', KEYS[2], owner)
                if beat and tonumber(beat) >= tonumber(ARGV[4]) then
                    return 0
                end
            end
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('SADD', KEYS[3], ARGV[1])
        redis.call('PUBLISH', ARGV[5], ARGV[6])
        return 1
        ",
    )
}

/// Frees a nickname if this server holds it, and tells everyone. KEYS: `chat:nicks`, the
/// server's nickname set. ARGV: folded nickname, server id, presence channel, message.
pub fn release_script() -> Script {
    Script::new(
        r"
        local held = redis.call('HGET', KEYS[1], ARGV[1])
        if held and string.match(held, '^([^\31]*)') == ARGV[2] then
            redis.call('HDEL', KEYS[1], ARGV[1])
            redis.call('PUBLISH', ARGV[3], ARGV[4])
        end
        redis.call('SREM', KEYS[2], ARGV[1])
        return 1
        ",
    )
}

/// Frees every nickname of every server whose heartbeat is older than `ARGV[1]` (or of the
/// server `ARGV[3]`, stopping), tells everyone and each room, and forgets the servers. KEYS:
/// `chat:servers`, `chat:nicks`. ARGV: oldest live heartbeat, presence channel, a server
/// id to free whatever its heartbeat (or empty). Returns how many servers were freed.
pub fn reap_script() -> Script {
    Script::new(
        r"
        local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
        if ARGV[3] ~= '' then
            table.insert(dead, ARGV[3])
        end
        for _, server in ipairs(dead) do
            local set = 'chat:server:' .. server .. ':nicks'
            for _, folded in ipairs(redis.call('SMEMBERS', set)) do
                local held = redis.call('HGET', KEYS[2], folded)
                if held then
                    local owner, nick, room = string.match(held, '^([^\31]*)\31([^\31]*)\31(.*)$')
                    if owner == server then
                        redis.call('HDEL', KEYS[2], folded)
                        redis.call('PUBLISH', ARGV[2], 'G\31\31' .. nick)
                        local why = ARGV[3] == server and 'its server stopped' or 'its server went away'
                        redis.call('PUBLISH', 'chat:room:' .. string.lower(room),
                            'N\31\31' .. room .. '\31' .. nick .. ' left ' .. room .. ' (' .. why .. ')')
                    end
                end
            end
            redis.call('DEL', set)
            redis.call('ZREM', KEYS[1], server)
        end
        return #dead
        ",
    )
}

/// Keeps a private message for an account unless it has `ARGV[1]` waiting. KEYS: its list,
/// the numbering counter. ARGV: the bound, time, sender, text. Returns 1 if kept.
pub fn keep_offline_script() -> Script {
    Script::new(
        r"
        if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[1]) then
            return 0
        end
        local id = redis.call('INCR', KEYS[2])
        redis.call('RPUSH', KEYS[1], id .. '\31' .. ARGV[2] .. '\31' .. ARGV[3] .. '\31' .. ARGV[4])
        return 1
        ",
    )
}

/// Forgets an account's waiting messages numbered up to `ARGV[1]`. KEYS: its list.
pub fn drop_offline_script() -> Script {
    Script::new(
        r"
        while true do
            local first = redis.call('LINDEX', KEYS[1], 0)
            if not first then break end
            local id = tonumber(string.match(first, '^(%d+)'))
            if not id or id > tonumber(ARGV[1]) then break end
            redis.call('LPOP', KEYS[1])
        end
        return 1
        ",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_reads_back_as_it_was_written() {
        let record = Record {
            unix_ms: 42,
            room: "#Rust".into(),
            nick: "alice".into(),
            kind: Kind::Action,
            text: "waves, with: colons".into(),
        };
        let read = read_published(&said("s1", &record)).unwrap();
        assert_eq!(&*read.origin, "s1");
        assert_eq!(read.news, Remote::Said(record));
        let ban = Ban {
            name: "bob".into(),
            address: Some([192, 0, 2, 1].into()),
            until: Some(7),
        };
        assert_eq!(
            read_published(&banned("s1", &ban)).unwrap().news,
            Remote::Banned(ban)
        );
        let mute = Mute {
            name: "carol".into(),
            until: None,
        };
        assert_eq!(
            read_published(&muted("s2", &mute)).unwrap().news,
            Remote::Muted(mute)
        );
        assert_eq!(
            read_published(&kick("s1", "bob", "olga", None))
                .unwrap()
                .news,
            Remote::Kicked {
                nick: "bob".into(),
                by: "olga".into(),
                reason: None
            }
        );
        assert!(read_published("garbage").is_none());
        assert!(read_published("S\u{1f}s1\u{1f}not a number").is_none());
    }

    #[test]
    fn holders_read_back() {
        let who = read_holder(&holder("s9", "Bob", "#lobby")).unwrap();
        assert_eq!(
            (&*who.nick, &*who.room, &*who.server),
            ("Bob", "#lobby", "s9")
        );
        assert!(read_holder("only-a-server").is_none());
    }
}
