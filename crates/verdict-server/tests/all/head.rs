//! HEAD answers like GET, without a body, on every GET route of every built-in emulator:
//! the contract's resources, the vendors' own routes and the admin API.

use crate::support::{Running, start, start_with};
use serde_json::{Value, json};
use verdict_server::Config;

/// Headers whose values differ from one answer to the next whatever the method.
const VARYING: &[&str] = &[
    "date",
    "content-length",
    "content-type",
    "trackingid",
    "rcrequestid",
    "x-request-id",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
];

/// GET then HEAD of `path` over raw connections: same status and headers, the length of
/// the GET's body (or none), and no body.
async fn same_as_get(s: &Running, path: &str, headers: &[(&str, &str)]) -> u16 {
    let get = s.raw("GET", path, headers).await;
    let head = s.raw("HEAD", path, headers).await;
    assert_eq!(head.status, get.status, "HEAD {path}: {head:?}");
    assert!(head.body.is_empty(), "HEAD {path} sent a body: {head:?}");
    let names = |a: &crate::support::RawAnswer| {
        let mut n: Vec<String> = a.headers.iter().map(|(k, _)| k.clone()).collect();
        n.retain(|k| k != "content-length");
        n.sort();
        n
    };
    assert_eq!(names(&head), names(&get), "HEAD {path}");
    for (k, v) in &get.headers {
        if !VARYING.contains(&k.as_str()) {
            assert_eq!(head.header(k), Some(v.as_str()), "HEAD {path}: {k}");
        }
    }
    let kind = |a: &crate::support::RawAnswer| {
        a.header("content-type")
            .map(|t| t.split(';').next().unwrap_or("").to_owned())
    };
    assert_eq!(kind(&head), kind(&get), "HEAD {path}");
    if let Some(n) = head.header("content-length") {
        assert_eq!(n, get.body.len().to_string(), "HEAD {path}");
    }
    get.status.unwrap()
}

async fn post(s: &Running, path: &str, auth: (&str, &str), body: Value) -> Value {
    let r = s
        .http
        .post(s.url(path))
        .header(auth.0, auth.1)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "POST {path}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn head_answers_like_get_on_every_webex_route() {
    let s = start("webex").await;
    let auth = [("Authorization", "Bearer t0")];
    let room = s.create_room("head").await;
    let id = room["id"].as_str().unwrap();
    for path in [
        "/v1/rooms".to_owned(),
        format!("/v1/rooms/{id}"),
        format!("/v1/memberships?roomId={id}"),
        "/v1/people/me".to_owned(),
        "/v1/contents/report.pdf".to_owned(),
        "/v1/contents/unscannable.exe".to_owned(),
        "/v1/rooms/nothing-here".to_owned(),
    ] {
        same_as_get(&s, &path, &auth).await;
    }
    assert_eq!(same_as_get(&s, "/v1/people/me", &auth).await, 200);
    assert_eq!(same_as_get(&s, "/v1/contents/a.txt", &auth).await, 200);
    for path in ["/_verdict", "/_verdict/journal", "/_verdict/openapi.json"] {
        assert_eq!(same_as_get(&s, path, &[]).await, 200, "{path}");
    }
}

#[tokio::test]
async fn head_answers_like_get_on_every_ringcentral_route() {
    let s = start("ringcentral").await;
    let auth = [("Authorization", "Bearer t0")];
    let base = "/restapi/v1.0/account/~";
    let ext = post(
        &s,
        &format!("{base}/extension"),
        auth[0],
        json!({"extensionNumber": "202"}),
    )
    .await;
    let id = ext["id"].as_str().unwrap();
    for (path, status) in [
        (base.to_owned(), 200),
        (format!("{base}/extension/~"), 200),
        (format!("{base}/extension"), 200),
        (format!("{base}/extension/{id}"), 200),
        (format!("{base}/extension/{id},1"), 207),
        (format!("{base}/recording/7/content"), 200),
        (format!("{base}/extension/~/address-book/contact"), 200),
    ] {
        assert_eq!(same_as_get(&s, &path, &auth).await, status, "{path}");
    }
}

#[tokio::test]
async fn head_answers_like_get_on_token_api_and_webex_connect_routes() {
    let s = start("token-api").await;
    let auth = [("Authorization", "Bearer t0")];
    let item = post(&s, "/v1/items", auth[0], json!({"name": "x"})).await;
    let id = item["id"].as_str().unwrap();
    for path in [
        "/v1/items".to_owned(),
        format!("/v1/items/{id}"),
        "/v1/projects".to_owned(),
    ] {
        assert_eq!(same_as_get(&s, &path, &auth).await, 200, "{path}");
    }
    let s = start("webex-connect").await;
    let key = [("key", "t0")];
    for path in [
        "/resources/v1/messaging/status/no-such-transaction",
        "/resources/v2/customerprofile/no-such-customer",
    ] {
        same_as_get(&s, path, &key).await;
    }
}

#[tokio::test]
async fn head_answers_like_get_on_whispir_over_https() {
    let config = Config {
        token: "t0".into(),
        ..Config::default()
    };
    let s = start_with("whispir", config, true, Default::default()).await;
    let send = |method: reqwest::Method| {
        s.http
            .request(method, s.url("/contacts"))
            .bearer_auth("t0")
            .header("x-api-key", "t0")
            .send()
    };
    let get = send(reqwest::Method::GET).await.unwrap();
    let head = send(reqwest::Method::HEAD).await.unwrap();
    assert_eq!(head.status(), get.status());
    assert_eq!(get.status(), 200);
    assert_eq!(
        head.headers().get("content-type"),
        get.headers().get("content-type")
    );
    let length = get.bytes().await.unwrap().len();
    if let Some(n) = head.headers().get("content-length") {
        assert_eq!(n.to_str().unwrap(), length.to_string());
    }
    assert!(head.bytes().await.unwrap().is_empty());
}
