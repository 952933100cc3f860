//! `POST /resources/v1/messaging`: one message on one channel to up to 1000 destinations.
//! The request is checked in the order below; the first failed check answers. An accepted
//! request becomes one transaction per destination address, answered with 7501.

use std::time::{Instant, SystemTime};

use serde_json::{Map, Value, json};

use super::keys::messaging::*;
use super::keys::{self, status};
use super::{
    DEFAULT_DELIVERY_DELAY, MESSAGING, Msg, Refusal, STATUS, answer, expired, interactive,
    json_object, spend,
};
use crate::Emulator;
use crate::reply::Reply;
use crate::request::{Ctx, Principal};
use crate::state::NewItem;
use crate::util::timestamp;

/// The most destination addresses one request may name.
pub(crate) const MAX_DESTINATIONS: usize = 1000;
/// The longest text, in characters, a message may carry.
pub(crate) const MAX_TEXT: usize = 1000;

/// The keys of a destination entry that name a recipient.
pub(crate) const IDENTIFIERS: &[&str] = &[
    "customerid",
    "msisdn",
    "email",
    "userid",
    "pushid",
    "android_pushid",
    "ios_pushid",
    "chrome_pushid",
    "firefox_pushid",
    "safari_pushid",
    "psid",
];

/// The channels the emulated service is configured for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Sms,
    Push,
    Rt,
    Fb,
    Voice,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::Rt => "rt",
            Channel::Fb => "fb",
            Channel::Voice => "voice",
        }
    }
}

/// A test destination: `1555000CCCC` makes the transaction end in transaction-status code
/// CCCC, `1555001CCCC` makes the messaging request fail at once with messaging code CCCC;
/// a twelfth digit picks the code's message (1-based) where it has several. The choice is
/// turned into the message's key at once (see `keys::chosen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sandbox {
    pub at_once: bool,
    pub code: u32,
    pub index: usize,
}

/// The test destination `value` names, if any (a leading `+` is allowed).
pub(crate) fn sandbox(value: &str) -> Option<Sandbox> {
    let digits = value.trim().trim_start_matches('+');
    if !(digits.len() == 11 || digits.len() == 12) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let at_once = match &digits[..7] {
        "1555000" => false,
        "1555001" => true,
        _ => return None,
    };
    let code = digits[7..11].parse().ok()?;
    let index = match digits.get(11..) {
        Some("") | None => 0,
        Some(d) => d.parse::<usize>().ok()?.checked_sub(1)?,
    };
    Some(Sandbox {
        at_once,
        code,
        index,
    })
}

/// One recipient address.
#[derive(Debug, Clone)]
struct Address {
    kind: &'static str,
    value: String,
    correlationid: Option<Value>,
}

fn text_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A whole number, given as a number or as a string of digits.
pub(crate) fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn object(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

/// The destination addresses, or why there are none.
fn destinations(body: &Map<String, Value>) -> Result<Vec<Address>, Msg<'static>> {
    let entries: Vec<&Value> = match body.get("destination") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    };
    if entries.is_empty() {
        return Err(DESTINATION_MANDATORY);
    }
    let mut out = Vec::new();
    for entry in entries {
        let Some(entry) = entry.as_object() else {
            return Err(DESTINATION_MANDATORY);
        };
        let before = out.len();
        for kind in IDENTIFIERS {
            // A string, a number, or a list of them.
            let scalar = |v: &Value| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            let values: Vec<String> = match entry.get(*kind) {
                Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
                Some(v) => scalar(v).into_iter().collect(),
                None => Vec::new(),
            };
            for v in values.iter().filter(|v| !v.trim().is_empty()) {
                out.push(Address {
                    kind,
                    value: v.trim().to_owned(),
                    correlationid: entry.get("correlationid").cloned(),
                });
                if out.len() > MAX_DESTINATIONS {
                    return Err(TOO_MANY_DESTINATIONS);
                }
            }
        }
        if out.len() == before {
            return Err(DESTINATION_MANDATORY);
        }
        if expired(entry.get("expiry")) {
            return Err(DESTINATION_EXPIRED);
        }
    }
    Ok(out)
}

/// A channel the contract marks deprecated (`[[api.enum]]` of `/deliverychannel`, such as
/// WeChat) is refused with the message the contract names for it, before the channel's
/// own fields are read.
fn refuse_deprecated_channel(em: &Emulator, body: &Map<String, Value>) -> Result<(), Refusal> {
    let values = em
        .contract
        .api(MESSAGING)
        .and_then(|a| a.values_of("/deliverychannel"));
    let (Some(values), Some(Value::String(channel))) = (values, body.get("deliverychannel")) else {
        return Ok(());
    };
    match (values.deprecated(channel.trim()), &values.refused_with) {
        (Some(_), Some(key)) => Err(Refusal::Chosen(MESSAGING, key.clone())),
        (Some(_), None) => Err(CHANNEL_NOT_CONFIGURED.into()),
        (None, _) => Ok(()),
    }
}

