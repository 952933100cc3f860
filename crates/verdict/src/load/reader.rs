//! Reading TOML tables with spans: the problem collector and typed accessors every part of the loader uses.

use super::*;

/// Collects problems while a file is read.
pub(super) struct Cx<'s> {
    pub(super) src: &'s str,
    pub(super) origin: String,
    pub(super) found: Vec<(Span, String, String)>,
}

impl<'s> Cx<'s> {
    pub(super) fn report(
        &mut self,
        span: Span,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.found.push((span, field.into(), message.into()));
    }

    pub(super) fn finish(self) -> LoadError {
        let mut found = self.found;
        // A problem found after reading (against inherited statuses, say) names its field
        // without a place: point at the field where the file writes it.
        let unplaced = |span: &Span| span.start == span.end;
        if found
            .iter()
            .any(|(span, f, _)| unplaced(span) && !f.is_empty())
        {
            let (root, _) = DeTable::parse_recoverable(self.src);
            for (span, field, _) in &mut found {
                if unplaced(span) {
                    if let Some(at) = locate(root.get_ref(), field) {
                        *span = at;
                    }
                }
            }
        }
        found.sort_by_key(|(span, ..)| span.start);
        let problems = found
            .into_iter()
            .map(|(span, field, message)| {
                let (line, column) = line_col(self.src, span.start);
                Problem {
                    line,
                    column,
                    field,
                    message,
                }
            })
            .collect();
        LoadError {
            origin: self.origin,
            problems,
        }
    }
}

/// Where the value at the dotted `path` (`emulator.accept_unmet.status`, `status[2].code`)
/// is written; the deepest part of it that is, when the rest is inherited.
fn locate(root: &DeTable<'_>, path: &str) -> Option<Span> {
    let mut table = root;
    let mut at = None;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, i)) => (k, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some(mut value) = table.get(key) else {
            break;
        };
        if let Some(i) = index {
            match value.get_ref().as_array().and_then(|a| a.get(i)) {
                Some(item) => value = item,
                None => break,
            }
        }
        at = Some(value.span());
        match value.get_ref().as_table() {
            Some(t) => table = t,
            None => break,
        }
    }
    at
}

pub(super) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = src.get(..offset).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

pub(super) type Value<'i> = Spanned<DeValue<'i>>;

/// A table being read, with the path that names it in messages.
pub(super) struct Obj<'a, 'i> {
    pub(super) map: &'a DeTable<'i>,
    pub(super) path: String,
    pub(super) span: Span,
}

