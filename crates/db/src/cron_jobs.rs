//! Crontabber job state (`cron_job`): schedule bookkeeping, consecutive
//! failures, last error, and the cross-process run lock.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;

use crate::{Db, DbError, micros};

/// Socorro's `MAX_ONGOING`: a lock older than this is considered abandoned.
pub const DEFAULT_MAX_ONGOING: TimeDelta = TimeDelta::seconds(7200);

/// The last failure of a job (Socorro's `{type, value, traceback}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    /// Error kind.
    #[serde(rename = "type")]
    pub exc_type: String,
    /// Message.
    #[serde(rename = "value")]
    pub exc_value: String,
    /// Chain of causes / backtrace.
    #[serde(rename = "traceback")]
    pub exc_traceback: String,
}

/// One job's state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CronJob {
    /// Job name (unique).
    pub app_name: String,
    /// When it is due; `None`: due now (or at its configured time of day).
    pub next_run: Option<DateTime<Utc>>,
    /// First run ever.
    pub first_run: Option<DateTime<Utc>>,
    /// Start of the last run.
    pub last_run: Option<DateTime<Utc>>,
    /// Run time of the last success (backfill jobs resume from here).
    pub last_success: Option<DateTime<Utc>>,
    /// Consecutive failures.
    pub error_count: i32,
    /// Jobs this one depends on (informational).
    pub depends_on: Option<String>,
    /// The last failure; cleared on success.
    pub last_error: Option<JobError>,
    /// Lock: when the running instance started; `None` when idle.
    pub ongoing: Option<DateTime<Utc>>,
    /// Lock: who holds it (host:pid or similar).
    pub ongoing_owner: Option<String>,
}

struct CronJobRow {
    app_name: String,
    next_run: Option<DateTime<Utc>>,
    first_run: Option<DateTime<Utc>>,
    last_run: Option<DateTime<Utc>>,
    last_success: Option<DateTime<Utc>>,
    error_count: i32,
    depends_on: Option<String>,
    last_error: Option<Json<serde_json::Value>>,
    ongoing: Option<DateTime<Utc>>,
    ongoing_owner: Option<String>,
}

from_row!(CronJobRow {
    app_name,
    next_run,
    first_run,
    last_run,
    last_success,
    error_count,
    depends_on,
    last_error,
    ongoing,
    ongoing_owner
});

impl From<CronJobRow> for CronJob {
    fn from(r: CronJobRow) -> Self {
        CronJob {
            app_name: r.app_name,
            next_run: r.next_run,
            first_run: r.first_run,
            last_run: r.last_run,
            last_success: r.last_success,
            error_count: r.error_count,
            depends_on: r.depends_on,
            last_error: r
                .last_error
                .and_then(|Json(v)| serde_json::from_value(v).ok()),
            ongoing: r.ongoing,
            ongoing_owner: r.ongoing_owner,
        }
    }
}

/// Outcome of [`CronJobs::try_lock`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockOutcome {
    /// The caller holds the lock now (it was free or stale).
    Acquired,
    /// Someone else holds a fresh lock (Socorro's `OngoingJobError`).
    Held {
        /// The holder.
        owner: Option<String>,
        /// Since when.
        since: DateTime<Utc>,
    },
}

/// Repository of cron job state.
#[derive(Clone, Copy, Debug)]
pub struct CronJobs<'a> {
    db: &'a Db,
}

impl Db {
    /// Cron job state repository.
    pub fn cron_jobs(&self) -> CronJobs<'_> {
        CronJobs { db: self }
    }
}

const COLUMNS: &str = "app_name, next_run, first_run, last_run, last_success, error_count, \
                       depends_on, last_error, ongoing, ongoing_owner";

