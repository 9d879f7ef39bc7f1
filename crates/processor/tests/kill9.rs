//! kill -9 during processing loses nothing: every queued crash ends
//! processed (redelivered after the lease if it was in flight), and no
//! message is acked without a saved processed crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{read, symbol_tree, testdata};
use crash_queue::{CrashQueue, QueueItem, QueueName};
use crash_storage::{CrashId, CrashStorage, DumpSet, RawCrash, ThrottleDigit};
use serde_json::{Value, json};

const CRASHES: usize = 24;

fn spawn(data: &Path, symbols: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_socorro-processor"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SOCORRO_DATA_DIR", data)
        .env("SOCORRO_PROCESSOR__LEASE_SECS", "2")
        .env("SOCORRO_PROCESSOR__WORKERS", "2")
        .env("SOCORRO_PROCESSOR__RULESET", "default")
        .env("SOCORRO_PROCESSOR__IDLE_SECS", "1")
        .env("SOCORRO_PROCESSOR__RETRY_DELAY_SECS", "0")
        .env("SOCORRO_PROCESSOR__SYMBOLS__PATHS", symbols)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn processed(storage: &dyn CrashStorage, ids: &[CrashId]) -> Vec<bool> {
    let mut out = Vec::new();
    for id in ids {
        out.push(storage.processed_crash_exists(id).await.unwrap());
    }
    out
}

async fn pending(queue: &dyn CrashQueue) -> u64 {
    let mut n = 0;
    for q in QueueName::ALL {
        n += queue.depth(q).await.unwrap().unwrap_or(0);
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_processing_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let symbols = dir.path().join("symbols");
    std::fs::create_dir_all(&symbols).unwrap();
    symbol_tree(&testdata("rust-minidump/testdata/symbols"), &symbols);

    let storage = crash_storage::config::build(&Default::default(), &data).unwrap();
    let queue = crash_queue::config::build(&Default::default(), &data)
        .await
        .unwrap();
    let dump = read(&testdata(
        "rust-minidump/testdata/pipeline-inlines-macos-segv.dmp",
    ));
    let mut ids = Vec::new();
    for i in 0..CRASHES {
        let id = CrashId::generate(ThrottleDigit::Accept, chrono::Utc::now().date_naive());
        let Value::Object(raw) = json!({"ProductName": "Test", "Version": "1.0", "n": i}) else {
            unreachable!()
        };
        let mut dumps = DumpSet::new();
        dumps.insert("upload_file_minidump", dump.clone());
        storage
            .save_raw_crash(&id, &RawCrash(raw), &dumps)
            .await
            .unwrap();
        let q = if i % 3 == 0 {
            QueueName::Priority
        } else {
            QueueName::Standard
        };
        queue
            .publish(q, &[QueueItem::new(id.clone())])
            .await
            .unwrap();
        ids.push(id);
    }

    // first run: kill -9 once some crashes are done
    let mut child = spawn(&data, &symbols);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = processed(storage.as_ref(), &ids)
            .await
            .iter()
            .filter(|d| **d)
            .count();
        if done >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "processor made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "processor exited early"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let done_at_kill = processed(storage.as_ref(), &ids).await;
    let saved = done_at_kill.iter().filter(|d| **d).count() as u64;
    let acked = CRASHES as u64 - pending(queue.as_ref()).await;
    assert!(
        acked <= saved,
        "acked {acked} > saved {saved}: an ack without a save"
    );
    assert!(
        saved < CRASHES as u64,
        "killed too late to test anything ({saved} done)"
    );

    // second run: everything left (incl. leases of killed work) gets processed
    let mut child = spawn(&data, &symbols);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let all = processed(storage.as_ref(), &ids).await.iter().all(|d| *d);
        if all && pending(queue.as_ref()).await == 0 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "processor exited early"
        );
        assert!(
            Instant::now() < deadline,
            "not all crashes processed after restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // graceful stop
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let stop = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < stop, "no graceful shutdown on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &ids {
        let pc = storage.load_processed_crash(id).await.unwrap();
        assert_eq!(pc["success"], true);
        assert_eq!(pc["uuid"], id.as_str());
        assert_eq!(pc["mdsw_status_string"], "OK");
    }
    let db = db::Db::open(&Default::default(), &data).await.unwrap();
    assert_eq!(db.dead_letters().count().await.unwrap(), 0);
}
