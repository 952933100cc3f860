//! `verdict call` and the standard and de facto headers: a wait in milliseconds, the
//! server's `x-should-retry`, and the IETF draft's `RateLimit` pacing a second process.

use std::process::Output;

use verdict_testkit::{Reply, Server};

async fn verdict(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wait_in_milliseconds_wins_over_retry_after() {
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::status(503)
                .header("Retry-After", "5")
                .header("retry-after-ms", "300")
        } else {
            Reply::status(200).body("ok")
        }
    })
    .await;
    let o = verdict(args(&["call", &server.url("/v1/items")])).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("retry in 0.3 s (Retry-After)"), "{err}");
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn x_should_retry_false_ends_the_call_with_the_statuss_exit_code() {
    let server = Server::start(|_, _| {
        Reply::status(503)
            .header("x-should-retry", "false")
            .json(serde_json::json!({"message": "overloaded"}))
    })
    .await;
    let o = verdict(args(&["call", "-c", "webex", &server.url("/v1/rooms")])).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.contains("the server said not to repeat the request (x-should-retry: false)"),
        "{err}"
    );
    assert!(
        err.contains("advice: the server said not to repeat this request"),
        "{err}"
    );
    assert_eq!(server.seen().len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim_end(),
        "{\"message\":\"overloaded\"}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_used_up_draft_quota_paces_the_next_process_through_redis() {
    let Some(redis) = verdict_testkit::RedisServer::start() else {
        return;
    };
    let server = Server::start(|_, n| {
        let left = if n == 0 { 0 } else { 5 };
        Reply::status(200)
            .header("RateLimit-Policy", r#""default";q=6;w=1"#)
            .header("RateLimit", &format!("\"default\";r={left};t=1"))
            .body("ok")
    })
    .await;
    let call = |path: &str| {
        args(&[
            "call",
            "-c",
            "webex",
            "--store",
            &redis.url(),
            "-H",
            "Authorization: Bearer shared",
            &server.url(path),
        ])
    };
    let first = verdict(call("/one")).await;
    assert!(first.status.success());
    let second = verdict(call("/two")).await;
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{err}");
    assert!(
        err.contains("(a wait shared on this credential) before attempt 1"),
        "the second process waited for the quota's reset: {err}"
    );
    assert_eq!(server.seen().len(), 2);
}
