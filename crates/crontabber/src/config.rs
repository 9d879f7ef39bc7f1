//! Crontabber settings (`SOCORRO_CRON__*`) and the built-in job table.
//!
//! | variable | default |
//! |---|---|
//! | `SOCORRO_CRON__TICK_SECS` | `60` (how often due jobs are looked for) |
//! | `SOCORRO_CRON__MAX_ONGOING_SECS` | `7200` (lock timeout; longer runs are stopped) |
//! | `SOCORRO_CRON__ERROR_RETRY_SECS` | `60` (a failed job is due again after this) |
//! | `SOCORRO_CRON__JOBS__<JOB>__ENABLED` | see [`BUILTIN_JOBS`] |
//! | `SOCORRO_CRON__JOBS__<JOB>__FREQUENCY` | see [`BUILTIN_JOBS`] (`30m`, `1h`, `1d`, `7d`) |
//! | `SOCORRO_CRON__JOBS__<JOB>__TIME` | see [`BUILTIN_JOBS`] (`HH:MM` UTC; empty: none) |
//! | `SOCORRO_CRON__JOBS__<JOB>__DEPENDS_ON` | none (comma-separated job names) |
//! | `SOCORRO_CRON__BUGZILLA__BASE_URL` | `https://bugzilla.mozilla.org/rest` |
//! | `SOCORRO_CRON__BUGZILLA__API_KEY` | unset (sent as `X-BUGZILLA-API-KEY`) |
//! | `SOCORRO_CRON__BUGZILLA__TIMEOUT_SECS` | `30` |
//! | `SOCORRO_CRON__PRODUCT_DETAILS` | unset: `product-versions` is off (URL, file or directory) |
//! | `SOCORRO_CRON__SEARCH_RETENTION_DAYS` | `182` (26 weeks, Socorro's) |
//! | `SOCORRO_CRON__STORAGE_RETENTION_DAYS` | unset: `storage-retention` is off |
//! | `SOCORRO_CRON__STORAGE_RETENTION_SCAN_DAYS` | `30` (days before the cutoff each run scans) |
//! | `SOCORRO_CRON__LOG_RETENTION_DAYS` | `180` (`cron_log` rows kept) |
//!
//! `<JOB>` is the job name in upper case with `_` for `-`, e.g.
//! `SOCORRO_CRON__JOBS__VERIFY_PROCESSED__TIME=05:30`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::TimeDelta;
use serde::Deserialize;

use crate::schedule::{Frequency, Schedule, TimeOfDay};
use crate::scheduler::SchedulerSettings;

/// A setting is invalid; names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: String,
    /// What is wrong.
    pub message: String,
}

fn invalid(var: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.into(),
        message: message.into(),
    }
}

/// A built-in job's default schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinJob {
    /// Job name.
    pub name: &'static str,
    /// Default frequency.
    pub frequency: &'static str,
    /// Default time of day (UTC).
    pub time: Option<&'static str>,
    /// Backfill job.
    pub backfill: bool,
    /// On unless disabled (some also need a setting, see the table above).
    pub enabled: bool,
}

/// The built-in jobs, in run order (Socorro's `JOBS` with our names).
pub const BUILTIN_JOBS: &[BuiltinJob] = &[
    BuiltinJob {
        name: "cleanse-cron-log",
        frequency: "7d",
        time: Some("05:00"),
        backfill: false,
        enabled: true,
    },
    // Mozilla-specific (cf_crash_signature); off unless enabled.
    BuiltinJob {
        name: "bug-associations",
        frequency: "1h",
        time: None,
        backfill: false,
        enabled: false,
    },
    BuiltinJob {
        name: "update-signatures",
        frequency: "1h",
        time: None,
        backfill: true,
        enabled: true,
    },
    BuiltinJob {
        name: "search-index-cleanup",
        frequency: "7d",
        time: Some("06:00"),
        backfill: false,
        enabled: true,
    },
    BuiltinJob {
        name: "verify-processed",
        frequency: "1d",
        time: Some("04:00"),
        backfill: true,
        enabled: true,
    },
    BuiltinJob {
        name: "update-missing",
        frequency: "1d",
        time: Some("03:00"),
        backfill: false,
        enabled: true,
    },
    BuiltinJob {
        name: "product-versions",
        frequency: "1h",
        time: None,
        backfill: false,
        enabled: true,
    },
    BuiltinJob {
        name: "storage-retention",
        frequency: "1d",
        time: Some("02:00"),
        backfill: false,
        enabled: true,
    },
];

