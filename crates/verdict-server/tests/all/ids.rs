//! Every id and `uri` an emulator hands out can be fetched: each built-in contract's
//! resources are created, every GET route is read, and every item's `id` (through the
//! path it came from) and every `uri` in the answers is fetched again and must be a 200.

use std::collections::BTreeSet;

use crate::support::{Running, start, start_with};
use serde_json::{Value, json};
use verdict::multipart::{Batch, Limits, parse};
use verdict_server::Config;

const JSON: &str = "application/json";

/// A GET of `path` (a path or a whole URL) with `auth`.
async fn get(s: &Running, path: &str, auth: &[(&str, &str)]) -> reqwest::Response {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        s.url(path)
    };
    let mut r = s.http.get(url);
    for (k, v) in auth {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

/// The paths at which the ids in `answer`, read from `path`, can be fetched: an item's
/// id under its collection (or in place of `~`/`me`), an id of an object nested under a
/// key that is also a segment of `path` in place of the segment after it; and every `uri`.
fn id_paths(path: &str, answer: &Value, out: &mut BTreeSet<String>) {
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.last().copied().unwrap_or("");
    let own = |id: &str| match last {
        "~" | "me" => format!("{}/{id}", segments[..segments.len() - 1].join("/")),
        l if l == id => path.to_owned(),
        _ => format!("{path}/{id}"),
    };
    let items: Vec<&Value> = match answer {
        Value::Object(o) => match o.values().find(|v| v.is_array() && o.len() <= 2) {
            Some(Value::Array(list)) if !o.contains_key("id") => list.iter().collect(),
            _ => vec![answer],
        },
        Value::Array(list) => list.iter().collect(),
        _ => vec![],
    };
    for item in items {
        if let Some(id) = item.get("id").and_then(Value::as_str) {
            out.insert(own(id));
        }
        for (key, nested) in item.as_object().into_iter().flatten() {
            let nested_id = nested.get("id").and_then(Value::as_str);
            if let (Some(id), Some(at)) = (nested_id, segments.iter().position(|s| s == key)) {
                out.insert(format!("{}/{id}", segments[..=at].join("/")));
            }
        }
    }
    uris(answer, out);
}

fn uris(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                match v.as_str() {
                    Some(u) if k == "uri" => {
                        out.insert(u.to_owned());
                    }
                    _ => uris(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| uris(v, out)),
        _ => {}
    }
}

/// Creates one item per `(collection, body)`, reads every path of `routes` and every
/// collection, and fetches every id and uri found; returns how many were fetched.
async fn walk(
    s: &Running,
    auth: &[(&str, &str)],
    creates: &[(&str, Value, &str)],
    routes: &[&str],
) -> usize {
    let mut read: Vec<String> = routes.iter().map(|r| (*r).to_owned()).collect();
    for (collection, body, media_type) in creates {
        let mut r = s
            .http
            .post(s.url(collection))
            .header("content-type", *media_type)
            .body(body.to_string());
        for (k, v) in auth {
            r = r.header(*k, *v);
        }
        let r = r.send().await.unwrap();
        assert!(r.status().is_success(), "POST {collection}: {}", r.status());
        let created: Value = r.json().await.unwrap();
        let mut found = BTreeSet::new();
        id_paths(collection, &created, &mut found);
        read.extend(found);
        read.push((*collection).to_owned());
    }
    let mut fetched = BTreeSet::new();
    for path in &read {
        let r = get(s, path, auth).await;
        assert_eq!(r.status(), 200, "GET {path}");
        let answer: Value = r.json().await.unwrap();
        id_paths(path.split('?').next().unwrap(), &answer, &mut fetched);
    }
    for path in &fetched {
        let r = get(s, path, auth).await;
        assert_eq!(
            r.status(),
            200,
            "GET {path}, an id or uri the emulator handed out"
        );
    }
    fetched.len()
}

#[tokio::test]
async fn every_ringcentral_id_and_uri_resolves() {
    let s = start("ringcentral").await;
    let auth = [("Authorization", "Bearer t0")];
    let base = "/restapi/v1.0/account/~";
    let n = walk(
        &s,
        &auth,
        &[
            (
                "/restapi/v1.0/account/~/extension",
                json!({"extensionNumber": "202"}),
                JSON,
            ),
            (
                "/restapi/v1.0/account/~/extension/~/address-book/contact",
                json!({"firstName": "Ada"}),
                JSON,
            ),
        ],
        &[base, "/restapi/v1.0/account/~/extension/~"],
    )
    .await;
    assert!(n >= 5, "{n}");
    // The caller's extension by its id, under the account's id, and in a batch.
    let own = "/restapi/v1.0/account/1000001/extension/1000001";
    let r = get(&s, own, &auth).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["id"], "1000001");
    let listed: Value = get(&s, &format!("{base}/extension"), &auth)
        .await
        .json()
        .await
        .unwrap();
    let created = listed["records"][0]["id"].as_str().unwrap().to_owned();
    let r = get(&s, &format!("{base}/extension/1000001,{created}"), &auth).await;
    assert_eq!(r.status(), 207);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    let body = r.bytes().await.unwrap();
    let batch = Batch::from_parts(parse(&ct, &body, &Limits::default()).unwrap()).unwrap();
    let statuses: Vec<u16> = batch.iter().map(|(s, _)| s.as_u16()).collect();
    assert_eq!(statuses, [200, 200]);
    assert_eq!(batch.parts[0].json().unwrap()["id"], "1000001");
}

#[tokio::test]
async fn every_webex_and_token_api_id_resolves() {
    let s = start("webex").await;
    let auth = [("Authorization", "Bearer t0")];
    let room = s.create_room("ids").await;
    let room_id = room["id"].as_str().unwrap();
    let n = walk(
        &s,
        &auth,
        &[
            ("/v1/rooms", json!({"title": "walk"}), JSON),
            (
                "/v1/memberships",
                json!({"roomId": room_id, "personEmail": "ada@example.com"}),
                JSON,
            ),
            (
                "/v1/messages",
                json!({"roomId": room_id, "text": "hi"}),
                JSON,
            ),
            ("/v1/teams", json!({"name": "walkers"}), JSON),
        ],
        &["/v1/people/me"],
    )
    .await;
    assert!(n >= 6, "{n}");
    let s = start("token-api").await;
    let n = walk(
        &s,
        &auth,
        &[
            ("/v1/items", json!({"name": "x"}), JSON),
            ("/v1/projects", json!({"name": "p"}), JSON),
        ],
        &[],
    )
    .await;
    assert!(n >= 2, "{n}");
}

#[tokio::test]
async fn every_whispir_id_resolves() {
    let config = Config {
        token: "t0".into(),
        accept_delay: Some(std::time::Duration::ZERO),
        ..Config::default()
    };
    let s = start_with("whispir", config, true, Default::default()).await;
    let auth = [("Authorization", "Bearer t0"), ("x-api-key", "t0")];
    let n = walk(
        &s,
        &auth,
        &[
            (
                "/contacts",
                json!({"firstName": "A", "lastName": "B", "workEmailAddress1": "a@example.com"}),
                "application/vnd.whispir.contact-v1+json",
            ),
            (
                "/messages",
                json!({"to": "+15550100", "subject": "s"}),
                "application/vnd.whispir.message-v1+json",
            ),
        ],
        &[],
    )
    .await;
    assert!(n >= 2, "{n}");
}
