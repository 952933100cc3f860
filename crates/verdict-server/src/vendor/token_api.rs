//! The token API: a token missing or sent in the body is a 401 that says so; an unknown or
//! revoked token (as its contract's refusals say), or one without write access, is a 403;
//! another account's id is a 404.

use serde_json::Value;

use super::{Vendor, generic_auth, presented};
use crate::Emulator;
use crate::reply::Reply;
use crate::request::{Ctx, Principal};
use verdict::RefusalReason;

pub struct TokenApi;

/// Whether a JSON body carries a field that looks like an API token.
fn token_in_body(body: &[u8]) -> bool {
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    ["api_token", "token", "apiToken", "access_token"]
        .iter()
        .any(|k| o.contains_key(*k))
}

impl Vendor for TokenApi {
    /// As the contract's refusals say (a token it does not know or revoked is a 403), and
    /// a token sent in the body rather than the header is a missing one, said so.
    fn authenticate(&self, em: &Emulator, ctx: &Ctx<'_>) -> Result<Principal, Reply> {
        if presented(em, ctx).is_none() && token_in_body(&ctx.req.body) {
            let words = "The API token was sent in the body; send it in the Authorization header as a bearer token.";
            return Err(em.credential_refusal_saying(ctx, RefusalReason::Missing, words));
        }
        generic_auth(em, ctx)
    }

    fn fields_value(&self, _em: &Emulator, fields: &[String]) -> Value {
        Value::Array(fields.iter().map(|f| Value::String(f.clone())).collect())
    }
}
