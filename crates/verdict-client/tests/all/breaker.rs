//! The circuit breaker per host, over loopback: failures open it, an open breaker fails
//! requests without sending them, a trial after the open period closes it again; shared by
//! two clients through Redis; and the Redis script against the Rust rule on random traffic.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use verdict::breaker::{Admission, Breaker, Outcome, State};
use verdict_client::store::{MemoryStore, Store, StoreError};
use verdict_client::timer::Timer;
use verdict_client::{BreakerConfig, Error, ErrorKind, RedisStore};
use verdict_testkit::{RedisServer, Reply, Server};

use crate::support::{FakeTimer, builder, client, verdict_error};

fn rule(failures: u32) -> BreakerConfig {
    BreakerConfig {
        failures,
        open_for: Duration::from_secs(30),
        ..BreakerConfig::default()
    }
}

/// A server whose `/down` answers 500 until it is told it is up again; other paths 200.
async fn flaky() -> (Server, Arc<AtomicBool>) {
    let up = Arc::new(AtomicBool::new(false));
    let flag = up.clone();
    let server = Server::start(move |s, _| {
        if s.path == "/down" && !flag.load(Ordering::SeqCst) {
            Reply::status(500)
        } else {
            Reply::status(200)
        }
    })
    .await;
    (server, up)
}

/// The breaker's time from the error, checked against the clock it was refused at.
fn open_until(e: &Error, timer: &FakeTimer) -> (SystemTime, Duration) {
    match e.kind() {
        ErrorKind::CircuitOpen { until, retry_in } => {
            assert_eq!(until.duration_since(timer.now()).unwrap(), *retry_in);
            (*until, *retry_in)
        }
        other => panic!("not a circuit-open error: {other:?} ({e})"),
    }
}

#[tokio::test]
async fn failures_open_the_breaker_and_then_nothing_is_sent() {
    let (server, _) = flaky().await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer).circuit_breaker(rule(3)));
    // A GET is repeated on a 500: its third failure opens the breaker, and its fourth
    // attempt is refused before it is sent.
    let e = verdict_error(c.get(server.url("/down")).send().await.unwrap_err());
    let (until, retry_in) = open_until(&e, &timer);
    assert_eq!(server.seen().len(), 3);
    assert_eq!(e.attempts().len(), 4, "{e}");
    let refused = e.attempts().last().unwrap();
    assert_eq!(refused.status, None);
    assert!(refused.note.starts_with("not sent"), "{refused:?}");
    // The wait before the fourth attempt came out of the 30 s.
    assert!(retry_in <= Duration::from_secs(30) && retry_in > Duration::from_secs(20));

    // The next request to the host fails at once, at no cost to the server.
    let e = verdict_error(c.get(server.url("/other")).send().await.unwrap_err());
    assert_eq!(open_until(&e, &timer).0, until);
    assert_eq!(server.seen().len(), 3, "nothing reached the server");
    assert_eq!(e.attempts().len(), 1);
    assert_eq!(e.status(), None);
    // Rounded up, never down: the breaker is not open for less than it says.
    let secs = verdict::decide::Seconds::up(retry_in);
    let text = e.to_string();
    assert!(
        text.contains(&format!("lets a request through again in {secs}")),
        "{text}"
    );
}

#[tokio::test]
async fn after_the_open_period_one_trial_goes_through_and_closes_it() {
    let (server, up) = flaky().await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer).circuit_breaker(rule(2)));
    // A POST is not repeated: one attempt, one failure each.
    for _ in 0..2 {
        let e = verdict_error(c.post(server.url("/down")).send().await.unwrap_err());
        assert_eq!(e.status().map(|s| s.as_u16()), Some(500));
    }
    up.store(true, Ordering::SeqCst);
    timer.advance(Duration::from_secs(29));
    let e = verdict_error(c.get(server.url("/down")).send().await.unwrap_err());
    assert_eq!(open_until(&e, &timer).1, Duration::from_secs(1));
    assert_eq!(server.seen().len(), 2);

    timer.advance(Duration::from_secs(1));
    let r = c.get(server.url("/down")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the trial went through");
    for _ in 0..3 {
        assert_eq!(
            c.get(server.url("/down")).send().await.unwrap().status(),
            200
        );
    }
    assert_eq!(
        server.seen().len(),
        6,
        "closed again: every request was sent"
    );
}

