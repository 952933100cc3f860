//! What a resource says beyond its bodies: how its items are addressed (a key field, a
//! sequence number, an id style), operations at paths of their own, the members its
//! successful bodies carry, references to other resources, and the items it starts with.

use http::Method;
use serde_json::{Map, Value};
use toml::Spanned;

use super::resource::{Inherited, check_known, check_path};
use super::{Cx, MethodName, Obj, to_json};
use crate::emulate::{
    BodyRules, OperationKind, Reference, ResourceSpec, RpcOperation, path_params,
};
use crate::names::{FieldType, IdStyle};

fn span_of(t: &Obj<'_, '_>, key: &str) -> super::Span {
    t.get(key).map(Spanned::span).unwrap_or(t.span.clone())
}

fn field_names(r: &ResourceSpec) -> Vec<String> {
    r.fields.iter().map(|f| f.name.clone()).collect()
}

/// `key`, `sequence` and `id_prefix`: which field addresses an item, which one the
/// emulator numbers, and what ids start with.
pub(super) fn read_addressing(cx: &mut Cx<'_>, t: &Obj<'_, '_>, r: &mut ResourceSpec) {
    let known = field_names(r);
    r.sequence = t.string(cx, "sequence");
    if let Some(seq) = r.sequence.clone() {
        check_known(cx, t, "sequence", &known, std::slice::from_ref(&seq));
        if let Some(f) = r.field(&seq).filter(|f| f.ty != FieldType::Integer) {
            let ty = f.ty;
            cx.report(
                span_of(t, "sequence"),
                t.field("sequence"),
                format!("the sequence field must be an integer, not {ty}"),
            );
        }
        // The emulator numbers it: no request gives it.
        r.create.accepts.retain(|n| *n != seq);
        r.create.required.retain(|n| *n != seq);
        for (_, rules) in &mut r.updates {
            rules.accepts.retain(|n| *n != seq);
            rules.required.retain(|n| *n != seq);
        }
        if let Some(f) = r.fields.iter_mut().find(|f| f.name == seq) {
            f.required = false;
        }
    }
    r.key = t.string(cx, "key").filter(|k| k != "id");
    if let Some(key) = r.key.clone() {
        check_key(cx, t, r, &known, &key);
    }
    if r.id_prefix.is_some() && r.id_style == IdStyle::Sequential {
        cx.report(
            span_of(t, "id_prefix"),
            t.field("id_prefix"),
            "sequential ids are numbers and take no prefix",
        );
    }
}

fn check_key(cx: &mut Cx<'_>, t: &Obj<'_, '_>, r: &mut ResourceSpec, known: &[String], key: &str) {
    let span = span_of(t, "key");
    check_known(cx, t, "key", known, &[key.to_owned()]);
    let numbered = r.sequence.as_deref() == Some(key);
    if let Some(f) = r.field(key) {
        if !matches!(
            f.ty,
            FieldType::String | FieldType::Email | FieldType::Integer
        ) {
            let ty = f.ty;
            cx.report(
                span.clone(),
                t.field("key"),
                format!("a key is a string or integer field, not {ty}"),
            );
        } else if !numbered && !r.create.required.iter().any(|n| n == key) {
            cx.report(
                span.clone(),
                t.field("key"),
                format!("every item needs its key: make {key} required, or the sequence"),
            );
        }
    }
    if r.params.iter().any(|p| p == key) {
        cx.report(
            span,
            t.field("key"),
            format!("{key} already names a parameter of the path"),
        );
    }
    if !numbered && !r.unique.iter().any(|u| u.as_slice() == [key]) {
        r.unique.push(vec![key.to_owned()]);
    }
}

/// The keys every operation takes, and those only some kinds take.
const OPERATION_KEYS: &[&str] = &[
    "kind",
    "path",
    "method",
    "rate_limit_group",
    "list_key",
    "search",
    "id_param",
    "accepts",
    "required",
    "set",
];

