//! Idempotency keys (draft-ietf-httpapi-idempotency-key-header-07) in the emulator.
//!
//! Where a contract names an idempotency header (`[retry] idempotency_header`; the `http`
//! baseline says `Idempotency-Key`), a request with one of the methods of
//! `[idempotency] methods` (POST and PATCH by default) that carries the header is answered
//! once per key: the key is scoped to the credential, the method and the path, and the
//! first answer is kept and given again — same status, headers and body, plus
//! `Idempotent-Replayed: true` — to a repeat with the same payload (the body, byte for
//! byte), so the resource is not created twice. A repeat with another payload gets the
//! contract's `[idempotency] reused` answer (the draft's 422), and a repeat while the first
//! request is still being processed (until its answer is sent, a delay included) gets
//! `in_flight` (409), both in the contract's error shape.
//!
//! Only answers of the operation itself are kept: a request refused before it ran
//! (credentials, quota, an injected fault) keeps nothing, and neither does an answer the
//! contract says to retry (`retry`, `retry-after`, `refresh-auth`), so a retry with the
//! same key can still succeed.
//!
//! The store is bounded: at most `[emulator] idempotency_limit` keys (10 000 by default),
//! each kept for `[idempotency] expires_s` (a day by default), and at most
//! [`STORED_BYTES`] of kept bodies; past a bound the oldest keys go first. Keys live in
//! this process's memory: emulators that share their state through Redis do not share
//! keys, so a repeat that reaches another emulator of the group runs again. An admin reset
//! forgets every key.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Value, json};
use verdict::{ActionKind, IdempotencyAnswer};

use crate::Emulator;
use crate::reply::Reply;
use crate::request::{Ctx, Principal};

/// The most bytes of body the kept answers hold together.
pub const STORED_BYTES: usize = 64 << 20;

/// The longest key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 256;

/// The response header that marks an answer given again for a repeated key.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// A key with its credential, method and path, as a digest (the store never holds a
/// client's text, so its size does not depend on what clients send).
type Scope = u128;

/// What a payload is compared by: its length and a digest of its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: usize,
    digest: u64,
}

/// An answer kept for a key.
#[derive(Debug, Clone)]
struct Stored {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Debug)]
enum Slot {
    /// The first request with the key has not been answered yet.
    InFlight,
    /// Its answer.
    Done(Stored),
}

#[derive(Debug)]
struct Entry {
    /// When the key was first seen, in order; also names the claim that made it.
    seq: u64,
    born: Instant,
    fingerprint: Fingerprint,
    slot: Slot,
}

/// The keys seen, with their answers.
#[derive(Debug)]
pub struct Keys {
    inner: Mutex<Inner>,
    limit: usize,
    ttl: Duration,
    /// The most body bytes kept ([`STORED_BYTES`] but in tests).
    bytes: usize,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Scope, Entry>,
    /// Every entry by `seq`: the oldest first.
    order: BTreeMap<u64, Scope>,
    next: u64,
    /// Body bytes of the kept answers.
    bytes: usize,
}

impl Inner {
    fn remove(&mut self, scope: Scope) {
        if let Some(e) = self.entries.remove(&scope) {
            self.order.remove(&e.seq);
            if let Slot::Done(s) = &e.slot {
                self.bytes -= s.body.len();
            }
        }
    }

    fn remove_oldest(&mut self) -> bool {
        match self.order.first_key_value() {
            Some((_, &scope)) => {
                self.remove(scope);
                true
            }
            None => false,
        }
    }

    /// Forgets the keys older than `ttl`.
    fn expire(&mut self, now: Instant, ttl: Duration) {
        while let Some((_, &scope)) = self.order.first_key_value() {
            let old = self
                .entries
                .get(&scope)
                .is_none_or(|e| now.saturating_duration_since(e.born) >= ttl);
            if !old {
                break;
            }
            self.remove(scope);
        }
    }
}

/// What a request with a key finds.
#[derive(Debug)]
enum Lookup {
    /// The key is new: the request runs, and its answer is kept under the claim.
    Claimed(Claim),
    /// The answer kept for the key.
    Replay(Stored),
    /// The key was first used with another payload.
    Reused,
    /// The first request with the key is still being processed.
    InFlight,
}

