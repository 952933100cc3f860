//! RingCentral: an OAuth 2.0 token endpoint (password, JWT bearer, authorization code and
//! refresh grants, revocation) issuing access tokens that expire; batch reads that answer
//! 207 multipart/mixed; the account and the caller's extension; recordings whose content
//! honours Range (206); errors with RingCentral's `errorCode`.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};
use verdict::multipart::{self, Part};

use super::Vendor;
use crate::openapi::{Answer, Operation, Route, path_param};
use crate::reply::Reply;
use crate::request::{Ctx, Principal};
use crate::util::wall_ms as now_ms;
use crate::{Config, Emulator, OAuth};
use verdict::RefusalReason;

pub struct RingCentral {
    /// What its token endpoint accepts and issues.
    oauth: OAuth,
}

/// The token endpoint's credentials and lifetimes when the configuration names none: the
/// password grant's user is a phone number, as RingCentral's are.
fn default_oauth() -> OAuth {
    OAuth {
        client_id: "verdict-client-id".into(),
        client_secret: "verdict-client-secret".into(),
        username: "+16505550100".into(),
        password: "verdict-password".into(),
        access_ttl: Duration::from_secs(3600),
        refresh_ttl: Duration::from_secs(7 * 24 * 3600),
    }
}

const OWNER_ID: &str = "1000001";
const TOKENS: &str = "oauth-tokens";
/// The most issued tokens kept; issuing more forgets the oldest.
const MAX_TOKENS: usize = 10_000;
/// Recordings are this many bytes of a fixed pattern.
const RECORDING_LEN: usize = 4096;

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
    Reply::json(
        status,
        &json!({ "error": error, "error_description": description, "errors": [{ "errorCode": "OAU-101", "message": description }] }),
    )
}

/// The first value of a form parameter.
fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The JWT bearer grant's assertion is a well-formed token (three parts, the first two
/// base64).
fn check_assertion(assertion: &str) -> Result<(), Reply> {
    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3
        || parts
            .iter()
            .take(2)
            .any(|p| crate::util::base64_decode(p).is_none())
    {
        return Err(oauth_error(
            400,
            "invalid_grant",
            "The JWT assertion is not a well-formed token.",
        ));
    }
    Ok(())
}

/// The refresh grant's token is known, unexpired and unused; it is used up (refresh tokens
/// are used once: the pair is replaced).
fn use_refresh_token(em: &Emulator, refresh: &str) -> Result<(), Reply> {
    let mut state = em.lock();
    let found = state
        .collection(TOKENS)
        .iter()
        .find(|(_, t)| t.value["refresh_token"] == refresh)
        .map(|(k, t)| (k.clone(), t.value.clone()));
    match found {
        Some((key, t))
            if t["revoked"] != true
                && t["refresh_expires_at_ms"].as_u64().unwrap_or(0) > now_ms() =>
        {
            state.update(TOKENS, &key, |t| t["revoked"] = Value::Bool(true));
            Ok(())
        }
        Some(_) => Err(oauth_error(
            400,
            "invalid_grant",
            "Token is expired or revoked.",
        )),
        None => Err(oauth_error(
            400,
            "invalid_grant",
            "Refresh token is not valid.",
        )),
    }
}

/// A TTL parameter: a positive number of seconds within `max`; anything else (negative,
/// zero, missing, garbage, as SDKs sometimes send) means the default.
fn ttl(params: &[(String, String)], key: &str, default: Duration, max: Duration) -> Duration {
    params
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.trim().parse::<i64>().ok())
        .filter(|n| *n > 0)
        .map_or(default, |n| Duration::from_secs(n as u64).min(max))
}

impl RingCentral {
    /// The module, its token endpoint set up by `config` over RingCentral's defaults.
    pub fn new(config: &Config) -> RingCentral {
        RingCentral {
            oauth: config.oauth.over(default_oauth()),
        }
    }

