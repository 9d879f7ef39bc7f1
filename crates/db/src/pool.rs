//! `Db`: one handle over either engine's pool, with connect-time and per-call retry.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};

use crate::config::{DbConfig, Engine, URL_SETTING, engine_of, redact_url};
use crate::error::DbError;
use crate::retry::{RetryPolicy, is_transient};

/// The pool of one engine.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Handle to the relational store. Cheap to clone (the pools are shared).
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    retry: RetryPolicy,
    url: String,
}

/// Opens a write transaction: `BEGIN IMMEDIATE` on SQLite (takes the write
/// lock up front, so concurrent writers wait instead of failing mid-way),
/// plain `BEGIN` on PostgreSQL.
pub(crate) trait BeginWrite {
    type Database: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Database>, sqlx::Error>> + Send;
}

impl BeginWrite for SqlitePool {
    type Database = Sqlite;
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Database = Postgres;
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin().await
    }
}

impl Db {
    /// Connects to the database `cfg` names (default: SQLite file under
    /// `data_dir`), retrying an unreachable server until
    /// `connect_timeout_secs`. Does not migrate; see [`Db::open`].
    pub async fn connect(cfg: &DbConfig, data_dir: &Path) -> Result<Db, DbError> {
        cfg.validate()?;
        let url = cfg.effective_url(data_dir);
        let redacted = redact_url(&url);
        let engine = engine_of(&url)?;
        let timeout = cfg.connect_timeout();
        let pool = match engine {
            Engine::Sqlite => Pool::Sqlite(connect_sqlite(cfg, &url, &redacted, timeout).await?),
            Engine::Postgres => {
                Pool::Postgres(connect_postgres(cfg, &url, &redacted, timeout).await?)
            }
        };
        let retry = RetryPolicy {
            attempts: cfg.retry_attempts,
            max_elapsed: timeout.saturating_add(timeout / 2),
            ..RetryPolicy::default()
        };
        tracing::info!(engine = %engine, url = %redacted, "database connected");
        Ok(Db {
            pool,
            retry,
            url: redacted,
        })
    }

    /// [`Db::connect`], then [`Db::migrate`] when `migrate_on_start` is set.
    pub async fn open(cfg: &DbConfig, data_dir: &Path) -> Result<Db, DbError> {
        let db = Self::connect(cfg, data_dir).await?;
        if cfg.migrate_on_start {
            db.migrate().await?;
        }
        Ok(db)
    }

    /// Which engine this handle talks to.
    pub fn engine(&self) -> Engine {
        match self.pool {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// The database URL with any password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replaces the per-call retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The underlying SQLite pool, if this is SQLite (for tests and tools).
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(p) => Some(p),
            Pool::Postgres(_) => None,
        }
    }

    /// The underlying PostgreSQL pool, if this is PostgreSQL (for tests and tools).
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(p) => Some(p),
            Pool::Sqlite(_) => None,
        }
    }

    /// Health check: one round trip.
    pub async fn ping(&self) -> Result<(), DbError> {
        run!(self, "ping", |pool| {
            sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
        })
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Called by `run!` after a failed attempt: waits and returns `Ok` when the
    /// call should be tried again, else the error to return.
    pub(crate) async fn after_failure(
        &self,
        op: &'static str,
        attempt: u32,
        started: Instant,
        error: sqlx::Error,
    ) -> Result<(), DbError> {
        let in_budget = started.elapsed() < self.retry.max_elapsed;
        if is_transient(&error) && attempt + 1 < self.retry.attempts && in_budget {
            let delay = self.retry.delay(attempt);
            tracing::warn!(op, attempt = attempt + 1, ?delay, %error, "transient database error; retrying");
            tokio::time::sleep(delay).await;
            return Ok(());
        }
        Err(DbError::from_sqlx(op, error))
    }
}

