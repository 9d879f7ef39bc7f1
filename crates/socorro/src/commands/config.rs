//! The one configuration `socorro run` and the admin commands share: every
//! service's section, read from `SOCORRO_*` like the single-service binaries.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
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
    /// Every setting, validated; errors name the variable.
    pub fn from_env() -> anyhow::Result<Self> {
        let load = || -> anyhow::Result<Self> {
            let cfg: Self = service::load_config()?;
            cfg.collector.validate()?;
            cfg.db.validate()?;
            cfg.processor.validate()?;
            cfg.cron.validate()?;
            cfg.webapp.validate()?;
            Ok(cfg)
        };
        load().context("invalid SOCORRO_* settings")
    }

    /// The crash storage these settings name.
    pub fn storage(&self) -> anyhow::Result<Arc<dyn crash_storage::CrashStorage>> {
        crash_storage::config::build(&self.storage, &self.data_dir)
            .context("crash storage (SOCORRO_STORAGE__*)")
    }

    /// The crash queue these settings name.
    pub async fn queue(&self) -> anyhow::Result<Arc<dyn crash_queue::CrashQueue>> {
        crash_queue::config::build(&self.queue, &self.data_dir)
            .await
            .context("crash queue (SOCORRO_QUEUE__*)")
    }

    /// The relational database, migrated if `SOCORRO_DB__MIGRATE_ON_START`.
    pub async fn db(&self) -> anyhow::Result<db::Db> {
        db::Db::open(&self.db, &self.data_dir)
            .await
            .context("database (SOCORRO_DB__*)")
    }

    /// The search index these settings name, instrumented in `registry`.
    pub async fn search_index(
        &self,
        registry: Option<&prometheus::Registry>,
    ) -> anyhow::Result<Arc<dyn search::SearchIndex>> {
        let index = search::build(&self.search, &self.data_dir)
            .await
            .context("search index (SOCORRO_SEARCH__*)")?;
        let metrics = Arc::new(search::SearchMetrics::new()?);
        if let Some(registry) = registry {
            metrics.register(registry)?;
        }
        Ok(Arc::new(search::Instrumented::new(index, metrics)))
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
