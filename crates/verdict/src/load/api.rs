//! Application APIs, their codes and messages, and the error-body shape.

use super::*;

pub(super) fn read_error_body(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> ErrorBody {
    t.check_keys(
        cx,
        &[
            "message",
            "code",
            "fields",
            "tracking_id",
            "format",
            "type_base",
            "failure",
            "field_error",
        ],
    );
    let mut body = ErrorBody {
        message: t.parsed::<JsonPointer>(cx, "message"),
        code: t.parsed(cx, "code"),
        fields: t.parsed(cx, "fields"),
        tracking_id: t.parsed(cx, "tracking_id"),
        format: t.parsed(cx, "format").unwrap_or_default(),
        type_base: t.string(cx, "type_base"),
        failure: t.table(cx, "failure").and_then(|f| read_failure(cx, &f)),
        field_error: t
            .table(cx, "field_error")
            .and_then(|f| read_field_error(cx, &f)),
    };
    let span_of = |key: &str| t.get(key).map(Spanned::span).unwrap_or(t.span.clone());
    if body.field_error.is_some() && body.fields.is_none() && !body.is_problem() {
        cx.report(
            span_of("field_error"),
            t.field("field_error"),
            "says how one field error is laid out, but fields names no place for the list; add fields = \"/errors\"",
        );
    }
    if body.failure.is_some() && body.is_problem() {
        cx.report(
            span_of("failure"),
            t.field("failure"),
            "a problem (format = \"problem\") says failure by its status; leave failure out",
        );
    }
    if let Some(base) = &body.type_base {
        if !body.is_problem() {
            cx.report(
                span_of("type_base"),
                t.field("type_base"),
                "only format = \"problem\" takes a type_base",
            );
        } else if url::Url::parse(base).is_err() {
            cx.report(
                span_of("type_base"),
                t.field("type_base"),
                format!(
                    "\"{base}\" is not an absolute URI (e.g. https://api.example.com/problems/)"
                ),
            );
        }
    }
    if body.is_problem() {
        check_problem_body(cx, t, &mut body);
    }
    body
}

/// A problem's parts: its message is `/detail`, the others extension members that do not
/// clash with the standard ones; field errors under `/errors` unless placed.
fn check_problem_body(cx: &mut Cx<'_>, t: &Obj<'_, '_>, body: &mut ErrorBody) {
    let span_of = |key: &str| t.get(key).map(Spanned::span).unwrap_or(t.span.clone());
    // The message of a problem is its `detail`; the other parts are extension members.
    match &body.message {
        Some(p) if p.as_str() != "/detail" => cx.report(
            span_of("message"),
            t.field("message"),
            format!("a problem carries its message in /detail, not {p}; leave message out"),
        ),
        Some(_) => {}
        None => body.message = Some("/detail".parse().expect("a valid pointer")),
    }
    let members = [
        ("code", &body.code, "/code"),
        ("fields", &body.fields, "/errors"),
        ("tracking_id", &body.tracking_id, "/trackingId"),
    ];
    for (key, pointer, example) in members {
        let Some(p) = pointer else { continue };
        let first = p.as_str().split('/').nth(1);
        let clash = match first {
            None => Some("the whole body".to_owned()),
            Some(m) if crate::problem::STANDARD_MEMBERS.contains(&m) => {
                Some(format!("the standard member \"{m}\""))
            }
            Some(_) => None,
        };
        if let Some(what) = clash {
            cx.report(
                span_of(key),
                t.field(key),
                format!("{p} is {what} of a problem; use an extension member such as {example}"),
            );
        }
    }
    if body.fields.is_none() {
        body.fields = Some("/errors".parse().expect("a valid pointer"));
    }
}

/// `failure = { pointer = "/ok", equals = false }`: the member that says a request
/// failed, and the value that says so (a boolean, a number or a string).
fn read_failure(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<FailureFlag> {
    t.check_keys(cx, &["pointer", "equals"]);
    let pointer: Option<JsonPointer> = t.parsed(cx, "pointer");
    if t.get("pointer").is_none() {
        cx.report(
            t.span.clone(),
            t.field("pointer"),
            "is required (e.g. \"/ok\")",
        );
    }
    let equals = match t.get("equals") {
        None => {
            cx.report(
                t.span.clone(),
                t.field("equals"),
                "is required (e.g. false)",
            );
            None
        }
        Some(v) => match v.get_ref() {
            DeValue::Boolean(_) | DeValue::Integer(_) | DeValue::String(_) => {
                Some(to_json(v.get_ref()))
            }
            other => {
                cx.report(
                    v.span(),
                    t.field("equals"),
                    format!(
                        "expected a boolean, an integer or a string, found {}",
                        other.type_str()
                    ),
                );
                None
            }
        },
    };
    if let Some(p) = pointer.as_ref().filter(|p| p.as_str().is_empty()) {
        let span = t.get("pointer").map(Spanned::span).unwrap_or_default();
        cx.report(
            span,
            t.field("pointer"),
            format!(
                "\"{p}\" is the whole body; point at the member that says failure (e.g. \"/ok\")"
            ),
        );
        return None;
    }
    Some(FailureFlag {
        pointer: pointer?,
        equals: equals?,
    })
}

/// `field_error = { resource = "/resource", field = "/field", code = "/code" }`, with the
/// codes for each kind of fault (`missing`, `invalid`, `unknown`) when not the usual.
fn read_field_error(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<FieldErrorShape> {
    t.check_keys(
        cx,
        &[
            "resource", "field", "code", "missing", "invalid", "unknown", "taken",
        ],
    );
    let field: Option<JsonPointer> = t.parsed(cx, "field");
    if t.get("field").is_none() {
        cx.report(
            t.span.clone(),
            t.field("field"),
            "is required (e.g. \"/field\")",
        );
    }
    let mut code_of = |key: &str, default: &str| {
        let text = t.string(cx, key)?;
        if text.trim().is_empty() || text.trim() != text {
            let span = t.get(key).map(Spanned::span).unwrap_or_default();
            cx.report(
                span,
                t.field(key),
                format!(
                    "\"{text}\" is not a code; write it as the body carries it, e.g. \"{default}\""
                ),
            );
        }
        Some(text)
    };
    let missing = code_of("missing", "missing_field");
    let invalid = code_of("invalid", "invalid");
    let unknown = code_of("unknown", "unprocessable");
    let taken = code_of("taken", "already_exists");
    Some(FieldErrorShape {
        resource: t.parsed(cx, "resource"),
        field: field?,
        code: t.parsed(cx, "code"),
        missing: missing.unwrap_or_else(|| "missing_field".into()),
        invalid: invalid.unwrap_or_else(|| "invalid".into()),
        unknown: unknown.unwrap_or_else(|| "unprocessable".into()),
        taken: taken.unwrap_or_else(|| "already_exists".into()),
    })
}

pub(super) fn read_api(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<Api> {
    t.check_keys(
        cx,
        &[
            "id",
            "name",
            "summary",
            "error_body",
            "code",
            "check",
            "enum",
        ],
    );
    let id = t.required_string(cx, "id");
    if let Some(id) = &id {
        if !is_id(id) {
            cx.report(
                t.get("id").map(Spanned::span).unwrap_or_default(),
                t.field("id"),
                format!("\"{id}\" is not a valid id"),
            );
        }
    }
    let name = t.required_string(cx, "name");
    let summary = t.string(cx, "summary");
    let error_body = t.table(cx, "error_body").map(|e| read_error_body(cx, &e));
    let mut codes: Vec<AppCode> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for c in t.tables(cx, "code") {
        if let Some(code) = read_app_code(cx, &c, &mut keys) {
            let repeat = codes.iter().any(|x| x.code == code.code);
            let span = c.get("code").map(Spanned::span).unwrap_or(c.span.clone());
            if repeat && !code.seed_duplicate {
                cx.report(span, c.field("code"), format!("code {} is listed twice; mark the later row seed_duplicate = true if the document repeats it", code.code));
            } else if !repeat && code.seed_duplicate {
                cx.report(
                    span,
                    c.field("seed_duplicate"),
                    format!(
                        "code {} is marked seed_duplicate but no earlier row has this number",
                        code.code
                    ),
                );
            }
            codes.push(code);
        }
    }
    let checks = t
        .tables(cx, "check")
        .iter()
        .filter_map(|c| read_check(cx, c, &keys))
        .collect();
    let enums = t
        .tables(cx, "enum")
        .iter()
        .filter_map(|e| read_enum(cx, e, &keys))
        .collect();
    Some(Api {
        id: id?,
        name: name?,
        summary,
        error_body,
        codes,
        checks,
        enums,
    })
}

/// `when` of a check: one condition table or a list of them, each on the body.
fn read_body_conditions(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<Vec<Condition>> {
    let tables = match t.get("when").map(|v| v.get_ref().as_array().is_some()) {
        None => return Some(Vec::new()),
        Some(true) => t.tables(cx, "when"),
        Some(false) => vec![t.table(cx, "when")?],
    };
    let mut out = Vec::new();
    for w in tables {
        match condition_from(cx, &w)? {
            Condition::Header(_) | Condition::HeaderEquals(..) => cx.report(
                w.span.clone(),
                w.path.clone(),
                "a check on a request body has pointer conditions, not header ones",
            ),
            c => out.push(c),
        }
    }
    Some(out)
}

/// One `[[api.check]]`: `pointer` (or `any_of`), `is`, an optional `range`, `optional` and
/// `when`, and the `key` of the API's message that answers a failure.
fn read_check(cx: &mut Cx<'_>, t: &Obj<'_, '_>, keys: &[String]) -> Option<BodyCheck> {
    t.check_keys(
        cx,
        &[
            "when", "pointer", "any_of", "is", "range", "optional", "key",
        ],
    );
    let when = read_body_conditions(cx, t)?;
    let pointers: Vec<JsonPointer> = match (
        t.parsed::<JsonPointer>(cx, "pointer"),
        t.list::<JsonPointer>(cx, "any_of"),
    ) {
        (Some(p), None) => vec![p],
        (None, Some(list)) if !list.is_empty() => list,
        _ => {
            cx.report(
                t.span.clone(),
                t.path.clone(),
                "a check names one pointer or a non-empty any_of list",
            );
            return None;
        }
    };
    let shape: Shape = t.parsed(cx, "is").unwrap_or(Shape::Present);
    let range = t.get("range").and_then(|v| {
        let bound = |i: &toml::Spanned<DeValue<'_>>| {
            i.get_ref()
                .as_integer()
                .and_then(|n| i64::from_str_radix(n.as_str(), n.radix()).ok())
        };
        let bounds: Vec<i64> = v
            .get_ref()
            .as_array()
            .map_or(Vec::new(), |a| a.iter().filter_map(bound).collect());
        match bounds.as_slice() {
            [lo, hi] if lo <= hi && shape == Shape::Integer => Some((*lo, *hi)),
            _ => {
                cx.report(
                    v.span(),
                    t.field("range"),
                    "a range is [lowest, highest] on a check whose shape is integer",
                );
                None
            }
        }
    });
    let key = t.required_string(cx, "key")?;
    if !keys.contains(&key) {
        let hint = match crate::suggest::closest(&key, keys.iter().map(String::as_str)) {
            Some(m) => format!("; did you mean \"{m}\"?"),
            None => String::new(),
        };
        cx.report(
            t.get("key").map(Spanned::span).unwrap_or(t.span.clone()),
            t.field("key"),
            format!("no message of this API has the key \"{key}\"{hint}"),
        );
    }
    Some(BodyCheck {
        when,
        pointers,
        shape,
        range,
        optional: t.boolean(cx, "optional").unwrap_or(false),
        key,
    })
}

/// `code = 7109` or `code = "invalid_auth"`: a number from 0 to 999999999, or text that
/// is not empty.
fn read_code_value(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<CodeValue> {
    let v = t.get("code")?;
    if v.get_ref().as_integer().is_some() {
        return t
            .integer(cx, "code", 0..1_000_000_000)
            .map(|(n, _)| CodeValue::Number(n as u32));
    }
    let text = t.string(cx, "code")?;
    match text.parse::<CodeValue>() {
        Ok(CodeValue::Number(n)) if n >= 1_000_000_000 => {
            cx.report(
                v.span(),
                t.field("code"),
                format!("{n} is out of range (0 to 999999999)"),
            );
            None
        }
        Ok(c) => Some(c),
        Err(e) => {
            cx.report(v.span(), t.field("code"), e.to_string());
            None
        }
    }
}

/// `deprecated = "why / since when"` or `deprecated = true` (`false`: not deprecated).
fn read_deprecated(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<Deprecation> {
    let v = t.get("deprecated")?;
    match v.get_ref() {
        DeValue::Boolean(true) => Some(Deprecation { note: None }),
        DeValue::Boolean(false) => None,
        DeValue::String(s) if s.trim().is_empty() => {
            cx.report(
                v.span(),
                t.field("deprecated"),
                "must not be empty; say why and since when, or write deprecated = true",
            );
            None
        }
        DeValue::String(s) => Some(Deprecation {
            note: Some(s.to_string()),
        }),
        other => {
            cx.report(
                v.span(),
                t.field("deprecated"),
                format!(
                    "expected a string (why and since when) or true, found {}",
                    other.type_str()
                ),
            );
            None
        }
    }
}

/// One application code; `keys` holds the message keys its API has used so far.
pub(super) fn read_app_code(
    cx: &mut Cx<'_>,
    t: &Obj<'_, '_>,
    keys: &mut Vec<String>,
) -> Option<AppCode> {
    let mut fields = vec![
        "code",
        "http_status",
        "outcome",
        "category",
        "meaning",
        "rule",
        "messages",
        "seed_duplicate",
        "deprecated",
    ];
    fields.extend_from_slice(ACTION_KEYS);
    t.check_keys(cx, &fields);
    let code = read_code_value(cx, t);
    let http_status = t.integer(cx, "http_status", 100..600);
    let outcome: Option<Outcome> = t.parsed(cx, "outcome");
    let category: Option<Category> = t.parsed(cx, "category");
    let meaning = t.string(cx, "meaning");
    for key in [
        "code",
        "http_status",
        "outcome",
        "category",
        "meaning",
        "action",
    ] {
        if t.get(key).is_none() {
            cx.report(t.span.clone(), t.field(key), "is required");
        }
    }
    let mut problems = Vec::new();
    let action = read_action(cx, t).resolve(None, &mut problems);
    for (span, field, message) in problems {
        cx.report(span, field, message);
    }
    let messages = read_messages(cx, t, keys);
    Some(AppCode {
        code: code?,
        http_status: http_status?.0 as u16,
        outcome: outcome?,
        category: category?,
        action: action?,
        meaning: meaning?,
        rule: t.string(cx, "rule"),
        messages,
        seed_duplicate: t.boolean(cx, "seed_duplicate").unwrap_or(false),
        deprecated: read_deprecated(cx, t),
    })
}

/// The `messages` of an application code: at least one `{ text, when }`, texts distinct,
/// keys valid and unused by other messages of the API (`keys`, which grows).
fn read_messages(cx: &mut Cx<'_>, t: &Obj<'_, '_>, keys: &mut Vec<String>) -> Vec<Message> {
    let mut messages: Vec<Message> = Vec::new();
    for m in t.tables(cx, "messages") {
        m.check_keys(cx, &["text", "when", "key"]);
        let text = m.required_string(cx, "text");
        let when = m.required_string(cx, "when");
        let key = m.string(cx, "key");
        if let Some(k) = &key {
            let span = m.get("key").map(Spanned::span).unwrap_or(m.span.clone());
            if !is_id(k) {
                cx.report(
                    span,
                    m.field("key"),
                    format!("\"{k}\" is not a valid key (lowercase letters, digits and '-', starting with a letter)"),
                );
            } else if keys.contains(k) {
                cx.report(
                    span,
                    m.field("key"),
                    format!("the key \"{k}\" is used by another message of this API"),
                );
            } else {
                keys.push(k.clone());
            }
        }
        if let (Some(text), Some(when)) = (text, when) {
            if text.is_empty() {
                cx.report(m.span.clone(), m.field("text"), "must not be empty");
            } else if messages.iter().any(|x| x.text == text) {
                cx.report(
                    m.span.clone(),
                    m.field("text"),
                    format!("the message \"{text}\" is listed twice for this code"),
                );
            }
            messages.push(Message { text, when, key });
        }
    }
    if t.get("messages").is_some() && messages.is_empty() {
        cx.report(
            t.span.clone(),
            t.field("messages"),
            "needs at least one { text, when }",
        );
    } else if t.get("messages").is_none() {
        cx.report(t.span.clone(), t.field("messages"), "is required");
    }
    messages
}

/// The contract's error body and its APIs: the file's over the base's, an API of the same
/// id replacing the base's. A problem body carries the tracking id of a contract that has
/// one as an extension member.
pub(super) fn resolve_bodies(
    doc: &Document,
    base: Option<&Contract>,
    headers: &Headers,
) -> (ErrorBody, Vec<Api>) {
    let tracked = |body: &mut ErrorBody| {
        if body.is_problem() && body.tracking_id.is_none() && headers.tracking_id.is_some() {
            body.tracking_id = Some("/trackingId".parse().expect("a valid pointer"));
        }
    };
    let mut error_body = doc
        .error_body
        .clone()
        .or_else(|| base.map(|b| b.error_body.clone()))
        .unwrap_or_default();
    tracked(&mut error_body);
    let mut own_apis = doc.apis.clone();
    for api in &mut own_apis {
        if let Some(body) = &mut api.error_body {
            tracked(body);
        }
    }
    let mut apis: Vec<Api> = base
        .map(|b| b.apis.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !own_apis.iter().any(|o| o.id == a.id))
        .collect();
    apis.extend(own_apis);
    (error_body, apis)
}

/// `[[api.enum]]`: the values a request field takes, a value either plain text or
/// `{ value, deprecated }`; `refused_with` names the message (by key, among `keys`) the
/// API answers a deprecated value with.
fn read_enum(cx: &mut Cx<'_>, t: &Obj<'_, '_>, keys: &[String]) -> Option<DataValues> {
    t.check_keys(cx, &["field", "values", "refused_with"]);
    let field: Option<JsonPointer> = t.parsed(cx, "field");
    if t.get("field").is_none() {
        cx.report(
            t.span.clone(),
            t.field("field"),
            "is required (e.g. \"/channel\")",
        );
    }
    let values = read_enum_values(cx, t);
    let refused_with = t.string(cx, "refused_with");
    if let Some(key) = &refused_with {
        if !keys.contains(key) {
            let span = t.get("refused_with").map(Spanned::span).unwrap_or_default();
            let hint = match crate::suggest::closest(key, keys.iter().map(String::as_str)) {
                Some(best) => format!("; did you mean \"{best}\"?"),
                None => String::new(),
            };
            let text = format!("no message of this API has the key \"{key}\"{hint}");
            cx.report(span, t.field("refused_with"), text);
        }
        if !values.iter().any(|v| v.deprecated.is_some()) {
            let span = t.get("refused_with").map(Spanned::span).unwrap_or_default();
            let text = "no value is deprecated, so nothing is refused with it";
            cx.report(span, t.field("refused_with"), text);
        }
    }
    Some(DataValues {
        field: field?,
        values,
        refused_with,
    })
}

/// The `values` of an `[[api.enum]]`: at least one, none twice (regardless of case).
fn read_enum_values(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Vec<DataValue> {
    let Some(list) = t.get("values") else {
        cx.report(t.span.clone(), t.field("values"), "is required");
        return Vec::new();
    };
    let Some(items) = list.get_ref().as_array() else {
        let text = format!("expected an array, found {}", list.get_ref().type_str());
        cx.report(list.span(), t.field("values"), text);
        return Vec::new();
    };
    let mut out: Vec<DataValue> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("{}[{i}]", t.field("values"));
        let value = match item.get_ref() {
            DeValue::String(s) => Some(DataValue {
                value: s.to_string(),
                deprecated: None,
            }),
            DeValue::Table(map) => {
                let o = Obj {
                    map,
                    path: field.clone(),
                    span: item.span(),
                };
                o.check_keys(cx, &["value", "deprecated"]);
                let value = o.required_string(cx, "value");
                let deprecated = read_deprecated(cx, &o);
                value.map(|value| DataValue { value, deprecated })
            }
            other => {
                let text = format!(
                    "expected a string or {{ value, deprecated }}, found {}",
                    other.type_str()
                );
                cx.report(item.span(), field.clone(), text);
                None
            }
        };
        let Some(value) = value else { continue };
        if value.value.trim().is_empty() {
            cx.report(item.span(), field, "must not be empty");
        } else if out
            .iter()
            .any(|v| v.value.eq_ignore_ascii_case(&value.value))
        {
            let text = format!("\"{}\" is listed twice", value.value);
            cx.report(item.span(), field, text);
        } else {
            out.push(value);
        }
    }
    if items.is_empty() {
        cx.report(list.span(), t.field("values"), "needs at least one value");
    }
    out
}
