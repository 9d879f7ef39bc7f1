//! Queue configuration (`SOCORRO_QUEUE__*`) and [`build`], which turns it
//! into a ready [`CrashQueue`].
//!
//! | variable | default |
//! |---|---|
//! | `SOCORRO_QUEUE__BACKEND` | `sqlite`, or `pubsub` (Google Pub/Sub) |
//! | `SOCORRO_QUEUE__SQLITE__PATH` | `<data dir>/queue.sqlite` |
//! | `SOCORRO_QUEUE__PUBSUB__PROJECT_ID` | `test` |
//! | `SOCORRO_QUEUE__PUBSUB__ENDPOINT` | unset: `https://pubsub.googleapis.com`; an emulator: `http://127.0.0.1:8085` |
//! | `SOCORRO_QUEUE__PUBSUB__ANONYMOUS` | unset: anonymous when `ENDPOINT` is set, else Application Default Credentials |
//! | `SOCORRO_QUEUE__PUBSUB__STANDARD_TOPIC` / `__STANDARD_SUBSCRIPTION` | `standard-queue` / `standard-queue` |
//! | `SOCORRO_QUEUE__PUBSUB__PRIORITY_TOPIC` / `__PRIORITY_SUBSCRIPTION` | `priority-queue` / `priority-queue` |
//! | `SOCORRO_QUEUE__PUBSUB__REPROCESSING_TOPIC` / `__REPROCESSING_SUBSCRIPTION` | `reprocessing-queue` / `reprocessing-queue` |
//! | `SOCORRO_QUEUE__PUBSUB__ACK_DEADLINE_SECS` | `60` (10-600): how long the server waits before redelivering the messages of a consumer that died |
//! | `SOCORRO_QUEUE__PUBSUB__PUBLISH_TIMEOUT_SECS` | `5` (Socorro's): a publish retries transient errors this long, then fails |
//! | `SOCORRO_QUEUE__RETRY__MAX_ATTEMPTS` | `5` |
//! | `SOCORRO_QUEUE__RETRY__INITIAL_BACKOFF_MS` | `100` |
//! | `SOCORRO_QUEUE__RETRY__MAX_BACKOFF_MS` | `2000` |
//!
//! Topic and subscription values are short names within the project
//! (`standard-queue`), not `projects/...` paths. The topics and subscriptions
//! must exist: the queue creates nothing (Socorro's processor may only hold
//! `roles/pubsub.subscriber`, the webapp `roles/pubsub.publisher`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crash_storage::RetryPolicy;
use serde::{Deserialize, Serialize};

use crate::retrying::Retrying;
use crate::{CrashQueue, QueueError, QueueName, SqliteQueue};

/// The environment prefix of these settings, used in error messages.
pub const ENV_PREFIX: &str = "SOCORRO_QUEUE";

/// Which backend carries the queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueBackend {
    /// A SQLite file (the embedded default).
    #[default]
    Sqlite,
    /// Google Pub/Sub (feature `pubsub`, on by default).
    Pubsub,
}

/// Settings of the SQLite backend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SqliteQueueConfig {
    /// Database file; defaults to `<data dir>/queue.sqlite`.
    pub path: Option<PathBuf>,
}

/// Settings of the Google Pub/Sub backend (`SOCORRO_QUEUE__PUBSUB__*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PubSubQueueConfig {
    /// The Google Cloud project of the topics and subscriptions (`test`).
    pub project_id: String,
    /// The service URL; unset means Google's (`https://pubsub.googleapis.com`).
    /// An emulator: `http://127.0.0.1:8085` (the client does not read
    /// `PUBSUB_EMULATOR_HOST`).
    pub endpoint: Option<String>,
    /// No credentials at all. Unset: anonymous when `endpoint` is set (an
    /// emulator), else Application Default Credentials.
    pub anonymous: Option<bool>,
    /// Topic the standard queue publishes to (`standard-queue`).
    pub standard_topic: String,
    /// Subscription the standard queue pulls from (`standard-queue`).
    pub standard_subscription: String,
    /// Topic of the priority queue (`priority-queue`).
    pub priority_topic: String,
    /// Subscription of the priority queue (`priority-queue`).
    pub priority_subscription: String,
    /// Topic of the reprocessing queue (`reprocessing-queue`).
    pub reprocessing_topic: String,
    /// Subscription of the reprocessing queue (`reprocessing-queue`).
    pub reprocessing_subscription: String,
    /// Ack deadline the client asks for and keeps renewing while it holds a
    /// message, 10-600 s. A consumer that dies loses its messages to others
    /// at most this long after its last renewal.
    pub ack_deadline_secs: u64,
    /// How long one publish retries transient errors before it fails.
    pub publish_timeout_secs: u64,
}

