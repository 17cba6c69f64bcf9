//! Hardening, round two: what a determined attacker found, each a test (docs/SECURITY.md,
//! "attacks tried"). The bounds on time are generous, for a debug build on a busy machine:
//! they catch a server that lets one client hold up others, not a slow one.

use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chat_tokio_stream::server::Backend;

use crate::util::{config, start, unpaced, ChildServer, Client};

/// A client that sends lines as fast as the server takes them, in a room of its own, until
/// told to stop.
struct Flooder {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Flooder {
    fn start(addr: SocketAddr, nick: &str) -> Flooder {
        let mut client = Client::join(addr, nick);
        client.send(&format!("/join #{nick}"));
        let moved = format!("*** You are now in #{nick} with 0 others.");
        client.line_where(|l| l == moved);
        let mut stream = client.writer();
        stream
            .set_write_timeout(Some(Duration::from_millis(100)))
            .expect("a write timeout");
        let chunk: Vec<u8> = (0..2048)
            .flat_map(|n| format!("flood line {n:05} with some padding\n").into_bytes())
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let _client = client;
            while !flag.load(Ordering::Relaxed) {
                match stream.write(&chunk) {
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => return,
                }
            }
        });
        Flooder { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the flooder stops");
    }
}

/// The median and the worst of `rounds` round trips between `alice` and `bob`.
fn round_trips(alice: &mut Client, bob: &mut Client, rounds: usize) -> (Duration, Duration) {
    round_trips_apart(alice, bob, rounds, Duration::ZERO)
}

/// [`round_trips`], `pause` apart.
fn round_trips_apart(
    alice: &mut Client,
    bob: &mut Client,
    rounds: usize,
    pause: Duration,
) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|n| {
            thread::sleep(pause);
            let sent = Instant::now();
            alice.send(&format!("ping {n}"));
            bob.line_where(|l| l == format!("alice: ping {n}"));
            bob.send(&format!("pong {n}"));
            alice.line_where(|l| l == format!("bob: pong {n}"));
            sent.elapsed()
        })
        .collect();
    times.sort();
    (times[rounds / 2], times[rounds - 1])
}

/// Flood control off, two clients sending as fast as the server reads: an unrelated pair's
/// round trip stays short and newcomers join at once. (Before: the mio loop's read budget
/// limited nothing, and a pair's round trip went from 0.2 ms to 100 ms at the median; Tokio
/// stalled joins for seconds.)
fn flooders_slow_nobody_else(backend: Backend) {
    let server = start(backend, unpaced());
    let addr = server.local_addr();
    let mut alice = Client::join(addr, "alice");
    let mut bob = Client::join(addr, "bob");
    alice.line_where(|l| l.contains("bob joined"));
    let flooders = [Flooder::start(addr, "f1"), Flooder::start(addr, "f2")];
    thread::sleep(Duration::from_millis(300));
    let (median, worst) = round_trips(&mut alice, &mut bob, 40);
    let joining = Instant::now();
    let _late = Client::join(addr, "late");
    let join = joining.elapsed();
    for flooder in flooders {
        flooder.stop();
    }
    println!(
        "{}: under two flooders, round trip median {median:?}, worst {worst:?}; a join {join:?}",
        backend.name()
    );
    assert!(
        median < Duration::from_millis(100) && worst < Duration::from_secs(2),
        "round trips under a flood: median {median:?}, worst {worst:?}"
    );
    assert!(join < Duration::from_secs(2), "a join took {join:?}");
}

/// Reads every line `client` gets until `want` chat lines have come (checking that none says
/// it was dropped), and returns how many came.
fn read_chat(mut client: Client, want: usize) -> JoinHandle<usize> {
    thread::spawn(move || {
        let mut got = 0;
        while got < want {
            let line = client.line();
            assert!(!line.contains("too slow"), "{}: {line}", client.name);
            if !line.starts_with("*** ") {
                got += 1;
            }
        }
        got
    })
}

/// `senders` clients join, then each sends `burst` lines of 2,000 bytes at once, one right
/// after the other; returns them, connected.
fn legal_bursts(addr: SocketAddr, senders: usize, burst: usize) -> Vec<Client> {
    let mut clients: Vec<Client> = (0..senders)
        .map(|n| Client::join(addr, &format!("sender{n}")))
        .collect();
    let padding = "z".repeat(2000);
    for (n, sender) in clients.iter_mut().enumerate() {
        let lines: String = (0..burst).map(|m| format!("{n}.{m} {padding}\n")).collect();
        sender.send_raw(lines.as_bytes());
    }
    clients
}

