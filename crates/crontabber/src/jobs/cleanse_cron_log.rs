//! `cleanse-cron-log` (Socorro's `cleanse_cronlog`): deletes `cron_log`
//! rows older than the retention (180 days by default).

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::job::{Job, JobContext, JobError};

/// The job.
pub struct CleanseCronLog {
    keep: TimeDelta,
}

impl CleanseCronLog {
    /// Keeps `days` days of log.
    pub fn new(days: u32) -> Self {
        Self {
            keep: TimeDelta::days(i64::from(days.max(1))),
        }
    }
}

#[async_trait]
impl Job for CleanseCronLog {
    fn name(&self) -> &str {
        "cleanse-cron-log"
    }

    async fn run(&self, ctx: &JobContext, run_for: DateTime<Utc>) -> Result<(), JobError> {
        let deleted = ctx.db.cron_log().delete_before(run_for - self.keep).await?;
        tracing::info!(deleted, "old cron log rows deleted");
        Ok(())
    }
}
