//! Schema migrations (`migrations/postgres`, `migrations/sqlite`), applied at
//! start and by `socorro db migrate`; `socorro db status` shows what is applied.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Serialize;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use crate::config::Engine;
use crate::error::DbError;
use crate::pool::{Db, Pool};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// Migrations for PostgreSQL, embedded at build time.
pub static POSTGRES_MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| migrator(embedded::POSTGRES));
/// Migrations for SQLite, embedded at build time.
pub static SQLITE_MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| migrator(embedded::SQLITE));

/// The `Migrator` `sqlx::migrate!` would build from the same files (same
/// versions, descriptions, checksums and `-- no-transaction` opt-out), from
/// the list `build.rs` embeds; see there for why not the macro.
fn migrator(files: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                AssertSqlSafe(sql).into_sql_str(),
                sql.starts_with("-- no-transaction"),
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// One migration and whether the database has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MigrationInfo {
    /// Version (the file name's number).
    pub version: i64,
    /// Description (the file name's words).
    pub description: String,
    /// Applied successfully.
    pub applied: bool,
    /// Applied, but the file has changed since (checksum differs).
    pub modified: bool,
}

/// What [`Db::status`] reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MigrationStatus {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// Every migration this build knows, in order.
    pub migrations: Vec<MigrationInfo>,
    /// Versions recorded in the database that this build does not know
    /// (the database is newer than the binary).
    pub unknown_applied: Vec<i64>,
}

impl MigrationStatus {
    /// Versions not applied yet.
    pub fn pending(&self) -> Vec<i64> {
        self.migrations
            .iter()
            .filter(|m| !m.applied)
            .map(|m| m.version)
            .collect()
    }

    /// Versions applied.
    pub fn applied(&self) -> Vec<i64> {
        self.migrations
            .iter()
            .filter(|m| m.applied)
            .map(|m| m.version)
            .collect()
    }

    /// True when everything is applied, unmodified, and nothing unknown is recorded.
    pub fn is_current(&self) -> bool {
        self.migrations.iter().all(|m| m.applied && !m.modified) && self.unknown_applied.is_empty()
    }
}

struct AppliedRow {
    version: i64,
    checksum: Vec<u8>,
    success: bool,
}

from_row!(AppliedRow {
    version,
    checksum,
    success
});

impl Db {
    /// The migrator for this handle's engine.
    pub fn migrator(&self) -> &'static Migrator {
        match self.engine() {
            Engine::Sqlite => &SQLITE_MIGRATOR,
            Engine::Postgres => &POSTGRES_MIGRATOR,
        }
    }

    /// Applies every pending migration (a no-op when current); returns the
    /// versions that were pending when the call started and are applied now. Safe to run from several processes at
    /// once (PostgreSQL takes an advisory lock; SQLite the write lock).
    pub async fn migrate(&self) -> Result<Vec<i64>, DbError> {
        let before = self.status().await?.applied();
        let migrator = self.migrator();
        let mut seen = before.len();
        let mut attempt = 0u32;
        loop {
            let result = match self.pool() {
                Pool::Sqlite(p) => migrator.run(p).await,
                Pool::Postgres(p) => migrator.run(p).await,
            };
            let Err(source) = result else { break };
            // Another process may be applying the same migrations (SQLite has
            // no migration lock, so both try the same one and one fails):
            // fine if the schema is now current; try again while it progresses.
            let now = self.status().await?;
            if now.is_current() {
                break;
            }
            let progressed = now.applied().len() > seen;
            seen = now.applied().len();
            if !progressed || attempt >= 20 {
                return Err(DbError::Migrate {
                    url: self.url().to_owned(),
                    source,
                });
            }
            attempt += 1;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let after = self.status().await?.applied();
        let applied: Vec<i64> = after.into_iter().filter(|v| !before.contains(v)).collect();
        if !applied.is_empty() {
            tracing::info!(versions = ?applied, "database migrations applied");
        }
        Ok(applied)
    }

    /// Which migrations are applied, pending, modified or unknown. Reads only.
    pub async fn status(&self) -> Result<MigrationStatus, DbError> {
        let rows: Vec<AppliedRow> = run!(self, "migration status", |pool| {
            async {
                let exists: Option<i64> = match self.engine() {
                    Engine::Sqlite => {
                        sqlx::query_scalar(
                            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                        )
                        .fetch_optional(pool)
                        .await?
                    }
                    Engine::Postgres => {
                        sqlx::query_scalar(
                            "SELECT 1::BIGINT WHERE to_regclass('_sqlx_migrations') IS NOT NULL",
                        )
                        .fetch_optional(pool)
                        .await?
                    }
                };
                if exists.is_none() {
                    return Ok(Vec::new());
                }
                sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
                    .fetch_all(pool)
                    .await
            }
            .await
        })?;
        let recorded: BTreeMap<i64, AppliedRow> =
            rows.into_iter().map(|r| (r.version, r)).collect();
        let migrator = self.migrator();
        let migrations = migrator
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| {
                let row = recorded.get(&m.version).filter(|r| r.success);
                MigrationInfo {
                    version: m.version,
                    description: m.description.to_string(),
                    applied: row.is_some(),
                    modified: row.is_some_and(|r| r.checksum.as_slice() != m.checksum.as_ref()),
                }
            })
            .collect();
        let unknown_applied = recorded
            .keys()
            .copied()
            .filter(|v| !migrator.version_exists(*v))
            .collect();
        Ok(MigrationStatus {
            engine: self.engine().to_string(),
            migrations,
            unknown_applied,
        })
    }
}
