//! Memory that a hostile client must not be able to make the server spend. Its own test
//! binary, tests taken one at a time, because they read this process's resident set size.

mod util;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use chat_tokio_stream::config::Config;
use chat_tokio_stream::server::Backend;
use util::{config, rss_bytes, start, ChildServer, Client};

/// Held by each test so that memory readings never overlap.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A 40 MB line with no newline, streamed in 64 KiB writes: the sender is told once, the
/// connection keeps working afterwards, and the server's memory does not grow with it.
fn a_40_mb_line_does_not_grow_memory(backend: Backend) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(backend, config());
    let mut alice = Client::join(server.local_addr(), "alice");
    let mut bob = Client::join(server.local_addr(), "bob");
    alice.line_where(|l| l.contains("bob joined"));
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

/// 20,000 lines of 1 KB flow while one member never reads: the others get every line in
/// order, the one that never reads is disconnected as too slow (its room is told), and the
/// process's memory stays under 200 MB throughout.
///
/// The sender keeps at most `WINDOW` lines ahead of the slower reader: the readers share two
/// cores with the server, and a reader more than --max-outbuf behind is by rule a slow
/// consumer too. The one that never reads falls 20 MB behind.
fn a_client_that_never_reads_is_dropped_and_nobody_else_suffers(backend: Backend) {
    const LINES: usize = 20_000;
    const WINDOW: usize = 200;
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(
        backend,
        Config {
            rate_limit: 0,
            ..config()
        },
    );
    let addr = server.local_addr();
    let mut readers: Vec<Client> = (0..2)
        .map(|i| Client::join(addr, &format!("reader{i}")))
        .collect();
    let _lazy = Client::join(addr, "lazy");
    let mut sender = Client::join(addr, "sender");
    for reader in &mut readers {
        reader.line_where(|l| l.contains("sender joined"));
    }

    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak) = (Arc::clone(&done), Arc::clone(&peak));
        thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(std::process::id()), Ordering::Relaxed);
                thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let received: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let sending = {
        let received = Arc::clone(&received);
        thread::spawn(move || {
            let padding = "x".repeat(1000);
            for n in 0..LINES {
                while n - received
                    .iter()
                    .map(|r| r.load(Ordering::Relaxed))
                    .min()
                    .unwrap_or(0)
                    > WINDOW
                {
                    thread::sleep(Duration::from_millis(1));
                }
                sender.send(&format!("{n} {padding}"));
            }
            sender
        })
    };
    let reading: Vec<_> = readers
        .into_iter()
        .enumerate()
        .map(|(index, mut reader)| {
            let received = Arc::clone(&received);
            thread::spawn(move || {
                let mut next = 0;
                let mut saw_lazy_leave = false;
                while next < LINES || !saw_lazy_leave {
                    let line = reader.line();
                    if let Some(text) = line.strip_prefix("sender: ") {
                        let n: usize = text
                            .split(' ')
                            .next()
                            .and_then(|n| n.parse().ok())
                            .expect("a numbered line");
                        assert_eq!(n, next, "{}: lines out of order or lost", reader.name);
                        next += 1;
                        received[index].store(next, Ordering::Relaxed);
                    } else if line.contains("lazy left") {
                        assert!(line.contains("too slow"), "{line:?}");
                        saw_lazy_leave = true;
                    }
                }
            })
        })
        .collect();
    for reader in reading {
        reader
            .join()
            .expect("each reader got every line and saw the slow client leave");
    }
    drop(sending.join().expect("the sender finished"));
    done.store(true, Ordering::Relaxed);
    sampler.join().expect("the sampler stops");
    let peak = peak.load(Ordering::Relaxed);
    assert!(
        peak < 200 * 1024 * 1024,
        "peak resident memory {peak} bytes"
    );
}

/// One client moving through 10,000 new rooms, saying a line in each (flood control off):
/// rooms cost what their members and their history cost, so the server's memory stays
/// within a few MiB. (Before: the Tokio server kept a broadcast channel per room ever made,
/// and grew by 334 MB.)
fn rooms_cost_what_their_members_and_history_cost(backend: Backend) {
    const ROOMS: usize = 10_000;
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // A store on disk: what an in-memory one keeps is storage, not rooms.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("rooms.db");
    let server = ChildServer::spawn(
        backend,
        &[
            "--rate-limit",
            "0",
            "--db",
            db.to_str().expect("a UTF-8 path"),
        ],
    );
    let mut alice = Client::join(server.addr, "alice");
    alice.send("warm-up line");
    alice.send("/join #warmup");
    alice.line_where(|l| l.starts_with("*** You are now in #warmup"));
    let before = rss_bytes(server.pid());
    for n in 0..ROOMS {
        alice.send(&format!("/join #r{n}"));
        alice.send(&format!("said in room {n}"));
    }
    alice.send("/rooms");
    let rooms = alice.line_where(|l| l.starts_with("*** ") && l.contains(" room"));
    assert_eq!(rooms, format!("*** 1 room: #r{} (1)", ROOMS - 1));
    let after = rss_bytes(server.pid());
    let growth = after.saturating_sub(before);
    println!(
        "{}: {ROOMS} rooms made and left: RSS grew by {} KiB",
        backend.name(),
        growth / 1024
    );
    assert!(
        growth < 8 << 20,
        "memory grew by {growth} bytes for rooms that no longer exist"
    );
}

#[test]
fn rooms_cost_what_their_members_and_history_cost_mio() {
    rooms_cost_what_their_members_and_history_cost(Backend::Mio);
}

#[cfg(feature = "tokio-impl")]
#[test]
fn rooms_cost_what_their_members_and_history_cost_tokio() {
    rooms_cost_what_their_members_and_history_cost(Backend::Tokio);
}

#[test]
fn a_40_mb_line_does_not_grow_memory_mio() {
    a_40_mb_line_does_not_grow_memory(Backend::Mio);
}

#[test]
fn a_client_that_never_reads_is_dropped_and_nobody_else_suffers_mio() {
    a_client_that_never_reads_is_dropped_and_nobody_else_suffers(Backend::Mio);
}

#[cfg(feature = "tokio-impl")]
#[test]
fn a_40_mb_line_does_not_grow_memory_tokio() {
    a_40_mb_line_does_not_grow_memory(Backend::Tokio);
}

#[cfg(feature = "tokio-impl")]
#[test]
fn a_client_that_never_reads_is_dropped_and_nobody_else_suffers_tokio() {
    a_client_that_never_reads_is_dropped_and_nobody_else_suffers(Backend::Tokio);
}
