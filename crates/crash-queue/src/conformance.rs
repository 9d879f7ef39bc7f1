//! Conformance suite every [`CrashQueue`] backend runs (feature `testsuite`).
//!
//! Each check is a public function taking an **empty** queue, so a backend's
//! tests can run them one by one; [`run_all`] runs every check at once, each
//! on a fresh queue from `make`. A check panics on the first failure.
//!
//! Timing checks use short leases and poll with deadlines; the backend's
//! clock granularity must be 10 ms or better.

// A test suite: panicking with a message is how a check fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use crash_storage::{CrashId, ThrottleDigit};
use futures_util::future::join_all;

use crate::{CrashQueue, Lease, Message, QueueError, QueueItem, QueueName, pull_in_order};

const LONG: Duration = Duration::from_secs(60);
const DEADLINE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(10);

fn new_id() -> CrashId {
    CrashId::generate(ThrottleDigit::Accept, Utc::now().date_naive())
}

fn leases(messages: &[Message]) -> Vec<Lease> {
    messages.iter().map(|m| m.lease.clone()).collect()
}

fn data(messages: &[Message]) -> Vec<String> {
    messages.iter().map(|m| m.data.clone()).collect()
}

#[track_caller]
fn assert_lease_lost(result: Result<(), QueueError>, what: &str) {
    match result {
        Err(QueueError::LeaseLost(_)) => {}
        other => panic!("{what}: expected LeaseLost, got {other:?}"),
    }
}

async fn assert_depth(q: &dyn CrashQueue, queue: QueueName, want: u64) {
    if let Some(depth) = q.depth(queue).await.unwrap() {
        assert_eq!(depth, want, "depth of {queue}");
    }
}

/// Pull everything currently visible (up to `limit` messages).
async fn drain(
    q: &dyn CrashQueue,
    queue: QueueName,
    lease: Duration,
    limit: usize,
) -> Vec<Message> {
    let mut out = Vec::new();
    while out.len() < limit {
        let got = q.pull(queue, 7, lease).await.unwrap();
        if got.is_empty() {
            break;
        }
        out.extend(got);
    }
    out
}

