//! Responses, and error bodies in the vendor's shape.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{Map, Value};
use verdict::{Contract, JsonPointer, RefusalReason};

/// A response being built.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn empty(status: u16) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            // Room for the usual headers (type, ETag, quota, tracking id) without regrowing.
            headers: HeaderMap::with_capacity(8),
            body: Bytes::new(),
        }
    }

    pub fn json(status: u16, value: &Value) -> Reply {
        Reply::empty(status).with_json(value)
    }

    pub fn with_json(self, value: &Value) -> Reply {
        self.with_json_bytes(json_text(value))
    }

    /// Sets a body that is JSON text already.
    pub fn with_json_bytes(mut self, json: Vec<u8>) -> Reply {
        self.body = Bytes::from(json);
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        self
    }

    /// Sets a text body.
    pub fn with_body(mut self, text: String) -> Reply {
        self.body = Bytes::from(text);
        self
    }

    /// Adds a header; a value that is not valid in a header is left out.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Reply {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_ref().as_bytes()),
            HeaderValue::from_str(value.as_ref()),
        ) {
            self.headers.append(n, v);
        }
        self
    }

    /// Adds a header holding a number, such as a Retry-After in seconds.
    pub fn number_header(mut self, name: &verdict::Header, n: u64) -> Reply {
        self.headers
            .append(name.name().clone(), crate::util::number_value(n));
        self
    }

    pub fn into_response(self) -> http::Response<http_body_util::Full<Bytes>> {
        let mut r = http::Response::new(http_body_util::Full::new(self.body));
        *r.status_mut() = self.status;
        *r.headers_mut() = self.headers;
        r
    }
}

/// Sets `value` at `pointer` in `doc`, creating objects on the way.
pub fn set(doc: &mut Value, pointer: &JsonPointer, value: Value) {
    // RFC 6901 escapes; most tokens have none and are used as they are.
    fn unescape(token: &str) -> std::borrow::Cow<'_, str> {
        if token.contains('~') {
            token.replace("~1", "/").replace("~0", "~").into()
        } else {
            token.into()
        }
    }
    let mut tokens = pointer.as_str().split('/').skip(1).map(unescape).peekable();
    if tokens.peek().is_none() {
        *doc = value;
        return;
    }
    let mut cur = doc;
    while let Some(t) = tokens.next() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let obj = cur.as_object_mut().expect("just made an object");
        if tokens.peek().is_none() {
            obj.insert(t.into_owned(), value);
            return;
        }
        cur = obj
            .entry(t.into_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// What an error body says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorParts {
    pub message: String,
    pub code: Option<Value>,
    pub fields: Option<Value>,
}

/// One error answer, before it is written in the contract's shape.
#[derive(Debug)]
pub(crate) struct Failure<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The API whose error shape applies (Webex Connect's); the contract's when `None`.
    pub api: Option<&'a str>,
    /// The message, code and field errors.
    pub parts: ErrorParts,
    /// The kind of problem, for a problem's `type` (see [`crate::problem::Occurrence`]).
    pub kind: Option<&'a str>,
    /// Members beside the parts, where the shape has none of that name (a Webex Connect
    /// transaction id).
    pub extra: Map<String, Value>,
}

impl Failure<'_> {
    /// A failure of `status` saying `parts` in the contract's own shape.
    pub fn new(status: u16, parts: ErrorParts) -> Failure<'static> {
        Failure {
            status,
            api: None,
            parts,
            kind: None,
            extra: Map::new(),
        }
    }
}

/// The emulator's words for a refusal of credentials, where the contract gives the
/// vendor's none.
fn refusal_words(why: RefusalReason) -> &'static str {
    match why {
        RefusalReason::Missing => {
            "No credentials were sent; send them as the API's authentication scheme says."
        }
        RefusalReason::Unknown => "The credentials are not valid.",
        RefusalReason::Revoked => "The credentials have been revoked.",
        RefusalReason::Expired => "The credentials have expired; get new ones.",
    }
}

