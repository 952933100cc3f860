//! The request path, top to bottom. [`Emulator::handle`] gives a request its tracking id
//! and answers it from this emulator's state or, shared, through Redis; then:
//!
//! 1. admin: `/_verdict/…` goes to [`crate::admin`];
//! 2. faults: an `X-Verdict-Fault` header, a queued fault, a random one;
//! 3. service: maintenance (503), plain HTTP where the contract wants HTTPS (403);
//! 4. vendor routes that need no credentials (an OAuth token endpoint);
//! 5. credentials (the vendor module), then quotas;
//! 6. routing: moves, vendor routes, the contract's resources and their checks;
//! 7. the resource operation ([`crate::resource`]), and the answer.
//!
//! Every error answer is written by [`Emulator::render_error`] in the contract's shape.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use http::Method;

use crate::fault::Fault;
use crate::reply::Reply;
use crate::{Emulator, MAX_CONFLICTS, RedisState, Req, StateError};
use crate::{admin, idempotency, reply, shared, state, util};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// What quotas count against.
    pub credential: String,
    /// The account its resources belong to.
    pub account: String,
    pub read_only: bool,
}

/// Per-request context.
pub struct Ctx<'a> {
    pub req: &'a Req,
    pub tracking: String,
    /// The idempotency key this request claimed, until its answer is sent.
    pub idempotency: crate::idempotency::Pending,
}

