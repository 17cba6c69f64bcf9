//! The store's commit throughput: how many messages a second its thread keeps in a SQLite
//! file (WAL, synchronous=NORMAL), in the transactions it makes under load: everything
//! waiting at once, here batches of 100 and 1,000 messages (group commit).
//! `cargo bench --bench store`; criterion reports messages ("elements") per second.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use chat_tokio_stream::config::Location;
use chat_tokio_stream::protocol::{Kind, Record};
use chat_tokio_stream::services::store::db::Database;

/// Messages per measured iteration: many transactions' worth.
const MESSAGES: usize = 100_000;

/// A message like those chat-load says: a short line in one of a few rooms.
fn record(n: usize) -> Record {
    Record {
        unix_ms: 1_796_000_000_000 + n as i64,
        room: format!("#room{}", n % 8).into(),
        nick: format!("user{}", n % 64).into(),
        kind: Kind::Chat,
        text: format!("message number {n}, about forty bytes long").into(),
    }
}

fn commit(c: &mut Criterion) {
    let records: Vec<Record> = (0..MESSAGES).map(record).collect();
    let mut group = c.benchmark_group("store/commit");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(MESSAGES as u64));
    for batch in [100, 1000] {
        group.bench_function(BenchmarkId::from_parameter(batch), |b| {
            b.iter_custom(|iterations| {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let location = Location::File(dir.path().join("bench.db"));
                let mut db = Database::open(&location, None).expect("the store opens");
                let started = Instant::now();
                for _ in 0..iterations {
                    for chunk in records.chunks(batch) {
                        db.keep(chunk).expect("the messages are kept");
                    }
                }
                started.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, commit);
criterion_main!(benches);