impl CronJobs<'_> {
    /// Creates the job's row if missing (idempotent); updates `depends_on`.
    pub async fn ensure(&self, app_name: &str, depends_on: Option<&str>) -> Result<(), DbError> {
        if app_name.trim().is_empty() {
            return Err(DbError::Invalid("job name is empty".into()));
        }
        run!(self.db, "ensure cron job", |pool| {
            sqlx::query(
                "INSERT INTO cron_job (app_name, depends_on) VALUES ($1, $2)
                 ON CONFLICT (app_name) DO UPDATE SET depends_on = excluded.depends_on",
            )
            .bind(app_name)
            .bind(depends_on)
            .execute(pool)
            .await
            .map(|_| ())
        })
    }

    /// One job's state.
    pub async fn get(&self, app_name: &str) -> Result<Option<CronJob>, DbError> {
        let row: Option<CronJobRow> = run!(self.db, "get cron job", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM cron_job WHERE app_name = $1"
            )))
            .bind(app_name)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(CronJob::from))
    }

    /// Every job, by name.
    pub async fn list(&self) -> Result<Vec<CronJob>, DbError> {
        let rows: Vec<CronJobRow> = run!(self.db, "list cron jobs", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM cron_job ORDER BY app_name"
            )))
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(CronJob::from).collect())
    }

    /// Takes the job's lock for `owner` if it is free or older than
    /// `max_ongoing` (stolen). One conditional UPDATE, so at most one of many
    /// concurrent callers, in any process, gets `Acquired`.
    pub async fn try_lock(
        &self,
        app_name: &str,
        owner: &str,
        now: DateTime<Utc>,
        max_ongoing: TimeDelta,
    ) -> Result<LockOutcome, DbError> {
        let now = micros(now);
        let stale_before = now - max_ongoing;
        self.ensure_row(app_name).await?;
        let taken = run!(self.db, "lock cron job", |pool| {
            sqlx::query(
                "UPDATE cron_job SET ongoing = $1, ongoing_owner = $2
                 WHERE app_name = $3 AND (ongoing IS NULL OR ongoing < $4)",
            )
            .bind(now)
            .bind(owner)
            .bind(app_name)
            .bind(stale_before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if taken > 0 {
            return Ok(LockOutcome::Acquired);
        }
        let job = self.get(app_name).await?;
        match job.and_then(|j| j.ongoing.map(|since| (j.ongoing_owner, since))) {
            Some((owner, since)) => Ok(LockOutcome::Held { owner, since }),
            // released between the UPDATE and the read: report as held by nobody
            // rather than loop; the caller skips this round
            None => Ok(LockOutcome::Held {
                owner: None,
                since: now,
            }),
        }
    }

    /// Releases the lock if `owner` holds it; false otherwise.
    pub async fn unlock(&self, app_name: &str, owner: &str) -> Result<bool, DbError> {
        run!(self.db, "unlock cron job", |pool| {
            sqlx::query(
                "UPDATE cron_job SET ongoing = NULL, ongoing_owner = NULL
                 WHERE app_name = $1 AND ongoing_owner = $2",
            )
            .bind(app_name)
            .bind(owner)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() > 0)
        })
    }

    /// Records a successful run: `last_run = started`, `last_success =
    /// run_time`, `first_run` set once, `next_run`, error count and last
    /// error cleared.
    pub async fn mark_success(
        &self,
        app_name: &str,
        started: DateTime<Utc>,
        run_time: DateTime<Utc>,
        next_run: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.ensure_row(app_name).await?;
        let (started, run_time, next_run) = (micros(started), micros(run_time), micros(next_run));
        run!(self.db, "cron job success", |pool| {
            sqlx::query(
                "UPDATE cron_job SET
                   first_run = COALESCE(first_run, $1), last_run = $1, last_success = $2,
                   next_run = $3, error_count = 0, last_error = NULL
                 WHERE app_name = $4",
            )
            .bind(started)
            .bind(run_time)
            .bind(next_run)
            .bind(app_name)
            .execute(pool)
            .await
            .map(|_| ())
        })
    }

    /// Records a failed run: `last_run = started`, `first_run` set once,
    /// `next_run`, `error_count + 1`, `last_error`.
    pub async fn mark_failure(
        &self,
        app_name: &str,
        started: DateTime<Utc>,
        next_run: DateTime<Utc>,
        error: &JobError,
    ) -> Result<(), DbError> {
        self.ensure_row(app_name).await?;
        let (started, next_run) = (micros(started), micros(next_run));
        let error = Json(serde_json::to_value(error).unwrap_or_default());
        run!(self.db, "cron job failure", |pool| {
            sqlx::query(
                "UPDATE cron_job SET
                   first_run = COALESCE(first_run, $1), last_run = $1, next_run = $2,
                   error_count = error_count + 1, last_error = $3
                 WHERE app_name = $4",
            )
            .bind(started)
            .bind(next_run)
            .bind(&error)
            .bind(app_name)
            .execute(pool)
            .await
            .map(|_| ())
        })
    }

    /// Sets (or clears) when the job is next due.
    pub async fn set_next_run(
        &self,
        app_name: &str,
        next_run: Option<DateTime<Utc>>,
    ) -> Result<(), DbError> {
        self.ensure_row(app_name).await?;
        let next_run = next_run.map(micros);
        run!(self.db, "set next run", |pool| {
            sqlx::query("UPDATE cron_job SET next_run = $1 WHERE app_name = $2")
                .bind(next_run)
                .bind(app_name)
                .execute(pool)
                .await
                .map(|_| ())
        })
    }

    /// Forgets a job's state (`cronreset`); false when unknown.
    pub async fn reset(&self, app_name: &str) -> Result<bool, DbError> {
        run!(self.db, "reset cron job", |pool| {
            sqlx::query("DELETE FROM cron_job WHERE app_name = $1")
                .bind(app_name)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    async fn ensure_row(&self, app_name: &str) -> Result<(), DbError> {
        run!(self.db, "ensure cron job row", |pool| {
            sqlx::query(
                "INSERT INTO cron_job (app_name) VALUES ($1) ON CONFLICT (app_name) DO NOTHING",
            )
            .bind(app_name)
            .execute(pool)
            .await
            .map(|_| ())
        })
    }
}
