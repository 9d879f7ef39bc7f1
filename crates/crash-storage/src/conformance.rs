//! Conformance suite every storage backend runs (feature `testsuite`).
//!
//! - [`run_object_store`]: the [`ObjectStore`] contract (put/get/list/delete,
//!   replacement, not-found, hostile keys).
//! - [`run_layout`]: Socorro's key layout as written through
//!   [`KeyedCrashStorage`] over the store, byte for byte where it matters.
//! - [`run_all`]: the [`CrashStorage`] contract, for any implementation
//!   (including decorators such as [`Retrying`](crate::retrying::Retrying)).
//!
//! Every check uses fresh random crash ids and keys under a random prefix, so
//! the suite can run against a shared bucket; it panics on the first failure.

// A test suite: panicking with a message is how a check fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use rand::Rng;
use serde_json::{Value, json};

use crate::{
    CrashId, CrashStorage, DumpSet, KeyedCrashStorage, ObjectStore, RawCrash, StorageError,
    ThrottleDigit,
};

/// Keys no backend may accept; none may write anything anywhere.
pub const HOSTILE_KEYS: [&str; 9] = [
    "../x",
    "/abs",
    "a/../../b",
    ".hidden",
    "",
    "a//b",
    "a/",
    "x/./y",
    "a\\..\\b",
];

fn random_day() -> NaiveDate {
    let base = NaiveDate::from_ymd_opt(2001, 1, 1).unwrap();
    base + chrono::Duration::days(rand::rng().random_range(0..9000))
}

fn new_id(date: NaiveDate) -> CrashId {
    CrashId::generate(ThrottleDigit::Accept, date)
}

fn random_bytes(len: usize) -> Bytes {
    let mut data = vec![0u8; len];
    rand::rng().fill(&mut data[..]);
    Bytes::from(data)
}

