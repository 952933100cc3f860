//! The Webex Connect request validation as a whole, through the public emulator API
//! (`Emulator::handle` of the built-in `webex-connect` contract): messaging, events, and
//! customer and app profiles, with bodies made from the input.
//!
//! Input layout: byte 0 chooses the form. Even: the rest is one raw body, posted with a
//! valid key to the path that bits 1-3 pick. Odd: the rest drives `arbitrary`, which makes
//! one to four requests to one emulator, after creating customers c1 and c2 (so that app
//! profiles and messages to customer ids get past "not found"): each a path, POST (or PUT
//! for profiles), a key (mostly the valid one), sometimes an `X-Forwarded-For`, and a JSON
//! body that is either one of the well-formed bodies of the tests with a few mutations (a
//! value replaced by another of a plausible kind, a key removed or added, an array grown
//! past 1000), or an object built from the vendor's field names and values. A short input
//! gives the well-formed request: the bytes go to the changes.
//!
//! Checked for every answer: no panic, a body that is JSON, a status the contract
//! documents, and a body with a code whose row has that status and whose description is
//! one of that code's exact messages.
//!
//! Nothing sleeps: no latency, no random faults, and the runtime's clock is paused.
#![no_main]

use std::sync::LazyLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use http_body_util::BodyExt;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use verdict_server::{Config, Emulator, Req};

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
});

static CONTRACT: LazyLock<verdict::Contract> = LazyLock::new(|| {
    verdict::Catalog::builtin()
        .get("webex-connect")
        .unwrap()
        .clone()
});

const TOKEN: &str = "verdict-token";
const MESSAGING: &str = "/resources/v1/messaging";
const EVENTS: &str = "/resources/v1/events/externalevent";
const CUSTOMERS: &str = "/resources/v2/customerprofile";
const APP_IDS: [&str; 4] = ["rtm-app", "fb-app", "twitter-app", "nope"];

/// Paths of the raw form (bits 1-3 of byte 0).
const RAW_PATHS: [&str; 8] = [
    MESSAGING,
    EVENTS,
    CUSTOMERS,
    "/resources/v2/customerappprofile/rtm-app",
    "/resources/v2/customerappprofile/fb-app",
    "/resources/v2/customerappprofile/twitter-app",
    "/resources/v1/messaging/",
    "/resources/v1/events/other",
];

const KEYS: [&str; 6] = [
    TOKEN,
    TOKEN,
    TOKEN,
    "inactive-service",
    "inactive-profile",
    "no-profile-store",
];

const FORWARDED: [&str; 5] = [
    "10.1.2.3",
    "127.0.0.1",
    "203.0.113.9",
    "2001:db8::1",
    "nonsense",
];

/// Field names the validators read.
const FIELDS: &[&str] = &[
    "deliverychannel",
    "destination",
    "channels",
    "appid",
    "expiry",
    "message",
    "template",
    "msisdn",
    "pushid",
    "userid",
    "psid",
    "customerid",
    "correlationid",
    "sms",
    "push",
    "rt",
    "fb",
    "voice",
    "appmessaging",
    "OTT-Messaging",
    "android",
    "ios",
    "text",
    "type",
    "senderid",
    "title",
    "body",
    "priority",
    "callflowid",
    "media",
    "interactive",
    "device_types",
    "category",
    "actions",
    "pos",
    "action",
    "value",
    "identifier",
    "events",
    "evtid",
    "parameters",
    "orderId",
    "customerId",
    "carrier",
    "amount",
    "currency",
    "appointmentTime",
    "Records",
    "Attributes",
    "status",
    "name",
    "email",
    "city",
    "connectStatus",
    "deviceId",
    "rtmId",
    "access_token",
    "access_token_expiry",
    "access_token_secret",
    "screenName",
    "twitterid",
    "dob",
    "gender",
    "language",
    "timezone",
    "deeplink",
    "call_back",
    "content",
    "to",
    "safari_pushid",
];

