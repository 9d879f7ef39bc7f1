//! Retry with exponential backoff and jitter, for transient errors only.
//!
//! Backends try once; the `Retrying` decorators of this crate and of
//! `crash-queue` call [`retry`] with the backend error's `is_transient`.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// How often and how patiently to retry a failing call.
///
/// Configured as `max_attempts`, `initial_backoff_ms` and `max_backoff_ms`
/// (e.g. `SOCORRO_STORAGE__RETRY__MAX_ATTEMPTS=5`); every field has a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RetryPolicyRepr", into = "RetryPolicyRepr")]
pub struct RetryPolicy {
    /// Attempts in total, the first included (`1` = no retry). Default 5.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled after each failure. Default 100 ms.
    pub initial_backoff: Duration,
    /// Upper bound of any wait. Default 2 s.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// The configuration shape: durations as integer milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
struct RetryPolicyRepr {
    max_attempts: u32,
    initial_backoff_ms: u64,
    max_backoff_ms: u64,
}

impl Default for RetryPolicyRepr {
    fn default() -> Self {
        RetryPolicy::default().into()
    }
}

impl From<RetryPolicyRepr> for RetryPolicy {
    fn from(r: RetryPolicyRepr) -> Self {
        Self {
            max_attempts: r.max_attempts,
            initial_backoff: Duration::from_millis(r.initial_backoff_ms),
            max_backoff: Duration::from_millis(r.max_backoff_ms),
        }
    }
}

impl From<RetryPolicy> for RetryPolicyRepr {
    fn from(p: RetryPolicy) -> Self {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            max_attempts: p.max_attempts,
            initial_backoff_ms: ms(p.initial_backoff),
            max_backoff_ms: ms(p.max_backoff),
        }
    }
}

impl RetryPolicy {
    /// A policy that tries once and never retries.
    pub fn no_retry() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The nominal wait after failed attempt number `attempt` (1-based),
    /// before jitter: `initial_backoff * 2^(attempt-1)`, capped at `max_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// The wait actually slept: uniformly random in `[backoff/2, backoff]`,
    /// so callers that failed together do not retry together.
    pub fn jittered_backoff(&self, attempt: u32) -> Duration {
        let nominal = self.backoff(attempt);
        let half = nominal / 2;
        let spread = u64::try_from((nominal - half).as_micros()).unwrap_or(u64::MAX);
        if spread == 0 {
            return nominal;
        }
        half + Duration::from_micros(rand::rng().random_range(0..=spread))
    }

    /// Check the settings; `prefix` names them in messages, e.g.
    /// `SOCORRO_STORAGE__RETRY` gives `SOCORRO_STORAGE__RETRY__MAX_ATTEMPTS`.
    pub fn validate(&self, prefix: &str) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err(format!("{prefix}__MAX_ATTEMPTS must be at least 1"));
        }
        if self.initial_backoff > self.max_backoff {
            return Err(format!(
                "{prefix}__INITIAL_BACKOFF_MS ({} ms) must not exceed {prefix}__MAX_BACKOFF_MS ({} ms)",
                self.initial_backoff.as_millis(),
                self.max_backoff.as_millis()
            ));
        }
        Ok(())
    }
}

/// Run `op` until it succeeds, fails with an error `is_transient` rejects,
/// or `policy.max_attempts` attempts are used up; returns the last result.
/// Between attempts it sleeps [`RetryPolicy::jittered_backoff`].
pub async fn retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    is_transient: fn(&E) -> bool,
    mut op: F,
) -> Result<T, E>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let max_attempts = policy.max_attempts.max(1);
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(error) if attempt < max_attempts && is_transient(&error) => {
                let wait = policy.jittered_backoff(attempt);
                tracing::warn!(
                    %error,
                    attempt,
                    max_attempts,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "transient error; retrying"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(error) => {
                if attempt > 1 {
                    tracing::warn!(%error, attempt, "giving up after retries");
                }
                return Err(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[derive(Debug)]
    enum E {
        Transient,
        Permanent,
    }

    impl Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }

    fn is_transient(e: &E) -> bool {
        matches!(e, E::Transient)
    }

    fn fast(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
        }
    }

    #[test]
    fn defaults_and_config_shape() {
        let p: RetryPolicy = serde_json::from_str("{}").unwrap();
        assert_eq!(p, RetryPolicy::default());
        assert_eq!(p.max_attempts, 5);
        assert_eq!(p.initial_backoff, Duration::from_millis(100));
        assert_eq!(p.max_backoff, Duration::from_secs(2));
        let p: RetryPolicy = serde_json::from_str(
            r#"{"max_attempts":3,"initial_backoff_ms":10,"max_backoff_ms":50}"#,
        )
        .unwrap();
        assert_eq!(
            p,
            RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(50),
            }
        );
        let back = serde_json::to_value(p).unwrap();
        assert_eq!(back["initial_backoff_ms"], 10);
        assert_eq!(back["max_backoff_ms"], 50);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(4), Duration::from_millis(800));
        assert_eq!(p.backoff(5), Duration::from_millis(1600));
        assert_eq!(p.backoff(6), Duration::from_secs(2));
        assert_eq!(p.backoff(80), Duration::from_secs(2));
        for attempt in 1..8 {
            let j = p.jittered_backoff(attempt);
            assert!(
                j >= p.backoff(attempt) / 2 && j <= p.backoff(attempt),
                "{j:?}"
            );
        }
    }

    #[test]
    fn validate_names_settings() {
        let bad = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert!(
            bad.validate("SOCORRO_X__RETRY")
                .unwrap_err()
                .contains("SOCORRO_X__RETRY__MAX_ATTEMPTS")
        );
        let bad = RetryPolicy {
            initial_backoff: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        assert!(
            bad.validate("P")
                .unwrap_err()
                .contains("P__INITIAL_BACKOFF_MS")
        );
        assert!(RetryPolicy::default().validate("P").is_ok());
    }

    #[tokio::test]
    async fn retries_transient_until_success() {
        let calls = AtomicU32::new(0);
        let r: Result<u32, E> = retry(&fast(5), is_transient, || async {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            if n < 3 { Err(E::Transient) } else { Ok(n) }
        })
        .await;
        assert_eq!(r.unwrap(), 3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let calls = AtomicU32::new(0);
        let r: Result<(), E> = retry(&fast(4), is_transient, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(E::Transient)
        })
        .await;
        assert!(matches!(r, Err(E::Transient)));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn permanent_is_not_retried() {
        let calls = AtomicU32::new(0);
        let r: Result<(), E> = retry(&fast(5), is_transient, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(E::Permanent)
        })
        .await;
        assert!(matches!(r, Err(E::Permanent)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn zero_attempts_still_tries_once() {
        let calls = AtomicU32::new(0);
        let r: Result<(), E> = retry(&fast(0), is_transient, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(E::Transient)
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
