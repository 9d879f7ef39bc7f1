//! The crate's error type.

use crate::config::URL_SETTING;

/// Everything a database call can fail with.
///
/// Callers match on the variant: `Conflict` and `NotFound` are the caller's
/// fault (4xx), `Unavailable` is worth retrying later, `Config`/`Connect`/
/// `Migrate` stop a service at start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// A setting is wrong (names the environment variable).
    #[error("invalid setting {setting}: {message}")]
    Config {
        /// The environment variable, e.g. `SOCORRO_DB__URL`.
        setting: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The server could not be reached (or refused us) at start.
    #[error("cannot connect to the database at {URL_SETTING}={url}: {source}")]
    Connect {
        /// The URL with its password hidden.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying (or checking) migrations failed.
    #[error("migrating the database at {URL_SETTING}={url} failed: {source}")]
    Migrate {
        /// The URL with its password hidden.
        url: String,
        /// The migrator's error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// The database was unreachable or busy for longer than the retry budget.
    #[error("database unavailable during {op} (retries exhausted)")]
    Unavailable {
        /// The repository operation.
        op: &'static str,
        /// The last driver error.
        #[source]
        source: sqlx::Error,
    },
    /// A unique constraint was violated: the thing already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The input was rejected before reaching the database.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// Any other database error (a bug or a corrupt database).
    #[error("database error during {op}: {source}")]
    Query {
        /// The repository operation.
        op: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Hashing or parsing a password hash failed.
    #[error("password hashing failed: {0}")]
    Password(String),
    /// Reading or writing a local file or stream (CLI, SQLite directory).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

impl DbError {
    /// True when retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// Renames a `Conflict` to name the thing that already exists.
    pub(crate) fn conflict_as(self, what: impl FnOnce() -> String) -> Self {
        match self {
            Self::Conflict(_) => Self::Conflict(what()),
            other => other,
        }
    }

    /// Maps a driver error that is not going to be retried.
    pub(crate) fn from_sqlx(op: &'static str, source: sqlx::Error) -> Self {
        if crate::retry::is_transient(&source) {
            return Self::Unavailable { op, source };
        }
        if let sqlx::Error::Database(db) = &source
            && db.is_unique_violation()
        {
            return Self::Conflict(op.to_owned());
        }
        Self::Query { op, source }
    }
}
