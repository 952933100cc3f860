//! The profile API: customer profiles and, under them, one app profile per app, kept per
//! client (the account of the service key).
//!
//! | path | methods |
//! |---|---|
//! | `/resources/v2/customerprofile` | `POST` create, `PUT` update (`{"Records": [...]}`), `GET`, `DELETE` (`?customerId=…&customerId=…`) |
//! | `/resources/v2/customerprofile/{customerId}` | `GET`, `DELETE` |
//! | `/resources/v2/customerappprofile/{appid}` | `POST` create, `PUT` update, `GET`, `DELETE` (`?customerId=…`) |
//! | `/resources/v2/customerappprofile/{appid}/{customerId}` | `GET`, `DELETE` |
//! | `/resources/v2/customerprofiles/{appid}` | `PUT` update (the path the vendor documents for it) |
//!
//! Records are handled one by one: all succeed 1000, some 1002 with a result per record,
//! none the first record's failure.

use http::Method;
use serde_json::{Map, Value, json};

use super::messaging::int_of;
use super::{
    Msg, NO_PROFILE_STORE_KEY, PROFILE, Refusal, answer, expired, json_object, spend, wrong_method,
};
use crate::Emulator;
use crate::reply::Reply;
use crate::request::{Ctx, Principal};
use crate::resource::now_stamp;
use crate::state::NewItem;
use verdict::emulate::LinkedApp;

use super::keys::profile::*;

/// The most records (or customer ids) one request may carry.
pub(crate) const MAX_BATCH: usize = 100;

/// Where customer profiles are kept.
pub(crate) const CUSTOMERS: &str = "webex-connect-customers";
/// Where app profiles are kept.
pub(crate) const APP_PROFILES: &str = "webex-connect-app-profiles";

/// The attributes of the client's master profile.
pub(crate) const CUSTOMER_ATTRIBUTES: &[&str] = &[
    "customerId",
    "msisdn",
    "email",
    "name",
    "firstName",
    "lastName",
    "gender",
    "dob",
    "city",
    "country",
    "language",
    "timezone",
    "status",
    "verified",
    "createdOn",
    "updatedOn",
];

/// The attributes every app profile may hold.
pub(crate) const APP_ATTRIBUTES: &[&str] = &[
    "customerId",
    "status",
    "verified",
    "channel",
    "name",
    "timezone",
    "createdOn",
    "updatedOn",
];

/// The app linked to the emulated client with this id.
pub(crate) fn app<'e>(em: &'e Emulator, id: &str) -> Option<&'e LinkedApp> {
    em.spec.apps.iter().find(|a| a.id == id)
}

/// The key of a customer profile in its collection.
pub(crate) fn customer_key(account: &str, customer: &str) -> String {
    json!([account, customer]).to_string()
}

fn app_key(account: &str, app: &str, customer: &str) -> String {
    json!([account, app, customer]).to_string()
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Update,
    Get,
    Delete,
}

/// Which profiles.
#[derive(Clone, Copy)]
enum Target<'a> {
    Customers,
    App(&'a str),
}

/// Decodes `%XX` escapes of a path segment (an invalid escape is kept as it is).
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Routes the profile paths; `None` for any other path.
pub(crate) fn route(em: &Emulator, ctx: &Ctx<'_>, who: &Principal) -> Option<Reply> {
    let rest = ctx.req.path.strip_prefix("/resources/v2/")?;
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let method = &ctx.req.method;
    let all = [Method::GET, Method::POST, Method::PUT, Method::DELETE];
    let one = [Method::GET, Method::DELETE];
    let (target, id, allowed): (Target<'_>, Option<String>, &[Method]) = match segments.as_slice() {
        ["customerprofile"] => (Target::Customers, None, &all),
        ["customerprofile", id] => (Target::Customers, Some(decode(id)), &one),
        ["customerappprofile", app] => (Target::App(app), None, &all),
        ["customerappprofile", app, id] => (Target::App(app), Some(decode(id)), &one),
        ["customerprofiles", app] => (Target::App(app), None, &[Method::PUT]),
        _ => return None,
    };
    if !allowed.contains(method) {
        return Some(wrong_method(em, ctx, allowed));
    }
    let op = match *method {
        Method::POST => Op::Create,
        Method::PUT => Op::Update,
        Method::GET => Op::Get,
        _ => Op::Delete,
    };
    Some(match handle(em, ctx, who, target, op, id) {
        Ok(reply) => reply,
        Err(refusal) => refusal.into_reply(em, ctx),
    })
}

