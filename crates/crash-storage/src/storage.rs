//! The [`CrashStorage`] trait and its one implementation over any
//! [`ObjectStore`].

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::NaiveDate;
use serde_json::Value;

use crate::raw_crash::sorted_json;
use crate::{CrashId, DumpSet, ObjectStore, RawCrash, StorageError, keys};

/// Where crashes live. One implementation ([`KeyedCrashStorage`]) serves every
/// backend; backends differ only in their [`ObjectStore`].
#[async_trait]
pub trait CrashStorage: Send + Sync + 'static {
    /// Save a raw crash and its dumps durably. Dump names are written first,
    /// then every dump, then the raw crash JSON last: a raw crash that can be
    /// loaded always has all its dumps. Returns only once everything is durable.
    async fn save_raw_crash(
        &self,
        id: &CrashId,
        raw: &RawCrash,
        dumps: &DumpSet,
    ) -> Result<(), StorageError>;

    /// The raw crash; `NotFound` until [`Self::save_raw_crash`] completed.
    async fn load_raw_crash(&self, id: &CrashId) -> Result<RawCrash, StorageError>;

    /// Whether the raw crash (and so the complete crash) is stored.
    async fn raw_crash_exists(&self, id: &CrashId) -> Result<bool, StorageError>;

    /// The dump names as sent (`upload_file_minidump`, ...), sorted.
    async fn load_dump_names(&self, id: &CrashId) -> Result<Vec<String>, StorageError>;

    /// One dump by its name as sent (`upload_file_minidump` is read from `dump`).
    async fn load_dump(&self, id: &CrashId, name: &str) -> Result<Bytes, StorageError>;

    /// Every dump of the crash.
    async fn load_dumps(&self, id: &CrashId) -> Result<DumpSet, StorageError> {
        let mut set = DumpSet::new();
        for name in self.load_dump_names(id).await? {
            let data = self.load_dump(id, &name).await?;
            set.insert(name, data);
        }
        Ok(set)
    }

    /// Save (or replace) the processed crash JSON.
    async fn save_processed_crash(
        &self,
        id: &CrashId,
        processed: &Value,
    ) -> Result<(), StorageError>;

    /// The processed crash JSON object; `NotFound` if not processed yet.
    async fn load_processed_crash(&self, id: &CrashId) -> Result<Value, StorageError>;

    /// Whether a processed crash is stored.
    async fn processed_crash_exists(&self, id: &CrashId) -> Result<bool, StorageError>;

    /// Ids of the raw crashes stored for one submission day, sorted.
    async fn list_raw_crash_ids(&self, date: NaiveDate) -> Result<Vec<CrashId>, StorageError>;

    /// Delete a crash: raw crash first (so it stops being "complete"), then
    /// dumps, dump names and processed crash. Missing pieces are not errors.
    async fn delete_crash(&self, id: &CrashId) -> Result<(), StorageError>;

    /// A real round trip to the backend (for `/__heartbeat__`).
    async fn check_health(&self) -> Result<(), StorageError>;

    /// Human-readable description for logs (`fs:/data/crashes`).
    fn describe(&self) -> String;
}

/// Shared storage is storage: lets decorators wrap an `Arc<dyn CrashStorage>`.
#[async_trait]
impl<T: CrashStorage + ?Sized> CrashStorage for Arc<T> {
    async fn save_raw_crash(
        &self,
        id: &CrashId,
        raw: &RawCrash,
        dumps: &DumpSet,
    ) -> Result<(), StorageError> {
        (**self).save_raw_crash(id, raw, dumps).await
    }

    async fn load_raw_crash(&self, id: &CrashId) -> Result<RawCrash, StorageError> {
        (**self).load_raw_crash(id).await
    }

    async fn raw_crash_exists(&self, id: &CrashId) -> Result<bool, StorageError> {
        (**self).raw_crash_exists(id).await
    }

    async fn load_dump_names(&self, id: &CrashId) -> Result<Vec<String>, StorageError> {
        (**self).load_dump_names(id).await
    }

    async fn load_dump(&self, id: &CrashId, name: &str) -> Result<Bytes, StorageError> {
        (**self).load_dump(id, name).await
    }

    async fn load_dumps(&self, id: &CrashId) -> Result<DumpSet, StorageError> {
        (**self).load_dumps(id).await
    }

    async fn save_processed_crash(
        &self,
        id: &CrashId,
        processed: &Value,
    ) -> Result<(), StorageError> {
        (**self).save_processed_crash(id, processed).await
    }

    async fn load_processed_crash(&self, id: &CrashId) -> Result<Value, StorageError> {
        (**self).load_processed_crash(id).await
    }

    async fn processed_crash_exists(&self, id: &CrashId) -> Result<bool, StorageError> {
        (**self).processed_crash_exists(id).await
    }

    async fn list_raw_crash_ids(&self, date: NaiveDate) -> Result<Vec<CrashId>, StorageError> {
        (**self).list_raw_crash_ids(date).await
    }

