//! The conformance suite on [`SqliteQueue`], plus durability: reopening the
//! file, a real process killed mid-lease, two instances on one file, group
//! commit, and a writer task that is gone.

// Test helpers outside #[test] functions panic on failure too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crash_queue::config::{QueueConfig, SqliteQueueConfig, build};
use crash_queue::{CrashQueue, Lease, Message, QueueError, QueueName, SqliteQueue, conformance};

const LONG: Duration = Duration::from_secs(60);

fn leases(messages: &[Message]) -> Vec<Lease> {
    messages.iter().map(|m| m.lease.clone()).collect()
}

/// Pull everything visible now.
async fn drain(q: &dyn CrashQueue, lease: Duration) -> Vec<Message> {
    let mut out = Vec::new();
    loop {
        let got = q.pull(QueueName::Standard, 50, lease).await.unwrap();
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
}

/// Pull until `n` messages arrived in total (waiting for lease expiries).
async fn pull_n_eventually(q: &dyn CrashQueue, n: usize, deadline: Duration) -> Vec<Message> {
    let start = Instant::now();
    let mut out = Vec::new();
    while out.len() < n {
        out.extend(q.pull(QueueName::Standard, 50, LONG).await.unwrap());
        assert!(
            start.elapsed() < deadline,
            "got {} of {n} messages within {deadline:?}",
            out.len()
        );
        if out.len() < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    out
}

#[tokio::test]
async fn sqlite_queue_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_owned();
    let n = AtomicUsize::new(0);
    conformance::run_all(|| {
        let path = base.join(format!("q{}.sqlite", n.fetch_add(1, Ordering::SeqCst)));
        async move { Arc::new(SqliteQueue::open(&path).await.unwrap()) as Arc<dyn CrashQueue> }
    })
    .await;
}

#[tokio::test]
async fn built_queue_conforms() {
    // What services get from config: Retrying(SqliteQueue).
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_owned();
    let n = AtomicUsize::new(0);
    conformance::run_all(|| {
        let cfg = QueueConfig {
            sqlite: SqliteQueueConfig {
                path: Some(base.join(format!("b{}.sqlite", n.fetch_add(1, Ordering::SeqCst)))),
            },
            ..QueueConfig::default()
        };
        let base = base.clone();
        async move { build(&cfg, &base).await.unwrap() }
    })
    .await;
}

#[tokio::test]
async fn messages_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite");
    let published: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    {
        let q = SqliteQueue::open(&path).await.unwrap();
        q.publish_raw(QueueName::Standard, published.clone())
            .await
            .unwrap();
        let leased = q
            .pull(QueueName::Standard, 3, Duration::from_millis(500))
            .await
            .unwrap();
        assert_eq!(leased.len(), 3);
        q.ack(&leases(&leased[..1])).await.unwrap();
        q.close().await;
        // Closed: calls fail, and do not hang.
        let err = q
            .publish_raw(QueueName::Standard, vec!["late".into()])
            .await
            .unwrap_err();
        assert!(!err.is_transient(), "{err:?}");
    }
    let q = SqliteQueue::open(&path).await.unwrap();
    assert_eq!(q.depth(QueueName::Standard).await.unwrap(), Some(9));
    // The 7 never pulled are there at once, in order.
    let now = drain(&q, LONG).await;
    assert_eq!(
        now.iter().map(|m| m.data.as_str()).collect::<Vec<_>>(),
        ["m3", "m4", "m5", "m6", "m7", "m8", "m9"]
    );
    assert!(now.iter().all(|m| m.delivery_attempt == 1));
    // The 2 leased and unacked come back once their lease expires.
    let back = pull_n_eventually(&q, 2, Duration::from_secs(10)).await;
    assert_eq!(
        back.iter().map(|m| m.data.as_str()).collect::<Vec<_>>(),
        ["m1", "m2"]
    );
    assert!(back.iter().all(|m| m.delivery_attempt == 2));
    q.ack(&leases(&now)).await.unwrap();
    q.ack(&leases(&back)).await.unwrap();
    assert_eq!(q.depth(QueueName::Standard).await.unwrap(), Some(0));
}

/// The text after `tag` in a child's output line. libtest prints the first
/// output of a test on its own `test <name> ... ` line, so the tag may not
/// start the line.
fn tagged<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    line.split_once(tag).map(|(_, rest)| rest)
}

const CHILD_ENV: &str = "CRASH_QUEUE_TEST_CHILD_DB";
const CHILD_TEST: &str = "child_process_publishes_pulls_then_aborts";
const CHILD_LEASE: Duration = Duration::from_millis(1500);

