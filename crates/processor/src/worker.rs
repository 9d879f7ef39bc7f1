//! The worker pool: pull (priority, standard, reprocessing) -> process ->
//! save -> ack. At least once: a message is acked only after its processed
//! crash was saved; failures are nacked and retried, and after
//! `max_attempts` deliveries the crash is parked in the dead-letter list.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crash_queue::{CrashQueue, Lease, Message, QueueName, pull_in_order};
use futures_util::FutureExt as _;
use tokio_util::sync::CancellationToken;

use crate::error::ProcessError;
use crate::processor::Processor;

/// What happened to one message (for tests and logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Processed, saved, acked.
    Processed,
    /// `test` message or unparseable data: acked and dropped (recorded as a dead letter when it is not `test`).
    Dropped,
    /// Raw crash missing: acked, nothing saved (Socorro's behaviour).
    RawMissing,
    /// Failed; nacked for a later retry.
    Retry(String),
    /// Failed too often: dead-lettered and acked.
    DeadLettered(String),
    /// Failed and could not be nacked or recorded: the lease will expire.
    LeaseLeft(String),
}

impl Processor {
    /// Runs `workers` workers (0 = cores) until `shutdown`; in-flight crashes
    /// are finished (bounded by the time budget) before this returns.
    pub async fn run_workers(self: Arc<Self>, shutdown: CancellationToken) {
        let n = self.settings.worker_count();
        tracing::info!(workers = n, ruleset = %self.settings.ruleset, "processor workers starting");
        let mut tasks = tokio::task::JoinSet::new();
        for index in 0..n {
            let me = Arc::clone(&self);
            let stop = shutdown.clone();
            tasks.spawn(async move { me.worker(index, stop).await });
        }
        while let Some(res) = tasks.join_next().await {
            if let Err(e) = res {
                tracing::error!(error = %e, "processor worker died");
            }
        }
        tracing::info!("processor workers stopped");
    }

    async fn worker(&self, index: usize, shutdown: CancellationToken) {
        let idle = Duration::from_secs(self.settings.idle_secs.max(1));
        let mut backoff = idle;
        while !shutdown.is_cancelled() {
            let pulled = pull_in_order(
                self.queue.as_ref(),
                &QueueName::PROCESSING_ORDER,
                1,
                self.settings.lease(),
            )
            .await;
            match pulled {
                Ok(messages) if messages.is_empty() => {
                    backoff = idle;
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = self.queue.wait_for_messages(idle) => {}
                    }
                }
                Ok(messages) => {
                    backoff = idle;
                    for m in messages {
                        // finish in-flight work even when shutdown arrives
                        let outcome = self.handle(&m).await;
                        tracing::debug!(worker = index, ?outcome, data = %m.data, "message handled");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "queue pull failed; backing off");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    /// Handles one message end to end (pull already done).
    pub async fn handle(&self, m: &Message) -> Outcome {
        if let Some(published) = m.published_at {
            let lag = (Utc::now() - published).num_milliseconds().max(0) as f64 / 1000.0;
            self.metrics.queue_lag_seconds.observe(lag);
        }
        let lease = std::slice::from_ref(&m.lease);
        if m.data == "test" {
            self.ack(lease).await;
            return Outcome::Dropped;
        }
        let item = match m.item() {
            Ok(item) => item,
            Err(e) => {
                let error = format!("invalid queue message: {e}");
                tracing::warn!(data = %m.data, %error, "dropping message");
                if let Err(db_err) = self
                    .db
                    .dead_letters()
                    .record(&m.data, &error, Utc::now())
                    .await
                {
                    tracing::error!(error = %db_err, "could not record dead letter; leaving the lease to expire");
                    return Outcome::LeaseLeft(error);
                }
                self.ack(lease).await;
                return Outcome::Dropped;
            }
        };

        // keep the lease alive while processing
        let extender = self.spawn_extender(m.lease.clone());
        let result = AssertUnwindSafe(self.process_crash(&item))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(ProcessError::Panicked));
        extender.cancel();

        match result {
            Ok(_) => {
                self.metrics.processed_total.inc();
                self.ack(lease).await;
                Outcome::Processed
            }
            Err(ProcessError::RawCrashMissing(id)) => {
                tracing::warn!(crash_id = %id, "rejected: crash cannot be found in raw crash storage");
                self.metrics
                    .failed_total
                    .with_label_values(&["raw_missing"])
                    .inc();
                self.ack(lease).await;
                Outcome::RawMissing
            }
            Err(e) => {
                let kind = e.kind();
                let error = e.to_string();
                self.metrics.failed_total.with_label_values(&[kind]).inc();
                if m.delivery_attempt >= self.settings.max_attempts {
                    tracing::error!(crash_id = %item.crash_id, attempts = m.delivery_attempt, %error, "giving up: dead letter");
                    match self
                        .db
                        .dead_letters()
                        .record(item.crash_id.as_str(), &error, Utc::now())
                        .await
                    {
                        Ok(_) => {
                            self.metrics.dead_letters_total.inc();
                            self.ack(lease).await;
                            Outcome::DeadLettered(error)
                        }
                        Err(db_err) => {
                            tracing::error!(error = %db_err, "could not record dead letter; retrying later");
                            self.nack(lease).await;
                            Outcome::Retry(error)
                        }
                    }
                } else {
                    tracing::warn!(crash_id = %item.crash_id, attempt = m.delivery_attempt, %error, "processing failed; will retry");
                    if self.nack(lease).await {
                        Outcome::Retry(error)
                    } else {
                        Outcome::LeaseLeft(error)
                    }
                }
            }
        }
    }

    async fn ack(&self, lease: &[Lease]) {
        if let Err(error) = self.queue.ack(lease).await {
            // the message comes back after the lease: processed again (at least once)
            tracing::warn!(%error, "ack failed; the crash may be processed again");
        }
    }

    async fn nack(&self, lease: &[Lease]) -> bool {
        let delay = Duration::from_secs(self.settings.retry_delay_secs);
        match self.queue.nack(lease, delay).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "nack failed; the lease will expire");
                false
            }
        }
    }

    fn spawn_extender(&self, lease: Lease) -> CancellationToken {
        let token = CancellationToken::new();
        let stop = token.clone();
        let queue: Arc<dyn CrashQueue> = Arc::clone(&self.queue);
        let lease_len = self.settings.lease();
        let every = (lease_len / 2).max(Duration::from_millis(500));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(every) => {
                        if let Err(error) = queue.extend(std::slice::from_ref(&lease), lease_len).await {
                            tracing::warn!(%error, "lease extension failed");
                        }
                    }
                }
            }
        });
        token
    }
}
