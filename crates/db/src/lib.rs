//! Relational store: SQLite (embedded default) and PostgreSQL behind one
//! handle, [`Db`], with migrations and one repository per concept.
//!
//! ```no_run
//! # async fn f() -> Result<(), db::DbError> {
//! let db = db::Db::open(&db::DbConfig::default(), std::path::Path::new("./data")).await?;
//! db.signatures().record("OOM | small", chrono::Utc::now(), 20240101000000).await?;
//! # Ok(()) }
//! ```
//!
//! Every repository call retries transient errors (lost connection, busy
//! database) with bounded backoff; see [`retry::RetryPolicy`].

#[macro_use]
mod run;
mod pool;

pub mod bug_associations;
pub mod cli;
mod config;
pub mod cron_jobs;
pub mod cron_log;
pub mod dead_letters;
mod error;
mod migrate;
pub mod missing_processed;
mod password;
pub mod permissions;
pub mod product_versions;
pub mod products;
pub mod retry;
pub mod signatures;
pub mod tokens;
pub mod users;

#[cfg(feature = "testsuite")]
pub mod conformance;
#[cfg(feature = "testsuite")]
pub mod testing;

pub use config::{DEFAULT_SQLITE_FILE, DbConfig, Engine, URL_SETTING, engine_of, redact_url};
pub use error::DbError;
pub use migrate::{MigrationInfo, MigrationStatus, POSTGRES_MIGRATOR, SQLITE_MIGRATOR};
pub use pool::Db;

use chrono::{DateTime, SubsecRound, Utc};

/// Timestamps are kept at microsecond precision (PostgreSQL's), so both
/// engines return exactly what was stored.
pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// Binds lists in chunks of this many values (SQLite's variable limit).
pub(crate) const IN_CHUNK: usize = 500;
