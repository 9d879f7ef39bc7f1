//! Queue errors.

/// Any error a backend wraps as the source of a [`QueueError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a queue call failed, classified by what the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// May succeed on retry (connection lost, busy database, timeout).
    #[error("queue backend unavailable: {context}")]
    Transient {
        /// What was being done.
        context: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// Will not succeed on retry (bad configuration, missing topic, permission).
    #[error("queue backend refused: {context}")]
    Permanent {
        /// What was being done, or what is misconfigured.
        context: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// The ack/nack handle is unknown or its lease was lost to another consumer.
    #[error("lease {0} is no longer held")]
    LeaseLost(String),
}

impl QueueError {
    /// A [`QueueError::Transient`] error.
    pub fn transient(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Transient {
            context: context.into(),
            source: source.into(),
        }
    }

    /// A [`QueueError::Permanent`] error.
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
}
