//! The contract's resources: method and media checks, then the operations (create, read,
//! update, delete, list), each answering with the status and body shape the contract gives.

use std::time::{Duration, Instant, SystemTime};

use http::{HeaderValue, Method};
use serde_json::{Map, Value, json};
use verdict::emulate::ResourceSpec;
use verdict::schema::BodyError;

use crate::reply::Reply;
use crate::request::{Ctx, Principal};
use crate::state::{Item, NewItem};
use crate::util::timestamp;
use crate::{Emulator, Req};

impl Emulator {
    /// Whether `method` is one of [`Emulator::allowed`] (without building the list).
    pub(crate) fn allows(&self, r: &ResourceSpec, item: bool, method: &Method) -> bool {
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

    pub(crate) fn check_accept(&self, ctx: &Ctx<'_>, r: &ResourceSpec) -> Option<Reply> {
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
            return Err(self.body_refused(ctx, status, r, &e));
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

    pub(crate) fn create(&self, ctx: &Ctx<'_>, r: &ResourceSpec, who: &Principal) -> Reply {
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

    pub(crate) fn get(&self, ctx: &Ctx<'_>, r: &ResourceSpec, id: &str, who: &Principal) -> Reply {
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

    pub(crate) fn update(
        &self,
        ctx: &Ctx<'_>,
        r: &ResourceSpec,
        id: &str,
        who: &Principal,
    ) -> Reply {
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

    pub(crate) fn delete(
        &self,
        ctx: &Ctx<'_>,
        r: &ResourceSpec,
        id: &str,
        who: &Principal,
    ) -> Reply {
        if let Err(reply) = self.writable(ctx, r, id, who) {
            return reply;
        }
        self.lock().remove(&r.name, id, r.gone_after_delete);
        Reply::empty(self.spec.delete_status)
    }

    /// `GET` of a collection: a page of the caller's items that pass the filters.
    pub(crate) fn list(&self, ctx: &Ctx<'_>, r: &ResourceSpec, who: &Principal) -> Reply {
        let pairs = ctx.req.query_pairs();
        let size = match self.page_size(ctx, &pairs) {
            Ok(size) => size,
            Err(refused) => return refused,
        };
        let after = match self.cursor(ctx, &pairs) {
            Ok(after) => after,
            Err(refused) => return refused,
        };
        let (page, more) = self.page(r, who, &pairs, size, after);
        let reply = self.content_type(Reply::json(200, &self.list_body(r, page)), r);
        match more {
            Some(cursor) if self.spec.link_pagination => next_link(reply, ctx, pairs, cursor),
            _ => reply,
        }
    }

    /// The page size the query asks for (the contract's default when it names none), or
    /// the refusal of one out of range.
    fn page_size(&self, ctx: &Ctx<'_>, pairs: &[(String, String)]) -> Result<u32, Reply> {
        let asked = self
            .spec
            .page_param
            .as_ref()
            .and_then(|p| pairs.iter().find(|(k, _)| k == p));
        let Some((k, v)) = asked else {
            return Ok(self.spec.page_default);
        };
        let limit = self.spec.page_limit;
        match v.parse::<u32>() {
            Ok(n) if n >= 1 && n <= limit => Ok(n),
            Ok(n) if n > limit => Err(self.error(
                ctx,
                self.spec.page_limit_status,
                Some(&format!(
                    "{k}={n} asks for more than the {limit} items a page may hold; ask for fewer."
                )),
                &[],
            )),
            _ => Err(self.error(
                ctx,
                400,
                Some(&format!("{k} must be a number from 1 to {limit}.")),
                &[format!("{k} is invalid")],
            )),
        }
    }

    /// The sequence number the page starts after (0 without a cursor), or the refusal of a
    /// cursor this emulator did not give out.
    fn cursor(&self, ctx: &Ctx<'_>, pairs: &[(String, String)]) -> Result<u64, Reply> {
        match pairs.iter().find(|(k, _)| k == "cursor") {
            None => Ok(0),
            Some((_, v)) => v.parse().map_err(|_| {
                self.error(
                    ctx,
                    400,
                    Some("cursor is not one this emulator gave out."),
                    &["cursor is invalid".into()],
                )
            }),
        }
    }

    /// Up to `size` of the caller's items after `after` that pass the query's filters, and
    /// the cursor of the next page when there are more.
    fn page(
        &self,
        r: &ResourceSpec,
        who: &Principal,
        pairs: &[(String, String)],
        size: u32,
        after: u64,
    ) -> (Vec<Value>, Option<u64>) {
        let filters: Vec<(&String, &String)> = pairs
            .iter()
            .filter(|(k, _)| r.filters.contains(k))
            .map(|(k, v)| (k, v))
            .collect();
        let mut state = self.lock();
        let c = state.collection(&r.name);
        let mut page = Vec::new();
        for (seq, item) in c.after(after) {
            if item.owner != who.account
                || !filters.iter().all(|(k, v)| {
                    item.value.get(k.as_str()).and_then(Value::as_str) == Some(v.as_str())
                })
            {
                continue;
            }
            if page.len() == size as usize {
                return (page, Some(seq - 1));
            }
            page.push(item.value.clone());
        }
        (page, None)
    }

    /// A page as the contract's list body holds it: bare, or under its list key.
    fn list_body(&self, r: &ResourceSpec, page: Vec<Value>) -> Value {
        match &self.spec.list_key {
            Some(key) => {
                let key = if key == "{resource}" {
                    r.name.clone()
                } else {
                    key.clone()
                };
                json!({ key: page })
            }
            None => Value::Array(page),
        }
    }
}

/// `reply` with a `Link` to the next page: the same query with `cursor`.
fn next_link(reply: Reply, ctx: &Ctx<'_>, pairs: Vec<(String, String)>, cursor: u64) -> Reply {
    let req = ctx.req;
    let mut q: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "cursor").collect();
    q.push(("cursor".into(), cursor.to_string()));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q)
        .finish();
    reply.header(
        "Link",
        format!("<{}{}?{query}>; rel=\"next\"", req.origin(), req.path),
    )
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
