//! The web listener (contract item 14), on the mio server (the only one that has it): each
//! route over real HTTP, a WebSocket chatting with `nc` users under the same limits, bad
//! requests and bad frames, metrics that count, and the same over TLS.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

use chat_tokio_stream::config::{Config, TlsConfig};
use chat_tokio_stream::server::{Backend, ServerHandle};

use crate::util::tls::TestCert;
use crate::util::web::{exchange, get, get_tls, web_config, WsClient};
use crate::util::{connect_tcp, start, ChildServer, Client};

fn web_server(config: Config) -> (ServerHandle, SocketAddr) {
    let server = start(Backend::Mio, config);
    let web = server.http_addr().expect("a web listener");
    (server, web)
}

/// Each route answers once and closes: the page, health, metrics; anything else is 404.
#[test]
fn each_route_answers_and_anything_else_is_not_found() {
    let (_server, web) = web_server(web_config());
    let health = get(web, "/healthz");
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    let page = get(web, "/");
    assert_eq!(page.status, 200);
    assert!(
        page.head.contains("Content-Type: text/html"),
        "{}",
        page.head
    );
    assert!(page.body.starts_with("<!doctype html>"), "{}", page.body);
    assert!(
        page.head.contains("Content-Security-Policy"),
        "{}",
        page.head
    );
    let metrics = get(web, "/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains("chat_connections"),
        "{}",
        metrics.body
    );
    for path in ["/nope", "/ws/x", "/index.html"] {
        assert_eq!(get(web, path).status, 404, "{path}");
    }
    let post = exchange(web, b"POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(post.status, 404);
}

/// A request that is not HTTP gets 400, a head over 8 KiB gets 431, and a WebSocket request
/// without its upgrade headers gets 400; each is closed, and the server serves on.
#[test]
fn bad_requests_are_refused_and_closed() {
    let (_server, web) = web_server(web_config());
    assert_eq!(exchange(web, b"HELLO THERE\r\n\r\n").status, 400);
    assert_eq!(
        exchange(web, b"\x16\x03\x01\x02\x00\x01\x00\r\n\r\n").status,
        400
    );
    let big = format!(
        "GET / HTTP/1.1\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    assert_eq!(exchange(web, big.as_bytes()).status, 431);
    assert_eq!(get(web, "/ws").status, 400);
    assert_eq!(get(web, "/healthz").status, 200, "still serving");
}

/// A client that never finishes its request (slow loris) is closed at the request deadline.
#[test]
fn a_request_that_never_completes_is_closed_at_its_deadline() {
    let (_server, web) = web_server(web_config());
    let mut stream = connect_tcp(web);
    stream
        .write_all(b"GET / HTTP/1.1\r\nX-Slow: ")
        .expect("a start");
    let started = Instant::now();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).expect("a clean close");
    assert!(rest.is_empty(), "{rest:?}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(4), "closed after {waited:?}");
}

/// A browser and an `nc` user chat both ways; every server line is one text message.
#[test]
fn a_websocket_client_and_a_tcp_client_chat_both_ways() {
    let (server, web) = web_server(web_config());
    let mut browser = WsClient::join(web, "wendy");
    let mut nc = Client::join(server.local_addr(), "tom");
    browser.line_where(|line| line.contains("tom") && line.contains("joined"));
    nc.send("hello from the terminal");
    assert_eq!(browser.line(), "tom: hello from the terminal");
    browser.send("hello from the browser");
    nc.expect("wendy: hello from the browser");
    browser.send("first\nsecond\r\nthird");
    nc.expect("wendy: first");
    nc.expect("wendy: second");
    nc.expect("wendy: third");
    browser.send("/me waves");
    nc.expect("* wendy waves");
    nc.send("/who");
    nc.line_where(|line| line.contains("wendy") && line.contains("tom"));
}

/// A message over --max-line gets "!!! " and the connection goes on.
#[test]
fn a_websocket_line_over_max_line_is_refused_and_the_connection_lives() {
    let (server, web) = web_server(Config {
        max_line: 100,
        ..web_config()
    });
    let mut browser = WsClient::join(web, "wendy");
    let mut nc = Client::join(server.local_addr(), "tom");
    browser.send(&"x".repeat(500));
    browser.line_where(|line| line.starts_with("!!! "));
    browser.send("still here");
    nc.expect("wendy: still here");
}

/// Pings are answered with the same payload; a binary message closes with 1003 and the
/// room sees the client leave.
#[test]
fn pings_are_answered_and_binary_closes_with_1003() {
    let (server, web) = web_server(web_config());
    let mut nc = Client::join(server.local_addr(), "tom");
    let mut browser = WsClient::join(web, "wendy");
    nc.line_where(|line| line.contains("wendy") && line.contains("joined"));
    browser.send_message(Message::Ping(b"are you there".to_vec().into()));
    loop {
        match browser.message() {
            Message::Pong(payload) => break assert_eq!(&payload[..], b"are you there"),
            Message::Text(_) => {}
            other => panic!("expected a pong, got {other:?}"),
        }
    }
    browser.send_message(Message::Binary(vec![0, 1, 2].into()));
    assert_eq!(browser.expect_close(), CloseCode::Unsupported);
    nc.line_where(|line| line.contains("wendy") && line.contains("left"));
}

/// The client's close is answered with a close frame and it leaves; /quit closes with 1000
/// after the goodbye.
#[test]
fn the_close_handshake_is_honoured_both_ways() {
    let (server, web) = web_server(web_config());
    let mut nc = Client::join(server.local_addr(), "tom");
    let mut leaving = WsClient::join(web, "wendy");
    nc.line_where(|line| line.contains("wendy") && line.contains("joined"));
    leaving.socket().close(None).expect("send a close");
    assert_eq!(leaving.expect_close(), CloseCode::Normal);
    nc.line_where(|line| line.contains("wendy") && line.contains("left"));
    let mut quitting = WsClient::join(web, "will");
    quitting.send("/quit");
    quitting.line_where(|line| line.contains("Goodbye"));
    assert_eq!(quitting.expect_close(), CloseCode::Normal);
}

/// WebSocket clients obey the limits plain clients do: the login timeout, --max-clients,
/// and pacing (a pasted block arrives whole, just paced).
#[test]
fn websocket_clients_obey_the_limits() {
    let (server, web) = web_server(Config {
        login_timeout: Duration::from_secs(1),
        max_clients: 3,
        rate_limit: 5,
        ..web_config()
    });
    let mut silent = WsClient::connect(web);
    silent.line_where(|line| line.starts_with("!!! ") && line.contains("nickname"));
    assert_eq!(silent.expect_close(), CloseCode::Normal);
    let mut nc = Client::join(server.local_addr(), "tom");
    let mut paster = WsClient::join(web, "wendy");
    let _third = Client::join(server.local_addr(), "tess");
    let mut refused = WsClient::connect(web);
    refused.line_where(|line| line.starts_with("!!! ") && line.contains("full"));
    assert_eq!(refused.expect_close(), CloseCode::Normal);
    let block: Vec<String> = (0..15).map(|n| format!("line {n}")).collect();
    paster.send(&block.join("\n"));
    paster.line_where(|line| line.starts_with("!!! ") && line.contains("slow down"));
    for line in &block {
        let got = nc.line_where(|got| got.starts_with("wendy: "));
        assert_eq!(got, format!("wendy: {line}"), "whole and in order");
    }
}

/// A client that pastes more than its burst and closes at once: every line arrives, paced,
/// before the room sees it leave.
#[test]
fn a_close_after_a_paced_paste_waits_for_the_paste() {
    let (server, web) = web_server(Config {
        rate_limit: 10,
        ..web_config()
    });
    let mut nc = Client::join(server.local_addr(), "tom");
    let mut paster = WsClient::join(web, "wendy");
    nc.line_where(|line| line.contains("wendy") && line.contains("joined"));
    let block: Vec<String> = (0..25).map(|n| format!("line {n}")).collect();
    for line in &block {
        paster.send(line);
    }
    paster.socket().close(None).expect("send a close");
    for line in &block {
        let got = nc.line_where(|got| got.starts_with("wendy"));
        assert_eq!(got, format!("wendy: {line}"), "whole and in order");
    }
    nc.line_where(|line| line.contains("wendy") && line.contains("left"));
}

/// A WebSocket client that never reads is dropped at --max-outbuf, and the room goes on.
#[test]
fn a_websocket_client_that_never_reads_is_dropped() {
    let (server, web) = web_server(Config {
        max_outbuf: 64 * 1024,
        rate_limit: 0,
        ..web_config()
    });
    let _lazy = WsClient::join(web, "lazy");
    let mut talker = Client::join(server.local_addr(), "talker");
    let mut writer = talker.writer();
    // Far more than the lazy client's socket buffers and outbox hold; the writer stops
    // when the server is gone or the test is over.
    std::thread::spawn(move || {
        let line = format!("{}\n", "z".repeat(1000));
        for _ in 0..50_000 {
            if writer.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    talker.line_where(|line| line.contains("lazy") && line.contains("left"));
}

/// /metrics counts what happened: connections by listener, registered clients, lines,
/// deliveries and disconnects by reason.
#[test]
fn metrics_count_the_chat() {
    let (server, web) = web_server(web_config());
    let mut nc = Client::join(server.local_addr(), "tom");
    let mut browser = WsClient::join(web, "wendy");
    nc.line_where(|line| line.contains("wendy") && line.contains("joined"));
    browser.send("one");
    nc.expect("wendy: one");
    let mut quitter = Client::join(server.local_addr(), "quinn");
    quitter.send("/quit");
    quitter.line_where(|line| line.contains("Goodbye"));
    quitter.expect_closed();
    drop(quitter);
    nc.line_where(|line| line.contains("quinn") && line.contains("left"));
    let text = get(web, "/metrics").body;
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
    };
    assert_eq!(value("chat_connections{listener=\"plain\"}"), 1.0);
    // The WebSocket and this very request.
    assert_eq!(value("chat_connections{listener=\"http\"}"), 2.0);
    assert_eq!(value("chat_clients_registered"), 2.0);
    assert!(value("chat_lines_received_total") >= 5.0);
    assert!(value("chat_deliveries_total") >= 3.0);
    assert_eq!(value("chat_disconnects_total{reason=\"quit\"}"), 1.0);
    assert!(value("chat_bytes_received_total") > 0.0);
    assert!(value("chat_bytes_sent_total") > 0.0);
    assert!(value("chat_loop_pass_duration_seconds_count") > 0.0);
    assert_eq!(value("chat_store_dropped_records_total"), 0.0);
    assert_eq!(value("chat_tls_handshakes_failed_total"), 0.0);
}

/// --https-addr serves the same over TLS, with the TLS listener's certificate.
#[test]
fn the_web_over_tls_serves_the_same() {
    let cert = TestCert::new();
    let tls = cert.config().tls.expect("a TLS listener");
    let server = start(
        Backend::Mio,
        Config {
            https: Some(TlsConfig {
                addr: "127.0.0.1:0".parse().expect("a literal address"),
                identity: tls.identity,
            }),
            ..cert.config()
        },
    );
    let https = server.https_addr().expect("a web listener over TLS");
    let health = get_tls(https, &cert.client(), "/healthz");
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    let page = get_tls(https, &cert.client(), "/");
    assert!(page.body.starts_with("<!doctype html>"));
}

/// The binary says where to point a browser, and names --http-addr when its port is taken.
#[test]
fn the_log_says_where_to_browse_and_a_taken_port_is_named() {
    let first = ChildServer::spawn(Backend::Mio, &["--http-addr", "127.0.0.1:0"]);
    let web = first.http_addr.expect("the log names the web address");
    assert_eq!(get(web, "/healthz").status, 200);
    let taken = web.to_string();
    let log = ChildServer::refused(Backend::Mio, &["--http-addr", &taken]);
    assert!(log.contains(&taken) && log.contains("--http-addr"), "{log}");
}

/// The Tokio reference refuses the web flags by name, and starts without them.
#[cfg(feature = "tokio-impl")]
#[test]
fn the_tokio_reference_refuses_the_web_by_name() {
    for flags in [
        &["--http-addr", "127.0.0.1:0"][..],
        &["--https-addr", "127.0.0.1:0"],
    ] {
        let log = ChildServer::refused(Backend::Tokio, flags);
        assert!(
            log.contains(flags[0]) && log.contains("--backend mio"),
            "{log}"
        );
    }
    let server = ChildServer::spawn(Backend::Tokio, &[]);
    assert!(server.http_addr.is_none());
}

/// At shutdown a web client that has asked for nothing yet is let go at once, and a
/// WebSocket client gets the goodbye and a close frame.
#[test]
fn shutdown_says_goodbye_over_websocket_and_does_not_wait_for_idle_web_clients() {
    let (server, web) = web_server(web_config());
    let mut idle = connect_tcp(web);
    let mut browser = WsClient::join(web, "wendy");
    let started = Instant::now();
    server.stop().expect("a clean stop");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "shutdown waited {:?}",
        started.elapsed()
    );
    browser.line_where(|line| line.contains("shutting down"));
    assert_eq!(browser.expect_close(), CloseCode::Normal);
    let mut rest = Vec::new();
    assert_eq!(idle.read_to_end(&mut rest).expect("closed"), 0);
}
