//! The body checks of an API (`[[api.check]]`) said in the OpenAPI schema of its request
//! body, so that the document and the emulator's validation come from one list.
//!
//! Every schema made here is implied by its checks: a body the schema refuses, a check
//! refuses too. Where OpenAPI 3.0 cannot say a check exactly, the schema lets a little more
//! through (a string of spaces where a check wants a value; an integer written in a string
//! with a range too wide to list), and such a body gets the check's own refusal.
//!
//! Checks are grouped by the one value their conditions ask for at a common pointer (Webex
//! Connect's `/deliverychannel`): the body schema becomes one variant per value (`oneOf`),
//! each with its own checks and those that hold for every body. A condition that the body
//! has a value at a pointer relaxes what lies above that pointer. A check this cannot say
//! (a header condition, a second value condition, a condition on a pointer that is not
//! above the value checked, or an array index on the way) is left out of the document; it
//! still refuses bodies when they are sent.

use serde_json::{Map, Value, json};
use verdict::Condition;
use verdict::body_check::{BodyCheck, Shape};

/// Integer ranges up to this many values are listed in the pattern of their string form.
const LISTED_RANGE: i64 = 20;

/// `base` (the body's own schema) with `checks` added: merged into it, and the variants
/// of a selecting pointer under its `oneOf`.
pub(crate) fn with_checks(mut base: Value, checks: &[BodyCheck]) -> Value {
    let said: Vec<Said<'_>> = checks.iter().filter_map(Said::of).collect();
    if said.is_empty() {
        return base;
    }
    let selector = said
        .iter()
        .find_map(|s| s.selector.as_ref().map(|(p, _)| p.clone()));
    // Only one pointer selects: a check selecting on another is left out.
    let said: Vec<Said<'_>> = said
        .into_iter()
        .filter(|s| {
            s.selector
                .as_ref()
                .is_none_or(|(p, _)| Some(p) == selector.as_ref())
        })
        .collect();
    let everywhere = merged(said.iter().filter(|s| s.selector.is_none()));
    let Some(selector) = selector else {
        merge(&mut base, everywhere);
        return base;
    };
    let mut values: Vec<&str> = Vec::new();
    for (_, v) in said.iter().filter_map(|s| s.selector.as_ref()) {
        if !values.contains(v) {
            values.push(v);
        }
    }
    let variant = |own: Value, values: Value| {
        let mut schema = own;
        merge(&mut schema, everywhere.clone());
        merge(&mut schema, values);
        schema
    };
    let mut variants: Vec<Value> = values
        .iter()
        .map(|v| {
            let own = said.iter().filter(|s| s.selects(v));
            variant(merged(own), selected(&selector, &[v]))
        })
        .collect();
    if let Some(rest) = others(&base, &selector, &values) {
        variants.push(variant(json!({}), rest));
    }
    merge(&mut base, json!({"oneOf": variants}));
    base
}

/// A check the schema can say: the value its conditions select on, the depth under which
/// a body-has condition relaxes it, and its pointers as tokens.
struct Said<'c> {
    check: &'c BodyCheck,
    selector: Option<(Vec<String>, &'c str)>,
    relaxed: usize,
    paths: Vec<Vec<String>>,
}

