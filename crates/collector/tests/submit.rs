//! `/submit` over real HTTP against real embedded backends: real dumps,
//! gzip, limits, hostile names, metadata, failures and health endpoints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use collector::CollectorSettings;
use collector::client::Submission;
use common::{Harness, crash_id_from_body, testdata};
use crash_queue::{CrashQueue, Lease, Message, QueueError, QueueName, SqliteQueue};
use sha2::{Digest, Sha256};

async fn post(
    url: &str,
    sub: &Submission,
    gzip: bool,
) -> (u16, String, reqwest::header::HeaderMap) {
    let body = if gzip { sub.gzipped_body() } else { sub.body() };
    let mut req = reqwest::Client::new()
        .post(format!("{url}/submit"))
        .header("Content-Type", sub.content_type())
        .header("User-Agent", "Breakpad/1.0 (Linux)");
    if gzip {
        req = req.header("Content-Encoding", "gzip");
    }
    let resp = req.body(body).send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, resp.text().await.unwrap(), headers)
}

fn real_dump() -> Vec<u8> {
    std::fs::read(testdata("rust-minidump/testdata/linux-mini.dmp")).unwrap()
}

#[tokio::test]
async fn real_dump_is_stored_under_socorros_keys_and_queued() {
    let h = Harness::new(CollectorSettings::default()).await;
    let (url, _stop) = h.spawn_server().await;
    let dump = real_dump();
    let sub = Submission::new()
        .annotation("ProductName", "Firefox")
        .annotation("Version", "120.0")
        .dump("upload_file_minidump", dump.clone());
    let (status, body, headers) = post(&url, &sub, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "text/plain");
    assert!(body.ends_with('\n'));
    let id = crash_id_from_body(&body);
    assert_eq!(id.throttle_char(), '0');
    assert_eq!(id.date(), chrono::Utc::now().date_naive());

    let root = h.crashes_root();
    let day = id.date_key();
    let raw_path = root.join(format!("v1/raw_crash/{day}/{id}"));
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&raw_path).unwrap()).unwrap();
    assert_eq!(
        std::fs::read(root.join(format!("v1/dump/{id}"))).unwrap(),
        dump
    );
    assert_eq!(
        std::fs::read_to_string(root.join(format!("v1/dump_names/{id}"))).unwrap(),
        r#"["upload_file_minidump"]"#
    );
    // Antenna's metadata.
    assert_eq!(raw["ProductName"], "Firefox");
    assert_eq!(raw["Version"], "120.0");
    assert_eq!(raw["uuid"], id.to_string());
    assert_eq!(raw["version"], 2);
    let ts = raw["submitted_timestamp"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.ends_with("+00:00"),
        "{ts}"
    );
    let meta = &raw["metadata"];
    assert_eq!(meta["payload"], "multipart");
    assert_eq!(meta["payload_compressed"], "0");
    assert_eq!(meta["payload_size"], sub.body().len());
    assert_eq!(meta["user_agent"], "Breakpad/1.0 (Linux)");
    assert_eq!(meta["throttle_rule"], "accept_everything");
    assert_eq!(meta["collector_notes"], serde_json::json!([]));
    assert_eq!(
        meta["dump_checksums"]["upload_file_minidump"],
        hex::encode(Sha256::digest(&dump))
    );
    // Stored JSON has sorted keys, like json.dumps(sort_keys=True).
    let text = std::fs::read_to_string(&raw_path).unwrap();
    assert!(text.find("\"ProductName\"").unwrap() < text.find("\"Version\"").unwrap());
    assert!(text.find("\"metadata\"").unwrap() < text.find("\"submitted_timestamp\"").unwrap());

    assert_eq!(h.queued_ids().await, vec![id.to_string()]);
}

