//! The admin API under `/_verdict/`: queue faults, toggle maintenance, lock resources,
//! move paths, manage tokens and quotas, reset state, read the request journal, and the
//! OpenAPI description. JSON in and out; protected by the admin token when one is set.

use serde::Deserialize;
use serde_json::json;
use verdict::emulate::Quota;

use crate::Emulator;
use crate::reply::Reply;
use crate::request::Ctx;
use crate::state::{Lock, Move, QueuedFault, Token};

fn problem(status: u16, message: impl Into<String>) -> Reply {
    Reply::json(status, &json!({ "error": message.into() }))
}

/// The body as `T`, refused whole (nothing applied) when it is not JSON, or when an
/// object in it (the body, or each element of a body that is a list) has a key outside
/// `known`: the refusal names the key and the known key closest to it.
fn parse<T: for<'de> Deserialize<'de>>(ctx: &Ctx<'_>, known: &[&str]) -> Result<T, Reply> {
    let value: serde_json::Value = serde_json::from_slice(&ctx.req.body)
        .map_err(|e| problem(400, format!("invalid JSON body: {e}")))?;
    let objects: Vec<&serde_json::Value> = match &value {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for key in objects
        .iter()
        .filter_map(|o| o.as_object())
        .flat_map(|o| o.keys())
    {
        if !known.contains(&key.as_str()) {
            let close = verdict::suggest::closest(key, known.iter().copied())
                .map(|c| format!("; did you mean \"{c}\"?"))
                .unwrap_or_default();
            return Err(problem(
                400,
                format!(
                    "unknown key \"{key}\"{close} (this endpoint takes {}); nothing was changed",
                    known.join(", ")
                ),
            ));
        }
    }
    serde_json::from_value(value).map_err(|e| problem(400, format!("invalid JSON body: {e}")))
}

/// The keys each admin endpoint that takes JSON knows.
const FAULT_KEYS: &[&str] = &[
    "method",
    "path",
    "times",
    "status",
    "retry_after",
    "delay_ms",
    "code",
    "api",
    "message",
    "id",
];
const MAINTENANCE_KEYS: &[&str] = &["on", "retry_after"];
const LOCK_KEYS: &[&str] = &["path", "seconds", "retry_after"];
const MOVE_KEYS: &[&str] = &["from", "to", "status"];
const TOKEN_KEYS: &[&str] = &["token", "account", "revoked", "read_only"];
const QUOTA_KEYS: &[&str] = &["requests", "window_s", "status", "group"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Maintenance {
    on: bool,
    #[serde(default = "five")]
    retry_after: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockBody {
    path: String,
    #[serde(default = "sixty")]
    seconds: u64,
    #[serde(default = "five")]
    retry_after: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaBody {
    requests: u32,
    window_s: u32,
    #[serde(default = "too_many")]
    status: u16,
    #[serde(default)]
    group: Option<String>,
}

fn five() -> u64 {
    5
}
fn sixty() -> u64 {
    60
}
fn too_many() -> u16 {
    429
}

/// The endpoints, for the index and for 404s.
const ENDPOINTS: &[&str] = &[
    "GET /_verdict",
    "GET /_verdict/openapi.json",
    "GET /_verdict/certificate.pem",
    "GET|POST|DELETE /_verdict/faults",
    "PUT /_verdict/maintenance",
    "POST|DELETE /_verdict/locks",
    "POST|DELETE /_verdict/moves",
    "POST /_verdict/tokens",
    "PUT /_verdict/quotas",
    "POST /_verdict/reset",
    "GET|DELETE /_verdict/journal",
];

/// The 401 for a request without the admin token, when one is set.
fn refused(em: &Emulator, ctx: &Ctx<'_>) -> Option<Reply> {
    let admin = em.config.admin_token.as_ref()?;
    let req = ctx.req;
    let given = req
        .header("x-verdict-admin-token")
        .or_else(|| {
            req.header("authorization")
                .and_then(|a| a.strip_prefix("Bearer "))
        })
        .map(str::trim);
    (given != Some(admin.as_str())).then(|| {
        problem(
            401,
            "the admin API needs the admin token (X-Verdict-Admin-Token or Authorization: Bearer)",
        )
    })
}

fn journal_window(ctx: &Ctx<'_>) -> (u64, usize) {
    let req = ctx.req;
    let limit = req
        .query_value("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1000);
    let since = req
        .query_value("since")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    (since, limit)
}

/// The journal endpoints when the journal lives in Redis; `None` for any other request.
pub async fn journal_shared(
    em: &Emulator,
    store: &crate::RedisState,
    ctx: &Ctx<'_>,
) -> Option<Result<Reply, crate::StateError>> {
    if ctx.req.path.trim_end_matches('/') != "/_verdict/journal" {
        return None;
    }
    if let Some(r) = refused(em, ctx) {
        return Some(Ok(r));
    }
    Some(match ctx.req.method.as_str() {
        "GET" => {
            let (since, limit) = journal_window(ctx);
            store
                .journal(since, limit)
                .await
                .map(|entries| Reply::json(200, &json!({ "entries": entries })))
        }
        "DELETE" => store.clear_journal().await.map(|()| Reply::empty(204)),
        _ => return None,
    })
}

/// Answers a request under `/_verdict/`.
pub fn handle(em: &Emulator, ctx: &Ctx<'_>) -> Reply {
    let req = ctx.req;
    if let Some(r) = refused(em, ctx) {
        return r;
    }
    let route = req.path.trim_end_matches('/');
    // HEAD reads like GET; the HTTP layer leaves the body out.
    let method = match req.method.as_str() {
        "HEAD" => "GET",
        m => m,
    };
    let result = dispatch(em, ctx, method, route);
    if method != "GET" {
        let state = em.lock();
        em.settle_quiet(&state);
    }
    result.unwrap_or_else(|r| r)
}

/// An admin answer, or the refusal to send instead.
type Answer = Result<Reply, Reply>;

/// The endpoint `method` and `route` name.
fn dispatch(em: &Emulator, ctx: &Ctx<'_>, method: &str, route: &str) -> Answer {
    match (method, route) {
        ("GET", "/_verdict") => Ok(index(em)),
        ("GET", "/_verdict/certificate.pem") => certificate(em),
        ("GET", "/_verdict/openapi.json") => Ok(Reply::json(
            200,
            &crate::openapi::document(em, &ctx.req.origin()),
        )),
        ("GET", "/_verdict/faults") => {
            Ok(Reply::json(200, &json!({ "faults": em.lock().faults() })))
        }
        ("POST", "/_verdict/faults") => add_fault(em, ctx),
        ("DELETE", "/_verdict/faults") => Ok(clear_faults(em)),
        ("PUT", "/_verdict/maintenance") => set_maintenance(em, ctx),
        ("POST", "/_verdict/locks") => add_lock(em, ctx),
        ("DELETE", "/_verdict/locks") => Ok(clear_locks(em)),
        ("POST", "/_verdict/moves") => add_move(em, ctx),
        ("DELETE", "/_verdict/moves") => Ok(clear_moves(em)),
        ("POST", "/_verdict/tokens") => add_token(em, ctx),
        ("PUT", "/_verdict/quotas") => set_quotas(em, ctx),
        ("POST", "/_verdict/reset") => Ok(reset(em)),
        ("GET", "/_verdict/journal") => Ok(read_journal(em, ctx)),
        ("DELETE", "/_verdict/journal") => Ok(clear_journal(em)),
        _ => Err(problem(
            404,
            format!(
                "no admin endpoint {method} {route}; there are: {}",
                ENDPOINTS.join(", ")
            ),
        )),
    }
}

/// `GET /_verdict`: what is emulated and the admin endpoints.
fn index(em: &Emulator) -> Reply {
    let resources: Vec<String> = em
        .spec
        .resources
        .iter()
        .map(|r| format!("{}{}", em.spec.base_path, r.path))
        .collect();
    Reply::json(
        200,
        &json!({
            "contract": em.contract.id,
            "name": em.contract.name,
            "base_path": em.spec.base_path,
            "credentials": em.credential_headers(),
            "resources": resources,
            "admin": ENDPOINTS,
        }),
    )
}

/// `GET /_verdict/certificate.pem`: the TLS certificate, when it serves TLS.
fn certificate(em: &Emulator) -> Answer {
    match em.certificate.get() {
        Some(pem) => Ok(Reply::empty(200)
            .header("Content-Type", "application/x-pem-file")
            .with_body(pem.clone())),
        None => Err(problem(
            404,
            "this emulator serves no TLS (start it with --tls-port)",
        )),
    }
}

/// `POST /_verdict/faults`: queues a fault.
fn add_fault(em: &Emulator, ctx: &Ctx<'_>) -> Answer {
    let f: QueuedFault = parse(ctx, FAULT_KEYS)?;
    if f.times == 0 || !f.path.starts_with('/') {
        return Err(problem(
            400,
            "a fault needs a path starting with '/' and times of at least 1",
        ));
    }
    if let Some(s) = f.fault.status.filter(|s| (100..200).contains(s)) {
        return Err(problem(
            400,
            crate::fault::FaultError::NotFinal(s).to_string(),
        ));
    }
    if f.fault.status.is_some_and(|s| !(200..=599).contains(&s)) {
        return Err(problem(400, "status must be from 200 to 599"));
    }
    if !f.fault.answers() && f.fault.delay_ms.is_none() {
        return Err(problem(400, "a fault needs status, code or delay_ms"));
    }
    let f = em.lock().add_fault(f);
    Ok(Reply::json(201, &json!(f)))
}

/// `DELETE /_verdict/faults`: forgets the queued faults.
fn clear_faults(em: &Emulator) -> Reply {
    em.lock().clear_faults();
    Reply::empty(204)
}

/// `PUT /_verdict/maintenance`: turns maintenance on or off.
fn set_maintenance(em: &Emulator, ctx: &Ctx<'_>) -> Answer {
    let m: Maintenance = parse(ctx, MAINTENANCE_KEYS)?;
    em.lock().set_maintenance(m.on.then_some(m.retry_after));
    Ok(Reply::json(
        200,
        &json!({ "maintenance": m.on, "retry_after": m.retry_after }),
    ))
}

/// `POST /_verdict/locks`: locks a path for a while.
fn add_lock(em: &Emulator, ctx: &Ctx<'_>) -> Answer {
    let l: LockBody = parse(ctx, LOCK_KEYS)?;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(l.seconds.min(86_400));
    let lock = Lock {
        until,
        retry_after: l.retry_after,
    };
    em.lock().add_lock(l.path.clone(), lock);
    Ok(Reply::json(
        201,
        &json!({ "path": l.path, "seconds": l.seconds, "retry_after": l.retry_after }),
    ))
}

/// `DELETE /_verdict/locks`: lifts every lock.
fn clear_locks(em: &Emulator) -> Reply {
    em.lock().clear_locks();
    Reply::empty(204)
}

/// `POST /_verdict/moves`: answers a path with a redirect.
fn add_move(em: &Emulator, ctx: &Ctx<'_>) -> Answer {
    let m: Move = parse(ctx, MOVE_KEYS)?;
    if !matches!(m.status, 301 | 302 | 303 | 307 | 308) {
        return Err(problem(400, "status must be 301, 302, 303, 307 or 308"));
    }
    em.lock().add_move(m.clone());
    Ok(Reply::json(201, &json!(m)))
}

/// `DELETE /_verdict/moves`: forgets every move.
fn clear_moves(em: &Emulator) -> Reply {
    em.lock().clear_moves();
    Reply::empty(204)
}

/// `POST /_verdict/tokens`: adds or replaces a credential.
fn add_token(em: &Emulator, ctx: &Ctx<'_>) -> Answer {
    let t: Token = parse(ctx, TOKEN_KEYS)?;
    if t.token.is_empty() || t.token.chars().any(char::is_whitespace) {
        return Err(problem(400, "a token must be non-empty and hold no spaces"));
    }
    em.lock().put_token(t.clone());
    Ok(Reply::json(201, &json!(t)))
}

/// `PUT /_verdict/quotas`: replaces the quotas, their windows starting afresh.
fn set_quotas(em: &Emulator, ctx: &Ctx<'_>) -> Answer {
    let qs: Vec<QuotaBody> = parse(ctx, QUOTA_KEYS)?;
    if qs
        .iter()
        .any(|q| q.requests == 0 || q.window_s == 0 || !(400..=599).contains(&q.status))
    {
        return Err(problem(
            400,
            "each quota needs requests and window_s of at least 1 and an error status",
        ));
    }
    let quotas: Vec<Quota> = qs
        .into_iter()
        .map(|q| Quota {
            requests: q.requests,
            window_s: q.window_s,
            status: q.status,
            group: q.group,
        })
        .collect();
    em.lock().set_quotas(quotas.clone());
    Ok(Reply::json(200, &json!({ "quotas": quotas })))
}

/// `POST /_verdict/reset`: back to the state at start.
fn reset(em: &Emulator) -> Reply {
    {
        let mut state = em.lock();
        state.reset();
        em.plant_seeds(&mut state);
    }
    em.keys.clear();
    Reply::empty(204)
}

/// `GET /_verdict/journal`: the latest entries after `since`, at most `limit`.
fn read_journal(em: &Emulator, ctx: &Ctx<'_>) -> Reply {
    let (since, limit) = journal_window(ctx);
    let journal = em.journal.lock().unwrap_or_else(|p| p.into_inner());
    let entries: Vec<&crate::state::JournalEntry> =
        journal.entries.iter().filter(|e| e.seq > since).collect();
    let start = entries.len().saturating_sub(limit);
    Reply::json(200, &json!({ "entries": &entries[start..] }))
}

/// `DELETE /_verdict/journal`: forgets the journal.
fn clear_journal(em: &Emulator) -> Reply {
    em.journal
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entries
        .clear();
    Reply::empty(204)
}
