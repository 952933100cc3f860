//! The contract's resources: method and media checks, then the operations (create, read,
//! update, delete, list), each answering with the status and body shape the contract gives.

use std::time::{Duration, Instant, SystemTime};

use http::{HeaderValue, Method};
use serde_json::{Map, Value, json};
use verdict::IdStyle;
use verdict::emulate::ResourceSpec;
use verdict::schema::BodyError;

use crate::address::{Target, collection_name, key_text, stored_id, visible};
use crate::reply::Reply;
use crate::request::{Ctx, Principal};
use crate::state::{Item, NewItem, Serialized, State};
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
    pub(crate) fn body_object(
        &self,
        ctx: &Ctx<'_>,
        r: &ResourceSpec,
    ) -> Result<Map<String, Value>, Reply> {
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
        let rules = r.rules(method).unwrap_or(&r.create);
        self.validate_by(ctx, r, rules, body, creating)
    }

    /// Checks the body against `rules` over the fields of `r`, then the vendor's own rules.
    pub(crate) fn validate_by(
        &self,
        ctx: &Ctx<'_>,
        r: &ResourceSpec,
        rules: &verdict::emulate::BodyRules,
        body: &Map<String, Value>,
        creating: bool,
    ) -> Result<(), Reply> {
        if let Err(e) = verdict::schema::check_rules(r, rules, body) {
            let status = match e {
                BodyError::Unknown(_) => self.spec.unknown_field_status,
                BodyError::Invalid(_) => r.invalid_status,
                BodyError::Missing(_) | BodyError::OneOf(_) => self.spec.missing_field_status,
            };
            return Err(self.body_refused(ctx, status, r, &e));
        }
        self.vendor.check(self, ctx, r, body, creating)
    }

    fn location(&self, ctx: &Ctx<'_>, t: &Target<'_>, key: &str) -> String {
        let path = if t.r.key.is_some() || !t.r.params.is_empty() {
            t.item_path(&self.spec.base_path, key)
        } else {
            format!("{}{}/{key}", self.spec.base_path, t.r.path)
        };
        format!("{}{path}", ctx.req.origin())
    }

    pub(crate) fn content_type(&self, reply: Reply, r: &ResourceSpec) -> Reply {
        match &r.media_type {
            Some(m) => {
                let mut reply = reply;
                reply.headers.remove(http::header::CONTENT_TYPE);
                reply.header("Content-Type", m)
            }
            None => reply,
        }
    }

    /// A successful body of `r` as the contract lays it out: the item under `item_key`
    /// (or the item itself), with the envelope's members.
    pub(crate) fn shaped(&self, r: &ResourceSpec, value: Value) -> Value {
        if r.envelope.is_empty() && r.item_key.is_none() {
            return value;
        }
        let mut out = match (&r.item_key, value) {
            (Some(k), v) => {
                let mut m = Map::new();
                for (member, field) in &r.beside_item {
                    if let Some(x) = v.get(field) {
                        m.insert(member.clone(), x.clone());
                    }
                }
                m.insert(k.clone(), v);
                m
            }
            (None, Value::Object(m)) => m,
            (None, v) => return v,
        };
        for (k, v) in &r.envelope {
            out.insert(k.clone(), v.clone());
        }
        Value::Object(out)
    }

    /// The answer to a clash: the vendor's field errors where the contract lays them out
    /// (GitHub's `already_exists` under "Validation Failed"), else the clash's message.
    fn clash_reply(&self, ctx: &Ctx<'_>, r: &ResourceSpec, clash: Clash) -> Reply {
        if let Some(code) = &clash.code {
            return self.coded_error(ctx, clash.status, &clash.message, Some(code), &[]);
        }
        let Some(shape) = self.contract.error_body.field_error.as_ref() else {
            return self.resource_error(ctx, r, clash.status, Some(&clash.message), &[]);
        };
        let code = if clash.taken {
            &shape.taken
        } else {
            &shape.invalid
        };
        let faults: Vec<crate::reply::FieldFault<'_>> = clash
            .fields
            .iter()
            .map(|field| crate::reply::FieldFault { field, code })
            .collect();
        self.resource_fields_refused(ctx, clash.status, r, clash.message, &faults)
    }

    /// Why `body` cannot be stored in `t`'s collection (as item `skip`, for an update):
    /// a unique set another item holds, or a reference to an item that does not exist.
    fn clash(
        &self,
        t: &Target<'_>,
        state: &mut State,
        body: &Map<String, Value>,
        skip: Option<&str>,
        who: &Principal,
    ) -> Option<Clash> {
        let r = t.r;
        if let Some(set) = unique_clash(r, state.collection(&t.collection()), body, skip) {
            let message = format!(
                "A {} with the same {} already exists.",
                r.kind.to_lowercase(),
                set.join(" and ")
            );
            return Some(Clash {
                status: r.conflict_status,
                message,
                fields: set.to_vec(),
                taken: true,
                code: None,
            });
        }
        for reference in &r.references {
            let values: Vec<&Value> = match body.get(&reference.field) {
                Some(Value::Array(a)) => a.iter().collect(),
                Some(Value::Null) | None => Vec::new(),
                Some(v) => vec![v],
            };
            let target = self
                .spec
                .resources
                .iter()
                .find(|x| x.name == reference.resource)?;
            let scope = &t.scope[..target.params.len().min(t.scope.len())];
            let coll = collection_name(target, scope);
            for v in values {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let mut refused = false;
                let found = stored_id(state, &coll, target, &text).is_some_and(|id| {
                    state.collection(&coll).get(&id).is_some_and(|it| {
                        refused = refuses(reference, &it.value);
                        visible(it, who)
                    })
                });
                let kind = target.kind.to_lowercase();
                if !found {
                    let message =
                        format!("{} {text} names no {kind} that exists.", reference.field);
                    return Some(Clash {
                        status: r.reference_status,
                        message,
                        fields: vec![reference.field.clone()],
                        taken: false,
                        code: None,
                    });
                }
                if refused {
                    let message = format!(
                        "{} {text} names a {kind} that takes none now.",
                        reference.field
                    );
                    return Some(Clash {
                        status: r.conflict_status,
                        message,
                        fields: vec![reference.field.clone()],
                        taken: false,
                        code: reference.refused_code.clone(),
                    });
                }
            }
        }
        None
    }

    /// The body of a create as it is stored: checked, with what the create does not take
    /// dropped and the defaults filled in.
    fn new_body(&self, ctx: &Ctx<'_>, r: &ResourceSpec) -> Result<Map<String, Value>, Reply> {
        let mut body = self.body_object(ctx, r)?;
        self.validate(ctx, r, &body, true)?;
        body.retain(|k, _| r.create.accepts.contains(k));
        for f in &r.fields {
            if let (None, Some(d)) = (body.get(&f.name), &f.default) {
                body.insert(f.name.clone(), d.clone());
            }
        }
        Ok(body)
    }

    pub(crate) fn create(&self, ctx: &Ctx<'_>, t: &Target<'_>, who: &Principal) -> Reply {
        let r = t.r;
        if who.read_only {
            return self.read_only(ctx);
        }
        let mut body = match self.new_body(ctx, r) {
            Ok(b) => b,
            Err(reply) => return reply,
        };
        let drawn = (r.id_style != IdStyle::Sequential).then(|| self.vendor.new_id(self, r));
        let coll = t.collection();
        let mut state = self.lock();
        if state.stored() >= self.spec.store_limit {
            drop(state);
            return self.error(ctx, 507, Some(&format!("The emulator already holds its limit of {} resources; delete some or reset it.", self.spec.store_limit)), &[]);
        }
        if let Some(clash) = self.clash(t, &mut state, &body, None, who) {
            drop(state);
            return self.clash_reply(ctx, r, clash);
        }
        let id = drawn.unwrap_or_else(|| (state.seq() + 1).to_string());
        body.insert("id".into(), id_value(r, &id));
        if let Some(seq) = &r.sequence {
            body.insert(
                seq.clone(),
                next_number(state.collection(&coll), seq).into(),
            );
        }
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
        let item = state.insert(&coll, &id, new, self.spec.store_limit);
        let (value, etag) = (item.value.clone(), item.etag.clone());
        drop(state);
        let key = key_text(r, &value).unwrap_or_else(|| id.clone());
        if ready_at.is_some() {
            return self
                .content_type(
                    Reply::json(202, &json!({"id": id, "status": "accepted"})),
                    r,
                )
                .header("Location", self.location(ctx, t, &key))
                .number_header(&self.contract.headers.retry_after, 1);
        }
        let mut reply = self
            .content_type(
                Reply::json(self.spec.create_status, &self.shaped(r, value)),
                r,
            )
            .header("ETag", etag);
        if r.rest && (self.spec.location_on_create || self.spec.create_status == 201) {
            reply = reply.header("Location", self.location(ctx, t, &key));
        }
        reply
    }

    /// The item the route names with its stored id, or the 404/410 that says why not.
    fn find(
        &self,
        ctx: &Ctx<'_>,
        t: &Target<'_>,
        who: &Principal,
    ) -> Result<(String, Item), Reply> {
        let key = t.item.as_deref().unwrap_or_default();
        let coll = t.collection();
        let mut state = self.lock();
        let id = stored_id(&mut state, &coll, t.r, key);
        let c = state.collection(&coll);
        let kind = t.r.kind.to_lowercase();
        match id.as_deref().and_then(|id| c.get(id)) {
            Some(item) if visible(item, who) => Ok((id.unwrap_or_default(), item.clone())),
            _ if id.as_deref().is_some_and(|id| c.is_gone(id)) => {
                drop(state);
                Err(self.error(
                    ctx,
                    410,
                    Some(&format!(
                        "The {kind} {key} was deleted and is gone for good."
                    )),
                    &[],
                ))
            }
            _ => {
                drop(state);
                let by = t.r.key.as_deref().unwrap_or("id");
                Err(self.error(ctx, 404, Some(&format!("No {kind} with {by} {key}.")), &[]))
            }
        }
    }

    fn if_match_fails(&self, req: &Req, etag: &str) -> bool {
        req.header(http::header::IF_MATCH)
            .is_some_and(|v| v.trim() != "*" && !v.split(',').any(|t| t.trim() == etag))
    }

    /// The item's ETag, readiness, change time and body as the route shows it.
    fn read_item(&self, t: &Target<'_>, who: &Principal) -> Option<(Serialized, Option<Instant>)> {
        let r = t.r;
        let key = t.item.as_deref().unwrap_or_default();
        let coll = t.collection();
        let mut state = self.lock();
        let id = match &r.key {
            None => std::borrow::Cow::Borrowed(key),
            Some(_) => std::borrow::Cow::Owned(stored_id(&mut state, &coll, r, key)?),
        };
        let c = state.collection(&coll);
        let item = c.get(&id).filter(|item| visible(item, who))?;
        let ready_at = item.ready_at;
        if r.envelope.is_empty() && r.item_key.is_none() {
            // The hot path: the body is serialized once per version of the item (its
            // ETag) and kept, rather than on every read.
            return Some((c.body(&id)?, ready_at));
        }
        let shaped = self.shaped(r, item.value.clone());
        Some((
            Serialized::new(&item.etag, item.modified_ms, &shaped),
            ready_at,
        ))
    }

    pub(crate) fn get(&self, ctx: &Ctx<'_>, t: &Target<'_>, who: &Principal) -> Reply {
        let r = t.r;
        let Some((read, ready_at)) = self.read_item(t, who) else {
            return match self.find(ctx, t, who) {
                Err(reply) => reply,
                Ok(_) => self.error(ctx, 404, None, &[]),
            };
        };
        if let Some(at) = ready_at {
            let now = Instant::now();
            if at > now {
                let secs = (at - now).as_secs_f64().ceil().max(1.0) as u64;
                let id = t.item.as_deref().unwrap_or_default();
                return self
                    .content_type(
                        Reply::json(202, &json!({"id": id, "status": "processing"})),
                        r,
                    )
                    .header("Location", self.location(ctx, t, id))
                    .number_header(&self.contract.headers.retry_after, secs);
            }
        }
        if not_modified(ctx.req, &read.etag, read.modified) {
            let mut reply = Reply::empty(304);
            reply.headers.insert(http::header::ETAG, read.etag);
            reply
                .headers
                .insert(http::header::LAST_MODIFIED, read.last_modified);
            return reply;
        }
        let mut reply = Reply::empty(200);
        reply.body = read.body;
        reply.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        let mut reply = self.content_type(reply, r);
        reply.headers.append(http::header::ETAG, read.etag);
        reply
            .headers
            .append(http::header::LAST_MODIFIED, read.last_modified);
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

    /// The item a write may change, with its stored id: it exists for this caller, the
    /// caller may write, and `If-Match` (when sent) matches.
    pub(crate) fn writable(
        &self,
        ctx: &Ctx<'_>,
        t: &Target<'_>,
        who: &Principal,
    ) -> Result<(String, Item), Reply> {
        let (id, item) = self.find(ctx, t, who)?;
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
        Ok((id, item))
    }

    pub(crate) fn update(&self, ctx: &Ctx<'_>, t: &Target<'_>, who: &Principal) -> Reply {
        let r = t.r;
        let id = match self.writable(ctx, t, who) {
            Ok((id, _)) => id,
            Err(reply) => return reply,
        };
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
        self.store_update(ctx, t, who, &id, body)
    }

    /// Stores a checked update of item `id` and answers with the item as it is now (or the
    /// clash that keeps it from being stored).
    pub(crate) fn store_update(
        &self,
        ctx: &Ctx<'_>,
        t: &Target<'_>,
        who: &Principal,
        id: &str,
        body: Map<String, Value>,
    ) -> Reply {
        let r = t.r;
        let coll = t.collection();
        let mut state = self.lock();
        if let Some(clash) = self.clash(t, &mut state, &body, Some(id), who) {
            drop(state);
            return self.clash_reply(ctx, r, clash);
        }
        let updated = state.update(&coll, id, |value| {
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
        self.content_type(
            Reply::json(self.spec.update_status, &self.shaped(r, value)),
            r,
        )
        .header("ETag", etag)
    }

    pub(crate) fn delete(&self, ctx: &Ctx<'_>, t: &Target<'_>, who: &Principal) -> Reply {
        let id = match self.writable(ctx, t, who) {
            Ok((id, _)) => id,
            Err(reply) => return reply,
        };
        self.lock()
            .remove(&t.collection(), &id, t.r.gone_after_delete);
        Reply::empty(self.spec.delete_status)
    }
}

impl Emulator {
    /// Stores the items the contract seeds (at start and after a reset), visible to every
    /// caller: as a create would store them, with the id each one names or a new one.
    pub(crate) fn plant_seeds(&self, state: &mut State) {
        for r in self.spec.resources.iter().filter(|r| r.params.is_empty()) {
            for seed in &r.seed {
                let mut body = seed.clone();
                for f in &r.fields {
                    if let (None, Some(d)) = (body.get(&f.name), &f.default) {
                        body.insert(f.name.clone(), d.clone());
                    }
                }
                let id = match body.get("id") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ if r.id_style == IdStyle::Sequential => (state.seq() + 1).to_string(),
                    _ => self.vendor.new_id(self, r),
                };
                body.insert("id".into(), id_value(r, &id));
                if let Some(seq) = &r.sequence {
                    body.insert(
                        seq.clone(),
                        next_number(state.collection(&r.name), seq).into(),
                    );
                }
                let new = NewItem {
                    value: Value::Object(body),
                    owner: String::new(),
                    ready_at: None,
                };
                state.insert(&r.name, &id, new, self.spec.store_limit);
            }
        }
    }
}

/// Why a body cannot be stored: a unique set another item holds (`taken`), or a field
/// that names an item that does not exist.
struct Clash {
    status: u16,
    message: String,
    fields: Vec<String>,
    taken: bool,
    /// The vendor's own code for it (a reference its item refuses).
    code: Option<String>,
}

/// Whether the item `value` is in the state that refuses `reference` (every field of its
/// `refused_when` holds its value there).
fn refuses(reference: &verdict::emulate::Reference, value: &Value) -> bool {
    !reference.refused_when.is_empty()
        && reference
            .refused_when
            .iter()
            .all(|(field, want)| value.get(field) == Some(want))
}

/// The first unique set of `r` whose values in `body` another item of `items` holds.
fn unique_clash(
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

/// An id as items hold it: a JSON number for sequential ids, else a string.
fn id_value(r: &ResourceSpec, id: &str) -> Value {
    match (r.id_style, id.parse::<u64>()) {
        (IdStyle::Sequential, Ok(n)) => Value::from(n),
        _ => Value::String(id.to_owned()),
    }
}

/// One more than the highest `field` of the collection's items (1 for the first).
fn next_number(items: &crate::state::Collection, field: &str) -> u64 {
    items
        .iter()
        .filter_map(|(_, it)| it.value.get(field).and_then(Value::as_u64))
        .max()
        .unwrap_or(0)
        + 1
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
