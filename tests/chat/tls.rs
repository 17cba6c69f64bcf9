//! Contract item 13: the same chat over TLS, in the same rooms as plain clients, and the TLS
//! clients that go wrong (plaintext, a stalled handshake, a reset in the middle of one,
//! garbage after one): each loses its own connection and nobody else notices. The mio server
//! only: the Tokio reference serves plain TCP and refuses a TLS listener.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;

use crate::util::tls::{client_hello, pinned, TestCert};
use crate::util::{config, connect_tcp, reset, start, unpaced, ChildServer, Client};
use chat_tokio_stream::config::Config;
use chat_tokio_stream::server::{Backend, ServerHandle};

/// The contract's handshake deadline.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A mio server with a plain and a TLS listener, and the certificate its TLS clients trust.
struct TlsServer {
    /// Declared first so that it is dropped first: the server stops before the certificate's
    /// files go.
    _server: ServerHandle,
    cert: TestCert,
    /// Where plain clients connect.
    plain: SocketAddr,
    /// Where TLS clients connect.
    tls: SocketAddr,
}

impl TlsServer {
    /// A server with `config`, plus a TLS listener with a certificate made for the test.
    fn start(config: Config) -> TlsServer {
        let cert = TestCert::new();
        let server = start(
            Backend::Mio,
            Config {
                tls: cert.config().tls,
                ..config
            },
        );
        TlsServer {
            plain: server.local_addr(),
            tls: server.tls_addr().expect("a TLS listener"),
            _server: server,
            cert,
        }
    }

    /// A client configuration that trusts the server's certificate.
    fn trust(&self) -> Arc<ClientConfig> {
        self.cert.client()
    }

    /// A registered TLS client.
    fn join(&self, nick: &str) -> Client {
        Client::join_tls(self.tls, &self.trust(), nick)
    }

    /// A TLS client that has not chosen a nickname.
    fn connect(&self) -> Client {
        Client::connect_tls(self.tls, &self.trust())
    }

    /// A plain client `bob` and a TLS client `alice`, both registered, bob told alice joined.
    fn bob_and_alice(&self) -> (Client, Client) {
        let mut bob = Client::join(self.plain, "bob");
        let alice = self.join("alice");
        bob.expect("*** alice joined #lobby");
        (bob, alice)
    }
}

/// Reads `stream` until the server ends the connection (with FIN or reset), failing the test
/// if the server still holds it after `limit`; returns how long that took.
fn time_until_closed(mut stream: TcpStream, limit: Duration) -> Duration {
    stream
        .set_read_timeout(Some(limit))
        .expect("a read timeout");
    let started = Instant::now();
    let mut sink = [0; 4096];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return started.elapsed(),
            Err(e) => panic!("the server did not close the connection within {limit:?}: {e}"),
        }
    }
}

/// A TLS client and a plain one in one room: they chat both ways, see each other in /who,
/// and the TLS client's /quit is announced and ends its connection cleanly.
#[test]
fn tls_and_plain_clients_share_a_room() {
    let server = TlsServer::start(config());
    let (mut bob, mut alice) = server.bob_and_alice();
    alice.send("hello from TLS");
    bob.expect("alice: hello from TLS");
    bob.send("hello from plain text");
    alice.expect("bob: hello from plain text");
    alice.send("/me waves");
    bob.expect("* alice waves");
    alice.send("/who");
    alice.expect("*** 2 members in #lobby: alice, bob");
    alice.send("/quit bye");
    alice.expect("*** Goodbye!");
    alice.expect_closed();
    bob.expect("*** alice left #lobby (saying \"bye\")");
}

/// A TLS client entering a room is shown its history, and a TLS 1.2 client is served too.
#[test]
fn history_is_replayed_over_tls_and_tls_1_2_is_served() {
    let server = TlsServer::start(config());
    let mut bob = Client::join(server.plain, "bob");
    bob.send("first");
    bob.send("/me second");
    bob.send("/who");
    bob.expect("*** 1 member in #lobby: bob");
    let mut carol = Client::connect_tls(server.tls, &server.cert.client_tls12());
    carol.name = "carol".into();
    carol.read_prompt();
    carol.send("carol");
    carol.line_where(|l| l.starts_with("*** Welcome"));
    carol.expect("*** Last 2 messages in #lobby:");
    carol.expect_history("bob: first");
    carol.expect_history("* bob second");
    bob.expect("*** carol joined #lobby");
}

/// Without a certificate the binary makes one and logs its fingerprint; a client that
/// accepts only that fingerprint can chat.
#[test]
fn the_self_signed_certificate_has_the_logged_fingerprint() {
    let server = ChildServer::spawn(Backend::Mio, &["--tls-addr", "127.0.0.1:0"]);
    let tls_addr = server.tls_addr.expect("the TLS address is logged");
    let fingerprint = server.fingerprint.as_deref().expect("a logged fingerprint");
    assert_eq!(fingerprint.len(), 32 * 3 - 1, "{fingerprint}");
    let mut bob = Client::join(server.addr, "bob");
    let mut alice = Client::join_tls(tls_addr, &pinned(fingerprint), "alice");
    bob.expect("*** alice joined #lobby");
    alice.send("pinned and talking");
    bob.expect("alice: pinned and talking");
}