fn handle(
    em: &Emulator,
    ctx: &Ctx<'_>,
    who: &Principal,
    target: Target<'_>,
    op: Op,
    id: Option<String>,
) -> Result<Reply, Refusal> {
    if who.credential == NO_PROFILE_STORE_KEY {
        return Err(NO_STORE.into());
    }
    let app = match target {
        Target::Customers => None,
        Target::App(id) => Some(app(em, id).ok_or(INVALID_APP)?),
    };
    let results = match op {
        Op::Create | Op::Update => write_all(em, ctx, who, app, op)?,
        Op::Get | Op::Delete => read_all(em, ctx, who, app, op, id)?,
    };
    Ok(batch(em, ctx, results))
}

type Results<'k> = Vec<(String, Result<Value, Msg<'k>>)>;

/// A create or update: the records of the body, each written on its own.
fn write_all<'k>(
    em: &Emulator,
    ctx: &Ctx<'_>,
    who: &Principal,
    app: Option<&'k LinkedApp>,
    op: Op,
) -> Result<Results<'k>, Refusal> {
    let body = json_object(em, ctx, PROFILE)?;
    if expired(body.get("expiry")) {
        return Err(REQUEST_EXPIRED.into());
    }
    let records = body
        .get("Records")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
        .ok_or(CUSTOMER_ID_MISSING)?;
    if records.len() > MAX_BATCH {
        return Err(BATCH_TOO_LARGE.into());
    }
    spend(em, ctx, PROFILE, &who.credential, records.len() as u64)?;
    if op == Op::Create {
        room_for(em, ctx, records.len())?;
    }
    let rules = RecordRules::new(app, op);
    Ok(records
        .iter()
        .map(|r| write(em, who, app, op, &rules, r))
        .collect())
}

/// Whether the store has room for `more` profiles; 507 when it has not.
fn room_for(em: &Emulator, ctx: &Ctx<'_>, more: usize) -> Result<(), Refusal> {
    let kept = {
        let mut state = em.lock();
        state.collection(CUSTOMERS).len() + state.collection(APP_PROFILES).len()
    };
    if kept + more <= em.spec.store_limit {
        return Ok(());
    }
    Err(Refusal::Reply(em.error(
        ctx,
        507,
        Some(&format!(
            "The emulator already holds its limit of {} profiles; delete some or reset it.",
            em.spec.store_limit
        )),
        &[],
    )))
}

/// A read or delete: the customer of the path, or the `customerId`s of the query.
fn read_all(
    em: &Emulator,
    ctx: &Ctx<'_>,
    who: &Principal,
    app: Option<&LinkedApp>,
    op: Op,
    id: Option<String>,
) -> Result<Results<'static>, Refusal> {
    if expired(ctx.req.query_value("expiry").map(Value::String).as_ref()) {
        return Err(REQUEST_EXPIRED.into());
    }
    let ids: Vec<String> = match id {
        Some(id) => vec![id],
        None => ctx
            .req
            .query_pairs()
            .into_iter()
            .filter(|(k, v)| k.eq_ignore_ascii_case("customerid") && !v.trim().is_empty())
            .map(|(_, v)| v)
            .collect(),
    };
    if ids.is_empty() {
        return Err(CUSTOMER_ID_MISSING.into());
    }
    if ids.len() > MAX_BATCH {
        return Err(BATCH_TOO_LARGE.into());
    }
    spend(em, ctx, PROFILE, &who.credential, ids.len() as u64)?;
    Ok(ids
        .into_iter()
        .map(|id| {
            let r = if op == Op::Get {
                read(em, who, app, &id)
            } else {
                remove(em, who, app, &id)
            };
            (id, r)
        })
        .collect())
}

