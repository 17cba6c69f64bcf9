//! The Tokio reference server: the same chat core, driven the way most Rust developers would
//! write this server with Tokio.
//!
//! One task per connection on a multi-threaded runtime; the chat core and its routing table
//! behind a `std::sync::Mutex` (nothing awaits while holding it); rooms fan out through
//! `tokio::sync::broadcast` channels and lines for one client go through its own bounded
//! `mpsc` channel. It exists so that the mio loop is compared against something good, so it
//! avoids the classic weaknesses of Tokio's own chat example (tokio/examples/chat.rs):
//!
//! - lines are bounded (`--max-line`) and never buffered past the bound, where the example's
//!   `LinesCodec::new()` buffers a line of any length;
//! - per-client output is bounded (`--max-outbuf` bytes, and the room channel's capacity),
//!   where the example's unbounded per-peer channels let one slow reader grow memory forever;
//! - a line is encoded once into an `Arc<[u8]>` and shared by every recipient, where the
//!   example formats a `String` per message and clones it into every peer's channel;
//! - each task gathers everything ready and writes it with one vectored write, and reads with
//!   `readable()` + `try_read` into a stack buffer, so idle connections hold no buffers;
//! - sockets get `TCP_NODELAY`.

mod inbound;
mod peer;
mod routes;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::lifecycle::{AcceptStarvation, ACCEPT_BACKOFF, SHUTDOWN_FLUSH_LIMIT};
use crate::protocol::Hub;
use crate::shutdown::Shutdown;
use crate::sys;
use peer::Shared;
use routes::{Routes, State};

/// A bound, not yet running, Tokio chat server.
pub struct TokioServer {
    listener: std::net::TcpListener,
    config: Config,
    shutdown: Shutdown,
    wake: Arc<Notify>,
}

impl TokioServer {
    /// Binds `config.addr`. Nothing is served until [`TokioServer::run`].
    pub fn bind(config: &Config) -> io::Result<Self> {
        let listener = listen(config.addr)?;
        let wake = Arc::new(Notify::new());
        let notify = Arc::clone(&wake);
        // notify_one keeps a permit, so a trigger that comes before the wait is not lost.
        let shutdown = Shutdown::new(move || notify.notify_one());
        Ok(TokioServer {
            listener,
            config: config.clone(),
            shutdown,
            wake,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The handle that stops [`TokioServer::run`].
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Builds a multi-threaded runtime and serves until shutdown is requested.
    pub fn run(self) -> io::Result<()> {
        let TokioServer {
            mut listener,
            config,
            shutdown,
            wake,
        } = self;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                hub: Hub::new(&config),
                routes: Routes::new(config.max_outbuf),
                reclaim: sys::Reclaim::default(),
            }),
            max_outbuf: config.max_outbuf,
            shutting_down: AtomicBool::new(false),
            reclaim: Notify::new(),
        });
        loop {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("tokio-chat")
                .build()?;
            let served = runtime.block_on(serve(listener, &shared, &config, &shutdown, &wake))?;
            // Dropping the runtime joins its worker threads, which releases their allocator
            // caches; see `Served::Idle`.
            drop(runtime);
            match served {
                Served::Shutdown => return Ok(()),
                Served::Idle(idle) => {
                    sys::release_free_memory();
                    log::debug!("idle after a crowd: restarted the runtime to give memory back");
                    listener = idle;
                }
            }
        }
    }
}

/// Serves on the current runtime until shutdown, or until the server is idle after a crowd.
async fn serve(
    listener: std::net::TcpListener,
    shared: &Arc<Shared>,
    config: &Config,
    shutdown: &Shutdown,
    wake: &Notify,
) -> io::Result<Served> {
    let listener = TcpListener::from_std(listener)?;
    let mut tasks = JoinSet::new();
    let mut starvation = AcceptStarvation::default();
    let logins = tokio::spawn(expire_logins(Arc::clone(shared), config.login_timeout));
    // A task reported that most clients are gone: give memory back once none is left.
    let mut reclaim_when_idle = false;
    loop {
        tokio::select! {
            () = wake.notified() => {
                if shutdown.is_requested() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    starvation.succeeded();
                    if let Err(e) = stream.set_nodelay(true) {
                        log::debug!("{peer}: cannot set TCP_NODELAY: {e}");
                    }
                    let (id, serial, inbound) = {
                        let mut state = shared.lock();
                        let State { hub, routes, .. } = &mut *state;
                        let (id, serial, inbound) = routes.add_peer();
                        hub.connect(id, std::time::Instant::now(), routes);
                        state.drop_too_slow();
                        (id, serial, inbound)
                    };
                    log::debug!("client {} connected from {peer}", id.0);
                    tasks.spawn(peer::serve(Arc::clone(shared), stream, id, serial, inbound));
                }
                Err(e) if starvation.failed(&e) => tokio::time::sleep(ACCEPT_BACKOFF).await,
                Err(e) => log::debug!("accept failed: {e}"),
            },
            () = shared.reclaim.notified() => {
                sys::release_free_memory();
                reclaim_when_idle = true;
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
        if reclaim_when_idle && tasks.is_empty() && shared.lock().hub.client_count() == 0 {
            logins.abort();
            return Ok(Served::Idle(listener.into_std()?));
        }
    }
    drop(listener);
    logins.abort();
    shared.shutting_down.store(true, Ordering::Relaxed);
    {
        let mut state = shared.lock();
        log::info!(
            "shutting down; saying goodbye to {} clients",
            state.hub.client_count()
        );
        let State { hub, routes, .. } = &mut *state;
        hub.shutdown(routes);
    }
    let flushed = tokio::time::timeout(SHUTDOWN_FLUSH_LIMIT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if flushed.is_err() {
        log::info!(
            "shut down; {} connections could not be flushed in time",
            tasks.len()
        );
    }
    Ok(Served::Shutdown)
}

/// Why [`serve`] returned.
enum Served {
    /// Shutdown was requested and done.
    Shutdown,
    /// No connection is left after a crowd. The server drops the runtime, whose worker
    /// threads thereby exit: glibc keeps a cache of freed blocks per thread, released only at
    /// thread exit, and those blocks pin pages that `malloc_trim` cannot return (a
    /// 1,000-client soak ended up to 11% above its baseline without this). It then serves the
    /// same listener from a fresh runtime; connections arriving meanwhile wait in the backlog.
    Idle(std::net::TcpListener),
}

/// Closes connections that go without a nickname for `timeout`, by calling the chat core's
/// `tick` whenever its next deadline comes. Sleeping at most `timeout` at a time is exact:
/// a deadline added meanwhile is at least that far away.
async fn expire_logins(shared: Arc<Shared>, timeout: Duration) {
    loop {
        let next = shared.lock().hub.next_deadline();
        let wait = next.map_or(timeout, |deadline| {
            deadline.saturating_duration_since(std::time::Instant::now())
        });
        tokio::time::sleep(wait).await;
        let mut state = shared.lock();
        let State { hub, routes, .. } = &mut *state;
        hub.tick(std::time::Instant::now(), routes);
        state.drop_too_slow();
    }
}

/// Connections the kernel may hold waiting to be accepted; the same as mio's listener, so
/// that a crowd arriving at once is not turned away (the standard library uses 128).
const LISTEN_BACKLOG: i32 = 1024;

/// A non-blocking listener on `addr` with the same backlog as the mio server's.
fn listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}
