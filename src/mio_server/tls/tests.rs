//! The TLS transport driven through memory against a real rustls client: what goes over the
//! wire record by record, what stays in the outbox, and what a client that breaks the
//! protocol gets.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use super::*;
use crate::outbox::{Flushed, Framing, Gather, Outbox};
use crate::protocol::wire::Encoder;

/// TLS record type of application data.
const APPLICATION_DATA: u8 = 23;

/// A socket in memory: what the client sent (read by the server) and what the server wrote,
/// which refuses writes while `full`.
#[derive(Default)]
struct Wire {
    to_server: VecDeque<u8>,
    from_server: Vec<u8>,
    full: bool,
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.to_server.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.to_server.read(buf)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.full {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.from_server.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A server session and a client trusting its freshly made certificate, handshake not begun.
fn pair() -> (TlsStream<Wire>, ClientConnection) {
    let identity = Identity::self_signed().expect("a certificate");
    let mut roots = RootCertStore::empty();
    roots.add(identity.chain[0].clone()).expect("a root");
    let server = TlsStream::new(Wire::default(), server_config(identity).expect("a config"))
        .expect("a session");
    let config = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("a name");
    let client = ClientConnection::new(Arc::new(config), name).expect("a client");
    (server, client)
}

/// What one exchange carried.
struct Exchanged {
    /// The plaintext the server read.
    by_server: Vec<u8>,
    /// The records the server wrote, as they went over the wire.
    wire: Vec<u8>,
    /// The plaintext the client decrypted from them.
    by_client: Vec<u8>,
}

/// Moves the client's records to the server, lets the server read and answer, and hands the
/// server's records to the client.
fn exchange(server: &mut TlsStream<Wire>, client: &mut ClientConnection) -> Exchanged {
    let mut sent = Vec::new();
    client.write_tls(&mut sent).expect("client records");
    server.socket().to_server.extend(sent);
    let mut plaintext = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match server.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => plaintext.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("the server failed: {e}"),
        }
    }
    server.flush().expect("the server's records");
    let wire = std::mem::take(&mut server.socket().from_server);
    let mut by_client = Vec::new();
    let mut rest = &wire[..];
    while !rest.is_empty() {
        client.read_tls(&mut rest).expect("client reads");
        client.process_new_packets().expect("client processes");
        match client.reader().read_to_end(&mut by_client) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => panic!("the client's reader: {other:?}"),
        }
    }
    Exchanged {
        by_server: plaintext,
        wire,
        by_client,
    }
}

/// A completed handshake, with everything the server sent so far taken by the client.
fn connected() -> (TlsStream<Wire>, ClientConnection) {
    let (mut server, mut client) = pair();
    while server.is_handshaking() || client.is_handshaking() {
        exchange(&mut server, &mut client);
    }
    exchange(&mut server, &mut client);
    (server, client)
}

/// The types and lengths of the TLS records in `bytes`.
fn records(mut bytes: &[u8]) -> Vec<(u8, usize)> {
    let mut found = Vec::new();
    while bytes.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
        found.push((bytes[0], len));
        bytes = &bytes[5 + len..];
    }
    assert!(bytes.is_empty(), "a record cut short");
    found
}

fn outbox_of(count: usize, line: &str) -> (Outbox, Vec<u8>) {
    let mut encoder = Encoder::default();
    let mut outbox = Outbox::default();
    for n in 0..count {
        outbox.push(encoder.encode(format_args!("{n:04} {line}")));
    }
    let text: String = (0..count).map(|n| format!("{n:04} {line}\n")).collect();
    (outbox, text.into_bytes())
}

#[test]
fn a_pass_of_lines_goes_out_as_one_record_and_more_only_past_16_kib() {
    let (mut server, mut client) = connected();
    for lines in [50, 1500] {
        let (mut outbox, text) = outbox_of(lines, "bob: a short line of chat");
        let flushed = outbox.flush_to(
            &mut server,
            Framing::Lines,
            usize::MAX,
            &mut Gather::default(),
        );
        assert_eq!(flushed.expect("a flush"), Flushed::Drained);
        let exchanged = exchange(&mut server, &mut client);
        let records = records(&exchanged.wire);
        assert_eq!(records.len(), text.len().div_ceil(16 * 1024), "{records:?}");
        assert!(records.iter().all(|&(kind, _)| kind == APPLICATION_DATA));
        assert_eq!(exchanged.by_client, text);
    }
}

#[test]
fn a_backlog_stays_in_the_outbox_when_the_socket_is_full() {
    let (mut server, mut client) = connected();
    let (mut outbox, text) = outbox_of(3000, "alice: words the client is not reading");
    let total = outbox.queued_bytes();
    server.socket().full = true;
    let flushed = outbox.flush_to(
        &mut server,
        Framing::Lines,
        usize::MAX,
        &mut Gather::default(),
    );
    assert_eq!(flushed.expect("a flush"), Flushed::Blocked);
    assert_eq!(
        outbox.queued_bytes(),
        total - BUFFER_LIMIT,
        "rustls took one record's worth, no more"
    );
    server.socket().full = false;
    let flushed = outbox.flush_to(
        &mut server,
        Framing::Lines,
        usize::MAX,
        &mut Gather::default(),
    );
    assert_eq!(flushed.expect("a flush"), Flushed::Drained);
    assert_eq!(exchange(&mut server, &mut client).by_client, text);
}

#[test]
fn lines_written_during_the_handshake_go_out_after_it() {
    let (mut server, mut client) = pair();
    let (mut outbox, text) = outbox_of(2, "*** Welcome");
    let flushed = outbox.flush_to(
        &mut server,
        Framing::Lines,
        usize::MAX,
        &mut Gather::default(),
    );
    assert_eq!(flushed.expect("a flush"), Flushed::Drained);
    assert!(server.is_handshaking());
    let mut by_client = Vec::new();
    while server.is_handshaking() || client.is_handshaking() {
        by_client.extend(exchange(&mut server, &mut client).by_client);
    }
    by_client.extend(exchange(&mut server, &mut client).by_client);
    assert_eq!(by_client, text);
}

#[test]
fn what_the_client_sends_is_read_as_plaintext_until_close_notify() {
    let (mut server, mut client) = connected();
    client
        .writer()
        .write_all(b"alice\nhello\n")
        .expect("a write");
    assert_eq!(
        exchange(&mut server, &mut client).by_server,
        b"alice\nhello\n"
    );
    client.send_close_notify();
    exchange(&mut server, &mut client);
    assert_eq!(server.read(&mut [0; 16]).expect("the end"), 0);
}

#[test]
fn plaintext_instead_of_a_handshake_is_an_error() {
    let (mut server, _) = pair();
    server.socket().to_server.extend(b"alice\n");
    let error = server.read(&mut [0; 64]).expect_err("refused");
    assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
    assert!(
        records(&server.socket().from_server)
            .iter()
            .all(|&(kind, _)| kind == 21),
        "at most an alert goes back"
    );
}

#[test]
fn garbage_after_the_handshake_is_an_error() {
    let (mut server, _) = connected();
    server
        .socket()
        .to_server
        .extend([APPLICATION_DATA, 3, 3, 0, 20].iter().chain(&[0xAB; 20]));
    let error = server.read(&mut [0; 64]).expect_err("refused");
    assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
}
