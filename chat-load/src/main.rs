//! `chat-load`: a load generator for any server that speaks the chat protocol.
//!
//! It connects simulated clients to `--addr`, registers them, and measures:
//!
//! - `fanout`: throughput. Senders keep a window of lines in flight (closed loop); every
//!   receiver must get every line. Reports deliveries per second.
//! - `rate`: latency at a fixed rate (open loop, free of coordinated omission: each line's
//!   latency counts from when it was *scheduled*, so a server that stalls is charged for
//!   every line it delayed).
//! - `idle`: holds N idle registered connections (from several 127.0.0.x source addresses if
//!   N passes the ephemeral-port range) and times one line broadcast to all of them.
//! - `handshakes`: TLS handshakes per second, a fixed number in flight (with `--tls-addr` on
//!   the server).
//!
//! With `--tls` every client connects through TLS (accepting any certificate: chat-load is a
//! test tool). With `--ws` every client is a WebSocket client of the server's web listener,
//! as the chat page is (point `--addr` at `--http-addr`). With `--redis` the server is Redis,
//! as a reference: receivers SUBSCRIBE and senders PUBLISH the lines a chat server would
//! relay.
//!
//! Start the server with flood control off for the first two: `chat-tokio-stream
//! --rate-limit 0`, and with `--max-clients` above the connection count for `idle`.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use chat_load::handshakes::{self, HandshakeConfig};
use chat_load::process::rss_kib;
use chat_load::{DeliveryCounter, Dialect, Pace, Stop, Swarm, SwarmConfig, Task};

mod report;

/// Load generator for chat-tokio-stream (or any server speaking its protocol).
#[derive(Debug, Parser)]
#[command(name = "chat-load", version)]
struct Cli {
    /// The chat server to load; several, comma-separated, for servers that are one chat
    /// (`--redis` on the server): the clients are spread over them in turn.
    #[arg(
        long,
        default_value = "127.0.0.1:8080",
        value_name = "HOST:PORT[,HOST:PORT...]",
        value_delimiter = ',',
        global = true
    )]
    addr: Vec<SocketAddr>,

    /// Event-loop threads for the simulated clients.
    #[arg(long, default_value_t = 1, value_name = "N", global = true)]
    threads: usize,

    /// Process id of the server, to report its resident memory (read from /proc).
    #[arg(long, value_name = "PID", global = true)]
    server_pid: Option<u32>,

    /// Also print the results as one JSON object on the last line.
    #[arg(long, global = true)]
    json: bool,

    /// Tag letter that starts every nickname (run two generators at once with two tags).
    #[arg(long, default_value_t = 'l', global = true)]
    tag: char,

    /// Connect through TLS, accepting whatever certificate the server shows.
    #[arg(long, global = true)]
    tls: bool,

    /// Connect as WebSocket clients, as the chat page does: --addr is then the server's web
    /// listener (--http-addr), and each line is a text frame.
    #[arg(long, global = true, conflicts_with_all = ["tls", "redis"])]
    ws: bool,

    /// The server is Redis: receivers SUBSCRIBE to a channel, senders PUBLISH to it.
    #[arg(long, global = true)]
    redis: bool,

    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Closed-loop fan-out throughput: deliveries per second.
    Fanout(FanoutArgs),
    /// Open-loop latency at a fixed rate, measured from each line's scheduled time.
    Rate(RateArgs),
    /// Many idle connections: the server's memory per connection, and one broadcast timed.
    Idle(IdleArgs),
    /// TLS handshakes per second (always through TLS).
    Handshakes(HandshakeArgs),
}

/// Who talks and for how long.
#[derive(Debug, Args)]
struct Crowd {
    /// Receiving clients (each gets every line).
    #[arg(long, default_value_t = 100, value_name = "C")]
    clients: usize,

    /// Sending clients.
    #[arg(long, default_value_t = 4, value_name = "S")]
    senders: usize,

    /// How long senders talk, in seconds; the run ends at most 2 s later (lines missing by
    /// then are counted as lost).
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    duration: f64,

    /// Length of each line's text in bytes (sequence number and time stamp, then padding).
    #[arg(long, default_value_t = 32, value_name = "BYTES")]
    line_bytes: usize,

    /// Loopback source addresses to connect from (127.0.0.1, .2, ...); 0 lets the system
    /// choose.
    #[arg(long, default_value_t = 0, value_name = "K")]
    sources: u8,
}

#[derive(Debug, Args)]
struct FanoutArgs {
    #[command(flatten)]
    crowd: Crowd,

    /// Lines each sender may have in flight (said but not yet received by every receiver).
    #[arg(long, default_value_t = 64, value_name = "W")]
    window: u32,
}