#[track_caller]
fn assert_not_found<T: Debug>(result: Result<T, StorageError>, what: &str) {
    match result {
        Err(StorageError::NotFound(_)) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid<T: Debug>(result: Result<T, StorageError>, what: &str) {
    match result {
        Err(StorageError::Invalid(_)) => {}
        other => panic!("{what}: expected Invalid, got {other:?}"),
    }
}

fn sample_raw(id: &CrashId) -> RawCrash {
    let value = json!({
        "uuid": id.as_str(),
        "ProductName": "Firefox",
        "Version": "145.0",
        "submitted_timestamp": "2026-11-25T01:02:03.456789+00:00",
        "version": 2,
        "metadata": {
            "collector_notes": [],
            "dump_checksums": {"upload_file_minidump": "e3b0c442"},
            "payload": "multipart",
            "payload_compressed": "0",
            "throttle_rule": "accept_everything",
        },
        // Unknown fields of every JSON type must survive.
        "ZZZ_unknown_nested": {"z": [1, 2.5, {"b": null, "a": true}], "a": "x"},
        "Comments": "crashed while typing \u{65e5}\u{672c} \u{2603} \"quoted\"\n",
        "BigNumber": 9_007_199_254_740_993_u64,
        "Negative": -42,
        "EmptyString": "",
    });
    match value {
        Value::Object(map) => RawCrash(map),
        _ => unreachable!(),
    }
}

fn sample_dumps() -> DumpSet {
    let mut dumps = DumpSet::new();
    dumps.insert(
        "upload_file_minidump",
        Bytes::from_static(b"MDMP\x93\xa7\x00\x00main\xff\x00"),
    );
    dumps.insert(
        "upload_file_minidump_browser",
        Bytes::from_static(b"MDMP browser"),
    );
    dumps.insert(
        "memory_report",
        Bytes::from_static(b"\x1f\x8b gzipped json"),
    );
    dumps
}

/// The whole [`ObjectStore`] contract.
pub async fn run_object_store(store: &dyn ObjectStore) {
    assert!(!store.describe().is_empty(), "describe() is empty");
    let p = format!("conformance-{:016x}/", rand::rng().random::<u64>());
    let key = |k: &str| format!("{p}{k}");

    // Missing keys.
    assert_not_found(store.get(&key("missing")).await, "get of a missing key");
    assert!(
        !store.exists(&key("missing")).await.unwrap(),
        "exists of a missing key"
    );
    assert_eq!(
        store.list(&p).await.unwrap(),
        Vec::<String>::new(),
        "list of an empty prefix"
    );

    // Round trip, replace, empty object.
    store
        .put(&key("a"), Bytes::from_static(b"first"))
        .await
        .unwrap();
    assert_eq!(
        store.get(&key("a")).await.unwrap(),
        Bytes::from_static(b"first")
    );
    assert!(store.exists(&key("a")).await.unwrap(), "exists after put");
    store
        .put(&key("a"), Bytes::from_static(b"second, longer value"))
        .await
        .unwrap();
    assert_eq!(
        store.get(&key("a")).await.unwrap(),
        Bytes::from_static(b"second, longer value")
    );
    store
        .put(&key("a"), Bytes::from_static(b"3"))
        .await
        .unwrap();
    assert_eq!(
        store.get(&key("a")).await.unwrap(),
        Bytes::from_static(b"3"),
        "put must replace, not overwrite in place"
    );
    store.put(&key("empty"), Bytes::new()).await.unwrap();
    assert_eq!(store.get(&key("empty")).await.unwrap(), Bytes::new());
    assert!(store.exists(&key("empty")).await.unwrap());

    // Binary data, put_many.
    let blob = random_bytes(70_000);
    store
        .put_many(vec![
            (key("sub/b"), blob.clone()),
            (key("sub/deeper/c"), Bytes::from_static(b"c")),
            (key("sub/a"), Bytes::from_static(b"a")),
        ])
        .await
        .unwrap();
    assert_eq!(store.get(&key("sub/b")).await.unwrap(), blob);
    assert_eq!(
        store.get(&key("sub/deeper/c")).await.unwrap(),
        Bytes::from_static(b"c")
    );
    store.put_many(Vec::new()).await.unwrap();

    // A key prefix is not an object.
    assert_not_found(store.get(&key("sub")).await, "get of a key prefix");
    assert!(
        !store.exists(&key("sub")).await.unwrap(),
        "exists of a key prefix"
    );
    assert_not_found(
        store.get(&key("a/below-an-object")).await,
        "get below an object",
    );
    assert!(!store.exists(&key("a/below-an-object")).await.unwrap());

    // Listing: sorted, recursive, prefix-filtered.
    let all = store.list(&p).await.unwrap();
    assert_eq!(
        all,
        vec![
            key("a"),
            key("empty"),
            key("sub/a"),
            key("sub/b"),
            key("sub/deeper/c")
        ]
    );
    assert_eq!(
        store.list(&key("sub/")).await.unwrap(),
        vec![key("sub/a"), key("sub/b"), key("sub/deeper/c")]
    );
    assert_eq!(
        store.list(&key("sub/deeper/")).await.unwrap(),
        vec![key("sub/deeper/c")]
    );
    assert_eq!(
        store.list(&key("nothing/")).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        store.list(&key("a/")).await.unwrap(),
        Vec::<String>::new(),
        "list below an object"
    );
    assert_eq!(
        store.list(&key("e")).await.unwrap(),
        vec![key("empty")],
        "partial last segment"
    );

    // Delete.
    store.delete(&key("a")).await.unwrap();
    assert_not_found(store.get(&key("a")).await, "get after delete");
    assert!(
        !store.exists(&key("a")).await.unwrap(),
        "exists after delete"
    );
    match store.delete(&key("a")).await {
        Ok(()) | Err(StorageError::NotFound(_)) => {}
        Err(e) => panic!("delete of a missing key: {e:?}"),
    }
    assert_eq!(
        store.list(&p).await.unwrap(),
        vec![
            key("empty"),
            key("sub/a"),
            key("sub/b"),
            key("sub/deeper/c")
        ]
    );

    // Hostile keys are refused by every operation.
    for bad in HOSTILE_KEYS {
        assert_invalid(
            store.put(bad, Bytes::from_static(b"evil")).await,
            &format!("put {bad:?}"),
        );
        assert_invalid(
            store
                .put_many(vec![
                    (key("ok"), Bytes::new()),
                    (bad.to_owned(), Bytes::new()),
                ])
                .await,
            &format!("put_many with {bad:?}"),
        );
        assert_invalid(store.get(bad).await, &format!("get {bad:?}"));
        assert_invalid(store.exists(bad).await, &format!("exists {bad:?}"));
        assert_invalid(store.delete(bad).await, &format!("delete {bad:?}"));
    }
    assert_invalid(store.list("../").await, "list ../");
    assert_invalid(store.list("a/../../").await, "list a/../../");
    // put_many validated every key before writing any.
    assert!(
        !store.exists(&key("ok")).await.unwrap(),
        "put_many wrote before refusing a bad key"
    );

    store.check_health().await.unwrap();

    for k in store.list(&p).await.unwrap() {
        store.delete(&k).await.unwrap();
    }
    assert_eq!(store.list(&p).await.unwrap(), Vec::<String>::new());
}

/// Socorro's key layout (SOCORRO-REFERENCE §1.8), checked on the objects a
/// [`KeyedCrashStorage`] over `store` writes.
pub async fn run_layout(store: Arc<dyn ObjectStore>) {
    let storage = KeyedCrashStorage::new(store.clone());
    let day = random_day();
    let id = new_id(day);
    let raw = sample_raw(&id);
    storage
        .save_raw_crash(&id, &raw, &sample_dumps())
        .await
        .unwrap();

    let date = day.format("%Y%m%d").to_string();
    let expected = [
        (format!("v1/raw_crash/{date}/{id}"), None),
        (format!("v1/dump_names/{id}"), None),
        (
            format!("v1/dump/{id}"),
            Some(&b"MDMP\x93\xa7\x00\x00main\xff\x00"[..]),
        ),
        (
            format!("v1/upload_file_minidump_browser/{id}"),
            Some(&b"MDMP browser"[..]),
        ),
        (
            format!("v1/memory_report/{id}"),
            Some(&b"\x1f\x8b gzipped json"[..]),
        ),
    ];
    for (key, content) in &expected {
        let got = store
            .get(key)
            .await
            .unwrap_or_else(|e| panic!("{key} missing: {e}"));
        if let Some(content) = content {
            assert_eq!(&got[..], *content, "content of {key}");
        }
    }
    assert!(
        !store
            .exists(&format!("v1/upload_file_minidump/{id}"))
            .await
            .unwrap(),
        "main dump must be stored as v1/dump"
    );

    // dump_names: the names as sent, sorted.
    let names: Value =
        serde_json::from_slice(&store.get(&format!("v1/dump_names/{id}")).await.unwrap()).unwrap();
    assert_eq!(
        names,
        json!([
            "memory_report",
            "upload_file_minidump",
            "upload_file_minidump_browser"
        ])
    );

    // raw crash: the same object, keys sorted at every level.
    let stored = store
        .get(&format!("v1/raw_crash/{date}/{id}"))
        .await
        .unwrap();
    let text = std::str::from_utf8(&stored).unwrap();
    let parsed: Value = serde_json::from_str(text).unwrap();
    assert_eq!(parsed, Value::Object(raw.0.clone()));
    let top_keys: Vec<&str> = raw
        .0
        .keys()
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let positions: Vec<usize> = top_keys
        .iter()
        .map(|k| {
            text.find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k} not in {text}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "raw crash keys not sorted: {text}"
    );
    let nested = text.find("\"ZZZ_unknown_nested\"").unwrap();
    let (a, z) = (
        text[nested..].find("\"a\":\"x\"").unwrap(),
        text[nested..].find("\"z\":").unwrap(),
    );
    assert!(a < z, "nested keys not sorted: {text}");

    // No dumps: dump_names is still written, as [].
    let bare = new_id(day);
    storage
        .save_raw_crash(&bare, &sample_raw(&bare), &DumpSet::new())
        .await
        .unwrap();
    let names: Value =
        serde_json::from_slice(&store.get(&format!("v1/dump_names/{bare}")).await.unwrap())
            .unwrap();
    assert_eq!(names, json!([]));

    // Processed crash key.
    storage
        .save_processed_crash(&id, &json!({"uuid": id.as_str(), "b": 1, "a": 2}))
        .await
        .unwrap();
    let processed = store
        .get(&format!("v1/processed_crash/{id}"))
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&processed).unwrap(),
        json!({"uuid": id.as_str(), "b": 1, "a": 2})
    );

    // Every object of the crash, and nothing else under the id.
    let mut found = Vec::new();
    for k in store.list("v1/").await.unwrap() {
        if k.ends_with(id.as_str()) {
            found.push(k);
        }
    }
    let mut want: Vec<String> = expected.iter().map(|(k, _)| k.clone()).collect();
    want.push(format!("v1/processed_crash/{id}"));
    want.sort();
    assert_eq!(found, want);

    storage.delete_crash(&id).await.unwrap();
    storage.delete_crash(&bare).await.unwrap();
    for k in store.list("v1/").await.unwrap() {
        assert!(
            !k.ends_with(id.as_str()) && !k.ends_with(bare.as_str()),
            "{k} left after delete_crash"
        );
    }
}