/// The right to keep the answer for a new key.
#[derive(Debug, PartialEq, Eq)]
struct Claim {
    scope: Scope,
    seq: u64,
}

impl Keys {
    /// A store of at most `limit` keys, each kept for `ttl`.
    pub fn new(limit: usize, ttl: Duration) -> Keys {
        Keys::with_bytes(limit, ttl, STORED_BYTES)
    }

    fn with_bytes(limit: usize, ttl: Duration, bytes: usize) -> Keys {
        Keys {
            inner: Mutex::default(),
            limit: limit.max(1),
            ttl,
            bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many keys are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no key is kept.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every key.
    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }

    fn begin(&self, scope: Scope, fingerprint: Fingerprint, now: Instant) -> Lookup {
        let mut inner = self.lock();
        inner.expire(now, self.ttl);
        match inner.entries.get(&scope) {
            Some(e) if e.fingerprint != fingerprint => Lookup::Reused,
            Some(Entry {
                slot: Slot::InFlight,
                ..
            }) => Lookup::InFlight,
            Some(Entry {
                slot: Slot::Done(s),
                ..
            }) => Lookup::Replay(s.clone()),
            None => {
                while inner.entries.len() >= self.limit && inner.remove_oldest() {}
                let seq = inner.next;
                inner.next += 1;
                inner.order.insert(seq, scope);
                inner.entries.insert(
                    scope,
                    Entry {
                        seq,
                        born: now,
                        fingerprint,
                        slot: Slot::InFlight,
                    },
                );
                Lookup::Claimed(Claim { scope, seq })
            }
        }
    }

    /// Keeps `answer` for the claimed key, or forgets the key when there is none to keep.
    /// A claim whose key was forgotten meanwhile (expired, or pushed out by newer keys)
    /// keeps nothing.
    fn finish(&self, claim: &Claim, answer: Option<Stored>) {
        let mut inner = self.lock();
        let ours = inner
            .entries
            .get(&claim.scope)
            .is_some_and(|e| e.seq == claim.seq && matches!(e.slot, Slot::InFlight));
        if !ours {
            return;
        }
        let Some(answer) = answer else {
            inner.remove(claim.scope);
            return;
        };
        inner.bytes += answer.body.len();
        if let Some(e) = inner.entries.get_mut(&claim.scope) {
            e.slot = Slot::Done(answer);
        }
        while inner.bytes > self.bytes && inner.remove_oldest() {}
    }
}

/// The scope of `key`: the credential, method and path it was sent with.
fn scope(credential: &str, method: &Method, path: &str, key: &str) -> Scope {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        credential.hash(&mut h);
        method.as_str().hash(&mut h);
        path.hash(&mut h);
        key.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

fn fingerprint(body: &[u8]) -> Fingerprint {
    let mut h = DefaultHasher::new();
    body.hash(&mut h);
    Fingerprint {
        len: body.len(),
        digest: h.finish(),
    }
}

/// The key in a header value: a Structured Field string (`"abc"`) or, as many clients
/// send it, the bare text.
fn parse_key(value: &HeaderValue) -> Result<&str, String> {
    let text = value
        .to_str()
        .map_err(|_| "the key is not readable text".to_owned())?
        .trim();
    let key = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner,
        None => text,
    };
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    if key.len() > MAX_KEY_LEN {
        return Err(format!(
            "the key is {} bytes long; at most {MAX_KEY_LEN} are accepted",
            key.len()
        ));
    }
    Ok(key)
}

/// The claimed key of the request being answered, held in its context until its answer
/// is sent (a delay included): only then is the answer kept for repeats.
#[derive(Debug, Default)]
pub struct Pending(Mutex<Option<Held>>);

#[derive(Debug)]
struct Held {
    keys: Arc<Keys>,
    claim: Option<Claim>,
    /// The operation's answer, when it may be kept.
    answer: Option<Stored>,
}

impl Drop for Held {
    /// A request dropped before its answer was sent (the client went away) still did its
    /// work: its answer is kept.
    fn drop(&mut self) {
        if let Some(claim) = self.claim.take() {
            self.keys.finish(&claim, self.answer.take());
        }
    }
}

impl Pending {
    fn lock(&self) -> MutexGuard<'_, Option<Held>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes over the key `other` claimed (a request answered in another form, such as a
    /// path alias, settles its key here once its answer is sent).
    pub fn adopt(&self, other: Pending) {
        let held = other.0.into_inner().unwrap_or_else(|p| p.into_inner());
        if held.is_some() {
            *self.lock() = held;
        }
    }

