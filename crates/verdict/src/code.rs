//! Application code values: a vendor's number (`7109`) or text (`invalid_auth`, `CMN-102`).

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use serde_json::Value;

/// The value of an application code: a number, or a piece of text.
///
/// A number is also found where a body carries it as a string (Webex Connect sends
/// `"code": "7109"`); text matches only itself, exactly.
///
/// ```
/// use verdict::CodeValue;
/// let n: CodeValue = "7109".parse().unwrap();
/// assert_eq!(n, CodeValue::from(7109));
/// assert!(n.matches(&serde_json::json!("7109")));
/// assert!(n.matches(&serde_json::json!(7109)));
/// let t: CodeValue = "invalid_auth".parse().unwrap();
/// assert!(t.matches(&serde_json::json!("invalid_auth")));
/// assert!(!t.matches(&serde_json::json!("Invalid_Auth")));
/// assert_eq!(t.to_string(), "invalid_auth");
/// assert!("".parse::<CodeValue>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodeValue {
    /// A vendor number, e.g. `7109`.
    Number(u32),
    /// A vendor word or label, e.g. `invalid_auth` or `CMN-102`.
    Text(String),
}

/// Text that cannot be an application code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCode {
    /// Empty, or only spaces.
    #[error("an application code must not be empty")]
    Empty,
    /// Spaces around the text, which a body would never match.
    #[error("\"{0}\" has spaces around it; write the code as the body carries it")]
    Padded(String),
}

impl CodeValue {
    /// The code a JSON value holds: a whole number (up to `u32::MAX`) or a string; a
    /// string of digits is read as the number it writes.
    ///
    /// ```
    /// use verdict::CodeValue;
    /// use serde_json::json;
    /// assert_eq!(CodeValue::from_json(&json!("7109")), Some(CodeValue::from(7109)));
    /// assert_eq!(CodeValue::from_json(&json!(" 7500 ")), Some(CodeValue::from(7500)));
    /// assert_eq!(CodeValue::from_json(&json!("CMN-102")).unwrap().to_string(), "CMN-102");
    /// assert_eq!(CodeValue::from_json(&json!(true)), None);
    /// assert_eq!(CodeValue::from_json(&json!(-1)), None);
    /// ```
    pub fn from_json(v: &Value) -> Option<CodeValue> {
        match v {
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(CodeValue::Number),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Whether the JSON value `v` carries this code (see [`CodeValue::from_json`]).
    pub fn matches(&self, v: &Value) -> bool {
        match (self, v) {
            (CodeValue::Text(t), Value::String(s)) => t == s,
            (CodeValue::Number(_), _) => CodeValue::from_json(v).as_ref() == Some(self),
            _ => false,
        }
    }

    /// The number, for a numeric code.
    pub fn number(&self) -> Option<u32> {
        match self {
            CodeValue::Number(n) => Some(*n),
            CodeValue::Text(_) => None,
        }
    }

    /// The code as JSON: a number as a number, text as a string.
    pub fn to_json(&self) -> Value {
        match self {
            CodeValue::Number(n) => Value::from(*n),
            CodeValue::Text(t) => Value::String(t.clone()),
        }
    }
}

impl FromStr for CodeValue {
    type Err = InvalidCode;

    /// Digits without a leading zero (or `0` itself) that fit in a `u32` are a number;
    /// anything else that is not empty is text.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err(InvalidCode::Empty);
        }
        if s.trim() != s {
            return Err(InvalidCode::Padded(s.to_owned()));
        }
        let canonical = s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
        match s.parse::<u32>() {
            Ok(n) if canonical => Ok(CodeValue::Number(n)),
            _ => Ok(CodeValue::Text(s.to_owned())),
        }
    }
}

impl From<u32> for CodeValue {
    fn from(n: u32) -> Self {
        CodeValue::Number(n)
    }
}

impl From<&CodeValue> for CodeValue {
    fn from(c: &CodeValue) -> Self {
        c.clone()
    }
}

impl PartialEq<u32> for CodeValue {
    fn eq(&self, other: &u32) -> bool {
        *self == CodeValue::Number(*other)
    }
}

impl fmt::Display for CodeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeValue::Number(n) => write!(f, "{n}"),
            CodeValue::Text(t) => f.write_str(t),
        }
    }
}

impl Serialize for CodeValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            CodeValue::Number(n) => s.serialize_u32(*n),
            CodeValue::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> serde::Deserialize<'de> for CodeValue {
    /// A number, or a string read as [`FromStr`] reads it.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        match &v {
            Value::String(s) => s.parse().map_err(serde::de::Error::custom),
            _ => CodeValue::from_json(&v)
                .ok_or_else(|| serde::de::Error::custom(format!("{v} is not an application code"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_text_parse_apart() {
        assert_eq!("0".parse::<CodeValue>().unwrap(), CodeValue::Number(0));
        assert_eq!("4294967295".parse::<CodeValue>().unwrap(), u32::MAX);
        // Too large, or with a leading zero: text, which prints as written.
        for s in ["4294967296", "007", "CMN-102", "already_exists", "-1"] {
            let c: CodeValue = s.parse().unwrap();
            assert!(matches!(c, CodeValue::Text(_)), "{s}");
            assert_eq!(c.to_string(), s);
        }
        assert_eq!(
            " x".parse::<CodeValue>(),
            Err(InvalidCode::Padded(" x".into()))
        );
        assert_eq!("  ".parse::<CodeValue>(), Err(InvalidCode::Empty));
    }

    #[test]
    fn json_values_match_as_the_wire_carries_them() {
        let n = CodeValue::from(7109);
        assert!(n.matches(&json!(7109)) && n.matches(&json!("7109")));
        assert!(!n.matches(&json!("7108")) && !n.matches(&json!(null)));
        let t: CodeValue = "007".parse().unwrap();
        assert!(t.matches(&json!("007")) && !t.matches(&json!(7)));
        assert_eq!(serde_json::to_value(&n).unwrap(), json!(7109));
        assert_eq!(serde_json::to_value(&t).unwrap(), json!("007"));
        assert_eq!(n.to_json(), json!(7109));
        let back: CodeValue = serde_json::from_value(json!("CMN-102")).unwrap();
        assert_eq!(back.to_string(), "CMN-102");
        assert_eq!(serde_json::from_value::<CodeValue>(json!(7)).unwrap(), 7);
        assert!(serde_json::from_value::<CodeValue>(json!([1])).is_err());
    }
}
