//! `DbConfig`: which database, how to reach it.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::error::DbError;

/// The environment variable holding the database URL.
pub const URL_SETTING: &str = "SOCORRO_DB__URL";

/// File name of the embedded database under the data directory.
pub const DEFAULT_SQLITE_FILE: &str = "socorro.sqlite";

/// Database settings (`SOCORRO_DB__*`).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DbConfig {
    /// `SOCORRO_DB__URL`: `sqlite://<path>` or `postgres://user:pass@host:port/db`.
    /// Unset: `sqlite://<data dir>/socorro.sqlite`.
    pub url: Option<String>,
    /// `SOCORRO_DB__MAX_CONNECTIONS`: pool size (default 10).
    pub max_connections: u32,
    /// `SOCORRO_DB__CONNECT_TIMEOUT_SECS`: how long start-up keeps retrying an
    /// unreachable server, and how long a call waits for a pooled connection
    /// (default 10).
    pub connect_timeout_secs: u64,
    /// `SOCORRO_DB__MIGRATE_ON_START`: apply pending migrations in [`crate::Db::open`]
    /// (default true).
    pub migrate_on_start: bool,
    /// `SOCORRO_DB__RETRY_ATTEMPTS`: attempts per call on transient errors
    /// (lost connection, busy database); default 5.
    pub retry_attempts: u32,
}

impl Default for DbConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            connect_timeout_secs: 10,
            migrate_on_start: true,
            retry_attempts: 5,
        }
    }
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("max_connections", &self.max_connections)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("migrate_on_start", &self.migrate_on_start)
            .field("retry_attempts", &self.retry_attempts)
            .finish()
    }
}

impl DbConfig {
    /// A config for `url` with every other setting at its default.
    pub fn with_url(url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// The URL to use: the configured one, or the embedded default under `data_dir`.
    pub fn effective_url(&self, data_dir: &Path) -> String {
        match self.url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => url.to_owned(),
            _ => format!("sqlite://{}", data_dir.join(DEFAULT_SQLITE_FILE).display()),
        }
    }

    /// Start-up retry budget and pool acquire timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs.max(1))
    }

    /// Checks the settings that can be checked without connecting.
    pub fn validate(&self) -> Result<(), DbError> {
        if self.max_connections == 0 {
            return Err(DbError::Config {
                setting: "SOCORRO_DB__MAX_CONNECTIONS",
                message: "must be at least 1".into(),
            });
        }
        if self.retry_attempts == 0 {
            return Err(DbError::Config {
                setting: "SOCORRO_DB__RETRY_ATTEMPTS",
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// Which engine a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// Picks the engine from the URL scheme; anything else is a config error naming
/// `SOCORRO_DB__URL`.
pub fn engine_of(url: &str) -> Result<Engine, DbError> {
    let bad = |message: String| DbError::Config {
        setting: URL_SETTING,
        message,
    };
    let Some((scheme, _)) = url.split_once(':') else {
        return Err(bad(format!(
            "{:?} is not a database URL (expected sqlite://<path> or postgres://<host>/<db>)",
            redact_url(url)
        )));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => Ok(Engine::Sqlite),
        "postgres" | "postgresql" => Ok(Engine::Postgres),
        other => Err(bad(format!(
            "unsupported database scheme {other:?} in {:?} (expected sqlite:// or postgres://)",
            redact_url(url)
        ))),
    }
}

/// Hides the password of `scheme://user:password@host/...`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        &url[..rest_start],
        &userinfo[..colon],
        &url[rest_start + at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h/db?x=@"), "postgres://h/db?x=@");
        assert_eq!(
            redact_url("sqlite://./data/x.sqlite"),
            "sqlite://./data/x.sqlite"
        );
        assert_eq!(redact_url("garbage"), "garbage");
    }

    #[test]
    fn engine_from_scheme() {
        assert_eq!(engine_of("sqlite://x").unwrap(), Engine::Sqlite);
        assert_eq!(engine_of("postgresql://h/db").unwrap(), Engine::Postgres);
        let err = engine_of("mysql://u:pw@x/db").unwrap_err().to_string();
        assert!(err.contains(URL_SETTING), "{err}");
        assert!(!err.contains("pw"), "{err}");
        assert!(
            engine_of("not a url")
                .unwrap_err()
                .to_string()
                .contains(URL_SETTING)
        );
    }

    #[test]
    fn default_url_is_sqlite_under_data_dir() {
        let url = DbConfig::default().effective_url(Path::new("./data"));
        assert_eq!(url, "sqlite://./data/socorro.sqlite");
        let cfg = DbConfig::with_url("postgres://u:pw@h/db");
        assert!(!format!("{cfg:?}").contains("pw@"));
    }
}