/// The whole [`CrashStorage`] contract.
pub async fn run_all(storage: &dyn CrashStorage) {
    assert!(!storage.describe().is_empty(), "describe() is empty");
    raw_crash_round_trip(storage).await;
    dumps_round_trip(storage).await;
    crash_without_dumps(storage).await;
    processed_crash(storage).await;
    not_found_errors(storage).await;
    list_by_day(storage).await;
    delete(storage).await;
    bad_dump_names(storage).await;
    large_dump(storage).await;
    concurrent_saves(storage).await;
    storage.check_health().await.unwrap();
}

async fn raw_crash_round_trip(storage: &dyn CrashStorage) {
    let id = new_id(random_day());
    assert!(
        !storage.raw_crash_exists(&id).await.unwrap(),
        "exists before save"
    );
    let raw = sample_raw(&id);
    storage
        .save_raw_crash(&id, &raw, &DumpSet::new())
        .await
        .unwrap();
    assert!(
        storage.raw_crash_exists(&id).await.unwrap(),
        "exists after save"
    );
    let back = storage.load_raw_crash(&id).await.unwrap();
    assert_eq!(back, raw, "raw crash changed in storage");
    assert_eq!(back.get_str("Comments"), raw.get_str("Comments"));
    assert_eq!(
        back.get("BigNumber"),
        Some(&json!(9_007_199_254_740_993_u64))
    );

    // Saving again replaces it.
    let mut changed = raw.clone();
    changed.insert("Version", "146.0");
    changed.remove("EmptyString");
    storage
        .save_raw_crash(&id, &changed, &DumpSet::new())
        .await
        .unwrap();
    assert_eq!(storage.load_raw_crash(&id).await.unwrap(), changed);
    storage.delete_crash(&id).await.unwrap();
}

