//! Crash safety: SIGKILL the collector while crashes stream in. Every crash
//! id that got a 200 must be complete in storage and queued, and no partial
//! crash may look complete.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use collector::client::Submission;
use common::crash_id_from_body;
use crash_queue::{CrashQueue, QueueName, SqliteQueue};
use crash_storage::{CrashStorage, FsObjectStore, KeyedCrashStorage};
use sha2::{Digest, Sha256};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data_dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_socorro-collector"))
        .env_clear()
        .env("SOCORRO_DATA_DIR", data_dir)
        .env("SOCORRO_COLLECTOR__LISTEN", format!("127.0.0.1:{port}"))
        .env("SOCORRO_COLLECTOR__WORKERS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

async fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{url}/__lbheartbeat__")).await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("collector at {url} did not come up");
}

/// Submit in a loop from `n` tasks until told to stop; collect ids answered 200.
async fn stream(
    url: String,
    n: usize,
    accepted: Arc<Mutex<Vec<String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut tasks = Vec::new();
    for t in 0..n {
        let (url, accepted, stop) = (url.clone(), accepted.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                i += 1;
                // Dumps of varying size, so the kill lands in different write stages.
                let dump: Vec<u8> = (0..(20_000 + (i as usize * 7919) % 300_000))
                    .map(|b| (b * 31 + t) as u8)
                    .collect();
                let sub = Submission::new()
                    .annotation("ProductName", "Test")
                    .annotation("Seq", i.to_string())
                    .dump("upload_file_minidump", dump);
                let resp = client
                    .post(format!("{url}/submit"))
                    .header("Content-Type", sub.content_type())
                    .body(sub.body())
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().as_u16() == 200 => {
                        if let Ok(text) = r.text().await {
                            accepted
                                .lock()
                                .unwrap()
                                .push(crash_id_from_body(&text).to_string());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_submissions_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    for round in 0..3 {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut child = start(dir.path(), port);
        wait_ready(&url).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let streamer = tokio::spawn(stream(url.clone(), 8, accepted.clone(), stop.clone()));
        // Let some crashes through, then kill mid-stream.
        let before = accepted.lock().unwrap().len();
        let deadline = Instant::now() + Duration::from_secs(30);
        while accepted.lock().unwrap().len() < before + 40 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(37 * (round + 1))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        streamer.await.unwrap();
        assert!(
            accepted.lock().unwrap().len() >= before + 40,
            "round {round}: too few crashes accepted"
        );
    }

    let queue = SqliteQueue::open(&dir.path().join("queue.sqlite"))
        .await
        .unwrap();
    let queued: BTreeSet<String> = queue
        .pull(QueueName::Standard, 1_000_000, Duration::from_secs(60))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.data)
        .collect();
    let accepted = accepted.lock().unwrap().clone();

    // As the kill left the files, then after the journal's replay (what the
    // next start does).
    let root = dir.path().join("crashes");
    let as_left = FsObjectStore::open(&root).unwrap();
    let complete = check_complete(as_left, &accepted, &queued).await;
    let replayed = FsObjectStore::open_journaled(&root, 1 << 30).unwrap();
    check_complete(replayed, &accepted, &queued).await;
    eprintln!(
        "{} crashes accepted across 3 kills, {} complete in storage, {} queued",
        accepted.len(),
        complete.len(),
        queued.len()
    );
}

/// Every accepted crash is stored and queued, and every crash that looks
/// complete is: its dumps are there and match their checksums. Returns the
/// complete crashes.
async fn check_complete(
    store: FsObjectStore,
    accepted: &[String],
    queued: &BTreeSet<String>,
) -> Vec<crash_storage::CrashId> {
    let storage = KeyedCrashStorage::new(Arc::new(store));
    for id in accepted {
        let id: crash_storage::CrashId = id.parse().unwrap();
        assert!(
            storage.raw_crash_exists(&id).await.unwrap(),
            "{id} got a 200 but is not stored"
        );
        assert!(
            queued.contains(id.as_str()),
            "{id} got a 200 but is not queued"
        );
    }
    // Every crash that looks complete really is: its dumps are there and intact.
    let today = chrono::Utc::now().date_naive();
    let complete = storage.list_raw_crash_ids(today).await.unwrap();
    assert!(complete.len() >= accepted.len());
    for id in &complete {
        let raw = storage.load_raw_crash(id).await.unwrap();
        let sums = raw.metadata().unwrap()["dump_checksums"]
            .as_object()
            .unwrap()
            .clone();
        let dumps = storage
            .load_dumps(id)
            .await
            .unwrap_or_else(|e| panic!("{id} complete but dumps fail: {e}"));
        assert_eq!(dumps.len(), sums.len(), "{id}");
        for (name, data) in dumps.iter() {
            assert_eq!(
                sums[name],
                hex::encode(Sha256::digest(data)),
                "{id} dump {name} corrupt"
            );
        }
    }
    complete
}
