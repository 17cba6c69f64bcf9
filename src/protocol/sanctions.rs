//! Bans and mutes as the chat core checks them: in memory, loaded from the store when the
//! server starts, each change also sent to the store, so they outlive restarts. Their ends
//! are wall-clock times (milliseconds since the Unix epoch) for the same reason. One that
//! has ended is forgotten the first time it is looked at.

use std::collections::HashMap;
use std::net::IpAddr;

use super::request::{Ban, Mute};

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Sanctions {
    /// By folded name.
    bans: HashMap<Box<str>, Ban>,
    /// Banned addresses, to the name whose ban they belong to.
    addresses: HashMap<IpAddr, Box<str>>,
    /// By folded name.
    mutes: HashMap<Box<str>, Mute>,
}

/// True while a sanction ending at `until` (never, if `None`) is in force at `now_ms`.
fn in_force(until: Option<i64>, now_ms: i64) -> bool {
    until.is_none_or(|until| until > now_ms)
}

impl Sanctions {
    /// The sanctions the store had.
    pub fn load(bans: Vec<Ban>, mutes: Vec<Mute>) -> Self {
        let mut sanctions = Sanctions::default();
        for ban in bans {
            sanctions.ban(ban);
        }
        for mute in mutes {
            sanctions.mute(mute);
        }
        sanctions
    }

    /// Bans a name, and its address if it has one, replacing any ban on the name.
    pub fn ban(&mut self, ban: Ban) {
        self.unban(&ban.name);
        if let Some(address) = ban.address {
            self.addresses.insert(address, ban.name.clone());
        }
        self.bans.insert(ban.name.clone(), ban);
    }

    /// Lifts the ban on `name` (folded) and on its address; false if there was none.
    pub fn unban(&mut self, name: &str) -> bool {
        let Some(ban) = self.bans.remove(name) else {
            return false;
        };
        if let Some(address) = ban.address {
            if self
                .addresses
                .get(&address)
                .is_some_and(|owner| **owner == *name)
            {
                self.addresses.remove(&address);
            }
        }
        true
    }

    /// The ban on `name` (folded) in force at `now_ms`, if any.
    pub fn name_ban(&mut self, name: &str, now_ms: i64) -> Option<&Ban> {
        match self.bans.get(name) {
            Some(ban) if !in_force(ban.until, now_ms) => {
                self.unban(name);
                None
            }
            _ => self.bans.get(name),
        }
    }

    /// The ban on `address` in force at `now_ms`, if any.
    pub fn address_ban(&mut self, address: IpAddr, now_ms: i64) -> Option<&Ban> {
        let name = self.addresses.get(&address)?.clone();
        self.name_ban(&name, now_ms)
    }

    /// Mutes a name, replacing any mute on it.
    pub fn mute(&mut self, mute: Mute) {
        self.mutes.insert(mute.name.clone(), mute);
    }

    /// Lifts the mute on `name` (folded); false if there was none.
    pub fn unmute(&mut self, name: &str) -> bool {
        self.mutes.remove(name).is_some()
    }

    /// True if nobody is muted: the check every chat line makes, kept cheap.
    pub fn no_mutes(&self) -> bool {
        self.mutes.is_empty()
    }

    /// The mute on `name` (folded) in force at `now_ms`, if any.
    pub fn mute_of(&mut self, name: &str, now_ms: i64) -> Option<&Mute> {
        match self.mutes.get(name) {
            Some(mute) if !in_force(mute.until, now_ms) => {
                self.mutes.remove(name);
                None
            }
            _ => self.mutes.get(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDRESS: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 9));

    #[test]
    fn a_ban_covers_the_name_and_the_address_until_it_ends() {
        let mut sanctions = Sanctions::load(
            vec![Ban {
                name: "bob".into(),
                address: Some(ADDRESS),
                until: Some(1_000),
            }],
            Vec::new(),
        );
        assert!(sanctions.name_ban("bob", 999).is_some());
        assert!(sanctions.address_ban(ADDRESS, 999).is_some());
        assert!(sanctions.name_ban("alice", 999).is_none());
        assert!(sanctions.address_ban(ADDRESS, 1_000).is_none(), "ended");
        assert!(sanctions.name_ban("bob", 0).is_none(), "and forgotten");
    }

    #[test]
    fn unbanning_frees_both_and_a_ban_without_end_lasts() {
        let mut sanctions = Sanctions::default();
        sanctions.ban(Ban {
            name: "bob".into(),
            address: Some(ADDRESS),
            until: None,
        });
        assert!(sanctions.address_ban(ADDRESS, i64::MAX).is_some());
        assert!(sanctions.unban("bob"));
        assert!(!sanctions.unban("bob"));
        assert!(sanctions.address_ban(ADDRESS, 0).is_none());
    }

    #[test]
    fn mutes_end_or_are_lifted() {
        let mut sanctions = Sanctions::default();
        sanctions.mute(Mute {
            name: "carol".into(),
            until: Some(50),
        });
        sanctions.mute(Mute {
            name: "dave".into(),
            until: None,
        });
        assert!(sanctions.mute_of("carol", 49).is_some());
        assert!(sanctions.mute_of("carol", 50).is_none());
        assert!(sanctions.mute_of("dave", i64::MAX).is_some());
        assert!(sanctions.unmute("dave"));
        assert!(sanctions.mute_of("dave", 0).is_none());
    }
}
