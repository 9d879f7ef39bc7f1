//! The one configuration `socorro run` and the admin commands share: every
//! service's section, read from `SOCORRO_*` like the single-service binaries.

use std::path::PathBuf;

use crash_queue::config::QueueConfig;
use crash_storage::config::StorageConfig;
use serde::Deserialize;
use service::telemetry::LogConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AllConfig {
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub storage: StorageConfig,
    pub queue: QueueConfig,
    pub collector: collector::CollectorSettings,
    pub db: db::DbConfig,
}

impl Default for AllConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            log: LogConfig::default(),
            storage: StorageConfig::default(),
            queue: QueueConfig::default(),
            collector: collector::CollectorSettings::default(),
            db: db::DbConfig::default(),
        }
    }
}

impl AllConfig {
    pub fn from_env() -> anyhow::Result<Self> {
        let cfg: Self = service::load_config()?;
        cfg.collector.validate()?;
        cfg.db.validate()?;
        Ok(cfg)
    }
}
