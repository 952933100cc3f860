//! Faults that cannot be sent are refused, and admin JSON with a key the endpoint does not
//! know is refused whole, naming the key and the close match.

use crate::support::start;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn an_informational_status_is_refused_as_a_fault_and_journaled_as_sent() {
    let s = start("webex").await;
    for status in [100, 101, 103, 199] {
        let r = s
            .http
            .get(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .header("X-Verdict-Fault", format!("status={status}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "status={status}");
        let body: Value = r.json().await.unwrap();
        // The contract's error shape (Webex: message, errors, trackingId).
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("cannot be the final answer"), "{body}");
        assert!(body["trackingId"].is_string(), "{body}");
        let r = s
            .admin(
                Method::POST,
                "/_verdict/faults",
                json!({"path": "/v1/rooms", "status": status}),
            )
            .await;
        assert_eq!(r.status(), 400, "queued status={status}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("informational"),
            "{body}"
        );
    }
    // Nothing was queued: the next request is answered normally.
    assert_eq!(s.get_as("/v1/rooms", "t0").await.status(), 200);
    let journal = s.journal().await;
    let statuses: Vec<u64> = journal
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [400, 400, 400, 400, 200]);
}

#[tokio::test]
async fn a_misspelled_admin_key_is_refused_with_its_close_match_and_nothing_applied() {
    let s = start("webex").await;
    let cases = [
        (
            Method::POST,
            "/_verdict/faults",
            json!({"path": "/v1/rooms", "status": 503, "retryAfter": 2}),
            "retryAfter",
            Some("retry_after"),
        ),
        (
            Method::PUT,
            "/_verdict/maintenance",
            json!({"on": true, "retry-after": 5}),
            "retry-after",
            Some("retry_after"),
        ),
        (
            Method::POST,
            "/_verdict/locks",
            json!({"path": "/v1/rooms", "second": 30}),
            "second",
            Some("seconds"),
        ),
        (
            Method::POST,
            "/_verdict/moves",
            json!({"from": "/v1/rooms", "too": "/v1/teams"}),
            "too",
            Some("to"),
        ),
        (
            Method::POST,
            "/_verdict/tokens",
            json!({"token": "t2", "readOnly": true}),
            "readOnly",
            Some("read_only"),
        ),
        (
            Method::PUT,
            "/_verdict/quotas",
            json!([{"requests": 1, "window_s": 60}, {"requests": 1, "windows": 60}]),
            "windows",
            Some("window_s"),
        ),
        (
            Method::POST,
            "/_verdict/faults",
            json!({"path": "/v1/rooms", "status": 503, "colour": "red"}),
            "colour",
            None,
        ),
    ];
    for (method, path, body, key, close) in cases {
        let r = s.admin(method.clone(), path, body.clone()).await;
        assert_eq!(r.status(), 400, "{method} {path} {body}");
        let answer: Value = r.json().await.unwrap();
        let text = answer["error"].as_str().unwrap();
        assert!(text.contains(&format!("\"{key}\"")), "{text}");
        match close {
            Some(c) => assert!(text.contains(&format!("did you mean \"{c}\"")), "{text}"),
            None => assert!(!text.contains("did you mean"), "{text}"),
        }
    }
    // Nothing of the refused bodies was applied: no fault, lock, move, token, quota or
    // maintenance is in force.
    let faults: Value = s
        .http
        .get(s.url("/_verdict/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["faults"], json!([]));
    for _ in 0..3 {
        assert_eq!(s.get_as("/v1/rooms", "t0").await.status(), 200);
    }
    assert_eq!(s.get_as("/v1/rooms", "t2").await.status(), 401);
    // A misspelled header key names its close match too.
    let r = s
        .http
        .get(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .header("X-Verdict-Fault", "status=503; retry_after=2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("did you mean \"retry-after\""),
        "{body}"
    );
}
