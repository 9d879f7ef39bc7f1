//! Settings of the processor, read from `SOCORRO_*` (`__` nests).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `SOCORRO_DATA_DIR` | `./data` | embedded backends and the symbol cache live here |
//! | `SOCORRO_PROCESSOR__WORKERS` | `0` (= cores) | concurrent crashes |
//! | `SOCORRO_PROCESSOR__RULESET` | `mozilla` | `default` (generic) or `mozilla` (Socorro's rules) |
//! | `SOCORRO_PROCESSOR__LEASE_SECS` | `300` | queue lease per message (Pub/Sub ack deadline) |
//! | `SOCORRO_PROCESSOR__MAX_ATTEMPTS` | `5` | failed deliveries before a crash is dead-lettered |
//! | `SOCORRO_PROCESSOR__RETRY_DELAY_SECS` | `10` | nack delay after a failure |
//! | `SOCORRO_PROCESSOR__TIME_BUDGET_SECS` | `120` | stackwalk budget per crash |
//! | `SOCORRO_PROCESSOR__IDLE_SECS` | `1` | sleep when all queues are empty |
//! | `SOCORRO_PROCESSOR__METRICS_LISTEN` | unset | `host:port` serving `/metrics` |
//! | `SOCORRO_PROCESSOR__SYMBOLS__PATHS` | empty | local symbol directories (Breakpad layout), comma list |
//! | `SOCORRO_PROCESSOR__SYMBOLS__URLS` | empty | symbol servers (Tecken layout), comma list |
//! | `SOCORRO_PROCESSOR__SYMBOLS__CACHE_DIR` | `<data dir>/symbols-cache` | on-disk cache shared by workers |
//! | `SOCORRO_PROCESSOR__SYMBOLS__DOWNLOAD_TIMEOUT_SECS` | `60` | per symbol file |
//! | `SOCORRO_PROCESSOR__SYMBOLS__MAX_CACHED_MODULES` | `2000` | parsed symbol files kept in memory before the in-memory cache is reset |
//! | `SOCORRO_SYMBOLS__DIR` | `<data dir>/symbols` | the local symbol store, always searched first (see [`crate::symbols::store`]) |
//! | `SOCORRO_PROCESSOR__SIGLISTS_DIR` | unset | signature lists; unset = the embedded generic lists |
//! | `SOCORRO_PROCESSOR__SCHEMA_FILE` | unset | processed-crash JSON schema to validate against before saving |

use std::path::{Path, PathBuf};
use std::time::Duration;

use crash_queue::config::QueueConfig;
use crash_storage::config::StorageConfig;
use db::DbConfig;
use serde::Deserialize;
use service::ConfigError;
use service::telemetry::LogConfig;

use crate::pipeline::RulesetName;
use crate::symbols::store::StoreConfig;

/// Everything `socorro-processor` needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub storage: StorageConfig,
    pub queue: QueueConfig,
    pub db: DbConfig,
    pub processor: ProcessorSettings,
    /// `SOCORRO_SYMBOLS__*`: the local symbol store (shared with the webapp).
    pub symbols: StoreConfig,
    /// `SOCORRO_SEARCH__*`: where processed crashes are indexed.
    pub search: search::SearchConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            log: LogConfig::default(),
            storage: StorageConfig::default(),
            queue: QueueConfig::default(),
            db: DbConfig::default(),
            processor: ProcessorSettings::default(),
            symbols: StoreConfig::default(),
            search: search::SearchConfig::default(),
        }
    }
}

impl Config {
    /// Reads `SOCORRO_*` and validates; points the processor at the store.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut cfg: Self = service::load_config()?;
        cfg.validate()?;
        cfg.processor = cfg.processor_settings();
        Ok(cfg)
    }

    /// Checks the processor settings; names the bad variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.symbols.validate()?;
        self.processor.validate()
    }

    /// The processor settings, searching the symbol store of `symbols`
    /// unless `processor.symbols.store_dir` is already set.
    pub fn processor_settings(&self) -> ProcessorSettings {
        let mut settings = self.processor.clone();
        if settings.symbols.store_dir.is_none() {
            settings.symbols.store_dir = Some(self.symbols.dir(&self.data_dir));
        }
        settings
    }
}

/// Symbol sources.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SymbolSettings {
    #[serde(deserialize_with = "comma_list")]
    pub paths: Vec<PathBuf>,
    #[serde(deserialize_with = "comma_list")]
    pub urls: Vec<String>,
    pub cache_dir: Option<PathBuf>,
    pub download_timeout_secs: u64,
    pub max_cached_modules: usize,
    /// The local symbol store, searched before `paths`; `None` means
    /// `<data dir>/symbols`. Not read from `SOCORRO_PROCESSOR__*`: the
    /// loaders set it from `SOCORRO_SYMBOLS__DIR`.
    #[serde(skip)]
    pub store_dir: Option<PathBuf>,
}

impl Default for SymbolSettings {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            urls: Vec::new(),
            cache_dir: None,
            download_timeout_secs: 60,
            max_cached_modules: 2000,
            store_dir: None,
        }
    }
}

