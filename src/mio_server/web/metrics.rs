//! `/metrics`: the counts of the chat core, the loop and the store, in the Prometheus text
//! format (OpenMetrics), encoded by `prometheus-client` from a snapshot taken when asked.
//! Nothing is counted through the crate's atomics: the loop and the core keep plain
//! integers, and a scrape reads them.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::super::counters::{LoopCounters, PASS_BOUNDS_MICROS};
use crate::protocol::{Counters, DisconnectReason};
use crate::services::StoreStats;

/// The content type of the text format prometheus-client writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every figure `/metrics` reports, read at one moment.
#[derive(Debug)]
pub struct Snapshot {
    /// Open connections by listener label.
    pub connections: Vec<(&'static str, u64)>,
    /// Clients with a nickname.
    pub registered: usize,
    /// The chat core's counts.
    pub core: Counters,
    /// The loop's counts.
    pub looped: LoopCounters,
    /// The store's queue.
    pub store: StoreStats,
}

impl Snapshot {
    /// The snapshot in the text format.
    pub fn render(self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }
}

/// One metric without labels, named `name` (a counter's name gets `_total` from the
/// encoder).
fn single(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    metric: &impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            "chat_connections",
            "Open connections, by listener.",
            None,
            MetricType::Gauge,
        )?;
        for (listener, open) in &self.connections {
            let labels = [("listener", *listener)];
            ConstGauge::new(*open).encode(family.encode_family(&labels)?)?;
        }
        let registered = u64::try_from(self.registered).unwrap_or(u64::MAX);
        single(
            &mut encoder,
            "chat_clients_registered",
            "Clients with a nickname.",
            &ConstGauge::new(registered),
        )?;
        single(
            &mut encoder,
            "chat_lines_received",
            "Lines taken from clients.",
            &ConstCounter::new(self.core.lines_received),
        )?;
        single(
            &mut encoder,
            "chat_deliveries",
            "Lines (or batches of lines) queued for a client.",
            &ConstCounter::new(self.looped.deliveries),
        )?;
        let mut family = encoder.encode_descriptor(
            "chat_disconnects",
            "Clients that left or were let go, by reason.",
            None,
            MetricType::Counter,
        )?;
        for (reason, count) in DisconnectReason::ALL.iter().zip(self.core.disconnects) {
            let labels = [("reason", reason.label())];
            ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
        }
        single(
            &mut encoder,
            "chat_bytes_received",
            "Bytes read from clients (after TLS).",
            &ConstCounter::new(self.looped.bytes_in),
        )?;
        single(
            &mut encoder,
            "chat_bytes_sent",
            "Bytes clients' sockets took (before TLS).",
            &ConstCounter::new(self.looped.bytes_out),
        )?;
        single(
            &mut encoder,
            "chat_login_failures",
            "Wrong passwords.",
            &ConstCounter::new(self.core.login_failures),
        )?;
        single(
            &mut encoder,
            "chat_tls_handshakes_failed",
            "TLS handshakes that failed or timed out.",
            &ConstCounter::new(self.looped.tls_handshakes_failed),
        )?;
        let queued = u64::try_from(self.store.queued).unwrap_or(u64::MAX);
        single(
            &mut encoder,
            "chat_store_queue_depth",
            "Requests waiting for the store.",
            &ConstGauge::new(queued),
        )?;
        single(
            &mut encoder,
            "chat_store_dropped_records",
            "Messages not kept because the store could not keep up.",
            &ConstCounter::new(self.store.dropped),
        )?;
        let passes = &self.looped.passes;
        let buckets: Vec<(f64, u64)> = PASS_BOUNDS_MICROS
            .iter()
            .map(|&micros| micros as f64 / 1e6)
            .chain([f64::MAX])
            .zip(passes.buckets)
            .collect();
        encoder
            .encode_descriptor(
                "chat_loop_pass_duration_seconds",
                "How long a pass of the event loop took, from waking to sleeping again.",
                None,
                MetricType::Histogram,
            )?
            .encode_histogram::<NoLabelSet>(
                passes.sum_micros as f64 / 1e6,
                passes.count(),
                &buckets,
                None,
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_name_is_in_the_text() {
        let mut core = Counters {
            lines_received: 7,
            ..Counters::default()
        };
        core.disconnected(DisconnectReason::Quit);
        let mut looped = LoopCounters {
            deliveries: 12,
            ..LoopCounters::default()
        };
        looped.passes.observe(std::time::Duration::from_micros(80));
        let text = Snapshot {
            connections: vec![("plain", 3), ("http", 1)],
            registered: 2,
            core,
            looped,
            store: StoreStats {
                queued: 4,
                dropped: 1,
            },
        }
        .render();
        for expected in [
            "chat_connections{listener=\"plain\"} 3",
            "chat_connections{listener=\"http\"} 1",
            "chat_clients_registered 2",
            "chat_lines_received_total 7",
            "chat_deliveries_total 12",
            "chat_disconnects_total{reason=\"quit\"} 1",
            "chat_disconnects_total{reason=\"too_slow\"} 0",
            "chat_store_queue_depth 4",
            "chat_store_dropped_records_total 1",
            "chat_loop_pass_duration_seconds_bucket{le=\"0.0001\"} 1",
            "chat_loop_pass_duration_seconds_count 1",
            "# TYPE chat_bytes_sent counter",
            "chat_login_failures_total 0",
            "chat_tls_handshakes_failed_total 0",
        ] {
            assert!(text.contains(expected), "{expected} missing from\n{text}");
        }
    }
}
