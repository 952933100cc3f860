//! Error answers as problem details (RFC 9457), for a contract whose `[error_body]` (or an
//! API's) says `format = "problem"`: `application/problem+json` with `type`, `title`,
//! `status`, `detail` (the message) and `instance` (the request path), and the parts the
//! contract's pointers place (vendor code, field errors, tracking id) as extension members.

use serde_json::{Map, Value, json};
use verdict::problem::{ABOUT_BLANK, Problem, STANDARD_MEMBERS};
use verdict::{Contract, ErrorBody};

use crate::reply::{ErrorParts, set};

/// One error answer to write as a problem.
pub(crate) struct Occurrence<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The message, code and field errors.
    pub parts: ErrorParts,
    /// The kind of problem, appended to the contract's `type_base` (e.g.
    /// `idempotency-key-reused`); the vendor code or the status's category when `None`.
    pub kind: Option<&'a str>,
    /// The request path: the problem's `instance`.
    pub instance: &'a str,
    /// The request's tracking id.
    pub tracking: &'a str,
}

/// The problem for `occurrence` in the layout `shape` describes.
pub(crate) fn problem(
    contract: &Contract,
    shape: &ErrorBody,
    occurrence: Occurrence<'_>,
) -> Problem {
    let Occurrence {
        status,
        parts,
        kind,
        instance,
        tracking,
    } = occurrence;
    let entry = contract.rule(status);
    let code_text = parts.code.as_ref().map(|c| match c {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let type_uri = match &shape.type_base {
        Some(base) => {
            let slug = kind
                .map(str::to_owned)
                .or(code_text)
                .or_else(|| entry.map(|e| e.category.as_str().to_owned()))
                .unwrap_or_else(|| format!("http-{status}"));
            let slug: String = url::form_urlencoded::byte_serialize(slug.as_bytes()).collect();
            format!("{base}{slug}")
        }
        None => ABOUT_BLANK.to_owned(),
    };
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason());
    let documented = entry.and_then(|e| e.title.as_deref());
    // With about:blank the title is the status's own phrase (RFC 9457, section 4.2.1);
    // a typed problem keeps the contract's wording.
    let title = if type_uri == ABOUT_BLANK {
        reason.or(documented)
    } else {
        documented.or(reason)
    };
    let mut members = Value::Object(Map::new());
    let placed = [
        (&shape.code, parts.code),
        (&shape.fields, parts.fields),
        (&shape.tracking_id, Some(Value::String(tracking.to_owned()))),
    ];
    for (pointer, value) in placed {
        if let (Some(p), Some(v)) = (pointer, value) {
            set(&mut members, p, v);
        }
    }
    let mut extensions = match members {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    // A layout built in code (not loaded) could point at a standard member; those win.
    extensions.retain(|k, _| !STANDARD_MEMBERS.contains(&k.as_str()));
    Problem {
        type_uri,
        title: title.map(str::to_owned),
        status: Some(status),
        detail: Some(parts.message),
        instance: Some(instance.to_owned()),
        extensions,
    }
}

/// The OpenAPI schema of a problem in the layout `shape` describes.
pub(crate) fn openapi_schema(shape: &ErrorBody) -> Value {
    let mut props = Map::new();
    props.insert(
        "type".into(),
        json!({"type": "string", "format": "uri-reference", "default": ABOUT_BLANK,
               "description": "The kind of problem."}),
    );
    props.insert(
        "title".into(),
        json!({"type": "string", "description": "A short summary of the kind of problem."}),
    );
    props.insert(
        "status".into(),
        json!({"type": "integer", "minimum": 100, "maximum": 599, "description": "The HTTP status."}),
    );
    props.insert(
        "detail".into(),
        json!({"type": "string", "description": "What went wrong this time, in the vendor's words."}),
    );
    props.insert(
        "instance".into(),
        json!({"type": "string", "format": "uri-reference", "description": "The request path."}),
    );
    let top = |p: &Option<verdict::JsonPointer>| {
        p.as_ref().and_then(|p| {
            p.as_str()
                .strip_prefix('/')
                .filter(|k| !k.is_empty() && !k.contains(['/', '~']))
                .map(str::to_owned)
        })
    };
    if let Some(k) = top(&shape.code) {
        props.insert(
            k,
            json!({"description": "The vendor's error code (extension member)."}),
        );
    }
    if let Some(k) = top(&shape.fields) {
        props.insert(
            k,
            json!({"type": "array", "items": {}, "description": "Field errors (extension member)."}),
        );
    }
    if let Some(k) = top(&shape.tracking_id) {
        props.insert(
            k,
            json!({"type": "string", "description": "The request's tracking id (extension member)."}),
        );
    }
    json!({
        "type": "object",
        "description": "Problem details (RFC 9457).",
        "properties": props,
        "required": ["type", "title", "status", "detail", "instance"],
        "additionalProperties": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use verdict::{Catalog, SourceFile};

    fn contract(error_body: &str) -> Contract {
        let text = format!(
            "[contract]\nid = \"p\"\nname = \"P\"\nextends = \"http\"\n[headers]\ntracking_id = \"X-Trace\"\n[error_body]\nformat = \"problem\"\n{error_body}"
        );
        Catalog::builtin()
            .with_files([SourceFile::new("p.toml", text)])
            .unwrap()
            .get("p")
            .unwrap()
            .clone()
    }

    fn occurrence(parts: ErrorParts, kind: Option<&str>) -> Occurrence<'_> {
        Occurrence {
            status: 404,
            parts,
            kind,
            instance: "/v1/items/x",
            tracking: "T1",
        }
    }

    #[test]
    fn a_blank_problem_has_the_status_phrase() {
        let c = contract("");
        let p = problem(
            &c,
            &c.error_body,
            occurrence(
                ErrorParts {
                    message: "No item x.".into(),
                    ..ErrorParts::default()
                },
                None,
            ),
        );
        assert!(p.is_blank());
        assert_eq!(p.title.as_deref(), Some("Not Found"));
        assert_eq!(p.status, Some(404));
        assert_eq!(p.detail.as_deref(), Some("No item x."));
        assert_eq!(p.instance.as_deref(), Some("/v1/items/x"));
        assert_eq!(p.extensions["trackingId"], "T1");
        assert_eq!(p.extensions.len(), 1);
    }

    #[test]
    fn typed_problems_name_their_kind() {
        let c = contract("type_base = \"https://api.example.com/problems/\"\ncode = \"/code\"\n");
        let plain = ErrorParts {
            message: "m".into(),
            fields: Some(json!(["name is required"])),
            ..ErrorParts::default()
        };
        let p = problem(&c, &c.error_body, occurrence(plain.clone(), None));
        assert_eq!(p.type_uri, "https://api.example.com/problems/not-found");
        assert_eq!(p.extensions["errors"], json!(["name is required"]));
        let coded = ErrorParts {
            code: Some(json!("CMN 102")),
            ..plain.clone()
        };
        let p = problem(&c, &c.error_body, occurrence(coded, None));
        assert_eq!(p.type_uri, "https://api.example.com/problems/CMN+102");
        assert_eq!(p.extensions["code"], "CMN 102");
        let p = problem(
            &c,
            &c.error_body,
            occurrence(plain, Some("idempotency-key-reused")),
        );
        assert_eq!(
            p.type_uri,
            "https://api.example.com/problems/idempotency-key-reused"
        );
    }

    #[test]
    fn a_layout_built_in_code_cannot_replace_standard_members() {
        let mut c = contract("");
        c.error_body.tracking_id = Some("/detail".parse().unwrap());
        let p = problem(
            &c,
            &c.error_body,
            occurrence(
                ErrorParts {
                    message: "m".into(),
                    ..ErrorParts::default()
                },
                None,
            ),
        );
        assert_eq!(p.detail.as_deref(), Some("m"));
        let text = String::from_utf8(p.to_json()).unwrap();
        assert_eq!(text.matches("\"detail\"").count(), 1, "{text}");
    }
}
