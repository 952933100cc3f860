//! Whispir: an API key in `x-api-key` beside the Authorization header (a wrong key is a
//! 403, missing credentials a 401), and error bodies with `errorSummary` and `errorText`.

use serde_json::Value;

use super::Vendor;
use crate::Emulator;
use crate::reply::Reply;
use crate::request::{Ctx, Principal};
use verdict::RefusalReason;

pub struct Whispir;

impl Vendor for Whispir {
    /// The bearer token or basic password as the contract's refusals say; then the API key,
    /// a second credential: missing or unknown, a 403.
    fn authenticate(&self, em: &Emulator, ctx: &Ctx<'_>) -> Result<Principal, Reply> {
        let Some(auth) = ctx.req.header("authorization") else {
            return Err(em.credential_refusal(ctx, RefusalReason::Missing));
        };
        let bearer = auth.strip_prefix("Bearer ").map(str::trim);
        let basic = auth
            .strip_prefix("Basic ")
            .and_then(crate::util::base64_decode)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.split_once(':').map(|(_, p)| p.to_owned()));
        let secret = bearer.map(str::to_owned).or(basic);
        let known = secret.as_deref().and_then(|s| em.lock().token(s).cloned());
        let Some(t) = known else {
            return Err(em.credential_refusal(ctx, RefusalReason::Unknown));
        };
        match ctx.req.header("x-api-key") {
            None => Err(em.error(ctx, 403, Some("The x-api-key header is missing."), &[])),
            Some(k) if k != em.config.token && em.lock().token(k).is_none() => {
                Err(em.error(ctx, 403, Some("The API key is not valid."), &[]))
            }
            Some(_) if t.revoked => Err(em.credential_refusal(ctx, RefusalReason::Revoked)),
            Some(_) => Ok(Principal {
                credential: t.token,
                account: t.account,
                read_only: t.read_only,
            }),
        }
    }

    fn fields_value(&self, _em: &Emulator, fields: &[String]) -> Value {
        Value::String(fields.join(", "))
    }

    fn banner(&self, em: &Emulator) -> Vec<String> {
        vec![
            format!("Authorization: Bearer {}", em.config.token),
            format!("x-api-key: {}", em.config.token),
        ]
    }
}
