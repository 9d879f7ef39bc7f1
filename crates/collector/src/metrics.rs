//! The collector's Prometheus metrics.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    CounterVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec,
    Opts, Registry,
};
use service::metrics::LATENCY_BUCKETS;

/// Every metric the collector exports, registered once.
#[derive(Clone)]
pub struct CollectorMetrics {
    /// Submissions that reached parsing.
    pub incoming_total: IntCounter,
    /// Crashes saved and queued (200 with a CrashID).
    pub accepted_total: IntCounter,
    /// Submissions not stored, by reason (`malformed_<reason>`, `rule_<name>`,
    /// `fakeaccept`, `too_large`, `timeout`, `unauthorized_uuid`, `unavailable`).
    pub rejected_total: IntCounterVec,
    /// Throttle decisions by result and rule.
    pub throttle_total: IntCounterVec,
    /// Body bytes received (as sent).
    pub received_bytes_total: IntCounter,
    /// Gzip-compressed submissions.
    pub gzipped_total: IntCounter,
    /// Size of accepted crashes (decompressed body).
    pub crash_size_bytes: Histogram,
    /// Time to make a crash durable (`stage`=save) and queue it (`stage`=publish).
    pub stage_seconds: HistogramVec,
    /// Failures of save or publish after retries, by stage.
    pub failures_total: IntCounterVec,
    /// Whole `/submit` handling time.
    pub request_seconds: Histogram,
}

impl CollectorMetrics {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = Self {
            incoming_total: IntCounter::new(
                "socorro_collector_incoming_crashes_total",
                "Submissions received on /submit",
            )?,
            accepted_total: IntCounter::new(
                "socorro_collector_crashes_accepted_total",
                "Crashes saved durably and queued",
            )?,
            rejected_total: IntCounterVec::new(
                Opts::new(
                    "socorro_collector_crashes_rejected_total",
                    "Submissions not stored, by reason",
                ),
                &["reason"],
            )?,
            throttle_total: IntCounterVec::new(
                Opts::new(
                    "socorro_collector_throttle_total",
                    "Throttle decisions by result and rule",
                ),
                &["result", "rule"],
            )?,
            received_bytes_total: IntCounter::new(
                "socorro_collector_received_bytes_total",
                "Request body bytes received, as sent",
            )?,
            gzipped_total: IntCounter::new(
                "socorro_collector_gzipped_crashes_total",
                "Submissions with Content-Encoding: gzip",
            )?,
            crash_size_bytes: Histogram::with_opts(
                HistogramOpts::new(
                    "socorro_collector_crash_size_bytes",
                    "Decompressed size of submissions",
                )
                .buckets(prometheus::exponential_buckets(1024.0, 4.0, 10)?),
            )?,
            stage_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "socorro_collector_stage_seconds",
                    "Time to save or publish a crash",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["stage"],
            )?,
            failures_total: IntCounterVec::new(
                Opts::new(
                    "socorro_collector_failures_total",
                    "Save or publish failures after retries, by stage",
                ),
                &["stage"],
            )?,
            request_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "socorro_collector_request_seconds",
                    "Time to handle /submit",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
            )?,
        };
        registry.register(Box::new(m.incoming_total.clone()))?;
        registry.register(Box::new(m.accepted_total.clone()))?;
        registry.register(Box::new(m.rejected_total.clone()))?;
        registry.register(Box::new(m.throttle_total.clone()))?;
        registry.register(Box::new(m.received_bytes_total.clone()))?;
        registry.register(Box::new(m.gzipped_total.clone()))?;
        registry.register(Box::new(m.crash_size_bytes.clone()))?;
        registry.register(Box::new(m.stage_seconds.clone()))?;
        registry.register(Box::new(m.failures_total.clone()))?;
        registry.register(Box::new(m.request_seconds.clone()))?;
        registry.register(Box::new(JournalCollector::new()?))?;
        Ok(m)
    }
}

