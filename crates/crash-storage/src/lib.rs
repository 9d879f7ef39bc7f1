//! Crash ids, raw and processed crashes, Socorro's storage key layout and the
//! [`CrashStorage`] trait with its backends.
//!
//! Every backend stores crashes under the same keys Socorro and Antenna use
//! (see [`keys`]), so a bucket or directory written by one can be read by the
//! other. Backends only implement [`ObjectStore`] (put/get/exists/list of
//! keys); [`KeyedCrashStorage`] turns any object store into a
//! [`CrashStorage`] with the write order that makes a crash durable: dump
//! names, then each dump, then the raw crash JSON last.
//!
//! Backends: [`FsObjectStore`] (a directory tree) and, with the `s3` feature
//! (on by default), `s3::S3ObjectStore` (a bucket on AWS or an S3-compatible
//! server). [`config::build`] opens the configured one.

pub mod config;
pub mod crash_id;
pub mod error;
pub mod fs;
pub mod keys;
pub mod object_store;
pub mod raw_crash;
pub mod retry;
pub mod retrying;
#[cfg(feature = "s3")]
pub mod s3;
pub mod storage;

#[cfg(feature = "testsuite")]
pub mod conformance;

pub use config::{FsConfig, S3Config, StorageBackend, StorageConfig};
pub use crash_id::{CrashId, CrashIdError, ThrottleDigit};
pub use error::StorageError;
pub use fs::{FsObjectStore, JournalStats, journal_stats};
pub use object_store::ObjectStore;
pub use raw_crash::{DumpSet, RawCrash};
pub use retry::RetryPolicy;
pub use retrying::Retrying;
#[cfg(feature = "s3")]
pub use s3::S3ObjectStore;
pub use storage::{CrashStorage, KeyedCrashStorage};
