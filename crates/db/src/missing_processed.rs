//! Crashes `verifyprocessed` found without a processed crash
//! (`/api/MissingProcessedCrash/`, updatemissing job).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Db, DbError, micros};

/// One missing processed crash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingProcessedCrash {
    /// Row id.
    pub id: i64,
    /// The crash id (unique).
    pub crash_id: String,
    /// Processed since it was found missing.
    pub is_processed: bool,
    /// When it was found missing.
    pub created: DateTime<Utc>,
}

from_row!(MissingProcessedCrash {
    id,
    crash_id,
    is_processed,
    created
});

/// One page of results, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Rows over all pages.
    pub total: i64,
}

/// Repository of [`MissingProcessedCrash`]es.
#[derive(Clone, Copy, Debug)]
pub struct MissingProcessed<'a> {
    db: &'a Db,
}

impl Db {
    /// Missing processed crashes repository.
    pub fn missing_processed(&self) -> MissingProcessed<'_> {
        MissingProcessed { db: self }
    }
}

const COLUMNS: &str = "SELECT id, crash_id, is_processed, created FROM missing_processed_crash";

impl MissingProcessed<'_> {
    /// Records a missing crash; false when already recorded.
    pub async fn insert(&self, crash_id: &str, created: DateTime<Utc>) -> Result<bool, DbError> {
        let created = micros(created);
        run!(self.db, "insert missing processed crash", |pool| {
            sqlx::query(
                "INSERT INTO missing_processed_crash (crash_id, is_processed, created) VALUES ($1, $2, $3)
                 ON CONFLICT (crash_id) DO NOTHING",
            )
            .bind(crash_id)
            .bind(false)
            .bind(created)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() > 0)
        })
    }

    /// One row by crash id.
    pub async fn get(&self, crash_id: &str) -> Result<Option<MissingProcessedCrash>, DbError> {
        run!(self.db, "get missing processed crash", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{COLUMNS} WHERE crash_id = $1"
            )))
            .bind(crash_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Marks a crash processed; false when unknown or already marked.
    pub async fn mark_processed(&self, crash_id: &str) -> Result<bool, DbError> {
        run!(self.db, "mark processed", |pool| {
            sqlx::query(
                "UPDATE missing_processed_crash SET is_processed = $1
                 WHERE crash_id = $2 AND is_processed = $3",
            )
            .bind(true)
            .bind(crash_id)
            .bind(false)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() > 0)
        })
    }

    /// Unprocessed rows, oldest first, at most `limit` (updatemissing job).
    pub async fn list_unprocessed(
        &self,
        limit: u32,
    ) -> Result<Vec<MissingProcessedCrash>, DbError> {
        let limit = i64::from(limit);
        run!(self.db, "list unprocessed", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{COLUMNS} WHERE is_processed = $1 ORDER BY created, id LIMIT $2"
            )))
            .bind(false)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// Page `page` (1-based) of `per_page` rows, newest first, with the total.
    pub async fn page(
        &self,
        page: u32,
        per_page: u32,
    ) -> Result<Page<MissingProcessedCrash>, DbError> {
        if page == 0 || per_page == 0 {
            return Err(DbError::Invalid("invalid page number".into()));
        }
        let limit = i64::from(per_page);
        let offset = i64::from(page - 1) * limit;
        let (items, total) = run!(self.db, "page missing processed crashes", |pool| {
            async {
                let items: Vec<MissingProcessedCrash> = sqlx::query_as(sqlx::AssertSqlSafe(
                    format!("{COLUMNS} ORDER BY created DESC, id DESC LIMIT $1 OFFSET $2"),
                ))
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM missing_processed_crash")
                    .fetch_one(pool)
                    .await?;
                Ok((items, total))
            }
            .await
        })?;
        Ok(Page { items, total })
    }

    /// Number of rows, optionally only (un)processed ones.
    pub async fn count(&self, is_processed: Option<bool>) -> Result<i64, DbError> {
        run!(self.db, "count missing processed crashes", |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM missing_processed_crash WHERE ($1 IS NULL OR is_processed = $1)",
            )
            .bind(is_processed)
            .fetch_one(pool)
            .await
        })
    }
}
