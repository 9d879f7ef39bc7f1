//! Storage configuration (`SOCORRO_STORAGE__*`) and [`build`], which turns it
//! into a ready [`CrashStorage`].
//!
//! | variable | default |
//! |---|---|
//! | `SOCORRO_STORAGE__BACKEND` | `fs` (or `s3`) |
//! | `SOCORRO_STORAGE__FS__ROOT` | `<data dir>/crashes` |
//! | `SOCORRO_STORAGE__S3__BUCKET` | none; required with `s3` |
//! | `SOCORRO_STORAGE__S3__PREFIX` | empty (keys at the bucket's root) |
//! | `SOCORRO_STORAGE__S3__REGION` | `us-east-1` |
//! | `SOCORRO_STORAGE__S3__ENDPOINT_URL` | unset (AWS); e.g. `http://127.0.0.1:9000` |
//! | `SOCORRO_STORAGE__S3__FORCE_PATH_STYLE` | `true` with an endpoint URL, else `false` |
//! | `SOCORRO_STORAGE__S3__ACCESS_KEY_ID` | unset: the AWS default credential chain |
//! | `SOCORRO_STORAGE__S3__SECRET_ACCESS_KEY` | unset (set with the key id) |
//! | `SOCORRO_STORAGE__S3__SESSION_TOKEN` | unset |
//! | `SOCORRO_STORAGE__S3__MULTIPART_THRESHOLD_BYTES` | `8388608` (8 MiB) |
//! | `SOCORRO_STORAGE__S3__MULTIPART_PART_SIZE_BYTES` | `8388608` (8 MiB) |
//! | `SOCORRO_STORAGE__S3__REQUEST_TIMEOUT_MS` | `30000` |
//! | `SOCORRO_STORAGE__S3__CONNECT_TIMEOUT_MS` | `5000` |
//! | `SOCORRO_STORAGE__RETRY__MAX_ATTEMPTS` | `5` |
//! | `SOCORRO_STORAGE__RETRY__INITIAL_BACKOFF_MS` | `100` |
//! | `SOCORRO_STORAGE__RETRY__MAX_BACKOFF_MS` | `2000` |
//!
//! The S3 backend needs the crate's `s3` feature (on by default).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::retry::RetryPolicy;
use crate::retrying::Retrying;
use crate::{CrashStorage, FsObjectStore, KeyedCrashStorage, StorageError, keys};

/// The environment prefix of these settings, used in error messages.
pub const ENV_PREFIX: &str = "SOCORRO_STORAGE";

/// One mebibyte.
const MIB: u64 = 1024 * 1024;
/// The smallest part S3 accepts in a multipart upload (all but the last).
pub const S3_MIN_PART_SIZE: u64 = 5 * MIB;
/// The largest part, and the largest single `PutObject`, S3 accepts.
pub const S3_MAX_PART_SIZE: u64 = 5 * 1024 * MIB;

/// Which backend stores crashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// A directory tree on the local filesystem (the embedded default).
    #[default]
    Fs,
    /// An S3 bucket (AWS or any S3-compatible server); needs the `s3` feature.
    S3,
}

/// Settings of the filesystem backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FsConfig {
    /// Root directory; defaults to `<data dir>/crashes`.
    pub root: Option<PathBuf>,
    /// Size of the write-ahead journal (`<root>/.journal`) in MiB; `0`
    /// syncs every file on its own instead (slower, no journal file).
    pub journal_mib: u64,
}

/// The default journal: at 2,000 crashes/s of 300 KB it holds about 1.7 s
/// of writes, several checkpoints' worth.
pub const DEFAULT_JOURNAL_MIB: u64 = 1024;
/// The largest journal accepted (1 TiB).
const MAX_JOURNAL_MIB: u64 = 1024 * 1024;

impl Default for FsConfig {
    fn default() -> Self {
        Self {
            root: None,
            journal_mib: DEFAULT_JOURNAL_MIB,
        }
    }
}