/// String values the validators compare against.
const WORDS: &[&str] = &[
    "sms",
    "push",
    "rt",
    "fb",
    "voice",
    "wechat",
    "",
    "   ",
    "1",
    "2",
    "3",
    "5",
    "hello",
    "this is Spam, really",
    "bell\u{7}",
    "447700900123",
    "+15550007109",
    "15550007502",
    "12ab",
    "CONNECT",
    "NOT A SENDER",
    "TOOLONGSENDERID",
    "rtm-app",
    "fb-app",
    "twitter-app",
    "nope",
    "ios",
    "android",
    "windows",
    "accept_decline",
    "yes_no",
    "remind_later",
    "maybe_later",
    "open_url",
    "open_app",
    "dismiss",
    "reply",
    "deeplink",
    "call",
    "accept",
    "decline",
    "yes",
    "no",
    "later",
    "remind",
    "maybe",
    "https://example.com/ok",
    "not a url",
    "2015-04-12T18:30:19.456+5:30",
    "2015-04-12T13:00:19.456Z",
    "2099-01-01T00:00:00Z",
    "tomorrow",
    "order_shipped",
    "payment_received",
    "appointment_reminder",
    "12.50",
    "a lot",
    "EUR",
    "euro",
    "c1",
    "c2",
    "ghost",
    "nobody",
    "d-1",
    "r-1",
    "917",
    "welcome",
    "100",
    "x",
];

fn sms() -> Value {
    json!({
        "deliverychannel": "sms",
        "destination": [{"msisdn": ["447700900123"], "correlationid": "c-1"}],
        "channels": {"sms": {"type": "1", "text": "hello", "senderid": "CONNECT"}}
    })
}

fn push() -> Value {
    json!({
        "deliverychannel": "push",
        "appid": "rtm-app",
        "destination": [{"pushid": ["device-1"]}],
        "channels": {"push": {"android": {"text": "hi"}, "ios": {"text": "hi"}, "interactive": {
            "device_types": ["ios", "android"],
            "category": "accept_decline",
            "actions": [
                {"pos": 1, "action": "open_url", "value": "https://example.com/ok"},
                {"pos": 2, "action": "dismiss"}
            ]
        }}}
    })
}

fn rt() -> Value {
    json!({
        "deliverychannel": "rt",
        "appid": "rtm-app",
        "destination": [{"userid": ["u1"]}],
        "channels": {"appmessaging": {"text": "hi", "priority": 3, "interactive": {
            "device_types": ["ios"], "category": "yes_no", "actions": [
                {"pos": 1, "action": "reply", "value": "yes please", "identifier": "yes"},
                {"pos": 2, "action": "reply", "value": "no thanks"}
            ]
        }}}
    })
}

fn fb() -> Value {
    json!({
        "deliverychannel": "fb",
        "appid": "fb-app",
        "destination": [{"psid": ["1652750724851329"]}],
        "channels": {"OTT-Messaging": {"fb": {"text": "hi"}}}
    })
}

fn voice() -> Value {
    json!({
        "deliverychannel": "voice",
        "destination": [{"msisdn": ["447700900123"], "expiry": "2099-01-01T00:00:00Z"}],
        "channels": {"voice": {"callflowid": "917"}}
    })
}

fn events() -> Value {
    json!({"expiry": "2015-04-12T18:30:19.456+5:30", "events": [
        {"evtid": "order_shipped", "correlationid": "e-1", "parameters": {"orderId": "o-9", "customerId": "c1", "carrier": "post"}},
        {"evtid": "payment_received", "parameters": {"amount": "12.50", "currency": "EUR"}},
        {"evtid": "appointment_reminder", "parameters": {"customerId": "c1", "appointmentTime": "2026-12-01T09:30:00+01:00"}}
    ]})
}

fn customers() -> Value {
    json!({"Records": [
        {"customerId": "c1", "Attributes": {"msisdn": "447700900123", "name": "c1", "email": "c1@example.com"}},
        {"customerId": "c2", "Attributes": {"msisdn": "447700900124", "name": "c2"}}
    ]})
}

/// A well-formed app profile for `app` (RTM, Facebook and Twitter apps need different
/// attributes).
fn app_profiles(app: &str) -> Value {
    let attributes = match app {
        "fb-app" => json!({
            "access_token": "t", "access_token_expiry": "2030-01-01T00:00:00Z",
            "psid": "p-1", "status": "1"
        }),
        "twitter-app" => json!({
            "access_token": "t", "access_token_secret": "s", "screenName": "n", "status": "1"
        }),
        _ => json!({"connectStatus": "1", "deviceId": "d-1", "rtmId": "r-1", "status": "1"}),
    };
    json!({"Records": [{"customerId": "c1", "Attributes": attributes}]})
}

