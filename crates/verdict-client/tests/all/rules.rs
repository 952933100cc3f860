//! Every client rule, against a real HTTP server on 127.0.0.1. Waits go through a fake
//! clock that records them, so the tests check the exact waits without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::{FakeTimer, builder, client, client_on, contract, verdict_error};
use verdict::decide::{Reason, WaitCause};
use verdict_client::timer::WaitReason;
use verdict_client::{Attempts, Credentials, ErrorKind, Revalidated, Verdict};
use verdict_testkit::{Reply, Server};

#[tokio::test]
async fn server_errors_are_retried_three_times_with_growing_backoff() {
    let server =
        Server::start(|_, _| Reply::status(500).json(serde_json::json!({"message": "boom"}))).await;
    let timer = FakeTimer::new();
    let err = client(builder("ringcentral", &timer))
        .get(server.url("/restapi/v1.0/account/~"))
        .send()
        .await
        .unwrap_err();
    let e = verdict_error(err);
    assert_eq!(server.seen().len(), 4, "one attempt and three retries");
    assert_eq!(
        *e.kind(),
        ErrorKind::Refused(Reason::RetriesExhausted { retries: 3 })
    );
    assert_eq!(e.attempts().len(), 4);
    assert_eq!(e.vendor_message(), Some("boom"));
    let waits = timer.durations();
    assert_eq!(waits.len(), 3);
    let rc = contract("ringcentral");
    for (i, w) in waits.iter().enumerate() {
        // Full jitter: anywhere up to the exponential back-off for that retry.
        assert!(*w <= rc.retry.backoff(i as u32 + 1), "retry {i}: {w:?}");
    }
}

