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
        retry(&self.policy, QueueError::is_transient, || {
            self.inner.publish_raw(queue, data.clone())
        })
        .await
    }

    async fn pull(
        &self,
        queue: QueueName,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Message>, QueueError> {
        retry(&self.policy, QueueError::is_transient, || {
            self.inner.pull(queue, max, lease)
        })
        .await
    }

    async fn ack(&self, leases: &[Lease]) -> Result<(), QueueError> {
        retry(&self.policy, QueueError::is_transient, || {
            self.inner.ack(leases)
        })
        .await
    }

    async fn nack(&self, leases: &[Lease], delay: Duration) -> Result<(), QueueError> {
        retry(&self.policy, QueueError::is_transient, || {
            self.inner.nack(leases, delay)
        })
        .await
    }

    async fn extend(&self, leases: &[Lease], lease: Duration) -> Result<(), QueueError> {
        retry(&self.policy, QueueError::is_transient, || {
            self.inner.extend(leases, lease)
        })
        .await
    }

    async fn depth(&self, queue: QueueName) -> Result<Option<u64>, QueueError> {
        retry(&self.policy, QueueError::is_transient, || {
            self.inner.depth(queue)
        })
        .await
    }

    async fn check_health(&self) -> Result<(), QueueError> {
        self.inner.check_health().await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn wait_for_messages(&self, max: Duration) {
        self.inner.wait_for_messages(max).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Fails the first `failures` calls of each method with `make_error`.
    struct Flaky {
        failures: u32,
        make_error: fn() -> QueueError,
        calls: AtomicU32,
    }

    impl Flaky {
        fn new(failures: u32, make_error: fn() -> QueueError) -> Self {
            Self {
                failures,
                make_error,
                calls: AtomicU32::new(0),
            }
        }

        fn call(&self) -> Result<(), QueueError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n < self.failures {
                Err((self.make_error)())
            } else {
                Ok(())
            }
        }
    }

    #[async_trait]
    impl CrashQueue for Flaky {
        async fn publish_raw(&self, _: QueueName, data: Vec<String>) -> Result<(), QueueError> {
            assert_eq!(
                data,
                vec!["a".to_owned()],
                "every retry publishes the same data"
            );
            self.call()
        }
        async fn pull(
            &self,
            _: QueueName,
            _: usize,
            _: Duration,
        ) -> Result<Vec<Message>, QueueError> {
            self.call().map(|()| Vec::new())
        }
        async fn ack(&self, _: &[Lease]) -> Result<(), QueueError> {
            self.call()
        }
        async fn nack(&self, _: &[Lease], _: Duration) -> Result<(), QueueError> {
            self.call()
        }
        async fn extend(&self, _: &[Lease], _: Duration) -> Result<(), QueueError> {
            self.call()
        }
        async fn depth(&self, _: QueueName) -> Result<Option<u64>, QueueError> {
            self.call().map(|()| Some(0))
        }
        async fn check_health(&self) -> Result<(), QueueError> {
            self.call()
        }
        fn describe(&self) -> String {
            "flaky".into()
        }
    }

    fn fast(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
        }
    }

    fn transient() -> QueueError {
        QueueError::transient("test", "busy")
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success() {
        let q = Retrying::new(Flaky::new(3, transient), fast(5));
        q.publish_raw(QueueName::Standard, vec!["a".into()])
            .await
            .unwrap();
        assert_eq!(
            q.inner().calls.load(Ordering::SeqCst),
            4,
            "3 failures then success = 4 attempts"
        );
        assert!(
            q.pull(QueueName::Standard, 1, Duration::from_secs(1))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(q.inner().calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let q = Retrying::new(Flaky::new(100, transient), fast(3));
        assert!(q.ack(&[]).await.unwrap_err().is_transient());
        assert_eq!(q.inner().calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn lease_lost_and_permanent_are_not_retried() {
        let q = Retrying::new(
            Flaky::new(1, || QueueError::LeaseLost("1:x".into())),
            fast(5),
        );
        assert!(matches!(q.ack(&[]).await, Err(QueueError::LeaseLost(_))));
        assert_eq!(q.inner().calls.load(Ordering::SeqCst), 1);
        let q = Retrying::new(
            Flaky::new(1, || QueueError::permanent("test", "no")),
            fast(5),
        );
        assert!(matches!(
            q.nack(&[], Duration::ZERO).await,
            Err(QueueError::Permanent { .. })
        ));
        assert_eq!(q.inner().calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn health_is_not_retried() {
        let q = Retrying::new(Flaky::new(1, transient), fast(5));
        assert!(q.check_health().await.is_err());
        assert_eq!(q.inner().calls.load(Ordering::SeqCst), 1);
    }
}
