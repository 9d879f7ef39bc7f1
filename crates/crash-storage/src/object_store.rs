//! The key/value layer every storage backend implements.

use async_trait::async_trait;
use bytes::Bytes;

use crate::StorageError;

/// A durable key/value store of immutable-ish objects (a directory tree, an
/// S3 bucket, later GCS). Keys are `/`-separated relative paths such as
/// `v1/raw_crash/20261125/<id>`.
///
/// Contract every implementation must meet (checked by the conformance suite):
/// - `put` returns only once the object is durable (fsync'd / acknowledged)
///   and is atomic: a reader sees the old object, or the whole new one, never
///   a partial one. A `put` of an existing key replaces it.
/// - `get` of a missing key is `StorageError::NotFound`.
/// - `list` returns the keys under a prefix (one level or deeper), sorted.
/// - Errors that may pass are `Transient`; backends do not retry themselves.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Store `data` at `key` durably and atomically, replacing any object there.
    async fn put(&self, key: &str, data: Bytes) -> Result<(), StorageError>;

    /// Put several objects; all are durable when this returns `Ok`. No order
    /// between them is promised. Backends may override this to share fsyncs.
    async fn put_many(&self, objects: Vec<(String, Bytes)>) -> Result<(), StorageError> {
        for (key, data) in objects {
            self.put(&key, data).await?;
        }
        Ok(())
    }

    /// Put `first` (as [`Self::put_many`]), then `last`: once `last` is
    /// visible every object of `first` is durable, and all are durable when
    /// this returns `Ok`. A crash is saved this way, its raw crash last.
    /// Backends may override this to do the whole crash in one go.
    async fn put_many_then(
        &self,
        first: Vec<(String, Bytes)>,
        last: (String, Bytes),
    ) -> Result<(), StorageError> {
        self.put_many(first).await?;
        self.put(&last.0, last.1).await
    }

    /// The object at `key`; `NotFound` if there is none.
    async fn get(&self, key: &str) -> Result<Bytes, StorageError>;

    /// Whether an object is stored at `key` (a key prefix is not an object).
    async fn exists(&self, key: &str) -> Result<bool, StorageError>;

    /// Keys under `prefix` (which ends with `/`), sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError>;

    /// Remove the object at `key`; a missing key is `Ok` or `NotFound`.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;

    /// A cheap real round trip proving the store is usable (used by
    /// `/__heartbeat__`): e.g. write and read back a health object.
    async fn check_health(&self) -> Result<(), StorageError>;

    /// Human-readable description for logs (`fs:/data/crashes`, `s3://bucket/prefix`).
    fn describe(&self) -> String;
}

/// The health check every backend can use: write a small object under a
/// random `health/` key, read it back, delete it.
pub async fn round_trip<S: ObjectStore + ?Sized>(store: &S) -> Result<(), StorageError> {
    use rand::Rng;
    let key = format!("health/check-{:016x}", rand::rng().random::<u64>());
    store.put(&key, Bytes::from_static(b"test")).await?;
    let back = store.get(&key).await;
    let deleted = store.delete(&key).await;
    let back = back?;
    deleted?;
    if back.as_ref() != b"test" {
        return Err(StorageError::Corrupt {
            key,
            reason: "read back different bytes".into(),
        });
    }
    Ok(())
}
