//! Contracts that say what real APIs do: text codes and a failure flag on 200 answers
//! (Slack's shape), the vendor's own message per status and its field-error entries
//! (GitHub's 422). Each contract is written here and served on 127.0.0.1.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Running, contract_from, start_contract};

/// A Slack-like API: errors are 200 with `"ok": false` and a text code at `/error`.
pub const CHAT: &str = include_str!("../../../../tests/fixtures/chat.toml");

/// A GitHub-like API: the vendor's exact messages and a list of field errors.
pub const ISSUES: &str = r#"[contract]
id = "issues"
name = "Issues (test)"
extends = "http"

[error_body]
message = "/message"
fields = "/errors"
field_error = { resource = "/resource", field = "/field", code = "/code" }

[[status]]
code = 404
wire_message = "Not Found"

[[status]]
code = 422
wire_message = "Validation Failed"

[emulator]
base_path = ""
missing_field_status = 422
unknown_fields = "refuse"
unknown_field_status = 422

[[emulator.resource]]
name = "issues"
path = "/repos/o/r/issues"
kind = "Issue"
fields = { title = "string", body = "string", labels = "array" }
required = ["title"]
"#;

async fn post(s: &Running, path: &str, body: Value, fault: Option<&str>) -> (u16, Value) {
    let mut r = s.http.post(s.url(path)).bearer_auth("t0").json(&body);
    if let Some(f) = fault {
        r = r.header("X-Verdict-Fault", f);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_text_code_is_answered_with_200_and_the_failure_flag() {
    let s = start_contract(contract_from("chat.toml", CHAT)).await;
    let (status, body) = post(
        &s,
        "/api/messages",
        json!({"text": "hi"}),
        Some("code=invalid_auth"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"ok": false, "error": "invalid_auth"}));
    // Every error of the contract carries the flag, a status error too.
    let (status, body) = post(&s, "/api/messages", json!({}), None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["ok"], false, "{body}");
    assert!(body["error"].is_string(), "{body}");
    // A success does not.
    let (status, body) = post(&s, "/api/messages", json!({"text": "hi"}), None).await;
    assert_eq!(status, 201, "{body}");
    assert!(body.get("ok").is_none(), "{body}");
    // A code the contract does not have is refused as a fault, by name.
    let (status, body) = post(
        &s,
        "/api/messages",
        json!({"text": "hi"}),
        Some("code=no_such_code"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("no_such_code"),
        "{body}"
    );
}

#[tokio::test]
async fn queued_faults_take_text_codes() {
    let s = start_contract(contract_from("chat.toml", CHAT)).await;
    let queued = json!({"path": "/api/messages", "code": "internal_error"});
    let r = s.admin(Method::POST, "/_verdict/faults", queued).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let (status, body) = post(&s, "/api/messages", json!({"text": "hi"}), None).await;
    assert_eq!(
        (status, body),
        (200, json!({"ok": false, "error": "internal_error"}))
    );
    let (status, _) = post(&s, "/api/messages", json!({"text": "hi"}), None).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn refused_fields_are_listed_in_the_vendor_s_shape_under_its_message() {
    let s = start_contract(contract_from("issues.toml", ISSUES)).await;
    let (status, body) = post(&s, "/repos/o/r/issues", json!({"body": "text"}), None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body,
        json!({
            "message": "Validation Failed",
            "errors": [{"resource": "Issue", "field": "title", "code": "missing_field"}]
        })
    );
    let (status, body) = post(&s, "/repos/o/r/issues", json!({"title": 3}), None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"],
        json!([{"resource": "Issue", "field": "title", "code": "invalid"}])
    );
    let (status, body) = post(
        &s,
        "/repos/o/r/issues",
        json!({"title": "t", "colour": "red"}),
        None,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["message"], "Validation Failed");
    assert_eq!(
        body["errors"],
        json!([{"resource": "Issue", "field": "colour", "code": "unprocessable"}])
    );
    // The vendor's text for a status, not our meaning, where the emulator has nothing
    // more particular to say.
    let (status, body) = post(
        &s,
        "/repos/o/r/issues",
        json!({"title": "t"}),
        Some("status=404"),
    )
    .await;
    assert_eq!((status, body), (404, json!({"message": "Not Found"})));
    let http = verdict::Catalog::builtin().get("http").unwrap();
    let meaning = &http.status(404).unwrap().meaning;
    let plain = start_contract(contract_from(
        "issues.toml",
        &ISSUES.replace("wire_message = \"Not Found\"", ""),
    ))
    .await;
    let (_, body) = post(
        &plain,
        "/repos/o/r/issues",
        json!({"title": "t"}),
        Some("status=404"),
    )
    .await;
    assert_eq!(&body["message"], meaning);
}
