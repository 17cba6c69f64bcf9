//! Accounts in the store: who owns which nickname (by password hash), the private messages
//! waiting for an account that is away, and the bans and mutes operators set.

use std::net::IpAddr;

use rusqlite::{params, OptionalExtension};

use super::{limit_param, now_ms, Database};
use crate::protocol::nick;
use crate::protocol::{Account, Ban, Mute, Offline};

impl Database {
    /// The account that owns nickname `name` (any case), if any.
    pub fn account(&self, name: &str) -> rusqlite::Result<Option<Account>> {
        self.conn
            .prepare_cached("SELECT name, hash FROM accounts WHERE folded = ?1")?
            .query_row([&*nick::fold(name)], |row| {
                Ok(Account {
                    name: row.get::<_, String>(0)?.into(),
                    hash: row.get::<_, String>(1)?.into(),
                })
            })
            .optional()
    }

    /// Makes an account for `name` with password hash `hash`; false if the name has one.
    pub fn register(&self, name: &str, hash: &str) -> rusqlite::Result<bool> {
        let made = self
            .conn
            .prepare_cached(
                "INSERT INTO accounts (folded, name, hash, created) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (folded) DO NOTHING",
            )?
            .execute(params![&*nick::fold(name), name, hash, now_ms()])?;
        Ok(made == 1)
    }

    /// Gives account `name` the password hash `hash`; false if there is no such account.
    pub fn set_password(&self, name: &str, hash: &str) -> rusqlite::Result<bool> {
        let changed = self
            .conn
            .prepare_cached("UPDATE accounts SET hash = ?2 WHERE folded = ?1")?
            .execute(params![&*nick::fold(name), hash])?;
        Ok(changed == 1)
    }

