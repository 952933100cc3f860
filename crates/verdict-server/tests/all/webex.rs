//! `verdict serve webex` through real HTTP: resources, conditions and faults.

use crate::support::start;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn rooms_are_created_listed_across_pages_fetched_and_deleted() {
    let s = start("webex").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = s
            .http
            .post(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .json(&json!({"title": format!("room {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "Webex answers a create with 200");
        assert!(r.headers().contains_key("etag"));
        assert!(r.headers().get("trackingid").is_some());
        let room: Value = r.json().await.unwrap();
        assert_eq!(room["type"], "group");
        assert!(
            room["created"].as_str().unwrap().ends_with('Z')
                && room["created"].as_str().unwrap().contains('.')
        );
        ids.push(room["id"].as_str().unwrap().to_owned());
    }
    // Pages of two, linked with rel="next" absolute URLs.
    let mut url = s.url("/v1/rooms?max=2");
    let mut seen = Vec::new();
    loop {
        let r = s.http.get(&url).bearer_auth("t0").send().await.unwrap();
        assert_eq!(r.status(), 200);
        let link = r
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_owned());
        let body: Value = r.json().await.unwrap();
        seen.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        match link {
            Some(l) => {
                assert!(l.ends_with("; rel=\"next\""), "{l}");
                url = l
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned();
                assert!(url.starts_with("http://127.0.0.1"), "{url}");
            }
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let r = s
        .http
        .get(s.url(&format!("/v1/rooms/{}", ids[0])))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .delete(s.url(&format!("/v1/rooms/{}", ids[0])))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = s
        .http
        .get(s.url(&format!("/v1/rooms/{}", ids[0])))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"].is_string() && body["trackingId"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn the_same_person_added_twice_is_a_conflict() {
    let s = start("webex").await;
    let room = s.create_room("t").await;
    let m = json!({"roomId": room["id"], "personEmail": "ada@example.com"});
    let first = s
        .http
        .post(s.url("/v1/memberships"))
        .bearer_auth("t0")
        .json(&m)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let again = s
        .http
        .post(s.url("/v1/memberships"))
        .bearer_auth("t0")
        .json(&m)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let no_room = s
        .http
        .post(s.url("/v1/memberships"))
        .bearer_auth("t0")
        .json(&json!({"roomId": "nope", "personEmail": "a@b.co"}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_room.status(), 404);
}

#[tokio::test]
async fn bad_requests_get_the_right_status() {
    let s = start("webex").await;
    let post = |body: &'static str, ct: Option<&'static str>| {
        let mut r = s.http.post(s.url("/v1/rooms")).bearer_auth("t0").body(body);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r.send()
    };
    assert_eq!(
        post("{nope", Some("application/json"))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        post("[1]", Some("application/json"))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        post("{\"title\": 5}", Some("application/json"))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        post("{}", Some("application/json")).await.unwrap().status(),
        400
    );
    assert_eq!(
        post("{\"title\": \"x\"}", None).await.unwrap().status(),
        415
    );
    assert_eq!(
        post("{\"title\": \"x\"}", Some("text/plain"))
            .await
            .unwrap()
            .status(),
        415
    );
    let r = s
        .http
        .get(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    // The document's 404: "also returned when the requested format is not supported".
    assert_eq!(r.status(), 404);
    let r = s
        .http
        .patch(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, POST");
    assert_eq!(
        s.http
            .get(s.url("/v1/nothing"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        s.http
            .get(s.url("/v1/rooms?max=1001"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap()
            .status(),
        504
    );
    assert_eq!(
        s.http
            .get(s.url("/v1/rooms?max=zero"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
}

#[tokio::test]
async fn credentials_decide_401_and_403() {
    let s = start("webex").await;
    assert_eq!(
        s.http
            .get(s.url("/v1/rooms"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        s.http
            .get(s.url("/v1/rooms"))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    s.admin(
        Method::POST,
        "/_verdict/tokens",
        json!({"token": "reader", "read_only": true}),
    )
    .await;
    assert_eq!(
        s.http
            .get(s.url("/v1/rooms"))
            .bearer_auth("reader")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = s
        .http
        .post(s.url("/v1/rooms"))
        .bearer_auth("reader")
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn etags_give_304_and_412() {
    let s = start("webex").await;
    let r = s
        .http
        .post(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = s.url(&format!("/v1/rooms/{id}"));
    let r = s
        .http
        .get(&url)
        .bearer_auth("t0")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = s
        .http
        .put(&url)
        .bearer_auth("t0")
        .header("if-match", "\"999\"")
        .json(&json!({"title": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    let r = s
        .http
        .put(&url)
        .bearer_auth("t0")
        .header("if-match", &etag)
        .json(&json!({"title": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let new_etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    // A read after the update sends the new version, not the one read before it.
    let r = s.http.get(&url).bearer_auth("t0").send().await.unwrap();
    assert_eq!(r.headers()["etag"].to_str().unwrap(), new_etag);
    assert_eq!(r.json::<Value>().await.unwrap()["title"], "y");
}

#[tokio::test]
async fn deleted_messages_are_gone_and_locked_rooms_wait() {
    let s = start("webex").await;
    let room = s.create_room("t").await;
    let msg: Value = s
        .http
        .post(s.url("/v1/messages"))
        .bearer_auth("t0")
        .json(&json!({"roomId": room["id"], "text": "hi"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = s.url(&format!("/v1/messages/{}", msg["id"].as_str().unwrap()));
    assert_eq!(
        s.http
            .delete(&url)
            .bearer_auth("t0")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        s.http
            .get(&url)
            .bearer_auth("t0")
            .send()
            .await
            .unwrap()
            .status(),
        410
    );

    let room_path = format!("/v1/rooms/{}", room["id"].as_str().unwrap());
    s.admin(
        Method::POST,
        "/_verdict/locks",
        json!({"path": room_path, "seconds": 30, "retry_after": 4}),
    )
    .await;
    let r = s
        .http
        .get(s.url(&room_path))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 423);
    assert_eq!(r.headers()["retry-after"], "4");
}

#[tokio::test]
async fn unscannable_files_need_forcing() {
    let s = start("webex").await;
    let r = s
        .http
        .get(s.url("/v1/contents/unscannable-1"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 428);
    let r = s
        .http
        .get(s.url("/v1/contents/unscannable-1?allow=unscannable"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn quotas_maintenance_and_faults() {
    let s = start("webex").await;
    s.admin(
        Method::PUT,
        "/_verdict/quotas",
        json!([{"requests": 2, "window_s": 60}]),
    )
    .await;
    for _ in 0..2 {
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
    }
    let r = s
        .http
        .get(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    s.admin(Method::POST, "/_verdict/reset", json!({})).await;

    s.admin(
        Method::PUT,
        "/_verdict/maintenance",
        json!({"on": true, "retry_after": 9}),
    )
    .await;
    let r = s
        .http
        .get(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["retry-after"].to_str().unwrap()
        ),
        (503, "9")
    );
    s.admin(Method::PUT, "/_verdict/maintenance", json!({"on": false}))
        .await;

    let r = s
        .http
        .get(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .header("X-Verdict-Fault", "status=502")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("broken answer"),
        "the contract's meaning: {body}"
    );
    // A fault's own words, in the message and in Webex's errors beside it.
    let r = s
        .http
        .get(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .header("X-Verdict-Fault", "status=502; message=Upstream gone")
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "Upstream gone", "{body}");
    assert_eq!(body["errors"][0]["description"], "Upstream gone", "{body}");
    // A status the contract does not list says its class's meaning.
    let r = s
        .http
        .get(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .header("X-Verdict-Fault", "status=520")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 520);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["message"], "A server error this contract does not list.",
        "{body}"
    );
    let r = s
        .http
        .get(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .header("X-Verdict-Fault", "status=42x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("X-Verdict-Fault")
    );

    let q = s.admin(Method::POST, "/_verdict/faults", json!({"method": "GET", "path": "/v1/rooms", "status": 503, "retry_after": 2, "times": 2})).await;
    assert_eq!(q.status(), 201);
    for _ in 0..2 {
        let r = s
            .http
            .get(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap();
        assert_eq!(
            (
                r.status().as_u16(),
                r.headers()["retry-after"].to_str().unwrap()
            ),
            (503, "2")
        );
    }
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
}

#[tokio::test]
async fn the_journal_holds_what_clients_sent() {
    let s = start("webex").await;
    s.http
        .post(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .header("x-probe", "p1")
        .json(&json!({"title": "journal"}))
        .send()
        .await
        .unwrap();
    let entries = s.journal().await;
    let e = entries.iter().find(|e| e["method"] == "POST").unwrap();
    assert_eq!(e["path"], "/v1/rooms");
    assert_eq!(e["status"], 200);
    assert_eq!(e["headers"]["x-probe"][0], "p1");
    assert!(e["body"].as_str().unwrap().contains("journal"));
}

#[tokio::test]
async fn the_admin_api_can_require_a_token() {
    let config = verdict_server::Config {
        token: "t0".into(),
        admin_token: Some("adm".into()),
        ..Default::default()
    };
    let s = crate::support::start_with("webex", config, false, Default::default()).await;
    assert_eq!(
        s.http
            .get(s.url("/_verdict/journal"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let r = s
        .http
        .get(s.url("/_verdict/journal"))
        .header("x-verdict-admin-token", "adm")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn openapi_describes_every_resource() {
    let s = start("webex").await;
    let doc = s.openapi().await;
    assert_eq!(doc["openapi"], "3.0.3");
    for p in [
        "/v1/rooms",
        "/v1/rooms/{id}",
        "/v1/memberships",
        "/v1/messages/{id}",
        "/_verdict/faults",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p}");
    }
    assert!(
        doc["paths"]["/v1/rooms"]["get"]["responses"]
            .get("429")
            .is_some()
    );
}

#[tokio::test]
async fn the_verdict_client_rides_through_an_injected_429() {
    let s = start("webex").await;
    s.admin(
        Method::POST,
        "/_verdict/faults",
        json!({"path": "/v1/rooms", "status": 429, "retry_after": 1}),
    )
    .await;
    let contract = verdict::Catalog::builtin().get("webex").unwrap().clone();
    let client =
        verdict_client::client(verdict_client::Verdict::builder(contract).build()).unwrap();
    let r = client
        .get(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let attempts = r.extensions().get::<verdict_client::Attempts>().unwrap();
    assert_eq!(
        attempts.0.iter().map(|a| a.status).collect::<Vec<_>>(),
        [Some(429), Some(200)]
    );
    let gets: Vec<Value> = s
        .journal()
        .await
        .into_iter()
        .filter(|e| e["path"] == "/v1/rooms")
        .collect();
    assert_eq!(gets.len(), 2);
}

#[tokio::test]
async fn oversized_bodies_and_bad_input_never_hurt_the_server() {
    let limits = verdict_server::ServerLimits {
        body_limit: 1024,
        ..Default::default()
    };
    let s = crate::support::start_with(
        "webex",
        verdict_server::Config {
            token: "t0".into(),
            ..Default::default()
        },
        false,
        limits,
    )
    .await;
    let r = s
        .http
        .post(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .header("content-type", "application/json")
        .body(vec![b'a'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    let r = s
        .http
        .post(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .header("content-type", "application/json")
        .body(deep.into_bytes()[..1000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = s
        .http
        .post(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .header("content-type", "application/json")
        .body(vec![0xff, 0xfe, b'{'])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = s
        .http
        .get(s.url("/v1/rooms/..%2F..%2Fetc%2Fpasswd"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
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

/// A user's contract that extends `webex` inherits its `[emulator]` table, and with it the
/// vendor module the table names: served from a file, it answers Webex's own routes.
#[tokio::test]
async fn a_contract_extending_webex_emulates_webex() {
    let text = "[contract]\nid = \"my-webex\"\nname = \"My Webex\"\nextends = \"webex\"\n";
    let contract = crate::support::contract_from("my-webex.toml", text);
    let s = crate::support::start_contract(contract).await;
    let me = s
        .http
        .get(s.url("/v1/people/me"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["displayName"], "Verdict Emulator User");
    let room: serde_json::Value = s
        .http
        .post(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .json(&serde_json::json!({"title": "mine"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // base64url of "ciscospark://us/ROOM/" (21 bytes: no padding, a clean prefix).
    let id = room["id"].as_str().unwrap();
    assert!(id.starts_with("Y2lzY29zcGFyazovL3VzL1JPT00v"), "{id}");
}
