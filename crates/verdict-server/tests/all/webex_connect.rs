//! `verdict serve webex-connect` through real HTTP: the four APIs, their validation rules,
//! the transaction state machine and its test destinations, profiles with state, events,
//! and a walk over every application code of the contract.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::support::{Running, contract_from, start, start_contract, start_with};
use reqwest::Method;
use serde_json::{Value, json};
use verdict_server::{Config, ServerLimits};

const MESSAGING: &str = "/resources/v1/messaging";
const EVENTS: &str = "/resources/v1/events/externalevent";
const CUSTOMERS: &str = "/resources/v2/customerprofile";
const APPS: &str = "/resources/v2/customerappprofile";
const PAST: &str = "2015-04-12T18:30:19.456+5:30";

fn contract() -> &'static verdict::Contract {
    verdict::Catalog::builtin().get("webex-connect").unwrap()
}

/// Every message of `code` in `api`, flattened over repeated rows: (HTTP status, text).
fn messages(api: &str, code: u32) -> Vec<(u16, String)> {
    contract()
        .api(api)
        .unwrap()
        .code(code)
        .flat_map(|row| {
            row.messages
                .iter()
                .map(|m| (row.http_status, m.text.clone()))
        })
        .collect()
}

/// The one message of `code` in `api` containing `fragment`, exactly as the contract has it.
fn message(api: &str, code: u32, fragment: &str) -> (u16, String) {
    let found: Vec<(u16, String)> = messages(api, code)
        .into_iter()
        .filter(|(_, t)| t.contains(fragment))
        .collect();
    assert_eq!(found.len(), 1, "{api} {code} {fragment:?}: {found:?}");
    found.into_iter().next().unwrap()
}

