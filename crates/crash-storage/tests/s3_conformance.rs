//! The conformance suites on the S3 backend, against a real S3 server (Ceph
//! RADOS Gateway from `scripts/s3-test.sh start`), plus what only S3 shows:
//! multipart uploads, objects written by another S3 client (Antenna),
//! pagination, and how credentials, bucket and network failures classify.
//!
//! Needs `SOCORRO_TEST_S3_ENDPOINT`, `SOCORRO_TEST_S3_ACCESS_KEY`,
//! `SOCORRO_TEST_S3_SECRET_KEY` (and optionally `SOCORRO_TEST_S3_REGION`).
//! Without them every test FAILS, telling how to start the server. Each test
//! works in a bucket of its own, created at its start and deleted at its end.

// Test helpers outside #[test] functions panic on failure too.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "s3")]

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::NaiveDate;
use crash_storage::config::{StorageBackend, StorageConfig, build};
use crash_storage::s3::sdk;
use crash_storage::{
    CrashId, CrashStorage, DumpSet, KeyedCrashStorage, ObjectStore, RawCrash, RetryPolicy,
    S3Config, S3ObjectStore, StorageError, conformance,
};
use rand::Rng;
use sdk::primitives::ByteStream;

const MIB: usize = 1024 * 1024;
const SOCORRO_ID: &str = "de1bb258-cbbf-4589-a673-34f800160918";

/// The test server's address and keys, from the environment.
struct TestServer {
    endpoint: String,
    access_key: String,
    secret_key: String,
    region: String,
}

fn server() -> TestServer {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let hint = "start the test S3 server (Ceph RGW) with `eval \"$(scripts/s3-test.sh start)\"`, \
                or run `make setup` and then `source scripts/test-env.sh` (`make test` does both)";
    let Some(endpoint) = var("SOCORRO_TEST_S3_ENDPOINT") else {
        panic!("SOCORRO_TEST_S3_ENDPOINT is not set: {hint}");
    };
    let need = |name: &str| var(name).unwrap_or_else(|| panic!("{name} is not set: {hint}"));
    TestServer {
        endpoint,
        access_key: need("SOCORRO_TEST_S3_ACCESS_KEY"),
        secret_key: need("SOCORRO_TEST_S3_SECRET_KEY"),
        region: var("SOCORRO_TEST_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
    }
}

fn config(server: &TestServer, bucket: &str) -> S3Config {
    S3Config {
        bucket: bucket.to_owned(),
        region: server.region.clone(),
        endpoint_url: Some(server.endpoint.clone()),
        force_path_style: Some(true),
        access_key_id: Some(server.access_key.clone()),
        secret_access_key: Some(server.secret_key.clone()),
        ..S3Config::default()
    }
}

fn random_name(what: &str) -> String {
    format!("socorro-{what}-{:016x}", rand::rng().random::<u64>())
}

/// A bucket of one test, created on the test server; [`TestBucket::delete`]
/// empties and removes it.
struct TestBucket {
    server: TestServer,
    name: String,
    client: sdk::Client,
}

impl TestBucket {
    async fn new() -> Self {
        let server = server();
        let name = random_name("test");
        let store = S3ObjectStore::new(&config(&server, &name)).unwrap();
        let client = store.client().clone();
        client
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "creating bucket {name} at {}: {}",
                    server.endpoint,
                    sdk::error::DisplayErrorContext(&e)
                )
            });
        Self {
            server,
            name,
            client,
        }
    }

    fn config(&self) -> S3Config {
        config(&self.server, &self.name)
    }

    fn store(&self) -> S3ObjectStore {
        S3ObjectStore::new(&self.config()).unwrap()
    }

    /// Every key in the bucket, as S3 lists it.
    async fn raw_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for object in page.unwrap().contents() {
                keys.push(object.key().unwrap().to_owned());
            }
        }
        keys
    }

    /// Upload ids of multipart uploads not completed nor aborted.
    async fn open_uploads(&self) -> Vec<String> {
        let out = self
            .client
            .list_multipart_uploads()
            .bucket(&self.name)
            .send()
            .await
            .unwrap();
        out.uploads()
            .iter()
            .map(|u| u.upload_id().unwrap_or_default().to_owned())
            .collect()
    }

    async fn raw_put(&self, key: &str, data: &[u8]) {
        self.client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .body(ByteStream::from(data.to_vec()))
            .send()
            .await
            .unwrap();
    }

    async fn delete(self) {
        for upload in self
            .client
            .list_multipart_uploads()
            .bucket(&self.name)
            .send()
            .await
            .unwrap()
            .uploads()
        {
            self.client
                .abort_multipart_upload()
                .bucket(&self.name)
                .key(upload.key().unwrap())
                .upload_id(upload.upload_id().unwrap())
                .send()
                .await
                .unwrap();
        }
        for key in self.raw_keys().await {
            self.client
                .delete_object()
                .bucket(&self.name)
                .key(key)
                .send()
                .await
                .unwrap();
        }
        self.client
            .delete_bucket()
            .bucket(&self.name)
            .send()
            .await
            .unwrap();
    }
}