impl crate::Emulator {
    /// Every error answer is written here, in the shape the contract (or the failure's API)
    /// gives: problem details, or the vendor's JSON at its pointers, from the body written
    /// at start-up where the answer says what the contract says.
    pub(crate) fn render_error(&self, ctx: &crate::request::Ctx<'_>, f: Failure<'_>) -> Reply {
        let shape = self.contract.error_body_for(f.api);
        if shape.is_problem() {
            let occurrence = crate::problem::Occurrence {
                status: f.status,
                parts: f.parts,
                kind: f.kind,
                instance: &ctx.req.path,
                tracking: &ctx.tracking,
            };
            let mut p = crate::problem::problem(&self.contract, shape, occurrence);
            for (k, v) in f.extra {
                p.extensions.entry(k).or_insert(v);
            }
            let mut reply = Reply::empty(f.status);
            reply.body = p.to_json().into();
            reply.headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(verdict::problem::MEDIA_TYPE),
            );
            return reply;
        }
        if !f.extra.is_empty() {
            let mut body = error_body(&self.contract, f.api, f.parts, &ctx.tracking);
            if let Value::Object(obj) = &mut body {
                for (k, v) in f.extra {
                    obj.entry(k).or_insert(v);
                }
            }
            return Reply::json(f.status, &body);
        }
        let templated = f
            .api
            .is_none()
            .then(|| self.error_templates.get(&f.status))
            .flatten()
            .and_then(|t| t.fill_for(&f.parts, &ctx.tracking));
        let text =
            templated.unwrap_or_else(|| error_json(&self.contract, f.api, f.parts, &ctx.tracking));
        Reply::empty(f.status).with_json_bytes(text)
    }
}

/// An error body in the shape the contract's `[error_body]` (or the API's) describes.
pub fn error_body(
    contract: &Contract,
    api: Option<&str>,
    parts: ErrorParts,
    tracking: &str,
) -> Value {
    let shape = contract.error_body_for(api);
    let mut doc = Value::Object(Map::new());
    if let Some(flag) = &shape.failure {
        set(&mut doc, &flag.pointer, flag.equals.clone());
    }
    match &shape.message {
        Some(p) => set(&mut doc, p, Value::String(parts.message)),
        // A body that answers with a failure flag and names no place for a message
        // carries none (Slack's `{"ok": false, "error": "..."}`).
        None if shape.failure.is_some() => {}
        None => {
            if let Value::Object(m) = &mut doc {
                m.insert("message".into(), Value::String(parts.message));
            }
        }
    }
    if let (Some(p), Some(code)) = (&shape.code, parts.code) {
        set(&mut doc, p, code);
    }
    if let (Some(p), Some(fields)) = (&shape.fields, parts.fields) {
        set(&mut doc, p, fields);
    }
    if let Some(p) = &shape.tracking_id {
        set(&mut doc, p, Value::String(tracking.to_owned()));
    }
    doc
}

/// The error body of [`error_body`], as JSON text. The usual shape, where every part sits
/// at the top level under a plain name, is written straight out (in the same key order as
/// the document would be) without building the document first: error answers are
/// frequent.
pub fn error_json(
    contract: &Contract,
    api: Option<&str>,
    parts: ErrorParts,
    tracking: &str,
) -> Vec<u8> {
    /// The single key of a pointer like `/message`, if that is all it is.
    fn top_key(p: &JsonPointer) -> Option<&str> {
        p.as_str()
            .strip_prefix('/')
            .filter(|k| !k.contains(['/', '~']))
    }
    let shape = contract.error_body_for(api);
    // The parts in the order the document sets them (a later part replaces an earlier one
    // under the same name); the message goes under "message" when the shape names no place
    // (and has no failure flag: such bodies carry only the code).
    let flag = shape.failure.as_ref();
    let wanted = [
        (
            flag.map(|f| &f.pointer),
            flag.map(|f| Leaf::Value(&f.equals)),
        ),
        (shape.message.as_ref(), Some(Leaf::Text(&parts.message))),
        (shape.code.as_ref(), parts.code.as_ref().map(Leaf::Value)),
        (
            shape.fields.as_ref(),
            parts.fields.as_ref().map(Leaf::Value),
        ),
        (shape.tracking_id.as_ref(), Some(Leaf::Text(tracking))),
    ];
    let mut kept: Vec<(&str, Leaf<'_>)> = Vec::with_capacity(wanted.len());
    let mut flat = true;
    for (i, (pointer, leaf)) in wanted.into_iter().enumerate() {
        let key = match pointer {
            Some(p) => top_key(p),
            None if i == 1 && flag.is_none() => Some("message"),
            None => continue,
        };
        let Some(leaf) = leaf else { continue };
        let Some(key) = key else {
            flat = false;
            break;
        };
        match kept.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = leaf,
            None => kept.push((key, leaf)),
        }
    }
    if flat {
        kept.sort_by(|a, b| a.0.cmp(b.0));
        json_text(&FlatObject(&kept))
    } else {
        json_text(&error_body(contract, api, parts, tracking))
    }
}

