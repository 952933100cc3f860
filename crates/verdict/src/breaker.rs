//! A circuit breaker for one host: after repeated failures, stop sending to it for a while,
//! then let one trial request at a time find out whether it has recovered.
//!
//! The rule, in full:
//!
//! - **Closed** (the start): every request passes. Each failure adds one to a count of
//!   failures in a row and each success sets it back to zero; when the count reaches
//!   [`BreakerConfig::failures`], the breaker opens.
//! - **Open** until a time: no request passes before it. The first opening lasts
//!   [`BreakerConfig::open_for`]; each opening that follows a failed trial lasts twice as long
//!   as the one before, up to [`BreakerConfig::max_open_for`].
//! - **Half-open**, from the end of the open period: the first request asked about is the
//!   trial and passes; others are refused while it runs. Its success closes the breaker
//!   (and the period starts again from `open_for`); its failure opens it again. A trial that
//!   reports nothing within [`BreakerConfig::trial_timeout`] (a request dropped on its way)
//!   gives its place to the next request.
//!
//! What counts as a failure is the caller's to say. Outcomes of requests that were let
//! through before the breaker opened, reported while it is open or half-open, change
//! nothing: only the trial's outcome decides.
//!
//! Time is passed in; nothing here reads a clock.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use verdict::breaker::{Admission, Breaker, BreakerConfig, Outcome};
//!
//! let cfg = BreakerConfig { failures: 2, ..BreakerConfig::default() };
//! let mut b = Breaker::default();
//! let t = SystemTime::UNIX_EPOCH;
//! for _ in 0..2 {
//!     assert_eq!(b.admit(&cfg, t), Admission::Pass);
//!     b.record(&cfg, false, Outcome::Failure, t);
//! }
//! let until = t + cfg.open_for;
//! assert_eq!(b.admit(&cfg, t), Admission::Refused { until });
//! assert_eq!(b.admit(&cfg, until), Admission::Trial);
//! b.record(&cfg, true, Outcome::Success, until);
//! assert_eq!(b.admit(&cfg, until), Admission::Pass);
//! ```

use std::time::{Duration, SystemTime};

/// The longest any period of a [`BreakerConfig`] is taken to be: one day.
pub const MAX_PERIOD: Duration = Duration::from_secs(86_400);

/// Doublings of the open period at most: past them the period stops growing whatever the
/// maximum (so that the arithmetic stays exact in the Redis store's Lua numbers too).
const MAX_DOUBLINGS: u32 = 20;

/// When a breaker opens and for how long. Periods are whole milliseconds at most
/// [`MAX_PERIOD`]; see [`BreakerConfig::normalized`] for how other values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Failures in a row that open the breaker (default 5).
    pub failures: u32,
    /// How long the breaker stays open the first time (default 30 s).
    pub open_for: Duration,
    /// The longest it stays open: each failed trial doubles the period up to this
    /// (default 5 min).
    pub max_open_for: Duration,
    /// How long a trial request holds the half-open breaker before another request may
    /// take its place, if its outcome never comes (default 30 s).
    pub trial_timeout: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failures: 5,
            open_for: Duration::from_secs(30),
            max_open_for: Duration::from_secs(300),
            trial_timeout: Duration::from_secs(30),
        }
    }
}

fn whole_ms(d: Duration) -> Duration {
    Duration::from_millis(d.min(MAX_PERIOD).as_millis() as u64)
}

impl BreakerConfig {
    /// The configuration as the breaker reads it: at least one failure, every period in
    /// whole milliseconds and at most [`MAX_PERIOD`], the maximum open period at least the
    /// first one, and the trial timeout at least a millisecond.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verdict::breaker::BreakerConfig;
    /// let odd = BreakerConfig { failures: 0, max_open_for: Duration::ZERO, ..BreakerConfig::default() };
    /// let n = odd.normalized();
    /// assert_eq!((n.failures, n.max_open_for), (1, Duration::from_secs(30)));
    /// ```
    pub fn normalized(&self) -> BreakerConfig {
        let open_for = whole_ms(self.open_for);
        BreakerConfig {
            failures: self.failures.max(1),
            open_for,
            max_open_for: whole_ms(self.max_open_for).max(open_for),
            trial_timeout: whole_ms(self.trial_timeout).max(Duration::from_millis(1)),
        }
    }