/// `operations`: a list, create, get, update or delete at a path of its own, each under a
/// name that is its kind unless `kind` says otherwise (`operations.archive = { kind =
/// "update", ... }`).
pub(super) fn read_operations(cx: &mut Cx<'_>, t: &Obj<'_, '_>, r: &mut ResourceSpec) {
    let Some(ops) = t.table(cx, "operations") else {
        return;
    };
    let names: Vec<String> = ops
        .map
        .iter()
        .map(|(k, _)| k.get_ref().to_string())
        .collect();
    for name in names {
        let Some(op) = ops.table(cx, &name) else {
            continue;
        };
        op.check_keys(cx, OPERATION_KEYS);
        let Some(kind) = operation_kind(cx, &op, &name) else {
            continue;
        };
        let path = op.required_string(cx, "path").unwrap_or_default();
        if !path.is_empty() {
            check_operation_path(cx, &op, r, kind, &path);
        }
        check_kind_keys(cx, &op, kind);
        let method = op
            .parsed::<MethodName>(cx, "method")
            .map_or(default_method(kind), |m| m.0);
        let id_param = kind.on_item().then(|| op.required_string(cx, "id_param"));
        let (rules, set) = match kind {
            OperationKind::Update => update_rules(cx, &op, r),
            _ => (None, Map::new()),
        };
        let operation = RpcOperation {
            kind,
            method,
            path,
            rate_limit_group: op.string(cx, "rate_limit_group"),
            list_key: op.string(cx, "list_key"),
            search: op.string(cx, "search"),
            id_param: id_param.flatten(),
            rules,
            set,
        };
        check_id_param(cx, &op, &operation);
        if !operation.path.is_empty() {
            r.operations.push(operation);
        }
    }
}

/// The kind of the operation named `name`: its `kind`, else its name.
fn operation_kind(cx: &mut Cx<'_>, op: &Obj<'_, '_>, name: &str) -> Option<OperationKind> {
    let kinds = OperationKind::ALL.map(OperationKind::as_str);
    let (word, span, field) = match op.string(cx, "kind") {
        Some(k) => (k, span_of(op, "kind"), op.field("kind")),
        None => (name.to_owned(), op.span.clone(), op.path.clone()),
    };
    if let Some(kind) = OperationKind::named(&word) {
        return Some(kind);
    }
    let hint = crate::suggest::closest(&word, kinds.iter().copied())
        .map(|b| format!("; did you mean \"{b}\"?"))
        .unwrap_or_default();
    let how = if op.get("kind").is_some() {
        String::new()
    } else {
        " (name it by its kind, or give kind = ...)".to_owned()
    };
    cx.report(
        span,
        field,
        format!(
            "\"{word}\" is not an operation kind ({}){hint}{how}",
            kinds.join(", ")
        ),
    );
    None
}

fn default_method(kind: OperationKind) -> Method {
    match kind {
        OperationKind::List | OperationKind::Get => Method::GET,
        _ => Method::POST,
    }
}

/// A path names the parameters the kind needs: a list the first of the resource's, every
/// other kind all of them.
fn check_operation_path(
    cx: &mut Cx<'_>,
    op: &Obj<'_, '_>,
    r: &ResourceSpec,
    kind: OperationKind,
    path: &str,
) {
    let params = check_path(cx, op, "path", path);
    let fits = match kind {
        OperationKind::List => r.params.starts_with(&params),
        _ => params == r.params,
    };
    if !fits {
        let need = match kind {
            OperationKind::List => "the first of the resource's parameters, in order",
            _ => "every parameter of the resource's path, in order",
        };
        cx.report(
            span_of(op, "path"),
            op.field("path"),
            format!(
                "a {} path names {need} ({})",
                kind.as_str(),
                r.params.join(", ")
            ),
        );
    }
}

/// Keys only some kinds take, given to another kind.
fn check_kind_keys(cx: &mut Cx<'_>, op: &Obj<'_, '_>, kind: OperationKind) {
    let only = [
        ("list_key", "a list operation", kind == OperationKind::List),
        ("search", "a list operation", kind == OperationKind::List),
        ("id_param", "a get, update or delete", kind.on_item()),
        ("accepts", "an update", kind == OperationKind::Update),
        ("required", "an update", kind == OperationKind::Update),
        ("set", "an update", kind == OperationKind::Update),
    ];
    for (key, who, fits) in only {
        if !fits && op.get(key).is_some() {
            let what = if key == "list_key" || key == "search" {
                format!("only a list operation has a {}", key.replace('_', " "))
            } else {
                format!("only {who} takes {key}")
            };
            cx.report(span_of(op, key), op.field(key), what);
        }
    }
}