/// An error body written once, with the tracking id left out: every later answer with the
/// same parts is the text before it, the id, and the text after it. Error answers with the
/// contract's own message (injected faults, 405, a missing collection) come at load-test
/// rates, and writing the body anew costs more than the rest of the answer.
#[derive(Debug, Clone)]
pub struct ErrorTemplate {
    /// What the body says: the template serves only an answer that says the same.
    parts: ErrorParts,
    before: Vec<u8>,
    /// `None` when the body does not hold the tracking id.
    after: Option<Vec<u8>>,
}

impl ErrorTemplate {
    /// Written with a stand-in id, so that its place can be found in the text.
    const STAND_IN: &'static str = "verdict-tracking-id-stand-in-5b1e";

    /// The template of [`error_json`] for `parts`; `None` when the stand-in's place is not
    /// the id's alone (a message quoting the stand-in), where the text cannot be split.
    pub fn new(contract: &Contract, api: Option<&str>, parts: ErrorParts) -> Option<ErrorTemplate> {
        let text = error_json(contract, api, parts.clone(), Self::STAND_IN);
        // The body with an empty id: what the text must be once the stand-in is cut out.
        let bare = error_json(contract, api, parts.clone(), "");
        let needle = Self::STAND_IN.as_bytes();
        let mut at = text
            .windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .map(|(i, _)| i);
        let template = match (at.next(), at.next()) {
            (None, _) => ErrorTemplate {
                parts,
                before: text,
                after: None,
            },
            (Some(i), None) => ErrorTemplate {
                parts,
                before: text[..i].to_vec(),
                after: Some(text[i + needle.len()..].to_vec()),
            },
            (Some(_), Some(_)) => return None,
        };
        let after = template.after.as_deref().unwrap_or_default();
        let fits = bare.len() == template.before.len() + after.len()
            && bare.starts_with(&template.before)
            && bare.ends_with(after);
        fits.then_some(template)
    }

    /// The body for `parts` and `tracking`, the same bytes as [`error_json`] gives; `None`
    /// when the template says something else, or the id would need escaping in JSON (never
    /// for the emulator's own ids), so the caller writes the body in full.
    pub fn fill_for(&self, parts: &ErrorParts, tracking: &str) -> Option<Vec<u8>> {
        if *parts != self.parts {
            return None;
        }
        self.fill(tracking)
    }

    /// The body for `tracking` (see [`ErrorTemplate::fill_for`]).
    pub fn fill(&self, tracking: &str) -> Option<Vec<u8>> {
        let Some(after) = &self.after else {
            return Some(self.before.clone());
        };
        if !tracking
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        let mut out = Vec::with_capacity(self.before.len() + tracking.len() + after.len());
        out.extend_from_slice(&self.before);
        out.extend_from_slice(tracking.as_bytes());
        out.extend_from_slice(after);
        Some(out)
    }
}

/// `value` as JSON text; empty if it cannot be written.
fn json_text(value: &impl serde::Serialize) -> Vec<u8> {
    // Room for a typical error or item body, so the buffer rarely grows.
    let mut out = Vec::with_capacity(256);
    if serde_json::to_writer(&mut out, value).is_err() {
        out.clear();
    }
    out
}

