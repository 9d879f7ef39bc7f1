//! The [`Job`] trait, what a run gets ([`JobContext`]) and how it fails
//! ([`JobError`]).

use std::error::Error as _;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

/// Boxed error for causes that have no typed variant.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What one run of a job gets besides its run time.
#[derive(Clone, Debug)]
pub struct JobContext {
    /// The relational store (bookkeeping tables, signatures, bugs, ...).
    pub db: db::Db,
    /// The run time of the job's last success before this run (Socorro's
    /// `--last-success`); `None` if it never succeeded. For a backfill job
    /// it moves forward with each interval run.
    pub last_success: Option<DateTime<Utc>>,
    /// The job's frequency.
    pub interval: TimeDelta,
    /// When the scheduler started this pass (the injected clock).
    pub now: DateTime<Utc>,
}

/// A scheduled job. Backfill jobs are called once per missed interval, with
/// that interval's time as `run_for`; other jobs get the current time.
#[async_trait]
pub trait Job: Send + Sync + 'static {
    /// The job's name (`update-signatures`), its key in `cron_job`.
    fn name(&self) -> &str;

    /// Does the work for `run_for`.
    async fn run(&self, ctx: &JobContext, run_for: DateTime<Utc>) -> Result<(), JobError>;
}

/// Why a run failed. Recorded in `cron_job.last_error` and `cron_log`
/// (type = [`JobError::kind`], value = message, traceback = cause chain).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The relational store failed.
    #[error("database error")]
    Db(#[from] db::DbError),
    /// Crash storage failed.
    #[error("crash storage error")]
    Storage(#[from] crash_storage::StorageError),
    /// The crash queue failed.
    #[error("crash queue error")]
    Queue(#[from] crash_queue::QueueError),
    /// An HTTP request failed (connection, timeout, status).
    #[error("request to {url} failed")]
    Http {
        /// What was requested.
        url: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// A remote answered with something we cannot use.
    #[error("bad response from {url}: {message}")]
    BadResponse {
        /// What was requested.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// Input (a file, a setting, a run time) is unusable.
    #[error("{0}")]
    Invalid(String),
    /// The job panicked; the scheduler caught it.
    #[error("job panicked: {0}")]
    Panicked(String),
    /// The job ran longer than the lock timeout and was stopped.
    #[error("job timed out after {0:?}")]
    TimedOut(Duration),
    /// Anything else.
    #[error(transparent)]
    Other(BoxError),
}

impl JobError {
    /// A short, stable name of the variant (`cron_job.last_error.type`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Db(_) => "Db",
            Self::Storage(_) => "Storage",
            Self::Queue(_) => "Queue",
            Self::Http { .. } => "Http",
            Self::BadResponse { .. } => "BadResponse",
            Self::Invalid(_) => "Invalid",
            Self::Panicked(_) => "Panicked",
            Self::TimedOut(_) => "TimedOut",
            Self::Other(_) => "Other",
        }
    }

    /// An HTTP failure.
    pub fn http(url: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Http {
            url: url.into(),
            source: source.into(),
        }
    }

    /// The message with its causes: `a: b: c`.
    pub fn full_message(&self) -> String {
        let mut out = self.to_string();
        let mut cause = self.source();
        while let Some(c) = cause {
            out.push_str(": ");
            out.push_str(&c.to_string());
            cause = c.source();
        }
        out
    }

    /// The causes, one per line (Socorro's `traceback`).
    pub fn cause_chain(&self) -> String {
        let mut lines = Vec::new();
        let mut cause = self.source();
        while let Some(c) = cause {
            lines.push(c.to_string());
            cause = c.source();
        }
        lines.join("\n")
    }

    /// The record stored in `cron_job.last_error`.
    pub fn to_record(&self) -> db::cron_jobs::JobError {
        db::cron_jobs::JobError {
            exc_type: self.kind().to_owned(),
            exc_value: self.full_message(),
            exc_traceback: self.cause_chain(),
        }
    }
}