impl<'a, 'i> Obj<'a, 'i> {
    pub(super) fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.map.get(key)
    }

    pub(super) fn check_keys(&self, cx: &mut Cx<'_>, allowed: &[&str]) {
        for (key, _) in self.map.iter() {
            let name: &str = key.get_ref();
            if !allowed.contains(&name) {
                let hint = match crate::suggest::closest(name, allowed.iter().copied()) {
                    Some(best) => format!("; did you mean \"{best}\"?"),
                    None => format!(" (known keys: {})", allowed.join(", ")),
                };
                cx.report(
                    key.span(),
                    self.field(name),
                    format!("unknown key \"{name}\"{hint}"),
                );
            }
        }
    }

    pub(super) fn string(&self, cx: &mut Cx<'_>, key: &str) -> Option<String> {
        let v = self.get(key)?;
        match v.get_ref().as_str() {
            Some(s) => Some(s.to_owned()),
            None => {
                cx.report(
                    v.span(),
                    self.field(key),
                    format!("expected a string, found {}", v.get_ref().type_str()),
                );
                None
            }
        }
    }

    pub(super) fn required_string(&self, cx: &mut Cx<'_>, key: &str) -> Option<String> {
        let s = self.string(cx, key);
        if self.get(key).is_none() {
            cx.report(self.span.clone(), self.field(key), "is required");
        }
        s
    }

    pub(super) fn integer(
        &self,
        cx: &mut Cx<'_>,
        key: &str,
        range: Range<i64>,
    ) -> Option<(i64, Span)> {
        let v = self.get(key)?;
        let parsed = v
            .get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok());
        match parsed {
            Some(n) if range.contains(&n) => Some((n, v.span())),
            Some(n) => {
                cx.report(
                    v.span(),
                    self.field(key),
                    format!("{n} is out of range ({} to {})", range.start, range.end - 1),
                );
                None
            }
            None => {
                cx.report(
                    v.span(),
                    self.field(key),
                    format!("expected an integer, found {}", v.get_ref().type_str()),
                );
                None
            }
        }
    }

    pub(super) fn float(&self, cx: &mut Cx<'_>, key: &str) -> Option<(f64, Span)> {
        let v = self.get(key)?;
        let value = match v.get_ref() {
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            _ => None,
        };
        if value.is_none() {
            cx.report(
                v.span(),
                self.field(key),
                format!("expected a number, found {}", v.get_ref().type_str()),
            );
        }
        value.map(|f| (f, v.span()))
    }

    pub(super) fn boolean(&self, cx: &mut Cx<'_>, key: &str) -> Option<bool> {
        let v = self.get(key)?;
        let b = v.get_ref().as_bool();
        if b.is_none() {
            cx.report(
                v.span(),
                self.field(key),
                format!("expected true or false, found {}", v.get_ref().type_str()),
            );
        }
        b
    }

    /// A string parsed with `FromStr`; the parse error becomes the message.
    pub(super) fn parsed<T: FromStr>(&self, cx: &mut Cx<'_>, key: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        let s = self.string(cx, key)?;
        let span = self.get(key).map(Spanned::span).unwrap_or_default();
        match s.parse() {
            Ok(t) => Some(t),
            Err(e) => {
                cx.report(span, self.field(key), e.to_string());
                None
            }
        }
    }

    /// An array of strings, each parsed with `FromStr`.
    pub(super) fn list<T: FromStr>(&self, cx: &mut Cx<'_>, key: &str) -> Option<Vec<T>>
    where
        T::Err: fmt::Display,
    {
        let v = self.get(key)?;
        let Some(items) = v.get_ref().as_array() else {
            cx.report(
                v.span(),
                self.field(key),
                format!(
                    "expected an array of strings, found {}",
                    v.get_ref().type_str()
                ),
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let field = format!("{}[{i}]", self.field(key));
            match item.get_ref().as_str() {
                Some(s) => match s.parse::<T>() {
                    Ok(t) => out.push(t),
                    Err(e) => cx.report(item.span(), field, e.to_string()),
                },
                None => cx.report(
                    item.span(),
                    field,
                    format!("expected a string, found {}", item.get_ref().type_str()),
                ),
            }
        }
        Some(out)
    }

    pub(super) fn table(&self, cx: &mut Cx<'_>, key: &str) -> Option<Obj<'a, 'i>> {
        let v = self.get(key)?;
        match v.get_ref().as_table() {
            Some(map) => Some(Obj {
                map,
                path: self.field(key),
                span: v.span(),
            }),
            None => {
                cx.report(
                    v.span(),
                    self.field(key),
                    format!("expected a table, found {}", v.get_ref().type_str()),
                );
                None
            }
        }
    }

    /// An array of tables (`[[key]]` or `key = [{...}]`).
    pub(super) fn tables(&self, cx: &mut Cx<'_>, key: &str) -> Vec<Obj<'a, 'i>> {
        let Some(v) = self.get(key) else {
            return Vec::new();
        };
        let Some(items) = v.get_ref().as_array() else {
            cx.report(
                v.span(),
                self.field(key),
                format!(
                    "expected an array of tables, found {}",
                    v.get_ref().type_str()
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{i}]", self.field(key));
            match item.get_ref().as_table() {
                Some(map) => out.push(Obj {
                    map,
                    path,
                    span: item.span(),
                }),
                None => cx.report(
                    item.span(),
                    path,
                    format!("expected a table, found {}", item.get_ref().type_str()),
                ),
            }
        }
        out
    }
}

pub(super) fn is_id(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A header name, or a list of names: the first is the one sent, the others aliases it
/// is also read under (`remaining = ["X-Rate-Limit-Remaining", "X-RateLimit-Remaining"]`).
pub(super) fn header_names(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str) -> Option<Header> {
    let Some(DeValue::Array(_)) = t.get(key).map(|v| v.get_ref()) else {
        return t.parsed(cx, key);
    };
    let mut names = t.list::<Header>(cx, key)?.into_iter();
    let Some(first) = names.next() else {
        cx.report(
            t.get(key).map(Spanned::span).unwrap_or(t.span.clone()),
            t.field(key),
            "an empty list names no header",
        );
        return None;
    };
    Some(first.with_aliases(names.collect()))
}

/// A method name as a contract writes it: an upper-case token.
pub(super) struct MethodName(pub(super) Method);

/// The methods a contract may name: those of RFC 9110 and PATCH (RFC 5789).
pub(super) const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

impl FromStr for MethodName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if METHODS.contains(&s) {
            if let Ok(m) = Method::from_bytes(s.as_bytes()) {
                return Ok(MethodName(m));
            }
        }
        let upper = s.to_ascii_uppercase();
        let hint = match crate::suggest::closest(&upper, METHODS.iter().copied()) {
            Some(m) => format!("; did you mean {m}?"),
            None => format!(" (one of {})", METHODS.join(", ")),
        };
        Err(format!("\"{s}\" is not an HTTP method{hint}"))
    }
}

pub(super) fn methods_in(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str) -> Option<Vec<Method>> {
    t.list::<MethodName>(cx, key)
        .map(|v| v.into_iter().map(|m| m.0).collect())
}

/// A status that refuses a request: a client or server error (400 to 599).
pub(super) fn refusal_in(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str, default: u16) -> u16 {
    t.integer(cx, key, 400..600)
        .map_or(default, |(n, _)| n as u16)
}

/// A status that answers a request that worked (200 to 299).
pub(super) fn success_in(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str, default: u16) -> u16 {
    t.integer(cx, key, 200..300)
        .map_or(default, |(n, _)| n as u16)
}

/// A status that refuses a request for what it carries (400 to 499).
pub(super) fn client_error_in(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str, default: u16) -> u16 {
    t.integer(cx, key, 400..500)
        .map_or(default, |(n, _)| n as u16)
}

/// A TOML value as JSON (datetimes become strings).
pub(super) fn to_json(v: &DeValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match v {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => {
            i64::from_str_radix(i.as_str(), i.radix()).map_or(Value::Null, Value::from)
        }
        DeValue::Float(f) => f
            .as_str()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(a) => Value::Array(a.iter().map(|x| to_json(x.get_ref())).collect()),
        DeValue::Table(t) => Value::Object(
            t.iter()
                .map(|(k, x)| (k.get_ref().to_string(), to_json(x.get_ref())))
                .collect(),
        ),
    }
}
