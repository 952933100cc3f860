//! The circuit breaker per host: the Redis script against the Rust rule on random traffic.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use verdict::breaker::{Admission, Breaker, BreakerConfig, Outcome, State};
use verdict_client::RedisStore;
use verdict_client::store::Store;
use verdict_testkit::RedisServer;

/// Something that happens to a breaker, after the clock moved on by some milliseconds.
#[derive(Debug, Clone)]
enum Event {
    Ask,
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

fn traffic() -> impl Strategy<Value = (BreakerConfig, Vec<(u64, Event)>)> {
    let config = (1u32..4, 0u64..15_000, 0u64..60_000, 1u64..10_000).prop_map(
        |(failures, open, max, trial)| BreakerConfig {
            failures,
            open_for: Duration::from_millis(open),
            max_open_for: Duration::from_millis(max),
            trial_timeout: Duration::from_millis(trial),
        },
    );
    let event = prop_oneof![
        Just(Event::Ask),
        (any::<usize>(), prop::bool::weighted(0.3))
            .prop_map(|(pick, ok)| Event::Finish { pick, ok }),
    ];
    let events = prop::collection::vec(
        (
            prop_oneof![Just(0u64), Just(TO_DEADLINE), 1u64..3, 0u64..20_000],
            event,
        ),
        1..60,
    );
    (config, events)
}

/// Runs `events` through the Rust breaker and through the store at `key`, comparing every
/// admission; an error names the first difference.
async fn compare(
    store: &RedisStore,
    key: &str,
    cfg: &BreakerConfig,
    events: &[(u64, Event)],
) -> Result<(), String> {
    let mut rust = Breaker::default();
    let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut out: Vec<bool> = Vec::new();
    for (i, (ms, event)) in events.iter().enumerate() {
        now = moved(now, *ms, rust.state());
        match event {
            Event::Ask => {
                let want = rust.admit(cfg, now);
                let got = store.breaker_admit(key, cfg, now).await.unwrap();
                if got != want {
                    return Err(format!("event {i}: Redis {got:?}, Rust {want:?}"));
                }
                if !matches!(want, Admission::Refused { .. }) {
                    out.push(want == Admission::Trial);
                }
            }
            Event::Finish { pick, ok } if !out.is_empty() => {
                let trial = out.swap_remove(pick % out.len());
                let outcome = if *ok {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                rust.record(cfg, trial, outcome, now);
                store
                    .breaker_record(key, cfg, trial, outcome, now)
                    .await
                    .unwrap();
            }
            Event::Finish { .. } => {}
        }
        if store.degraded() {
            return Err(format!("event {i}: Redis did not answer"));
        }
    }
    Ok(())
}

#[test]
fn the_redis_breaker_admits_as_the_rust_one_does() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(async { RedisStore::new(&redis.url(), "compare:").unwrap() });
    let mut runner = TestRunner::new(Config::with_cases(128));
    let case = AtomicU32::new(0);
    let result = runner.run(&traffic(), |(cfg, events)| {
        let key = format!("case-{}", case.fetch_add(1, Ordering::Relaxed));
        let r = rt.block_on(compare(&store, &key, &cfg, &events));
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
