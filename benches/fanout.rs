//! mio against Tokio, side by side: fan-out throughput and latency, with real servers
//! in-process on 127.0.0.1:0 (flood control off) and the load generator's swarm as clients.
//!
//! - `throughput/C`: 16 senders with 4 lines each in flight, C receivers in one room, for C in
//!   10, 100, 1000; criterion reports deliveries (lines x receivers) per second.
//! - `latency/C`: one line from one sender, timed until the last of C receivers has it.
//! - `latency_under_load`: the same with 100 receivers, while another swarm keeps 8,000 lines a
//!   second (800,000 deliveries a second) going through the same room.
//!
//! `cargo bench --features tokio-impl` runs it all in about two minutes; `-- --test` runs
//! each once. Without the feature only the mio server is measured.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::time::Instant;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};

use chat_load::{Dialect, Pace, Stop, Summary, Swarm, SwarmConfig, Task};
use chat_tokio_stream::config::{Config, Location};
use chat_tokio_stream::server::{self, Backend, ServerHandle};

/// Senders in the throughput runs, and lines each keeps in flight.
const SENDERS: usize = 16;
const WINDOW: u32 = 4;
/// Deliveries per measured iteration of a throughput run, about.
const DELIVERIES_PER_ITERATION: usize = 100_000;

/// A server for benchmarks: every default, but flood control off and room for the crowd.
fn server(backend: Backend) -> ServerHandle {
    let config = Config {
        addr: "127.0.0.1:0".parse().expect("a literal address"),
        rate_limit: 0,
        max_clients: 20_000,
        history: 0,
        db: Location::Memory,
        http: None,
        ..Config::default()
    };
    server::start(backend, config).expect("the server starts")
}

/// A swarm of `senders` and `receivers` on `server`, one client thread, nicknames tagged `tag`.
fn swarm(server: &ServerHandle, senders: usize, receivers: usize, tag: char) -> Swarm {
    let config = SwarmConfig {
        servers: vec![server.local_addr()],
        senders,
        receivers,
        threads: 1,
        sources: 0,
        tag,
        tls: false,
        websocket: false,
        dialect: Dialect::Chat,
    };
    Swarm::connect(&config).expect("the swarm connects")
}

/// Runs `task` on `swarm` and insists that nothing was lost or duplicated.
fn run(swarm: &mut Swarm, task: Task) -> Summary {
    let summary = swarm.run(task).expect("the task runs");
    assert_eq!(
        (summary.lost, summary.duplicated),
        (0, 0),
        "lines lost or duplicated"
    );
    summary
}

/// Wall-clock time, as criterion measures it, with throughput shown in deliveries (one line
/// reaching one receiver) rather than criterion's anonymous "elements".
struct DeliveryTime;

impl Measurement for DeliveryTime {
    type Intermediate = Instant;
    type Value = Duration;

    fn start(&self) -> Instant {
        WallTime.start()
    }

    fn end(&self, started: Instant) -> Duration {
        WallTime.end(started)
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        WallTime.to_f64(value)
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &DeliveriesFormatter
    }
}

/// Shows times as criterion does, and throughput as deliveries per second.
struct DeliveriesFormatter;

impl ValueFormatter for DeliveriesFormatter {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        WallTime.formatter().scale_values(typical_ns, values)
    }

    fn scale_throughputs(
        &self,
        typical_ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let Throughput::Elements(deliveries) = *throughput else {
            return WallTime
                .formatter()
                .scale_throughputs(typical_ns, throughput, values);
        };
        let per_second = |ns: f64| deliveries as f64 * 1e9 / ns;
        let (divisor, unit) = match per_second(typical_ns) {
            rate if rate >= 1e6 => (1e6, "M deliveries/s"),
            rate if rate >= 1e3 => (1e3, "K deliveries/s"),
            _ => (1.0, "deliveries/s"),
        };
        for value in values {
            *value = per_second(*value) / divisor;
        }
        unit
    }

    fn scale_for_machines(&self, values: &mut [f64]) -> &'static str {
        WallTime.formatter().scale_for_machines(values)
    }
}

fn quick(group: &mut BenchmarkGroup<'_, DeliveryTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
}

fn throughput(c: &mut Criterion<DeliveryTime>) {
    for receivers in [10, 100, 1000] {
        let lines = (DELIVERIES_PER_ITERATION / (SENDERS * receivers)).max(1) as u64;
        let mut group = c.benchmark_group(format!("throughput/{receivers}"));
        quick(&mut group);
        group.throughput(Throughput::Elements(lines * (SENDERS * receivers) as u64));
        for &backend in Backend::ALL {
            let server = server(backend);
            let mut swarm = swarm(&server, SENDERS, receivers, 't');
            group.bench_function(BenchmarkId::from_parameter(backend.name()), |b| {
                b.iter_custom(|iterations| {
                    (0..iterations)
                        .map(|_| {
                            run(
                                &mut swarm,
                                Task::new(Pace::Window(WINDOW), Stop::Lines(lines), SENDERS),
                            )
                            .elapsed
                        })
                        .sum()
                })
            });
        }
        group.finish();
    }
}

/// Times one line from one sender until every receiver has it, `iterations` times.
fn one_line_to_all(swarm: &mut Swarm, iterations: u64) -> Duration {
    (0..iterations)
        .map(|_| {
            Duration::from_nanos(
                run(swarm, Task::new(Pace::Window(1), Stop::Lines(1), 1))
                    .latency
                    .max(),
            )
        })
        .sum()
}

fn latency(c: &mut Criterion<DeliveryTime>) {
    for receivers in [100, 1000] {
        let mut group = c.benchmark_group(format!("latency/{receivers}"));
        quick(&mut group);
        for &backend in Backend::ALL {
            let server = server(backend);
            let mut swarm = swarm(&server, 1, receivers, 'l');
            group.bench_function(BenchmarkId::from_parameter(backend.name()), |b| {
                b.iter_custom(|iterations| one_line_to_all(&mut swarm, iterations))
            });
        }
        group.finish();
    }
}

fn latency_under_load(c: &mut Criterion<DeliveryTime>) {
    let mut group = c.benchmark_group("latency_under_load/100");
    quick(&mut group);
    for &backend in Backend::ALL {
        let server = server(backend);
        let mut probe = swarm(&server, 1, 100, 'l');
        let mut background = swarm(&server, 8, 100, 'b');
        let stop = Arc::new(AtomicBool::new(false));
        let load = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                run(
                    &mut background,
                    Task::new(Pace::Rate(8000.0), Stop::Signal(stop), 8),
                )
            })
        };
        group.bench_function(BenchmarkId::from_parameter(backend.name()), |b| {
            b.iter_custom(|iterations| one_line_to_all(&mut probe, iterations))
        });
        stop.store(true, Ordering::Relaxed);
        load.join().expect("the background load ran");
    }
    group.finish();
}

/// Says so when only one server is built: the comparison needs `--features tokio-impl`.
fn backends_note(_: &mut Criterion<DeliveryTime>) {
    if Backend::ALL.len() == 1 {
        eprintln!("note: built without the tokio-impl feature, so only the mio server is measured; run `cargo bench --features tokio-impl` to compare");
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(DeliveryTime);
    targets = backends_note, throughput, latency, latency_under_load
}
criterion_main!(benches);
