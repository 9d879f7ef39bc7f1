//! The [`SearchIndex`] trait both backends implement.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::{Permissions, SearchError, SearchQuery, SearchResults};

/// Outcome of a bulk index call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// Documents written.
    pub indexed: usize,
    /// Crashes skipped (no uuid or no valid `date_processed`), with the reason.
    pub skipped: Vec<String>,
}

/// A Super Search index: weekly partitions of processed crashes.
#[async_trait]
pub trait SearchIndex: Send + Sync + 'static {
    /// Index (or replace, by crash id) processed crashes. Each goes to the
    /// weekly partition of its `date_processed`. Crashes without a uuid or a
    /// valid date are skipped and reported. Visible to search after
    /// [`Self::refresh`] (or shortly after, on Elasticsearch).
    async fn index(&self, crashes: &[Value]) -> Result<IndexStats, SearchError>;

    /// Make every indexed document visible to search.
    async fn refresh(&self) -> Result<(), SearchError>;

    /// Run a query as seen by a caller with `perms`: fields the caller may
    /// not use are dropped from filters, aggregations, sort and columns.
    async fn search(
        &self,
        query: &SearchQuery,
        perms: &Permissions,
    ) -> Result<SearchResults, SearchError>;

    /// Delete the crashes whose `date_processed` is in `[from, to)`; returns
    /// how many were deleted.
    async fn delete_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, SearchError>;

    /// Names of the existing weekly partitions (`socorro202647`), sorted.
    async fn list_partitions(&self) -> Result<Vec<String>, SearchError>;

    /// Drop every partition whose name is `<=` the name of the week of
    /// `date` (Socorro's `esclean`: string comparison); returns the dropped names.
    async fn drop_partitions_before(&self, date: NaiveDate) -> Result<Vec<String>, SearchError>;

    /// A real round trip to the backend (for `/__heartbeat__`).
    async fn check_health(&self) -> Result<(), SearchError>;

    /// Human-readable description for logs (`tantivy:/data/search`).
    fn describe(&self) -> String;
}

/// Shared indices are indices.
#[async_trait]
impl<T: SearchIndex + ?Sized> SearchIndex for Arc<T> {
    async fn index(&self, crashes: &[Value]) -> Result<IndexStats, SearchError> {
        (**self).index(crashes).await
    }
    async fn refresh(&self) -> Result<(), SearchError> {
        (**self).refresh().await
    }
    async fn search(
        &self,
        query: &SearchQuery,
        perms: &Permissions,
    ) -> Result<SearchResults, SearchError> {
        (**self).search(query, perms).await
    }
    async fn delete_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, SearchError> {
        (**self).delete_range(from, to).await
    }
    async fn list_partitions(&self) -> Result<Vec<String>, SearchError> {
        (**self).list_partitions().await
    }
    async fn drop_partitions_before(&self, date: NaiveDate) -> Result<Vec<String>, SearchError> {
        (**self).drop_partitions_before(date).await
    }
    async fn check_health(&self) -> Result<(), SearchError> {
        (**self).check_health().await
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}
