//! A room: its name rules, and who is in it.
//!
//! Members sit in a `Vec` in no particular order. Each client remembers its slot in that
//! array, so leaving is a swap-remove: O(1), no search, no hashing. Fan-out to a room reads
//! the array front to back. A room's recent messages live apart, in the history cache, since
//! they outlive the room. The `/who` listing is kept once built, until the members change,
//! so that asking again and again costs a few shared lines, not a sort of the whole room.

use std::fmt;
use std::sync::Arc;

use super::sink::ClientId;
use super::wire::Line;

/// A room, as the core numbers it: valid while the room exists, reused after it is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub usize);

/// The room every client enters once it has a nickname.
pub const LOBBY: &str = "#lobby";

/// The longest room name, not counting its `#`.
pub const MAX_ROOM_NAME_LEN: usize = 32;

/// Why a room name was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RoomNameError {
    /// Nothing after the `#`.
    Empty,
    /// Longer than [`MAX_ROOM_NAME_LEN`] after the `#`.
    TooLong,
    /// A character outside letters, digits, `_` and `-`.
    BadCharacter,
}

impl fmt::Display for RoomNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RoomNameError::Empty => "a room name needs at least one character after '#'",
            RoomNameError::TooLong => "a room name has at most 32 characters after '#'",
            RoomNameError::BadCharacter => {
                "a room name may only hold letters, digits, '_' and '-' after '#'"
            }
        })
    }
}

/// Checks a room name written with or without its `#`, and returns it with the `#`: users
/// type `/join rust` as often as `/join #rust`.
pub fn normalise_name(name: &str) -> Result<String, RoomNameError> {
    let bare = name.strip_prefix('#').unwrap_or(name);
    if bare.is_empty() {
        return Err(RoomNameError::Empty);
    }
    if !bare
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(RoomNameError::BadCharacter);
    }
    if bare.len() > MAX_ROOM_NAME_LEN {
        return Err(RoomNameError::TooLong);
    }
    Ok(format!("#{bare}"))
}

/// The case-folded form under which room names are compared: `#Rust` is `#rust`.
pub fn fold(name: &str) -> Box<str> {
    name.to_ascii_lowercase().into_boxed_str()
}

/// One room and its members.
#[derive(Debug)]
pub struct Room {
    /// The name as first written, `#` included.
    name: Arc<str>,
    /// The members, in no particular order.
    members: Vec<ClientId>,
    /// The `/who` listing, built on demand and dropped when the members or their names
    /// change.
    listing: Option<Arc<[Line]>>,
}

impl Room {
    /// An empty room called `name`.
    pub fn new(name: &str) -> Self {
        Room {
            name: name.into(),
            members: Vec::new(),
            listing: None,
        }
    }

    /// The room's name, `#` included.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// Everyone in the room.
    pub fn members(&self) -> &[ClientId] {
        &self.members
    }

    /// Adds `client` and returns its slot, which the caller keeps for [`Room::remove`].
    pub fn add(&mut self, client: ClientId) -> usize {
        self.listing = None;
        self.members.push(client);
        self.members.len() - 1
    }

    /// Removes whoever is at `slot`. The last member moves into the freed slot; it is
    /// returned so that the caller can update that member's recorded slot.
    pub fn remove(&mut self, slot: usize) -> Option<ClientId> {
        if slot >= self.members.len() {
            return None;
        }
        self.listing = None;
        self.members.swap_remove(slot);
        self.members.get(slot).copied()
    }

    /// The `/who` listing, if it was built since the members last changed.
    pub fn listing(&self) -> Option<&Arc<[Line]>> {
        self.listing.as_ref()
    }

    /// Keeps a freshly built `/who` listing.
    pub fn set_listing(&mut self, listing: Arc<[Line]>) {
        self.listing = Some(listing);
    }

    /// A member changed its name: the listing is out of date.
    pub fn forget_listing(&mut self) {
        self.listing = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_get_their_hash_and_follow_the_rules() {
        assert_eq!(normalise_name("#rust").as_deref(), Ok("#rust"));
        assert_eq!(normalise_name("Rust_2-x").as_deref(), Ok("#Rust_2-x"));
        assert_eq!(normalise_name(&"a".repeat(32)).map(|n| n.len()), Ok(33));
        assert_eq!(normalise_name("#"), Err(RoomNameError::Empty));
        assert_eq!(normalise_name(&"a".repeat(33)), Err(RoomNameError::TooLong));
        assert_eq!(normalise_name("#a b"), Err(RoomNameError::BadCharacter));
        assert_eq!(normalise_name("##a"), Err(RoomNameError::BadCharacter));
        assert_eq!(normalise_name("#café"), Err(RoomNameError::BadCharacter));
    }

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
