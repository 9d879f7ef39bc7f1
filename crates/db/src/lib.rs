//! Relational store: SQLite (embedded default) and PostgreSQL behind one
//! handle, [`Db`], with migrations and one repository per concept.
//!
//! ```no_run
//! # async fn f() -> Result<(), db::DbError> {
//! // SOCORRO_DB__URL unset: sqlite://./data/socorro.sqlite; migrations applied
//! let db = db::Db::open(&db::DbConfig::default(), std::path::Path::new("./data")).await?;
//! db.signatures().record("OOM | small", chrono::Utc::now(), 20240101000000).await?;
//! # Ok(()) }
//! ```
//!
//! * **Engines.** The URL scheme picks the engine (`sqlite://…`,
//!   `postgres://…`); anything else is an error naming `SOCORRO_DB__URL`.
//!   Both run the same SQL (`$n` parameters, `ON CONFLICT`, `RETURNING`);
//!   the migrations in `migrations/postgres` and `migrations/sqlite` define
//!   the same tables in each dialect.
//! * **Time.** Timestamps are UTC `DateTime<Utc>` truncated to microseconds:
//!   `TIMESTAMPTZ` on PostgreSQL, RFC 3339 text on SQLite (always written by
//!   the application, so it sorts chronologically).
//! * **Retries.** Every repository call retries transient errors (lost
//!   connection, server restart, busy SQLite, serialization failure) with
//!   bounded backoff; see [`retry::RetryPolicy`]. Start-up keeps retrying an
//!   unreachable server for `SOCORRO_DB__CONNECT_TIMEOUT_SECS`.
//! * **Tests.** With feature `testsuite`, [`testing::TestDb`] gives each test
//!   its own SQLite file or PostgreSQL database (on
//!   `SOCORRO_TEST_POSTGRES_URL`; `scripts/pg-test.sh` starts a server), and
//!   [`conformance`] holds the suite every engine must pass.

#[macro_use]
mod row;
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
