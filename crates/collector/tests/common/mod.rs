//! Shared test harness: a collector on real embedded backends (filesystem
//! storage + SQLite queue) in a temp dir.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use collector::{Collector, CollectorSettings};
use crash_queue::{CrashQueue, QueueName, SqliteQueue};
use crash_storage::{CrashId, CrashStorage, FsObjectStore, KeyedCrashStorage};
use prometheus::Registry;
use tokio_util::sync::CancellationToken;

pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
    .join(rel)
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub storage: Arc<dyn CrashStorage>,
    pub queue: Arc<dyn CrashQueue>,
    pub state: web::Data<Collector>,
    pub registry: web::Data<Registry>,
}

impl Harness {
    pub async fn new(settings: CollectorSettings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = FsObjectStore::open(dir.path().join("crashes")).unwrap();
        let storage: Arc<dyn CrashStorage> = Arc::new(KeyedCrashStorage::new(Arc::new(store)));
        let queue: Arc<dyn CrashQueue> = Arc::new(
            SqliteQueue::open(&dir.path().join("queue.sqlite"))
                .await
                .unwrap(),
        );
        Self::with_backends(dir, settings, storage, queue)
    }

    pub fn with_backends(
        dir: tempfile::TempDir,
        settings: CollectorSettings,
        storage: Arc<dyn CrashStorage>,
        queue: Arc<dyn CrashQueue>,
    ) -> Self {
        let registry = Registry::new();
        let state = web::Data::new(
            Collector::new(settings, storage.clone(), queue.clone(), &registry).unwrap(),
        );
        Self {
            dir,
            storage,
            queue,
            state,
            registry: web::Data::new(registry),
        }
    }

    pub fn crashes_root(&self) -> PathBuf {
        self.dir.path().join("crashes")
    }

    /// Start a real HTTP server on a free port; returns its base URL.
    pub async fn spawn_server(&self) -> (String, CancellationToken) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let token = CancellationToken::new();
        let (state, registry, t) = (self.state.clone(), self.registry.clone(), token.clone());
        tokio::spawn(async move { collector::serve_on(listener, state, registry, 2, t).await });
        (url, token)
    }

    /// Every crash id waiting in the standard queue (leases them briefly).
    pub async fn queued_ids(&self) -> Vec<String> {
        let msgs = self
            .queue
            .pull(QueueName::Standard, 100_000, Duration::from_millis(1))
            .await
            .unwrap();
        let mut ids: Vec<String> = msgs.into_iter().map(|m| m.data).collect();
        ids.sort();
        ids
    }
}

/// Parse `CrashID=bp-<id>\n`.
pub fn crash_id_from_body(body: &str) -> CrashId {
    let rest = body
        .strip_prefix("CrashID=")
        .unwrap_or_else(|| panic!("not a CrashID answer: {body:?}"));
    CrashId::parse(rest.trim_end()).unwrap()
}