impl Default for PubSubQueueConfig {
    fn default() -> Self {
        Self {
            project_id: "test".into(),
            endpoint: None,
            anonymous: None,
            standard_topic: "standard-queue".into(),
            standard_subscription: "standard-queue".into(),
            priority_topic: "priority-queue".into(),
            priority_subscription: "priority-queue".into(),
            reprocessing_topic: "reprocessing-queue".into(),
            reprocessing_subscription: "reprocessing-queue".into(),
            ack_deadline_secs: 60,
            publish_timeout_secs: 5,
        }
    }
}

impl PubSubQueueConfig {
    /// Settings for an emulator at `endpoint` (anonymous), Socorro's names.
    pub fn emulator(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: Some(endpoint.into()),
            ..Self::default()
        }
    }

    /// Whether to connect without credentials.
    pub fn is_anonymous(&self) -> bool {
        self.anonymous.unwrap_or(self.endpoint.is_some())
    }

    /// The (topic, subscription) short names of `queue`.
    pub fn names(&self, queue: QueueName) -> (&str, &str) {
        match queue {
            QueueName::Standard => (&self.standard_topic, &self.standard_subscription),
            QueueName::Priority => (&self.priority_topic, &self.priority_subscription),
            QueueName::Reprocessing => (&self.reprocessing_topic, &self.reprocessing_subscription),
        }
    }

    /// The variable names (without prefix) of `queue`'s topic and subscription.
    pub fn variables(queue: QueueName) -> (&'static str, &'static str) {
        match queue {
            QueueName::Standard => ("PUBSUB__STANDARD_TOPIC", "PUBSUB__STANDARD_SUBSCRIPTION"),
            QueueName::Priority => ("PUBSUB__PRIORITY_TOPIC", "PUBSUB__PRIORITY_SUBSCRIPTION"),
            QueueName::Reprocessing => (
                "PUBSUB__REPROCESSING_TOPIC",
                "PUBSUB__REPROCESSING_SUBSCRIPTION",
            ),
        }
    }

    /// Check the settings, naming the offending `<prefix>__PUBSUB__*` variable.
    pub fn validate_with_prefix(&self, prefix: &str) -> Result<(), QueueError> {
        // Google's rules: project ids are 6-30 of [a-z0-9-]; "test" (the
        // emulator default) is shorter, so only the characters are checked.
        if self.project_id.is_empty()
            || !self
                .project_id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(invalid(format!(
                "{prefix}__PUBSUB__PROJECT_ID must be a project id (lowercase letters, digits, dashes), got {:?}",
                self.project_id
            )));
        }
        if let Some(endpoint) = &self.endpoint {
            let rest = endpoint
                .strip_prefix("http://")
                .or_else(|| endpoint.strip_prefix("https://"));
            if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                return Err(invalid(format!(
                    "{prefix}__PUBSUB__ENDPOINT must be an http:// or https:// URL (an emulator: http://127.0.0.1:8085), got {endpoint:?}"
                )));
            }
        }
        for queue in QueueName::ALL {
            let (topic, subscription) = self.names(queue);
            let (topic_var, subscription_var) = Self::variables(queue);
            for (value, var) in [(topic, topic_var), (subscription, subscription_var)] {
                // Google's rules: 3-255 chars, a letter first, then letters,
                // digits and `-_.~+%`.
                let ok = (3..=255).contains(&value.len())
                    && value.starts_with(|c: char| c.is_ascii_alphabetic())
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.~+%".contains(c));
                if !ok {
                    return Err(invalid(format!(
                        "{prefix}__{var} must be a Pub/Sub name within the project (3-255 of letters, digits, -_.~+%, starting with a letter; not a projects/... path), got {value:?}"
                    )));
                }
            }
        }
        if !(10..=600).contains(&self.ack_deadline_secs) {
            return Err(invalid(format!(
                "{prefix}__PUBSUB__ACK_DEADLINE_SECS must be within 10-600, got {}",
                self.ack_deadline_secs
            )));
        }
        if !(1..=3600).contains(&self.publish_timeout_secs) {
            return Err(invalid(format!(
                "{prefix}__PUBSUB__PUBLISH_TIMEOUT_SECS must be within 1-3600, got {}",
                self.publish_timeout_secs
            )));
        }
        Ok(())
    }
}

