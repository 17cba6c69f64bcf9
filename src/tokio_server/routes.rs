//! The Tokio server's shared state and its [`Sink`]: how the chat core's decisions become
//! channel sends.
//!
//! Everything here lives behind one `std::sync::Mutex` (nothing awaits while holding it).
//! Room lines go into the room's `tokio::sync::broadcast` channel, once, whatever the number
//! of members; lines for one client go into that client's bounded `mpsc` channel. Every item
//! carries a sequence number taken under the lock, so a client's task can merge its two
//! channels back into exactly the order the core produced (see `inbound`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use slab::Slab;
use tokio::sync::{broadcast, mpsc};

use super::inbound::Inbound;
use crate::protocol::{ClientId, Departure, Hub, Line, RoomId, Sink};
use crate::sys::Reclaim;

/// Items a room channel holds for its slowest member. A member whose task falls this far
/// behind is disconnected as too slow (senders pause before that, see
/// [`ROOM_CHANNEL_CONGESTED`]). Tokio allocates every slot when the room is created, about 70
/// bytes each, so this is also the price of a room, ~70 KiB: with `--max-rooms 1000`, at
/// most 70 MB.
pub const ROOM_CHANNEL_CAPACITY: usize = 1024;
/// A room channel holding more unread items than this is congested: its members' tasks are
/// short of CPU, not of socket space (those drain the channel into their own outboxes). The
/// sender then pauses reading so that they can catch up before anyone lags.
pub const ROOM_CHANNEL_CONGESTED: usize = ROOM_CHANNEL_CAPACITY / 2;
/// Items a client's own channel holds. What really bounds it is `--max-outbuf`, counted in
/// bytes as for the mio server (a replay of a long history is many lines, and legitimate);
/// this count only stops a task starved of CPU from queuing without end. Tokio allocates the
/// slots in blocks as they fill, so a generous bound costs nothing.
pub const DIRECT_CHANNEL_CAPACITY: usize = 1 << 16;

/// A line for every member of a room but its author.
#[derive(Clone, Debug)]
pub struct RoomLine {
    /// Order among everything the core produced.
    pub seq: u64,
    /// The encoded line.
    pub line: Line,
    /// The member who must not get it (the author: no echo).
    pub except: Option<ClientId>,
}

/// Something for one client only.
#[derive(Debug)]
pub enum Item {
    /// A line.
    Line {
        /// Order among everything the core produced.
        seq: u64,
        /// The encoded line.
        line: Line,
    },
    /// The client entered a room: from this point on, its lines come from `room`.
    Enter {
        /// Order among everything the core produced.
        seq: u64,
        /// A receiver subscribed under the lock, so it misses nothing sent after the entry.
        room: broadcast::Receiver<RoomLine>,
    },
    /// The core closed the client: deliver what came before, then close.
    Close {
        /// Order among everything the core produced.
        seq: u64,
    },
}

/// The chat core and the routes its output takes, guarded together by one mutex.
pub struct State {
    /// The chat core.
    pub hub: Hub,
    /// Where its output goes.
    pub routes: Routes,
    /// When to give memory back after a crowd has left.
    pub reclaim: Reclaim,
}

impl State {
    /// Runs `act` on the hub for client `id` if that id still belongs to the task holding
    /// `serial` (ids are reused once a client is gone), then disconnects anyone the action
    /// left too far behind.
    pub fn act_for(
        &mut self,
        id: ClientId,
        serial: u64,
        act: impl FnOnce(&mut Hub, &mut Routes),
    ) -> Acted {
        if !self.routes.is_current(id, serial) {
            return Acted::NotCurrent;
        }
        self.routes.congested = false;
        act(&mut self.hub, &mut self.routes);
        self.drop_too_slow();
        if self.routes.congested {
            Acted::Congested
        } else {
            Acted::Done
        }
    }

    /// The task of client `id` is ending for `why`: forget the client, tell its room.
    pub fn leave(&mut self, id: ClientId, serial: u64, why: Departure) {
        if self.routes.is_current(id, serial) {
            self.routes.peers.remove(id.0);
            self.hub.disconnect(id, why, &mut self.routes);
            self.drop_too_slow();
        }
    }

    /// Called as each connection task ends: once most clients have gone, shrinks the tables a
    /// crowd grew. Returns true if the caller should then (outside the lock) return free
    /// memory to the operating system.
    pub fn shrink_if_emptied(&mut self) -> bool {
        if !self.reclaim.due(self.hub.client_count()) {
            return false;
        }
        self.hub.shrink_to_fit();
        self.routes.peers.shrink_to_fit();
        self.routes.rooms.shrink_to_fit();
        self.routes.too_slow.shrink_to_fit();
        true
    }

