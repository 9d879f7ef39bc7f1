//! The pull -> process -> save -> ack loop: ack only after save, nack and
//! retry on failure, dead letter after `max_attempts`, shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::NaiveDate;
use common::{read, testdata};
use crash_queue::{CrashQueue, QueueItem, QueueName};
use crash_storage::{CrashId, CrashStorage, DumpSet, RawCrash, StorageError, ThrottleDigit};
use processor::worker::Outcome;
use processor::{AfterSave, HookError, Processor, ProcessorSettings, RulesetName};
use prometheus::Registry;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Storage whose `save_processed_crash` fails `fail_saves` times.
struct FlakyStorage {
    inner: Arc<dyn CrashStorage>,
    fail_saves: AtomicUsize,
}

#[async_trait]
impl CrashStorage for FlakyStorage {
    async fn save_raw_crash(
        &self,
        id: &CrashId,
        raw: &RawCrash,
        dumps: &DumpSet,
    ) -> Result<(), StorageError> {
        self.inner.save_raw_crash(id, raw, dumps).await
    }
    async fn load_raw_crash(&self, id: &CrashId) -> Result<RawCrash, StorageError> {
        self.inner.load_raw_crash(id).await
    }
    async fn raw_crash_exists(&self, id: &CrashId) -> Result<bool, StorageError> {
        self.inner.raw_crash_exists(id).await
    }
    async fn load_dump_names(&self, id: &CrashId) -> Result<Vec<String>, StorageError> {
        self.inner.load_dump_names(id).await
    }
    async fn load_dump(&self, id: &CrashId, name: &str) -> Result<Bytes, StorageError> {
        self.inner.load_dump(id, name).await
    }
    async fn save_processed_crash(
        &self,
        id: &CrashId,
        processed: &Value,
    ) -> Result<(), StorageError> {
        let left = self.fail_saves.load(Ordering::SeqCst);
        if left > 0 {
            self.fail_saves.store(left - 1, Ordering::SeqCst);
            return Err(StorageError::transient(
                "save processed",
                "injected failure",
            ));
        }
        self.inner.save_processed_crash(id, processed).await
    }
    async fn load_processed_crash(&self, id: &CrashId) -> Result<Value, StorageError> {
        self.inner.load_processed_crash(id).await
    }
    async fn processed_crash_exists(&self, id: &CrashId) -> Result<bool, StorageError> {
        self.inner.processed_crash_exists(id).await
    }
    async fn list_raw_crash_ids(&self, date: NaiveDate) -> Result<Vec<CrashId>, StorageError> {
        self.inner.list_raw_crash_ids(date).await
    }
    async fn delete_crash(&self, id: &CrashId) -> Result<(), StorageError> {
        self.inner.delete_crash(id).await
    }
    async fn check_health(&self) -> Result<(), StorageError> {
        self.inner.check_health().await
    }
    fn describe(&self) -> String {
        "flaky".into()
    }
}

struct CountingHook(AtomicUsize, bool);

#[async_trait]
impl AfterSave for CountingHook {
    fn name(&self) -> &'static str {
        "counting"
    }
    async fn after_save(&self, _: &CrashId, processed: &Value) -> Result<(), HookError> {
        assert!(processed["uuid"].is_string());
        self.0.fetch_add(1, Ordering::SeqCst);
        if self.1 {
            Err(HookError("index down".into()))
        } else {
            Ok(())
        }
    }
}

struct Env {
    _dir: tempfile::TempDir,
    inner: Arc<dyn CrashStorage>,
    flaky: Arc<FlakyStorage>,
    queue: Arc<dyn CrashQueue>,
    db: db::Db,
    processor: Arc<Processor>,
    hook: Arc<CountingHook>,
    registry: Registry,
}

async fn env(fail_saves: usize, max_attempts: u32, hook_fails: bool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let inner = crash_storage::config::build(&Default::default(), dir.path()).unwrap();
    let flaky = Arc::new(FlakyStorage {
        inner: Arc::clone(&inner),
        fail_saves: AtomicUsize::new(fail_saves),
    });
    let queue = crash_queue::config::build(&Default::default(), dir.path())
        .await
        .unwrap();
    let db = db::Db::open(&Default::default(), dir.path()).await.unwrap();
    let settings = ProcessorSettings {
        workers: 2,
        ruleset: RulesetName::Default,
        max_attempts,
        retry_delay_secs: 0,
        lease_secs: 5,
        idle_secs: 1,
        time_budget_secs: 30,
        ..Default::default()
    };
    let registry = Registry::new();
    let hook = Arc::new(CountingHook(AtomicUsize::new(0), hook_fails));
    let processor = Processor::new(
        settings,
        dir.path(),
        flaky.clone(),
        Arc::clone(&queue),
        db.clone(),
        &registry,
    )
    .unwrap()
    .with_hook(hook.clone());
    Env {
        _dir: dir,
        inner,
        flaky,
        queue,
        db,
        processor: Arc::new(processor),
        hook,
        registry,
    }
}

async fn store_crash(storage: &dyn CrashStorage) -> CrashId {
    let id = CrashId::generate(ThrottleDigit::Accept, chrono::Utc::now().date_naive());
    let Value::Object(raw) = json!({"ProductName": "Test", "Version": "1.0"}) else {
        unreachable!()
    };
    let mut dumps = DumpSet::new();
    dumps.insert(
        "upload_file_minidump",
        read(&testdata("rust-minidump/testdata/test.dmp")),
    );
    storage
        .save_raw_crash(&id, &RawCrash(raw), &dumps)
        .await
        .unwrap();
    id
}

