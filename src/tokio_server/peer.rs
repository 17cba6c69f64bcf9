//! One task per connection: read lines into the chat core, write the client's lines out.
//!
//! The task waits, in this order of preference, for: the socket becoming writable while
//! output is queued; the next item from its channels (then everything else ready at once);
//! the socket becoming readable; the end of a congestion pause; the end of its linger once
//! closed. Output is gathered first and written in one vectored write, so a burst of lines
//! costs one syscall.
//! Reading uses `readable()` plus `try_read` into a stack buffer: an idle connection holds
//! no read buffer at all.

use std::cell::RefCell;
use std::io::{self, IoSlice, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::inbound::{Inbound, Next};
use super::routes::{Acted, State};
use crate::lifecycle::CLOSE_LINGER;
use crate::outbox::{Flushed, Gather, Outbox};
use crate::protocol::{ClientId, Departure};

/// Bytes read per `try_read`; the buffer lives on the stack only while reading.
const READ_CHUNK: usize = 8 * 1024;
/// Bytes read per wake-up before the task lets its other branches (and other tasks) run.
const READ_BUDGET: usize = 64 * 1024;
/// Bytes written per wake-up, for the same reason.
const WRITE_BUDGET: usize = 256 * 1024;
/// Items gathered from the channels before the task writes.
const GATHER_LIMIT: usize = 256;
/// How long a client whose lines congested its room waits before reading more.
const CONGESTION_PAUSE: Duration = Duration::from_millis(1);

thread_local! {
    /// Each runtime thread's gather buffer (see [`Gather`]): shared by the tasks it runs,
    /// since a flush never awaits.
    static GATHER: RefCell<Gather> = RefCell::new(Gather::default());
}

/// What the server shares between all connection tasks.
pub struct Shared {
    /// The chat core and its routes, behind a mutex that is never held across an await.
    pub state: Mutex<State>,
    /// `--max-outbuf`: a client with more unsent bytes than this is too slow.
    pub max_outbuf: usize,
    /// Set at shutdown: closing tasks then do not wait for their clients to close.
    pub shutting_down: AtomicBool,
    /// A task that finds most clients gone tells the accept loop, which gives memory back.
    pub reclaim: Notify,
}

impl Shared {
    /// Locks the state. A panic while holding the lock cannot leave it half-updated in a way
    /// that matters more than stopping the whole server would, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why a connection task ended.
enum End {
    /// The core closed the client and its last lines are written (or gave up on).
    Closed,
    /// The client must be disconnected now.
    Disconnect(Departure),
}

/// Serves client `id` (owned while `serial` is current) on `stream` until it is closed.
pub async fn serve(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    id: ClientId,
    serial: u64,
    mut inbound: Inbound,
) {
    let mut outbox = Outbox::default();
    let mut reading = true;
    let mut paused_until: Option<Instant> = None;
    let mut closing_since: Option<Instant> = None;
    let end = loop {
        let linger_until = closing_since.map(|since| since + CLOSE_LINGER);
        tokio::select! {
            biased;
            ready = stream.writable(), if outbox.queued_bytes() > 0 => {
                let flushed = ready.and_then(|()| {
                    GATHER.with_borrow_mut(|gather| outbox.flush_to(&mut TryWriter(&stream), WRITE_BUDGET, gather))
                });
                match flushed {
                    Ok(Flushed::Drained) if closing_since.is_some() => break End::Closed,
                    Ok(Flushed::Drained) => drop(outbox.release_storage()),
                    Ok(_) => {}
                    Err(e) => {
                        log::debug!("client {}: write failed: {e}", id.0);
                        break End::Disconnect(Departure::ConnectionLost);
                    }
                }
            }
            next = inbound.next(), if closing_since.is_none() => {
                match gather(next, &mut inbound, &mut outbox, shared.max_outbuf) {
                    Gathered::Open => {}
                    Gathered::Closed if outbox.queued_bytes() == 0 => break End::Closed,
                    Gathered::Closed => {
                        reading = false;
                        closing_since = Some(Instant::now());
                    }
                    Gathered::TooSlow => break End::Disconnect(Departure::TooSlow),
                }
            }
            ready = stream.readable(), if reading && paused_until.is_none() => {
                match ready.and_then(|()| read_available(&shared, &stream, id, serial)) {
                    Ok(Reading::Go) => {}
                    Ok(Reading::Pause) => paused_until = Some(Instant::now() + CONGESTION_PAUSE),
                    Ok(Reading::Stop) => reading = false,
                    Err(e) => {
                        log::debug!("client {}: read failed: {e}", id.0);
                        break End::Disconnect(Departure::ConnectionLost);
                    }
                }
            }
            () = sleep_until(paused_until) => paused_until = None,
            () = sleep_until(linger_until) => break End::Closed,
        }
    };
    let give_memory_back = {
        let mut state = shared.lock();
        if let End::Disconnect(why) = &end {
            state.leave(id, serial, why.clone());
        }
        state.shrink_if_emptied()
    };
    if let End::Closed = end {
        let linger = if shared.shutting_down.load(Ordering::Relaxed) {
            Duration::ZERO
        } else {
            CLOSE_LINGER
        };
        finish_closing(&mut stream, linger).await;
    }
    if give_memory_back {
        shared.reclaim.notify_one();
    }
}

/// Ends a connection whose last lines are written: shuts the write side (the client gets
/// its FIN), then reads and throws away what the client still sends until it closes or
/// `linger` runs out. Closing with unread input would make the kernel reset the connection,
/// and a reset can destroy lines the client has not read yet.
async fn finish_closing(stream: &mut TcpStream, linger: Duration) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        loop {
            if stream.readable().await.is_err() {
                return;
            }
            // Declared after the await, so that it is never part of the task's state: every
            // idle connection's future would otherwise carry it.
            let mut buf = [0u8; 4096];
            match stream.try_read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(linger, drain).await;
}

/// What gathering from the channels ended with.
enum Gathered {
    Open,
    Closed,
    TooSlow,
}

/// Queues `first` and whatever else is ready right now, up to a limit, so that one write
/// carries them all.
fn gather(first: Next, inbound: &mut Inbound, outbox: &mut Outbox, max_outbuf: usize) -> Gathered {
    let mut next = Some(first);
    let mut gathered = 0;
    while let Some(item) = next.take() {
        match item {
            Next::Line(line) => outbox.push(line),
            Next::Lagged => {
                log::info!("a client fell more than a room channel behind: dropped as too slow");
                return Gathered::TooSlow;
            }
            Next::Closed => return Gathered::Closed,
        }
        if outbox.queued_bytes() > max_outbuf {
            log::info!("a client has over --max-outbuf unsent bytes: dropped as too slow");
            return Gathered::TooSlow;
        }
        gathered += 1;
        if gathered < GATHER_LIMIT {
            next = inbound.try_next();
        }
    }
    Gathered::Open
}

/// Whether to go on reading from a client.
enum Reading {
    /// Yes.
    Go,
    /// After a short pause: its room is congested.
    Pause,
    /// No: its input ended, or the core is done with it.
    Stop,
}

/// Reads what the socket has (up to a budget) and hands it to the chat core.
fn read_available(
    shared: &Shared,
    stream: &TcpStream,
    id: ClientId,
    serial: u64,
) -> io::Result<Reading> {
    let mut buf = [0u8; READ_CHUNK];
    let mut budget = READ_BUDGET;
    while budget > 0 {
        match stream.try_read(&mut buf) {
            Ok(0) => {
                shared.lock().act_for(id, serial, |hub, routes| {
                    hub.end_of_input(id, std::time::Instant::now(), routes)
                });
                return Ok(Reading::Stop);
            }
            Ok(n) => {
                match shared.lock().act_for(id, serial, |hub, routes| {
                    hub.receive(id, &buf[..n], std::time::Instant::now(), routes)
                }) {
                    Acted::Done => {}
                    Acted::Congested => return Ok(Reading::Pause),
                    Acted::NotCurrent => return Ok(Reading::Stop),
                }
                budget = budget.saturating_sub(n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Reading::Go)
}

/// Sleeps until `deadline`, or forever if there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// `std::io::Write` over Tokio's non-blocking `try_write` calls, so that the [`Outbox`]
/// shared with the mio server can flush into a Tokio socket.
struct TryWriter<'a>(&'a TcpStream);

impl Write for TryWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