fn channel_of(body: &Map<String, Value>) -> Result<Channel, Msg<'static>> {
    match body.get("deliverychannel") {
        None => Err(DELIVERYCHANNEL_MISSING),
        Some(Value::Null) => Err(NO_CHANNEL_INFO),
        Some(Value::String(s)) if s.trim().is_empty() => Err(NO_CHANNEL_INFO),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "sms" => Ok(Channel::Sms),
            "push" => Ok(Channel::Push),
            "rt" | "appmessaging" => Ok(Channel::Rt),
            "fb" | "messenger" => Ok(Channel::Fb),
            "voice" => Ok(Channel::Voice),
            _ => Err(CHANNEL_NOT_CONFIGURED),
        },
        Some(_) => Err(CHANNEL_NOT_CONFIGURED),
    }
}

/// The contract's checks of the messaging API (`[[api.check]]`), run on the body with
/// its channel as read (case aside, aliases resolved).
fn run_checks(em: &Emulator, body: &Map<String, Value>, channel: Channel) -> Result<(), Refusal> {
    let Some(api) = em.contract.api(MESSAGING) else {
        return Ok(());
    };
    let mut read = Value::Object(body.clone());
    read["deliverychannel"] = Value::from(channel.name());
    match api.failed_check(&read) {
        Some(check) => Err(Refusal::Chosen(MESSAGING, check.key.clone())),
        None => Ok(()),
    }
}

/// What the checks cannot say about the channel's object; the texts it carries, for the
/// content checks.
fn channel_content(
    body: &Map<String, Value>,
    channel: Channel,
) -> Result<Vec<String>, Msg<'static>> {
    let channels = object(body.get("channels"));
    let part = |key: &str| channels.and_then(|c| object(c.get(key)));
    let mut texts = Vec::new();
    match channel {
        Channel::Sms => {
            let sms = part("sms").ok_or(SMS_MISSING)?;
            let ty = sms.get("type").and_then(int_of).unwrap_or(1);
            let text = if ty == 1 {
                text_of(sms, "text").ok_or(SMS_TEXT)?
            } else {
                text_of(sms, "body").ok_or(SMS_BODY)?
            };
            texts.push(text.to_owned());
            if let Some(sender) = sms.get("senderid").filter(|v| !v.is_null()) {
                if !valid_sender(sender.as_str().unwrap_or("")) {
                    return Err(INVALID_SENDER);
                }
            }
        }
        Channel::Push => {
            let push = part("push").ok_or(PUSH_MISSING)?;
            for device in ["android", "ios"] {
                if let Some(text) = object(push.get(device)).and_then(|d| text_of(d, "text")) {
                    texts.push(text.to_owned());
                }
            }
            if let Some(i) = push.get("interactive").filter(|v| !v.is_null()) {
                interactive::check(i, channel)?;
            }
        }
        Channel::Rt => {
            let am = part("appmessaging").ok_or(APPMESSAGING_MISSING)?;
            let text = text_of(am, "text")
                .or_else(|| object(am.get("message")).and_then(|m| text_of(m, "text")))
                .ok_or(RT_TEXT)?;
            texts.push(text.to_owned());
            if let Some(i) = am.get("interactive").filter(|v| !v.is_null()) {
                interactive::check(i, channel)?;
            }
        }
        Channel::Fb => {
            let fb = part("OTT-Messaging").and_then(|o| object(o.get("fb")));
            texts.extend(fb.and_then(|f| text_of(f, "text")).map(str::to_owned));
        }
        Channel::Voice => {}
    }
    Ok(texts)
}

/// A sender ID: 1 to 11 letters and digits (an alphanumeric sender), or 3 to 15 digits
/// with an optional `+` (a number).
fn valid_sender(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (digits.len() >= 3 && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()))
        || (!s.is_empty() && s.len() <= 11 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The app a message names (none: the account's own) must be linked and enabled for the
/// message's channel.
fn check_app(
    em: &Emulator,
    body: &Map<String, Value>,
    channel: Channel,
) -> Result<(), Msg<'static>> {
    let Some(id) = body
        .get("appid")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Ok(());
    };
    let app = super::profile::app(em, id).ok_or(INVALID_APP)?;
    match channel {
        Channel::Rt if !app.sends_on(channel.name()) => Err(RTM_DISABLED),
        Channel::Push if !app.sends_on(channel.name()) => Err(PUSH_DISABLED),
        _ => Ok(()),
    }
}

