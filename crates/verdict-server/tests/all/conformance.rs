//! The emulators answer as their own OpenAPI documents say: for every built-in contract,
//! every route and method of `/_verdict/openapi.json` is called with a good body and with
//! bad ones (missing, `null`, `""`, wrong types, unknown fields, no media type), and each
//! answer's status must be documented for that operation and its JSON body must match the
//! documented schema. The schema checker below covers what the documents use.

use reqwest::Method;
use serde_json::{Map, Value, json};
use verdict::emulate::Quota;
use verdict_server::{Config, ServerLimits};

use crate::support::{Running, start_with};

/// Where `value` departs from `schema` (a subset of JSON Schema as OpenAPI 3.0 has it).
fn violations(schema: &Value, value: &Value, doc: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        return violations(target, value, doc, at, out);
    }
    if value.is_null() {
        if schema.get("type").is_some() && schema["nullable"] != true {
            out.push(format!("{at}: null where the schema does not take it"));
        }
        return;
    }
    let ty_ok = match schema.get("type").and_then(Value::as_str) {
        None => true,
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some(other) => {
            out.push(format!("{at}: unknown type {other}"));
            false
        }
    };
    if !ty_ok {
        out.push(format!("{at}: {value} is not of type {}", schema["type"]));
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            out.push(format!("{at}: {value} is not one of {}", schema["enum"]));
        }
    }
    let num = |k: &str| schema.get(k).and_then(Value::as_f64);
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as f64;
        if num("minLength").is_some_and(|m| len < m) || num("maxLength").is_some_and(|m| len > m) {
            out.push(format!("{at}: the length of {value} is out of bounds"));
        }
    }
    if let Some(n) = value.as_f64() {
        if num("minimum").is_some_and(|m| n < m) || num("maximum").is_some_and(|m| n > m) {
            out.push(format!("{at}: {n} is out of bounds"));
        }
    }
    if let Some(items) = value.as_array() {
        let len = items.len() as f64;
        if num("minItems").is_some_and(|m| len < m) || num("maxItems").is_some_and(|m| len > m) {
            out.push(format!("{at}: {} items is out of bounds", items.len()));
        }
        if let Some(item) = schema.get("items") {
            for (i, v) in items.iter().enumerate() {
                violations(item, v, doc, &format!("{at}[{i}]"), out);
            }
        }
    }
    if let Some(obj) = value.as_object() {
        object_violations(schema, obj, doc, at, out);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        let Some(options) = schema.get(key).and_then(Value::as_array) else {
            continue;
        };
        let fits = options
            .iter()
            .filter(|o| {
                let mut v = Vec::new();
                violations(o, value, doc, at, &mut v);
                v.is_empty()
            })
            .count();
        let ok = match key {
            "allOf" => fits == options.len(),
            "anyOf" => fits >= 1,
            _ => fits == 1,
        };
        if !ok {
            out.push(format!("{at}: {key} is not met"));
        }
    }
}

fn object_violations(
    schema: &Value,
    obj: &Map<String, Value>,
    doc: &Value,
    at: &str,
    out: &mut Vec<String>,
) {
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().unwrap_or_default();
        if !obj.contains_key(name) {
            out.push(format!("{at}: the required {name} is missing"));
        }
    }
    let props = schema.get("properties").and_then(Value::as_object);
    for (k, v) in obj {
        match props.and_then(|p| p.get(k)) {
            Some(p) => violations(p, v, doc, &format!("{at}.{k}"), out),
            None if schema["additionalProperties"] == false => {
                out.push(format!("{at}: {k} is not a property the schema takes"))
            }
            None => {}
        }
    }
}

/// A value the schema takes; `n` keeps strings apart (unique fields).
fn sample(schema: &Value, doc: &Value, n: usize) -> Value {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        return sample(&doc["components"]["schemas"][name], doc, n);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    match schema["type"].as_str() {
        Some("string") if schema["format"] == "email" => json!(format!("walk{n}@example.com")),
        Some("string") => json!(format!("walk{n}")),
        Some("integer") | Some("number") => json!(schema["minimum"].as_i64().unwrap_or(1)),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("object") => {
            let mut out = Map::new();
            let mut names: Vec<String> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect();
            // The first field of each one-of group.
            let own = schema.get("anyOf").map(|a| json!({ "anyOf": a }));
            let all = schema["allOf"].as_array().cloned().unwrap_or_default();
            for g in own.into_iter().chain(all) {
                if let Some(first) = g["anyOf"][0]["required"][0].as_str() {
                    names.push(first.to_owned());
                }
            }
            for name in names {
                let p = &schema["properties"][name.as_str()];
                let v = sample(p, doc, n);
                out.insert(name, v);
            }
            Value::Object(out)
        }
        _ => json!("walk"),
    }
}

