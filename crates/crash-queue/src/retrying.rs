//! [`Retrying`]: a [`CrashQueue`] decorator that retries transient errors.

use std::time::Duration;

use async_trait::async_trait;
use crash_storage::retry::{RetryPolicy, retry};

use crate::{CrashQueue, Lease, Message, QueueError, QueueName};

/// Wraps any [`CrashQueue`] and retries each call that fails with a
/// transient error ([`QueueError::is_transient`]) per its [`RetryPolicy`].
/// `LeaseLost` and permanent errors are returned at once.
///
/// Retries keep at-least-once delivery: a publish whose commit succeeded but
/// whose answer was lost may be stored twice, and an ack retried after such a
/// failure reports `LeaseLost` although the message is gone. `check_health`
/// is not retried: a heartbeat reports the backend's state now.
#[derive(Debug, Clone)]
pub struct Retrying<Q> {
    inner: Q,
    policy: RetryPolicy,
}

impl<Q: CrashQueue> Retrying<Q> {
    /// Retry calls to `inner` per `policy`.
    pub fn new(inner: Q, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }

    /// The wrapped queue.
    pub fn inner(&self) -> &Q {
        &self.inner
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

#[async_trait]
impl<Q: CrashQueue> CrashQueue for Retrying<Q> {
    async fn publish_raw(&self, queue: QueueName, data: Vec<String>) -> Result<(), QueueError> {
        retry(&self.policy, QueueError::is_transient, || self.inner.publish_raw(queue, data.clone())).await
    }

    async fn pull(&self, queue: QueueName, max: usize, lease: Duration) -> Result<Vec<Message>, QueueError> {
        retry(&self.policy, QueueError::is_transient, || self.inner.pull(queue, max, lease)).await
    }

    async fn ack(&self, leases: &[Lease]) -> Result<(), QueueError> {
        retry(&self.policy, QueueError::is_transient, || self.inner.ack(leases)).await
    }

    async fn nack(&self, leases: &[Lease], delay: Duration) -> Result<(), QueueError> {
        retry(&self.policy, QueueError::is_transient, || self.inner.nack(leases, delay)).await
    }

    async fn extend(&self, leases: &[Lease], lease: Duration) -> Result<(), QueueError> {
        retry(&self.policy, QueueError::is_transient, || self.inner.extend(leases, lease)).await
    }

    async fn depth(&self, queue: QueueName) -> Result<Option<u64>, QueueError> {
        retry(&self.policy, QueueError::is_transient, || self.inner.depth(queue)).await
    }

    async fn check_health(&self) -> Result<(), QueueError> {
        self.inner.check_health().await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}