impl SymbolSettings {
    /// The on-disk cache (`<data dir>/symbols-cache` unless set).
    pub fn cache_dir(&self, data_dir: &Path) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("symbols-cache"))
    }
}

/// `SOCORRO_PROCESSOR__*`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ProcessorSettings {
    pub workers: usize,
    pub ruleset: RulesetName,
    pub lease_secs: u64,
    pub max_attempts: u32,
    pub retry_delay_secs: u64,
    pub time_budget_secs: u64,
    pub idle_secs: u64,
    pub metrics_listen: Option<String>,
    pub symbols: SymbolSettings,
    pub siglists_dir: Option<PathBuf>,
    pub schema_file: Option<PathBuf>,
}

impl Default for ProcessorSettings {
    fn default() -> Self {
        Self {
            workers: 0,
            ruleset: RulesetName::Mozilla,
            lease_secs: 300,
            max_attempts: 5,
            retry_delay_secs: 10,
            time_budget_secs: 120,
            idle_secs: 1,
            metrics_listen: None,
            symbols: SymbolSettings::default(),
            siglists_dir: None,
            schema_file: None,
        }
    }
}

impl ProcessorSettings {
    /// Checks ranges; the error names the variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |var: &str, message: &str| ConfigError::Invalid {
            var: format!("SOCORRO_PROCESSOR__{var}"),
            message: message.to_owned(),
        };
        if self.lease_secs == 0 {
            return Err(invalid("LEASE_SECS", "must be at least 1"));
        }
        if self.max_attempts == 0 {
            return Err(invalid("MAX_ATTEMPTS", "must be at least 1"));
        }
        if self.time_budget_secs == 0 {
            return Err(invalid("TIME_BUDGET_SECS", "must be at least 1"));
        }
        if self.symbols.max_cached_modules == 0 {
            return Err(invalid("SYMBOLS__MAX_CACHED_MODULES", "must be at least 1"));
        }
        if self
            .metrics_listen
            .as_deref()
            .is_some_and(|l| l.trim().is_empty())
        {
            return Err(invalid("METRICS_LISTEN", "must not be empty (unset it)"));
        }
        Ok(())
    }

    /// Worker count, `0` meaning the number of cores.
    pub fn worker_count(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2)
        } else {
            self.workers
        }
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    pub fn time_budget(&self) -> Duration {
        Duration::from_secs(self.time_budget_secs)
    }
}

/// Accepts a list or a comma-separated string (what the environment gives).
fn comma_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: From<String>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let items = match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        OneOrMany::Many(v) => v,
    };
    Ok(items.into_iter().map(T::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let s: ProcessorSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, ProcessorSettings::default());
        assert!(s.validate().is_ok());
        assert!(s.worker_count() >= 1);
        assert_eq!(
            s.symbols.cache_dir(Path::new("/d")),
            PathBuf::from("/d/symbols-cache")
        );
    }

    #[test]
    fn reads_socorro_env_names() {
        let vars = [
            ("SOCORRO_DATA_DIR", "/data"),
            ("SOCORRO_PROCESSOR__WORKERS", "3"),
            ("SOCORRO_PROCESSOR__RULESET", "default"),
            ("SOCORRO_PROCESSOR__LEASE_SECS", "2"),
            ("SOCORRO_PROCESSOR__SYMBOLS__PATHS", "/a,/b"),
            (
                "SOCORRO_PROCESSOR__SYMBOLS__URLS",
                "https://symbols.example/try",
            ),
            ("SOCORRO_SYMBOLS__DIR", "/store"),
            ("SOCORRO_SYMBOLS__MAX_FILE_BYTES", "1000"),
        ];
        let cfg: Config =
            service::config::load_config_from(vars.map(|(k, v)| (k.to_owned(), v.to_owned())))
                .unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("/data"));
        assert_eq!(cfg.processor.workers, 3);
        assert_eq!(cfg.processor.lease_secs, 2);
        assert_eq!(cfg.processor.ruleset, RulesetName::Default);
        assert_eq!(cfg.processor.symbols.paths.len(), 2);
        assert_eq!(
            cfg.processor.symbols.urls,
            vec!["https://symbols.example/try".to_owned()]
        );
        assert_eq!(cfg.symbols.dir(&cfg.data_dir), PathBuf::from("/store"));
        assert_eq!(cfg.symbols.max_file_bytes, 1000);
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn comma_lists_and_bad_values() {
        let s: ProcessorSettings = serde_json::from_str(
            r#"{"ruleset":"default","symbols":{"paths":"/a, /b","urls":["http://x"]}}"#,
        )
        .unwrap();
        assert_eq!(s.ruleset, RulesetName::Default);
        assert_eq!(
            s.symbols.paths,
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert_eq!(s.symbols.urls, vec!["http://x".to_owned()]);
        let bad = ProcessorSettings {
            max_attempts: 0,
            ..Default::default()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("SOCORRO_PROCESSOR__MAX_ATTEMPTS"), "{err}");
        assert!(serde_json::from_str::<ProcessorSettings>(r#"{"ruleset":"x"}"#).is_err());
    }
}
