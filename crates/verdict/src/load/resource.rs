//! Reading one `[[emulator.resource]]`: its fields (the short `name = "type"` form or a
//! table of rules), what a create and each update method take, and its unknown-field
//! policy.

use http::Method;
use toml::Spanned;

use super::{Cx, Obj, client_error_in, methods_in, to_json};
use crate::emulate::{BodyRules, FieldSpec, ResourceSpec, path_params};
use crate::names::{FieldType, IdStyle, UnknownFields};

/// What a resource inherits from its `[emulator]` table.
pub(super) struct Inherited<'a> {
    /// The methods that update an item.
    pub update_methods: &'a [Method],
    /// The unknown-field policy when the resource states none.
    pub unknown_fields: UnknownFields,
    /// How ids look when the resource does not say.
    pub id_style: IdStyle,
    /// The status of a uniqueness conflict when the resource does not say.
    pub conflict_status: u16,
    /// The status of a wrong value when the resource does not say.
    pub invalid_status: u16,
    /// The members of every successful body when the resource names none.
    pub envelope: &'a serde_json::Map<String, serde_json::Value>,
    /// The `[emulator]` table names a list key.
    pub list_key: bool,
    /// Every resource's name and path as written (for references).
    pub resources: Vec<(String, String)>,
}

const RESOURCE_KEYS: &[&str] = &[
    "name",
    "path",
    "kind",
    "fields",
    "required",
    "defaults",
    "one_of",
    "update",
    "unknown_fields",
    "unique",
    "methods",
    "not_implemented",
    "gone_after_delete",
    "accept_delay_ms",
    "media_type",
    "filters",
    "key",
    "sequence",
    "id_style",
    "id_prefix",
    "conflict_status",
    "invalid_status",
    "rate_limit_group",
    "operations",
    "envelope",
    "item_key",
    "beside_item",
    "list_key",
    "seed",
    "references",
    "reference_status",
    "error_codes",
];

const FIELD_KEYS: &[&str] = &[
    "type",
    "nullable",
    "required",
    "default",
    "min_length",
    "max_length",
    "enum",
    "minimum",
    "maximum",
    "min_items",
    "max_items",
];

/// Reads a resource; `None` when it lacks a name or a path (reported).
pub(super) fn read_resource(
    cx: &mut Cx<'_>,
    t: &Obj<'_, '_>,
    up: &Inherited<'_>,
) -> Option<ResourceSpec> {
    t.check_keys(cx, RESOURCE_KEYS);
    let name = t.required_string(cx, "name");
    let (path, params) = read_path(cx, t);
    let (fields, required) = read_schema(cx, t);
    let known: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    let one_of = groups(cx, t, "one_of", &known);
    let unique = groups(cx, t, "unique", &known);
    let filters: Vec<String> = t.list(cx, "filters").unwrap_or_default();
    check_known(cx, t, "filters", &known, &filters);
    let methods = methods_in(cx, t, "methods").unwrap_or_else(|| {
        [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ]
        .to_vec()
    });
    let create = BodyRules {
        accepts: known.clone(),
        required: required.clone(),
        one_of,
    };
    let updates = read_updates(cx, t, &known, &create, &methods, up);
    let name = name?;
    let mut spec = ResourceSpec {
        kind: t
            .string(cx, "kind")
            .unwrap_or_else(|| name.trim_end_matches('s').to_ascii_uppercase()),
        name,
        rest: path.is_some(),
        path: path.unwrap_or_default(),
        fields,
        create,
        updates,
        unknown_fields: t.parsed(cx, "unknown_fields").unwrap_or(up.unknown_fields),
        unique,
        methods,
        not_implemented: methods_in(cx, t, "not_implemented").unwrap_or_default(),
        gone_after_delete: t.boolean(cx, "gone_after_delete").unwrap_or(false),
        accept_delay_ms: t
            .integer(cx, "accept_delay_ms", 0..3_600_001)
            .map(|(n, _)| n as u64),
        media_type: t.string(cx, "media_type"),
        filters,
        params,
        key: None,
        sequence: None,
        id_style: t.parsed(cx, "id_style").unwrap_or(up.id_style),
        id_prefix: t.string(cx, "id_prefix"),
        conflict_status: client_error_in(cx, t, "conflict_status", up.conflict_status),
        invalid_status: client_error_in(cx, t, "invalid_status", up.invalid_status),
        rate_limit_group: t.string(cx, "rate_limit_group"),
        operations: Vec::new(),
        envelope: serde_json::Map::new(),
        item_key: t.string(cx, "item_key"),
        beside_item: Vec::new(),
        list_key: t.string(cx, "list_key"),
        seed: Vec::new(),
        references: Vec::new(),
        reference_status: client_error_in(cx, t, "reference_status", 404),
        error_codes: super::emulator::read_error_codes(cx, t),
    };
    super::addressing::read_addressing(cx, t, &mut spec);
    super::addressing::read_operations(cx, t, &mut spec);
    super::addressing::read_bodies(cx, t, &mut spec, up);
    super::addressing::read_references(cx, t, &mut spec, up);
    super::addressing::read_seed(cx, t, &mut spec);
    Some(spec)
}