/// Per-job overrides (`SOCORRO_CRON__JOBS__<JOB>__*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobOverride {
    /// Turn the job on or off.
    pub enabled: Option<bool>,
    /// `30m`, `1h`, `1d`, `7d`, ...
    pub frequency: Option<String>,
    /// `HH:MM` UTC; empty removes the default time.
    pub time: Option<String>,
    /// Comma-separated parent job names.
    pub depends_on: Option<String>,
}

/// Bugzilla settings (`SOCORRO_CRON__BUGZILLA__*`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BugzillaConfig {
    /// REST API base, e.g. `https://bugzilla.mozilla.org/rest`.
    pub base_url: String,
    /// API key (`X-BUGZILLA-API-KEY`), if any.
    pub api_key: Option<String>,
    /// Request timeout.
    pub timeout_secs: u64,
}

impl Default for BugzillaConfig {
    fn default() -> Self {
        Self {
            base_url: "https://bugzilla.mozilla.org/rest".to_owned(),
            api_key: None,
            timeout_secs: 30,
        }
    }
}

impl fmt::Debug for BugzillaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BugzillaConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// Crontabber settings (`SOCORRO_CRON__*`); see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CronConfig {
    /// Seconds between looks for due jobs.
    pub tick_secs: u64,
    /// Lock timeout in seconds.
    pub max_ongoing_secs: u64,
    /// Seconds until a failed job is retried.
    pub error_retry_secs: u64,
    /// Per-job overrides, keyed by job name (`-` or `_`).
    pub jobs: BTreeMap<String, JobOverride>,
    /// Bugzilla (bug-associations).
    pub bugzilla: BugzillaConfig,
    /// Product details: `http(s)://` URL, JSON file or directory of JSON files.
    pub product_details: Option<String>,
    /// Search partitions older than this many days are dropped.
    pub search_retention_days: u32,
    /// Crashes older than this many days are deleted; unset: kept forever.
    pub storage_retention_days: Option<u32>,
    /// Days before the retention cutoff each storage-retention run scans.
    pub storage_retention_scan_days: u32,
    /// `cron_log` rows older than this many days are deleted.
    pub log_retention_days: u32,
}

impl Default for CronConfig {
    fn default() -> Self {
        Self {
            tick_secs: 60,
            max_ongoing_secs: 7200,
            error_retry_secs: 60,
            jobs: BTreeMap::new(),
            bugzilla: BugzillaConfig::default(),
            product_details: None,
            search_retention_days: 182,
            storage_retention_days: None,
            storage_retention_scan_days: 30,
            log_retention_days: 180,
        }
    }
}

/// One job as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEntry {
    /// Job name.
    pub name: String,
    /// On or off.
    pub enabled: bool,
    /// When it runs.
    pub schedule: Schedule,
    /// Parents.
    pub depends_on: Vec<String>,
}

fn job_var(name: &str, field: &str) -> String {
    format!(
        "SOCORRO_CRON__JOBS__{}__{}",
        name.replace('-', "_").to_uppercase(),
        field
    )
}

