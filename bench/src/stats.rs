//! Order statistics over latency samples, and rounding for reports.

use std::time::Duration;

/// Latency samples in nanoseconds.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    /// The samples.
    nanos: Vec<u64>,
    /// Whether `nanos` is in order.
    sorted: bool,
}

impl Samples {
    /// Room for `n` samples.
    pub fn with_capacity(n: usize) -> Samples {
        Samples {
            nanos: Vec::with_capacity(n),
            sorted: true,
        }
    }

    /// Adds one sample.
    pub fn push(&mut self, d: Duration) {
        self.nanos
            .push(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self.sorted = false;
    }

    /// Adds every sample of `other`.
    pub fn extend(&mut self, other: &Samples) {
        self.nanos.extend_from_slice(&other.nanos);
        self.sorted = false;
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.nanos.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.nanos.is_empty()
    }

    /// The `q` quantile (0 to 1) by nearest rank; zero when there are no samples.
    pub fn quantile(&mut self, q: f64) -> Duration {
        if self.nanos.is_empty() {
            return Duration::ZERO;
        }
        if !self.sorted {
            self.nanos.sort_unstable();
            self.sorted = true;
        }
        let n = self.nanos.len();
        let rank = (q.clamp(0.0, 1.0) * n as f64).ceil() as usize;
        Duration::from_nanos(self.nanos[rank.clamp(1, n) - 1])
    }

    /// The median.
    pub fn median(&mut self) -> Duration {
        self.quantile(0.5)
    }
}

/// Microseconds with one decimal, for reports.
pub fn micros(d: Duration) -> f64 {
    round(d.as_secs_f64() * 1e6, 1)
}

/// `x` rounded to `places` decimals (NaN and infinities pass through).
pub fn round(x: f64, places: i32) -> f64 {
    let p = 10f64.powi(places);
    (x * p).round() / p
}

/// `a / b`, or NaN when `b` is zero.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

/// A JSON number, or null for NaN and infinities (which JSON cannot hold).
pub fn json_number(x: f64) -> serde_json::Value {
    serde_json::Number::from_f64(x)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let mut s = Samples::with_capacity(100);
        for i in (1..=100).rev() {
            s.push(Duration::from_micros(i));
        }
        assert_eq!(s.median(), Duration::from_micros(50));
        assert_eq!(s.quantile(0.99), Duration::from_micros(99));
        assert_eq!(s.quantile(1.0), Duration::from_micros(100));
        assert_eq!(s.quantile(0.0), Duration::from_micros(1));
        assert_eq!(Samples::default().median(), Duration::ZERO);
    }

    #[test]
    fn ratios_and_rounding() {
        assert!(ratio(1.0, 0.0).is_nan());
        assert_eq!(round(1.23456, 2), 1.23);
        assert_eq!(json_number(f64::NAN), serde_json::Value::Null);
        assert_eq!(micros(Duration::from_nanos(12_345)), 12.3);
    }
}