/// The answer to a batch: 1000 when every record succeeded, 1002 when some did, the first
/// failure when none did; each record's own result under `Records`.
fn batch(em: &Emulator, ctx: &Ctx<'_>, results: Results<'_>) -> Reply {
    let c = &em.contract;
    let ok = results.iter().filter(|(_, r)| r.is_ok()).count();
    let first_failure = results.iter().find_map(|(_, r)| r.as_ref().err().copied());
    let records: Vec<Value> = results
        .into_iter()
        .map(|(id, r)| {
            let (mut rec, msg) = match r {
                Ok(Value::Object(o)) => (o, SUCCESS),
                Ok(_) => (Map::new(), SUCCESS),
                Err(m) => (Map::new(), m),
            };
            rec.entry("customerId").or_insert_with(|| json!(id));
            let (code, text) = msg.lookup(c).map_or((String::new(), ""), |(row, m)| {
                (row.code.to_string(), &m.text)
            });
            rec.insert("code".into(), json!(code));
            rec.insert("description".into(), json!(text));
            Value::Object(rec)
        })
        .collect();
    let msg = match (ok, first_failure) {
        (_, None) => SUCCESS,
        (0, Some(f)) => f,
        (_, Some(_)) => PARTIAL,
    };
    let mut extra = Map::new();
    extra.insert("transid".into(), json!(em.rng.uuid()));
    extra.insert("Records".into(), Value::Array(records));
    answer(em, ctx, msg, extra)
}

fn blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

fn zero_or_one(v: &Value) -> bool {
    int_of(v).is_some_and(|n| n == 0 || n == 1) && !matches!(v, Value::String(s) if s.trim() != s)
}

fn customer_id(record: &Map<String, Value>) -> Option<String> {
    let v = record
        .get("customerId")
        .or_else(|| record.get("CustomerId"))?;
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn valid_attribute(name: &str, v: &Value) -> bool {
    if v.is_array() || v.is_object() {
        return false;
    }
    let text = v.as_str().unwrap_or("");
    match name {
        "msisdn" if !blank(Some(v)) => {
            let d = text.strip_prefix('+').unwrap_or(text);
            (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit())
        }
        "email" if !blank(Some(v)) => text
            .split_once('@')
            .is_some_and(|(u, d)| !u.is_empty() && d.contains('.')),
        _ => true,
    }
}

/// What a written record must hold for the operation, worked out once a request: the
/// attributes it may hold, those it must give (with the message that refuses a record
/// without one), and whether its status attribute is required.
struct RecordRules<'k> {
    allowed: Vec<&'k str>,
    mandatory: Vec<(&'k str, Msg<'k>)>,
    status_required: bool,
}

impl<'k> RecordRules<'k> {
    /// A customer's attributes (a create needs an msisdn), or an app profile's.
    fn new(app: Option<&'k LinkedApp>, op: Op) -> Self {
        let Some(a) = app else {
            let mandatory = match op {
                Op::Create => vec![("msisdn", MSISDN_MISSING)],
                _ => Vec::new(),
            };
            return RecordRules {
                allowed: CUSTOMER_ATTRIBUTES.to_vec(),
                mandatory,
                status_required: false,
            };
        };
        let required = |list: &'k [verdict::emulate::RequiredAttribute]| {
            list.iter()
                .map(|r| (r.attribute.as_str(), Msg::named(PROFILE, &r.missing)))
                .collect::<Vec<_>>()
        };
        let mut allowed = APP_ATTRIBUTES.to_vec();
        allowed.extend(a.attributes.iter().map(String::as_str));
        allowed.extend(a.create.iter().map(|r| r.attribute.as_str()));
        let list = if op == Op::Create {
            &a.create
        } else {
            &a.update
        };
        RecordRules {
            allowed,
            mandatory: required(list),
            status_required: true,
        }
    }

    /// The checks every written record goes through: its customer id, its Attributes
    /// object, a record-level status, unknown attributes, attribute values, the mandatory
    /// attributes, the status attribute.
    fn check(&self, record: &Value) -> Result<(String, Map<String, Value>), Msg<'k>> {
        let record = record.as_object().ok_or(CUSTOMER_ID_MISSING)?;
        let id = customer_id(record).ok_or(CUSTOMER_ID_MISSING)?;
        let attrs = match record
            .get("Attributes")
            .or_else(|| record.get("attributes"))
        {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(a)) => a.clone(),
            Some(_) => return Err(INVALID_ATTRIBUTE),
        };
        if let Some(s) = record.get("status") {
            if !zero_or_one(s) {
                return Err(RECORD_STATUS_INVALID);
            }
        }
        if attrs.keys().any(|k| !self.allowed.contains(&k.as_str())) {
            return Err(UNKNOWN_ATTRIBUTE);
        }
        if attrs.iter().any(|(k, v)| !valid_attribute(k, v)) {
            return Err(INVALID_ATTRIBUTE);
        }
        if let Some((_, msg)) = self.mandatory.iter().find(|(n, _)| blank(attrs.get(*n))) {
            return Err(*msg);
        }
        match attrs.get("status") {
            None if self.status_required => return Err(STATUS_MISSING),
            None => {}
            Some(v) if blank(Some(v)) => return Err(STATUS_MISSING),
            Some(v) if !zero_or_one(v) => return Err(STATUS_INVALID),
            Some(_) => {}
        }
        Ok((id, attrs))
    }
}