impl Emulator {
    fn context<'a>(&self, req: &'a Req) -> Ctx<'a> {
        Ctx {
            req,
            idempotency: idempotency::Pending::default(),
            tracking: {
                let mut t = String::with_capacity(44);
                t.push_str("VERDICT_");
                util::push_thread_uuid(&mut t);
                t
            },
        }
    }

    /// Adds the tracking id under the vendor's header name.
    fn tracked(&self, ctx: Ctx<'_>, mut reply: reply::Reply) -> reply::Reply {
        let name = match &self.contract.headers.tracking_id {
            Some(h) => h.name().clone(),
            None => http::HeaderName::from_static("x-request-id"),
        };
        // The id's own buffer becomes the header value, without a copy.
        if let Ok(value) = http::HeaderValue::from_maybe_shared(bytes::Bytes::from(ctx.tracking)) {
            reply.headers.append(name, value);
        }
        reply
    }

    /// An error answer without running the request path (e.g. a body over the limit).
    pub fn reject(
        &self,
        req: &Req,
        status: u16,
        message: &str,
    ) -> http::Response<http_body_util::Full<bytes::Bytes>> {
        self.refusal(req, status, message).into_response()
    }

    /// [`Emulator::reject`]'s answer before it becomes a response.
    fn refusal(&self, req: &Req, status: u16, message: &str) -> reply::Reply {
        let ctx = self.context(req);
        let reply = self.error(&ctx, status, Some(message), &[]);
        self.tracked(ctx, reply)
    }

    /// [`Emulator::reject`]'s answer as the bytes of a whole HTTP/1.1 response that closes
    /// the connection, for refusals made below the HTTP layer.
    pub(crate) fn reject_wire(&self, req: &Req, status: u16, message: &str) -> Vec<u8> {
        let reply = self.refusal(req, status, message);
        let reason = reply.status.canonical_reason().unwrap_or("");
        let mut out = format!("HTTP/1.1 {} {reason}\r\n", reply.status.as_u16()).into_bytes();
        for (name, value) in &reply.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let length = format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            reply.body.len()
        );
        out.extend_from_slice(length.as_bytes());
        out.extend_from_slice(&reply.body);
        out
    }

    /// Answers one request.
    pub async fn handle(&self, req: &Req) -> http::Response<http_body_util::Full<bytes::Bytes>> {
        let started = std::time::Instant::now();
        let ctx = self.context(req);
        let admin = req.path == "/_verdict" || req.path.starts_with("/_verdict/");
        let (reply, delay) = match &self.shared {
            None => {
                let (reply, delay) = self.answer(&ctx, admin);
                if !admin {
                    let took = started.elapsed() + delay;
                    self.journal
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .record_with(|e| Self::journal_fill(e, req, &reply, took));
                }
                (reply, delay)
            }
            Some(store) => match self.answer_shared(store, &ctx, admin, started).await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::warn!(error = %e, "shared state unavailable");
                    (self.unavailable(&ctx, &e), Duration::ZERO)
                }
            },
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        // Only now is the request no longer in flight: its key's answer is kept.
        ctx.idempotency.settle(reply.status);
        let reply = self.tracked(ctx, reply);
        tracing::debug!(method = %req.method, path = %req.path, status = reply.status.as_u16(), "request");
        reply.into_response()
    }

    /// Writes the journal's record of a request and its answer into `entry`.
    fn journal_fill(
        entry: &mut state::JournalEntry,
        req: &Req,
        reply: &reply::Reply,
        took: Duration,
    ) {
        entry.fill(&req.method, &req.path, &req.query, &req.headers, &req.body);
        entry.status = reply.status.as_u16();
        entry.duration = took;
    }

    /// The answer from this emulator's state, and how long to hold it back.
    fn answer(&self, ctx: &Ctx<'_>, admin: bool) -> (reply::Reply, Duration) {
        if admin {
            (admin::handle(self, ctx), Duration::ZERO)
        } else {
            self.api(ctx)
        }
    }

    /// The answer with shared state: catch up, answer, then count the quota spent, write
    /// back what changed and journal the request in one step; again when another emulator
    /// wrote first or the group's quota is used up.
    async fn answer_shared(
        &self,
        store: &RedisState,
        ctx: &Ctx<'_>,
        admin: bool,
        started: std::time::Instant,
    ) -> Result<(reply::Reply, Duration), StateError> {
        use std::sync::atomic::Ordering;
        if admin {
            if let Some(reply) = admin::journal_shared(self, store, ctx).await {
                return reply.map(|r| (r, Duration::ZERO));
            }
        }
        let arrived = std::time::Instant::now();
        let mut own = Vec::new();
        let mut denied = HashMap::new();
        for _ in 0..MAX_CONFLICTS {
            // One request at a time works on the copy; a request that only reads lets the
            // next one in before its quota and journal are written back.
            let section = store.section.lock().await;
            self.catch_up(store, &own, arrived).await?;
            let (mut reply, delay, changes) = self.answer_recording(ctx, admin, &denied);
            if changes.is_empty() {
                drop(section);
                if admin {
                    return Ok((reply, delay));
                }
            }
            let entry = (!admin).then(|| {
                let mut entry = state::JournalEntry::default();
                Self::journal_fill(&mut entry, ctx.req, &reply, started.elapsed() + delay);
                entry
            });
            match store.finish(&self.state, &changes, entry.as_ref()).await {
                Ok(shared::Finish::Done(counted)) => {
                    self.quota_headers_shared(&mut reply, &ctx.req.path, &changes.asks, &counted);
                    return Ok((reply, delay));
                }
                Ok(shared::Finish::Conflict) => own = shared::keys_of(&changes),
                Ok(shared::Finish::Denied {
                    credential,
                    index,
                    reset,
                }) => {
                    denied.insert((credential, index), reset);
                    own = shared::keys_of(&changes);
                }
                Err(e) => {
                    // Whether the write landed is unknown: start over from what Redis holds.
                    if !changes.is_empty() {
                        self.stale.store(true, Ordering::Release);
                    }
                    return Err(e);
                }
            }
        }
        self.stale.store(true, Ordering::Release);
        Err(StateError::Unreachable {
            url: store.url().to_owned(),
            reason: format!("{MAX_CONFLICTS} writes in a row lost to other emulators"),
        })
    }

    /// Brings the copy up to what Redis holds before a request is answered on it: all of it
    /// after a failed write, else what changed since (always the keys this request wrote on
    /// a lost attempt, `own`).
    async fn catch_up(
        &self,
        store: &RedisState,
        own: &[String],
        arrived: Instant,
    ) -> Result<(), StateError> {
        use std::sync::atomic::Ordering;
        if self.stale.load(Ordering::Acquire) {
            store.reload(&self.state).await?;
            self.stale.store(false, Ordering::Release);
        } else if !own.is_empty() || !store.caught_up_since(arrived) {
            // A catch-up that began after this request arrived serves it too.
            store.catch_up(&self.state, own).await?;
        }
        Ok(())
    }

    /// Answers on the copy, recording what the answer changes (quotas Redis refused on an
    /// earlier attempt, `denied`, stay refused).
    fn answer_recording(
        &self,
        ctx: &Ctx<'_>,
        admin: bool,
        denied: &HashMap<(String, usize), u64>,
    ) -> (reply::Reply, Duration, state::Changes) {
        {
            let mut s = self.lock();
            s.changes = Some(state::Changes {
                denied: denied.clone(),
                ..state::Changes::default()
            });
            self.settle_quiet(&s);
        }
        let (reply, delay) = self.answer(ctx, admin);
        let mut s = self.lock();
        self.settle_quiet(&s);
        (reply, delay, s.changes.take().unwrap_or_default())
    }

    /// The 503 sent while the shared state is unreachable.
    fn unavailable(&self, ctx: &Ctx<'_>, e: &StateError) -> reply::Reply {
        self.error(
            ctx,
            503,
            Some(&format!(
                "The emulator cannot serve this request: {e}. It recovers by itself when Redis answers again."
            )),
            &[],
        )
        .number_header(&self.contract.headers.retry_after, 1)
    }

    /// The API request path after the admin API and the journal: the answer, and how long
    /// to hold it back (delay faults and configured latency) before sending it.
    pub fn api(&self, ctx: &Ctx<'_>) -> (Reply, Duration) {
        let mut delay = Duration::ZERO;
        let reply = self.api_delayed(ctx, &mut delay);
        (reply, delay)
    }

    fn api_delayed(&self, ctx: &Ctx<'_>, delay: &mut Duration) -> Reply {
        let req = ctx.req;
        // Faults first: a header on the request, then a queued one, then chance.
        let header_fault = match req.headers.get(&crate::fault::HEADER).map(|v| v.to_str()) {
            Some(Ok(text)) => match text.parse::<Fault>() {
                Ok(f) => Some(f),
                Err(e) => return self.error(ctx, 400, Some(&format!("X-Verdict-Fault: {e}")), &[]),
            },
            Some(Err(_)) => {
                return self.error(
                    ctx,
                    400,
                    Some("X-Verdict-Fault: the header is not readable text"),
                    &[],
                );
            }
            None => None,
        };
        let quiet = self.quiet.load(std::sync::atomic::Ordering::Acquire);
        let queued = if quiet {
            None
        } else {
            let mut state = self.lock();
            let fault = state.take_fault(req.method.as_str(), &req.path);
            self.settle_quiet(&state);
            fault
        };
        if let Some(f) = header_fault.or(queued) {
            *delay += f.delay();
            if f.answers() {
                return self.fault_reply(ctx, &f);
            }
        }
        if let Some((lo, hi)) = self.config.latency_ms {
            *delay += Duration::from_millis(self.rng.between(lo, hi));
        }
        if self.config.fault_rate > 0.0 && self.rng.unit() < self.config.fault_rate {
            if let Some(r) = self.random_fault(ctx) {
                return r;
            }
        }
        if let Some(secs) = if quiet {
            None
        } else {
            self.lock().maintenance()
        } {
            return self.error(ctx, 503, Some("The service is down for maintenance; try again after the time in Retry-After."), &[])
                .number_header(&self.contract.headers.retry_after, secs);
        }
        if self.spec.https_only && !req.https {
            return self.error(
                ctx,
                403,
                Some("This API is only served over HTTPS; plain HTTP is refused."),
                &[],
            );
        }
        // HEAD is a GET on every route, the vendor's included. The answer keeps the GET's
        // body: the HTTP layer sends its length and leaves the body out. A path the vendor
        // knows under another name (an id that stands for `~`) is answered as that name.
        let alias = self.vendor.alias(self, &req.path);
        if req.method == Method::HEAD || alias.is_some() {
            let method = match req.method {
                Method::HEAD => Method::GET,
                ref m => m.clone(),
            };
            let path = alias.unwrap_or_else(|| req.path.clone());
            return self.served_as(ctx, req.clone().with(method, path));
        }
        self.served(ctx)
    }

    /// Answers `ctx`'s request as `req`, with the same tracking id and idempotency key.
    fn served_as(&self, ctx: &Ctx<'_>, req: Req) -> Reply {
        let other = Ctx {
            req: &req,
            tracking: ctx.tracking.clone(),
            idempotency: crate::idempotency::Pending::default(),
        };
        let reply = self.served(&other);
        ctx.idempotency.adopt(other.idempotency);
        reply
    }

    /// The request path once faults, maintenance and transport have let the request
    /// through: vendor routes before credentials, credentials, quotas, then the route.
    fn served(&self, ctx: &Ctx<'_>) -> Reply {
        if let Some(reply) = self.vendor.before_auth(self, ctx) {
            return reply;
        }
        let who = match self.vendor.authenticate(self, ctx) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let counted = match self.count_quota(ctx, &who) {
            Ok(c) => c,
            Err(r) => return r,
        };
        let reply = self.keyed(ctx, &who, || self.route(ctx, &who));
        match counted.shown {
            Some((remaining, reset, q)) if reply.status.is_success() => {
                let group = counted.group.as_deref();
                self.quota_headers_for(reply, remaining, reset, Some(&q), group)
            }
            _ => reply,
        }
    }

    /// Routing: a moved path, a vendor route, then one of the contract's resources, its
    /// method, lock and `Accept` checked before the operation.
    fn route(&self, ctx: &Ctx<'_>, who: &Principal) -> Reply {
        if let Some(reply) = self.moved(ctx) {
            return reply;
        }
        if let Some(reply) = self.vendor.route(self, ctx, who) {
            return reply;
        }
        let Some(target) = self.resolve(&ctx.req.path) else {
            let message = format!("No resource lives at {}.", ctx.req.path);
            return self.error(ctx, 404, Some(&message), &[]);
        };
        if let Some(op) = target.op {
            return self.operation(ctx, &target, op, who);
        }
        let resource = target.r;
        let refusal = self
            .method_refusal(ctx, resource, target.item.is_some())
            .or_else(|| self.locked(ctx))
            .or_else(|| self.check_accept(ctx, resource));
        if let Some(reply) = refusal {
            return reply;
        }
        match (ctx.req.method.clone(), target.item.is_some()) {
            (Method::GET, false) => self.list(ctx, &target, who),
            (Method::POST, false) => self.create(ctx, &target, who),
            (Method::GET, true) => self.get(ctx, &target, who),
            (Method::DELETE, true) => self.delete(ctx, &target, who),
            (m, true) if self.spec.update_methods.contains(&m) => self.update(ctx, &target, who),
            _ => self.error(ctx, 405, None, &[]),
        }
    }

    /// An operation served at a path of its own: its one method, then as the resource's
    /// list or create, or on the item its query or body names.
    fn operation(
        &self,
        ctx: &Ctx<'_>,
        target: &crate::address::Target<'_>,
        op: &verdict::emulate::RpcOperation,
        who: &Principal,
    ) -> Reply {
        if ctx.req.method != op.method {
            return crate::vendor::not_allowed(self, ctx, std::slice::from_ref(&op.method));
        }
        if let Some(reply) = self
            .locked(ctx)
            .or_else(|| self.check_accept(ctx, target.r))
        {
            return reply;
        }
        use verdict::emulate::OperationKind;
        match op.kind {
            OperationKind::List => self.list(ctx, target, who),
            OperationKind::Create => self.create(ctx, target, who),
            OperationKind::Get => self.get_named(ctx, target, op, who),
            OperationKind::Update => self.update_named(ctx, target, op, who),
            OperationKind::Delete => self.delete_named(ctx, target, op, who),
        }
    }

    /// The redirect of a path moved through the admin API.
    fn moved(&self, ctx: &Ctx<'_>) -> Option<Reply> {
        if self.quiet.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        let m = self
            .lock()
            .moves()
            .iter()
            .find(|m| m.from == ctx.req.path)
            .cloned()?;
        let to = if m.to.starts_with("http://") || m.to.starts_with("https://") {
            m.to
        } else {
            format!("{}{}", ctx.req.origin(), m.to)
        };
        Some(Reply::empty(m.status).header("Location", to))
    }

    /// The 501 or 405 (with `Allow`) for a method the resource does not answer.
    fn method_refusal(
        &self,
        ctx: &Ctx<'_>,
        resource: &verdict::emulate::ResourceSpec,
        item: bool,
    ) -> Option<Reply> {
        let method = &ctx.req.method;
        if self.allows(resource, item, method) {
            return None;
        }
        if resource.not_implemented.contains(method) {
            let message = format!("{method} is not implemented for {}.", resource.name);
            return Some(self.error(ctx, 501, Some(&message), &[]));
        }
        let allowed = self.allowed(resource, item);
        // Allow names what the OpenAPI document lists for the path: the methods served
        // and those the vendor answers with 501 Not Implemented.
        let allow: Vec<&str> = allowed
            .iter()
            .chain(resource.not_implemented.iter())
            .map(Method::as_str)
            .collect();
        let message = format!(
            "{} does not support {method}; use {}.",
            ctx.req.path,
            allow.join(", ")
        );
        let reply = self.error(ctx, 405, Some(&message), &[]);
        Some(reply.header("Allow", allow.join(", ")))
    }

    /// The 423 of a path locked through the admin API.
    fn locked(&self, ctx: &Ctx<'_>) -> Option<Reply> {
        if self.quiet.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        let lock = self.lock().lock_on(&ctx.req.path).cloned()?;
        (lock.until > Instant::now()).then(|| {
            self.error(ctx, 423, Some("The resource is locked for now."), &[])
                .number_header(&self.contract.headers.retry_after, lock.retry_after)
        })
    }
}