    /// `POST /restapi/oauth/token`: checks the client and the grant, then issues a pair.
    fn token(&self, em: &Emulator, ctx: &Ctx<'_>) -> Reply {
        let req = ctx.req;
        if req.method != Method::POST {
            return oauth_error(405, "invalid_request", "Use POST for the token endpoint.")
                .header("Allow", "POST");
        }
        if let Err(refused) = self.check_client(ctx) {
            return refused;
        }
        let params = form(&req.body);
        match self.check_grant(em, &params) {
            Ok(()) => self.issue(em, &params),
            Err(refused) => refused,
        }
    }

    /// The client's HTTP Basic credentials are the configured ones.
    fn check_client(&self, ctx: &Ctx<'_>) -> Result<(), Reply> {
        let client = ctx
            .req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Basic "))
            .and_then(crate::util::base64_decode)
            .and_then(|b| String::from_utf8(b).ok());
        match client.as_deref().and_then(|c| c.split_once(':')) {
            Some((id, secret))
                if id == self.oauth.client_id && secret == self.oauth.client_secret =>
            {
                Ok(())
            }
            Some((id, _)) => Err(oauth_error(
                401,
                "invalid_client",
                &format!("Invalid client: {id}"),
            )),
            None => Err(oauth_error(
                401,
                "invalid_client",
                "Client credentials are missing; send them with HTTP Basic authentication.",
            )),
        }
    }

