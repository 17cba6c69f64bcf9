//! Soak: many clients for a long time, a third of them churning (joining, chatting a little,
//! leaving by /quit, close or reset, and coming back), the rest chatting steadily. Every
//! client that stays connected must receive every line of every other such client, in
//! order, and the server's memory must not grow from one crowd to the next.
//!
//! The short version runs with the rest of the tests. The long one (1,000 clients for 60 s)
//! is ignored by default: `cargo test --release --all-features -- --ignored soak`.
//! Each prints its figures.

mod util;

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use chat_tokio_stream::server::Backend;
use chat_tokio_stream::sys;
use util::{reset, rss_bytes, ChildServer, Client};

/// The size of a soak.
#[derive(Clone, Copy)]
struct Plan {
    clients: usize,
    duration: Duration,
    /// How often each steady client says something.
    line_interval: Duration,
}

/// What one steady client saw.
struct Tally {
    delivered: usize,
    lost: usize,
}

/// A blocking line reader that survives read timeouts without losing a partial line.
struct LineReader {
    reader: BufReader<TcpStream>,
    partial: Vec<u8>,
}

impl LineReader {
    /// The next line if one arrives before `deadline`.
    fn line_before(&mut self, deadline: Instant) -> Option<String> {
        let wait = deadline
            .checked_duration_since(Instant::now())
            .filter(|w| !w.is_zero())?;
        self.reader
            .get_ref()
            .set_read_timeout(Some(wait))
            .expect("set a read timeout");
        match self.reader.read_until(b'\n', &mut self.partial) {
            Ok(0) => panic!("the server closed a steady client's connection"),
            Ok(_) if self.partial.ends_with(b"\n") => {
                let line =
                    String::from_utf8_lossy(&self.partial[..self.partial.len() - 1]).into_owned();
                self.partial.clear();
                Some(line)
            }
            Ok(_) => None,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Err(e) => panic!("a steady client's read failed: {e}"),
        }
    }
}

/// Connects and registers `nick`; returns the stream for writing and a reader.
fn register(addr: SocketAddr, nick: &str) -> (TcpStream, LineReader) {
    let stream = TcpStream::connect(addr).expect("connect");
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = LineReader {
        reader: BufReader::new(stream),
        partial: Vec::new(),
    };
    writer
        .write_all(format!("{nick}\n").as_bytes())
        .expect("send the nickname");
    let give_up = Instant::now() + Duration::from_secs(30);
    loop {
        let line = reader
            .line_before(give_up)
            .unwrap_or_else(|| panic!("{nick}: no welcome"));
        if line.starts_with("*** Welcome, ") {
            return (writer, reader);
        }
    }
}

/// A steady client: says numbered lines every `interval` until `stop`, checks that every
/// other steady client's lines arrive complete and in order, and reports what it saw.
#[allow(clippy::too_many_arguments)] // One thread's whole job; a struct would only rename them.
fn steady(
    addr: SocketAddr,
    me: usize,
    steadies: usize,
    interval: Duration,
    stop: &std::sync::OnceLock<Instant>,
    sent: &[AtomicUsize],
    registered: &Barrier,
    finished: &Barrier,
) -> Tally {
    let (mut writer, mut reader) = register(addr, &format!("s{me}"));
    registered.wait();
    let stop = *stop.wait();
    let mut next_expected = vec![0usize; steadies];
    let mut next_send = Instant::now() + interval.mul_f64(me as f64 / steadies as f64);
    let mut seq = 0;
    let take = |line: &str, next_expected: &mut Vec<usize>| {
        let Some((nick, text)) = line.split_once(": ") else {
            return;
        };
        let Some(from) = nick.strip_prefix('s').and_then(|n| n.parse::<usize>().ok()) else {
            return;
        };
        let n: usize = text
            .parse()
            .unwrap_or_else(|_| panic!("s{me}: bad line {line:?}"));
        assert_eq!(
            n, next_expected[from],
            "s{me}: line from s{from} out of order or lost"
        );
        next_expected[from] += 1;
    };
    while Instant::now() < stop {
        if Instant::now() >= next_send {
            writer
                .write_all(format!("{seq}\n").as_bytes())
                .expect("send a line");
            seq += 1;
            next_send += interval;
        }
        while let Some(line) = reader.line_before(next_send.min(stop)) {
            take(&line, &mut next_expected);
        }
    }
    sent[me].store(seq, Ordering::SeqCst);
    finished.wait();
    let give_up = Instant::now() + Duration::from_secs(60);
    let expected = |from: usize| {
        if from == me {
            0
        } else {
            sent[from].load(Ordering::SeqCst)
        }
    };
    while (0..steadies).any(|from| next_expected[from] < expected(from)) {
        match reader.line_before(give_up) {
            Some(line) => take(&line, &mut next_expected),
            None => break,
        }
    }
    let wanted: usize = (0..steadies).map(expected).sum();
    let got: usize = next_expected
        .iter()
        .enumerate()
        .filter(|&(from, _)| from != me)
        .map(|(_, n)| n)
        .sum();
    Tally {
        delivered: got,
        lost: wanted - got,
    }
}