/// A value of a flat error body.
#[derive(Clone, Copy)]
enum Leaf<'a> {
    Text(&'a str),
    Value(&'a Value),
}

/// A JSON object of the given entries, in their order.
struct FlatObject<'a>(&'a [(&'a str, Leaf<'a>)]);

impl serde::Serialize for FlatObject<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            match v {
                Leaf::Text(t) => m.serialize_entry(k, t)?,
                Leaf::Value(v) => m.serialize_entry(k, v)?,
            }
        }
        m.end()
    }
}

use crate::request::Ctx;

impl crate::Emulator {
    /// An error in the vendor's shape, saying the vendor's words for the status where the
    /// contract has them (`wire_message`), else `message`, else the contract's meaning.
    pub fn error(
        &self,
        ctx: &Ctx<'_>,
        status: u16,
        message: Option<&str>,
        fields: &[String],
    ) -> Reply {
        let parts = self.error_parts(status, message, fields);
        self.send_error(ctx, status, parts)
    }

    /// An error about resource `r`: as [`error`](Self::error), with the resource's own
    /// vendor code for the status where it names one.
    pub(crate) fn resource_error(
        &self,
        ctx: &Ctx<'_>,
        r: &verdict::emulate::ResourceSpec,
        status: u16,
        message: Option<&str>,
        fields: &[String],
    ) -> Reply {
        let mut parts = self.error_parts(status, message, fields);
        if let Some(code) = r.error_code(status) {
            parts.code = Some(Value::String(code.to_owned()));
        }
        self.send_error(ctx, status, parts)
    }

    /// The refusal of a request's credentials for `why`: the vendor's status, code and
    /// message for it where the contract gives them (`credential_refusals`), else a 401
    /// with the 401's code and the emulator's own words.
    pub(crate) fn credential_refusal(&self, ctx: &Ctx<'_>, why: RefusalReason) -> Reply {
        let r = self.spec.credential_refusals.get(why);
        let words = r.message.as_deref().unwrap_or(refusal_words(why));
        self.credential_refusal_saying(ctx, why, words)
    }

    /// [`credential_refusal`](Self::credential_refusal) with words of the vendor module's
    /// that fit the request better than the contract's (a token sent in the body).
    pub(crate) fn credential_refusal_saying(
        &self,
        ctx: &Ctx<'_>,
        why: RefusalReason,
        words: &str,
    ) -> Reply {
        let r = self.spec.credential_refusals.get(why);
        self.coded_error(ctx, r.status(), words, r.code.as_deref(), &[])
    }

    /// An error saying `message` (words the contract or the caller chose for this
    /// condition, which beat the status's own), with the vendor's `code` in place of the
    /// status's when one is given, and the `fields` it is about.
    pub(crate) fn coded_error(
        &self,
        ctx: &Ctx<'_>,
        status: u16,
        message: &str,
        code: Option<&str>,
        fields: &[String],
    ) -> Reply {
        let mut parts = self.parts_saying(status, message.to_owned(), fields);
        if let Some(code) = code {
            parts.code = Some(Value::String(code.to_owned()));
        }
        self.send_error(ctx, status, parts)
    }

    fn send_error(&self, ctx: &Ctx<'_>, status: u16, parts: ErrorParts) -> Reply {
        match self.code_status(&parts) {
            // The vendor's code for this condition is one of its application codes: the
            // answer travels as that code does (Slack's 200 with "ok": false).
            Some((api, sent)) => self.render_error(
                ctx,
                Failure {
                    api: Some(api),
                    ..Failure::new(sent, parts)
                },
            ),
            None => self.render_error(ctx, Failure::new(status, parts)),
        }
    }

    /// The API and status of the application code an error body carries, where the
    /// contract lists it as one.
    fn code_status(&self, parts: &ErrorParts) -> Option<(&str, u16)> {
        let Some(Value::String(text)) = &parts.code else {
            return None;
        };
        self.app_code_status(text)
    }

    /// The API and status of the application code `text`, where it is one: an error that
    /// carries it travels as the code does.
    pub(crate) fn app_code_status(&self, text: &str) -> Option<(&str, u16)> {
        let code = text.parse::<verdict::CodeValue>().ok()?;
        self.contract.apis.iter().find_map(|a| {
            a.code(code.clone())
                .next()
                .map(|c| (a.id.as_str(), c.http_status))
        })
    }

