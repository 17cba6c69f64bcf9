//! The operating system's side of holding many clients: the open-file limit, and telling the
//! errors that mean it was reached.

use std::io;

/// Raises the soft limit on open files to the hard limit, since every client is a descriptor
/// and the default soft limit (often 1024) is far below what one loop can serve. Returns the
/// limit now in force.
pub fn raise_open_file_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// True for errors after which accepting again at once would only fail again: out of file
/// descriptors (per process or system-wide) or out of kernel memory. Servers back off.
pub fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