#[tokio::test]
async fn gzip_body_is_accepted_and_recorded() {
    let h = Harness::new(CollectorSettings::default()).await;
    let (url, _stop) = h.spawn_server().await;
    let sub = Submission::new()
        .annotation("ProductName", "Test")
        .dump("upload_file_minidump", real_dump());
    let (status, body, _) = post(&url, &sub, true).await;
    assert_eq!(status, 200, "{body}");
    let raw = h
        .storage
        .load_raw_crash(&crash_id_from_body(&body))
        .await
        .unwrap();
    assert_eq!(raw.metadata().unwrap()["payload_compressed"], "1");
    assert_eq!(
        raw.metadata().unwrap()["payload_size"],
        sub.gzipped_body().len()
    );
}

#[tokio::test]
async fn gzip_bomb_is_refused_quickly_without_storing() {
    let settings = CollectorSettings {
        max_decompressed_bytes: 32 << 20,
        ..Default::default()
    };
    let h = Harness::new(settings).await;
    let (url, _stop) = h.spawn_server().await;
    // 1 GiB of zeros in a ~1 MB gzip body, sent as a normal submission.
    let sub = Submission::with_boundary("bomb")
        .annotation("ProductName", "Test")
        .dump("upload_file_minidump", vec![0u8; 64 << 20]);
    let plain = sub.body();
    let bomb = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        for _ in 0..16 {
            enc.write_all(&plain).unwrap();
        }
        enc.finish().unwrap()
    };
    assert!(bomb.len() < 2 << 20, "bomb is {} bytes", bomb.len());
    let started = Instant::now();
    let resp = reqwest::Client::new()
        .post(format!("{url}/submit"))
        .header("Content-Type", sub.content_type())
        .header("Content-Encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    assert_eq!(resp.text().await.unwrap(), "Discarded=too_large");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(h.queued_ids().await.is_empty());
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let settings = CollectorSettings {
        max_body_bytes: 10_000,
        ..Default::default()
    };
    let h = Harness::new(settings).await;
    let (url, _stop) = h.spawn_server().await;
    let sub = Submission::new()
        .annotation("ProductName", "Test")
        .dump("upload_file_minidump", vec![7u8; 20_000]);
    let (status, body, _) = post(&url, &sub, false).await;
    assert_eq!((status, body.as_str()), (413, "Discarded=too_large"));
    // Exactly at the limit is fine.
    let small = Submission::with_boundary("b").annotation("ProductName", "Test");
    let len = small.body().len();
    let settings = CollectorSettings {
        max_body_bytes: len,
        max_decompressed_bytes: len,
        ..Default::default()
    };
    let h2 = Harness::new(settings).await;
    let (url2, _stop2) = h2.spawn_server().await;
    let (status, body, _) = post(&url2, &small, false).await;
    assert_eq!(status, 200, "{body}");
    assert!(h.queued_ids().await.is_empty());
}