/// Settings of the S3 backend (`SOCORRO_STORAGE__S3__*`).
///
/// `Debug` never shows the secret access key or the session token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Config {
    /// The bucket (required with the `s3` backend).
    pub bucket: String,
    /// Key prefix inside the bucket (`socorro/` stores `socorro/v1/...`);
    /// empty by default. Leading and trailing `/` are ignored.
    pub prefix: String,
    /// The bucket's region (`us-east-1` by default; any value for most
    /// S3-compatible servers).
    pub region: String,
    /// The S3 endpoint, e.g. `http://127.0.0.1:9000` for an S3-compatible
    /// server; unset for AWS (derived from the region).
    pub endpoint_url: Option<String>,
    /// Address buckets as `<endpoint>/<bucket>/<key>` instead of
    /// `<bucket>.<endpoint>/<key>`; defaults to `true` when `endpoint_url`
    /// is set (what S3-compatible servers need), `false` otherwise.
    pub force_path_style: Option<bool>,
    /// Static access key id; unset to use the AWS default credential chain
    /// (`AWS_ACCESS_KEY_ID`, profiles, web identity, ECS, EC2 instance role).
    pub access_key_id: Option<String>,
    /// Static secret access key; set together with `access_key_id`.
    pub secret_access_key: Option<String>,
    /// Session token of temporary static credentials (optional).
    pub session_token: Option<String>,
    /// Objects larger than this are written with a multipart upload.
    pub multipart_threshold_bytes: u64,
    /// Size of each part of a multipart upload (at least 5 MiB).
    pub multipart_part_size_bytes: u64,
    /// Longest time one S3 request may take, connection included.
    pub request_timeout_ms: u64,
    /// Longest time to establish a connection to the endpoint.
    pub connect_timeout_ms: u64,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            prefix: String::new(),
            region: "us-east-1".into(),
            endpoint_url: None,
            force_path_style: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            multipart_threshold_bytes: 8 * MIB,
            multipart_part_size_bytes: 8 * MIB,
            request_timeout_ms: 30_000,
            connect_timeout_ms: 5_000,
        }
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("force_path_style", &self.force_path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &hidden(&self.secret_access_key))
            .field("session_token", &hidden(&self.session_token))
            .field("multipart_threshold_bytes", &self.multipart_threshold_bytes)
            .field("multipart_part_size_bytes", &self.multipart_part_size_bytes)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .finish()
    }
}

/// An optional setting: unset and empty are the same.
fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

impl S3Config {
    /// The key prefix as stored: empty, or segments ending with `/`.
    pub fn normalized_prefix(&self) -> String {
        let trimmed = self.prefix.trim_matches('/');
        if trimmed.is_empty() {
            String::new()
        } else {
            format!("{trimmed}/")
        }
    }

    /// The custom endpoint, if one is set.
    pub fn endpoint(&self) -> Option<&str> {
        non_empty(&self.endpoint_url)
    }

    /// Whether requests use path-style addressing (see `force_path_style`).
    pub fn path_style(&self) -> bool {
        self.force_path_style
            .unwrap_or_else(|| self.endpoint().is_some())
    }

