//! One resource schema, two uses: checking a request body against what an operation takes
//! (with the reasons a body is refused), and the JSON Schema of those bodies and of the
//! stored resource for an OpenAPI 3.0 document.
//!
//! ```
//! use http::Method;
//! use serde_json::json;
//! use verdict::schema::{BodyError, check};
//!
//! let webex = verdict::Catalog::builtin().get("webex").unwrap();
//! let rooms = &webex.emulator.as_ref().unwrap().resources[0];
//! let body = json!({"title": "x", "isLocked": null});
//! let refused = check(rooms, &Method::POST, body.as_object().unwrap()).unwrap_err();
//! assert_eq!(refused, BodyError::Invalid(vec!["isLocked must not be null".into()]));
//! ```

use http::Method;
use serde_json::{Map, Value, json};

use crate::emulate::{BodyRules, FieldSpec, ResourceSpec};
use crate::names::{FieldType, UnknownFields};

/// Why a request body is refused, with one line per field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Fields the operation does not take, where the resource refuses them.
    #[error("Unknown fields: {}.", .0.join(", "))]
    Unknown(Vec<String>),
    /// Values of the wrong type, `null` where it is not taken, or out of bounds.
    #[error("Invalid fields: {}.", .0.join("; "))]
    Invalid(Vec<String>),
    /// Required fields left out (or given as `null` or `""`).
    #[error("Missing fields: {}.", .0.join("; "))]
    Missing(Vec<String>),
    /// None of a group of which one field is required.
    #[error("One of {} is required.", either(.0))]
    OneOf(Vec<String>),
}

impl BodyError {
    /// One line per field at fault, as error bodies list them.
    pub fn details(&self) -> Vec<String> {
        match self {
            BodyError::Unknown(names) => names
                .iter()
                .map(|n| format!("{n} is not a field this request takes"))
                .collect(),
            BodyError::Invalid(lines) | BodyError::Missing(lines) => lines.clone(),
            BodyError::OneOf(group) => vec![format!("{} is required", either(group))],
        }
    }
}

/// `a`, `a or b`, `a, b or c`.
fn either(names: &[String]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

fn article(word: &str) -> String {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {word}")
    } else {
        format!("a {word}")
    }
}

/// Whether a required field counts as given: present, not `null`, not `""`.
fn given(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
}

/// Checks `body` against what a request with `method` on `r` takes (POST: a create).
/// A method the resource does not update with is checked as a create.
pub fn check(
    r: &ResourceSpec,
    method: &Method,
    body: &Map<String, Value>,
) -> Result<(), BodyError> {
    check_rules(r, r.rules(method).unwrap_or(&r.create), body)
}

/// Checks `body` against `rules` over the fields of `r`, as [`check`] does for a method.
pub fn check_rules(
    r: &ResourceSpec,
    rules: &BodyRules,
    body: &Map<String, Value>,
) -> Result<(), BodyError> {
    if r.unknown_fields == UnknownFields::Refuse {
        let unknown: Vec<String> = body
            .keys()
            .filter(|k| !rules.accepts.contains(k))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(BodyError::Unknown(unknown));
        }
    }
    let invalid: Vec<String> = r
        .fields
        .iter()
        .filter(|f| rules.accepts.contains(&f.name))
        .filter_map(|f| {
            let v = body.get(&f.name)?;
            let required = rules.required.contains(&f.name);
            if required && !given(Some(v)) {
                return None;
            }
            value_fault(f, v)
        })
        .collect();
    if !invalid.is_empty() {
        return Err(BodyError::Invalid(invalid));
    }
    let missing: Vec<String> = rules
        .required
        .iter()
        .filter(|n| !given(body.get(n.as_str())))
        .map(|n| format!("{n} is required"))
        .collect();
    if !missing.is_empty() {
        return Err(BodyError::Missing(missing));
    }
    for group in &rules.one_of {
        if !group
            .iter()
            .any(|n| body.get(n).is_some_and(|v| !v.is_null()))
        {
            return Err(BodyError::OneOf(group.clone()));
        }
    }
    Ok(())
}

/// What is wrong with one value of a field, if anything.
pub fn value_fault(f: &FieldSpec, v: &Value) -> Option<String> {
    let name = &f.name;
    if v.is_null() {
        return (!f.nullable && f.ty != FieldType::Any).then(|| format!("{name} must not be null"));
    }
    if !f.ty.accepts(v) {
        return Some(format!("{name} must be {}", article(f.ty.as_str())));
    }
    if !f.one_of_values.is_empty() && !f.one_of_values.contains(v) {
        let list: Vec<String> = f.one_of_values.iter().map(Value::to_string).collect();
        return Some(format!("{name} must be one of {}", list.join(", ")));
    }
    let bound = |n: u64, at_most: bool, what: &str| {
        let side = if at_most { "at most" } else { "at least" };
        format!("{name} must have {side} {n} {what}")
    };
    if let Some(s) = v.as_str() {
        let len = s.chars().count() as u64;
        if let Some(min) = f.min_length.filter(|m| len < *m) {
            return Some(bound(min, false, "characters"));
        }
        if let Some(max) = f.max_length.filter(|m| len > *m) {
            return Some(bound(max, true, "characters"));
        }
    }
    if let Some(a) = v.as_array() {
        let len = a.len() as u64;
        if let Some(min) = f.min_items.filter(|m| len < *m) {
            return Some(bound(min, false, "items"));
        }
        if let Some(max) = f.max_items.filter(|m| len > *m) {
            return Some(bound(max, true, "items"));
        }
    }
    if let Some(n) = v.as_f64() {
        if let Some(min) = f.minimum.filter(|m| n < *m) {
            return Some(format!("{name} must be at least {min}"));
        }
        if let Some(max) = f.maximum.filter(|m| n > *m) {
            return Some(format!("{name} must be at most {max}"));
        }
    }
    None
}

