//! Whispir: an API key in `x-api-key` beside the Authorization header (a wrong key is a
//! 403, missing credentials a 401), and error bodies with `errorSummary` and `errorText`.

use serde_json::Value;

use super::Vendor;
use crate::Emulator;
use crate::reply::Reply;
use crate::request::{Ctx, Principal};

pub struct Whispir;

impl Vendor for Whispir {
    fn authenticate(&self, em: &Emulator, ctx: &Ctx<'_>) -> Result<Principal, Reply> {
        let key = ctx.req.header("x-api-key");
        let auth = ctx.req.header("authorization");
        if auth.is_none() {
            return Err(em.error(
                ctx,
                401,
                Some("No credentials were passed; send the Authorization header."),
                &[],
            ));
        }
        let bearer = auth.and_then(|a| a.strip_prefix("Bearer ")).map(str::trim);
        let basic = auth
            .and_then(|a| a.strip_prefix("Basic "))
            .and_then(crate::util::base64_decode)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.split_once(':').map(|(_, p)| p.to_owned()));
        let secret = bearer.map(str::to_owned).or(basic);
        let known = secret.as_deref().and_then(|s| em.lock().token(s).cloned());
        match (known, key) {
            (None, _) => Err(em.error(
                ctx,
                401,
                Some("The credentials in the Authorization header are not valid."),
                &[],
            )),
            (Some(_), None) => {
                Err(em.error(ctx, 403, Some("The x-api-key header is missing."), &[]))
            }
            (Some(t), Some(k)) if k == em.config.token || em.lock().token(k).is_some() => {
                if t.revoked {
                    return Err(em.error(
                        ctx,
                        401,
                        Some("The access token has been revoked."),
                        &[],
                    ));
                }
                Ok(Principal {
                    credential: t.token,
                    account: t.account,
                    read_only: t.read_only,
                })
            }
            (Some(_), Some(_)) => Err(em.error(ctx, 403, Some("The API key is not valid."), &[])),
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