    /// What an error body of `status` says: the vendor's own text for the status
    /// (`wire_message`: GitHub says "Not Found" whatever was not found), else our words
    /// for the case (`ours`), else the contract's meaning.
    pub(crate) fn error_parts(
        &self,
        status: u16,
        ours: Option<&str>,
        fields: &[String],
    ) -> ErrorParts {
        let entry = self.contract.rule(status);
        let message = match (entry.and_then(|s| s.wire_message.as_deref()), ours) {
            (Some(wire), _) => wire.to_owned(),
            (None, Some(ours)) => ours.to_owned(),
            (None, None) => entry.map_or_else(|| format!("HTTP {status}"), |s| s.meaning.clone()),
        };
        self.parts_saying(status, message, fields)
    }

    /// An error body of `status` saying `message`, with the status's code and the field
    /// errors of `fields` (or those the vendor reads out of the message).
    fn parts_saying(&self, status: u16, message: String, fields: &[String]) -> ErrorParts {
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

    /// An application code answer with its exact vendor message, sent with the status
    /// the code travels with (a 200 for an API that answers errors with 200 and a failure
    /// flag, which the body then carries).
    pub fn app_code_reply(
        &self,
        ctx: &Ctx<'_>,
        api: Option<&str>,
        code: &verdict::CodeValue,
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
}

/// One field a request body is refused for: its name and the vendor's code for the
/// fault (`missing_field`, `invalid`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldFault<'a> {
    /// The field's name.
    pub field: &'a str,
    /// The code the entry carries.
    pub code: &'a str,
}

/// The field errors for `faults` on `resource`, laid out as `shape` says: one object per
/// fault with the resource, the field and the code at the shape's pointers.
pub fn field_errors_value(
    shape: &verdict::FieldErrorShape,
    resource: &str,
    faults: &[FieldFault<'_>],
) -> Value {
    let entry = |f: &FieldFault<'_>| {
        let mut e = Value::Object(Map::new());
        if let Some(p) = &shape.resource {
            set(&mut e, p, Value::String(resource.to_owned()));
        }
        set(&mut e, &shape.field, Value::String(f.field.to_owned()));
        if let Some(p) = &shape.code {
            set(&mut e, p, Value::String(f.code.to_owned()));
        }
        e
    };
    Value::Array(faults.iter().map(entry).collect())
}

impl crate::Emulator {
    /// A request body refused for `faults` on `resource`, with `status`: the field errors
    /// in the contract's field-error layout (`[error_body] field_error`), or one line per
    /// fault where it has none. The message is `message`, else the status's wire message
    /// or meaning.
    pub fn refuse_fields(
        &self,
        ctx: &Ctx<'_>,
        status: u16,
        message: Option<&str>,
        resource: &str,
        faults: &[FieldFault<'_>],
    ) -> Reply {
        let Some(shape) = self.contract.error_body.field_error.as_ref() else {
            let lines: Vec<String> = faults
                .iter()
                .map(|f| format!("{} ({})", f.field, f.code))
                .collect();
            return self.error(ctx, status, message, &lines);
        };
        let mut parts = self.error_parts(status, message, &[]);
        parts.fields = Some(field_errors_value(shape, resource, faults));
        self.render_error(ctx, Failure::new(status, parts))
    }

    /// The answer to a body the resource's schema refuses: the vendor's field errors
    /// where the contract lays them out (a missing, invalid or unknown field each with
    /// its code, under the status's wire message), else the lines of the refusal.
    pub(crate) fn body_refused(
        &self,
        ctx: &Ctx<'_>,
        status: u16,
        r: &verdict::emulate::ResourceSpec,
        e: &verdict::schema::BodyError,
    ) -> Reply {
        use verdict::schema::BodyError;
        let Some(shape) = self.contract.error_body.field_error.as_ref() else {
            return self.resource_error(ctx, r, status, Some(&e.to_string()), &e.details());
        };
        // Each line of a refusal starts with the field's name.
        let named = |line: &String| {
            r.fields
                .iter()
                .map(|f| f.name.as_str())
                .filter(|n| line.starts_with(&format!("{n} ")))
                .max_by_key(|n| n.len())
                .map(str::to_owned)
        };
        let (names, code): (Vec<String>, &str) = match e {
            BodyError::Unknown(names) => (names.clone(), &shape.unknown),
            BodyError::Invalid(lines) => (lines.iter().filter_map(named).collect(), &shape.invalid),
            BodyError::Missing(lines) => (lines.iter().filter_map(named).collect(), &shape.missing),
            BodyError::OneOf(group) => (group.clone(), &shape.missing),
        };
        let faults: Vec<FieldFault<'_>> = names
            .iter()
            .map(|field| FieldFault { field, code })
            .collect();
        self.resource_fields_refused(ctx, status, r, e.to_string(), &faults)
    }

    /// Field errors about resource `r` (named by its kind, else its name) under the
    /// status's wire message, else `message`.
    pub(crate) fn resource_fields_refused(
        &self,
        ctx: &Ctx<'_>,
        status: u16,
        r: &verdict::emulate::ResourceSpec,
        message: String,
        faults: &[FieldFault<'_>],
    ) -> Reply {
        let wire = self
            .contract
            .rule(status)
            .and_then(|s| s.wire_message.clone());
        let message = wire.unwrap_or(message);
        let resource = if r.kind.is_empty() { &r.name } else { &r.kind };
        self.refuse_fields(ctx, status, Some(&message), resource, faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_give_the_bytes_of_error_json() {
        let mut shapes: Vec<Contract> = verdict::Catalog::builtin().contracts().to_vec();
        // A nested tracking id, and a shape without one.
        let mut nested = shapes[0].clone();
        nested.error_body.tracking_id = Some("/meta/tracking".parse().unwrap());
        shapes.push(nested);
        let mut none = shapes[0].clone();
        none.error_body.tracking_id = None;
        shapes.push(none);
        let parts = ErrorParts {
            message: "Nothing \"here\" \u{e9}".into(),
            code: Some(Value::from("CMN-102")),
            fields: Some(serde_json::json!([{"description": "d"}])),
        };
        for c in &shapes {
            for parts in [parts.clone(), ErrorParts::default()] {
                let t = ErrorTemplate::new(c, None, parts.clone()).unwrap();
                for id in ["VERDICT_0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "T1", ""] {
                    let expected = error_json(c, None, parts.clone(), id);
                    assert_eq!(t.fill(id).unwrap(), expected, "{} {id}", c.id);
                }
                // An id that JSON would escape is left to error_json.
                assert_eq!(t.fill("a\"b").is_none(), c.error_body.tracking_id.is_some());
                // The template serves only an answer that says what it says.
                assert!(t.fill_for(&parts, "T1").is_some());
                let other = ErrorParts {
                    message: "something else".into(),
                    ..parts.clone()
                };
                assert!(t.fill_for(&other, "T1").is_none());
            }
        }
        // A message quoting the stand-in cannot be split, whether the body also holds the
        // id (twice in the text) or not (once, but not in the id's place).
        let quoting = ErrorParts {
            message: ErrorTemplate::STAND_IN.into(),
            ..ErrorParts::default()
        };
        let webex = verdict::Catalog::builtin().get("webex").unwrap();
        assert!(ErrorTemplate::new(webex, None, quoting.clone()).is_none());
        assert!(ErrorTemplate::new(shapes.last().unwrap(), None, quoting).is_none());
    }

    #[test]
    fn error_json_is_the_error_body_for_every_shape() {
        let parts = ErrorParts {
            message: "Nothing \"here\"".into(),
            code: Some(Value::from("CMN-102")),
            fields: Some(serde_json::json!([{"description": "d"}])),
        };
        let mut shapes: Vec<Contract> = verdict::Catalog::builtin().contracts().to_vec();
        // Nested, escaped and clashing pointers take the general path.
        let mut odd = shapes[0].clone();
        odd.error_body.message = Some("/error/message".parse().unwrap());
        odd.error_body.code = Some("/a~1b".parse().unwrap());
        shapes.push(odd);
        let mut clash = shapes[0].clone();
        clash.error_body.message = Some("/x".parse().unwrap());
        clash.error_body.fields = Some("/x".parse().unwrap());
        clash.error_body.tracking_id = Some("/trackingId".parse().unwrap());
        shapes.push(clash);
        // A failure flag at the top (flat) and nested (the general path).
        for pointer in ["/ok", "/meta/ok"] {
            let mut flagged = shapes[0].clone();
            flagged.error_body.failure = Some(verdict::FailureFlag {
                pointer: pointer.parse().unwrap(),
                equals: Value::Bool(false),
            });
            let doc = error_body(&flagged, None, parts.clone(), "T1");
            assert_eq!(
                flagged
                    .error_body
                    .failure
                    .as_ref()
                    .unwrap()
                    .pointer
                    .find(&doc),
                Some(&Value::Bool(false))
            );
            shapes.push(flagged);
        }
        for c in &shapes {
            // The contract's own shape, and each API's where it has APIs (Webex Connect).
            let apis = std::iter::once(None).chain(c.apis.iter().map(|a| Some(a.id.as_str())));
            for api in apis {
                for parts in [parts.clone(), ErrorParts::default()] {
                    let text = error_json(c, api, parts.clone(), "T1");
                    let doc = error_body(c, api, parts, "T1");
                    assert_eq!(text, serde_json::to_vec(&doc).unwrap(), "{} {api:?}", c.id);
                }
            }
        }
    }

    #[test]
    fn field_errors_follow_the_shape() {
        let shape = verdict::FieldErrorShape {
            resource: Some("/resource".parse().unwrap()),
            field: "/field".parse().unwrap(),
            code: Some("/detail/code".parse().unwrap()),
            missing: "missing_field".into(),
            invalid: "invalid".into(),
            unknown: "unprocessable".into(),
            taken: "already_exists".into(),
        };
        let faults = [
            FieldFault {
                field: "title",
                code: "missing_field",
            },
            FieldFault {
                field: "body",
                code: "invalid",
            },
        ];
        assert_eq!(
            field_errors_value(&shape, "Issue", &faults),
            serde_json::json!([
                {"resource": "Issue", "field": "title", "detail": {"code": "missing_field"}},
                {"resource": "Issue", "field": "body", "detail": {"code": "invalid"}}
            ])
        );
        let bare = verdict::FieldErrorShape {
            resource: None,
            code: None,
            ..shape
        };
        assert_eq!(
            field_errors_value(&bare, "Issue", &faults[..1]),
            serde_json::json!([{"field": "title"}])
        );
    }

    #[test]
    fn pointers_build_nested_objects() {
        let mut v = Value::Null;
        set(&mut v, &"/error/message".parse().unwrap(), "x".into());
        set(&mut v, &"/error/code".parse().unwrap(), 3.into());
        assert_eq!(v, serde_json::json!({"error": {"message": "x", "code": 3}}));
        // Escaped tokens, and a scalar in the way replaced by an object.
        let mut v = serde_json::json!({"a/b": 1});
        set(&mut v, &"/a~1b/c~0d".parse().unwrap(), "y".into());
        assert_eq!(v, serde_json::json!({"a/b": {"c~d": "y"}}));
        // The empty pointer is the whole document.
        set(&mut v, &"".parse().unwrap(), 7.into());
        assert_eq!(v, serde_json::json!(7));
    }

    #[test]
    fn vendor_shapes() {
        let webex = verdict::Catalog::builtin().get("webex").unwrap();
        let body = error_body(
            webex,
            None,
            ErrorParts {
                message: "m".into(),
                ..Default::default()
            },
            "T1",
        );
        assert_eq!(body["message"], "m");
        assert_eq!(body["trackingId"], "T1");
        let wc = verdict::Catalog::builtin().get("webex-connect").unwrap();
        let body = error_body(
            wc,
            Some("messaging"),
            ErrorParts {
                message: "Invalid JSON".into(),
                code: Some("7000".into()),
                ..Default::default()
            },
            "T",
        );
        assert_eq!(
            body,
            serde_json::json!({"code": "7000", "description": "Invalid JSON"})
        );
    }
}
