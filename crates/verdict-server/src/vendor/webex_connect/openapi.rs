//! The paths Webex Connect serves, for the OpenAPI document.

use std::collections::{BTreeMap, BTreeSet};

use http::Method;
use serde_json::{Value, json};
use verdict::Contract;

use super::{EVENT, MESSAGING, PROFILE, STATUS};
use crate::openapi::{Answer, Operation, Route, path_param};

/// An answer carrying an application code and its description.
fn coded(status: u16, description: &str) -> Answer {
    Answer::json(
        status,
        description,
        json!({"$ref": "#/components/schemas/Error"}),
    )
}

/// Every HTTP status the application codes of `api` are answered with, and the codes.
fn statuses(c: &Contract, api: &str) -> Vec<(u16, String)> {
    let mut by_status: BTreeMap<u16, BTreeSet<verdict::CodeValue>> = BTreeMap::new();
    for code in c.api(api).map(|a| a.codes.as_slice()).unwrap_or_default() {
        by_status
            .entry(code.http_status)
            .or_default()
            .insert(code.code.clone());
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let list: Vec<String> = codes.iter().map(ToString::to_string).collect();
            (status, format!("Application codes {}", list.join(", ")))
        })
        .collect()
}

fn op(
    c: &Contract,
    (api, method): (&str, Method),
    summary: &str,
    ok: (u16, &str),
    body: Option<Value>,
    params: &[Value],
) -> Operation {
    let mut o = Operation::new(method, summary)
        .params(params.to_vec())
        .answer(coded(ok.0, ok.1));
    for (status, codes) in statuses(c, api) {
        o = o.answer(coded(status, &codes));
    }
    if let Some(b) = body {
        o = o.body("application/json", b);
    }
    o
}

fn ids_param() -> Value {
    json!({"name": "customerId", "in": "query", "required": false, "explode": true,
           "schema": {"type": "array", "items": {"type": "string"}, "maxItems": 100}})
}

fn expiry_param() -> Value {
    json!({"name": "expiry", "in": "query", "required": false,
           "schema": {"type": "string"},
           "description": "An RFC 3339 time; one already past answers 7019 Request expired, and text that is not a time is ignored."})
}

/// The routes, for the OpenAPI document.
pub(crate) fn routes(c: &Contract) -> Vec<Route> {
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
    let done = (
        200,
        "1000 Success, or 1002 Partial success with a result per record",
    );
    let route = |path: &str, ops: Vec<Operation>| Route {
        path: path.into(),
        ops,
    };
    let id = || path_param("customerId");
    let app = || path_param("appid");
    vec![
        route(
            "/resources/v1/messaging",
            vec![op(
                c,
                (MESSAGING, Method::POST),
                "Send a message to up to 1000 destinations",
                (200, "7501 Submited, with a transid per destination"),
                Some(message),
                &[],
            )],
        ),
        route(
            "/resources/v1/messaging/status/{transid}",
            vec![op(
                c,
                (STATUS, Method::GET),
                "The delivery state of one transaction",
                (
                    200,
                    "7501 until delivered, then 7500, 7502 or the failure its test destination names",
                ),
                None,
                &[path_param("transid"), expiry_param()],
            )],
        ),
        route(
            "/resources/v1/events/externalevent",
            vec![op(
                c,
                (EVENT, Method::POST),
                "Raise custom events",
                (202, "1002 Queues"),
                Some(events),
                &[],
            )],
        ),
        route(
            "/resources/v2/customerprofile",
            vec![
                op(
                    c,
                    (PROFILE, Method::POST),
                    "Create customer profiles",
                    done,
                    Some(records.clone()),
                    &[],
                ),
                op(
                    c,
                    (PROFILE, Method::PUT),
                    "Update customer profiles",
                    done,
                    Some(records.clone()),
                    &[],
                ),
                op(
                    c,
                    (PROFILE, Method::GET),
                    "Read customer profiles",
                    done,
                    None,
                    &[ids_param(), expiry_param()],
                ),
                op(
                    c,
                    (PROFILE, Method::DELETE),
                    "Delete customer profiles",
                    done,
                    None,
                    &[ids_param(), expiry_param()],
                ),
            ],
        ),
        route(
            "/resources/v2/customerprofile/{customerId}",
            vec![
                op(
                    c,
                    (PROFILE, Method::GET),
                    "Read a customer profile",
                    done,
                    None,
                    &[id(), expiry_param()],
                ),
                op(
                    c,
                    (PROFILE, Method::DELETE),
                    "Delete a customer profile and its app profiles",
                    done,
                    None,
                    &[id(), expiry_param()],
                ),
            ],
        ),
        route(
            "/resources/v2/customerappprofile/{appid}",
            vec![
                op(
                    c,
                    (PROFILE, Method::POST),
                    "Create app profiles",
                    done,
                    Some(records.clone()),
                    &[app()],
                ),
                op(
                    c,
                    (PROFILE, Method::PUT),
                    "Update app profiles",
                    done,
                    Some(records.clone()),
                    &[app()],
                ),
                op(
                    c,
                    (PROFILE, Method::GET),
                    "Read app profiles",
                    done,
                    None,
                    &[app(), ids_param(), expiry_param()],
                ),
                op(
                    c,
                    (PROFILE, Method::DELETE),
                    "Delete app profiles",
                    done,
                    None,
                    &[app(), ids_param(), expiry_param()],
                ),
            ],
        ),
        route(
            "/resources/v2/customerappprofile/{appid}/{customerId}",
            vec![
                op(
                    c,
                    (PROFILE, Method::GET),
                    "Read an app profile",
                    done,
                    None,
                    &[app(), id(), expiry_param()],
                ),
                op(
                    c,
                    (PROFILE, Method::DELETE),
                    "Delete an app profile",
                    done,
                    None,
                    &[app(), id(), expiry_param()],
                ),
            ],
        ),
        route(
            "/resources/v2/customerprofiles/{appid}",
            vec![op(
                c,
                (PROFILE, Method::PUT),
                "Update app profiles (the path the vendor documents for it)",
                done,
                Some(records),
                &[app()],
            )],
        ),
    ]
}
