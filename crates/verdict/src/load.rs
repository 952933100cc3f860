//! Reading contract files: TOML with spans, checked field by field, every problem
//! collected with its line, column and field path, then resolved against a base contract.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use http::Method;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::emulate::{EmulatorAnswer, EmulatorSpec, ErrorCode, Quota, ResourceSpec};
use crate::model::Condition;
use crate::model::{
    Action, Api, AppCode, Auth, AuthScheme, Contract, ErrorBody, Header, Headers,
    IdempotencyAnswer, IdempotencyRules, Message, MethodOverride, RateLimitHeaders, RedirectPolicy,
    RetryPolicy, Shrink, Source, StatusEntry, Variant,
};
use crate::names::{
    ActionKind, Category, Jitter, MissingLocation, Origin, Outcome, RedirectMethod, SchemeKind,
};
use crate::names::{IdStyle, QuotaFields, UnknownFields};
use crate::pointer::JsonPointer;

mod resource;

type Span = Range<usize>;

/// One thing wrong in a contract file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The field's path, e.g. `status[3].action` (empty for a syntax error).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Everything wrong with one contract file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    /// The file's name or path.
    pub origin: String,
    /// Every problem found, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: ", self.origin, p.line, p.column)?;
            if !p.field.is_empty() {
                write!(f, "{}: ", p.field)?;
            }
            f.write_str(&p.message)?;
        }
        Ok(())
    }
}

/// Problems in one or more contract files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<LoadError>);

impl LoadErrors {
    /// How many problems in all.
    pub fn count(&self) -> usize {
        self.0.iter().map(|e| e.problems.len()).sum()
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects problems while a file is read.
struct Cx<'s> {
    src: &'s str,
    origin: String,
    found: Vec<(Span, String, String)>,
}

impl<'s> Cx<'s> {
    fn report(&mut self, span: Span, field: impl Into<String>, message: impl Into<String>) {
        self.found.push((span, field.into(), message.into()));
    }

