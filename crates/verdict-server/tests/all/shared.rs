//! Emulators sharing their state through a real redis-server on 127.0.0.1: what one
//! writes the other reads, quotas, faults, maintenance and the journal span the group,
//! concurrent writes all land, state outlives the emulators, and a Redis outage is a 503
//! that heals by itself.

use crate::support::{Running, contract_from, start_shared, start_shared_contract};
use reqwest::Method;
use serde_json::{Value, json};
use verdict_testkit::RedisServer;

async fn pair(redis: &RedisServer, group: &str) -> (Running, Running) {
    (
        start_shared("webex", &redis.url(), group).await,
        start_shared("webex", &redis.url(), group).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_emulator_writes_the_other_reads() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = pair(&redis, "rooms").await;
    let room = a.create_room("shared").await;
    let id = room["id"].as_str().unwrap();
    let path = format!("/v1/rooms/{id}");

    let r = b.get_as(&path, &b.token).await;
    assert_eq!(
        r.status(),
        200,
        "a room created through A is read through B"
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(r.json::<Value>().await.unwrap(), room);

    let r = b
        .http
        .put(b.url(&path))
        .bearer_auth(&b.token)
        .header("If-Match", &etag)
        .json(&json!({ "title": "renamed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = a.get_as(&path, &a.token).await;
    assert_ne!(
        r.headers()["etag"].to_str().unwrap(),
        etag,
        "the ETag moved on"
    );
    assert_eq!(r.json::<Value>().await.unwrap()["title"], "renamed");

    // A's stale ETag is refused through A, though the update went through B.
    let r = a
        .http
        .put(a.url(&path))
        .bearer_auth(&a.token)
        .header("If-Match", &etag)
        .json(&json!({ "title": "late" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);

    let r = a
        .http
        .delete(a.url(&path))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(b.get_as(&path, &b.token).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_holds_across_the_group() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = pair(&redis, "quota").await;
    let r = a
        .admin(
            Method::PUT,
            "/_verdict/quotas",
            json!([{ "requests": 10, "window_s": 60 }]),
        )
        .await;
    assert_eq!(r.status(), 200);
    let mut statuses = Vec::new();
    let mut remaining = Vec::new();
    for i in 0..12 {
        let at = if i % 2 == 0 { &a } else { &b };
        let r = at.get_as("/v1/rooms", &at.token).await;
        statuses.push(r.status().as_u16());
        if let Some(left) = r.headers().get("x-ratelimit-remaining") {
            remaining.push(left.to_str().unwrap().parse::<u32>().unwrap());
        }
    }
    assert_eq!(
        &remaining[..10],
        &[9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
        "the headers count the group's requests"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(&statuses[10..], &[429, 429], "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_maintenance_and_moves_set_on_one_act_on_the_other() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = pair(&redis, "faults").await;
    let r = a
        .admin(
            Method::POST,
            "/_verdict/faults",
            json!({ "path": "/v1/rooms", "method": "GET", "status": 503, "times": 1 }),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        b.get_as("/v1/rooms", &b.token).await.status(),
        503,
        "A's fault fires on B"
    );
    assert_eq!(a.get_as("/v1/rooms", &a.token).await.status(), 200, "once");

    a.admin(
        Method::PUT,
        "/_verdict/maintenance",
        json!({ "on": true, "retry_after": 7 }),
    )
    .await;
    let r = b.get_as("/v1/rooms", &b.token).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "7");
    b.admin(Method::PUT, "/_verdict/maintenance", json!({ "on": false }))
        .await;
    assert_eq!(a.get_as("/v1/rooms", &a.token).await.status(), 200);

    b.admin(
        Method::POST,
        "/_verdict/moves",
        json!({ "from": "/v1/rooms", "to": "/v1/spaces", "status": 308 }),
    )
    .await;
    let r = a.get_as("/v1/rooms", &a.token).await;
    assert_eq!(r.status(), 308);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/v1/spaces")
    );

    // A token made through one emulator is accepted by the other.
    b.admin(
        Method::POST,
        "/_verdict/tokens",
        json!({ "token": "shared-token" }),
    )
    .await;
    assert_eq!(
        a.get_as("/v1/people/me", "shared-token").await.status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_holds_the_requests_of_the_group() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = pair(&redis, "journal").await;
    a.get_as("/v1/rooms?from=a", &a.token).await;
    b.get_as("/v1/rooms?from=b", &b.token).await;
    let journal = a.journal().await;
    let paths: Vec<&str> = journal
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/v1/rooms?from=a", "/v1/rooms?from=b"]);
    let seqs: Vec<u64> = journal.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs[0] < seqs[1]);
    let r = b
        .http
        .delete(b.url("/_verdict/journal"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(a.journal().await, Vec::<Value>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_through_both_all_land() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = pair(&redis, "concurrent").await;
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let at = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            at.create_room(&format!("room {i}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap());
    }
    assert_eq!(ids.len(), 40, "every room has its own id");
    for at in [&a, &b] {
        let list: Value = at
            .get_as("/v1/rooms?max=100", &at.token)
            .await
            .json()
            .await
            .unwrap();
        let listed: std::collections::BTreeSet<String> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(listed, ids, "both list every room");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_outlives_the_emulators_and_groups_are_apart() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let id = {
        let (a, b) = pair(&redis, "restart").await;
        let room = a.create_room("kept").await;
        b.admin(
            Method::POST,
            "/_verdict/tokens",
            json!({ "token": "kept-token" }),
        )
        .await;
        room["id"].as_str().unwrap().to_owned()
    };
    let c = start_shared("webex", &redis.url(), "restart").await;
    let r = c.get_as(&format!("/v1/rooms/{id}"), "kept-token").await;
    assert_eq!(
        r.status(),
        200,
        "a new emulator starts from what Redis holds"
    );
    assert_eq!(r.json::<Value>().await.unwrap()["title"], "kept");

    let other = start_shared("webex", &redis.url(), "another-group").await;
    assert_eq!(
        other
            .get_as(&format!("/v1/rooms/{id}"), &other.token)
            .await
            .status(),
        404,
        "another group has its own state"
    );

    // A reset through one clears the group.
    c.admin(Method::POST, "/_verdict/reset", json!({})).await;
    let d = start_shared("webex", &redis.url(), "restart").await;
    assert_eq!(
        d.get_as(&format!("/v1/rooms/{id}"), &d.token)
            .await
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_is_a_503_that_heals_by_itself() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = pair(&redis, "outage").await;
    a.create_room("before").await;
    redis.kill();
    for at in [&a, &b] {
        let r = at.get_as("/v1/rooms", &at.token).await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "1");
        let body: Value = r.json().await.unwrap();
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("Redis"), "{message}");
        assert!(message.contains(&redis.url()), "{message}");
    }
    redis.spawn().unwrap();
    // Redis came back empty (it keeps nothing on disk here): both follow it.
    for at in [&a, &b] {
        let r = at.get_as("/v1/rooms", &at.token).await;
        assert_eq!(r.status(), 200, "served again without a restart");
        assert_eq!(r.json::<Value>().await.unwrap()["items"], json!([]));
    }
    let room = b.create_room("after").await;
    let r = a
        .get_as(
            &format!("/v1/rooms/{}", room["id"].as_str().unwrap()),
            &a.token,
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_items_are_planted_once_for_the_group_and_come_back_after_a_reset() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let slack = || {
        contract_from(
            "slack.toml",
            include_str!("../../../../examples/contracts/slack.toml"),
        )
    };
    let a = start_shared_contract(slack(), &redis.url(), "slack").await;
    let b = start_shared_contract(slack(), &redis.url(), "slack").await;
    let names = |r: &Running| {
        let (http, url, token) = (
            r.http.clone(),
            r.url("/api/conversations.list"),
            r.token.clone(),
        );
        async move {
            let body: Value = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["channels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(&a).await, ["general"], "planted in the store");
    assert_eq!(names(&b).await, ["general"], "once, not once per emulator");
    // A third emulator of a group with a history takes the group's state as it is.
    let r = a
        .http
        .post(a.url("/api/conversations.create"))
        .bearer_auth(&a.token)
        .json(&json!({"name": "random"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c = start_shared_contract(slack(), &redis.url(), "slack").await;
    assert_eq!(names(&c).await, ["general", "random"]);
    a.admin(Method::POST, "/_verdict/reset", json!({})).await;
    assert_eq!(names(&b).await, ["general"], "a reset plants them again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rate_limit_group_spends_its_own_quota_across_the_group() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let github = || contract_from("github.toml", crate::github::GITHUB);
    let a = start_shared_contract(github(), &redis.url(), "groups").await;
    let b = start_shared_contract(github(), &redis.url(), "groups").await;
    let quotas = json!([
        { "requests": 100, "window_s": 3600, "status": 403, "group": "core" },
        { "requests": 3, "window_s": 60, "status": 403, "group": "search" },
    ]);
    // The counts below are exact only within one minute's window (and one hour's).
    let minute = std::time::Duration::from_secs(60);
    crate::support::away_from_window_edge(minute, std::time::Duration::from_secs(10)).await;
    let r = a.admin(Method::PUT, "/_verdict/quotas", quotas).await;
    assert_eq!(r.status(), 200);
    let get = |r: &Running, path: &str| {
        let req = r.http.get(r.url(path)).bearer_auth(&r.token);
        async move {
            let answer = req.send().await.unwrap();
            let h = answer.headers();
            let text = |name: &str| h.get(name).map(|v| v.to_str().unwrap().to_owned());
            (
                answer.status().as_u16(),
                text("x-ratelimit-resource"),
                text("x-ratelimit-limit"),
                text("x-ratelimit-remaining"),
                text("x-ratelimit-used"),
            )
        }
    };
    // The used count is the group's too: what the limit leaves after the remaining.
    let row = |status: u16, group: &str, limit: &str, left: &str| {
        let used = limit.parse::<u32>().unwrap() - left.parse::<u32>().unwrap();
        (
            status,
            Some(group.into()),
            Some(limit.into()),
            Some(left.into()),
            Some(used.to_string()),
        )
    };
    assert_eq!(
        get(&a, "/repos/o/r/issues").await,
        row(200, "core", "100", "99")
    );
    for (i, left) in ["2", "1", "0"].into_iter().enumerate() {
        let at = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            get(at, "/search/issues?q=state:open").await,
            row(200, "search", "3", left)
        );
    }
    assert_eq!(
        get(&b, "/search/issues?q=state:open").await,
        row(403, "search", "3", "0"),
        "the group's fourth search is over the search quota"
    );
    assert_eq!(
        get(&b, "/repos/o/r/issues").await,
        row(200, "core", "100", "98"),
        "searching spent nothing of core"
    );
}