/// Crash queue settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueConfig {
    /// The backend (`sqlite` by default).
    pub backend: QueueBackend,
    /// SQLite backend settings.
    pub sqlite: SqliteQueueConfig,
    /// Google Pub/Sub backend settings.
    pub pubsub: PubSubQueueConfig,
    /// Retry of transient backend errors.
    pub retry: RetryPolicy,
}

/// A configuration error: the message (naming the variable) is the context,
/// so it shows in the error's `Display`.
fn invalid(message: String) -> QueueError {
    QueueError::permanent(message, "invalid queue configuration")
}

#[cfg(not(feature = "pubsub"))]
fn pubsub_unavailable(prefix: &str) -> QueueError {
    invalid(format!(
        "queue backend pubsub ({prefix}__BACKEND=pubsub) is not in this build: build crash-queue with its `pubsub` feature, or use {prefix}__BACKEND=sqlite"
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
            QueueBackend::Pubsub => {
                #[cfg(not(feature = "pubsub"))]
                return Err(pubsub_unavailable(prefix));
                #[cfg(feature = "pubsub")]
                self.pubsub.validate_with_prefix(prefix)?;
            }
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
/// `<data_dir>/queue.sqlite`, created (with its directory) if missing. With
/// `pubsub` nothing is contacted yet (see [`crate::PubSubQueue::connect`]).
/// Must run inside a Tokio runtime, which hosts the queue's tasks.
pub async fn build(cfg: &QueueConfig, data_dir: &Path) -> Result<Arc<dyn CrashQueue>, QueueError> {
    cfg.validate()?;
    match cfg.backend {
        QueueBackend::Sqlite => {
            let queue = SqliteQueue::open(&cfg.sqlite_path(data_dir)).await?;
            Ok(Arc::new(Retrying::new(queue, cfg.retry)))
        }
        QueueBackend::Pubsub => {
            #[cfg(feature = "pubsub")]
            {
                let queue = crate::PubSubQueue::connect(&cfg.pubsub).await?;
                Ok(Arc::new(Retrying::new(queue, cfg.retry)))
            }
            #[cfg(not(feature = "pubsub"))]
            Err(pubsub_unavailable(ENV_PREFIX))
        }
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
        // The Pub/Sub settings are checked only with that backend.
        let mut cfg = QueueConfig::default();
        cfg.pubsub.ack_deadline_secs = 0;
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn pubsub_defaults_are_socorros() {
        let cfg: QueueConfig = serde_json::from_str(
            r#"{"backend":"pubsub","pubsub":{"project_id":"my-proj","endpoint":"http://127.0.0.1:8085","priority_subscription":"prio-sub"}}"#,
        )
        .unwrap();
        assert_eq!(cfg.backend, QueueBackend::Pubsub);
        let p = &cfg.pubsub;
        assert_eq!(p.project_id, "my-proj");
        assert_eq!(
            p.names(QueueName::Standard),
            ("standard-queue", "standard-queue")
        );
        assert_eq!(p.names(QueueName::Priority), ("priority-queue", "prio-sub"));
        assert_eq!(
            p.names(QueueName::Reprocessing),
            ("reprocessing-queue", "reprocessing-queue")
        );
        assert_eq!(p.ack_deadline_secs, 60);
        assert!(p.is_anonymous(), "an endpoint means an emulator");
        #[cfg(feature = "pubsub")]
        assert!(cfg.validate().is_ok());
        let defaults = PubSubQueueConfig::default();
        assert_eq!(defaults.project_id, "test");
        assert!(
            !defaults.is_anonymous(),
            "Google's endpoint needs credentials"
        );
        let explicit = PubSubQueueConfig {
            anonymous: Some(false),
            ..PubSubQueueConfig::emulator("https://europe-west1-pubsub.googleapis.com")
        };
        assert!(!explicit.is_anonymous());
    }

    #[cfg(feature = "pubsub")]
    #[test]
    fn pubsub_validate_names_the_variable() {
        let check = |edit: &dyn Fn(&mut PubSubQueueConfig), var: &str| {
            let mut cfg = QueueConfig {
                backend: QueueBackend::Pubsub,
                ..Default::default()
            };
            edit(&mut cfg.pubsub);
            let err = cfg.validate().unwrap_err();
            assert!(!err.is_transient());
            let message = full_message(&err);
            assert!(message.contains(var), "{var}: {message}");
        };
        check(
            &|p| p.project_id = String::new(),
            "SOCORRO_QUEUE__PUBSUB__PROJECT_ID",
        );
        check(
            &|p| p.project_id = "My Project".into(),
            "SOCORRO_QUEUE__PUBSUB__PROJECT_ID",
        );
        check(
            &|p| p.endpoint = Some("127.0.0.1:8085".into()),
            "SOCORRO_QUEUE__PUBSUB__ENDPOINT",
        );
        check(
            &|p| p.endpoint = Some("http://".into()),
            "SOCORRO_QUEUE__PUBSUB__ENDPOINT",
        );
        check(
            &|p| p.standard_topic = "projects/test/topics/standard-queue".into(),
            "SOCORRO_QUEUE__PUBSUB__STANDARD_TOPIC",
        );
        check(
            &|p| p.priority_subscription = String::new(),
            "SOCORRO_QUEUE__PUBSUB__PRIORITY_SUBSCRIPTION",
        );
        check(
            &|p| p.reprocessing_topic = "9lives".into(),
            "SOCORRO_QUEUE__PUBSUB__REPROCESSING_TOPIC",
        );
        check(
            &|p| p.reprocessing_subscription = "a b c".into(),
            "SOCORRO_QUEUE__PUBSUB__REPROCESSING_SUBSCRIPTION",
        );
        check(
            &|p| p.ack_deadline_secs = 5,
            "SOCORRO_QUEUE__PUBSUB__ACK_DEADLINE_SECS",
        );
        check(
            &|p| p.ack_deadline_secs = 601,
            "SOCORRO_QUEUE__PUBSUB__ACK_DEADLINE_SECS",
        );
        check(
            &|p| p.publish_timeout_secs = 0,
            "SOCORRO_QUEUE__PUBSUB__PUBLISH_TIMEOUT_SECS",
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

    #[cfg(not(feature = "pubsub"))]
    #[test]
    fn pubsub_needs_the_feature() {
        let cfg = QueueConfig {
            backend: QueueBackend::Pubsub,
            ..Default::default()
        };
        let err = cfg.validate().unwrap_err();
        assert!(!err.is_transient());
        assert!(full_message(&err).contains("`pubsub` feature"), "{err}");
    }

    /// Building contacts nothing; the first call to a dead endpoint is a
    /// transient error, quickly.
    #[cfg(feature = "pubsub")]
    #[tokio::test]
    async fn build_pubsub_does_not_connect() {
        let dir = tempfile::tempdir().unwrap();
        // A port nothing listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cfg = QueueConfig {
            backend: QueueBackend::Pubsub,
            pubsub: PubSubQueueConfig::emulator(format!("http://127.0.0.1:{port}")),
            ..Default::default()
        };
        cfg.retry.max_attempts = 1;
        let queue = build(&cfg, dir.path()).await.unwrap();
        assert_eq!(
            queue.describe(),
            format!(
                "pubsub:test/standard-queue,priority-queue,reprocessing-queue@http://127.0.0.1:{port}"
            )
        );
        let started = std::time::Instant::now();
        let err = queue.check_health().await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