/// A value of another type than the schema's.
fn wrong(schema: &Value) -> Value {
    match schema["type"].as_str() {
        Some("string") => json!(12345),
        _ => json!("not-this-type"),
    }
}

/// The bodies a walk sends to an operation that takes `schema`: a good one first.
fn bodies(schema: &Value, doc: &Value, n: usize) -> Vec<Value> {
    let resolved = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")].clone()
        }
        None => schema.clone(),
    };
    let good = sample(&resolved, doc, n);
    let mut out = vec![good.clone(), json!({}), json!([1, 2])];
    let mut unknown = good.clone();
    unknown["zzUnknownField"] = json!(1);
    out.push(unknown);
    for (name, p) in resolved["properties"].as_object().into_iter().flatten() {
        for v in [Value::Null, json!(""), wrong(p)] {
            let mut b = good.clone();
            b[name.as_str()] = v;
            out.push(b);
        }
    }
    out
}

struct Walk<'a> {
    s: &'a Running,
    contract: &'a str,
    doc: Value,
    found: Vec<String>,
    calls: usize,
}

impl Walk<'_> {
    /// A request with the contract's credentials.
    fn request(&self, method: &Method, path_and_query: &str) -> reqwest::RequestBuilder {
        let r = self
            .s
            .http
            .request(method.clone(), self.s.url(path_and_query));
        match self.contract {
            "webex-connect" => r.header("key", &self.s.token),
            "whispir" => r
                .bearer_auth(&self.s.token)
                .header("x-api-key", &self.s.token),
            _ => r.bearer_auth(&self.s.token),
        }
    }

    /// A method the document does not list for `path` is answered 405, with an `Allow`
    /// that names exactly the methods the document lists (vendor routes included).
    async fn undocumented_methods(&mut self, path: &str, url: &str, item: &Value) {
        let documented: Vec<String> = ["get", "put", "patch", "post", "delete"]
            .into_iter()
            .filter(|m| item.get(*m).is_some())
            .map(str::to_ascii_uppercase)
            .collect();
        for method in ["GET", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE"] {
            if documented.iter().any(|d| d == method) {
                continue;
            }
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let answer = self.request(&m, url).send().await.unwrap();
            self.calls += 1;
            let status = answer.status().as_u16();
            let mut allow: Vec<String> = answer
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .split(',')
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty() && m != "HEAD")
                .collect();
            allow.sort();
            let mut want = documented.clone();
            want.sort();
            if status != 405 || allow != want {
                self.found.push(format!(
                    "{} {method} {path}: {status} with Allow {allow:?}, where the document lists {want:?}",
                    self.contract
                ));
            }
        }
    }

    /// Sends one request and checks its answer against `op`'s responses.
    async fn call(
        &mut self,
        method: &Method,
        path: &str,
        op: &Value,
        media: Option<&str>,
        body: Option<&Value>,
        query: &str,
    ) -> Value {
        let mut r = self.request(method, &format!("{path}{query}"));
        if let Some(b) = body {
            if let Some(m) = media {
                r = r.header("content-type", m);
            }
            r = r.body(b.to_string());
        }
        let answer = r.send().await.unwrap();
        self.calls += 1;
        let status = answer.status().as_u16();
        let what = format!(
            "{} {method} {path}{query} {}",
            self.contract,
            body.map(Value::to_string).unwrap_or_default()
        );
        let text = answer.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let Some(documented) = op["responses"].get(status.to_string()) else {
            self.found
                .push(format!("{what}: {status} is not documented ({text})"));
            return json;
        };
        let schema = documented["content"]
            .as_object()
            .and_then(|c| c.values().next())
            .map(|m| &m["schema"]);
        if let (Some(schema), false) = (schema, text.is_empty()) {
            if json.is_null() && schema["type"].as_str().is_none_or(|t| t != "string") {
                self.found
                    .push(format!("{what}: {status} has a body that is not JSON"));
            } else if !json.is_null() {
                let mut v = Vec::new();
                violations(schema, &json, &self.doc, "body", &mut v);
                for x in v {
                    self.found.push(format!("{what}: {status}: {x} in {text}"));
                }
            }
        }
        json
    }
}

fn concrete(path: &str, id: &str) -> String {
    let mut out = String::new();
    for seg in path.split('/').skip(1) {
        out.push('/');
        out.push_str(if seg.starts_with('{') { id } else { seg });
    }
    out
}

/// A configuration whose quota no walk uses up.
fn roomy() -> Config {
    Config {
        token: "t0".into(),
        seed: 7,
        quotas: Some(vec![Quota {
            requests: 1_000_000,
            window_s: 60,
            status: 429,
            group: None,
        }]),
        ..Config::default()
    }
}

async fn walk(contract: &str) -> (usize, Vec<String>) {
    let s = start_with(
        contract,
        roomy(),
        contract == "whispir",
        ServerLimits::default(),
    )
    .await;
    walk_served(&s, contract).await
}

