//! Embedded durable queue on SQLite (WAL, `synchronous=FULL`).
//!
//! One table holds every message of every queue:
//!
//! | column | meaning |
//! |---|---|
//! | `id` | autoincrement; FIFO order within a queue |
//! | `queue` | `standard`, `priority` or `reprocessing` |
//! | `data` | the payload as published |
//! | `published_at` | wall clock, ms since the Unix epoch |
//! | `visible_at` | ms; a message is pullable when `visible_at <= now` |
//! | `lease_token` | random token of the current lease (`NULL` if never pulled or nacked) |
//! | `attempts` | deliveries so far |
//!
//! A pull is one atomic `UPDATE ... WHERE id IN (SELECT ... LIMIT n)
//! RETURNING`, which moves `visible_at` to the lease's end and sets a fresh
//! token, so two consumers (threads or processes) never hold one message. The
//! lease handle is `<id>:<token>`; ack, nack and extend act only while the
//! token still matches, else they fail with [`QueueError::LeaseLost`].
//!
//! Publishing uses group commit: every `publish` hands its rows to one writer
//! task, which inserts everything pending (up to [`MAX_PUBLISH_BATCH`] rows)
//! in one transaction, so one fsync serves many concurrent publishers;
//! `publish` returns once its rows are committed.
//!
//! Time is the wall clock in milliseconds, shared by every process using the
//! file; a clock step moves lease expiries by the same amount.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::Rng;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};

use crate::{CrashQueue, Lease, Message, QueueError, QueueName};

/// Most rows the writer task commits in one transaction.
pub const MAX_PUBLISH_BATCH: usize = 1000;

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Publish requests waiting for the writer task before publishers wait.
const PUBLISH_CHANNEL_CAPACITY: usize = 4096;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS crash_queue_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    data TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    lease_token TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
) STRICT";

// `id` is the rowid: the index yields a queue's messages in FIFO order and
// answers the visibility test without touching the table.
const CREATE_INDEX: &str = "CREATE INDEX IF NOT EXISTS crash_queue_messages_pull
    ON crash_queue_messages (queue, id, visible_at)";

const INSERT_BATCH: &str =
    "INSERT INTO crash_queue_messages (queue, data, published_at, visible_at)
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?1, ?1
    FROM json_each(?2) ORDER BY key";

const PULL: &str = "UPDATE crash_queue_messages
    SET lease_token = ?1, visible_at = ?2, attempts = attempts + 1
    WHERE id IN (
        SELECT id FROM crash_queue_messages
        WHERE queue = ?3 AND visible_at <= ?4
        ORDER BY id LIMIT ?5
    )
    RETURNING id, data, published_at, attempts";

const ACK: &str =
    "DELETE FROM crash_queue_messages WHERE id = ?1 AND lease_token = ?2 AND queue = ?3";

const NACK: &str = "UPDATE crash_queue_messages SET visible_at = ?1, lease_token = NULL
    WHERE id = ?2 AND lease_token = ?3 AND queue = ?4";

const EXTEND: &str = "UPDATE crash_queue_messages SET visible_at = ?1
    WHERE id = ?2 AND lease_token = ?3 AND queue = ?4";

/// One `publish` waiting for the writer task.
struct PublishRequest {
    queue: QueueName,
    data: Vec<String>,
    reply: oneshot::Sender<Result<(), QueueError>>,
}

/// SQLite-backed [`CrashQueue`].
///
/// Cheap to share behind an `Arc`; several instances (also in other
/// processes) may use one file at once.
#[derive(Debug)]
pub struct SqliteQueue {
    path: PathBuf,
    /// One connection: every write of this process goes through it, in order,
    /// so in-process writers never wait on SQLite's busy handler.
    writer: SqlitePool,
    /// Readers (depth, health); WAL lets them run beside the writer.
    reader: SqlitePool,
    publisher: mpsc::Sender<PublishRequest>,
    commits: Arc<AtomicU64>,
    /// Woken after each publish of this process (see `wait_for_messages`).
    published: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for PublishRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishRequest")
            .field("queue", &self.queue)
            .field("rows", &self.data.len())
            .finish()
    }
}

