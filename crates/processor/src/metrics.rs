//! Prometheus metrics of the processor, registered once.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};
use service::metrics::LATENCY_BUCKETS;

/// Every metric the processor exports (`socorro_processor_*`).
#[derive(Clone)]
pub struct ProcessorMetrics {
    /// Crashes whose processed crash was saved.
    pub processed_total: IntCounter,
    /// Attempts that did not save, by `kind` (load, save, panic, raw_missing).
    pub failed_total: IntCounterVec,
    /// Crashes parked in the dead-letter list.
    pub dead_letters_total: IntCounter,
    /// Stage timings: `stage` in load, stackwalk, rules, save, hooks, total.
    pub stage_seconds: HistogramVec,
    /// Per-rule timings.
    pub rule_seconds: HistogramVec,
    /// Rules that failed (a note was added).
    pub rule_failures_total: IntCounterVec,
    /// Stackwalks by `outcome` (ok, error, empty, timeout).
    pub stackwalk_total: IntCounterVec,
    /// Module symbol lookups by `result` (hit: symbols loaded; miss: none found).
    pub symbol_lookups_total: IntCounterVec,
    /// Time between publishing and pulling a message.
    pub queue_lag_seconds: Histogram,
    /// `after_save` hooks that failed.
    pub hook_failures_total: IntCounter,
}

impl ProcessorMetrics {
    /// Creates and registers the metrics in `registry`.
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let lag_buckets = vec![
            0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0,
        ];
        let m = Self {
            processed_total: IntCounter::new(
                "socorro_processor_crashes_processed_total",
                "Crashes processed and saved",
            )?,
            failed_total: IntCounterVec::new(
                Opts::new(
                    "socorro_processor_crashes_failed_total",
                    "Processing attempts that did not save a processed crash",
                ),
                &["kind"],
            )?,
            dead_letters_total: IntCounter::new(
                "socorro_processor_dead_letters_total",
                "Crashes parked in the dead-letter list",
            )?,
            stage_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "socorro_processor_stage_seconds",
                    "Time per processing stage",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["stage"],
            )?,
            rule_seconds: HistogramVec::new(
                HistogramOpts::new("socorro_processor_rule_seconds", "Time per rule")
                    .buckets(LATENCY_BUCKETS.to_vec()),
                &["rule"],
            )?,
            rule_failures_total: IntCounterVec::new(
                Opts::new("socorro_processor_rule_failures_total", "Rules that failed"),
                &["rule"],
            )?,
            stackwalk_total: IntCounterVec::new(
                Opts::new("socorro_processor_stackwalk_total", "Stackwalks by outcome"),
                &["outcome"],
            )?,
            symbol_lookups_total: IntCounterVec::new(
                Opts::new(
                    "socorro_processor_symbol_lookups_total",
                    "Module symbol lookups by result",
                ),
                &["result"],
            )?,
            queue_lag_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "socorro_processor_queue_lag_seconds",
                    "Time from publish to pull",
                )
                .buckets(lag_buckets),
            )?,
            hook_failures_total: IntCounter::new(
                "socorro_processor_hook_failures_total",
                "after_save hooks that failed",
            )?,
        };
        registry.register(Box::new(m.processed_total.clone()))?;
        registry.register(Box::new(m.failed_total.clone()))?;
        registry.register(Box::new(m.dead_letters_total.clone()))?;
        registry.register(Box::new(m.stage_seconds.clone()))?;
        registry.register(Box::new(m.rule_seconds.clone()))?;
        registry.register(Box::new(m.rule_failures_total.clone()))?;
        registry.register(Box::new(m.stackwalk_total.clone()))?;
        registry.register(Box::new(m.symbol_lookups_total.clone()))?;
        registry.register(Box::new(m.queue_lag_seconds.clone()))?;
        registry.register(Box::new(m.hook_failures_total.clone()))?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_once_and_renders() {
        let r = Registry::new();
        let m = ProcessorMetrics::new(&r).unwrap();
        m.processed_total.inc();
        m.stage_seconds.with_label_values(&["save"]).observe(0.1);
        let text = String::from_utf8(service::metrics::render(&r)).unwrap();
        assert!(text.contains("socorro_processor_crashes_processed_total 1"));
        assert!(ProcessorMetrics::new(&r).is_err(), "double registration");
    }
}
