//! Idempotency keys (draft-ietf-httpapi-idempotency-key-header) in the emulator, over real
//! HTTP: the first answer for a key is given again to a repeat with the same payload and
//! the resource is made once; another payload gets the contract's 422, a repeat while the
//! first request is still in flight its 409; keys are scoped to credential, method and
//! path; and the OpenAPI document describes the header and the refusals.

use crate::support::{Running, start};
use reqwest::{Method, Response};
use serde_json::{Value, json};

const KEY: &str = "Idempotency-Key";

async fn post(s: &Running, path: &str, token: &str, key: &str, body: Value) -> Response {
    s.http
        .post(s.url(path))
        .bearer_auth(token)
        .header(KEY, key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The items of token-api's collection (its list key is `data`).
async fn items(s: &Running) -> Vec<Value> {
    let r = s.get_as("/v1/items?limit=100", "t0").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["data"].as_array().unwrap().clone()
}

/// Status, the headers that matter and the body of an answer.
async fn parts(r: Response) -> (u16, Option<String>, Option<String>, bool, Value) {
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (location, etag) = (header("location"), header("etag"));
    let replayed = header("idempotent-replayed").as_deref() == Some("true");
    let status = r.status().as_u16();
    (status, location, etag, replayed, r.json().await.unwrap())
}

#[tokio::test]
async fn a_repeat_gets_the_first_answer_and_the_item_is_made_once() {
    let s = start("token-api").await;
    let first = parts(post(&s, "/v1/items", "t0", "k1", json!({"name": "a"})).await).await;
    assert_eq!(first.0, 201);
    assert!(!first.3, "the first answer is not a replay");
    let again = parts(post(&s, "/v1/items", "t0", "k1", json!({"name": "a"})).await).await;
    assert_eq!(again.0, 201);
    assert_eq!(
        (&again.1, &again.2, &again.4),
        (&first.1, &first.2, &first.4)
    );
    assert!(again.3, "the repeat says it is a replay");
    // The draft's quoted form of the same key is the same key.
    let quoted = parts(post(&s, "/v1/items", "t0", "\"k1\"", json!({"name": "a"})).await).await;
    assert_eq!(quoted.4, first.4);
    assert_eq!(items(&s).await, std::slice::from_ref(&first.4));

    // An update is kept the same way.
    let id = first.4["id"].as_str().unwrap().to_owned();
    let patch = || {
        s.http
            .patch(s.url(&format!("/v1/items/{id}")))
            .bearer_auth("t0")
            .header(KEY, "p1")
            .json(&json!({"done": true}))
            .send()
    };
    let updated = parts(patch().await.unwrap()).await;
    assert_eq!((updated.0, updated.3), (200, false));
    let replayed = parts(patch().await.unwrap()).await;
    assert_eq!((replayed.0, replayed.3), (200, true));
    assert_eq!((replayed.2, replayed.4), (updated.2, updated.4));

    // Without a key every create makes an item.
    for _ in 0..2 {
        let r = s
            .http
            .post(s.url("/v1/items"))
            .bearer_auth("t0")
            .json(&json!({"name": "a"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    assert_eq!(items(&s).await.len(), 3);
}

#[tokio::test]
async fn another_payload_under_the_same_key_gets_the_contracts_422() {
    let s = start("token-api").await;
    let first = post(&s, "/v1/items", "t0", "k2", json!({"name": "a"})).await;
    assert_eq!(first.status(), 201);
    let r = post(&s, "/v1/items", "t0", "k2", json!({"name": "b"})).await;
    assert_eq!(r.status(), 422);
    // token-api's error shape: the message under "error".
    let body: Value = r.json().await.unwrap();
    let contract = verdict::Catalog::builtin().get("token-api").unwrap();
    assert_eq!(body["error"], contract.idempotency.reused.message.as_str());
    assert_eq!(items(&s).await.len(), 1);
}

#[tokio::test]
async fn keys_are_scoped_to_credential_method_and_path() {
    let s = start("token-api").await;
    s.admin(Method::POST, "/_verdict/tokens", json!({"token": "t1"}))
        .await;
    let a = post(&s, "/v1/items", "t0", "k", json!({"name": "a"})).await;
    let b = post(&s, "/v1/items", "t1", "k", json!({"name": "a"})).await;
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (201, 201));
    assert!(b.headers().get("idempotent-replayed").is_none());
    let p = post(&s, "/v1/projects", "t0", "k", json!({"name": "a"})).await;
    assert_eq!(p.status(), 201);
    assert!(p.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn what_is_kept_and_what_is_not() {
    let s = start("token-api").await;
    // Refused before it ran (no credentials): nothing is kept, the key is still free.
    let r = s
        .http
        .post(s.url("/v1/items"))
        .header(KEY, "k3")
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // An injected fault is not the operation either.
    let r = s
        .http
        .post(s.url("/v1/items"))
        .bearer_auth("t0")
        .header(KEY, "k3")
        .header("X-Verdict-Fault", "status=500")
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let r = post(&s, "/v1/items", "t0", "k3", json!({"name": "a"})).await;
    assert_eq!(r.status(), 201);
    assert!(r.headers().get("idempotent-replayed").is_none());

    // The operation's own refusal is an answer like any other, and is kept.
    let r = post(&s, "/v1/items", "t0", "k4", json!({"done": true})).await;
    assert_eq!(r.status(), 400);
    let again = post(&s, "/v1/items", "t0", "k4", json!({"done": true})).await;
    assert_eq!(again.status(), 400);
    assert_eq!(again.headers()["idempotent-replayed"], "true");

    // A key that is empty or too long is refused in the contract's shape.
    for bad in ["\"\"".to_owned(), "k".repeat(300)] {
        let r = post(&s, "/v1/items", "t0", &bad, json!({"name": "a"})).await;
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("Idempotency-Key:"),
            "{body}"
        );
    }

    // A reset forgets every key.
    s.admin(Method::POST, "/_verdict/reset", json!({})).await;
    let r = post(&s, "/v1/items", "t0", "k3", json!({"name": "a"})).await;
    assert_eq!(r.status(), 201);
    assert!(r.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_repeat_while_the_first_is_in_flight_gets_one_409() {
    let s = start("token-api").await;
    // The first request is held back by a delay fault; it stays in flight until its
    // answer is sent.
    let slow = {
        let request = s
            .http
            .post(s.url("/v1/items"))
            .bearer_auth("t0")
            .header(KEY, "k5")
            .header("X-Verdict-Fault", "delay-ms=5000")
            .json(&json!({"name": "slow"}));
        tokio::spawn(async move { request.send().await.unwrap() })
    };
    // The journal shows a request once it is answered and before its delay; wait for it
    // (the bound only turns a hang into a failure).
    let journaled = async {
        loop {
            let seen = s
                .journal()
                .await
                .iter()
                .any(|e| e["method"] == "POST" && e["path"] == "/v1/items");
            if seen {
                break;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), journaled)
        .await
        .expect("the first request never reached the emulator");
    let r = post(&s, "/v1/items", "t0", "k5", json!({"name": "slow"})).await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    let contract = verdict::Catalog::builtin().get("token-api").unwrap();
    assert_eq!(
        body["error"],
        contract.idempotency.in_flight.message.as_str()
    );

    let first = parts(slow.await.unwrap()).await;
    assert_eq!((first.0, first.3), (201, false));
    let again = parts(post(&s, "/v1/items", "t0", "k5", json!({"name": "slow"})).await).await;
    assert_eq!((again.0, again.3), (201, true));
    assert_eq!(again.4, first.4);
    assert_eq!(items(&s).await, [first.4]);
}

#[tokio::test]
async fn a_problem_contract_refuses_a_reused_key_with_a_problem() {
    let contract = crate::support::contract_from(
        "problem-api.toml",
        include_str!("../fixtures/problem-api.toml"),
    );
    let s = crate::support::start_contract(contract.clone()).await;
    assert_eq!(
        post(&s, "/v1/items", "t0", "k", json!({"name": "a"}))
            .await
            .status(),
        201
    );
    let r = post(&s, "/v1/items", "t0", "k", json!({"name": "b"})).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    assert_eq!(
        p["type"],
        "https://api.problem-api.example/problems/idempotency-key-reused"
    );
    assert_eq!(p["status"], 422);
    assert_eq!(p["detail"], contract.idempotency.reused.message.as_str());
    assert_eq!(p["instance"], "/v1/items");
}

#[tokio::test]
async fn openapi_describes_the_header_and_the_refusals() {
    let s = start("token-api").await;
    let doc = s.openapi().await;
    let has_key = |op: &Value| {
        op["parameters"]
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x["name"] == KEY && x["in"] == "header"))
    };
    let create = &doc["paths"]["/v1/items"]["post"];
    let update = &doc["paths"]["/v1/items/{id}"]["patch"];
    for op in [create, update] {
        assert!(has_key(op), "{op}");
        for status in ["409", "422", "400"] {
            let r = &op["responses"][status];
            assert!(
                r["description"].as_str().unwrap().contains(KEY),
                "{status}: {r}"
            );
            assert!(
                r["content"]["application/json"].is_object(),
                "{status}: {r}"
            );
        }
    }
    assert!(!has_key(&doc["paths"]["/v1/items"]["get"]));
    assert!(!has_key(&doc["paths"]["/v1/items/{id}"]["delete"]));
}
