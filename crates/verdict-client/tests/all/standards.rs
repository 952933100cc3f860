//! The client paced and steered by the standard and de facto headers, against a real HTTP
//! server on 127.0.0.1: the IETF draft's `RateLimit` fields and the older quota
//! conventions, `retry-after-ms`, and `x-should-retry`. Waits go through a fake clock.

use std::time::Duration;

use crate::support::{FakeTimer, builder, client, verdict_error};
use verdict::decide::{Reason, WaitCause};
use verdict_client::ErrorKind;
use verdict_client::timer::WaitReason;
use verdict_testkit::{Reply, Server};

/// Three GETs on one credential and one on another, the first answered with `first`;
/// returns the client's waits.
async fn paced(contract: &str, first: Reply) -> Vec<(Duration, WaitReason)> {
    let server = Server::start(move |_, n| {
        if n == 0 {
            first.clone()
        } else {
            Reply::status(200).header("RateLimit", r#""default";r=50;t=60"#)
        }
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder(contract, &timer));
    for (path, token) in [("/a", "t1"), ("/b", "t1"), ("/c", "t2"), ("/d", "t1")] {
        let r = c
            .get(server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(server.seen().len(), 4);
    timer
        .waits()
        .into_iter()
        .map(|w| (w.duration, w.reason))
        .collect()
}

#[tokio::test]
async fn a_used_up_draft_quota_holds_back_the_credential_until_its_reset() {
    // Webex names X-RateLimit-* (from the baseline); the server sends the draft's fields.
    let first = Reply::status(200)
        .header("RateLimit-Policy", r#""burst";q=100;w=60"#)
        .header("RateLimit", r#""burst";r=0;t=30"#);
    assert_eq!(
        paced("webex", first).await,
        [(Duration::from_secs(30), WaitReason::Blocked)],
        "only the second request on t1 waits"
    );
}

#[tokio::test]
async fn several_policies_over_several_lines_pace_by_the_one_used_up() {
    let first = Reply::status(200)
        .header("RateLimit-Policy", r#""burst";q=100;w=60"#)
        .header(
            "RateLimit-Policy",
            r#""daily";q=1000;w=86400;pk=:dXNlcjE=:"#,
        )
        .header("RateLimit", r#""burst";r=99;t=59"#)
        .header("RateLimit", r#""daily";r=0;t=200;pk=:dXNlcjE=:"#);
    let timer_waits = paced("ringcentral", first).await;
    assert_eq!(
        timer_waits,
        [(Duration::from_secs(200), WaitReason::Blocked)]
    );
}

#[tokio::test]
async fn retry_after_takes_precedence_over_the_quota_reset() {
    let first = Reply::status(200)
        .header("RateLimit", r#""default";r=0;t=30"#)
        .header("Retry-After", "2");
    assert_eq!(
        paced("webex", first).await,
        [(Duration::from_secs(2), WaitReason::Blocked)]
    );
}

#[tokio::test]
async fn the_earlier_drafts_and_x_rate_limit_fields_pace_too() {
    let first = Reply::status(200)
        .header("RateLimit-Limit", "10")
        .header("RateLimit-Remaining", "0")
        .header("RateLimit-Reset", "12");
    assert_eq!(
        paced("ringcentral", first).await,
        [(Duration::from_secs(12), WaitReason::Blocked)]
    );
    // RingCentral's live API spells it X-Rate-Limit-*, with a reset; webex names
    // X-RateLimit-* and still reads it.
    let first = Reply::status(200)
        .header("X-Rate-Limit-Remaining", "0")
        .header("X-Rate-Limit-Reset", "5");
    assert_eq!(
        paced("webex", first).await,
        [(Duration::from_secs(5), WaitReason::Blocked)]
    );
}

#[tokio::test]
async fn malformed_or_unused_quota_fields_change_nothing() {
    for first in [
        Reply::status(200).header("RateLimit", r#""default";r=0;t=30,"#),
        Reply::status(200).header("RateLimit", r#""default";r=0;t=-30"#),
        Reply::status(200).header("RateLimit", "\"default\";r=0;t=30;pk=:not base64:"),
        Reply::status(200).header("RateLimit", r#""default";r=3;t=30"#),
        Reply::status(200).header("RateLimit", r#""default";r=0"#),
    ] {
        assert_eq!(paced("webex", first.clone()).await, [], "{first:?}");
    }
}

#[tokio::test]
async fn retry_after_ms_names_the_wait_more_precisely() {
    let server = Server::start(|_, n| match n {
        0 => Reply::status(503)
            .header("Retry-After", "9")
            .header("retry-after-ms", "1500"),
        1 => Reply::status(429).header("x-ms-retry-after-ms", "250"),
        _ => Reply::status(200),
    })
    .await;
    let timer = FakeTimer::new();
    let r = client(builder("ringcentral", &timer))
        .get(server.url("/restapi/v1.0/account/~"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        timer.durations(),
        [Duration::from_millis(1500), Duration::from_millis(250)]
    );
    assert!(matches!(
        timer.waits()[0].reason,
        WaitReason::Retry {
            status: 503,
            cause: WaitCause::RetryAfter
        }
    ));
}

#[tokio::test]
async fn a_millisecond_wait_under_the_contracts_floor_is_raised_to_it() {
    // token-api waits at least 60 s after a 429, whatever the server names.
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::status(429).header("retry-after-ms", "20")
        } else {
            Reply::status(200)
        }
    })
    .await;
    let timer = FakeTimer::new();
    client(builder("token-api", &timer))
        .get(server.url("/v1/items"))
        .send()
        .await
        .unwrap();
    assert_eq!(timer.durations(), [Duration::from_secs(60)]);
    assert!(matches!(
        timer.waits()[0].reason,
        WaitReason::Retry {
            cause: WaitCause::Floor,
            ..
        }
    ));
}

#[tokio::test]
async fn x_should_retry_false_stops_a_retry() {
    let server = Server::start(|_, _| {
        Reply::status(503)
            .header("x-should-retry", "false")
            .json(serde_json::json!({"message": "not this time"}))
    })
    .await;
    let timer = FakeTimer::new();
    let err = client(builder("webex", &timer))
        .get(server.url("/v1/rooms"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(server.seen().len(), 1, "no repeat");
    let e = verdict_error(err);
    assert!(
        matches!(&e.kind(), ErrorKind::Refused(Reason::ServerSaidNoRetry { header }) if header.as_str() == "x-should-retry"),
        "{:?}",
        e.kind()
    );
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    assert!(
        e.advice().unwrap().contains("x-should-retry: false"),
        "{:?}",
        e.advice()
    );
    assert!(timer.waits().is_empty());
}

#[tokio::test]
async fn x_should_retry_true_repeats_a_final_answer_when_the_request_may_be_repeated() {
    let server = Server::start(|s, n| {
        if s.method == "GET" && n > 0 && s.path == "/v1/rooms" {
            Reply::status(200)
        } else {
            Reply::status(409).header("x-should-retry", "true")
        }
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer));
    let r = c.get(server.url("/v1/rooms")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(timer.waits().len(), 1);
    assert!(matches!(
        timer.waits()[0].reason,
        WaitReason::Retry {
            status: 409,
            cause: WaitCause::Backoff
        }
    ));
    // A POST without an idempotency key is still not repeated.
    let err = c
        .post(server.url("/v1/messages"))
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        *verdict_error(err).kind(),
        ErrorKind::Refused(Reason::NotRepeatable {
            method: http::Method::POST
        })
    );
    assert_eq!(server.seen().len(), 3);
}
