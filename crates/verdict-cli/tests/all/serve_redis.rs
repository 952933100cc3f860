//! Two `verdict serve` processes sharing one real redis-server: state, quota, faults and
//! the journal span both; a third process started later finds what they wrote; a Redis
//! outage is a clear 503 and they recover by themselves.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use verdict_testkit::RedisServer;

/// A running `verdict serve`, killed when dropped.
struct Serve {
    child: Child,
    origin: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(redis: &RedisServer, group: &str) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args([
            "serve",
            "webex",
            "--port",
            "0",
            "--token",
            "tok",
            "--json",
            "--state",
            &redis.url(),
            "--group",
            group,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    assert_eq!(info["state"], format!("{} (group {group})", redis.url()));
    Serve {
        child,
        origin: info["origin"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_share_one_redis() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let http = verdict_client::http_client().build().unwrap();
    let (a, b) = (serve(&redis, "cli"), serve(&redis, "cli"));

    // State: written through A, read through B.
    let room: Value = http
        .post(format!("{}/v1/rooms", a.origin))
        .bearer_auth("tok")
        .json(&json!({ "title": "from A" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("/v1/rooms/{}", room["id"].as_str().unwrap());
    let r = http
        .get(format!("{}{path}", b.origin))
        .bearer_auth("tok")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["title"], "from A");

    // A fault queued through A's admin API fires on B, once.
    let r = http
        .post(format!("{}/_verdict/faults", a.origin))
        .json(&json!({ "path": "/v1/rooms", "status": 429, "retry_after": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let get = |origin: &str| {
        http.get(format!("{origin}/v1/rooms"))
            .bearer_auth("tok")
            .send()
    };
    let r = get(&b.origin).await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    assert_eq!(get(&a.origin).await.unwrap().status(), 200);

    // A quota of 4 requests a minute holds across both.
    http.put(format!("{}/_verdict/quotas", b.origin))
        .json(&json!([{ "requests": 4, "window_s": 60 }]))
        .send()
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for origin in [
        &a.origin, &b.origin, &a.origin, &b.origin, &a.origin, &b.origin,
    ] {
        statuses.push(get(origin).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);

    // The journal of either holds the requests of both.
    let journal: Value = http
        .get(format!("{}/_verdict/journal", b.origin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hosts: std::collections::BTreeSet<String> = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["headers"]["host"][0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(hosts.len(), 2, "{hosts:?}");

    // Both stop (the quota lifted first); a new process finds the room.
    http.put(format!("{}/_verdict/quotas", b.origin))
        .json(&json!([{ "requests": 1000, "window_s": 60 }]))
        .send()
        .await
        .unwrap();
    drop((a, b));
    let c = serve(&redis, "cli");
    let r = http
        .get(format!("{}{path}", c.origin))
        .bearer_auth("tok")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "nothing written is lost across a restart");

    // Redis goes away: a 503 that says why; it comes back: served again.
    redis.kill();
    let r = get(&c.origin).await.unwrap();
    assert_eq!(r.status(), 503);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("unreachable") && body.contains(&redis.url()),
        "{body}"
    );
    redis.spawn().unwrap();
    assert_eq!(get(&c.origin).await.unwrap().status(), 200);
}

#[test]
fn a_bad_state_url_is_refused_with_a_clear_message() {
    for (state, expected) in [
        (
            "postgres://x",
            "expected memory or a redis://HOST:PORT/DB URL",
        ),
        (
            "redis://127.0.0.1:1/0",
            "the shared state at redis://127.0.0.1:1/0 is unreachable",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args(["serve", "webex", "--port", "0", "--state", state])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{state}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{state}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
