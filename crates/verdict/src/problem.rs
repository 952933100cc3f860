//! Problem details for HTTP APIs (RFC 9457, which replaces RFC 7807): the
//! `application/problem+json` error body.
//!
//! A problem is a JSON object with five standard members — `type` (a URI reference that
//! names the kind of problem, `about:blank` when absent), `title`, `status`, `detail` and
//! `instance` — and any number of extension members. Reading is tolerant, as the RFC asks:
//! a standard member whose value has the wrong JSON type is ignored as if it were absent.
//!
//! ```
//! use verdict::problem::Problem;
//! let body = br#"{"type": "https://example.com/probs/out-of-credit", "title": "You do not have enough credit.",
//!   "status": 403, "detail": "Your balance is 30, but that costs 50.", "instance": "/account/12345/msgs/abc",
//!   "balance": 30}"#;
//! let p = Problem::parse(body).unwrap();
//! assert_eq!(p.type_uri, "https://example.com/probs/out-of-credit");
//! assert_eq!(p.status, Some(403));
//! assert_eq!(p.extensions["balance"], 30);
//!
//! // A member of the wrong type is ignored; `type` defaults to about:blank.
//! let p = Problem::parse(br#"{"type": 7, "status": "403", "title": "Forbidden"}"#).unwrap();
//! assert!(p.is_blank());
//! assert_eq!((p.status, p.title.as_deref()), (None, Some("Forbidden")));
//! ```

use serde::Serialize;
use serde_json::{Map, Value};

/// The media type of a problem in JSON.
pub const MEDIA_TYPE: &str = "application/problem+json";

/// The `type` of a problem that says nothing beyond its HTTP status.
pub const ABOUT_BLANK: &str = "about:blank";

/// The names of the standard members, which are never extension members.
pub const STANDARD_MEMBERS: [&str; 5] = ["type", "title", "status", "detail", "instance"];

/// One problem details object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// The `type` member: a URI reference naming the kind of problem; [`ABOUT_BLANK`]
    /// when the body has none.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The HTTP status the origin server gave (100 to 599).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// An explanation of this occurrence, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A URI reference naming this occurrence (the emulator gives the request path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Every other member, as sent (e.g. `errors`, a tracking id, a vendor code).
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// Why a body is not a problem at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemError {
    /// The body is not JSON.
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    /// The body is JSON but not an object.
    #[error("a problem details body must be a JSON object, not {0}")]
    NotObject(&'static str),
}

impl Problem {
    /// A problem of `type_uri` with nothing else set.
    pub fn new(type_uri: impl Into<String>) -> Problem {
        Problem {
            type_uri: type_uri.into(),
            title: None,
            status: None,
            detail: None,
            instance: None,
            extensions: Map::new(),
        }
    }

    /// Reads a problem from the bytes of a body.
    pub fn parse(body: &[u8]) -> Result<Problem, ProblemError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| ProblemError::NotJson(e.to_string()))?;
        Problem::from_value(&value)
    }

    /// Reads a problem from a JSON value; members of the wrong type are ignored.
    pub fn from_value(value: &Value) -> Result<Problem, ProblemError> {
        let Value::Object(members) = value else {
            return Err(ProblemError::NotObject(kind(value)));
        };
        let text = |key: &str| members.get(key).and_then(Value::as_str).map(str::to_owned);
        let status = members
            .get("status")
            .and_then(Value::as_u64)
            .filter(|n| (100..=599).contains(n))
            .map(|n| n as u16);
        Ok(Problem {
            type_uri: text("type").unwrap_or_else(|| ABOUT_BLANK.to_owned()),
            title: text("title"),
            status,
            detail: text("detail"),
            instance: text("instance"),
            extensions: members
                .iter()
                .filter(|(k, _)| !STANDARD_MEMBERS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    /// Whether the type is `about:blank`: the problem means no more than its status.
    pub fn is_blank(&self) -> bool {
        self.type_uri == ABOUT_BLANK
    }

    /// The human message: `detail`, else `title`.
    pub fn message(&self) -> Option<&str> {
        self.detail.as_deref().or(self.title.as_deref())
    }

    /// The problem as JSON text.
    pub fn to_json(&self) -> Vec<u8> {
        // Strings, numbers and JSON values already parsed: writing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Whether a `Content-Type` value is `application/problem+json` (parameters and case
/// aside).
///
/// ```
/// assert!(verdict::problem::is_problem_media_type("Application/Problem+JSON; charset=utf-8"));
/// assert!(!verdict::problem::is_problem_media_type("application/json"));
/// ```
pub fn is_problem_media_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(MEDIA_TYPE))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_member_is_read() {
        let p = Problem::from_value(&json!({
            "type": "https://example.com/probs/x",
            "title": "T",
            "status": 422,
            "detail": "D",
            "instance": "/v1/items",
            "errors": [{"pointer": "#/name"}],
            "trackingId": "ABC"
        }))
        .unwrap();
        assert_eq!(p.type_uri, "https://example.com/probs/x");
        assert_eq!(p.title.as_deref(), Some("T"));
        assert_eq!(p.status, Some(422));
        assert_eq!(p.detail.as_deref(), Some("D"));
        assert_eq!(p.instance.as_deref(), Some("/v1/items"));
        assert_eq!(p.extensions.len(), 2);
        assert_eq!(p.extensions["trackingId"], "ABC");
        assert_eq!(p.message(), Some("D"));
        // Written back, it is the same object.
        let again = Problem::parse(&p.to_json()).unwrap();
        assert_eq!(again, p);
    }

    #[test]
    fn wrong_types_are_ignored() {
        let p = Problem::from_value(&json!({
            "type": ["x"],
            "title": 3,
            "status": 42,
            "detail": {"a": 1},
            "instance": null
        }))
        .unwrap();
        assert_eq!(p, Problem::new(ABOUT_BLANK));
        for status in [
            json!(-1),
            json!(600),
            json!(4.5),
            json!("404"),
            json!(1e300),
        ] {
            let p = Problem::from_value(&json!({ "status": status })).unwrap();
            assert_eq!(p.status, None, "{status}");
        }
        // The title stands in for a missing detail.
        let p = Problem::from_value(&json!({"title": "Not Found"})).unwrap();
        assert_eq!(p.message(), Some("Not Found"));
    }

    #[test]
    fn bodies_that_are_not_problems() {
        assert!(matches!(
            Problem::parse(b"<html>"),
            Err(ProblemError::NotJson(_))
        ));
        assert_eq!(
            Problem::parse(b"[1]"),
            Err(ProblemError::NotObject("an array"))
        );
        assert!(Problem::parse(b"").is_err());
        // Deeply nested input is refused by the JSON reader, not by a stack overflow.
        let deep = "[".repeat(100_000);
        assert!(Problem::parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn media_type() {
        assert!(is_problem_media_type("application/problem+json"));
        assert!(is_problem_media_type(
            " application/problem+json ;charset=UTF-8"
        ));
        assert!(!is_problem_media_type("application/problem+xml"));
        assert!(!is_problem_media_type(""));
    }
}
