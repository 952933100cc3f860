//! The token API: a token missing or sent in the body is a 401 that says so; an unknown or
//! revoked token, or one without write access, is a 403; another account's id is a 404.

use serde_json::Value;

use super::{Vendor, presented};
use crate::Emulator;
use crate::reply::Reply;
use crate::request::{Ctx, Principal};

pub struct TokenApi;

impl Vendor for TokenApi {
    fn authenticate(&self, em: &Emulator, ctx: &Ctx<'_>) -> Result<Principal, Reply> {
        let Some(value) = presented(em, ctx) else {
            let in_body = serde_json::from_slice::<Value>(&ctx.req.body)
                .ok()
                .and_then(|b| {
                    b.as_object().map(|o| {
                        ["api_token", "token", "apiToken", "access_token"]
                            .iter()
                            .any(|k| o.contains_key(*k))
                    })
                })
                .unwrap_or(false);
            let message = if in_body {
                "The API token was sent in the body; send it in the Authorization header as a bearer token."
            } else {
                "The API token is missing; send it in the Authorization header as a bearer token."
            };
            return Err(em.error(ctx, 401, Some(message), &[]));
        };
        match em.lock().token(&value).cloned() {
            Some(t) if t.revoked => {
                Err(em.error(ctx, 403, Some("The API token has been revoked."), &[]))
            }
            Some(t) => Ok(Principal {
                credential: t.token,
                account: t.account,
                read_only: t.read_only,
            }),
            None => Err(em.error(ctx, 403, Some("The API token is not valid."), &[])),
        }
    }

    fn fields_value(&self, _em: &Emulator, fields: &[String]) -> Value {
        Value::Array(fields.iter().map(|f| Value::String(f.clone())).collect())
    }
}
