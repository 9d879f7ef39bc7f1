//! Webapp configuration (`SOCORRO_*` environment variables).

use std::path::{Path, PathBuf};

use crash_queue::config::QueueConfig;
use crash_storage::config::StorageConfig;
use db::DbConfig;
use processor::symbols::store::StoreConfig;
use search::SearchConfig;
use serde::Deserialize;
use service::ConfigError;
use service::telemetry::LogConfig;

/// Everything the `socorro-webapp` binary reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `SOCORRO_DATA_DIR`: root of the embedded backends' files (default `./data`).
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub storage: StorageConfig,
    pub queue: QueueConfig,
    pub db: DbConfig,
    pub search: SearchConfig,
    pub webapp: WebappSettings,
    /// `SOCORRO_SYMBOLS__*`: the local symbol store (shared with the processor).
    pub symbols: StoreConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            log: LogConfig::default(),
            storage: StorageConfig::default(),
            queue: QueueConfig::default(),
            db: DbConfig::default(),
            search: SearchConfig::default(),
            webapp: WebappSettings::default(),
            symbols: StoreConfig::default(),
        }
    }
}

impl Config {
    /// Load from the process environment and validate.
    pub fn from_env() -> Result<Self, ConfigError> {
        let cfg: Self = service::load_config()?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.search
            .validate()
            .map_err(|e| ConfigError::Inconsistent(e.to_string()))?;
        self.symbols.validate()?;
        self.webapp.validate()
    }
}

/// `SOCORRO_WEBAPP__*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebappSettings {
    /// `SOCORRO_WEBAPP__LISTEN`: address to serve on.
    pub listen: String,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// `SOCORRO_WEBAPP__SECRET_KEY`: signs session cookies and CSRF tokens
    /// (at least 32 characters). Unset: a random key is generated once and
    /// kept in `<data dir>/webapp-secret-key` (mode 0600).
    pub secret_key: Option<String>,
    /// Product shown on `/` and used by the heartbeat search.
    pub default_product: String,
    /// Browser sessions expire this many seconds after login (Socorro: 86400).
    pub session_max_age_secs: u64,
    /// Mark cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Take the client address from `X-Real-Ip` (behind a trusted proxy).
    pub trust_x_real_ip: bool,
    pub rate_limits: RateLimits,
}

impl Default for WebappSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8000".to_owned(),
            workers: 0,
            secret_key: None,
            default_product: "Firefox".to_owned(),
            session_max_age_secs: 86_400,
            secure_cookies: false,
            trust_x_real_ip: false,
            rate_limits: RateLimits::default(),
        }
    }
}

/// `SOCORRO_WEBAPP__RATE_LIMITS__*`: requests per minute (Socorro's values).
/// 0 disables a limit.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    /// API, per client address, anonymous.
    pub api_anonymous_per_min: u32,
    /// API, per token or logged-in user.
    pub api_user_per_min: u32,
    /// Search UI pages, per client address, anonymous.
    pub search_anonymous_per_min: u32,
    /// Search UI pages, per logged-in user.
    pub search_user_per_min: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            api_anonymous_per_min: 100,
            api_user_per_min: 1000,
            search_anonymous_per_min: 10,
            search_user_per_min: 100,
        }
    }
}

impl WebappSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |var: &str, message: String| ConfigError::Invalid {
            var: format!("SOCORRO_WEBAPP__{var}"),
            message,
        };
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid(
                "LISTEN",
                format!("{:?} is not an address like 127.0.0.1:8000", self.listen),
            ));
        }
        if let Some(key) = &self.secret_key
            && key.len() < 32
        {
            return Err(invalid(
                "SECRET_KEY",
                "must be at least 32 characters".to_owned(),
            ));
        }
        if self.session_max_age_secs == 0 {
            return Err(invalid(
                "SESSION_MAX_AGE_SECS",
                "must be greater than 0".to_owned(),
            ));
        }
        if self.default_product.trim().is_empty() {
            return Err(invalid("DEFAULT_PRODUCT", "must not be empty".to_owned()));
        }
        Ok(())
    }

    /// The secret key: the configured one, else the one persisted under
    /// `data_dir` (created on first use).
    pub fn resolve_secret(&self, data_dir: &Path) -> std::io::Result<Vec<u8>> {
        if let Some(key) = &self.secret_key {
            return Ok(key.as_bytes().to_vec());
        }
        let path = data_dir.join("webapp-secret-key");
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= 32 => return Ok(text.trim().as_bytes().to_vec()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir_all(data_dir)?;
        let key = hex::encode(rand::random::<[u8; 32]>());
        write_private(&path, key.as_bytes())?;
        tracing::info!(path = %path.display(), "generated the webapp secret key");
        Ok(key.into_bytes())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn short_secret_is_refused() {
        let mut s = WebappSettings {
            secret_key: Some("short".into()),
            ..Default::default()
        };
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("SOCORRO_WEBAPP__SECRET_KEY"), "{err}");
        s.secret_key = None;
        s.listen = "nope".into();
        assert!(s.validate().unwrap_err().to_string().contains("LISTEN"));
    }

    #[test]
    fn secret_is_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = WebappSettings::default();
        let a = s.resolve_secret(dir.path()).unwrap();
        let b = s.resolve_secret(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn env_names() {
        let cfg: Config = service::config::load_config_from(vec![(
            "SOCORRO_WEBAPP__RATE_LIMITS__API_USER_PER_MIN".to_owned(),
            "7".to_owned(),
        )])
        .unwrap();
        assert_eq!(cfg.webapp.rate_limits.api_user_per_min, 7);
    }
}
