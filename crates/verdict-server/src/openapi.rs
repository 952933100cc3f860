//! An OpenAPI 3.0 description of the emulated API, built from one list of routes: the
//! contract's resources (their request and answer schemas come from the resource schema
//! that also validates requests) and the routes each vendor module declares.

use http::Method;
use serde_json::{Map, Value, json};
use verdict::emulate::{BodyRules, ResourceSpec};
use verdict::{AuthScheme, UnknownFields};

use crate::Emulator;

/// One answer an operation gives: its status, what it means, and its body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// What it means.
    pub description: String,
    /// The body's media type and JSON Schema; none for an answer without a body, or one
    /// whose body is not described.
    pub content: Option<(String, Value)>,
}

impl Answer {
    /// An answer with a JSON body of `schema`.
    pub fn json(status: u16, description: &str, schema: Value) -> Answer {
        Answer::with(status, description, "application/json", schema)
    }

    /// An answer with a body of `media` described by `schema`.
    pub fn with(status: u16, description: &str, media: &str, schema: Value) -> Answer {
        Answer {
            status,
            description: description.to_owned(),
            content: Some((media.to_owned(), schema)),
        }
    }

    /// An answer without a described body.
    pub fn bare(status: u16, description: &str) -> Answer {
        Answer {
            status,
            description: description.to_owned(),
            content: None,
        }
    }
}

/// One method of a route.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The method.
    pub method: Method,
    /// One line on what it does.
    pub summary: String,
    /// It is answered without credentials (an OAuth token endpoint).
    pub public: bool,
    /// The request body's media type and schema.
    pub request: Option<(String, Value)>,
    /// Its parameters, as OpenAPI parameter objects.
    pub params: Vec<Value>,
    /// Its own answers; the API's shared ones (credentials, quotas, documented
    /// statuses) are added to them.
    pub answers: Vec<Answer>,
}

impl Operation {
    /// An operation with no body, parameters or answers yet.
    pub fn new(method: Method, summary: impl Into<String>) -> Operation {
        Operation {
            method,
            summary: summary.into(),
            public: false,
            request: None,
            params: Vec::new(),
            answers: Vec::new(),
        }
    }

    /// With this answer.
    pub fn answer(mut self, a: Answer) -> Operation {
        self.answers.push(a);
        self
    }

    /// With error answers of these statuses (the API's error body).
    pub fn errors(mut self, statuses: &[(u16, &str)]) -> Operation {
        for (s, d) in statuses {
            self.answers.push(Answer::bare(*s, d));
        }
        self
    }

    /// With a JSON request body of `schema`.
    pub fn body(mut self, media: &str, schema: Value) -> Operation {
        self.request = Some((media.to_owned(), schema));
        self
    }

    /// With these parameters.
    pub fn params(mut self, params: Vec<Value>) -> Operation {
        self.params.extend(params);
        self
    }
}

/// A path (an OpenAPI template such as `/rooms/{id}`) and its operations.
#[derive(Debug, Clone)]
pub struct Route {
    /// The path template.
    pub path: String,
    /// Its operations.
    pub ops: Vec<Operation>,
}

/// A path parameter of type string.
pub fn path_param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}

/// Every route the emulator serves: the resources', then the vendor module's.
pub fn routes(em: &Emulator) -> Vec<Route> {
    let mut out = Vec::new();
    for r in &em.spec.resources {
        out.extend(resource_routes(em, r));
    }
    // A vendor route on a resource's path adds its answers to the resource's operation.
    for route in em.vendor.routes(em) {
        match out.iter_mut().find(|r| r.path == route.path) {
            Some(known) => merge(known, route.ops),
            None => out.push(route),
        }
    }
    out
}

fn merge(route: &mut Route, ops: Vec<Operation>) {
    for op in ops {
        match route.ops.iter_mut().find(|o| o.method == op.method) {
            Some(known) => known.answers.extend(op.answers),
            None => route.ops.push(op),
        }
    }
}

