//! A contract whose errors are problem details (`tests/fixtures/problem-api.toml`, which
//! extends token-api): every error the emulator gives — real conditions and injected
//! faults — is `application/problem+json` with the standard members, the field errors and
//! the tracking id; and the OpenAPI document says so.

use crate::support::Running;
use reqwest::Response;
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("../fixtures/problem-api.toml");
const TYPES: &str = "https://api.problem-api.example/problems/";

fn contract() -> verdict::Contract {
    crate::support::contract_from("problem-api.toml", FIXTURE)
}

async fn start() -> Running {
    crate::support::start_contract(contract()).await
}

/// The problem of an error answer, after checking its status, media type, the members
/// every problem has and that its tracking id is the one of the response header.
async fn problem_of(r: Response, status: u16, path: &str) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "{status}"
    );
    let header_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["instance"], path, "{body}");
    assert!(body["type"].as_str().unwrap().starts_with(TYPES), "{body}");
    assert!(body["title"].is_string(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
    assert_eq!(body["trackingId"], header_id, "{body}");
    body
}

#[tokio::test]
async fn real_conditions_are_answered_as_problems() {
    let s = start().await;
    // No credentials.
    let r = s.http.get(s.url("/v1/items")).send().await.unwrap();
    let p = problem_of(r, 401, "/v1/items").await;
    assert_eq!(p["type"], format!("{TYPES}authentication"));

    // Nothing at this id: the contract's title, the emulator's message.
    let r = s.get_as("/v1/items/nope", "t0").await;
    let p = problem_of(r, 404, "/v1/items/nope").await;
    assert_eq!(p["type"], format!("{TYPES}not-found"));
    assert_eq!(p["title"], "Not Found");
    assert_eq!(p["detail"], "No item with id nope.");

    // A missing field: the field errors are the `errors` extension member.
    let r = s
        .http
        .post(s.url("/v1/items"))
        .bearer_auth("t0")
        .json(&json!({"done": true}))
        .send()
        .await
        .unwrap();
    let p = problem_of(r, 400, "/v1/items").await;
    assert_eq!(p["type"], format!("{TYPES}validation"));
    assert_eq!(p["errors"], json!([{"description": "name is required"}]));

    // A method the resource does not take keeps its Allow header.
    let r = s
        .http
        .put(s.url("/v1/items"))
        .bearer_auth("t0")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "GET, POST");
    problem_of(r, 405, "/v1/items").await;

    // A success is not a problem.
    let r = s
        .http
        .post(s.url("/v1/items"))
        .bearer_auth("t0")
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn injected_faults_are_answered_as_problems() {
    let s = start().await;
    let r = s
        .http
        .get(s.url("/v1/items"))
        .bearer_auth("t0")
        .header("X-Verdict-Fault", "status=503; retry-after=2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["retry-after"], "2");
    let p = problem_of(r, 503, "/v1/items").await;
    assert_eq!(p["title"], "Service Unavailable");
    assert_eq!(p["type"], format!("{TYPES}unavailable"));

    let r = s
        .http
        .get(s.url("/v1/items"))
        .header("X-Verdict-Fault", "status=418; message=Short and stout.")
        .send()
        .await
        .unwrap();
    let p = problem_of(r, 418, "/v1/items").await;
    assert_eq!(p["detail"], "Short and stout.");

    // Every documented error status, by injection.
    for status in contract()
        .documented_statuses()
        .map(|s| s.code)
        .filter(|c| *c >= 400)
    {
        let r = s
            .http
            .get(s.url("/v1/items"))
            .header("X-Verdict-Fault", format!("status={status}"))
            .send()
            .await
            .unwrap();
        problem_of(r, status, "/v1/items").await;
    }
}

#[tokio::test]
async fn openapi_describes_problem_errors() {
    let s = start().await;
    let doc = s.openapi().await;
    let not_found = &doc["paths"]["/v1/items/{id}"]["get"]["responses"]["404"]["content"];
    assert_eq!(
        not_found["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    assert!(not_found.get("application/json").is_none());
    let schema = &doc["components"]["schemas"]["Problem"];
    for member in [
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "errors",
        "trackingId",
    ] {
        assert!(
            schema["properties"].get(member).is_some(),
            "{member}: {schema}"
        );
    }
    assert!(doc["components"]["schemas"].get("Error").is_none());
}
