//! Crontabber run log (`cron_log`): one row per run.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Db, DbError, micros};

/// One logged run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CronLogEntry {
    /// Row id.
    pub id: i64,
    /// Job name.
    pub app_name: String,
    /// When the run was logged.
    pub log_time: DateTime<Utc>,
    /// Seconds the run took.
    pub duration: f64,
    /// The run time on success; `None` on failure.
    pub success: Option<DateTime<Utc>>,
    /// Error kind on failure.
    pub exc_type: Option<String>,
    /// Error message on failure.
    pub exc_value: Option<String>,
    /// Cause chain on failure.
    pub exc_traceback: Option<String>,
}

from_row!(CronLogEntry {
    id,
    app_name,
    log_time,
    duration,
    success,
    exc_type,
    exc_value,
    exc_traceback
});

/// A run to log.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCronLog<'a> {
    /// Job name.
    pub app_name: &'a str,
    /// When.
    pub log_time: DateTime<Utc>,
    /// Seconds.
    pub duration: f64,
    /// Run time on success.
    pub success: Option<DateTime<Utc>>,
    /// Error kind.
    pub exc_type: Option<&'a str>,
    /// Error message.
    pub exc_value: Option<&'a str>,
    /// Cause chain.
    pub exc_traceback: Option<&'a str>,
}

/// Repository of the cron log.
#[derive(Clone, Copy, Debug)]
pub struct CronLog<'a> {
    db: &'a Db,
}

impl Db {
    /// Cron log repository.
    pub fn cron_log(&self) -> CronLog<'_> {
        CronLog { db: self }
    }
}

impl CronLog<'_> {
    /// Appends a row; returns its id.
    pub async fn insert(&self, entry: &NewCronLog<'_>) -> Result<i64, DbError> {
        let log_time = micros(entry.log_time);
        let success = entry.success.map(micros);
        run!(self.db, "insert cron log", |pool| {
            sqlx::query_scalar(
                "INSERT INTO cron_log (app_name, log_time, duration, success, exc_type, exc_value, exc_traceback)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(entry.app_name)
            .bind(log_time)
            .bind(entry.duration)
            .bind(success)
            .bind(entry.exc_type)
            .bind(entry.exc_value)
            .bind(entry.exc_traceback)
            .fetch_one(pool)
            .await
        })
    }

    /// Newest first, at most `limit` rows, optionally for one job.
    pub async fn list(
        &self,
        app_name: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CronLogEntry>, DbError> {
        let limit = i64::from(limit);
        run!(self.db, "list cron log", |pool| {
            sqlx::query_as(
                "SELECT id, app_name, log_time, duration, success, exc_type, exc_value, exc_traceback
                 FROM cron_log WHERE ($1 IS NULL OR app_name = $1)
                 ORDER BY log_time DESC, id DESC LIMIT $2",
            )
            .bind(app_name)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// Deletes rows logged before `cutoff` (cleanse_cronlog); returns how many.
    pub async fn delete_before(&self, cutoff: DateTime<Utc>) -> Result<u64, DbError> {
        let cutoff = micros(cutoff);
        run!(self.db, "cleanse cron log", |pool| {
            sqlx::query("DELETE FROM cron_log WHERE log_time < $1")
                .bind(cutoff)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
    }
}
