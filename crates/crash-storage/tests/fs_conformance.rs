//! The conformance suites on the filesystem backend, plus what only a
//! filesystem can show: the tree on disk, leftovers of interrupted writes,
//! hostile keys, and the retry decorator over a flaky store.

// Test helpers outside #[test] functions panic on failure too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::NaiveDate;
use crash_storage::config::{StorageConfig, build};
use crash_storage::{
    CrashId, CrashStorage, DumpSet, FsObjectStore, KeyedCrashStorage, ObjectStore, RawCrash,
    RetryPolicy, Retrying, StorageError, conformance,
};
use serde_json::json;

/// Every file under `dir`, as `/`-joined paths relative to `dir`, sorted.
fn walk(dir: &Path) -> Vec<String> {
    fn go(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                go(base, &path, out);
            } else {
                out.push(
                    path.strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    go(dir, dir, &mut out);
    out.sort();
    out
}

/// Every file and directory (with a trailing `/`) under `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.push(format!("{rel}/"));
                stack.push(path);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

fn fs_storage(root: &Path) -> KeyedCrashStorage<FsObjectStore> {
    KeyedCrashStorage::new(Arc::new(FsObjectStore::open(root).unwrap()))
}

fn raw_for(id: &CrashId) -> RawCrash {
    let mut raw = RawCrash::new();
    raw.insert("uuid", id.as_str());
    raw.insert("ProductName", "Firefox");
    raw
}

const SOCORRO_ID: &str = "de1bb258-cbbf-4589-a673-34f800160918";

#[tokio::test]
async fn object_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsObjectStore::open(dir.path().join("root")).unwrap();
    conformance::run_object_store(&store).await;
    // Nothing left behind: no temporary files, no objects.
    let left: Vec<String> = walk(&dir.path().join("root"));
    assert!(
        left.iter()
            .all(|p| !p.contains("/.") && !p.starts_with('.')),
        "temporary files left: {left:?}"
    );
}

#[tokio::test]
async fn layout_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(FsObjectStore::open(dir.path()).unwrap());
    conformance::run_layout(store).await;
}

#[tokio::test]
async fn crash_storage_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run_all(&fs_storage(dir.path())).await;
    let left = walk(dir.path());
    assert!(
        left.iter().all(|p| !p.contains("/.")),
        "temporary files left: {left:?}"
    );
}

#[tokio::test]
async fn built_storage_conforms() {
    // What services get from config: Retrying(KeyedCrashStorage(FsObjectStore)).
    let dir = tempfile::tempdir().unwrap();
    let storage = build(&StorageConfig::default(), dir.path()).unwrap();
    conformance::run_all(storage.as_ref()).await;
    // Written through the write-ahead journal, the default.
    let left = walk(&dir.path().join("crashes"));
    assert_eq!(left, [".journal"], "files left");
}

#[tokio::test]
async fn journaled_object_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsObjectStore::open_journaled(dir.path(), 1 << 20).unwrap();
    conformance::run_object_store(&store).await;
    let left = walk(dir.path());
    assert_eq!(left, [".journal"], "files left");
    let store: Arc<dyn ObjectStore> = Arc::new(store);
    conformance::run_layout(store).await;
}