/// An update's `accepts` (default: what a create takes), `required` (default: none) and
/// `set` (fixed values, each one its field takes).
fn update_rules(
    cx: &mut Cx<'_>,
    op: &Obj<'_, '_>,
    r: &ResourceSpec,
) -> (Option<BodyRules>, Map<String, Value>) {
    let known = field_names(r);
    let accepts = op.list::<String>(cx, "accepts");
    let accepts = accepts.unwrap_or_else(|| r.create.accepts.clone());
    check_known(cx, op, "accepts", &known, &accepts);
    let required = op.list::<String>(cx, "required").unwrap_or_default();
    check_known(cx, op, "required", &accepts, &required);
    let set = read_envelope_at(cx, op, "set");
    let names: Vec<String> = set.keys().cloned().collect();
    check_known(cx, op, "set", &known, &names);
    let fixed = BodyRules {
        accepts: names,
        required: Vec::new(),
        one_of: Vec::new(),
    };
    if let Err(e) = crate::schema::check_rules(r, &fixed, &set) {
        cx.report(span_of(op, "set"), op.field("set"), e.to_string());
    }
    let rules = BodyRules {
        accepts,
        required,
        one_of: Vec::new(),
    };
    (Some(rules), set)
}

/// An update's item is not named by a field its body also changes.
fn check_id_param(cx: &mut Cx<'_>, op: &Obj<'_, '_>, o: &RpcOperation) {
    let (Some(id), Some(rules)) = (&o.id_param, &o.rules) else {
        return;
    };
    if !o.id_in_query() && rules.accepts.contains(id) {
        cx.report(
            span_of(op, "id_param"),
            op.field("id_param"),
            format!(
                "{id} names the item, yet the update takes it as a field: leave it out of accepts"
            ),
        );
    }
}