/// The storage journals' figures ([`crash_storage::journal_stats`]), read
/// at each scrape, labelled by store root.
struct JournalCollector {
    counters: IntCounterVec,
    checkpoint_seconds: CounterVec,
    bytes: IntGaugeVec,
    failed: IntGaugeVec,
    /// One scrape at a time: each refills the vectors above.
    scrape: std::sync::Mutex<()>,
}

impl JournalCollector {
    fn new() -> Result<Self, prometheus::Error> {
        let counters = IntCounterVec::new(
            Opts::new(
                "socorro_storage_journal_events_total",
                "Storage journal events: records appended, syncs, checkpoints, appends that waited for ring space",
            ),
            &["root", "event"],
        )?;
        let checkpoint_seconds = CounterVec::new(
            Opts::new(
                "socorro_storage_journal_checkpoint_seconds_total",
                "Time spent in storage journal checkpoints",
            ),
            &["root"],
        )?;
        let bytes = IntGaugeVec::new(
            Opts::new(
                "socorro_storage_journal_bytes",
                "Storage journal ring size (capacity) and bytes not yet checkpointed (used)",
            ),
            &["root", "kind"],
        )?;
        let failed = IntGaugeVec::new(
            Opts::new(
                "socorro_storage_journal_failed",
                "1 once an IO error stopped the storage journal (writes fail until restart)",
            ),
            &["root"],
        )?;
        Ok(Self {
            counters,
            checkpoint_seconds,
            bytes,
            failed,
            scrape: std::sync::Mutex::new(()),
        })
    }
}

impl Collector for JournalCollector {
    fn desc(&self) -> Vec<&Desc> {
        let mut descs = self.counters.desc();
        descs.extend(self.checkpoint_seconds.desc());
        descs.extend(self.bytes.desc());
        descs.extend(self.failed.desc());
        descs
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _one = self
            .scrape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.counters.reset();
        self.checkpoint_seconds.reset();
        self.bytes.reset();
        self.failed.reset();
        for s in crash_storage::journal_stats() {
            let root = s.root.display().to_string();
            for (event, n) in [
                ("record", s.records),
                ("sync", s.syncs),
                ("checkpoint", s.checkpoints),
                ("ring_wait", s.ring_waits),
            ] {
                self.counters.with_label_values(&[&root, event]).inc_by(n);
            }
            self.checkpoint_seconds
                .with_label_values(&[&root])
                .inc_by(s.checkpoint_seconds);
            for (kind, n) in [("capacity", s.capacity_bytes), ("used", s.used_bytes)] {
                let n = i64::try_from(n).unwrap_or(i64::MAX);
                self.bytes.with_label_values(&[&root, kind]).set(n);
            }
            self.failed
                .with_label_values(&[&root])
                .set(i64::from(s.failed));
        }
        let mut families = self.counters.collect();
        families.extend(self.checkpoint_seconds.collect());
        families.extend(self.bytes.collect());
        families.extend(self.failed.collect());
        families
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crash_storage::{FsObjectStore, ObjectStore};

    #[tokio::test]
    async fn metrics_include_the_storage_journal() {
        let registry = Registry::new();
        CollectorMetrics::new(&registry).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let store = FsObjectStore::open_journaled(&root, 1 << 20).unwrap();
        store
            .put("v1/raw_crash/x", bytes::Bytes::from_static(b"{}"))
            .await
            .unwrap();
        let text = String::from_utf8(service::metrics::render(&registry)).unwrap();
        let root = root.display();
        for line in [
            format!(r#"socorro_storage_journal_events_total{{event="record",root="{root}"}} 1"#),
            format!(r#"socorro_storage_journal_events_total{{event="ring_wait",root="{root}"}} 0"#),
            format!(r#"socorro_storage_journal_bytes{{kind="capacity",root="{root}"}} 1048576"#),
            format!(r#"socorro_storage_journal_failed{{root="{root}"}} 0"#),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(text.contains("socorro_storage_journal_checkpoint_seconds_total{"));
        // Scraped again: the same figures, not added up.
        let again = String::from_utf8(service::metrics::render(&registry)).unwrap();
        let records = |t: &str| {
            t.lines()
                .filter(|l| l.contains(r#"event="record""#))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(records(&text), records(&again));
    }
}
