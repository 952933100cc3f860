//! Idempotency keys the client adds where the contract says the API honours them: one key
//! per logical request, the same on each of its repeats, so a POST is repeated after a 500.

use verdict::decide::DecisionKind;
use verdict::{Asked, Catalog, Contract, SourceFile};
use verdict_client::Verdict;
use verdict_testkit::{Reply, Server};

use crate::support::{FakeTimer, client};

const KEYED: &str = r#"
[contract]
id = "keyed-api"
name = "An API that honours idempotency keys"
extends = "token-api"
summary = "The token API, with idempotency keys on every create."

[idempotency]
client_keys = true
"#;

fn keyed() -> (Catalog, Contract) {
    let catalog = Catalog::builtin()
        .with_files([SourceFile::new("keyed-api.toml", KEYED)])
        .unwrap();
    let c = catalog.get("keyed-api").unwrap().clone();
    (catalog, c)
}

#[tokio::test]
async fn a_post_gets_one_key_kept_across_its_repeats() {
    let server = Server::start(|_, n| match n {
        0 => Reply::status(500),
        _ => Reply::status(201).json(serde_json::json!({"id": "1"})),
    })
    .await;
    let (_, contract) = keyed();
    let c = client(Verdict::builder(contract).timer(FakeTimer::new()));
    let r = c
        .post(server.url("/v1/items"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    c.post(server.url("/v1/items"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = server
        .seen()
        .iter()
        .map(|s| s.headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0], keys[1], "a repeat carries its request's key");
    assert_ne!(keys[1], keys[2], "another request gets another key");
    assert!(
        keys[0].starts_with('"') && keys[0].len() == 34,
        "{}",
        keys[0]
    );
}

#[tokio::test]
async fn a_key_of_the_callers_own_is_kept_and_gets_never_carry_one() {
    let server = Server::start(|_, _| Reply::status(200)).await;
    let (_, contract) = keyed();
    let c = client(Verdict::builder(contract).timer(FakeTimer::new()));
    c.post(server.url("/v1/items"))
        .header("idempotency-key", "\"mine\"")
        .send()
        .await
        .unwrap();
    c.get(server.url("/v1/items")).send().await.unwrap();
    let seen = server.seen();
    assert_eq!(seen[0].headers["idempotency-key"], "\"mine\"");
    assert!(seen[1].headers.get("idempotency-key").is_none());
}

#[test]
fn explain_assumes_the_key_the_client_adds() {
    let (catalog, _) = keyed();
    let post = Asked {
        method: &http::Method::POST,
        idempotency_key: false,
    };
    let keyed = catalog.explain("keyed-api", 500, None, Some(post)).unwrap();
    assert_eq!(
        keyed[0].applied.as_ref().unwrap().decision,
        DecisionKind::Retry
    );
    let plain = Catalog::builtin()
        .explain("token-api", 500, None, Some(post))
        .unwrap();
    assert_eq!(
        plain[0].applied.as_ref().unwrap().decision,
        DecisionKind::Fail
    );
}

#[tokio::test]
async fn without_the_declaration_no_key_is_added() {
    let server = Server::start(|_, _| Reply::status(500)).await;
    let c = client(
        Verdict::builder(Catalog::builtin().get("token-api").unwrap().clone())
            .timer(FakeTimer::new()),
    );
    let _ = c.post(server.url("/v1/items")).body("{}").send().await;
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "a POST without a key is not repeated");
    assert!(seen[0].headers.get("idempotency-key").is_none());
}
