//! What only one vendor does: one module per vendor, behind one trait with generic
//! defaults.

use std::borrow::Cow;

use serde_json::{Map, Value, json};
use verdict::emulate::ResourceSpec;
use verdict::{AuthScheme, IdStyle, VendorModule};

use crate::openapi::Route;
use crate::reply::Reply;
use crate::request::{Ctx, Principal};
use crate::state::State;
use crate::{Config, Emulator, OAuth};
use verdict::RefusalReason;

mod ringcentral;
mod token_api;
mod webex;
mod webex_connect;
mod whispir;

/// Hooks with generic defaults; a vendor module overrides what its document describes.
pub trait Vendor: Send + Sync {
    /// What the module needs of the contract beyond what the loader checks (the messages
    /// it answers with, by key); a contract without it cannot be emulated by this module.
    fn check_contract(&self, _contract: &verdict::Contract) -> Result<(), String> {
        Ok(())
    }

    /// Who is calling, or the 401/403 that refuses them.
    fn authenticate(&self, em: &Emulator, ctx: &Ctx<'_>) -> Result<Principal, Reply> {
        generic_auth(em, ctx)
    }

    /// Routes that need no credentials (e.g. an OAuth token endpoint), answered before
    /// authentication.
    fn before_auth(&self, _em: &Emulator, _ctx: &Ctx<'_>) -> Option<Reply> {
        None
    }

    /// The path under which the emulator serves what `path` names, when the vendor gives
    /// one thing two names (RingCentral: the account's and extension's own ids for `~`).
    fn alias(&self, _em: &Emulator, _path: &str) -> Option<String> {
        None
    }

    /// What its OAuth 2.0 token endpoint accepts and issues, when it serves one.
    fn oauth(&self) -> Option<&OAuth> {
        None
    }

    /// Routes only this vendor has, answered before the contract's resources.
    fn route(&self, _em: &Emulator, _ctx: &Ctx<'_>, _who: &Principal) -> Option<Reply> {
        None
    }

    /// Checks beyond types and required fields.
    fn check(
        &self,
        _em: &Emulator,
        _ctx: &Ctx<'_>,
        _r: &ResourceSpec,
        _body: &Map<String, Value>,
        _creating: bool,
    ) -> Result<(), Reply> {
        Ok(())
    }

    /// Fields the server fills in on create.
    fn decorate(
        &self,
        _em: &Emulator,
        _r: &ResourceSpec,
        _item: &mut Map<String, Value>,
        _who: &Principal,
        _state: &mut State,
    ) {
    }

    /// The answer to a body that is not a JSON object.
    fn invalid_json(&self, em: &Emulator, ctx: &Ctx<'_>, message: &str) -> Reply {
        em.error(ctx, 400, Some(message), &[])
    }

    /// Field errors as the vendor's body holds them.
    fn fields_value(&self, _em: &Emulator, fields: &[String]) -> Value {
        Value::Array(fields.iter().map(|f| json!({ "description": f })).collect())
    }

    /// The field errors of an error that names no field (none by default).
    fn fields_without_detail(&self, _message: &str) -> Option<Value> {
        None
    }

    /// The id of a new item of `r`, in its id style, after its prefix. (Sequential ids
    /// are counted where the item is stored, not drawn here.)
    fn new_id(&self, em: &Emulator, r: &ResourceSpec) -> String {
        let id = match r.id_style {
            IdStyle::Uuid => em.rng.uuid(),
            IdStyle::Hex => em.rng.hex(),
            IdStyle::Numeric | IdStyle::Sequential => {
                (em.rng.next_u64() % 9_000_000_000 + 1_000_000_000).to_string()
            }
        };
        match &r.id_prefix {
            Some(p) => format!("{p}{id}"),
            None => id,
        }
    }

    /// The request headers that carry credentials, for the start-up banner.
    fn banner(&self, em: &Emulator) -> Vec<String> {
        match &em.contract.auth.scheme {
            AuthScheme::ApiKey { header } => {
                vec![format!("{}: {}", header.as_str(), em.config.token)]
            }
            AuthScheme::Basic => vec![format!(
                "Authorization: Basic base64(any-user:{})",
                em.config.token
            )],
            _ => vec![format!("Authorization: Bearer {}", em.config.token)],
        }
    }