async fn dumps_round_trip(storage: &dyn CrashStorage) {
    let id = new_id(random_day());
    let dumps = sample_dumps();
    storage
        .save_raw_crash(&id, &sample_raw(&id), &dumps)
        .await
        .unwrap();
    assert_eq!(
        storage.load_dump_names(&id).await.unwrap(),
        vec![
            "memory_report",
            "upload_file_minidump",
            "upload_file_minidump_browser"
        ]
    );
    for (name, data) in dumps.iter() {
        assert_eq!(
            &storage.load_dump(&id, name).await.unwrap(),
            data,
            "dump {name}"
        );
    }
    // The main dump is also reachable by its storage name.
    assert_eq!(
        storage.load_dump(&id, "dump").await.unwrap(),
        dumps.get("upload_file_minidump").unwrap()
    );
    assert_eq!(storage.load_dumps(&id).await.unwrap(), dumps);
    assert_not_found(
        storage.load_dump(&id, "upload_file_minidump_content").await,
        "missing dump",
    );
    storage.delete_crash(&id).await.unwrap();
}

async fn crash_without_dumps(storage: &dyn CrashStorage) {
    let id = new_id(random_day());
    storage
        .save_raw_crash(&id, &sample_raw(&id), &DumpSet::new())
        .await
        .unwrap();
    assert_eq!(
        storage.load_dump_names(&id).await.unwrap(),
        Vec::<String>::new()
    );
    assert!(storage.load_dumps(&id).await.unwrap().is_empty());
    storage.delete_crash(&id).await.unwrap();
}

