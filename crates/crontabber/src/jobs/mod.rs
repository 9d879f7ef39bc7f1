//! The built-in jobs, one per file, and [`build`], which turns the config's
//! job table into [`ScheduledJob`]s over shared [`Backends`].

pub mod bug_associations;
pub mod cleanse_cron_log;
pub mod product_versions;
pub mod search_index_cleanup;
pub mod storage_retention;
pub mod update_missing;
pub mod update_signatures;
pub mod verify_processed;

use std::sync::Arc;

use crash_queue::CrashQueue;
use crash_storage::CrashStorage;

use crate::config::{ConfigError, CronConfig};
use crate::job::Job;
use crate::metrics::CronMetrics;
use crate::scheduler::{Crontabber, JobListError, ScheduledJob};

pub use search_index_cleanup::IndexRetention;
#[cfg(feature = "search")]
pub use search_index_cleanup::SearchIndexRetention;

/// The backends jobs work on (shared with the other services in `socorro run`).
#[derive(Clone)]
pub struct Backends {
    /// Relational store.
    pub db: db::Db,
    /// Crash storage.
    pub storage: Arc<dyn CrashStorage>,
    /// Crash queue (verify-processed publishes to `reprocessing`).
    pub queue: Arc<dyn CrashQueue>,
    /// Search index retention; `None`: search-index-cleanup is off.
    pub index: Option<Arc<dyn IndexRetention>>,
    /// Metrics; `None`: not recorded.
    pub metrics: Option<CronMetrics>,
}

/// The crontabber could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The job list is inconsistent (e.g. depends on a job that is off).
    #[error(transparent)]
    JobList(#[from] JobListError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Http(#[source] reqwest::Error),
}

/// The enabled jobs of `cfg` over `backends`, in configured order. A job
/// that needs something not configured (product details, storage
/// retention, a search index) is left out with a log line.
pub fn build(cfg: &CronConfig, backends: &Backends) -> Result<Vec<ScheduledJob>, BuildError> {
    cfg.validate()?;
    let mut out = Vec::new();
    for entry in cfg.job_entries()? {
        if !entry.enabled {
            tracing::info!(job = %entry.name, "job disabled");
            continue;
        }
        let job: Arc<dyn Job> = match entry.name.as_str() {
            "cleanse-cron-log" => Arc::new(cleanse_cron_log::CleanseCronLog::new(
                cfg.log_retention_days,
            )),
            "bug-associations" => Arc::new(
                bug_associations::BugAssociations::new(&cfg.bugzilla).map_err(BuildError::Http)?,
            ),
            "update-signatures" => Arc::new(update_signatures::UpdateSignatures::new(
                backends.storage.clone(),
            )),
            "search-index-cleanup" => match &backends.index {
                Some(index) => Arc::new(search_index_cleanup::SearchIndexCleanup::new(
                    index.clone(),
                    cfg.search_retention_days,
                )),
                None => {
                    tracing::info!(job = %entry.name, "no search index retention available; job off");
                    continue;
                }
            },
            "verify-processed" => Arc::new(verify_processed::VerifyProcessed::new(
                backends.storage.clone(),
                backends.queue.clone(),
                backends.metrics.clone(),
            )),
            "update-missing" => {
                Arc::new(update_missing::UpdateMissing::new(backends.storage.clone()))
            }
            "product-versions" => match &cfg.product_details {
                Some(src) => Arc::new(
                    product_versions::ProductVersions::new(product_versions::Source::parse(src))
                        .map_err(BuildError::Http)?,
                ),
                None => {
                    tracing::info!(job = %entry.name, "SOCORRO_CRON__PRODUCT_DETAILS unset; job off");
                    continue;
                }
            },
            "storage-retention" => match cfg.storage_retention_days {
                Some(days) => Arc::new(storage_retention::StorageRetention::new(
                    backends.storage.clone(),
                    days,
                    cfg.storage_retention_scan_days,
                )),
                None => {
                    tracing::info!(job = %entry.name, "SOCORRO_CRON__STORAGE_RETENTION_DAYS unset; job off");
                    continue;
                }
            },
            other => {
                return Err(ConfigError {
                    var: "SOCORRO_CRON__JOBS".into(),
                    message: format!("no implementation for job {other:?}"),
                }
                .into());
            }
        };
        out.push(ScheduledJob::new(job, entry.schedule).depends_on(entry.depends_on));
    }
    Ok(out)
}

impl Crontabber {
    /// A crontabber running the enabled jobs of `cfg` over `backends`
    /// (wall clock; metrics from `backends.metrics`).
    pub fn from_config(cfg: &CronConfig, backends: &Backends) -> Result<Crontabber, BuildError> {
        let jobs = build(cfg, backends)?;
        let tabber = Crontabber::new(backends.db.clone(), jobs, cfg.scheduler_settings())?;
        Ok(match &backends.metrics {
            Some(m) => tabber.with_metrics(m.clone()),
            None => tabber,
        })
    }
}
