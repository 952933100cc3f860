//! `verdict call` against a scripted server on 127.0.0.1.

use std::process::Output;
use std::time::Duration;

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
async fn body_to_stdout_trace_to_stderr_after_a_retry() {
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::status(503).header("Retry-After", "1")
        } else {
            Reply::status(200).json(serde_json::json!({"items": []}))
        }
    })
    .await;
    let o = verdict(args(&[
        "call",
        "--contract",
        "webex",
        &server.url("/v1/rooms"),
    ]))
    .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "{\"items\":[]}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("attempt 1") && err.contains("503") && err.contains("Retry-After"),
        "{err}"
    );
    assert!(err.contains("waiting 1.0 s"), "{err}");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].at.duration_since(seen[0].at) >= Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_has_status_headers_body_and_attempts() {
    let server = Server::start(|s, _| {
        assert_eq!(s.method, "PATCH");
        assert_eq!(s.headers["content-type"], "application/json");
        assert_eq!(s.headers["x-extra"], "1");
        Reply::status(200)
            .header("X-Thing", "a")
            .json(serde_json::json!({"name": "x"}))
    })
    .await;
    let o = verdict(args(&[
        "call",
        "-c",
        "token-api",
        "-X",
        "patch",
        "-H",
        "X-Extra: 1",
        "-d",
        "{\"name\":\"x\"}",
        "--json",
        &server.url("/v1/items/1"),
    ]))
    .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["body"]["name"], "x");
    assert_eq!(v["headers"]["x-thing"][0], "a");
    assert_eq!(v["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(v["error"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn distinct_exit_codes() {
    let client_error = Server::start(|_, _| Reply::status(404).json(serde_json::json!({"message": "The requested resource could not be found.", "trackingId": "T1"}))).await;
    let o = verdict(args(&[
        "call",
        "-c",
        "webex",
        &client_error.url("/v1/rooms/x"),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("404") && err.contains("could not be found") && err.contains("T1"),
        "{err}"
    );

    let server_error = Server::start(|_, _| Reply::status(500)).await;
    let o = verdict(args(&[
        "call",
        "-c",
        "ringcentral",
        "--max-wait",
        "60",
        &server_error.url("/x"),
    ]))
    .await;
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(server_error.seen().len(), 4);

    let too_long = Server::start(|_, _| Reply::status(429).header("Retry-After", "120")).await;
    let o = verdict(args(&[
        "call",
        "-c",
        "webex",
        "--max-wait",
        "5",
        "--json",
        &too_long.url("/x"),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(5));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["wait_demanded_s"], 120.0);
    assert_eq!(too_long.seen().len(), 1);

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let o = verdict(args(&[
        "call",
        "-c",
        "http",
        "--max-wait",
        "10",
        &format!("http://{addr}/"),
    ]))
    .await;
    assert_eq!(
        o.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let app = Server::start(|_, _| {
        Reply::status(200).json(serde_json::json!({"code": "7109", "description": "User in DnD"}))
    })
    .await;
    let o = verdict(args(&[
        "call",
        "-c",
        "webex-connect",
        "--api",
        "transaction-status",
        &app.url("/status"),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("User in DnD"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_usage_error() {
    for a in [
        vec!["call", "not a url"],
        vec!["call", "ftp://127.0.0.1/x"],
        vec!["call", "-H", "no colon", "http://127.0.0.1:1/"],
        vec![
            "call",
            "-d",
            "@/nonexistent/body.json",
            "http://127.0.0.1:1/",
        ],
        vec!["call", "--max-wait", "-1", "http://127.0.0.1:1/"],
        vec!["call", "-c", "nope", "http://127.0.0.1:1/"],
    ] {
        let o = verdict(args(&a)).await;
        assert_eq!(
            o.status.code(),
            Some(2),
            "{a:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{a:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_share_a_back_off_through_redis() {
    let Some(redis) = verdict_testkit::RedisServer::start() else {
        return;
    };
    let server = Server::start(|_, _| Reply::status(429).header("Retry-After", "30")).await;
    let call = |path: &str| {
        args(&[
            "call",
            "-c",
            "webex",
            "--store",
            &redis.url(),
            "--max-wait",
            "2",
            "-H",
            "Authorization: Bearer shared",
            &server.url(path),
        ])
    };
    let first = verdict(call("/one")).await;
    assert_eq!(
        first.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = verdict(call("/two")).await;
    assert_eq!(
        second.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        server.seen().len(),
        1,
        "the second process waited on the first one's Retry-After without sending"
    );
    let o = verdict(args(&[
        "call",
        "--store",
        "http://x",
        "http://127.0.0.1:1/",
    ]))
    .await;
    assert_eq!(o.status.code(), Some(2));
}
