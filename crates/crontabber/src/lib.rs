//! Scheduled jobs with Socorro's crontabber semantics.
//!
//! * [`Job`]: one unit of work, run for a time (`run_for`); backfill jobs
//!   are called once per missed interval.
//! * [`schedule`]: frequencies (`30m`, `1h`, `1d`, `7d`), UTC time of day,
//!   due / next-run / backfill rules.
//! * [`Crontabber`]: runs due jobs in dependency order with a lock per job
//!   in `cron_job` (taken over after `max_ongoing`), records each run in
//!   `cron_job` and `cron_log`; a child runs only if every parent's last run
//!   succeeded; errors and panics are recorded, never fatal.
//! * [`jobs`]: `update-signatures`, `bug-associations`, `verify-processed`,
//!   `update-missing`, `search-index-cleanup`, `product-versions`,
//!   `storage-retention`, `cleanse-cron-log`.
//! * [`cli`]: `socorro cron list|run|reset|log`.
//! * [`config`]: the `SOCORRO_CRON__*` settings.
//!
//! Not copied from Socorro: the monitoring "Stale" check compared minutes
//! to seconds (5 days instead of 2 hours); [`cli::status`] uses
//! `max_ongoing` as intended. The lock-steal check used `timedelta.seconds`
//! (ignoring days); ours compares the whole age.

pub mod cli;
pub mod config;
pub mod job;
pub mod jobs;
pub mod metrics;
pub mod schedule;
pub mod scheduler;

use std::sync::Arc;

pub use config::{ConfigError, CronConfig, CrontabberConfig};
pub use job::{BoxError, Job, JobContext, JobError};
pub use jobs::{Backends, BuildError, IndexRetention};
pub use metrics::CronMetrics;
pub use schedule::{Frequency, Schedule, TimeOfDay};
pub use scheduler::{
    Clock, Crontabber, JobListError, Outcome, RunReport, ScheduledJob, SchedulerSettings,
};
use tokio_util::sync::CancellationToken;

/// The crontabber could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Relational store.
    #[error("database (SOCORRO_DB__*)")]
    Db(#[from] db::DbError),
    /// Crash storage.
    #[error("crash storage (SOCORRO_STORAGE__*)")]
    Storage(#[from] crash_storage::StorageError),
    /// Crash queue.
    #[error("crash queue (SOCORRO_QUEUE__*)")]
    Queue(#[from] crash_queue::QueueError),
    /// Settings or job list.
    #[error("crontabber setup (SOCORRO_CRON__*)")]
    Build(#[from] BuildError),
}

/// Opens the backends `cfg` names and runs due jobs until `shutdown`.
/// (`socorro run` builds [`Backends`] itself and calls
/// [`Crontabber::from_config`] + [`Crontabber::run_loop`].)
pub async fn run(cfg: CrontabberConfig, shutdown: CancellationToken) -> Result<(), RunError> {
    let db = db::Db::open(&cfg.db, &cfg.data_dir).await?;
    let storage = crash_storage::config::build(&cfg.storage, &cfg.data_dir)?;
    let queue = crash_queue::config::build(&cfg.queue, &cfg.data_dir).await?;
    let backends = Backends {
        db: db.clone(),
        storage,
        queue,
        index: None,
        metrics: CronMetrics::new().ok(),
    };
    let tabber = Crontabber::from_config(&cfg.cron, &backends)?;
    tabber.run_loop(shutdown).await;
    db.close().await;
    Ok(())
}

/// A clock that always returns `t` (tests).
pub fn fixed_clock(t: chrono::DateTime<chrono::Utc>) -> Clock {
    Arc::new(move || t)
}