async fn processed_crash(storage: &dyn CrashStorage) {
    let id = new_id(random_day());
    assert!(!storage.processed_crash_exists(&id).await.unwrap());
    assert_not_found(
        storage.load_processed_crash(&id).await,
        "missing processed crash",
    );
    let first = json!({"uuid": id.as_str(), "signature": "OOM | small", "json_dump": {"threads": [[1, 2]]}});
    storage.save_processed_crash(&id, &first).await.unwrap();
    assert!(storage.processed_crash_exists(&id).await.unwrap());
    assert_eq!(storage.load_processed_crash(&id).await.unwrap(), first);
    let second = json!({"uuid": id.as_str(), "signature": "js::GCMarker"});
    storage.save_processed_crash(&id, &second).await.unwrap();
    assert_eq!(
        storage.load_processed_crash(&id).await.unwrap(),
        second,
        "processed crash not replaced"
    );
    assert_invalid(
        storage.save_processed_crash(&id, &json!([1, 2])).await,
        "non-object processed crash",
    );
    assert_eq!(storage.load_processed_crash(&id).await.unwrap(), second);
    // A processed crash alone does not make a raw crash.
    assert!(!storage.raw_crash_exists(&id).await.unwrap());
    storage.delete_crash(&id).await.unwrap();
}

async fn not_found_errors(storage: &dyn CrashStorage) {
    let id = new_id(random_day());
    assert_not_found(storage.load_raw_crash(&id).await, "load_raw_crash");
    assert_not_found(storage.load_dump_names(&id).await, "load_dump_names");
    assert_not_found(
        storage.load_dump(&id, "upload_file_minidump").await,
        "load_dump",
    );
    assert_not_found(storage.load_dumps(&id).await, "load_dumps");
    assert_not_found(
        storage.load_processed_crash(&id).await,
        "load_processed_crash",
    );
    assert!(!storage.raw_crash_exists(&id).await.unwrap());
    assert!(!storage.processed_crash_exists(&id).await.unwrap());
}

async fn list_by_day(storage: &dyn CrashStorage) {
    let day = random_day();
    let next = day.succ_opt().unwrap();
    let mut ours: Vec<CrashId> = (0..3).map(|_| new_id(day)).collect();
    let other = new_id(next);
    for id in ours.iter().chain([&other]) {
        storage
            .save_raw_crash(id, &sample_raw(id), &DumpSet::new())
            .await
            .unwrap();
    }
    ours.sort();
    let listed = storage.list_raw_crash_ids(day).await.unwrap();
    assert!(
        listed.windows(2).all(|w| w[0] < w[1]),
        "ids not sorted: {listed:?}"
    );
    let mine: Vec<CrashId> = listed
        .iter()
        .filter(|id| ours.contains(id))
        .cloned()
        .collect();
    assert_eq!(mine, ours, "list_raw_crash_ids({day})");
    assert!(
        !listed.contains(&other),
        "an id of {next} listed under {day}"
    );
    assert!(
        storage
            .list_raw_crash_ids(next)
            .await
            .unwrap()
            .contains(&other)
    );
    for id in ours.iter().chain([&other]) {
        storage.delete_crash(id).await.unwrap();
    }
    let listed = storage.list_raw_crash_ids(day).await.unwrap();
    assert!(
        ours.iter().all(|id| !listed.contains(id)),
        "deleted ids still listed"
    );
}