    /// The static credentials (key id, secret, session token), if configured.
    pub fn static_credentials(&self) -> Option<(&str, &str, Option<&str>)> {
        match (
            non_empty(&self.access_key_id),
            non_empty(&self.secret_access_key),
        ) {
            (Some(id), Some(secret)) => Some((id, secret, non_empty(&self.session_token))),
            _ => None,
        }
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// Check the settings; `prefix` is e.g. `SOCORRO_STORAGE` and names the
    /// variables (`SOCORRO_STORAGE__S3__BUCKET`) in messages.
    pub fn validate(&self, prefix: &str) -> Result<(), StorageError> {
        let var = |name: &str| format!("{prefix}__S3__{name}");
        let invalid = |msg: String| Err(StorageError::Invalid(msg));
        let bucket = self.bucket.trim();
        if bucket.is_empty() {
            return invalid(format!(
                "{} must be set when {prefix}__BACKEND=s3",
                var("BUCKET")
            ));
        }
        if bucket != self.bucket || bucket.contains('/') || bucket.chars().any(char::is_control) {
            return invalid(format!(
                "{} ({:?}) is not a bucket name (no `/`, spaces or control characters)",
                var("BUCKET"),
                self.bucket
            ));
        }
        let key_prefix = self.normalized_prefix();
        if !key_prefix.is_empty()
            && keys::validate_object_key(key_prefix.trim_end_matches('/')).is_err()
        {
            return invalid(format!(
                "{} ({:?}) must be `/`-separated segments that are neither empty nor start with `.`",
                var("PREFIX"),
                self.prefix
            ));
        }
        if self.region.trim().is_empty() {
            return invalid(format!("{} must not be empty", var("REGION")));
        }
        if let Some(url) = self.endpoint()
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid(format!(
                "{} ({url:?}) must start with http:// or https://",
                var("ENDPOINT_URL")
            ));
        }
        let id = non_empty(&self.access_key_id).is_some();
        let secret = non_empty(&self.secret_access_key).is_some();
        if id != secret {
            return invalid(format!(
                "{} and {} must be set together (or both unset to use the AWS default credential chain)",
                var("ACCESS_KEY_ID"),
                var("SECRET_ACCESS_KEY")
            ));
        }
        if non_empty(&self.session_token).is_some() && !id {
            return invalid(format!(
                "{} needs {} and {}",
                var("SESSION_TOKEN"),
                var("ACCESS_KEY_ID"),
                var("SECRET_ACCESS_KEY")
            ));
        }
        if !(S3_MIN_PART_SIZE..=S3_MAX_PART_SIZE).contains(&self.multipart_part_size_bytes) {
            return invalid(format!(
                "{} ({}) must be between {S3_MIN_PART_SIZE} (5 MiB) and {S3_MAX_PART_SIZE} (5 GiB), S3's part size limits",
                var("MULTIPART_PART_SIZE_BYTES"),
                self.multipart_part_size_bytes
            ));
        }
        if self.multipart_threshold_bytes < self.multipart_part_size_bytes
            || self.multipart_threshold_bytes > S3_MAX_PART_SIZE
        {
            return invalid(format!(
                "{} ({}) must be at least {} ({}) and at most {S3_MAX_PART_SIZE} (5 GiB, the largest single upload)",
                var("MULTIPART_THRESHOLD_BYTES"),
                self.multipart_threshold_bytes,
                var("MULTIPART_PART_SIZE_BYTES"),
                self.multipart_part_size_bytes
            ));
        }
        if self.request_timeout_ms == 0 {
            return invalid(format!("{} must be at least 1", var("REQUEST_TIMEOUT_MS")));
        }
        if self.connect_timeout_ms == 0 {
            return invalid(format!("{} must be at least 1", var("CONNECT_TIMEOUT_MS")));
        }
        Ok(())
    }
}

/// Crash storage settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageConfig {
    /// The backend (`fs` by default).
    pub backend: StorageBackend,
    /// Filesystem backend settings.
    pub fs: FsConfig,
    /// S3 backend settings.
    pub s3: S3Config,
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
                if self.fs.journal_mib > MAX_JOURNAL_MIB {
                    return Err(StorageError::Invalid(format!(
                        "{prefix}__FS__JOURNAL_MIB must be 0 (no journal) or 1 to {MAX_JOURNAL_MIB}, got {}",
                        self.fs.journal_mib
                    )));
                }
            }
            StorageBackend::S3 => {
                if !cfg!(feature = "s3") {
                    return Err(s3_not_compiled(prefix));
                }
                self.s3.validate(prefix)?;
            }
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

fn s3_not_compiled(prefix: &str) -> StorageError {
    StorageError::Invalid(format!(
        "{prefix}__BACKEND=s3 needs crash-storage built with its `s3` cargo feature \
         (on by default; this build has it off); use {prefix}__BACKEND=fs or rebuild with the feature"
    ))
}