/// A server whose transactions stay at 7501 for `delay`.
async fn server(delay_ms: u64) -> Running {
    start_with(
        "webex-connect",
        Config {
            token: "t0".into(),
            seed: 7,
            accept_delay: Some(Duration::from_millis(delay_ms)),
            ..Config::default()
        },
        false,
        ServerLimits::default(),
    )
    .await
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    /// Asserts the body carries `code` with the contract's message containing `fragment`,
    /// and the HTTP status the contract gives it.
    #[track_caller]
    fn is(&self, api: &str, code: u32, fragment: &str) {
        let (status, text) = message(api, code, fragment);
        assert_eq!(self.body["code"], json!(code.to_string()), "{self:?}");
        assert_eq!(self.body["description"], json!(text), "{self:?}");
        assert_eq!(self.status, status, "{self:?}");
    }

    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// One request; the key is `t0` unless changed.
#[derive(Clone, Debug)]
struct Call {
    method: Method,
    path: String,
    key: Option<String>,
    body: Option<String>,
    headers: Vec<(String, String)>,
}

impl Call {
    fn new(method: Method, path: &str, body: Option<String>) -> Call {
        Call {
            method,
            path: path.to_owned(),
            key: Some("t0".into()),
            body,
            headers: Vec::new(),
        }
    }
    fn post(path: &str, body: Value) -> Call {
        Call::new(Method::POST, path, Some(body.to_string()))
    }
    fn put(path: &str, body: Value) -> Call {
        Call::new(Method::PUT, path, Some(body.to_string()))
    }
    fn get(path: &str) -> Call {
        Call::new(Method::GET, path, None)
    }
    fn delete(path: &str) -> Call {
        Call::new(Method::DELETE, path, None)
    }
    fn raw(path: &str, body: &str) -> Call {
        Call::new(Method::POST, path, Some(body.to_owned()))
    }
    fn key(mut self, key: Option<&str>) -> Call {
        self.key = key.map(str::to_owned);
        self
    }
    fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.into(), value.into()));
        self
    }
    async fn send(&self, s: &Running) -> Answer {
        let mut r = s.http.request(self.method.clone(), s.url(&self.path));
        if let Some(k) = &self.key {
            r = r.header("key", k);
        }
        if let Some(b) = &self.body {
            r = r.header("content-type", "application/json").body(b.clone());
        }
        for (k, v) in &self.headers {
            r = r.header(k, v);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// `v` with the value at `ptr` set (a missing last key is added).
fn set(mut v: Value, ptr: &str, new: Value) -> Value {
    let (parent, key) = ptr.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap() {
        Value::Object(o) => {
            o.insert(key.into(), new);
        }
        Value::Array(a) => a[key.parse::<usize>().unwrap()] = new,
        other => panic!("{ptr}: {other}"),
    }
    v
}

/// `v` without the key at `ptr`.
fn del(mut v: Value, ptr: &str) -> Value {
    let (parent, key) = ptr.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key)
        .unwrap();
    v
}

fn sms() -> Value {
    json!({
        "deliverychannel": "sms",
        "destination": [{"msisdn": ["447700900123"], "correlationid": "c-1"}],
        "channels": {"sms": {"type": "1", "text": "hello", "senderid": "CONNECT"}}
    })
}

fn interactive() -> Value {
    json!({
        "device_types": ["ios", "android"],
        "category": "accept_decline",
        "actions": [
            {"pos": 1, "action": "open_url", "value": "https://example.com/ok"},
            {"pos": 2, "action": "dismiss"}
        ]
    })
}

fn push() -> Value {
    json!({
        "deliverychannel": "push",
        "appid": "rtm-app",
        "destination": [{"pushid": ["device-1"]}],
        "channels": {"push": {"android": {"text": "hi"}, "ios": {"text": "hi"}, "interactive": interactive()}}
    })
}

fn rt() -> Value {
    json!({
        "deliverychannel": "rt",
        "appid": "rtm-app",
        "destination": [{"userid": ["u1"]}],
        "channels": {"appmessaging": {"text": "hi", "priority": 3}}
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
        "destination": [{"msisdn": ["447700900123"]}],
        "channels": {"voice": {"callflowid": "917"}}
    })
}

const ACTIONS: &str = "/channels/push/interactive/actions";
const INTERACTIVE: &str = "/channels/push/interactive";

/// A messaging request that breaks one rule: (code, fragment of its message, the rule when
/// the fragment does not say it, body).
fn messaging_cases() -> Vec<(u32, &'static str, &'static str, Value)> {
    let long = "x".repeat(1001);
    let many: Vec<String> = (0..1001).map(|i| format!("4477009{i:05}")).collect();
    vec![
        (
            7003,
            "any one of",
            "",
            set(sms(), "/destination", json!([{"correlationid": "x"}])),
        ),
        (
            7003,
            "'text' is missing for android",
            "",
            set(push(), "/channels/push/android", json!({"title": "t"})),
        ),
        (
            7003,
            "'text' is missing for ios",
            "",
            set(push(), "/channels/push/ios/text", json!("")),
        ),
        (7003, "'push' missing", "", del(push(), "/channels/push")),
        (
            7003,
            "either android or ios",
            "",
            set(push(), "/channels/push", json!({"web": {"text": "hi"}})),
        ),
        (
            7003,
            "'text' missing for channel fb",
            "",
            set(fb(), "/channels/OTT-Messaging/fb/text", Value::Null),
        ),
        (
            7003,
            "'OTT-Messaging' missing",
            "",
            del(fb(), "/channels/OTT-Messaging"),
        ),
        (
            7003,
            "'fb' missing",
            "",
            set(fb(), "/channels/OTT-Messaging", json!({})),
        ),
        (
            7003,
            "'text' missing for channel rt",
            "",
            del(rt(), "/channels/appmessaging/text"),
        ),
        (
            7003,
            "'appmessaging' missing",
            "",
            del(rt(), "/channels/appmessaging"),
        ),
        (
            7003,
            "'body' missing for channel sms",
            "",
            set(sms(), "/channels/sms/type", json!("3")),
        ),
        (
            7003,
            "'text' missing for channel sms",
            "",
            del(sms(), "/channels/sms/text"),
        ),
        (7003, "'sms' missing", "", del(sms(), "/channels/sms")),
        (
            7003,
            "'callflowid' or param 'media'",
            "",
            set(
                voice(),
                "/channels/voice",
                json!({"callflowid": "", "media": []}),
            ),
        ),
        (7003, "'voice' missing", "", del(voice(), "/channels")),
        (
            7003,
            "No destination channel",
            "",
            set(sms(), "/deliverychannel", json!("")),
        ),
        (
            7003,
            "'deliverychannel' missing",
            "",
            del(sms(), "/deliverychannel"),
        ),
        (
            7003,
            "device_types missing",
            "",
            del(push(), &format!("{INTERACTIVE}/device_types")),
        ),
        (
            7003,
            "value missing for action",
            "",
            del(push(), &format!("{ACTIONS}/0/value")),
        ),
        (
            7003,
            "pos missing",
            "",
            del(push(), &format!("{ACTIONS}/1/pos")),
        ),
        (
            7003,
            "category missing",
            "",
            del(push(), &format!("{INTERACTIVE}/category")),
        ),
        (7003, "actions missing", "", del(push(), ACTIONS)),
        (
            7004,
            "'priority'",
            "",
            set(rt(), "/channels/appmessaging/priority", json!(9)),
        ),
        (
            7004,
            "'type'",
            "",
            set(sms(), "/channels/sms/type", json!(5)),
        ),
        (
            7004,
            "invalid device type",
            "",
            set(
                push(),
                &format!("{INTERACTIVE}/device_types"),
                json!(["ios", "windows"]),
            ),
        ),
        (
            7004,
            "duplicate device type",
            "",
            set(
                push(),
                &format!("{INTERACTIVE}/device_types"),
                json!(["android", "android"]),
            ),
        ),
        (
            7004,
            "duplicate values for pos",
            "",
            set(push(), &format!("{ACTIONS}/1/pos"), json!(1)),
        ),
        (
            7004,
            "invalid for this channel",
            "",
            set(push(), &format!("{ACTIONS}/1/action"), json!("reply")),
        ),
        (
            7004,
            "specified value is invalid",
            "",
            set(push(), &format!("{ACTIONS}/0/value"), json!("not a url")),
        ),
        (
            7004,
            "invalid action for identifier",
            "",
            set(
                push(),
                &format!("{ACTIONS}/0"),
                json!({"pos": 1, "action": "dismiss"}),
            ),
        ),
        (
            7004,
            "invalid identifier",
            "",
            set(push(), &format!("{ACTIONS}/0/identifier"), json!("maybe")),
        ),
        (
            7004,
            "at this position",
            "",
            set(push(), &format!("{ACTIONS}/0/identifier"), json!("decline")),
        ),
        (
            7004,
            "only positions",
            "",
            set(push(), &format!("{ACTIONS}/1/pos"), json!(3)),
        ),
        (
            7004,
            "number of actions",
            "",
            set(push(), ACTIONS, json!([{"pos": 1, "action": "open_app"}])),
        ),
        (
            7004,
            "param category",
            "",
            set(
                push(),
                &format!("{INTERACTIVE}/category"),
                json!("maybe_later"),
            ),
        ),
        (
            7005,
            "",
            "top-level expiry in the past",
            set(sms(), "/expiry", json!("2015-04-12T13:00:19.456Z")),
        ),
        (
            7009,
            "",
            "1001 destination addresses",
            set(sms(), "/destination", json!([{"msisdn": many}])),
        ),
        (
            7019,
            "",
            "a destination entry's expiry in the past",
            set(sms(), "/destination/0/expiry", json!(PAST)),
        ),
        (
            7101,
            "",
            "senderid with spaces",
            set(sms(), "/channels/sms/senderid", json!("NOT A SENDER")),
        ),
        (
            7102,
            "",
            "msisdn 12ab",
            set(sms(), "/destination/0/msisdn", json!(["12ab"])),
        ),
        (
            7104,
            "",
            "unknown appid",
            set(rt(), "/appid", json!("nope")),
        ),
        (
            7105,
            "",
            "customerid without a profile",
            set(sms(), "/destination", json!([{"customerid": ["nobody"]}])),
        ),
        (
            7106,
            "",
            "deliverychannel wechat",
            set(sms(), "/deliverychannel", json!("wechat")),
        ),
        (
            7107,
            "",
            "1001-character text",
            set(sms(), "/channels/sms/text", json!(long)),
        ),
        (
            7108,
            "",
            "template id not numeric",
            set(sms(), "/message", json!({"template": "welcome"})),
        ),
        (
            7111,
            "",
            "the word spam in the text",
            set(sms(), "/channels/sms/text", json!("this is Spam, really")),
        ),
        (
            7117,
            "",
            "rt with an app without rt",
            set(rt(), "/appid", json!("fb-app")),
        ),
        (
            7118,
            "",
            "push with an app without push",
            set(push(), "/appid", json!("twitter-app")),
        ),
        (
            7618,
            "",
            "a control character in the text",
            set(fb(), "/channels/OTT-Messaging/fb/text", json!("bell\u{7}")),
        ),
        (
            7631,
            "",
            "a blank text",
            set(sms(), "/channels/sms/text", json!("   ")),
        ),
    ]
}

#[tokio::test]
async fn every_channel_accepts_a_well_formed_message() {
    let s = start("webex-connect").await;
    for body in [sms(), push(), rt(), fb(), voice()] {
        let a = Call::post(MESSAGING, body.clone()).send(&s).await;
        a.is("messaging", 7501, "");
        let entries = a.body["response"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{body}");
        assert_eq!(a.body["transid"], entries[0]["transid"]);
        assert_eq!(entries[0]["code"], "7501");
    }
    let numbers = set(
        sms(),
        "/destination/0/msisdn",
        json!([447700900123u64, "447700900124"]),
    );
    let a = Call::post(MESSAGING, numbers).send(&s).await;
    a.is("messaging", 7501, "");
    assert_eq!(a.body["response"][0]["destination"], "447700900123");
    assert_eq!(a.body["response"].as_array().unwrap().len(), 2);
    let a = Call::post(MESSAGING, sms()).send(&s).await;
    assert_eq!(a.body["response"][0]["correlationid"], "c-1");
    assert_eq!(a.body["response"][0]["destination"], "447700900123");
    // rt's other interactive actions: reply is offered there.
    let rt_interactive = set(
        rt(),
        "/channels/appmessaging/interactive",
        json!({"device_types": ["ios"], "category": "yes_no", "actions": [
            {"pos": 1, "action": "reply", "value": "yes please", "identifier": "yes"},
            {"pos": 2, "action": "reply", "value": "no thanks"}]}),
    );
    Call::post(MESSAGING, rt_interactive)
        .send(&s)
        .await
        .is("messaging", 7501, "");
}

#[tokio::test]
async fn messaging_validation_rules_answer_their_exact_message() {
    let s = start("webex-connect").await;
    Call::raw(MESSAGING, "{\"deliverychannel\": ")
        .send(&s)
        .await
        .is("messaging", 7000, "");
    Call::raw(MESSAGING, "[1, 2]")
        .send(&s)
        .await
        .is("messaging", 7000, "");
    for (code, fragment, _, body) in messaging_cases() {
        let a = Call::post(MESSAGING, body).send(&s).await;
        assert_eq!(a.code(), code.to_string(), "{fragment}: {a:?}");
        a.is("messaging", code, fragment);
    }
    // Exactly 1000 destinations is fine.
    let thousand: Vec<String> = (0..1000).map(|i| format!("4477009{i:05}")).collect();
    let a = Call::post(
        MESSAGING,
        set(sms(), "/destination", json!([{"msisdn": thousand}])),
    )
    .send(&s)
    .await;
    a.is("messaging", 7501, "");
    assert_eq!(a.body["response"].as_array().unwrap().len(), 1000);
}

#[tokio::test]
async fn keys_callers_and_service_state() {
    let s = start("webex-connect").await;
    Call::post(MESSAGING, sms())
        .key(None)
        .send(&s)
        .await
        .is("messaging", 7002, "");
    Call::post(EVENTS, json!({"events": []}))
        .key(None)
        .send(&s)
        .await
        .is("event", 7002, "");
    Call::post(MESSAGING, sms())
        .key(Some(""))
        .send(&s)
        .await
        .is("messaging", 7002, "");
    Call::post(MESSAGING, sms())
        .key(Some("wrong"))
        .send(&s)
        .await
        .is("messaging", 7001, "");
    Call::post(EVENTS, json!({}))
        .key(Some("wrong"))
        .send(&s)
        .await
        .is("event", 7001, "");
    Call::post(MESSAGING, sms())
        .key(Some("inactive-service"))
        .send(&s)
        .await
        .is("messaging", 7007, "");
    Call::post(MESSAGING, sms())
        .key(Some("inactive-profile"))
        .send(&s)
        .await
        .is("messaging", 7008, "");
    Call::get(&format!("{MESSAGING}/status/x"))
        .key(Some("inactive-profile"))
        .send(&s)
        .await
        .is("transaction-status", 7008, "");
    // A key the admin API revoked belongs to a switched-off service.
    let r = s
        .admin(
            Method::POST,
            "/_verdict/tokens",
            json!({"token": "old", "revoked": true}),
        )
        .await;
    assert!(r.status().is_success());
    Call::post(MESSAGING, sms())
        .key(Some("old"))
        .send(&s)
        .await
        .is("messaging", 7007, "");
    // The allow list: private and loopback callers pass, others are refused.
    for ip in ["10.1.2.3", "192.168.0.9, 203.0.113.9", "::1", "127.0.0.1"] {
        Call::post(MESSAGING, sms())
            .header("x-forwarded-for", ip)
            .send(&s)
            .await
            .is("messaging", 7501, "");
    }
    for ip in [
        "203.0.113.9",
        "203.0.113.9, 10.0.0.1",
        "2001:db8::1",
        "nonsense",
    ] {
        Call::post(MESSAGING, sms())
            .header("x-forwarded-for", ip)
            .send(&s)
            .await
            .is("messaging", 7010, "allowed list");
        Call::get(&format!("{CUSTOMERS}/c1"))
            .header("x-forwarded-for", ip)
            .send(&s)
            .await
            .is("profile", 7010, "");
    }
    // Profile requests without a key answer with the messaging list's codes.
    Call::get(&format!("{CUSTOMERS}/c1"))
        .key(None)
        .send(&s)
        .await
        .is("messaging", 7002, "");
    Call::get(&format!("{CUSTOMERS}/c1"))
        .key(Some("no-profile-store"))
        .send(&s)
        .await
        .is("profile", 7013, "");
    // Wrong methods and unknown paths are not application errors.
    let a = Call::get(MESSAGING).send(&s).await;
    assert_eq!(a.status, 405);
    assert_eq!(a.headers["allow"], "POST");
    let a = Call::delete(&format!("{CUSTOMERS}s/fb-app")).send(&s).await;
    assert_eq!(
        (a.status, a.headers["allow"].to_str().unwrap()),
        (405, "PUT")
    );
    assert_eq!(Call::get("/resources/v9/else").send(&s).await.status, 404);
}

/// Polls a transaction until its code is no longer 7501, returning every answer seen.
async fn poll(s: &Running, transid: &str, key: &str) -> Vec<Answer> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        let a = Call::get(&format!("{MESSAGING}/status/{transid}"))
            .key(Some(key))
            .send(s)
            .await;
        let pending = a.code() == "7501";
        seen.push(a);
        if !pending {
            return seen;
        }
        assert!(Instant::now() < deadline, "{transid} still pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn transactions_move_from_submitted_to_their_final_state() {
    let s = server(1500).await;
    let a = Call::post(
        MESSAGING,
        set(
            sms(),
            "/destination",
            json!([
                {"msisdn": ["447700900123", "+15550007109"], "correlationid": "batch-1"},
                {"msisdn": "15550007502"},
                {"msisdn": ["15550007207"]},
                {"msisdn": ["155500076022"]}
            ]),
        ),
    )
    .send(&s)
    .await;
    a.is("messaging", 7501, "");
    let ids: Vec<String> = a.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["transid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 5);
    // Straight after the submit every transaction reads 7501 Submitted.
    let first = Call::get(&format!("{MESSAGING}/status/{}", ids[1]))
        .send(&s)
        .await;
    first.is("transaction-status", 7501, "");
    assert_eq!(first.body["status"], "submitted");
    assert_eq!(first.body["to"], "+15550007109");
    assert_eq!(first.body["correlationid"], "batch-1");
    let expected = [
        (7500, "", "delivered"),
        (7109, "", "failed"),
        (7502, "", "read"),
        (7207, "", "failed"),
        (7602, "Either validation", "failed"),
    ];
    for (id, (code, fragment, state)) in ids.iter().zip(expected) {
        let seen = poll(&s, id, "t0").await;
        let last = seen.last().unwrap();
        last.is("transaction-status", code, fragment);
        assert_eq!(last.body["status"], state);
        assert_eq!(last.body["transactionid"], json!(id));
        assert_eq!(last.body["channel"], "sms");
        // Once final, it stays final.
        let again = Call::get(&format!("{MESSAGING}/status/{id}"))
            .send(&s)
            .await;
        assert_eq!(again.body, last.body);
    }
}

#[tokio::test]
async fn status_queries_that_find_nothing_or_belong_elsewhere() {
    let s = server(100).await;
    Call::get(&format!(
        "{MESSAGING}/status/8026899a-bed4-4ea4-b1cd-eef98829dbd1"
    ))
    .send(&s)
    .await
    .is("transaction-status", 7600, "");
    s.admin(Method::POST, "/_verdict/tokens", json!({"token": "t1"}))
        .await;
    let a = Call::post(MESSAGING, sms()).key(Some("t1")).send(&s).await;
    let id = a.body["transid"].as_str().unwrap().to_owned();
    Call::get(&format!("{MESSAGING}/status/{id}"))
        .send(&s)
        .await
        .is("transaction-status", 7601, "not under this service");
    poll(&s, &id, "t1")
        .await
        .last()
        .unwrap()
        .is("transaction-status", 7500, "");
    Call::get(&format!(
        "{MESSAGING}/status/{id}?expiry=2020-01-01T00:00:00Z"
    ))
    .key(Some("t1"))
    .send(&s)
    .await
    .is("transaction-status", 7019, "");
    // A final code that travels with an error status fails the query itself.
    let a = Call::post(
        MESSAGING,
        set(sms(), "/destination/0/msisdn", json!(["15550007010"])),
    )
    .send(&s)
    .await;
    let id = a.body["transid"].as_str().unwrap().to_owned();
    let last = poll(&s, &id, "t0").await.pop().unwrap();
    last.is("transaction-status", 7010, "");
    assert!(last.body.get("transactionid").is_none(), "{last:?}");
}

/// Adds a new service key and uses up its 1000 transactions in one message; returns the
/// key.
async fn exhaust(s: &Running) -> String {
    static KEYS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let key = format!(
        "busy-{}",
        KEYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    // The transaction counter slides over windows aligned to the wall clock: just past a
    // window's edge, the previous window's count weighs a little less and a few more
    // transactions fit. Start far enough from an edge that the checks after this one fall
    // in the same window (a fresh key each time, so no earlier window counts).
    crate::support::away_from_window_edge(Duration::from_secs(60), Duration::from_secs(10)).await;
    s.admin(Method::POST, "/_verdict/tokens", json!({"token": key}))
        .await;
    let thousand: Vec<String> = (0..1000).map(|i| format!("4477009{i:05}")).collect();
    Call::post(
        MESSAGING,
        set(sms(), "/destination", json!([{"msisdn": thousand}])),
    )
    .key(Some(&key))
    .send(s)
    .await;
    key
}

#[tokio::test]
async fn the_transaction_limit_spans_every_api() {
    let s = start("webex-connect").await;
    let busy = exhaust(&s).await;
    let a = Call::post(MESSAGING, sms()).key(Some(&busy)).send(&s).await;
    a.is("messaging", 7020, "");
    let wait: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    Call::get(&format!("{MESSAGING}/status/x"))
        .key(Some(&busy))
        .send(&s)
        .await
        .is("transaction-status", 7020, "");
    Call::post(EVENTS, json!({"events": [{"evtid": "order_shipped", "parameters": {"orderId": "o", "customerId": "c"}}]}))
        .key(Some(&busy))
        .send(&s)
        .await
        .is("messaging", 7020, "");
    Call::get(&format!("{CUSTOMERS}/c1"))
        .key(Some(&busy))
        .send(&s)
        .await
        .is("profile", 7020, "");
    // Another key is not affected.
    Call::post(MESSAGING, sms())
        .send(&s)
        .await
        .is("messaging", 7501, "");
}

#[tokio::test]
async fn events_are_queued_or_refused() {
    let s = start("webex-connect").await;
    let a = Call::post(
        EVENTS,
        json!({"expiry": PAST, "events": [
            {"evtid": "order_shipped", "correlationid": "e-1", "parameters": {"orderId": "o-9", "customerId": "c1", "carrier": "post"}},
            {"evtid": "payment_received", "parameters": {"amount": "12.50", "currency": "EUR"}},
            {"evtid": "appointment_reminder", "parameters": {"customerId": "c1", "appointmentTime": "2026-12-01T09:30:00+01:00"}}
        ]}),
    )
    .send(&s)
    .await;
    a.is("event", 1002, "");
    assert_eq!(a.status, 202);
    let entries = a.body["response"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["correlationid"], "e-1");
    assert_eq!(a.body["transid"], entries[0]["transid"]);
    assert_ne!(entries[0]["transid"], entries[1]["transid"]);
    Call::raw(EVENTS, "{events: []}")
        .send(&s)
        .await
        .is("event", 7000, "");
    for body in [
        json!({}),
        json!({"events": []}),
        json!({"events": [{"evtid": "nope"}]}),
        json!({"events": [{"evtid": "payment_received", "parameters": {"amount": "a lot", "currency": "EUR"}}]}),
        json!({"events": [{"evtid": "payment_received", "parameters": {"amount": 3, "currency": "euro"}}]}),
        json!({"events": [{"evtid": "appointment_reminder", "parameters": {"customerId": "c", "appointmentTime": "tomorrow"}}]}),
        json!({"events": [{"evtid": "order_shipped", "parameters": {"orderId": {"id": 1}, "customerId": "c"}}]}),
    ] {
        Call::post(EVENTS, body)
            .send(&s)
            .await
            .is("event", 7004, "");
    }
    for body in [
        json!({"events": [{"evtid": "order_shipped", "parameters": {"orderId": "o"}}]}),
        json!({"events": [{"evtid": "payment_received", "parameters": {"amount": "", "currency": "EUR"}}]}),
        json!({"events": [
            {"evtid": "order_shipped", "parameters": {"orderId": "o", "customerId": "c"}},
            {"evtid": "appointment_reminder"}
        ]}),
    ] {
        Call::post(EVENTS, body)
            .send(&s)
            .await
            .is("event", 7025, "");
    }
}

fn records(list: Value) -> Value {
    json!({ "Records": list })
}

fn customer(id: &str) -> Value {
    json!({"customerId": id, "Attributes": {"msisdn": "447700900123", "name": id}})
}

fn rtm_profile(id: &str) -> Value {
    json!({"customerId": id, "Attributes": {"connectStatus": "1", "deviceId": "d-1", "rtmId": "r-1", "status": "1"}})
}

#[tokio::test]
async fn profiles_keep_state_through_create_read_update_delete() {
    let s = start("webex-connect").await;
    // Messages to a customer id need its profile.
    let to_c1 = set(sms(), "/destination", json!([{"customerid": ["c1"]}]));
    Call::post(MESSAGING, to_c1.clone())
        .send(&s)
        .await
        .is("messaging", 7105, "");
    let a = Call::post(CUSTOMERS, records(json!([customer("c1"), customer("c2")])))
        .send(&s)
        .await;
    a.is("profile", 1000, "");
    assert_eq!(a.body["Records"][1]["customerId"], "c2");
    assert_eq!(a.body["Records"][1]["code"], "1000");
    assert!(a.body["transid"].is_string());
    Call::post(MESSAGING, to_c1.clone())
        .send(&s)
        .await
        .is("messaging", 7501, "");

    // Creating one that exists beside one that does not: partial success.
    let a = Call::post(CUSTOMERS, records(json!([customer("c1"), customer("c3")])))
        .send(&s)
        .await;
    a.is("profile", 1002, "");
    let (_, exists) = message("profile", 7015, "Customer");
    assert_eq!(a.body["Records"][0]["code"], "7015");
    assert_eq!(a.body["Records"][0]["description"], json!(exists));
    assert_eq!(a.body["Records"][1]["code"], "1000");
    Call::post(CUSTOMERS, records(json!([customer("c1")])))
        .send(&s)
        .await
        .is("profile", 7015, "Customer already");

    // Update merges attributes; an unknown customer is not found.
    Call::put(
        CUSTOMERS,
        records(json!([{"customerId": "c1", "Attributes": {"city": "Leeds"}}])),
    )
    .send(&s)
    .await
    .is("profile", 1000, "");
    let a = Call::get(&format!("{CUSTOMERS}/c1")).send(&s).await;
    a.is("profile", 1000, "");
    let rec = &a.body["Records"][0];
    assert_eq!(rec["Attributes"]["city"], "Leeds");
    assert_eq!(rec["Attributes"]["name"], "c1");
    Call::put(
        CUSTOMERS,
        records(json!([{"customerId": "ghost", "Attributes": {"city": "Leeds"}}])),
    )
    .send(&s)
    .await
    .is("profile", 7014, "Customer not found");

    // App profiles hang under customers.
    Call::post(
        &format!("{APPS}/rtm-app"),
        records(json!([rtm_profile("ghost")])),
    )
    .send(&s)
    .await
    .is("profile", 7014, "Customer not found");
    Call::post(
        &format!("{APPS}/rtm-app"),
        records(json!([rtm_profile("c1")])),
    )
    .send(&s)
    .await
    .is("profile", 1000, "");
    Call::post(
        &format!("{APPS}/rtm-app"),
        records(json!([rtm_profile("c1")])),
    )
    .send(&s)
    .await
    .is("profile", 7015, "App profile");
    Call::put(
        "/resources/v2/customerprofiles/rtm-app",
        records(json!([{"customerId": "c1", "Attributes": {"rtmId": "r-2", "status": 0}}])),
    )
    .send(&s)
    .await
    .is("profile", 1000, "");
    let a = Call::get(&format!("{APPS}/rtm-app/c1")).send(&s).await;
    a.is("profile", 1000, "");
    assert_eq!(a.body["Records"][0]["Attributes"]["rtmId"], "r-2");
    assert_eq!(a.body["Records"][0]["Attributes"]["deviceId"], "d-1");
    let a = Call::get(&format!("{CUSTOMERS}/c1")).send(&s).await;
    assert_eq!(a.body["Records"][0]["InwardLinks"], json!(["rtm-app"]));
    Call::put(
        &format!("{APPS}/rtm-app"),
        records(json!([{"customerId": "c2", "Attributes": {"rtmId": "r-3", "status": "1"}}])),
    )
    .send(&s)
    .await
    .is("profile", 7014, "App profile not found");

    // Reads and deletes by query; deleting a customer removes its app profiles.
    let a = Call::get(&format!("{CUSTOMERS}?customerId=c1&customerId=nobody"))
        .send(&s)
        .await;
    a.is("profile", 1002, "");
    Call::delete(&format!("{CUSTOMERS}/c1"))
        .send(&s)
        .await
        .is("profile", 1000, "");
    Call::delete(&format!("{CUSTOMERS}/c1")).send(&s).await.is(
        "profile",
        7014,
        "Customer not found",
    );
    Call::get(&format!("{APPS}/rtm-app/c1")).send(&s).await.is(
        "profile",
        7014,
        "App profile not found",
    );
    Call::post(MESSAGING, to_c1)
        .send(&s)
        .await
        .is("messaging", 7105, "");
    Call::delete(&format!("{CUSTOMERS}?customerId=c2&customerId=c3"))
        .send(&s)
        .await
        .is("profile", 1000, "");
    Call::delete(CUSTOMERS)
        .send(&s)
        .await
        .is("profile", 7003, "CustomerId");

    // Another account does not see them; the same account's other key does.
    s.admin(
        Method::POST,
        "/_verdict/tokens",
        json!({"token": "other", "account": "account-2"}),
    )
    .await;
    s.admin(Method::POST, "/_verdict/tokens", json!({"token": "same"}))
        .await;
    Call::post(CUSTOMERS, records(json!([customer("c9")])))
        .send(&s)
        .await
        .is("profile", 1000, "");
    Call::get(&format!("{CUSTOMERS}/c9"))
        .key(Some("other"))
        .send(&s)
        .await
        .is("profile", 7014, "Customer not found");
    Call::get(&format!("{CUSTOMERS}/c9"))
        .key(Some("same"))
        .send(&s)
        .await
        .is("profile", 1000, "");
}

/// A profile request that breaks one rule: (code, fragment, request).
fn profile_cases() -> Vec<(u32, &'static str, Call)> {
    let app = |id: &str, attrs: Value| {
        Call::post(
            &format!("{APPS}/{id}"),
            records(json!([{"customerId": "c1", "Attributes": attrs}])),
        )
    };
    let cust = |attrs: Value| {
        Call::post(
            CUSTOMERS,
            records(json!([{"customerId": "c1", "Attributes": attrs}])),
        )
    };
    let hundred_one: Vec<Value> = (0..101).map(|i| customer(&format!("b{i}"))).collect();
    vec![
        (
            7003,
            "CustomerId",
            Call::post(
                CUSTOMERS,
                records(json!([{"Attributes": {"msisdn": "447700900123"}}])),
            ),
        ),
        (
            7003,
            "access_token missing",
            app("fb-app", json!({"status": "1"})),
        ),
        (
            7003,
            "access_token_expiry",
            app("fb-app", json!({"access_token": "t", "status": "1"})),
        ),
        (
            7003,
            "psid",
            app(
                "fb-app",
                json!({"access_token": "t", "access_token_expiry": "2030-01-01T00:00:00Z"}),
            ),
        ),
        (
            7003,
            "access_token_secret",
            app("twitter-app", json!({"access_token": "t"})),
        ),
        (
            7003,
            "screenName",
            app(
                "twitter-app",
                json!({"access_token": "t", "access_token_secret": "s"}),
            ),
        ),
        (
            7003,
            "connectStatus",
            app("rtm-app", json!({"status": "1"})),
        ),
        (
            7003,
            "deviceId",
            app("rtm-app", json!({"connectStatus": "1"})),
        ),
        (
            7003,
            "rtmId",
            app("rtm-app", json!({"connectStatus": "1", "deviceId": "d"})),
        ),
        (7003, "msisdn", cust(json!({"name": "n"}))),
        (
            7003,
            "status missing",
            app(
                "rtm-app",
                json!({"connectStatus": "1", "deviceId": "d", "rtmId": "r"}),
            ),
        ),
        (
            7003,
            "Invalid value for param status",
            app(
                "rtm-app",
                json!({"connectStatus": "1", "deviceId": "d", "rtmId": "r", "status": "2"}),
            ),
        ),
        (
            7011,
            "Invalid Attribute Value",
            cust(json!({"msisdn": "447700900123", "email": "nobody"})),
        ),
        (
            7011,
            "invalid value for param status",
            Call::post(
                CUSTOMERS,
                records(
                    json!([{"customerId": "c1", "status": 5, "Attributes": {"msisdn": "447700900123"}}]),
                ),
            ),
        ),
        (7012, "", Call::post(CUSTOMERS, records(json!(hundred_one)))),
        (
            7017,
            "",
            cust(json!({"msisdn": "447700900123", "shoeSize": "44"})),
        ),
        (7018, "", app("whatsapp-app", json!({"status": "1"}))),
        (
            7019,
            "",
            Call::post(
                CUSTOMERS,
                json!({"expiry": PAST, "Records": [customer("c1")]}),
            ),
        ),
        (
            7019,
            "",
            Call::delete(&format!("{CUSTOMERS}/c1?expiry=2015-04-12T13:00:19Z")),
        ),
        (
            7013,
            "",
            Call::post(CUSTOMERS, records(json!([customer("c1")]))).key(Some("no-profile-store")),
        ),
    ]
}

#[tokio::test]
async fn profile_validation_rules_answer_their_exact_message() {
    let s = start("webex-connect").await;
    Call::raw(CUSTOMERS, "{\"Records\": [")
        .send(&s)
        .await
        .is("messaging", 7000, "");
    for (code, fragment, call) in profile_cases() {
        let a = call.send(&s).await;
        assert_eq!(a.code(), code.to_string(), "{fragment}: {call:?} {a:?}");
        a.is("profile", code, fragment);
    }
    // Nothing was stored by the refused requests.
    Call::get(&format!("{CUSTOMERS}/c1"))
        .send(&s)
        .await
        .is("profile", 7014, "Customer not found");
}

#[tokio::test]
async fn injected_codes_reach_every_api() {
    let s = start("webex-connect").await;
    for (api, code, path) in [
        ("messaging", 7006, MESSAGING),
        (
            "transaction-status",
            7011,
            "/resources/v1/messaging/status/x",
        ),
        ("event", 7005, EVENTS),
        ("profile", 7016, CUSTOMERS),
    ] {
        let a = Call::get(path)
            .header("x-verdict-fault", &format!("code={code}; api={api}"))
            .send(&s)
            .await;
        a.is(api, code, &messages(api, code)[0].1);
    }
    let (_, second) = messages("messaging", 7006)[1].clone();
    Call::post(MESSAGING, sms())
        .header(
            "x-verdict-fault",
            &format!("code=7006; api=messaging; message={second}"),
        )
        .send(&s)
        .await
        .is("messaging", 7006, &second);
}

/// The message body's schema says what each channel needs, from the contract's checks:
/// one variant per channel.
#[tokio::test]
async fn openapi_says_what_each_channel_needs() {
    let s = start("webex-connect").await;
    let doc = s.openapi().await;
    let body =
        &doc["paths"][MESSAGING]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["type"], "object");
    let variants = body["oneOf"].as_array().unwrap();
    let channel = |v: &Value| v["properties"]["deliverychannel"]["enum"][0].clone();
    let names: Vec<Value> = variants.iter().map(channel).collect();
    assert_eq!(names, ["sms", "push", "rt", "fb", "voice"]);
    let sms = &variants[0]["properties"]["channels"];
    assert_eq!(sms["required"], json!(["sms"]));
    let sms_type = &sms["properties"]["sms"]["properties"]["type"]["anyOf"][0];
    assert_eq!(
        (&sms_type["minimum"], &sms_type["maximum"]),
        (&json!(1), &json!(4))
    );
    let push = &variants[1]["properties"]["channels"]["properties"]["push"];
    let either = variants[1]["anyOf"].as_array().unwrap();
    assert_eq!(either.len(), 2, "android or ios: {:#}", variants[1]);
    let android = &push["properties"]["android"];
    assert_eq!(
        (&android["required"], &android["nullable"]),
        (&json!(["text"]), &json!(true))
    );
    let fb = &variants[3]["properties"]["channels"]["properties"]["OTT-Messaging"];
    assert_eq!(fb["properties"]["fb"]["required"], json!(["text"]));
}

/// A copy of the built-in contract (`my-connect`) whose text from `from` up to `until` is
/// `own`.
fn own_contract(from: &str, until: &str, own: &str) -> verdict::Contract {
    let builtin = include_str!("../../../../contracts/webex-connect.toml");
    let at = builtin.find(from).unwrap();
    let to = at + builtin[at..].find(until).unwrap();
    let text = format!("{}{own}{}", &builtin[..at], &builtin[to..]).replacen(
        "id = \"webex-connect\"",
        "id = \"my-connect\"",
        1,
    );
    contract_from("my-connect.toml", &text)
}

/// An emulator of [`own_contract`].
async fn start_own(from: &str, until: &str, own: &str) -> Running {
    start_contract(own_contract(from, until, own)).await
}

/// A contract whose app names a message the profile API lacks passes the loader (the key
/// is another API's) but cannot be emulated: the start-up says which message is missing.
#[test]
fn an_app_naming_a_message_the_profile_api_lacks_is_refused_at_start() {
    let own = "[[emulator.app]]\nid = \"kiosk-app\"\ncreate = [{ attribute = \"deviceId\", missing = \"sms-missing\" }]\n\n";
    let contract = own_contract("[[emulator.app]]", "\n# ---", own);
    let config = verdict_server::Config {
        token: "t0".into(),
        ..verdict_server::Config::default()
    };
    let err = verdict_server::Emulator::new(contract, config).unwrap_err();
    assert!(err.to_string().contains("profile \"sms-missing\""), "{err}");
}

/// A service's own custom events are written in its contract (`[[emulator.event]]`): the
/// emulator raises those, refuses the others, and its document lists them.
#[tokio::test]
async fn a_contract_configures_the_services_own_events() {
    let own = "[[emulator.event]]\nid = \"ticket_closed\"\nparameters = { ticketId = \"text\", closedAt = \"time\" }\n";
    let s = start_own("[[emulator.event]]", "# The transactions", own).await;
    let event =
        |id: &str, parameters: Value| json!({"events": [{"evtid": id, "parameters": parameters}]});
    let closed = event(
        "ticket_closed",
        json!({"ticketId": "T-1", "closedAt": "2026-12-01T10:00:00Z"}),
    );
    let a = Call::post(EVENTS, closed).send(&s).await;
    assert_eq!((a.status, a.code()), (202, "1002"), "{a:?}");
    let late = event(
        "ticket_closed",
        json!({"ticketId": "T-1", "closedAt": "later"}),
    );
    Call::post(EVENTS, late)
        .send(&s)
        .await
        .is("event", 7004, "");
    let builtin_event = event("order_shipped", json!({"orderId": "o", "customerId": "c"}));
    Call::post(EVENTS, builtin_event)
        .send(&s)
        .await
        .is("event", 7004, "");
    let doc = s.openapi().await;
    let items = &doc["paths"][EVENTS]["post"]["requestBody"]["content"]["application/json"]["schema"]
        ["properties"]["events"]["items"];
    assert_eq!(
        items["oneOf"][0]["properties"]["evtid"]["enum"],
        json!(["ticket_closed"])
    );
    assert_eq!(
        items["oneOf"][0]["properties"]["parameters"]["required"],
        json!(["ticketId", "closedAt"])
    );
}

/// The transaction quota and the linked apps are the contract's (`[emulator.transactions]`,
/// `[[emulator.app]]`): a contract that writes its own gets its limit, its apps' channels
/// and profile rules, and a document that lists its apps.
#[tokio::test]
async fn a_contract_configures_its_transaction_quota_and_linked_apps() {
    let own = "[emulator.transactions]\nrequests = 4\nwindow_s = 60\n\n[[emulator.app]]\nid = \"kiosk-app\"\nchannels = [\"push\"]\ncreate = [{ attribute = \"deviceId\", missing = \"device-id-missing\" }]\nattributes = [\"os\"]\n";
    let s = start_own("[emulator.transactions]", "\n# ---", own).await;
    crate::support::away_from_window_edge(Duration::from_secs(60), Duration::from_secs(10)).await;

    // The app sends push, not rt; the built-in apps are not linked.
    let kiosk = |m: Value| set(m, "/appid", json!("kiosk-app"));
    let a = Call::post(MESSAGING, kiosk(push())).send(&s).await;
    a.is("messaging", 7501, "");
    Call::post(MESSAGING, kiosk(rt()))
        .send(&s)
        .await
        .is("messaging", 7117, "RTM is not enabled");
    Call::post(MESSAGING, push())
        .send(&s)
        .await
        .is("messaging", 7104, "Invalid app id");

    // Its profiles need what the contract says, and hold what it lists.
    let path = format!("{APPS}/kiosk-app");
    Call::post(CUSTOMERS, records(json!([customer("c1")])))
        .send(&s)
        .await
        .is("profile", 1000, "");
    let bare = json!({"customerId": "c1", "Attributes": {"os": "android", "status": "1"}});
    Call::post(&path, records(json!([bare]))).send(&s).await.is(
        "profile",
        7003,
        "deviceId missing",
    );

    // Four transactions a window: the push (1), the customer (1) and the record (1) spent
    // three, so a message to two destinations is over.
    let two = set(
        sms(),
        "/destination",
        json!([{"msisdn": ["447700900123", "447700900124"]}]),
    );
    let over = Call::post(MESSAGING, two).send(&s).await;
    over.is("messaging", 7020, "");
    assert!(over.headers.contains_key("retry-after"), "{over:?}");

    let doc = s.openapi().await;
    let apps = doc["paths"]["/resources/v2/customerappprofile/{appid}"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "appid")
        .map(|p| p["schema"]["enum"].clone());
    assert_eq!(apps, Some(json!(["kiosk-app"])));
}

/// A value a parameter schema of the events' document calls valid.
fn valid_for(schema: &Value) -> Value {
    let text = schema.to_string();
    if text.contains("[A-Z]{3}") {
        json!("EUR")
    } else if text.contains("date-time") {
        json!("2026-12-01T10:00:00Z")
    } else if text.contains("[eE]") {
        json!("12.50")
    } else {
        json!("o-1")
    }
}

/// The events, apps and destinations the document describes are the ones the module
/// takes: an event built from its schema is queued, one without a mandatory parameter is
/// not, every app of the enum is linked and another is not.
#[tokio::test]
async fn openapi_describes_events_and_apps_as_the_module_checks_them() {
    let s = start("webex-connect").await;
    let doc = s.openapi().await;
    let schema = |path: &str| {
        doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"].clone()
    };
    let events = schema(EVENTS);
    assert_eq!(events["properties"]["events"]["minItems"], 1);
    let variants = events["properties"]["events"]["items"]["oneOf"]
        .as_array()
        .unwrap()
        .clone();
    let ids: Vec<&Value> = variants
        .iter()
        .map(|v| &v["properties"]["evtid"]["enum"][0])
        .collect();
    assert_eq!(
        ids,
        ["order_shipped", "payment_received", "appointment_reminder"]
    );
    for v in &variants {
        let params = &v["properties"]["parameters"];
        let mut filled = serde_json::Map::new();
        for name in params["required"].as_array().unwrap() {
            let name = name.as_str().unwrap();
            filled.insert(name.into(), valid_for(&params["properties"][name]));
        }
        let event = json!({"evtid": v["properties"]["evtid"]["enum"][0], "parameters": filled});
        let a = Call::post(EVENTS, json!({"events": [event.clone()]}))
            .send(&s)
            .await;
        assert_eq!((a.status, a.code()), (202, "1002"), "{event}: {a:?}");
        let first = params["required"][0].as_str().unwrap();
        let short = del(event.clone(), &format!("/parameters/{first}"));
        let a = Call::post(EVENTS, json!({"events": [short]}))
            .send(&s)
            .await;
        assert_eq!(
            (a.status, a.code()),
            (400, "7025"),
            "{event} without {first}: {a:?}"
        );
    }
    let app = &doc["paths"]["/resources/v2/customerappprofile/{appid}"]["get"]["parameters"][0];
    assert_eq!(app["name"], "appid");
    for id in app["schema"]["enum"].as_array().unwrap() {
        let a = Call::get(&format!(
            "{APPS}/{}?customerId=nobody",
            id.as_str().unwrap()
        ))
        .send(&s)
        .await;
        assert_ne!(a.code(), "7018", "{id}: {a:?}");
    }
    let a = Call::get(&format!("{APPS}/no-such-app?customerId=nobody"))
        .send(&s)
        .await;
    assert_eq!(a.code(), "7018", "{a:?}");
    let destination = &schema(MESSAGING)["properties"]["destination"];
    assert_eq!(
        (&destination["minItems"], &destination["maxItems"]),
        (&json!(1), &json!(1000))
    );
}

#[tokio::test]
async fn openapi_lists_every_path_served() {
    let s = start("webex-connect").await;
    let doc = s.openapi().await;
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        (MESSAGING, &["post"][..]),
        ("/resources/v1/messaging/status/{transid}", &["get"]),
        (EVENTS, &["post"]),
        (CUSTOMERS, &["post", "put", "get", "delete"]),
        (
            "/resources/v2/customerprofile/{customerId}",
            &["get", "delete"],
        ),
        (
            "/resources/v2/customerappprofile/{appid}",
            &["post", "put", "get", "delete"],
        ),
        (
            "/resources/v2/customerappprofile/{appid}/{customerId}",
            &["get", "delete"],
        ),
        ("/resources/v2/customerprofiles/{appid}", &["put"]),
    ] {
        for m in methods {
            assert!(paths[path][*m].is_object(), "{path} {m}");
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["credentials"]["name"],
        "key"
    );
}

#[test]
fn the_sandbox_document_lists_every_test_destination() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/webex-connect-sandbox.md"
    ))
    .unwrap();
    let mut checked = 0;
    let mut check = |prefix: &str, api: &str, code: u32| {
        for (i, (status, text)) in messages(api, code).into_iter().enumerate() {
            let suffix = if i == 0 {
                String::new()
            } else {
                (i + 1).to_string()
            };
            let dest = format!("`{prefix}{code}{suffix}`");
            let cells = format!("| {code} | {} |", text.replace('|', "\\|"));
            let line = doc.lines().find(|l| l.starts_with(&format!("| {dest}")));
            let line = line.unwrap_or_else(|| panic!("no row for {dest}"));
            assert!(line.contains(&cells), "{line} lacks {cells}");
            if prefix == "1555000" {
                assert!(line.contains(&format!("| {status} |")), "{line}");
            }
            checked += 1;
        }
    };
    let wc = contract();
    let mut codes: Vec<u32> = Vec::new();
    for row in &wc.api("transaction-status").unwrap().codes {
        let n = row.code.number().unwrap();
        if n != 7501 && !codes.contains(&n) {
            codes.push(n);
            check("1555000", "transaction-status", n);
        }
    }
    codes.clear();
    for row in &wc.api("messaging").unwrap().codes {
        let n = row.code.number().unwrap();
        if n >= 7101 && row.outcome == verdict::Outcome::Error && !codes.contains(&n) {
            codes.push(n);
            check("1555001", "messaging", n);
        }
    }
    assert!(checked > 150, "{checked}");
}

