//! `update-signatures` (Socorro's `updatesignatures`): first-seen date and
//! build of every signature.
//!
//! Socorro pages Super Search; this job reads crash storage instead (the
//! search crate is not wired yet): for each submission day the window
//! touches, it lists the raw crashes, loads each processed crash, and keeps
//! those whose `date_processed` falls in the window. Crashes without a build
//! id or signature are skipped, as in Socorro. The window is Socorro's:
//! `[last success − 10 min, run time)`, or the last 90 minutes on a first
//! run, minutes truncated. Backfill: one run per missed hour.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use crash_storage::{CrashStorage, StorageError};
use serde_json::Value;

use crate::job::{Job, JobContext, JobError};

/// Overlap with the previous window.
pub const OVERLAP: TimeDelta = TimeDelta::minutes(10);
/// Window of a first run.
pub const FIRST_WINDOW: TimeDelta = TimeDelta::minutes(90);

/// The job.
pub struct UpdateSignatures {
    storage: Arc<dyn CrashStorage>,
}

impl UpdateSignatures {
    /// Reads processed crashes from `storage`.
    pub fn new(storage: Arc<dyn CrashStorage>) -> Self {
        Self { storage }
    }
}

fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

/// `(signature, date_processed, build id)` of a processed crash, if it has all three.
pub fn sighting(processed: &Value) -> Option<(String, DateTime<Utc>, i64)> {
    let signature = processed.get("signature")?.as_str()?.trim();
    if signature.is_empty() {
        return None;
    }
    let date = processed.get("date_processed")?.as_str()?;
    let date = DateTime::parse_from_rfc3339(date).ok()?.with_timezone(&Utc);
    let build = match processed.get("build")? {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    Some((signature.to_owned(), date, build))
}

/// The window `[start, end)` for a run at `run_for`.
pub fn window(
    last_success: Option<DateTime<Utc>>,
    run_for: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = minute(run_for);
    let start = minute(last_success.map_or(end - FIRST_WINDOW, |t| t - OVERLAP));
    (start, end)
}

#[async_trait]
impl Job for UpdateSignatures {
    fn name(&self) -> &str {
        "update-signatures"
    }

    async fn run(&self, ctx: &JobContext, run_for: DateTime<Utc>) -> Result<(), JobError> {
        let (start, end) = window(ctx.last_success, run_for);
        if end <= start {
            return Err(JobError::Invalid(format!(
                "window start {start} is not before its end {end}"
            )));
        }
        let mut first: BTreeMap<String, (DateTime<Utc>, i64)> = BTreeMap::new();
        let mut crashes = 0usize;
        let mut day = start.date_naive();
        while day <= end.date_naive() {
            for id in self.storage.list_raw_crash_ids(day).await? {
                let processed = match self.storage.load_processed_crash(&id).await {
                    Ok(v) => v,
                    Err(e) if e.is_not_found() => continue,
                    Err(e @ StorageError::Transient { .. }) => return Err(e.into()),
                    Err(error) => {
                        tracing::warn!(crash_id = %id, %error, "skipping unreadable processed crash");
                        continue;
                    }
                };
                let Some((signature, date, build)) = sighting(&processed) else {
                    continue;
                };
                if date < start || date >= end {
                    continue;
                }
                crashes += 1;
                first
                    .entry(signature)
                    .and_modify(|(d, b)| {
                        *d = (*d).min(date);
                        *b = (*b).min(build);
                    })
                    .or_insert((date, build));
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        for (signature, (date, build)) in &first {
            ctx.db.signatures().record(signature, *date, *build).await?;
        }
        tracing::info!(%start, %end, crashes, signatures = first.len(), "signatures updated");
        Ok(())
    }
}
