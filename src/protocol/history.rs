//! The recent messages of rooms, kept apart from the rooms themselves.
//!
//! A room exists while someone is in it; its history outlives it. The cache holds each
//! room's last `--history` lines (as the very [`Line`]s a newcomer is replayed, time stamp
//! included, so replaying copies nothing), keyed by the room's folded name. Rooms that exist
//! are pinned: their history is always here. Rooms that emptied stay cached too, the least
//! recently used dropped first past a bound. What the cache does not hold, the store does:
//! the hub asks it (a history request) and fills the cache with the answer.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::wire::Line;

/// Rooms without members whose history stays cached: enough that a busy server's recently
/// emptied rooms replay without asking the store, few enough to bound the memory
/// (at the default 20 lines a room, a few MiB at most).
pub const CACHED_EMPTY_ROOMS: usize = 1024;

/// One room's recent lines.
#[derive(Debug)]
struct Recent {
    /// Oldest first, at most the cache's `per_room`.
    lines: VecDeque<Line>,
    /// While the room exists, it is never evicted.
    pinned: bool,
    /// When it was last used, for eviction (meaningful while unpinned).
    used: u64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct HistoryCache {
    rooms: HashMap<Box<str>, Recent>,
    /// Unpinned rooms by last use: the first is evicted first.
    by_use: BTreeMap<u64, Box<str>>,
    /// Lines kept per room (`--history`).
    per_room: usize,
    /// Unpinned rooms kept at most.
    max_unpinned: usize,
    /// A counter standing in for time of use.
    clock: u64,
}

impl HistoryCache {
    /// A cache of `per_room` lines for each room, keeping at most `max_unpinned` rooms that
    /// have no members.
    pub fn new(per_room: usize, max_unpinned: usize) -> Self {
        HistoryCache {
            rooms: HashMap::new(),
            by_use: BTreeMap::new(),
            per_room,
            max_unpinned,
            clock: 0,
        }
    }

    /// Lines kept per room.
    pub fn per_room(&self) -> usize {
        self.per_room
    }

    /// The cached lines of `room` (folded), oldest first; `None` if the cache does not know
    /// the room (the store may).
    pub fn get(&mut self, room: &str) -> Option<&VecDeque<Line>> {
        self.touch(room);
        self.rooms.get(room).map(|recent| &recent.lines)
    }

    /// Keeps `line`, just said in `room`, among its recent lines.
    pub fn push(&mut self, room: &str, line: Line) {
        if self.per_room == 0 {
            return;
        }
        self.ensure(room);
        if let Some(recent) = self.rooms.get_mut(room) {
            if recent.lines.len() >= self.per_room {
                recent.lines.pop_front();
            }
            recent.lines.push_back(line);
        }
        self.evict(0);
    }

    /// Sets `room`'s recent lines (oldest first) to what the store holds. Keeps only the last
    /// `per_room`; lines already cached (said since the store was asked) stay after them.
    pub fn fill(&mut self, room: &str, older: impl IntoIterator<Item = Line>) {
        self.ensure(room);
        if let Some(recent) = self.rooms.get_mut(room) {
            let newer = std::mem::take(&mut recent.lines);
            let mut lines: VecDeque<Line> = older.into_iter().chain(newer).collect();
            while lines.len() > self.per_room {
                lines.pop_front();
            }
            recent.lines = lines;
        }
        self.evict(1);
    }

    /// `room` exists now: its history stays cached while it does.
    pub fn pin(&mut self, room: &str) {
        self.ensure(room);
        if let Some(recent) = self.rooms.get_mut(room) {
            recent.pinned = true;
            self.by_use.remove(&recent.used);
        }
    }

    /// `room` has no members any more: its history may be evicted, last of all the rooms
    /// that emptied before it.
    pub fn unpin(&mut self, room: &str) {
        if let Some(recent) = self.rooms.get_mut(room) {
            recent.pinned = false;
        }
        self.touch(room);
        self.evict(0);
    }

    /// Marks `room`, if cached and unpinned, as just used, so that it is evicted later.
    fn touch(&mut self, room: &str) {
        self.clock += 1;
        if let Some(recent) = self.rooms.get_mut(room) {
            if !recent.pinned {
                self.by_use.remove(&recent.used);
                recent.used = self.clock;
                self.by_use.insert(self.clock, room.into());
            }
        }
    }

    /// Makes sure `room` has an entry (unpinned if new), and marks it as just used.
    fn ensure(&mut self, room: &str) {
        if !self.rooms.contains_key(room) {
            let recent = Recent {
                lines: VecDeque::new(),
                pinned: false,
                used: 0,
            };
            self.rooms.insert(room.into(), recent);
        }
        self.touch(room);
    }

    /// Drops the least recently used unpinned rooms past the bound, and `spare` more: the
    /// room just filled is the most recently used, and is about to be entered and pinned,
    /// so it must outlive this call even when the bound is 0.
    fn evict(&mut self, spare: usize) {
        while self.by_use.len() > self.max_unpinned + spare {
            if let Some((_, room)) = self.by_use.pop_first() {
                self.rooms.remove(&room);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::Encoder;

    fn line(text: &str) -> Line {
        Encoder::default().encode(format_args!("{text}"))
    }

    fn texts(cache: &mut HistoryCache, room: &str) -> Option<Vec<String>> {
        cache.get(room).map(|lines| {
            lines
                .iter()
                .map(|l| String::from_utf8_lossy(l.as_bytes()).trim_end().to_owned())
                .collect()
        })
    }

    #[test]
    fn a_room_keeps_its_last_lines_in_order() {
        let mut cache = HistoryCache::new(3, 10);
        for n in 0..5 {
            cache.push("#r", line(&format!("a: {n}")));
        }
        assert_eq!(texts(&mut cache, "#r").unwrap(), ["a: 2", "a: 3", "a: 4"]);
        assert_eq!(texts(&mut cache, "#other"), None, "an unknown room");
    }

    #[test]
    fn filling_puts_stored_lines_before_those_said_meanwhile() {
        let mut cache = HistoryCache::new(3, 10);
        cache.push("#r", line("new"));
        cache.fill("#r", [line("old 1"), line("old 2"), line("old 3")]);
        assert_eq!(texts(&mut cache, "#r").unwrap(), ["old 2", "old 3", "new"]);
    }

    #[test]
    fn pinned_rooms_are_never_evicted_and_emptied_ones_go_oldest_first() {
        let mut cache = HistoryCache::new(2, 2);
        cache.pin("#live");
        cache.push("#live", line("here"));
        for room in ["#a", "#b", "#c"] {
            cache.pin(room);
            cache.push(room, line(room));
            cache.unpin(room);
        }
        assert_eq!(
            texts(&mut cache, "#a"),
            None,
            "the oldest emptied room went"
        );
        assert!(texts(&mut cache, "#b").is_some());
        assert!(texts(&mut cache, "#c").is_some());
        assert_eq!(texts(&mut cache, "#live").unwrap(), ["here"]);
        // Using #b makes #c the least recently used, so #c goes next.
        assert!(texts(&mut cache, "#b").is_some());
        cache.pin("#d");
        cache.unpin("#d");
        assert!(texts(&mut cache, "#b").is_some());
        assert_eq!(texts(&mut cache, "#c"), None);
    }

    #[test]
    fn no_history_keeps_no_lines_but_knows_the_rooms() {
        let mut cache = HistoryCache::new(0, 10);
        cache.pin("#r");
        cache.push("#r", line("x"));
        assert_eq!(texts(&mut cache, "#r").unwrap(), Vec::<String>::new());
    }
}
