//! A decorator that records latency and errors of any [`SearchIndex`]
//! (`socorro_search_*` metrics; labels from fixed sets).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};
use serde_json::Value;

use crate::{IndexStats, Permissions, SearchError, SearchIndex, SearchQuery, SearchResults};

const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The search metrics.
#[derive(Clone)]
pub struct SearchMetrics {
    /// `socorro_search_request_seconds{op}`.
    pub request_seconds: HistogramVec,
    /// `socorro_search_errors_total{op,kind}` (kind: bad_param, transient, backend).
    pub errors_total: IntCounterVec,
    /// `socorro_search_indexed_total`: crashes indexed.
    pub indexed_total: IntCounter,
    /// `socorro_search_skipped_total`: crashes the index could not take.
    pub skipped_total: IntCounter,
}

impl SearchMetrics {
    /// Create the metrics (not registered).
    pub fn new() -> Result<Self, prometheus::Error> {
        Ok(Self {
            request_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "socorro_search_request_seconds",
                    "Search backend call latency",
                )
                .buckets(BUCKETS.to_vec()),
                &["op"],
            )?,
            errors_total: IntCounterVec::new(
                Opts::new("socorro_search_errors_total", "Failed search backend calls"),
                &["op", "kind"],
            )?,
            indexed_total: IntCounter::new(
                "socorro_search_indexed_total",
                "Processed crashes indexed",
            )?,
            skipped_total: IntCounter::new(
                "socorro_search_skipped_total",
                "Processed crashes not indexable",
            )?,
        })
    }

    /// Register every metric in `registry`.
    pub fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.request_seconds.clone()))?;
        registry.register(Box::new(self.errors_total.clone()))?;
        registry.register(Box::new(self.indexed_total.clone()))?;
        registry.register(Box::new(self.skipped_total.clone()))?;
        Ok(())
    }
}

fn kind(e: &SearchError) -> &'static str {
    match e {
        SearchError::BadParam { .. } => "bad_param",
        SearchError::Transient { .. } => "transient",
        _ => "backend",
    }
}

/// Records metrics around the wrapped index.
pub struct Instrumented<T> {
    inner: T,
    metrics: Arc<SearchMetrics>,
}

impl<T: SearchIndex> Instrumented<T> {
    /// Wrap `inner`.
    pub fn new(inner: T, metrics: Arc<SearchMetrics>) -> Self {
        Self { inner, metrics }
    }

    async fn timed<R>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<R, SearchError>>,
    ) -> Result<R, SearchError> {
        let start = Instant::now();
        let out = fut.await;
        self.metrics
            .request_seconds
            .with_label_values(&[op])
            .observe(start.elapsed().as_secs_f64());
        if let Err(e) = &out {
            self.metrics
                .errors_total
                .with_label_values(&[op, kind(e)])
                .inc();
        }
        out
    }
}

#[async_trait]
impl<T: SearchIndex> SearchIndex for Instrumented<T> {
    async fn index(&self, crashes: &[Value]) -> Result<IndexStats, SearchError> {
        let stats = self.timed("index", self.inner.index(crashes)).await?;
        self.metrics.indexed_total.inc_by(stats.indexed as u64);
        self.metrics
            .skipped_total
            .inc_by(stats.skipped.len() as u64);
        Ok(stats)
    }
    async fn refresh(&self) -> Result<(), SearchError> {
        self.timed("refresh", self.inner.refresh()).await
    }
    async fn search(
        &self,
        query: &SearchQuery,
        perms: &Permissions,
    ) -> Result<SearchResults, SearchError> {
        self.timed("search", self.inner.search(query, perms)).await
    }
    async fn delete_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, SearchError> {
        self.timed("delete_range", self.inner.delete_range(from, to))
            .await
    }
    async fn list_partitions(&self) -> Result<Vec<String>, SearchError> {
        self.timed("list_partitions", self.inner.list_partitions())
            .await
    }
    async fn drop_partitions_before(&self, date: NaiveDate) -> Result<Vec<String>, SearchError> {
        self.timed("drop_partitions", self.inner.drop_partitions_before(date))
            .await
    }
    async fn check_health(&self) -> Result<(), SearchError> {
        self.timed("check_health", self.inner.check_health()).await
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::Fields;
    use crate::tantivy::TantivyIndex;

    #[tokio::test]
    async fn records_calls_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(SearchMetrics::new().unwrap());
        let registry = Registry::new();
        metrics.register(&registry).unwrap();
        let index = Instrumented::new(
            TantivyIndex::open(dir.path(), Fields::builtin()).unwrap(),
            metrics.clone(),
        );
        let stats = index
            .index(&[serde_json::json!({"uuid": "x"})])
            .await
            .unwrap();
        assert_eq!(stats.skipped.len(), 1);
        assert_eq!(metrics.skipped_total.get(), 1);
        index.check_health().await.unwrap();
        assert_eq!(
            metrics
                .request_seconds
                .with_label_values(&["check_health"])
                .get_sample_count(),
            1
        );
        assert!(
            registry
                .gather()
                .iter()
                .any(|f| f.name() == "socorro_search_request_seconds")
        );
    }
}