/// Creates or updates one record.
fn write<'k>(
    em: &Emulator,
    who: &Principal,
    app: Option<&'k LinkedApp>,
    op: Op,
    rules: &RecordRules<'k>,
    record: &Value,
) -> (String, Result<Value, Msg<'k>>) {
    let fallback_id = record.as_object().and_then(customer_id).unwrap_or_default();
    let checked = rules.check(record);
    let (id, attrs) = match checked {
        Ok(v) => v,
        Err(m) => return (fallback_id, Err(m)),
    };
    let result = store(em, who, app, op, &id, attrs);
    (id, result)
}

/// Writes one checked record: a create of what does not exist, an update of what does.
fn store(
    em: &Emulator,
    who: &Principal,
    app: Option<&LinkedApp>,
    op: Op,
    id: &str,
    attrs: Map<String, Value>,
) -> Result<Value, Msg<'static>> {
    let now = now_stamp();
    let mut state = em.lock();
    let customer_exists = state
        .collection(CUSTOMERS)
        .contains(&customer_key(&who.account, id));
    let (collection, key, exists_msg, missing_msg) = match app {
        None => (
            CUSTOMERS,
            customer_key(&who.account, id),
            CUSTOMER_EXISTS,
            CUSTOMER_NOT_FOUND,
        ),
        Some(a) => {
            if !customer_exists {
                return Err(CUSTOMER_NOT_FOUND);
            }
            (
                APP_PROFILES,
                app_key(&who.account, &a.id, id),
                APP_PROFILE_EXISTS,
                APP_PROFILE_NOT_FOUND,
            )
        }
    };
    let exists = state.collection(collection).contains(&key);
    match (op, exists) {
        (Op::Create, true) => Err(exists_msg),
        (Op::Create, false) => {
            let mut value = json!({
                "customerId": id,
                "Attributes": attrs,
                "createdOn": now,
                "updatedOn": now,
            });
            if let Some(a) = app {
                value["appid"] = json!(a.id);
            }
            let new = NewItem {
                value: value.clone(),
                owner: who.account.clone(),
                ready_at: None,
            };
            state.insert(collection, &key, new, em.spec.store_limit);
            Ok(value)
        }
        (_, false) => Err(missing_msg),
        (_, true) => {
            let updated = state.update(collection, &key, |value| {
                if let Some(Value::Object(stored)) = value.get_mut("Attributes") {
                    stored.extend(attrs);
                }
                value["updatedOn"] = json!(now);
            });
            updated.map(|item| item.value.clone()).ok_or(missing_msg)
        }
    }
}

/// Reads one profile.
fn read(
    em: &Emulator,
    who: &Principal,
    app: Option<&LinkedApp>,
    id: &str,
) -> Result<Value, Msg<'static>> {
    let mut state = em.lock();
    match app {
        None => {
            let mut value = state
                .collection(CUSTOMERS)
                .get(&customer_key(&who.account, id))
                .map(|i| i.value.clone())
                .ok_or(CUSTOMER_NOT_FOUND)?;
            let mut links: Vec<(u64, String)> = state
                .collection(APP_PROFILES)
                .iter()
                .map(|(_, i)| i)
                .filter(|i| i.owner == who.account && i.value["customerId"] == id)
                .map(|i| (i.seq, i.value["appid"].as_str().unwrap_or("").to_owned()))
                .collect();
            links.sort();
            value["InwardLinks"] = json!(links.into_iter().map(|(_, a)| a).collect::<Vec<_>>());
            Ok(value)
        }
        Some(a) => {
            let mut value = state
                .collection(APP_PROFILES)
                .get(&app_key(&who.account, &a.id, id))
                .map(|i| i.value.clone())
                .ok_or(APP_PROFILE_NOT_FOUND)?;
            value["OutwardLinks"] = json!([id]);
            Ok(value)
        }
    }
}

