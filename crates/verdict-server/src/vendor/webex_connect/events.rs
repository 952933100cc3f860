//! `POST /resources/v1/events/externalevent`: custom events, each naming its event id and
//! its parameters. The custom events of the emulated service and their mandatory
//! parameters are the contract's (`[[emulator.event]]`); every event of a request must
//! pass, or the request fails.

use serde_json::{Map, Value, json};
use verdict::EventParameter;
use verdict::emulate::CustomEvent;

use super::{EVENT, Msg, Refusal, answer, json_object, parse_time, spend};
use crate::Emulator;
use crate::reply::Reply;
use crate::request::{Ctx, Principal};

use super::keys::event::*;

fn fits(kind: EventParameter, v: &Value) -> bool {
    match (kind, v) {
        (EventParameter::Text, Value::String(_) | Value::Number(_)) => true,
        (EventParameter::Number, Value::Number(_)) => true,
        (EventParameter::Number, Value::String(s)) => {
            s.trim().parse::<f64>().is_ok_and(f64::is_finite)
        }
        (EventParameter::Currency, Value::String(s)) => {
            s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
        }
        (EventParameter::Time, Value::String(s)) => parse_time(s).is_some(),
        _ => false,
    }
}

fn blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

/// Checks one event against the configured `events`: an unknown id, parameters that are
/// not an object or hold a list or an object, or a value of the wrong kind is 7004; a
/// mandatory parameter absent or empty is 7025.
fn check<'e>(events: &'e [CustomEvent], event: &Value) -> Result<&'e CustomEvent, Msg<'static>> {
    let event = event.as_object().ok_or(INVALID_VALUE)?;
    let def = event
        .get("evtid")
        .and_then(Value::as_str)
        .and_then(|id| events.iter().find(|e| e.id == id))
        .ok_or(INVALID_VALUE)?;
    let empty = Map::new();
    let params = match event.get("parameters") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => return Err(INVALID_VALUE),
    };
    if params.values().any(|v| v.is_array() || v.is_object()) {
        return Err(INVALID_VALUE);
    }
    if def
        .parameters
        .iter()
        .any(|(name, _)| blank(params.get(name)))
    {
        return Err(MANDATORY_MISSING);
    }
    for (name, kind) in &def.parameters {
        if !params.get(name).is_some_and(|v| fits(*kind, v)) {
            return Err(INVALID_VALUE);
        }
    }
    Ok(def)
}

/// Answers an event request.
pub(crate) fn post(em: &Emulator, ctx: &Ctx<'_>, who: &Principal) -> Reply {
    match accept(em, ctx, who) {
        Ok(reply) => reply,
        Err(refusal) => refusal.into_reply(em, ctx),
    }
}

fn accept(em: &Emulator, ctx: &Ctx<'_>, who: &Principal) -> Result<Reply, Refusal> {
    let body = json_object(em, ctx, EVENT)?;
    let events = body
        .get("events")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
        .ok_or(INVALID_VALUE)?;
    let mut ids = Vec::with_capacity(events.len());
    for e in events {
        ids.push(check(&em.spec.events, e)?.id.as_str());
    }
    spend(em, ctx, EVENT, &who.credential, events.len() as u64)?;
    let response: Vec<Value> = events
        .iter()
        .zip(ids)
        .map(|(e, id)| {
            json!({
                "evtid": id,
                "correlationid": e.get("correlationid").cloned().unwrap_or(Value::Null),
                "transid": em.rng.uuid(),
            })
        })
        .collect();
    let mut extra = Map::new();
    extra.insert("transid".into(), response[0]["transid"].clone());
    extra.insert("response".into(), Value::Array(response));
    Ok(answer(em, ctx, QUEUED, extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_named_message_says_what_its_name_says() {
        let c = verdict::Catalog::builtin().get("webex-connect").unwrap();
        assert_eq!(QUEUED.text(c), "Queues");
        assert!(INVALID_VALUE.text(c).contains("Invalid value"));
        assert!(MANDATORY_MISSING.text(c).contains("Mandatory custom"));
    }

    #[test]
    fn events_are_checked() {
        let c = verdict::Catalog::builtin().get("webex-connect").unwrap();
        let events = &c.emulator.as_ref().unwrap().events;
        let check = |e: &Value| check(events, e);
        let ok = json!({"evtid": "payment_received", "parameters": {"amount": "12.50", "currency": "EUR", "note": 1}});
        assert!(check(&ok).is_ok());
        for (bad, why) in [
            (json!({"evtid": "nope"}), INVALID_VALUE),
            (
                json!({"evtid": "payment_received", "parameters": {"amount": 1}}),
                MANDATORY_MISSING,
            ),
            (
                json!({"evtid": "payment_received", "parameters": {"amount": "", "currency": "EUR"}}),
                MANDATORY_MISSING,
            ),
            (
                json!({"evtid": "payment_received", "parameters": {"amount": "lots", "currency": "EUR"}}),
                INVALID_VALUE,
            ),
            (
                json!({"evtid": "payment_received", "parameters": {"amount": 1, "currency": "eur"}}),
                INVALID_VALUE,
            ),
            (
                json!({"evtid": "appointment_reminder", "parameters": {"customerId": "c", "appointmentTime": "soon"}}),
                INVALID_VALUE,
            ),
            (
                json!({"evtid": "order_shipped", "parameters": {"orderId": "o", "customerId": "c", "x": [1]}}),
                INVALID_VALUE,
            ),
            (
                json!({"evtid": "order_shipped", "parameters": "o"}),
                INVALID_VALUE,
            ),
            (json!("order_shipped"), INVALID_VALUE),
        ] {
            assert_eq!(check(&bad).err(), Some(why), "{bad}");
        }
    }
}