impl CronConfig {
    /// Checks every setting, naming the offending variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tick_secs == 0 {
            return Err(invalid("SOCORRO_CRON__TICK_SECS", "must be at least 1"));
        }
        if self.max_ongoing_secs < 60 {
            return Err(invalid(
                "SOCORRO_CRON__MAX_ONGOING_SECS",
                "must be at least 60",
            ));
        }
        if self.search_retention_days == 0 {
            return Err(invalid(
                "SOCORRO_CRON__SEARCH_RETENTION_DAYS",
                "must be at least 1",
            ));
        }
        if self.storage_retention_days == Some(0) {
            return Err(invalid(
                "SOCORRO_CRON__STORAGE_RETENTION_DAYS",
                "must be at least 1 (unset it to keep crashes forever)",
            ));
        }
        if self.log_retention_days == 0 {
            return Err(invalid(
                "SOCORRO_CRON__LOG_RETENTION_DAYS",
                "must be at least 1",
            ));
        }
        let base = self.bugzilla.base_url.trim();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(invalid(
                "SOCORRO_CRON__BUGZILLA__BASE_URL",
                format!("{base:?} is not an http(s) URL"),
            ));
        }
        if self
            .product_details
            .as_deref()
            .is_some_and(|p| p.trim().is_empty())
        {
            return Err(invalid(
                "SOCORRO_CRON__PRODUCT_DETAILS",
                "must not be empty (unset it to turn product-versions off)",
            ));
        }
        self.job_entries().map(|_| ())
    }

    /// The scheduler settings.
    pub fn scheduler_settings(&self) -> SchedulerSettings {
        SchedulerSettings {
            max_ongoing: TimeDelta::seconds(i64::try_from(self.max_ongoing_secs).unwrap_or(7200)),
            error_retry: TimeDelta::seconds(i64::try_from(self.error_retry_secs).unwrap_or(60)),
            tick: Duration::from_secs(self.tick_secs.max(1)),
        }
    }

    /// The override for a job (keys may use `-` or `_`).
    fn override_for(&self, name: &str) -> JobOverride {
        let snake = name.replace('-', "_");
        self.jobs
            .iter()
            .find(|(k, _)| k.replace('-', "_").eq_ignore_ascii_case(&snake))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Every built-in job with overrides applied, in run order.
    pub fn job_entries(&self) -> Result<Vec<JobEntry>, ConfigError> {
        for key in self.jobs.keys() {
            let known = BUILTIN_JOBS.iter().any(|b| {
                b.name
                    .replace('-', "_")
                    .eq_ignore_ascii_case(&key.replace('-', "_"))
            });
            if !known {
                let names: Vec<&str> = BUILTIN_JOBS.iter().map(|b| b.name).collect();
                return Err(invalid(
                    job_var(key, "*"),
                    format!("unknown job {key:?} (known: {})", names.join(", ")),
                ));
            }
        }
        BUILTIN_JOBS.iter().map(|b| self.entry(b)).collect()
    }

    fn entry(&self, b: &BuiltinJob) -> Result<JobEntry, ConfigError> {
        let o = self.override_for(b.name);
        let frequency_text = o.frequency.as_deref().unwrap_or(b.frequency);
        let frequency: Frequency = frequency_text
            .parse()
            .map_err(|e| invalid(job_var(b.name, "FREQUENCY"), format!("{e}")))?;
        let time = match o.time.as_deref().or(b.time).map(str::trim) {
            None | Some("") => None,
            Some(t) => Some(
                t.parse::<TimeOfDay>()
                    .map_err(|e| invalid(job_var(b.name, "TIME"), format!("{e}")))?,
            ),
        };
        let depends_on: Vec<String> = o
            .depends_on
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.replace('_', "-"))
            .collect();
        for parent in &depends_on {
            if !BUILTIN_JOBS.iter().any(|j| j.name == parent) {
                return Err(invalid(
                    job_var(b.name, "DEPENDS_ON"),
                    format!("unknown job {parent:?}"),
                ));
            }
        }
        Ok(JobEntry {
            name: b.name.to_owned(),
            enabled: o.enabled.unwrap_or(b.enabled),
            schedule: Schedule {
                frequency,
                time,
                backfill: b.backfill,
            },
            depends_on,
        })
    }
}

