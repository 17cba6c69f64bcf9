//! Memory that a hostile client must not be able to make the server spend. Kept in its own
//! test binary, run one test at a time, because it reads this process's resident set size.

mod util;

use chat_tokio_stream::server::Backend;
use util::{config, rss_bytes, start, Client};

/// A 40 MB line with no newline, streamed in 64 KiB writes: the sender is told once, the
/// connection keeps working afterwards, and the server's memory does not grow with it.
fn a_40_mb_line_does_not_grow_memory(backend: Backend) {
    let server = start(backend, config());
    let (mut alice, mut bob) = {
        let mut alice = Client::join(server.local_addr(), "alice");
        let bob = Client::join(server.local_addr(), "bob");
        alice.line_where(|l| l.contains("bob joined"));
        (alice, bob)
    };
    let chunk = vec![b'x'; 64 * 1024];
    let before = rss_bytes(std::process::id());
    for _ in 0..(40 * 1024 * 1024 / chunk.len()) {
        bob.send_raw(&chunk);
    }
    bob.send_raw(b"\nafter the flood\n");
    alice.expect("bob: after the flood");
    let after = rss_bytes(std::process::id());
    let error = bob.line();
    assert!(error.starts_with("!!! "), "{error:?}");
    let growth = after.saturating_sub(before);
    assert!(
        growth < 8 * 1024 * 1024,
        "memory grew by {growth} bytes while a 40 MB line streamed in"
    );
}

/// Both backends in one test, one after the other, so that their memory readings never
/// overlap with another test's.
#[test]
fn a_40_mb_line_does_not_grow_memory_on_any_backend() {
    for &backend in Backend::ALL {
        a_40_mb_line_does_not_grow_memory(backend);
    }
}
