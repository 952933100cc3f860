//! Problem details (RFC 9457) in the client's error: against the emulator of a contract
//! whose errors are problems, and against a server that answers
//! `application/problem+json` to a client whose contract does not expect it. Real HTTP on
//! 127.0.0.1; waits go through a fake clock.

use std::sync::Arc;

use crate::support::{FakeTimer, client, verdict_error};
use serde_json::json;
use verdict::Contract;
use verdict_client::Verdict;
use verdict_testkit::{Reply, Server};

const FIXTURE: &str = include_str!("../../../verdict-server/tests/fixtures/problem-api.toml");
const TYPES: &str = "https://api.problem-api.example/problems/";

fn problem_contract() -> Contract {
    verdict::Catalog::builtin()
        .with_files([verdict::SourceFile::new("problem-api.toml", FIXTURE)])
        .unwrap()
        .get("problem-api")
        .unwrap()
        .clone()
}

/// The emulator of the fixture on 127.0.0.1, its origin, and a stop handle.
async fn emulator() -> (String, tokio::sync::oneshot::Sender<()>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = verdict_server::Config {
        token: "t0".into(),
        ..verdict_server::Config::default()
    };
    let em = Arc::new(verdict_server::Emulator::new(problem_contract(), config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(verdict_server::serve(em, listener, async {
        let _ = stopped.await;
    }));
    (origin, stop)
}

#[tokio::test]
async fn the_error_carries_every_member_of_the_emulators_problem() {
    let (origin, _stop) = emulator().await;
    let timer = FakeTimer::new();
    let c = client(Verdict::builder(problem_contract()).timer(timer.clone()));

    let err = c
        .get(format!("{origin}/v1/items/nope"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap_err();
    let e = verdict_error(err);
    let p = e.problem().expect("a problem");
    assert_eq!(p.type_uri, format!("{TYPES}not-found"));
    assert_eq!(p.title.as_deref(), Some("Not Found"));
    assert_eq!(p.status, Some(404));
    assert_eq!(p.detail.as_deref(), Some("No item with id nope."));
    assert_eq!(p.instance.as_deref(), Some("/v1/items/nope"));
    let tracking = e.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(p.extensions["trackingId"], tracking);
    // The contract's pointers find the detail and the tracking id; the type stands in for
    // the vendor code the body does not have.
    assert_eq!(e.vendor_message(), Some("No item with id nope."));
    assert_eq!(e.tracking_id(), Some(tracking));
    assert_eq!(e.vendor_code(), Some(p.type_uri.as_str()));
    let line = e.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.contains("-> 404 Not Found: \"No item with id nope.\""),
        "{line}"
    );
    assert!(line.contains(&format!("type {TYPES}not-found")), "{line}");
    assert!(line.contains(&format!("tracking id {tracking}")), "{line}");

    // Field errors travel in the `errors` extension member.
    let err = c
        .post(format!("{origin}/v1/items"))
        .bearer_auth("t0")
        .json(&json!({"name": 3}))
        .send()
        .await
        .unwrap_err();
    let e = verdict_error(err);
    let p = e.problem().expect("a problem");
    assert_eq!(p.status, Some(400));
    assert_eq!(p.type_uri, format!("{TYPES}validation"));
    assert_eq!(
        p.extensions["errors"],
        json!([{"description": "name must be a string"}])
    );
    assert_eq!(e.field_errors(), ["name must be a string"]);
}

#[tokio::test]
async fn a_problem_answer_is_read_whatever_the_contract_expects() {
    let server = Server::start(|_, _| {
        Reply::status(403)
            .header("content-type", "application/problem+json")
            .body(
                json!({
                    "type": "https://example.com/probs/out-of-credit",
                    "title": "You do not have enough credit.",
                    "status": 403,
                    "detail": "Your current balance is 30, but that costs 50.",
                    "instance": "/account/12345/msgs/abc",
                    "balance": 30,
                    "accounts": ["/account/12345", "/account/67890"]
                })
                .to_string(),
            )
    })
    .await;
    let timer = FakeTimer::new();
    // token-api's error body keeps its message under /error: the pointer finds nothing.
    let c = client(crate::support::builder("token-api", &timer));
    let e = verdict_error(c.get(server.url("/v1/items")).send().await.unwrap_err());
    let p = e.problem().expect("a problem");
    assert_eq!(p.extensions["balance"], 30);
    assert_eq!(p.extensions["accounts"][1], "/account/67890");
    assert_eq!(p.instance.as_deref(), Some("/account/12345/msgs/abc"));
    assert_eq!(
        e.vendor_message(),
        Some("Your current balance is 30, but that costs 50.")
    );
    assert_eq!(
        e.vendor_code(),
        Some("https://example.com/probs/out-of-credit")
    );
    let line = e.to_string();
    assert!(
        line.contains("type https://example.com/probs/out-of-credit"),
        "{line}"
    );
    assert!(
        line.contains("title \"You do not have enough credit.\""),
        "{line}"
    );
}

#[tokio::test]
async fn a_blank_or_broken_problem_never_stands_in_for_a_code() {
    // about:blank (the default type), a title only, members of the wrong type.
    let server = Server::start(|_, n| {
        let body = if n == 0 {
            json!({"title": "Conflict", "status": "409", "detail": 7})
        } else {
            json!(["not", "an", "object"])
        };
        Reply::status(409)
            .header("content-type", "application/problem+json; charset=utf-8")
            .body(body.to_string())
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(crate::support::builder("http", &timer));
    let e = verdict_error(c.get(server.url("/a")).send().await.unwrap_err());
    let p = e.problem().expect("a problem");
    assert!(p.is_blank());
    assert_eq!((p.status, p.detail.as_deref()), (None, None));
    assert_eq!(e.vendor_message(), Some("Conflict"));
    assert_eq!(e.vendor_code(), None);
    assert!(!e.to_string().contains("type "), "{e}");

    let e = verdict_error(c.get(server.url("/b")).send().await.unwrap_err());
    assert!(e.problem().is_none());
    assert_eq!(e.vendor_message(), None);
}
