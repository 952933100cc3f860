//! `GET /resources/v1/messaging/status/{transid}`: the state of one transaction. It reads
//! 7501 until its delay has passed, then its final code: 7500 Delivered, or the code its
//! test destination names.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::messaging::TRANSACTIONS;
use super::{Msg, Refusal, STATUS, answer, expired, spend};
use crate::Emulator;
use crate::reply::Reply;
use crate::request::{Ctx, Principal};

pub(crate) const REQUEST_EXPIRED: Msg = Msg::new(STATUS, 7019, 0);
pub(crate) const SUBMITTED: Msg = Msg::new(STATUS, 7501, 0);
pub(crate) const NO_RESULTS: Msg = Msg::new(STATUS, 7600, 0);
pub(crate) const NOT_YOURS: Msg = Msg::new(STATUS, 7601, 0);

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
    let (msg, state, updated) = if done {
        let code = v["final_code"].as_u64().unwrap_or(7500) as u32;
        let index = v["final_index"].as_u64().unwrap_or(0) as usize;
        let state = match code {
            7500 => "delivered",
            7502 => "read",
            _ => "failed",
        };
        (Msg::new(STATUS, code, index), state, v["final_at"].clone())
    } else {
        (SUBMITTED, "submitted", v["date_created"].clone())
    };
    // A final code that travels with an error status fails the query as a whole (a
    // provider fault, an expired request...): it carries no transaction.
    if msg
        .lookup(&em.contract)
        .is_some_and(|(row, _)| row.http_status != 200)
    {
        return Ok(answer(em, ctx, msg, Map::new()));
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
    Ok(answer(em, ctx, msg, extra))
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
