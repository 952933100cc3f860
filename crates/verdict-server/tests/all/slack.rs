//! The Slack example contract served on 127.0.0.1: methods at paths of their own, `"ok":
//! true` on every successful body, a workspace that starts with #general, messages that
//! must name an existing conversation, cursor paging with the next cursor in the body,
//! and 429 with Retry-After over the quota. Also offset paging, from a contract of its own.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Running, contract_from, start_contract};

const SLACK: &str = include_str!("../../../../examples/contracts/slack.toml");

async fn slack() -> Running {
    start_contract(contract_from("slack.toml", SLACK)).await
}

async fn call(s: &Running, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = s.http.request(method, s.url(path)).bearer_auth("t0");
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json; charset=utf-8")
            .body(b.to_string());
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_workspace_starts_with_general_and_lists_in_an_envelope() {
    let s = slack().await;
    let (status, body) = call(&s, Method::GET, "/api/conversations.list", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["ok"], true);
    assert_eq!(body["channels"][0]["name"], "general");
    assert_eq!(body["channels"][0]["id"], "C0GENERAL");
    assert_eq!(
        body["response_metadata"]["next_cursor"], "",
        "the last page: {body}"
    );
    // Seeds come back after a reset.
    s.admin(Method::POST, "/_verdict/reset", json!({})).await;
    let (_, body) = call(&s, Method::GET, "/api/conversations.list", None).await;
    assert_eq!(body["channels"].as_array().unwrap().len(), 1);
    // Only the method each path names.
    let (status, _) = call(&s, Method::POST, "/api/conversations.list", Some(json!({}))).await;
    assert_eq!(status, 405);
    let (status, _) = call(&s, Method::GET, "/api/conversations", None).await;
    assert_eq!(status, 404, "no REST routes for an RPC resource");
}

#[tokio::test]
async fn a_message_goes_to_an_existing_conversation() {
    let s = slack().await;
    let (status, posted) = call(
        &s,
        Method::POST,
        "/api/chat.postMessage",
        Some(json!({"channel": "C0GENERAL", "text": "hello"})),
    )
    .await;
    assert_eq!(status, 200, "{posted}");
    assert_eq!(posted["ok"], true);
    assert_eq!(posted["message"]["text"], "hello");
    // Slack's channel and ts beside the message: its channel and its id.
    assert_eq!(posted["channel"], "C0GENERAL");
    assert_eq!(posted["ts"], posted["message"]["id"]);
    assert!(posted["ts"].as_str().is_some_and(|ts| !ts.is_empty()));
    // Refusals are 200s whose ok is false, with the code the resource names.
    let (status, body) = call(
        &s,
        Method::POST,
        "/api/chat.postMessage",
        Some(json!({"channel": "C_NOWHERE", "text": "hello"})),
    )
    .await;
    assert_eq!(
        (status, &body["ok"], &body["error"]),
        (200, &json!(false), &json!("channel_not_found")),
        "the channel must name a conversation: {body}"
    );
    let (status, body) = call(
        &s,
        Method::POST,
        "/api/chat.postMessage",
        Some(json!({"channel": "C0GENERAL"})),
    )
    .await;
    assert_eq!(
        (status, &body["ok"], &body["error"]),
        (200, &json!(false), &json!("no_text")),
        "text, blocks or attachments: {body}"
    );
    let (status, body) = call(
        &s,
        Method::POST,
        "/api/conversations.create",
        Some(json!({"name": "general"})),
    )
    .await;
    assert_eq!(
        (status, &body["error"]),
        (200, &json!("name_taken")),
        "{body}"
    );
    let (_, body) = call(
        &s,
        Method::POST,
        "/api/conversations.create",
        Some(json!({})),
    )
    .await;
    assert_eq!(body["error"], "invalid_name_required", "{body}");
    let (status, created) = call(
        &s,
        Method::POST,
        "/api/conversations.create",
        Some(json!({"name": "random"})),
    )
    .await;
    assert_eq!(status, 200);
    let id = created["channel"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with('C'), "{id}");
    assert_eq!(created["ok"], true);
    let (status, _) = call(
        &s,
        Method::POST,
        "/api/chat.postMessage",
        Some(json!({"channel": id, "text": "there"})),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn conversations_page_by_cursor_in_the_body() {
    let s = slack().await;
    for n in 0..4 {
        let (status, _) = call(
            &s,
            Method::POST,
            "/api/conversations.create",
            Some(json!({"name": format!("c{n}")})),
        )
        .await;
        assert_eq!(status, 200);
    }
    let mut names = Vec::new();
    let mut cursor = String::new();
    for _ in 0..5 {
        let path = format!("/api/conversations.list?limit=2&cursor={cursor}");
        let (status, body) = call(&s, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{body}");
        for c in body["channels"].as_array().unwrap() {
            names.push(c["name"].as_str().unwrap().to_owned());
        }
        cursor = body["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(names, ["general", "c0", "c1", "c2", "c3"]);
    let (status, body) = call(&s, Method::GET, "/api/conversations.list?cursor=zz", None).await;
    assert_eq!(
        (status, &body["ok"], &body["error"]),
        (200, &json!(false), &json!("invalid_cursor")),
        "{body}"
    );
    let (status, body) = call(&s, Method::GET, "/api/conversations.list?limit=5000", None).await;
    assert_eq!(
        (status, body["channels"].as_array().unwrap().len()),
        (200, 5)
    );
}

#[tokio::test]
async fn over_the_quota_is_a_429_with_retry_after() {
    let s = slack().await;
    let send = async || {
        s.http
            .get(s.url("/api/conversations.list"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap()
    };
    let r = s.over_quota(send).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (&body["ok"], &body["error"]),
        (&json!(false), &json!("ratelimited"))
    );
    // Each refusal of a token is a 200 whose ok is false, with its own code.
    let revoked = json!({"token": "xoxb-gone", "revoked": true});
    s.admin(Method::POST, "/_verdict/tokens", revoked).await;
    for (token, code) in [
        (None, "not_authed"),
        (Some("xoxb-unknown"), "invalid_auth"),
        (Some("xoxb-gone"), "token_revoked"),
    ] {
        let mut r = s.http.get(s.url("/api/conversations.list"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), 200, "{token:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!((&body["ok"], &body["error"]), (&json!(false), &json!(code)));
    }
}

#[tokio::test]
async fn the_openapi_document_lists_the_methods_at_their_paths() {
    let s = slack().await;
    let doc = s.openapi().await;
    let list = &doc["paths"]["/api/conversations.list"]["get"];
    let body = list["responses"]["200"]["content"]["application/json"]["schema"].to_string();
    assert!(
        body.contains("next_cursor") && body.contains("\"channels\""),
        "{body}"
    );
    let post = &doc["paths"]["/api/chat.postMessage"]["post"]["responses"];
    assert!(post["200"].is_object() && post["404"].is_object());
    let posted = &post["200"]["content"]["application/json"]["schema"];
    let members = posted["anyOf"][0]
        .as_object()
        .map_or(posted, |_| &posted["anyOf"][0]);
    assert_eq!(
        members["required"],
        json!(["ok", "channel", "ts", "message"]),
        "{posted}"
    );
    assert!(doc["paths"].get("/api/conversations").is_none());
    let info = &doc["paths"]["/api/conversations.info"]["get"];
    let param = &info["parameters"][0];
    assert_eq!(
        (&param["name"], &param["in"], &param["required"]),
        (&json!("channel"), &json!("query"), &json!(true))
    );
    assert!(info["responses"]["404"].is_object());
    let rename = &doc["paths"]["/api/conversations.rename"]["post"];
    let schema = &rename["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(schema["required"], json!(["channel", "name"]), "{schema}");
    let archive = &doc["paths"]["/api/conversations.archive"]["post"];
    let schema = &archive["requestBody"]["content"]["application/json"]["schema"];
    let members: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    assert_eq!(members, ["channel"], "the archive takes the channel alone");
}

const OFFSETS: &str = r#"
[contract]
id = "offsets"
name = "Offsets"
extends = "http"

[auth]
scheme = "bearer"

[emulator]
page_style = "offset"
page_param = "limit"
page_default = 2
page_limit = 3
list_key = "data"
envelope = { object = "list" }
link_pagination = true

[[emulator.resource]]
name = "things"
path = "/things"
fields = { name = "string" }
conflict_status = 422
unique = [["name"]]
"#;

#[tokio::test]
async fn offset_paging_and_the_refusal_of_an_oversize_page() {
    let s = start_contract(contract_from("offsets.toml", OFFSETS)).await;
    for n in 0..5 {
        let (status, body) = call(
            &s,
            Method::POST,
            "/things",
            Some(json!({"name": format!("t{n}")})),
        )
        .await;
        assert_eq!(
            (status, body["object"].as_str()),
            (201, Some("list")),
            "{body}"
        );
    }
    let (status, _) = call(&s, Method::POST, "/things", Some(json!({"name": "t0"}))).await;
    assert_eq!(status, 422, "the resource's own conflict status");
    let r = s
        .http
        .get(s.url("/things?offset=2"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains("offset=4"), "{link}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["object"], "list");
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["t2", "t3"]);
    let (status, _) = call(&s, Method::GET, "/things?limit=4", None).await;
    assert_eq!(status, 400, "over the limit, refused by default");
    let (status, _) = call(&s, Method::GET, "/things?offset=-1", None).await;
    assert_eq!(status, 400);

    // The same API capping instead: a page asked larger than the limit holds the limit,
    // and the next page starts after it.
    let capped = OFFSETS
        .replace("id = \"offsets\"", "id = \"capped\"")
        .replace("page_limit = 3", "page_limit = 3\npage_oversize = \"cap\"");
    let c = start_contract(contract_from("capped.toml", &capped)).await;
    for n in 0..5 {
        let thing = json!({"name": format!("t{n}")});
        assert_eq!(call(&c, Method::POST, "/things", Some(thing)).await.0, 201);
    }
    let r = c
        .http
        .get(c.url("/things?limit=4"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains("offset=3"), "{link}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 3, "{body}");
}

#[tokio::test]
async fn conversations_info_rename_and_archive_name_the_channel_in_the_call() {
    let s = slack().await;
    let (status, body) = call(
        &s,
        Method::GET,
        "/api/conversations.info?channel=C0GENERAL",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["ok"], true);
    assert_eq!(body["channel"]["name"], "general");
    assert_eq!(body["channel"]["is_archived"], false);
    let (_, created) = call(
        &s,
        Method::POST,
        "/api/conversations.create",
        Some(json!({"name": "random"})),
    )
    .await;
    let id = created["channel"]["id"].as_str().unwrap().to_owned();
    let rename = |body: Value| call(&s, Method::POST, "/api/conversations.rename", Some(body));
    let (status, renamed) = rename(json!({"channel": id, "name": "chatter"})).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["ok"], true);
    assert_eq!(renamed["channel"]["name"], "chatter");
    assert_eq!(renamed["channel"]["id"], id.as_str());
    let (_, taken) = rename(json!({"channel": id, "name": "general"})).await;
    assert_eq!(taken, json!({"ok": false, "error": "name_taken"}));
    let (_, nameless) = rename(json!({"channel": id})).await;
    assert_eq!(
        nameless,
        json!({"ok": false, "error": "invalid_name_required"})
    );
    // The rename takes the name only: is_archived in its body moves nothing.
    let (_, kept) = rename(json!({"channel": id, "name": "chat", "is_archived": true})).await;
    assert_eq!(kept["channel"]["is_archived"], false, "{kept}");
    let (status, archived) = call(
        &s,
        Method::POST,
        "/api/conversations.archive",
        Some(json!({"channel": id})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(archived["ok"], true);
    let info = format!("/api/conversations.info?channel={id}");
    let (_, body) = call(&s, Method::GET, &info, None).await;
    assert_eq!(body["channel"]["is_archived"], true);
    assert_eq!(body["channel"]["name"], "chat");
    // An archived conversation takes no more messages; #general still does.
    for (channel, answer) in [
        (id.clone(), json!({"ok": false, "error": "is_archived"})),
        ("C0GENERAL".to_owned(), json!(true)),
    ] {
        let post = json!({"channel": channel, "text": "hello"});
        let (status, body) = call(&s, Method::POST, "/api/chat.postMessage", Some(post)).await;
        let got = if answer.is_boolean() {
            body["ok"].clone()
        } else {
            body.clone()
        };
        assert_eq!((status, got), (200, answer), "{body}");
    }
}

#[tokio::test]
async fn an_unknown_channel_is_channel_not_found_on_every_item_method() {
    let s = slack().await;
    let unknown = json!({"ok": false, "error": "channel_not_found"});
    for path in [
        "/api/conversations.info?channel=CNOSUCH",
        "/api/conversations.info",
        "/api/conversations.info?channel=",
    ] {
        let (status, body) = call(&s, Method::GET, path, None).await;
        assert_eq!((status, &body), (200, &unknown), "{path}");
    }
    for (path, body) in [
        (
            "/api/conversations.rename",
            json!({"channel": "CNOSUCH", "name": "x"}),
        ),
        ("/api/conversations.archive", json!({"channel": "CNOSUCH"})),
        ("/api/conversations.archive", json!({})),
    ] {
        let (status, answer) = call(&s, Method::POST, path, Some(body)).await;
        assert_eq!((status, &answer), (200, &unknown), "{path}");
    }
    // Only the method each path names.
    let (status, _) = call(&s, Method::POST, "/api/conversations.info", Some(json!({}))).await;
    assert_eq!(status, 405);
    let (status, _) = call(&s, Method::GET, "/api/conversations.archive", None).await;
    assert_eq!(status, 405);
}

const NOTES: &str = r#"
[contract]
id = "notes"
name = "Notes"
extends = "http"

[auth]
scheme = "bearer"

[emulator]
base_path = "/api"
id_style = "sequential"

[[emulator.resource]]
name = "notes"
path = "/notes"
key = "number"
sequence = "number"
fields = { number = "integer", text = { type = "string", required = true } }
operations.get = { path = "/notes.get", id_param = "number" }
operations.delete = { path = "/notes.delete", method = "DELETE", id_param = "number" }
operations.remove = { kind = "delete", path = "/notes.remove", id_param = "number" }
"#;

#[tokio::test]
async fn item_operations_take_a_numbered_key_from_the_query_or_the_body() {
    let s = start_contract(contract_from("notes.toml", NOTES)).await;
    for text in ["one", "two"] {
        let (status, _) = call(&s, Method::POST, "/api/notes", Some(json!({"text": text}))).await;
        assert_eq!(status, 201);
    }
    let (status, got) = call(&s, Method::GET, "/api/notes.get?number=2", None).await;
    assert_eq!((status, &got["text"]), (200, &json!("two")));
    let (status, _) = call(&s, Method::DELETE, "/api/notes.delete?number=1", None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&s, Method::GET, "/api/notes.get?number=1", None).await;
    assert_eq!(status, 404, "deleted");
    let (status, _) = call(&s, Method::GET, "/api/notes/1", None).await;
    assert_eq!(status, 404, "gone from its REST route too");
    let (status, _) = call(
        &s,
        Method::POST,
        "/api/notes.remove",
        Some(json!({"number": 2})),
    )
    .await;
    assert_eq!(status, 204, "a number in the body names the item");
    let (status, _) = call(&s, Method::GET, "/api/notes/2", None).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &s,
        Method::POST,
        "/api/notes.remove",
        Some(json!({"number": 2})),
    )
    .await;
    assert_eq!(status, 404, "nothing left to delete");
}