async fn pull_one(queue: &dyn CrashQueue) -> crash_queue::Message {
    for _ in 0..50 {
        let mut got = crash_queue::pull_in_order(
            queue,
            &QueueName::PROCESSING_ORDER,
            1,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        if let Some(m) = got.pop() {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no message");
}

async fn depth(queue: &dyn CrashQueue) -> u64 {
    let mut total = 0;
    for q in QueueName::ALL {
        total += queue.depth(q).await.unwrap().unwrap_or(0);
    }
    total
}

#[tokio::test]
async fn storage_failure_is_nacked_then_retried_and_saved() {
    let e = env(1, 5, false).await;
    let id = store_crash(e.inner.as_ref()).await;
    e.queue
        .publish(QueueName::Standard, &[QueueItem::new(id.clone())])
        .await
        .unwrap();

    let m = pull_one(e.queue.as_ref()).await;
    let out = e.processor.handle(&m).await;
    assert!(matches!(out, Outcome::Retry(_)), "{out:?}");
    assert!(
        !e.inner.processed_crash_exists(&id).await.unwrap(),
        "nothing saved yet"
    );
    assert_eq!(
        depth(e.queue.as_ref()).await,
        1,
        "message still queued (nacked)"
    );

    let m = pull_one(e.queue.as_ref()).await;
    assert_eq!(m.delivery_attempt, 2);
    assert_eq!(e.processor.handle(&m).await, Outcome::Processed);
    assert!(e.inner.processed_crash_exists(&id).await.unwrap());
    assert_eq!(depth(e.queue.as_ref()).await, 0, "acked after save");
    assert_eq!(
        e.hook.0.load(Ordering::SeqCst),
        1,
        "hook ran once, after the save"
    );
    let text = String::from_utf8(service::metrics::render(&e.registry)).unwrap();
    assert!(
        text.contains("socorro_processor_crashes_processed_total 1"),
        "{text}"
    );
    assert!(
        text.contains("socorro_processor_crashes_failed_total{kind=\"save\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn poison_crash_is_dead_lettered_after_max_attempts() {
    let e = env(usize::MAX, 3, false).await;
    let id = store_crash(e.inner.as_ref()).await;
    e.queue
        .publish(QueueName::Standard, &[QueueItem::new(id.clone())])
        .await
        .unwrap();
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let m = pull_one(e.queue.as_ref()).await;
        outcomes.push(e.processor.handle(&m).await);
    }
    assert!(matches!(outcomes[0], Outcome::Retry(_)));
    assert!(matches!(outcomes[1], Outcome::Retry(_)));
    assert!(
        matches!(outcomes[2], Outcome::DeadLettered(_)),
        "{outcomes:?}"
    );
    let dl =
        e.db.dead_letters()
            .get(id.as_str())
            .await
            .unwrap()
            .expect("dead letter recorded");
    assert!(
        dl.error.contains("error saving processed crash"),
        "{}",
        dl.error
    );
    assert_eq!(depth(e.queue.as_ref()).await, 0);
    assert!(!e.inner.processed_crash_exists(&id).await.unwrap());
    assert_eq!(e.flaky.fail_saves.load(Ordering::SeqCst), usize::MAX - 3);
}

#[tokio::test]
async fn test_messages_garbage_and_missing_raw_crashes() {
    let e = env(0, 3, false).await;
    e.queue
        .publish_raw(QueueName::Standard, vec!["test".into()])
        .await
        .unwrap();
    let m = pull_one(e.queue.as_ref()).await;
    assert_eq!(e.processor.handle(&m).await, Outcome::Dropped);

    e.queue
        .publish_raw(QueueName::Standard, vec!["not-a-crash-id".into()])
        .await
        .unwrap();
    let m = pull_one(e.queue.as_ref()).await;
    assert_eq!(e.processor.handle(&m).await, Outcome::Dropped);
    assert!(
        e.db.dead_letters()
            .get("not-a-crash-id")
            .await
            .unwrap()
            .is_some(),
        "visible to operators"
    );

    let ghost = CrashId::generate(ThrottleDigit::Accept, chrono::Utc::now().date_naive());
    e.queue
        .publish(QueueName::Standard, &[QueueItem::new(ghost)])
        .await
        .unwrap();
    let m = pull_one(e.queue.as_ref()).await;
    assert_eq!(e.processor.handle(&m).await, Outcome::RawMissing);
    assert_eq!(depth(e.queue.as_ref()).await, 0);
}

#[tokio::test]
async fn workers_drain_all_queues_and_stop_on_shutdown() {
    let e = env(0, 3, true).await;
    let mut ids = Vec::new();
    for (i, q) in [
        QueueName::Standard,
        QueueName::Priority,
        QueueName::Reprocessing,
        QueueName::Standard,
    ]
    .into_iter()
    .enumerate()
    {
        let id = store_crash(e.inner.as_ref()).await;
        let item = if i == 2 {
            QueueItem::with_ruleset(id.clone(), "default")
        } else {
            QueueItem::new(id.clone())
        };
        e.queue.publish(q, &[item]).await.unwrap();
        ids.push(id);
    }
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(Arc::clone(&e.processor).run_workers(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut done = 0;
        for id in &ids {
            if e.inner.processed_crash_exists(id).await.unwrap() {
                done += 1;
            }
        }
        if done == ids.len() && depth(e.queue.as_ref()).await == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not drained: {done}/{}",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("workers stop")
        .unwrap();
    // failing hooks are counted, the crashes stay saved
    assert_eq!(e.hook.0.load(Ordering::SeqCst), ids.len());
    assert_eq!(
        e.processor.metrics().hook_failures_total.get(),
        ids.len() as u64
    );
    let pc = e.inner.load_processed_crash(&ids[0]).await.unwrap();
    assert_eq!(pc["success"], true);
    assert_eq!(pc["uuid"], ids[0].as_str());
}
