//! `search-index-cleanup` (Socorro's `esclean`): drops search partitions
//! (weekly indices) older than the retention (26 weeks by default).
//!
//! The job runs against [`IndexRetention`], so the crontabber builds without
//! the search backends; with feature `search`, `SearchIndexRetention`
//! adapts any `search::SearchIndex` (Tantivy, Elasticsearch). Pass it in
//! [`crate::Backends::index`].

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::job::{BoxError, Job, JobContext, JobError};

/// What the job needs from a search index.
#[async_trait]
pub trait IndexRetention: Send + Sync + 'static {
    /// Drops every partition whose data is entirely older than `cutoff`;
    /// returns the names dropped.
    async fn drop_partitions_before(&self, cutoff: DateTime<Utc>) -> Result<Vec<String>, BoxError>;
}

/// The job.
pub struct SearchIndexCleanup {
    index: Arc<dyn IndexRetention>,
    keep: TimeDelta,
}

impl SearchIndexCleanup {
    /// Keeps `days` days of search data.
    pub fn new(index: Arc<dyn IndexRetention>, days: u32) -> Self {
        Self {
            index,
            keep: TimeDelta::days(i64::from(days.max(1))),
        }
    }
}

#[async_trait]
impl Job for SearchIndexCleanup {
    fn name(&self) -> &str {
        "search-index-cleanup"
    }

    async fn run(&self, _ctx: &JobContext, run_for: DateTime<Utc>) -> Result<(), JobError> {
        let cutoff = run_for - self.keep;
        let dropped = self
            .index
            .drop_partitions_before(cutoff)
            .await
            .map_err(JobError::Other)?;
        tracing::info!(%cutoff, dropped = ?dropped, "old search partitions dropped");
        Ok(())
    }
}

/// [`IndexRetention`] over a Super Search index (feature `search`): drops
/// the weekly partitions up to and including the week of the cutoff day,
/// as Socorro's `esclean` does.
#[cfg(feature = "search")]
pub struct SearchIndexRetention(pub Arc<dyn search::SearchIndex>);

#[cfg(feature = "search")]
#[async_trait]
impl IndexRetention for SearchIndexRetention {
    async fn drop_partitions_before(&self, cutoff: DateTime<Utc>) -> Result<Vec<String>, BoxError> {
        Ok(self.0.drop_partitions_before(cutoff.date_naive()).await?)
    }
}
