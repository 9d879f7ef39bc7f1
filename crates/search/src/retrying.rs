//! A decorator that retries `Transient` search errors with backoff and
//! jitter (the same policy type as crash storage); backends try once.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use crash_storage::RetryPolicy;
use crash_storage::retry::retry;
use serde_json::Value;

use crate::{IndexStats, Permissions, SearchError, SearchIndex, SearchQuery, SearchResults};

/// Retries transient failures of the wrapped index.
pub struct Retrying<T> {
    inner: T,
    policy: RetryPolicy,
}

impl<T: SearchIndex> Retrying<T> {
    /// Wrap `inner`.
    pub fn new(inner: T, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }

    /// The wrapped index.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

#[async_trait]
impl<T: SearchIndex> SearchIndex for Retrying<T> {
    async fn index(&self, crashes: &[Value]) -> Result<IndexStats, SearchError> {
        retry(&self.policy, SearchError::is_transient, || {
            self.inner.index(crashes)
        })
        .await
    }
    async fn refresh(&self) -> Result<(), SearchError> {
        retry(&self.policy, SearchError::is_transient, || {
            self.inner.refresh()
        })
        .await
    }
    async fn search(
        &self,
        query: &SearchQuery,
        perms: &Permissions,
    ) -> Result<SearchResults, SearchError> {
        retry(&self.policy, SearchError::is_transient, || {
            self.inner.search(query, perms)
        })
        .await
    }
    async fn delete_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, SearchError> {
        retry(&self.policy, SearchError::is_transient, || {
            self.inner.delete_range(from, to)
        })
        .await
    }
    async fn list_partitions(&self) -> Result<Vec<String>, SearchError> {
        retry(&self.policy, SearchError::is_transient, || {
            self.inner.list_partitions()
        })
        .await
    }
    async fn drop_partitions_before(&self, date: NaiveDate) -> Result<Vec<String>, SearchError> {
        retry(&self.policy, SearchError::is_transient, || {
            self.inner.drop_partitions_before(date)
        })
        .await
    }
    async fn check_health(&self) -> Result<(), SearchError> {
        // Health checks report the current state; no retry.
        self.inner.check_health().await
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}
