//! The circuit breaker under random traffic: requests asked about, let through and
//! finishing in any order, with the clock moving on.

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use verdict::breaker::{Admission, Breaker, BreakerConfig, Outcome, State};

/// Something that happens to the breaker, after the clock moved on by some milliseconds.
#[derive(Debug, Clone)]
enum Event {
    /// A request asks to be sent.
    Ask,
    /// One of the requests let through (picked by index) finishes.
    Finish { pick: usize, ok: bool },
}

/// A step of the clock that lands on the very end of the breaker's open period or trial
/// place, where its answer changes (other steps are so many milliseconds).
const TO_DEADLINE: u64 = u64::MAX;

fn moved(now: SystemTime, ms: u64, state: State) -> SystemTime {
    match state {
        _ if ms != TO_DEADLINE => now + Duration::from_millis(ms),
        State::Open { until } | State::HalfOpen { trial_until: until } if until > now => until,
        _ => now,
    }
}

fn events() -> impl Strategy<Value = Vec<(u64, Event)>> {
    let event = prop_oneof![
        Just(Event::Ask),
        (any::<usize>(), prop::bool::weighted(0.3))
            .prop_map(|(pick, ok)| Event::Finish { pick, ok }),
    ];
    prop::collection::vec(
        (
            prop_oneof![Just(0u64), Just(TO_DEADLINE), 1u64..3, 0u64..20_000],
            event,
        ),
        1..120,
    )
}

fn configs() -> impl Strategy<Value = BreakerConfig> {
    (1u32..5, 0u64..15_000, 0u64..60_000, 1u64..10_000).prop_map(|(f, open, max, trial)| {
        BreakerConfig {
            failures: f,
            open_for: Duration::from_millis(open),
            max_open_for: Duration::from_millis(max),
            trial_timeout: Duration::from_millis(trial),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever happens: a closed breaker lets everything through, an open one nothing
    /// before its end, a half-open one a single trial at a time; it opens only on the
    /// configured count of failures in a row, for a period within the configured bounds.
    #[test]
    fn the_rule_holds_under_any_traffic(cfg in configs(), events in events()) {
        let n = cfg.normalized();
        let mut b = Breaker::default();
        let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        // Requests let through and not finished yet: whether each is a trial.
        let mut out: Vec<bool> = Vec::new();
        // The end of the live trial's place, while the breaker is half-open.
        let mut trial_place: Option<SystemTime> = None;
        let mut in_a_row = 0u32;
        for (ms, event) in events {
            now = moved(now, ms, b.state());
            let before = b.state();
            match event {
                Event::Ask => {
                    let a = b.admit(&cfg, now);
                    match (before, a) {
                        (State::Closed { .. }, a) => prop_assert_eq!(a, Admission::Pass),
                        (State::Open { until }, a) if now < until => {
                            prop_assert_eq!(a, Admission::Refused { until });
                        }
                        (_, Admission::Trial) => {
                            prop_assert!(trial_place.is_none_or(|end| now >= end), "a second trial while one holds its place");
                            trial_place = Some(now + n.trial_timeout);
                        }
                        (_, Admission::Refused { until }) => prop_assert!(until > now),
                        (s, a) => prop_assert!(false, "{a:?} from {s:?}"),
                    }
                    if !matches!(a, Admission::Refused { .. }) {
                        out.push(a == Admission::Trial);
                    }
                }
                Event::Finish { pick, ok } => {
                    if out.is_empty() {
                        continue;
                    }
                    let trial = out.swap_remove(pick % out.len());
                    let outcome = if ok { Outcome::Success } else { Outcome::Failure };
                    b.record(&cfg, trial, outcome, now);
                    if let State::Closed { .. } = before {
                        in_a_row = if ok { 0 } else { in_a_row + 1 };
                    }
                    match (before, b.state()) {
                        (State::Closed { .. }, State::Open { until }) => {
                            prop_assert_eq!(in_a_row, n.failures);
                            prop_assert_eq!(until.duration_since(now).unwrap(), n.open_for);
                            in_a_row = 0;
                        }
                        (State::Closed { .. }, State::Closed { failures }) => {
                            prop_assert_eq!(failures, in_a_row);
                            prop_assert!(failures < n.failures);
                        }
                        (State::HalfOpen { .. }, State::Open { until }) => {
                            prop_assert!(trial && !ok);
                            let period = until.duration_since(now).unwrap();
                            prop_assert!(period >= n.open_for && period <= n.max_open_for);
                        }
                        (State::HalfOpen { .. }, State::Closed { failures }) => {
                            prop_assert!(trial && ok);
                            prop_assert_eq!(failures, 0);
                        }
                        (s, after) => prop_assert_eq!(s, after, "only a trial or a closed breaker's news changes it"),
                    }
                }
            }
            if !matches!(b.state(), State::HalfOpen { .. }) {
                trial_place = None;
            }
        }
    }

    /// Without failures the breaker never refuses anything.
    #[test]
    fn successes_alone_never_open_it(cfg in configs(), steps in prop::collection::vec(0u64..20_000, 1..50)) {
        let mut b = Breaker::default();
        let mut now = SystemTime::UNIX_EPOCH;
        for ms in steps {
            now += Duration::from_millis(ms);
            prop_assert_eq!(b.admit(&cfg, now), Admission::Pass);
            b.record(&cfg, false, Outcome::Success, now);
        }
    }
}
