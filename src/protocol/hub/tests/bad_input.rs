//! Bad input, checked in memory: over-long nicknames and last lines, and Telnet's commands.

use super::*;

#[test]
fn an_over_long_nickname_gets_the_error_and_the_prompt_again() {
    let mut w = World::new(Config {
        max_line: 16,
        ..Config::default()
    });
    w.connect(0);
    w.take(0);
    w.send(0, &[b'x'; 5000]);
    w.send(0, b"\n");
    let got = w.take(0);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("!!! line too long"), "{got:?}");
    assert!(got[1].contains("nickname"), "{got:?}");
    w.line(0, "alice");
    assert!(w.take(0)[0].starts_with("*** Welcome, alice"));
}

#[test]
fn an_over_long_last_line_before_the_end_of_input_is_reported() {
    let mut w = World::new(Config {
        max_line: 8,
        ..Config::default()
    });
    w.join(0, "alice");
    w.join(1, "bob");
    w.drain();
    w.send(1, b"this is far too long");
    w.end_of_input(1);
    let got = w.take(1);
    assert!(got[0].starts_with("!!! line too long"), "{got:?}");
    assert_eq!(w.take(0), ["*** bob left #lobby"]);
}

#[test]
fn telnet_ctrl_c_leaves_and_its_timing_mark_is_answered() {
    let mut w = world();
    w.join(0, "alice");
    w.connect_as(1, true);
    w.line(1, "bob");
    w.drain();
    w.send(1, b"still here?\r\n\xff\xf4\xff\xfd\x06");
    assert_eq!(
        w.take(0),
        ["bob: still here?", "*** bob left #lobby"],
        "the command bytes are never relayed"
    );
    assert_eq!(
        w.take(1),
        ["raw [255, 251, 6]", "*** Goodbye!"],
        "the timing mark is granted first, or telnet would not show the goodbye"
    );
    assert_eq!(w.out.closed, [ClientId(1)]);
}

#[test]
fn telnet_negotiation_is_refused_and_ctrl_d_alone_leaves() {
    let mut w = world();
    w.join(0, "alice");
    w.connect_as(1, true);
    w.line(1, "bob");
    w.drain();
    w.send(1, b"\xff\xfd\x18\xff\xfb\x1fhi\r\n");
    assert_eq!(
        w.take(1),
        ["raw [255, 252, 24]", "raw [255, 254, 31]"],
        "WONT and DONT"
    );
    assert_eq!(w.take(0), ["bob: hi"]);
    w.send(1, b"\x04\r\n");
    assert_eq!(w.take(0), ["*** bob left #lobby"]);
    assert_eq!(w.out.closed, [ClientId(1)]);
}
