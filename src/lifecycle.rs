//! How connections and servers end, and how accepting backs off: policy both servers keep, so
//! that they behave alike.

use std::io;
use std::time::Duration;

use crate::sys;

/// How long a closing connection may take to accept its last lines, and then to close its
/// side, before it is dropped anyway: enough for any client that is reading.
pub const CLOSE_LINGER: Duration = Duration::from_secs(5);
/// How long shutdown waits for goodbyes to be written before the server exits regardless.
pub const SHUTDOWN_FLUSH_LIMIT: Duration = Duration::from_secs(2);
/// Pause before accepting again after the process ran out of descriptors or memory: long
/// enough not to spin, short enough that clients in the listen backlog barely notice.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Remembers whether accepting is failing for lack of resources, so that an episode is
/// logged once, not at every retry.
#[derive(Debug, Default)]
pub struct AcceptStarvation {
    starved: bool,
}

impl AcceptStarvation {
    /// An accept failed with `error`: true if it means out of descriptors or memory, and the
    /// server should pause accepting for [`ACCEPT_BACKOFF`].
    pub fn failed(&mut self, error: &io::Error) -> bool {
        if !sys::is_resource_exhaustion(error) {
            return false;
        }
        if !self.starved {
            log::warn!("cannot accept connections ({error}); retrying every {ACCEPT_BACKOFF:?}");
            self.starved = true;
        }
        true
    }

    /// An accept succeeded.
    pub fn succeeded(&mut self) {
        if self.starved {
            log::info!("accepting connections again");
            self.starved = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_running_out_of_resources_is_starvation() {
        let mut starvation = AcceptStarvation::default();
        assert!(!starvation.failed(&io::Error::from(io::ErrorKind::ConnectionAborted)));
        assert!(starvation.failed(&io::Error::from_raw_os_error(libc::EMFILE)));
        assert!(starvation.failed(&io::Error::from_raw_os_error(libc::ENFILE)));
        starvation.succeeded();
        assert!(!starvation.starved);
    }
}