/// How a code was produced in the walk.
#[derive(Debug, Clone, PartialEq)]
enum How {
    Condition(String),
    Sandbox(String),
    Injected,
}

/// A request that produces `code` (message `text`) of `api` by a real condition or a test
/// destination, where the emulator has one.
async fn produce(
    s: &Running,
    submitted: &HashMap<String, String>,
    api: &str,
    code: u32,
    text: &str,
) -> Option<(How, Answer)> {
    let cond = |d: &str| How::Condition(d.to_owned());
    let (how, call) = match (api, code) {
        ("messaging", 7000) => (cond("invalid JSON"), Call::raw(MESSAGING, "{")),
        ("messaging" | "event", 7001) => (
            cond("unknown key"),
            Call::post(path_of(api), json!({})).key(Some("nope")),
        ),
        ("messaging" | "event", 7002) => (
            cond("no key header"),
            Call::post(path_of(api), json!({})).key(None),
        ),
        ("messaging", 7007) => (
            cond("key inactive-service"),
            Call::post(MESSAGING, sms()).key(Some("inactive-service")),
        ),
        ("messaging", 7008) => (
            cond("key inactive-profile"),
            Call::post(MESSAGING, sms()).key(Some("inactive-profile")),
        ),
        ("messaging", 7010) if text.contains("allowed list") => (
            cond("X-Forwarded-For outside the allow list"),
            Call::post(MESSAGING, sms()).header("x-forwarded-for", "203.0.113.9"),
        ),
        ("messaging", 7020) | ("transaction-status", 7020) | ("profile", 7020) => {
            let busy = exhaust(s).await;
            let call = match api {
                "messaging" => Call::post(MESSAGING, sms()),
                "profile" => Call::get(&format!("{CUSTOMERS}/c1")),
                _ => Call::get(&format!("{MESSAGING}/status/x")),
            };
            (
                cond("1001st transaction of a key within 60 s"),
                call.key(Some(&busy)),
            )
        }
        ("messaging", 7501) => (cond("a well-formed message"), Call::post(MESSAGING, sms())),
        ("messaging", _) => {
            let case = messaging_cases()
                .into_iter()
                .find(|(c, f, _, _)| *c == code && text.contains(f));
            match case {
                Some((_, f, why, body)) => (
                    cond(if why.is_empty() { f } else { why }),
                    Call::post(MESSAGING, body),
                ),
                None => {
                    let row = contract().api("messaging").unwrap().code(code).next()?;
                    if code < 7101 || row.outcome != verdict::Outcome::Error {
                        return None;
                    }
                    let index = messages(api, code).iter().position(|(_, t)| t == text)?;
                    let dest = test_destination("1555001", code, index);
                    (
                        How::Sandbox(dest.clone()),
                        Call::post(
                            MESSAGING,
                            set(sms(), "/destination/0/msisdn", json!([dest])),
                        ),
                    )
                }
            }
        }
        ("transaction-status", 7008) => (
            cond("key inactive-profile"),
            Call::get(&format!("{MESSAGING}/status/x")).key(Some("inactive-profile")),
        ),
        ("transaction-status", 7019) => (
            cond("?expiry= in the past"),
            Call::get(&format!(
                "{MESSAGING}/status/x?expiry={}",
                "2020-01-01T00:00:00Z"
            )),
        ),
        ("transaction-status", 7600) if text.contains("results") => (
            cond("unknown transid"),
            Call::get(&format!("{MESSAGING}/status/unknown")),
        ),
        ("transaction-status", 7601) if text.contains("not under") => {
            s.admin(Method::POST, "/_verdict/tokens", json!({"token": "t1"}))
                .await;
            let a = Call::post(MESSAGING, sms()).key(Some("t1")).send(s).await;
            let id = a.body["transid"].as_str().unwrap().to_owned();
            (
                cond("another key's transid"),
                Call::get(&format!("{MESSAGING}/status/{id}")),
            )
        }
        ("transaction-status", 7501) => {
            let a = Call::post(MESSAGING, sms()).send(s).await;
            let id = a.body["transid"].as_str().unwrap().to_owned();
            (
                cond("a transaction within its delay"),
                Call::get(&format!("{MESSAGING}/status/{id}")),
            )
        }
        ("transaction-status", _) => {
            let index = messages(api, code).iter().position(|(_, t)| t == text)?;
            let dest = test_destination("1555000", code, index);
            let id = submitted.get(&dest)?;
            return Some((How::Sandbox(dest), poll(s, id, "t0").await.pop().unwrap()));
        }
        ("event", 1002) => (
            cond("a well-formed event"),
            Call::post(
                EVENTS,
                json!({"events": [{"evtid": "order_shipped", "parameters": {"orderId": "o", "customerId": "c"}}]}),
            ),
        ),
        ("event", 7000) => (cond("invalid JSON"), Call::raw(EVENTS, "{")),
        ("event", 7004) => (
            cond("unknown evtid"),
            Call::post(EVENTS, json!({"events": [{"evtid": "nope"}]})),
        ),
        ("event", 7025) => (
            cond("mandatory parameter missing"),
            Call::post(EVENTS, json!({"events": [{"evtid": "order_shipped"}]})),
        ),
        ("profile", 1000) => (
            cond("create a new customer"),
            Call::post(CUSTOMERS, records(json!([customer("w1")]))),
        ),
        ("profile", 1002) => (
            cond("one new, one existing"),
            Call::post(CUSTOMERS, records(json!([customer("w1"), customer("w2")]))),
        ),
        ("profile", 7010) => (
            cond("X-Forwarded-For outside the allow list"),
            Call::get(&format!("{CUSTOMERS}/w1")).header("x-forwarded-for", "198.51.100.7"),
        ),
        ("profile", 7014) if text.starts_with("Customer") => (
            cond("update an unknown customer"),
            Call::put(CUSTOMERS, records(json!([customer("ghost")]))),
        ),
        ("profile", 7014) => (
            cond("delete a missing app profile"),
            Call::delete(&format!("{APPS}/fb-app/w1")),
        ),
        ("profile", 7015) if text.starts_with("Customer") => {
            Call::post(CUSTOMERS, records(json!([customer("w3")])))
                .send(s)
                .await;
            (
                cond("create an existing customer"),
                Call::post(CUSTOMERS, records(json!([customer("w3")]))),
            )
        }
        ("profile", 7015) => {
            Call::post(CUSTOMERS, records(json!([customer("w4")])))
                .send(s)
                .await;
            Call::post(
                &format!("{APPS}/rtm-app"),
                records(json!([rtm_profile("w4")])),
            )
            .send(s)
            .await;
            (
                cond("create an existing app profile"),
                Call::post(
                    &format!("{APPS}/rtm-app"),
                    records(json!([rtm_profile("w4")])),
                ),
            )
        }
        ("profile", _) => {
            let (_, f, call) = profile_cases()
                .into_iter()
                .find(|(c, f, _)| *c == code && text.contains(f))?;
            let why = match code {
                7012 => "101 records",
                7013 => "key no-profile-store",
                7017 => "an attribute the profile lacks",
                7018 => "an unknown appid",
                7019 => "expiry in the past",
                _ => f,
            };
            (cond(why), call)
        }
        _ => return None,
    };
    Some((how, call.send(s).await))
}