fn random_bytes(len: usize) -> Bytes {
    let mut data = vec![0u8; len];
    rand::rng().fill(&mut data[..]);
    Bytes::from(data)
}

#[track_caller]
fn assert_permanent_naming_bucket(err: &StorageError, bucket: &str, words: &str) {
    assert!(
        matches!(err, StorageError::Permanent { .. }),
        "expected a permanent error, got {err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains(bucket),
        "message does not name {bucket}: {shown}"
    );
    assert!(
        shown.contains(words),
        "message does not say {words:?}: {shown}"
    );
}

#[tokio::test]
async fn object_store_conforms() {
    let bucket = TestBucket::new().await;
    conformance::run_object_store(&bucket.store()).await;
    assert_eq!(
        bucket.raw_keys().await,
        Vec::<String>::new(),
        "objects left"
    );
    bucket.delete().await;
}

#[tokio::test]
async fn object_store_conforms_under_a_prefix() {
    let bucket = TestBucket::new().await;
    let cfg = S3Config {
        prefix: "/socorro/stage/".into(),
        ..bucket.config()
    };
    let store = S3ObjectStore::new(&cfg).unwrap();
    assert_eq!(
        store.describe(),
        format!("s3://{}/socorro/stage/", bucket.name)
    );
    conformance::run_object_store(&store).await;

    // Keys live under the prefix, and only keys under it are listed.
    store
        .put("v1/dump/x", Bytes::from_static(b"x"))
        .await
        .unwrap();
    bucket.raw_put("v1/dump/outside", b"not ours").await;
    bucket.raw_put("socorro/other/v1/dump/y", b"nor this").await;
    let mut raw = bucket.raw_keys().await;
    raw.sort();
    assert_eq!(
        raw,
        vec![
            "socorro/other/v1/dump/y",
            "socorro/stage/v1/dump/x",
            "v1/dump/outside"
        ]
    );
    assert_eq!(store.list("v1/").await.unwrap(), vec!["v1/dump/x"]);
    assert_eq!(store.list("").await.unwrap(), vec!["v1/dump/x"]);
    assert!(
        store
            .get("v1/dump/outside")
            .await
            .unwrap_err()
            .is_not_found()
    );
    bucket.delete().await;
}

#[tokio::test]
async fn layout_conforms() {
    let bucket = TestBucket::new().await;
    let store: Arc<dyn ObjectStore> = Arc::new(bucket.store());
    conformance::run_layout(store).await;
    bucket.delete().await;
}

#[tokio::test]
async fn crash_storage_conforms() {
    let bucket = TestBucket::new().await;
    conformance::run_all(&KeyedCrashStorage::new(Arc::new(bucket.store()))).await;
    assert_eq!(bucket.open_uploads().await, Vec::<String>::new());
    bucket.delete().await;
}

#[tokio::test]
async fn built_storage_conforms() {
    // What services get from SOCORRO_STORAGE__BACKEND=s3:
    // Retrying(KeyedCrashStorage(S3ObjectStore)).
    let bucket = TestBucket::new().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = StorageConfig {
        backend: StorageBackend::S3,
        s3: bucket.config(),
        ..Default::default()
    };
    let storage = build(&cfg, dir.path()).unwrap();
    assert_eq!(storage.describe(), format!("s3://{}/", bucket.name));
    storage.check_health().await.unwrap();
    conformance::run_all(storage.as_ref()).await;
    // Nothing was written locally.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    bucket.delete().await;
}

