//! A handle that asks a running server to stop, from any thread.
//!
//! The signal thread of the binary and the test helper both hold one. Each server supplies
//! its own way to wake itself (a `mio::Waker`, a Tokio `Notify`); the flag tells it why it
//! woke.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Cheap to clone; every clone triggers the same server.
#[derive(Clone)]
pub struct Shutdown {
    requested: Arc<AtomicBool>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Shutdown {
    /// A trigger that sets its flag and then calls `wake` to get the server's attention.
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Self {
        Shutdown {
            requested: Arc::new(AtomicBool::new(false)),
            wake: Arc::new(wake),
        }
    }

    /// Asks the server to say goodbye to everyone, flush, and return. Idempotent.
    pub fn trigger(&self) {
        self.requested.store(true, Ordering::SeqCst);
        (self.wake)();
    }

    /// True once [`Shutdown::trigger`] has been called.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("requested", &self.is_requested())
            .finish()
    }
}