async fn delete(storage: &dyn CrashStorage) {
    let id = new_id(random_day());
    storage
        .save_raw_crash(&id, &sample_raw(&id), &sample_dumps())
        .await
        .unwrap();
    storage
        .save_processed_crash(&id, &json!({"uuid": id.as_str()}))
        .await
        .unwrap();
    storage.delete_crash(&id).await.unwrap();
    assert!(!storage.raw_crash_exists(&id).await.unwrap());
    assert!(!storage.processed_crash_exists(&id).await.unwrap());
    assert_not_found(
        storage.load_dump_names(&id).await,
        "dump names after delete",
    );
    for name in sample_dumps().names() {
        assert_not_found(storage.load_dump(&id, name).await, "dump after delete");
    }
    // Deleting what is already gone is fine.
    storage.delete_crash(&id).await.unwrap();
}

async fn bad_dump_names(storage: &dyn CrashStorage) {
    for bad in [
        &["raw_crash"][..],
        &["dump_names"],
        &["processed_crash"],
        &["a/b"],
        &[".."],
        &[".hidden"],
        &["upload_file_minidump", "dump"],
        &["", "upload_file_minidump"],
    ] {
        let id = new_id(random_day());
        let mut dumps = DumpSet::new();
        dumps.insert("memory_report", Bytes::from_static(b"m"));
        for name in bad {
            dumps.insert(*name, Bytes::from_static(b"evil"));
        }
        assert_invalid(
            storage.save_raw_crash(&id, &sample_raw(&id), &dumps).await,
            &format!("dump names {bad:?}"),
        );
        assert!(
            !storage.raw_crash_exists(&id).await.unwrap(),
            "{bad:?}: raw crash written"
        );
        assert_not_found(
            storage.load_dump_names(&id).await,
            &format!("{bad:?}: dump names written"),
        );
        assert_not_found(
            storage.load_dump(&id, "memory_report").await,
            &format!("{bad:?}: dump written"),
        );
    }
    let id = new_id(random_day());
    assert_invalid(
        storage.load_dump(&id, "processed_crash").await,
        "load_dump of a reserved name",
    );
}

async fn large_dump(storage: &dyn CrashStorage) {
    let id = new_id(random_day());
    let big = random_bytes(5 * 1024 * 1024);
    let mut dumps = DumpSet::new();
    dumps.insert("upload_file_minidump", big.clone());
    storage
        .save_raw_crash(&id, &sample_raw(&id), &dumps)
        .await
        .unwrap();
    let back = storage
        .load_dump(&id, "upload_file_minidump")
        .await
        .unwrap();
    assert_eq!(back.len(), big.len());
    assert!(back == big, "5 MB dump changed in storage");
    storage.delete_crash(&id).await.unwrap();
}

async fn concurrent_saves(storage: &dyn CrashStorage) {
    let day = random_day();
    let crashes: Vec<(CrashId, DumpSet)> = (0..50)
        .map(|i| {
            let mut dumps = DumpSet::new();
            dumps.insert("upload_file_minidump", random_bytes(1000 + i * 37));
            if i % 3 == 0 {
                dumps.insert("upload_file_minidump_content", random_bytes(100));
            }
            (new_id(day), dumps)
        })
        .collect();
    let saves = crashes.iter().map(|(id, dumps)| async move {
        let mut raw = sample_raw(id);
        raw.insert("uuid", id.as_str());
        storage.save_raw_crash(id, &raw, dumps).await
    });
    for result in futures_util::future::join_all(saves).await {
        result.unwrap();
    }
    let listed = storage.list_raw_crash_ids(day).await.unwrap();
    for (id, dumps) in &crashes {
        assert!(listed.contains(id), "{id} not listed");
        assert_eq!(
            storage.load_raw_crash(id).await.unwrap().get_str("uuid"),
            Some(id.as_str())
        );
        assert_eq!(
            &storage.load_dumps(id).await.unwrap(),
            dumps,
            "dumps of {id}"
        );
    }
    for (id, _) in &crashes {
        storage.delete_crash(id).await.unwrap();
    }
}
