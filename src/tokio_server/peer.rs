//! One task per connection: a `select!` over the client's queue, the socket and its timer.
//!
//! Lines from the queue go into the client's outbox and are written at once, many per
//! vectored write. Reading uses `readable()` and `try_read` into a stack buffer, so an idle
//! connection holds no read buffer. The task stops reading while the chat core holds the
//! client's input (it is ahead of its rate, or waits for an answer) and when it is closed.

use std::cell::RefCell;
use std::io::{self, IoSlice, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::sleep_until;

use super::peers::{Item, Queue, Shared};
use crate::lifecycle::CLOSE_LINGER;
use crate::outbox::{Flushed, Framing, Gather, Outbox};
use crate::protocol::{ClientId, Departure, Flow};

/// Bytes read per `try_read`; the buffer lives on the stack only while reading.
const READ_CHUNK: usize = 8 * 1024;
/// Bytes read per wake-up before the task lets other tasks run.
const READ_BUDGET: usize = 64 * 1024;

thread_local! {
    /// Each runtime thread's gather buffer (see [`Gather`]), shared by the tasks it runs,
    /// since a flush never awaits.
    static GATHER: RefCell<Gather> = RefCell::new(Gather::default());
}

/// Why a connection task ended.
enum End {
    /// The core closed the client; its last lines are written.
    Closed,
    /// The core cut the client off (too slow); nothing more is written.
    CutOff,
    /// The client must be disconnected for this reason.
    Gone(Departure),
}

/// What reading found.
enum Reading {
    /// Everything available was taken; wait for more.
    Drained,
    /// The budget ran out with input possibly left: let others run, then go on.
    Budget,
    /// The core holds input: stop reading until it says so.
    Paused,
    /// The client closed its side.
    Ended,
}

/// Serves client `id` on `stream` until it is closed, then forgets it.
pub async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    id: ClientId,
    mut queue: Queue,
    max_outbuf: usize,
) {
    let mut outbox = Outbox::default();
    let mut reading = true;
    let mut paused = false;
    let mut timer: Option<Instant> = None;
    let mut closing = false;
    let end = loop {
        tokio::select! {
            biased;
            item = queue.items.recv() => {
                let Some(item) = item else { break End::CutOff };
                let mut next = Some(item);
                while let Some(item) = next {
                    match item {
                        Item::Line(line) => outbox.push(line),
                        Item::Close => closing = true,
                        Item::Timer(at) => timer = at,
                        Item::Resume => paused = false,
                    }
                    next = queue.items.try_recv().ok();
                }
            }
            ready = stream.writable(), if outbox.queued_bytes() > 0 => {
                if let Err(e) = ready {
                    log::debug!("client {}: {e}", id.0);
                    break End::Gone(Departure::ConnectionLost);
                }
            }
            ready = stream.readable(), if reading && !paused && !closing => {
                match ready.and_then(|()| read_available(&shared, &stream, id)) {
                    Ok(Reading::Drained) => {}
                    Ok(Reading::Budget) => tokio::task::yield_now().await,
                    Ok(Reading::Paused) => paused = true,
                    Ok(Reading::Ended) => reading = false,
                    Err(e) => {
                        log::debug!("client {}: {e}", id.0);
                        break End::Gone(Departure::ConnectionLost);
                    }
                }
            }
            () = sleep_until(timer.unwrap_or_else(Instant::now).into()), if timer.is_some() => {
                timer = None;
                shared.with_hub(|hub, peers| hub.timeout(id, Instant::now(), peers));
            }
        }
        // Write before judging: only what the socket refuses counts against --max-outbuf.
        let before = outbox.queued_bytes();
        let flushed = GATHER.with_borrow_mut(|gather| {
            outbox.flush_to(&mut TryWriter(&stream), Framing::Lines, usize::MAX, gather)
        });
        queue
            .unsent
            .fetch_sub(before - outbox.queued_bytes(), Ordering::Relaxed);
        match flushed {
            Ok(Flushed::Drained) if closing => break End::Closed,
            Ok(Flushed::Drained) => drop(outbox.release_storage()),
            Ok(_) if outbox.queued_bytes() > max_outbuf => break End::Gone(Departure::TooSlow),
            Ok(_) => {}
            Err(e) => {
                log::debug!("client {}: {e}", id.0);
                break End::Gone(Departure::ConnectionLost);
            }
        }
    };
    match end {
        End::Closed => {
            tokio::select! {
                () = drain(stream) => {}
                () = shared.stopping() => {}
            }
        }
        End::CutOff => {}
        End::Gone(why) => shared.with_hub(|hub, peers| hub.disconnect(id, why, peers)),
    }
    shared.lock().peers.remove(id);
}

/// Reads what the client has sent, within the budget, into the chat core.
fn read_available(shared: &Shared, stream: &TcpStream, id: ClientId) -> io::Result<Reading> {
    let mut buf = [0u8; READ_CHUNK];
    let mut budget = READ_BUDGET;
    loop {
        match stream.try_read(&mut buf) {
            Ok(0) => {
                shared.with_hub(|hub, peers| hub.end_of_input(id, Instant::now(), peers));
                return Ok(Reading::Ended);
            }
            Ok(n) => {
                let flow =
                    shared.with_hub(|hub, peers| hub.receive(id, &buf[..n], Instant::now(), peers));
                if flow == Flow::Paused {
                    return Ok(Reading::Paused);
                }
                budget = budget.saturating_sub(n);
                if budget == 0 {
                    return Ok(Reading::Budget);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Reading::Drained),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// After the last line: shuts the sending side, then reads and discards until the client
/// closes (closing with unread input would reset the connection and could destroy the
/// lines it has not read yet), for at most the linger time, or until the server stops.
async fn drain(mut stream: TcpStream) {
    let _ = tokio::time::timeout(CLOSE_LINGER, async {
        if stream.shutdown().await.is_err() {
            return;
        }
        let mut buf = [0u8; 1024];
        loop {
            if stream.readable().await.is_err() {
                return;
            }
            match stream.try_read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    })
    .await;
}

/// The outbox's writer: non-blocking vectored writes on the Tokio socket.
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
