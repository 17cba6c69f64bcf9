//! A room: its name rules, who is in it, and its recent messages.
//!
//! Members sit in a `Vec` in no particular order. Each client remembers its slot in that
//! array, so leaving is a swap-remove: O(1), no search, no hashing. Fan-out to a room reads
//! the array front to back. The last few chat lines are kept as the very `Line`s that were
//! fanned out, so replaying them to a newcomer copies nothing.

use std::collections::VecDeque;
use std::fmt;

use super::sink::ClientId;
use super::wire::Line;

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

/// One room, its members and its recent messages.
#[derive(Debug)]
pub struct Room {
    /// The name as first written, `#` included.
    name: Box<str>,
    /// The members, in no particular order.
    members: Vec<ClientId>,
    /// The last chat lines and actions, oldest first.
    history: VecDeque<Line>,
}

impl Room {
    /// An empty room called `name`.
    pub fn new(name: &str) -> Self {
        Room {
            name: name.into(),
            members: Vec::new(),
            history: VecDeque::new(),
        }
    }

    /// Keeps `line` among the room's last `keep` messages.
    pub fn remember(&mut self, line: &Line, keep: usize) {
        if keep == 0 {
            return;
        }
        if self.history.len() >= keep {
            self.history.pop_front();
        }
        self.history.push_back(line.clone());
    }

    /// Gives back the member array's spare capacity.
    pub fn shrink_to_fit(&mut self) {
        self.members.shrink_to_fit();
    }

    /// The remembered messages, oldest first.
    pub fn history(&self) -> &VecDeque<Line> {
        &self.history
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
    use crate::protocol::wire::Encoder;

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
    fn history_keeps_the_last_messages_in_order() {
        let mut enc = Encoder::default();
        let mut room = Room::new("#r");
        for n in 0..5 {
            room.remember(&enc.encode(format_args!("a: {n}")), 3);
        }
        let kept: Vec<&[u8]> = room.history().iter().map(Line::as_bytes).collect();
        assert_eq!(kept, [&b"a: 2\n"[..], b"a: 3\n", b"a: 4\n"]);
        room.remember(&enc.encode(format_args!("a: x")), 0);
        assert_eq!(room.history().len(), 3);
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