    async fn delete_crash(&self, id: &CrashId) -> Result<(), StorageError> {
        (**self).delete_crash(id).await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        (**self).check_health().await
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// [`CrashStorage`] over any [`ObjectStore`], using Socorro's key layout.
pub struct KeyedCrashStorage<O: ?Sized> {
    store: Arc<O>,
}

impl<O: ObjectStore + ?Sized> KeyedCrashStorage<O> {
    /// Crash storage over `store`.
    pub fn new(store: Arc<O>) -> Self {
        Self { store }
    }

    /// The underlying object store.
    pub fn object_store(&self) -> &Arc<O> {
        &self.store
    }
}

fn parse_json_object(
    key: &str,
    bytes: &[u8],
) -> Result<serde_json::Map<String, Value>, StorageError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(StorageError::Corrupt {
            key: key.to_owned(),
            reason: "not a JSON object".into(),
        }),
        Err(e) => Err(StorageError::Corrupt {
            key: key.to_owned(),
            reason: e.to_string(),
        }),
    }
}

fn ignore_not_found(r: Result<(), StorageError>) -> Result<(), StorageError> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

#[async_trait]
impl<O: ObjectStore + ?Sized> CrashStorage for KeyedCrashStorage<O> {
    async fn save_raw_crash(
        &self,
        id: &CrashId,
        raw: &RawCrash,
        dumps: &DumpSet,
    ) -> Result<(), StorageError> {
        // Refuse names that would escape the layout or overwrite each other
        // (`upload_file_minidump`, `""` and `dump` are all stored as `dump`).
        let mut stored_as: std::collections::BTreeMap<&str, &str> = Default::default();
        for name in dumps.names() {
            keys::validate_dump_name(name)?;
            if let Some(other) = stored_as.insert(keys::dump_storage_name(name), name) {
                return Err(StorageError::Invalid(format!(
                    "dump names {other:?} and {name:?} would both be stored as {:?}",
                    keys::dump_storage_name(name)
                )));
            }
        }
        let names: Vec<&str> = dumps.names().collect();
        let names_json = serde_json::to_vec(&names).unwrap_or_else(|_| b"[]".to_vec());
        let mut first: Vec<(String, Bytes)> = Vec::with_capacity(dumps.len() + 1);
        first.push((keys::dump_names(id), Bytes::from(names_json)));
        for (name, data) in dumps.iter() {
            first.push((keys::dump(name, id), data.clone()));
        }
        // Dump names and dumps: durable before the raw crash marks the crash complete.
        self.store
            .put_many_then(
                first,
                (keys::raw_crash(id), Bytes::from(raw.to_sorted_json())),
            )
            .await
    }

    async fn load_raw_crash(&self, id: &CrashId) -> Result<RawCrash, StorageError> {
        let key = keys::raw_crash(id);
        let bytes = self.store.get(&key).await?;
        Ok(RawCrash(parse_json_object(&key, &bytes)?))
    }

    async fn raw_crash_exists(&self, id: &CrashId) -> Result<bool, StorageError> {
        self.store.exists(&keys::raw_crash(id)).await
    }

    async fn load_dump_names(&self, id: &CrashId) -> Result<Vec<String>, StorageError> {
        let key = keys::dump_names(id);
        let bytes = self.store.get(&key).await?;
        let mut names: Vec<String> =
            serde_json::from_slice(&bytes).map_err(|e| StorageError::Corrupt {
                key,
                reason: e.to_string(),
            })?;
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn load_dump(&self, id: &CrashId, name: &str) -> Result<Bytes, StorageError> {
        // A reserved name would read another object (`processed_crash`).
        keys::validate_dump_name(name)?;
        self.store.get(&keys::dump(name, id)).await
    }

    async fn save_processed_crash(
        &self,
        id: &CrashId,
        processed: &Value,
    ) -> Result<(), StorageError> {
        if !processed.is_object() {
            return Err(StorageError::Invalid(
                "processed crash must be a JSON object".into(),
            ));
        }
        self.store
            .put(
                &keys::processed_crash(id),
                Bytes::from(sorted_json(processed)),
            )
            .await
    }

    async fn load_processed_crash(&self, id: &CrashId) -> Result<Value, StorageError> {
        let key = keys::processed_crash(id);
        let bytes = self.store.get(&key).await?;
        Ok(Value::Object(parse_json_object(&key, &bytes)?))
    }

    async fn processed_crash_exists(&self, id: &CrashId) -> Result<bool, StorageError> {
        self.store.exists(&keys::processed_crash(id)).await
    }

    async fn list_raw_crash_ids(&self, date: NaiveDate) -> Result<Vec<CrashId>, StorageError> {
        let prefix = keys::raw_crash_day_prefix(&date.format("%Y%m%d").to_string());
        let keys = self.store.list(&prefix).await?;
        let mut ids: Vec<CrashId> = Vec::with_capacity(keys.len());
        for key in &keys {
            match key.strip_prefix(&prefix).map(CrashId::parse) {
                Some(Ok(id)) => ids.push(id),
                _ => tracing::warn!(key = %key, "skipping stored key that is not a raw crash"),
            }
        }
        ids.sort();
        Ok(ids)
    }

    async fn delete_crash(&self, id: &CrashId) -> Result<(), StorageError> {
        ignore_not_found(self.store.delete(&keys::raw_crash(id)).await)?;
        let names = match self.load_dump_names(id).await {
            Ok(names) => names,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(e),
        };
        for name in names {
            ignore_not_found(self.store.delete(&keys::dump(&name, id)).await)?;
        }
        ignore_not_found(self.store.delete(&keys::dump_names(id)).await)?;
        ignore_not_found(self.store.delete(&keys::processed_crash(id)).await)
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.store.check_health().await
    }

    fn describe(&self) -> String {
        self.store.describe()
    }
}