/// True one time in `n`; false when the input has run out, so that a short input makes
/// the well-formed request (valid key, JSON type, an unchanged template) and the bytes go
/// to the changes.
fn rarely(u: &mut Unstructured<'_>, n: u8) -> Result<bool> {
    Ok(u.int_in_range(1..=n)? == n)
}

/// A scalar of a plausible kind.
fn scalar(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.int_in_range(0..=9u8)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => json!(*u.choose(&[0i64, 1, 2, 3, 4, 5, 9, -1, 1000, 1001, i64::MAX, i64::MIN])?),
        3 => json!(u.arbitrary::<f64>()?),
        4 => Value::String(u.arbitrary::<String>()?),
        5 => Value::String("x".repeat(u.int_in_range(990..=1010)?)),
        _ => Value::String((*u.choose(WORDS)?).to_owned()),
    })
}

/// Any value: scalars, and arrays and objects of the vendor's names, `depth` levels deep.
fn value(u: &mut Unstructured<'_>, depth: u8) -> Result<Value> {
    if depth == 0 || !u.arbitrary::<bool>()? {
        return scalar(u);
    }
    Ok(if u.arbitrary()? {
        let n = u.int_in_range(0..=3)?;
        Value::Array((0..n).map(|_| value(u, depth - 1)).collect::<Result<_>>()?)
    } else {
        object(u, depth)?
    })
}

fn object(u: &mut Unstructured<'_>, depth: u8) -> Result<Value> {
    let mut map = Map::new();
    for _ in 0..u.int_in_range(0..=5)? {
        let key = if rarely(u, 16)? {
            u.arbitrary::<String>()?
        } else {
            (*u.choose(FIELDS)?).to_owned()
        };
        map.insert(key, value(u, depth.saturating_sub(1))?);
    }
    Ok(Value::Object(map))
}

/// Every JSON pointer of `v`, the root included.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                pointers(child, p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// One change at one place of `v`.
fn mutate(u: &mut Unstructured<'_>, v: &mut Value) -> Result<()> {
    let mut all = Vec::new();
    pointers(v, String::new(), &mut all);
    let at = u.choose(&all)?.clone();
    let op = u.int_in_range(0..=5u8)?;
    let Some(node) = v.pointer_mut(&at) else {
        return Ok(());
    };
    match op {
        // Replace with a value of another kind.
        0 | 1 => *node = value(u, 2)?,
        // Remove a key (or an element).
        2 => match node {
            Value::Object(m) if !m.is_empty() => {
                let i = u.choose_index(m.len())?;
                let key = m.keys().nth(i).unwrap().clone();
                m.remove(&key);
            }
            Value::Array(a) if !a.is_empty() => {
                a.remove(u.choose_index(a.len())?);
            }
            _ => *node = Value::Null,
        },
        // Add a key or an element.
        3 => match node {
            Value::Object(m) => {
                m.insert((*u.choose(FIELDS)?).to_owned(), value(u, 2)?);
            }
            Value::Array(a) => {
                let extra = match a.first() {
                    Some(first) if u.arbitrary()? => first.clone(),
                    _ => value(u, 2)?,
                };
                a.push(extra);
            }
            _ => *node = Value::String((*u.choose(WORDS)?).to_owned()),
        },
        // Grow past the destination limit.
        4 => {
            let n = u.int_in_range(995..=1005)?;
            *node = Value::Array((0..n).map(|i| json!(format!("4477009{i:05}"))).collect());
        }
        // A word the validators know, in place.
        _ => *node = Value::String((*u.choose(WORDS)?).to_owned()),
    }
    Ok(())
}

struct Call {
    method: Method,
    path: String,
    key: Option<&'static str>,
    forwarded: Option<&'static str>,
    json_type: bool,
    body: Vec<u8>,
}

