//! A client task's incoming side: its own channel and its room's, merged back into the
//! order in which the chat core produced them.
//!
//! Both channels are filled under the shared lock with a sequence number from one counter.
//! The task holds at most one item from each and hands out the lower number. An item is only
//! handed out alone after the other channel was found empty *after* it was taken: anything
//! older in the other channel was sent before it and would have been seen. So a line said in
//! a room before a private message arrives before it, and lines of the room a client is
//! leaving are delivered up to the moment it left, none after.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc};

use super::routes::{Item, RoomLine};
use crate::protocol::{ClientId, Line};

/// What the task should do next.
#[derive(Debug)]
pub enum Next {
    /// Write this line.
    Line(Line),
    /// The room channel overran this client: it is too slow.
    Lagged,
    /// The core closed this client: write what is queued, then close.
    Closed,
}

/// The merged incoming side of one client.
#[derive(Debug)]
pub struct Inbound {
    me: ClientId,
    direct: mpsc::Receiver<Item>,
    room: Option<broadcast::Receiver<RoomLine>>,
    held_direct: Option<Item>,
    held_room: Option<RoomLine>,
    /// The direct channel's sender is gone.
    direct_ended: bool,
    /// Bytes of lines waiting in the direct channel, shared with the routes, which add what
    /// they send; taking a line out subtracts it.
    unread: Arc<AtomicUsize>,
}

impl Inbound {
    /// The incoming side of client `me`, which starts in no room; `unread` is the byte count
    /// the routes keep for its direct channel.
    pub fn new(me: ClientId, direct: mpsc::Receiver<Item>, unread: Arc<AtomicUsize>) -> Self {
        Inbound {
            me,
            direct,
            room: None,
            held_direct: None,
            held_room: None,
            direct_ended: false,
            unread,
        }
    }

    /// Waits for the next thing to do. Cancel-safe: what has been received is kept in
    /// `self` until handed out.
    pub async fn next(&mut self) -> Next {
        loop {
            if let Some(next) = self.try_next() {
                return next;
            }
            tokio::select! {
                item = self.direct.recv(), if !self.direct_ended => match item {
                    Some(item) => self.held_direct = Some(item),
                    None => self.direct_ended = true,
                },
                line = recv_room(&mut self.room) => match line {
                    Ok(line) => self.held_room = Some(line),
                    Err(RecvError::Lagged(_)) => return Next::Lagged,
                    Err(RecvError::Closed) => self.room = None,
                },
            }
        }
    }

    /// The next thing to do if it is available without waiting.
    pub fn try_next(&mut self) -> Option<Next> {
        loop {
            self.fill_direct();
            if self.fill_room().is_err() {
                return Some(Next::Lagged);
            }
            // Whichever is held alone, look at the other channel again, now that it was taken.
            if self.held_room.is_some() && self.held_direct.is_none() {
                self.fill_direct();
            } else if self.held_direct.is_some()
                && self.held_room.is_none()
                && self.fill_room().is_err()
            {
                return Some(Next::Lagged);
            }
            if self.direct_ended && self.held_direct.is_none() {
                // Dropped by the routes without a Close item (too slow): nothing more is for
                // this client, not even room lines already queued.
                return Some(self.closed());
            }
            let direct_first = match (
                self.held_direct.as_ref().map(item_seq),
                self.held_room.as_ref().map(|l| l.seq),
            ) {
                (Some(direct), Some(room)) => direct < room,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => return None,
            };
            if direct_first {
                match self.held_direct.take()? {
                    Item::Line { line, .. } => {
                        self.unread.fetch_sub(line.len(), Ordering::Relaxed);
                        return Some(Next::Line(line));
                    }
                    Item::Enter { room, .. } => {
                        // Anything held from the old room is newer than the move: drop it.
                        self.room = Some(room);
                        self.held_room = None;
                    }
                    Item::Close { .. } => return Some(self.closed()),
                }
            } else {
                let line = self.held_room.take()?;
                if line.except != Some(self.me) {
                    return Some(Next::Line(line.line));
                }
            }
        }
    }

