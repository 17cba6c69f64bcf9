//! File descriptors: churn must not leak them, and running out of them must neither spin
//! the server nor stop it accepting for good. Its own test binary, tests taken one at a
//! time, because the churn test counts this whole process's descriptors.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chat_tokio_stream::server::Backend;
use util::{config, start, ChildServer, Client};

/// Held by each test so that descriptor counts and limits never overlap.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Descriptors this process has open.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .count()
}

/// Waits (up to 10 s) for the open descriptors to come down to `target`; returns the count.
fn settle_to(target: usize) -> usize {
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let open = open_descriptors();
        if open <= target || Instant::now() > give_up {
            return open;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CPU time (user + system) process `pid` has used so far, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/<pid>/stat");
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .expect("a numeric stat field")
    };
    field(14) + field(15)
}

/// Sets the soft open-file limit of process `pid` (keeping its hard limit).
fn set_open_file_limit(pid: u32, soft: u64) {
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit with a null new limit only fills `old`, a struct we own.
    assert_eq!(
        unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) },
        0
    );
    let new = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: old.rlim_max,
    };
    // SAFETY: prlimit reads `new`, a struct we own, and changes only the child's limit.
    assert_eq!(
        unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &new, std::ptr::null_mut()) },
        0
    );
}

/// 2,000 connections opened and closed (a mix of silent closes, registrations that quit, and
/// resets) leave the process with the descriptors it had before.
fn connect_close_cycles_return_descriptors(backend: Backend) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(backend, config());
    let addr = server.local_addr();
    // Warm up, so that the baseline includes whatever the server opens once (runtime, etc.).
    drop(Client::join(addr, "warmup"));
    let mut watcher = Client::join(addr, "watcher");
    let baseline = open_descriptors();
    for cycle in 0..2000 {
        match cycle % 4 {
            0 => drop(TcpStream::connect(addr).expect("connect")),
            1 => {
                let mut client = Client::connect(addr);
                client.read_prompt();
                client.send(&format!("c{cycle}"));
                client.send("/quit");
                client.line_where(|l| l == "*** Goodbye!");
            }
            2 => Client::connect(addr).reset(),
            _ => {
                let mut stream = TcpStream::connect(addr).expect("connect");
                stream.write_all(b"half a nick").expect("write");
            }
        }
    }
    watcher.send("/who");
    watcher.line_where(|l| l.contains("member"));
    let after = settle_to(baseline);
    assert!(
        after <= baseline,
        "{after} descriptors open after the cycles, {baseline} before"
    );
}

/// With its descriptor limit lowered so that it cannot accept, the server (the real binary,
/// so that only its limit changes) neither spins, using little CPU while connections wait,
/// nor gives up: once the limit is raised again, every waiting connection is greeted.
fn running_out_of_descriptors_backs_off_and_recovers(backend: Backend) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = ChildServer::spawn(backend, &[]);
    let addr = server.addr;
    let mut watcher = Client::join(addr, "watcher");
    let server_fds = std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .expect("list its fds")
        .count() as u64;
    set_open_file_limit(server.pid(), server_fds + 4);

    let mut waiting: Vec<TcpStream> = (0..12)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let last = waiting.last_mut().expect("twelve connections");
    last.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    assert!(
        last.read(&mut [0; 1]).is_err(),
        "the last connection was served: the limit did not bite"
    );

    let ticks_before = cpu_ticks(server.pid());
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_ticks(server.pid()) - ticks_before;
    set_open_file_limit(server.pid(), 4096);
    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    assert!(
        spent * 2 < ticks_per_second,
        "the server used {spent} ticks of CPU in one second while starved"
    );

    for stream in waiting {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut greeting = String::new();
        BufReader::new(stream)
            .read_line(&mut greeting)
            .expect("a greeting once descriptors are back");
        assert!(greeting.starts_with("*** "), "{greeting:?}");
    }
    watcher.send("/who");
    watcher.line_where(|l| l.contains("member"));
}

backend_tests!(
    connect_close_cycles_return_descriptors,
    running_out_of_descriptors_backs_off_and_recovers,
);