/// Crashpad sends `Transfer-Encoding: chunked` without a Content-Length (and
/// nginx de-chunks such uploads in front of Antenna): accepted, still capped.
#[tokio::test]
async fn chunked_uploads_are_accepted_and_capped() {
    let settings = CollectorSettings {
        max_body_bytes: 50_000,
        ..Default::default()
    };
    let h = Harness::new(settings).await;
    let (url, _stop) = h.spawn_server().await;
    let chunked = |body: Vec<u8>| {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(4096).map(|c| Ok(c.to_vec())).collect();
        reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
    };
    let sub = Submission::new()
        .annotation("ProductName", "Test")
        .dump("upload_file_minidump", vec![3u8; 20_000]);
    let resp = reqwest::Client::new()
        .post(format!("{url}/submit"))
        .header("Content-Type", sub.content_type())
        .body(chunked(sub.body()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let id = crash_id_from_body(&resp.text().await.unwrap());
    assert_eq!(
        h.storage
            .load_dump(&id, "upload_file_minidump")
            .await
            .unwrap()
            .len(),
        20_000
    );

    let big = Submission::new()
        .annotation("ProductName", "Test")
        .dump("upload_file_minidump", vec![3u8; 60_000]);
    let resp = reqwest::Client::new()
        .post(format!("{url}/submit"))
        .header("Content-Type", big.content_type())
        .body(chunked(big.body()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    assert_eq!(resp.text().await.unwrap(), "Discarded=too_large");

    let resp = reqwest::Client::new()
        .post(format!("{url}/submit"))
        .header("Content-Type", sub.content_type())
        .body(chunked(Vec::new()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(
        resp.text().await.unwrap(),
        "Discarded=malformed_no_content_length"
    );
    assert_eq!(h.queued_ids().await, vec![id.to_string()]);
}

/// The request as Crashpad's HTTPMultipartBuilder builds it and its libcurl /
/// WinHTTP transports send it: HTTP/1.1 `Transfer-Encoding: chunked`, a
/// gzipped body, form fields sorted by name, its
/// `---MultipartBoundary-<32 alnum>---` boundary and a `<uuid>.dmp` file part.
///
/// Crashpad's plain-socket transport sends the same body as HTTP/1.0 with
/// chunked encoding, which HTTP/1.0 does not allow; nginx in front of Antenna
/// refuses it with a 400 and so do we (request-smuggling protection).
#[tokio::test]
async fn crashpad_uploader_request_is_accepted_byte_for_byte() {
    use std::io::{Read, Write};
    let h = Harness::new(CollectorSettings::default()).await;
    let (url, _stop) = h.spawn_server().await;
    let addr = url.trim_start_matches("http://").to_owned();
    let dump = std::fs::read(testdata(
        "crashpad/chromeos-tast/chrome.20210706.000145.15087.8090.dmp",
    ))
    .unwrap();
    let boundary = "---MultipartBoundary-0aZ9bY8cX7dW6eV5fU4gT3hS2iR1jQ0k---";
    let fields = [
        ("channel", "stable"),
        ("guid", "0123456789abcdef"),
        ("plat", "Linux"),
        ("prod", "Chrome_Linux"),
        ("ptype", "renderer"),
        ("ver", "120.0.6099.224"),
    ];
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"6b0a2c1e-0d39-4b8f-9e4c-7d1f2a02.dmp\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(&dump);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let gz = service::limits::gzip(&body);

    let head = |version: &str| {
        format!(
            "POST /submit {version}\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Encoding: gzip\r\nUser-Agent: Crashpad/0.8.0\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        .into_bytes()
    };
    let mut req = Vec::new();
    for chunk in gz.chunks(32 * 1024) {
        let size = format!("{:08x}", chunk.len());
        req.extend_from_slice(size.trim_start_matches('0').as_bytes());
        req.extend_from_slice(b"\r\n");
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");

    let send = |request: Vec<u8>| {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || {
            let mut sock = std::net::TcpStream::connect(addr).unwrap();
            sock.write_all(&request).unwrap();
            let mut out = Vec::new();
            let _ = sock.read_to_end(&mut out);
            String::from_utf8(out).unwrap()
        })
    };
    let http10 = send([head("HTTP/1.0"), req.clone()].concat())
        .await
        .unwrap();
    assert!(http10.starts_with("HTTP/1.1 400"), "{http10}");
    let response = send([head("HTTP/1.1"), req].concat()).await.unwrap();
    // Crashpad reads the status line and needs a Content-Length or chunked body.
    assert!(
        response.starts_with("HTTP/1.0 200 ") || response.starts_with("HTTP/1.1 200 "),
        "{response}"
    );
    assert!(
        response.to_ascii_lowercase().contains("content-length:"),
        "{response}"
    );
    let answer = response.split("\r\n\r\n").nth(1).unwrap();
    let id = crash_id_from_body(answer);
    let raw = h.storage.load_raw_crash(&id).await.unwrap();
    assert_eq!(raw.get_str("prod"), Some("Chrome_Linux"));
    assert_eq!(raw.get_str("ptype"), Some("renderer"));
    assert_eq!(raw.metadata().unwrap()["payload_compressed"], "1");
    assert_eq!(raw.metadata().unwrap()["user_agent"], "Crashpad/0.8.0");
    assert_eq!(
        h.storage
            .load_dump(&id, "upload_file_minidump")
            .await
            .unwrap()
            .as_ref(),
        &dump[..]
    );
    assert_eq!(h.queued_ids().await, vec![id.to_string()]);
}

#[tokio::test]
async fn hostile_dump_names_are_sanitised_or_refused() {
    let h = Harness::new(CollectorSettings::default()).await;
    let (url, _stop) = h.spawn_server().await;
    let long = "x".repeat(10_000);
    let sub = Submission::new()
        .annotation("ProductName", "Test")
        .dump("../../etc/passwd", b"one".to_vec())
        .dump(long.as_str(), b"two".to_vec())
        .dump("..\\..\\win", b"three".to_vec());
    let (status, body, _) = post(&url, &sub, false).await;
    assert_eq!(status, 200, "{body}");
    let id = crash_id_from_body(&body);
    let dumps = h.storage.load_dumps(&id).await.unwrap();
    let names: Vec<&str> = dumps.names().collect();
    assert_eq!(names, vec!["etcpasswd", "win", &"x".repeat(30)]);
    // Nothing was written outside the storage root.
    assert!(!h.dir.path().join("etc").exists());
    for entry in std::fs::read_dir(h.dir.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name == "crashes" || name.starts_with("queue.sqlite"),
            "unexpected {name}"
        );
    }
    for reserved in [
        "raw_crash",
        "dump_names",
        "processed_crash",
        "raw_crash\u{e9}",
    ] {
        let sub = Submission::new()
            .annotation("ProductName", "Test")
            .dump(reserved, b"x".to_vec());
        let (status, body, _) = post(&url, &sub, false).await;
        assert_eq!(
            (status, body.as_str()),
            (400, "Discarded=malformed_invalid_dump_name"),
            "{reserved}"
        );
    }
}

#[tokio::test]
async fn private_fields_are_removed_with_notes() {
    let h = Harness::new(CollectorSettings::default()).await;
    let (url, _stop) = h.spawn_server().await;
    let sub = Submission::new()
        .annotation("ProductName", "Test")
        .annotation("Email", "me@example.com")
        .annotation("TelemetryClientId", "abc")
        .annotation("TelemetryServerURL", "https://x")
        .annotation("TelemetrySessionId", "def");
    let (status, body, _) = post(&url, &sub, false).await;
    assert_eq!(status, 200);
    let raw = h
        .storage
        .load_raw_crash(&crash_id_from_body(&body))
        .await
        .unwrap();
    for f in [
        "Email",
        "TelemetryClientId",
        "TelemetryServerURL",
        "TelemetrySessionId",
    ] {
        assert!(!raw.contains_key(f), "{f} kept");
    }
    assert_eq!(
        raw.metadata().unwrap()["collector_notes"],
        serde_json::json!([
            "Removed Email from raw crash.",
            "Removed TelemetryClientId from raw crash.",
            "Removed TelemetryServerURL from raw crash.",
            "Removed TelemetrySessionId from raw crash."
        ])
    );
}

#[tokio::test]
async fn throttle_reject_is_200_discarded_and_not_stored() {
    let mut settings = CollectorSettings::default();
    settings.throttler.ruleset = collector::Ruleset::Mozilla;
    let h = Harness::new(settings).await;
    let (url, _stop) = h.spawn_server().await;
    let sub = Submission::new().annotation("ProductName", "NotMozilla");
    let (status, body, _) = post(&url, &sub, false).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "Discarded=rule_unsupported_product")
    );
    // FAKEACCEPT: an id with digit 3, nothing stored.
    let sub = Submission::new().annotation("ProductName", "B2G");
    let (status, body, _) = post(&url, &sub, false).await;
    assert_eq!(status, 200);
    let id = crash_id_from_body(&body);
    assert_eq!(id.throttle_char(), '3');
    assert!(!h.storage.raw_crash_exists(&id).await.unwrap());
    assert!(h.queued_ids().await.is_empty());
}

#[tokio::test]
async fn get_on_submit_is_405() {
    let h = Harness::new(CollectorSettings::default()).await;
    let (url, _stop) = h.spawn_server().await;
    let resp = reqwest::get(format!("{url}/submit")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 405);
}

#[tokio::test]
async fn storage_failure_answers_503_and_recovers() {
    let h = Harness::new(CollectorSettings {
        retry_after_secs: 7,
        ..Default::default()
    })
    .await;
    let (url, _stop) = h.spawn_server().await;
    let root = h.crashes_root();
    // Break the storage: its root becomes a plain file.
    std::fs::remove_dir_all(&root).unwrap();
    std::fs::write(&root, b"not a directory").unwrap();
    let sub = Submission::new()
        .annotation("ProductName", "Test")
        .dump("upload_file_minidump", real_dump());
    let (status, body, headers) = post(&url, &sub, false).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(headers["retry-after"], "7");
    assert!(
        h.queued_ids().await.is_empty(),
        "an unsaved crash was queued"
    );
    let hb = reqwest::get(format!("{url}/__heartbeat__")).await.unwrap();
    assert_eq!(hb.status().as_u16(), 503);
    let hb: serde_json::Value = hb.json().await.unwrap();
    assert_eq!(hb["errors"][0]["name"], "storage");
    // Storage comes back: the client's retry succeeds.
    std::fs::remove_file(&root).unwrap();
    std::fs::create_dir(&root).unwrap();
    let (status, body, _) = post(&url, &sub, false).await;
    assert_eq!(status, 200, "{body}");
    let id = crash_id_from_body(&body);
    assert!(h.storage.raw_crash_exists(&id).await.unwrap());
    assert_eq!(h.queued_ids().await, vec![id.to_string()]);
}

/// A real SQLite queue whose publishing can be switched off.
struct FlakyQueue {
    inner: SqliteQueue,
    fail: AtomicBool,
}

#[async_trait]
impl CrashQueue for FlakyQueue {
    async fn publish_raw(&self, queue: QueueName, data: Vec<String>) -> Result<(), QueueError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(QueueError::transient(
                "publish",
                std::io::Error::other("injected failure"),
            ));
        }
        self.inner.publish_raw(queue, data).await
    }
    async fn pull(
        &self,
        q: QueueName,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Message>, QueueError> {
        self.inner.pull(q, max, lease).await
    }
    async fn ack(&self, l: &[Lease]) -> Result<(), QueueError> {
        self.inner.ack(l).await
    }
    async fn nack(&self, l: &[Lease], d: Duration) -> Result<(), QueueError> {
        self.inner.nack(l, d).await
    }
    async fn extend(&self, l: &[Lease], d: Duration) -> Result<(), QueueError> {
        self.inner.extend(l, d).await
    }
    async fn depth(&self, q: QueueName) -> Result<Option<u64>, QueueError> {
        self.inner.depth(q).await
    }
    async fn check_health(&self) -> Result<(), QueueError> {
        self.inner.check_health().await
    }
    fn describe(&self) -> String {
        "flaky".into()
    }
}

#[tokio::test]
async fn queue_failure_answers_503_and_leaves_no_complete_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = crash_storage::FsObjectStore::open(dir.path().join("crashes")).unwrap();
    let storage: Arc<dyn crash_storage::CrashStorage> =
        Arc::new(crash_storage::KeyedCrashStorage::new(Arc::new(store)));
    let queue = Arc::new(FlakyQueue {
        inner: SqliteQueue::open(&dir.path().join("queue.sqlite"))
            .await
            .unwrap(),
        fail: AtomicBool::new(true),
    });
    let h = Harness::with_backends(dir, CollectorSettings::default(), storage, queue.clone());
    let (url, _stop) = h.spawn_server().await;
    let sub = Submission::new()
        .annotation("ProductName", "Test")
        .dump("upload_file_minidump", real_dump());
    let (status, _, headers) = post(&url, &sub, false).await;
    assert_eq!(status, 503);
    assert!(headers.contains_key("retry-after"));
    let today = chrono::Utc::now().date_naive();
    assert!(
        h.storage
            .list_raw_crash_ids(today)
            .await
            .unwrap()
            .is_empty(),
        "an unqueued crash looks complete"
    );
    queue.fail.store(false, Ordering::SeqCst);
    let (status, body, _) = post(&url, &sub, false).await;
    assert_eq!(status, 200);
    assert_eq!(
        h.queued_ids().await,
        vec![crash_id_from_body(&body).to_string()]
    );
}

#[tokio::test]
async fn dockerflow_endpoints_and_metrics() {
    let h = Harness::new(CollectorSettings::default()).await;
    let (url, _stop) = h.spawn_server().await;
    let hb = reqwest::get(format!("{url}/__heartbeat__")).await.unwrap();
    assert_eq!(hb.status().as_u16(), 200);
    assert_eq!(
        hb.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"errors": []})
    );
    let lb = reqwest::get(format!("{url}/__lbheartbeat__"))
        .await
        .unwrap();
    assert_eq!(lb.status().as_u16(), 200);
    assert_eq!(
        lb.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let v: serde_json::Value = reqwest::get(format!("{url}/__version__"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));

    let sub = Submission::new().annotation("ProductName", "Test");
    assert_eq!(post(&url, &sub, false).await.0, 200);
    let bad = Submission::new();
    assert_eq!(post(&url, &bad, false).await.0, 400);
    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("socorro_collector_crashes_accepted_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"socorro_collector_crashes_rejected_total{reason="malformed_no_annotations"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"socorro_collector_stage_seconds_count{stage="save"} 1"#),
        "{metrics}"
    );
}

/// The malformed reasons Antenna's recorded cases do not cover.
#[tokio::test]
async fn content_type_without_boundary_is_no_boundary() {
    let h = Harness::new(CollectorSettings::default()).await;
    let (url, _stop) = h.spawn_server().await;
    let sub = Submission::new().annotation("ProductName", "Test");
    for ct in [
        "multipart/form-data",
        "multipart/form-data; charset=utf-8",
        "multipart/form-data; boundary=",
    ] {
        let resp = reqwest::Client::new()
            .post(format!("{url}/submit"))
            .header("Content-Type", ct)
            .body(sub.body())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{ct}");
        assert_eq!(
            resp.text().await.unwrap(),
            "Discarded=malformed_no_boundary",
            "{ct}"
        );
    }
    // Content-Encoding other than exactly `gzip` is ignored, as in Antenna.
    let resp = reqwest::Client::new()
        .post(format!("{url}/submit"))
        .header("Content-Type", sub.content_type())
        .header("Content-Encoding", "GZIP")
        .body(sub.gzipped_body())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(
        resp.text().await.unwrap(),
        "Discarded=malformed_invalid_payload_structure"
    );
    assert!(h.queued_ids().await.is_empty());
}

/// `upload_file_minidump`, `dump` and a name that sanitises to "" share the
/// storage key `v1/dump/<id>`: the last one wins, as in Antenna, with a note.
#[tokio::test]
async fn dumps_sharing_a_storage_key_keep_the_last() {
    let h = Harness::new(CollectorSettings::default()).await;
    let (url, _stop) = h.spawn_server().await;
    let sub = Submission::new()
        .annotation("ProductName", "Test")
        .dump("upload_file_minidump", b"first".to_vec())
        .dump("dump", b"second".to_vec())
        .dump("ü", b"third".to_vec());
    let (status, body, _) = post(&url, &sub, false).await;
    assert_eq!(status, 200, "{body}");
    let id = crash_id_from_body(&body);
    let dumps = h.storage.load_dumps(&id).await.unwrap();
    assert_eq!(dumps.names().collect::<Vec<_>>(), vec![""]);
    assert_eq!(dumps.get("").unwrap().as_ref(), b"third");
    let raw = h.storage.load_raw_crash(&id).await.unwrap();
    let notes = raw.metadata().unwrap()["collector_notes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(notes.len(), 2, "{notes:?}");
}
