//! Who is on the other servers, as this one knows it: for `/who`, `/rooms`, `/msg`, the
//! announce limit and nickname uniqueness, without asking anyone. Kept up to date by the
//! news other servers publish (see [`super::request::Remote`]); empty on a server alone.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::nick;
use super::room;

/// Someone on another server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elsewhere {
    /// The nickname, as written.
    pub nick: Arc<str>,
    /// The room it is in, as its name was first written.
    pub room: Arc<str>,
    /// The server it is connected to.
    pub server: Arc<str>,
}

/// The members of one room on other servers.
#[derive(Debug, Default)]
struct RoomElsewhere {
    /// The room's name as first written.
    name: Option<Arc<str>>,
    /// Folded nicknames.
    members: HashSet<Box<str>>,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Others {
    /// By folded nickname.
    by_nick: HashMap<Box<str>, Elsewhere>,
    /// By folded room name.
    rooms: HashMap<Box<str>, RoomElsewhere>,
}

impl Others {
    /// Someone elsewhere is now `who` (or was, under this nickname, and moved rooms).
    pub fn set(&mut self, who: Elsewhere) {
        let folded = nick::fold(&who.nick);
        self.remove(&folded);
        let room = self.rooms.entry(room::fold(&who.room)).or_default();
        room.name.get_or_insert_with(|| Arc::clone(&who.room));
        room.members.insert(folded.clone());
        self.by_nick.insert(folded, who);
    }

    /// Nickname `folded` is no longer used elsewhere; returns who it was.
    pub fn remove(&mut self, folded: &str) -> Option<Elsewhere> {
        let gone = self.by_nick.remove(folded)?;
        let room_key = room::fold(&gone.room);
        if let Some(room) = self.rooms.get_mut(&room_key) {
            room.members.remove(folded);
            if room.members.is_empty() {
                self.rooms.remove(&room_key);
            }
        }
        Some(gone)
    }

    /// Forgets everyone (contact with the other servers is lost).
    pub fn clear(&mut self) {
        self.by_nick.clear();
        self.rooms.clear();
    }

    /// Who uses nickname `folded` elsewhere, if anyone.
    pub fn get(&self, folded: &str) -> Option<&Elsewhere> {
        self.by_nick.get(folded)
    }

    /// The nicknames in room `folded` elsewhere.
    pub fn members_of(&self, folded: &str) -> impl Iterator<Item = &Arc<str>> {
        self.rooms
            .get(folded)
            .into_iter()
            .flat_map(|room| room.members.iter())
            .filter_map(|nick| self.by_nick.get(nick).map(|who| &who.nick))
    }

    /// How many are in room `folded` elsewhere.
    pub fn count_in(&self, folded: &str) -> usize {
        self.rooms.get(folded).map_or(0, |room| room.members.len())
    }

    /// Every room with members elsewhere: its name and how many.
    pub fn rooms(&self) -> impl Iterator<Item = (&Arc<str>, usize)> {
        self.rooms
            .values()
            .filter_map(|room| room.name.as_ref().map(|name| (name, room.members.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(nick: &str, room: &str) -> Elsewhere {
        Elsewhere {
            nick: nick.into(),
            room: room.into(),
            server: "s2".into(),
        }
    }

    #[test]
    fn people_elsewhere_are_counted_by_room_and_follow_their_moves() {
        let mut others = Others::default();
        others.set(who("Bob", "#lobby"));
        others.set(who("carol", "#Rust"));
        others.set(who("dave", "#rust"));
        assert_eq!(others.count_in("#lobby"), 1);
        assert_eq!(others.count_in("#rust"), 2);
        others.set(who("Bob", "#rust"));
        assert_eq!(others.count_in("#lobby"), 0);
        let mut rust: Vec<&str> = others.members_of("#rust").map(|n| &**n).collect();
        rust.sort_unstable();
        assert_eq!(rust, ["Bob", "carol", "dave"]);
        let rooms: Vec<(String, usize)> = others.rooms().map(|(n, c)| (n.to_string(), c)).collect();
        assert_eq!(rooms, [("#Rust".to_string(), 3)]);
        assert_eq!(others.remove("bob").map(|w| w.nick), Some("Bob".into()));
        assert!(others.get("bob").is_none());
        others.clear();
        assert_eq!(others.rooms().count(), 0);
    }
}