    /// The grant the form names is one RingCentral accepts, and valid.
    fn check_grant(&self, em: &Emulator, params: &[(String, String)]) -> Result<(), Reply> {
        let get = |k: &str| param(params, k);
        let invalid = |description: &str| Err(oauth_error(400, "invalid_request", description));
        match get("grant_type").unwrap_or("") {
            "password" => self.check_password(get("username"), get("password")),
            "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
                check_assertion(get("assertion").unwrap_or(""))
            }
            "authorization_code" if get("code").is_none_or(str::is_empty) => {
                invalid("The authorization code is missing.")
            }
            "authorization_code" => Ok(()),
            "refresh_token" => match get("refresh_token") {
                Some(refresh) => use_refresh_token(em, refresh),
                None => invalid("The refresh token is missing."),
            },
            "" => invalid("grant_type is missing."),
            other => Err(oauth_error(
                400,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {other}"),
            )),
        }
    }

    /// The password grant's user and password are the configured ones.
    fn check_password(&self, user: Option<&str>, password: Option<&str>) -> Result<(), Reply> {
        // RingCentral accepts the phone number with an optional `*extension`.
        let user = user.unwrap_or("").split('*').next().unwrap_or("");
        if user != self.oauth.username || password != Some(self.oauth.password.as_str()) {
            return Err(oauth_error(
                400,
                "invalid_grant",
                "Invalid resource owner credentials.",
            ));
        }
        Ok(())
    }

    /// Issues and keeps a new access and refresh token pair.
    fn issue(&self, em: &Emulator, params: &[(String, String)]) -> Reply {
        let oauth = &self.oauth;
        // A requested lifetime is honoured up to the configured one, so that a short
        // --token-ttl makes every session refresh.
        let access_ttl = ttl(
            params,
            "access_token_ttl",
            oauth.access_ttl,
            oauth.access_ttl,
        );
        let refresh_ttl = ttl(
            params,
            "refresh_token_ttl",
            oauth.refresh_ttl,
            Duration::from_secs(7 * 24 * 3600).max(oauth.refresh_ttl),
        );
        let access = format!("U1BCMDFUMDRKV1MwMXxhY2Nlc3N8{}", em.rng.hex());
        let refresh = format!("U1BCMDFUMDRKV1MwMXxyZWZyZXNofA{}", em.rng.hex());
        let record = json!({
            "access_token": access,
            "refresh_token": refresh,
            "expires_at_ms": now_ms() + access_ttl.as_millis() as u64,
            "refresh_expires_at_ms": now_ms() + refresh_ttl.as_millis() as u64,
            "revoked": false,
        });
        let mut state = em.lock();
        let new = crate::state::NewItem {
            value: record,
            owner: "account-1".into(),
            ready_at: None,
        };
        state.insert(TOKENS, &access, new, MAX_TOKENS);
        // Issued tokens are kept up to a bound: the oldest go first.
        state.remove_oldest(TOKENS, MAX_TOKENS);
        drop(state);
        Reply::json(
            200,
            &json!({
                "access_token": access,
                "token_type": "bearer",
                "expires_in": access_ttl.as_secs(),
                "refresh_token": refresh,
                "refresh_token_expires_in": refresh_ttl.as_secs(),
                "scope": "ReadAccounts EditExtensions ReadCallLog",
                "owner_id": OWNER_ID,
                "endpoint_id": em.rng.hex(),
            }),
        )
        .header("Cache-Control", "no-store")
    }

    fn revoke(&self, em: &Emulator, ctx: &Ctx<'_>) -> Reply {
        let params = form(&ctx.req.body);
        let Some(token) = params
            .iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.clone())
        else {
            return oauth_error(400, "invalid_request", "The token to revoke is missing.");
        };
        let mut state = em.lock();
        let revoked: Vec<String> = state
            .collection(TOKENS)
            .iter()
            .filter(|(_, item)| {
                item.value["access_token"] == token.as_str()
                    || item.value["refresh_token"] == token.as_str()
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in revoked {
            state.update(TOKENS, &key, |t| t["revoked"] = Value::Bool(true));
        }
        Reply::empty(200)
    }

    /// `GET …/extension/1,2,3`: one part per id, after a part with the real statuses.
    fn batch(
        &self,
        em: &Emulator,
        ctx: &Ctx<'_>,
        resource: &verdict::emulate::ResourceSpec,
        ids: &str,
        who: &Principal,
    ) -> Reply {
        let ids: Vec<&str> = ids.split(',').map(str::trim).collect();
        if ids.len() > 30 || ids.iter().any(|i| i.is_empty()) {
            return em.error(
                ctx,
                400,
                Some("A batch names 1 to 30 ids separated by commas."),
                &["the id list is invalid".into()],
            );
        }
        let mut statuses = Vec::new();
        let mut parts = Vec::new();
        {
            let mut state = em.lock();
            let items = state.collection(&resource.name);
            for id in &ids {
                let (status, body) = match items.get(id) {
                    _ if *id == OWNER_ID && resource.path == EXTENSIONS => (200, own_extension()),
                    Some(item) if item.owner == who.account => (200, item.value.clone()),
                    _ => {
                        let code = em.spec.error_code(404).unwrap_or_default();
                        let message =
                            format!("Resource for parameter [extensionId] is not found: {id}");
                        let body = json!({ "errorCode": code, "message": message, "errors": [{ "errorCode": code, "message": message, "parameterName": "extensionId", "parameterValue": id }] });
                        (404, body)
                    }
                };
                statuses.push(json!({ "status": status }));
                parts.push(json_part(&body));
            }
        }
        parts.insert(0, json_part(&json!({ "response": statuses })));
        let boundary = format!("Boundary_{}", em.rng.next_u64() % 1_000_000_000);
        let mut reply = Reply::empty(207);
        reply.body = Bytes::from(multipart::write(&boundary, &parts));
        reply.header(
            "Content-Type",
            format!("multipart/mixed; boundary={boundary}"),
        )
    }

    fn recording(&self, em: &Emulator, ctx: &Ctx<'_>) -> Reply {
        let content: Vec<u8> = (0..RECORDING_LEN).map(|i| (i % 251) as u8).collect();
        let Some(range) = ctx.req.header("range") else {
            let mut r = Reply::empty(200)
                .header("Content-Type", "audio/mpeg")
                .header("Accept-Ranges", "bytes");
            r.body = Bytes::from(content);
            return r;
        };
        let parsed = range
            .strip_prefix("bytes=")
            .and_then(|r| r.split_once('-'))
            .and_then(|(a, b)| {
                let len = RECORDING_LEN as u64;
                match (a.trim().parse::<u64>().ok(), b.trim().parse::<u64>().ok()) {
                    (Some(a), Some(b)) if a <= b && a < len => Some((a, b.min(len - 1))),
                    (Some(a), None) if b.trim().is_empty() && a < len => Some((a, len - 1)),
                    (None, Some(n)) if a.trim().is_empty() && n > 0 => {
                        Some((len.saturating_sub(n), len - 1))
                    }
                    _ => None,
                }
            });
        match parsed {
            Some((a, b)) => {
                let mut r = Reply::empty(206)
                    .header("Content-Type", "audio/mpeg")
                    .header("Content-Range", format!("bytes {a}-{b}/{RECORDING_LEN}"));
                r.body = Bytes::copy_from_slice(&content[a as usize..=b as usize]);
                r
            }
            None => em
                .error(
                    ctx,
                    416,
                    Some(&format!(
                        "The range {range} is outside the {RECORDING_LEN} bytes of the recording."
                    )),
                    &[],
                )
                .header("Content-Range", format!("bytes */{RECORDING_LEN}")),
        }
    }
}