#[tokio::test]
async fn multipart_upload_round_trips_byte_identical() {
    let bucket = TestBucket::new().await;
    let cfg = S3Config {
        multipart_threshold_bytes: 5 * MIB as u64,
        multipart_part_size_bytes: 5 * MIB as u64,
        ..bucket.config()
    };
    let store = S3ObjectStore::new(&cfg).unwrap();

    // 12 MiB + 3 bytes: parts of 5, 5 and 2 MiB + 3 bytes.
    let big = random_bytes(12 * MIB + 3);
    store.put("v1/dump/big", big.clone()).await.unwrap();
    let back = store.get("v1/dump/big").await.unwrap();
    assert_eq!(back.len(), big.len());
    assert!(back == big, "multipart object changed in storage");
    // A multipart object's ETag is `"<md5 of the part md5s>-<parts>"`.
    let head = bucket
        .client
        .head_object()
        .bucket(&bucket.name)
        .key("v1/dump/big")
        .send()
        .await
        .unwrap();
    let etag = head.e_tag().unwrap().trim_matches('"').to_owned();
    assert!(etag.ends_with("-3"), "not a 3-part upload: ETag {etag}");
    assert_eq!(head.content_length(), Some(big.len() as i64));

    // Exactly the threshold: one PutObject.
    let at = random_bytes(5 * MIB);
    store.put("v1/dump/at", at.clone()).await.unwrap();
    assert!(store.get("v1/dump/at").await.unwrap() == at);
    let head = bucket
        .client
        .head_object()
        .bucket(&bucket.name)
        .key("v1/dump/at")
        .send()
        .await
        .unwrap();
    assert!(!head.e_tag().unwrap().contains('-'), "{:?}", head.e_tag());

    // Replacing a multipart object with a small one, and through put_many.
    store
        .put("v1/dump/big", Bytes::from_static(b"small"))
        .await
        .unwrap();
    assert_eq!(store.get("v1/dump/big").await.unwrap().as_ref(), b"small");
    let other = random_bytes(6 * MIB);
    store
        .put_many(vec![
            ("v1/a/1".into(), other.clone()),
            ("v1/a/2".into(), Bytes::from_static(b"2")),
        ])
        .await
        .unwrap();
    assert!(store.get("v1/a/1").await.unwrap() == other);
    assert_eq!(bucket.open_uploads().await, Vec::<String>::new());
    bucket.delete().await;
}

#[tokio::test]
async fn failed_multipart_upload_is_aborted() {
    // Parts below S3's 5 MiB minimum upload fine, but completing the upload
    // fails (EntityTooSmall): the store must abort it, leaving no parts.
    let bucket = TestBucket::new().await;
    let store = S3ObjectStore::from_client(
        bucket.client.clone(),
        bucket.name.clone(),
        "",
        MIB as u64,
        MIB as u64,
    );
    let err = store
        .put("v1/dump/too-small-parts", random_bytes(3 * MIB))
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("multipart"), "{err}");
    assert_eq!(bucket.open_uploads().await, Vec::<String>::new());
    assert!(!store.exists("v1/dump/too-small-parts").await.unwrap());
    bucket.delete().await;
}