    /// Disconnects the clients whose channels were full, until none is left.
    pub fn drop_too_slow(&mut self) {
        while let Some(id) = self.routes.too_slow.pop() {
            if self.routes.peers.try_remove(id.0).is_some() {
                log::info!("client {} dropped: its task fell too far behind", id.0);
                self.hub
                    .disconnect(id, Departure::TooSlow, &mut self.routes);
            }
        }
    }
}

/// How [`State::act_for`] went.
#[derive(Debug, PartialEq, Eq)]
pub enum Acted {
    /// The client is gone (closed by the core); its task should stop reading.
    NotCurrent,
    /// Done.
    Done,
    /// Done, and a room channel it wrote to is congested: the client should pause.
    Congested,
}

/// One connected client's channel, as the shared state knows it.
struct Peer {
    /// Tells this client's task from an earlier one that had the same id.
    serial: u64,
    direct: mpsc::Sender<Item>,
    /// Bytes of lines in `direct` that the task has not taken yet (it subtracts them).
    unread: Arc<AtomicUsize>,
}

/// The Tokio server's [`Sink`]: per-client and per-room channels.
pub struct Routes {
    /// Connected clients by id (the slab key is the [`ClientId`]).
    peers: Slab<Peer>,
    rooms: HashMap<RoomId, broadcast::Sender<RoomLine>>,
    next_seq: u64,
    next_serial: u64,
    /// Clients whose channel was full: disconnected once the current action is done.
    too_slow: Vec<ClientId>,
    /// A broadcast during the current action found its room channel congested.
    congested: bool,
    /// `--max-outbuf`: a client with more bytes than this waiting in its channel is too slow.
    max_outbuf: usize,
}

impl Routes {
    /// No clients, no rooms; clients may have `max_outbuf` bytes waiting for them.
    pub fn new(max_outbuf: usize) -> Self {
        Routes {
            peers: Slab::new(),
            rooms: HashMap::new(),
            next_seq: 0,
            next_serial: 0,
            too_slow: Vec::new(),
            congested: false,
            max_outbuf,
        }
    }

    /// Registers a new connection: its id, the serial that proves a task owns that id, and
    /// the receiving end of its channels.
    pub fn add_peer(&mut self) -> (ClientId, u64, Inbound) {
        let (direct, receiver) = mpsc::channel(DIRECT_CHANNEL_CAPACITY);
        self.next_serial += 1;
        let serial = self.next_serial;
        let unread = Arc::new(AtomicUsize::new(0));
        let peer = Peer {
            serial,
            direct,
            unread: Arc::clone(&unread),
        };
        let id = ClientId(self.peers.insert(peer));
        (id, serial, Inbound::new(id, receiver, unread))
    }

    /// True if `id` still belongs to the task holding `serial`.
    pub fn is_current(&self, id: ClientId, serial: u64) -> bool {
        self.peers
            .get(id.0)
            .is_some_and(|peer| peer.serial == serial)
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Queues an item for one client; a full channel means a starved task: too slow.
    /// Queues an item for one client. More than `--max-outbuf` bytes waiting in its channel,
    /// or a full channel (a task starved of CPU), makes the client too slow.
    fn deliver(&mut self, to: ClientId, item: Item) {
        let Some(peer) = self.peers.get(to.0) else {
            return;
        };
        if let Item::Line { line, .. } = &item {
            if peer.unread.fetch_add(line.len(), Ordering::Relaxed) + line.len() > self.max_outbuf {
                self.too_slow.push(to);
                return;
            }
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = peer.direct.try_send(item) {
            self.too_slow.push(to);
        }
    }
}

impl Sink for Routes {
    fn send(&mut self, to: ClientId, line: &Line) {
        let seq = self.seq();
        self.deliver(
            to,
            Item::Line {
                seq,
                line: line.clone(),
            },
        );
    }

    fn broadcast(
        &mut self,
        room: RoomId,
        _members: &[ClientId],
        except: Option<ClientId>,
        line: &Line,
    ) {
        let seq = self.seq();
        if let Some(channel) = self.rooms.get(&room) {
            // An error only means nobody is subscribed: nobody to tell.
            let _ = channel.send(RoomLine {
                seq,
                line: line.clone(),
                except,
            });
            self.congested |= channel.len() > ROOM_CHANNEL_CONGESTED;
        }
    }

    fn entered_room(&mut self, client: ClientId, room: RoomId) {
        let seq = self.seq();
        let channel = self
            .rooms
            .entry(room)
            .or_insert_with(|| broadcast::channel(ROOM_CHANNEL_CAPACITY).0);
        let room = channel.subscribe();
        self.deliver(client, Item::Enter { seq, room });
    }

    fn room_closed(&mut self, room: RoomId) {
        self.rooms.remove(&room);
    }

    fn close(&mut self, client: ClientId) {
        let seq = self.seq();
        self.deliver(client, Item::Close { seq });
        // Dropping the sender also tells the task, should the Close item not have fitted.
        self.peers.try_remove(client.0);
    }
}
