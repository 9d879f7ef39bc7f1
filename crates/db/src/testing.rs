//! Per-test databases (feature `testsuite`): a fresh SQLite file in a temp
//! dir, or a fresh uniquely named database on a real PostgreSQL server, both
//! removed when the [`TestDb`] is dropped (also when the test fails).
//!
//! The PostgreSQL server is `SOCORRO_TEST_POSTGRES_URL` (default
//! [`DEFAULT_POSTGRES_URL`]); `scripts/pg-test.sh` starts one where none runs.
//! An unreachable server is an error, never a skip.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};

use crate::{Db, DbConfig, DbError, redact_url};

/// Environment variable naming the PostgreSQL server tests use.
pub const POSTGRES_URL_ENV: &str = "SOCORRO_TEST_POSTGRES_URL";
/// Used when [`POSTGRES_URL_ENV`] is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Name prefix of per-test databases: `socorro_test_<pid>_<random>`.
pub const DATABASE_PREFIX: &str = "socorro_test_";

/// The admin URL of the test server.
pub fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_URL_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// `url` with its database (path) replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let path_start = rest.find(['/', '?']).map_or(url.len(), |i| start + i);
    let query_start = url[path_start..]
        .find('?')
        .map_or(url.len(), |i| path_start + i);
    format!("{}/{}{}", &url[..path_start], database, &url[query_start..])
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// A database that lives as long as this value.
pub struct TestDb {
    db: Db,
    url: String,
    guard: Guard,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

impl TestDb {
    /// A fresh, migrated SQLite database.
    pub async fn sqlite() -> Result<TestDb, DbError> {
        let t = Self::sqlite_empty().await?;
        t.db.migrate().await?;
        Ok(t)
    }

    /// A fresh SQLite database without migrations.
    pub async fn sqlite_empty() -> Result<TestDb, DbError> {
        let dir = tempfile::tempdir().map_err(|source| DbError::Io {
            what: "creating a temp dir".into(),
            source,
        })?;
        let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
        let db = Db::connect(&test_config(&url), Path::new(".")).await?;
        Ok(TestDb {
            db,
            url,
            guard: Guard::Sqlite(dir),
        })
    }

    /// A fresh, migrated database on the PostgreSQL test server.
    pub async fn postgres() -> Result<TestDb, DbError> {
        let t = Self::postgres_empty().await?;
        t.db.migrate().await?;
        Ok(t)
    }

    /// A fresh database on the PostgreSQL test server, without migrations.
    pub async fn postgres_empty() -> Result<TestDb, DbError> {
        let admin_url = postgres_admin_url();
        let mut admin = admin_connection(&admin_url).await?;
        sweep_abandoned(&mut admin).await;
        let name = format!(
            "{DATABASE_PREFIX}{}_{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 6]>())
        );
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .map_err(|source| DbError::Connect {
                url: redact_url(&admin_url),
                source,
            })?;
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        // from here on the guard drops the database whatever happens
        let guard = Guard::Postgres { admin_url, name };
        let db = match Db::connect(&test_config(&url), Path::new(".")).await {
            Ok(db) => db,
            Err(e) => {
                drop(guard_only(guard));
                return Err(e);
            }
        };
        Ok(TestDb { db, url, guard })
    }

    /// The handle.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The database URL (with password, for building other handles).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The per-test database name (PostgreSQL only).
    pub fn database_name(&self) -> Option<&str> {
        match &self.guard {
            Guard::Postgres { name, .. } => Some(name),
            Guard::Sqlite(_) => None,
        }
    }

    /// A config pointing at this database.
    pub fn config(&self) -> DbConfig {
        test_config(&self.url)
    }
}

fn test_config(url: &str) -> DbConfig {
    DbConfig {
        url: Some(url.to_owned()),
        max_connections: 5,
        connect_timeout_secs: 5,
        ..DbConfig::default()
    }
}

async fn admin_connection(admin_url: &str) -> Result<PgConnection, DbError> {
    let redacted = redact_url(admin_url);
    let options = PgConnectOptions::from_str(admin_url).map_err(|e| DbError::Config {
        setting: POSTGRES_URL_ENV,
        message: format!("cannot parse {redacted:?}: {e}"),
    })?;
    let connect = PgConnection::connect_with(&options);
    match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(DbError::Config {
            setting: POSTGRES_URL_ENV,
            message: format!(
                "PostgreSQL test server not reachable at {redacted}: {e}; \
                 start one with scripts/pg-test.sh and export the URL it prints"
            ),
        }),
        Err(_) => Err(DbError::Config {
            setting: POSTGRES_URL_ENV,
            message: format!("PostgreSQL test server at {redacted} did not answer within 10 s"),
        }),
    }
}

/// Drops per-test databases whose process is gone (a killed test run).
async fn sweep_abandoned(admin: &mut PgConnection) {
    let Ok(names) = sqlx::query_scalar::<_, String>(
        "SELECT datname FROM pg_database WHERE datname LIKE 'socorro\\_test\\_%'",
    )
    .fetch_all(&mut *admin)
    .await
    else {
        return;
    };
    for name in names {
        let Some(pid) = name
            .strip_prefix(DATABASE_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let gone = matches!(
            std::fs::metadata(format!("/proc/{pid}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound
        );
        if gone {
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .await;
        }
    }
}

struct DropOnly(Guard);

fn guard_only(guard: Guard) -> DropOnly {
    DropOnly(guard)
}

impl Drop for DropOnly {
    fn drop(&mut self) {
        drop_database(&self.0);
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop_database(&self.guard);
    }
}

fn drop_database(guard: &Guard) {
    let Guard::Postgres { admin_url, name } = guard else {
        return;
    };
    let (admin_url, name) = (admin_url.clone(), name.clone());
    // Drop runs inside the test's runtime; use a private one on its own thread.
    let handle = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Ok(mut admin) = admin_connection(&admin_url).await {
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                if let Err(error) = admin.execute(sqlx::AssertSqlSafe(sql)).await {
                    eprintln!("warning: could not drop test database {name}: {error}");
                }
                let _ = admin.close().await;
            }
        });
    });
    let _ = handle.join();
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
    }
}