#[derive(Debug, Args)]
struct RateArgs {
    #[command(flatten)]
    crowd: Crowd,

    /// Lines per second, all senders together, on a fixed schedule.
    #[arg(long, default_value_t = 1000.0, value_name = "R")]
    rate: f64,
}

#[derive(Debug, Args)]
struct IdleArgs {
    /// Idle registered connections to open.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    connections: usize,

    /// Loopback source addresses to connect from (127.0.0.1, .2, ...), so that N can pass
    /// the ephemeral-port range of one address; 0 lets the system choose.
    #[arg(long, default_value_t = 1, value_name = "K")]
    sources: u8,

    /// Broadcasts to time (each: one line, until every connection has it).
    #[arg(long, default_value_t = 5, value_name = "N")]
    broadcasts: u32,
}

#[derive(Debug, Args)]
struct HandshakeArgs {
    /// Handshakes under way at once.
    #[arg(long, default_value_t = 32, value_name = "N")]
    in_flight: usize,

    /// How long to go on, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    duration: f64,

    /// Loopback source addresses to connect from (127.0.0.1, .2, ...); 0 lets the system
    /// choose.
    #[arg(long, default_value_t = 0, value_name = "K")]
    sources: u8,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("warning: could not raise the open file limit: {e}");
    }
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> io::Result<()> {
    match &cli.mode {
        Mode::Fanout(args) => talk(
            cli,
            "fanout",
            &args.crowd,
            Pace::Window(args.window),
            &[("window", args.window.to_string())],
        ),
        Mode::Rate(args) => talk(
            cli,
            "rate",
            &args.crowd,
            Pace::Rate(args.rate),
            &[("rate", format!("{}", args.rate))],
        ),
        Mode::Idle(args) => idle(cli, args),
        Mode::Handshakes(args) => handshake_rate(cli, args),
    }
}

impl Cli {
    /// The first server given (the only one a handshake rate needs).
    fn first_addr(&self) -> SocketAddr {
        self.addr
            .first()
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)))
    }

    /// The servers given, for messages.
    fn addr_list(&self) -> String {
        let addrs: Vec<String> = self.addr.iter().map(ToString::to_string).collect();
        addrs.join(", ")
    }

    /// Who to simulate, as this command line says to reach the server.
    fn swarm(&self, senders: usize, receivers: usize, sources: u8) -> SwarmConfig {
        SwarmConfig {
            servers: self.addr.clone(),
            senders,
            receivers,
            threads: self.threads,
            sources,
            tag: self.tag,
            tls: self.tls,
            websocket: self.ws,
            dialect: if self.redis {
                Dialect::Redis
            } else {
                Dialect::Chat
            },
        }
    }
}

/// The `handshakes` mode: TLS handshakes per second, and how long each took.
fn handshake_rate(cli: &Cli, args: &HandshakeArgs) -> io::Result<()> {
    eprintln!(
        "handshaking with {} for {} s, {} at a time ...",
        cli.first_addr(),
        args.duration,
        args.in_flight
    );
    let cpu_before = report::cpu_times(cli.server_pid);
    let summary = handshakes::run(&HandshakeConfig {
        server: cli.first_addr(),
        in_flight: args.in_flight,
        duration: secs(args.duration),
        sources: args.sources,
    })?;
    let cpu_after = report::cpu_times(cli.server_pid);
    let ms = |q: f64| format!("{:.3}", summary.latency.value_at_quantile(q) as f64 / 1e6);
    let mut rows = vec![
        ("mode", "handshakes".to_string()),
        ("in_flight", args.in_flight.to_string()),
        ("seconds", format!("{:.2}", summary.elapsed.as_secs_f64())),
        ("handshakes", summary.completed.to_string()),
        (
            "handshakes_per_second",
            format!("{:.0}", summary.per_second()),
        ),
        ("failed", summary.failed.to_string()),
        ("handshake_ms_p50", ms(0.5)),
        ("handshake_ms_p99", ms(0.99)),
    ];
    let work = (
        summary.elapsed,
        summary.completed,
        "server_cpu_ns_per_handshake",
    );
    rows.extend(report::cpu_rows(work, cpu_before, cpu_after));
    report::print(&rows, cli.json);
    Ok(())
}