fn check_template(body: &Map<String, Value>) -> Result<(), Msg<'static>> {
    let Some(t) = object(body.get("message")).and_then(|m| m.get("template")) else {
        return Ok(());
    };
    let ok = match t {
        Value::Null => true,
        Value::Number(n) => n.as_u64().is_some(),
        Value::String(s) => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    };
    if ok { Ok(()) } else { Err(INVALID_TEMPLATE) }
}

/// Content rules: blank text (7631), too long (7107), a control character (7618), the
/// word "spam" (7111).
fn check_content(texts: &[String]) -> Result<(), Msg<'static>> {
    for t in texts {
        if t.trim().is_empty() {
            return Err(EMPTY_TEXT);
        }
        if t.chars().count() > MAX_TEXT {
            return Err(TOO_LONG);
        }
        if t.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(BAD_CHARACTER);
        }
        if t.split(|c: char| !c.is_alphanumeric())
            .any(|w| w.eq_ignore_ascii_case("spam"))
        {
            return Err(SPAM);
        }
    }
    Ok(())
}

fn valid_msisdn(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

fn valid_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty() && domain.contains('.') && !domain.starts_with('.')
        }
        None => false,
    }
}

/// Per-address rules: a malformed msisdn or email (7102), a test destination that fails at
/// once, a customerid without a profile (7105).
fn check_addresses(em: &Emulator, who: &Principal, addresses: &[Address]) -> Result<(), Refusal> {
    for a in addresses {
        let ok = match a.kind {
            "msisdn" => valid_msisdn(&a.value),
            "email" => valid_email(&a.value),
            _ => true,
        };
        if !ok {
            return Err(INVALID_ADDRESS.into());
        }
        if let Some(sb) = sandbox(&a.value).filter(|s| s.at_once) {
            let c = &em.contract;
            let fate = keys::chosen(c, MESSAGING, sb.code, sb.index).filter(|key| {
                keys::message(c, MESSAGING, key).is_some_and(|(row, _)| {
                    row.code.number().is_some_and(|n| n >= 7101)
                        && row.outcome == verdict::Outcome::Error
                })
            });
            if let Some(key) = fate {
                return Err(Refusal::Chosen(MESSAGING, key.to_owned()));
            }
        }
    }
    let customers: Vec<&str> = addresses
        .iter()
        .filter(|a| a.kind == "customerid")
        .map(|a| a.value.as_str())
        .collect();
    if !customers.is_empty() {
        let mut state = em.lock();
        let store = state.collection(super::profile::CUSTOMERS);
        if let Some(_missing) = customers
            .iter()
            .find(|c| !store.contains(&super::profile::customer_key(&who.account, c)))
        {
            return Err(NO_CUSTOMER.into());
        }
    }
    Ok(())
}

/// The collection that holds transactions.
pub(crate) const TRANSACTIONS: &str = "webex-connect-transactions";

/// Answers a messaging request.
pub(crate) fn send(em: &Emulator, ctx: &Ctx<'_>, who: &Principal) -> Reply {
    match accept(em, ctx, who) {
        Ok(reply) => reply,
        Err(refusal) => refusal.into_reply(em, ctx),
    }
}