/// Thirty clients each send a legal burst (20 lines of 2,000 bytes, within --rate-limit 10's
/// burst of 20): readers that keep reading get all 600 lines and none is dropped, though that
/// is more than --max-outbuf (1 MiB) for each. (Before: five readers were dropped after 20
/// lines, because the output bound was judged before anything was written.)
fn readers_that_keep_up_survive_every_legal_burst(backend: Backend) {
    const SENDERS: usize = 30;
    const BURST: usize = 20;
    let server = start(backend, config());
    let addr = server.local_addr();
    let readers: Vec<JoinHandle<usize>> = (0..5)
        .map(|n| read_chat(Client::join(addr, &format!("reader{n}")), SENDERS * BURST))
        .collect();
    let _senders = legal_bursts(addr, SENDERS, BURST);
    for reader in readers {
        assert_eq!(reader.join().expect("a reader finished"), SENDERS * BURST);
    }
}

/// With flood control off, one sender's bursts of 2,000-byte lines reach every reader that
/// keeps reading, in order, while a client that reads nothing is dropped as too slow once its
/// socket refuses more than --max-outbuf. (Before: readers were dropped having received
/// nothing.)
fn one_sender_cannot_get_fast_readers_dropped(backend: Backend) {
    const CHUNK: usize = 500;
    let server = start(backend, unpaced());
    let addr = server.local_addr();
    let _sleeper = Client::join(addr, "sleeper");
    let sleeper_dropped = Arc::new(AtomicBool::new(false));
    let readers: Vec<JoinHandle<usize>> = (0..5)
        .map(|n| {
            let mut reader = Client::join(addr, &format!("reader{n}"));
            let dropped = Arc::clone(&sleeper_dropped);
            thread::spawn(move || {
                let mut next = 0;
                loop {
                    let line = reader.line();
                    if line == "sender: end" {
                        return next;
                    }
                    if line == "*** sleeper left #lobby (too slow to keep up)" {
                        dropped.store(true, Ordering::SeqCst);
                    } else if let Some(rest) = line.strip_prefix("sender: ") {
                        let number = rest.split(' ').next().expect("a number");
                        assert_eq!(number, next.to_string(), "{}: out of order", reader.name);
                        next += 1;
                    } else {
                        assert!(!line.contains("too slow"), "{}: {line}", reader.name);
                    }
                }
            })
        })
        .collect();
    let mut sender = Client::join(addr, "sender");
    let padding = "w".repeat(2000);
    let mut said = 0;
    while !sleeper_dropped.load(Ordering::SeqCst) {
        assert!(
            said < 20_000,
            "the client that never reads was never dropped"
        );
        let chunk: String = (said..said + CHUNK)
            .map(|n| format!("{n} {padding}\n"))
            .collect();
        sender.send_raw(chunk.as_bytes());
        said += CHUNK;
        thread::sleep(Duration::from_millis(50));
    }
    sender.send("end");
    for reader in readers {
        assert_eq!(reader.join().expect("a reader finished"), said);
    }
}

/// A crowd of 1,300 in one room, each saying one line at the same moment: every line reaches
/// every other member. (Before: Tokio dropped 275 of them, its room channel overrun.)
fn a_crowd_saying_one_line_each_loses_nobody(backend: Backend) {
    const CROWD: usize = 1300;
    let _ = chat_tokio_stream::sys::raise_open_file_limit();
    let server = start(backend, config());
    let addr = server.local_addr();
    let mut crowd: Vec<Client> = (0..CROWD)
        .map(|n| Client::join(addr, &format!("m{n}")))
        .collect();
    let go = Arc::new(std::sync::Barrier::new(CROWD));
    let members: Vec<JoinHandle<usize>> = crowd
        .drain(..)
        .enumerate()
        .map(|(n, mut member)| {
            let go = Arc::clone(&go);
            thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    go.wait();
                    member.send(&format!("hello from {n}"));
                    let mut got = 0;
                    while got < CROWD - 1 {
                        let line = member.line();
                        assert!(!line.contains("left"), "m{n}: {line}");
                        if line.contains(": hello from ") {
                            got += 1;
                        }
                    }
                    got
                })
                .expect("spawn a member")
        })
        .collect();
    for member in members {
        assert_eq!(member.join().expect("a member finished"), CROWD - 1);
    }
}

/// [`round_trips`], as a figure for a report: a server that holds a line past the client's
/// patience ([`crate::util::LINE_TIMEOUT`]) is reported so, not a failure.
fn round_trip_figure(alice: &mut Client, bob: &mut Client, rounds: usize) -> String {
    let measured = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        round_trips_apart(alice, bob, rounds, Duration::from_millis(150))
    }));
    match measured {
        Ok((median, worst)) => format!("round trip median {median:?}, worst {worst:?}"),
        Err(_) => format!("a round trip took over {:?}", crate::util::LINE_TIMEOUT),
    }
}