    /// How long the `n`th opening in a row (the first is 1) lasts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verdict::breaker::BreakerConfig;
    /// let cfg = BreakerConfig::default();
    /// assert_eq!(cfg.open_period(1), Duration::from_secs(30));
    /// assert_eq!(cfg.open_period(2), Duration::from_secs(60));
    /// assert_eq!(cfg.open_period(9), Duration::from_secs(300));
    /// ```
    pub fn open_period(&self, n: u32) -> Duration {
        let cfg = self.normalized();
        let doublings = n.saturating_sub(1).min(MAX_DOUBLINGS);
        cfg.open_for
            .saturating_mul(1 << doublings)
            .min(cfg.max_open_for)
    }
}

/// Where a breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Requests pass; `failures` is the count of failures in a row.
    Closed {
        /// Failures in a row so far.
        failures: u32,
    },
    /// No request passes before `until`.
    Open {
        /// The end of the open period.
        until: SystemTime,
    },
    /// A trial request was let through; no other passes before `trial_until`, unless the
    /// trial's outcome comes first.
    HalfOpen {
        /// When the trial's place lapses.
        trial_until: SystemTime,
    },
}

/// The answer to "may a request be sent now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The breaker is closed: send it.
    Pass,
    /// Send it as the half-open breaker's trial, and report its outcome with
    /// `trial: true`.
    Trial,
    /// Do not send it; the breaker may let a request through at `until`.
    Refused {
        /// The earliest time another request may pass.
        until: SystemTime,
    },
}

/// How a request that was let through went, as the caller judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The host answered as a working host does.
    Success,
    /// The host failed (no answer, or a server failure).
    Failure,
}

/// The circuit breaker of one host. It holds state only; the rule is the
/// [`BreakerConfig`] passed to each call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaker {
    state: State,
    /// Openings since the breaker last closed.
    openings: u32,
}

impl Default for Breaker {
    /// A closed breaker with no failures.
    fn default() -> Self {
        Breaker {
            state: State::Closed { failures: 0 },
            openings: 0,
        }
    }
}

/// `t` plus `d`, or `t` when that cannot be represented.
fn after(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d).unwrap_or(t)
}

impl Breaker {
    /// Where the breaker is (an open breaker past its period stays `Open` until a request
    /// is asked about).
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether a request may be sent at `now`. A [`Admission::Trial`] moves the breaker to
    /// half-open and takes the trial's place.
    pub fn admit(&mut self, cfg: &BreakerConfig, now: SystemTime) -> Admission {
        match self.state {
            State::Closed { .. } => Admission::Pass,
            State::Open { until } | State::HalfOpen { trial_until: until } if now < until => {
                Admission::Refused { until }
            }
            State::Open { .. } | State::HalfOpen { .. } => {
                let trial_until = after(now, cfg.normalized().trial_timeout);
                self.state = State::HalfOpen { trial_until };
                Admission::Trial
            }
        }
    }

    /// Reports the outcome of a request this breaker let through; `trial` says whether it
    /// was admitted as the trial.
    pub fn record(&mut self, cfg: &BreakerConfig, trial: bool, outcome: Outcome, now: SystemTime) {
        match (self.state, outcome) {
            (State::Closed { .. }, Outcome::Success) => {
                self.state = State::Closed { failures: 0 };
            }
            (State::Closed { failures }, Outcome::Failure) => {
                let failures = failures.saturating_add(1);
                if failures >= cfg.normalized().failures {
                    self.open(cfg, now);
                } else {
                    self.state = State::Closed { failures };
                }
            }
            (State::HalfOpen { .. }, Outcome::Success) if trial => *self = Breaker::default(),
            (State::HalfOpen { .. }, Outcome::Failure) if trial => self.open(cfg, now),
            // Late news of requests let through before the breaker opened.
            (State::HalfOpen { .. } | State::Open { .. }, _) => {}
        }
    }