/// Walks the document of the emulator `s` serves for `contract`.
async fn walk_served(s: &Running, contract: &str) -> (usize, Vec<String>) {
    let doc = s.openapi().await;
    let mut w = Walk {
        s,
        contract,
        doc: doc.clone(),
        found: Vec::new(),
        calls: 0,
    };
    let mut paths: Vec<(&String, &Value)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(p, _)| !p.starts_with("/_verdict"))
        .collect();
    paths.sort_by_key(|(p, _)| p.as_str());
    let mut ids: Map<String, Value> = Map::new();
    for (path, item) in paths {
        let parent = path
            .rsplit_once("/{")
            .map(|(p, _)| p.to_owned())
            .unwrap_or_default();
        let id = ids
            .get(&parent)
            .and_then(Value::as_str)
            .unwrap_or("1")
            .to_owned();
        let url = concrete(path, &id);
        for method in ["get", "put", "patch", "post", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let request = op["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.iter().next());
            match request {
                Some((media, body)) => {
                    for (n, b) in bodies(&body["schema"], &doc, ids.len() * 1000 + w.calls)
                        .iter()
                        .enumerate()
                    {
                        let answer = w.call(&m, &url, op, Some(media), Some(b), "").await;
                        if n == 0 && m == Method::POST {
                            if let Some(new) = answer.get("id") {
                                ids.insert(path.clone(), new.clone());
                            }
                            // The same body again: a unique field clashes.
                            w.call(&m, &url, op, Some(media), Some(b), "").await;
                        }
                    }
                    w.call(&m, &url, op, None, Some(&json!({"a": 1})), "").await;
                    w.call(&m, &url, op, Some("text/plain"), Some(&json!({"a": 1})), "")
                        .await;
                }
                None => {
                    w.call(&m, &url, op, None, None, "").await;
                    for p in op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|p| p["in"] == "query")
                    {
                        let name = p["name"].as_str().unwrap_or_default();
                        let schema = &p["schema"];
                        let max = schema["maximum"].as_u64();
                        if schema["type"] == "integer" && max.is_none() {
                            w.found.push(format!(
                                "{contract} {method} {path}: {name} has no maximum, yet the emulator reads it into a bounded number"
                            ));
                        }
                        // One past the maximum, written out even past u64.
                        let big = max.map_or("100000".to_owned(), |m| {
                            m.checked_add(1)
                                .map_or("18446744073709551616".to_owned(), |b| b.to_string())
                        });
                        for v in ["0".to_owned(), "abc".to_owned(), big] {
                            w.call(&m, &url, op, None, None, &format!("?{name}={v}"))
                                .await;
                        }
                        // The largest value the document allows is not refused as invalid.
                        if let Some(max) = max {
                            let q = format!("?{name}={max}");
                            w.call(&m, &url, op, None, None, &q).await;
                            let answer = w.request(&m, &format!("{url}{q}")).send().await.unwrap();
                            if answer.status() == 400 {
                                w.found.push(format!(
                                    "{contract} {method} {path}{q}: 400 for a value the document allows"
                                ));
                            }
                        }
                        // A value outside an enum is not served as if it were listed.
                        if schema["enum"].is_array() {
                            let q = format!("?{name}=zz-not-listed");
                            let answer = w.request(&m, &format!("{url}{q}")).send().await.unwrap();
                            if answer.status().is_success() {
                                w.found.push(format!(
                                    "{contract} {method} {path}{q}: {} for a value outside the document's enum",
                                    answer.status()
                                ));
                            }
                        }
                    }
                }
            }
            // Answered before authentication: nothing there keeps idempotency keys.
            let public = op["security"].as_array().is_some_and(Vec::is_empty);
            let keyed = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == "Idempotency-Key");
            if public && keyed {
                w.found.push(format!(
                    "{contract} {method} {path}: a public operation documents Idempotency-Key"
                ));
            }
        }
        w.undocumented_methods(path, &url, item).await;
    }
    (w.calls, w.found)
}

