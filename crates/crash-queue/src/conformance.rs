//! Conformance suite every [`CrashQueue`] backend runs (feature `testsuite`).
//!
//! Each check is a public function taking an **empty** queue and the
//! backend's [`Capabilities`], so a backend's tests can run them one by one;
//! [`run_all`] runs every check with every capability required (what SQLite
//! gives), [`run_all_with`] with the capabilities a backend has, each check on
//! a fresh queue from `make`. A check panics on the first failure.
//!
//! A capability a backend lacks is not skipped: the check asserts the weaker
//! guarantee instead (see each field of [`Capabilities`]).
//!
//! Timing checks use short leases and poll with deadlines; the backend's
//! clock granularity must be 10 ms or better.

// A test suite: panicking with a message is how a check fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use crash_storage::{CrashId, ThrottleDigit};
use futures_util::future::join_all;

use crate::{CrashQueue, Lease, Message, QueueError, QueueItem, QueueName, pull_in_order};

/// The Pub/Sub emulator program for tests (scripts/pubsub-emulator):
/// `SOCORRO_TEST_PUBSUB_EMULATOR_BIN`, else where `scripts/pubsub-test.sh`
/// builds it. Panics, naming the script, when it is missing: the tests that
/// need it fail rather than skip.
pub fn pubsub_emulator_bin() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("SOCORRO_TEST_PUBSUB_EMULATOR_BIN") {
        let p = std::path::PathBuf::from(p);
        assert!(
            p.is_file(),
            "SOCORRO_TEST_PUBSUB_EMULATOR_BIN={} does not exist: run `eval \"$(scripts/pubsub-test.sh)\"`",
            p.display()
        );
        return p;
    }
    let default = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/pubsub-emulator/pubsub-emulator");
    assert!(
        default.is_file(),
        "the Pub/Sub emulator is not built: SOCORRO_TEST_PUBSUB_EMULATOR_BIN is unset and {} does not exist; \
         run `eval \"$(scripts/pubsub-test.sh)\"` (installs golang-go and golang-google-cloud-dev, builds it)",
        default.display()
    );
    default
}

const LONG: Duration = Duration::from_secs(60);
const DEADLINE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(10);
/// Without immediate visibility: how long nothing must arrive for a queue to
/// count as empty, and how long to let published messages arrive.
const QUIET: Duration = Duration::from_millis(600);
/// Without immediate visibility: how soon `nack(0)` must redeliver.
const PROMPT: Duration = Duration::from_secs(3);

/// What a backend guarantees beyond the common contract. [`Self::ALL`] is
/// the full contract of [`CrashQueue`] (SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// A message is pullable as soon as `publish` (or `nack(0)`) returns, so
    /// an empty pull means nothing is visible. Without it (Pub/Sub streaming
    /// pull: messages reach the consumer's buffer a few ms later) the checks
    /// poll until the expected messages arrive, call a queue empty after
    /// nothing arrived for a while, and `nack(0)` must redeliver within a few
    /// seconds. `pull(queue, 0, _)` may be what starts delivery.
    pub immediate_visibility: bool,
    /// Messages of one queue come out oldest first. Without it, every
    /// message still comes out exactly once (compared as sets).
    pub strict_fifo: bool,
    /// `ack`/`nack`/`extend` of a lease that expired, was given back or never
    /// existed fail with [`QueueError::LeaseLost`] and leave the new holder's
    /// delivery alone. Without it those calls must still not fail otherwise
    /// (`Ok` or `LeaseLost`), the new holder's ack must not fail otherwise,
    /// and the message must be gone once every holder acked.
    pub lease_lost_detected: bool,
    /// `depth` returns `Some(exact count)`. Without it, `depth` returns `Ok`
    /// (`None`, or a count that is not checked).
    pub exact_depth: bool,
    /// `delivery_attempt` counts deliveries: 1, then 2 on redelivery. Without
    /// it, it is 0 (unknown) or those values.
    pub delivery_attempts: bool,
}

