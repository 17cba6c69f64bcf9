//! What the chat core tells a driver to do, and the names it uses for clients and rooms.
//!
//! The core never touches a socket. Each call into it takes a [`Sink`], the driver's
//! outgoing side, and the core writes its decisions into it: "queue this line for this
//! client", "for this room", "close this client once its output is flushed". The mio driver
//! turns them into outbox pushes; the Tokio driver into channel sends.

use super::wire::Line;

/// A connection, as the driver numbers it. The driver picks the number (its slab key) when
/// it reports the connection; the core keeps its state under the same number, so a line for a
/// client is routed without any lookup. Once the core has let a client go (closed it, or
/// been told of its end) the driver may give the number to a new connection; a driver whose
/// old connection may still be winding down must tell the two apart itself (the mio loop
/// keeps the slab slot until the socket is closed; the Tokio tasks carry a serial).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub usize);

/// A room, as the core numbers it: valid while the room exists, reused after it is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub usize);

/// The driver side of the core: where its decisions go.
pub trait Sink {
    /// Queue `line` for one client.
    fn send(&mut self, to: ClientId, line: &Line);

    /// Queue `line` for every member of room `room`, whose members are `members`, except
    /// `except` (the author, who is never echoed). By default, a [`Sink::send`] to each; a
    /// driver with a channel per room (Tokio) hands the line to it instead.
    fn broadcast(
        &mut self,
        room: RoomId,
        members: &[ClientId],
        except: Option<ClientId>,
        line: &Line,
    ) {
        let _ = room;
        for &member in members {
            if Some(member) != except {
                self.send(member, line);
            }
        }
    }

    /// `client` is now a member of `room`: lines broadcast to it from now on concern the
    /// client. Drivers that route by membership themselves ignore this.
    fn entered_room(&mut self, client: ClientId, room: RoomId) {
        let _ = (client, room);
    }

    /// `room` lost its last member and is gone; its number may be reused.
    fn room_closed(&mut self, room: RoomId) {
        let _ = room;
    }

    /// Close `client` once the lines already queued for it are written. The core has
    /// forgotten the client; nothing more will be queued for it.
    fn close(&mut self, client: ClientId);
}
