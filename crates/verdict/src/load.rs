//! Reading contract files: TOML with spans, checked field by field, every problem
//! collected with its line, column and field path, then resolved against a base contract.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use http::Method;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::body_check::{BodyCheck, Shape};
use crate::code::CodeValue;
use crate::emulate::{
    CredentialRefusals, CustomEvent, EmulatorAnswer, EmulatorSpec, ErrorCode, LinkedApp, Quota,
    Refusal, RequiredAttribute, ResourceSpec,
};
use crate::model::Condition;
use crate::model::{
    Action, Api, AppCode, Auth, AuthScheme, Contract, DataValue, DataValues, Deprecation,
    ErrorBody, FailureFlag, FieldErrorShape, Header, Headers, IdempotencyAnswer, IdempotencyRules,
    Message, MethodOverride, RateLimitHeaders, RedirectPolicy, RetryPolicy, Shrink, Source,
    StatusEntry, Variant,
};
use crate::names::{
    ActionKind, Category, Jitter, MissingLocation, Origin, Outcome, RedirectMethod, SchemeKind,
};
use crate::names::{
    IdStyle, LinkRelation, PageOversize, PageStyle, QuotaFields, RefusalReason, UnknownFields,
};
use crate::pointer::JsonPointer;

mod account;
mod addressing;
mod api;
mod emulator;
mod policy;
mod reader;
mod resource;
mod status;

