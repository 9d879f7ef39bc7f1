//! Queue errors.

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// May succeed on retry (connection lost, busy database, timeout).
    #[error("queue backend unavailable: {context}")]
    Transient {
        context: String,
        #[source]
        source: BoxError,
    },
    /// Will not succeed on retry (bad configuration, missing topic, permission).
    #[error("queue backend refused: {context}")]
    Permanent {
        context: String,
        #[source]
        source: BoxError,
    },
    /// The ack/nack handle is unknown or its lease was lost to another consumer.
    #[error("lease {0} is no longer held")]
    LeaseLost(String),
}

impl QueueError {
    pub fn transient(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Transient { context: context.into(), source: source.into() }
    }

    pub fn permanent(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Permanent { context: context.into(), source: source.into() }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}
