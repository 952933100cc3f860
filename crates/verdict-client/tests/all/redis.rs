//! Client state shared through a real Redis: two clients (each with its own connection, as
//! two processes would have) share back-offs, permanent moves and budgets; Redis going
//! away never blocks a request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use verdict::Catalog;
use verdict_client::store::BudgetConfig;
use verdict_client::{Error, ErrorKind, RedisStore, Verdict};
use verdict_testkit::{RedisServer, Reply, Server};

fn client(
    redis: &RedisServer,
    prefix: &str,
    max_wait: Duration,
) -> reqwest_middleware::ClientWithMiddleware {
    let store = Arc::new(RedisStore::new(&redis.url(), prefix).unwrap());
    let contract = Catalog::builtin().get("webex").unwrap().clone();
    verdict_client::client(
        Verdict::builder(contract)
            .store(store)
            .max_wait(max_wait)
            .build(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_told_to_one_client_holds_back_the_other() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = Server::start(|s, _| {
        if s.path == "/first" {
            Reply::status(429).header("Retry-After", "30")
        } else {
            Reply::status(200)
        }
    })
    .await;
    let (a, b) = (
        client(&redis, "t1:", Duration::from_secs(5)),
        client(&redis, "t1:", Duration::from_secs(5)),
    );
    let e = a
        .get(server.url("/first"))
        .bearer_auth("shared")
        .send()
        .await
        .unwrap_err();
    assert_eq!(Error::from(e).retry_after(), Some(Duration::from_secs(30)));
    let started = Instant::now();
    let e = b
        .get(server.url("/second"))
        .bearer_auth("shared")
        .send()
        .await
        .unwrap_err();
    let e = Error::from(e);
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Refused(verdict::decide::Reason::WaitTooLong { .. })
        ),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once"
    );
    assert_eq!(server.seen().len(), 1, "the second client sent nothing");
    // Another credential is free to go.
    assert!(
        b.get(server.url("/second"))
            .bearer_auth("other")
            .send()
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_shared_wait_is_waited_out_by_the_other_client() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = Server::start(|s, n| {
        if s.path == "/a" && n == 0 {
            Reply::status(503).header("Retry-After", "1")
        } else {
            Reply::status(200)
        }
    })
    .await;
    let (a, b) = (
        client(&redis, "t2:", Duration::from_secs(10)),
        client(&redis, "t2:", Duration::from_secs(10)),
    );
    let url_a = server.url("/a");
    let first = tokio::spawn(async move {
        a.get(url_a)
            .bearer_auth("k")
            .send()
            .await
            .map(|r| r.status())
    });
    // Let the 503 arrive, then the second client asks on the same credential.
    while server.seen().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        b.get(server.url("/b"))
            .bearer_auth("k")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(first.await.unwrap().unwrap(), 200);
    let seen = server.seen();
    let t0 = seen.iter().find(|s| s.path == "/a").unwrap().at;
    let tb = seen.iter().find(|s| s.path == "/b").unwrap().at;
    assert!(
        tb.duration_since(t0) >= Duration::from_millis(900),
        "the second client waited for the shared Retry-After"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn permanent_moves_and_budgets_are_shared() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = Server::start(|s, _| match s.path.as_str() {
        "/old" => Reply::status(308).header("Location", "/new"),
        "/busy" => Reply::status(500),
        _ => Reply::status(200),
    })
    .await;
    let (a, b) = (
        client(&redis, "t3:", Duration::from_secs(60)),
        client(&redis, "t3:", Duration::from_secs(60)),
    );
    a.get(server.url("/old")).send().await.unwrap();
    b.get(server.url("/old")).send().await.unwrap();
    let paths: Vec<String> = server.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        ["/old", "/new", "/new"],
        "the second client went to the new URL directly"
    );

    // A budget with no allowance but what traffic buys, shared by both clients.
    let tight = BudgetConfig {
        ratio: 0.5,
        per_second: 0.0,
        cap: 10.0,
    };
    let mk = || {
        let store = Arc::new(RedisStore::with_budget(&redis.url(), "t4:", tight).unwrap());
        let contract = Catalog::builtin().get("webex").unwrap().clone();
        verdict_client::client(
            Verdict::builder(contract)
                .store(store)
                .max_wait(Duration::from_secs(60))
                .build(),
        )
        .unwrap()
    };
    let (a, b) = (mk(), mk());
    let before = server.seen().len();
    // Successes pay for retries: a's success buys half a retry, not enough for a repeat.
    a.get(server.url("/fine")).send().await.unwrap();
    let ea = Error::from(a.get(server.url("/busy")).send().await.unwrap_err());
    assert_eq!(*ea.kind(), ErrorKind::BudgetExhausted);
    // b's success buys the other half, so b retries once on what both clients paid.
    b.get(server.url("/fine")).send().await.unwrap();
    let eb = Error::from(b.get(server.url("/busy")).send().await.unwrap_err());
    assert_eq!(
        eb.attempts().len(),
        2,
        "one retry, bought by both clients together: {eb}"
    );
    assert_eq!(server.seen().len() - before, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_going_away_never_blocks_a_request() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let server = Server::start(|_, _| Reply::status(200)).await;
    let c = client(&redis, "t5:", Duration::from_secs(5));
    assert!(c.get(server.url("/x")).send().await.is_ok());
    redis.kill();
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(c.get(server.url("/x")).send().await.unwrap().status(), 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "each request took at most the store's short deadline"
    );
    redis.spawn().unwrap();
    // Back to shared state once Redis answers again.
    let mut ok = false;
    for _ in 0..50 {
        if c.get(server.url("/x")).send().await.is_ok() {
            let store = RedisStore::new(&redis.url(), "t5:").unwrap();
            use verdict_client::store::Store;
            store.set_moved("probe", "x").await.unwrap();
            if store.moved_to("probe").await.unwrap().as_deref() == Some("x") {
                ok = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "Redis was used again after it came back");
}

#[tokio::test(flavor = "multi_thread")]
async fn during_an_outage_redis_is_asked_once_per_pause() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let server = Server::start(|_, _| Reply::status(200)).await;
    let store = Arc::new(
        RedisStore::new(&redis.url(), "t6:")
            .unwrap()
            .outage_pause(Duration::from_secs(600)),
    );
    let contract = Catalog::builtin().get("webex").unwrap().clone();
    let c =
        verdict_client::client(Verdict::builder(contract).store(store.clone()).build()).unwrap();
    c.get(server.url("/x")).send().await.unwrap();
    assert!(!store.degraded() && store.paused_until().is_none());
    redis.kill();
    // The first request after the outage finds Redis gone and starts the pause.
    c.get(server.url("/x")).send().await.unwrap();
    assert!(store.degraded());
    let paused = store.paused_until().expect("a pause after the failed call");
    // Later requests answer from local state without asking Redis: a failed probe would
    // have moved the end of the pause.
    for _ in 0..5 {
        assert_eq!(c.get(server.url("/x")).send().await.unwrap().status(), 200);
    }
    assert_eq!(store.paused_until(), Some(paused));
}

#[tokio::test(flavor = "multi_thread")]
async fn leases_and_shared_values_are_seen_by_every_store_on_the_redis() {
    use verdict_client::store::Store;
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let a = RedisStore::new(&redis.url(), "lease:").unwrap();
    let b = RedisStore::new(&redis.url(), "lease:").unwrap();
    let ttl = Duration::from_secs(10);
    assert!(a.lease("k", "a", ttl).await.unwrap());
    assert!(!b.lease("k", "b", ttl).await.unwrap(), "a holds it");
    assert!(
        a.lease("k", "a", ttl).await.unwrap(),
        "a may take its own again"
    );
    b.release("k", "b").await.unwrap();
    assert!(
        !b.lease("k", "b", ttl).await.unwrap(),
        "only the holder gives it up"
    );
    a.release("k", "a").await.unwrap();
    assert!(b.lease("k", "b", ttl).await.unwrap());
    assert!(!a.lease("k", "a", ttl).await.unwrap());
    assert!(
        a.lease("short", "a", Duration::from_millis(50))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(
        b.lease("short", "b", ttl).await.unwrap(),
        "a lease runs out"
    );

    assert_eq!(b.shared("t").await.unwrap(), None);
    a.share("t", "tokens-1", ttl).await.unwrap();
    assert_eq!(b.shared("t").await.unwrap().as_deref(), Some("tokens-1"));
    a.share("t", "tokens-2", Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(b.shared("t").await.unwrap().as_deref(), Some("tokens-2"));
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(b.shared("t").await.unwrap(), None, "shared values run out");
    assert!(!a.degraded() && !b.degraded());
}