#[tokio::test]
async fn tree_matches_antenna_layout_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let storage = fs_storage(dir.path());
    let id = CrashId::parse(SOCORRO_ID).unwrap();
    let mut dumps = DumpSet::new();
    dumps.insert("upload_file_minidump", Bytes::from_static(b"MDMP main"));
    dumps.insert(
        "upload_file_minidump_browser",
        Bytes::from_static(b"MDMP browser"),
    );
    dumps.insert("memory_report", Bytes::from_static(b"memory"));
    storage
        .save_raw_crash(&id, &raw_for(&id), &dumps)
        .await
        .unwrap();
    storage
        .save_processed_crash(&id, &json!({"uuid": SOCORRO_ID}))
        .await
        .unwrap();

    // SOCORRO-REFERENCE §1.8: v1/raw_crash/<YYYYMMDD>/<id>, v1/dump_names/<id>,
    // v1/<dump name>/<id> with upload_file_minidump stored as `dump`.
    assert_eq!(
        walk(dir.path()),
        vec![
            "v1/dump/de1bb258-cbbf-4589-a673-34f800160918",
            "v1/dump_names/de1bb258-cbbf-4589-a673-34f800160918",
            "v1/memory_report/de1bb258-cbbf-4589-a673-34f800160918",
            "v1/processed_crash/de1bb258-cbbf-4589-a673-34f800160918",
            "v1/raw_crash/20160918/de1bb258-cbbf-4589-a673-34f800160918",
            "v1/upload_file_minidump_browser/de1bb258-cbbf-4589-a673-34f800160918",
        ]
    );
    let read = |rel: &str| std::fs::read(dir.path().join(rel)).unwrap();
    assert_eq!(
        read("v1/dump/de1bb258-cbbf-4589-a673-34f800160918"),
        b"MDMP main"
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&read(
            "v1/dump_names/de1bb258-cbbf-4589-a673-34f800160918"
        ))
        .unwrap(),
        json!([
            "memory_report",
            "upload_file_minidump",
            "upload_file_minidump_browser"
        ])
    );
    assert_eq!(
        read("v1/raw_crash/20160918/de1bb258-cbbf-4589-a673-34f800160918"),
        br#"{"ProductName":"Firefox","uuid":"de1bb258-cbbf-4589-a673-34f800160918"}"#
    );
}

#[tokio::test]
async fn reads_a_tree_written_by_antenna() {
    // Objects laid out by another writer (e.g. synced from an Antenna bucket),
    // with Python's json.dumps spacing, are read back.
    let dir = tempfile::tempdir().unwrap();
    let put = |rel: &str, data: &[u8]| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    };
    put(
        &format!("v1/raw_crash/20160918/{SOCORRO_ID}"),
        br#"{"ProductName": "Firefox", "uuid": "x"}"#,
    );
    put(
        &format!("v1/dump_names/{SOCORRO_ID}"),
        br#"["upload_file_minidump", "memory_report"]"#,
    );
    put(&format!("v1/dump/{SOCORRO_ID}"), b"MDMP");
    put(&format!("v1/memory_report/{SOCORRO_ID}"), b"mem");
    let storage = fs_storage(dir.path());
    let id = CrashId::parse(SOCORRO_ID).unwrap();
    assert_eq!(
        storage
            .load_raw_crash(&id)
            .await
            .unwrap()
            .get_str("ProductName"),
        Some("Firefox")
    );
    let dumps = storage.load_dumps(&id).await.unwrap();
    assert_eq!(
        dumps.names().collect::<Vec<_>>(),
        vec!["memory_report", "upload_file_minidump"]
    );
    assert_eq!(dumps.get("upload_file_minidump").unwrap().as_ref(), b"MDMP");
    let day = NaiveDate::from_ymd_opt(2016, 9, 18).unwrap();
    assert_eq!(storage.list_raw_crash_ids(day).await.unwrap(), vec![id]);
}

#[tokio::test]
async fn crash_without_raw_crash_is_not_complete() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsObjectStore::open(dir.path()).unwrap());
    let storage = KeyedCrashStorage::new(store.clone());
    let id = CrashId::parse(SOCORRO_ID).unwrap();
    // What a writer killed between the dumps and the raw crash leaves behind.
    store
        .put(
            &format!("v1/dump_names/{id}"),
            Bytes::from_static(b"[\"upload_file_minidump\"]"),
        )
        .await
        .unwrap();
    store
        .put(&format!("v1/dump/{id}"), Bytes::from_static(b"MDMP"))
        .await
        .unwrap();
    assert!(!storage.raw_crash_exists(&id).await.unwrap());
    assert!(matches!(
        storage.load_raw_crash(&id).await,
        Err(StorageError::NotFound(_))
    ));
    let day = NaiveDate::from_ymd_opt(2016, 9, 18).unwrap();
    assert_eq!(
        storage.list_raw_crash_ids(day).await.unwrap(),
        Vec::<CrashId>::new()
    );
    // The dumps are there (so a retried save completes it).
    assert_eq!(
        storage.load_dump_names(&id).await.unwrap(),
        vec!["upload_file_minidump"]
    );
    storage
        .save_raw_crash(&id, &raw_for(&id), &DumpSet::new())
        .await
        .unwrap();
    assert!(storage.raw_crash_exists(&id).await.unwrap());
}