/// The test destination for message `index` of `code`.
fn test_destination(prefix: &str, code: u32, index: usize) -> String {
    match index {
        0 => format!("{prefix}{code}"),
        i => format!("{prefix}{code}{}", i + 1),
    }
}

fn path_of(api: &str) -> &'static str {
    if api == "event" { EVENTS } else { MESSAGING }
}

#[tokio::test]
async fn every_application_code_is_produced_with_its_exact_message() {
    // A second of delay: a transaction queried straight after its submit still reads 7501.
    let s = server(1000).await;
    // Every test destination of the transaction-status list, sent at once in one message.
    let mut dests = Vec::new();
    for row in &contract().api("transaction-status").unwrap().codes {
        for (i, _) in row.messages.iter().enumerate() {
            let dest = test_destination("1555000", row.code.number().unwrap(), i);
            if !dests.contains(&dest) {
                dests.push(dest);
            }
        }
    }
    let a = Call::post(MESSAGING, set(sms(), "/destination/0/msisdn", json!(dests)))
        .send(&s)
        .await;
    let submitted: HashMap<String, String> = a.body["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["destination"].as_str().unwrap().to_owned(),
                e["transid"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(submitted.len(), dests.len());
    let mut totals = Vec::new();
    for api in &contract().apis {
        let mut table = Vec::new();
        let mut seen_codes = Vec::new();
        for row in &api.codes {
            if seen_codes.contains(&row.code) {
                continue;
            }
            seen_codes.push(row.code.clone());
            for (index, (status, text)) in messages(&api.id, row.code.number().unwrap())
                .into_iter()
                .enumerate()
            {
                let (how, a) =
                    match produce(&s, &submitted, &api.id, row.code.number().unwrap(), &text).await
                    {
                        Some(v) => v,
                        None => {
                            let fault = format!(
                                "code={}; api={}; status={status}; message={text}",
                                row.code, api.id
                            );
                            (
                                How::Injected,
                                Call::post(path_of(&api.id), json!({}))
                                    .header("x-verdict-fault", &fault)
                                    .send(&s)
                                    .await,
                            )
                        }
                    };
                assert_eq!(
                    a.body["code"],
                    json!(row.code.to_string()),
                    "{} {} #{index} ({how:?}): {a:?}",
                    api.id,
                    row.code
                );
                assert_eq!(
                    a.body["description"],
                    json!(text),
                    "{} {} #{index} ({how:?})",
                    api.id,
                    row.code
                );
                assert_eq!(
                    a.status, status,
                    "{} {} #{index} ({how:?})",
                    api.id, row.code
                );
                table.push((row.code.clone(), text, how));
            }
        }
        println!("\n{} ({} messages)", api.id, table.len());
        println!("{:<6} {:<12} {:<50} description", "code", "how", "detail");
        for (code, text, how) in &table {
            let (kind, detail) = match how {
                How::Condition(d) => ("condition", d.clone()),
                How::Sandbox(d) => ("sandbox", d.clone()),
                How::Injected => ("injected", "X-Verdict-Fault".into()),
            };
            println!("{code:<6} {kind:<12} {detail:<50} {text}");
        }
        let count = |k: fn(&How) -> bool| table.iter().filter(|(_, _, h)| k(h)).count();
        let conditions = count(|h| matches!(h, How::Condition(_)));
        let sandbox = count(|h| matches!(h, How::Sandbox(_)));
        let injected: Vec<String> = table
            .iter()
            .filter(|(_, _, h)| *h == How::Injected)
            .map(|(c, t, _)| format!("{c} {t}"))
            .collect();
        println!(
            "{}: {conditions} by condition, {sandbox} by test destination, {} injected",
            api.id,
            injected.len()
        );
        totals.push((api.id.clone(), conditions, sandbox, injected));
    }
    // What the emulator implements; each number can only fall if a rule stops working.
    let expect = [
        ("messaging", 58, 73),
        ("transaction-status", 6, 91),
        ("event", 6, 0),
        ("profile", 27, 0),
    ];
    for ((api, conditions, sandbox, injected), (want_api, want_conditions, want_sandbox)) in
        totals.iter().zip(expect)
    {
        assert_eq!(api, want_api);
        assert!(
            *conditions >= want_conditions,
            "{api}: {conditions} by condition, expected at least {want_conditions}"
        );
        assert!(
            conditions + sandbox >= want_conditions + want_sandbox,
            "{api}: {injected:?}"
        );
    }
    let injected: Vec<String> = totals
        .iter()
        .flat_map(|(api, _, _, i)| i.iter().map(move |x| format!("{api} {x}")))
        .collect();
    assert_eq!(
        injected
            .iter()
            .map(|x| x.split(' ').take(2).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        [
            "messaging 7006",
            "messaging 7006",
            "messaging 7010",
            "messaging 7011",
            "messaging 7500",
            "messaging 7502",
            "event 7005",
            "event 7006",
            "profile 7016",
        ],
        "only what no request can provoke is injected"
    );
}

#[tokio::test]
async fn a_deprecated_channel_is_refused_with_the_message_the_contract_names() {
    let channels = contract()
        .api("messaging")
        .unwrap()
        .values_of("/deliverychannel")
        .unwrap()
        .clone();
    assert!(channels.deprecated("wechat").is_some());
    assert!(channels.deprecated("sms").is_none());
    let s = start("webex-connect").await;
    let wechat = set(sms(), "/deliverychannel", json!("WeChat"));
    Call::post(MESSAGING, wechat.clone())
        .send(&s)
        .await
        .is("messaging", 7106, "");
    // The contract decides the answer: name another message and the refusal follows.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/webex-connect.toml"
    ))
    .unwrap()
    .replacen("id = \"webex-connect\"", "id = \"wc-deprecated\"", 1)
    .replace(
        "refused_with = \"channel-not-configured\"",
        "refused_with = \"invalid-app\"",
    );
    let s = crate::support::start_contract(crate::support::contract_from("wc.toml", &text)).await;
    Call::post(MESSAGING, wechat)
        .send(&s)
        .await
        .is("messaging", 7104, "");
    // A channel that is merely unknown is not configured, as before.
    Call::post(MESSAGING, set(sms(), "/deliverychannel", json!("telex")))
        .send(&s)
        .await
        .is("messaging", 7106, "");
}