use api::*;
use emulator::*;
use policy::*;
use reader::*;
use status::*;

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
            let message = format!("invalid TOML: {}", e.message().trim_end());
            cx.report(e.span().unwrap_or(0..0), "", message);
        }
        return Err(cx.finish());
    }
    let top = Obj {
        map: root.get_ref(),
        path: String::new(),
        span: root.span(),
    };
    top.check_keys(&mut cx, TOP_KEYS);

    let head = read_contract(&mut cx, &top);

    let auth = top
        .table(&mut cx, "auth")
        .and_then(|t| read_auth(&mut cx, &t));
    let retry = top
        .table(&mut cx, "retry")
        .map(|t| read_retry(&mut cx, &t))
        .unwrap_or_default();
    let redirects = top
        .table(&mut cx, "redirects")
        .map(|t| read_redirects(&mut cx, &t))
        .unwrap_or_default();
    let headers = top
        .table(&mut cx, "headers")
        .map(|t| read_headers(&mut cx, &t))
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

    let statuses = read_statuses(&mut cx, &top);
    let classes = read_classes(&mut cx, &top);
    let apis = read_apis(&mut cx, &top);
    let emulator = top
        .table(&mut cx, "emulator")
        .map(|t| read_emulator(&mut cx, &t));

    Ok(Document {
        origin: origin.to_owned(),
        src: src.to_owned(),
        id: head.id,
        id_span: head.id_span,
        name: head.name,
        extends: head.extends,
        base_url: head.base_url,
        summary: head.summary,
        source: head.source,
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

/// The `[contract]` table.
#[derive(Default)]
struct Head {
    id: String,
    id_span: Span,
    name: String,
    extends: Option<(String, Span)>,
    base_url: Option<String>,
    summary: Option<String>,
    source: Option<Source>,
}

fn read_contract(cx: &mut Cx<'_>, top: &Obj<'_, '_>) -> Head {
    let mut head = Head::default();
    let Some(c) = top.table(cx, "contract") else {
        cx.report(0..0, "contract", "the [contract] table is required");
        return head;
    };
    c.check_keys(
        cx,
        &["id", "name", "extends", "base_url", "summary", "source"],
    );
    if let Some(v) = c.required_string(cx, "id") {
        head.id_span = c.get("id").map(Spanned::span).unwrap_or_default();
        if !is_id(&v) {
            cx.report(
                head.id_span.clone(),
                "contract.id",
                format!("\"{v}\" is not a valid id (lowercase letters, digits and '-', starting with a letter)"),
            );
        }
        head.id = v;
    }
    head.name = c.required_string(cx, "name").unwrap_or_default();
    if let Some(e) = c.string(cx, "extends") {
        head.extends = Some((e, c.get("extends").map(Spanned::span).unwrap_or_default()));
    }
    head.base_url = c.string(cx, "base_url");
    head.summary = c.string(cx, "summary");
    if let Some(s) = c.table(cx, "source") {
        s.check_keys(cx, &["document", "title"]);
        if let Some(document) = s.required_string(cx, "document") {
            head.source = Some(Source {
                document,
                title: s.string(cx, "title"),
            });
        }
    }
    head
}

/// The `[[status]]` tables, each code once, in code order.
fn read_statuses(cx: &mut Cx<'_>, top: &Obj<'_, '_>) -> Vec<PartialStatus> {
    let mut statuses: Vec<PartialStatus> = Vec::new();
    for t in top.tables(cx, "status") {
        let Some(s) = read_status(cx, &t) else {
            continue;
        };
        if statuses.iter().any(|o| o.code == s.code) {
            cx.report(
                t.get("code").map(Spanned::span).unwrap_or(t.span.clone()),
                t.field("code"),
                format!("status {} is listed twice", s.code),
            );
        } else {
            statuses.push(s);
        }
    }
    statuses.sort_by_key(|s| s.code);
    statuses
}

/// The `[[class]]` tables, each class once, in class order.
fn read_classes(cx: &mut Cx<'_>, top: &Obj<'_, '_>) -> Vec<PartialStatus> {
    let mut classes: Vec<PartialStatus> = Vec::new();
    for t in top.tables(cx, "class") {
        let Some(c) = read_class(cx, &t) else {
            continue;
        };
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
    classes.sort_by_key(|c| c.code);
    classes
}

/// The `[[api]]` tables, each id once.
fn read_apis(cx: &mut Cx<'_>, top: &Obj<'_, '_>) -> Vec<Api> {
    let mut apis: Vec<Api> = Vec::new();
    for t in top.tables(cx, "api") {
        let Some(api) = read_api(cx, &t) else {
            continue;
        };
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
    apis
}

/// Applies a document over its base (if any) and returns the complete contract.
pub(crate) fn resolve(doc: &Document, base: Option<&Contract>) -> Result<Contract, LoadError> {
    let mut found = doc.found.clone();
    let retry = resolve_retry(doc, base, &mut found);
    let redirects = resolve_redirects(doc, base);
    let headers = resolve_headers(doc, base);
    let auth = doc
        .auth
        .clone()
        .or_else(|| base.map(|b| b.auth.clone()))
        .unwrap_or(Auth {
            scheme: AuthScheme::None,
            credential_headers: Vec::new(),
            authorization: Vec::new(),
        });
    let rate_limit = doc
        .rate_limit
        .clone()
        .or_else(|| base.map(|b| b.rate_limit.clone()))
        .unwrap_or_default();
    let (error_body, apis) = resolve_bodies(doc, base, &headers);
    // The base's [emulator] table is inherited whole, unless the file has its own.
    let emulator = doc
        .emulator
        .clone()
        .or_else(|| base.and_then(|b| b.emulator.clone()));
    let idempotency = resolve_idempotency(doc, base);

    let mut statuses = resolve_statuses(doc, base, &mut found);
    let classes = resolve_classes(doc, base, &mut statuses, &mut found);
    statuses.sort_by_key(|s| s.code);
    check_idempotency_statuses(doc, &idempotency, &statuses, &mut found);

    // An inherited table was checked against the document of the contract it comes from.
    if let Some(spec) = &doc.emulator {
        found.extend(check_emulator_answers(spec, &statuses));
        let names = (&headers, &rate_limit);
        found.extend(check_quota_answers(spec, names, &statuses, &classes));
        found.extend(account::check_apps(spec, &apis));
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
