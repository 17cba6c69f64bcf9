//! A room: who is in it, kept so that fan-out is a walk over a dense array.
//!
//! Members sit in a `Vec` in no particular order. Each client remembers its slot in that
//! array, so leaving is a swap-remove: O(1), no search, no hashing. Fan-out to a room reads
//! the array front to back.

use super::sink::ClientId;

/// The room every client enters once it has a nickname.
pub const LOBBY: &str = "#lobby";

/// One room and its members.
#[derive(Debug)]
pub struct Room {
    /// The name as first written, `#` included.
    name: Box<str>,
    /// The members, in no particular order.
    members: Vec<ClientId>,
}

impl Room {
    /// An empty room called `name`.
    pub fn new(name: &str) -> Self {
        Room {
            name: name.into(),
            members: Vec::new(),
        }
    }

    /// The room's name, `#` included.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Everyone in the room.
    pub fn members(&self) -> &[ClientId] {
        &self.members
    }

    /// Adds `client` and returns its slot, which the caller keeps for [`Room::remove`].
    pub fn add(&mut self, client: ClientId) -> usize {
        self.members.push(client);
        self.members.len() - 1
    }

    /// Removes whoever is at `slot`. The last member moves into the freed slot; it is
    /// returned so that the caller can update that member's recorded slot.
    pub fn remove(&mut self, slot: usize) -> Option<ClientId> {
        if slot >= self.members.len() {
            return None;
        }
        self.members.swap_remove(slot);
        self.members.get(slot).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_moves_the_last_member_into_the_hole() {
        let mut room = Room::new("#r");
        let slots: Vec<usize> = (0..3).map(|i| room.add(ClientId(i))).collect();
        assert_eq!(slots, [0, 1, 2]);
        assert_eq!(room.remove(0), Some(ClientId(2)));
        assert_eq!(room.members(), [ClientId(2), ClientId(1)]);
        assert_eq!(room.remove(1), None);
        assert_eq!(room.members(), [ClientId(2)]);
    }
}