#[tokio::test]
async fn interrupted_write_is_invisible() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsObjectStore::open(dir.path()).unwrap());
    let storage = KeyedCrashStorage::new(store.clone());
    let day = NaiveDate::from_ymd_opt(2016, 9, 18).unwrap();
    let id = CrashId::parse(SOCORRO_ID).unwrap();
    let other = CrashId::parse("aaaaaaaa-cbbf-4589-a673-34f800160918").unwrap();
    storage
        .save_raw_crash(&other, &raw_for(&other), &DumpSet::new())
        .await
        .unwrap();

    // A writer died after writing part of its temporary files.
    let day_dir = dir.path().join("v1/raw_crash/20160918");
    std::fs::write(
        day_dir.join(format!(".{id}.tmp.00000000deadbeef")),
        b"{\"uuid\": \"de1b",
    )
    .unwrap();
    std::fs::write(
        day_dir.join(format!(".{other}.tmp.00000000deadbeef")),
        b"{\"partial",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("v1/dump")).unwrap();
    std::fs::write(
        dir.path()
            .join(format!("v1/dump/.{id}.tmp.0000000000000001")),
        b"MD",
    )
    .unwrap();

    assert!(!storage.raw_crash_exists(&id).await.unwrap());
    assert!(matches!(
        storage.load_raw_crash(&id).await,
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(
        storage.list_raw_crash_ids(day).await.unwrap(),
        vec![other.clone()]
    );
    assert_eq!(
        store.list("v1/").await.unwrap(),
        vec![
            format!("v1/dump_names/{other}"),
            format!("v1/raw_crash/20160918/{other}"),
        ]
    );
    assert!(matches!(
        storage.load_dump(&id, "upload_file_minidump").await,
        Err(StorageError::NotFound(_))
    ));
    // The complete object next to a leftover is intact.
    assert_eq!(
        storage.load_raw_crash(&other).await.unwrap(),
        raw_for(&other)
    );
    // A temporary name cannot be addressed as a key.
    assert!(matches!(
        store
            .get(&format!("v1/raw_crash/20160918/.{id}.tmp.00000000deadbeef"))
            .await,
        Err(StorageError::Invalid(_))
    ));
}

#[tokio::test]
async fn hostile_keys_write_nothing_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("deep/root");
    let store = FsObjectStore::open(&root).unwrap();
    let before = entries(dir.path());
    assert_eq!(before, vec!["deep/", "deep/root/"]);
    for bad in conformance::HOSTILE_KEYS.iter().copied().chain([
        "../../escape",
        "v1/../../../escape",
        "/tmp/escape",
    ]) {
        assert!(
            matches!(
                store.put(bad, Bytes::from_static(b"evil")).await,
                Err(StorageError::Invalid(_))
            ),
            "{bad:?}"
        );
        assert!(
            matches!(store.delete(bad).await, Err(StorageError::Invalid(_))),
            "{bad:?}"
        );
    }
    assert_eq!(entries(dir.path()), before, "a hostile key wrote something");
    // Hostile dump names go through the same gate.
    let storage = KeyedCrashStorage::new(Arc::new(store));
    let id = CrashId::parse(SOCORRO_ID).unwrap();
    let mut dumps = DumpSet::new();
    dumps.insert("../../../escape", Bytes::from_static(b"evil"));
    assert!(matches!(
        storage.save_raw_crash(&id, &raw_for(&id), &dumps).await,
        Err(StorageError::Invalid(_))
    ));
    assert_eq!(entries(dir.path()), before);
}

#[tokio::test]
async fn directory_removed_under_the_store_is_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsObjectStore::open(dir.path()).unwrap();
    store
        .put("v1/dump/a", Bytes::from_static(b"1"))
        .await
        .unwrap();
    std::fs::remove_dir_all(dir.path().join("v1")).unwrap();
    store
        .put("v1/dump/b", Bytes::from_static(b"2"))
        .await
        .unwrap();
    assert_eq!(store.get("v1/dump/b").await.unwrap().as_ref(), b"2");
    store
        .put_many(vec![("v1/dump/c".into(), Bytes::from_static(b"3"))])
        .await
        .unwrap();
    assert_eq!(
        store.list("v1/").await.unwrap(),
        vec!["v1/dump/b", "v1/dump/c"]
    );
}