fn accept(em: &Emulator, ctx: &Ctx<'_>, who: &Principal) -> Result<Reply, Refusal> {
    let body = json_object(em, ctx, MESSAGING)?;
    if expired(body.get("expiry")) {
        return Err(REQUEST_EXPIRED.into());
    }
    let addresses = destinations(&body)?;
    refuse_deprecated_channel(em, &body)?;
    let channel = channel_of(&body)?;
    run_checks(em, &body, channel)?;
    let texts = channel_content(&body, channel)?;
    check_app(em, &body, channel)?;
    check_template(&body)?;
    check_content(&texts)?;
    check_addresses(em, who, &addresses)?;
    spend(em, ctx, MESSAGING, &who.credential, addresses.len() as u64)?;

    let delay = em.config.accept_delay.unwrap_or(DEFAULT_DELIVERY_DELAY);
    let (now, wall) = (Instant::now(), SystemTime::now());
    let created = timestamp(wall);
    let final_at = timestamp(wall + delay);
    let (submitted_code, submitted) = SUBMITTED
        .lookup(&em.contract)
        .map(|(row, m)| (row.code.to_string(), m.text.clone()))
        .unwrap_or_default();
    let mut response = Vec::with_capacity(addresses.len());
    let mut state = em.lock();
    for a in &addresses {
        let transid = em.rng.uuid();
        // The final message: the one the test destination chose (never the 7501 a
        // transaction reads until then), Delivered otherwise.
        let final_key = sandbox(&a.value)
            .filter(|s| !s.at_once)
            .and_then(|s| keys::chosen(&em.contract, STATUS, s.code, s.index))
            .filter(|key| *key != status::SUBMITTED.key())
            .unwrap_or(status::DELIVERED.key());
        let value = json!({
            "transid": transid,
            "channel": channel.name(),
            "to": a.value,
            "to_type": a.kind,
            "correlationid": a.correlationid.clone().unwrap_or(Value::Null),
            "final_key": final_key,
            "date_created": created,
            "final_at": final_at,
        });
        let new = NewItem {
            value,
            owner: who.credential.clone(),
            ready_at: Some(now + delay),
        };
        state.insert(TRANSACTIONS, &transid, new, em.spec.store_limit);
        // Old transactions are forgotten past the store limit (their status reads 7600).
        state.remove_oldest(TRANSACTIONS, em.spec.store_limit);
        let mut entry = json!({
            "code": submitted_code,
            "description": submitted,
            "transid": transid,
            "destination": a.value,
        });
        if let Some(cid) = &a.correlationid {
            entry["correlationid"] = cid.clone();
        }
        response.push(entry);
    }
    drop(state);
    let mut extra = Map::new();
    if let Some(first) = response.first() {
        extra.insert("transid".into(), first["transid"].clone());
    }
    if let Some(cid) = body.get("correlationid") {
        extra.insert("correlationid".into(), cid.clone());
    }
    extra.insert("response".into(), Value::Array(response));
    Ok(answer(em, ctx, SUBMITTED, extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_named_message_says_what_its_name_says() {
        let c = verdict::Catalog::builtin().get("webex-connect").unwrap();
        for (msg, fragment) in [
            (DESTINATION_MANDATORY, "any one of [customerid"),
            (PUSH_MISSING, "'push' missing"),
            (RT_TEXT, "'text' missing for channel rt"),
            (APPMESSAGING_MISSING, "'appmessaging' missing"),
            (SMS_BODY, "'body' missing for channel sms"),
            (SMS_TEXT, "'text' missing for channel sms"),
            (SMS_MISSING, "'sms' missing"),
            (NO_CHANNEL_INFO, "No destination channel"),
            (DELIVERYCHANNEL_MISSING, "'deliverychannel' missing"),
            (REQUEST_EXPIRED, "expired"),
            (TOO_MANY_DESTINATIONS, "destination"),
            (DESTINATION_EXPIRED, "expired"),
            (INVALID_SENDER, "Sender"),
            (INVALID_ADDRESS, "address"),
            (INVALID_APP, "app id"),
            (NO_CUSTOMER, "Customer profile"),
            (CHANNEL_NOT_CONFIGURED, "Channel not configured"),
            (TOO_LONG, "length"),
            (INVALID_TEMPLATE, "template"),
            (SPAM, "content"),
            (RTM_DISABLED, "RTM"),
            (PUSH_DISABLED, "push"),
            (BAD_CHARACTER, "characters"),
            (EMPTY_TEXT, "Text message is empty"),
            (SUBMITTED, "Submit"),
        ] {
            let text = msg.text(c);
            assert!(
                text.contains(fragment),
                "{msg:?}: {text:?} lacks {fragment:?}"
            );
        }
    }

    #[test]
    fn test_destinations() {
        assert_eq!(
            sandbox("15550007109"),
            Some(Sandbox {
                at_once: false,
                code: 7109,
                index: 0
            })
        );
        assert_eq!(
            sandbox("+155500176012"),
            Some(Sandbox {
                at_once: true,
                code: 7601,
                index: 1
            })
        );
        for other in [
            "15550007",
            "155500071091234",
            "15550027109",
            "1555000710x",
            "155500071090",
        ] {
            assert_eq!(sandbox(other), None, "{other}");
        }
    }

    #[test]
    fn content_rules() {
        let t = |s: &str| check_content(&[s.to_owned()]);
        assert_eq!(t("hello"), Ok(()));
        assert_eq!(t("  "), Err(EMPTY_TEXT));
        assert_eq!(t(&"x".repeat(MAX_TEXT + 1)), Err(TOO_LONG));
        assert_eq!(t(&"é".repeat(MAX_TEXT)), Ok(()), "characters, not bytes");
        assert_eq!(t("bell\u{7}"), Err(BAD_CHARACTER));
        assert_eq!(t("line\nbreak"), Ok(()));
        assert_eq!(t("buy SPAM now"), Err(SPAM));
        assert_eq!(t("spamalot"), Ok(()), "whole words only");
    }

    #[test]
    fn senders_and_addresses() {
        assert!(!valid_sender("VM-CONNECT"));
        assert!(valid_sender("CONNECT"));
        assert!(valid_sender("+4470000000"));
        assert!(!valid_sender("TOOLONGSENDERID"));
        assert!(valid_msisdn("+447700900123"));
        assert!(!valid_msisdn("12ab"));
        assert!(valid_email("a@b.co"));
        assert!(!valid_email("a@b"));
    }
}
