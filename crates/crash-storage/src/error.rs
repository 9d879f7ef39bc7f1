//! Storage errors, classified so callers know what to do: not found (404,
//! "pending"), transient (retry, then 503 / nack), permanent or corrupt
//! (log, dead-letter).

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The key does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A failure that may succeed on retry (IO error, timeout, 5xx, throttling).
    #[error("storage backend unavailable: {context}")]
    Transient {
        context: String,
        #[source]
        source: BoxError,
    },
    /// A failure that will not succeed on retry (permission denied, bad bucket).
    #[error("storage backend refused: {context}")]
    Permanent {
        context: String,
        #[source]
        source: BoxError,
    },
    /// Stored bytes could not be decoded (e.g. raw crash JSON is not an object).
    #[error("stored object {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    /// The caller passed something unusable (e.g. a reserved dump name).
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl StorageError {
    pub fn transient(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Transient { context: context.into(), source: source.into() }
    }

    pub fn permanent(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Permanent { context: context.into(), source: source.into() }
    }

    /// Whether retrying the same call may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_))
    }
}
