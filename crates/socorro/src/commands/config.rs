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
    pub db: db::DbConfig,
    pub collector: collector::CollectorSettings,
    pub processor: processor::ProcessorSettings,
    pub cron: crontabber::CronConfig,
    pub search: search::SearchConfig,
    pub webapp: webapp::WebappSettings,
}

impl Default for AllConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            log: LogConfig::default(),
            storage: StorageConfig::default(),
            queue: QueueConfig::default(),
            db: db::DbConfig::default(),
            collector: collector::CollectorSettings::default(),
            processor: processor::ProcessorSettings::default(),
            cron: crontabber::CronConfig::default(),
            search: search::SearchConfig::default(),
            webapp: webapp::WebappSettings::default(),
        }
    }
}

impl AllConfig {
    pub fn from_env() -> anyhow::Result<Self> {
        let cfg: Self = service::load_config()?;
        cfg.collector.validate()?;
        cfg.db.validate()?;
        cfg.processor.validate()?;
        cfg.cron.validate()?;
        cfg.webapp.validate()?;
        Ok(cfg)
    }

    /// The search index these settings name, instrumented in `registry`.
    pub async fn search_index(
        &self,
        registry: Option<&prometheus::Registry>,
    ) -> anyhow::Result<std::sync::Arc<dyn search::SearchIndex>> {
        use anyhow::Context;
        let index = search::build(&self.search, &self.data_dir)
            .await
            .context("search index (SOCORRO_SEARCH__*)")?;
        let metrics = std::sync::Arc::new(search::SearchMetrics::new()?);
        if let Some(registry) = registry {
            metrics.register(registry)?;
        }
        Ok(std::sync::Arc::new(search::Instrumented::new(
            index, metrics,
        )))
    }

    /// The processor's view of the shared settings.
    pub fn processor_config(&self) -> processor::Config {
        processor::Config {
            data_dir: self.data_dir.clone(),
            log: self.log.clone(),
            storage: self.storage.clone(),
            queue: self.queue.clone(),
            db: self.db.clone(),
            processor: self.processor.clone(),
        }
    }
}
