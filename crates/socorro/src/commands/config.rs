//! The one configuration `socorro run` and the admin commands share: every
//! service's section, read from `SOCORRO_*` like the single-service binaries.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use crash_queue::config::QueueConfig;
use crash_storage::config::StorageConfig;
use serde::Deserialize;
use service::telemetry::LogConfig;

/// Variables read by command-line options rather than the config structs.
const CLI_ENV_VARS: [&str; 1] = ["SOCORRO_DEMO_CORPUS"];

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
    /// `SOCORRO_SYMBOLS__*`: the local symbol store.
    pub symbols: processor::symbols::store::StoreConfig,
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
            symbols: processor::symbols::store::StoreConfig::default(),
        }
    }
}

impl AllConfig {
    /// Every setting, validated; errors name the variable.
    pub fn from_env() -> anyhow::Result<Self> {
        let load = || -> anyhow::Result<Self> {
            let mut cfg: Self = service::load_config()?;
            cfg.storage.validate()?;
            cfg.queue.validate()?;
            cfg.collector.validate()?;
            cfg.db.validate()?;
            cfg.search.validate()?;
            cfg.processor.validate()?;
            cfg.cron.validate()?;
            cfg.webapp.validate()?;
            cfg.symbols.validate()?;
            // the processor searches the store first
            cfg.processor.symbols.store_dir = Some(cfg.symbols.dir(&cfg.data_dir));
            Ok(cfg)
        };
        load().context("invalid SOCORRO_* settings")
    }

    /// `SOCORRO_*` variables in the process environment that set nothing
    /// (typos, settings of another version).
    pub fn unknown_env_vars() -> Vec<String> {
        service::config_keys::unknown_vars::<Self>(
            std::env::vars()
                .map(|(k, _)| k)
                .filter(|k| !CLI_ENV_VARS.contains(&k.as_str())),
        )
    }

    /// The crash storage these settings name.
    pub fn storage(&self) -> anyhow::Result<Arc<dyn crash_storage::CrashStorage>> {
        crash_storage::config::build(&self.storage, &self.data_dir)
            .context("crash storage (SOCORRO_STORAGE__*)")
    }

    /// The crash storage these settings name, for a command that only
    /// reads: no storage journal is created where there is none.
    pub fn storage_for_reading(&self) -> anyhow::Result<Arc<dyn crash_storage::CrashStorage>> {
        crash_storage::config::build_for_reading(&self.storage, &self.data_dir)
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
            symbols: self.symbols.clone(),
            search: self.search.clone(),
        }
    }

    /// The local symbol store these settings name.
    pub fn symbol_store(&self) -> processor::symbols::store::SymbolStore {
        processor::symbols::store::SymbolStore::new(&self.symbols, &self.data_dir)
    }
}

/// `socorro config`: what can be set, and whether the environment is valid.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(clap::Subcommand)]
enum ConfigCommand {
    /// Print every `SOCORRO_*` variable the services read, one per line.
    Keys,
    /// Load and validate the settings in the environment; fail on invalid
    /// values and on `SOCORRO_*` variables that set nothing.
    Check,
}

pub fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    match args.command {
        ConfigCommand::Keys => {
            for key in service::config_keys::config_keys::<AllConfig>() {
                println!("{}", key.env_var());
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        ConfigCommand::Check => {
            let cfg = AllConfig::from_env()?;
            let unknown = AllConfig::unknown_env_vars();
            if !unknown.is_empty() {
                anyhow::bail!(
                    "unknown settings (not read by any service; see `socorro config keys`): {}",
                    unknown.join(", ")
                );
            }
            println!(
                "configuration ok: storage {:?}, queue {:?}, data dir {}",
                cfg.storage.backend,
                cfg.queue.backend,
                cfg.data_dir.display()
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}