/// Deletes one profile (a customer's app profiles go with it).
fn remove(
    em: &Emulator,
    who: &Principal,
    app: Option<&LinkedApp>,
    id: &str,
) -> Result<Value, Msg<'static>> {
    let mut state = em.lock();
    match app {
        None => {
            let key = customer_key(&who.account, id);
            state
                .remove(CUSTOMERS, &key, false)
                .ok_or(CUSTOMER_NOT_FOUND)?;
            let gone: Vec<String> = state
                .collection(APP_PROFILES)
                .iter()
                .filter(|(_, i)| i.owner == who.account && i.value["customerId"] == id)
                .map(|(k, _)| k.clone())
                .collect();
            for k in &gone {
                state.remove(APP_PROFILES, k, false);
            }
            Ok(json!({ "customerId": id }))
        }
        Some(a) => {
            let key = app_key(&who.account, &a.id, id);
            state
                .remove(APP_PROFILES, &key, false)
                .ok_or(APP_PROFILE_NOT_FOUND)?;
            Ok(json!({ "customerId": id, "appid": &a.id }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_named_message_says_what_its_name_says() {
        let c = verdict::Catalog::builtin().get("webex-connect").unwrap();
        for (msg, fragment) in [
            (SUCCESS, "Success"),
            (PARTIAL, "Partial success"),
            (CUSTOMER_ID_MISSING, "CustomerId is missing"),
            (MSISDN_MISSING, "msisdn missing"),
            (STATUS_MISSING, "status missing or it is empty"),
            (STATUS_INVALID, "Invalid value for param status"),
            (INVALID_ATTRIBUTE, "Invalid Attribute Value"),
            (RECORD_STATUS_INVALID, "invalid value for param status"),
            (BATCH_TOO_LARGE, "Batch size"),
            (NO_STORE, "Master profile store"),
            (CUSTOMER_NOT_FOUND, "Customer not found"),
            (APP_PROFILE_NOT_FOUND, "App profile not found"),
            (CUSTOMER_EXISTS, "Customer already exists"),
            (APP_PROFILE_EXISTS, "App profile already exists"),
            (UNKNOWN_ATTRIBUTE, "attribute doesn't exist"),
            (INVALID_APP, "Invalid app profile"),
            (REQUEST_EXPIRED, "expired"),
        ] {
            let text = msg.text(c);
            assert!(
                text.contains(fragment),
                "{msg:?}: {text:?} lacks {fragment:?}"
            );
        }
    }

    #[test]
    fn each_apps_missing_attribute_message_names_the_attribute() {
        let c = verdict::Catalog::builtin().get("webex-connect").unwrap();
        let apps = &c.emulator.as_ref().unwrap().apps;
        assert_eq!(apps.len(), 3);
        for app in apps {
            for r in app.create.iter().chain(&app.update) {
                let text = Msg::named(PROFILE, &r.missing).text(c);
                let want = format!("{} missing", r.attribute);
                assert!(text.contains(&want), "{}: {text:?} lacks {want:?}", app.id);
            }
        }
    }

    #[test]
    fn status_is_zero_or_one() {
        for ok in [json!(0), json!(1), json!("0"), json!("1")] {
            assert!(zero_or_one(&ok), "{ok}");
        }
        for bad in [json!(2), json!("yes"), json!(" 1"), json!(true), json!([1])] {
            assert!(!zero_or_one(&bad), "{bad}");
        }
    }

    #[test]
    fn path_segments_are_decoded() {
        assert_eq!(decode("c%201"), "c 1");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%E2%82%AC"), "€");
    }
}
