//! The one error type of the crate.

/// A boxed error from a backend library.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, phrased for the caller: `BadParam` is the user's fault
/// (HTTP 400, naming the parameter), `Transient` may be retried, the others
/// are bugs or broken deployments.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// A Super Search parameter is invalid (HTTP 400).
    #[error("{message}")]
    BadParam {
        /// The offending parameter, e.g. `_results_number` or `date`.
        param: String,
        /// Socorro's message, e.g. `Bad value for parameter uptime: not a valid int`.
        message: String,
    },
    /// The backend could not be reached or timed out; retrying may help.
    #[error("search backend unavailable: {message}")]
    Transient {
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The backend refused the request or answered something unexpected.
    #[error("search backend error: {message}")]
    Backend {
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// Bad configuration (names the setting).
    #[error("invalid search configuration {setting}: {message}")]
    Config {
        /// The environment variable / setting at fault.
        setting: String,
        /// Why.
        message: String,
    },
    /// A field definitions file could not be read or parsed.
    #[error("invalid field definitions: {0}")]
    Fields(String),
    /// Local IO (Tantivy index directory).
    #[error("search index IO error: {0}")]
    Io(#[from] std::io::Error),
    /// Loading crashes from storage failed (reindex).
    #[error("crash storage: {0}")]
    Storage(#[from] crash_storage::StorageError),
}

impl SearchError {
    /// A 400-style error against one parameter.
    pub fn bad_param(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadParam {
            param: param.into(),
            message: message.into(),
        }
    }

    /// A backend error without a source.
    pub fn backend(message: impl Into<String>) -> Self {
        Self::Backend {
            message: message.into(),
            source: None,
        }
    }

    /// Whether retrying the call may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// Whether the caller sent bad input (HTTP 400).
    pub fn is_bad_request(&self) -> bool {
        matches!(self, Self::BadParam { .. })
    }
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        Self::Backend {
            message: format!("tantivy: {e}"),
            source: Some(Box::new(e)),
        }
    }
}