/// The resource's `path` with the names of its parameters; a resource without one must
/// give every route in `operations` (reported otherwise).
fn read_path(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> (Option<String>, Vec<String>) {
    let path = t.string(cx, "path");
    if path.is_none() && t.get("operations").is_none() {
        cx.report(
            t.span.clone(),
            t.field("path"),
            "is required (unless operations give every route)",
        );
    }
    let params = path
        .as_ref()
        .map(|p| check_path(cx, t, "path", p))
        .unwrap_or_default();
    (path, params)
}

/// The fields with their rules and defaults, and the names a create must give.
fn read_schema(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> (Vec<FieldSpec>, Vec<String>) {
    let mut fields = t
        .table(cx, "fields")
        .map(|f| read_fields(cx, &f))
        .unwrap_or_default();
    let known: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    let mut required: Vec<String> = t.list(cx, "required").unwrap_or_default();
    check_known(cx, t, "required", &known, &required);
    for f in &fields {
        if f.required && !required.contains(&f.name) {
            required.push(f.name.clone());
        }
    }
    for f in &mut fields {
        f.required = required.contains(&f.name);
    }
    if let Some(d) = t.table(cx, "defaults") {
        read_defaults(cx, &d, &mut fields);
    }
    (fields, required)
}

/// Checks a path (`path`, or an operation's) and gives the names of its parameters.
pub(super) fn check_path(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str, p: &str) -> Vec<String> {
    let span = t.get(key).map(Spanned::span).unwrap_or_default();
    let ok = p.starts_with('/')
        && p.len() > 1
        && !p.ends_with('/')
        && !p.contains("//")
        && !p.contains(['?', '#']);
    if !ok {
        cx.report(
            span,
            t.field(key),
            format!("\"{p}\" must be a path such as /rooms or /repos/{{owner}}/{{repo}}/issues"),
        );
        return Vec::new();
    }
    if p.rsplit('/')
        .next()
        .is_some_and(|last| last.starts_with('{'))
    {
        cx.report(
            span.clone(),
            t.field(key),
            format!("\"{p}\" ends in a parameter; a collection's path ends in its name"),
        );
    }
    path_params(p).unwrap_or_else(|e| {
        cx.report(span, t.field(key), e);
        Vec::new()
    })
}

/// Reports each name of `names` (under `key` of `t`) that is not a field.
pub(super) fn check_known(
    cx: &mut Cx<'_>,
    t: &Obj<'_, '_>,
    key: &str,
    known: &[String],
    names: &[String],
) {
    for n in names {
        if !known.contains(n) {
            let hint = crate::suggest::closest(n, known.iter().map(String::as_str))
                .map(|b| format!("; did you mean \"{b}\"?"))
                .unwrap_or_default();
            cx.report(
                t.get(key).map(Spanned::span).unwrap_or_default(),
                t.field(key),
                format!("\"{n}\" is not one of the resource's fields{hint}"),
            );
        }
    }
}

/// The `fields` table: `name = "type"`, or `name = { type = "string", ... }` with rules.
fn read_fields(cx: &mut Cx<'_>, f: &Obj<'_, '_>) -> Vec<FieldSpec> {
    let mut fields = Vec::new();
    for (key, value) in f.map.iter() {
        let name = key.get_ref().to_string();
        let path = format!("{}.{name}", f.path);
        if let Some(map) = value.get_ref().as_table() {
            let rules = Obj {
                map,
                path,
                span: value.span(),
            };
            if let Some(field) = read_field(cx, &rules, name) {
                fields.push(field);
            }
            continue;
        }
        match value.get_ref().as_str().map(str::parse::<FieldType>) {
            Some(Ok(ty)) => fields.push(FieldSpec::new(name, ty)),
            Some(Err(e)) => cx.report(value.span(), path, e.to_string()),
            None => cx.report(
                value.span(),
                path,
                "expected a field type such as \"string\" or a table of rules",
            ),
        }
    }
    fields
}

/// One field written as a table of rules.
fn read_field(cx: &mut Cx<'_>, t: &Obj<'_, '_>, name: String) -> Option<FieldSpec> {
    t.check_keys(cx, FIELD_KEYS);
    let ty: Option<FieldType> = t.parsed(cx, "type");
    if t.get("type").is_none() {
        cx.report(t.span.clone(), t.field("type"), "is required");
    }
    let mut f = FieldSpec::new(name, ty?);
    f.nullable = t.boolean(cx, "nullable").unwrap_or(false);
    f.required = t.boolean(cx, "required").unwrap_or(false);
    let count =
        |cx: &mut Cx<'_>, key: &str| t.integer(cx, key, 0..1_000_000_001).map(|(n, _)| n as u64);
    f.min_length = count(cx, "min_length");
    f.max_length = count(cx, "max_length");
    f.min_items = count(cx, "min_items");
    f.max_items = count(cx, "max_items");
    f.minimum = t.float(cx, "minimum").map(|(n, _)| n);
    f.maximum = t.float(cx, "maximum").map(|(n, _)| n);
    let rules = [
        (
            "min_length",
            f.min_length.is_some(),
            matches!(f.ty, FieldType::String | FieldType::Email),
        ),
        (
            "max_length",
            f.max_length.is_some(),
            matches!(f.ty, FieldType::String | FieldType::Email),
        ),
        ("min_items", f.min_items.is_some(), f.ty == FieldType::Array),
        ("max_items", f.max_items.is_some(), f.ty == FieldType::Array),
        (
            "minimum",
            f.minimum.is_some(),
            matches!(f.ty, FieldType::Integer | FieldType::Number),
        ),
        (
            "maximum",
            f.maximum.is_some(),
            matches!(f.ty, FieldType::Integer | FieldType::Number),
        ),
    ];
    for (key, given, fits) in rules {
        if given && !fits {
            cx.report(
                t.get(key).map(Spanned::span).unwrap_or_default(),
                t.field(key),
                format!("does not apply to a field of type {}", f.ty),
            );
        }
    }
    if let Some(v) = t.get("enum") {
        f.one_of_values = match v.get_ref().as_array() {
            Some(items) => items.iter().map(|x| to_json(x.get_ref())).collect(),
            None => {
                cx.report(v.span(), t.field("enum"), "expected a list of values");
                Vec::new()
            }
        };
        if let Some(bad) = f.one_of_values.iter().find(|x| !f.ty.accepts(x)) {
            cx.report(
                v.span(),
                t.field("enum"),
                format!("{bad} is not a {}", f.ty),
            );
        }
    }
    if let Some(v) = t.get("default") {
        let json = to_json(v.get_ref());
        if f.ty.accepts(&json) {
            f.default = Some(json);
        } else {
            cx.report(
                v.span(),
                t.field("default"),
                format!("the default is not a {}", f.ty),
            );
        }
    }
    Some(f)
}

fn read_defaults(cx: &mut Cx<'_>, d: &Obj<'_, '_>, fields: &mut [FieldSpec]) {
    for (key, value) in d.map.iter() {
        let name = key.get_ref().to_string();
        let json = to_json(value.get_ref());
        match fields.iter_mut().find(|f| f.name == name) {
            Some(f) if f.ty.accepts(&json) => f.default = Some(json),
            Some(f) => cx.report(
                value.span(),
                format!("{}.{name}", d.path),
                format!("the default is not a {}", f.ty),
            ),
            None => cx.report(
                key.span(),
                format!("{}.{name}", d.path),
                "a default for a field the resource does not have",
            ),
        }
    }
}

/// A list of lists of field names (`unique`, `one_of`).
fn groups(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str, known: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let Some(v) = t.get(key) else {
        return out;
    };
    let Some(sets) = v.get_ref().as_array() else {
        cx.report(
            v.span(),
            t.field(key),
            "expected a list of lists of field names",
        );
        return out;
    };
    for set in sets.iter() {
        let names: Option<Vec<String>> = set.get_ref().as_array().map(|a| {
            a.iter()
                .filter_map(|x| x.get_ref().as_str().map(str::to_owned))
                .collect()
        });
        match names {
            Some(n) if !n.is_empty() => {
                check_known(cx, t, key, known, &n);
                out.push(n);
            }
            _ => cx.report(
                set.span(),
                t.field(key),
                "each entry is a list of field names, e.g. [\"roomId\", \"personEmail\"]",
            ),
        }
    }
    out
}

/// The `update` table, one entry per update method; a method left out takes every field
/// and, for PUT, requires what a create requires.
fn read_updates(
    cx: &mut Cx<'_>,
    t: &Obj<'_, '_>,
    known: &[String],
    create: &BodyRules,
    methods: &[Method],
    up: &Inherited<'_>,
) -> Vec<(Method, BodyRules)> {
    let own: Vec<Method> = up
        .update_methods
        .iter()
        .filter(|m| methods.contains(m))
        .cloned()
        .collect();
    let table = t.table(cx, "update");
    if let Some(u) = &table {
        let names: Vec<&str> = own.iter().map(Method::as_str).collect();
        for (key, _) in u.map.iter() {
            let name: &str = key.get_ref();
            if !names.contains(&name) {
                let hint = crate::suggest::closest(name, names.iter().copied())
                    .map(|b| format!("; did you mean \"{b}\"?"))
                    .unwrap_or_default();
                cx.report(
                    key.span(),
                    u.field(name),
                    format!(
                        "\"{name}\" is not a method this resource updates with (it updates with: {}){hint}",
                        names.join(", ")
                    ),
                );
            }
        }
    }
    own.into_iter()
        .map(|m| {
            let given = table.as_ref().and_then(|u| u.table(cx, m.as_str()));
            let rules = match given {
                Some(r) => read_update(cx, &r, known),
                None => BodyRules {
                    accepts: known.to_vec(),
                    required: if m == Method::PUT {
                        create.required.clone()
                    } else {
                        Vec::new()
                    },
                    one_of: Vec::new(),
                },
            };
            (m, rules)
        })
        .collect()
}

fn read_update(cx: &mut Cx<'_>, r: &Obj<'_, '_>, known: &[String]) -> BodyRules {
    r.check_keys(cx, &["accepts", "required", "one_of"]);
    let accepts: Vec<String> = r.list(cx, "accepts").unwrap_or_else(|| known.to_vec());
    check_known(cx, r, "accepts", known, &accepts);
    let required: Vec<String> = r.list(cx, "required").unwrap_or_default();
    check_known(cx, r, "required", &accepts, &required);
    let one_of = groups(cx, r, "one_of", &accepts);
    BodyRules {
        accepts,
        required,
        one_of,
    }
}