/// A certificate file that is missing, or a key that is not the certificate's, stops
/// start-up with an error naming the file; so does asking the Tokio reference for TLS.
#[test]
fn unusable_certificates_and_tokio_stop_start_up_with_a_clear_error() {
    let path = |path: &std::path::Path| path.to_str().expect("a UTF-8 path").to_string();
    let refused = |cert: &str, key: &str| {
        let flags = [
            "--tls-addr",
            "127.0.0.1:0",
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ];
        ChildServer::refused(Backend::Mio, &flags)
    };
    let (ours, theirs) = (TestCert::new(), TestCert::new());
    let missing = refused("/nonexistent/chain.pem", &path(&ours.files.key));
    assert!(missing.contains("/nonexistent/chain.pem"), "{missing}");
    let wrong_key = refused(&path(&ours.files.cert), &path(&theirs.files.key));
    assert!(
        wrong_key.contains(&path(&theirs.files.key)) && wrong_key.contains("is not the key of"),
        "{wrong_key}"
    );
    #[cfg(feature = "tokio-impl")]
    {
        let tokio = ChildServer::refused(Backend::Tokio, &["--tls-addr", "127.0.0.1:0"]);
        assert!(tokio.contains("--backend mio"), "{tokio}");
    }
}

/// `nc` pointed at the TLS port: its plaintext is refused and that connection closed, while
/// a TLS client and a plain one go on chatting.
#[test]
fn plaintext_on_the_tls_port_closes_that_connection_only() {
    let server = TlsServer::start(config());
    let (mut bob, mut alice) = server.bob_and_alice();
    let mut confused = connect_tcp(server.tls);
    confused.write_all(b"mallory\nhello?\n").expect("a write");
    time_until_closed(confused, Duration::from_secs(5));
    alice.send("still here");
    bob.expect("alice: still here");
}

/// A client that stops halfway through its handshake is closed at the 10-second deadline,
/// not before; meanwhile others complete handshakes and chat.
#[test]
fn a_stalled_handshake_is_closed_at_ten_seconds_and_stalls_nobody() {
    let server = TlsServer::start(config());
    let hello = client_hello(&server.trust());
    let mut staller = connect_tcp(server.tls);
    staller
        .write_all(&hello[..hello.len() / 2])
        .expect("half a hello");
    let watching = std::thread::spawn(move || time_until_closed(staller, 3 * HANDSHAKE_TIMEOUT));
    let (mut bob, mut alice) = server.bob_and_alice();
    alice.send("not waiting for anyone");
    bob.expect("alice: not waiting for anyone");
    let closed_after = watching.join().expect("the staller was closed");
    assert!(
        closed_after >= HANDSHAKE_TIMEOUT - Duration::from_millis(500),
        "closed too early: {closed_after:?}"
    );
}

/// Clients that reset the connection in the middle of their handshake cost nobody
/// anything: the next TLS client is served as usual.
#[test]
fn a_reset_mid_handshake_closes_that_connection_only() {
    let server = TlsServer::start(config());
    for _ in 0..5 {
        let mut quitter = connect_tcp(server.tls);
        quitter
            .write_all(&client_hello(&server.trust()))
            .expect("a hello");
        reset(quitter);
    }
    let (mut bob, mut alice) = server.bob_and_alice();
    alice.send("after the resets");
    bob.expect("alice: after the resets");
}

/// Bytes that are not TLS records, after a completed handshake and registration: that
/// client is gone (its room is told the connection was lost), the others chat on.
#[test]
fn garbage_after_the_handshake_closes_that_connection_only() {
    let server = TlsServer::start(config());
    let (mut bob, mut alice) = server.bob_and_alice();
    let mut eve = server.join("eve");
    bob.expect("*** eve joined #lobby");
    alice.expect("*** eve joined #lobby");
    eve.send_beneath_tls(&[0x17, 0x03, 0x03, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
    bob.expect("*** eve left #lobby (connection lost)");
    alice.expect("*** eve left #lobby (connection lost)");
    alice.send("eve is gone");
    bob.expect("alice: eve is gone");
}

/// Past --max-clients, a TLS client is told why after its handshake, then closed cleanly.
#[test]
fn a_full_server_tells_a_tls_client_why_after_the_handshake() {
    let server = TlsServer::start(Config {
        max_clients: 1,
        ..config()
    });
    let _bob = Client::join(server.plain, "bob");
    server.connect().expect_error_and_close("full");
}

/// The login deadline applies to TLS clients as to any other, from the accept.
#[test]
fn a_tls_client_without_a_nickname_is_closed_at_the_login_timeout() {
    let server = TlsServer::start(Config {
        login_timeout: Duration::from_secs(1),
        ..config()
    });
    let mut idle = server.connect();
    idle.read_prompt();
    idle.expect_error_and_close("nickname");
}

/// A TLS client that never reads is dropped as too slow once --max-outbuf of output waits
/// for it: the TLS layer keeps no backlog of its own. Its room is told; the reader that
/// keeps up gets every line.
#[test]
fn a_tls_client_that_never_reads_is_dropped_at_max_outbuf() {
    let server = TlsServer::start(Config {
        max_outbuf: 64 * 1024,
        ..unpaced()
    });
    let _lazy = server.join("lazy");
    let mut reader = Client::join(server.plain, "reader");
    let mut sender = Client::join(server.plain, "sender");
    reader.expect("*** sender joined #lobby");
    let padding = "x".repeat(1000);
    for batch in 0..400 {
        let lines = batch * 50..(batch + 1) * 50;
        for n in lines.clone() {
            sender.send(&format!("{n} {padding}"));
        }
        let mut lazy_left = false;
        for n in lines {
            let mut line = reader.line();
            if line.contains("lazy left") {
                assert!(line.contains("too slow"), "{line:?}");
                lazy_left = true;
                line = reader.line();
            }
            assert_eq!(line, format!("sender: {n} {padding}"));
        }
        if lazy_left {
            return;
        }
    }
    panic!("20 MB later, the client that never reads is still there");
}