impl<'c> Said<'c> {
    fn of(check: &'c BodyCheck) -> Option<Said<'c>> {
        let paths: Vec<Vec<String>> = check.pointers.iter().map(|p| p.tokens()).collect();
        if paths.iter().flatten().any(|t| t.parse::<usize>().is_ok()) {
            return None;
        }
        let (mut selector, mut relaxed) = (None, 0);
        for c in &check.when {
            match c {
                Condition::Body(p, want) if selector.is_none() => {
                    selector = Some((p.tokens(), want.as_str()));
                }
                Condition::BodyHas(p) => {
                    let above = p.tokens();
                    if !paths.iter().all(|path| path.starts_with(&above)) {
                        return None;
                    }
                    relaxed = relaxed.max(above.len());
                }
                _ => return None,
            }
        }
        Some(Said {
            check,
            selector,
            relaxed,
            paths,
        })
    }

    /// Whether its condition selects `value`.
    fn selects(&self, value: &str) -> bool {
        self.selector.as_ref().is_some_and(|(_, v)| *v == value)
    }

    /// The schema of bodies that pass the check.
    fn schema(&self) -> Value {
        let c = self.check;
        let leaf = leaf(c.shape, c.range, c.optional);
        let one = |path: &Vec<String>| nested(path, 0, self.relaxed, c.optional, &leaf);
        match self.paths.as_slice() {
            [path] => one(path),
            paths => json!({"anyOf": paths.iter().map(one).collect::<Vec<_>>()}),
        }
    }
}

/// The schema of the value at `path[depth..]`: each step an object with the next one,
/// required from depth `relaxed` on unless the check is optional.
fn nested(path: &[String], depth: usize, relaxed: usize, optional: bool, leaf: &Value) -> Value {
    let Some(step) = path.get(depth) else {
        return leaf.clone();
    };
    let inner = nested(path, depth + 1, relaxed, optional, leaf);
    let mut node = json!({"properties": {step.as_str(): inner}});
    if depth >= relaxed && !optional {
        node["type"] = "object".into();
        node["required"] = json!([step]);
        if depth == relaxed && relaxed > 0 {
            // The check holds only once this value is there and not null.
            node["nullable"] = true.into();
        }
    }
    node
}

/// What a value must be; an optional one may also be null.
fn leaf(shape: Shape, range: Option<(i64, i64)>, optional: bool) -> Value {
    let mut kinds = match shape {
        Shape::Present => vec![
            json!({"type": "string", "minLength": 1}),
            json!({"type": "number"}),
            json!({"type": "boolean"}),
            json!({"type": "array", "minItems": 1}),
            json!({"type": "object", "minProperties": 1}),
        ],
        Shape::Object => vec![json!({"type": "object"})],
        Shape::Text => vec![json!({"type": "string", "minLength": 1})],
        Shape::Integer => {
            let mut number = json!({"type": "integer"});
            if let Some((lo, hi)) = range {
                number["minimum"] = lo.into();
                number["maximum"] = hi.into();
            }
            let text = json!({"type": "string", "pattern": integer_pattern(range)});
            vec![number, text]
        }
    };
    if optional {
        for k in &mut kinds {
            k["nullable"] = true.into();
        }
    }
    match kinds.len() {
        1 => kinds.remove(0),
        _ => json!({"anyOf": kinds}),
    }
}

/// A pattern every string holding an integer of `range` matches (surrounding spaces, a
/// sign and leading zeros allowed, as the check reads it).
fn integer_pattern(range: Option<(i64, i64)>) -> String {
    let loose = r"^\s*[+-]?[0-9]+\s*$".to_owned();
    let Some((lo, hi)) = range.filter(|(lo, hi)| hi.saturating_sub(*lo) < LISTED_RANGE) else {
        return loose;
    };
    let forms: Vec<String> = (lo..=hi)
        .map(|n| match n {
            0 => "[+-]?0+".to_owned(),
            n if n > 0 => format!(r"\+?0*{n}"),
            n => format!("-0*{}", n.unsigned_abs()),
        })
        .collect();
    format!(r"^\s*({})\s*$", forms.join("|"))
}

/// The checks' schemas merged into one.
fn merged<'a, 'c: 'a>(said: impl Iterator<Item = &'a Said<'c>>) -> Value {
    let mut schema = json!({});
    for s in said {
        merge(&mut schema, s.schema());
    }
    schema
}

/// Bodies whose `selector` holds one of `values` (a string, or a number or boolean written
/// as one).
fn selected(selector: &[String], values: &[&str]) -> Value {
    let mut options: Vec<Value> = Vec::new();
    for v in values {
        options.push(Value::from(*v));
        if let Ok(n) = v.parse::<serde_json::Number>() {
            options.push(Value::Number(n));
        } else if let Ok(b) = v.parse::<bool>() {
            options.push(Value::Bool(b));
        }
    }
    nested(selector, 0, 0, false, &json!({"enum": options}))
}

/// The variant of the selector's other values: those `base` lists and no check names, or,
/// when `base` lists none, every value but those.
fn others(base: &Value, selector: &[String], values: &[&str]) -> Option<Value> {
    let listed = match selector {
        [key] => base["properties"][key]["enum"].as_array(),
        _ => None,
    };
    match listed {
        Some(listed) => {
            let rest: Vec<&str> = listed
                .iter()
                .filter_map(Value::as_str)
                .filter(|v| !values.contains(v))
                .collect();
            (!rest.is_empty()).then(|| selected(selector, &rest))
        }
        None => Some(json!({"not": selected(selector, values)})),
    }
}

