//! Storage configuration (`SOCORRO_STORAGE__*`) and [`build`], which turns it
//! into a ready [`CrashStorage`].
//!
//! | variable | default |
//! |---|---|
//! | `SOCORRO_STORAGE__BACKEND` | `fs` (`s3` is not available yet) |
//! | `SOCORRO_STORAGE__FS__ROOT` | `<data dir>/crashes` |
//! | `SOCORRO_STORAGE__RETRY__MAX_ATTEMPTS` | `5` |
//! | `SOCORRO_STORAGE__RETRY__INITIAL_BACKOFF_MS` | `100` |
//! | `SOCORRO_STORAGE__RETRY__MAX_BACKOFF_MS` | `2000` |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::retry::RetryPolicy;
use crate::retrying::Retrying;
use crate::{CrashStorage, FsObjectStore, KeyedCrashStorage, StorageError};

/// The environment prefix of these settings, used in error messages.
pub const ENV_PREFIX: &str = "SOCORRO_STORAGE";

/// Which backend stores crashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// A directory tree on the local filesystem (the embedded default).
    #[default]
    Fs,
    /// An S3 bucket (not available yet).
    S3,
}

/// Settings of the filesystem backend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FsConfig {
    /// Root directory; defaults to `<data dir>/crashes`.
    pub root: Option<PathBuf>,
}

/// Crash storage settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageConfig {
    /// The backend (`fs` by default).
    pub backend: StorageBackend,
    /// Filesystem backend settings.
    pub fs: FsConfig,
    /// Retry of transient backend errors.
    pub retry: RetryPolicy,
}

impl StorageConfig {
    /// Check the settings, naming the offending `SOCORRO_STORAGE__*` variable.
    pub fn validate(&self) -> Result<(), StorageError> {
        self.validate_with_prefix(ENV_PREFIX)
    }

    /// [`Self::validate`] for settings loaded under another prefix (e.g.
    /// `SOCORRO_PROCESSOR_STORAGE`).
    pub fn validate_with_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        match self.backend {
            StorageBackend::Fs => {
                if self
                    .fs
                    .root
                    .as_ref()
                    .is_some_and(|r| r.as_os_str().is_empty())
                {
                    return Err(StorageError::Invalid(format!(
                        "{prefix}__FS__ROOT must not be empty (unset it to use <data dir>/crashes)"
                    )));
                }
            }
            StorageBackend::S3 => return Err(s3_unavailable(prefix)),
        }
        self.retry
            .validate(&format!("{prefix}__RETRY"))
            .map_err(StorageError::Invalid)
    }

    /// The filesystem root this config uses with `data_dir`.
    pub fn fs_root(&self, data_dir: &Path) -> PathBuf {
        self.fs
            .root
            .clone()
            .unwrap_or_else(|| data_dir.join("crashes"))
    }
}

fn s3_unavailable(prefix: &str) -> StorageError {
    StorageError::Invalid(format!(
        "storage backend s3 is not available yet ({prefix}__BACKEND=s3); use {prefix}__BACKEND=fs"
    ))
}

/// Validate `cfg` and open the configured backend, wrapped in [`Retrying`].
///
/// With the `fs` backend the root is `cfg.fs.root`, or `<data_dir>/crashes`,
/// created if missing. This does blocking filesystem work; call it at start.
pub fn build(cfg: &StorageConfig, data_dir: &Path) -> Result<Arc<dyn CrashStorage>, StorageError> {
    cfg.validate()?;
    match cfg.backend {
        StorageBackend::Fs => {
            let root = cfg.fs_root(data_dir);
            let store = FsObjectStore::open(&root)?;
            tracing::info!(root = %root.display(), "crash storage opened");
            let storage = KeyedCrashStorage::new(Arc::new(store));
            Ok(Arc::new(Retrying::new(storage, cfg.retry)))
        }
        StorageBackend::S3 => Err(s3_unavailable(ENV_PREFIX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_embedded_fs() {
        let cfg: StorageConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg, StorageConfig::default());
        assert_eq!(cfg.backend, StorageBackend::Fs);
        assert_eq!(
            cfg.fs_root(Path::new("/data")),
            PathBuf::from("/data/crashes")
        );
        assert_eq!(cfg.retry, RetryPolicy::default());
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn parses_nested_settings() {
        let cfg: StorageConfig = serde_json::from_str(
            r#"{"backend":"fs","fs":{"root":"/x"},"retry":{"max_attempts":2}}"#,
        )
        .unwrap();
        assert_eq!(cfg.fs.root.as_deref(), Some(Path::new("/x")));
        assert_eq!(cfg.retry.max_attempts, 2);
        assert_eq!(
            cfg.retry.initial_backoff,
            RetryPolicy::default().initial_backoff
        );
        let s3: StorageConfig = serde_json::from_str(r#"{"backend":"s3"}"#).unwrap();
        assert_eq!(s3.backend, StorageBackend::S3);
        assert!(serde_json::from_str::<StorageConfig>(r#"{"backend":"gcs"}"#).is_err());
    }

    #[test]
    fn validate_names_the_variable() {
        let cfg = StorageConfig {
            fs: FsConfig {
                root: Some(PathBuf::new()),
            },
            ..Default::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("SOCORRO_STORAGE__FS__ROOT"), "{err}");

        let mut cfg = StorageConfig::default();
        cfg.retry.max_attempts = 0;
        let err = cfg.validate().unwrap_err().to_string();
        assert!(
            err.contains("SOCORRO_STORAGE__RETRY__MAX_ATTEMPTS"),
            "{err}"
        );

        let cfg = StorageConfig {
            backend: StorageBackend::S3,
            ..Default::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("s3 is not available yet"), "{err}");
        assert!(err.contains("SOCORRO_STORAGE__BACKEND"), "{err}");
    }

    #[tokio::test]
    async fn build_fs_uses_data_dir_and_works() {
        let dir = tempfile::tempdir().unwrap();
        let storage = build(&StorageConfig::default(), dir.path()).unwrap();
        assert_eq!(
            storage.describe(),
            format!("fs:{}", dir.path().join("crashes").display())
        );
        storage.check_health().await.unwrap();
        assert!(dir.path().join("crashes").is_dir());
    }

    #[test]
    fn build_s3_fails_loudly() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StorageConfig {
            backend: StorageBackend::S3,
            ..Default::default()
        };
        match build(&cfg, dir.path()) {
            Err(StorageError::Invalid(msg)) => assert!(msg.contains("s3 is not available yet")),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("s3 must not build yet"),
        }
    }
}
