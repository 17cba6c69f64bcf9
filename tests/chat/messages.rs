//! Contract items 4 and 5: chat lines reach everyone else in the room, in order, without
//! echo and without loss; departures are announced however the client went away.

use std::thread;

use crate::util::{config, start, unpaced, Client};
use chat_tokio_stream::config::Config;
use chat_tokio_stream::server::Backend;

/// A line from alice reaches every other member as "alice: text", and not alice herself.
fn a_line_reaches_everyone_else_and_is_not_echoed(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut bob = Client::join(addr, "bob");
    let mut carol = Client::join(addr, "carol");
    alice.line_where(|l| l.contains("carol joined"));
    alice.send("hello, world");
    bob.line_where(|l| !l.starts_with("*** "));
    // bob got it; now carol must get exactly the same line.
    carol.expect("alice: hello, world");
    // If alice's own line had been echoed, it would come before this one.
    bob.send("ping");
    alice.expect("bob: ping");
}

/// Several lines in one write are all delivered, in order; so are a nickname and a first
/// message sent together.
fn lines_sent_together_arrive_in_order(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let mut bob = Client::join(addr, "bob");
    let mut alice = Client::connect(addr);
    alice.read_prompt();
    alice.send_raw(b"alice\none\ntwo\nthree\n");
    bob.expect("*** alice joined #lobby");
    bob.expect("alice: one");
    bob.expect("alice: two");
    bob.expect("alice: three");
}

/// Five senders each send 1000 numbered lines as fast as they can (flood control off);
/// every receiver gets all 5000, each sender's lines in the order sent.
fn five_senders_reach_every_receiver_complete_and_in_order(backend: Backend) {
    const SENDERS: usize = 5;
    const LINES: usize = 1000;
    let server = start(backend, unpaced());
    let addr = server.local_addr();
    let mut receivers: Vec<Client> = (0..3)
        .map(|i| Client::join(addr, &format!("r{i}")))
        .collect();
    let mut senders: Vec<Client> = (0..SENDERS)
        .map(|i| Client::join(addr, &format!("s{i}")))
        .collect();
    for receiver in &mut receivers {
        receiver.line_where(|l| l.contains(&format!("s{} joined", SENDERS - 1)));
    }
    let sending: Vec<_> = senders
        .drain(..)
        .enumerate()
        .map(|(s, mut sender)| {
            thread::spawn(move || {
                let batch: String = (0..LINES)
                    .map(|n| format!("line {n} from s{s}\n"))
                    .collect();
                sender.send_raw(batch.as_bytes());
                sender
            })
        })
        .collect();
    let receiving: Vec<_> = receivers
        .drain(..)
        .map(|mut receiver| {
            thread::spawn(move || {
                let mut next = [0usize; SENDERS];
                for _ in 0..SENDERS * LINES {
                    let line = receiver.line();
                    let (nick, text) = line
                        .split_once(": ")
                        .unwrap_or_else(|| panic!("not a chat line: {line:?}"));
                    let s: usize = nick[1..].parse().expect("a sender number");
                    assert_eq!(
                        text,
                        format!("line {} from s{s}", next[s]),
                        "{}: out of order",
                        receiver.name
                    );
                    next[s] += 1;
                }
                assert_eq!(next, [LINES; SENDERS]);
            })
        })
        .collect();
    for receiving in receiving {
        receiving
            .join()
            .expect("a receiver got every line in order");
    }
    for sending in sending {
        drop(sending.join().expect("a sender finished"));
    }
}

/// A client that closes its connection is announced as having left.
fn closing_the_connection_is_announced(backend: Backend) {
    let server = start(backend, config());
    let mut alice = Client::join(server.local_addr(), "alice");
    let bob = Client::join(server.local_addr(), "bob");
    alice.line_where(|l| l.contains("bob joined"));
    drop(bob);
    let notice = alice.line();
    assert!(
        notice.starts_with("*** ") && notice.contains("bob") && notice.contains("left"),
        "{notice:?}"
    );
}

/// A client that resets its connection is announced as having left, and the server carries
/// on serving the others.
fn a_reset_connection_is_announced_and_the_rest_carry_on(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    bob.reset();
    let notice = alice.line();
    assert!(
        notice.starts_with("*** ") && notice.contains("bob") && notice.contains("left"),
        "{notice:?}"
    );
    let mut carol = Client::join(addr, "carol");
    carol.send("still here");
    alice.line_where(|l| l == "carol: still here");
}

/// `printf 'alice\nhi' | nc`: a last line without a newline is still delivered, then the
/// client leaves.
fn an_unterminated_last_line_is_delivered_at_end_of_input(backend: Backend) {
    let server = start(backend, config());
    let mut bob = Client::join(server.local_addr(), "bob");
    let mut alice = Client::connect(server.local_addr());
    alice.send_raw(b"alice\nlast words");
    alice.shutdown_write();
    bob.expect("*** alice joined #lobby");
    bob.expect("alice: last words");
    assert!(bob.line().contains("alice left"));
    alice.line_where(|l| l.starts_with("*** Welcome, alice"));
    alice.expect_closed();
}

/// Leave notices also stop past --announce-limit.
fn leave_notices_stop_past_the_announce_limit(backend: Backend) {
    let server = start(
        backend,
        Config {
            announce_limit: 2,
            ..config()
        },
    );
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    let mut carol = Client::join(addr, "carol");
    drop(bob);
    // Three members when bob left: no notice. carol's line is the next thing alice hears.
    carol.send("marker");
    alice.expect("carol: marker");
}

/// After a crowd has come and gone (the point at which a server gives memory back, moving
/// its event loop or restarting its runtime), it serves newcomers as before, and more than
/// once.
fn the_server_serves_on_after_a_crowd_has_come_and_gone(backend: Backend) {
    let server = start(backend, config());
    let addr = server.local_addr();
    for round in 0..2 {
        let crowd: Vec<Client> = (0..40)
            .map(|i| Client::join(addr, &format!("c{round}x{i}")))
            .collect();
        drop(crowd);
        // Once a probe finds itself alone and leaves, the server has had no client at all.
        let mut probe = Client::join(addr, &format!("probe{round}"));
        loop {
            probe.send("/who");
            if probe
                .line_where(|l| l.contains(" in #lobby"))
                .starts_with("*** 1 member ")
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        drop(probe);
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut alice = Client::join(addr, &format!("alice{round}"));
        let mut bob = Client::join(addr, &format!("bob{round}"));
        alice.line_where(|l| l.contains(&format!("bob{round} joined")));
        bob.send("still serving");
        alice.line_where(|l| l == format!("bob{round}: still serving"));
    }
}

backend_tests!(
    a_line_reaches_everyone_else_and_is_not_echoed,
    lines_sent_together_arrive_in_order,
    five_senders_reach_every_receiver_complete_and_in_order,
    closing_the_connection_is_announced,
    a_reset_connection_is_announced_and_the_rest_carry_on,
    an_unterminated_last_line_is_delivered_at_end_of_input,
    leave_notices_stop_past_the_announce_limit,
    the_server_serves_on_after_a_crowd_has_come_and_gone,
);
