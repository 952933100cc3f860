//! An OpenAPI 3 description of the emulated API, generated from the contract.

use serde_json::{Map, Value, json};
use verdict::emulate::ResourceSpec;
use verdict::{AuthScheme, FieldType};

use crate::Emulator;

fn schema(t: FieldType) -> Value {
    match t {
        FieldType::String => json!({"type": "string"}),
        FieldType::Email => json!({"type": "string", "format": "email"}),
        FieldType::Integer => json!({"type": "integer"}),
        FieldType::Number => json!({"type": "number"}),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Object => json!({"type": "object"}),
        FieldType::Array => json!({"type": "array", "items": {}}),
        FieldType::Any => json!({}),
    }
}

fn resource_schema(r: &ResourceSpec) -> Value {
    let mut props = Map::new();
    props.insert("id".into(), json!({"type": "string", "readOnly": true}));
    for f in &r.fields {
        let mut s = schema(f.ty);
        if let (Some(d), Value::Object(o)) = (&f.default, &mut s) {
            o.insert("default".into(), d.clone());
        }
        props.insert(f.name.clone(), s);
    }
    let required: Vec<&str> = r
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name.as_str())
        .collect();
    json!({"type": "object", "properties": props, "required": required})
}

/// The `content` of an error response: the vendor's JSON, or problem details.
fn error_content(em: &Emulator) -> Value {
    let (media, schema) = if em.contract.error_body.is_problem() {
        (verdict::problem::MEDIA_TYPE, "Problem")
    } else {
        ("application/json", "Error")
    };
    json!({ media: {"schema": {"$ref": format!("#/components/schemas/{schema}")}} })
}

/// The documented statuses as OpenAPI responses, with `ok` as the success.
fn responses(em: &Emulator, ok: u16, ok_schema: Option<Value>) -> Value {
    let mut out = Map::new();
    let media = "application/json";
    for s in em.contract.documented_statuses() {
        let mut r = json!({"description": s.title.clone().map_or(s.meaning.clone(), |t| format!("{t}: {}", s.meaning))});
        if s.code == ok {
            if let Some(schema) = &ok_schema {
                r["content"] = json!({ media: {"schema": schema} });
            }
        } else if s.code >= 400 {
            r["content"] = error_content(em);
        }
        if !s.headers.is_empty() {
            let headers: Map<String, Value> = s
                .headers
                .iter()
                .map(|h| (h.as_str().to_owned(), json!({"schema": {"type": "string"}})))
                .collect();
            r["headers"] = Value::Object(headers);
        }
        out.insert(s.code.to_string(), r);
    }
    out.entry(ok.to_string())
        .or_insert_with(|| json!({"description": "Success"}));
    Value::Object(out)
}

/// The OpenAPI document; `origin` is the server URL clients reached.
pub fn document(em: &Emulator, origin: &str) -> Value {
    let spec = &em.spec;
    let mut paths = Map::new();
    for r in &spec.resources {
        let schema = json!({"$ref": format!("#/components/schemas/{}", r.name)});
        let list = match &spec.list_key {
            Some(k) => {
                let key = if k == "{resource}" {
                    r.name.clone()
                } else {
                    k.clone()
                };
                json!({"type": "object", "properties": { key: {"type": "array", "items": schema.clone()} }})
            }
            None => json!({"type": "array", "items": schema.clone()}),
        };
        let body = json!({"required": true, "content": { r.media_type.clone().unwrap_or_else(|| "application/json".into()): {"schema": schema.clone()} }});
        let mut collection = Map::new();
        let mut item = Map::new();
        let allowed = em.allowed(r, false);
        if allowed.contains(&http::Method::GET) {
            let mut params = Vec::new();
            if let Some(p) = &spec.page_param {
                params.push(json!({"name": p, "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": spec.page_limit}}));
            }
            for f in &r.filters {
                params.push(json!({"name": f, "in": "query", "schema": {"type": "string"}}));
            }
            collection.insert("get".into(), json!({"summary": format!("List {}", r.name), "parameters": params, "responses": responses(em, 200, Some(list))}));
        }
        if allowed.contains(&http::Method::POST) {
            let status = if r.accept_delay_ms.is_some() {
                202
            } else {
                spec.create_status
            };
            let mut op = json!({"summary": format!("Create a {}", r.kind.to_lowercase()), "requestBody": body, "responses": responses(em, status, Some(schema.clone()))});
            crate::idempotency::describe_operation(
                em,
                &http::Method::POST,
                &mut op,
                &error_content(em),
            );
            collection.insert("post".into(), op);
        }
        for m in em.allowed(r, true) {
            let mut op = match m {
                http::Method::GET => {
                    json!({"summary": format!("Get a {}", r.kind.to_lowercase()), "responses": responses(em, 200, Some(schema.clone()))})
                }
                http::Method::DELETE => {
                    json!({"summary": format!("Delete a {}", r.kind.to_lowercase()), "responses": responses(em, spec.delete_status, None)})
                }
                _ => {
                    json!({"summary": format!("Update a {}", r.kind.to_lowercase()), "requestBody": body, "responses": responses(em, spec.update_status, Some(schema.clone()))})
                }
            };
            crate::idempotency::describe_operation(em, &m, &mut op, &error_content(em));
            item.insert(m.as_str().to_ascii_lowercase(), op);
        }
        item.insert(
            "parameters".into(),
            json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]),
        );
        paths.insert(
            format!("{}{}", spec.base_path, r.path),
            Value::Object(collection),
        );
        paths.insert(
            format!("{}{}/{{id}}", spec.base_path, r.path),
            Value::Object(item),
        );
    }
    paths.extend(em.vendor.openapi_paths(em));
    for (path, summary) in [
        (
            "/_verdict/faults",
            "Queue faults for matching requests (admin)",
        ),
        (
            "/_verdict/maintenance",
            "Turn maintenance mode on or off (admin)",
        ),
        (
            "/_verdict/locks",
            "Lock a resource path: 423 until it ends (admin)",
        ),
        ("/_verdict/moves", "Answer a path with a redirect (admin)"),
        ("/_verdict/tokens", "Add, revoke or restrict tokens (admin)"),
        ("/_verdict/quotas", "Replace the request quotas (admin)"),
        ("/_verdict/reset", "Forget all resources and faults (admin)"),
        (
            "/_verdict/journal",
            "Every request seen, with its response status (admin)",
        ),
    ] {
        paths.insert(path.into(), json!({"description": summary}));
    }
    let mut schemas: Map<String, Value> = spec
        .resources
        .iter()
        .map(|r| (r.name.clone(), resource_schema(r)))
        .collect();
    if em.contract.error_body.is_problem() {
        schemas.insert(
            "Problem".into(),
            crate::problem::openapi_schema(&em.contract.error_body),
        );
    } else {
        schemas.insert("Error".into(), json!({"type": "object", "description": "The vendor's error body; see the contract's error_body pointers."}));
    }
    let security = match &em.contract.auth.scheme {
        AuthScheme::ApiKey { header } => {
            json!({"type": "apiKey", "in": "header", "name": header.as_str()})
        }
        AuthScheme::Basic => json!({"type": "http", "scheme": "basic"}),
        _ => json!({"type": "http", "scheme": "bearer"}),
    };
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": format!("{} (verdict emulator)", em.contract.name),
            "version": env!("CARGO_PKG_VERSION"),
            "description": em.contract.summary.clone().unwrap_or_default(),
        },
        "servers": [{"url": origin}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"credentials": security}},
        "security": [{"credentials": []}],
    })
}
