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

    /// Whether it serves the web (`--http-addr`, `--https-addr`): only the product does.
    pub fn serves_web(self) -> bool {
        match self {
            Backend::Mio => true,
            #[cfg(feature = "tokio-impl")]
            Backend::Tokio => false,
        }
    }

    /// A short lowercase name, for logs and benchmark labels.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Mio => "mio",
            #[cfg(feature = "tokio-impl")]
            Backend::Tokio => "tokio",
        }
    }
}

/// Where a server listens: the addresses it actually bound (their ports, when the
/// configuration asked for port 0).
#[derive(Clone, Copy, Debug)]
pub struct Addresses {
    /// The line protocol in plain text.
    pub line: SocketAddr,
    /// The line protocol over TLS, if configured.
    pub tls: Option<SocketAddr>,
    /// The web (page, WebSocket, metrics, health), if served.
    pub http: Option<SocketAddr>,
    /// The web over TLS, if served.
    pub https: Option<SocketAddr>,
}

/// A running server: where it listens, and how to stop it.
#[derive(Debug)]
pub struct ServerHandle {
    addrs: Addresses,
    shutdown: Shutdown,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs.line
    }

    /// The address the TLS listener listens on, if there is one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.addrs.tls
    }

    /// The address the web is served on, if it is.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.addrs.http
    }

    /// The address the web is served on over TLS, if it is.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.addrs.https
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
                log::error!("server on {} ended with an error: {e}", self.addrs.line);
            }
        }
    }
}

/// Binds `config.addr` (and, for the mio server, the TLS and web listeners configured) and
/// runs a `backend` server on a new thread. The Tokio reference serves plain TCP only, and
/// refuses the other listeners.
pub fn start(backend: Backend, config: Config) -> io::Result<ServerHandle> {
    match backend {
        Backend::Mio => {
            let server = MioServer::bind(&config)?;
            let addrs = server.addresses()?;
            run_on_thread(backend, addrs, server.shutdown_handle(), move || {
                server.run()
            })
        }
        #[cfg(feature = "tokio-impl")]
        Backend::Tokio => {
            let refused = [
                (config.tls.is_some(), "--tls-addr"),
                (config.http.is_some(), "--http-addr"),
                (config.https.is_some(), "--https-addr"),
            ];
            if let Some((_, flag)) = refused.iter().find(|(given, _)| *given) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "the Tokio reference server serves plain TCP only; \
                         {flag} needs --backend mio"
                    ),
                ));
            }
            let server = TokioServer::bind(&config)?;
            let addrs = Addresses {
                line: server.local_addr()?,
                tls: None,
                http: None,
                https: None,
            };
            run_on_thread(backend, addrs, server.shutdown_handle(), move || {
                server.run()
            })
        }
    }
}

/// Runs a bound server's `run` on a thread named after its backend; `addrs` are where it
/// listens.
fn run_on_thread(
    backend: Backend,
    addrs: Addresses,
    shutdown: Shutdown,
    run: impl FnOnce() -> io::Result<()> + Send + 'static,
) -> io::Result<ServerHandle> {
    let thread = std::thread::Builder::new()
        .name(format!("{}-server", backend.name()))
        .spawn(run)?;
    Ok(ServerHandle {
        addrs,
        shutdown,
        thread: Some(thread),
    })
}