    /// The client is closed: lets go of its room channel at once, so that a closing client
    /// does not hold the room's oldest lines (and its senders' congestion check) hostage.
    fn closed(&mut self) -> Next {
        self.room = None;
        self.held_room = None;
        Next::Closed
    }

    fn fill_direct(&mut self) {
        if self.held_direct.is_none() && !self.direct_ended {
            match self.direct.try_recv() {
                Ok(item) => self.held_direct = Some(item),
                Err(mpsc::error::TryRecvError::Empty) => {}
                Err(mpsc::error::TryRecvError::Disconnected) => self.direct_ended = true,
            }
        }
    }

    /// Takes one room line if none is held; `Err` if this client lagged too far behind.
    fn fill_room(&mut self) -> Result<(), ()> {
        if self.held_room.is_some() {
            return Ok(());
        }
        let Some(room) = &mut self.room else {
            return Ok(());
        };
        match room.try_recv() {
            Ok(line) => self.held_room = Some(line),
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Lagged(_)) => return Err(()),
            Err(TryRecvError::Closed) => self.room = None,
        }
        Ok(())
    }
}

fn item_seq(item: &Item) -> u64 {
    match item {
        Item::Line { seq, .. } | Item::Enter { seq, .. } | Item::Close { seq } => *seq,
    }
}

