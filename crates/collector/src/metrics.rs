//! The collector's Prometheus metrics.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
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
        Ok(m)
    }
}
