//! The paths Webex Connect serves, for the OpenAPI document.

use serde_json::{Map, Value, json};

fn reply(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    })
}

fn op(summary: &str, ok: (&str, &str), body: Option<Value>, params: &[Value]) -> Value {
    let mut o = json!({
        "summary": summary,
        "parameters": params,
        "responses": {
            ok.0: reply(ok.1),
            "400": reply("A validation code (7000, 7003, 7004, ...) in the body"),
            "401": reply("7001 or 7002: the service key in `key` is wrong or missing"),
            "403": reply("7007, 7008 or 7010: inactive service or profile, caller outside the IP allow list"),
            "429": reply("7020: the key's transaction limit is used up (Retry-After)"),
        },
    });
    if let Some(b) = body {
        o["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": b}}});
    }
    o
}

fn path_param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}

fn ids_param() -> Value {
    json!({"name": "customerId", "in": "query", "required": false, "explode": true,
           "schema": {"type": "array", "items": {"type": "string"}, "maxItems": 100}})
}

fn expiry_param() -> Value {
    json!({"name": "expiry", "in": "query", "required": false,
           "schema": {"type": "string", "format": "date-time"},
           "description": "A time already past answers 7019 Request expired."})
}

/// The paths, keyed as OpenAPI's `paths` object.
pub(crate) fn paths() -> Map<String, Value> {
    let records = json!({"type": "object", "required": ["Records"], "properties": {
        "expiry": {"type": "string", "format": "date-time"},
        "Records": {"type": "array", "maxItems": 100, "items": {"type": "object",
            "required": ["customerId"], "properties": {
                "customerId": {"type": "string"},
                "Attributes": {"type": "object"}}}}}});
    let message = json!({"type": "object", "required": ["deliverychannel", "destination", "channels"], "properties": {
        "deliverychannel": {"type": "string", "enum": ["sms", "push", "rt", "fb", "voice"]},
        "destination": {"type": "array", "items": {"type": "object"}},
        "channels": {"type": "object"},
        "appid": {"type": "string"},
        "expiry": {"type": "string", "format": "date-time"},
        "correlationid": {"type": "string"},
        "message": {"type": "object", "properties": {"template": {"type": "string"}}}}});
    let events = json!({"type": "object", "required": ["events"], "properties": {
        "events": {"type": "array", "items": {"type": "object", "required": ["evtid"], "properties": {
            "evtid": {"type": "string"},
            "correlationid": {"type": "string"},
            "parameters": {"type": "object"}}}}}});
    let mut out = Map::new();
    out.insert(
        "/resources/v1/messaging".into(),
        json!({"post": op("Send a message to up to 1000 destinations",
            ("200", "7501 Submited, with a transid per destination"), Some(message), &[])}),
    );
    out.insert(
        "/resources/v1/messaging/status/{transid}".into(),
        json!({"get": op("The delivery state of one transaction",
            ("200", "7501 until delivered, then 7500, 7502 or the failure its test destination names"),
            None, &[path_param("transid"), expiry_param()])}),
    );
    out.insert(
        "/resources/v1/events/externalevent".into(),
        json!({"post": op("Raise custom events", ("202", "1002 Queues"), Some(events), &[])}),
    );
    let done = (
        "200",
        "1000 Success, or 1002 Partial success with a result per record",
    );
    out.insert(
        "/resources/v2/customerprofile".into(),
        json!({
            "post": op("Create customer profiles", done, Some(records.clone()), &[]),
            "put": op("Update customer profiles", done, Some(records.clone()), &[]),
            "get": op("Read customer profiles", done, None, &[ids_param(), expiry_param()]),
            "delete": op("Delete customer profiles", done, None, &[ids_param(), expiry_param()]),
        }),
    );
    out.insert(
        "/resources/v2/customerprofile/{customerId}".into(),
        json!({
            "get": op("Read a customer profile", done, None, &[path_param("customerId"), expiry_param()]),
            "delete": op("Delete a customer profile and its app profiles", done, None, &[path_param("customerId"), expiry_param()]),
        }),
    );
    out.insert(
        "/resources/v2/customerappprofile/{appid}".into(),
        json!({
            "post": op("Create app profiles", done, Some(records.clone()), &[path_param("appid")]),
            "put": op("Update app profiles", done, Some(records.clone()), &[path_param("appid")]),
            "get": op("Read app profiles", done, None, &[path_param("appid"), ids_param(), expiry_param()]),
            "delete": op("Delete app profiles", done, None, &[path_param("appid"), ids_param(), expiry_param()]),
        }),
    );
    out.insert(
        "/resources/v2/customerappprofile/{appid}/{customerId}".into(),
        json!({
            "get": op("Read an app profile", done, None, &[path_param("appid"), path_param("customerId"), expiry_param()]),
            "delete": op("Delete an app profile", done, None, &[path_param("appid"), path_param("customerId"), expiry_param()]),
        }),
    );
    out.insert(
        "/resources/v2/customerprofiles/{appid}".into(),
        json!({"put": op("Update app profiles (the path the vendor documents for it)", done, Some(records), &[path_param("appid")])}),
    );
    out
}
