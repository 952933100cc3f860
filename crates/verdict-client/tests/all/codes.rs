//! An API that answers errors with 200 and `"ok": false` (Slack's shape): the client reads
//! the body of a success only for a contract with a failure flag, and the code in it
//! decides (fail, or retry within the policy). Real HTTP on 127.0.0.1: the emulator of a
//! contract written here, and a plain test server; waits go through a fake clock.

use std::sync::Arc;

use serde_json::json;
use verdict::Contract;
use verdict::decide::Reason;
use verdict_client::{Attempts, Verdict};
use verdict_testkit::{Reply, Server};

use crate::support::{FakeTimer, client, contract_from, verdict_error};

const CHAT: &str = include_str!("../../../../tests/fixtures/chat.toml");

fn chat() -> Contract {
    contract_from("chat.toml", CHAT)
}

/// The emulator of the chat contract on 127.0.0.1, its origin, and a stop handle.
async fn emulator() -> (String, tokio::sync::oneshot::Sender<()>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = verdict_server::Config {
        token: "t0".into(),
        ..verdict_server::Config::default()
    };
    let em = Arc::new(verdict_server::Emulator::new(chat(), config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(verdict_server::serve(em, listener, async {
        let _ = stopped.await;
    }));
    (origin, stop)
}

#[tokio::test]
async fn ok_false_with_a_failing_code_is_an_error_with_that_code() {
    let (origin, _stop) = emulator().await;
    let c = client(Verdict::builder(chat()).timer(FakeTimer::new()));
    let err = c
        .post(format!("{origin}/api/messages"))
        .bearer_auth("t0")
        .header("X-Verdict-Fault", "code=invalid_auth")
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap_err();
    let e = verdict_error(err);
    assert_eq!(e.status().map(|s| s.as_u16()), Some(200));
    assert_eq!(
        e.app_code().map(ToString::to_string).as_deref(),
        Some("invalid_auth")
    );
    assert_eq!(e.vendor_code(), Some("invalid_auth"));
    assert_eq!(e.meaning(), Some("The token is not valid."));
    assert_eq!(e.reason(), Some(&Reason::Final));
    assert_eq!(e.attempts().len(), 1);
    // The same call without the fault succeeds: a body without the flag is a success.
    let r = c
        .post(format!("{origin}/api/messages"))
        .bearer_auth("t0")
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn ok_false_with_a_retry_code_is_repeated_then_succeeds() {
    let (origin, _stop) = emulator().await;
    let http = reqwest::Client::new();
    let queued = json!({"path": "/api/messages", "code": "internal_error", "times": 2});
    let r = http
        .post(format!("{origin}/_verdict/faults"))
        .json(&queued)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let timer = FakeTimer::new();
    let c = client(Verdict::builder(chat()).timer(timer.clone()));
    let r = c
        .post(format!("{origin}/api/messages"))
        .bearer_auth("t0")
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let attempts = r.extensions().get::<Attempts>().unwrap().clone();
    assert_eq!(attempts.0.len(), 3, "{attempts:?}");
    assert_eq!(timer.waits().len(), 2);
}

#[tokio::test]
async fn an_unknown_code_fails_and_a_contract_without_a_flag_reads_no_success_body() {
    let server = Server::start(|_, _| {
        Reply::status(200).json(json!({"ok": false, "error": "brand_new_error"}))
    })
    .await;
    let c = client(Verdict::builder(chat()).timer(FakeTimer::new()));
    let e = verdict_error(c.get(server.url("/api/x")).send().await.unwrap_err());
    assert_eq!(
        e.app_code().map(ToString::to_string).as_deref(),
        Some("brand_new_error")
    );
    assert_eq!(
        e.meaning(),
        Some("the body says the request failed (/ok is false)")
    );
    assert_eq!(server.seen().len(), 1, "an unknown code is not repeated");
    // Without the flag the same answer is a success.
    let plain = contract_from(
        "chat.toml",
        &CHAT.replace("failure = { pointer = \"/ok\", equals = false }\n", ""),
    );
    let c = client(Verdict::builder(plain).timer(FakeTimer::new()));
    let r = c.get(server.url("/api/x")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}
