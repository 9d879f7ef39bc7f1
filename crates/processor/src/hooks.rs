//! Hook point after a processed crash was saved (search indexing plugs in
//! here). A hook failure is logged and counted; the crash stays saved and
//! the message is acked.

use async_trait::async_trait;
use crash_storage::CrashId;
use serde_json::Value;

pub use crate::error::HookError;

/// Called after every successful save.
#[async_trait]
pub trait AfterSave: Send + Sync + 'static {
    /// Short name for logs.
    fn name(&self) -> &'static str;

    async fn after_save(&self, id: &CrashId, processed: &Value) -> Result<(), HookError>;
}

/// Indexes processed crashes into Super Search in batches.
///
/// `after_save` hands the document to a background committer (bounded
/// channel: a slow index slows the workers instead of growing memory) and
/// returns; the committer indexes whatever arrived within `flush_interval`
/// or `max_batch` documents in one call, because each index commit has a
/// fixed cost. Crash storage stays the source of truth: a batch lost to a
/// crash of the process is restored by `socorro search reindex`.
pub struct SearchIndexer {
    tx: tokio::sync::mpsc::Sender<Value>,
}

impl SearchIndexer {
    /// Start the committer; await the handle after dropping every clone of
    /// the indexer to flush what is pending.
    pub fn spawn(
        index: std::sync::Arc<dyn search::SearchIndex>,
        flush_interval: std::time::Duration,
        max_batch: usize,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Value>(max_batch.max(1) * 4);
        let handle = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                let deadline = tokio::time::Instant::now() + flush_interval;
                while batch.len() < max_batch {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(doc)) => batch.push(doc),
                        Ok(None) | Err(_) => break,
                    }
                }
                match index.index(&batch).await {
                    Ok(stats) => {
                        tracing::debug!(
                            indexed = stats.indexed,
                            skipped = stats.skipped.len(),
                            "search batch indexed"
                        );
                    }
                    Err(error) => {
                        tracing::warn!(%error, crashes = batch.len(), "indexing processed crashes failed; socorro search reindex restores them");
                    }
                }
            }
        });
        (Self { tx }, handle)
    }
}

#[async_trait]
impl AfterSave for SearchIndexer {
    fn name(&self) -> &'static str {
        "search-index"
    }

    async fn after_save(&self, _id: &CrashId, processed: &Value) -> Result<(), HookError> {
        self.tx
            .send(processed.clone())
            .await
            .map_err(|_| HookError("search indexer stopped".into()))
    }
}