async fn connect_sqlite(
    cfg: &DbConfig,
    url: &str,
    redacted: &str,
    timeout: Duration,
) -> Result<SqlitePool, DbError> {
    let options = SqliteConnectOptions::from_str(url).map_err(|e| DbError::Config {
        setting: URL_SETTING,
        message: format!("cannot parse {redacted:?}: {e}"),
    })?;
    let file = options.get_filename().to_path_buf();
    if let Some(dir) = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !is_memory(&file))
    {
        std::fs::create_dir_all(dir).map_err(|source| DbError::Io {
            what: format!(
                "creating the directory of the SQLite database {} ({URL_SETTING})",
                dir.display()
            ),
            source,
        })?;
    }
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    SqlitePoolOptions::new()
        .max_connections(cfg.max_connections)
        .acquire_timeout(timeout)
        .connect_with(options)
        .await
        .map_err(|source| DbError::Connect {
            url: redacted.to_owned(),
            source,
        })
}

fn is_memory(file: &Path) -> bool {
    file.as_os_str() == ":memory:"
}

async fn connect_postgres(
    cfg: &DbConfig,
    url: &str,
    redacted: &str,
    timeout: Duration,
) -> Result<PgPool, DbError> {
    let options = PgConnectOptions::from_str(url).map_err(|e| DbError::Config {
        setting: URL_SETTING,
        message: format!("cannot parse {redacted:?}: {e}"),
    })?;
    // Probe with a direct connection so the error says why (refused, DNS,
    // auth, no such database), then hand out a lazily filled pool.
    let deadline = Instant::now() + timeout;
    let policy = RetryPolicy {
        attempts: u32::MAX,
        ..RetryPolicy::default()
    };
    let mut attempt = 0u32;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let probe = tokio::time::timeout(left, PgConnection::connect_with(&options)).await;
        let error = match probe {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                break;
            }
            Ok(Err(error)) => error,
            Err(_elapsed) => sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {timeout:?}"),
            )),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if !is_transient(&error) || left.is_zero() {
            return Err(DbError::Connect {
                url: redacted.to_owned(),
                source: error,
            });
        }
        let delay = policy.delay(attempt).min(left);
        tracing::warn!(url = redacted, %error, ?delay, "database not reachable yet; retrying");
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
    Ok(PgPoolOptions::new()
        .max_connections(cfg.max_connections)
        .acquire_timeout(timeout)
        .connect_lazy_with(options))
}

#[cfg(test)]
#[cfg(feature = "testsuite")]
mod tests {
    use std::str::FromStr;

    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

    use super::{Db, Pool};
    use crate::DbError;
    use crate::retry::RetryPolicy;
    use crate::testing::{TestDb, postgres_admin_url};

    /// A handle whose pool hands out idle connections without checking them,
    /// so a killed connection reaches the repository call itself.
    fn unchecked(t: &TestDb, retry: RetryPolicy) -> Db {
        let options = PgConnectOptions::from_str(t.url()).unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_lazy_with(options);
        Db {
            pool: Pool::Postgres(pool),
            retry,
            url: t.url().to_owned(),
        }
    }

    async fn kill_connections(name: &str) {
        let admin = sqlx::PgPool::connect(&postgres_admin_url()).await.unwrap();
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
        )
        .bind(name)
        .fetch_all(&admin)
        .await
        .unwrap();
        assert!(!killed.is_empty());
        admin.close().await;
        // let the server finish closing them
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    #[tokio::test]
    async fn a_call_on_a_killed_connection_is_retried() {
        let t = TestDb::postgres().await.unwrap();
        let name = t.database_name().unwrap().to_owned();

        // without retries the killed connection surfaces as Unavailable…
        let once = unchecked(
            &t,
            RetryPolicy {
                attempts: 1,
                ..RetryPolicy::default()
            },
        );
        once.ping().await.unwrap();
        kill_connections(&name).await;
        let err = once.products().list().await.unwrap_err();
        assert!(matches!(err, DbError::Unavailable { .. }), "{err:?}");
        once.close().await;

        // …and with them the same call succeeds on a new connection
        let retrying = unchecked(&t, RetryPolicy::default());
        retrying.ping().await.unwrap();
        kill_connections(&name).await;
        assert!(retrying.products().list().await.unwrap().is_empty());
        retrying.close().await;
    }
}