/// Only does something when re-executed by `killed_process_loses_nothing`
/// (with [`CHILD_ENV`] set): publishes from 8 tasks, printing each publish
/// that returned, leases some messages, and aborts the process while
/// publishes are still in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process_publishes_pulls_then_aborts() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let q = Arc::new(SqliteQueue::open(Path::new(&path)).await.unwrap());
    let published = Arc::new(AtomicUsize::new(0));
    for task in 0..8 {
        let (q, published) = (q.clone(), published.clone());
        tokio::spawn(async move {
            for i in 0.. {
                let data = format!("t{task}-{i}");
                q.publish_raw(QueueName::Standard, vec![data.clone()])
                    .await
                    .unwrap();
                println!("PUBLISHED {data}");
                published.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    while published.load(Ordering::SeqCst) < 300 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let leased = q.pull(QueueName::Standard, 25, CHILD_LEASE).await.unwrap();
    for m in &leased {
        println!("LEASED {}", m.data);
    }
    while published.load(Ordering::SeqCst) < 600 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Die mid-lease, with publishes in flight: no destructors, no flushes.
    std::process::abort();
}

#[tokio::test]
async fn killed_process_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite");
    let started = Instant::now();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "the child should have aborted: {stdout}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            output.status.signal(),
            Some(6),
            "child not killed by SIGABRT: {:?}",
            output.status
        );
    }
    // Whole lines only: the abort may cut the last one.
    let lines: Vec<&str> = stdout
        .split_inclusive('\n')
        .filter_map(|l| l.strip_suffix('\n'))
        .collect();
    let published: HashSet<&str> = lines
        .iter()
        .filter_map(|l| tagged(l, "PUBLISHED "))
        .collect();
    let leased: HashSet<&str> = lines.iter().filter_map(|l| tagged(l, "LEASED ")).collect();
    assert!(
        published.len() >= 600,
        "child published only {}: {}",
        published.len(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(leased.len(), 25, "child leased {}", leased.len());

    let q = SqliteQueue::open(&path).await.unwrap();
    let depth = q.depth(QueueName::Standard).await.unwrap().unwrap();
    assert!(
        depth >= published.len() as u64,
        "{depth} stored < {} published",
        published.len()
    );
    // Everything not leased is pullable now; the leased ones once the lease ends.
    let now = drain(&q, LONG).await;
    let now_data: HashSet<&str> = now.iter().map(|m| m.data.as_str()).collect();
    let still_leased = started.elapsed() < CHILD_LEASE;
    if still_leased {
        assert!(
            leased.iter().all(|d| !now_data.contains(d)),
            "a leased message was redelivered early"
        );
    }
    let rest = pull_n_eventually(&q, depth as usize - now.len(), Duration::from_secs(15)).await;
    let mut all: Vec<&str> = now.iter().chain(&rest).map(|m| m.data.as_str()).collect();
    all.sort_unstable();
    let unique: HashSet<&str> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a message was delivered twice");
    for d in &published {
        assert!(unique.contains(d), "published message {d} lost");
    }
    for m in now.iter().chain(&rest) {
        let want = if leased.contains(m.data.as_str()) {
            2
        } else {
            1
        };
        assert_eq!(m.delivery_attempt, want, "{}", m.data);
    }
    q.ack(&leases(&now)).await.unwrap();
    q.ack(&leases(&rest)).await.unwrap();
    assert_eq!(q.depth(QueueName::Standard).await.unwrap(), Some(0));
}

const CONSUMER_ENV: &str = "CRASH_QUEUE_TEST_CONSUMER_DB";
const CONSUMER_TEST: &str = "child_process_consumes_until_empty";

/// Only does something when re-executed by
/// `two_processes_never_share_a_message` (with [`CONSUMER_ENV`] set): pulls
/// and acks until the queue is empty, printing every message it held.
#[tokio::test]
async fn child_process_consumes_until_empty() {
    let Some(path) = std::env::var_os(CONSUMER_ENV) else {
        return;
    };
    let q = SqliteQueue::open(Path::new(&path)).await.unwrap();
    loop {
        let got = q.pull(QueueName::Standard, 5, LONG).await.unwrap();
        if got.is_empty() {
            break;
        }
        for m in &got {
            println!("GOT {}", m.data);
        }
        // LeaseLost here would mean another process held the message too.
        q.ack(&leases(&got)).await.unwrap();
    }
}

#[tokio::test]
async fn two_processes_never_share_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite");
    let all: Vec<String> = (0..1000).map(|i| format!("m{i:04}")).collect();
    {
        let q = SqliteQueue::open(&path).await.unwrap();
        q.publish_raw(QueueName::Standard, all.clone())
            .await
            .unwrap();
        q.close().await;
    }
    let spawn = || {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                CONSUMER_TEST,
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CONSUMER_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let mut seen = HashSet::new();
    let mut per_process = Vec::new();
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "consumer failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let got: Vec<String> = stdout
            .lines()
            .filter_map(|l| tagged(l, "GOT "))
            .map(str::to_owned)
            .collect();
        per_process.push(got.len());
        for d in got {
            assert!(seen.insert(d.clone()), "{d} held by both processes");
        }
    }
    eprintln!("messages per consumer process: {per_process:?}");
    assert_eq!(seen.len(), 1000);
    assert!(all.iter().all(|d| seen.contains(d)));
    let q = SqliteQueue::open(&path).await.unwrap();
    assert_eq!(q.depth(QueueName::Standard).await.unwrap(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_file_never_share_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite");
    let a = Arc::new(SqliteQueue::open(&path).await.unwrap());
    let b = Arc::new(SqliteQueue::open(&path).await.unwrap());
    let all: Vec<String> = (0..600).map(|i| format!("m{i:04}")).collect();
    // Publish through both, concurrently.
    let (pa, pb) = tokio::join!(
        a.publish_raw(QueueName::Standard, all[..300].to_vec()),
        b.publish_raw(QueueName::Standard, all[300..].to_vec())
    );
    pa.unwrap();
    pb.unwrap();
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let mut tasks = Vec::new();
    for consumer in 0..8 {
        let q = if consumer % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        };
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let got = q.pull(QueueName::Standard, 5, LONG).await.unwrap();
                if got.is_empty() {
                    return;
                }
                for m in &got {
                    assert!(
                        seen.lock().unwrap().insert(m.data.clone()),
                        "{} held twice",
                        m.data
                    );
                }
                q.ack(&leases(&got)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(seen.lock().unwrap().len(), 600);
    assert_eq!(a.depth(QueueName::Standard).await.unwrap(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishes_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let q = Arc::new(
        SqliteQueue::open(&dir.path().join("queue.sqlite"))
            .await
            .unwrap(),
    );
    let (publishers, per_publisher) = (32, 100);
    let start = Instant::now();
    let tasks: Vec<_> = (0..publishers)
        .map(|p| {
            let q = q.clone();
            tokio::spawn(async move {
                for i in 0..per_publisher {
                    q.publish_raw(QueueName::Standard, vec![format!("p{p}-{i}")])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed();
    let total = publishers * per_publisher;
    let commits = q.publish_commits();
    eprintln!(
        "{total} publishes from {publishers} tasks in {elapsed:?} ({:.0}/s) with {commits} commits",
        total as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(
        q.depth(QueueName::Standard).await.unwrap(),
        Some(total as u64)
    );
    assert!(
        commits * 4 <= total as u64,
        "{commits} commits for {total} concurrent publishes: no group commit"
    );
    // FIFO per publisher survives batching.
    let got = drain(q.as_ref(), LONG).await;
    for p in 0..publishers {
        let mine: Vec<&str> = got
            .iter()
            .map(|m| m.data.as_str())
            .filter(|d| d.starts_with(&format!("p{p}-")))
            .collect();
        let want: Vec<String> = (0..per_publisher).map(|i| format!("p{p}-{i}")).collect();
        assert_eq!(mine, want, "order of publisher {p}");
    }
}

#[test]
fn publish_fails_fast_when_the_writer_task_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("queue.sqlite");
    // Open on a runtime that then shuts down, killing the writer task.
    let q = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(SqliteQueue::open(&path)).unwrap()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let result = tokio::time::timeout(
            Duration::from_secs(5),
            q.publish_raw(QueueName::Standard, vec!["x".into()]),
        )
        .await
        .expect("publish hung without its writer task");
        match result {
            Err(e @ QueueError::Transient { .. }) => {
                assert!(e.to_string().contains("publishing"), "{e}")
            }
            other => panic!("expected a transient error, got {other:?}"),
        }
        let health = q.check_health().await.unwrap_err();
        assert!(health.is_transient(), "{health:?}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_consumer_wakes_on_a_publish_of_the_same_process() {
    let dir = tempfile::tempdir().unwrap();
    let q = Arc::new(
        SqliteQueue::open(&dir.path().join("queue.sqlite"))
            .await
            .unwrap(),
    );
    // Nothing published: the wait lasts its whole bound.
    let start = Instant::now();
    q.wait_for_messages(Duration::from_millis(200)).await;
    assert!(start.elapsed() >= Duration::from_millis(200));

    let waiter = {
        let q = q.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            q.wait_for_messages(Duration::from_secs(30)).await;
            start.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    q.publish_raw(QueueName::Standard, vec!["m".into()])
        .await
        .unwrap();
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter was not woken by the publish")
        .unwrap();
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    assert_eq!(q.pull(QueueName::Standard, 1, LONG).await.unwrap().len(), 1);
}