    /// Whether this request already claimed `scope` (it runs again when another emulator
    /// of a shared group wrote first).
    fn holds(&self, scope: Scope) -> bool {
        self.lock()
            .as_ref()
            .and_then(|h| h.claim.as_ref())
            .is_some_and(|c| c.scope == scope)
    }

    fn hold(&self, keys: Arc<Keys>, claim: Claim, answer: Option<Stored>) {
        *self.lock() = Some(Held {
            keys,
            claim: Some(claim),
            answer,
        });
    }

    fn replace(&self, answer: Option<Stored>) {
        if let Some(h) = self.lock().as_mut() {
            h.answer = answer;
        }
    }

    /// The answer was sent with `status`: the operation's answer is kept if that is what
    /// was sent (and not, say, a 503 because shared state was unreachable); otherwise the
    /// key is forgotten so a repeat runs again.
    pub fn settle(&self, status: StatusCode) {
        let Some(mut held) = self.lock().take() else {
            return;
        };
        if let Some(claim) = held.claim.take() {
            let answer = held.answer.take().filter(|a| a.status == status);
            held.keys.finish(&claim, answer);
        }
    }
}

impl Emulator {
    /// Answers a request that may carry an idempotency key: `run` is the operation. Without
    /// a key (or where the contract or method does not take one) it simply runs.
    pub(crate) fn keyed(
        &self,
        ctx: &Ctx<'_>,
        who: &Principal,
        run: impl FnOnce() -> Reply,
    ) -> Reply {
        let req = ctx.req;
        let rules = &self.contract.idempotency;
        let header = match &self.contract.retry.idempotency_header {
            Some(h) if rules.applies_to(&req.method) => h,
            _ => return run(),
        };
        let Some(value) = req.headers.get(header.name()) else {
            return run();
        };
        let key = match parse_key(value) {
            Ok(k) => k,
            Err(why) => return self.error(ctx, 400, Some(&format!("{header}: {why}.")), &[]),
        };
        let scope = scope(&who.credential, &req.method, &req.path, key);
        if ctx.idempotency.holds(scope) {
            let reply = run();
            ctx.idempotency.replace(self.keepable(&req.method, &reply));
            return reply;
        }
        match self
            .keys
            .begin(scope, fingerprint(&req.body), Instant::now())
        {
            Lookup::Claimed(claim) => {
                let reply = run();
                let answer = self.keepable(&req.method, &reply);
                ctx.idempotency.hold(self.keys.clone(), claim, answer);
                reply
            }
            Lookup::Replay(stored) => {
                let mut reply = Reply::empty(stored.status.as_u16());
                reply.headers = stored.headers;
                reply.body = stored.body;
                reply
                    .headers
                    .insert(REPLAYED, HeaderValue::from_static("true"));
                reply
            }
            Lookup::Reused => {
                self.idempotency_refusal(ctx, &rules.reused, "idempotency-key-reused")
            }
            Lookup::InFlight => {
                self.idempotency_refusal(ctx, &rules.in_flight, "idempotency-key-in-flight")
            }
        }
    }

    /// The answer to keep for a key: any but those the contract tells clients to repeat.
    fn keepable(&self, method: &Method, reply: &Reply) -> Option<Stored> {
        let code = reply.status.as_u16();
        let keep = match self.contract.rule(code) {
            Some(s) => !matches!(
                s.action_for(method).kind(),
                ActionKind::Retry | ActionKind::RetryAfter | ActionKind::RefreshAuth
            ),
            None => code < 500,
        };
        keep.then(|| Stored {
            status: reply.status,
            headers: reply.headers.clone(),
            body: reply.body.clone(),
        })
    }