/// Poll until a pull returns something; panics after [`DEADLINE`].
async fn pull_eventually(q: &dyn CrashQueue, queue: QueueName, lease: Duration) -> Vec<Message> {
    let start = Instant::now();
    loop {
        let got = q.pull(queue, 10, lease).await.unwrap();
        if !got.is_empty() {
            return got;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no message on {queue} within {DEADLINE:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Run every check, concurrently, each on a fresh empty queue from `make`.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn CrashQueue>>,
{
    macro_rules! checks {
        ($($check:ident),* $(,)?) => {{
            let mut all: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + '_>>> = Vec::new();
            $(
                let q = make().await;
                all.push(Box::pin(async move { $check(q.as_ref()).await }));
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
pub async fn publish_pull_ack(q: &dyn CrashQueue) {
    assert!(!q.describe().is_empty());
    q.check_health().await.unwrap();
    let items: Vec<QueueItem> = (0..3).map(|_| QueueItem::new(new_id())).collect();
    let before = Utc::now();
    q.publish(QueueName::Standard, &items).await.unwrap();
    let got = q.pull(QueueName::Standard, 10, LONG).await.unwrap();
    assert_eq!(
        data(&got),
        items.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
    for m in &got {
        assert_eq!(m.queue, QueueName::Standard);
        assert_eq!(m.lease.queue, QueueName::Standard);
        assert!(
            m.delivery_attempt == 1 || m.delivery_attempt == 0,
            "first delivery attempt {}",
            m.delivery_attempt
        );
        if let Some(at) = m.published_at {
            let skew = chrono::Duration::seconds(60);
            assert!(
                at >= before - skew && at <= Utc::now() + skew,
                "published_at {at}"
            );
        }
        assert_eq!(
            m.item().unwrap(),
            items[got.iter().position(|x| x.data == m.data).unwrap()]
        );
    }
    let handles: HashSet<&str> = got.iter().map(|m| m.lease.handle.as_str()).collect();
    assert_eq!(handles.len(), 3, "lease handles must be distinct");
    assert!(
        q.pull(QueueName::Standard, 10, LONG)
            .await
            .unwrap()
            .is_empty(),
        "a leased message was pulled again"
    );
    q.ack(&leases(&got)).await.unwrap();
    assert!(
        q.pull(QueueName::Standard, 10, LONG)
            .await
            .unwrap()
            .is_empty(),
        "an acked message came back"
    );
    assert_depth(q, QueueName::Standard, 0).await;
}

/// An unacked message comes back after its lease expires, marked as a redelivery.
pub async fn at_least_once(q: &dyn CrashQueue) {
    let item = QueueItem::new(new_id());
    q.publish(QueueName::Standard, std::slice::from_ref(&item))
        .await
        .unwrap();
    let start = Instant::now();
    let first = q
        .pull(QueueName::Standard, 10, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(data(&first), vec![item.to_string()]);
    assert!(
        q.pull(QueueName::Standard, 10, LONG)
            .await
            .unwrap()
            .is_empty(),
        "visible during its lease"
    );
    let again = pull_eventually(q, QueueName::Standard, LONG).await;
    assert!(
        start.elapsed() >= Duration::from_millis(290),
        "redelivered before the lease expired"
    );
    assert_eq!(data(&again), vec![item.to_string()]);
    if again[0].delivery_attempt != 0 {
        assert_eq!(again[0].delivery_attempt, 2, "redelivery attempt");
    }
    q.ack(&leases(&again)).await.unwrap();
    assert_lease_lost(
        q.ack(&leases(&first)).await,
        "ack with the expired first lease",
    );
    assert_depth(q, QueueName::Standard, 0).await;
}

/// `nack(0)` makes the message visible at once.
pub async fn nack_zero_redelivers_at_once(q: &dyn CrashQueue) {
    q.publish_raw(QueueName::Standard, vec![new_id().to_string()])
        .await
        .unwrap();
    let got = q.pull(QueueName::Standard, 1, LONG).await.unwrap();
    assert_eq!(got.len(), 1);
    q.nack(&leases(&got), Duration::ZERO).await.unwrap();
    let again = q.pull(QueueName::Standard, 1, LONG).await.unwrap();
    assert_eq!(
        data(&again),
        data(&got),
        "nack(0) did not redeliver at once"
    );
    if again[0].delivery_attempt != 0 {
        assert_eq!(again[0].delivery_attempt, 2);
    }
    assert_lease_lost(q.ack(&leases(&got)).await, "ack of a nacked lease");
    q.ack(&leases(&again)).await.unwrap();
    assert_depth(q, QueueName::Standard, 0).await;
}

/// `nack(delay)` hides the message for `delay`, then it comes back.
pub async fn nack_delay_hides_for_the_delay(q: &dyn CrashQueue) {
    let delay = Duration::from_millis(700);
    q.publish_raw(QueueName::Reprocessing, vec![new_id().to_string()])
        .await
        .unwrap();
    let got = q.pull(QueueName::Reprocessing, 1, LONG).await.unwrap();
    let start = Instant::now();
    q.nack(&leases(&got), delay).await.unwrap();
    assert!(
        q.pull(QueueName::Reprocessing, 1, LONG)
            .await
            .unwrap()
            .is_empty(),
        "visible right after nack(delay)"
    );
    let again = pull_eventually(q, QueueName::Reprocessing, LONG).await;
    let waited = start.elapsed();
    assert!(
        waited + Duration::from_millis(15) >= delay,
        "visible after {waited:?}, before the {delay:?} delay"
    );
    assert_eq!(data(&again), data(&got));
    q.ack(&leases(&again)).await.unwrap();
}

/// `extend` keeps a message hidden past its original lease.
pub async fn extend_keeps_the_lease(q: &dyn CrashQueue) {
    q.publish_raw(QueueName::Standard, vec![new_id().to_string()])
        .await
        .unwrap();
    let start = Instant::now();
    let got = q
        .pull(QueueName::Standard, 1, Duration::from_millis(400))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    q.extend(&leases(&got), Duration::from_secs(30))
        .await
        .unwrap();
    // Past the original lease: a negative check, so it has to wait.
    tokio::time::sleep(Duration::from_millis(900).saturating_sub(start.elapsed())).await;
    assert!(
        q.pull(QueueName::Standard, 1, LONG)
            .await
            .unwrap()
            .is_empty(),
        "extended message redelivered"
    );
    // The extended lease still acks.
    q.ack(&leases(&got)).await.unwrap();
    assert_depth(q, QueueName::Standard, 0).await;
}

/// A consumer whose lease expired and went to another consumer cannot ack,
/// nack or extend it; the other consumer's delivery is untouched.
pub async fn lease_lost_to_another_consumer(q: &dyn CrashQueue) {
    q.publish_raw(QueueName::Priority, vec![new_id().to_string()])
        .await
        .unwrap();
    let a = q
        .pull(QueueName::Priority, 1, Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(a.len(), 1);
    let b = pull_eventually(q, QueueName::Priority, LONG).await;
    assert_eq!(data(&b), data(&a));
    assert_ne!(
        a[0].lease, b[0].lease,
        "a redelivery must get a new lease handle"
    );
    assert_lease_lost(q.ack(&leases(&a)).await, "ack of a lost lease");
    assert_lease_lost(
        q.nack(&leases(&a), Duration::ZERO).await,
        "nack of a lost lease",
    );
    assert_lease_lost(q.extend(&leases(&a), LONG).await, "extend of a lost lease");
    // B still holds it: hidden, counted, and B's ack works.
    assert!(
        q.pull(QueueName::Priority, 1, LONG)
            .await
            .unwrap()
            .is_empty(),
        "a lost-lease call released B's message"
    );
    assert_depth(q, QueueName::Priority, 1).await;
    q.ack(&leases(&b)).await.unwrap();
    assert_depth(q, QueueName::Priority, 0).await;
    // Handles that never existed.
    for handle in ["", "garbage", "1:nope", "999999999:0000000000000000"] {
        let lease = Lease {
            queue: QueueName::Priority,
            handle: handle.to_owned(),
        };
        assert_lease_lost(
            q.ack(std::slice::from_ref(&lease)).await,
            &format!("ack of handle {handle:?}"),
        );
    }
}

/// Messages of one queue come out oldest first.
pub async fn fifo_within_a_queue(q: &dyn CrashQueue) {
    let published: Vec<String> = (0..20).map(|_| new_id().to_string()).collect();
    for chunk in published.chunks(6) {
        q.publish_raw(QueueName::Standard, chunk.to_vec())
            .await
            .unwrap();
    }
    let mut got = Vec::new();
    loop {
        let batch = q.pull(QueueName::Standard, 3, LONG).await.unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 3, "pull returned more than max");
        got.extend(batch);
    }
    assert_eq!(data(&got), published, "not FIFO");
    q.ack(&leases(&got)).await.unwrap();
}

/// Each queue holds only what was published to it.
pub async fn queues_are_independent(q: &dyn CrashQueue) {
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
        assert_depth(q, *queue, ids.len() as u64).await;
    }
    for (queue, ids) in &by_queue {
        let got = drain(q, *queue, LONG, 100).await;
        assert_eq!(&data(&got), ids, "contents of {queue}");
        assert!(
            got.iter()
                .all(|m| m.queue == *queue && m.lease.queue == *queue)
        );
        q.ack(&leases(&got)).await.unwrap();
        assert_depth(q, *queue, 0).await;
    }
}

/// `pull_in_order` takes priority before standard before reprocessing.
pub async fn pull_in_order_takes_priority_first(q: &dyn CrashQueue) {
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

    let first = pull_in_order(q, &QueueName::PROCESSING_ORDER, 2, LONG)
        .await
        .unwrap();
    assert_eq!(data(&first), vec![prio.clone(), std_ids[0].clone()]);
    assert_eq!(first[0].queue, QueueName::Priority);
    let rest = pull_in_order(q, &QueueName::PROCESSING_ORDER, 10, LONG)
        .await
        .unwrap();
    assert_eq!(
        data(&rest),
        vec![std_ids[1].clone(), std_ids[2].clone(), re.clone()]
    );
    assert_eq!(rest[2].queue, QueueName::Reprocessing);
    assert!(
        pull_in_order(q, &QueueName::PROCESSING_ORDER, 10, LONG)
            .await
            .unwrap()
            .is_empty()
    );
    q.ack(&leases(&first)).await.unwrap();
    q.ack(&leases(&rest)).await.unwrap();
}

/// `<id>:<ruleset>` payloads come back intact.
pub async fn ruleset_payloads_round_trip(q: &dyn CrashQueue) {
    let items = vec![
        QueueItem::with_ruleset(new_id(), "regenerate_signature"),
        QueueItem::new(new_id()),
        QueueItem::with_ruleset(new_id(), "default"),
    ];
    q.publish(QueueName::Reprocessing, &items).await.unwrap();
    let got = drain(q, QueueName::Reprocessing, LONG, 10).await;
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0].data,
        format!("{}:regenerate_signature", items[0].crash_id)
    );
    let back: Vec<QueueItem> = got.iter().map(|m| m.item().unwrap()).collect();
    assert_eq!(back, items);
    q.ack(&leases(&got)).await.unwrap();
}

/// Payloads that are not crash ids (Antenna's `test`) are delivered unchanged.
pub async fn raw_payloads_are_delivered_as_is(q: &dyn CrashQueue) {
    let payloads = vec![
        "test".to_owned(),
        "not a crash id: ünïcødé".to_owned(),
        "a,b;c'd\"e".to_owned(),
    ];
    q.publish_raw(QueueName::Standard, payloads.clone())
        .await
        .unwrap();
    let got = drain(q, QueueName::Standard, LONG, 10).await;
    assert_eq!(data(&got), payloads);
    assert!(
        got[0].item().is_err(),
        "`test` must not parse as a crash id"
    );
    q.ack(&leases(&got)).await.unwrap();
    assert_depth(q, QueueName::Standard, 0).await;
}

/// 8 consumers over 1,000 messages: nobody holds a message another holds,
/// and every message is delivered exactly once when all ack.
pub async fn concurrent_consumers_share_nothing(q: &dyn CrashQueue) {
    let all: Vec<String> = (0..1000).map(|i| format!("{}-{i:04}", new_id())).collect();
    // Publish from 10 concurrent publishers.
    join_all(all.chunks(100).map(|chunk| async move {
        for part in chunk.chunks(10) {
            q.publish_raw(QueueName::Standard, part.to_vec())
                .await
                .unwrap();
        }
    }))
    .await;
    assert_depth(q, QueueName::Standard, 1000).await;

    let seen: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
    let seen = &seen;
    let per_consumer = join_all((0..8).map(|_| async move {
        let mut count = 0usize;
        loop {
            let got = q.pull(QueueName::Standard, 10, LONG).await.unwrap();
            if got.is_empty() {
                break;
            }
            {
                let mut seen = seen.lock().unwrap();
                for m in &got {
                    assert!(seen.insert(m.data.clone()), "{} delivered twice", m.data);
                }
            }
            count += got.len();
            q.ack(&leases(&got)).await.unwrap();
        }
        count
    }))
    .await;
    let seen: HashSet<String> = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), 1000, "delivered {} of 1000", seen.len());
    assert_eq!(per_consumer.iter().sum::<usize>(), 1000);
    assert!(all.iter().all(|d| seen.contains(d)));
    assert_depth(q, QueueName::Standard, 0).await;
}

/// `depth` counts every unacked message, leased or not, per queue.
pub async fn depth_counts_unacked_messages(q: &dyn CrashQueue) {
    if q.depth(QueueName::Standard).await.unwrap().is_none() {
        return; // The backend cannot tell; nothing to check.
    }
    assert_depth(q, QueueName::Standard, 0).await;
    q.publish_raw(
        QueueName::Standard,
        (0..5).map(|_| new_id().to_string()).collect(),
    )
    .await
    .unwrap();
    assert_depth(q, QueueName::Standard, 5).await;
    assert_depth(q, QueueName::Priority, 0).await;
    let two = q.pull(QueueName::Standard, 2, LONG).await.unwrap();
    assert_depth(q, QueueName::Standard, 5).await;
    q.ack(&leases(&two[..1])).await.unwrap();
    assert_depth(q, QueueName::Standard, 4).await;
    q.nack(&leases(&two[1..]), Duration::ZERO).await.unwrap();
    assert_depth(q, QueueName::Standard, 4).await;
    let rest = drain(q, QueueName::Standard, LONG, 10).await;
    assert_eq!(rest.len(), 4);
    q.ack(&leases(&rest)).await.unwrap();
    assert_depth(q, QueueName::Standard, 0).await;
}

/// Empty calls are no-ops; a partly lost ack still acks the held leases.
pub async fn edge_cases(q: &dyn CrashQueue) {
    q.publish_raw(QueueName::Standard, Vec::new())
        .await
        .unwrap();
    q.publish(QueueName::Standard, &[]).await.unwrap();
    q.ack(&[]).await.unwrap();
    q.nack(&[], Duration::ZERO).await.unwrap();
    q.extend(&[], LONG).await.unwrap();
    assert_depth(q, QueueName::Standard, 0).await;
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
    let got = q.pull(QueueName::Standard, 10, LONG).await.unwrap();
    assert_eq!(got.len(), 2);
    let bogus = Lease {
        queue: QueueName::Standard,
        handle: "bogus".into(),
    };
    let mut mixed = leases(&got);
    mixed.push(bogus);
    assert_lease_lost(q.ack(&mixed).await, "ack with one unknown lease");
    assert_depth(q, QueueName::Standard, 0).await;
    q.check_health().await.unwrap();
}
