//! Rebuild the index from crash storage (`socorro search reindex`).

use chrono::NaiveDate;
use crash_storage::{CrashStorage, StorageError};

use crate::{SearchError, SearchIndex};

/// Crashes sent per bulk call.
pub const REINDEX_BATCH: usize = 500;

/// What a reindex did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReindexStats {
    /// Crash ids listed in storage.
    pub listed: usize,
    /// Processed crashes indexed.
    pub indexed: usize,
    /// Raw crashes with no processed crash yet.
    pub not_processed: usize,
    /// Processed crashes the index skipped (no uuid / date).
    pub skipped: usize,
}

/// Index every processed crash whose raw crash was submitted on a day in
/// `[from, to]` (inclusive). `progress(done, total)` is called after each
/// batch; `total` grows as days are listed.
pub async fn reindex(
    storage: &dyn CrashStorage,
    index: &dyn SearchIndex,
    from: NaiveDate,
    to: NaiveDate,
    mut progress: impl FnMut(usize, usize) + Send,
) -> Result<ReindexStats, SearchError> {
    let mut stats = ReindexStats::default();
    let mut ids = Vec::new();
    let mut day = from;
    while day <= to {
        ids.extend(storage.list_raw_crash_ids(day).await?);
        match day.succ_opt() {
            Some(d) => day = d,
            None => break,
        }
    }
    stats.listed = ids.len();
    progress(0, ids.len());
    let mut done = 0;
    for chunk in ids.chunks(REINDEX_BATCH) {
        let mut batch = Vec::with_capacity(chunk.len());
        for id in chunk {
            match storage.load_processed_crash(id).await {
                Ok(pc) => batch.push(pc),
                Err(StorageError::NotFound(_)) => stats.not_processed += 1,
                Err(e) => return Err(e.into()),
            }
        }
        let s = index.index(&batch).await?;
        stats.indexed += s.indexed;
        stats.skipped += s.skipped.len();
        done += chunk.len();
        progress(done, ids.len());
    }
    index.refresh().await?;
    Ok(stats)
}