/// Validate `cfg` and open the configured backend, wrapped in [`Retrying`].
///
/// With the `fs` backend the root is `cfg.fs.root`, or `<data_dir>/crashes`,
/// created if missing. This does blocking filesystem work; call it at start.
///
/// With the `s3` backend nothing is contacted yet: the first request is the
/// first call (e.g. `check_health`), and credentials from the AWS default
/// chain are resolved then. A wrong bucket or credentials show there.
pub fn build(cfg: &StorageConfig, data_dir: &Path) -> Result<Arc<dyn CrashStorage>, StorageError> {
    cfg.validate()?;
    match cfg.backend {
        StorageBackend::Fs => {
            let root = cfg.fs_root(data_dir);
            let store = FsObjectStore::open_journaled(&root, cfg.fs.journal_mib * MIB)?;
            tracing::info!(root = %root.display(), journal_mib = cfg.fs.journal_mib, "crash storage opened");
            let storage = KeyedCrashStorage::new(Arc::new(store));
            Ok(Arc::new(Retrying::new(storage, cfg.retry)))
        }
        StorageBackend::S3 => build_s3(cfg),
    }
}

/// [`build`] for a command that only reads crashes: an `fs` store opens
/// its journal (replaying what a power loss left in it) only if one exists;
/// it never creates one, so looking at a crash does not reserve the
/// journal's disk space in a data directory nothing writes to.
pub fn build_for_reading(
    cfg: &StorageConfig,
    data_dir: &Path,
) -> Result<Arc<dyn CrashStorage>, StorageError> {
    let journal = cfg.fs_root(data_dir).join(crate::fs::JOURNAL_FILE);
    if cfg.backend == StorageBackend::Fs && !journal.exists() {
        let mut cfg = cfg.clone();
        cfg.fs.journal_mib = 0;
        return build(&cfg, data_dir);
    }
    build(cfg, data_dir)
}

#[cfg(feature = "s3")]
fn build_s3(cfg: &StorageConfig) -> Result<Arc<dyn CrashStorage>, StorageError> {
    let store = crate::s3::S3ObjectStore::new(&cfg.s3)?;
    tracing::info!(
        storage = %crate::ObjectStore::describe(&store),
        endpoint = cfg.s3.endpoint().unwrap_or("aws"),
        region = %cfg.s3.region,
        "crash storage opened"
    );
    let storage = KeyedCrashStorage::new(Arc::new(store));
    Ok(Arc::new(Retrying::new(storage, cfg.retry)))
}