/// Classify a database error.
fn db_error(context: impl Into<String>, e: sqlx::Error) -> QueueError {
    let context = context.into();
    let transient = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
            // Primary result codes: BUSY, LOCKED, NOMEM, IOERR, FULL, CANTOPEN, PROTOCOL.
            matches!(code & 0xff, 5 | 6 | 7 | 10 | 13 | 14 | 15)
        }
        _ => false,
    };
    if transient {
        QueueError::transient(context, e)
    } else if matches!(e, sqlx::Error::PoolClosed) {
        QueueError::permanent(format!("{context}: the queue is closed"), e)
    } else {
        QueueError::permanent(context, e)
    }
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn parse_handle(handle: &str) -> Option<(i64, &str)> {
    let (id, token) = handle.split_once(':')?;
    Some((id.parse().ok()?, token))
}

/// Insert every request's rows in one transaction (one statement).
async fn insert_batch(pool: &SqlitePool, batch: &[PublishRequest]) -> Result<(), sqlx::Error> {
    let rows: Vec<(&str, &str)> = batch
        .iter()
        .flat_map(|req| {
            req.data
                .iter()
                .map(move |d| (req.queue.as_str(), d.as_str()))
        })
        .collect();
    let json = serde_json::to_string(&rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(INSERT_BATCH)
        .bind(now_ms())
        .bind(json)
        .execute(pool)
        .await?;
    Ok(())
}

/// The group-commit writer: drains every pending publish, commits them
/// together, then answers each publisher. Ends when the queue is dropped.
async fn run_writer(
    pool: SqlitePool,
    mut requests: mpsc::Receiver<PublishRequest>,
    commits: Arc<AtomicU64>,
) {
    let mut batch: Vec<PublishRequest> = Vec::new();
    while let Some(first) = requests.recv().await {
        let mut rows = first.data.len();
        batch.push(first);
        while rows < MAX_PUBLISH_BATCH {
            match requests.try_recv() {
                Ok(req) => {
                    rows += req.data.len();
                    batch.push(req);
                }
                Err(_) => break,
            }
        }
        match insert_batch(&pool, &batch).await {
            Ok(()) => {
                commits.fetch_add(1, Ordering::Relaxed);
                tracing::trace!(
                    requests = batch.len(),
                    rows,
                    "queue publish batch committed"
                );
                for req in batch.drain(..) {
                    // A publisher that gave up waiting is not an error here.
                    let _ = req.reply.send(Ok(()));
                }
            }
            Err(error) => {
                tracing::warn!(%error, requests = batch.len(), rows, "queue publish batch failed");
                let message = error.to_string();
                let shared = db_error("publishing to the queue", error);
                for req in batch.drain(..) {
                    let e = if shared.is_transient() {
                        QueueError::transient("publishing to the queue", message.clone())
                    } else {
                        QueueError::permanent("publishing to the queue", message.clone())
                    };
                    let _ = req.reply.send(Err(e));
                }
            }
        }
    }
    tracing::debug!("queue publish writer stopped");
}

impl SqliteQueue {
    /// Open (creating if missing, with its directory) the queue database at
    /// `path`, and start its publish writer task on the current Tokio runtime.
    pub async fn open(path: &Path) -> Result<Self, QueueError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                QueueError::permanent(format!("creating queue directory {}", dir.display()), e)
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT);
        let context = || format!("opening queue database {}", path.display());
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(|e| db_error(context(), e))?;
        sqlx::query(CREATE_TABLE)
            .execute(&writer)
            .await
            .map_err(|e| db_error(context(), e))?;
        sqlx::query(CREATE_INDEX)
            .execute(&writer)
            .await
            .map_err(|e| db_error(context(), e))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| db_error(context(), e))?;

        let (publisher, requests) = mpsc::channel(PUBLISH_CHANNEL_CAPACITY);
        let commits = Arc::new(AtomicU64::new(0));
        tokio::spawn(run_writer(writer.clone(), requests, commits.clone()));
        tracing::info!(path = %path.display(), "queue database opened");
        Ok(Self {
            path: path.to_owned(),
            writer,
            reader,
            publisher,
            commits,
            published: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Publish transactions committed so far by this instance (each may carry
    /// many publishes); for metrics and tests of group commit.
    pub fn publish_commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Close the database connections, waiting for running statements. Later
    /// calls fail with a permanent "queue is closed" error.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// Apply `sql` (`?1` = new visible_at, `?2` id, `?3` token, `?4` queue)
    /// or [`ACK`] to every lease in one transaction; `LeaseLost` names the
    /// handles no longer held (the others are applied).
    async fn per_lease(
        &self,
        what: &str,
        sql: &'static str,
        leases: &[Lease],
        visible_at: Option<i64>,
    ) -> Result<(), QueueError> {
        if leases.is_empty() {
            return Ok(());
        }
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| db_error(what, e))?;
        let mut lost = Vec::new();
        for lease in leases {
            let Some((id, token)) = parse_handle(&lease.handle) else {
                lost.push(lease.handle.as_str());
                continue;
            };
            let query = match visible_at {
                Some(at) => sqlx::query(sql)
                    .bind(at)
                    .bind(id)
                    .bind(token)
                    .bind(lease.queue.as_str()),
                None => sqlx::query(sql)
                    .bind(id)
                    .bind(token)
                    .bind(lease.queue.as_str()),
            };
            let done = query
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(what, e))?;
            if done.rows_affected() == 0 {
                lost.push(lease.handle.as_str());
            }
        }
        tx.commit().await.map_err(|e| db_error(what, e))?;
        if lost.is_empty() {
            Ok(())
        } else {
            tracing::warn!(op = what, lost = lost.len(), "queue leases no longer held");
            Err(QueueError::LeaseLost(lost.join(",")))
        }
    }
}

