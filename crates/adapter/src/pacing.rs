//! Time on tokio's clock (so tests can pause it): capped exponential backoff with jitter, and
//! a token bucket that caps OpenStack calls per second.

use std::time::Duration;

use rand::Rng;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Capped exponential backoff with jitter: `start`, then ×`factor` each attempt up to `cap`,
/// each delay drawn uniformly from ±`jitter` of its nominal value.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// The first delay.
    pub start: Duration,
    /// Growth per attempt.
    pub factor: f64,
    /// The largest delay.
    pub cap: Duration,
    /// Fraction of each delay drawn at random, 0.0–1.0.
    pub jitter: f64,
}

impl Default for Backoff {
    /// SPEC.md §8: start 1 s, cap 5 s, ×1.5, ±20 %.
    fn default() -> Self {
        Backoff {
            start: Duration::from_secs(1),
            factor: 1.5,
            cap: Duration::from_secs(5),
            jitter: 0.2,
        }
    }
}

impl Backoff {
    /// The nominal delay before attempt `n` (0-based), without jitter.
    pub fn nominal(&self, n: u32) -> Duration {
        let grown =
            self.start.as_secs_f64() * self.factor.powi(i32::try_from(n).unwrap_or(i32::MAX));
        Duration::from_secs_f64(grown.min(self.cap.as_secs_f64()).max(0.0))
    }

    /// The delay before attempt `n`, with jitter.
    pub fn delay(&self, n: u32) -> Duration {
        let nominal = self.nominal(n).as_secs_f64();
        let j = self.jitter.clamp(0.0, 1.0);
        if j == 0.0 || nominal == 0.0 {
            return Duration::from_secs_f64(nominal);
        }
        let f = rand::rng().random_range((1.0 - j)..=(1.0 + j));
        Duration::from_secs_f64(nominal * f)
    }
}

/// A token bucket: at most `burst` calls at once, refilled at `qps` per second. Shared by every
/// call of one adapter, so all reconciles together stay within the cloud's budget.
#[derive(Debug)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A bucket with `qps` calls per second and room for `burst`; `qps <= 0` means unlimited.
    pub fn new(qps: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            qps,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits until a call may be made, then takes its token.
    pub async fn acquire(&self) {
        if self.qps <= 0.0 {
            return;
        }
        loop {
            let wait = {
                let mut st = self.state.lock().await;
                let now = Instant::now();
                let refill = now.duration_since(st.1).as_secs_f64() * self.qps;
                st.0 = (st.0 + refill).min(self.burst);
                st.1 = now;
                if st.0 >= 1.0 {
                    st.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - st.0) / self.qps)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_and_jitters_within_bounds() {
        let b = Backoff::default();
        assert_eq!(b.nominal(0), Duration::from_secs(1));
        assert_eq!(b.nominal(1), Duration::from_millis(1500));
        assert_eq!(b.nominal(10), Duration::from_secs(5));
        for n in 0..20 {
            let d = b.delay(n).as_secs_f64();
            let nominal = b.nominal(n).as_secs_f64();
            assert!(
                d >= nominal * 0.8 - 1e-9 && d <= nominal * 1.2 + 1e-9,
                "{d} vs {nominal}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_lets_a_burst_through_then_paces_calls() {
        let bucket = TokenBucket::new(10.0, 5);
        let start = Instant::now();
        for _ in 0..5 {
            bucket.acquire().await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the burst goes through at once"
        );
        for _ in 0..10 {
            bucket.acquire().await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!(
            (0.99..1.01).contains(&elapsed),
            "10 more calls at 10/s take 1 s, took {elapsed}"
        );
    }
}
