//! `storage-retention` (ours; Socorro relies on bucket lifecycle rules):
//! deletes raw and processed crashes submitted more than N days before the
//! run time. Each run scans the `scan_days` submission days before the
//! cutoff (the storage lists crashes by day), so a daily job catches up
//! after downtime shorter than that.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use crash_storage::CrashStorage;

use crate::job::{Job, JobContext, JobError};

/// The job.
pub struct StorageRetention {
    storage: Arc<dyn CrashStorage>,
    keep_days: u32,
    scan_days: u32,
}

impl StorageRetention {
    /// Keeps `keep_days` days of crashes; scans `scan_days` days before that.
    pub fn new(storage: Arc<dyn CrashStorage>, keep_days: u32, scan_days: u32) -> Self {
        Self {
            storage,
            keep_days: keep_days.max(1),
            scan_days: scan_days.max(1),
        }
    }
}

#[async_trait]
impl Job for StorageRetention {
    fn name(&self) -> &str {
        "storage-retention"
    }

    async fn run(&self, _ctx: &JobContext, run_for: DateTime<Utc>) -> Result<(), JobError> {
        // The first day kept: crashes of days before it are deleted.
        let first_kept = (run_for - TimeDelta::days(i64::from(self.keep_days))).date_naive();
        let mut deleted = 0usize;
        for back in 1..=i64::from(self.scan_days) {
            let day = first_kept - TimeDelta::days(back);
            for id in self.storage.list_raw_crash_ids(day).await? {
                self.storage.delete_crash(&id).await?;
                deleted += 1;
            }
        }
        tracing::info!(%first_kept, deleted, "expired crashes deleted");
        Ok(())
    }
}