/// A churning client: joins under a fresh nickname, chats a little, leaves by /quit, close
/// or reset, and comes back, until `stop`.
fn churn(addr: SocketAddr, me: usize, stop: Instant) -> usize {
    let mut visits = 0;
    while Instant::now() < stop {
        let (mut writer, mut reader) = register(addr, &format!("c{me}v{visits}"));
        let stay = Duration::from_millis(200 + ((me * 7919 + visits * 104_729) % 1300) as u64);
        let leave_at = Instant::now() + stay;
        let _ = writer.write_all(b"passing through\n");
        while reader.line_before(leave_at).is_some() {}
        match visits % 3 {
            0 => drop(writer.write_all(b"/quit see you\n")),
            1 => drop(writer),
            _ => reset(writer),
        }
        visits += 1;
    }
    visits
}

/// Joins as `probe`, waits until it is alone in the lobby (everyone else has left), leaves,
/// and lets the server settle.
fn visit_alone(addr: SocketAddr) {
    let mut probe = Client::join(addr, "probe");
    let give_up = Instant::now() + Duration::from_secs(30);
    loop {
        probe.send("/who");
        let members = probe.line_where(|l| l.contains(" in #lobby"));
        if members.starts_with("*** 1 member ") {
            break;
        }
        assert!(
            Instant::now() < give_up,
            "clients still connected: {members}"
        );
        thread::sleep(Duration::from_millis(100));
    }
    drop(probe);
    thread::sleep(Duration::from_millis(500));
}

/// What a round of clients did.
struct Round {
    steadies: usize,
    churners: usize,
    registered_in: Duration,
    churn_visits: usize,
    said: usize,
    delivered: usize,
    lost: usize,
    /// The server's RSS in the middle of the round.
    rss_during: u64,
}

/// Runs `plan`'s clients against the server at `addr` (process `pid`) until they are done.
fn round(addr: SocketAddr, pid: u32, plan: &Plan) -> Round {
    let steadies = plan.clients * 2 / 3;
    let churners = plan.clients - steadies;
    let sent: Arc<Vec<AtomicUsize>> =
        Arc::new((0..steadies).map(|_| AtomicUsize::new(0)).collect());
    let registered = Arc::new(Barrier::new(steadies + 1));
    let finished = Arc::new(Barrier::new(steadies));
    let started = Instant::now();
    // Steady clients stop talking at `stop`; it is moved back once all of them are in.
    let stop = Arc::new(std::sync::OnceLock::new());
    let steady_threads: Vec<_> = (0..steadies)
        .map(|me| {
            let (sent, registered, finished, stop) = (
                Arc::clone(&sent),
                Arc::clone(&registered),
                Arc::clone(&finished),
                Arc::clone(&stop),
            );
            let interval = plan.line_interval;
            thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || {
                    steady(
                        addr,
                        me,
                        steadies,
                        interval,
                        &stop,
                        &sent,
                        &registered,
                        &finished,
                    )
                })
                .expect("spawn a steady client")
        })
        .collect();
    registered.wait();
    let registered_in = started.elapsed();
    let end = Instant::now() + plan.duration;
    stop.set(end).expect("set once");
    let churn_threads: Vec<_> = (0..churners)
        .map(|me| {
            thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || churn(addr, me, end))
                .expect("spawn a churner")
        })
        .collect();
    thread::sleep(plan.duration / 2);
    let rss_during = rss_bytes(pid);
    let tallies: Vec<Tally> = steady_threads
        .into_iter()
        .map(|t| t.join().expect("a steady client finished"))
        .collect();
    let churn_visits = churn_threads
        .into_iter()
        .map(|t| t.join().expect("a churner finished"))
        .sum();
    Round {
        steadies,
        churners,
        registered_in,
        churn_visits,
        said: sent.iter().map(|s| s.load(Ordering::SeqCst)).sum(),
        delivered: tallies.iter().map(|t| t.delivered).sum(),
        lost: tallies.iter().map(|t| t.lost).sum(),
        rss_during,
    }
}

