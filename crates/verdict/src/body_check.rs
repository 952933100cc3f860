//! Checks an application-code API applies to a request body, each answered with one of
//! its messages: "the sms object is required when the channel is sms" is a check with
//! the key of the message `param 'sms' missing for channel sms`. They are data
//! (`[[api.check]]` in a contract), run in the order written, and the first that fails
//! names the answer.
//!
//! ```
//! let c = verdict::Catalog::builtin().get("webex-connect").unwrap();
//! let api = c.api("messaging").unwrap();
//! let body = serde_json::json!({"deliverychannel": "sms", "channels": {}});
//! assert_eq!(api.failed_check(&body).map(|c| c.key.as_str()), Some("sms-missing"));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use crate::model::Condition;
use crate::pointer::JsonPointer;

/// What a value must be for a check to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Present: not null, and not an empty string, array or object.
    Present,
    /// A JSON object.
    Object,
    /// A string that is not empty.
    Text,
    /// An integer, or a string that holds one, within `range` when the check has one.
    Integer,
}

impl FromStr for Shape {
    type Err = String;

    fn from_str(s: &str) -> Result<Shape, String> {
        match s {
            "present" => Ok(Shape::Present),
            "object" => Ok(Shape::Object),
            "text" => Ok(Shape::Text),
            "integer" => Ok(Shape::Integer),
            other => Err(format!(
                "unknown shape \"{other}\" (expected present, object, text or integer)"
            )),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shape::Present => "present",
            Shape::Object => "object",
            Shape::Text => "text",
            Shape::Integer => "integer",
        })
    }
}

/// One check on a request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BodyCheck {
    /// The check applies only to bodies that meet each of these conditions.
    pub when: Vec<Condition>,
    /// Where the value is; with several, at least one must pass (`any_of`).
    pub pointers: Vec<JsonPointer>,
    /// What the value must be.
    pub shape: Shape,
    /// The bounds of an integer, both included.
    pub range: Option<(i64, i64)>,
    /// An absent or null value passes.
    pub optional: bool,
    /// The key of the message a failure is answered with.
    pub key: String,
}

impl BodyCheck {
    /// Whether `body` passes. A check whose condition does not hold passes.
    pub fn passes(&self, body: &Value) -> bool {
        let headers = http::HeaderMap::new();
        if !self.when.iter().all(|c| c.holds(&headers, Some(body))) {
            return true;
        }
        self.pointers
            .iter()
            .any(|p| self.value_passes(p.find(body)))
    }

    fn value_passes(&self, v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => self.optional,
            Some(v) => match self.shape {
                Shape::Present => match v {
                    Value::String(s) => !s.trim().is_empty(),
                    Value::Array(a) => !a.is_empty(),
                    Value::Object(o) => !o.is_empty(),
                    _ => true,
                },
                Shape::Object => v.is_object(),
                Shape::Text => v.as_str().is_some_and(|s| !s.is_empty()),
                Shape::Integer => integer(v)
                    .is_some_and(|n| self.range.is_none_or(|(lo, hi)| (lo..=hi).contains(&n))),
            },
        }
    }
}

impl fmt::Display for BodyCheck {
    /// In words: `when the body has "sms" at /deliverychannel: /channels/sms is an object`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.when.is_empty() {
            let when: Vec<String> = self.when.iter().map(ToString::to_string).collect();
            write!(f, "when {}: ", when.join(" and "))?;
        }
        let at: Vec<&str> = self.pointers.iter().map(JsonPointer::as_str).collect();
        let at = at.join(" or ");
        let what = match (self.shape, self.range) {
            (Shape::Present, _) => "has a value".to_owned(),
            (Shape::Object, _) => "is an object".to_owned(),
            (Shape::Text, _) => "is text that is not empty".to_owned(),
            (Shape::Integer, Some((lo, hi))) => format!("is an integer from {lo} to {hi}"),
            (Shape::Integer, None) => "is an integer".to_owned(),
        };
        write!(f, "{at} {what}")?;
        if self.optional {
            f.write_str(" (or is absent)")?;
        }
        Ok(())
    }
}

/// An integer, or a string that holds one (surrounding spaces aside).
fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(pointers: &[&str], shape: Shape, optional: bool) -> BodyCheck {
        BodyCheck {
            when: Vec::new(),
            pointers: pointers.iter().map(|p| p.parse().unwrap()).collect(),
            shape,
            range: None,
            optional,
            key: "k".into(),
        }
    }

    #[test]
    fn each_shape_and_optional() {
        let present = check(&["/a"], Shape::Present, false);
        for (v, ok) in [
            (json!({}), false),
            (json!({"a": null}), false),
            (json!({"a": " "}), false),
            (json!({"a": []}), false),
            (json!({"a": 0}), true),
            (json!({"a": "x"}), true),
        ] {
            assert_eq!(present.passes(&v), ok, "{v}");
        }
        let object = check(&["/a"], Shape::Object, false);
        assert!(object.passes(&json!({"a": {}})));
        assert!(!object.passes(&json!({"a": "x"})));
        let text = check(&["/a"], Shape::Text, true);
        assert!(text.passes(&json!({})));
        assert!(!text.passes(&json!({"a": ""})));
        assert!(!text.passes(&json!({"a": 3})));
        let mut int = check(&["/a"], Shape::Integer, true);
        int.range = Some((1, 4));
        assert!(int.passes(&json!({"a": " 4"})));
        assert!(!int.passes(&json!({"a": 5})));
        assert!(!int.passes(&json!({"a": "two"})));
        assert!(int.passes(&json!({"a": null})));
    }

    #[test]
    fn a_check_reads_as_words() {
        let mut c = check(&["/sms/type"], Shape::Integer, true);
        c.range = Some((1, 4));
        c.when = vec![Condition::Body("/kind".parse().unwrap(), "sms".into())];
        assert_eq!(
            c.to_string(),
            "when the body has \"sms\" at /kind: /sms/type is an integer from 1 to 4 (or is absent)"
        );
        let c = check(&["/a", "/b"], Shape::Object, false);
        assert_eq!(c.to_string(), "/a or /b is an object");
    }

    #[test]
    fn any_of_and_a_condition() {
        let mut c = check(&["/p/android", "/p/ios"], Shape::Object, false);
        c.when = vec![Condition::Body("/kind".parse().unwrap(), "push".into())];
        assert!(c.passes(&json!({"kind": "sms"})));
        assert!(!c.passes(&json!({"kind": "push", "p": {}})));
        assert!(c.passes(&json!({"kind": "push", "p": {"ios": {}}})));
        c.when.push(Condition::BodyHas("/p".parse().unwrap()));
        assert!(
            c.passes(&json!({"kind": "push"})),
            "no /p: the check does not apply"
        );
        assert!(!c.passes(&json!({"kind": "push", "p": {"ios": 1}})));
        assert!(c.passes(&json!({"kind": "sms", "p": {"ios": 1}})));
    }
}