#[tokio::test]
async fn an_unlisted_server_error_follows_the_contracts_class_rule() {
    let server =
        Server::start(|_, _| Reply::status(520).json(serde_json::json!({"message": "odd"}))).await;
    let timer = FakeTimer::new();
    // RingCentral: "Other 5xx: the client should not repeat the request."
    let err = client(builder("ringcentral", &timer))
        .get(server.url("/restapi/v1.0/account/~"))
        .send()
        .await
        .unwrap_err();
    let e = verdict_error(err);
    assert_eq!(server.seen().len(), 1, "not repeated");
    assert_eq!(*e.kind(), ErrorKind::Refused(Reason::Final));
    assert_eq!(e.meaning(), Some("A server error other than 500 and 503."));
    // Webex says nothing of other 5xx: RFC 9110 reads one as a 500, repeated for a GET.
    let _ = client(builder("webex", &timer))
        .get(server.url("/v1/rooms"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(server.seen().len(), 1 + 4);
}

#[tokio::test]
async fn a_post_is_not_repeated_after_a_server_error() {
    let server = Server::start(|_, _| Reply::status(500)).await;
    let timer = FakeTimer::new();
    let err = client(builder("webex", &timer))
        .post(server.url("/v1/messages"))
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(server.seen().len(), 1);
    assert_eq!(
        *verdict_error(err).kind(),
        ErrorKind::Refused(Reason::NotRepeatable {
            method: http::Method::POST
        })
    );
}

#[tokio::test]
async fn a_post_with_an_idempotency_key_is_repeated() {
    let server = Server::start(|_, n| Reply::status(if n == 0 { 500 } else { 200 })).await;
    let timer = FakeTimer::new();
    let r = client(builder("webex", &timer))
        .post(server.url("/v1/messages"))
        .header("Idempotency-Key", "k1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn retry_after_in_seconds_and_as_a_date() {
    let server = Server::start(|_, n| match n {
        0 => Reply::status(429).header("Retry-After", "7"),
        1 => Reply::status(423).header(
            "Retry-After",
            &httpdate::fmt_http_date(
                std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + 7 + 20),
            ),
        ),
        _ => Reply::status(200).body("ok"),
    })
    .await;
    let timer = FakeTimer::new();
    let r = client(builder("webex", &timer))
        .get(server.url("/v1/rooms"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        timer.durations(),
        [Duration::from_secs(7), Duration::from_secs(20)]
    );
    assert!(matches!(
        timer.waits()[0].reason,
        WaitReason::Retry {
            status: 429,
            cause: WaitCause::RetryAfter
        }
    ));
    let attempts = r.extensions().get::<Attempts>().unwrap();
    assert_eq!(attempts.0.len(), 3);
    assert_eq!(attempts.0[0].status, Some(429));
}

#[tokio::test]
async fn the_contract_floor_overrides_a_shorter_retry_after() {
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::status(503).header("Retry-After", "1")
        } else {
            Reply::status(200)
        }
    })
    .await;
    let timer = FakeTimer::new();
    let r = client(builder("token-api", &timer))
        .post(server.url("/v1/items"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        timer.durations(),
        [Duration::from_secs(60)],
        "token-api: at least 60 s"
    );
}

#[tokio::test]
async fn a_wait_beyond_the_cap_is_an_error_at_once() {
    for value in ["3600", "31536000000"] {
        let server =
            Server::start(move |_, _| Reply::status(429).header("Retry-After", value)).await;
        let timer = FakeTimer::new();
        let err = client(builder("webex", &timer).max_wait(Duration::from_secs(30)))
            .get(server.url("/v1/rooms"))
            .send()
            .await
            .unwrap_err();
        let e = verdict_error(err);
        assert_eq!(server.seen().len(), 1);
        assert!(timer.waits().is_empty(), "no silent hang");
        assert_eq!(
            e.retry_after(),
            Some(Duration::from_secs(value.parse().unwrap()))
        );
        assert!(e.to_string().contains("beyond the 30 s"), "{e}");
    }
}

#[tokio::test]
async fn garbage_retry_after_falls_back_to_backoff() {
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::status(429).header("Retry-After", "soon-ish")
        } else {
            Reply::status(200)
        }
    })
    .await;
    let timer = FakeTimer::new();
    let r = client(builder("webex", &timer))
        .get(server.url("/v1/rooms"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a = &r.extensions().get::<Attempts>().unwrap().0[0];
    assert!(
        a.note.contains("back-off") && a.note.contains("soon-ish"),
        "{}",
        a.note
    );
}

#[tokio::test]
async fn an_exhausted_quota_makes_later_requests_wait_for_the_window() {
    let server = Server::start(|_, n| {
        let r = Reply::status(200).header("X-Rate-Limit-Limit", "10");
        if n == 0 {
            r.header("X-Rate-Limit-Remaining", "0")
                .header("X-Rate-Limit-Window", "60")
        } else {
            r.header("X-Rate-Limit-Remaining", "9")
        }
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("ringcentral", &timer));
    c.get(server.url("/a"))
        .bearer_auth("t1")
        .send()
        .await
        .unwrap();
    assert!(timer.waits().is_empty());
    c.get(server.url("/b"))
        .bearer_auth("t1")
        .send()
        .await
        .unwrap();
    assert_eq!(timer.durations(), [Duration::from_secs(60)]);
    assert_eq!(timer.waits()[0].reason, WaitReason::Blocked);
    // Another credential is not held back.
    c.get(server.url("/c"))
        .bearer_auth("t2")
        .send()
        .await
        .unwrap();
    assert_eq!(timer.waits().len(), 1);
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_retry_after_holds_back_other_requests_on_the_same_credential() {
    let server = Server::start(|s, _| {
        if s.path == "/first" {
            Reply::status(429).header("Retry-After", "30")
        } else {
            Reply::status(200)
        }
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer).max_wait(Duration::from_secs(10)));
    // The first request is refused (30 s is over its 10 s cap) but the server's word stands.
    assert!(
        c.get(server.url("/first"))
            .bearer_auth("t")
            .send()
            .await
            .is_err()
    );
    let err = c.get(server.url("/second")).bearer_auth("t").send().await;
    // The block from the first response is not cut short: the second request may not wait
    // that long either, and never reaches the server.
    assert!(err.is_err());
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn the_retry_budget_limits_extra_load() {
    let server = Server::start(|_, _| Reply::status(503)).await;
    let timer = FakeTimer::new();
    let store = Arc::new(verdict_client::store::MemoryStore::with_budget(
        verdict_client::store::BudgetConfig {
            ratio: 0.1,
            per_second: 0.0,
            cap: 100.0,
        },
    ));
    let c = client(builder("webex", &timer).store(store));
    let mut budget_errors = 0;
    for _ in 0..100 {
        let e = verdict_error(c.get(server.url("/v1/rooms")).send().await.unwrap_err());
        if *e.kind() == ErrorKind::BudgetExhausted {
            budget_errors += 1;
        }
    }
    let sent = server.seen().len();
    assert!(
        sent <= 110,
        "retries added more than 10 %: {sent} requests for 100"
    );
    assert!(budget_errors > 80, "{budget_errors}");
}

#[tokio::test]
async fn redirects_rewrite_the_method_as_the_status_says() {
    let server = Server::start(|s, _| match s.path.as_str() {
        "/see-other" => Reply::status(303).header("Location", "/result"),
        "/moved" => Reply::status(301).header("Location", "/new"),
        "/temp" => Reply::status(307).header("Location", "/kept"),
        "/found" => Reply::status(302).header("Location", "/head-target"),
        _ => Reply::status(200).body("fine"),
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("ringcentral", &timer));
    c.post(server.url("/see-other"))
        .header("content-type", "application/json")
        .body("{\"a\":1}")
        .send()
        .await
        .unwrap();
    c.put(server.url("/moved")).body("x").send().await.unwrap();
    c.post(server.url("/temp"))
        .body("keep me")
        .send()
        .await
        .unwrap();
    c.head(server.url("/found")).send().await.unwrap();
    let seen = server.seen();
    let by_path = |p: &str| {
        seen.iter()
            .find(|s| s.path == p)
            .unwrap_or_else(|| panic!("{p} not requested"))
            .clone()
    };
    let result = by_path("/result");
    assert_eq!(result.method, "GET");
    assert!(result.body.is_empty());
    assert!(!result.headers.contains_key("content-type"));
    assert_eq!(by_path("/new").method, "GET");
    let kept = by_path("/kept");
    assert_eq!(kept.method, "POST");
    assert_eq!(&kept.body[..], b"keep me");
    assert_eq!(by_path("/head-target").method, "HEAD");
}

#[tokio::test]
async fn a_permanent_move_is_remembered() {
    let server = Server::start(|s, _| {
        if s.path == "/old" {
            Reply::status(308).header("Location", "/new")
        } else {
            Reply::status(200)
        }
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("whispir", &timer));
    c.get(server.url("/old")).send().await.unwrap();
    c.get(server.url("/old")).send().await.unwrap();
    let paths: Vec<String> = server.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/old", "/new", "/new"]);
}

#[tokio::test]
async fn a_redirect_without_location_repeats_the_url_for_ringcentral_only() {
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::status(302)
        } else {
            Reply::status(200)
        }
    })
    .await;
    let timer = FakeTimer::new();
    client(builder("ringcentral", &timer))
        .get(server.url("/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(server.seen().len(), 2);
    assert_eq!(server.seen()[1].path, "/x");

    let server = Server::start(|_, _| Reply::status(302)).await;
    let e = verdict_error(
        client(builder("webex", &timer))
            .get(server.url("/x"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(*e.kind(), ErrorKind::Refused(Reason::MissingLocation));

    // Repeating is bounded by the hop limit.
    let server = Server::start(|_, _| Reply::status(302)).await;
    let e = verdict_error(
        client(builder("ringcentral", &timer))
            .get(server.url("/x"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        *e.kind(),
        ErrorKind::Refused(Reason::TooManyRedirects { max: 10 })
    );
    assert_eq!(server.seen().len(), 11);
}

#[tokio::test]
async fn loops_and_bad_locations_end_with_a_clear_error() {
    let server = Server::start(|s, _| match s.path.as_str() {
        "/a" => Reply::status(302).header("Location", "/b"),
        "/b" => Reply::status(302).header("Location", "/a"),
        _ => Reply::status(302).header("Location", "http://[::1"),
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer));
    let e = verdict_error(c.get(server.url("/a")).send().await.unwrap_err());
    assert!(
        matches!(e.kind(), ErrorKind::Refused(Reason::RedirectLoop { .. })),
        "{e}"
    );
    let e = verdict_error(c.get(server.url("/bad")).send().await.unwrap_err());
    assert!(
        matches!(e.kind(), ErrorKind::Refused(Reason::BadLocation { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("http://[::1"), "{e}");
}

#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_origin() {
    let other = Server::start(|_, _| Reply::status(200)).await;
    let target = other.url("/landing");
    let first = Server::start(move |_, _| Reply::status(302).header("Location", &target)).await;
    let timer = FakeTimer::new();
    let creds = Credentials::bearer("secret", || async { Ok("secret2".to_string()) }).unwrap();
    let c = client(builder("whispir", &timer).credentials(creds));
    c.get(first.url("/start"))
        .header("x-api-key", "key-123")
        .header("cookie", "s=1")
        .send()
        .await
        .unwrap();
    let start = &first.seen()[0];
    assert_eq!(start.headers["authorization"], "Bearer secret");
    assert_eq!(start.headers["x-api-key"], "key-123");
    let landing = &other.seen()[0];
    for h in ["authorization", "x-api-key", "cookie"] {
        assert!(!landing.headers.contains_key(h), "{h} crossed origins");
    }
}

#[tokio::test]
async fn unauthorized_refreshes_once_for_all_concurrent_requests() {
    let server = Server::start(|s, _| {
        if s.headers
            .get("authorization")
            .is_some_and(|v| v == "Bearer fresh")
        {
            Reply::status(200)
        } else {
            Reply::status(401)
        }
    })
    .await;
    let timer = FakeTimer::new();
    let refreshes = Arc::new(AtomicUsize::new(0));
    let counter = refreshes.clone();
    let creds = Credentials::bearer("stale", move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok("fresh".to_string())
        }
    })
    .unwrap();
    let c = client(builder("webex", &timer).credentials(creds));
    let requests = (0..8).map(|i| c.get(server.url(&format!("/v1/rooms/{i}"))).send());
    for r in futures_join(requests).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    assert_eq!(refreshes.load(Ordering::SeqCst), 1, "single flight");
}

async fn futures_join<F: std::future::Future + Send + 'static>(
    fs: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send,
{
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_second_unauthorized_is_an_error() {
    let server = Server::start(|_, _| Reply::status(401).json(serde_json::json!({"message": "The request requires a valid access token to be set.", "trackingId": "ROUTER_1"}))).await;
    let timer = FakeTimer::new();
    let creds = Credentials::bearer("a", || async { Ok("b".to_string()) }).unwrap();
    let e = verdict_error(
        client(builder("webex", &timer).credentials(creds))
            .get(server.url("/v1/rooms"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(*e.kind(), ErrorKind::Refused(Reason::AuthRejected));
    assert_eq!(server.seen().len(), 2);
    assert_eq!(e.tracking_id(), Some("ROUTER_1"));
    let line = e.to_string();
    assert_eq!(line.lines().count(), 1);
    assert!(
        line.contains("401") && line.contains("valid access token") && line.contains("ROUTER_1"),
        "{line}"
    );
}

#[tokio::test]
async fn delete_of_a_missing_resource_is_success_for_ringcentral() {
    let server = Server::start(|_, _| {
        Reply::status(404)
            .json(serde_json::json!({"errorCode": "CMN-102", "message": "Resource not found"}))
    })
    .await;
    let timer = FakeTimer::new();
    let r = client(builder("ringcentral", &timer))
        .delete(server.url("/restapi/v1.0/account/~/extension/9"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let e = verdict_error(
        client(builder("ringcentral", &timer))
            .get(server.url("/x"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(e.vendor_code(), Some("CMN-102"));
    assert_eq!(e.vendor_message(), Some("Resource not found"));
}

#[tokio::test]
async fn a_304_is_answered_from_the_stored_copy() {
    let server = Server::start(|s, _| {
        if s.headers
            .get("if-none-match")
            .is_some_and(|v| v == "\"v1\"")
        {
            Reply::status(304).header("ETag", "\"v1\"")
        } else {
            Reply::status(200)
                .header("ETag", "\"v1\"")
                .json(serde_json::json!({"id": "r1"}))
        }
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("whispir", &timer));
    let first = c.get(server.url("/messages/1")).send().await.unwrap();
    assert!(first.extensions().get::<Revalidated>().is_none());
    assert_eq!(first.text().await.unwrap(), "{\"id\":\"r1\"}");
    let second = c.get(server.url("/messages/1")).send().await.unwrap();
    assert_eq!(second.status(), 200);
    assert!(second.extensions().get::<Revalidated>().is_some());
    assert_eq!(second.text().await.unwrap(), "{\"id\":\"r1\"}");
    assert_eq!(server.seen()[1].headers["if-none-match"], "\"v1\"");
}

#[tokio::test]
async fn accepted_work_is_polled_when_asked() {
    let server = Server::start(|s, n| match (s.path.as_str(), n) {
        ("/messages", _) => Reply::status(202)
            .header("Location", "/jobs/1")
            .header("Retry-After", "2"),
        ("/jobs/1", 1) => Reply::status(202)
            .header("Location", "/jobs/1")
            .header("Retry-After", "3"),
        _ => Reply::status(200).body("finished"),
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("whispir", &timer).poll_accepted(true));
    let r = c
        .post(server.url("/messages"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "finished");
    assert_eq!(
        timer.durations(),
        [Duration::from_secs(2), Duration::from_secs(3)]
    );
    let methods: Vec<String> = server
        .seen()
        .into_iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(methods, ["POST /messages", "GET /jobs/1", "GET /jobs/1"]);

    // Without asking, a 202 is the answer.
    let r = client(builder("whispir", &timer))
        .post(server.url("/messages"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

#[tokio::test]
async fn application_codes_in_a_200_are_errors_unless_they_say_success() {
    let server = Server::start(|s, _| {
        let code = if s.path.ends_with("dnd") {
            ("7109", "User in DnD")
        } else {
            ("7500", "Delivered")
        };
        Reply::status(200).json(serde_json::json!({"code": code.0, "description": code.1}))
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("webex-connect", &timer).api("transaction-status"));
    let e = verdict_error(c.get(server.url("/status/dnd")).send().await.unwrap_err());
    assert_eq!(e.vendor_code(), Some("7109"));
    assert_eq!(e.vendor_message(), Some("User in DnD"));
    assert_eq!(e.category(), Some(verdict::Category::Delivery));
    let ok = c.get(server.url("/status/ok")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(
        ok.text().await.unwrap().contains("Delivered"),
        "the body is still there"
    );
}

#[tokio::test]
async fn a_batch_is_split_into_parts() {
    let body = "--b7\r\nContent-Type: application/json\r\n\r\n{\"response\":[{\"status\":200},{\"status\":404}]}\r\n--b7\r\nContent-Type: application/json\r\n\r\n{\"id\":\"1\"}\r\n--b7\r\nContent-Type: application/json\r\n\r\n{\"errorCode\":\"CMN-102\"}\r\n--b7--\r\n";
    let server = Server::start(move |_, _| {
        Reply::status(207)
            .header("Content-Type", "multipart/mixed; boundary=b7")
            .body(body)
    })
    .await;
    let timer = FakeTimer::new();
    let r = client(builder("ringcentral", &timer))
        .get(server.url("/restapi/v1.0/account/~/extension/1,2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 207);
    let batch = verdict_client::batch(r, &Default::default()).await.unwrap();
    let statuses: Vec<u16> = batch.iter().map(|(s, _)| s.as_u16()).collect();
    assert_eq!(statuses, [200, 404]);
    assert_eq!(batch.parts[0].body, b"{\"id\":\"1\"}");

    let broken = Server::start(|_, _| {
        Reply::status(207)
            .header("Content-Type", "multipart/mixed; boundary=b7")
            .body("--b7\r\n\r\n{}")
    })
    .await;
    let r = client(builder("ringcentral", &timer))
        .get(broken.url("/x"))
        .send()
        .await
        .unwrap();
    let e = verdict_client::batch(r, &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Batch(_)), "{e}");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let timer = FakeTimer::new();
    let e = verdict_error(
        client(builder("webex", &timer))
            .post(format!("http://{addr}/v1/messages"))
            .body("{}")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(matches!(e.kind(), ErrorKind::Network(_)), "{e}");
    assert_eq!(
        e.attempts().len(),
        4,
        "a refused connection never reached the server: safe to retry even a POST"
    );
    assert!(
        timer
            .waits()
            .iter()
            .all(|w| w.reason == WaitReason::Network)
    );
}

#[tokio::test]
async fn a_real_wait_is_really_waited() {
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::status(503).header("Retry-After", "1")
        } else {
            Reply::status(200)
        }
    })
    .await;
    let c = verdict_client::client(Verdict::builder(contract("webex")).build()).unwrap();
    c.get(server.url("/v1/rooms")).send().await.unwrap();
    let seen = server.seen();
    assert!(
        seen[1].at.duration_since(seen[0].at) >= Duration::from_secs(1),
        "sent before Retry-After"
    );
}

#[tokio::test]
async fn a_file_contract_is_obeyed_like_a_builtin() {
    let text = "[contract]\nid = \"mine\"\nname = \"Mine\"\nextends = \"http\"\n[retry]\nmax_retries = 1\n[[status]]\ncode = 418\naction = \"retry\"\n";
    let server = Server::start(|_, _| Reply::status(418)).await;
    let timer = FakeTimer::new();
    let mine = crate::support::contract_from("mine.toml", text);
    let c = client(Verdict::builder(mine).timer(timer.clone()));
    let e = verdict_error(c.get(server.url("/")).send().await.unwrap_err());
    assert_eq!(server.seen().len(), 2);
    assert_eq!(
        *e.kind(),
        ErrorKind::Refused(Reason::RetriesExhausted { retries: 1 })
    );
}

#[tokio::test]
async fn last_modified_is_used_when_there_is_no_etag() {
    let stamp = "Wed, 21 Oct 2015 07:28:00 GMT";
    let server = Server::start(move |s, _| {
        if s.headers
            .get("if-modified-since")
            .is_some_and(|v| v == stamp)
        {
            Reply::status(304)
        } else {
            Reply::status(200).header("Last-Modified", stamp).body("v1")
        }
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("ringcentral", &timer));
    c.get(server.url("/r")).send().await.unwrap();
    let again = c.get(server.url("/r")).send().await.unwrap();
    assert!(again.extensions().get::<Revalidated>().is_some());
    assert_eq!(again.text().await.unwrap(), "v1");
}

#[tokio::test]
async fn pages_follow_the_link_header_and_bad_links_are_errors() {
    let server = Server::start(|s, _| match s.path.as_str() {
        "/items" => Reply::status(200)
            .header("Link", "</items?page=2>; rel=\"next\"")
            .body("1"),
        "/broken" => Reply::status(200).header("Link", "garbage").body("x"),
        _ => Reply::status(200).body("2"),
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer));
    let first = c.get(server.url("/items")).send().await.unwrap();
    let next = verdict_client::next_page(&first).unwrap().unwrap();
    assert_eq!(next.as_str(), server.url("/items?page=2"));
    let second = c.get(next).send().await.unwrap();
    assert_eq!(verdict_client::next_page(&second).unwrap(), None);
    let broken = c.get(server.url("/broken")).send().await.unwrap();
    let e = verdict_client::next_page(&broken).unwrap_err();
    assert!(e.to_string().contains("malformed Link header"), "{e}");
}

#[tokio::test]
async fn a_server_that_never_answers_ends_in_a_timeout_not_a_hang() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accept connections and keep them open without a word.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let timer = FakeTimer::new();
    let c = client_on(
        verdict_client::http_client().timeout(Duration::from_millis(200)),
        builder("webex", &timer),
    );
    let started = std::time::Instant::now();
    let e = verdict_error(
        c.get(format!("http://{addr}/v1/rooms"))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(matches!(e.kind(), ErrorKind::Network(_)), "{e}");
    assert_eq!(
        e.attempts().len(),
        4,
        "a GET that timed out is retried within the policy"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    holder.abort();
}

#[tokio::test]
async fn a_batch_whose_status_list_does_not_match_its_parts_is_an_error() {
    let body = "--b\r\nContent-Type: application/json\r\n\r\n{\"response\":[{\"status\":200},{\"status\":200},{\"status\":404}]}\r\n--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b--\r\n";
    let server = Server::start(move |_, _| {
        Reply::status(207)
            .header("Content-Type", "multipart/mixed; boundary=b")
            .body(body)
    })
    .await;
    let timer = FakeTimer::new();
    let r = client(builder("ringcentral", &timer))
        .get(server.url("/x"))
        .send()
        .await
        .unwrap();
    let e = verdict_client::batch(r, &Default::default())
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("3 entries") && e.to_string().contains("1 part"),
        "{e}"
    );
}

#[tokio::test]
async fn the_middleware_splits_batches_when_asked() {
    let body = "--b7\r\nContent-Type: application/json\r\n\r\n{\"response\":[{\"status\":200},{\"status\":404}]}\r\n--b7\r\nContent-Type: application/json\r\n\r\n{\"id\":\"1\"}\r\n--b7\r\nContent-Type: application/json\r\n\r\n{\"errorCode\":\"CMN-102\",\"message\":\"Resource for parameter [extensionId] is not found\"}\r\n--b7--\r\n";
    let server = Server::start(move |_, _| {
        Reply::status(207)
            .header("Content-Type", "multipart/mixed; boundary=b7")
            .body(body)
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("ringcentral", &timer).split_batches(true));
    let url = server.url("/restapi/v1.0/account/~/extension/1,2");
    let r = c.delete(&url).send().await.unwrap();
    let parts = r
        .extensions()
        .get::<verdict_client::BatchParts>()
        .unwrap()
        .clone();
    assert!(!parts.all_succeeded());
    assert_eq!(parts.0[0].status, 200);
    assert_eq!(&parts.0[0].body[..], b"{\"id\":\"1\"}");
    assert!(parts.0[0].error.is_none());
    let failed = parts.0[1].error.as_ref().unwrap();
    assert_eq!(failed.contract(), Some("ringcentral"));
    assert_eq!(
        failed.method(),
        Some(&reqwest::Method::DELETE),
        "the request's method"
    );
    assert_eq!(failed.vendor_code(), Some("CMN-102"));
    assert!(parts.0[1].meaning.is_some() && parts.0[1].advice.is_some());
    assert!(
        r.text().await.unwrap().contains("CMN-102"),
        "the body stays readable"
    );

    // Off by default: the response carries no parts.
    let r = client(builder("ringcentral", &timer))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert!(r.extensions().get::<verdict_client::BatchParts>().is_none());
}

#[tokio::test]
async fn a_broken_batch_names_the_request_it_answered() {
    let server = Server::start(|_, _| {
        Reply::status(207)
            .header("Content-Type", "multipart/mixed; boundary=b7")
            .body("--b7\r\n\r\n{}")
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("ringcentral", &timer).split_batches(true));
    let e = verdict_error(c.put(server.url("/x")).send().await.unwrap_err());
    assert!(matches!(e.kind(), ErrorKind::Batch(_)), "{e}");
    assert_eq!(e.contract(), Some("ringcentral"));
    assert_eq!(e.method(), Some(&reqwest::Method::PUT));
    assert!(
        e.attempts()[0].note.starts_with("batch not split"),
        "{:?}",
        e.attempts()
    );
}

/// A contract whose 403 is a rate limit when the answer says so, and whose 200 with
/// `"ok": false` and `"error": "ratelimited"` in the body asks to slow down.
fn variants_contract() -> verdict::Contract {
    let text = r#"
[contract]
id = "variants"
name = "Variants"
extends = "http"

[[status]]
code = 403
action = "fail"

[[status.variant]]
when = { header = "retry-after" }
meaning = "A secondary rate limit."
category = "rate-limit"
action = "retry-after"

[[status]]
code = 400
action = "fail"

[[status.variant]]
when = { pointer = "/error", equals = "ratelimited" }
meaning = "Slow down."
category = "rate-limit"
action = "retry"
"#;
    crate::support::contract_from("variants.toml", text)
}

#[tokio::test]
async fn a_status_variant_chosen_by_the_answer_decides() {
    // Requests are numbered over the server's life: the first of /limited and of /slow
    // are refused, their repeats answered.
    let server = Server::start(|_, n| match n {
        0 => Reply::status(403).header("retry-after", "2"),
        2 => Reply::status(400).json(serde_json::json!({"error": "ratelimited"})),
        1 | 3 => Reply::status(200),
        _ => Reply::status(403).json(serde_json::json!({"message": "no"})),
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(Verdict::builder(variants_contract()).timer(timer.clone()));
    // A 403 with Retry-After is the rate-limit variant: waited out and repeated.
    let r = c.get(server.url("/limited")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(timer.durations(), vec![Duration::from_secs(2)]);
    // A 400 whose JSON body says so is repeated after a back-off.
    let r = c.get(server.url("/slow")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Any other 403 is final, with the entry's own meaning.
    let e = verdict_error(c.get(server.url("/denied")).send().await.unwrap_err());
    assert_eq!(*e.kind(), ErrorKind::Refused(Reason::Final));
    assert_eq!(server.seen().len(), 5);
}

#[tokio::test]
async fn a_504_repeats_with_half_the_page_as_webex_asks() {
    // "If your query uses max, reduce it."
    let server = Server::start(|_, n| match n {
        0 | 1 => Reply::status(504),
        _ => Reply::status(200).json(serde_json::json!({"items": []})),
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer));
    let r = c
        .get(server.url("/v1/rooms?max=1000&type=group"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let asked: Vec<String> = server.seen().iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        asked,
        [
            "/v1/rooms?max=1000&type=group",
            "/v1/rooms?max=500&type=group",
            "/v1/rooms?max=250&type=group"
        ]
    );
    let attempts = r.extensions().get::<Attempts>().unwrap();
    assert!(
        attempts.0[0].note.contains("smaller page: max=500"),
        "{:?}",
        attempts.0[0].note
    );
}

/// An API whose quota refusal is a 403 that only its headers tell from a permission
/// refusal (GitHub's way), emulated and obeyed through the same contract.
#[tokio::test]
async fn the_emulators_quota_answer_takes_the_rate_limit_variant_and_the_client_waits_it_out() {
    let text = r#"
[contract]
id = "quota-403"
name = "Quota 403"
extends = "token-api"

[[status]]
code = 403
meaning = "The token may not do this."
category = "authorization"
action = "fail"

[[status.variant]]
when = { header = "retry-after" }
meaning = "A rate limit."
category = "rate-limit"
action = "retry-after"
"#;
    let contract = crate::support::contract_from("quota-403.toml", text);
    let config = verdict_server::Config {
        token: "t0".into(),
        quotas: Some(vec![verdict::emulate::Quota {
            requests: 1,
            window_s: 1,
            status: 403,
            group: None,
        }]),
        ..verdict_server::Config::default()
    };
    let em = verdict_server::Emulator::new(contract.clone(), config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(verdict_server::serve(Arc::new(em), listener, async {
        let _ = stopped.await;
    }));
    // The real clock: the emulator's window is real time.
    let one = || client(Verdict::builder(contract.clone()).max_wait(Duration::from_secs(5)));
    let url = format!("{origin}/v1/items");
    let first = one().get(&url).bearer_auth("t0").send().await.unwrap();
    assert_eq!(first.status(), 200);
    // Another client, which has not seen the quota used up: a 403 with Retry-After is
    // the rate-limit variant, waited out.
    let second = one().get(&url).bearer_auth("t0").send().await.unwrap();
    assert_eq!(second.status(), 200);
    let attempts = &second.extensions().get::<Attempts>().unwrap().0;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].status, Some(403));
    assert!(
        attempts[0].note.contains("Retry-After"),
        "{:?}",
        attempts[0].note
    );
    let _ = stop.send(());
}