#[tokio::test]
async fn a_failed_trial_opens_it_again_for_twice_as_long() {
    let (server, _) = flaky().await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer).circuit_breaker(rule(1)));
    let post = || c.post(server.url("/down")).send();
    verdict_error(post().await.unwrap_err());
    timer.advance(Duration::from_secs(30));
    let trial = verdict_error(post().await.unwrap_err());
    assert_eq!(trial.status().map(|s| s.as_u16()), Some(500), "{trial}");
    let e = verdict_error(post().await.unwrap_err());
    assert_eq!(open_until(&e, &timer).1, Duration::from_secs(60));
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn client_errors_never_open_it() {
    let server = Server::start(|_, _| Reply::status(404)).await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer).circuit_breaker(rule(2)));
    for _ in 0..6 {
        let e = verdict_error(c.get(server.url("/missing")).send().await.unwrap_err());
        assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
    }
    assert_eq!(server.seen().len(), 6);
}

#[tokio::test]
async fn network_failures_open_it() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer).circuit_breaker(rule(2)));
    let url = format!("http://127.0.0.1:{port}/x");
    let e = verdict_error(c.get(&url).send().await.unwrap_err());
    open_until(&e, &timer);
    let statuses: Vec<_> = e.attempts().iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(statuses, ["retry", "retry", "fail"], "{e}");
}

#[tokio::test]
async fn each_host_has_its_own_breaker() {
    let (sick, _) = flaky().await;
    let well = Server::start(|_, _| Reply::status(200)).await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer).circuit_breaker(rule(1)));
    verdict_error(c.post(sick.url("/down")).send().await.unwrap_err());
    verdict_error(c.get(sick.url("/")).send().await.unwrap_err());
    assert_eq!(c.get(well.url("/")).send().await.unwrap().status(), 200);
    assert_eq!((sick.seen().len(), well.seen().len()), (1, 1));
}

#[tokio::test]
async fn without_a_breaker_failures_change_nothing() {
    let (server, _) = flaky().await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer));
    for _ in 0..8 {
        let e = verdict_error(c.post(server.url("/down")).send().await.unwrap_err());
        assert_eq!(e.status().map(|s| s.as_u16()), Some(500));
    }
    assert_eq!(server.seen().len(), 8);
}

/// A store written before breakers existed: it implements only the methods it had then.
struct OlderStore(MemoryStore);

#[async_trait]
impl Store for OlderStore {
    async fn blocked_until(&self, key: &str) -> Result<Option<SystemTime>, StoreError> {
        self.0.blocked_until(key).await
    }
    async fn block_until(&self, key: &str, until: SystemTime) -> Result<(), StoreError> {
        self.0.block_until(key, until).await
    }
    async fn moved_to(&self, url: &str) -> Result<Option<String>, StoreError> {
        self.0.moved_to(url).await
    }
    async fn set_moved(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.0.set_moved(from, to).await
    }
    async fn deposit(&self, key: &str, now: SystemTime) -> Result<(), StoreError> {
        self.0.deposit(key, now).await
    }
    async fn try_spend(&self, key: &str, now: SystemTime) -> Result<bool, StoreError> {
        self.0.try_spend(key, now).await
    }
}

#[tokio::test]
async fn an_older_store_gets_a_breaker_in_this_process() {
    let (server, _) = flaky().await;
    let timer = FakeTimer::new();
    let store = Arc::new(OlderStore(MemoryStore::default()));
    let c = client(
        builder("webex", &timer)
            .store(store)
            .circuit_breaker(rule(1)),
    );
    verdict_error(c.post(server.url("/down")).send().await.unwrap_err());
    let e = verdict_error(c.get(server.url("/")).send().await.unwrap_err());
    open_until(&e, &timer);
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_clients_on_one_redis_share_the_breaker() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (server, up) = flaky().await;
    let timer = FakeTimer::new();
    let mk = || {
        let store = Arc::new(RedisStore::new(&redis.url(), "breaker:").unwrap());
        client(
            builder("webex", &timer)
                .store(store)
                .circuit_breaker(rule(2)),
        )
    };
    let (a, b) = (mk(), mk());
    for _ in 0..2 {
        verdict_error(a.post(server.url("/down")).send().await.unwrap_err());
    }
    // b never failed, yet its request is not sent: a opened the host's breaker.
    let e = verdict_error(b.get(server.url("/")).send().await.unwrap_err());
    assert_eq!(open_until(&e, &timer).1, Duration::from_secs(30));
    assert_eq!(server.seen().len(), 2);

    up.store(true, Ordering::SeqCst);
    timer.advance(Duration::from_secs(30));
    assert_eq!(
        b.get(server.url("/down")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        a.get(server.url("/down")).send().await.unwrap().status(),
        200
    );
    assert_eq!(server.seen().len(), 4, "b's trial closed it for a too");
}

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
    let case = std::sync::atomic::AtomicU32::new(0);
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