/// The path of the extensions collection, whose `~` is the caller's own extension.
const EXTENSIONS: &str = "/account/~/extension";

/// The caller's own extension (`extension/~`, or its id).
fn own_extension() -> Value {
    json!({ "id": OWNER_ID, "extensionNumber": "101", "name": "Verdict Emulator", "type": "User", "status": "Enabled", "account": { "id": OWNER_ID } })
}

/// The token and revocation endpoints, for the OpenAPI document.
fn oauth_routes() -> Vec<Route> {
    let form = "application/x-www-form-urlencoded";
    let token = json!({"type": "object", "required": ["access_token", "token_type", "expires_in"], "properties": {
        "access_token": {"type": "string"}, "token_type": {"type": "string"},
        "expires_in": {"type": "integer"}, "refresh_token": {"type": "string"},
        "refresh_token_expires_in": {"type": "integer"}, "scope": {"type": "string"},
        "owner_id": {"type": "string"}, "endpoint_id": {"type": "string"}}});
    let grant = json!({"type": "object", "required": ["grant_type"], "properties": {
        "grant_type": {"type": "string", "enum": ["password", "urn:ietf:params:oauth:grant-type:jwt-bearer", "authorization_code", "refresh_token"]},
        "username": {"type": "string"}, "password": {"type": "string"}, "assertion": {"type": "string"},
        "code": {"type": "string"}, "refresh_token": {"type": "string"},
        "access_token_ttl": {"type": "string"}, "refresh_token_ttl": {"type": "string"}}});
    let mut issue = Operation::new(Method::POST, "Issue an access token (OAuth 2.0)")
        .body(form, grant)
        .answer(Answer::json(200, "The token", token))
        .errors(&[
            (400, "The grant is not valid"),
            (401, "The client credentials are wrong or missing"),
        ]);
    issue.public = true;
    let mut revoke = Operation::new(Method::POST, "Revoke a token and its session")
        .body(form, json!({"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}}))
        .answer(Answer::bare(200, "Revoked"))
        .errors(&[(400, "The token to revoke is missing")]);
    revoke.public = true;
    vec![
        Route {
            path: "/restapi/oauth/token".into(),
            ops: vec![issue],
        },
        Route {
            path: "/restapi/oauth/revoke".into(),
            ops: vec![revoke],
        },
    ]
}

/// The routes this module serves, for the OpenAPI document.
fn routes(em: &Emulator) -> Vec<Route> {
    let base = &em.spec.base_path;
    let account = json!({"type": "object", "required": ["id", "uri"], "properties": {
        "id": {"type": "string"}, "uri": {"type": "string"}, "status": {"type": "string"}}});
    let me = json!({"type": "object", "required": ["id", "extensionNumber"], "properties": {
        "id": {"type": "string"}, "extensionNumber": {"type": "string"}, "name": {"type": "string"}}});
    let audio = "audio/mpeg";
    let content = Operation::new(Method::GET, "A recording's audio; Range gives a part")
        .params(vec![path_param("recordingId")])
        .answer(Answer::with(
            200,
            "The recording",
            audio,
            json!({"type": "string", "format": "binary"}),
        ))
        .answer(Answer::with(
            206,
            "The part asked for",
            audio,
            json!({"type": "string", "format": "binary"}),
        ))
        .errors(&[(416, "The range is outside the recording")]);
    let mut out = oauth_routes();
    out.extend([
        Route {
            path: format!("{base}/account/~"),
            ops: vec![
                Operation::new(Method::GET, "The caller's account").answer(Answer::json(
                    200,
                    "The account",
                    account,
                )),
            ],
        },
        Route {
            path: format!("{base}/account/~/extension/~"),
            ops: own_extension_ops(em, me),
        },
        Route {
            path: format!("{base}/account/~/recording/{{recordingId}}/content"),
            ops: vec![content],
        },
    ]);
    // A comma-separated list of ids reads several at once (207 multipart/mixed).
    for r in &em.spec.resources {
        let batch = Operation::new(Method::GET, "Several, by comma-separated ids")
            .answer(Answer::with(
                207,
                "One part per id after a part with their statuses",
                "multipart/mixed",
                json!({"type": "string"}),
            ))
            .errors(&[(400, "The id list is not valid")]);
        out.push(Route {
            path: format!("{base}{}/{{id}}", r.path),
            ops: vec![batch],
        });
    }
    out
}

/// The caller's extension: its own GET, and the other methods of any extension (the
/// emulator answers them as it answers the extension's id).
fn own_extension_ops(em: &Emulator, me: Value) -> Vec<Operation> {
    let mut ops = vec![
        Operation::new(Method::GET, "The caller's extension").answer(Answer::json(
            200,
            "The extension",
            me,
        )),
    ];
    if let Some(r) = em.spec.resources.iter().find(|r| r.path == EXTENSIONS) {
        ops.extend(
            crate::openapi::item_operations(em, r)
                .into_iter()
                .filter(|o| o.method != Method::GET),
        );
    }
    ops
}

fn json_part(body: &Value) -> Part {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Part {
        headers,
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

impl Vendor for RingCentral {
    fn before_auth(&self, em: &Emulator, ctx: &Ctx<'_>) -> Option<Reply> {
        let path = ctx.req.path.as_str();
        let oauth = matches!(path, "/restapi/oauth/token" | "/restapi/oauth/revoke");
        if oauth && ctx.req.method != Method::POST {
            return Some(super::not_allowed(em, ctx, &[Method::POST]));
        }
        match path {
            "/restapi/oauth/token" => Some(self.token(em, ctx)),
            "/restapi/oauth/revoke" => Some(self.revoke(em, ctx)),
            _ => None,
        }
    }

    fn authenticate(&self, em: &Emulator, ctx: &Ctx<'_>) -> Result<Principal, Reply> {
        let token = ctx
            .req
            .header("authorization")
            .and_then(|a| a.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_owned());
        let Some(token) = token else {
            return Err(em.credential_refusal(ctx, RefusalReason::Missing));
        };
        if let Some(t) = em.lock().token(&token).cloned() {
            if !t.revoked {
                return Ok(Principal {
                    credential: t.token,
                    account: t.account,
                    read_only: t.read_only,
                });
            }
        }
        let record = em
            .lock()
            .collection(TOKENS)
            .get(&token)
            .map(|i| i.value.clone());
        match record {
            Some(r) if r["revoked"] == true => {
                Err(em.credential_refusal(ctx, RefusalReason::Revoked))
            }
            Some(r) if r["expires_at_ms"].as_u64().unwrap_or(0) <= now_ms() => {
                Err(em.credential_refusal(ctx, RefusalReason::Expired))
            }
            Some(_) => Ok(Principal {
                credential: token,
                account: "account-1".into(),
                read_only: false,
            }),
            None => Err(em.credential_refusal(ctx, RefusalReason::Unknown)),
        }
    }

    /// The account's id stands for `~` in `/account/{id}/…`, and the caller's extension id
    /// for `~` in `/account/~/extension/{id}/…`: every id and uri handed out resolves.
    fn alias(&self, em: &Emulator, path: &str) -> Option<String> {
        let rest = path
            .strip_prefix(&em.spec.base_path)
            .filter(|r| r.contains(OWNER_ID))?;
        let mut changed = false;
        let mut segments: Vec<&str> = rest.split('/').collect();
        for i in 1..segments.len() {
            let named = matches!(segments[i - 1], "account" | "extension");
            // The caller's extension: only directly under its account.
            let own_extension = segments[i - 1] == "extension" && i == 4;
            if named && segments[i] == OWNER_ID && (segments[i - 1] == "account" || own_extension) {
                segments[i] = "~";
                changed = true;
            }
        }
        changed.then(|| format!("{}{}", em.spec.base_path, segments.join("/")))
    }

    fn route(&self, em: &Emulator, ctx: &Ctx<'_>, who: &Principal) -> Option<Reply> {
        let rest = ctx.req.path.strip_prefix(&em.spec.base_path)?;
        // The caller's account and recordings are read-only.
        // (Other methods on the caller's extension go to the extensions, as its id does.)
        let own = matches!(rest, "/account/~" | "/account/~/")
            || rest
                .strip_prefix("/account/~/recording/")
                .is_some_and(|t| t.ends_with("/content"));
        if own && ctx.req.method != Method::GET {
            return Some(super::not_allowed(em, ctx, &[Method::GET]));
        }
        if ctx.req.method == Method::GET {
            match rest {
                "/account/~" | "/account/~/" => {
                    return Some(Reply::json(
                        200,
                        &json!({ "id": OWNER_ID, "uri": format!("{}{}/account/{OWNER_ID}", ctx.req.origin(), em.spec.base_path), "status": "Confirmed", "serviceInfo": { "brand": { "name": "RingCentral" } } }),
                    ));
                }
                "/account/~/extension/~" => return Some(Reply::json(200, &own_extension())),
                _ => {}
            }
            if let Some(tail) = rest.strip_prefix("/account/~/recording/") {
                if tail.ends_with("/content") {
                    return Some(self.recording(em, ctx));
                }
            }
            for r in &em.spec.resources {
                if let Some(ids) = rest.strip_prefix(&r.path).and_then(|t| t.strip_prefix('/')) {
                    if ids.contains(',') && !ids.contains('/') {
                        return Some(self.batch(em, ctx, r, ids, who));
                    }
                }
            }
        }
        None
    }

    fn routes(&self, em: &Emulator) -> Vec<Route> {
        routes(em)
    }

    fn fields_value(&self, em: &Emulator, fields: &[String]) -> Value {
        let code = em.spec.error_code(400).unwrap_or_default();
        Value::Array(
            fields
                .iter()
                .map(|f| json!({ "errorCode": code, "message": f }))
                .collect(),
        )
    }

    fn oauth(&self) -> Option<&OAuth> {
        Some(&self.oauth)
    }

    fn banner(&self, em: &Emulator) -> Vec<String> {
        let o = &self.oauth;
        vec![
            format!("client_id: {}", o.client_id),
            format!("client_secret: {}", o.client_secret),
            format!("username: {}", o.username),
            format!("password: {}", o.password),
            format!(
                "token endpoint: POST /restapi/oauth/token (access tokens live {} s)",
                o.access_ttl.as_secs()
            ),
            format!(
                "Authorization: Bearer {} (a token that never expires)",
                em.config.token
            ),
        ]
    }
}