#[async_trait]
impl CrashQueue for SqliteQueue {
    async fn publish_raw(&self, queue: QueueName, data: Vec<String>) -> Result<(), QueueError> {
        if data.is_empty() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.publisher
            .send(PublishRequest { queue, data, reply })
            .await
            .map_err(|_| {
                QueueError::transient(
                    "publishing to the queue",
                    "the queue writer task has stopped",
                )
            })?;
        answer.await.map_err(|_| {
            QueueError::transient(
                "publishing to the queue",
                "the queue writer task dropped the publish",
            )
        })??;
        self.published.notify_waiters();
        Ok(())
    }

    async fn pull(
        &self,
        queue: QueueName,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Message>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let token = format!("{:016x}", rand::rng().random::<u64>());
        let mut rows: Vec<(i64, String, i64, i64)> = sqlx::query_as(PULL)
            .bind(&token)
            .bind(now.saturating_add(duration_ms(lease)))
            .bind(queue.as_str())
            .bind(now)
            .bind(i64::try_from(max).unwrap_or(i64::MAX))
            .fetch_all(&self.writer)
            .await
            .map_err(|e| db_error("pulling from the queue", e))?;
        rows.sort_unstable_by_key(|r| r.0);
        Ok(rows
            .into_iter()
            .map(|(id, data, published_at, attempts)| Message {
                queue,
                data,
                lease: Lease {
                    queue,
                    handle: format!("{id}:{token}"),
                },
                delivery_attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
                published_at: DateTime::from_timestamp_millis(published_at),
            })
            .collect())
    }

    async fn ack(&self, leases: &[Lease]) -> Result<(), QueueError> {
        self.per_lease("acking queue messages", ACK, leases, None)
            .await
    }

    async fn nack(&self, leases: &[Lease], delay: Duration) -> Result<(), QueueError> {
        let at = now_ms().saturating_add(duration_ms(delay));
        self.per_lease("nacking queue messages", NACK, leases, Some(at))
            .await
    }

    async fn extend(&self, leases: &[Lease], lease: Duration) -> Result<(), QueueError> {
        let at = now_ms().saturating_add(duration_ms(lease));
        self.per_lease("extending queue leases", EXTEND, leases, Some(at))
            .await
    }

    async fn depth(&self, queue: QueueName) -> Result<Option<u64>, QueueError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM crash_queue_messages WHERE queue = ?1")
                .bind(queue.as_str())
                .fetch_one(&self.reader)
                .await
                .map_err(|e| db_error("counting queue messages", e))?;
        Ok(Some(u64::try_from(n).unwrap_or(0)))
    }

    async fn check_health(&self) -> Result<(), QueueError> {
        if self.publisher.is_closed() {
            return Err(QueueError::transient(
                "queue health",
                "the queue writer task has stopped",
            ));
        }
        let _: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM crash_queue_messages LIMIT 1)")
                .fetch_one(&self.reader)
                .await
                .map_err(|e| db_error("queue health check", e))?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    async fn wait_for_messages(&self, max: Duration) {
        // Publishes by other processes are not seen: those wait the full `max`.
        let _ = tokio::time::timeout(max, self.published.notified()).await;
    }
}
