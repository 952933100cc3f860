//! The request path: faults, maintenance, transport, credentials, quotas, moves, routing,
//! method and media checks, then the resource operations, each answering with the status
//! and body shape the contract gives.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Map, Value, json};
use verdict::emulate::ResourceSpec;
use verdict::schema::BodyError;

use crate::Emulator;
use crate::fault::Fault;
use crate::reply::{ErrorParts, Failure, Reply};
use crate::state::{Item, NewItem};
use crate::util::{number_value, timestamp};

/// A request as the engine sees it.
#[derive(Debug, Clone)]
pub struct Req {
    /// The method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body (within the server's limit).
    pub body: Bytes,
    /// It came over TLS.
    pub https: bool,
    /// The address the request arrived on (the origin when `Host` is missing or odd).
    pub local: std::net::SocketAddr,
}

impl Req {
    /// `scheme://host` as the client reached the emulator: the `Host` header when it is a
    /// plausible host, else the listening address. Made only where an answer holds a URL
    /// (a Location, a Link), not for every request.
    ///
    /// ```
    /// # use verdict_server::Req;
    /// let mut req = Req {
    ///     method: http::Method::GET,
    ///     path: "/v1/rooms".into(),
    ///     query: String::new(),
    ///     headers: http::HeaderMap::new(),
    ///     body: bytes::Bytes::new(),
    ///     https: false,
    ///     local: ([127, 0, 0, 1], 8080).into(),
    /// };
    /// assert_eq!(req.origin(), "http://127.0.0.1:8080");
    /// req.headers.insert("host", http::HeaderValue::from_static("localhost:8080"));
    /// assert_eq!(req.origin(), "http://localhost:8080");
    /// req.headers.insert("host", http::HeaderValue::from_static("evil/path"));
    /// assert_eq!(req.origin(), "http://127.0.0.1:8080");
    /// ```
    pub fn origin(&self) -> String {
        let scheme = if self.https { "https://" } else { "http://" };
        let host = self
            .headers
            .get(http::header::HOST)
            .map(HeaderValue::as_bytes)
            .filter(|h| {
                !h.is_empty()
                    && h.iter()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(b))
            })
            .and_then(|h| std::str::from_utf8(h).ok());
        match host {
            Some(host) => format!("{scheme}{host}"),
            None => format!("{scheme}{}", self.local),
        }
    }

    /// A header as text, when it is text. `name` is a `&str` or, cheaper on the request
    /// path, a [`http::HeaderName`].
    pub fn header<K: http::header::AsHeaderName>(&self, name: K) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The query string, decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The same request with another method and path.
    fn with(self, method: Method, path: String) -> Req {
        Req {
            method,
            path,
            ..self
        }
    }

    /// The first value of a query parameter.
    pub fn query_value(&self, key: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

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
    /// An error in the vendor's shape; the message is the contract's meaning unless given.
    pub fn error(
        &self,
        ctx: &Ctx<'_>,
        status: u16,
        message: Option<&str>,
        fields: &[String],
    ) -> Reply {
        let parts = self.error_parts(status, message, fields);
        self.render_error(ctx, Failure::new(status, parts))
    }

    /// What an error body of `status` says: `message`, or the contract's meaning.
    pub(crate) fn error_parts(
        &self,
        status: u16,
        message: Option<&str>,
        fields: &[String],
    ) -> ErrorParts {
        let message = message.map(str::to_owned).unwrap_or_else(|| {
            self.contract
                .status(status)
                .map_or_else(|| format!("HTTP {status}"), |s| s.meaning.clone())
        });
        let fields = if fields.is_empty() {
            self.vendor.fields_without_detail(&message)
        } else {
            Some(self.vendor.fields_value(self, fields))
        };
        ErrorParts {
            message,
            code: self
                .spec
                .error_code(status)
                .map(|c| Value::String(c.to_owned())),
            fields,
        }
    }

    /// An application code answer with its exact vendor message.
    pub fn app_code_reply(
        &self,
        ctx: &Ctx<'_>,
        api: Option<&str>,
        code: u32,
        status: Option<u16>,
        message: Option<&str>,
    ) -> Option<Reply> {
        let (api_id, entry) = self
            .contract
            .apis
            .iter()
            .filter(|a| api.is_none_or(|id| a.id == id))
            .find_map(|a| a.code(code).next().map(|c| (a.id.clone(), c)))?;
        let text = message
            .map(str::to_owned)
            .unwrap_or_else(|| entry.messages[0].text.clone());
        let parts = ErrorParts {
            message: text,
            code: Some(Value::String(code.to_string())),
            fields: None,
        };
        let status = status.unwrap_or(entry.http_status);
        let failure = Failure {
            api: Some(&api_id),
            ..Failure::new(status, parts)
        };
        Some(self.render_error(ctx, failure))
    }

    /// The answer a fault asks for.
    pub fn fault_reply(&self, ctx: &Ctx<'_>, f: &Fault) -> Reply {
        let mut reply = match (f.code, f.status) {
            (Some(code), status) => {
                match self.app_code_reply(ctx, f.api.as_deref(), code, status, f.message.as_deref())
                {
                    Some(r) => r,
                    None => {
                        return self.error(
                            ctx,
                            400,
                            Some(&format!(
                                "X-Verdict-Fault: {} has no application code {code}",
                                self.contract.id
                            )),
                            &[],
                        );
                    }
                }
            }
            (None, Some(status)) if (300..400).contains(&status) && status != 304 => {
                Reply::empty(status)
                    .header("Location", format!("{}{}", ctx.req.origin(), ctx.req.path))
            }
            (None, Some(status)) if status < 300 || status == 304 => Reply::empty(status),
            (None, Some(status)) => self.error(ctx, status, f.message.as_deref(), &[]),
            (None, None) => Reply::empty(204),
        };
        if let Some(secs) = f.retry_after {
            reply = reply.number_header(&self.contract.headers.retry_after, secs);
        }
        if reply.status.as_u16() == 429 {
            reply = self.quota_headers(reply, 0, f.retry_after.unwrap_or(60));
        }
        reply
    }

    fn quota_headers(&self, reply: Reply, remaining: u32, reset: u64) -> Reply {
        let first = self.first_quota();
        self.quota_headers_for(reply, remaining, reset, first.as_ref())
    }

    /// With shared state, the first quota's headers as the group counted it (the answer
    /// was made from this emulator's estimate).
    pub(crate) fn quota_headers_shared(
        &self,
        reply: &mut Reply,
        asks: &[crate::state::Ask],
        counted: &[(u32, Duration)],
    ) {
        let Some((ask, (remaining, left))) = asks.iter().zip(counted).find(|(a, _)| a.index == 0)
        else {
            return;
        };
        let names = &self.contract.rate_limit;
        let mut set = |h: &Option<verdict::Header>, v: u64| {
            if let Some(h) = h {
                if reply.headers.contains_key(h.name()) {
                    reply.headers.insert(h.name().clone(), number_value(v));
                }
            }
        };
        set(&names.remaining, u64::from(*remaining));
        set(&names.reset, left.as_millis().div_ceil(1000) as u64);
        if names.fields.draft() && reply.headers.contains_key(verdict::ratelimit::RATELIMIT) {
            let (window_s, reset) = (ask.window.as_secs() as u32, left.as_millis().div_ceil(1000));
            let reset = reset as u64;
            crate::ratelimit::set_limit(&mut reply.headers, ask.limit, window_s, *remaining, reset);
        }
    }

    /// The contract's rate-limit headers for `quota` (numbers written without formatting:
    /// this runs on every successful answer).
    fn quota_headers_for(
        &self,
        mut reply: Reply,
        remaining: u32,
        reset: u64,
        quota: Option<&verdict::emulate::Quota>,
    ) -> Reply {
        let names = &self.contract.rate_limit;
        let numbers = [
            (&names.limit, quota.map(|q| u64::from(q.requests))),
            (&names.window, quota.map(|q| u64::from(q.window_s))),
            (&names.remaining, Some(remaining.into())),
            (&names.reset, Some(reset)),
        ];
        for (name, value) in numbers.into_iter().filter(|_| names.fields.named()) {
            if let (Some(h), Some(v)) = (name, value) {
                // Appended in place: `number_header` would move the reply for each one.
                reply.headers.append(h.name().clone(), number_value(v));
            }
        }
        if let (true, Some(h), Some(group)) = (
            names.fields.named(),
            &names.group,
            &self.spec.rate_limit_group,
        ) {
            if let Ok(value) = HeaderValue::from_str(group) {
                reply.headers.append(h.name().clone(), value);
            }
        }
        if let (true, Some(q)) = (names.fields.draft(), quota) {
            let state = self.lock();
            let in_force = self.quotas_in_force(state.quotas.as_deref());
            crate::ratelimit::append(&mut reply.headers, in_force, q, remaining, reset);
        }
        reply
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
        if let Some(secs) = if quiet { None } else { self.lock().maintenance } {
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
        let quota = match self.count_quota(ctx, &who) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let reply = self.keyed(ctx, &who, || self.route(ctx, &who));
        match quota {
            Some((remaining, reset, q)) if reply.status.is_success() => {
                self.quota_headers_for(reply, remaining, reset, Some(&q))
            }
            _ => reply,
        }
    }

    /// The quota the rate-limit headers describe: the first of those in force.
    fn first_quota(&self) -> Option<verdict::emulate::Quota> {
        let state = self.lock();
        self.quotas_in_force(state.quotas.as_deref())
            .first()
            .cloned()
    }

    /// The quotas that count: those set through the admin API (`admin`), else the
    /// configured ones, else the contract's.
    fn quotas_in_force<'a>(
        &'a self,
        admin: Option<&'a [verdict::emulate::Quota]>,
    ) -> &'a [verdict::emulate::Quota] {
        admin
            .or(self.config.quotas.as_deref())
            .unwrap_or(&self.spec.quotas)
    }

    /// Counts the request against every quota; the first quota's state when it passes.
    fn count_quota(
        &self,
        ctx: &Ctx<'_>,
        who: &Principal,
    ) -> Result<Option<(u32, u64, verdict::emulate::Quota)>, Reply> {
        let now = crate::util::wall_ms();
        let mut first = None;
        let mut state = self.lock();
        let admin_set = state.quotas.clone();
        let quotas = self.quotas_in_force(admin_set.as_deref());
        for (i, q) in quotas.iter().enumerate() {
            match state.count(
                &who.credential,
                i,
                q.requests,
                Duration::from_secs(u64::from(q.window_s)),
                now,
            ) {
                Ok((left, reset)) if i == 0 => first = Some((left, reset, q.clone())),
                Ok(_) => {}
                Err(reset) => {
                    drop(state);
                    let msg = format!(
                        "More than {} requests in {} s on this credential; try again after the time in Retry-After.",
                        q.requests, q.window_s
                    );
                    let reply = self
                        .error(ctx, q.status, Some(&msg), &[])
                        .number_header(&self.contract.headers.retry_after, reset);
                    return Err(self.quota_headers_for(reply, 0, reset, Some(q)));
                }
            }
        }
        Ok(first)
    }

    fn random_fault(&self, ctx: &Ctx<'_>) -> Option<Reply> {
        // Transient failures the contract tells clients to retry.
        let transient: Vec<u16> = self
            .contract
            .documented_statuses()
            .filter(|s| {
                matches!(
                    s.action.kind(),
                    verdict::ActionKind::Retry | verdict::ActionKind::RetryAfter
                )
            })
            .map(|s| s.code)
            .collect();
        let status =
            *transient.get(self.rng.between(0, transient.len().max(1) as u64 - 1) as usize)?;
        let retry_after = matches!(
            self.contract.status(status).map(|s| s.action.kind()),
            Some(verdict::ActionKind::RetryAfter)
        )
        .then_some(1);
        Some(self.fault_reply(
            ctx,
            &Fault {
                status: Some(status),
                retry_after,
                ..Fault::default()
            },
        ))
    }

    fn route(&self, ctx: &Ctx<'_>, who: &Principal) -> Reply {
        let req = ctx.req;
        let quiet = self.quiet.load(std::sync::atomic::Ordering::Acquire);
        let moved = if quiet {
            None
        } else {
            self.lock()
                .moves
                .iter()
                .find(|m| m.from == req.path)
                .cloned()
        };
        if let Some(m) = moved {
            let to = if m.to.starts_with("http://") || m.to.starts_with("https://") {
                m.to
            } else {
                format!("{}{}", req.origin(), m.to)
            };
            return Reply::empty(m.status).header("Location", to);
        }
        if let Some(reply) = self.vendor.route(self, ctx, who) {
            return reply;
        }
        let Some(rest) = req.path.strip_prefix(&self.spec.base_path) else {
            return self.error(
                ctx,
                404,
                Some(&format!("No resource lives at {}.", req.path)),
                &[],
            );
        };
        let found = self.spec.resources.iter().find_map(|r| {
            let tail = rest.strip_prefix(&r.path)?;
            match tail {
                "" => Some((r, None)),
                t => t
                    .strip_prefix('/')
                    .filter(|id| !id.is_empty() && !id.contains('/'))
                    .map(|id| (r, Some(id.to_owned()))),
            }
        });
        let Some((resource, id)) = found else {
            return self.error(
                ctx,
                404,
                Some(&format!("No resource lives at {}.", req.path)),
                &[],
            );
        };
        let method = req.method.clone();
        if !self.allows(resource, id.is_some(), &method) {
            let allowed = self.allowed(resource, id.is_some());
            if resource.not_implemented.contains(&method) {
                return self.error(
                    ctx,
                    501,
                    Some(&format!(
                        "{method} is not implemented for {}.",
                        resource.name
                    )),
                    &[],
                );
            }
            let allow: Vec<&str> = allowed.iter().map(Method::as_str).collect();
            return self
                .error(
                    ctx,
                    405,
                    Some(&format!(
                        "{} does not support {method}; use {}.",
                        req.path,
                        allow.join(", ")
                    )),
                    &[],
                )
                .header("Allow", allow.join(", "));
        }
        let locked = if quiet {
            None
        } else {
            self.lock().locks.get(&req.path).cloned()
        };
        if let Some(lock) = locked {
            if lock.until > Instant::now() {
                return self
                    .error(ctx, 423, Some("The resource is locked for now."), &[])
                    .number_header(&self.contract.headers.retry_after, lock.retry_after);
            }
        }
        if let Some(r) = self.check_accept(ctx, resource) {
            return r;
        }
        match (method, id) {
            (Method::GET, None) => self.list(ctx, resource, who),
            (Method::POST, None) => self.create(ctx, resource, who),
            (Method::GET, Some(id)) => self.get(ctx, resource, &id, who),
            (Method::DELETE, Some(id)) => self.delete(ctx, resource, &id, who),
            (m, Some(id)) if self.spec.update_methods.contains(&m) => {
                self.update(ctx, resource, &id, who)
            }
            _ => self.error(ctx, 405, None, &[]),
        }
    }

    /// Whether `method` is one of [`Emulator::allowed`] (without building the list).
    fn allows(&self, r: &ResourceSpec, item: bool, method: &Method) -> bool {
        let wanted = if item {
            *method == Method::GET
                || *method == Method::DELETE
                || self.spec.update_methods.contains(method)
        } else {
            *method == Method::GET || *method == Method::POST
        };
        wanted && r.methods.contains(method)
    }

    /// The methods a collection (or one of its items) answers.
    pub fn allowed(&self, r: &ResourceSpec, item: bool) -> Vec<Method> {
        let wanted: Vec<Method> = if item {
            let mut v = vec![Method::GET, Method::DELETE];
            v.extend(self.spec.update_methods.iter().cloned());
            v
        } else {
            vec![Method::GET, Method::POST]
        };
        wanted
            .into_iter()
            .filter(|m| r.methods.contains(m))
            .collect()
    }

    fn media_types(&self, r: &ResourceSpec) -> Vec<String> {
        match &r.media_type {
            Some(m) => vec![m.clone()],
            None => self.spec.media_types.clone(),
        }
    }

    fn check_accept(&self, ctx: &Ctx<'_>, r: &ResourceSpec) -> Option<Reply> {
        let accept = ctx.req.header(http::header::ACCEPT)?;
        let types = self.media_types(r);
        let ok = accept.split(',').any(|part| {
            let t = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            t.is_empty()
                || t == "*/*"
                || t == "application/*"
                || types.iter().any(|m| m.eq_ignore_ascii_case(&t))
                || (t == "application/json" && r.media_type.is_none())
        });
        (!ok).then(|| {
            self.error(
                ctx,
                self.spec.accept_unmet.status,
                Some(&format!(
                    "Cannot answer in {accept}; this resource speaks {}.",
                    types.join(", ")
                )),
                &[],
            )
        })
    }

    /// The JSON object of a request body, or the refusal.
    fn body_object(&self, ctx: &Ctx<'_>, r: &ResourceSpec) -> Result<Map<String, Value>, Reply> {
        let req = ctx.req;
        let types = self.media_types(r);
        let ct = req.header(http::header::CONTENT_TYPE).map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        match ct {
            None => {
                return Err(self.error(
                    ctx,
                    self.spec.content_type_missing.status,
                    Some(&format!(
                        "The request has no Content-Type; send {}.",
                        types.join(" or ")
                    )),
                    &[],
                ));
            }
            Some(c) if !types.iter().any(|t| t.eq_ignore_ascii_case(&c)) => {
                return Err(self.error(
                    ctx,
                    self.spec.content_type_wrong.status,
                    Some(&format!(
                        "Content-Type {c} is not supported here; send {}.",
                        types.join(" or ")
                    )),
                    &[],
                ));
            }
            _ => {}
        }
        match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(self
                .vendor
                .invalid_json(self, ctx, "The body must be a JSON object.")),
            Err(e) => Err(self.vendor.invalid_json(
                self,
                ctx,
                &format!("The body is not valid JSON: {e}."),
            )),
        }
    }

    /// Checks the body against what the request's method takes on `r` (a create for
    /// POST), then the vendor's own rules.
    fn validate(
        &self,
        ctx: &Ctx<'_>,
        r: &ResourceSpec,
        body: &Map<String, Value>,
        creating: bool,
    ) -> Result<(), Reply> {
        let method = if creating {
            &Method::POST
        } else {
            &ctx.req.method
        };
        if let Err(e) = verdict::schema::check(r, method, body) {
            let status = match e {
                BodyError::Unknown(_) => self.spec.unknown_field_status,
                BodyError::Invalid(_) => 400,
                BodyError::Missing(_) | BodyError::OneOf(_) => self.spec.missing_field_status,
            };
            return Err(self.error(ctx, status, Some(&e.to_string()), &e.details()));
        }
        self.vendor.check(self, ctx, r, body, creating)
    }

    fn location(&self, ctx: &Ctx<'_>, r: &ResourceSpec, id: &str) -> String {
        format!("{}{}{}/{id}", ctx.req.origin(), self.spec.base_path, r.path)
    }

    fn content_type(&self, reply: Reply, r: &ResourceSpec) -> Reply {
        match &r.media_type {
            Some(m) => {
                let mut reply = reply;
                reply.headers.remove(http::header::CONTENT_TYPE);
                reply.header("Content-Type", m)
            }
            None => reply,
        }
    }

    fn unique_clash(
        &self,
        r: &ResourceSpec,
        items: &crate::state::Collection,
        body: &Map<String, Value>,
        skip: Option<&str>,
    ) -> Option<Vec<String>> {
        r.unique.iter().find_map(|set| {
            let values: Option<Vec<&Value>> = set
                .iter()
                .map(|f| body.get(f).filter(|v| !v.is_null()))
                .collect();
            let values = values?;
            let clash = items.iter().any(|(id, it)| {
                Some(id.as_str()) != skip
                    && set
                        .iter()
                        .zip(&values)
                        .all(|(f, v)| it.value.get(f).is_some_and(|x| x == *v))
            });
            clash.then(|| set.clone())
        })
    }

    fn create(&self, ctx: &Ctx<'_>, r: &ResourceSpec, who: &Principal) -> Reply {
        if who.read_only {
            return self.read_only(ctx);
        }
        let mut body = match self.body_object(ctx, r) {
            Ok(b) => b,
            Err(reply) => return reply,
        };
        if let Err(reply) = self.validate(ctx, r, &body, true) {
            return reply;
        }
        body.retain(|k, _| r.create.accepts.contains(k));
        for f in &r.fields {
            if let (None, Some(d)) = (body.get(&f.name), &f.default) {
                body.insert(f.name.clone(), d.clone());
            }
        }
        let id = self.vendor.new_id(self, r);
        let mut state = self.lock();
        if state.stored() >= self.spec.store_limit {
            drop(state);
            return self.error(ctx, 507, Some(&format!("The emulator already holds its limit of {} resources; delete some or reset it.", self.spec.store_limit)), &[]);
        }
        if let Some(set) = self.unique_clash(r, state.collection(&r.name), &body, None) {
            drop(state);
            return self.error(
                ctx,
                409,
                Some(&format!(
                    "A {} with the same {} already exists.",
                    r.kind.to_lowercase(),
                    set.join(" and ")
                )),
                &[],
            );
        }
        body.insert("id".into(), Value::String(id.clone()));
        self.vendor.decorate(self, r, &mut body, who, &mut state);
        let ready_at = self
            .config
            .accept_delay
            .or(r.accept_delay_ms.map(Duration::from_millis))
            .filter(|_| r.accept_delay_ms.is_some())
            .map(|d| Instant::now() + d);
        let new = NewItem {
            value: Value::Object(body),
            owner: who.account.clone(),
            ready_at,
        };
        let item = state.insert(&r.name, &id, new, self.spec.store_limit);
        let (value, etag) = (item.value.clone(), item.etag.clone());
        drop(state);
        if ready_at.is_some() {
            return self
                .content_type(
                    Reply::json(202, &json!({"id": id, "status": "accepted"})),
                    r,
                )
                .header("Location", self.location(ctx, r, &id))
                .number_header(&self.contract.headers.retry_after, 1);
        }
        let mut reply = self
            .content_type(Reply::json(self.spec.create_status, &value), r)
            .header("ETag", etag);
        if self.spec.location_on_create || self.spec.create_status == 201 {
            reply = reply.header("Location", self.location(ctx, r, &id));
        }
        reply
    }

    /// The item, or the 404/410 that says why not.
    fn find(
        &self,
        ctx: &Ctx<'_>,
        r: &ResourceSpec,
        id: &str,
        who: &Principal,
    ) -> Result<Item, Reply> {
        let mut state = self.lock();
        let c = state.collection(&r.name);
        match c.get(id) {
            Some(item) if item.owner == who.account => Ok(item.clone()),
            Some(_) | None if c.is_gone(id) => {
                drop(state);
                Err(self.error(
                    ctx,
                    410,
                    Some(&format!(
                        "The {} {id} was deleted and is gone for good.",
                        r.kind.to_lowercase()
                    )),
                    &[],
                ))
            }
            _ => {
                drop(state);
                Err(self.error(
                    ctx,
                    404,
                    Some(&format!("No {} with id {id}.", r.kind.to_lowercase())),
                    &[],
                ))
            }
        }
    }

    fn if_match_fails(&self, req: &Req, etag: &str) -> bool {
        req.header(http::header::IF_MATCH)
            .is_some_and(|v| v.trim() != "*" && !v.split(',').any(|t| t.trim() == etag))
    }

    fn get(&self, ctx: &Ctx<'_>, r: &ResourceSpec, id: &str, who: &Principal) -> Reply {
        // The hot path: the body is serialized once per version of the item (its ETag)
        // and kept, rather than on every read.
        let found = {
            let mut state = self.lock();
            let c = state.collection(&r.name);
            match c.get(id) {
                Some(item) if item.owner == who.account => {
                    let (ready_at, modified_ms) = (item.ready_at, item.modified_ms);
                    c.body(id)
                        .map(|(etag, body)| (etag, ready_at, modified_ms, body))
                }
                _ => None,
            }
        };
        let Some((etag, ready_at, modified_ms, body)) = found else {
            return match self.find(ctx, r, id, who) {
                Err(reply) => reply,
                Ok(_) => self.error(ctx, 404, None, &[]),
            };
        };
        if let Some(at) = ready_at {
            let now = Instant::now();
            if at > now {
                let secs = (at - now).as_secs_f64().ceil().max(1.0) as u64;
                return self
                    .content_type(
                        Reply::json(202, &json!({"id": id, "status": "processing"})),
                        r,
                    )
                    .header("Location", self.location(ctx, r, id))
                    .number_header(&self.contract.headers.retry_after, secs);
            }
        }
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(modified_ms / 1000);
        let last_modified = HeaderValue::from_str(&httpdate::fmt_http_date(modified))
            .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
        if not_modified(ctx.req, &etag, modified) {
            let mut reply = Reply::empty(304);
            reply.headers.insert(http::header::ETAG, etag);
            reply
                .headers
                .insert(http::header::LAST_MODIFIED, last_modified);
            return reply;
        }
        let mut reply = Reply::empty(200);
        reply.body = body;
        reply.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        let mut reply = self.content_type(reply, r);
        reply.headers.append(http::header::ETAG, etag);
        reply
            .headers
            .append(http::header::LAST_MODIFIED, last_modified);
        reply
    }

    fn read_only(&self, ctx: &Ctx<'_>) -> Reply {
        self.error(
            ctx,
            403,
            Some("This credential may read but not write."),
            &[],
        )
    }

    /// The item a write may change: it exists for this caller, the caller may write, and
    /// `If-Match` (when sent) matches.
    fn writable(
        &self,
        ctx: &Ctx<'_>,
        r: &ResourceSpec,
        id: &str,
        who: &Principal,
    ) -> Result<Item, Reply> {
        let item = self.find(ctx, r, id, who)?;
        if who.read_only {
            return Err(self.read_only(ctx));
        }
        if self.if_match_fails(ctx.req, &item.etag) {
            return Err(self.error(
                ctx,
                412,
                Some("If-Match does not match the resource's current ETag."),
                &[],
            ));
        }
        Ok(item)
    }

    fn update(&self, ctx: &Ctx<'_>, r: &ResourceSpec, id: &str, who: &Principal) -> Reply {
        if let Err(reply) = self.writable(ctx, r, id, who) {
            return reply;
        }
        let mut body = match self.body_object(ctx, r) {
            Ok(b) => b,
            Err(reply) => return reply,
        };
        if let Err(reply) = self.validate(ctx, r, &body, false) {
            return reply;
        }
        // What the method does not take (where the policy ignores it) changes nothing.
        let accepts = r.rules(&ctx.req.method).map(|u| u.accepts.as_slice());
        body.retain(|k, _| accepts.is_some_and(|a| a.contains(k)));
        let mut state = self.lock();
        if let Some(set) = self.unique_clash(r, state.collection(&r.name), &body, Some(id)) {
            drop(state);
            return self.error(
                ctx,
                409,
                Some(&format!(
                    "A {} with the same {} already exists.",
                    r.kind.to_lowercase(),
                    set.join(" and ")
                )),
                &[],
            );
        }
        let updated = state.update(&r.name, id, |value| {
            if let Value::Object(obj) = value {
                obj.extend(body);
            }
        });
        let Some(stored) = updated else {
            drop(state);
            return self.error(ctx, 404, None, &[]);
        };
        let (value, etag) = (stored.value.clone(), stored.etag.clone());
        drop(state);
        if self.spec.update_status == 204 {
            return Reply::empty(204).header("ETag", etag);
        }
        self.content_type(Reply::json(self.spec.update_status, &value), r)
            .header("ETag", etag)
    }

    fn delete(&self, ctx: &Ctx<'_>, r: &ResourceSpec, id: &str, who: &Principal) -> Reply {
        if let Err(reply) = self.writable(ctx, r, id, who) {
            return reply;
        }
        self.lock().remove(&r.name, id, r.gone_after_delete);
        Reply::empty(self.spec.delete_status)
    }

    fn list(&self, ctx: &Ctx<'_>, r: &ResourceSpec, who: &Principal) -> Reply {
        let req = ctx.req;
        let pairs = req.query_pairs();
        let size = match self
            .spec
            .page_param
            .as_ref()
            .and_then(|p| pairs.iter().find(|(k, _)| k == p))
        {
            None => self.spec.page_default,
            Some((k, v)) => match v.parse::<u32>() {
                Ok(n) if n >= 1 && n <= self.spec.page_limit => n,
                Ok(n) if n > self.spec.page_limit => {
                    return self.error(ctx, self.spec.page_limit_status, Some(&format!("{k}={n} asks for more than the {} items a page may hold; ask for fewer.", self.spec.page_limit)), &[]);
                }
                _ => {
                    return self.error(
                        ctx,
                        400,
                        Some(&format!(
                            "{k} must be a number from 1 to {}.",
                            self.spec.page_limit
                        )),
                        &[format!("{k} is invalid")],
                    );
                }
            },
        };
        let after: u64 = match pairs.iter().find(|(k, _)| k == "cursor") {
            None => 0,
            Some((_, v)) => match v.parse() {
                Ok(n) => n,
                Err(_) => {
                    return self.error(
                        ctx,
                        400,
                        Some("cursor is not one this emulator gave out."),
                        &["cursor is invalid".into()],
                    );
                }
            },
        };
        let filters: Vec<(&String, &String)> = pairs
            .iter()
            .filter(|(k, _)| r.filters.contains(k))
            .map(|(k, v)| (k, v))
            .collect();
        let mut state = self.lock();
        let c = state.collection(&r.name);
        let mut page = Vec::new();
        let mut more = None;
        for (seq, item) in c.after(after) {
            if item.owner != who.account
                || !filters.iter().all(|(k, v)| {
                    item.value.get(k.as_str()).and_then(Value::as_str) == Some(v.as_str())
                })
            {
                continue;
            }
            if page.len() == size as usize {
                more = Some(seq - 1);
                break;
            }
            page.push(item.value.clone());
        }
        drop(state);
        let body = match &self.spec.list_key {
            Some(key) => {
                let key = if key == "{resource}" {
                    r.name.clone()
                } else {
                    key.clone()
                };
                json!({ key: page })
            }
            None => Value::Array(page),
        };
        let mut reply = self.content_type(Reply::json(200, &body), r);
        if let (true, Some(cursor)) = (self.spec.link_pagination, more) {
            let mut q: Vec<(String, String)> =
                pairs.into_iter().filter(|(k, _)| k != "cursor").collect();
            q.push(("cursor".into(), cursor.to_string()));
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(q)
                .finish();
            reply = reply.header(
                "Link",
                format!("<{}{}?{query}>; rel=\"next\"", req.origin(), req.path),
            );
        }
        reply
    }
}

/// Whether a read of a resource with `etag`, last changed at `modified`, is answered with
/// 304 (RFC 9110 §13.2.2): `If-None-Match` decides when sent (a weak match, or `*`);
/// otherwise `If-Modified-Since`, when it is one valid HTTP-date no earlier than the change
/// (to the second, as the header is written).
fn not_modified(req: &Req, etag: &HeaderValue, modified: SystemTime) -> bool {
    if let Some(inm) = req.header(http::header::IF_NONE_MATCH) {
        let tag = etag.to_str().unwrap_or_default();
        return inm.trim() == "*"
            || inm
                .split(',')
                .any(|t| t.trim().trim_start_matches("W/") == tag);
    }
    req.header(http::header::IF_MODIFIED_SINCE)
        .and_then(|v| httpdate::parse_http_date(v.trim()).ok())
        .is_some_and(|since| modified <= since)
}

/// The time as resource fields show it.
pub fn now_stamp() -> String {
    timestamp(SystemTime::now())
}