    fn finish(self) -> LoadError {
        let mut found = self.found;
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

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = src.get(..offset).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

type Value<'i> = Spanned<DeValue<'i>>;

/// A table being read, with the path that names it in messages.
struct Obj<'a, 'i> {
    map: &'a DeTable<'i>,
    path: String,
    span: Span,
}

impl<'a, 'i> Obj<'a, 'i> {
    fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.map.get(key)
    }

    fn check_keys(&self, cx: &mut Cx<'_>, allowed: &[&str]) {
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

    fn string(&self, cx: &mut Cx<'_>, key: &str) -> Option<String> {
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

    fn required_string(&self, cx: &mut Cx<'_>, key: &str) -> Option<String> {
        let s = self.string(cx, key);
        if self.get(key).is_none() {
            cx.report(self.span.clone(), self.field(key), "is required");
        }
        s
    }

    fn integer(&self, cx: &mut Cx<'_>, key: &str, range: Range<i64>) -> Option<(i64, Span)> {
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

    fn float(&self, cx: &mut Cx<'_>, key: &str) -> Option<(f64, Span)> {
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

    fn boolean(&self, cx: &mut Cx<'_>, key: &str) -> Option<bool> {
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
    fn parsed<T: FromStr>(&self, cx: &mut Cx<'_>, key: &str) -> Option<T>
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
    fn list<T: FromStr>(&self, cx: &mut Cx<'_>, key: &str) -> Option<Vec<T>>
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

    fn table(&self, cx: &mut Cx<'_>, key: &str) -> Option<Obj<'a, 'i>> {
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
    fn tables(&self, cx: &mut Cx<'_>, key: &str) -> Vec<Obj<'a, 'i>> {
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

/// A contract file as written: what it sets, before inheritance.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub origin: String,
    pub src: String,
    pub id: String,
    pub id_span: Span,
    pub name: String,
    pub extends: Option<(String, Span)>,
    base_url: Option<String>,
    summary: Option<String>,
    source: Option<Source>,
    auth: Option<Auth>,
    retry: PartialRetry,
    redirects: PartialRedirects,
    headers: PartialHeaders,
    rate_limit: Option<RateLimitHeaders>,
    error_body: Option<ErrorBody>,
    idempotency: PartialIdempotency,
    statuses: Vec<PartialStatus>,
    /// Class rules (`[[class]]`), their code the class's first status (500 for `5xx`).
    classes: Vec<PartialStatus>,
    apis: Vec<Api>,
    emulator: Option<EmulatorSpec>,
    /// Problems found while reading; resolution adds its own and reports them together.
    found: Vec<(Span, String, String)>,
}

impl Document {
    /// Whether reading found problems.
    pub fn has_problems(&self) -> bool {
        !self.found.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
struct PartialRetry {
    max_retries: Option<u32>,
    base: Option<Duration>,
    factor: Option<f64>,
    cap: Option<Duration>,
    jitter: Option<Jitter>,
    methods: Option<Vec<Method>>,
    idempotency_header: Option<Header>,
    /// Set in the file (the inner `None`: written as "" to turn the baseline's off).
    should_retry_header: Option<Option<Header>>,
}

#[derive(Debug, Clone, Default)]
struct PartialRedirects {
    max_hops: Option<u32>,
    missing_location: Option<MissingLocation>,
}

/// The `[idempotency]` table as written.
#[derive(Debug, Clone, Default)]
struct PartialIdempotency {
    methods: Option<Vec<Method>>,
    expires: Option<Duration>,
    client_keys: Option<bool>,
    reused: PartialAnswer,
    in_flight: PartialAnswer,
}

/// One refusal of `[idempotency]` as written.
#[derive(Debug, Clone, Default)]
struct PartialAnswer {
    status: Option<(u16, Span)>,
    message: Option<String>,
    origin: Option<Origin>,
    path: String,
}

#[derive(Debug, Clone, Default)]
struct PartialHeaders {
    retry_after: Option<Header>,
    tracking_id: Option<Header>,
}

/// The action-related fields of a status, an override or an application code.
#[derive(Debug, Clone, Default)]
struct PartialAction {
    kind: Option<ActionKind>,
    floor: Option<Duration>,
    floor_over_header: Option<bool>,
    redirect: Option<RedirectMethod>,
    permanent: Option<bool>,
    span: Span,
    path: String,
}

#[derive(Debug, Clone)]
struct PartialOverride {
    method: Method,
    action: PartialAction,
    category: Option<Category>,
    meaning: Option<String>,
    rule: Option<String>,
}

#[derive(Debug, Clone)]
struct PartialStatus {
    code: u16,
    span: Span,
    path: String,
    title: Option<String>,
    meaning: Option<String>,
    category: Option<Category>,
    action: PartialAction,
    replay_safe: Option<bool>,
    headers: Option<Vec<Header>>,
    rule: Option<String>,
    origin: Option<Origin>,
    overrides: Vec<PartialOverride>,
    variants: Vec<PartialVariant>,
    shrink: Option<Shrink>,
}

#[derive(Debug, Clone)]
struct PartialVariant {
    when: Condition,
    meaning: Option<String>,
    category: Option<Category>,
    action: PartialAction,
    rule: Option<String>,
}

const TOP_KEYS: &[&str] = &[
    "contract",
    "class",
    "auth",
    "retry",
    "redirects",
    "headers",
    "rate_limit",
    "error_body",
    "idempotency",
    "status",
    "api",
    "emulator",
];
const ACTION_KEYS: &[&str] = &[
    "action",
    "wait_floor_s",
    "wait_floor_over_header",
    "redirect",
    "permanent",
];

/// Parses and checks one contract file, without resolving what it extends. Only invalid
/// TOML is an error here; other problems travel in the document to [`resolve`].
pub(crate) fn parse(origin: &str, src: &str) -> Result<Document, LoadError> {
    let mut cx = Cx {
        src,
        origin: origin.to_owned(),
        found: Vec::new(),
    };
    let (root, errors) = DeTable::parse_recoverable(src);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            cx.report(
                span,
                "",
                format!("invalid TOML: {}", e.message().trim_end()),
            );
        }
        return Err(cx.finish());
    }
    let top = Obj {
        map: root.get_ref(),
        path: String::new(),
        span: root.span(),
    };
    top.check_keys(&mut cx, TOP_KEYS);

    let (mut id, mut id_span, mut name, mut extends) = (String::new(), 0..0, String::new(), None);
    let (mut base_url, mut summary, mut source) = (None, None, None);
    match top.table(&mut cx, "contract") {
        Some(c) => {
            c.check_keys(
                &mut cx,
                &["id", "name", "extends", "base_url", "summary", "source"],
            );
            if let Some(v) = c.required_string(&mut cx, "id") {
                id_span = c.get("id").map(Spanned::span).unwrap_or_default();
                if !is_id(&v) {
                    cx.report(id_span.clone(), "contract.id", format!("\"{v}\" is not a valid id (lowercase letters, digits and '-', starting with a letter)"));
                }
                id = v;
            }
            name = c.required_string(&mut cx, "name").unwrap_or_default();
            if let Some(e) = c.string(&mut cx, "extends") {
                extends = Some((e, c.get("extends").map(Spanned::span).unwrap_or_default()));
            }
            base_url = c.string(&mut cx, "base_url");
            summary = c.string(&mut cx, "summary");
            if let Some(s) = c.table(&mut cx, "source") {
                s.check_keys(&mut cx, &["document", "title"]);
                if let Some(document) = s.required_string(&mut cx, "document") {
                    source = Some(Source {
                        document,
                        title: s.string(&mut cx, "title"),
                    });
                }
            }
        }
        None => cx.report(0..0, "contract", "the [contract] table is required"),
    }

    let auth = top
        .table(&mut cx, "auth")
        .and_then(|t| read_auth(&mut cx, &t));
    let retry = top
        .table(&mut cx, "retry")
        .map(|t| read_retry(&mut cx, &t))
        .unwrap_or_default();
    let redirects = top
        .table(&mut cx, "redirects")
        .map(|t| {
            t.check_keys(&mut cx, &["max_hops", "missing_location"]);
            PartialRedirects {
                max_hops: t.integer(&mut cx, "max_hops", 1..51).map(|(n, _)| n as u32),
                missing_location: t.parsed(&mut cx, "missing_location"),
            }
        })
        .unwrap_or_default();
    let headers = top
        .table(&mut cx, "headers")
        .map(|t| {
            t.check_keys(&mut cx, &["retry_after", "tracking_id"]);
            PartialHeaders {
                retry_after: header_names(&mut cx, &t, "retry_after"),
                tracking_id: header_names(&mut cx, &t, "tracking_id"),
            }
        })
        .unwrap_or_default();
    let rate_limit = top
        .table(&mut cx, "rate_limit")
        .map(|t| read_rate_limit(&mut cx, &t));
    let error_body = top
        .table(&mut cx, "error_body")
        .map(|t| read_error_body(&mut cx, &t));
    let idempotency = top
        .table(&mut cx, "idempotency")
        .map(|t| read_idempotency(&mut cx, &t))
        .unwrap_or_default();

    let mut statuses = Vec::new();
    let mut seen: HashMap<u16, ()> = HashMap::new();
    for t in top.tables(&mut cx, "status") {
        if let Some(s) = read_status(&mut cx, &t) {
            if seen.insert(s.code, ()).is_some() {
                cx.report(
                    t.get("code").map(Spanned::span).unwrap_or(t.span.clone()),
                    t.field("code"),
                    format!("status {} is listed twice", s.code),
                );
            } else {
                statuses.push(s);
            }
        }
    }
    statuses.sort_by_key(|s| s.code);
    let mut classes: Vec<PartialStatus> = Vec::new();
    for t in top.tables(&mut cx, "class") {
        if let Some(c) = read_class(&mut cx, &t) {
            if classes.iter().any(|o| o.code == c.code) {
                cx.report(
                    t.get("class").map(Spanned::span).unwrap_or(t.span.clone()),
                    t.field("class"),
                    format!("class {}xx is listed twice", c.code / 100),
                );
            } else {
                classes.push(c);
            }
        }
    }
    classes.sort_by_key(|c| c.code);

    let mut apis: Vec<Api> = Vec::new();
    for t in top.tables(&mut cx, "api") {
        if let Some(api) = read_api(&mut cx, &t) {
            if apis.iter().any(|a| a.id == api.id) {
                cx.report(
                    t.span.clone(),
                    t.field("id"),
                    format!("api \"{}\" is listed twice", api.id),
                );
            } else {
                apis.push(api);
            }
        }
    }

    let emulator = top
        .table(&mut cx, "emulator")
        .map(|t| read_emulator(&mut cx, &t));

    Ok(Document {
        origin: origin.to_owned(),
        src: src.to_owned(),
        id,
        id_span,
        name,
        extends,
        base_url,
        summary,
        source,
        auth,
        retry,
        redirects,
        headers,
        rate_limit,
        error_body,
        idempotency,
        statuses,
        classes,
        apis,
        emulator,
        found: cx.found,
    })
}

fn is_id(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn read_auth(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<Auth> {
    t.check_keys(
        cx,
        &["scheme", "header", "token_path", "credential_headers"],
    );
    let kind: SchemeKind = t.parsed(cx, "scheme")?;
    let header: Option<Header> = t.parsed(cx, "header");
    let token_path = t.string(cx, "token_path");
    if header.is_some() && kind != SchemeKind::ApiKey {
        cx.report(
            t.span.clone(),
            t.field("header"),
            "only the api-key scheme takes a header",
        );
    }
    if token_path.is_some() && kind != SchemeKind::Oauth2 {
        cx.report(
            t.span.clone(),
            t.field("token_path"),
            "only the oauth2 scheme takes a token_path",
        );
    }
    let scheme = match kind {
        SchemeKind::None => AuthScheme::None,
        SchemeKind::Bearer => AuthScheme::Bearer,
        SchemeKind::Basic => AuthScheme::Basic,
        SchemeKind::Oauth2 => AuthScheme::Oauth2 { token_path },
        SchemeKind::ApiKey => match header {
            Some(header) => AuthScheme::ApiKey { header },
            None => {
                cx.report(
                    t.span.clone(),
                    t.field("header"),
                    "the api-key scheme needs the header that carries the key",
                );
                return None;
            }
        },
    };
    let credential_headers = t.list(cx, "credential_headers").unwrap_or_else(|| {
        let mut v: Vec<Header> = Vec::new();
        if scheme != AuthScheme::None {
            v.push("Authorization".parse().expect("valid header name"));
        }
        if let AuthScheme::ApiKey { header } = &scheme {
            v.push(header.clone());
        }
        v
    });
    Some(Auth {
        scheme,
        credential_headers,
    })
}

/// A header name, or a list of names: the first is the one sent, the others aliases it
/// is also read under (`remaining = ["X-Rate-Limit-Remaining", "X-RateLimit-Remaining"]`).
fn header_names(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str) -> Option<Header> {
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

fn read_rate_limit(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> RateLimitHeaders {
    t.check_keys(
        cx,
        &[
            "limit",
            "remaining",
            "reset",
            "reset_format",
            "window",
            "group",
            "fields",
        ],
    );
    let names = RateLimitHeaders {
        limit: header_names(cx, t, "limit"),
        remaining: header_names(cx, t, "remaining"),
        reset: header_names(cx, t, "reset"),
        reset_format: t.parsed(cx, "reset_format").unwrap_or_default(),
        window: header_names(cx, t, "window"),
        group: header_names(cx, t, "group"),
        fields: t.parsed(cx, "fields").unwrap_or_default(),
    };
    let named = [&names.limit, &names.remaining, &names.reset, &names.window]
        .iter()
        .any(|h| h.is_some());
    if names.fields == QuotaFields::Both && !named {
        cx.report(
            t.get("fields").map(Spanned::span).unwrap_or(t.span.clone()),
            t.field("fields"),
            "\"both\" sends the headers named here beside the draft's fields, but this table names none (use \"ietf-draft\", or name limit, remaining or reset)",
        );
    }
    names
}

fn read_retry(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> PartialRetry {
    t.check_keys(
        cx,
        &[
            "max_retries",
            "base_ms",
            "factor",
            "cap_ms",
            "jitter",
            "methods",
            "idempotency_header",
            "should_retry_header",
        ],
    );
    let base = t.integer(cx, "base_ms", 0..3_600_001);
    let cap = t.integer(cx, "cap_ms", 0..86_400_001);
    if let (Some((b, span)), Some((c, _))) = (&base, &cap) {
        if b > c {
            cx.report(
                span.clone(),
                t.field("base_ms"),
                format!("base_ms ({b}) is larger than cap_ms ({c})"),
            );
        }
    }
    let factor = t.float(cx, "factor").and_then(|(f, span)| {
        if (1.0..=16.0).contains(&f) {
            Some(f)
        } else {
            cx.report(
                span,
                t.field("factor"),
                format!("{f} is out of range (1 to 16)"),
            );
            None
        }
    });
    PartialRetry {
        max_retries: t.integer(cx, "max_retries", 0..101).map(|(n, _)| n as u32),
        base: base.map(|(n, _)| Duration::from_millis(n as u64)),
        factor,
        cap: cap.map(|(n, _)| Duration::from_millis(n as u64)),
        jitter: t.parsed(cx, "jitter"),
        methods: t
            .list::<MethodName>(cx, "methods")
            .map(|v| v.into_iter().map(|m| m.0).collect()),
        idempotency_header: t.parsed(cx, "idempotency_header"),
        should_retry_header: match t.string(cx, "should_retry_header") {
            Some(s) if s.is_empty() => Some(None),
            Some(_) => t.parsed(cx, "should_retry_header").map(Some),
            None => None,
        },
    }
}

/// A method name as a contract writes it: an upper-case token.
struct MethodName(Method);

/// The methods a contract may name: those of RFC 9110 and PATCH (RFC 5789).
const METHODS: &[&str] = &[
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

fn read_error_body(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> ErrorBody {
    t.check_keys(
        cx,
        &[
            "message",
            "code",
            "fields",
            "tracking_id",
            "format",
            "type_base",
        ],
    );
    let mut body = ErrorBody {
        message: t.parsed::<JsonPointer>(cx, "message"),
        code: t.parsed(cx, "code"),
        fields: t.parsed(cx, "fields"),
        tracking_id: t.parsed(cx, "tracking_id"),
        format: t.parsed(cx, "format").unwrap_or_default(),
        type_base: t.string(cx, "type_base"),
    };
    let span_of = |key: &str| t.get(key).map(Spanned::span).unwrap_or(t.span.clone());
    if let Some(base) = &body.type_base {
        if !body.is_problem() {
            cx.report(
                span_of("type_base"),
                t.field("type_base"),
                "only format = \"problem\" takes a type_base",
            );
        } else if url::Url::parse(base).is_err() {
            cx.report(
                span_of("type_base"),
                t.field("type_base"),
                format!(
                    "\"{base}\" is not an absolute URI (e.g. https://api.example.com/problems/)"
                ),
            );
        }
    }
    if body.is_problem() {
        // The message of a problem is its `detail`; the other parts are extension members.
        match &body.message {
            Some(p) if p.as_str() != "/detail" => cx.report(
                span_of("message"),
                t.field("message"),
                format!("a problem carries its message in /detail, not {p}; leave message out"),
            ),
            Some(_) => {}
            None => body.message = Some("/detail".parse().expect("a valid pointer")),
        }
        let members = [
            ("code", &body.code, "/code"),
            ("fields", &body.fields, "/errors"),
            ("tracking_id", &body.tracking_id, "/trackingId"),
        ];
        for (key, pointer, example) in members {
            let Some(p) = pointer else { continue };
            let first = p.as_str().split('/').nth(1);
            let clash = match first {
                None => Some("the whole body".to_owned()),
                Some(m) if crate::problem::STANDARD_MEMBERS.contains(&m) => {
                    Some(format!("the standard member \"{m}\""))
                }
                Some(_) => None,
            };
            if let Some(what) = clash {
                cx.report(
                    span_of(key),
                    t.field(key),
                    format!(
                        "{p} is {what} of a problem; use an extension member such as {example}"
                    ),
                );
            }
        }
        if body.fields.is_none() {
            body.fields = Some("/errors".parse().expect("a valid pointer"));
        }
    }
    body
}

fn read_idempotency(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> PartialIdempotency {
    t.check_keys(
        cx,
        &["methods", "reused", "in_flight", "expires_s", "client_keys"],
    );
    let mut answer = |key: &str| -> PartialAnswer {
        let Some(a) = t.table(cx, key) else {
            return PartialAnswer::default();
        };
        a.check_keys(cx, &["status", "message", "origin"]);
        let message = a.string(cx, "message");
        if message.as_deref().is_some_and(|m| m.trim().is_empty()) {
            cx.report(
                a.get("message").map(Spanned::span).unwrap_or_default(),
                a.field("message"),
                "must not be empty",
            );
        }
        PartialAnswer {
            status: a
                .integer(cx, "status", 400..500)
                .map(|(n, span)| (n as u16, span)),
            message,
            origin: a.parsed(cx, "origin"),
            path: a.path.clone(),
        }
    };
    let reused = answer("reused");
    let in_flight = answer("in_flight");
    PartialIdempotency {
        methods: methods_in(cx, t, "methods"),
        expires: t
            .integer(cx, "expires_s", 1..31_536_001)
            .map(|(n, _)| Duration::from_secs(n as u64)),
        client_keys: t.boolean(cx, "client_keys"),
        reused,
        in_flight,
    }
}

fn read_action(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> PartialAction {
    PartialAction {
        kind: t.parsed(cx, "action"),
        floor: t
            .integer(cx, "wait_floor_s", 0..86_401)
            .map(|(n, _)| Duration::from_secs(n as u64)),
        floor_over_header: t.boolean(cx, "wait_floor_over_header"),
        redirect: t.parsed(cx, "redirect"),
        permanent: t.boolean(cx, "permanent"),
        span: t.get("action").map(Spanned::span).unwrap_or(t.span.clone()),
        path: t.path.clone(),
    }
}

impl PartialAction {
    fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.floor.is_none()
            && self.floor_over_header.is_none()
            && self.redirect.is_none()
            && self.permanent.is_none()
    }

    /// Combines these fields with an inherited action into a complete one.
    fn resolve(
        &self,
        base: Option<Action>,
        problems: &mut Vec<(Span, String, String)>,
    ) -> Option<Action> {
        let field = |k: &str| format!("{}.{k}", self.path);
        let Some(kind) = self.kind.or(base.map(|a| a.kind())) else {
            problems.push((
                self.span.clone(),
                field("action"),
                "is required (there is no base entry to inherit it from)".into(),
            ));
            return None;
        };
        let inherited = base.filter(|b| b.kind() == kind);
        if (self.floor.is_some() || self.floor_over_header.is_some())
            && kind != ActionKind::RetryAfter
        {
            problems.push((
                self.span.clone(),
                field("wait_floor_s"),
                format!(
                    "only a retry-after action takes wait_floor_s and wait_floor_over_header, not {kind}"
                ),
            ));
        }
        if (self.redirect.is_some() || self.permanent.is_some()) && kind != ActionKind::Redirect {
            problems.push((
                self.span.clone(),
                field("redirect"),
                format!("only a redirect action takes redirect and permanent, not {kind}"),
            ));
        }
        Some(match kind {
            ActionKind::Done => Action::Done,
            ActionKind::Fail => Action::Fail,
            ActionKind::Retry => Action::Retry,
            ActionKind::RefreshAuth => Action::RefreshAuth,
            ActionKind::UseCached => Action::UseCached,
            ActionKind::Poll => Action::Poll,
            ActionKind::SplitBatch => Action::SplitBatch,
            ActionKind::RetryAfter => {
                let (floor, over) = match inherited {
                    Some(Action::RetryAfter {
                        floor,
                        floor_over_header,
                    }) => (floor, floor_over_header),
                    _ => (Duration::ZERO, false),
                };
                Action::RetryAfter {
                    floor: self.floor.unwrap_or(floor),
                    floor_over_header: self.floor_over_header.unwrap_or(over),
                }
            }
            ActionKind::Redirect => {
                let (base_method, base_permanent) = match inherited {
                    Some(Action::Redirect { method, permanent }) => (Some(method), permanent),
                    _ => (None, false),
                };
                let Some(method) = self.redirect.or(base_method) else {
                    problems.push((
                        self.span.clone(),
                        field("redirect"),
                        "a redirect action needs redirect = \"get\" or \"same\"".into(),
                    ));
                    return None;
                };
                Action::Redirect {
                    method,
                    permanent: self.permanent.unwrap_or(base_permanent),
                }
            }
        })
    }
}

/// The keys of a `[[status]]` or `[[class]]` entry besides `code` or `class`.
const ENTRY_KEYS: &[&str] = &[
    "title",
    "meaning",
    "category",
    "replay_safe",
    "headers",
    "rule",
    "origin",
    "override",
    "variant",
    "shrink",
];

fn read_status(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<PartialStatus> {
    let mut keys = vec!["code"];
    keys.extend_from_slice(ENTRY_KEYS);
    keys.extend_from_slice(ACTION_KEYS);
    t.check_keys(cx, &keys);
    let code = match t.get("code") {
        Some(v) => match v
            .get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok())
        {
            Some(n) if (100..=599).contains(&n) => Some(n as u16),
            Some(n) => {
                cx.report(
                    v.span(),
                    t.field("code"),
                    format!("{n} is not an HTTP status (100 to 599)"),
                );
                None
            }
            None => {
                cx.report(
                    v.span(),
                    t.field("code"),
                    format!("expected an integer, found {}", v.get_ref().type_str()),
                );
                None
            }
        },
        None => {
            cx.report(t.span.clone(), t.field("code"), "is required");
            None
        }
    };
    let status = read_entry(cx, t, code.unwrap_or(0));
    code.map(|_| status)
}

/// A `[[class]]` entry: the rule for every status of a class (`class = "5xx"`) that the
/// contract does not list on its own.
fn read_class(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<PartialStatus> {
    let mut keys = vec!["class"];
    keys.extend(ENTRY_KEYS.iter().filter(|k| **k != "title"));
    keys.extend_from_slice(ACTION_KEYS);
    t.check_keys(cx, &keys);
    let class = t.required_string(cx, "class")?;
    let code = match class.as_bytes() {
        [d @ b'1'..=b'5', b'x', b'x'] => u16::from(d - b'0') * 100,
        _ => {
            cx.report(
                t.get("class").map(Spanned::span).unwrap_or(t.span.clone()),
                t.field("class"),
                format!("\"{class}\" is not a status class; write 1xx, 2xx, 3xx, 4xx or 5xx"),
            );
            return None;
        }
    };
    Some(read_entry(cx, t, code))
}

/// The fields of a status or class entry.
fn read_entry(cx: &mut Cx<'_>, t: &Obj<'_, '_>, code: u16) -> PartialStatus {
    let mut overrides: Vec<PartialOverride> = Vec::new();
    for o in t.tables(cx, "override") {
        let mut keys = vec!["method", "category", "meaning", "rule"];
        keys.extend_from_slice(ACTION_KEYS);
        o.check_keys(cx, &keys);
        let method = o.parsed::<MethodName>(cx, "method");
        if o.get("method").is_none() {
            cx.report(o.span.clone(), o.field("method"), "is required");
        }
        let entry = (
            method,
            read_action(cx, &o),
            o.parsed(cx, "category"),
            o.string(cx, "meaning"),
            o.string(cx, "rule"),
        );
        if let (Some(MethodName(method)), action, category, meaning, rule) = entry {
            if overrides.iter().any(|p| p.method == method) {
                cx.report(
                    o.span.clone(),
                    o.field("method"),
                    format!("a second override for {method}"),
                );
            }
            overrides.push(PartialOverride {
                method,
                action,
                category,
                meaning,
                rule,
            });
        }
    }
    PartialStatus {
        code,
        span: t.span.clone(),
        path: t.path.clone(),
        title: t.string(cx, "title"),
        meaning: t.string(cx, "meaning"),
        category: t.parsed(cx, "category"),
        action: read_action(cx, t),
        replay_safe: t.boolean(cx, "replay_safe"),
        headers: t.list(cx, "headers"),
        rule: t.string(cx, "rule"),
        origin: t.parsed(cx, "origin"),
        overrides,
        variants: t
            .tables(cx, "variant")
            .iter()
            .filter_map(|v| read_variant(cx, v))
            .collect(),
        shrink: t.table(cx, "shrink").and_then(|s| read_shrink(cx, &s)),
    }
}

/// `shrink = { param = "max", floor = 10 }`.
fn read_shrink(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<Shrink> {
    t.check_keys(cx, &["param", "floor"]);
    let param = t.required_string(cx, "param")?;
    let floor = t
        .integer(cx, "floor", 1..1_000_001)
        .map_or(1, |(n, _)| n as u32);
    Some(Shrink { param, floor })
}

/// A `[[status.variant]]`: a condition and what it changes.
fn read_variant(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<PartialVariant> {
    let mut keys = vec!["when", "meaning", "category", "rule"];
    keys.extend_from_slice(ACTION_KEYS);
    t.check_keys(cx, &keys);
    let when = read_condition(cx, t)?;
    Some(PartialVariant {
        when,
        meaning: t.string(cx, "meaning"),
        category: t.parsed(cx, "category"),
        action: read_action(cx, t),
        rule: t.string(cx, "rule"),
    })
}

/// `when = { header = "…" }`, `{ header = "…", equals = "…" }` or
/// `{ pointer = "/…", equals = "…" }`.
fn read_condition(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<Condition> {
    let Some(w) = t.table(cx, "when") else {
        cx.report(t.span.clone(), t.field("when"), "is required");
        return None;
    };
    w.check_keys(cx, &["header", "pointer", "equals"]);
    let equals = w.string(cx, "equals");
    let header: Option<Header> = w.parsed(cx, "header");
    let pointer: Option<JsonPointer> = w.parsed(cx, "pointer");
    match (header, pointer, equals) {
        (Some(h), None, None) => Some(Condition::Header(h)),
        (Some(h), None, Some(v)) => Some(Condition::HeaderEquals(h, v)),
        (None, Some(p), Some(v)) => Some(Condition::Body(p, v)),
        (None, Some(_), None) => {
            cx.report(
                w.span.clone(),
                w.field("equals"),
                "a pointer condition needs the value it equals",
            );
            None
        }
        _ => {
            cx.report(
                w.span.clone(),
                w.path.clone(),
                "a condition names a header (with or without equals) or a pointer with equals",
            );
            None
        }
    }
}

fn read_api(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<Api> {
    t.check_keys(cx, &["id", "name", "summary", "error_body", "code"]);
    let id = t.required_string(cx, "id");
    if let Some(id) = &id {
        if !is_id(id) {
            cx.report(
                t.get("id").map(Spanned::span).unwrap_or_default(),
                t.field("id"),
                format!("\"{id}\" is not a valid id"),
            );
        }
    }
    let name = t.required_string(cx, "name");
    let summary = t.string(cx, "summary");
    let error_body = t.table(cx, "error_body").map(|e| read_error_body(cx, &e));
    let mut codes: Vec<AppCode> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for c in t.tables(cx, "code") {
        if let Some(code) = read_app_code(cx, &c, &mut keys) {
            let repeat = codes.iter().any(|x| x.code == code.code);
            let span = c.get("code").map(Spanned::span).unwrap_or(c.span.clone());
            if repeat && !code.seed_duplicate {
                cx.report(span, c.field("code"), format!("code {} is listed twice; mark the later row seed_duplicate = true if the document repeats it", code.code));
            } else if !repeat && code.seed_duplicate {
                cx.report(
                    span,
                    c.field("seed_duplicate"),
                    format!(
                        "code {} is marked seed_duplicate but no earlier row has this number",
                        code.code
                    ),
                );
            }
            codes.push(code);
        }
    }
    Some(Api {
        id: id?,
        name: name?,
        summary,
        error_body,
        codes,
    })
}

/// One application code; `keys` holds the message keys its API has used so far.
fn read_app_code(cx: &mut Cx<'_>, t: &Obj<'_, '_>, keys: &mut Vec<String>) -> Option<AppCode> {
    let mut fields = vec![
        "code",
        "http_status",
        "outcome",
        "category",
        "meaning",
        "rule",
        "messages",
        "seed_duplicate",
    ];
    fields.extend_from_slice(ACTION_KEYS);
    t.check_keys(cx, &fields);
    let code = t.integer(cx, "code", 0..1_000_000_000);
    let http_status = t.integer(cx, "http_status", 100..600);
    let outcome: Option<Outcome> = t.parsed(cx, "outcome");
    let category: Option<Category> = t.parsed(cx, "category");
    let meaning = t.string(cx, "meaning");
    for key in [
        "code",
        "http_status",
        "outcome",
        "category",
        "meaning",
        "action",
    ] {
        if t.get(key).is_none() {
            cx.report(t.span.clone(), t.field(key), "is required");
        }
    }
    let mut problems = Vec::new();
    let action = read_action(cx, t).resolve(None, &mut problems);
    for (span, field, message) in problems {
        cx.report(span, field, message);
    }
    let mut messages: Vec<Message> = Vec::new();
    for m in t.tables(cx, "messages") {
        m.check_keys(cx, &["text", "when", "key"]);
        let text = m.required_string(cx, "text");
        let when = m.required_string(cx, "when");
        let key = m.string(cx, "key");
        if let Some(k) = &key {
            let span = m.get("key").map(Spanned::span).unwrap_or(m.span.clone());
            if !is_id(k) {
                cx.report(
                    span,
                    m.field("key"),
                    format!("\"{k}\" is not a valid key (lowercase letters, digits and '-', starting with a letter)"),
                );
            } else if keys.contains(k) {
                cx.report(
                    span,
                    m.field("key"),
                    format!("the key \"{k}\" is used by another message of this API"),
                );
            } else {
                keys.push(k.clone());
            }
        }
        if let (Some(text), Some(when)) = (text, when) {
            if text.is_empty() {
                cx.report(m.span.clone(), m.field("text"), "must not be empty");
            } else if messages.iter().any(|x| x.text == text) {
                cx.report(
                    m.span.clone(),
                    m.field("text"),
                    format!("the message \"{text}\" is listed twice for this code"),
                );
            }
            messages.push(Message { text, when, key });
        }
    }
    if t.get("messages").is_some() && messages.is_empty() {
        cx.report(
            t.span.clone(),
            t.field("messages"),
            "needs at least one { text, when }",
        );
    } else if t.get("messages").is_none() {
        cx.report(t.span.clone(), t.field("messages"), "is required");
    }
    Some(AppCode {
        code: code?.0 as u32,
        http_status: http_status?.0 as u16,
        outcome: outcome?,
        category: category?,
        action: action?,
        meaning: meaning?,
        rule: t.string(cx, "rule"),
        messages,
        seed_duplicate: t.boolean(cx, "seed_duplicate").unwrap_or(false),
    })
}

fn methods_in(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str) -> Option<Vec<Method>> {
    t.list::<MethodName>(cx, key)
        .map(|v| v.into_iter().map(|m| m.0).collect())
}

/// A status that refuses a request: a client or server error (400 to 599).
fn refusal_in(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str, default: u16) -> u16 {
    t.integer(cx, key, 400..600)
        .map_or(default, |(n, _)| n as u16)
}

/// A status that answers a request that worked (200 to 299).
fn success_in(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str, default: u16) -> u16 {
    t.integer(cx, key, 200..300)
        .map_or(default, |(n, _)| n as u16)
}

/// A status that refuses a request for what it carries (400 to 499).
fn client_error_in(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str, default: u16) -> u16 {
    t.integer(cx, key, 400..500)
        .map_or(default, |(n, _)| n as u16)
}

fn read_emulator(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> EmulatorSpec {
    t.check_keys(
        cx,
        &[
            "vendor",
            "base_path",
            "id_style",
            "create_status",
            "update_status",
            "delete_status",
            "update_methods",
            "location_on_create",
            "list_key",
            "page_param",
            "page_default",
            "page_limit",
            "page_limit_status",
            "link_pagination",
            "media_types",
            "https_only",
            "quota",
            "store_limit",
            "resource",
            "missing_field_status",
            "unknown_fields",
            "unknown_field_status",
            "idempotency_limit",
            "accept_unmet",
            "content_type_missing",
            "content_type_wrong",
            "rate_limit_group",
            "error_codes",
        ],
    );
    let base_path = t.string(cx, "base_path").unwrap_or_default();
    if !base_path.is_empty() && (!base_path.starts_with('/') || base_path.ends_with('/')) {
        cx.report(
            t.get("base_path").map(Spanned::span).unwrap_or_default(),
            t.field("base_path"),
            "must start with '/' and not end with one (or be empty)",
        );
    }
    let page_default = t
        .integer(cx, "page_default", 1..100_001)
        .map_or(100, |(n, _)| n as u32);
    let page_limit = t
        .integer(cx, "page_limit", 1..1_000_001)
        .map_or(1000, |(n, _)| n as u32);
    if page_default > page_limit {
        cx.report(
            t.span.clone(),
            t.field("page_default"),
            format!("{page_default} is larger than page_limit ({page_limit})"),
        );
    }
    let mut quotas = Vec::new();
    for q in t.tables(cx, "quota") {
        q.check_keys(cx, &["requests", "window_s", "status"]);
        let requests = q
            .integer(cx, "requests", 1..1_000_000_001)
            .map(|(n, _)| n as u32);
        let window_s = q.integer(cx, "window_s", 1..86_401).map(|(n, _)| n as u32);
        let status = refusal_in(cx, &q, "status", 429);
        // A value out of range has been reported where it is written.
        if q.get("requests").is_none() || q.get("window_s").is_none() {
            cx.report(
                q.span.clone(),
                q.path.clone(),
                "a quota needs requests and window_s",
            );
        }
        if let (Some(requests), Some(window_s)) = (requests, window_s) {
            quotas.push(Quota {
                requests,
                window_s,
                status,
            });
        }
    }
    let update_methods =
        methods_in(cx, t, "update_methods").unwrap_or_else(|| vec![Method::PUT, Method::PATCH]);
    let inherited = resource::Inherited {
        update_methods: &update_methods,
        unknown_fields: t
            .parsed(cx, "unknown_fields")
            .unwrap_or(UnknownFields::Ignore),
    };
    let mut resources: Vec<ResourceSpec> = Vec::new();
    for r in t.tables(cx, "resource") {
        if let Some(res) = resource::read_resource(cx, &r, &inherited) {
            if resources
                .iter()
                .any(|x| x.name == res.name || x.path == res.path)
            {
                cx.report(
                    r.span.clone(),
                    r.field("name"),
                    format!("resource \"{}\" ({}) is listed twice", res.name, res.path),
                );
            } else {
                resources.push(res);
            }
        }
    }
    EmulatorSpec {
        vendor: t.parsed(cx, "vendor"),
        base_path,
        id_style: t.parsed(cx, "id_style").unwrap_or(IdStyle::Uuid),
        create_status: success_in(cx, t, "create_status", 201),
        update_status: success_in(cx, t, "update_status", 200),
        delete_status: success_in(cx, t, "delete_status", 204),
        update_methods,
        location_on_create: t.boolean(cx, "location_on_create").unwrap_or(false),
        list_key: t.string(cx, "list_key"),
        page_param: t.string(cx, "page_param"),
        page_default,
        page_limit,
        page_limit_status: refusal_in(cx, t, "page_limit_status", 400),
        link_pagination: t.boolean(cx, "link_pagination").unwrap_or(false),
        media_types: t
            .list::<String>(cx, "media_types")
            .unwrap_or_else(|| vec!["application/json".into()]),
        https_only: t.boolean(cx, "https_only").unwrap_or(false),
        quotas,
        rate_limit_group: t.string(cx, "rate_limit_group"),
        error_codes: read_error_codes(cx, t),
        store_limit: t
            .integer(cx, "store_limit", 1..100_000_001)
            .map_or(100_000, |(n, _)| n as usize),
        missing_field_status: client_error_in(cx, t, "missing_field_status", 400),
        unknown_field_status: client_error_in(cx, t, "unknown_field_status", 400),
        idempotency_limit: t
            .integer(cx, "idempotency_limit", 1..1_000_001)
            .map_or(10_000, |(n, _)| n as usize),
        accept_unmet: emulator_answer(cx, t, "accept_unmet", 406),
        content_type_missing: emulator_answer(cx, t, "content_type_missing", 415),
        content_type_wrong: emulator_answer(cx, t, "content_type_wrong", 415),
        resources,
    }
}

/// `error_codes = { 400 = "CMN-101", 5xx = "CMN-211" }`: a status (400 to 599) or a class
/// (`4xx`, `5xx`) to the vendor's code.
fn read_error_codes(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Vec<ErrorCode> {
    let Some(table) = t.table(cx, "error_codes") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in table.map.iter() {
        let name: &str = key.get_ref();
        let entry = match name {
            "4xx" | "5xx" => Some((u16::from(name.as_bytes()[0] - b'0'), true)),
            n => n
                .parse::<u16>()
                .ok()
                .filter(|s| (400..600).contains(s))
                .map(|s| (s, false)),
        };
        let Some((status, class)) = entry else {
            cx.report(
                key.span(),
                table.field(name),
                "expected an error status (400 to 599) or a class (4xx, 5xx)",
            );
            continue;
        };
        match value.get_ref().as_str() {
            Some(code) if !code.is_empty() => out.push(ErrorCode {
                status,
                class,
                code: code.to_owned(),
            }),
            _ => cx.report(
                value.span(),
                table.field(name),
                "expected the vendor's code as a non-empty string",
            ),
        }
    }
    out
}

/// `key = { status = N, origin = "…" }`: a 4xx status, from the document (`seed`) unless
/// `origin` says otherwise; RFC 9110's `default` when the key is left out.
fn emulator_answer(cx: &mut Cx<'_>, t: &Obj<'_, '_>, key: &str, default: u16) -> EmulatorAnswer {
    let Some(a) = t.table(cx, key) else {
        return EmulatorAnswer::rfc(default);
    };
    a.check_keys(cx, &["status", "origin"]);
    let status = a.integer(cx, "status", 400..500).map(|(n, _)| n as u16);
    if status.is_none() && a.get("status").is_none() {
        cx.report(
            a.span.clone(),
            a.path.clone(),
            "needs a status (400 to 499)",
        );
    }
    EmulatorAnswer {
        status: status.unwrap_or(default),
        origin: a.parsed(cx, "origin").unwrap_or(Origin::Seed),
    }
}

/// The emulator's answers that say they come from the document name statuses the
/// document has.
fn check_emulator_answers(
    spec: &EmulatorSpec,
    statuses: &[StatusEntry],
) -> Vec<(Span, String, String)> {
    let answers = [
        ("accept_unmet", spec.accept_unmet),
        ("content_type_missing", spec.content_type_missing),
        ("content_type_wrong", spec.content_type_wrong),
    ];
    answers
        .into_iter()
        .filter(|(_, a)| a.origin == Origin::Seed)
        .filter(|(_, a)| !statuses.iter().any(|s| s.code == a.status && s.documented))
        .map(|(key, a)| {
            (
                0..0,
                format!("emulator.{key}.status"),
                format!(
                    "status {} is not one the document names; document it, or say origin = \"inferred\"",
                    a.status
                ),
            )
        })
        .collect()
}

/// A TOML value as JSON (datetimes become strings).
fn to_json(v: &DeValue<'_>) -> serde_json::Value {
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

/// Defaults for a contract that extends nothing and leaves a policy out.
fn default_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        base: Duration::from_millis(500),
        factor: 2.0,
        cap: Duration::from_secs(30),
        jitter: Jitter::Full,
        methods: vec![
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::PUT,
            Method::DELETE,
            Method::TRACE,
        ],
        idempotency_header: None,
        should_retry_header: None,
    }
}

/// Idempotency rules for a contract that extends nothing and leaves them out: the draft's.
fn default_idempotency() -> IdempotencyRules {
    IdempotencyRules {
        methods: vec![Method::POST, Method::PATCH],
        reused: IdempotencyAnswer {
            status: 422,
            message: "This idempotency key was already used with a different payload; send a new key for a new request.".into(),
            origin: Origin::Rfc,
        },
        in_flight: IdempotencyAnswer {
            status: 409,
            message: "A request with this idempotency key is still being processed; wait for its answer before sending it again.".into(),
            origin: Origin::Rfc,
        },
        expires: Duration::from_secs(86_400),
        client_keys: false,
    }
}

impl PartialAnswer {
    /// These fields over the inherited answer; a status set here without an origin is
    /// the document's own rule.
    fn resolve(&self, base: &IdempotencyAnswer) -> IdempotencyAnswer {
        IdempotencyAnswer {
            status: self.status.as_ref().map_or(base.status, |(n, _)| *n),
            message: self.message.clone().unwrap_or_else(|| base.message.clone()),
            origin: self.origin.unwrap_or(match self.status {
                Some(_) => Origin::Seed,
                None => base.origin,
            }),
        }
    }
}

/// Applies a document over its base (if any) and returns the complete contract.
pub(crate) fn resolve(doc: &Document, base: Option<&Contract>) -> Result<Contract, LoadError> {
    let mut found = doc.found.clone();
    let fallback = default_retry();
    let b_retry = base.map_or(&fallback, |b| &b.retry);
    let retry = RetryPolicy {
        max_retries: doc.retry.max_retries.unwrap_or(b_retry.max_retries),
        base: doc.retry.base.unwrap_or(b_retry.base),
        factor: doc.retry.factor.unwrap_or(b_retry.factor),
        cap: doc.retry.cap.unwrap_or(b_retry.cap),
        jitter: doc.retry.jitter.unwrap_or(b_retry.jitter),
        methods: doc
            .retry
            .methods
            .clone()
            .unwrap_or_else(|| b_retry.methods.clone()),
        idempotency_header: doc
            .retry
            .idempotency_header
            .clone()
            .or_else(|| b_retry.idempotency_header.clone()),
        should_retry_header: match &doc.retry.should_retry_header {
            Some(set) => set.clone(),
            None => b_retry.should_retry_header.clone(),
        },
    };
    if retry.base > retry.cap {
        found.push((
            0..0,
            "retry".into(),
            format!(
                "base_ms ({} ms) is larger than cap_ms ({} ms) once inherited values are applied",
                retry.base.as_millis(),
                retry.cap.as_millis()
            ),
        ));
    }
    let redirects = RedirectPolicy {
        max_hops: doc
            .redirects
            .max_hops
            .or(base.map(|b| b.redirects.max_hops))
            .unwrap_or(10),
        missing_location: doc
            .redirects
            .missing_location
            .or(base.map(|b| b.redirects.missing_location))
            .unwrap_or(MissingLocation::Fail),
    };
    let headers = Headers {
        retry_after: doc
            .headers
            .retry_after
            .clone()
            .or_else(|| base.map(|b| b.headers.retry_after.clone()))
            .unwrap_or_else(|| "Retry-After".parse().expect("valid header name")),
        tracking_id: doc
            .headers
            .tracking_id
            .clone()
            .or_else(|| base.and_then(|b| b.headers.tracking_id.clone())),
    };
    let auth = doc
        .auth
        .clone()
        .or_else(|| base.map(|b| b.auth.clone()))
        .unwrap_or(Auth {
            scheme: AuthScheme::None,
            credential_headers: Vec::new(),
        });
    let rate_limit = doc
        .rate_limit
        .clone()
        .or_else(|| base.map(|b| b.rate_limit.clone()))
        .unwrap_or_default();
    let mut error_body = doc
        .error_body
        .clone()
        .or_else(|| base.map(|b| b.error_body.clone()))
        .unwrap_or_default();
    // A problem carries the tracking id of a contract that has one as an extension member.
    let tracked = |body: &mut ErrorBody| {
        if body.is_problem() && body.tracking_id.is_none() && headers.tracking_id.is_some() {
            body.tracking_id = Some("/trackingId".parse().expect("a valid pointer"));
        }
    };
    tracked(&mut error_body);
    let mut own_apis = doc.apis.clone();
    for api in &mut own_apis {
        if let Some(body) = &mut api.error_body {
            tracked(body);
        }
    }
    // The base's APIs are inherited; an API of the same id replaces the base's.
    let mut apis: Vec<Api> = base
        .map(|b| b.apis.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !own_apis.iter().any(|o| o.id == a.id))
        .collect();
    apis.extend(own_apis);
    // So is the base's [emulator] table, whole, unless the file has its own.
    let emulator = doc
        .emulator
        .clone()
        .or_else(|| base.and_then(|b| b.emulator.clone()));
    let fallback_idempotency = default_idempotency();
    let b_idem = base.map_or(&fallback_idempotency, |b| &b.idempotency);
    let idempotency = IdempotencyRules {
        methods: doc
            .idempotency
            .methods
            .clone()
            .unwrap_or_else(|| b_idem.methods.clone()),
        reused: doc.idempotency.reused.resolve(&b_idem.reused),
        in_flight: doc.idempotency.in_flight.resolve(&b_idem.in_flight),
        expires: doc.idempotency.expires.unwrap_or(b_idem.expires),
        client_keys: doc.idempotency.client_keys.unwrap_or(b_idem.client_keys),
    };

    let mut statuses: Vec<StatusEntry> = Vec::new();
    if let Some(b) = base {
        statuses.extend(
            b.statuses
                .iter()
                .filter(|s| {
                    doc.statuses
                        .binary_search_by_key(&s.code, |p| p.code)
                        .is_err()
                })
                .map(|s| StatusEntry {
                    documented: false,
                    ..s.clone()
                }),
        );
    }
    for p in &doc.statuses {
        let inherited = base.and_then(|b| b.status(p.code));
        statuses.extend(resolve_entry(p, inherited, &mut found, "status"));
    }
    let classes = resolve_classes(doc, base, &mut statuses, &mut found);
    statuses.sort_by_key(|s| s.code);
    for (answer, written) in [
        (&idempotency.reused, &doc.idempotency.reused),
        (&idempotency.in_flight, &doc.idempotency.in_flight),
    ] {
        if statuses
            .binary_search_by_key(&answer.status, |s| s.code)
            .is_err()
        {
            let (span, field) = match &written.status {
                Some((_, span)) => (span.clone(), format!("{}.status", written.path)),
                None => (0..0, "idempotency".to_owned()),
            };
            found.push((
                span,
                field,
                format!(
                    "status {} is not one of the contract's statuses",
                    answer.status
                ),
            ));
        }
    }

    // An inherited table was checked against the document of the contract it comes from.
    if let Some(spec) = &doc.emulator {
        found.extend(check_emulator_answers(spec, &statuses));
    }
    if !found.is_empty() {
        let mut cx = Cx {
            src: &doc.src,
            origin: doc.origin.clone(),
            found,
        };
        cx.found.dedup();
        return Err(cx.finish());
    }
    Ok(Contract {
        id: doc.id.clone(),
        name: doc.name.clone(),
        extends: doc.extends.as_ref().map(|(e, _)| e.clone()),
        base_url: doc.base_url.clone(),
        summary: doc.summary.clone(),
        source: doc.source.clone(),
        auth,
        retry,
        redirects,
        headers,
        rate_limit,
        error_body,
        idempotency,
        statuses,
        classes,
        apis,
        emulator,
    })
}

/// The contract's class rules (its own, then the base's it does not replace). Its own
/// rules are its document speaking for the whole class: an entry of that class it only
/// inherits (an RFC default) follows their action and rule.
fn resolve_classes(
    doc: &Document,
    base: Option<&Contract>,
    statuses: &mut [StatusEntry],
    found: &mut Vec<(Span, String, String)>,
) -> Vec<StatusEntry> {
    let mut classes: Vec<StatusEntry> = Vec::new();
    for p in &doc.classes {
        let inherited = base.and_then(|b| b.class_rule(p.code));
        classes.extend(resolve_entry(p, inherited, found, "class"));
    }
    if let Some(b) = base {
        classes.extend(
            b.classes
                .iter()
                .filter(|c| !doc.classes.iter().any(|p| p.code == c.code))
                .cloned(),
        );
    }
    classes.sort_by_key(|c| c.code);
    for s in statuses.iter_mut().filter(|s| !s.documented) {
        let first = s.code / 100 * 100;
        if !doc.classes.iter().any(|p| p.code == first) {
            continue;
        }
        if let Some(class) = classes.iter().find(|c| c.code == first) {
            s.action = class.action;
            s.rule = class.rule.clone();
            s.origin = class.origin;
            s.overrides = class.overrides.clone();
        }
    }
    classes
}

/// One `[[status]]` (or `[[class]]`, `what_kind`) entry with what it inherits filled in;
/// `None` after reporting what it lacks.
fn resolve_entry(
    p: &PartialStatus,
    inherited: Option<&StatusEntry>,
    found: &mut Vec<(Span, String, String)>,
    what_kind: &str,
) -> Option<StatusEntry> {
    let label = |code: u16| match what_kind {
        "class" => format!("{}xx", code / 100),
        _ => code.to_string(),
    };
    let need = |what: &str, found: &mut Vec<(Span, String, String)>| {
        found.push((
            p.span.clone(),
            format!("{}.{what}", p.path),
            format!(
                "is required: {what_kind} {} has no base entry to inherit it from",
                label(p.code)
            ),
        ));
    };
    let meaning = p
        .meaning
        .clone()
        .or_else(|| inherited.map(|i| i.meaning.clone()));
    let category = p.category.or(inherited.map(|i| i.category));
    if meaning.is_none() {
        need("meaning", found);
    }
    if category.is_none() {
        need("category", found);
    }
    let action = p.action.resolve(inherited.map(|i| i.action), found);
    let origin = p.origin.unwrap_or(match inherited {
        Some(i) if p.action.is_empty() => i.origin,
        _ => Origin::Seed,
    });
    let rule = match (&p.rule, inherited) {
        (Some(r), _) => Some(r.clone()),
        (None, Some(i)) if p.action.is_empty() => i.rule.clone(),
        _ => None,
    };
    let overrides = resolve_overrides(p, action, found);
    let (Some(meaning), Some(category), Some(action)) = (meaning, category, action) else {
        return None;
    };
    let variants = if p.variants.is_empty() {
        inherited.map(|i| i.variants.clone()).unwrap_or_default()
    } else {
        resolve_variants(p, (&meaning, category, action), found)
    };
    Some(StatusEntry {
        code: p.code,
        title: p
            .title
            .clone()
            .or_else(|| inherited.and_then(|i| i.title.clone())),
        meaning,
        category,
        action,
        replay_safe: p
            .replay_safe
            .or(inherited.map(|i| i.replay_safe))
            .unwrap_or(false),
        headers: p
            .headers
            .clone()
            .or_else(|| inherited.map(|i| i.headers.clone()))
            .unwrap_or_default(),
        rule,
        origin,
        overrides,
        variants,
        shrink: p
            .shrink
            .clone()
            .or_else(|| inherited.and_then(|i| i.shrink.clone())),
        documented: true,
    })
}

/// An entry's method overrides, their actions completed from the entry's `action`.
fn resolve_overrides(
    p: &PartialStatus,
    action: Option<Action>,
    found: &mut Vec<(Span, String, String)>,
) -> Vec<MethodOverride> {
    p.overrides
        .iter()
        .map(|o| MethodOverride {
            method: o.method.clone(),
            action: if o.action.is_empty() {
                None
            } else {
                o.action.resolve(action, found)
            },
            category: o.category,
            meaning: o.meaning.clone(),
            rule: o.rule.clone(),
        })
        .collect()
}

/// An entry's own variants, what each leaves out taken from the entry's meaning,
/// category and action.
fn resolve_variants(
    p: &PartialStatus,
    (meaning, category, action): (&str, Category, Action),
    found: &mut Vec<(Span, String, String)>,
) -> Vec<Variant> {
    p.variants
        .iter()
        .filter_map(|v| {
            let action = if v.action.is_empty() {
                action
            } else {
                v.action.resolve(Some(action), found)?
            };
            Some(Variant {
                when: v.when.clone(),
                meaning: v.meaning.clone().unwrap_or_else(|| meaning.to_owned()),
                category: v.category.unwrap_or(category),
                action,
                rule: v.rule.clone(),
            })
        })
        .collect()
}

/// Reports a problem about a whole document (e.g. an unknown `extends`) at a span, with
/// the problems already found while reading it.
pub(crate) fn problem(doc: &Document, span: Span, field: &str, message: String) -> LoadError {
    let mut found = doc.found.clone();
    found.push((span, field.to_owned(), message));
    Cx {
        src: &doc.src,
        origin: doc.origin.clone(),
        found,
    }
    .finish()
}

/// The problems found while reading a document, if any.
pub(crate) fn problems(doc: &Document) -> Option<LoadError> {
    doc.has_problems().then(|| {
        Cx {
            src: &doc.src,
            origin: doc.origin.clone(),
            found: doc.found.clone(),
        }
        .finish()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let src = "a\nbc\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 3), (2, 2));
        assert_eq!(line_col(src, 99), (3, 1));
    }
}
