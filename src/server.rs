//! Starting a chat server of either kind on its own thread, and stopping it again.
//!
//! The binary, the tests and the benchmarks all go through [`start`]: it binds before it
//! returns (so the caller knows the real address, even for port 0), runs the server on a
//! thread of its own, and hands back a [`ServerHandle`] to stop and join it.

use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;

use crate::config::Config;
use crate::mio_server::MioServer;
use crate::shutdown::Shutdown;
#[cfg(feature = "tokio-impl")]
use crate::tokio_server::TokioServer;

/// Which server implementation to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The single-threaded mio event loop: the product.
    Mio,
    /// The Tokio reference server, for comparison.
    #[cfg(feature = "tokio-impl")]
    Tokio,
}

impl Backend {
    /// Every backend this build contains, for tests and benchmarks that compare them.
    pub const ALL: &'static [Backend] = &[
        Backend::Mio,
        #[cfg(feature = "tokio-impl")]
        Backend::Tokio,
    ];

    /// A short lowercase name, for logs and benchmark labels.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Mio => "mio",
            #[cfg(feature = "tokio-impl")]
            Backend::Tokio => "tokio",
        }
    }
}

/// A running server: where it listens, and how to stop it.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    shutdown: Shutdown,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address the TLS listener listens on, if there is one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// A trigger that stops the server from any thread (a signal handler thread, say).
    pub fn shutdown_trigger(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Waits for the server to finish (after a shutdown trigger) and returns its result.
    pub fn wait(mut self) -> io::Result<()> {
        self.join()
    }

    /// Triggers shutdown and waits for the server to say goodbye to everyone.
    pub fn stop(self) -> io::Result<()> {
        self.shutdown.trigger();
        self.wait()
    }

    fn join(&mut self) -> io::Result<()> {
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the server thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    /// A handle dropped without [`ServerHandle::stop`] still stops its server, so that a
    /// failing test does not leave a server thread behind.
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shutdown.trigger();
            if let Err(e) = self.join() {
                log::error!("server on {} ended with an error: {e}", self.addr);
            }
        }
    }
}

/// Binds `config.addr` (and `config.tls`'s, for the mio server) and runs a `backend` server
/// on a new thread. The Tokio reference serves plain TCP only, and refuses a TLS listener.
pub fn start(backend: Backend, config: Config) -> io::Result<ServerHandle> {
    match backend {
        Backend::Mio => {
            let server = MioServer::bind(&config)?;
            let addrs = (server.local_addr()?, server.tls_addr()?);
            run_on_thread(backend, addrs, server.shutdown_handle(), move || {
                server.run()
            })
        }
        #[cfg(feature = "tokio-impl")]
        Backend::Tokio => {
            if config.tls.is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the Tokio reference server serves plain TCP only; \
                     --tls-addr needs --backend mio",
                ));
            }
            let server = TokioServer::bind(&config)?;
            let addrs = (server.local_addr()?, None);
            run_on_thread(backend, addrs, server.shutdown_handle(), move || {
                server.run()
            })
        }
    }
}

/// Runs a bound server's `run` on a thread named after its backend; `addrs` are where it
/// listens, in plain text and over TLS.
fn run_on_thread(
    backend: Backend,
    (addr, tls_addr): (SocketAddr, Option<SocketAddr>),
    shutdown: Shutdown,
    run: impl FnOnce() -> io::Result<()> + Send + 'static,
) -> io::Result<ServerHandle> {
    let thread = std::thread::Builder::new()
        .name(format!("{}-server", backend.name()))
        .spawn(run)?;
    Ok(ServerHandle {
        addr,
        tls_addr,
        shutdown,
        thread: Some(thread),
    })
}
