//! Which driver errors are worth retrying, and the bounded backoff between tries.

use std::time::Duration;

/// Retry policy for one database call.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Total attempts (1 = no retry).
    pub attempts: u32,
    /// Delay before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
    /// No new attempt starts this long after the first one began (a pool
    /// timeout alone can take `connect_timeout_secs`).
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            max_elapsed: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// Delay after failed attempt number `attempt` (0-based), with up to 50 % jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(16));
        let capped = exp.min(self.max_delay);
        let jitter = rand::random::<f64>() * 0.5;
        capped.mul_f64(0.5 + jitter)
    }
}

/// True for errors that a new attempt (on a fresh connection) may not repeat:
/// lost or refused connections, pool exhaustion, server shutdown/restart,
/// serialization failures and deadlocks, SQLite busy/locked.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if code.starts_with("08") {
                // Postgres class 08: connection exception
                return true;
            }
            match code.as_ref() {
                // admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now,
                // serialization_failure, deadlock_detected, too_many_connections
                "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "53300" => true,
                other => {
                    // SQLite: extended result code; primary 5 = BUSY, 6 = LOCKED
                    other
                        .parse::<i64>()
                        .is_ok_and(|n| matches!(n & 0xff, 5 | 6))
                }
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_bounded() {
        let p = RetryPolicy::default();
        for attempt in 0..40 {
            assert!(p.delay(attempt) <= p.max_delay);
        }
        assert!(p.delay(0) >= p.base_delay / 2);
    }

    #[test]
    fn classifies() {
        assert!(is_transient(&sqlx::Error::PoolTimedOut));
        assert!(is_transient(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset
        ))));
        assert!(!is_transient(&sqlx::Error::RowNotFound));
    }
}
