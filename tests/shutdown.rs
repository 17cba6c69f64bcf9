//! Contract item 9: on shutdown every client gets a "*** " line, output is flushed, and the
//! server returns cleanly; the binary does this on SIGINT and SIGTERM and exits 0.

mod util;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use chat_tokio_stream::server::Backend;
use util::{config, start, Client};

/// Stopping the server says goodbye to registered and unregistered clients alike, then
/// closes their connections; stop() reports success.
fn stop_says_goodbye_to_everyone_and_closes(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut bob = Client::join(addr, "bob");
    let mut stranger = Client::connect(addr);
    stranger.read_prompt();
    alice.line_where(|l| l.contains("bob joined"));
    bob.send("last words before the end");
    alice.expect("bob: last words before the end");
    server.stop().expect("a clean stop");
    for client in [&mut alice, &mut bob, &mut stranger] {
        let goodbye = client.line();
        assert!(
            goodbye.starts_with("*** ") && goodbye.contains("shutting down"),
            "{}: {goodbye:?}",
            client.name
        );
        client.expect_closed();
    }
}

/// The binary, started as a user would, on an ephemeral port; returns it and its address.
fn spawn_binary(backend: Backend) -> (Child, SocketAddr) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-tokio-stream"));
    command.args(["--addr", "127.0.0.1:0"]);
    if cfg!(feature = "tokio-impl") {
        command.args(["--backend", backend.name()]);
    }
    let mut child = command
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the binary logs its address")
            .expect("readable stderr");
        if let Some((_, addr)) = line.split_once("listening on ") {
            break addr
                .trim()
                .parse()
                .expect("a socket address in the log line");
        }
    };
    // Keep draining the log so that the binary never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

/// Sends `signal` to the binary and checks the goodbye, the close and exit status 0.
fn signal_stops_the_binary_gracefully(backend: Backend, signal: libc::c_int) {
    let (mut child, addr) = spawn_binary(backend);
    let mut alice = Client::join(addr, "alice");
    let mut bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: kill() on the pid of a child we spawned and have not yet waited for.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    for client in [&mut alice, &mut bob] {
        assert!(client.line().contains("shutting down"));
        client.expect_closed();
    }
    let status = child.wait().expect("the binary exits");
    assert!(status.success(), "exit status {status}");
}

/// Ctrl-C on the server ends every session with a shutdown line and exits 0.
fn sigint_stops_the_binary_gracefully(backend: Backend) {
    signal_stops_the_binary_gracefully(backend, libc::SIGINT);
}

/// SIGTERM (what service managers send) does the same.
fn sigterm_stops_the_binary_gracefully(backend: Backend) {
    signal_stops_the_binary_gracefully(backend, libc::SIGTERM);
}

backend_tests!(
    stop_says_goodbye_to_everyone_and_closes,
    sigint_stops_the_binary_gracefully,
    sigterm_stops_the_binary_gracefully,
);
