//! [`PubSubQueue`] against Google's Pub/Sub fake (`pstest`, served by
//! `scripts/pubsub-emulator`, built by `scripts/pubsub-test.sh`): the
//! conformance suite, what Pub/Sub gives instead of the capabilities it
//! lacks, an endpoint that is down, an emulator restarted under a live
//! queue, two consumers on one subscription, a consumer process that dies
//! holding a message, and an https endpoint (rustls with ring).
//!
//! Every test starts its own emulator(s) on a free port
//! (`SOCORRO_TEST_PUBSUB_EMULATOR_BIN`, else `target/pubsub-emulator/pubsub-emulator`
//! of this workspace); without one the tests FAIL, they never skip.
//!
//! Emulator limitations (pstest from Debian's golang-google-cloud-dev 0.56),
//! none of which this backend relies on:
//! - delivery order is Go map order (random), so FIFO cannot hold;
//! - it pushes one message per subscription every 10 ms tick while the
//!   stream is busy (about 100 messages/s per stream), so the 1,000-message
//!   check takes ~10 s;
//! - ack ids are the message ids (the same on every redelivery), so a stale
//!   ack id sent to it would ack the new holder's delivery; this backend never
//!   sends one (its handles are local and die with the lease);
//! - it panics on `ModifyAckDeadline` with an ack id it never issued (the
//!   emulator program turns that into an error);
//! - it ignores flow control, dead-letter policies (so no delivery attempt
//!   counts) and the stream ack deadline of the StreamingPull request (the
//!   subscription's, `-ack-deadline`, applies until the client's first
//!   renewal);
//! - it keeps everything in memory: a restart loses messages and leases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crash_queue::config::{QueueBackend, QueueConfig, build};
use crash_queue::conformance::{self, Capabilities};
use crash_queue::{
    CrashQueue, Lease, Message, PubSubQueue, PubSubQueueConfig, QueueError, QueueName,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// What Pub/Sub (through `PubSubQueue`) guarantees; see the module docs of
/// `crash_queue::pubsub` for why.
const PUBSUB: Capabilities = Capabilities {
    // Streaming pull: a message reaches the consumer's buffer a few ms
    // after publish (or nack), not within the publish call.
    immediate_visibility: false,
    // Pub/Sub orders only with ordering keys (and pstest not even then).
    strict_fifo: false,
    // Leases are kept by the queue object; an expired one is nacked and its
    // handle refused.
    lease_lost_detected: true,
    // The backlog is a monitoring metric, not an API call: depth is None.
    exact_depth: false,
    // Known only with a dead-letter policy, which pstest ignores.
    delivery_attempts: false,
};

const LONG: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running emulator; killed when dropped (and it exits when our end of
/// its stdin closes, should this process die).
struct Emulator {
    child: Child,
    port: u16,
}

impl Emulator {
    /// Serve on `port` (0: a free one) with `topics` (`topic:subscription,...`).
    async fn start(port: u16, topics: &str) -> Self {
        let bin = conformance::pubsub_emulator_bin();
        let mut child = Command::new(&bin)
            .args([
                "-port",
                &port.to_string(),
                "-project",
                "test",
                "-topics",
                topics,
                "-ack-deadline",
                "10",
                "-stdin-watch",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the emulator did not print READY within 10 s")
        .unwrap();
        let addr = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("unexpected emulator output {line:?}"))
            .trim()
            .to_owned();
        let port = addr.rsplit_once(':').unwrap().1.parse().unwrap();
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn stop(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// Random topic and subscription names for one queue set.
fn random_names() -> PubSubQueueConfig {
    let tag: u32 = rand::random();
    PubSubQueueConfig {
        standard_topic: format!("std-{tag:08x}"),
        standard_subscription: format!("std-sub-{tag:08x}"),
        priority_topic: format!("prio-{tag:08x}"),
        priority_subscription: format!("prio-sub-{tag:08x}"),
        reprocessing_topic: format!("re-{tag:08x}"),
        reprocessing_subscription: format!("re-sub-{tag:08x}"),
        ack_deadline_secs: 10,
        publish_timeout_secs: 3,
        ..PubSubQueueConfig::default()
    }
}

fn topics_flag(cfg: &PubSubQueueConfig) -> String {
    QueueName::ALL
        .map(|q| {
            let (t, s) = cfg.names(q);
            format!("{t}:{s}")
        })
        .join(",")
}

/// An emulator with fresh random names, and the settings to reach it.
async fn emulator_with_names() -> (Emulator, PubSubQueueConfig) {
    let mut cfg = random_names();
    let emulator = Emulator::start(0, &topics_flag(&cfg)).await;
    cfg.endpoint = Some(emulator.url());
    (emulator, cfg)
}

fn leases(messages: &[Message]) -> Vec<Lease> {
    messages.iter().map(|m| m.lease.clone()).collect()
}

/// Poll until `n` messages arrived on `queue` (at most `within`).
async fn pull_n(
    q: &dyn CrashQueue,
    queue: QueueName,
    n: usize,
    lease: Duration,
    within: Duration,
) -> Vec<Message> {
    let start = Instant::now();
    let mut out = Vec::new();
    while out.len() < n {
        out.extend(q.pull(queue, n - out.len(), lease).await.unwrap());
        assert!(
            start.elapsed() < within,
            "got {} of {n} messages within {within:?}",
            out.len()
        );
        if out.len() < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    out
}

/// Nothing arrives on `queue` for `quiet`.
async fn assert_nothing_for(q: &dyn CrashQueue, queue: QueueName, quiet: Duration, what: &str) {
    let start = Instant::now();
    while start.elapsed() < quiet {
        let got = q.pull(queue, 10, LONG).await.unwrap();
        assert!(
            got.is_empty(),
            "{what}: got {:?}",
            got.iter().map(|m| &m.data).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_queue_conforms() {
    let emulators = Mutex::new(Vec::new());
    conformance::run_all_with(PUBSUB, || async {
        let (emulator, cfg) = emulator_with_names().await;
        emulators.lock().unwrap().push(emulator);
        Arc::new(PubSubQueue::connect(&cfg).await.unwrap()) as Arc<dyn CrashQueue>
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_queue_conforms() {
    // What services get from config: Retrying(PubSubQueue).
    let emulators = Mutex::new(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    conformance::run_all_with(PUBSUB, || async {
        let (emulator, pubsub) = emulator_with_names().await;
        emulators.lock().unwrap().push(emulator);
        let cfg = QueueConfig {
            backend: QueueBackend::Pubsub,
            pubsub,
            ..QueueConfig::default()
        };
        let queue = build(&cfg, dir.path()).await.unwrap();
        assert!(
            queue.describe().starts_with("pubsub:test/std-"),
            "{}",
            queue.describe()
        );
        queue
    })
    .await;
}

/// Nothing listens: every call fails as transient, within the publish
/// timeout, and never hangs.
#[tokio::test]
async fn endpoint_down_is_transient_and_bounded() {
    let mut cfg = random_names();
    cfg.endpoint = Some(format!("http://127.0.0.1:{}", free_port()));
    cfg.publish_timeout_secs = 2;
    let q = PubSubQueue::connect(&cfg).await.unwrap();
    let bound = Duration::from_secs(cfg.publish_timeout_secs + 3);

    let start = Instant::now();
    let err = tokio::time::timeout(bound, q.publish_raw(QueueName::Standard, vec!["x".into()]))
        .await
        .expect("publish hung")
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("projects/test/topics/{}", cfg.standard_topic)),
        "{err}"
    );
    eprintln!(
        "publish to a dead endpoint failed after {:?}: {err}",
        start.elapsed()
    );

    let start = Instant::now();
    let err = tokio::time::timeout(bound, q.pull(QueueName::Priority, 5, LONG))
        .await
        .expect("pull hung")
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(
        err.to_string().contains(&cfg.priority_subscription),
        "{err}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );

    let err = tokio::time::timeout(bound, q.check_health())
        .await
        .expect("check_health hung")
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

/// A missing topic or subscription is a permanent error naming it and its
/// variable; the emulator program created only the default names.
#[tokio::test]
async fn missing_topic_or_subscription_is_permanent_and_named() {
    let emulator = Emulator::start(0, "standard-queue,priority-queue,reprocessing-queue").await;
    let mut cfg = PubSubQueueConfig::emulator(emulator.url());
    cfg.priority_topic = "no-such-topic".into();
    cfg.reprocessing_subscription = "no-such-subscription".into();
    let q = PubSubQueue::connect(&cfg).await.unwrap();
    q.check_health().await.unwrap();

    let err = q
        .publish_raw(QueueName::Priority, vec!["x".into()])
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("projects/test/topics/no-such-topic"),
        "{message}"
    );
    assert!(
        message.contains("SOCORRO_QUEUE__PUBSUB__PRIORITY_TOPIC"),
        "{message}"
    );

    // The pull session learns it in the background; a pull reports it.
    let start = Instant::now();
    let err = loop {
        match q.pull(QueueName::Reprocessing, 5, LONG).await {
            Ok(got) => assert!(got.is_empty()),
            Err(e) => break e,
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no error from a missing subscription"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!err.is_transient(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("projects/test/subscriptions/no-such-subscription"),
        "{message}"
    );
    assert!(
        message.contains("SOCORRO_QUEUE__PUBSUB__REPROCESSING_SUBSCRIPTION"),
        "{message}"
    );

    // The other queues work meanwhile.
    q.publish_raw(QueueName::Standard, vec!["fine".into()])
        .await
        .unwrap();
    let got = pull_n(&q, QueueName::Standard, 1, LONG, Duration::from_secs(10)).await;
    assert_eq!(got[0].data, "fine");
    q.ack(&leases(&got)).await.unwrap();
    emulator.stop().await;
}

/// The emulator dies and comes back on the same port (empty: it is in
/// memory). While it is down, publish and pull fail as transient; then the
/// same queue object works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_restart_on_the_same_port() {
    let (emulator, mut cfg) = emulator_with_names().await;
    let port = emulator.port;
    cfg.publish_timeout_secs = 2;
    let topics = topics_flag(&cfg);
    let q = PubSubQueue::connect(&cfg).await.unwrap();
    q.publish_raw(QueueName::Standard, vec!["before".into()])
        .await
        .unwrap();
    let got = pull_n(&q, QueueName::Standard, 1, LONG, Duration::from_secs(10)).await;
    assert_eq!(got[0].data, "before");
    q.ack(&leases(&got)).await.unwrap();

    emulator.stop().await;
    let down = Instant::now();
    let err = q
        .publish_raw(QueueName::Standard, vec!["while down".into()])
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    // The probe result may be reused for a moment; then pulls fail.
    let err = loop {
        match q.pull(QueueName::Standard, 5, LONG).await {
            Ok(got) => assert!(got.is_empty(), "pulled while down"),
            Err(e) => break e,
        }
        assert!(
            down.elapsed() < Duration::from_secs(5),
            "pull kept succeeding while down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(err.is_transient(), "{err:?}");
    assert!(q.check_health().await.unwrap_err().is_transient());

    let emulator = Emulator::start(port, &topics).await;
    let up = Instant::now();
    q.check_health().await.unwrap();
    // The publisher's connection comes back by itself.
    loop {
        match q
            .publish_raw(QueueName::Standard, vec!["after".into()])
            .await
        {
            Ok(()) => break,
            Err(e) => {
                assert!(e.is_transient(), "{e:?}");
                assert!(
                    up.elapsed() < Duration::from_secs(10),
                    "publish still failing: {e}"
                );
            }
        }
    }
    // The pull session is restarted on the next pull.
    let start = Instant::now();
    let mut got = Vec::new();
    while got.is_empty() {
        match q.pull(QueueName::Standard, 5, LONG).await {
            Ok(m) => got = m,
            Err(e) => assert!(e.is_transient(), "{e:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no message after the restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("pulled again {:?} after the restart", up.elapsed());
    assert_eq!(
        got.iter().map(|m| m.data.as_str()).collect::<Vec<_>>(),
        ["after"]
    );
    q.ack(&leases(&got)).await.unwrap();
    emulator.stop().await;
}

/// Two queue objects (two consumers) on one subscription: a message held
/// and not acked goes to the other after the lease, not before; an extended
/// one does not; a nacked one goes promptly; the loser cannot ack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_on_one_subscription() {
    let (emulator, cfg) = emulator_with_names().await;
    let a = PubSubQueue::connect(&cfg).await.unwrap();
    let b = PubSubQueue::connect(&cfg).await.unwrap();
    // A consumer's session starts with its first pull of a queue, and pstest
    // hands a redelivery to the stream after the one that had the message:
    // so each message below first goes to A (B has no session yet), then
    // to B.

    // Never acked: redelivered after the lease, to whoever pulls.
    a.publish_raw(QueueName::Standard, vec!["unacked".into()])
        .await
        .unwrap();
    let lease = Duration::from_secs(1);
    let (held, leased_at) = loop {
        let t = Instant::now();
        let got = a.pull(QueueName::Standard, 1, lease).await.unwrap();
        if !got.is_empty() {
            break (got, t);
        }
        assert!(t.elapsed() < Duration::from_secs(15));
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let again = loop {
        let got = b.pull(QueueName::Standard, 1, LONG).await.unwrap();
        if !got.is_empty() {
            break got;
        }
        assert!(
            leased_at.elapsed() < Duration::from_secs(15),
            "never redelivered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        leased_at.elapsed() >= lease,
        "redelivered {:?} into a {lease:?} lease",
        leased_at.elapsed()
    );
    assert_eq!(again[0].data, "unacked");
    match a.ack(&leases(&held)).await {
        Err(QueueError::LeaseLost(_)) => {}
        other => panic!("ack of an expired lease: {other:?}"),
    }
    // A's handle means nothing to B.
    match b.ack(&leases(&held)).await {
        Err(QueueError::LeaseLost(_)) => {}
        other => panic!("ack of another consumer's lease: {other:?}"),
    }
    b.ack(&leases(&again)).await.unwrap();

    // Extended: kept past its lease.
    b.publish_raw(QueueName::Priority, vec!["extended".into()])
        .await
        .unwrap();
    let held = pull_n(
        &a,
        QueueName::Priority,
        1,
        Duration::from_millis(500),
        Duration::from_secs(15),
    )
    .await;
    a.extend(&leases(&held), Duration::from_secs(30))
        .await
        .unwrap();
    assert_nothing_for(
        &b,
        QueueName::Priority,
        Duration::from_secs(2),
        "extended message redelivered",
    )
    .await;
    a.ack(&leases(&held)).await.unwrap();
    assert_nothing_for(
        &b,
        QueueName::Priority,
        Duration::from_secs(1),
        "acked message redelivered",
    )
    .await;

    // nack(0): promptly to the other consumer.
    a.publish_raw(QueueName::Reprocessing, vec!["nacked".into()])
        .await
        .unwrap();
    let held = pull_n(
        &a,
        QueueName::Reprocessing,
        1,
        LONG,
        Duration::from_secs(15),
    )
    .await;
    assert!(
        b.pull(QueueName::Reprocessing, 0, LONG)
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let nacked_at = Instant::now();
    a.nack(&leases(&held), Duration::ZERO).await.unwrap();
    // pstest redelivers to the stream after the one that had it: B's.
    let got = pull_n(&b, QueueName::Reprocessing, 1, LONG, Duration::from_secs(5)).await;
    assert!(
        nacked_at.elapsed() < Duration::from_secs(2),
        "{:?}",
        nacked_at.elapsed()
    );
    assert_eq!(got[0].data, "nacked");
    b.ack(&leases(&got)).await.unwrap();
    emulator.stop().await;
}

const CHILD_ENV: &str = "CRASH_QUEUE_TEST_PUBSUB_CHILD";
const CHILD_TEST: &str = "child_process_pulls_then_aborts";

/// Only does something when re-executed by `dead_consumer_loses_its_messages`
/// (with [`CHILD_ENV`] = settings as JSON): pulls one message under a long
/// lease, prints it, waits for the client's first renewal, and aborts.
#[tokio::test]
async fn child_process_pulls_then_aborts() {
    let Ok(json) = std::env::var(CHILD_ENV) else {
        return;
    };
    let cfg: PubSubQueueConfig = serde_json::from_str(&json).unwrap();
    let q = PubSubQueue::connect(&cfg).await.unwrap();
    let got = pull_n(
        &q,
        QueueName::Standard,
        1,
        Duration::from_secs(3600),
        Duration::from_secs(15),
    )
    .await;
    println!("LEASED {}", got[0].data);
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::process::abort();
}

/// A consumer process that dies holding a message: the server redelivers it
/// once the ack deadline the client last renewed is over (10 s here), not
/// after the hour-long local lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_consumer_loses_its_messages() {
    let (emulator, cfg) = emulator_with_names().await;
    let q = PubSubQueue::connect(&cfg).await.unwrap();
    q.publish_raw(QueueName::Standard, vec!["held by the dead".into()])
        .await
        .unwrap();
    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, serde_json::to_string(&cfg).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    let died = Instant::now();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("LEASED held by the dead"),
        "child: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success());
    let got = pull_n(&q, QueueName::Standard, 1, LONG, Duration::from_secs(30)).await;
    eprintln!("redelivered {:?} after the consumer died", died.elapsed());
    assert_eq!(got[0].data, "held by the dead");
    assert!(
        died.elapsed() < Duration::from_secs(cfg.ack_deadline_secs + 5),
        "redelivered only after {:?}",
        died.elapsed()
    );
    q.ack(&leases(&got)).await.unwrap();
    emulator.stop().await;
}

/// An https endpoint goes through rustls with the ring provider this crate
/// installs (no aws-lc in the build): against the plaintext emulator the
/// TLS handshake fails, as a transient error, without a panic about a
/// missing crypto provider. (Google's own endpoint is never contacted here.)
#[tokio::test]
async fn https_endpoint_uses_rustls_with_ring() {
    let emulator = Emulator::start(0, "standard-queue,priority-queue,reprocessing-queue").await;
    let cfg = PubSubQueueConfig {
        publish_timeout_secs: 1,
        ..PubSubQueueConfig::emulator(format!("https://127.0.0.1:{}", emulator.port))
    };
    let q = PubSubQueue::connect(&cfg).await.unwrap();
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        q.publish_raw(QueueName::Standard, vec!["x".into()]),
    )
    .await
    .expect("publish over TLS hung")
    .unwrap_err();
    eprintln!("publish over TLS to a plaintext server: {err:?}");
    assert!(err.is_transient(), "{err:?}");
    emulator.stop().await;
}