impl Capabilities {
    /// Everything: the strict suite.
    pub const ALL: Self = Self {
        immediate_visibility: true,
        strict_fifo: true,
        lease_lost_detected: true,
        exact_depth: true,
        delivery_attempts: true,
    };
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::ALL
    }
}

fn new_id() -> CrashId {
    CrashId::generate(ThrottleDigit::Accept, Utc::now().date_naive())
}

fn leases(messages: &[Message]) -> Vec<Lease> {
    messages.iter().map(|m| m.lease.clone()).collect()
}

fn data(messages: &[Message]) -> Vec<String> {
    messages.iter().map(|m| m.data.clone()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// `got` is `want`: in order with strict FIFO, else as a set (no duplicates).
#[track_caller]
fn assert_same(caps: Capabilities, got: &[Message], want: &[String], what: &str) {
    if caps.strict_fifo {
        assert_eq!(data(got), want, "{what}");
    } else {
        assert_eq!(sorted(data(got)), sorted(want.to_vec()), "{what}");
    }
}

#[track_caller]
fn assert_lease_lost(caps: Capabilities, result: Result<(), QueueError>, what: &str) {
    match result {
        Err(QueueError::LeaseLost(_)) => {}
        Ok(()) if !caps.lease_lost_detected => {}
        other => panic!("{what}: expected LeaseLost, got {other:?}"),
    }
}

#[track_caller]
fn assert_attempt(caps: Capabilities, m: &Message, want: u32) {
    if caps.delivery_attempts || m.delivery_attempt != 0 {
        assert_eq!(m.delivery_attempt, want, "delivery attempt of {}", m.data);
    }
}

async fn assert_depth(q: &dyn CrashQueue, caps: Capabilities, queue: QueueName, want: u64) {
    let depth = q.depth(queue).await.unwrap();
    if caps.exact_depth {
        assert_eq!(depth, Some(want), "depth of {queue}");
    }
}

/// Nothing is pullable from `queue`: one pull, or (without immediate
/// visibility) nothing for [`QUIET`].
async fn assert_nothing(q: &dyn CrashQueue, caps: Capabilities, queue: QueueName, what: &str) {
    let start = Instant::now();
    loop {
        let got = q.pull(queue, 10, LONG).await.unwrap();
        assert!(got.is_empty(), "{what}: pulled {:?}", data(&got));
        if caps.immediate_visibility || start.elapsed() >= QUIET {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Pull everything visible (up to `limit` messages): until an empty pull,
/// or (without immediate visibility) until `limit` or nothing for [`QUIET`].
async fn drain(
    q: &dyn CrashQueue,
    caps: Capabilities,
    queue: QueueName,
    lease: Duration,
    limit: usize,
) -> Vec<Message> {
    let mut out = Vec::new();
    let mut last = Instant::now();
    while out.len() < limit {
        let got = q.pull(queue, 7, lease).await.unwrap();
        assert!(got.len() <= 7, "pull returned more than max");
        if got.is_empty() {
            if caps.immediate_visibility || last.elapsed() >= QUIET {
                break;
            }
            tokio::time::sleep(POLL).await;
            continue;
        }
        last = Instant::now();
        out.extend(got);
    }
    out
}

/// Pull (at most `max` at a time) until `n` messages arrived: one pull with
/// immediate visibility, else polling up to [`DEADLINE`]. Never more than `n`.
async fn pull_exactly(
    q: &dyn CrashQueue,
    caps: Capabilities,
    queue: QueueName,
    max: usize,
    n: usize,
    lease: Duration,
) -> Vec<Message> {
    let start = Instant::now();
    let mut out = Vec::new();
    loop {
        let got = q.pull(queue, max, lease).await.unwrap();
        assert!(got.len() <= max, "pull returned more than max");
        out.extend(got);
        assert!(
            out.len() <= n,
            "pulled {} messages, expected {n}: {:?}",
            out.len(),
            data(&out)
        );
        if out.len() == n {
            return out;
        }
        assert!(
            !caps.immediate_visibility,
            "pulled {} of {n} visible messages at once: {:?}",
            out.len(),
            data(&out)
        );
        assert!(
            start.elapsed() < DEADLINE,
            "only {} of {n} messages on {queue} within {DEADLINE:?}",
            out.len()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Poll until a pull returns something; panics after [`DEADLINE`]. Returns
/// the messages and when the pull that returned them started.
async fn pull_eventually(
    q: &dyn CrashQueue,
    queue: QueueName,
    max: usize,
    lease: Duration,
) -> (Vec<Message>, Instant) {
    let start = Instant::now();
    loop {
        let pulled_at = Instant::now();
        let got = q.pull(queue, max, lease).await.unwrap();
        if !got.is_empty() {
            return (got, pulled_at);
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no message on {queue} within {DEADLINE:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A message just published or nacked: pullable now with immediate
/// visibility, else soon.
async fn pull_visible(
    q: &dyn CrashQueue,
    caps: Capabilities,
    queue: QueueName,
    max: usize,
    lease: Duration,
) -> (Vec<Message>, Instant) {
    if caps.immediate_visibility {
        let pulled_at = Instant::now();
        let got = q.pull(queue, max, lease).await.unwrap();
        assert!(!got.is_empty(), "nothing pullable on {queue} right away");
        (got, pulled_at)
    } else {
        pull_eventually(q, queue, max, lease).await
    }
}

/// Run every check with every capability required (the strict suite).
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn CrashQueue>>,
{
    run_all_with(Capabilities::ALL, make).await;
}

/// Run every check, concurrently, each on a fresh empty queue from `make`,
/// holding the backend to `caps`.
pub async fn run_all_with<F, Fut>(caps: Capabilities, make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn CrashQueue>>,
{
    macro_rules! checks {
        ($($check:ident),* $(,)?) => {{
            let mut all: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + '_>>> = Vec::new();
            $(
                let q = make().await;
                all.push(Box::pin(async move { $check(q.as_ref(), caps).await }));
            )*
            all
        }};
    }
    let all = checks![
        publish_pull_ack,
        at_least_once,
        nack_zero_redelivers_at_once,
        nack_delay_hides_for_the_delay,
        extend_keeps_the_lease,
        lease_lost_to_another_consumer,
        fifo_within_a_queue,
        queues_are_independent,
        pull_in_order_takes_priority_first,
        ruleset_payloads_round_trip,
        raw_payloads_are_delivered_as_is,
        concurrent_consumers_share_nothing,
        depth_counts_unacked_messages,
        edge_cases,
    ];
    join_all(all).await;
}

/// Publish, pull (leased: not pulled again), ack (gone).
pub async fn publish_pull_ack(q: &dyn CrashQueue, caps: Capabilities) {
    assert!(!q.describe().is_empty());
    q.check_health().await.unwrap();
    let items: Vec<QueueItem> = (0..3).map(|_| QueueItem::new(new_id())).collect();
    let published: Vec<String> = items.iter().map(ToString::to_string).collect();
    let before = Utc::now();
    q.publish(QueueName::Standard, &items).await.unwrap();
    let got = pull_exactly(q, caps, QueueName::Standard, 10, 3, LONG).await;
    assert_same(caps, &got, &published, "pulled");
    for m in &got {
        assert_eq!(m.queue, QueueName::Standard);
        assert_eq!(m.lease.queue, QueueName::Standard);
        assert_attempt(caps, m, 1);
        if let Some(at) = m.published_at {
            let skew = chrono::Duration::seconds(60);
            assert!(
                at >= before - skew && at <= Utc::now() + skew,
                "published_at {at}"
            );
        }
        assert_eq!(
            m.item().unwrap(),
            items[published.iter().position(|x| *x == m.data).unwrap()]
        );
    }
    let handles: HashSet<&str> = got.iter().map(|m| m.lease.handle.as_str()).collect();
    assert_eq!(handles.len(), 3, "lease handles must be distinct");
    assert_nothing(
        q,
        caps,
        QueueName::Standard,
        "a leased message was pulled again",
    )
    .await;
    q.ack(&leases(&got)).await.unwrap();
    assert_nothing(q, caps, QueueName::Standard, "an acked message came back").await;
    assert_depth(q, caps, QueueName::Standard, 0).await;
}

/// An unacked message comes back after its lease expires, marked as a redelivery.
pub async fn at_least_once(q: &dyn CrashQueue, caps: Capabilities) {
    let item = QueueItem::new(new_id());
    q.publish(QueueName::Standard, std::slice::from_ref(&item))
        .await
        .unwrap();
    let (first, start) =
        pull_visible(q, caps, QueueName::Standard, 10, Duration::from_millis(300)).await;
    assert_eq!(data(&first), vec![item.to_string()]);
    assert!(
        q.pull(QueueName::Standard, 10, LONG)
            .await
            .unwrap()
            .is_empty(),
        "visible during its lease"
    );
    let (again, _) = pull_eventually(q, QueueName::Standard, 10, LONG).await;
    assert!(
        start.elapsed() >= Duration::from_millis(290),
        "redelivered before the lease expired"
    );
    assert_eq!(data(&again), vec![item.to_string()]);
    assert_attempt(caps, &again[0], 2);
    q.ack(&leases(&again)).await.unwrap();
    assert_lease_lost(
        caps,
        q.ack(&leases(&first)).await,
        "ack with the expired first lease",
    );
    assert_nothing(q, caps, QueueName::Standard, "an acked message came back").await;
    assert_depth(q, caps, QueueName::Standard, 0).await;
}

/// `nack(0)` makes the message visible at once (soon, without immediate
/// visibility).
pub async fn nack_zero_redelivers_at_once(q: &dyn CrashQueue, caps: Capabilities) {
    q.publish_raw(QueueName::Standard, vec![new_id().to_string()])
        .await
        .unwrap();
    let got = pull_exactly(q, caps, QueueName::Standard, 1, 1, LONG).await;
    let nacked_at = Instant::now();
    q.nack(&leases(&got), Duration::ZERO).await.unwrap();
    let (again, _) = pull_visible(q, caps, QueueName::Standard, 1, LONG).await;
    assert!(
        nacked_at.elapsed() < PROMPT,
        "nack(0) redelivered only after {:?}",
        nacked_at.elapsed()
    );
    assert_eq!(
        data(&again),
        data(&got),
        "nack(0) did not redeliver at once"
    );
    assert_attempt(caps, &again[0], 2);
    assert_lease_lost(caps, q.ack(&leases(&got)).await, "ack of a nacked lease");
    q.ack(&leases(&again)).await.unwrap();
    assert_nothing(q, caps, QueueName::Standard, "an acked message came back").await;
    assert_depth(q, caps, QueueName::Standard, 0).await;
}

/// `nack(delay)` hides the message for `delay`, then it comes back.
pub async fn nack_delay_hides_for_the_delay(q: &dyn CrashQueue, caps: Capabilities) {
    let delay = Duration::from_millis(700);
    q.publish_raw(QueueName::Reprocessing, vec![new_id().to_string()])
        .await
        .unwrap();
    let got = pull_exactly(q, caps, QueueName::Reprocessing, 1, 1, LONG).await;
    let start = Instant::now();
    q.nack(&leases(&got), delay).await.unwrap();
    assert!(
        q.pull(QueueName::Reprocessing, 1, LONG)
            .await
            .unwrap()
            .is_empty(),
        "visible right after nack(delay)"
    );
    let (again, _) = pull_eventually(q, QueueName::Reprocessing, 1, LONG).await;
    let waited = start.elapsed();
    assert!(
        waited + Duration::from_millis(15) >= delay,
        "visible after {waited:?}, before the {delay:?} delay"
    );
    assert_eq!(data(&again), data(&got));
    q.ack(&leases(&again)).await.unwrap();
}

/// `extend` keeps a message hidden past its original lease.
pub async fn extend_keeps_the_lease(q: &dyn CrashQueue, caps: Capabilities) {
    q.publish_raw(QueueName::Standard, vec![new_id().to_string()])
        .await
        .unwrap();
    let (got, start) =
        pull_visible(q, caps, QueueName::Standard, 1, Duration::from_millis(400)).await;
    assert_eq!(got.len(), 1);
    q.extend(&leases(&got), Duration::from_secs(30))
        .await
        .unwrap();
    // Past the original lease: a negative check, so it has to wait.
    tokio::time::sleep(Duration::from_millis(900).saturating_sub(start.elapsed())).await;
    assert_nothing(q, caps, QueueName::Standard, "extended message redelivered").await;
    // The extended lease still acks.
    q.ack(&leases(&got)).await.unwrap();
    assert_nothing(q, caps, QueueName::Standard, "an acked message came back").await;
    assert_depth(q, caps, QueueName::Standard, 0).await;
}

/// A consumer whose lease expired and went to another consumer cannot ack,
/// nack or extend it; the other consumer's delivery is untouched.
pub async fn lease_lost_to_another_consumer(q: &dyn CrashQueue, caps: Capabilities) {
    q.publish_raw(QueueName::Priority, vec![new_id().to_string()])
        .await
        .unwrap();
    let (a, _) = pull_visible(q, caps, QueueName::Priority, 1, Duration::from_millis(200)).await;
    assert_eq!(a.len(), 1);
    let (b, _) = pull_eventually(q, QueueName::Priority, 1, LONG).await;
    assert_eq!(data(&b), data(&a));
    assert_ne!(
        a[0].lease, b[0].lease,
        "a redelivery must get a new lease handle"
    );
    assert_lease_lost(caps, q.ack(&leases(&a)).await, "ack of a lost lease");
    assert_lease_lost(
        caps,
        q.nack(&leases(&a), Duration::ZERO).await,
        "nack of a lost lease",
    );
    assert_lease_lost(
        caps,
        q.extend(&leases(&a), LONG).await,
        "extend of a lost lease",
    );
    if caps.lease_lost_detected {
        // B still holds it: hidden, counted, and B's ack works.
        assert_nothing(
            q,
            caps,
            QueueName::Priority,
            "a lost-lease call released B's message",
        )
        .await;
        assert_depth(q, caps, QueueName::Priority, 1).await;
        q.ack(&leases(&b)).await.unwrap();
    } else {
        // A's calls may have released or removed it: B's ack must not fail
        // otherwise, and every copy delivered since must ack.
        assert_lease_lost(caps, q.ack(&leases(&b)).await, "ack of B's lease");
        let copies = drain(q, caps, QueueName::Priority, LONG, 10).await;
        assert!(
            copies.iter().all(|m| m.data == a[0].data),
            "unexpected messages {:?}",
            data(&copies)
        );
        q.ack(&leases(&copies)).await.unwrap();
        assert_nothing(q, caps, QueueName::Priority, "an acked message came back").await;
    }
    assert_depth(q, caps, QueueName::Priority, 0).await;
    // Handles that never existed.
    for handle in ["", "garbage", "1:nope", "999999999:0000000000000000"] {
        let lease = Lease {
            queue: QueueName::Priority,
            handle: handle.to_owned(),
        };
        assert_lease_lost(
            caps,
            q.ack(std::slice::from_ref(&lease)).await,
            &format!("ack of handle {handle:?}"),
        );
    }
}

/// Messages of one queue come out oldest first (each exactly once, without
/// strict FIFO), never more than `max` per pull.
pub async fn fifo_within_a_queue(q: &dyn CrashQueue, caps: Capabilities) {
    let published: Vec<String> = (0..20).map(|_| new_id().to_string()).collect();
    for chunk in published.chunks(6) {
        q.publish_raw(QueueName::Standard, chunk.to_vec())
            .await
            .unwrap();
    }
    let mut got = Vec::new();
    let mut last = Instant::now();
    while got.len() < published.len() {
        let batch = q.pull(QueueName::Standard, 3, LONG).await.unwrap();
        assert!(batch.len() <= 3, "pull returned more than max");
        if batch.is_empty() {
            if caps.immediate_visibility || last.elapsed() >= DEADLINE {
                break;
            }
            tokio::time::sleep(POLL).await;
            continue;
        }
        last = Instant::now();
        got.extend(batch);
    }
    assert_same(caps, &got, &published, "not FIFO");
    assert_nothing(q, caps, QueueName::Standard, "more than was published").await;
    q.ack(&leases(&got)).await.unwrap();
}

/// Each queue holds only what was published to it.
pub async fn queues_are_independent(q: &dyn CrashQueue, caps: Capabilities) {
    let mut by_queue = Vec::new();
    for (queue, n) in [
        (QueueName::Standard, 2),
        (QueueName::Priority, 1),
        (QueueName::Reprocessing, 3),
    ] {
        let ids: Vec<String> = (0..n).map(|_| new_id().to_string()).collect();
        q.publish_raw(queue, ids.clone()).await.unwrap();
        by_queue.push((queue, ids));
    }
    for (queue, ids) in &by_queue {
        assert_depth(q, caps, *queue, ids.len() as u64).await;
    }
    for (queue, ids) in &by_queue {
        let got = drain(q, caps, *queue, LONG, 100).await;
        assert_same(caps, &got, ids, &format!("contents of {queue}"));
        assert!(
            got.iter()
                .all(|m| m.queue == *queue && m.lease.queue == *queue)
        );
        q.ack(&leases(&got)).await.unwrap();
        assert_depth(q, caps, *queue, 0).await;
    }
}

/// `pull_in_order` takes priority before standard before reprocessing.
pub async fn pull_in_order_takes_priority_first(q: &dyn CrashQueue, caps: Capabilities) {
    let re = new_id().to_string();
    let std_ids: Vec<String> = (0..3).map(|_| new_id().to_string()).collect();
    let prio = new_id().to_string();
    q.publish_raw(QueueName::Reprocessing, vec![re.clone()])
        .await
        .unwrap();
    q.publish_raw(QueueName::Standard, std_ids.clone())
        .await
        .unwrap();
    q.publish_raw(QueueName::Priority, vec![prio.clone()])
        .await
        .unwrap();
    if !caps.immediate_visibility {
        // Let every queue start delivering, and the messages arrive.
        for queue in QueueName::ALL {
            assert!(q.pull(queue, 0, LONG).await.unwrap().is_empty());
        }
        tokio::time::sleep(QUIET).await;
    }

    let first = pull_in_order(q, &QueueName::PROCESSING_ORDER, 2, LONG)
        .await
        .unwrap();
    assert_eq!(first.len(), 2, "{:?}", data(&first));
    assert_eq!(first[0].data, prio);
    assert_eq!(first[0].queue, QueueName::Priority);
    if caps.strict_fifo {
        assert_eq!(first[1].data, std_ids[0]);
    } else {
        assert!(std_ids.contains(&first[1].data), "{:?}", data(&first));
    }
    assert_eq!(first[1].queue, QueueName::Standard);
    let rest = pull_in_order(q, &QueueName::PROCESSING_ORDER, 10, LONG)
        .await
        .unwrap();
    let rest_std: Vec<String> = std_ids
        .iter()
        .filter(|id| **id != first[1].data)
        .cloned()
        .collect();
    assert_eq!(rest.len(), 3, "{:?}", data(&rest));
    assert_same(caps, &rest[..2], &rest_std, "the rest of standard");
    assert_eq!(rest[2].data, re);
    assert_eq!(rest[2].queue, QueueName::Reprocessing);
    let start = Instant::now();
    loop {
        let more = pull_in_order(q, &QueueName::PROCESSING_ORDER, 10, LONG)
            .await
            .unwrap();
        assert!(
            more.is_empty(),
            "more than was published: {:?}",
            data(&more)
        );
        if caps.immediate_visibility || start.elapsed() >= QUIET {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    q.ack(&leases(&first)).await.unwrap();
    q.ack(&leases(&rest)).await.unwrap();
}

/// `<id>:<ruleset>` payloads come back intact.
pub async fn ruleset_payloads_round_trip(q: &dyn CrashQueue, caps: Capabilities) {
    let items = vec![
        QueueItem::with_ruleset(new_id(), "regenerate_signature"),
        QueueItem::new(new_id()),
        QueueItem::with_ruleset(new_id(), "default"),
    ];
    q.publish(QueueName::Reprocessing, &items).await.unwrap();
    let got = drain(q, caps, QueueName::Reprocessing, LONG, 10).await;
    assert_eq!(got.len(), 3);
    let first = got
        .iter()
        .find(|m| m.data.starts_with(&items[0].crash_id.to_string()))
        .expect("the regenerate_signature item");
    assert_eq!(
        first.data,
        format!("{}:regenerate_signature", items[0].crash_id)
    );
    let back: Vec<QueueItem> = got.iter().map(|m| m.item().unwrap()).collect();
    if caps.strict_fifo {
        assert_eq!(back, items);
    } else {
        assert!(back.iter().all(|b| items.contains(b)), "{back:?}");
        assert!(items.iter().all(|i| back.contains(i)), "{back:?}");
    }
    q.ack(&leases(&got)).await.unwrap();
}

/// Payloads that are not crash ids (Antenna's `test`) are delivered unchanged.
pub async fn raw_payloads_are_delivered_as_is(q: &dyn CrashQueue, caps: Capabilities) {
    let payloads = vec![
        "test".to_owned(),
        "not a crash id: ünïcødé".to_owned(),
        "a,b;c'd\"e".to_owned(),
    ];
    q.publish_raw(QueueName::Standard, payloads.clone())
        .await
        .unwrap();
    let got = drain(q, caps, QueueName::Standard, LONG, 10).await;
    assert_same(caps, &got, &payloads, "payloads");
    let test = got.iter().find(|m| m.data == "test").unwrap();
    assert!(test.item().is_err(), "`test` must not parse as a crash id");
    q.ack(&leases(&got)).await.unwrap();
    assert_nothing(q, caps, QueueName::Standard, "an acked message came back").await;
    assert_depth(q, caps, QueueName::Standard, 0).await;
}

/// 8 consumers over 1,000 messages: nobody holds a message another holds,
/// and every message is delivered exactly once when all ack.
pub async fn concurrent_consumers_share_nothing(q: &dyn CrashQueue, caps: Capabilities) {
    const N: usize = 1000;
    let all: Vec<String> = (0..N).map(|i| format!("{}-{i:04}", new_id())).collect();
    // Publish from 10 concurrent publishers.
    join_all(all.chunks(100).map(|chunk| async move {
        for part in chunk.chunks(10) {
            q.publish_raw(QueueName::Standard, part.to_vec())
                .await
                .unwrap();
        }
    }))
    .await;
    assert_depth(q, caps, QueueName::Standard, N as u64).await;

    let seen: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
    let seen = &seen;
    let total = AtomicUsize::new(0);
    let total = &total;
    let progress = Mutex::new(Instant::now());
    let progress = &progress;
    let per_consumer = join_all((0..8).map(|_| async move {
        let mut count = 0usize;
        loop {
            let got = q.pull(QueueName::Standard, 10, LONG).await.unwrap();
            if got.is_empty() {
                // Without immediate visibility, wait while others still get
                // messages (the rest may be on its way).
                if caps.immediate_visibility
                    || total.load(Ordering::SeqCst) >= N
                    || progress.lock().unwrap().elapsed() >= DEADLINE
                {
                    break;
                }
                tokio::time::sleep(POLL).await;
                continue;
            }
            {
                let mut seen = seen.lock().unwrap();
                for m in &got {
                    assert!(seen.insert(m.data.clone()), "{} delivered twice", m.data);
                }
            }
            *progress.lock().unwrap() = Instant::now();
            total.fetch_add(got.len(), Ordering::SeqCst);
            count += got.len();
            q.ack(&leases(&got)).await.unwrap();
        }
        count
    }))
    .await;
    let seen: HashSet<String> = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), N, "delivered {} of {N}", seen.len());
    assert_eq!(per_consumer.iter().sum::<usize>(), N);
    assert!(all.iter().all(|d| seen.contains(d)));
    assert_nothing(q, caps, QueueName::Standard, "an acked message came back").await;
    assert_depth(q, caps, QueueName::Standard, 0).await;
}

/// `depth` counts every unacked message, leased or not, per queue.
pub async fn depth_counts_unacked_messages(q: &dyn CrashQueue, caps: Capabilities) {
    if q.depth(QueueName::Standard).await.unwrap().is_none() {
        assert!(!caps.exact_depth, "exact_depth, yet depth is None");
        return; // The backend cannot tell; nothing more to check.
    }
    assert_depth(q, caps, QueueName::Standard, 0).await;
    q.publish_raw(
        QueueName::Standard,
        (0..5).map(|_| new_id().to_string()).collect(),
    )
    .await
    .unwrap();
    assert_depth(q, caps, QueueName::Standard, 5).await;
    assert_depth(q, caps, QueueName::Priority, 0).await;
    let two = pull_exactly(q, caps, QueueName::Standard, 2, 2, LONG).await;
    assert_depth(q, caps, QueueName::Standard, 5).await;
    q.ack(&leases(&two[..1])).await.unwrap();
    assert_depth(q, caps, QueueName::Standard, 4).await;
    q.nack(&leases(&two[1..]), Duration::ZERO).await.unwrap();
    assert_depth(q, caps, QueueName::Standard, 4).await;
    let rest = drain(q, caps, QueueName::Standard, LONG, 10).await;
    assert_eq!(rest.len(), 4);
    q.ack(&leases(&rest)).await.unwrap();
    assert_depth(q, caps, QueueName::Standard, 0).await;
}

/// Empty calls are no-ops; a partly lost ack still acks the held leases.
pub async fn edge_cases(q: &dyn CrashQueue, caps: Capabilities) {
    q.publish_raw(QueueName::Standard, Vec::new())
        .await
        .unwrap();
    q.publish(QueueName::Standard, &[]).await.unwrap();
    q.ack(&[]).await.unwrap();
    q.nack(&[], Duration::ZERO).await.unwrap();
    q.extend(&[], LONG).await.unwrap();
    assert_depth(q, caps, QueueName::Standard, 0).await;
    q.publish_raw(QueueName::Standard, vec!["x".into(), "y".into()])
        .await
        .unwrap();
    assert!(
        q.pull(QueueName::Standard, 0, LONG)
            .await
            .unwrap()
            .is_empty(),
        "pull(max=0) returned messages"
    );
    let got = pull_exactly(q, caps, QueueName::Standard, 10, 2, LONG).await;
    let bogus = Lease {
        queue: QueueName::Standard,
        handle: "bogus".into(),
    };
    let mut mixed = leases(&got);
    mixed.push(bogus);
    assert_lease_lost(caps, q.ack(&mixed).await, "ack with one unknown lease");
    assert_nothing(
        q,
        caps,
        QueueName::Standard,
        "the held leases were not acked",
    )
    .await;
    assert_depth(q, caps, QueueName::Standard, 0).await;
    q.check_health().await.unwrap();
}