/// Checks that every line of every steady client reached every other one.
fn assert_complete(round: &Round) {
    assert_eq!(round.lost, 0, "lines lost between steady clients");
    assert!(
        round.said > 0 && round.delivered == round.said * (round.steadies - 1),
        "every line reaches every other steady client"
    );
}

/// Runs two crowds of `plan` against `backend`, one after the other, and checks delivery and
/// memory: after the second has left, the server holds no more than after the first (within
/// 10% or 2 MiB, whichever is larger). The first crowd leaves what a server keeps by design
/// (allocator caches, tables at their high-water mark); a leak grows with every crowd.
fn soak(backend: Backend, plan: Plan) {
    let _ = sys::raise_open_file_limit();
    // A store on disk, as users run it: an in-memory one would grow with every line said,
    // which is storage, not a leak.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("soak.db");
    let db = db.to_str().expect("a UTF-8 path");
    let server = ChildServer::spawn(backend, &["--db", db]);
    let addr = server.addr;
    let first = round(addr, server.pid(), &plan);
    assert_complete(&first);
    visit_alone(addr);
    let rss_first = rss_bytes(server.pid());
    let second = round(addr, server.pid(), &plan);
    assert_complete(&second);
    visit_alone(addr);
    let rss_second = rss_bytes(server.pid());
    for (name, crowd, rss) in [
        ("first", &first, rss_first),
        ("second", &second, rss_second),
    ] {
        println!(
            "soak {} {name} crowd: {} clients ({} steady, {} churning, {} churn visits) for {:?}; \
             all registered in {:?}; {} lines said, {} delivered, {} lost; \
             server RSS {} KiB during, {} KiB after",
            backend.name(),
            plan.clients,
            crowd.steadies,
            crowd.churners,
            crowd.churn_visits,
            plan.duration,
            crowd.registered_in,
            crowd.said,
            crowd.delivered,
            crowd.lost,
            crowd.rss_during / 1024,
            rss / 1024,
        );
    }
    let allowed = (rss_first / 10).max(2 << 20);
    assert!(
        rss_second <= rss_first + allowed,
        "server RSS {rss_second} bytes after the second crowd, {rss_first} after the first: \
         more than {allowed} bytes up"
    );
}

/// A few seconds, 90 clients: runs with every `cargo test`.
fn soak_short(backend: Backend) {
    soak(
        backend,
        Plan {
            clients: 90,
            duration: Duration::from_secs(3),
            line_interval: Duration::from_millis(250),
        },
    );
}

backend_tests!(soak_short);

/// 1,000 clients for 60 s.
fn soak_long(backend: Backend) {
    soak(
        backend,
        Plan {
            clients: 1000,
            duration: Duration::from_secs(60),
            line_interval: Duration::from_secs(5),
        },
    );
}

#[test]
#[ignore = "a minute; run with --release -- --ignored soak"]
fn soak_long_mio() {
    soak_long(Backend::Mio);
}

#[cfg(feature = "tokio-impl")]
#[test]
#[ignore = "a minute; run with --release -- --ignored soak"]
fn soak_long_tokio() {
    soak_long(Backend::Tokio);
}