fn component(r: &ResourceSpec, what: &str) -> String {
    if what.is_empty() {
        r.name.clone()
    } else {
        format!("{}.{what}", r.name)
    }
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// What every body-taking operation of `r` may answer about its body.
fn body_answers(em: &Emulator, r: &ResourceSpec) -> Vec<Answer> {
    let spec = &em.spec;
    let mut a = vec![
        Answer::bare(400, "The body is not a JSON object"),
        Answer::bare(r.invalid_status, "A field's value is invalid"),
        Answer::bare(spec.missing_field_status, "A required field is missing"),
        Answer::bare(
            415,
            "The Content-Type is missing or not one this resource takes",
        ),
        Answer::bare(403, "The credential may read but not write"),
    ];
    if r.unknown_fields == UnknownFields::Refuse {
        a.push(Answer::bare(
            spec.unknown_field_status,
            "The body has a field this request does not take",
        ));
    }
    if !r.unique.is_empty() {
        a.push(Answer::bare(
            r.conflict_status,
            "Another resource has the same unique fields",
        ));
    }
    if !r.references.is_empty() {
        a.push(Answer::bare(
            r.reference_status,
            "A field names an item that does not exist",
        ));
    }
    // A refusal whose code is an application code travels as the code does (Slack's 200
    // with "ok": false), which the success answer's schema describes already.
    let mut refusals = r
        .references
        .iter()
        .filter_map(|x| x.refused_code.as_deref());
    if refusals.any(|c| em.app_code_status(c).is_none()) {
        a.push(Answer::bare(
            r.conflict_status,
            "A field names an item whose state refuses it",
        ));
    }
    a
}

/// The schema of a successful body of `r` that holds `inner`: under the item key, with
/// the envelope's members.
fn shaped_schema(r: &ResourceSpec, inner: Value) -> Value {
    let (mut props, mut required) = (Map::new(), Vec::new());
    for (k, v) in &r.envelope {
        props.insert(k.clone(), json!({"enum": [v]}));
        required.push(k.clone());
    }
    match &r.item_key {
        Some(k) => {
            let item = verdict::schema::resource_schema(r);
            for (member, field) in &r.beside_item {
                props.insert(member.clone(), item["properties"][field.as_str()].clone());
                if field == "id" || r.create.required.contains(field) {
                    required.push(member.clone());
                }
            }
            props.insert(k.clone(), inner);
            required.push(k.clone());
            json!({"type": "object", "required": required, "properties": props})
        }
        None if props.is_empty() => inner,
        None => {
            json!({"allOf": [inner, {"type": "object", "required": required, "properties": props}]})
        }
    }
}

/// The path parameters of a route of `r` whose path names `count` of them.
fn scope_params(r: &ResourceSpec, count: usize) -> Vec<Value> {
    r.params.iter().take(count).map(|p| path_param(p)).collect()
}

fn list_operation(em: &Emulator, r: &ResourceSpec, own_key: Option<&String>) -> Operation {
    let spec = &em.spec;
    let items = json!({"type": "array", "items": reference(&r.name)});
    let list = match own_key.or(r.list_key.as_ref()).or(spec.list_key.as_ref()) {
        Some(k) => {
            let key = if k == "{resource}" {
                r.name.clone()
            } else {
                k.clone()
            };
            let mut body =
                json!({"type": "object", "required": [key], "properties": { key.clone(): items }});
            for (k, v) in &r.envelope {
                body["properties"][k] = json!({"enum": [v]});
                if let Some(req) = body["required"].as_array_mut() {
                    req.push(Value::String(k.clone()));
                }
            }
            if let Some(p) = &spec.next_cursor {
                let mut cursor = json!({});
                p.put(&mut cursor, json!({"type": "string"}));
                body = json!({"allOf": [body, pointer_schema(&cursor)]});
            }
            body
        }
        None => items,
    };
    Operation::new(Method::GET, format!("List {}", r.name))
        .params(page_params(em, r))
        .answer(Answer::with(200, "The page", &media(em, r), list))
        .errors(&[
            (400, "The page size or start is not valid"),
            (
                spec.page_limit_status,
                "The page size is larger than the API allows",
            ),
        ])
}

/// A list with a search (`search`): its query parameter, required and not blank, and the
/// refusal of a list without it.
fn search_params(em: &Emulator, op: Operation, o: &verdict::emulate::RpcOperation) -> Operation {
    let Some(name) = &o.search else {
        return op;
    };
    let mut op = op.errors(&[(em.spec.missing_field_status, "The search is missing")]);
    op.params.push(json!({"name": name, "in": "query", "required": true,
        "schema": {"type": "string", "pattern": "\\S"},
        "description": "The search: words an item's text contains, and field:value terms its fields hold."}));
    op
}

/// `{"a": {"b": S}}` as the schema of objects with that nesting and S at its end.
fn pointer_schema(nested: &Value) -> Value {
    match nested.as_object() {
        Some(o) if o.len() == 1 && !o.contains_key("type") => {
            let props: Map<String, Value> = o
                .iter()
                .map(|(k, v)| (k.clone(), pointer_schema(v)))
                .collect();
            json!({"type": "object", "properties": props})
        }
        _ => nested.clone(),
    }
}

/// The query parameters of a list: its page size, where the page starts, its filters.
fn page_params(em: &Emulator, r: &ResourceSpec) -> Vec<Value> {
    let spec = &em.spec;
    let mut params = Vec::new();
    if let Some(p) = &spec.page_param {
        // The size is read as a 32-bit number: a larger one is not a size (400).
        let mut schema = json!({"type": "integer", "minimum": 1, "maximum": u32::MAX});
        let description = if spec.page_oversize == verdict::PageOversize::Cap {
            format!(
                "The page size (default {}); more than {} is served as {}.",
                spec.page_default, spec.page_limit, spec.page_limit
            )
        } else if spec.page_limit_status == 400 {
            schema["maximum"] = json!(spec.page_limit);
            format!("The page size (default {}).", spec.page_default)
        } else {
            format!(
                "The page size (default {}); more than {} is answered with {}, as the vendor documents.",
                spec.page_default, spec.page_limit, spec.page_limit_status
            )
        };
        params
            .push(json!({"name": p, "in": "query", "schema": schema, "description": description}));
    }
    let (minimum, description) = match spec.page_style {
        verdict::PageStyle::Cursor => (0, "Where the next page starts, as the last page gave it."),
        verdict::PageStyle::Page => (1, "The page number, from 1."),
        verdict::PageStyle::Offset => (0, "How many items to skip."),
    };
    let mut schema = json!({"type": "integer", "minimum": minimum, "maximum": u64::MAX});
    if spec.page_style == verdict::PageStyle::Cursor {
        // An empty cursor asks for the first page, as Slack's clients send it.
        schema = json!({"anyOf": [schema, {"type": "string", "enum": [""]}]});
    }
    params.push(json!({"name": spec.cursor_param, "in": "query",
        "schema": schema, "description": description}));
    for f in &r.filters {
        params.push(json!({"name": f, "in": "query", "schema": {"type": "string"}}));
    }
    params
}

fn media(em: &Emulator, r: &ResourceSpec) -> String {
    r.media_type
        .clone()
        .or_else(|| em.spec.media_types.first().cloned())
        .unwrap_or_else(|| "application/json".into())
}

fn accepted() -> Value {
    json!({"type": "object", "required": ["id", "status"], "properties": {
        "id": {"type": "string"}, "status": {"type": "string"}}})
}

fn create_operation(em: &Emulator, r: &ResourceSpec) -> Operation {
    let kind = r.kind.to_lowercase();
    let mut op = Operation::new(Method::POST, format!("Create a {kind}"))
        .body(&media(em, r), reference(&component(r, "create")));
    op = match r.accept_delay_ms {
        Some(_) => op.answer(Answer::with(
            202,
            "Accepted; ready later at its Location",
            &media(em, r),
            accepted(),
        )),
        None => op.answer(Answer::with(
            em.spec.create_status,
            "Created",
            &media(em, r),
            shaped_schema(r, reference(&r.name)),
        )),
    };
    op.answers.extend(body_answers(em, r));
    op.errors(&[(507, "The emulator holds as many resources as it may")])
}

/// A read of one item, sent as `method`: the item in `media`, or 304 for a matching ETag.
fn read_operation(method: Method, r: &ResourceSpec, media: &str) -> Operation {
    Operation::new(method, format!("Get a {}", r.kind.to_lowercase()))
        .answer(Answer::with(
            200,
            "The resource",
            media,
            shaped_schema(r, reference(&r.name)),
        ))
        .answer(Answer::bare(
            304,
            "It has not changed since the ETag given in If-None-Match",
        ))
}

/// The operations on one item of `r` (without the path's id parameter).
pub(crate) fn item_operations(em: &Emulator, r: &ResourceSpec) -> Vec<Operation> {
    let spec = &em.spec;
    let kind = r.kind.to_lowercase();
    let m = media(em, r);
    let mut missing = vec![(404, "No such resource for this credential")];
    if r.gone_after_delete {
        missing.push((410, "The resource was deleted"));
    }
    let mut ops = Vec::new();
    for method in em.allowed(r, true) {
        let op = match method.clone() {
            Method::GET => {
                let mut op = read_operation(Method::GET, r, &m);
                if r.accept_delay_ms.is_some() {
                    op = op.answer(Answer::with(202, "Not ready yet", &m, accepted()));
                }
                op
            }
            Method::DELETE => Operation::new(Method::DELETE, format!("Delete a {kind}"))
                .answer(Answer::bare(spec.delete_status, "Deleted"))
                .errors(&[(403, "The credential may read but not write")]),
            m2 => {
                let rules = component(r, m2.as_str());
                let mut op = Operation::new(m2.clone(), format!("Update a {kind}"))
                    .body(&m, reference(&rules));
                op = if spec.update_status == 204 {
                    op.answer(Answer::bare(204, "Updated"))
                } else {
                    op.answer(Answer::with(
                        spec.update_status,
                        "Updated",
                        &m,
                        shaped_schema(r, reference(&r.name)),
                    ))
                };
                op.answers.extend(body_answers(em, r));
                op
            }
        };
        let mut op = op.errors(&missing);
        if method != Method::GET {
            op = op.errors(&[(412, "If-Match does not match the current ETag")]);
        }
        ops.push(op);
    }
    ops.extend(not_implemented(r));
    for op in &mut ops {
        resource_answers(op);
    }
    ops
}

/// What any operation on a resource may answer: a type it cannot answer in, a lock.
fn resource_answers(op: &mut Operation) {
    op.answers.push(Answer::bare(
        406,
        "The Accept header asks for a type this resource cannot answer in",
    ));
    op.answers
        .push(Answer::bare(423, "The resource is locked for now"));
}

/// The methods the vendor knows but this resource does not implement: 501 on the
/// collection and on its items alike.
fn not_implemented(r: &ResourceSpec) -> Vec<Operation> {
    r.not_implemented
        .iter()
        .map(|method| {
            Operation::new(method.clone(), format!("{method} is not implemented"))
                .errors(&[(501, "Not implemented for this resource")])
        })
        .collect()
}

fn resource_routes(em: &Emulator, r: &ResourceSpec) -> Vec<Route> {
    let mut out = operation_routes(em, r);
    if !r.rest {
        return out;
    }
    let allowed = em.allowed(r, false);
    let mut collection = Vec::new();
    if allowed.contains(&Method::GET) {
        collection.push(list_operation(em, r, None));
    }
    if allowed.contains(&Method::POST) {
        collection.push(create_operation(em, r));
    }
    collection.extend(
        not_implemented(r)
            .into_iter()
            .filter(|o| !allowed.contains(&o.method)),
    );
    let key = r.key.as_deref().unwrap_or("id");
    let mut item = item_operations(em, r);
    for op in &mut item {
        op.params.insert(0, key_param(r, key));
    }
    for op in &mut collection {
        resource_answers(op);
    }
    for op in collection.iter_mut().chain(item.iter_mut()) {
        let mut params = scope_params(r, r.params.len());
        params.append(&mut op.params);
        op.params = params;
    }
    let base = format!("{}{}", em.spec.base_path, r.path);
    out.push(Route {
        path: base.clone(),
        ops: collection,
    });
    out.push(Route {
        path: format!("{base}/{{{key}}}"),
        ops: item,
    });
    out
}

/// The path parameter that names an item: an integer for a numbered key or sequential
/// ids, else a string.
fn key_param(r: &ResourceSpec, key: &str) -> Value {
    let integer = match r.field(key) {
        Some(f) => f.ty == verdict::FieldType::Integer,
        None => r.id_style == verdict::IdStyle::Sequential,
    };
    let mut p = path_param(key);
    if integer {
        p["schema"] = json!({"type": "integer", "minimum": 1, "maximum": u64::MAX});
    }
    p
}

/// The routes of the operations `r` serves at paths of their own.
fn operation_routes(em: &Emulator, r: &ResourceSpec) -> Vec<Route> {
    r.operations
        .iter()
        .map(|o| {
            use verdict::emulate::OperationKind;
            let mut op = match o.kind {
                OperationKind::List => {
                    search_params(em, list_operation(em, r, o.list_key.as_ref()), o)
                }
                OperationKind::Create => create_operation(em, r),
                OperationKind::Get | OperationKind::Update | OperationKind::Delete => {
                    named_operation(em, r, o)
                }
            };
            op.method = o.method.clone();
            let named = verdict::emulate::path_params(&o.path).map_or(0, |p| p.len());
            let mut params = scope_params(r, named);
            params.append(&mut op.params);
            op.params = params;
            resource_answers(&mut op);
            Route {
                path: format!("{}{}", em.spec.base_path, o.path),
                ops: vec![op],
            }
        })
        .collect()
}

/// The schema of an item's key (or id) as a query parameter or body member gives it.
fn key_schema(r: &ResourceSpec) -> Value {
    let integer = match &r.key {
        Some(key) => r
            .field(key)
            .is_some_and(|f| f.ty == verdict::FieldType::Integer),
        None => r.id_style == verdict::IdStyle::Sequential,
    };
    match integer {
        true => json!({"type": "integer", "minimum": 1, "maximum": u64::MAX}),
        false => json!({"type": "string", "minLength": 1}),
    }
}

/// A get, update or delete at a path of its own, on the item its `id_param` names: in
/// the query, or as a required member of the body beside the fields the update takes.
fn named_operation(
    em: &Emulator,
    r: &ResourceSpec,
    o: &verdict::emulate::RpcOperation,
) -> Operation {
    use verdict::emulate::OperationKind;
    let (kind, m) = (r.kind.to_lowercase(), media(em, r));
    let param = o.id_param.clone().unwrap_or_else(|| "id".into());
    let mut op = match o.kind {
        OperationKind::Get => read_operation(o.method.clone(), r, &m),
        OperationKind::Delete if r.envelope.is_empty() => {
            Operation::new(o.method.clone(), format!("Delete a {kind}"))
                .answer(Answer::bare(em.spec.delete_status, "Deleted"))
        }
        OperationKind::Delete => Operation::new(o.method.clone(), format!("Delete a {kind}"))
            .answer(Answer::with(200, "Deleted", &m, envelope_schema(r))),
        _ => {
            let op = Operation::new(o.method.clone(), format!("Update a {kind}"));
            match em.spec.update_status {
                204 => op.answer(Answer::bare(204, "Updated")),
                status => op.answer(Answer::with(
                    status,
                    "Updated",
                    &m,
                    shaped_schema(r, reference(&r.name)),
                )),
            }
        }
    };
    if o.kind == OperationKind::Get && r.accept_delay_ms.is_some() {
        op = op.answer(Answer::with(202, "Not ready yet", &m, accepted()));
    }
    let missing = format!("{param} names no {kind} this credential can see");
    op = op.errors(&[(r.reference_status, missing.as_str())]);
    if o.id_in_query() {
        op.params
            .push(json!({"name": param, "in": "query", "required": true, "schema": key_schema(r)}));
    } else {
        let rules = o.rules.clone().unwrap_or(BodyRules {
            accepts: Vec::new(),
            required: Vec::new(),
            one_of: Vec::new(),
        });
        let mut body = verdict::schema::request_schema(r, &rules);
        body["properties"][param.as_str()] = key_schema(r);
        let mut required = body["required"].as_array().cloned().unwrap_or_default();
        required.insert(0, Value::String(param.clone()));
        body["required"] = Value::Array(required);
        op = op.body(&m, body);
        op.answers.extend(body_answers(em, r));
    }
    if o.kind != OperationKind::Get {
        op = op.errors(&[
            (403, "The credential may read but not write"),
            (412, "If-Match does not match the current ETag"),
        ]);
    }
    op
}

/// The schema of a body that holds only the resource's envelope (`{"ok": true}`).
fn envelope_schema(r: &ResourceSpec) -> Value {
    let props: Map<String, Value> = r
        .envelope
        .iter()
        .map(|(k, v)| (k.clone(), json!({"enum": [v]})))
        .collect();
    let required: Vec<&String> = r.envelope.keys().collect();
    json!({"type": "object", "required": required, "properties": props})
}

/// The `content` of an error response: the vendor's JSON, or problem details.
fn error_content(em: &Emulator) -> Value {
    let (media, schema) = if em.contract.error_body.is_problem() {
        (verdict::problem::MEDIA_TYPE, "Problem")
    } else {
        ("application/json", "Error")
    };
    json!({ media: {"schema": reference(schema)} })
}

/// What any API request may answer: the contract's documented statuses (a fault can ask
/// for each), credentials, quotas, maintenance, a malformed fault header.
fn shared_answers(em: &Emulator, public: bool) -> Vec<u16> {
    let mut out: Vec<u16> = em.contract.documented_statuses().map(|s| s.code).collect();
    out.extend([400, 503]);
    if !public {
        out.extend([401, 403]);
        out.extend(em.spec.quotas.iter().map(|q| q.status));
        out.push(429);
    }
    if em.spec.https_only {
        out.push(403);
    }
    out
}

fn describe(em: &Emulator, code: u16) -> String {
    em.contract.status(code).map_or_else(
        || format!("HTTP {code}"),
        |s| {
            s.title
                .clone()
                .map_or(s.meaning.clone(), |t| format!("{t}: {}", s.meaning))
        },
    )
}

fn responses(em: &Emulator, op: &Operation) -> Value {
    let mut out = Map::new();
    for a in &op.answers {
        let entry = out
            .entry(a.status.to_string())
            .or_insert_with(|| json!({"description": format!("{}: {}", a.status, a.description)}));
        match &a.content {
            // A contract whose failures travel as 2xx bodies with a failure flag: such a
            // body is one of the answers too.
            Some((media, schema)) if flagged(em, a.status) => {
                let either = json!({"anyOf": [schema, reference("Error")]});
                entry["content"] = json!({ media: {"schema": either} });
            }
            Some((media, schema)) => entry["content"] = json!({ media: {"schema": schema} }),
            None if a.status >= 400 || flagged(em, a.status) => {
                entry["content"] = error_content(em)
            }
            None => {}
        }
    }
    for code in shared_answers(em, op.public) {
        out.entry(code.to_string()).or_insert_with(|| {
            let mut r = json!({"description": describe(em, code)});
            if code >= 400 {
                r["content"] = error_content(em);
            }
            if let Some(s) = em.contract.status(code).filter(|s| !s.headers.is_empty()) {
                let headers: Map<String, Value> = s
                    .headers
                    .iter()
                    .map(|h| (h.as_str().to_owned(), json!({"schema": {"type": "string"}})))
                    .collect();
                r["headers"] = Value::Object(headers);
            }
            r
        });
    }
    Value::Object(out)
}

/// Whether an answer of `status` may be an error body with the contract's failure flag:
/// a 2xx of a contract that has one, sent for an application code of that status.
fn flagged(em: &Emulator, status: u16) -> bool {
    (200..300).contains(&status)
        && em.contract.error_body.failure.is_some()
        && em
            .contract
            .apis
            .iter()
            .any(|a| a.codes.iter().any(|c| c.http_status == status))
}

fn operation(em: &Emulator, op: &Operation) -> Value {
    let mut o = json!({"summary": op.summary, "responses": responses(em, op)});
    if !op.params.is_empty() {
        o["parameters"] = Value::Array(op.params.clone());
    }
    if let Some((media, schema)) = &op.request {
        o["requestBody"] = json!({"required": true, "content": { media: {"schema": schema} }});
    }
    if op.public {
        o["security"] = json!([]);
    }
    // Routes answered before authentication (an OAuth endpoint) keep no idempotency keys.
    if !op.public {
        crate::idempotency::describe_operation(em, &op.method, &mut o, &error_content(em));
    }
    o
}

fn schemas(em: &Emulator) -> Map<String, Value> {
    let mut out = Map::new();
    for r in &em.spec.resources {
        out.insert(r.name.clone(), verdict::schema::resource_schema(r));
        out.insert(
            component(r, "create"),
            verdict::schema::request_schema(r, &r.create),
        );
        for (m, rules) in &r.updates {
            let rules: &BodyRules = rules;
            out.insert(
                component(r, m.as_str()),
                verdict::schema::request_schema(r, rules),
            );
        }
    }
    if em.contract.error_body.is_problem() {
        out.insert(
            "Problem".into(),
            crate::problem::openapi_schema(&em.contract.error_body),
        );
    } else {
        out.insert("Error".into(), error_schema(&em.contract.error_body));
    }
    out
}

/// The vendor's error body: an object, with the failure flag's value where the contract
/// has one (`{"ok": false, ...}`), so that it is told apart from a successful body.
fn error_schema(shape: &verdict::ErrorBody) -> Value {
    let mut schema = json!({"type": "object", "description": "The vendor's error body; see the contract's error_body pointers."});
    if let Some(flag) = &shape.failure {
        let mut at = json!({});
        let kind = match &flag.equals {
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            _ => "string",
        };
        flag.pointer
            .put(&mut at, json!({"type": kind, "enum": [flag.equals]}));
        schema = json!({"allOf": [schema, pointer_schema(&at)]});
    }
    schema
}

const ADMIN: &[(&str, &str)] = &[
    (
        "/_verdict/faults",
        "Queue faults for matching requests (admin)",
    ),
    (
        "/_verdict/maintenance",
        "Turn maintenance mode on or off (admin)",
    ),
    (
        "/_verdict/locks",
        "Lock a resource path: 423 until it ends (admin)",
    ),
    ("/_verdict/moves", "Answer a path with a redirect (admin)"),
    ("/_verdict/tokens", "Add, revoke or restrict tokens (admin)"),
    ("/_verdict/quotas", "Replace the request quotas (admin)"),
    ("/_verdict/reset", "Forget all resources and faults (admin)"),
    (
        "/_verdict/journal",
        "Every request seen, with its response status (admin)",
    ),
];

/// The OpenAPI document; `origin` is the server URL clients reached.
pub fn document(em: &Emulator, origin: &str) -> Value {
    let mut paths = Map::new();
    for route in routes(em) {
        let entry = paths
            .entry(route.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        for op in &route.ops {
            entry[op.method.as_str().to_ascii_lowercase()] = operation(em, op);
        }
    }
    for (path, summary) in ADMIN {
        paths.insert((*path).into(), json!({"description": summary}));
    }
    let security = match &em.contract.auth.scheme {
        AuthScheme::ApiKey { header } => {
            json!({"type": "apiKey", "in": "header", "name": header.as_str()})
        }
        AuthScheme::Basic => json!({"type": "http", "scheme": "basic"}),
        _ => json!({"type": "http", "scheme": "bearer"}),
    };
    // Each further Authorization word the API takes is a scheme of its own; any one of
    // them will do.
    let mut schemes = Map::new();
    schemes.insert("credentials".into(), security);
    let mut any_of = vec![json!({"credentials": []})];
    for word in em.contract.auth.authorization.iter().skip(1) {
        let name = format!("credentials-{}", word.to_ascii_lowercase());
        schemes.insert(name.clone(), json!({"type": "http", "scheme": word}));
        any_of.push(json!({ name: [] }));
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": format!("{} (verdict emulator)", em.contract.name),
            "version": env!("CARGO_PKG_VERSION"),
            "description": em.contract.summary.clone().unwrap_or_default(),
        },
        "servers": [{"url": origin}],
        "paths": paths,
        "components": {"schemas": schemas(em), "securitySchemes": schemes},
        "security": any_of,
    })
}