/// Adds what `b` requires to `a`: properties merged, required names joined; where the two
/// say different things of one key, what `b` says goes to `a`'s `allOf`.
fn merge(a: &mut Value, b: Value) {
    let (Value::Object(am), Value::Object(bm)) = (&mut *a, b.clone()) else {
        *a = json!({"allOf": [a.take(), b]});
        return;
    };
    let mut clash = Map::new();
    for (k, v) in bm {
        match (k.as_str(), am.get_mut(&k)) {
            (_, None) => {
                am.insert(k, v);
            }
            ("properties", Some(Value::Object(props))) => {
                for (name, schema) in v.as_object().cloned().unwrap_or_default() {
                    match props.get_mut(&name) {
                        Some(existing) => merge(existing, schema),
                        None => {
                            props.insert(name, schema);
                        }
                    }
                }
            }
            ("required", Some(Value::Array(names))) => {
                for n in v.as_array().cloned().unwrap_or_default() {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
            (_, Some(existing)) if *existing == v => {}
            (_, Some(_)) => {
                clash.insert(k, v);
            }
        }
    }
    if !clash.is_empty() {
        match am.get_mut("allOf") {
            Some(Value::Array(all)) => all.push(Value::Object(clash)),
            _ => {
                am.insert("allOf".into(), json!([clash]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(when: &[Condition], pointers: &[&str], shape: Shape, optional: bool) -> BodyCheck {
        BodyCheck {
            when: when.to_vec(),
            pointers: pointers.iter().map(|p| p.parse().unwrap()).collect(),
            shape,
            range: None,
            optional,
            key: "k".into(),
        }
    }

    fn kind(v: &str) -> Condition {
        Condition::Body("/kind".parse().unwrap(), v.into())
    }

    #[test]
    fn one_variant_per_selected_value_with_its_own_checks() {
        let base =
            json!({"type": "object", "properties": {"kind": {"enum": ["sms", "push", "fax"]}}});
        let mut sms_type = check(&[kind("sms")], &["/sms/type"], Shape::Integer, true);
        sms_type.range = Some((1, 4));
        let checks = [
            check(&[kind("sms")], &["/sms"], Shape::Object, false),
            sms_type,
            check(
                &[kind("push")],
                &["/push/android", "/push/ios"],
                Shape::Object,
                false,
            ),
            check(&[], &["/to"], Shape::Text, false),
        ];
        let schema = with_checks(base.clone(), &checks);
        assert_eq!(schema["properties"], base["properties"]);
        let variants = schema["oneOf"].as_array().unwrap();
        assert_eq!(variants.len(), 3, "{schema:#}");
        let sms = &variants[0];
        assert_eq!(sms["properties"]["kind"]["enum"], json!(["sms"]));
        assert_eq!(sms["required"], json!(["sms", "to", "kind"]));
        assert_eq!(sms["properties"]["sms"]["type"], "object");
        let t = &sms["properties"]["sms"]["properties"]["type"]["anyOf"];
        assert_eq!(
            t[0],
            json!({"type": "integer", "minimum": 1, "maximum": 4, "nullable": true})
        );
        assert_eq!(t[1]["pattern"], r"^\s*(\+?0*1|\+?0*2|\+?0*3|\+?0*4)\s*$");
        let push = &variants[1];
        assert_eq!(push["anyOf"].as_array().unwrap().len(), 2);
        assert_eq!(
            push["properties"]["to"],
            json!({"type": "string", "minLength": 1})
        );
        // "fax" has no checks of its own: the checks for every body only.
        assert_eq!(variants[2]["properties"]["kind"]["enum"], json!(["fax"]));
        assert_eq!(variants[2]["required"], json!(["to", "kind"]));
    }

    #[test]
    fn a_value_that_must_be_there_relaxes_what_lies_above_it() {
        let has = Condition::BodyHas("/push/android".parse().unwrap());
        let c = check(&[has], &["/push/android/text"], Shape::Text, false);
        let schema = with_checks(json!({}), &[c]);
        let push = &schema["properties"]["push"];
        assert!(push.get("required").is_none(), "{schema:#}");
        let android = &push["properties"]["android"];
        assert_eq!(android["required"], json!(["text"]));
        assert_eq!(android["nullable"], true);
    }

    #[test]
    fn what_cannot_be_said_is_left_out() {
        let header = Condition::Header("x-a".parse().unwrap());
        let checks = [
            check(&[header], &["/a"], Shape::Text, false),
            check(&[], &["/list/0/a"], Shape::Text, false),
            check(
                &[Condition::BodyHas("/b".parse().unwrap())],
                &["/a"],
                Shape::Text,
                false,
            ),
        ];
        assert_eq!(
            with_checks(json!({"type": "object"}), &checks),
            json!({"type": "object"})
        );
    }

    #[test]
    fn every_integer_the_check_takes_matches_its_pattern() {
        for (range, yes, no) in [
            (
                Some((1, 4)),
                vec!["1", " 4 ", "+3", "004"],
                vec!["5", "0", "x", "1.0"],
            ),
            (Some((-1, 1)), vec!["-1", "-0", "0", "+1"], vec!["2", "-2"]),
            (None, vec!["123456", "-9"], vec!["1e3", ""]),
        ] {
            let re = regex::Regex::new(&integer_pattern(range)).unwrap();
            for s in yes {
                assert!(re.is_match(s), "{s:?} for {range:?}");
            }
            for s in no {
                assert!(!re.is_match(s), "{s:?} for {range:?}");
            }
        }
    }
}