    /// The routes this vendor serves beyond the contract's resources (or answers it adds
    /// to theirs), with their answers and schemas: the OpenAPI document is built from
    /// them (none by default).
    fn routes(&self, _em: &Emulator) -> Vec<Route> {
        Vec::new()
    }
}

/// The module the contract's `[emulator] vendor` names (the generic one when it names none),
/// with what of `config` it alone reads.
pub fn for_module(module: Option<VendorModule>, config: &Config) -> Box<dyn Vendor> {
    match module {
        Some(VendorModule::Webex) => Box::new(webex::Webex),
        Some(VendorModule::Whispir) => Box::new(whispir::Whispir),
        Some(VendorModule::TokenApi) => Box::new(token_api::TokenApi),
        Some(VendorModule::RingCentral) => Box::new(ringcentral::RingCentral::new(config)),
        Some(VendorModule::WebexConnect) => Box::new(webex_connect::WebexConnect),
        None => Box::new(Generic),
    }
}

/// The behaviour the contract alone describes.
pub struct Generic;

impl Vendor for Generic {}

/// The credential a request presents, as the contract's auth scheme says (borrowed from
/// the request where it can be).
pub fn presented<'a>(em: &Emulator, ctx: &Ctx<'a>) -> Option<Cow<'a, str>> {
    let req = ctx.req;
    match &em.contract.auth.scheme {
        AuthScheme::None => Some(Cow::Borrowed("")),
        AuthScheme::ApiKey { header } => req.header(header.as_str()).map(Cow::Borrowed),
        AuthScheme::Basic => {
            let b64 = req
                .header(http::header::AUTHORIZATION)?
                .strip_prefix("Basic ")?;
            let text = String::from_utf8(crate::util::base64_decode(b64)?).ok()?;
            text.split_once(':')
                .map(|(_, secret)| Cow::Owned(secret.to_owned()))
        }
        AuthScheme::Bearer | AuthScheme::Oauth2 { .. } => {
            let v = req.header(http::header::AUTHORIZATION)?;
            em.contract.auth.token_in(v).map(Cow::Borrowed)
        }
    }
}

/// 405 with `Allow` for a method a vendor route does not serve, as the resources answer
/// it (the OpenAPI document lists the route's methods and nothing else).
pub fn not_allowed(em: &Emulator, ctx: &Ctx<'_>, allow: &[http::Method]) -> Reply {
    let allow: Vec<&str> = allow.iter().map(http::Method::as_str).collect();
    em.error(
        ctx,
        405,
        Some(&format!(
            "{} does not support {}; use {}.",
            ctx.req.path,
            ctx.req.method,
            allow.join(", ")
        )),
        &[],
    )
    .header("Allow", allow.join(", "))
}

/// The credential the contract's scheme carries, checked against the tokens the emulator
/// issued; a refusal is answered as the contract's `credential_refusals` say.
pub fn generic_auth(em: &Emulator, ctx: &Ctx<'_>) -> Result<Principal, Reply> {
    if matches!(em.contract.auth.scheme, AuthScheme::None) {
        return Ok(Principal {
            credential: "anonymous".into(),
            account: "account-1".into(),
            read_only: false,
        });
    }
    let Some(value) = presented(em, ctx) else {
        return Err(em.credential_refusal(ctx, RefusalReason::Missing));
    };
    issued(em, ctx, &value)
}

/// The principal of a token the emulator issued; an unknown or revoked one is refused.
fn issued(em: &Emulator, ctx: &Ctx<'_>, token: &str) -> Result<Principal, Reply> {
    let found = em.lock().token(token).map(|t| {
        (
            t.revoked,
            Principal {
                credential: t.token.clone(),
                account: t.account.clone(),
                read_only: t.read_only,
            },
        )
    });
    match found {
        Some((false, who)) => Ok(who),
        Some((true, _)) => Err(em.credential_refusal(ctx, RefusalReason::Revoked)),
        None => Err(em.credential_refusal(ctx, RefusalReason::Unknown)),
    }
}
