//! `GET /resources/v1/messaging/status/{transid}`: the state of one transaction. It reads
//! 7501 until its delay has passed, then its final message (the key the transaction
//! keeps): 7500 Delivered, or the message its test destination chose.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::keys::status::*;
use super::messaging::TRANSACTIONS;
use super::{Refusal, STATUS, answer_key, expired, keys, spend};
use crate::Emulator;
use crate::reply::Reply;
use crate::request::{Ctx, Principal};

/// Answers a status query for `transid`.
pub(crate) fn get(em: &Emulator, ctx: &Ctx<'_>, who: &Principal, transid: &str) -> Reply {
    match lookup(em, ctx, who, transid) {
        Ok(reply) => reply,
        Err(refusal) => refusal.into_reply(em, ctx),
    }
}

fn lookup(em: &Emulator, ctx: &Ctx<'_>, who: &Principal, transid: &str) -> Result<Reply, Refusal> {
    if expired(ctx.req.query_value("expiry").map(Value::String).as_ref()) {
        return Err(REQUEST_EXPIRED.into());
    }
    spend(em, ctx, STATUS, &who.credential, 1)?;
    let item = em
        .lock()
        .collection(TRANSACTIONS)
        .get(transid)
        .cloned()
        .ok_or(NO_RESULTS)?;
    if item.owner != who.credential {
        return Err(NOT_YOURS.into());
    }
    let v = &item.value;
    let done = item.ready_at.is_none_or(|at| at <= Instant::now());
    let (key, updated) = if done {
        let key = v["final_key"].as_str().unwrap_or(DELIVERED.key());
        (key, v["final_at"].clone())
    } else {
        (SUBMITTED.key(), v["date_created"].clone())
    };
    let row = keys::message(&em.contract, STATUS, key).map(|(row, _)| row);
    let state = match row.and_then(|r| r.code.number()) {
        _ if !done => "submitted",
        Some(7500) => "delivered",
        Some(7502) => "read",
        _ => "failed",
    };
    // A final code that travels with an error status fails the query as a whole (a
    // provider fault, an expired request...): it carries no transaction.
    if row.is_some_and(|r| r.http_status != 200) {
        return Ok(answer_key(em, ctx, STATUS, key, Map::new()));
    }
    let mut extra = Map::new();
    for (k, val) in [
        ("transactionid", json!(transid)),
        ("channel", v["channel"].clone()),
        ("to", v["to"].clone()),
        ("status", json!(state)),
        ("correlationid", v["correlationid"].clone()),
        ("date_created", v["date_created"].clone()),
        ("last_updated", updated),
    ] {
        extra.insert(k.into(), val);
    }
    Ok(answer_key(em, ctx, STATUS, key, extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_named_message_says_what_its_name_says() {
        let c = verdict::Catalog::builtin().get("webex-connect").unwrap();
        assert!(REQUEST_EXPIRED.text(c).contains("expired"));
        assert_eq!(SUBMITTED.text(c), "Submitted");
        assert!(NO_RESULTS.text(c).contains("results"));
        assert!(NOT_YOURS.text(c).contains("not under this service"));
    }
}