    /// Keeps `message` for account `to` unless `limit` are waiting for it already; false if
    /// they are.
    pub fn keep_offline(
        &self,
        to: &str,
        message: &Offline,
        limit: usize,
    ) -> rusqlite::Result<bool> {
        let to = nick::fold(to);
        let waiting: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM offline WHERE recipient = ?1")?
            .query_row([&*to], |row| row.get(0))?;
        if waiting >= limit_param(limit) {
            return Ok(false);
        }
        self.conn
            .prepare_cached(
                "INSERT INTO offline (recipient, time, sender, text) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                &*to,
                message.unix_ms,
                &*message.from,
                &*message.text
            ])?;
        Ok(true)
    }

    /// The messages waiting for account `name`, oldest first.
    pub fn offline(&self, name: &str) -> rusqlite::Result<Vec<Offline>> {
        self.conn
            .prepare_cached(
                "SELECT id, time, sender, text FROM offline WHERE recipient = ?1 ORDER BY id",
            )?
            .query_map([&*nick::fold(name)], |row| {
                Ok(Offline {
                    id: row.get(0)?,
                    unix_ms: row.get(1)?,
                    from: row.get::<_, String>(2)?.into(),
                    text: row.get::<_, String>(3)?.into(),
                })
            })?
            .collect()
    }

    /// Forgets account `name`'s waiting messages numbered up to `up_to`.
    pub fn drop_offline(&self, name: &str, up_to: i64) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("DELETE FROM offline WHERE recipient = ?1 AND id <= ?2")?
            .execute(params![&*nick::fold(name), up_to])?;
        Ok(())
    }

    /// Keeps `ban`, replacing any on the same name.
    pub fn ban(&self, ban: &Ban) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO bans (name, address, until) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                &*ban.name,
                ban.address.map(|a| a.to_string()),
                ban.until
            ])?;
        Ok(())
    }

    /// Lifts the ban on `name` (folded).
    pub fn unban(&self, name: &str) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("DELETE FROM bans WHERE name = ?1")?
            .execute([name])?;
        Ok(())
    }

    /// Keeps `mute`, replacing any on the same name.
    pub fn mute(&self, mute: &Mute) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO mutes (name, until) VALUES (?1, ?2)")?
            .execute(params![&*mute.name, mute.until])?;
        Ok(())
    }

    /// Lifts the mute on `name` (folded).
    pub fn unmute(&self, name: &str) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("DELETE FROM mutes WHERE name = ?1")?
            .execute([name])?;
        Ok(())
    }

    /// The bans and mutes in force, after deleting those that have ended: what the chat
    /// core starts with.
    pub fn sanctions(&self) -> rusqlite::Result<(Vec<Ban>, Vec<Mute>)> {
        let now = now_ms();
        self.conn
            .execute("DELETE FROM bans WHERE until <= ?1", [now])?;
        self.conn
            .execute("DELETE FROM mutes WHERE until <= ?1", [now])?;
        let bans = self
            .conn
            .prepare("SELECT name, address, until FROM bans")?
            .query_map([], |row| {
                Ok(Ban {
                    name: row.get::<_, String>(0)?.into(),
                    address: row
                        .get::<_, Option<String>>(1)?
                        .and_then(|a| a.parse::<IpAddr>().ok()),
                    until: row.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<Ban>>>()?;
        let mutes = self
            .conn
            .prepare("SELECT name, until FROM mutes")?
            .query_map([], |row| {
                Ok(Mute {
                    name: row.get::<_, String>(0)?.into(),
                    until: row.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<Mute>>>()?;
        Ok((bans, mutes))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Location;
    use super::*;

    fn db() -> Database {
        Database::open(&Location::Memory, None).unwrap()
    }

    #[test]
    fn an_account_owns_its_name_in_any_case() {
        let db = db();
        assert_eq!(db.account("Alice").unwrap(), None);
        assert!(db.register("Alice", "$argon2id$hash").unwrap());
        assert!(!db.register("ALICE", "$argon2id$other").unwrap(), "taken");
        let account = db.account("alice").unwrap().expect("registered");
        assert_eq!(
            (&*account.name, &*account.hash),
            ("Alice", "$argon2id$hash")
        );
        assert!(db.set_password("aLiCe", "$argon2id$new").unwrap());
        assert_eq!(
            &*db.account("alice").unwrap().unwrap().hash,
            "$argon2id$new"
        );
        assert!(!db.set_password("bob", "$x").unwrap(), "no such account");
    }

    #[test]
    fn waiting_messages_are_bounded_kept_in_order_and_dropped_once_delivered() {
        let db = db();
        let message = |n: i64| Offline {
            id: 0,
            unix_ms: n,
            from: "bob".into(),
            text: format!("note {n}").into(),
        };
        assert!(db.keep_offline("Alice", &message(1), 2).unwrap());
        assert!(db.keep_offline("alice", &message(2), 2).unwrap());
        assert!(
            !db.keep_offline("alice", &message(3), 2).unwrap(),
            "two is the bound"
        );
        let waiting = db.offline("ALICE").unwrap();
        let texts: Vec<&str> = waiting.iter().map(|m| &*m.text).collect();
        assert_eq!(texts, ["note 1", "note 2"]);
        db.drop_offline("alice", waiting[0].id).unwrap();
        assert_eq!(db.offline("alice").unwrap().len(), 1);
    }

    #[test]
    fn sanctions_in_force_are_kept_and_ended_ones_deleted() {
        let db = db();
        let address: IpAddr = [192, 0, 2, 7].into();
        db.ban(&Ban {
            name: "bob".into(),
            address: Some(address),
            until: None,
        })
        .unwrap();
        db.ban(&Ban {
            name: "old".into(),
            address: None,
            until: Some(1),
        })
        .unwrap();
        db.mute(&Mute {
            name: "carol".into(),
            until: Some(now_ms() + 60_000),
        })
        .unwrap();
        db.mute(&Mute {
            name: "dave".into(),
            until: Some(1),
        })
        .unwrap();
        let (bans, mutes) = db.sanctions().unwrap();
        assert_eq!(
            bans,
            [Ban {
                name: "bob".into(),
                address: Some(address),
                until: None
            }]
        );
        assert_eq!(mutes.len(), 1);
        assert_eq!(&*mutes[0].name, "carol");
        db.unban("bob").unwrap();
        db.unmute("carol").unwrap();
        assert_eq!(db.sanctions().unwrap(), (Vec::new(), Vec::new()));
    }
}