/// The JSON Schema (OpenAPI 3.0) of one field's values; `required` makes it refuse
/// `null` and, for strings, `""`, as a request that must give the field does.
pub fn field_schema(f: &FieldSpec, required: bool) -> Value {
    let mut s = match f.ty {
        FieldType::String => json!({"type": "string"}),
        FieldType::Email => json!({"type": "string", "format": "email"}),
        FieldType::Integer => json!({"type": "integer"}),
        FieldType::Number => json!({"type": "number"}),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Object => json!({"type": "object"}),
        FieldType::Array => json!({"type": "array", "items": {}}),
        FieldType::Any => json!({}),
    };
    let is_string = matches!(f.ty, FieldType::String | FieldType::Email);
    let min_length = match (f.min_length, required && is_string) {
        (m, true) => Some(m.unwrap_or(1).max(1)),
        (m, false) => m,
    };
    let rules = [
        ("minLength", min_length.map(Value::from)),
        ("maxLength", f.max_length.map(Value::from)),
        ("minItems", f.min_items.map(Value::from)),
        ("maxItems", f.max_items.map(Value::from)),
        ("minimum", f.minimum.map(number)),
        ("maximum", f.maximum.map(number)),
        ("default", f.default.clone()),
        (
            "nullable",
            (f.nullable && !required).then_some(Value::Bool(true)),
        ),
        (
            "enum",
            (!f.one_of_values.is_empty()).then(|| Value::Array(f.one_of_values.clone())),
        ),
    ];
    if let Value::Object(o) = &mut s {
        for (k, v) in rules {
            if let Some(v) = v {
                o.insert(k.into(), v);
            }
        }
    }
    s
}

/// A bound as JSON: a whole number when it is one.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// The JSON Schema of a request body that `rules` of `r` describe.
pub fn request_schema(r: &ResourceSpec, rules: &BodyRules) -> Value {
    let props: Map<String, Value> = r
        .fields
        .iter()
        .filter(|f| rules.accepts.contains(&f.name))
        .map(|f| {
            let required = rules.required.contains(&f.name);
            (f.name.clone(), field_schema(f, required))
        })
        .collect();
    let mut s = json!({"type": "object", "properties": props});
    if !rules.required.is_empty() {
        s["required"] = json!(rules.required);
    }
    if r.unknown_fields == UnknownFields::Refuse {
        s["additionalProperties"] = Value::Bool(false);
    }
    let any_of = |group: &Vec<String>| {
        let options: Vec<Value> = group.iter().map(|n| json!({"required": [n]})).collect();
        json!({"anyOf": options})
    };
    match rules.one_of.as_slice() {
        [] => {}
        [one] => s["anyOf"] = any_of(one)["anyOf"].take(),
        many => s["allOf"] = Value::Array(many.iter().map(any_of).collect()),
    }
    s
}

/// The JSON Schema of a stored resource as answers show it: its id and fields (fields
/// the vendor adds are allowed beside them).
pub fn resource_schema(r: &ResourceSpec) -> Value {
    let mut props = Map::new();
    let id_type = match r.id_style {
        crate::names::IdStyle::Sequential => "integer",
        _ => "string",
    };
    props.insert("id".into(), json!({"type": id_type, "readOnly": true}));
    for f in &r.fields {
        let mut s = field_schema(f, false);
        if r.sequence.as_deref() == Some(f.name.as_str()) {
            s["readOnly"] = Value::Bool(true);
        }
        props.insert(f.name.clone(), s);
    }
    let mut required = vec!["id".to_owned()];
    required.extend(r.sequence.iter().cloned());
    required.extend(r.create.required.iter().cloned());
    json!({"type": "object", "properties": props, "required": required})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(contract: &str, name: &str) -> ResourceSpec {
        let c = crate::Catalog::builtin().get(contract).unwrap();
        let spec = c.emulator.as_ref().unwrap();
        spec.resources
            .iter()
            .find(|r| r.name == name)
            .unwrap()
            .clone()
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn an_update_is_checked_as_the_method_takes_it() {
        let m = resource("webex", "memberships");
        assert_eq!(
            check(&m, &Method::PUT, &body(json!({"isModerator": true}))),
            Ok(())
        );
        assert!(matches!(
            check(&m, &Method::POST, &body(json!({"isModerator": true}))),
            Err(BodyError::Missing(_))
        ));
        let msg = resource("webex", "messages");
        assert_eq!(
            check(&msg, &Method::PUT, &body(json!({"roomId": "r"}))),
            Err(BodyError::OneOf(vec!["text".into(), "markdown".into()]))
        );
    }

    #[test]
    fn rules_beyond_the_type() {
        let mut f = FieldSpec::new("n", FieldType::Integer);
        f.minimum = Some(1.0);
        f.maximum = Some(5.0);
        assert_eq!(value_fault(&f, &json!(3)), None);
        assert_eq!(value_fault(&f, &json!(9)).unwrap(), "n must be at most 5");
        assert_eq!(value_fault(&f, &json!(null)).unwrap(), "n must not be null");
        f.nullable = true;
        assert_eq!(value_fault(&f, &json!(null)), None);
        let mut s = FieldSpec::new("s", FieldType::String);
        s.max_length = Some(2);
        s.one_of_values = vec![json!("a"), json!("abc")];
        assert_eq!(
            value_fault(&s, &json!("abc")).unwrap(),
            "s must have at most 2 characters"
        );
        assert!(value_fault(&s, &json!("b")).unwrap().contains("one of"));
        assert_eq!(either(&["a".into(), "b".into(), "c".into()]), "a, b or c");
    }
}
