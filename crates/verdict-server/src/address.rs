//! Where a request lands among the contract's resources: the resource, the values of its
//! path's parameters (items live under them: an issue of `octo/hello` is not one of
//! `octo/other`), the item its route names (by the resource's key field, or its id) and
//! the operation, when the resource serves one at a path of its own.

use serde_json::Value;
use verdict::emulate::{ResourceSpec, RpcOperation, match_template};

use crate::Emulator;
use crate::request::Principal;
use crate::state::{Item, State};

/// Between a resource's name and each parameter value in the name of the collection that
/// holds its items: a value never holds it (control characters are refused in paths).
const SEP: char = '\u{1f}';

/// A request's place among the resources.
#[derive(Debug, Clone)]
pub(crate) struct Target<'a> {
    /// The resource.
    pub r: &'a ResourceSpec,
    /// The values of the resource's parameters (fewer of them for a list across parents).
    pub scope: Vec<String>,
    /// The item the route names, by the resource's key (or id).
    pub item: Option<String>,
    /// The operation served at a path of its own, when that is the route.
    pub op: Option<&'a RpcOperation>,
}

impl Target<'_> {
    /// The collection that holds the items under this target's parameters.
    pub fn collection(&self) -> String {
        collection_name(self.r, &self.scope)
    }

    /// Whether the target lists across parents: its route names fewer parameters than the
    /// resource has.
    pub fn spans(&self) -> bool {
        self.scope.len() < self.r.params.len()
    }

    /// The value of the `[rate_limit] group` header on its answers, when the operation or
    /// the resource names one.
    pub fn group(&self) -> Option<&str> {
        self.op
            .and_then(|o| o.rate_limit_group.as_deref())
            .or(self.r.rate_limit_group.as_deref())
    }

    /// The path of item `key` under this target's parameters (without the origin).
    pub fn item_path(&self, base: &str, key: &str) -> String {
        let mut values = self.scope.iter();
        let filled: Vec<String> = self
            .r
            .path
            .split('/')
            .map(|seg| match seg.starts_with('{') {
                true => encode(values.next().map_or("", String::as_str)),
                false => seg.to_owned(),
            })
            .collect();
        format!("{base}{}/{}", filled.join("/"), encode(key))
    }
}

/// The name of the collection of `r` under `scope` (its name alone without parameters).
pub(crate) fn collection_name(r: &ResourceSpec, scope: &[String]) -> String {
    let mut name = r.name.clone();
    for v in scope {
        name.push(SEP);
        name.push_str(v);
    }
    name
}

/// What every collection of `r` under `scope` starts its name with (for a list across
/// parents).
pub(crate) fn collection_prefix(r: &ResourceSpec, scope: &[String]) -> String {
    let mut name = collection_name(r, scope);
    name.push(SEP);
    name
}

/// A path segment with the characters a segment cannot hold as they are escaped.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The text of an item's key (or id) as its route writes it.
pub(crate) fn key_text(r: &ResourceSpec, value: &Value) -> Option<String> {
    let v = value.get(r.key.as_deref().unwrap_or("id"))?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether `who` sees `item`: its own, or one the contract seeds for everyone.
pub(crate) fn visible(item: &Item, who: &Principal) -> bool {
    item.owner == who.account || item.owner.is_empty()
}

/// The stored id of the item of `r` whose key is `key` in `collection`: `key` itself
/// when the resource is addressed by id, else the item found by its key field.
pub(crate) fn stored_id(
    state: &mut State,
    collection: &str,
    r: &ResourceSpec,
    key: &str,
) -> Option<String> {
    let Some(field) = &r.key else {
        return Some(key.to_owned());
    };
    state
        .collection(collection)
        .iter()
        .find(|(_, it)| {
            it.value.get(field).is_some_and(|v| match v {
                Value::String(s) => s == key,
                Value::Number(n) => n.to_string() == key,
                _ => false,
            })
        })
        .map(|(id, _)| id.clone())
}

impl Emulator {
    /// The resource (and item, and operation) a path names.
    pub(crate) fn resolve(&self, path: &str) -> Option<Target<'_>> {
        let rest = path.strip_prefix(&self.spec.base_path)?;
        for r in &self.spec.resources {
            for op in &r.operations {
                if let Some((scope, "")) = match_template(&op.path, rest) {
                    return Some(Target {
                        r,
                        scope,
                        item: None,
                        op: Some(op),
                    });
                }
            }
        }
        self.spec
            .resources
            .iter()
            .filter(|r| r.rest)
            .find_map(|r| rest_target(r, rest))
    }
}

/// `rest` as a collection or item route of `r`.
fn rest_target<'a>(r: &'a ResourceSpec, rest: &str) -> Option<Target<'a>> {
    let (scope, tail) = if r.params.is_empty() {
        (Vec::new(), rest.strip_prefix(&r.path)?)
    } else {
        match_template(&r.path, rest)?
    };
    let item = match tail {
        "" => None,
        t => {
            let id = t
                .strip_prefix('/')
                .filter(|id| !id.is_empty() && !id.contains('/'))?;
            match r.key.is_some() || !r.params.is_empty() {
                true => Some(verdict::emulate::percent_decode(id)?),
                false => Some(id.to_owned()),
            }
        }
    };
    Some(Target {
        r,
        scope,
        item,
        op: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_path_escapes_what_a_segment_cannot_hold() {
        assert_eq!(encode("good first/issue"), "good%20first%2Fissue");
        assert_eq!(encode("a-b_c.d~1"), "a-b_c.d~1");
    }
}
