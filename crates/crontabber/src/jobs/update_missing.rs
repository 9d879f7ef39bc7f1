//! `update-missing` (Socorro's `updatemissing`): marks rows of
//! `missing_processed_crash` processed once the processed crash is in
//! storage.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crash_storage::{CrashId, CrashStorage};

use crate::job::{Job, JobContext, JobError};

/// Rows checked per run.
const BATCH: u32 = 10_000;

/// The job.
pub struct UpdateMissing {
    storage: Arc<dyn CrashStorage>,
}

impl UpdateMissing {
    /// Checks `storage`.
    pub fn new(storage: Arc<dyn CrashStorage>) -> Self {
        Self { storage }
    }
}

#[async_trait]
impl Job for UpdateMissing {
    fn name(&self) -> &str {
        "update-missing"
    }

    async fn run(&self, ctx: &JobContext, _run_for: DateTime<Utc>) -> Result<(), JobError> {
        let rows = ctx.db.missing_processed().list_unprocessed(BATCH).await?;
        let mut marked = 0usize;
        for row in &rows {
            let Ok(id) = CrashId::parse(&row.crash_id) else {
                tracing::warn!(crash_id = %row.crash_id, "not a crash id; skipped");
                continue;
            };
            if self.storage.processed_crash_exists(&id).await? {
                ctx.db
                    .missing_processed()
                    .mark_processed(&row.crash_id)
                    .await?;
                marked += 1;
            }
        }
        tracing::info!(
            checked = rows.len(),
            marked,
            "missing processed crashes updated"
        );
        Ok(())
    }
}