/// The server binary the figures are taken on: `CHAT_BINARY`, or this build's, run in `dir`
/// (where it may keep its files).
fn figures_binary(dir: &std::path::Path) -> Command {
    let path = std::env::var("CHAT_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_chat-tokio-stream").to_string());
    let mut command = Command::new(path);
    command
        .args(["--addr", "127.0.0.1:0", "--backend", "mio"])
        .args(
            std::env::var("CHAT_FLAGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .current_dir(dir)
        .env("RUST_LOG", "info");
    command
}

/// Items 1-3 of the attacks issue as figures, on the binary `CHAT_BINARY` names (default:
/// this build's) with its default flags plus `CHAT_FLAGS`, so that a build from before the
/// fixes can be measured the same way. The pair's round trips are 150 ms apart, under any
/// pace the server sets:
///
/// ```sh
/// CHAT_BINARY=path/to/chat-tokio-stream CHAT_FLAGS="--rate-limit 0" \
///     cargo test --release --all-features --test chat attack_figures -- --ignored --nocapture
/// ```
#[test]
#[ignore = "figures for the closing note, not a check: run by hand"]
fn attack_figures() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = ChildServer::run(figures_binary(dir.path()));
    let addr = server.addr;
    let mut alice = Client::join(addr, "alice");
    let mut bob = Client::join(addr, "bob");
    alice.send("/join #pair");
    bob.send("/join #pair");
    alice.line_where(|l| l.contains("bob joined #pair"));
    println!("quiet: {}", round_trip_figure(&mut alice, &mut bob, 100));
    for count in [1, 4] {
        let flooders: Vec<Flooder> = (0..count)
            .map(|n| Flooder::start(addr, &format!("f{count}x{n}")))
            .collect();
        thread::sleep(Duration::from_millis(500));
        let trips = round_trip_figure(&mut alice, &mut bob, 100);
        let joining = Instant::now();
        let _late = Client::join(addr, &format!("late{count}"));
        let join = joining.elapsed();
        flooders.into_iter().for_each(Flooder::stop);
        println!("{count} flooder(s): {trips}; a join took {join:?}");
    }

    let crowd: Vec<Client> = (0..5000)
        .map(|n| {
            let source = std::net::IpAddr::from([127, 0, 0, 2 + (n % 2) as u8]);
            let mut member = Client::connect_from(addr, source);
            member.send(&format!("m{n}"));
            member
        })
        .collect();
    let mut askers: Vec<Client> = (0..20)
        .map(|n| Client::join(addr, &format!("who{n}")))
        .collect();
    let burst = "/who\n".repeat(20);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<JoinHandle<()>> = askers
        .iter_mut()
        .map(|asker| {
            let mut stream = asker.writer();
            let (stop, burst) = (Arc::clone(&stop), burst.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if stream.write_all(burst.as_bytes()).is_err() {
                        return;
                    }
                    thread::sleep(Duration::from_millis(100));
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    let trips = round_trip_figure(&mut alice, &mut bob, 50);
    stop.store(true, Ordering::Relaxed);
    writers
        .into_iter()
        .for_each(|w| w.join().expect("a writer stops"));
    println!("20 clients asking /who of 5,000 members: {trips}");
    drop((askers, crowd));

    const SENDERS: usize = 30;
    const BURST: usize = 20;
    let readers: Vec<JoinHandle<bool>> = (0..5)
        .map(|n| {
            let mut reader = Client::join(addr, &format!("reader{n}"));
            thread::spawn(move || {
                let mut got = 0;
                while got < SENDERS * BURST {
                    let line = reader.line();
                    if line.contains("too slow") {
                        return false;
                    }
                    got += usize::from(!line.starts_with("*** "));
                }
                true
            })
        })
        .collect();
    let _senders = legal_bursts(addr, SENDERS, BURST);
    let dropped = readers
        .into_iter()
        .map(|reader| reader.join().unwrap_or(false))
        .filter(|kept| !kept)
        .count();
    println!("30 legal bursts of 20 lines of 2,000 bytes: {dropped} of 5 reading clients dropped");
}

backend_tests!(
    flooders_slow_nobody_else,
    readers_that_keep_up_survive_every_legal_burst,
    one_sender_cannot_get_fast_readers_dropped,
    a_crowd_saying_one_line_each_loses_nobody,
);