    fn open(&mut self, cfg: &BreakerConfig, now: SystemTime) {
        self.openings = self.openings.saturating_add(1);
        let until = after(now, cfg.open_period(self.openings));
        self.state = State::Open { until };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
    }

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            failures: 3,
            open_for: Duration::from_secs(10),
            max_open_for: Duration::from_secs(35),
            trial_timeout: Duration::from_secs(5),
        }
    }

    fn open_it(b: &mut Breaker, at: SystemTime) {
        for _ in 0..cfg().failures {
            assert_eq!(b.admit(&cfg(), at), Admission::Pass);
            b.record(&cfg(), false, Outcome::Failure, at);
        }
    }

    #[test]
    fn a_success_between_failures_keeps_it_closed() {
        let mut b = Breaker::default();
        for outcome in [Outcome::Failure, Outcome::Failure, Outcome::Success] {
            b.record(&cfg(), false, outcome, t(0));
        }
        b.record(&cfg(), false, Outcome::Failure, t(0));
        b.record(&cfg(), false, Outcome::Failure, t(0));
        assert_eq!(b.state(), State::Closed { failures: 2 });
        assert_eq!(b.admit(&cfg(), t(0)), Admission::Pass);
    }

    #[test]
    fn failures_in_a_row_open_it_until_the_period_ends() {
        let mut b = Breaker::default();
        open_it(&mut b, t(0));
        assert_eq!(b.state(), State::Open { until: t(10_000) });
        let refused = Admission::Refused { until: t(10_000) };
        assert_eq!(b.admit(&cfg(), t(9_999)), refused);
        assert_eq!(b.admit(&cfg(), t(10_000)), Admission::Trial);
    }

    #[test]
    fn half_open_lets_one_trial_through_and_its_success_closes() {
        let mut b = Breaker::default();
        open_it(&mut b, t(0));
        assert_eq!(b.admit(&cfg(), t(10_000)), Admission::Trial);
        let refused = Admission::Refused { until: t(15_000) };
        assert_eq!(b.admit(&cfg(), t(10_001)), refused);
        // A request let through before the opening reports late: nothing changes.
        b.record(&cfg(), false, Outcome::Success, t(10_002));
        assert_eq!(b.admit(&cfg(), t(10_003)), refused);
        b.record(&cfg(), true, Outcome::Success, t(10_004));
        assert_eq!(b.state(), State::Closed { failures: 0 });
        assert_eq!(b.admit(&cfg(), t(10_005)), Admission::Pass);
    }

    #[test]
    fn failed_trials_open_it_for_longer_up_to_the_maximum() {
        let mut b = Breaker::default();
        open_it(&mut b, t(0));
        let mut now = t(10_000);
        for period in [20_000, 35_000, 35_000] {
            assert_eq!(b.admit(&cfg(), now), Admission::Trial);
            b.record(&cfg(), true, Outcome::Failure, now);
            let until = now + Duration::from_millis(period);
            assert_eq!(b.state(), State::Open { until });
            now = until;
        }
        // Closing starts the periods over.
        assert_eq!(b.admit(&cfg(), now), Admission::Trial);
        b.record(&cfg(), true, Outcome::Success, now);
        open_it(&mut b, now);
        assert_eq!(
            b.state(),
            State::Open {
                until: now + Duration::from_secs(10)
            }
        );
    }

    #[test]
    fn a_trial_that_never_reports_gives_its_place_up() {
        let mut b = Breaker::default();
        open_it(&mut b, t(0));
        assert_eq!(b.admit(&cfg(), t(10_000)), Admission::Trial);
        assert_eq!(b.admit(&cfg(), t(15_000)), Admission::Trial);
        let refused = Admission::Refused { until: t(20_000) };
        assert_eq!(b.admit(&cfg(), t(15_001)), refused);
    }

    #[test]
    fn late_failures_while_open_change_nothing() {
        let mut b = Breaker::default();
        open_it(&mut b, t(0));
        b.record(&cfg(), false, Outcome::Failure, t(5_000));
        b.record(&cfg(), true, Outcome::Success, t(5_000));
        assert_eq!(b.state(), State::Open { until: t(10_000) });
    }

    #[test]
    fn a_clock_that_goes_back_keeps_it_open() {
        let mut b = Breaker::default();
        open_it(&mut b, t(60_000));
        let refused = Admission::Refused { until: t(70_000) };
        assert_eq!(b.admit(&cfg(), t(0)), refused);
        assert_eq!(b.admit(&cfg(), SystemTime::UNIX_EPOCH), refused);
    }

    #[test]
    fn nonsense_configurations_are_read_sensibly() {
        let odd = BreakerConfig {
            failures: 0,
            open_for: Duration::MAX,
            max_open_for: Duration::ZERO,
            trial_timeout: Duration::ZERO,
        };
        let n = odd.normalized();
        assert_eq!(n.failures, 1);
        assert_eq!((n.open_for, n.max_open_for), (MAX_PERIOD, MAX_PERIOD));
        assert_eq!(n.trial_timeout, Duration::from_millis(1));
        assert_eq!(odd.open_period(u32::MAX), MAX_PERIOD);
        let mut b = Breaker::default();
        // One failure opens it; even the far future does not overflow.
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
        b.record(&odd, false, Outcome::Failure, far);
        assert!(matches!(b.admit(&odd, far), Admission::Refused { .. }));
        let sub_ms = BreakerConfig {
            open_for: Duration::from_micros(1_500),
            ..cfg()
        };
        assert_eq!(sub_ms.open_period(1), Duration::from_millis(1));
    }
}