/// The next room line, or never if the client is in no room.
async fn recv_room(
    room: &mut Option<broadcast::Receiver<RoomLine>>,
) -> Result<RoomLine, RecvError> {
    match room {
        Some(room) => room.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::Encoder;

    fn line(text: &str) -> Line {
        Encoder::default().encode(format_args!("{text}"))
    }

    fn text(next: Option<Next>) -> String {
        match next {
            Some(Next::Line(line)) => String::from_utf8_lossy(line.as_bytes())
                .trim_end()
                .to_owned(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn the_two_channels_come_out_in_sequence_order_without_the_authors_own_lines() {
        let (direct_tx, direct_rx) = mpsc::channel(16);
        let (room_tx, room_rx) = broadcast::channel(16);
        let mut inbound = Inbound::new(ClientId(1), direct_rx, Arc::default());
        direct_tx
            .try_send(Item::Line {
                seq: 1,
                line: line("welcome"),
            })
            .unwrap();
        direct_tx
            .try_send(Item::Enter {
                seq: 2,
                room: room_rx,
            })
            .unwrap();
        room_tx
            .send(RoomLine {
                seq: 3,
                line: line("bob: hi"),
                except: Some(ClientId(2)),
            })
            .unwrap();
        room_tx
            .send(RoomLine {
                seq: 4,
                line: line("my own"),
                except: Some(ClientId(1)),
            })
            .unwrap();
        direct_tx
            .try_send(Item::Line {
                seq: 5,
                line: line("private"),
            })
            .unwrap();
        room_tx
            .send(RoomLine {
                seq: 6,
                line: line("bob: later"),
                except: None,
            })
            .unwrap();
        let got: Vec<String> = (0..4).map(|_| text(inbound.try_next())).collect();
        assert_eq!(got, ["welcome", "bob: hi", "private", "bob: later"]);
        assert!(inbound.try_next().is_none());
    }

    #[test]
    fn moving_rooms_delivers_the_old_room_up_to_the_move_and_nothing_after() {
        let (direct_tx, direct_rx) = mpsc::channel(16);
        let (old_tx, old_rx) = broadcast::channel(16);
        let (new_tx, new_rx) = broadcast::channel(16);
        let mut inbound = Inbound::new(ClientId(1), direct_rx, Arc::default());
        direct_tx
            .try_send(Item::Enter {
                seq: 1,
                room: old_rx,
            })
            .unwrap();
        old_tx
            .send(RoomLine {
                seq: 2,
                line: line("old: before"),
                except: None,
            })
            .unwrap();
        direct_tx
            .try_send(Item::Enter {
                seq: 3,
                room: new_rx,
            })
            .unwrap();
        old_tx
            .send(RoomLine {
                seq: 4,
                line: line("old: after"),
                except: None,
            })
            .unwrap();
        new_tx
            .send(RoomLine {
                seq: 5,
                line: line("new: hello"),
                except: None,
            })
            .unwrap();
        assert_eq!(text(inbound.try_next()), "old: before");
        assert_eq!(text(inbound.try_next()), "new: hello");
        assert!(inbound.try_next().is_none());
    }

    #[test]
    fn close_comes_after_everything_sent_before_it() {
        let (direct_tx, direct_rx) = mpsc::channel(16);
        let (room_tx, room_rx) = broadcast::channel(16);
        let mut inbound = Inbound::new(ClientId(1), direct_rx, Arc::default());
        direct_tx
            .try_send(Item::Enter {
                seq: 1,
                room: room_rx,
            })
            .unwrap();
        room_tx
            .send(RoomLine {
                seq: 2,
                line: line("x: last"),
                except: None,
            })
            .unwrap();
        direct_tx.try_send(Item::Close { seq: 3 }).unwrap();
        room_tx
            .send(RoomLine {
                seq: 4,
                line: line("x: too late"),
                except: None,
            })
            .unwrap();
        assert_eq!(text(inbound.try_next()), "x: last");
        assert!(matches!(inbound.try_next(), Some(Next::Closed)));
    }

    #[test]
    fn a_dropped_sender_closes_and_falling_behind_is_lagging() {
        let (direct_tx, direct_rx) = mpsc::channel(16);
        let (room_tx, room_rx) = broadcast::channel(2);
        let mut inbound = Inbound::new(ClientId(1), direct_rx, Arc::default());
        direct_tx
            .try_send(Item::Enter {
                seq: 1,
                room: room_rx,
            })
            .unwrap();
        for seq in 2..6 {
            room_tx
                .send(RoomLine {
                    seq,
                    line: line("flood"),
                    except: None,
                })
                .unwrap();
        }
        assert!(matches!(inbound.try_next(), Some(Next::Lagged)));
        let (direct_tx, direct_rx) = mpsc::channel::<Item>(16);
        let mut inbound = Inbound::new(ClientId(1), direct_rx, Arc::default());
        drop(direct_tx);
        assert!(matches!(inbound.try_next(), Some(Next::Closed)));
    }

    #[tokio::test]
    async fn next_waits_for_whichever_channel_delivers_first() {
        let (direct_tx, direct_rx) = mpsc::channel(16);
        let mut inbound = Inbound::new(ClientId(1), direct_rx, Arc::default());
        let sender = tokio::spawn(async move {
            tokio::task::yield_now().await;
            direct_tx
                .send(Item::Line {
                    seq: 1,
                    line: line("late"),
                })
                .await
                .unwrap();
        });
        assert_eq!(text(Some(inbound.next().await)), "late");
        sender.await.unwrap();
    }

    #[test]
    fn a_client_dropped_without_a_close_gets_no_more_room_lines() {
        let (direct_tx, direct_rx) = mpsc::channel(16);
        let (room_tx, room_rx) = broadcast::channel(16);
        let mut inbound = Inbound::new(ClientId(1), direct_rx, Arc::default());
        direct_tx
            .try_send(Item::Enter {
                seq: 1,
                room: room_rx,
            })
            .unwrap();
        direct_tx
            .try_send(Item::Line {
                seq: 2,
                line: line("mine"),
            })
            .unwrap();
        room_tx
            .send(RoomLine {
                seq: 3,
                line: line("x: after"),
                except: None,
            })
            .unwrap();
        drop(direct_tx);
        assert_eq!(text(inbound.try_next()), "mine");
        assert!(matches!(inbound.try_next(), Some(Next::Closed)));
        assert_eq!(room_tx.len(), 0, "the room channel was let go");
    }

    #[test]
    fn taking_a_line_gives_its_bytes_back_to_the_count() {
        let (direct_tx, direct_rx) = mpsc::channel(16);
        let unread = Arc::new(AtomicUsize::new(0));
        let mut inbound = Inbound::new(ClientId(1), direct_rx, Arc::clone(&unread));
        let queued = line("twelve bytes");
        unread.fetch_add(queued.len(), Ordering::Relaxed);
        direct_tx
            .try_send(Item::Line {
                seq: 1,
                line: queued,
            })
            .unwrap();
        assert_eq!(text(inbound.try_next()), "twelve bytes");
        assert_eq!(unread.load(Ordering::Relaxed), 0);
    }
}