#[tokio::test]
async fn reads_objects_written_by_antenna() {
    // Objects put by another S3 client with Antenna's keys and Python's
    // json.dumps spacing load through KeyedCrashStorage.
    let bucket = TestBucket::new().await;
    bucket
        .raw_put(
            &format!("v1/raw_crash/20160918/{SOCORRO_ID}"),
            br#"{"ProductName": "Firefox", "uuid": "de1bb258-cbbf-4589-a673-34f800160918"}"#,
        )
        .await;
    bucket
        .raw_put(
            &format!("v1/dump_names/{SOCORRO_ID}"),
            br#"["upload_file_minidump", "memory_report"]"#,
        )
        .await;
    bucket
        .raw_put(&format!("v1/dump/{SOCORRO_ID}"), b"MDMP\x00\xff")
        .await;
    bucket
        .raw_put(&format!("v1/memory_report/{SOCORRO_ID}"), b"mem")
        .await;
    let storage = KeyedCrashStorage::new(Arc::new(bucket.store()));
    let id = CrashId::parse(SOCORRO_ID).unwrap();
    assert!(storage.raw_crash_exists(&id).await.unwrap());
    let raw = storage.load_raw_crash(&id).await.unwrap();
    assert_eq!(raw.get_str("ProductName"), Some("Firefox"));
    let dumps = storage.load_dumps(&id).await.unwrap();
    assert_eq!(
        dumps.names().collect::<Vec<_>>(),
        vec!["memory_report", "upload_file_minidump"]
    );
    assert_eq!(
        dumps.get("upload_file_minidump").unwrap().as_ref(),
        b"MDMP\x00\xff"
    );
    let day = NaiveDate::from_ymd_opt(2016, 9, 18).unwrap();
    assert_eq!(
        storage.list_raw_crash_ids(day).await.unwrap(),
        vec![id.clone()]
    );

    // And what we write, Antenna's readers find under the same keys.
    let mut raw = RawCrash::new();
    raw.insert("uuid", SOCORRO_ID);
    let mut dumps = DumpSet::new();
    dumps.insert("upload_file_minidump", Bytes::from_static(b"MDMP new"));
    storage.save_raw_crash(&id, &raw, &dumps).await.unwrap();
    let mut keys = bucket.raw_keys().await;
    keys.sort();
    assert_eq!(
        keys,
        vec![
            format!("v1/dump/{SOCORRO_ID}"),
            format!("v1/dump_names/{SOCORRO_ID}"),
            format!("v1/memory_report/{SOCORRO_ID}"),
            format!("v1/raw_crash/20160918/{SOCORRO_ID}"),
        ]
    );
    let got = bucket
        .client
        .get_object()
        .bucket(&bucket.name)
        .key(format!("v1/raw_crash/20160918/{SOCORRO_ID}"))
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(
        got.as_ref(),
        br#"{"uuid":"de1bb258-cbbf-4589-a673-34f800160918"}"#
    );
    bucket.delete().await;
}

#[tokio::test]
async fn list_follows_continuation_tokens() {
    let bucket = TestBucket::new().await;
    let store = bucket.store().with_list_page_size(2);
    let mut want = Vec::new();
    for i in (0..7).rev() {
        let key = format!("list/k{i}");
        store.put(&key, Bytes::from(vec![i as u8])).await.unwrap();
        want.push(key);
    }
    store.put("listing/not-below", Bytes::new()).await.unwrap();
    // Keys another writer stored that this crate refuses are skipped.
    bucket.raw_put("list/a//b", b"x").await;
    bucket.raw_put("list/.hidden", b"x").await;
    want.sort();
    assert_eq!(store.list("list/").await.unwrap(), want);
    let mut with_partial = want.clone();
    with_partial.push("listing/not-below".into());
    assert_eq!(store.list("list").await.unwrap(), with_partial);
    bucket.delete().await;
}

#[tokio::test]
async fn wrong_credentials_are_permanent_and_name_the_bucket() {
    let bucket = TestBucket::new().await;
    for (what, cfg) in [
        (
            "wrong secret",
            S3Config {
                secret_access_key: Some("not-the-secret-key-0000000000000000000000".into()),
                ..bucket.config()
            },
        ),
        (
            "unknown key id",
            S3Config {
                access_key_id: Some("NOSUCHACCESSKEY00000".into()),
                ..bucket.config()
            },
        ),
    ] {
        let store = S3ObjectStore::new(&cfg).unwrap();
        let err = store
            .put("v1/dump/x", Bytes::from_static(b"x"))
            .await
            .unwrap_err();
        assert_permanent_naming_bucket(&err, &bucket.name, "denied");
        let err = store.get("v1/dump/x").await.unwrap_err();
        assert_permanent_naming_bucket(&err, &bucket.name, "denied");
        let err = store.check_health().await.unwrap_err();
        assert!(!err.is_transient(), "{what}: {err:?}");
        // The secret never appears in what is shown.
        assert!(
            !format!("{err:?}").contains("not-the-secret-key"),
            "{err:?}"
        );

        // Through build(): Retrying gives up at once on a permanent error.
        let storage = build(
            &StorageConfig {
                backend: StorageBackend::S3,
                s3: cfg,
                ..Default::default()
            },
            std::path::Path::new("/nonexistent"),
        )
        .unwrap();
        let started = Instant::now();
        let err = storage
            .load_raw_crash(&CrashId::parse(SOCORRO_ID).unwrap())
            .await
            .unwrap_err();
        assert_permanent_naming_bucket(&err, &bucket.name, "denied");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{what}: retried?"
        );
    }
    bucket.delete().await;
}