/// The `fanout` and `rate` modes: connect the crowd, let its senders talk at `pace` for the
/// crowd's duration, report.
fn talk(
    cli: &Cli,
    mode: &str,
    crowd: &Crowd,
    pace: Pace,
    extra: &[(&str, String)],
) -> io::Result<()> {
    let rss_before = cli.server_pid.and_then(rss_kib);
    eprintln!(
        "connecting {} receivers and {} senders to {} ...",
        crowd.clients,
        crowd.senders,
        cli.addr_list()
    );
    let connecting = Instant::now();
    let mut swarm = Swarm::connect(&cli.swarm(crowd.senders, crowd.clients, crowd.sources))?;
    eprintln!(
        "all registered in {:.2} s; running {mode} for {} s",
        connecting.elapsed().as_secs_f64(),
        crowd.duration
    );
    let mut task = Task::new(pace, Stop::After(secs(crowd.duration)), crowd.senders);
    task.line_bytes = crowd.line_bytes;
    let cpu_before = report::cpu_times(cli.server_pid);
    let summary = with_progress(swarm.delivery_counter(), || swarm.run(task))?;
    let cpu_after = report::cpu_times(cli.server_pid);
    let rss_loaded = cli.server_pid.and_then(rss_kib);
    let mut rows = vec![
        ("mode", mode.to_string()),
        ("receivers", crowd.clients.to_string()),
        ("senders", crowd.senders.to_string()),
        ("threads", cli.threads.to_string()),
        ("line_bytes", crowd.line_bytes.to_string()),
    ];
    rows.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    rows.extend(report::summary_rows(&summary));
    rows.extend(rss_before.map(|kib| ("server_rss_before_kib", kib.to_string())));
    rows.extend(rss_loaded.map(|kib| ("server_rss_kib", kib.to_string())));
    let work = (
        summary.elapsed,
        summary.delivered,
        "server_cpu_ns_per_delivery",
    );
    rows.extend(report::cpu_rows(work, cpu_before, cpu_after));
    report::print(&rows, cli.json);
    Ok(())
}

/// The `idle` mode: open N idle connections, report the server's memory per connection,
/// and time broadcasts to all of them.
fn idle(cli: &Cli, args: &IdleArgs) -> io::Result<()> {
    let rss_before = cli.server_pid.and_then(rss_kib);
    eprintln!(
        "opening {} idle connections to {} from {} source address(es) ...",
        args.connections,
        cli.addr_list(),
        args.sources
    );
    let connecting = Instant::now();
    let mut swarm = Swarm::connect(&cli.swarm(1, args.connections, args.sources))?;
    let connected_in = connecting.elapsed();
    eprintln!(
        "{} connections registered in {:.2} s",
        args.connections + 1,
        connected_in.as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(1));
    let rss_idle = cli.server_pid.and_then(rss_kib);
    let mut times = Vec::new();
    for _ in 0..args.broadcasts {
        let summary = swarm.run(Task::new(Pace::Window(1), Stop::Lines(1), 1))?;
        if summary.lost > 0 {
            return Err(io::Error::other(format!(
                "a broadcast lost {} deliveries",
                summary.lost
            )));
        }
        times.push(summary.latency.max() as f64 / 1e6);
    }
    times.sort_by(f64::total_cmp);
    let mut rows = vec![
        ("mode", "idle".to_string()),
        ("connections", (args.connections + 1).to_string()),
        ("sources", args.sources.to_string()),
        (
            "connect_seconds",
            format!("{:.2}", connected_in.as_secs_f64()),
        ),
        (
            "broadcast_ms_min",
            format!("{:.2}", times.first().copied().unwrap_or(0.0)),
        ),
        (
            "broadcast_ms_median",
            format!("{:.2}", times.get(times.len() / 2).copied().unwrap_or(0.0)),
        ),
        (
            "broadcast_ms_max",
            format!("{:.2}", times.last().copied().unwrap_or(0.0)),
        ),
    ];
    if let (Some(before), Some(idle)) = (rss_before, rss_idle) {
        let per_connection =
            (idle.saturating_sub(before) * 1024) as f64 / (args.connections + 1) as f64;
        rows.push(("server_rss_before_kib", before.to_string()));
        rows.push(("server_rss_kib", idle.to_string()));
        rows.push((
            "server_bytes_per_connection",
            format!("{per_connection:.0}"),
        ));
    }
    report::print(&rows, cli.json);
    Ok(())
}

/// Runs `work` while a thread prints deliveries per second to stderr once a second. The
/// reporter stops the moment the work is done, so nothing is printed after the results.
fn with_progress<T>(counter: DeliveryCounter, work: impl FnOnce() -> T) -> T {
    let (done, finished) = mpsc::channel::<()>();
    let reporter = std::thread::spawn(move || {
        let started = Instant::now();
        let mut last = counter.get();
        while let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(Duration::from_secs(1)) {
            let now = counter.get();
            eprintln!(
                "  {:>5.1} s  {:>12} deliveries/s",
                started.elapsed().as_secs_f64(),
                now - last
            );
            last = now;
        }
    });
    let result = work();
    drop(done);
    let _ = reporter.join();
    result
}

fn secs(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds.max(0.0))
}
