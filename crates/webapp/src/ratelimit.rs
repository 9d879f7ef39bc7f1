//! In-memory token buckets, per client address and per token/user.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets keyed by scope + caller.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Keep the map bounded: past this many callers, forget the idle ones.
const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Take one request from `key`'s bucket of `per_min` requests per minute
    /// (bursts up to `per_min`). `Err(seconds)` says when to retry.
    pub fn check(&self, key: &str, per_min: u32) -> Result<(), u64> {
        if per_min == 0 {
            return Ok(());
        }
        let capacity = f64::from(per_min);
        let rate = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = match self.buckets.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets.retain(|_, b| now.duration_since(b.last).as_secs() < 60);
        }
        let b = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - b.tokens) / rate).ceil();
            // wait is positive and at most 60 s
            Err(wait.clamp(1.0, 3600.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_429() {
        let rl = RateLimiter::new();
        for _ in 0..3 {
            rl.check("a", 3).unwrap();
        }
        let wait = rl.check("a", 3).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        rl.check("b", 3).unwrap();
        rl.check("a", 0).unwrap();
    }
}
