//! Contract item 9: on shutdown every client gets a "*** " line, output is flushed, and the
//! server returns cleanly; the binary does this on SIGINT and SIGTERM and exits 0.

use crate::util::{config, start, ChildServer, Client};
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

backend_tests!(
    stop_says_goodbye_to_everyone_and_closes,
    sigint_stops_the_binary_gracefully,
    sigterm_stops_the_binary_gracefully,
);