/// A table of fixed members (`envelope = { ok = true }`).
pub(super) fn read_envelope(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Map<String, Value> {
    read_envelope_at(cx, t, "envelope")
}

/// The table of fixed members at `key`.
fn read_envelope_at(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str) -> Map<String, Value> {
    t.table(cx, key)
        .map(|e| {
            e.map
                .iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect()
        })
        .unwrap_or_default()
}

/// `envelope`, `item_key` and `list_key`: how successful bodies are laid out.
pub(super) fn read_bodies(
    cx: &mut Cx<'_>,
    t: &Obj<'_, '_>,
    r: &mut ResourceSpec,
    up: &Inherited<'_>,
) {
    r.envelope = read_envelope(cx, t);
    if r.envelope.is_empty() {
        r.envelope = up.envelope.clone();
    }
    let lists = (r.rest && r.methods.contains(&Method::GET))
        || r.operations.iter().any(|o| o.kind == OperationKind::List);
    if !r.envelope.is_empty() && lists && r.list_key.is_none() && !up.list_key {
        cx.report(
            span_of(t, "envelope"),
            t.field("envelope"),
            "a list body with an envelope is an object: set list_key",
        );
    }
    read_beside_item(cx, t, r);
    for key in [&r.item_key, &r.list_key].into_iter().flatten() {
        if r.envelope.contains_key(key) {
            cx.report(
                t.span.clone(),
                t.field("envelope"),
                format!("\"{key}\" is both an envelope member and where the items go"),
            );
        }
    }
}

/// `beside_item = { channel = "channel", ts = "id" }`: members beside the item under
/// `item_key`, each the value of a field of the item (or its id).
fn read_beside_item(cx: &mut Cx<'_>, t: &Obj<'_, '_>, r: &mut ResourceSpec) {
    let Some(table) = t.table(cx, "beside_item") else {
        return;
    };
    if r.item_key.is_none() {
        cx.report(
            span_of(t, "beside_item"),
            t.field("beside_item"),
            "members beside the item need an item_key to put the item under",
        );
    }
    let mut known = field_names(r);
    known.push("id".into());
    for (key, value) in table.map.iter() {
        let member = key.get_ref().to_string();
        let Some(field) = value.get_ref().as_str() else {
            cx.report(
                value.span(),
                table.field(&member),
                "expected the name of a field of the item (or id)",
            );
            continue;
        };
        check_known(cx, &table, &member, &known, &[field.to_owned()]);
        let clash =
            r.item_key.as_deref() == Some(member.as_str()) || r.envelope.contains_key(&member);
        if clash {
            cx.report(
                key.span(),
                table.field(&member),
                format!("\"{member}\" is already the item's key or an envelope member"),
            );
        }
        r.beside_item.push((member, field.to_owned()));
    }
}

/// `references = { channel = "conversations" }`: fields that name items of other
/// resources, which must exist.
/// `refused_when = { is_archived = true }` and `code`: when the named item is in a state
/// that refuses the reference, and the vendor's code then (both or neither).
fn refusal_of(
    cx: &mut Cx<'_>,
    o: &Obj<'_, '_>,
) -> (Vec<(String, serde_json::Value)>, Option<String>) {
    let when: Vec<(String, serde_json::Value)> = match o.table(cx, "refused_when") {
        Some(w) => w
            .map
            .iter()
            .map(|(k, v)| (k.get_ref().to_string(), super::reader::to_json(v.get_ref())))
            .collect(),
        None => Vec::new(),
    };
    let code = o.string(cx, "code");
    if when.is_empty() != code.is_none() {
        cx.report(
            o.span.clone(),
            o.path.clone(),
            "refused_when and code go together: the state that refuses and the code it is answered with",
        );
    }
    (when, code)
}

pub(super) fn read_references(
    cx: &mut Cx<'_>,
    t: &Obj<'_, '_>,
    r: &mut ResourceSpec,
    up: &Inherited<'_>,
) {
    let Some(refs) = t.table(cx, "references") else {
        return;
    };
    let known = field_names(r);
    for (key, value) in refs.map.iter() {
        let field = key.get_ref().to_string();
        check_known(cx, &refs, &field, &known, std::slice::from_ref(&field));
        let long = value.get_ref().as_table().map(|map| Obj {
            map,
            path: refs.field(&field),
            span: value.span(),
        });
        let target = match &long {
            Some(o) => {
                o.check_keys(cx, &["resource", "refused_when", "code"]);
                o.string(cx, "resource")
            }
            None => value.get_ref().as_str().map(str::to_owned),
        };
        let Some(target) = target else {
            cx.report(
                value.span(),
                refs.field(&field),
                "expected the name of a resource, or { resource = \"…\", refused_when = { … }, code = \"…\" }",
            );
            continue;
        };
        let target = target.as_str();
        let names = up.resources.iter().map(|(n, _)| n.as_str());
        let Some((_, path)) = up.resources.iter().find(|(n, _)| n == target) else {
            let hint = crate::suggest::closest(target, names)
                .map(|b| format!("; did you mean \"{b}\"?"))
                .unwrap_or_default();
            cx.report(
                value.span(),
                refs.field(&field),
                format!("there is no resource \"{target}\"{hint}"),
            );
            continue;
        };
        let theirs = path_params(path).unwrap_or_default();
        if !r.params.starts_with(&theirs) {
            cx.report(
                value.span(),
                refs.field(&field),
                format!("{target} lives under parameters this resource does not have"),
            );
        }
        let (refused_when, refused_code) = match &long {
            Some(o) => refusal_of(cx, o),
            None => (Vec::new(), None),
        };
        r.references.push(Reference {
            field,
            resource: target.to_owned(),
            refused_when,
            refused_code,
        });
    }
}

/// `seed`: items present from the start, each a body a create would take, and an `id`.
pub(super) fn read_seed(cx: &mut Cx<'_>, t: &Obj<'_, '_>, r: &mut ResourceSpec) {
    for item in t.tables(cx, "seed") {
        if !r.params.is_empty() {
            cx.report(
                item.span.clone(),
                item.path.clone(),
                "seed items need a resource whose path has no parameters",
            );
            return;
        }
        let mut body: Map<String, Value> = item
            .map
            .iter()
            .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
            .collect();
        let id = body.remove("id");
        if let Some(seq) = &r.sequence {
            body.remove(seq);
        }
        if let Err(e) = crate::schema::check(r, &Method::POST, &body) {
            cx.report(item.span.clone(), item.path.clone(), e.to_string());
        }
        match id {
            Some(Value::String(s)) if !s.is_empty() && !s.contains('/') => {
                body.insert("id".into(), Value::String(s));
            }
            Some(Value::Number(n)) if r.id_style == IdStyle::Sequential => {
                body.insert("id".into(), Value::Number(n));
            }
            Some(_) => cx.report(
                span_of(&item, "id"),
                item.field("id"),
                "a seed item's id is a non-empty string without '/'",
            ),
            None => {}
        }
        r.seed.push(body);
    }
}