fn call(u: &mut Unstructured<'_>) -> Result<Call> {
    let app = *u.choose(&APP_IDS)?;
    let (method, path, template) = match u.int_in_range(0..=9u8)? {
        0 => (Method::POST, MESSAGING.to_owned(), sms()),
        1 => (Method::POST, MESSAGING.to_owned(), push()),
        2 => (Method::POST, MESSAGING.to_owned(), rt()),
        3 => (Method::POST, MESSAGING.to_owned(), fb()),
        4 => (Method::POST, MESSAGING.to_owned(), voice()),
        5 => (Method::POST, EVENTS.to_owned(), events()),
        6 => (Method::POST, CUSTOMERS.to_owned(), customers()),
        7 => (Method::PUT, CUSTOMERS.to_owned(), customers()),
        8 => (
            Method::POST,
            format!("/resources/v2/customerappprofile/{app}"),
            app_profiles(app),
        ),
        _ => (
            Method::PUT,
            format!("/resources/v2/customerprofiles/{app}"),
            app_profiles(app),
        ),
    };
    let body = if rarely(u, 8)? {
        object(u, 4)?
    } else {
        let mut body = template;
        for _ in 0..u.int_in_range(0..=4)? {
            mutate(u, &mut body)?;
        }
        body
    };
    Ok(Call {
        method,
        path,
        key: if rarely(u, 16)? {
            None
        } else {
            Some(*u.choose(&KEYS)?)
        },
        forwarded: if rarely(u, 16)? {
            Some(*u.choose(&FORWARDED)?)
        } else {
            None
        },
        json_type: !rarely(u, 32)?,
        body: serde_json::to_vec(&body).unwrap(),
    })
}

/// Sends `c` and checks the answer.
fn send(emulator: &Emulator, c: Call) {
    let mut headers = HeaderMap::new();
    if let Some(key) = c.key {
        headers.insert("key", HeaderValue::from_static(key));
    }
    if let Some(ip) = c.forwarded {
        headers.insert("x-forwarded-for", HeaderValue::from_static(ip));
    }
    if c.json_type {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
    }
    let req = Req {
        method: c.method,
        path: c.path,
        query: String::new(),
        headers,
        body: Bytes::from(c.body),
        https: false,
        origin: "http://127.0.0.1:8080".to_owned(),
    };
    let response = RUNTIME.block_on(emulator.handle(&req));
    let status = response.status().as_u16();
    let body = RUNTIME
        .block_on(response.into_body().collect())
        .unwrap()
        .to_bytes();
    check(&req, status, &body);
}

fn check(req: &Req, status: u16, body: &[u8]) {
    let contract = &*CONTRACT;
    let shown = String::from_utf8_lossy(body);
    let what = format!("{} {} -> {status} {shown}", req.method, req.path);
    assert!(
        contract.status(status).is_some(),
        "status the contract does not document: {what}"
    );
    let json: Value =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {what}"));
    let (Some(code), Some(text)) = (json.get("code"), json.get("description")) else {
        // Not a vendor answer: only the generic refusals of the HTTP layer (a wrong method,
        // an unknown path, a missing media type) get here.
        assert!(
            matches!(status, 404 | 405 | 415),
            "answer without a vendor code: {what}"
        );
        return;
    };
    let code: u32 = code
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("code is not a number in a string: {what}"));
    let text = text
        .as_str()
        .unwrap_or_else(|| panic!("description is not a string: {what}"));
    let known = contract.apis.iter().any(|api| {
        api.code(code)
            .any(|row| row.http_status == status && row.messages.iter().any(|m| m.text == text))
    });
    assert!(
        known,
        "code, status and description do not match one of the contract's rows: {what}"
    );
}

fn emulator() -> Emulator {
    let config = Config {
        token: TOKEN.to_owned(),
        fault_rate: 0.0,
        latency_ms: None,
        ..Config::default()
    };
    Emulator::new(CONTRACT.clone(), config).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&form, rest)) = data.split_first() else {
        return;
    };
    let emulator = emulator();
    if form & 1 == 0 {
        let path = RAW_PATHS[usize::from((form >> 1) & 7)];
        send(
            &emulator,
            Call {
                method: Method::POST,
                path: path.to_owned(),
                key: Some(TOKEN),
                forwarded: None,
                json_type: true,
                body: rest.to_vec(),
            },
        );
        return;
    }
    // Customers c1 and c2 exist, so that app profiles and messages to customer ids get
    // past "not found".
    send(
        &emulator,
        Call {
            method: Method::POST,
            path: CUSTOMERS.to_owned(),
            key: Some(TOKEN),
            forwarded: None,
            json_type: true,
            body: serde_json::to_vec(&customers()).unwrap(),
        },
    );
    let mut u = Unstructured::new(rest);
    let Ok(n) = u.int_in_range(1..=4u8) else {
        return;
    };
    for _ in 0..n {
        let Ok(c) = call(&mut u) else {
            return;
        };
        send(&emulator, c);
    }
});
