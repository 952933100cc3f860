//! A list's search (`search = "q"` on a list operation, GitHub's `/search/issues?q=…`):
//! the terms of the query, and whether an item matches them all.

use serde_json::Value;

/// One term of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Term<'q> {
    /// `field:value`: the item's field holds the value.
    Field(&'q str, &'q str),
    /// A word one of the item's text fields contains (lower-cased).
    Word(String),
}

/// The terms of `query`, split at white space: `field:value` where `field` is one of
/// `fields`, any other term a word (`Crash state:open`: the word `crash`, and `state` is
/// `open`).
pub(crate) fn terms<'q>(query: &'q str, fields: &[&str]) -> Vec<Term<'q>> {
    query
        .split_whitespace()
        .map(|t| match t.split_once(':') {
            Some((f, v)) if !v.is_empty() && fields.contains(&f) => Term::Field(f, v),
            _ => Term::Word(t.to_lowercase()),
        })
        .collect()
}

/// Whether `item` matches every term.
pub(crate) fn matches(item: &Value, terms: &[Term<'_>]) -> bool {
    terms.iter().all(|t| match t {
        Term::Field(f, v) => holds(item.get(*f), v),
        Term::Word(w) => item.as_object().is_some_and(|o| {
            o.values()
                .any(|v| matches!(v, Value::String(s) if s.to_lowercase().contains(w.as_str())))
        }),
    })
}

/// Whether a field's value is `want`: a text without regard to case, a number or boolean as
/// written, a list when one of its elements (or an element's `name`, as GitHub's labels) is.
fn holds(value: Option<&Value>, want: &str) -> bool {
    match value {
        Some(Value::String(s)) => s.eq_ignore_ascii_case(want),
        Some(Value::Number(n)) => want.parse::<serde_json::Number>().is_ok_and(|w| w == *n),
        Some(Value::Bool(b)) => want.parse::<bool>() == Ok(*b),
        Some(Value::Array(items)) => items
            .iter()
            .any(|i| holds(Some(i), want) || holds(i.get("name"), want)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_terms_name_fields_and_the_rest_are_words() {
        let t = terms("Crash state:open  is:issue number:", &["state", "number"]);
        assert_eq!(
            t,
            [
                Term::Word("crash".into()),
                Term::Field("state", "open"),
                Term::Word("is:issue".into()),
                Term::Word("number:".into()),
            ]
        );
    }

    #[test]
    fn an_item_matches_when_every_term_holds() {
        let issue = json!({"number": 7, "title": "Crash on start", "body": null,
                           "state": "open", "labels": ["bug", {"name": "ui"}]});
        let fields = ["number", "state", "labels"];
        let hit = |q: &str| matches(&issue, &terms(q, &fields));
        assert!(hit("crash"));
        assert!(hit("CRASH state:OPEN"));
        assert!(hit("labels:bug") && hit("labels:ui") && hit("number:7"));
        let flag = json!({"locked": false});
        assert!(matches(&flag, &terms("locked:false", &["locked"])));
        assert!(!matches(&flag, &terms("locked:no", &["locked"])));
        assert!(hit(""), "no terms: everything");
        assert!(!hit("crash state:closed"));
        assert!(!hit("labels:docs") && !hit("number:8") && !hit("freeze"));
    }
}
