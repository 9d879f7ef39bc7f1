//! Queue configuration (`SOCORRO_QUEUE__*`) and [`build`], which turns it
//! into a ready [`CrashQueue`].
//!
//! | variable | default |
//! |---|---|
//! | `SOCORRO_QUEUE__BACKEND` | `sqlite` (`pubsub` is not available yet) |
//! | `SOCORRO_QUEUE__SQLITE__PATH` | `<data dir>/queue.sqlite` |
//! | `SOCORRO_QUEUE__RETRY__MAX_ATTEMPTS` | `5` |
//! | `SOCORRO_QUEUE__RETRY__INITIAL_BACKOFF_MS` | `100` |
//! | `SOCORRO_QUEUE__RETRY__MAX_BACKOFF_MS` | `2000` |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crash_storage::RetryPolicy;
use serde::{Deserialize, Serialize};

use crate::retrying::Retrying;
use crate::{CrashQueue, QueueError, SqliteQueue};

/// The environment prefix of these settings, used in error messages.
pub const ENV_PREFIX: &str = "SOCORRO_QUEUE";

/// Which backend carries the queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueBackend {
    /// A SQLite file (the embedded default).
    #[default]
    Sqlite,
    /// Google Pub/Sub (not available yet).
    Pubsub,
}

/// Settings of the SQLite backend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SqliteQueueConfig {
    /// Database file; defaults to `<data dir>/queue.sqlite`.
    pub path: Option<PathBuf>,
}

/// Crash queue settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueConfig {
    /// The backend (`sqlite` by default).
    pub backend: QueueBackend,
    /// SQLite backend settings.
    pub sqlite: SqliteQueueConfig,
    /// Retry of transient backend errors.
    pub retry: RetryPolicy,
}

/// A configuration error: the message (naming the variable) is the context,
/// so it shows in the error's `Display`.
fn invalid(message: String) -> QueueError {
    QueueError::permanent(message, "invalid queue configuration")
}

fn pubsub_unavailable(prefix: &str) -> QueueError {
    invalid(format!(
        "queue backend pubsub is not available yet ({prefix}__BACKEND=pubsub); use {prefix}__BACKEND=sqlite"
    ))
}

impl QueueConfig {
    /// Check the settings, naming the offending `SOCORRO_QUEUE__*` variable.
    pub fn validate(&self) -> Result<(), QueueError> {
        self.validate_with_prefix(ENV_PREFIX)
    }

    /// [`Self::validate`] for settings loaded under another prefix.
    pub fn validate_with_prefix(&self, prefix: &str) -> Result<(), QueueError> {
        match self.backend {
            QueueBackend::Sqlite => {
                if self
                    .sqlite
                    .path
                    .as_ref()
                    .is_some_and(|p| p.as_os_str().is_empty())
                {
                    return Err(invalid(format!(
                        "{prefix}__SQLITE__PATH must not be empty (unset it to use <data dir>/queue.sqlite)"
                    )));
                }
            }
            QueueBackend::Pubsub => return Err(pubsub_unavailable(prefix)),
        }
        self.retry
            .validate(&format!("{prefix}__RETRY"))
            .map_err(invalid)
    }

    /// The SQLite file this config uses with `data_dir`.
    pub fn sqlite_path(&self, data_dir: &Path) -> PathBuf {
        self.sqlite
            .path
            .clone()
            .unwrap_or_else(|| data_dir.join("queue.sqlite"))
    }
}

/// Validate `cfg` and open the configured backend, wrapped in [`Retrying`].
///
/// With the `sqlite` backend the file is `cfg.sqlite.path`, or
/// `<data_dir>/queue.sqlite`, created (with its directory) if missing. Must
/// run inside a Tokio runtime, which hosts the queue's writer task.
pub async fn build(cfg: &QueueConfig, data_dir: &Path) -> Result<Arc<dyn CrashQueue>, QueueError> {
    cfg.validate()?;
    match cfg.backend {
        QueueBackend::Sqlite => {
            let queue = SqliteQueue::open(&cfg.sqlite_path(data_dir)).await?;
            Ok(Arc::new(Retrying::new(queue, cfg.retry)))
        }
        QueueBackend::Pubsub => Err(pubsub_unavailable(ENV_PREFIX)),
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// The `Display` alone must name the problem.
    fn full_message(e: &QueueError) -> String {
        assert!(e.source().is_some());
        e.to_string()
    }

    #[test]
    fn defaults_give_embedded_sqlite() {
        let cfg: QueueConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg, QueueConfig::default());
        assert_eq!(cfg.backend, QueueBackend::Sqlite);
        assert_eq!(
            cfg.sqlite_path(Path::new("/data")),
            PathBuf::from("/data/queue.sqlite")
        );
        assert_eq!(cfg.retry, RetryPolicy::default());
        assert!(cfg.validate().is_ok());
        let cfg: QueueConfig = serde_json::from_str(
            r#"{"backend":"pubsub","sqlite":{"path":"/q.db"},"retry":{"max_backoff_ms":10}}"#,
        )
        .unwrap();
        assert_eq!(cfg.backend, QueueBackend::Pubsub);
        assert_eq!(cfg.sqlite.path.as_deref(), Some(Path::new("/q.db")));
        assert_eq!(cfg.retry.max_backoff, std::time::Duration::from_millis(10));
    }

    #[test]
    fn validate_names_the_variable() {
        let cfg = QueueConfig {
            sqlite: SqliteQueueConfig {
                path: Some(PathBuf::new()),
            },
            ..Default::default()
        };
        assert!(full_message(&cfg.validate().unwrap_err()).contains("SOCORRO_QUEUE__SQLITE__PATH"));
        let mut cfg = QueueConfig::default();
        cfg.retry.max_attempts = 0;
        assert!(
            full_message(&cfg.validate().unwrap_err())
                .contains("SOCORRO_QUEUE__RETRY__MAX_ATTEMPTS")
        );
        let cfg = QueueConfig {
            backend: QueueBackend::Pubsub,
            ..Default::default()
        };
        let err = cfg.validate().unwrap_err();
        assert!(!err.is_transient());
        assert!(
            full_message(&err).contains("pubsub is not available yet"),
            "{}",
            full_message(&err)
        );
    }

    #[tokio::test]
    async fn build_sqlite_uses_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("not/yet/there");
        let queue = build(&QueueConfig::default(), &data_dir).await.unwrap();
        assert_eq!(
            queue.describe(),
            format!("sqlite:{}", data_dir.join("queue.sqlite").display())
        );
        queue.check_health().await.unwrap();
        queue
            .publish_raw(crate::QueueName::Standard, vec!["test".into()])
            .await
            .unwrap();
        assert_eq!(
            queue.depth(crate::QueueName::Standard).await.unwrap(),
            Some(1)
        );
        assert!(data_dir.join("queue.sqlite").is_file());
    }

    #[tokio::test]
    async fn build_pubsub_fails_loudly() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = QueueConfig {
            backend: QueueBackend::Pubsub,
            ..Default::default()
        };
        match build(&cfg, dir.path()).await {
            Err(e) => assert!(full_message(&e).contains("pubsub is not available yet")),
            Ok(_) => panic!("pubsub must not build yet"),
        }
    }
}