    /// A refused repeat, with the contract's status and message in its error shape.
    fn idempotency_refusal(&self, ctx: &Ctx<'_>, answer: &IdempotencyAnswer, kind: &str) -> Reply {
        let parts = self.error_parts(answer.status, Some(&answer.message), &[]);
        let failure = crate::reply::Failure {
            kind: Some(kind),
            ..crate::reply::Failure::new(answer.status, parts)
        };
        self.render_error(ctx, failure)
    }
}

/// Adds the idempotency header and the refusals of repeated keys to an OpenAPI operation
/// of `method`, where the contract takes keys for it.
pub(crate) fn describe_operation(
    em: &Emulator,
    method: &Method,
    op: &mut Value,
    error_content: &Value,
) {
    let rules = &em.contract.idempotency;
    let header = match &em.contract.retry.idempotency_header {
        Some(h) if rules.applies_to(method) => h,
        _ => return,
    };
    let Value::Object(op) = op else { return };
    let parameter = json!({
        "name": header.as_str(),
        "in": "header",
        "required": false,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LEN},
        "description": format!(
            "A unique key for this request (draft-ietf-httpapi-idempotency-key-header). The first answer is kept for {} s, per credential, method and path, and given again with {}: true to a repeat with the same payload; the emulator keeps keys in its own memory.",
            rules.expires.as_secs(),
            "Idempotent-Replayed"
        ),
    });
    match op
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(params) => params.push(parameter),
        other => *other = Value::Array(vec![parameter]),
    }
    let Some(Value::Object(responses)) = op.get_mut("responses") else {
        return;
    };
    let refusals = [
        (
            rules.reused.status,
            format!(
                "{} was already used with a different payload",
                header.as_str()
            ),
        ),
        (
            rules.in_flight.status,
            format!(
                "a request with the same {} is still being processed",
                header.as_str()
            ),
        ),
        (
            400,
            format!("{} is empty, unreadable or too long", header.as_str()),
        ),
    ];
    for (status, why) in refusals {
        let r = responses
            .entry(status.to_string())
            .or_insert_with(|| json!({}));
        let Value::Object(r) = r else { continue };
        let description = match r.get("description").and_then(Value::as_str) {
            Some(d) if !d.is_empty() => format!("{d} Also when {why}."),
            _ => format!("When {why}."),
        };
        r.insert("description".into(), Value::String(description));
        r.entry("content").or_insert_with(|| error_content.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn stored(status: u16, body: &str) -> Stored {
        Stored {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        }
    }

    fn claimed(l: Lookup) -> Claim {
        match l {
            Lookup::Claimed(c) => c,
            other => panic!("expected a claim, got {other:?}"),
        }
    }

    #[test]
    fn a_key_is_in_flight_until_its_answer_is_kept_then_replayed() {
        let keys = Keys::new(10, HOUR);
        let now = Instant::now();
        let s = scope("t0", &Method::POST, "/v1/items", "k1");
        let same = fingerprint(b"{\"name\":\"a\"}");
        let claim = claimed(keys.begin(s, same, now));
        assert!(matches!(keys.begin(s, same, now), Lookup::InFlight));
        // Another payload is a reuse, in flight or not.
        let other = fingerprint(b"{\"name\":\"b\"}");
        assert!(matches!(keys.begin(s, other, now), Lookup::Reused));
        keys.finish(&claim, Some(stored(201, "{\"id\":\"1\"}")));
        match keys.begin(s, same, now) {
            Lookup::Replay(a) => {
                assert_eq!(a.status, 201);
                assert_eq!(a.body, "{\"id\":\"1\"}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(keys.begin(s, other, now), Lookup::Reused));
        // A finished claim cannot finish again.
        keys.finish(&claim, None);
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn scopes_separate_credentials_methods_paths_and_keys() {
        let scopes = [
            scope("t0", &Method::POST, "/v1/items", "k"),
            scope("t1", &Method::POST, "/v1/items", "k"),
            scope("t0", &Method::PATCH, "/v1/items", "k"),
            scope("t0", &Method::POST, "/v1/items/1", "k"),
            scope("t0", &Method::POST, "/v1/items", "k2"),
            // Text moved from one part to the next is another scope.
            scope("t0", &Method::POST, "/v1/itemsk", ""),
        ];
        for (i, a) in scopes.iter().enumerate() {
            for b in &scopes[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn an_answer_to_repeat_is_not_kept_and_the_key_is_free_again() {
        let keys = Keys::new(10, HOUR);
        let now = Instant::now();
        let (s, f) = (scope("t", &Method::POST, "/p", "k"), fingerprint(b"x"));
        let claim = claimed(keys.begin(s, f, now));
        keys.finish(&claim, None);
        assert!(keys.is_empty());
        claimed(keys.begin(s, f, now));
    }

    #[test]
    fn the_store_is_bounded_by_count_age_and_bytes() {
        let keys = Keys::new(3, HOUR);
        let start = Instant::now();
        let f = fingerprint(b"x");
        let s = |i: u32| scope("t", &Method::POST, "/p", &i.to_string());
        for i in 0..5 {
            let c = claimed(keys.begin(s(i), f, start));
            keys.finish(&c, Some(stored(201, "{}")));
        }
        assert_eq!(keys.len(), 3);
        // The oldest went first.
        assert!(matches!(keys.begin(s(0), f, start), Lookup::Claimed(_)));
        assert!(matches!(keys.begin(s(4), f, start), Lookup::Replay(_)));

        // An hour on, every key has expired.
        let later = start + HOUR;
        assert!(matches!(keys.begin(s(4), f, later), Lookup::Claimed(_)));
        assert_eq!(keys.len(), 1);

        // A claim pushed out while in flight keeps nothing when it finishes.
        let keys = Keys::new(1, HOUR);
        let first = claimed(keys.begin(s(1), f, start));
        let _second = claimed(keys.begin(s(2), f, start));
        keys.finish(&first, Some(stored(201, "{}")));
        assert!(matches!(keys.begin(s(1), f, start), Lookup::Claimed(_)));

        // Bodies past the byte budget push out the oldest answers.
        let keys = Keys::with_bytes(100, HOUR, 1000);
        let big = "x".repeat(501);
        for i in 0..3 {
            let c = claimed(keys.begin(s(i), f, start));
            keys.finish(&c, Some(stored(201, &big)));
        }
        assert_eq!(keys.len(), 1);
        assert_eq!(keys.lock().bytes, 501);
        keys.clear();
        assert!(keys.is_empty());
    }

    #[test]
    fn keys_are_read_bare_or_quoted_and_bounded() {
        let v = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(parse_key(&v("\"8e03978e-40d5\"")).unwrap(), "8e03978e-40d5");
        assert_eq!(parse_key(&v(" abc ")).unwrap(), "abc");
        assert!(parse_key(&v("\"\"")).is_err());
        assert!(parse_key(&v("")).is_err());
        assert!(parse_key(&v(&"k".repeat(MAX_KEY_LEN + 1))).is_err());
        assert!(parse_key(&HeaderValue::from_bytes(b"caf\xe9").unwrap()).is_err());
    }

    #[test]
    fn a_dropped_request_keeps_its_answer_and_a_settled_one_only_what_was_sent() {
        let keys = Arc::new(Keys::new(10, HOUR));
        let now = Instant::now();
        let f = fingerprint(b"x");
        let (a, b) = (
            scope("t", &Method::POST, "/p", "a"),
            scope("t", &Method::POST, "/p", "b"),
        );
        {
            let pending = Pending::default();
            pending.hold(
                keys.clone(),
                claimed(keys.begin(a, f, now)),
                Some(stored(201, "{}")),
            );
            assert!(pending.holds(a));
        }
        assert!(matches!(keys.begin(a, f, now), Lookup::Replay(_)));

        let pending = Pending::default();
        pending.hold(
            keys.clone(),
            claimed(keys.begin(b, f, now)),
            Some(stored(201, "{}")),
        );
        pending.settle(StatusCode::SERVICE_UNAVAILABLE);
        assert!(matches!(keys.begin(b, f, now), Lookup::Claimed(_)));
    }
}