#[tokio::test]
async fn key_colliding_with_a_directory_is_a_permanent_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsObjectStore::open(dir.path()).unwrap();
    store.put("a/b", Bytes::from_static(b"1")).await.unwrap();
    let err = store.put("a", Bytes::from_static(b"2")).await.unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    let err = store
        .put("a/b/c", Bytes::from_static(b"2"))
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    assert_eq!(walk(dir.path()), vec!["a/b"]);
}

/// An object store that fails the first `failures` calls of `get` and `put`
/// with `error`, then delegates to a real store.
struct Flaky {
    inner: FsObjectStore,
    failures: u32,
    permanent: bool,
    gets: AtomicU32,
    puts: AtomicU32,
}

impl Flaky {
    fn new(root: PathBuf, failures: u32, permanent: bool) -> Self {
        Self {
            inner: FsObjectStore::open(root).unwrap(),
            failures,
            permanent,
            gets: AtomicU32::new(0),
            puts: AtomicU32::new(0),
        }
    }

    fn fail(&self, counter: &AtomicU32) -> Option<StorageError> {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        (n < self.failures).then(|| {
            let io = std::io::Error::other("injected failure");
            if self.permanent {
                StorageError::permanent("injected", io)
            } else {
                StorageError::transient("injected", io)
            }
        })
    }
}

#[async_trait]
impl ObjectStore for Flaky {
    async fn put(&self, key: &str, data: Bytes) -> Result<(), StorageError> {
        match self.fail(&self.puts) {
            Some(e) => Err(e),
            None => self.inner.put(key, data).await,
        }
    }

    async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        match self.fail(&self.gets) {
            Some(e) => Err(e),
            None => self.inner.get(key).await,
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        self.inner.exists(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        self.inner.list(prefix).await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.inner.delete(key).await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.inner.check_health().await
    }

    fn describe(&self) -> String {
        format!("flaky {}", self.inner.describe())
    }
}

fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

#[tokio::test]
async fn retrying_recovers_after_transient_failures() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Arc::new(Flaky::new(dir.path().to_owned(), 3, false));
    let storage = Retrying::new(KeyedCrashStorage::new(flaky.clone()), fast_policy(5));
    let id = CrashId::parse(SOCORRO_ID).unwrap();

    // Three failed puts (each fails a whole save attempt), then success.
    storage
        .save_raw_crash(&id, &raw_for(&id), &DumpSet::new())
        .await
        .unwrap();
    // 3 failed attempts + dump_names and raw_crash puts of the 4th.
    assert_eq!(flaky.puts.load(Ordering::SeqCst), 3 + 2);

    // Three failed gets, then the 4th attempt reads it.
    assert_eq!(storage.load_raw_crash(&id).await.unwrap(), raw_for(&id));
    assert_eq!(
        flaky.gets.load(Ordering::SeqCst),
        4,
        "N failures then success = N+1 attempts"
    );

    // Not-found is final: one call.
    let missing = CrashId::parse("bbbbbbbb-cbbf-4589-a673-34f800160918").unwrap();
    assert!(matches!(
        storage.load_raw_crash(&missing).await,
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(flaky.gets.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn retrying_gives_up_after_max_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Arc::new(Flaky::new(dir.path().to_owned(), 100, false));
    let storage = Retrying::new(KeyedCrashStorage::new(flaky.clone()), fast_policy(4));
    let id = CrashId::parse(SOCORRO_ID).unwrap();
    let err = storage.load_raw_crash(&id).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(flaky.gets.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn retrying_does_not_retry_permanent_errors() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Arc::new(Flaky::new(dir.path().to_owned(), 1, true));
    let storage = Retrying::new(KeyedCrashStorage::new(flaky.clone()), fast_policy(5));
    let id = CrashId::parse(SOCORRO_ID).unwrap();
    let err = storage
        .save_raw_crash(&id, &raw_for(&id), &DumpSet::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Permanent { .. }), "{err:?}");
    assert_eq!(
        flaky.puts.load(Ordering::SeqCst),
        1,
        "a permanent error was retried"
    );
    assert!(!storage.raw_crash_exists(&id).await.unwrap());
    let err = storage.load_raw_crash(&id).await.unwrap_err();
    assert!(matches!(err, StorageError::Permanent { .. }), "{err:?}");
    assert_eq!(flaky.gets.load(Ordering::SeqCst), 1);
}
