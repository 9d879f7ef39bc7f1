//! Collector configuration (`SOCORRO_*` environment variables).

use std::path::PathBuf;

use crash_queue::config::QueueConfig;
use crash_storage::config::StorageConfig;
use serde::Deserialize;
use service::ConfigError;
use service::telemetry::LogConfig;

use crate::throttler::ThrottlerConfig;

/// Everything the `socorro-collector` binary reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `SOCORRO_DATA_DIR`: root of the embedded backends' files (default `./data`).
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub storage: StorageConfig,
    pub queue: QueueConfig,
    pub collector: CollectorSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            log: LogConfig::default(),
            storage: StorageConfig::default(),
            queue: QueueConfig::default(),
            collector: CollectorSettings::default(),
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let cfg: Self = service::load_config()?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.collector.validate()
    }
}

/// `SOCORRO_COLLECTOR__*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CollectorSettings {
    /// `SOCORRO_COLLECTOR__LISTEN`: address to serve `/submit` on.
    pub listen: String,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// Largest request body accepted, as sent (compressed size for gzip).
    /// Antenna's nginx allows 25 MiB.
    pub max_body_bytes: usize,
    /// Largest body after gzip decompression (Antenna has no limit).
    pub max_decompressed_bytes: usize,
    /// Seconds a client may take to send its body before getting a 408.
    pub body_timeout_secs: u64,
    /// Seconds saving and queueing may take before the client gets a 503.
    pub save_timeout_secs: u64,
    /// `Retry-After` seconds sent with a 503.
    pub retry_after_secs: u64,
    /// Bearer token that lets a stage submitter send its own `uuid`
    /// (Antenna's `BREAKPAD_STAGE_SUBMITTER_BEARER_TOKEN`); unset refuses every `uuid`.
    pub stage_submitter_token: Option<String>,
    pub throttler: ThrottlerConfig,
}

impl Default for CollectorSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8800".to_owned(),
            workers: 0,
            max_body_bytes: 25 * 1024 * 1024,
            max_decompressed_bytes: 100 * 1024 * 1024,
            body_timeout_secs: 70,
            save_timeout_secs: 60,
            retry_after_secs: 30,
            stage_submitter_token: None,
            throttler: ThrottlerConfig::default(),
        }
    }
}

impl CollectorSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |var: &str, message: &str| ConfigError::Invalid {
            var: format!("SOCORRO_COLLECTOR__{var}"),
            message: message.to_owned(),
        };
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid(
                "LISTEN",
                &format!("{:?} is not an address like 127.0.0.1:8800", self.listen),
            ));
        }
        if self.max_body_bytes == 0 {
            return Err(invalid("MAX_BODY_BYTES", "must be greater than 0"));
        }
        if self.max_decompressed_bytes < self.max_body_bytes {
            return Err(invalid(
                "MAX_DECOMPRESSED_BYTES",
                "must be at least SOCORRO_COLLECTOR__MAX_BODY_BYTES",
            ));
        }
        if self.body_timeout_secs == 0 || self.save_timeout_secs == 0 {
            return Err(invalid(
                "BODY_TIMEOUT_SECS",
                "timeouts must be greater than 0",
            ));
        }
        if self.stage_submitter_token.as_deref() == Some("") {
            return Err(invalid(
                "STAGE_SUBMITTER_TOKEN",
                "must not be empty when set",
            ));
        }
        Ok(())
    }
}