#[tokio::test]
async fn every_answer_of_every_emulator_is_in_its_openapi_document() {
    let mut all = Vec::new();
    for contract in [
        "webex",
        "whispir",
        "ringcentral",
        "token-api",
        "webex-connect",
    ] {
        let (calls, found) = walk(contract).await;
        println!(
            "{contract}: {calls} requests, {} answers off the document",
            found.len()
        );
        assert!(calls > 20, "{contract}: only {calls} requests");
        all.extend(found);
    }
    all.sort();
    all.dedup();
    assert!(
        all.is_empty(),
        "{} answers off their documents:\n{}",
        all.len(),
        all.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// The example contracts (GitHub's nested, numbered and key-addressed resources, Slack's
/// operations at paths of their own with an envelope) answer as their documents say.
#[tokio::test]
async fn the_example_contracts_answer_as_their_openapi_documents_say() {
    let mut all = Vec::new();
    for (name, text) in [
        (
            "github.toml",
            include_str!("../../../../examples/contracts/github.toml"),
        ),
        (
            "slack.toml",
            include_str!("../../../../examples/contracts/slack.toml"),
        ),
    ] {
        let contract = crate::support::contract_from(name, text);
        let em = verdict_server::Emulator::new(contract, roomy()).unwrap();
        let s =
            crate::support::serve_emulator(em, "t0".into(), false, ServerLimits::default()).await;
        let (calls, found) = walk_served(&s, name).await;
        assert!(calls > 20, "{name}: only {calls} requests");
        all.extend(found);
    }
    assert!(
        all.is_empty(),
        "{} answers off their documents:\n{}",
        all.len(),
        all.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Operations on one item at paths of their own: named in the query or the body, by a
/// numbered key or an id, answering with or without an envelope.
const ITEM_OPERATIONS: &str = r#"
[contract]
id = "items"
name = "Item operations"
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
operations.update = { path = "/notes.edit", id_param = "number", accepts = ["text"], required = ["text"] }

[[emulator.resource]]
name = "memos"
item_key = "memo"
beside_item = { title = "title", ref = "id" }
list_key = "memos"
envelope = { ok = true }
unknown_fields = "refuse"
fields = { title = { type = "string", required = true }, done = { type = "boolean", default = false } }
unique = [["title"]]
operations.create = { path = "/memos.create" }
operations.list = { path = "/memos.list" }
operations.get = { path = "/memos.info", method = "POST", id_param = "memo" }
operations.finish = { kind = "update", path = "/memos.finish", id_param = "memo", accepts = [], set = { done = true } }
operations.delete = { path = "/memos.delete", id_param = "memo" }
"#;

#[tokio::test]
async fn item_operations_answer_as_their_openapi_document_says() {
    let contract = crate::support::contract_from("items.toml", ITEM_OPERATIONS);
    let em = verdict_server::Emulator::new(contract, roomy()).unwrap();
    let s = crate::support::serve_emulator(em, "t0".into(), false, ServerLimits::default()).await;
    let (calls, mut found) = walk_served(&s, "items.toml").await;
    assert!(calls > 20, "only {calls} requests");
    found.extend(item_operations_succeed(&s).await);
    assert!(
        found.is_empty(),
        "{} answers off the document:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The successful answers of the item operations (the walk names items that do not exist),
/// each checked against the document.
async fn item_operations_succeed(s: &Running) -> Vec<String> {
    let doc = s.openapi().await;
    let mut w = Walk {
        s,
        contract: "items.toml",
        doc: doc.clone(),
        found: Vec::new(),
        calls: 0,
    };
    let json = Some("application/json");
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    let note = json!({"text": "a note"});
    let made = w
        .call(
            &Method::POST,
            "/api/notes",
            &op("/api/notes", "post"),
            json,
            Some(&note),
            "",
        )
        .await;
    let number = made["number"].to_string();
    let (get, edit) = (op("/api/notes.get", "get"), op("/api/notes.edit", "post"));
    let query = format!("?number={number}");
    w.call(&Method::GET, "/api/notes.get", &get, None, None, &query)
        .await;
    let body = json!({"number": made["number"], "text": "edited"});
    let edited = w
        .call(
            &Method::POST,
            "/api/notes.edit",
            &edit,
            json,
            Some(&body),
            "",
        )
        .await;
    let delete = op("/api/notes.delete", "delete");
    w.call(
        &Method::DELETE,
        "/api/notes.delete",
        &delete,
        None,
        None,
        &query,
    )
    .await;
    let memo = json!({"title": "a memo"});
    let create = op("/api/memos.create", "post");
    let made = w
        .call(
            &Method::POST,
            "/api/memos.create",
            &create,
            json,
            Some(&memo),
            "",
        )
        .await;
    let named = json!({"memo": made["memo"]["id"]});
    let mut answers = Vec::new();
    for path in ["/api/memos.info", "/api/memos.finish", "/api/memos.delete"] {
        let answer = w
            .call(
                &Method::POST,
                path,
                &op(path, "post"),
                json,
                Some(&named),
                "",
            )
            .await;
        answers.push(answer);
    }
    let done = [
        &answers[0]["memo"]["done"],
        &answers[1]["memo"]["done"],
        &answers[2],
    ];
    let beside = (&made["title"], &made["ref"]) == (&json!("a memo"), &made["memo"]["id"]);
    if !beside
        || edited["text"] != "edited"
        || done != [&json!(false), &json!(true), &json!({"ok": true})]
    {
        w.found.push(format!(
            "the operations did not succeed: {edited} {answers:?}"
        ));
    }
    w.found
}