/// Everything the `socorro-crontabber` binary reads (`SOCORRO_*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CrontabberConfig {
    /// `SOCORRO_DATA_DIR` (default `./data`).
    pub data_dir: PathBuf,
    /// `SOCORRO_LOG__*`.
    pub log: service::telemetry::LogConfig,
    /// `SOCORRO_DB__*`.
    pub db: db::DbConfig,
    /// `SOCORRO_STORAGE__*`.
    pub storage: crash_storage::StorageConfig,
    /// `SOCORRO_QUEUE__*`.
    pub queue: crash_queue::QueueConfig,
    /// `SOCORRO_CRON__*`.
    pub cron: CronConfig,
}

impl Default for CrontabberConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            log: service::telemetry::LogConfig::default(),
            db: db::DbConfig::default(),
            storage: crash_storage::StorageConfig::default(),
            queue: crash_queue::QueueConfig::default(),
            cron: CronConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<CrontabberConfig, service::ConfigError> {
        service::config::load_config_from(
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn defaults_are_valid() {
        let cfg = load(&[]).unwrap();
        assert_eq!(cfg.cron, CronConfig::default());
        cfg.cron.validate().unwrap();
        let entries = cfg.cron.job_entries().unwrap();
        assert_eq!(entries.len(), BUILTIN_JOBS.len());
        let vp = entries
            .iter()
            .find(|e| e.name == "verify-processed")
            .unwrap();
        assert!(vp.schedule.backfill);
        assert_eq!(vp.schedule.time, TimeOfDay::new(4, 0));
        assert!(
            !entries
                .iter()
                .find(|e| e.name == "bug-associations")
                .unwrap()
                .enabled
        );
    }

    #[test]
    fn overrides_from_env() {
        let cfg = load(&[
            ("SOCORRO_CRON__JOBS__VERIFY_PROCESSED__TIME", "05:30"),
            ("SOCORRO_CRON__JOBS__UPDATE_SIGNATURES__FREQUENCY", "30m"),
            (
                "SOCORRO_CRON__JOBS__UPDATE_SIGNATURES__DEPENDS_ON",
                "product-versions",
            ),
            ("SOCORRO_CRON__JOBS__BUG_ASSOCIATIONS__ENABLED", "true"),
            (
                "SOCORRO_CRON__BUGZILLA__BASE_URL",
                "http://127.0.0.1:9/rest",
            ),
            ("SOCORRO_CRON__STORAGE_RETENTION_DAYS", "90"),
        ])
        .unwrap();
        cfg.cron.validate().unwrap();
        let e = cfg.cron.job_entries().unwrap();
        let get = |n: &str| e.iter().find(|x| x.name == n).unwrap().clone();
        assert_eq!(get("verify-processed").schedule.time, TimeOfDay::new(5, 30));
        assert_eq!(
            get("update-signatures").schedule.frequency,
            Frequency::minutes(30)
        );
        assert_eq!(
            get("update-signatures").depends_on,
            vec!["product-versions"]
        );
        assert!(get("bug-associations").enabled);
        assert_eq!(cfg.cron.storage_retention_days, Some(90));
    }

    #[test]
    fn bad_settings_name_the_variable() {
        for (var, value) in [
            ("SOCORRO_CRON__JOBS__VERIFY_PROCESSED__TIME", "25:00"),
            ("SOCORRO_CRON__JOBS__VERIFY_PROCESSED__FREQUENCY", "1w"),
            ("SOCORRO_CRON__JOBS__VERIFY_PROCESSED__DEPENDS_ON", "nope"),
            ("SOCORRO_CRON__JOBS__NO_SUCH_JOB__ENABLED", "true"),
            ("SOCORRO_CRON__BUGZILLA__BASE_URL", "ftp://x"),
        ] {
            let cfg = load(&[(var, value)]).unwrap();
            let err = cfg.cron.validate().unwrap_err();
            let expected = var.replace("NO_SUCH_JOB__ENABLED", "NO_SUCH_JOB__*");
            assert_eq!(err.var, expected, "{err}");
        }
    }

    #[test]
    fn api_key_is_not_printed() {
        let b = BugzillaConfig {
            api_key: Some("sekrit".into()),
            ..BugzillaConfig::default()
        };
        assert!(!format!("{b:?}").contains("sekrit"));
    }
}
