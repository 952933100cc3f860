//! `verdict call` and `verdict explain` for an API that answers errors with 200 and a
//! text code (a contract written in the test, served by a scripted server on 127.0.0.1).

use serde_json::{Value, json};
use verdict_testkit::{Reply, Server};

use crate::call::{args, stderr, verdict};

const CHAT: &str = include_str!("../../../../tests/fixtures/chat.toml");

fn contract_file(dir: &tempfile::TempDir) -> String {
    let file = dir.path().join("chat.toml");
    std::fs::write(&file, CHAT).unwrap();
    file.display().to_string()
}

#[tokio::test]
async fn call_fails_on_ok_false_with_the_code_and_its_meaning() {
    let server = Server::start(|s, _| match s.path.as_str() {
        "/fine" => Reply::status(200).json(json!({"ok": true, "ts": "1"})),
        _ => Reply::status(200).json(json!({"ok": false, "error": "invalid_auth"})),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let contract = contract_file(&dir);
    let o = verdict(args(&[
        "call",
        "-c",
        &contract,
        &server.url("/api/auth.test"),
    ]))
    .await;
    // A 4xx-like failure: the contract's exit code for an application error.
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("code invalid_auth"), "{err}");
    assert!(err.contains("The token is not valid."), "{err}");
    assert_eq!(server.seen().len(), 1, "a failing code is not repeated");

    let o = verdict(args(&[
        "call",
        "--json",
        "-c",
        &contract,
        &server.url("/api/auth.test"),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["error"]["app_code"], "invalid_auth", "{doc}");
    assert_eq!(doc["error"]["meaning"], "The token is not valid.", "{doc}");
    assert_eq!(doc["error"]["exit_code"], 3, "{doc}");

    let o = verdict(args(&["call", "-c", &contract, &server.url("/fine")])).await;
    assert!(o.status.success(), "{}", stderr(&o));
}

#[tokio::test]
async fn explain_finds_text_codes_and_shows_the_flag_and_deprecation() {
    let dir = tempfile::tempdir().unwrap();
    let contract = contract_file(&dir);
    let o = verdict(args(&["explain", &contract, "account_inactive"])).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("chat web account_inactive"), "{out}");
    assert!(out.contains("deprecated: Not sent since 2023"), "{out}");
    assert!(out.contains("/ok is false"), "{out}");
    let o = verdict(args(&["explain", &contract, "invalid_aut"])).await;
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("did you mean invalid_auth?"),
        "{}",
        stderr(&o)
    );
    let o = verdict(args(&["explain", "--json", &contract, "invalid_auth"])).await;
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc[0]["code"], "invalid_auth", "{doc}");
    assert_eq!(doc[0]["failure"], "/ok is false", "{doc}");
    // Webex Connect's WeChat channel is deprecated, shown with the code it is refused with.
    let o = verdict(args(&[
        "explain",
        "webex-connect",
        "7106",
        "--api",
        "messaging",
    ]))
    .await;
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("/deliverychannel \"wechat\": deprecated"),
        "{out}"
    );
}
