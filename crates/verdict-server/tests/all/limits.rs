//! Limits and randomness: stored-resource cap, slow clients, seeded faults and latency.

use std::time::{Duration, Instant};

use crate::support::start_with;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use verdict_server::{Config, ServerLimits};

#[tokio::test]
async fn the_store_has_a_cap_with_a_clear_error() {
    let s = start_with(
        "token-api",
        Config {
            token: "t0".into(),
            store_limit: Some(2),
            ..Default::default()
        },
        false,
        Default::default(),
    )
    .await;
    for _ in 0..2 {
        let r = s
            .http
            .post(s.url("/v1/items"))
            .bearer_auth("t0")
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let r = s
        .http
        .post(s.url("/v1/items"))
        .bearer_auth("t0")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 507);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("limit of 2"),
        "{body}"
    );
}

#[tokio::test]
async fn a_slow_client_is_cut_off_and_others_are_served() {
    let limits = ServerLimits {
        header_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let s = start_with(
        "webex",
        Config {
            token: "t0".into(),
            ..Default::default()
        },
        false,
        limits,
    )
    .await;
    let addr = s.origin.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /v1/rooms HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Meanwhile a well-behaved client is served.
    assert_eq!(
        s.http
            .get(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the slow connection");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn seeded_random_faults_repeat() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let config = Config {
            token: "t0".into(),
            seed,
            fault_rate: 0.5,
            latency_ms: Some((0, 2)),
            ..Default::default()
        };
        let s = start_with("webex", config, false, Default::default()).await;
        let mut out = Vec::new();
        for _ in 0..30 {
            out.push(
                s.http
                    .get(s.url("/v1/rooms"))
                    .bearer_auth("t0")
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        out
    }
    let (a, b) = (statuses(42).await, statuses(42).await);
    assert_eq!(a, b, "the same seed gives the same faults");
    let faults = a.iter().filter(|s| **s != 200).count();
    assert!((5..=25).contains(&faults), "about half: {a:?}");
    let transient = [423, 429, 500, 502, 503, 504];
    assert!(
        a.iter().all(|s| *s == 200 || transient.contains(s)),
        "{a:?}"
    );
}

#[test]
fn bad_settings_are_refused() {
    let c = || verdict::Catalog::builtin().get("webex").unwrap().clone();
    for config in [
        Config {
            fault_rate: 1.5,
            ..Default::default()
        },
        Config {
            latency_ms: Some((10, 1)),
            ..Default::default()
        },
        Config {
            token: "has space".into(),
            ..Default::default()
        },
    ] {
        assert!(verdict_server::Emulator::new(c(), config).is_err());
    }
    let http = verdict::Catalog::builtin().get("http").unwrap().clone();
    let e = verdict_server::Emulator::new(http, Config::default()).unwrap_err();
    assert!(e.to_string().contains("no [emulator] table"), "{e}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let limits = ServerLimits {
        header_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let s = start_with(
        "webex",
        Config {
            token: "t0".into(),
            ..Default::default()
        },
        false,
        limits,
    )
    .await;
    let addr = s.origin.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    conn.write_all(b"GET /v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = conn.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Then nothing: the server ends the idle connection.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "an idle keep-alive connection stays open");
}

#[tokio::test]
async fn too_many_headers_are_refused_and_others_are_served() {
    let s = start_with(
        "webex",
        Config {
            token: "t0".into(),
            ..Default::default()
        },
        false,
        Default::default(),
    )
    .await;
    let mut req = s.http.get(s.url("/v1/rooms")).bearer_auth("t0");
    for i in 0..300 {
        req = req.header(format!("x-flood-{i}"), "x");
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(
        s.http
            .get(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "still serving"
    );
}