#[cfg(not(feature = "s3"))]
fn build_s3(_cfg: &StorageConfig) -> Result<Arc<dyn CrashStorage>, StorageError> {
    Err(s3_not_compiled(ENV_PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_creates_no_journal_but_replays_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StorageConfig::default();
        let root = cfg.fs_root(dir.path());
        let journal = root.join(crate::fs::JOURNAL_FILE);
        let open_here = || {
            let root = root.canonicalize().unwrap();
            crate::fs::journal_stats().iter().any(|j| j.root == root)
        };
        let reader = build_for_reading(&cfg, dir.path()).unwrap();
        assert!(!journal.exists());
        assert!(!open_here());
        drop(reader);
        drop(build(&cfg, dir.path()).unwrap());
        assert!(journal.exists());
        // An existing journal is opened, and so replayed.
        let _reader = build_for_reading(&cfg, dir.path()).unwrap();
        assert!(open_here());
    }

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
                ..Default::default()
            },
            ..Default::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("SOCORRO_STORAGE__FS__ROOT"), "{err}");
        let cfg = StorageConfig {
            fs: FsConfig {
                journal_mib: u64::MAX,
                ..Default::default()
            },
            ..Default::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("SOCORRO_STORAGE__FS__JOURNAL_MIB"), "{err}");

        let mut cfg = StorageConfig::default();
        cfg.retry.max_attempts = 0;
        let err = cfg.validate().unwrap_err().to_string();
        assert!(
            err.contains("SOCORRO_STORAGE__RETRY__MAX_ATTEMPTS"),
            "{err}"
        );
    }

    #[test]
    fn s3_defaults() {
        let cfg: StorageConfig =
            serde_json::from_str(r#"{"backend":"s3","s3":{"bucket":"crashes"}}"#).unwrap();
        let s3 = &cfg.s3;
        assert_eq!(s3.bucket, "crashes");
        assert_eq!(s3.prefix, "");
        assert_eq!(s3.normalized_prefix(), "");
        assert_eq!(s3.region, "us-east-1");
        assert_eq!(s3.endpoint(), None);
        assert!(!s3.path_style(), "AWS defaults to virtual-hosted style");
        assert_eq!(s3.static_credentials(), None);
        assert_eq!(s3.multipart_threshold_bytes, 8 * 1024 * 1024);
        assert_eq!(s3.multipart_part_size_bytes, 8 * 1024 * 1024);
        assert_eq!(s3.request_timeout(), Duration::from_secs(30));
        assert_eq!(s3.connect_timeout(), Duration::from_secs(5));
        // fs settings are untouched and the S3 defaults are valid.
        assert_eq!(cfg.fs, FsConfig::default());
        assert_eq!(cfg.validate().is_ok(), cfg!(feature = "s3"));
    }

    #[test]
    fn s3_parses_every_setting() {
        let cfg: StorageConfig = serde_json::from_str(
            r#"{"backend":"s3","s3":{
                "bucket":"b","prefix":"/socorro/prod/","region":"eu-west-1",
                "endpoint_url":"http://127.0.0.1:9000","force_path_style":false,
                "access_key_id":"AKID","secret_access_key":"SECRET","session_token":"TOKEN",
                "multipart_threshold_bytes":16777216,"multipart_part_size_bytes":5242880,
                "request_timeout_ms":1000,"connect_timeout_ms":200}}"#,
        )
        .unwrap();
        let s3 = &cfg.s3;
        assert_eq!(s3.normalized_prefix(), "socorro/prod/");
        assert_eq!(s3.region, "eu-west-1");
        assert_eq!(s3.endpoint(), Some("http://127.0.0.1:9000"));
        assert!(!s3.path_style(), "an explicit false wins");
        assert_eq!(
            s3.static_credentials(),
            Some(("AKID", "SECRET", Some("TOKEN")))
        );
        assert_eq!(s3.multipart_threshold_bytes, 16 * 1024 * 1024);
        assert_eq!(s3.multipart_part_size_bytes, 5 * 1024 * 1024);
        assert_eq!(s3.request_timeout(), Duration::from_secs(1));
        assert_eq!(s3.connect_timeout(), Duration::from_millis(200));
        if cfg!(feature = "s3") {
            cfg.validate().unwrap();
        }

        // An endpoint without an explicit choice means path style; empty
        // strings (an exported but empty variable) count as unset.
        let cfg: S3Config = serde_json::from_str(
            r#"{"bucket":"b","endpoint_url":"https://s3.example.com","access_key_id":"","secret_access_key":""}"#,
        )
        .unwrap();
        assert!(cfg.path_style());
        assert_eq!(cfg.static_credentials(), None);
        assert!(cfg.validate("P").is_ok());
        let cfg: S3Config = serde_json::from_str(r#"{"bucket":"b","endpoint_url":""}"#).unwrap();
        assert_eq!(cfg.endpoint(), None);
        assert!(!cfg.path_style());
    }

    #[test]
    fn s3_debug_hides_secrets() {
        let cfg = S3Config {
            bucket: "b".into(),
            access_key_id: Some("AKIDVISIBLE".into()),
            secret_access_key: Some("very-secret-value".into()),
            session_token: Some("session-token-value".into()),
            ..Default::default()
        };
        let shown = format!(
            "{:?}",
            StorageConfig {
                s3: cfg,
                ..Default::default()
            }
        );
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(!shown.contains("session-token-value"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(shown.contains("AKIDVISIBLE"), "{shown}");
    }

    #[test]
    fn s3_validate_names_the_variable() {
        let check = |s3: S3Config, var: &str| {
            let cfg = StorageConfig {
                backend: StorageBackend::S3,
                s3,
                ..Default::default()
            };
            let err = cfg.validate().unwrap_err().to_string();
            if cfg!(feature = "s3") {
                assert!(err.contains(var), "{var}: {err}");
            } else {
                assert!(err.contains("`s3` cargo feature"), "{err}");
            }
            // Another prefix names its own variables.
            let err = cfg
                .validate_with_prefix("SOCORRO_PROCESSOR_STORAGE")
                .unwrap_err()
                .to_string();
            assert!(err.contains("SOCORRO_PROCESSOR_STORAGE__"), "{err}");
        };
        let ok = || S3Config {
            bucket: "crashes".into(),
            ..Default::default()
        };
        check(S3Config::default(), "SOCORRO_STORAGE__S3__BUCKET");
        check(
            S3Config {
                bucket: "a/b".into(),
                ..ok()
            },
            "SOCORRO_STORAGE__S3__BUCKET",
        );
        for bad in ["../x", "a//b", ".hidden/x", "a/./b"] {
            check(
                S3Config {
                    prefix: bad.into(),
                    ..ok()
                },
                "SOCORRO_STORAGE__S3__PREFIX",
            );
        }
        check(
            S3Config {
                region: " ".into(),
                ..ok()
            },
            "SOCORRO_STORAGE__S3__REGION",
        );
        check(
            S3Config {
                endpoint_url: Some("127.0.0.1:9000".into()),
                ..ok()
            },
            "SOCORRO_STORAGE__S3__ENDPOINT_URL",
        );
        check(
            S3Config {
                access_key_id: Some("AKID".into()),
                ..ok()
            },
            "SOCORRO_STORAGE__S3__SECRET_ACCESS_KEY",
        );
        check(
            S3Config {
                secret_access_key: Some("secret".into()),
                ..ok()
            },
            "SOCORRO_STORAGE__S3__ACCESS_KEY_ID",
        );
        check(
            S3Config {
                session_token: Some("token".into()),
                ..ok()
            },
            "SOCORRO_STORAGE__S3__SESSION_TOKEN",
        );
        check(
            S3Config {
                multipart_part_size_bytes: 1024 * 1024,
                ..ok()
            },
            "SOCORRO_STORAGE__S3__MULTIPART_PART_SIZE_BYTES",
        );
        check(
            S3Config {
                multipart_threshold_bytes: 6 * 1024 * 1024,
                ..ok()
            },
            "SOCORRO_STORAGE__S3__MULTIPART_THRESHOLD_BYTES",
        );
        check(
            S3Config {
                request_timeout_ms: 0,
                ..ok()
            },
            "SOCORRO_STORAGE__S3__REQUEST_TIMEOUT_MS",
        );
        check(
            S3Config {
                connect_timeout_ms: 0,
                ..ok()
            },
            "SOCORRO_STORAGE__S3__CONNECT_TIMEOUT_MS",
        );
        // The smallest legal multipart settings, a nested prefix, static keys.
        let cfg = StorageConfig {
            backend: StorageBackend::S3,
            s3: S3Config {
                prefix: "socorro/stage".into(),
                multipart_threshold_bytes: S3_MIN_PART_SIZE,
                multipart_part_size_bytes: S3_MIN_PART_SIZE,
                access_key_id: Some("AKID".into()),
                secret_access_key: Some("secret".into()),
                ..ok()
            },
            ..Default::default()
        };
        assert_eq!(cfg.validate().is_ok(), cfg!(feature = "s3"));
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

    #[tokio::test]
    async fn build_s3_describes_the_bucket_and_touches_nothing_local() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StorageConfig {
            backend: StorageBackend::S3,
            s3: S3Config {
                bucket: "crashes".into(),
                prefix: "/socorro/".into(),
                endpoint_url: Some("http://127.0.0.1:9".into()),
                access_key_id: Some("AKID".into()),
                secret_access_key: Some("very-secret-value".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        match build(&cfg, dir.path()) {
            Ok(storage) if cfg!(feature = "s3") => {
                assert_eq!(storage.describe(), "s3://crashes/socorro/");
            }
            Err(StorageError::Invalid(msg)) if !cfg!(feature = "s3") => {
                assert!(msg.contains("`s3` cargo feature"), "{msg}");
            }
            Ok(storage) => panic!("built {} without the s3 feature", storage.describe()),
            Err(other) => panic!("unexpected error {other}"),
        }
        assert!(!dir.path().join("crashes").exists());
    }

    #[test]
    fn build_s3_without_bucket_fails_loudly() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StorageConfig {
            backend: StorageBackend::S3,
            ..Default::default()
        };
        match build(&cfg, dir.path()) {
            Err(StorageError::Invalid(msg)) => assert!(
                msg.contains("SOCORRO_STORAGE__S3__BUCKET") || msg.contains("`s3` cargo feature"),
                "{msg}"
            ),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("s3 without a bucket must not build"),
        }
    }
}
