//! Contract item 11: history that survives restarts and crashes, in the store file, tested
//! against the real binary, restarted on the same file.

use std::time::Duration;

use chat_tokio_stream::server::Backend;
use rusqlite::{params, Connection};

use crate::util::{binary, ChildServer, Client};

/// A fresh directory and the path of a store file in it (not created yet).
fn store_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("chat.db");
    let path = path.to_str().expect("a UTF-8 path").to_owned();
    (dir, path)
}

/// Asks for the last `n` messages and returns them without their time stamps.
fn history(client: &mut Client, n: usize) -> Vec<String> {
    client.send(&format!("/history {n}"));
    let header = client.line_where(|l| l.starts_with("*** Last ") || l.starts_with("*** No "));
    let count: usize = header
        .strip_prefix("*** Last ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (0..count)
        .map(|_| {
            let line = client.line();
            assert!(
                line.starts_with('[') && line[6..].starts_with("] "),
                "{line:?}"
            );
            line[8..].to_owned()
        })
        .collect()
}

/// Stopped gracefully and started again on the same file, the server replays what was said
/// before, to a newcomer and on /history.
fn history_survives_a_restart(backend: Backend) {
    let (_dir, db) = store_file();
    let server = ChildServer::spawn(backend, &["--db", &db]);
    let mut alice = Client::join(server.addr, "alice");
    alice.send("said before the restart");
    alice.send("/me waves goodbye");
    alice.send("/join #rust");
    alice.send("rust is kept too");
    alice.expect("*** You are now in #rust with 0 others.");
    let mut server = server;
    server.signal(libc::SIGTERM);
    assert!(server.wait().success());

    let server = ChildServer::spawn(backend, &["--db", &db]);
    let mut bob = Client::join(server.addr, "bob");
    bob.expect("*** Last 2 messages in #lobby:");
    bob.expect_history("alice: said before the restart");
    bob.expect_history("* alice waves goodbye");
    bob.send("/join #rust");
    bob.expect("*** You are now in #rust with 0 others.");
    bob.expect("*** Last 1 message in #rust:");
    bob.expect_history("alice: rust is kept too");
}

/// Every line said at least a second before the server is killed (SIGKILL: no goodbye, no
/// flush) is in the history after a restart, in order, once each.
fn every_line_said_a_second_before_a_kill_is_kept(backend: Backend) {
    const LINES: usize = 300;
    let (_dir, db) = store_file();
    let mut server = ChildServer::spawn(backend, &["--db", &db, "--rate-limit", "0"]);
    let mut alice = Client::join(server.addr, "alice");
    let mut witness = Client::join(server.addr, "witness");
    let said: String = (0..LINES).map(|n| format!("line {n}\n")).collect();
    alice.send_raw(said.as_bytes());
    witness.line_where(|l| l == format!("alice: line {}", LINES - 1));
    std::thread::sleep(Duration::from_millis(1500));
    server.signal(libc::SIGKILL);
    server.wait();

    let server = ChildServer::spawn(backend, &["--db", &db]);
    let mut bob = Client::join(server.addr, "bob");
    bob.expect("*** Last 20 messages in #lobby:");
    for n in LINES - 20..LINES {
        bob.expect_history(&format!("alice: line {n}"));
    }
    let expected: Vec<String> = (0..LINES).map(|n| format!("alice: line {n}")).collect();
    assert_eq!(history(&mut bob, 1000), expected);
}

/// A file that is not a store stops start-up with an error naming it, and is left exactly
/// as it was.
fn a_file_that_is_not_a_store_stops_start_up_and_is_left_alone(backend: Backend) {
    let (_dir, path) = store_file();
    let notes = b"my notes, which are not a database\n".repeat(100);
    std::fs::write(&path, &notes).expect("write the notes");
    let output = binary(backend, &["--db", &path])
        .output()
        .expect("run the binary");
    assert!(!output.status.success(), "it must not start");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains(&path), "the error names the file: {log}");
    assert_eq!(std::fs::read(&path).expect("read back"), notes);
}

/// With --retain-days 1, messages older than a day are deleted at start-up; newer ones stay.
fn messages_older_than_retain_days_are_deleted(backend: Backend) {
    let (_dir, db) = store_file();
    let mut server = ChildServer::spawn(backend, &["--db", &db]);
    let mut alice = Client::join(server.addr, "alice");
    alice.send("recent");
    alice.send("/who");
    alice.line_where(|l| l.contains("1 member"));
    server.signal(libc::SIGTERM);
    assert!(server.wait().success());
    let store = Connection::open(&db).expect("open the store");
    let two_days_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
        - 2 * 24 * 3600 * 1000;
    // Older rows have lower numbers: give the old message one below the recent one.
    store
        .execute(
            "INSERT INTO messages (id, time, room, nick, kind, text)
             SELECT id - 1, ?1, room, 'old', 0, 'from the day before yesterday'
             FROM messages ORDER BY id LIMIT 1",
            params![two_days_ago],
        )
        .expect("insert an old message");
    drop(store);

    let server = ChildServer::spawn(backend, &["--db", &db, "--retain-days", "1"]);
    let mut bob = Client::join(server.addr, "bob");
    bob.expect("*** Last 1 message in #lobby:");
    bob.expect_history("alice: recent");
    assert_eq!(history(&mut bob, 10), ["alice: recent"]);
}

backend_tests!(
    history_survives_a_restart,
    every_line_said_a_second_before_a_kill_is_kept,
    a_file_that_is_not_a_store_stops_start_up_and_is_left_alone,
    messages_older_than_retain_days_are_deleted,
);
