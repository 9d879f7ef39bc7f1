//! Prometheus metrics of the crontabber (Socorro's `cron.job_run`).

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

/// Every metric the crontabber exports. Labels come from fixed sets: `job`
/// (the configured job names) and `result` (`success`, `failure`).
#[derive(Clone, Debug)]
pub struct CronMetrics {
    /// `socorro_crontabber_job_runs_total{job, result}`: runs (one per
    /// backfill interval).
    pub job_runs_total: IntCounterVec,
    /// `socorro_crontabber_job_run_seconds{job, result}`: run durations.
    pub job_run_seconds: HistogramVec,
    /// `socorro_crontabber_missing_processed`: crashes the last
    /// `verify-processed` run found without a processed crash.
    pub missing_processed: IntGauge,
}

impl CronMetrics {
    /// New metrics, not registered anywhere.
    pub fn new() -> Result<Self, prometheus::Error> {
        Ok(Self {
            job_runs_total: IntCounterVec::new(
                Opts::new("socorro_crontabber_job_runs_total", "Cron job runs"),
                &["job", "result"],
            )?,
            job_run_seconds: HistogramVec::new(
                HistogramOpts::new("socorro_crontabber_job_run_seconds", "Cron job run time")
                    .buckets(vec![0.1, 1.0, 10.0, 60.0, 300.0, 1800.0, 7200.0]),
                &["job", "result"],
            )?,
            missing_processed: IntGauge::new(
                "socorro_crontabber_missing_processed",
                "Crashes the last verify-processed run found unprocessed",
            )?,
        })
    }

    /// New metrics registered in `registry`.
    pub fn registered(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = Self::new()?;
        registry.register(Box::new(m.job_runs_total.clone()))?;
        registry.register(Box::new(m.job_run_seconds.clone()))?;
        registry.register(Box::new(m.missing_processed.clone()))?;
        Ok(m)
    }

    pub(crate) fn observe(&self, job: &str, success: bool, seconds: f64) {
        let result = if success { "success" } else { "failure" };
        self.job_runs_total.with_label_values(&[job, result]).inc();
        self.job_run_seconds
            .with_label_values(&[job, result])
            .observe(seconds);
    }
}
