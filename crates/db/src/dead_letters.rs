//! Crashes the processor gave up on after retries (so nothing is acked
//! silently): list them, retry them, remove them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Db, DbError, micros};

/// One crash that failed processing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// The crash id.
    pub crash_id: String,
    /// The last error.
    pub error: String,
    /// Times it failed.
    pub attempts: i32,
    /// First failure.
    pub first_failed: DateTime<Utc>,
    /// Latest failure.
    pub last_failed: DateTime<Utc>,
}

from_row!(DeadLetter {
    crash_id,
    error,
    attempts,
    first_failed,
    last_failed
});

/// Repository of [`DeadLetter`]s.
#[derive(Clone, Copy, Debug)]
pub struct DeadLetters<'a> {
    db: &'a Db,
}

impl Db {
    /// Processing dead letters repository.
    pub fn dead_letters(&self) -> DeadLetters<'_> {
        DeadLetters { db: self }
    }
}

const SELECT: &str =
    "SELECT crash_id, error, attempts, first_failed, last_failed FROM processing_dead_letter";

impl DeadLetters<'_> {
    /// Records a failure: a new row, or `attempts + 1` with the new error and time.
    pub async fn record(
        &self,
        crash_id: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<DeadLetter, DbError> {
        let now = micros(now);
        run!(self.db, "record dead letter", |pool| {
            sqlx::query_as(
                "INSERT INTO processing_dead_letter (crash_id, error, attempts, first_failed, last_failed)
                 VALUES ($1, $2, 1, $3, $3)
                 ON CONFLICT (crash_id) DO UPDATE SET
                   error = excluded.error,
                   attempts = processing_dead_letter.attempts + 1,
                   last_failed = excluded.last_failed
                 RETURNING crash_id, error, attempts, first_failed, last_failed",
            )
            .bind(crash_id)
            .bind(error)
            .bind(now)
            .fetch_one(pool)
            .await
        })
    }

    /// One row.
    pub async fn get(&self, crash_id: &str) -> Result<Option<DeadLetter>, DbError> {
        run!(self.db, "get dead letter", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE crash_id = $1")))
                .bind(crash_id)
                .fetch_optional(pool)
                .await
        })
    }

    /// Most recent failures first, at most `limit`.
    pub async fn list(&self, limit: u32) -> Result<Vec<DeadLetter>, DbError> {
        let limit = i64::from(limit);
        run!(self.db, "list dead letters", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} ORDER BY last_failed DESC, crash_id LIMIT $1"
            )))
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// Removes a row (after a successful retry); false when unknown.
    pub async fn remove(&self, crash_id: &str) -> Result<bool, DbError> {
        run!(self.db, "remove dead letter", |pool| {
            sqlx::query("DELETE FROM processing_dead_letter WHERE crash_id = $1")
                .bind(crash_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// Number of rows.
    pub async fn count(&self) -> Result<i64, DbError> {
        run!(self.db, "count dead letters", |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM processing_dead_letter")
                .fetch_one(pool)
                .await
        })
    }
}
