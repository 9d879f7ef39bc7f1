//! [`Retrying`]: a [`CrashStorage`] decorator that retries transient errors.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::NaiveDate;
use serde_json::Value;

use crate::retry::{RetryPolicy, retry};
use crate::{CrashId, CrashStorage, DumpSet, RawCrash, StorageError};

/// Wraps any [`CrashStorage`] and retries each call that fails with a
/// transient error ([`StorageError::is_transient`]) per its [`RetryPolicy`].
/// Not-found, invalid, corrupt and permanent errors are returned at once.
///
/// `check_health` is not retried: a heartbeat reports the backend's state now.
#[derive(Debug, Clone)]
pub struct Retrying<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S: CrashStorage> Retrying<S> {
    /// Retry calls to `inner` per `policy`.
    pub fn new(inner: S, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }

    /// The wrapped storage.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

#[async_trait]
impl<S: CrashStorage> CrashStorage for Retrying<S> {
    async fn save_raw_crash(
        &self,
        id: &CrashId,
        raw: &RawCrash,
        dumps: &DumpSet,
    ) -> Result<(), StorageError> {
        retry(&self.policy, StorageError::is_transient, || {
            self.inner.save_raw_crash(id, raw, dumps)
        })
        .await
    }

    async fn load_raw_crash(&self, id: &CrashId) -> Result<RawCrash, StorageError> {
        retry(&self.policy, StorageError::is_transient, || {
            self.inner.load_raw_crash(id)
        })
        .await
    }

    async fn raw_crash_exists(&self, id: &CrashId) -> Result<bool, StorageError> {
        retry(&self.policy, StorageError::is_transient, || {
            self.inner.raw_crash_exists(id)
        })
        .await
    }

    async fn load_dump_names(&self, id: &CrashId) -> Result<Vec<String>, StorageError> {
        retry(&self.policy, StorageError::is_transient, || {
            self.inner.load_dump_names(id)
        })
        .await
    }

    async fn load_dump(&self, id: &CrashId, name: &str) -> Result<Bytes, StorageError> {
        retry(&self.policy, StorageError::is_transient, || {
            self.inner.load_dump(id, name)
        })
        .await
    }

    async fn load_dumps(&self, id: &CrashId) -> Result<DumpSet, StorageError> {
        retry(&self.policy, StorageError::is_transient, || {
            self.inner.load_dumps(id)
        })
        .await
    }

    async fn save_processed_crash(
        &self,
        id: &CrashId,
        processed: &Value,
    ) -> Result<(), StorageError> {
        retry(&self.policy, StorageError::is_transient, || {
            self.inner.save_processed_crash(id, processed)
        })
        .await
    }

    async fn load_processed_crash(&self, id: &CrashId) -> Result<Value, StorageError> {
        retry(&self.policy, StorageError::is_transient, || {
            self.inner.load_processed_crash(id)
        })
        .await
    }

    async fn processed_crash_exists(&self, id: &CrashId) -> Result<bool, StorageError> {
        retry(&self.policy, StorageError::is_transient, || {
            self.inner.processed_crash_exists(id)
        })
        .await
    }

    async fn list_raw_crash_ids(&self, date: NaiveDate) -> Result<Vec<CrashId>, StorageError> {
        retry(&self.policy, StorageError::is_transient, || {
            self.inner.list_raw_crash_ids(date)
        })
        .await
    }

    async fn delete_crash(&self, id: &CrashId) -> Result<(), StorageError> {
        retry(&self.policy, StorageError::is_transient, || {
            self.inner.delete_crash(id)
        })
        .await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.inner.check_health().await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}
