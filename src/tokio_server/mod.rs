//! The Tokio reference server: the same chat core and services, driven the way a good Rust
//! developer would write this server with Tokio.
//!
//! One task per connection on the multi-threaded runtime; the chat core behind a
//! `std::sync::Mutex` (never held across an await); one byte-bounded queue per client, fed by
//! the same [`crate::protocol::Sink`] calls the mio loop turns into outbox pushes; each task a
//! `select!` over its socket and its queue. It serves the plain-text listener only: TLS and
//! the web are the product's. Compared with Tokio's own chat example
//! (tokio/examples/chat.rs), lines and queues are bounded, lines are encoded once and
//! shared, and a client's lines go out many per vectored write.

mod peer;
mod peers;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::lifecycle::{AcceptStarvation, ACCEPT_BACKOFF, SHUTDOWN_FLUSH_LIMIT};
use crate::listen::listen;
use crate::protocol::{Hub, Peer, WallClock};
use crate::services::{Delivery, Inbox, Mailbox, Services};
use crate::shutdown::Shutdown;
use peers::{Peers, Shared, State};

/// A bound, not yet running, Tokio chat server.
pub struct TokioServer {
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    inbox: Inbox,
    /// Woken by services with answers.
    answers: Arc<Notify>,
    shutdown: Shutdown,
    /// Woken by the shutdown trigger.
    stop: Arc<Notify>,
    max_outbuf: usize,
}

impl TokioServer {
    /// Binds the plain-text listener and starts the services. Nothing is served until
    /// [`TokioServer::run`].
    pub fn bind(config: &Config) -> io::Result<Self> {
        let listener = listen(config.addr, "--addr")?;
        let answers = Arc::new(Notify::new());
        let wake = Arc::clone(&answers);
        let (mailbox, inbox) = Mailbox::new(move || wake.notify_one());
        let (services, preload) = Services::start(config, mailbox)?;
        let mut hub = Hub::new(config, WallClock::start());
        hub.preload(preload);
        let stop = Arc::new(Notify::new());
        let notify = Arc::clone(&stop);
        // notify_one keeps a permit, so a trigger that comes before the wait is not lost.
        let shutdown = Shutdown::new(move || notify.notify_one());
        let state = State {
            hub,
            peers: Peers::new(config.max_outbuf),
            services,
        };
        Ok(TokioServer {
            listener,
            shared: Arc::new(Shared::new(state)),
            inbox,
            answers,
            shutdown,
            stop,
            max_outbuf: config.max_outbuf,
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
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("tokio-chat")
            .build()?
            .block_on(self.serve())
    }

    async fn serve(self) -> io::Result<()> {
        let listener = TcpListener::from_std(self.listener)?;
        let answers = tokio::spawn(take_deliveries(
            Arc::clone(&self.shared),
            self.inbox,
            self.answers,
        ));
        let mut tasks = JoinSet::new();
        let mut starvation = AcceptStarvation::default();
        while !self.shutdown.is_requested() {
            tokio::select! {
                () = self.stop.notified() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        starvation.succeeded();
                        if let Err(e) = stream.set_nodelay(true) {
                            log::debug!("{peer}: cannot set TCP_NODELAY: {e}");
                        }
                        let (id, queue) = self.shared.with_hub(|hub, peers| {
                            let (id, queue) = peers.add();
                            let client = Peer { addr: peer.ip(), telnet: true };
                            hub.connect(id, client, Instant::now(), peers);
                            (id, queue)
                        });
                        log::debug!("client {} connected from {peer}", id.0);
                        let shared = Arc::clone(&self.shared);
                        tasks.spawn(peer::serve(shared, stream, id, queue, self.max_outbuf));
                    }
                    Err(e) if starvation.failed(&e) => tokio::time::sleep(ACCEPT_BACKOFF).await,
                    Err(e) => log::debug!("accept failed: {e}"),
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(listener);
        self.shared.with_hub(|hub, peers| {
            log::info!(
                "shutting down; saying goodbye to {} clients",
                hub.client_count()
            );
            hub.shutdown(peers);
        });
        self.shared.stop();
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
        tasks.shutdown().await;
        answers.abort();
        let _ = answers.await;
        // Every task is gone, and with it every other reference to the shared state.
        match Arc::into_inner(self.shared) {
            Some(shared) => shared.into_state().services.stop(),
            None => log::error!("the shared state outlived every task; the store was not closed"),
        }
        Ok(())
    }
}

/// Gives the chat core every answer and piece of news the services post, as they come.
async fn take_deliveries(shared: Arc<Shared>, inbox: Inbox, answers: Arc<Notify>) {
    loop {
        answers.notified().await;
        while let Some(delivery) = inbox.next() {
            shared.with_hub(|hub, peers| match delivery {
                Delivery::Completion(completion) => {
                    hub.handle_completion(Instant::now(), completion, peers);
                }
                Delivery::Remote(remote) => hub.handle_remote(remote, peers),
            });
        }
    }
}
