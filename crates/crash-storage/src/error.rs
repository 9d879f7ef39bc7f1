//! Storage errors, classified so callers know what to do: not found (404,
//! "pending"), transient (retry, then 503 / nack), permanent or corrupt
//! (log, dead-letter).

/// Any error a backend wraps as the source of a [`StorageError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a storage call failed, classified by what the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The key does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A failure that may succeed on retry (IO error, timeout, 5xx, throttling).
    #[error("storage backend unavailable: {context}")]
    Transient {
        /// What was being done (`writing v1/dump/<id>`).
        context: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// A failure that will not succeed on retry (permission denied, bad bucket).
    #[error("storage backend refused: {context}")]
    Permanent {
        /// What was being done.
        context: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// Stored bytes could not be decoded (e.g. raw crash JSON is not an object).
    #[error("stored object {key} is corrupt: {reason}")]
    Corrupt {
        /// The object's key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The caller passed something unusable (e.g. a reserved dump name).
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl StorageError {
    /// A [`StorageError::Transient`] error.
    pub fn transient(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Transient {
            context: context.into(),
            source: source.into(),
        }
    }

    /// A [`StorageError::Permanent`] error.
    pub fn permanent(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Permanent {
            context: context.into(),
            source: source.into(),
        }
    }

    /// Whether retrying the same call may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// Whether the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_))
    }
}
