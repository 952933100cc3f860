//! A retry budget: a token bucket that lets retries add at most a set share of load.

use std::time::Duration;

/// Each request that ends well deposits `ratio` of a token and each retry spends one, so
/// retries stay near `ratio` times the successes, plus a small allowance per second so that
/// a quiet client can still retry. Successes pay for retries: a server that fails most
/// requests gets few repeats on top of its load, however many first attempts arrive.
///
/// Time is passed in as the time since any fixed start (e.g. an `Instant` difference), so
/// the budget is pure and testable.
///
/// ```
/// use std::time::Duration;
/// use verdict::budget::RetryBudget;
/// let mut b = RetryBudget::new(0.1, 0.0, 10.0);
/// let t = Duration::ZERO;
/// for _ in 0..20 { b.deposit(t); }
/// assert!(b.try_spend(t) && b.try_spend(t));
/// assert!(!b.try_spend(t)); // 20 requests bought two retries
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryBudget {
    ratio: f64,
    per_second: f64,
    cap: f64,
    tokens: f64,
    last: Duration,
}

impl RetryBudget {
    /// A budget of `ratio` retries per request plus `per_second` retries each second,
    /// holding at most `cap` tokens. It starts full of the per-second allowance only.
    pub fn new(ratio: f64, per_second: f64, cap: f64) -> Self {
        let clean = |x: f64| if x.is_finite() && x > 0.0 { x } else { 0.0 };
        let cap = clean(cap).max(1.0);
        RetryBudget {
            ratio: clean(ratio),
            per_second: clean(per_second),
            cap,
            tokens: clean(per_second).min(cap),
            last: Duration::ZERO,
        }
    }

    fn refill(&mut self, now: Duration) {
        if now > self.last {
            let secs = (now - self.last).as_secs_f64();
            self.tokens = (self.tokens + secs * self.per_second).min(self.cap);
            self.last = now;
        }
    }

    /// Records a request that ended well.
    pub fn deposit(&mut self, now: Duration) {
        self.refill(now);
        self.tokens = (self.tokens + self.ratio).min(self.cap);
    }

    /// Takes one retry from the budget, if there is one.
    pub fn try_spend(&mut self, now: Duration) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Tokens available now.
    pub fn available(&mut self, now: Duration) -> f64 {
        self.refill(now);
        self.tokens
    }
}

impl Default for RetryBudget {
    /// 10 % of requests, plus one retry every ten seconds, at most 100 banked.
    fn default() -> Self {
        RetryBudget::new(0.1, 0.1, 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sustained_failure_is_bounded_by_the_ratio() {
        let mut b = RetryBudget::new(0.1, 0.0, 1000.0);
        let mut retries = 0;
        for i in 0..10_000u64 {
            let t = Duration::from_millis(i);
            b.deposit(t);
            // Every request fails and wants three retries.
            for _ in 0..3 {
                if b.try_spend(t) {
                    retries += 1;
                }
            }
        }
        assert!(retries <= 1000, "{retries}");
        assert!(retries >= 990, "{retries}");
    }

    #[test]
    fn time_refills_the_allowance() {
        let mut b = RetryBudget::new(0.0, 1.0, 5.0);
        assert!(b.try_spend(Duration::ZERO));
        assert!(!b.try_spend(Duration::ZERO));
        assert!(b.try_spend(Duration::from_secs(1)));
        assert!((b.available(Duration::from_secs(100)) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn nonsense_parameters_are_harmless() {
        let mut b = RetryBudget::new(f64::NAN, -1.0, f64::INFINITY);
        b.deposit(Duration::ZERO);
        assert!(!b.try_spend(Duration::ZERO));
    }
}
