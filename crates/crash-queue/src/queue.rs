//! The [`CrashQueue`] trait.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crash_storage::CrashIdError;

use crate::{QueueError, QueueItem, QueueName};

/// The handle that acks, nacks or extends one delivered message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The queue the message came from.
    pub queue: QueueName,
    /// Backend-specific, opaque (SQLite: message id + lease token, valid in
    /// any process on the file; Pub/Sub: a sequence number valid only in the
    /// queue object that pulled the message).
    pub handle: String,
}

/// One delivered message.
#[derive(Debug, Clone)]
pub struct Message {
    /// The queue the message came from.
    pub queue: QueueName,
    /// The payload as published: `<crash id>` or `<crash id>:<ruleset>`.
    /// Anything else (Antenna's startup `test` message) is acked and dropped.
    pub data: String,
    /// The handle to ack, nack or extend this delivery with.
    pub lease: Lease,
    /// 1 on first delivery; counts redeliveries (0 if the backend cannot tell).
    pub delivery_attempt: u32,
    /// When it was published, if the backend records it.
    pub published_at: Option<DateTime<Utc>>,
}

impl Message {
    /// The payload as a crash id (and ruleset); an error for anything else.
    pub fn item(&self) -> Result<QueueItem, CrashIdError> {
        self.data.parse()
    }
}

/// A durable at-least-once queue of crash ids.
///
/// Contract (checked by the conformance suite):
/// - `publish` returns only once the messages are durable.
/// - A pulled message is invisible to other consumers until its lease expires,
///   it is nacked, or its lease is extended further.
/// - `ack` removes it for good; acking an expired lease that someone else now
///   holds is `LeaseLost` and does not remove the other consumer's message.
/// - `nack(delay)` makes it visible again after `delay`.
/// - Messages within one queue come out oldest first (best effort for Pub/Sub).
///
/// What a backend does not guarantee is spelled out by the conformance
/// suite's `Capabilities` (Pub/Sub: messages become pullable shortly after
/// `publish`, not at once; no order; no depth; no delivery count).
#[async_trait]
pub trait CrashQueue: Send + Sync + 'static {
    /// Publish raw payloads (normally from [`QueueItem`]s; see [`Self::publish`]).
    async fn publish_raw(&self, queue: QueueName, data: Vec<String>) -> Result<(), QueueError>;

    /// Publish crash ids (with optional ruleset).
    async fn publish(&self, queue: QueueName, items: &[QueueItem]) -> Result<(), QueueError> {
        self.publish_raw(queue, items.iter().map(ToString::to_string).collect())
            .await
    }

    /// Pull up to `max` messages, leasing each for `lease`. Returns at once
    /// (possibly empty) rather than waiting for messages.
    async fn pull(
        &self,
        queue: QueueName,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Message>, QueueError>;

    /// Remove delivered messages for good. Leases still held are acked even
    /// when others are not; then the result is `LeaseLost` naming those.
    async fn ack(&self, leases: &[Lease]) -> Result<(), QueueError>;

    /// Give messages back; they become visible again after `delay`.
    async fn nack(&self, leases: &[Lease], delay: Duration) -> Result<(), QueueError>;

    /// Extend leases to `lease` from now (long-running crashes).
    async fn extend(&self, leases: &[Lease], lease: Duration) -> Result<(), QueueError>;

    /// Messages not yet acked in a queue, if the backend can tell cheaply.
    async fn depth(&self, queue: QueueName) -> Result<Option<u64>, QueueError>;

    /// A real round trip to the backend (for `/__heartbeat__`).
    async fn check_health(&self) -> Result<(), QueueError>;

    /// Human-readable description for logs (`sqlite:/data/queue.sqlite`).
    fn describe(&self) -> String;

    /// Wait at most `max` for messages to be published: what an idle
    /// consumer does between pulls. Backends that see publishes of the same
    /// process (SQLite, when `socorro run` hosts collector and processor
    /// together) return as soon as one lands; the others just sleep.
    async fn wait_for_messages(&self, max: Duration) {
        tokio::time::sleep(max).await;
    }
}

/// Pull up to `max` messages, taking from the queues in the given order
/// (normally [`QueueName::PROCESSING_ORDER`]: priority, standard, reprocessing).
///
/// If a later queue fails after earlier ones delivered messages, those
/// messages are returned (and the error logged) rather than dropped, since
/// they are already leased; the error surfaces on the next call.
pub async fn pull_in_order(
    queue: &dyn CrashQueue,
    order: &[QueueName],
    max: usize,
    lease: Duration,
) -> Result<Vec<Message>, QueueError> {
    let mut out = Vec::new();
    for &name in order {
        let room = max.saturating_sub(out.len());
        if room == 0 {
            break;
        }
        match queue.pull(name, room, lease).await {
            Ok(messages) => out.extend(messages),
            Err(error) if !out.is_empty() => {
                tracing::warn!(%error, queue = %name, delivered = out.len(), "pull failed; returning the messages already leased");
                break;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Priority has one message; standard always fails.
    struct HalfBroken;

    #[async_trait]
    impl CrashQueue for HalfBroken {
        async fn publish_raw(&self, _: QueueName, _: Vec<String>) -> Result<(), QueueError> {
            Ok(())
        }
        async fn pull(
            &self,
            queue: QueueName,
            _: usize,
            _: Duration,
        ) -> Result<Vec<Message>, QueueError> {
            match queue {
                QueueName::Priority => Ok(vec![Message {
                    queue,
                    data: "x".into(),
                    lease: Lease {
                        queue,
                        handle: "1:t".into(),
                    },
                    delivery_attempt: 1,
                    published_at: None,
                }]),
                _ => Err(QueueError::transient("pull", "down")),
            }
        }
        async fn ack(&self, _: &[Lease]) -> Result<(), QueueError> {
            Ok(())
        }
        async fn nack(&self, _: &[Lease], _: Duration) -> Result<(), QueueError> {
            Ok(())
        }
        async fn extend(&self, _: &[Lease], _: Duration) -> Result<(), QueueError> {
            Ok(())
        }
        async fn depth(&self, _: QueueName) -> Result<Option<u64>, QueueError> {
            Ok(None)
        }
        async fn check_health(&self) -> Result<(), QueueError> {
            Ok(())
        }
        fn describe(&self) -> String {
            "half broken".into()
        }
    }

    #[tokio::test]
    async fn pull_in_order_keeps_messages_already_leased() {
        let got = pull_in_order(
            &HalfBroken,
            &QueueName::PROCESSING_ORDER,
            5,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].queue, QueueName::Priority);
        let err = pull_in_order(
            &HalfBroken,
            &[QueueName::Standard, QueueName::Priority],
            5,
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(err.is_transient());
    }
}
