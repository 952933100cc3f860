//! Every documented status of webex, whispir and token-api is produced by the emulator
//! through real HTTP: by a real condition where one exists, by injection otherwise. The
//! test prints which is which.

use crate::support::{Running, start, start_with, walk};
use reqwest::{Method, Response};
use serde_json::{Value, json};

const WHISPIR_MESSAGE: &str = "application/vnd.whispir.message-v1+json";
const WHISPIR_CONTACT: &str = "application/vnd.whispir.contact-v1+json";

async fn webex_condition(s: &Running, code: u16) -> Option<Response> {
    let post_room = || {
        s.http
            .post(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .json(&json!({"title": "walk"}))
    };
    let room = || async {
        post_room()
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    Some(match code {
        200 => s
            .http
            .get(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap(),
        204 => {
            let id = room().await;
            s.http
                .delete(s.url(&format!("/v1/rooms/{id}")))
                .bearer_auth("t0")
                .send()
                .await
                .unwrap()
        }
        400 => s
            .http
            .post(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap(),
        401 => s.http.get(s.url("/v1/rooms")).send().await.unwrap(),
        403 => {
            s.admin(
                Method::POST,
                "/_verdict/tokens",
                json!({"token": "reader", "read_only": true}),
            )
            .await;
            s.http
                .post(s.url("/v1/rooms"))
                .bearer_auth("reader")
                .json(&json!({"title": "x"}))
                .send()
                .await
                .unwrap()
        }
        404 => s
            .http
            .get(s.url("/v1/rooms/unknown"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap(),
        405 => s
            .http
            .delete(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap(),
        409 => {
            let id = room().await;
            let m = json!({"roomId": id, "personEmail": "twice@example.com"});
            s.http
                .post(s.url("/v1/memberships"))
                .bearer_auth("t0")
                .json(&m)
                .send()
                .await
                .unwrap();
            s.http
                .post(s.url("/v1/memberships"))
                .bearer_auth("t0")
                .json(&m)
                .send()
                .await
                .unwrap()
        }
        410 => {
            let id = room().await;
            let msg: Value = s
                .http
                .post(s.url("/v1/messages"))
                .bearer_auth("t0")
                .json(&json!({"roomId": id, "text": "x"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let url = s.url(&format!("/v1/messages/{}", msg["id"].as_str().unwrap()));
            s.http.delete(&url).bearer_auth("t0").send().await.unwrap();
            s.http.get(&url).bearer_auth("t0").send().await.unwrap()
        }
        415 => s
            .http
            .post(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .body("{\"title\":\"x\"}")
            .send()
            .await
            .unwrap(),
        423 => {
            let id = room().await;
            let path = format!("/v1/rooms/{id}");
            s.admin(
                Method::POST,
                "/_verdict/locks",
                json!({"path": path, "retry_after": 2}),
            )
            .await;
            let r = s
                .http
                .get(s.url(&path))
                .bearer_auth("t0")
                .send()
                .await
                .unwrap();
            assert_eq!(r.headers()["retry-after"], "2");
            r
        }
        428 => s
            .http
            .get(s.url("/v1/contents/unscannable-9"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap(),
        429 => {
            let r = s
                .over_quota(async || s.get_as("/v1/rooms", "t0").await)
                .await;
            assert!(r.headers().contains_key("retry-after"));
            r
        }
        503 => {
            s.in_maintenance(3, async || s.get_as("/v1/rooms", "t0").await)
                .await
        }
        504 => s
            .http
            .get(s.url("/v1/rooms?max=100000"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap(),
        _ => return None,
    })
}

async fn whispir_condition(s: &Running, plain: &Running, code: u16) -> Option<Response> {
    let auth = |r: reqwest::RequestBuilder| r.bearer_auth("t0").header("x-api-key", "t0");
    let contact = json!({"firstName": "Ada", "lastName": "L", "workEmailAddress1": format!("ada{}@example.com", code)});
    let create = || {
        auth(s.http.post(s.url("/contacts")))
            .header("content-type", WHISPIR_CONTACT)
            .json(&contact)
    };
    Some(match code {
        200 => auth(s.http.get(s.url("/contacts"))).send().await.unwrap(),
        201 => {
            let r = create().send().await.unwrap();
            assert!(
                r.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with("https://127.0.0.1")
            );
            r
        }
        202 => {
            let r = auth(s.http.post(s.url("/messages")))
                .header("content-type", WHISPIR_MESSAGE)
                .json(&json!({"to": "+61400000000", "subject": "s"}))
                .send()
                .await
                .unwrap();
            assert!(r.headers().contains_key("location"));
            r
        }
        204 => {
            let loc = create().send().await.unwrap().headers()["location"]
                .to_str()
                .unwrap()
                .to_owned();
            auth(s.http.delete(loc)).send().await.unwrap()
        }
        301 | 302 => {
            s.admin(
                Method::POST,
                "/_verdict/moves",
                json!({"from": "/contacts/old", "to": "/contacts/new", "status": code}),
            )
            .await;
            auth(s.http.get(s.url("/contacts/old")))
                .send()
                .await
                .unwrap()
        }
        304 => {
            let r = create().send().await.unwrap();
            let (loc, etag) = (
                r.headers()["location"].to_str().unwrap().to_owned(),
                r.headers()["etag"].to_str().unwrap().to_owned(),
            );
            auth(s.http.get(loc))
                .header("if-none-match", etag)
                .send()
                .await
                .unwrap()
        }
        400 => auth(s.http.post(s.url("/contacts")))
            .header("content-type", WHISPIR_CONTACT)
            .body("{x")
            .send()
            .await
            .unwrap(),
        401 => s.http.get(s.url("/contacts")).send().await.unwrap(),
        403 => {
            let bad_key = s
                .http
                .get(s.url("/contacts"))
                .bearer_auth("t0")
                .header("x-api-key", "wrong")
                .send()
                .await
                .unwrap();
            assert_eq!(bad_key.status(), 403, "an invalid API key");
            auth(plain.http.get(plain.url("/contacts")))
                .send()
                .await
                .unwrap()
        }
        404 => auth(s.http.get(s.url("/contacts/0000")))
            .send()
            .await
            .unwrap(),
        405 => auth(s.http.post(s.url("/contacts/0000")))
            .send()
            .await
            .unwrap(),
        415 => auth(s.http.post(s.url("/contacts")))
            .header("content-type", "application/json")
            .json(&contact)
            .send()
            .await
            .unwrap(),
        422 => {
            let r = auth(s.http.post(s.url("/contacts")))
                .header("content-type", WHISPIR_CONTACT)
                .json(&json!({"firstName": "A"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 422);
            let body: Value = r.json().await.unwrap();
            let text = body["errorText"].as_str().unwrap();
            assert!(
                text.contains("lastName") && text.contains("workEmailAddress1"),
                "the offending fields are named: {body}"
            );
            auth(s.http.post(s.url("/contacts")))
                .header("content-type", WHISPIR_CONTACT)
                .json(&json!({"firstName": "A"}))
                .send()
                .await
                .unwrap()
        }
        429 => {
            s.over_quota(async || auth(s.http.get(s.url("/contacts"))).send().await.unwrap())
                .await
        }
        501 => auth(s.http.patch(s.url("/contacts/0000")))
            .send()
            .await
            .unwrap(),
        _ => return None,
    })
}

async fn token_condition(s: &Running, code: u16) -> Option<Response> {
    let create = || {
        s.http
            .post(s.url("/v1/items"))
            .bearer_auth("t0")
            .json(&json!({"name": "n"}))
    };
    Some(match code {
        200 => {
            let id = create()
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            s.http
                .patch(s.url(&format!("/v1/items/{id}")))
                .bearer_auth("t0")
                .json(&json!({"name": "m"}))
                .send()
                .await
                .unwrap()
        }
        201 => create().send().await.unwrap(),
        204 => {
            let id = create()
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            s.http
                .delete(s.url(&format!("/v1/items/{id}")))
                .bearer_auth("t0")
                .send()
                .await
                .unwrap()
        }
        400 => s
            .http
            .post(s.url("/v1/items"))
            .bearer_auth("t0")
            .header("content-type", "application/json")
            .body("not json")
            .send()
            .await
            .unwrap(),
        401 => {
            let r = s
                .http
                .post(s.url("/v1/items"))
                .json(&json!({"name": "n", "api_token": "t0"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
            let body: Value = r.json().await.unwrap();
            assert!(
                body["error"].as_str().unwrap().contains("in the body"),
                "{body}"
            );
            s.http.get(s.url("/v1/items")).send().await.unwrap()
        }
        403 => {
            s.admin(
                Method::POST,
                "/_verdict/tokens",
                json!({"token": "old", "revoked": true}),
            )
            .await;
            let r = s
                .http
                .get(s.url("/v1/items"))
                .bearer_auth("old")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "a revoked token");
            s.http
                .get(s.url("/v1/items"))
                .bearer_auth("never-issued")
                .send()
                .await
                .unwrap()
        }
        404 => {
            s.admin(
                Method::POST,
                "/_verdict/tokens",
                json!({"token": "other", "account": "account-2"}),
            )
            .await;
            let id = create()
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let r = s
                .http
                .get(s.url(&format!("/v1/items/{id}")))
                .bearer_auth("other")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "another account's id");
            r
        }
        429 => {
            s.over_quota(async || s.get_as("/v1/items", "t0").await)
                .await
        }
        503 => {
            s.in_maintenance(60, async || s.get_as("/v1/items", "t0").await)
                .await
        }
        _ => return None,
    })
}

#[tokio::test]
async fn every_documented_webex_status() {
    let s = start("webex").await;
    let real = walk(
        &s,
        "webex",
        "/v1/rooms",
        &[("authorization", "Bearer t0")],
        async |code| webex_condition(&s, code).await,
    )
    .await;
    assert!(real >= 15, "{real}");
}

#[tokio::test]
async fn every_documented_whispir_status() {
    // Whispir's 10 requests a second would stop the walk itself; its quotas are tested on
    // their own below.
    let quotas = Some(vec![verdict::emulate::Quota {
        requests: 100_000,
        window_s: 1,
        status: 429,
        group: None,
    }]);
    let config = || verdict_server::Config {
        token: "t0".into(),
        accept_delay: Some(std::time::Duration::from_secs(5)),
        quotas: quotas.clone(),
        ..Default::default()
    };
    let s = start_with("whispir", config(), true, Default::default()).await;
    let plain = start_with("whispir", config(), false, Default::default()).await;
    let headers = [("authorization", "Bearer t0"), ("x-api-key", "t0")];
    let real = walk(&s, "whispir", "/contacts", &headers, async |code| {
        whispir_condition(&s, &plain, code).await
    })
    .await;
    assert!(real >= 15, "{real}");
}

#[tokio::test]
async fn every_documented_token_api_status() {
    let s = start("token-api").await;
    let real = walk(
        &s,
        "token-api",
        "/v1/items",
        &[("authorization", "Bearer t0")],
        async |code| token_condition(&s, code).await,
    )
    .await;
    let documented = verdict::Catalog::builtin()
        .get("token-api")
        .unwrap()
        .documented_statuses()
        .count();
    assert_eq!(real, documented, "all by real conditions");
}

#[tokio::test]
async fn whispir_work_is_accepted_then_done() {
    let config = verdict_server::Config {
        token: "t0".into(),
        accept_delay: Some(std::time::Duration::from_millis(1200)),
        ..Default::default()
    };
    let s = start_with("whispir", config, true, Default::default()).await;
    let pem = s.ca_pem.clone().unwrap();
    let http = verdict_client::http_client()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let contract = verdict::Catalog::builtin().get("whispir").unwrap().clone();
    let client = reqwest_middleware::ClientBuilder::new(http)
        .with(
            verdict_client::Verdict::builder(contract)
                .poll_accepted(true)
                .build(),
        )
        .build();
    let r = client
        .post(s.url("/messages"))
        .bearer_auth("t0")
        .header("x-api-key", "t0")
        .header("content-type", WHISPIR_MESSAGE)
        .body(r#"{"to": "+61400000000", "subject": "hello"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let attempts = r
        .extensions()
        .get::<verdict_client::Attempts>()
        .unwrap()
        .0
        .clone();
    assert_eq!(attempts.first().unwrap().status, Some(202));
    assert_eq!(attempts.last().unwrap().status, Some(200));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["subject"], "hello");
}

#[tokio::test]
async fn whispir_quotas_answer_429_per_second_and_403_per_day() {
    let s = start_with(
        "whispir",
        verdict_server::Config {
            token: "t0".into(),
            ..Default::default()
        },
        true,
        Default::default(),
    )
    .await;
    let get = || {
        s.http
            .get(s.url("/contacts"))
            .bearer_auth("t0")
            .header("x-api-key", "t0")
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(get().await.unwrap().status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429));
    s.admin(Method::PUT, "/_verdict/quotas", json!([{"requests": 100, "window_s": 1}, {"requests": 2, "window_s": 86400, "status": 403}])).await;
    let answers = [
        get().await.unwrap(),
        get().await.unwrap(),
        get().await.unwrap(),
    ];
    let got: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(got, [200, 200, 403]);
    // The daily quota's 403 says when to come back, so the contract reads it as the
    // document's "more API calls than your allowed quota", not as a permission refusal.
    let refusal = answers[2].headers();
    assert!(refusal.contains_key("retry-after"), "{refusal:?}");
    let whispir = verdict::Catalog::builtin().get("whispir").unwrap();
    let entry = whispir.status(403).unwrap();
    let read = entry.for_answer(&Method::GET, refusal, None);
    assert_eq!(read.category, verdict::Category::RateLimit);
}
