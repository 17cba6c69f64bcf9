//! What chat-load prints: a measurement's figures as `key value` rows (and as one JSON
//! object when asked), with the CPU the server and chat-load itself spent on it.

use std::io::{self, Write};
use std::time::Duration;

use chat_load::process::{cpu_time, own_cpu_time};
use chat_load::Summary;

/// The figures of a task, as report rows.
pub fn summary_rows(summary: &Summary) -> Vec<(&'static str, String)> {
    let ms = |q: f64| format!("{:.3}", summary.latency.value_at_quantile(q) as f64 / 1e6);
    vec![
        ("seconds", format!("{:.2}", summary.elapsed.as_secs_f64())),
        ("lines_said", summary.said.to_string()),
        ("deliveries", summary.delivered.to_string()),
        (
            "deliveries_per_second",
            format!("{:.0}", summary.deliveries_per_second()),
        ),
        ("lost", summary.lost.to_string()),
        ("duplicated", summary.duplicated.to_string()),
        ("latency_ms_p50", ms(0.5)),
        ("latency_ms_p99", ms(0.99)),
        ("latency_ms_p99_9", ms(0.999)),
        (
            "latency_ms_max",
            format!("{:.3}", summary.latency.max() as f64 / 1e6),
        ),
    ]
}

/// CPU times of the server (if its pid is known) and of chat-load itself, taken before and
/// after a measurement.
pub type CpuTimes = (Option<Duration>, Option<Duration>);

/// The CPU times now, of the server `server_pid` names (if it does) and of chat-load.
pub fn cpu_times(server_pid: Option<u32>) -> CpuTimes {
    (server_pid.and_then(cpu_time), own_cpu_time())
}

/// What the server and chat-load spent during a measurement of `elapsed` that did `units`
/// of work: the share of a core each kept busy, and the server's CPU time per unit (the
/// row `per_unit` names).
pub fn cpu_rows(
    (elapsed, units, per_unit): (Duration, u64, &'static str),
    (server_before, own_before): CpuTimes,
    (server_after, own_after): CpuTimes,
) -> Vec<(&'static str, String)> {
    let seconds = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    let percent = |spent: Duration| format!("{:.0}", 100.0 * spent.as_secs_f64() / seconds);
    let mut rows = Vec::new();
    if let Some(server) = server_after
        .zip(server_before)
        .map(|(a, b)| a.saturating_sub(b))
    {
        rows.push(("server_cpu_percent", percent(server)));
        let per = server.as_secs_f64() * 1e9 / units.max(1) as f64;
        rows.push((per_unit, format!("{per:.0}")));
    }
    if let Some(own) = own_after.zip(own_before).map(|(a, b)| a.saturating_sub(b)) {
        rows.push(("load_cpu_percent", percent(own)));
    }
    rows
}

/// Prints the rows as a table, and as JSON when `json` is set.
pub fn print(rows: &[(&str, String)], json: bool) {
    let mut out = io::stdout().lock();
    for (key, value) in rows {
        let _ = writeln!(out, "{key:<28} {value}");
    }
    if json {
        let fields: Vec<String> = rows
            .iter()
            .map(|(key, value)| match value.parse::<f64>() {
                Ok(_) => format!("\"{key}\":{value}"),
                Err(_) => format!("\"{key}\":\"{value}\""),
            })
            .collect();
        let _ = writeln!(out, "{{{}}}", fields.join(","));
    }
}