#[tokio::test]
async fn missing_bucket_is_permanent_and_named() {
    let server = server();
    let name = random_name("missing");
    let store = S3ObjectStore::new(&config(&server, &name)).unwrap();
    let err = store
        .put("v1/dump/x", Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_permanent_naming_bucket(&err, &name, "does not exist");
    let err = store.list("v1/").await.unwrap_err();
    assert_permanent_naming_bucket(&err, &name, "does not exist");
    let err = store.check_health().await.unwrap_err();
    assert_permanent_naming_bucket(&err, &name, "does not exist");
}

/// An address nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn unreachable_endpoint_is_transient_and_quick() {
    let server = server();
    let cfg = S3Config {
        endpoint_url: Some(format!("http://127.0.0.1:{}", closed_port())),
        ..config(&server, "socorro-unreachable")
    };
    let store = S3ObjectStore::new(&cfg).unwrap();
    let started = Instant::now();
    let err = store.get("v1/dump/x").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("could not reach"), "{err}");
    let err = store
        .put("v1/dump/x", Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(!store.check_health().await.unwrap_err().is_not_found());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    // Through build(): a bounded number of retries, then the transient error.
    let storage = build(
        &StorageConfig {
            backend: StorageBackend::S3,
            s3: cfg,
            retry: RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(50),
            },
            ..Default::default()
        },
        std::path::Path::new("/nonexistent"),
    )
    .unwrap();
    let started = Instant::now();
    let err = storage
        .raw_crash_exists(&CrashId::parse(SOCORRO_ID).unwrap())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn silent_endpoint_times_out_as_transient() {
    // A server that accepts connections and never answers: the request
    // timeout ends the call instead of hanging.
    let server = server();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().take(2) {
            let mut conn = conn.unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            held.push(conn);
        }
        std::thread::sleep(Duration::from_secs(10));
    });
    let cfg = S3Config {
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        request_timeout_ms: 500,
        connect_timeout_ms: 500,
        ..config(&server, "socorro-silent")
    };
    let store = S3ObjectStore::new(&cfg).unwrap();
    let started = Instant::now();
    let err = store.get("v1/dump/x").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    let err = store
        .put("v1/dump/x", Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    drop(silent);
}

#[tokio::test]
async fn default_credential_chain_is_used_without_static_keys() {
    // Without static keys the store asks the AWS default chain, which reads
    // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY first. Environment variables
    // cannot be set safely in a running test, so this test runs itself again
    // in a child process with them set.
    let server = server();
    if std::env::var("AWS_ACCESS_KEY_ID").ok().as_deref() != Some(server.access_key.as_str()) {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "default_credential_chain_is_used_without_static_keys",
                "--exact",
                "--nocapture",
            ])
            .env("AWS_ACCESS_KEY_ID", &server.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &server.secret_key)
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap();
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "child test failed:\n{shown}");
        assert!(
            shown.contains("1 passed"),
            "child test did not run:\n{shown}"
        );
        return;
    }
    let bucket = TestBucket::new().await;
    let cfg = S3Config {
        access_key_id: None,
        secret_access_key: None,
        ..bucket.config()
    };
    let store = S3ObjectStore::new(&cfg).unwrap();
    store.check_health().await.unwrap();
    store
        .put("v1/dump/x", Bytes::from_static(b"chain"))
        .await
        .unwrap();
    assert_eq!(store.get("v1/dump/x").await.unwrap().as_ref(), b"chain");
    bucket.delete().await;
}
