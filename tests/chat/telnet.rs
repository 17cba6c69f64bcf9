//! A `telnet` client on the plain listener, with the bytes telnet really sends: its commands
//! are understood and never relayed as chat (RFC 854, RFC 860).

use chat_tokio_stream::server::Backend;

use crate::util::{config, start, Client};

/// Ctrl-C in telnet sends IAC IP, IAC DO TIMING-MARK: the timing mark is granted (or telnet
/// would show nothing more), the client gets its goodbye, the room sees it leave, and none
/// of the bytes are relayed.
fn ctrl_c_leaves_with_a_goodbye_telnet_can_show(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut carol = Client::join(addr, "carol");
    alice.line_where(|l| l.contains("carol joined"));
    carol.send_raw(b"still here?\r\n\xff\xf4\xff\xfd\x06");
    alice.expect("carol: still here?");
    alice.expect("*** carol left #lobby");
    let mut rest = Vec::new();
    carol.read_to_end(&mut rest);
    assert_eq!(
        rest, b"\xff\xfb\x06*** Goodbye!\n",
        "WILL TIMING-MARK, then the goodbye, then the close"
    );
}

/// Option negotiation is refused (WONT for DO, DONT for WILL) and the surrounding text is
/// chat as if the commands were not there; subnegotiation is skipped whole.
fn options_are_refused_and_taken_out_of_the_text(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut bob = Client::connect(addr);
    bob.read_prompt();
    bob.send_raw(b"\xff\xfd\x18\xff\xfb\x1fbob\r\n");
    let mut answers = [0u8; 6];
    bob.read_exact(&mut answers);
    assert_eq!(answers, *b"\xff\xfc\x18\xff\xfe\x1f", "WONT 24, DONT 31");
    bob.line_where(|l| l.starts_with("*** Welcome, bob"));
    alice.expect("*** bob joined #lobby");
    bob.send_raw(b"he\xff\xfa\x18\x00xterm\xff\xf0llo\r\n");
    alice.expect("bob: hello");
}

/// A literal 0xFF arrives from telnet as IAC IAC, and becomes U+FFFD like any byte that is
/// not UTF-8; a line that is only Ctrl-D leaves.
fn an_escaped_ff_is_data_and_ctrl_d_leaves(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    bob.send_raw(b"a\xff\xffb\r\n");
    alice.expect("bob: a\u{fffd}b");
    bob.send_raw(b"\x04\r\n");
    alice.expect("*** bob left #lobby");
    bob.expect("*** Goodbye!");
    bob.expect_closed();
}

backend_tests!(
    ctrl_c_leaves_with_a_goodbye_telnet_can_show,
    options_are_refused_and_taken_out_of_the_text,
    an_escaped_ff_is_data_and_ctrl_d_leaves,
);
