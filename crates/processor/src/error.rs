//! Errors of the processor. Rule failures are not here: they become notes.

use crash_queue::QueueError;
use crash_storage::StorageError;

/// Why processing one crash did not end with a saved processed crash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The raw crash is not in storage: nothing to process (Socorro acks and drops).
    #[error("crash {0} cannot be found in raw crash storage")]
    RawCrashMissing(String),
    /// Loading the raw crash or dumps failed: retry later.
    #[error("error in loading: {0}")]
    Load(#[source] StorageError),
    /// Saving the processed crash failed: nack, retry, dead letter.
    #[error("error saving processed crash: {0}")]
    Save(#[source] StorageError),
    /// A bug: processing panicked (caught; the message is retried).
    #[error("processing panicked")]
    Panicked,
}

impl ProcessError {
    /// Short, fixed label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RawCrashMissing(_) => "raw_missing",
            Self::Load(_) => "load",
            Self::Save(_) => "save",
            Self::Panicked => "panic",
        }
    }
}

/// A rule failed. The message is logged; only the class goes into the
/// (public) processor notes, as in Socorro.
#[derive(Debug, thiserror::Error)]
#[error("{class}: {message}")]
pub struct RuleError {
    pub class: &'static str,
    pub message: String,
}

impl RuleError {
    pub fn new(class: &'static str, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }
}

/// Building a [`crate::Processor`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] service::ConfigError),
    #[error("signature lists: {0}")]
    SigLists(#[from] signature::SigListError),
    #[error("processed-crash schema {path}: {message}")]
    Schema { path: String, message: String },
    #[error("symbol cache directory {path}: {source}")]
    SymbolCache {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// `run` failed to start or died.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    #[error("database: {0}")]
    Db(#[from] db::DbError),
    #[error("search index: {0}")]
    Search(#[from] search::SearchError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("metrics server on {addr}: {source}")]
    Metrics {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// `after_save` hook failure (logged and counted; the crash stays saved).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HookError(pub String);
