//! The operating system's side of holding many clients: the open-file limit, telling the
//! errors that mean it was reached, and giving memory back after a crowd has left.

use std::io;

/// Raises the soft limit on open files to the hard limit, since every client is a descriptor
/// and the default soft limit (often 1024) is far below what one loop can serve. Returns the
/// limit now in force.
pub fn raise_open_file_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(io::Error::last_os_error());
        }
        limit = raised;
    }
    Ok(limit.rlim_cur)
}

/// True for errors after which accepting again at once would only fail again: out of file
/// descriptors (per process or system-wide) or out of kernel memory. Servers back off.
pub fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Fewest clients at a peak for which giving memory back afterwards is worth a call.
const RECLAIM_MIN_PEAK: usize = 64;
/// Fewest clients since the last reclaim for the last one leaving to be worth one: a small
/// server whose one client comes and goes should not reclaim each time.
const RECLAIM_MIN_EMPTIED: usize = 16;

/// Decides when a server should give memory back: once its clients have fallen to a quarter
/// of their peak since it last did, and when the last of a crowd leaves. Without this, a server that
/// once held a crowd keeps the crowd's high-water mark of memory for good: its containers
/// keep their capacity, and the allocator only returns freed pages at the top of the heap.
/// (The second rule matters because the few clients left at the first reclaim keep pages
/// pinned that only come free as they go.)
#[derive(Debug, Default)]
pub struct Reclaim {
    peak: usize,
}

impl Reclaim {
    /// Notes the current number of clients; true when it is time to give memory back.
    pub fn due(&mut self, clients: usize) -> bool {
        self.peak = self.peak.max(clients);
        let crowd_gone = self.peak >= RECLAIM_MIN_PEAK && clients * 4 <= self.peak;
        let emptied = clients == 0 && self.peak >= RECLAIM_MIN_EMPTIED;
        if crowd_gone || emptied {
            self.peak = clients;
        }
        crowd_gone || emptied
    }
}

/// Returns the allocator's free pages to the operating system (glibc's `malloc_trim`, which
/// also releases whole free pages in the middle of the heap and in every thread's arena).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reclaim_comes_when_a_crowd_has_mostly_left() {
        let mut reclaim = Reclaim::default();
        assert!(!reclaim.due(0), "nothing to give back yet");
        assert!(!reclaim.due(10));
        assert!(
            !reclaim.due(2),
            "a small server does not bother while it has clients"
        );
        assert!(!reclaim.due(0), "nor when its few clients leave");
        assert!(!reclaim.due(1000));
        assert!(!reclaim.due(300));
        assert!(reclaim.due(250));
        assert!(!reclaim.due(200), "the peak starts again from the reclaim");
        assert!(
            reclaim.due(50),
            "a quarter of the 250 left at the last reclaim"
        );
        assert!(
            !reclaim.due(20),
            "a peak of 50 is below the minimum for a quarter"
        );
        assert!(
            reclaim.due(0),
            "but the last one leaving a crowd of 50 is worth it"
        );
        assert!(!reclaim.due(0), "and nobody came since");
    }
}
