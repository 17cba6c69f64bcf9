//! Contract item 9: on shutdown every client gets a "*** " line, output is flushed, and the
//! server returns cleanly; the binary does this on SIGINT, SIGTERM and SIGHUP, whenever the
//! signal comes, and exits 0.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::util::{binary, config, start, ChildServer, Client};
use chat_tokio_stream::server::Backend;

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

/// Sends `signal` to the binary and checks the goodbye, the close and exit status 0.
fn signal_stops_the_binary_gracefully(backend: Backend, signal: libc::c_int) {
    let mut server = ChildServer::spawn(backend, &[]);
    let mut alice = Client::join(server.addr, "alice");
    let mut bob = Client::join(server.addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    server.signal(signal);
    for client in [&mut alice, &mut bob] {
        assert!(client.line().contains("shutting down"));
        client.expect_closed();
    }
    let status = server.wait();
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

/// SIGHUP (the terminal closed, or a service manager) does the same.
fn sighup_stops_the_binary_gracefully(backend: Backend) {
    signal_stops_the_binary_gracefully(backend, libc::SIGHUP);
}

/// SIGUSR1 and SIGUSR2 mean nothing to the server: it logs them and goes on serving.
fn sigusr_signals_are_ignored(backend: Backend) {
    let mut server = ChildServer::spawn(backend, &[]);
    let mut alice = Client::join(server.addr, "alice");
    server.signal(libc::SIGUSR1);
    server.signal(libc::SIGUSR2);
    let mut bob = Client::join(server.addr, "bob");
    alice.expect("*** bob joined #lobby");
    bob.send("still serving");
    alice.expect("bob: still serving");
    server.signal(libc::SIGTERM);
    assert!(alice.line().contains("shutting down"));
    assert!(server.wait().success());
}

/// A signal sent while the server is still starting is not lost: the server starts, says
/// goodbye to nobody, and exits 0.
fn a_signal_during_start_up_stops_the_server_gracefully(backend: Backend) {
    let mut child = binary(backend, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut log = BufReader::new(stderr).lines();
    // The first line is logged once the signal handling is in place, before the store opens
    // and the listener binds.
    log.next()
        .expect("a first log line")
        .expect("readable stderr");
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: kill() on the pid of a child we spawned and have not yet reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let rest: Vec<String> = log.map_while(Result::ok).collect();
    let status = child.wait().expect("the binary exits");
    assert!(status.success(), "exit status {status}; log: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");
}

/// A signal right after a client leaves is acted on, every time.
fn a_signal_right_after_a_client_leaves_stops_the_server(backend: Backend) {
    for _ in 0..10 {
        let mut server = ChildServer::spawn(backend, &[]);
        let mut alice = Client::join(server.addr, "alice");
        alice.send("/quit");
        alice.expect("*** Goodbye!");
        server.signal(libc::SIGTERM);
        let status = server.wait();
        assert!(status.success(), "exit status {status}");
    }
}

backend_tests!(
    stop_says_goodbye_to_everyone_and_closes,
    sigint_stops_the_binary_gracefully,
    sigterm_stops_the_binary_gracefully,
    sighup_stops_the_binary_gracefully,
    sigusr_signals_are_ignored,
    a_signal_during_start_up_stops_the_server_gracefully,
    a_signal_right_after_a_client_leaves_stops_the_server,
);
