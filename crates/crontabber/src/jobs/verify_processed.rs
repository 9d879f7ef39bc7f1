//! `verify-processed` (Socorro's `verifyprocessed`): for the day before the
//! run time, every raw crash without a processed crash is recorded in
//! `missing_processed_crash` and published to the reprocessing queue.
//!
//! Socorro also checks the search index; this job checks storage only (the
//! search crate is not wired yet). Backfill: one run per missed day.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use crash_queue::{CrashQueue, QueueItem, QueueName};
use crash_storage::{CrashId, CrashStorage};

use crate::job::{Job, JobContext, JobError};
use crate::metrics::CronMetrics;

/// Crash ids published per queue call.
const PUBLISH_BATCH: usize = 500;

/// The job.
pub struct VerifyProcessed {
    storage: Arc<dyn CrashStorage>,
    queue: Arc<dyn CrashQueue>,
    metrics: Option<CronMetrics>,
}

impl VerifyProcessed {
    /// Checks `storage`, re-queues on `queue`.
    pub fn new(
        storage: Arc<dyn CrashStorage>,
        queue: Arc<dyn CrashQueue>,
        metrics: Option<CronMetrics>,
    ) -> Self {
        Self {
            storage,
            queue,
            metrics,
        }
    }

    /// The raw crashes of `day` that have no processed crash.
    pub async fn find_missing(&self, day: NaiveDate) -> Result<Vec<CrashId>, JobError> {
        let mut missing = Vec::new();
        for id in self.storage.list_raw_crash_ids(day).await? {
            if !self.storage.processed_crash_exists(&id).await? {
                missing.push(id);
            }
        }
        Ok(missing)
    }
}

/// The day a run at `run_for` checks: the day before.
pub fn day_checked(run_for: DateTime<Utc>) -> NaiveDate {
    (run_for - TimeDelta::days(1)).date_naive()
}

#[async_trait]
impl Job for VerifyProcessed {
    fn name(&self) -> &str {
        "verify-processed"
    }

    async fn run(&self, ctx: &JobContext, run_for: DateTime<Utc>) -> Result<(), JobError> {
        let day = day_checked(run_for);
        let missing = self.find_missing(day).await?;
        if let Some(m) = &self.metrics {
            m.missing_processed
                .set(i64::try_from(missing.len()).unwrap_or(i64::MAX));
        }
        for id in &missing {
            ctx.db
                .missing_processed()
                .insert(id.as_str(), ctx.now)
                .await?;
        }
        for chunk in missing.chunks(PUBLISH_BATCH) {
            let items: Vec<QueueItem> = chunk.iter().cloned().map(QueueItem::new).collect();
            self.queue.publish(QueueName::Reprocessing, &items).await?;
        }
        if missing.is_empty() {
            tracing::info!(%day, "all crashes were processed");
        } else {
            tracing::warn!(%day, missing = missing.len(), "unprocessed crashes re-queued for reprocessing");
        }
        Ok(())
    }
}
