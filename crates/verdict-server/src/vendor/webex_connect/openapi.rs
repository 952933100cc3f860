//! The paths Webex Connect serves, for the OpenAPI document.

use std::collections::{BTreeMap, BTreeSet};

use http::Method;
use serde_json::{Value, json};
use verdict::emulate::CustomEvent;
use verdict::{Contract, EventParameter};

use super::messaging::{IDENTIFIERS, MAX_DESTINATIONS};
use super::profile::MAX_BATCH;
use super::{EVENT, MESSAGING, PROFILE, STATUS};
use crate::openapi::{Answer, Operation, Route, path_param};

// The schemas below are read from the same tables the module checks requests against
// (events, apps, identifiers, limits). Where a check is more than a schema can say (a
// blank value, a time), the schema says less rather than more: what it calls invalid the
// module refuses too.

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

/// The customers a read or delete names: at least one (else 7003), at most a batch.
fn ids_param() -> Value {
    json!({"name": "customerId", "in": "query", "required": true, "explode": true,
           "description": "One value per customer; none answers 7003, more than a batch 7012.",
           "schema": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": MAX_BATCH}})
}

/// The app profiles the emulated client is linked to; another answers 7018.
fn app_param(c: &Contract) -> Value {
    let configured = c.emulator.as_ref().map_or(&[][..], |e| e.apps.as_slice());
    let apps: Vec<&str> = configured.iter().map(|a| a.id.as_str()).collect();
    json!({"name": "appid", "in": "path", "required": true,
           "schema": {"type": "string", "enum": apps}})
}

/// What a value of an event's parameter holds.
fn parameter_schema(kind: EventParameter) -> Value {
    match kind {
        EventParameter::Text => {
            json!({"anyOf": [{"type": "string", "minLength": 1}, {"type": "number"}]})
        }
        EventParameter::Number => json!({"anyOf": [
            {"type": "number"},
            {"type": "string", "pattern": "^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$"}]}),
        EventParameter::Currency => json!({"type": "string", "pattern": "^[A-Z]{3}$"}),
        EventParameter::Time => json!({"type": "string", "anyOf": [
            {"format": "date-time"},
            {"pattern": "^\\s*[0-9-]{10}[Tt ]"}]}),
    }
}

/// One custom event: its id and its mandatory parameters.
fn event_schema(e: &CustomEvent) -> Value {
    let names: Vec<&str> = e.parameters.iter().map(|(n, _)| n.as_str()).collect();
    let props: serde_json::Map<String, Value> = e
        .parameters
        .iter()
        .map(|(n, k)| (n.clone(), parameter_schema(*k)))
        .collect();
    json!({"type": "object", "required": ["evtid", "parameters"], "properties": {
        "evtid": {"type": "string", "enum": [e.id]},
        "correlationid": correlation_id(),
        "parameters": {"type": "object", "required": names, "properties": props,
                       "additionalProperties": scalar()}}})
}

/// The caller's own reference, given back as it was sent: the document gives it no type
/// and the emulator checks none.
fn correlation_id() -> Value {
    json!({"description": "The caller's reference, given back in the answer as sent."})
}

/// Any value but a list or an object.
fn scalar() -> Value {
    json!({"not": {"anyOf": [{"type": "object"}, {"type": "array"}]}})
}

/// A write's body: 1 to a batch of records (none is 7003, more 7012). Each record is
/// judged on its own and answered in the per-record results of a 200 (1002 partial
/// success), so what a record must hold is no rule of the request's.
fn records_schema() -> Value {
    let record = json!({"type": "object", "properties": {
        "customerId": {"anyOf": [{"type": "string"}, {"type": "number"}]},
        "Attributes": {"type": "object", "nullable": true}}});
    json!({"type": "object", "required": ["Records"], "properties": {
        "expiry": {"type": "string", "format": "date-time"},
        "Records": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": record}}})
}

/// A destination entry names at least one recipient; an msisdn is 7 to 15 digits after
/// an optional `+` (else 7102), and a blank one is passed over.
fn destination_schema() -> Value {
    let msisdn = json!({"type": "string", "pattern": "^\\s*(\\+?[0-9]{7,15})?\\s*$"});
    let msisdn = json!({"anyOf": [msisdn, {"type": "number"}, {"type": "array"}]});
    let any_id: Vec<Value> = IDENTIFIERS
        .iter()
        .map(|id| json!({"required": [id]}))
        .collect();
    json!({"type": "array", "minItems": 1, "maxItems": MAX_DESTINATIONS,
           "items": {"type": "object", "anyOf": any_id, "properties": {"msisdn": msisdn}}})
}

fn expiry_param() -> Value {
    json!({"name": "expiry", "in": "query", "required": false,
           "schema": {"type": "string"},
           "description": "An RFC 3339 time; one already past answers 7019 Request expired, and text that is not a time is ignored."})
}

/// The routes, for the OpenAPI document.
pub(crate) fn routes(c: &Contract) -> Vec<Route> {
    let mut routes = messaging_routes(c);
    routes.extend(profile_routes(c));
    routes
}

fn route(path: &str, ops: Vec<Operation>) -> Route {
    Route {
        path: path.into(),
        ops,
    }
}

/// Sending messages, their delivery state and custom events.
fn messaging_routes(c: &Contract) -> Vec<Route> {
    let message = json!({"type": "object", "required": ["deliverychannel", "destination", "channels"], "properties": {
        "deliverychannel": {"type": "string", "enum": ["sms", "push", "rt", "fb", "voice"]},
        "destination": destination_schema(),
        "channels": {"type": "object"},
        "appid": {"type": "string"},
        "expiry": {"type": "string", "format": "date-time"},
        "correlationid": correlation_id(),
        "message": {"type": "object", "properties": {"template": {"type": "string"}}}}});
    // What each channel needs: the contract's checks of the messaging API.
    let checks = c
        .api(MESSAGING)
        .map(|a| a.checks.as_slice())
        .unwrap_or_default();
    let message = crate::body_schema::with_checks(message, checks);
    let configured = c.emulator.as_ref().map(|e| e.events.as_slice());
    let events: Vec<Value> = configured
        .unwrap_or_default()
        .iter()
        .map(event_schema)
        .collect();
    let events = json!({"type": "object", "required": ["events"], "properties": {
        "events": {"type": "array", "minItems": 1, "items": {"oneOf": events}}}});
    let sent = (200, "7501 Submited, with a transid per destination");
    let state = (
        200,
        "7501 until delivered, then 7500, 7502 or the failure its test destination names",
    );
    let status_params = [path_param("transid"), expiry_param()];
    vec![
        route(
            "/resources/v1/messaging",
            vec![op(
                c,
                (MESSAGING, Method::POST),
                "Send a message to up to 1000 destinations",
                sent,
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
                state,
                None,
                &status_params,
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
    ]
}

/// Customer profiles and app profiles: each operation answers 200 with a result per
/// record.
fn profile_routes(c: &Contract) -> Vec<Route> {
    let records = records_schema();
    let done = (
        200,
        "1000 Success, or 1002 Partial success with a result per record",
    );
    // A write takes the records as its body; a read or delete names them in the query.
    let write = |method: Method, summary: &str, params: &[Value]| {
        op(
            c,
            (PROFILE, method),
            summary,
            done,
            Some(records.clone()),
            params,
        )
    };
    let read = |method: Method, summary: &str, params: &[Value]| {
        op(c, (PROFILE, method), summary, done, None, params)
    };
    let (id, app, ids, expiry) = (
        path_param("customerId"),
        app_param(c),
        ids_param(),
        expiry_param(),
    );
    let by_ids = [ids.clone(), expiry.clone()];
    let one = [id.clone(), expiry.clone()];
    let app_by_ids = [app.clone(), ids, expiry.clone()];
    let app_one = [app.clone(), id, expiry];
    let app_only = [app];
    vec![
        route(
            "/resources/v2/customerprofile",
            vec![
                write(Method::POST, "Create customer profiles", &[]),
                write(Method::PUT, "Update customer profiles", &[]),
                read(Method::GET, "Read customer profiles", &by_ids),
                read(Method::DELETE, "Delete customer profiles", &by_ids),
            ],
        ),
        route(
            "/resources/v2/customerprofile/{customerId}",
            vec![
                read(Method::GET, "Read a customer profile", &one),
                read(
                    Method::DELETE,
                    "Delete a customer profile and its app profiles",
                    &one,
                ),
            ],
        ),
        route(
            "/resources/v2/customerappprofile/{appid}",
            vec![
                write(Method::POST, "Create app profiles", &app_only),
                write(Method::PUT, "Update app profiles", &app_only),
                read(Method::GET, "Read app profiles", &app_by_ids),
                read(Method::DELETE, "Delete app profiles", &app_by_ids),
            ],
        ),
        route(
            "/resources/v2/customerappprofile/{appid}/{customerId}",
            vec![
                read(Method::GET, "Read an app profile", &app_one),
                read(Method::DELETE, "Delete an app profile", &app_one),
            ],
        ),
        route(
            "/resources/v2/customerprofiles/{appid}",
            vec![write(
                Method::PUT,
                "Update app profiles (the path the vendor documents for it)",
                &app_only,
            )],
        ),
    ]
}
