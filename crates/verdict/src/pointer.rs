//! JSON pointers (RFC 6901), used to say where an error body keeps its parts.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use serde_json::Value;

/// A syntactically valid JSON pointer.
///
/// ```
/// use verdict::JsonPointer;
/// let p: JsonPointer = "/errors/0/description".parse().unwrap();
/// let body = serde_json::json!({"errors": [{"description": "bad id"}]});
/// assert_eq!(p.find(&body).and_then(|v| v.as_str()), Some("bad id"));
/// assert!("errors".parse::<JsonPointer>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonPointer(String);

/// Why a string is not a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    /// A non-empty pointer must start with '/'.
    #[error("invalid JSON pointer \"{0}\": it must be empty or start with '/'")]
    NoLeadingSlash(String),
    /// '~' may only appear as "~0" or "~1".
    #[error("invalid JSON pointer \"{0}\": '~' must be followed by 0 or 1")]
    BadEscape(String),
}

impl JsonPointer {
    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its reference tokens, unescaped: the keys (or indices) from the root down.
    ///
    /// ```
    /// use verdict::JsonPointer;
    /// let p: JsonPointer = "/channels/a~1b/0".parse().unwrap();
    /// assert_eq!(p.tokens(), ["channels", "a/b", "0"]);
    /// assert!("".parse::<JsonPointer>().unwrap().tokens().is_empty());
    /// ```
    pub fn tokens(&self) -> Vec<String> {
        self.0
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect()
    }

    /// The value the pointer designates in `value`, if there is one.
    pub fn find<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        value.pointer(&self.0)
    }

    /// Writes `new` where the pointer designates in `value`, making the objects on the way;
    /// false (and nothing written) when a step is not an object or the pointer is empty.
    ///
    /// ```
    /// use verdict::JsonPointer;
    /// let p: JsonPointer = "/response_metadata/next_cursor".parse().unwrap();
    /// let mut body = serde_json::json!({"ok": true});
    /// assert!(p.put(&mut body, "2".into()));
    /// assert_eq!(body, serde_json::json!({"ok": true, "response_metadata": {"next_cursor": "2"}}));
    /// ```
    pub fn put(&self, value: &mut Value, new: Value) -> bool {
        let tokens = self.tokens();
        let Some((last, steps)) = tokens.split_last() else {
            return false;
        };
        let mut at = value;
        for step in steps {
            let Value::Object(map) = at else {
                return false;
            };
            at = map
                .entry(step.clone())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
        }
        match at {
            Value::Object(map) => {
                map.insert(last.clone(), new);
                true
            }
            _ => false,
        }
    }
}

impl FromStr for JsonPointer {
    type Err = PointerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.is_empty() && !s.starts_with('/') {
            return Err(PointerError::NoLeadingSlash(s.to_owned()));
        }
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(PointerError::BadEscape(s.to_owned()));
            }
        }
        Ok(JsonPointer(s.to_owned()))
    }
}

impl fmt::Display for JsonPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for JsonPointer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        for ok in ["", "/", "/a/b", "/a~0b/~1", "/0"] {
            assert!(ok.parse::<JsonPointer>().is_ok(), "{ok}");
        }
        for bad in ["a", "/a~", "/a~2", "#/a"] {
            assert!(bad.parse::<JsonPointer>().is_err(), "{bad}");
        }
    }
}
