//! The catalog: every loaded contract, resolved, and the lookups that `explain` and `list`
//! answer from.

use std::sync::OnceLock;

use http::Method;
use serde::Serialize;

use crate::code::CodeValue;
use crate::decide::{Decision, DecisionKind, decide_first};
use crate::load::{self, Document, LoadError, LoadErrors};
use crate::model::{Action, Api, AppCode, Contract, Header, StatusEntry};
use crate::names::{Category, Origin, Outcome};

/// A contract file's text and the name to report problems under.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The file name or path shown in messages.
    pub origin: String,
    /// The TOML text.
    pub text: String,
}

impl SourceFile {
    /// A source from a name and its text.
    pub fn new(origin: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            origin: origin.into(),
            text: text.into(),
        }
    }
}

/// Resolved contracts by id.
///
/// ```
/// use verdict::Catalog;
/// let catalog = Catalog::builtin();
/// let webex = catalog.get("webex").unwrap();
/// assert_eq!(webex.status(423).unwrap().action.kind().as_str(), "retry-after");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    contracts: Vec<Contract>,
}

/// Why a lookup found nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No contract has this id.
    #[error("unknown contract \"{id}\"{}", did_you_mean(.close))]
    UnknownContract {
        /// What was asked for.
        id: String,
        /// Ids that are close.
        close: Vec<String>,
    },
    /// The contract has no API with this id.
    #[error("contract \"{contract}\" has no API \"{api}\"{}", did_you_mean(.close))]
    UnknownApi {
        /// The contract.
        contract: String,
        /// What was asked for.
        api: String,
        /// Its APIs.
        close: Vec<String>,
    },
    /// The contract knows no such code.
    #[error("{contract} has no code {code}{}{}", .api.as_ref().map(|a| format!(" in API \"{a}\"")).unwrap_or_default(), did_you_mean(.close))]
    UnknownCode {
        /// The contract.
        contract: String,
        /// The API searched, if one was named.
        api: Option<String>,
        /// What was asked for.
        code: CodeValue,
        /// Nearby codes it does know.
        close: Vec<String>,
    },
}

fn did_you_mean(close: &[String]) -> String {
    match close {
        [] => String::new(),
        [one] => format!("; did you mean {one}?"),
        many => format!("; close matches: {}", many.join(", ")),
    }
}

/// The request `explain` is asked about: a method, with or without an idempotency key.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request carries the contract's idempotency header.
    pub idempotency_key: bool,
}

/// What the decision engine does with an answer to one request, as `verdict call` and the
/// client would (see [`crate::decide::decide_first`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    /// The request method.
    pub method: String,
    /// Whether the request carried an idempotency key.
    pub idempotency_key: bool,
    /// The engine's decision.
    pub decision: DecisionKind,
    /// Why, in a few words (the wait's cause for a retry, the reason for a failure).
    pub detail: String,
    /// Whether the contract has a rule of its own for this method.
    pub method_rule: bool,
}

impl Applied {
    fn new(contract: &Contract, status: &StatusEntry, asked: Asked<'_>) -> Applied {
        let d = decide_first(contract, status.code, asked.method, asked.idempotency_key);
        let detail = match &d {
            Decision::Fail(reason) => reason.to_string(),
            Decision::Retry { after, cause, .. } => {
                let wait = format!("{cause} ({:.1} s on a first attempt)", after.as_secs_f64());
                match status.for_method(asked.method).action {
                    Action::RetryAfter { .. } => {
                        format!("after the wait Retry-After names; without one, after {wait}")
                    }
                    _ => format!("after {wait}"),
                }
            }
            Decision::Redirect {
                method, keep_body, ..
            } => format!(
                "{method} to the Location{}",
                if *keep_body {
                    ", with the same body"
                } else {
                    ""
                }
            ),
            Decision::RefreshAuth => "get fresh credentials once, then send again".into(),
            Decision::UseCached => "answer from the stored copy".into(),
            Decision::Poll { .. } => "ask the Location until the work ends".into(),
            Decision::SplitBatch => "split the multipart body into its parts".into(),
            Decision::Done => "hand the answer to the caller".into(),
        };
        Applied {
            method: asked.method.to_string(),
            idempotency_key: asked.idempotency_key,
            decision: d.kind(),
            detail,
            method_rule: status.overrides.iter().any(|o| o.method == *asked.method),
        }
    }
}

/// One row of the catalog, as `explain` and `list` print it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The contract id.
    pub contract: String,
    /// The API of an application code; `None` for an HTTP status.
    pub api: Option<String>,
    /// The status or application code.
    pub code: CodeValue,
    /// The HTTP status the answer travels with.
    pub http_status: u16,
    /// The reason phrase (statuses only).
    pub title: Option<String>,
    /// The vendor's exact message strings.
    pub messages: Vec<String>,
    /// For each message, when it is produced (our words).
    pub when: Vec<String>,
    /// What it means.
    pub meaning: String,
    /// The kind of situation.
    pub category: Category,
    /// What a client does.
    pub action: Action,
    /// The action with its parameters, e.g. `retry-after (at least 60 s)`.
    pub action_detail: String,
    /// The action in plain words.
    pub advice: String,
    /// Error, pending or success (application codes only).
    pub outcome: Option<Outcome>,
    /// The client rule.
    pub rule: Option<String>,
    /// Where the rule comes from.
    pub origin: Origin,
    /// Whether the contract's own document names it.
    pub documented: bool,
    /// The method an override was applied for.
    pub method: Option<String>,
    /// What the engine decides for the request asked about, when one was.
    pub applied: Option<Applied>,
    /// Response headers that matter.
    pub headers: Vec<Header>,
    /// Whether any method may be repeated after it.
    pub replay_safe: bool,
    /// The document repeats this number and this is the repeat.
    pub seed_duplicate: bool,
    /// For a status the contract does not list: the class (`5xx`) whose rule answers
    /// for it.
    pub class: Option<String>,
    /// Meanings that hold instead when the answer meets a condition (statuses only).
    pub variants: Vec<crate::model::Variant>,
    /// The page-size parameter a repeat halves (statuses only).
    pub shrink: Option<crate::model::Shrink>,
    /// Response headers the client also heeds for this answer, and what they do.
    pub signals: Vec<Signal>,
    /// Set when the vendor no longer sends or accepts the code (application codes only).
    pub deprecated: Option<crate::model::Deprecation>,
    /// The body member that says failure on a 2xx, in words (`/ok is false`), where the
    /// contract (or the code's API) declares one.
    pub failure: Option<String>,
    /// Deprecated request values the API refuses with this code's messages, in words
    /// (`/deliverychannel "wechat": deprecated: …`).
    pub refuses: Vec<String>,
    /// The checks of request bodies the API answers with this code's messages, in
    /// words, each with the key of its message (application codes only).
    pub checks: Vec<String>,
}

/// The checks of `api` (`[[api.check]]`) answered with a message of `code`.
fn checks_of(api: &Api, code: &AppCode) -> Vec<String> {
    api.checks
        .iter()
        .filter(|c| {
            code.messages
                .iter()
                .any(|m| m.key.as_deref() == Some(c.key.as_str()))
        })
        .map(|c| format!("{c} (else {})", c.key))
        .collect()
}

/// Deprecated values of `api`'s request fields that it refuses with a message of `code`.
fn refused_values(api: &Api, code: &AppCode) -> Vec<String> {
    let keys: Vec<&str> = code
        .messages
        .iter()
        .filter_map(|m| m.key.as_deref())
        .collect();
    api.enums
        .iter()
        .filter(|e| e.refused_with.as_deref().is_some_and(|k| keys.contains(&k)))
        .flat_map(|e| {
            e.values.iter().filter_map(move |v| {
                let d = v.deprecated.as_ref()?;
                Some(format!("{} \"{}\": {d}", e.field, v.value))
            })
        })
        .collect()
}

/// A response header the client heeds beyond the entry's action, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal {
    /// What it is about: `wait` (the headers that name a wait), `quota` (the quota
    /// fields read) or `server` (the server's say on repeating, `x-should-retry`).
    pub about: &'static str,
    /// What the client does with it.
    pub text: String,
}

/// The signals for an answer with `http_status`, `action` and `category`.
fn signals(
    contract: &Contract,
    http_status: u16,
    action: Action,
    category: Category,
) -> Vec<Signal> {
    let mut out = Vec::new();
    let retries = matches!(action, Action::Retry | Action::RetryAfter { .. });
    if retries {
        out.push(Signal {
            about: "wait",
            text: format!(
                "retry-after-ms or x-ms-retry-after-ms (milliseconds) when present, else {} (seconds or an HTTP date); a back-off when none names a wait",
                contract.headers.retry_after
            ),
        });
    }
    if category == Category::RateLimit {
        out.push(Signal {
            about: "quota",
            text: quota_text(contract),
        });
    }
    if let (Some(h), true) = (&contract.retry.should_retry_header, http_status >= 400) {
        let text = match action {
            _ if retries => Some(format!("{h}: false on this answer stops the retry")),
            Action::Fail => Some(format!(
                "{h}: true on this answer makes it a retry with back-off, when the request may be repeated"
            )),
            _ => None,
        };
        out.extend(text.map(|text| Signal {
            about: "server",
            text,
        }));
    }
    out
}

/// Which quota fields a client of `contract` reads, in words.
fn quota_text(contract: &Contract) -> String {
    let rl = &contract.rate_limit;
    let named: Vec<&str> = [&rl.remaining, &rl.limit, &rl.reset, &rl.window]
        .into_iter()
        .flatten()
        .map(Header::as_str)
        .collect();
    let common = "RateLimit and RateLimit-Policy (IETF draft), RateLimit-Remaining, X-RateLimit-Remaining, X-Rate-Limit-Remaining";
    let read = match (rl.remaining.is_some(), rl.fields.draft()) {
        (true, false) => format!(
            "{} (the contract's); without them {common}",
            named.join(", ")
        ),
        (true, true) => format!(
            "{} and the IETF draft's RateLimit (the contract's); without them {common}",
            named.join(", ")
        ),
        (false, true) => format!(
            "RateLimit and RateLimit-Policy (the contract's IETF draft fields), else {common}"
        ),
        (false, false) => common.to_owned(),
    };
    format!(
        "{read}. A used-up quota holds back the credential until it resets (a Retry-After on the answer comes first)"
    )
}

impl Entry {
    /// The entry for an HTTP status, as it applies to `method` when one is given.
    pub fn from_status(
        contract: &Contract,
        status: &StatusEntry,
        asked: Option<Asked<'_>>,
    ) -> Entry {
        let method = asked.map(|a| a.method);
        let s = match method {
            Some(m) => status.for_method(m),
            None => status.clone(),
        };
        let applied = asked.map(|a| Applied::new(contract, status, a));
        Entry {
            contract: contract.id.clone(),
            api: None,
            code: CodeValue::from(u32::from(s.code)),
            http_status: s.code,
            title: s.title,
            messages: Vec::new(),
            when: Vec::new(),
            meaning: s.meaning,
            category: s.category,
            action: s.action,
            action_detail: s.action.to_string(),
            advice: s.action.advice(),
            outcome: None,
            rule: s.rule,
            origin: s.origin,
            documented: s.documented,
            method: method.map(|m| m.to_string()),
            applied,
            headers: s.headers,
            replay_safe: s.replay_safe,
            seed_duplicate: false,
            class: None,
            variants: s.variants.clone(),
            shrink: s.shrink.clone(),
            signals: signals(contract, s.code, s.action, s.category),
            deprecated: None,
            failure: (200..300)
                .contains(&s.code)
                .then(|| {
                    contract
                        .error_body
                        .failure
                        .as_ref()
                        .map(ToString::to_string)
                })
                .flatten(),
            refuses: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// The entry for a status `code` the contract does not list, from its class's rule.
    pub fn from_class(contract: &Contract, code: u16, asked: Option<Asked<'_>>) -> Option<Entry> {
        let class = contract.class_rule(code)?;
        let status = StatusEntry {
            code,
            title: None,
            documented: false,
            ..class.clone()
        };
        let mut e = Entry::from_status(contract, &status, asked);
        e.class = Some(format!("{}xx", code / 100));
        Some(e)
    }

    /// The entry for an application code.
    pub fn from_app_code(contract: &Contract, api: &Api, code: &AppCode) -> Entry {
        Entry {
            contract: contract.id.clone(),
            api: Some(api.id.clone()),
            code: code.code.clone(),
            http_status: code.http_status,
            title: None,
            messages: code.messages.iter().map(|m| m.text.clone()).collect(),
            when: code.messages.iter().map(|m| m.when.clone()).collect(),
            meaning: code.meaning.clone(),
            category: code.category,
            action: code.action,
            action_detail: code.action.to_string(),
            advice: code.action.advice(),
            outcome: Some(code.outcome),
            rule: code.rule.clone(),
            // The document lists the codes; the client actions for them are ours.
            origin: Origin::Inferred,
            documented: true,
            method: None,
            applied: None,
            headers: Vec::new(),
            replay_safe: false,
            seed_duplicate: code.seed_duplicate,
            class: None,
            variants: Vec::new(),
            shrink: None,
            signals: signals(contract, code.http_status, code.action, code.category),
            deprecated: code.deprecated.clone(),
            failure: contract
                .error_body_for(Some(&api.id))
                .failure
                .as_ref()
                .map(ToString::to_string),
            refuses: refused_values(api, code),
            checks: checks_of(api, code),
        }
    }
}

impl Catalog {
    /// The contracts that ship inside verdict: `http` and every vendor contract.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let files = crate::builtin::FILES
                .iter()
                .map(|(name, text)| SourceFile::new(format!("contracts/{name}"), *text));
            match Catalog::new().with_files(files) {
                Ok(c) => c,
                // The built-in files are checked by this crate's tests; reaching this is a
                // build of verdict with broken contracts, not bad user input.
                Err(e) => panic!("built-in contracts are invalid:\n{e}"),
            }
        })
    }

    /// An empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// This catalog plus the contracts in `files`. A file whose id is already present
    /// replaces that contract. Files may extend contracts of this catalog or of each other.
    /// Every problem of every file is reported.
    pub fn with_files(
        &self,
        files: impl IntoIterator<Item = SourceFile>,
    ) -> Result<Catalog, LoadErrors> {
        let mut errors: Vec<LoadError> = Vec::new();
        let docs = parse_each(files, &mut errors);
        let mut out = self.clone();
        out.contracts.retain(|c| !docs.iter().any(|d| d.id == c.id));
        // Resolve in dependency order: a document whose base is ready goes next. A
        // document whose base failed is still checked against nothing, so that its own
        // problems are all reported, but is not added.
        let mut failed: Vec<String> = Vec::new();
        let mut pending = docs;
        while !pending.is_empty() {
            let ready = pending.iter().position(|d| match &d.extends {
                None => true,
                Some((base, _)) => !pending.iter().any(|p| &p.id == base),
            });
            let Some(i) = ready else {
                for d in &pending {
                    let (base, span) = d.extends.clone().unwrap_or_default();
                    errors.push(load::problem(
                        d,
                        span,
                        "contract.extends",
                        format!("\"{}\" extends \"{base}\", which extends it in turn", d.id),
                    ));
                }
                break;
            };
            let doc = pending.remove(i);
            let base = match base_of(&doc, &out, &failed) {
                Ok(base) => base,
                Err(problems) => {
                    failed.push(doc.id.clone());
                    errors.extend(problems);
                    continue;
                }
            };
            match load::resolve(&doc, base.as_ref()) {
                Ok(c) => out.contracts.push(c),
                Err(e) => {
                    failed.push(doc.id.clone());
                    errors.push(e);
                }
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(LoadErrors(errors))
        }
    }

    /// This catalog plus one contract file; also returns the file's contract id.
    ///
    /// ```
    /// use verdict::{Catalog, SourceFile};
    /// let text = "[contract]\nid = \"mine\"\nname = \"Mine\"\nextends = \"http\"\n";
    /// let (catalog, id) = Catalog::builtin().with_file(SourceFile::new("mine.toml", text)).unwrap();
    /// assert_eq!(id, "mine");
    /// assert!(catalog.get("mine").unwrap().status(404).is_some());
    /// ```
    pub fn with_file(&self, file: SourceFile) -> Result<(Catalog, String), LoadErrors> {
        let out = self.with_files([file])?;
        // `with_files` appends what it loads.
        let id = out
            .contracts
            .last()
            .map(|c| c.id.clone())
            .unwrap_or_default();
        Ok((out, id))
    }

    /// Every contract, in load order.
    pub fn contracts(&self) -> &[Contract] {
        &self.contracts
    }

    /// The contract with this id.
    pub fn get(&self, id: &str) -> Option<&Contract> {
        self.contracts.iter().find(|c| c.id == id)
    }

    /// The contract with this id, or an error that names the close ids.
    pub fn contract(&self, id: &str) -> Result<&Contract, LookupError> {
        self.get(id).ok_or_else(|| LookupError::UnknownContract {
            id: id.to_owned(),
            close: crate::suggest::close_matches(id, self.contracts.iter().map(|c| c.id.as_str()))
                .into_iter()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// The application code `code` in API `api` of contract `contract` (the first row, where
    /// the document repeats the number).
    ///
    /// ```
    /// let c = verdict::Catalog::builtin();
    /// let dnd = c.app_code("webex-connect", "transaction-status", 7109).unwrap();
    /// assert_eq!(dnd.messages[0].text, "User in DnD");
    /// ```
    pub fn app_code(
        &self,
        contract: &str,
        api: &str,
        code: impl Into<CodeValue>,
    ) -> Option<&AppCode> {
        self.get(contract)?.api(api)?.code(code).next()
    }

    /// Every entry for `code` in a contract: an HTTP status (100 to 599) or the application
    /// codes of every API (or of `api` alone). `asked` applies per-method overrides and
    /// adds what the decision engine does for that request.
    ///
    /// ```
    /// use http::Method;
    /// let c = verdict::Catalog::builtin();
    /// let asked = verdict::Asked { method: &Method::DELETE, idempotency_key: false };
    /// let e = c.explain("ringcentral", 404, None, Some(asked)).unwrap();
    /// assert_eq!(e[0].action.kind().as_str(), "done");
    /// assert_eq!(e[0].applied.as_ref().unwrap().decision.as_str(), "done");
    /// ```
    pub fn explain(
        &self,
        contract: &str,
        code: impl Into<CodeValue>,
        api: Option<&str>,
        asked: Option<Asked<'_>>,
    ) -> Result<Vec<Entry>, LookupError> {
        let code = code.into();
        let c = self.contract(contract)?;
        let apis: Vec<&Api> = match api {
            Some(id) => vec![c.api(id).ok_or_else(|| LookupError::UnknownApi {
                contract: c.id.clone(),
                api: id.to_owned(),
                close: c.apis.iter().map(|a| a.id.clone()).collect(),
            })?],
            None => c.apis.iter().collect(),
        };
        let mut out = Vec::new();
        let status = code
            .number()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|c| (100..=599).contains(c));
        if api.is_none() {
            if let Some(s) = status.and_then(|code| c.status(code)) {
                out.push(Entry::from_status(c, s, asked));
            } else if let Some(code) = status {
                out.extend(Entry::from_class(c, code, asked));
            }
        }
        for a in &apis {
            out.extend(a.code(&code).map(|x| Entry::from_app_code(c, a, x)));
        }
        if out.is_empty() {
            // Suggest codes of the same kind: statuses for a status, application codes
            // (of every API of the contract) for anything else.
            let is_status = api.is_none() && status.is_some();
            let known: Vec<CodeValue> = if is_status {
                c.documented_statuses()
                    .map(|s| CodeValue::from(u32::from(s.code)))
                    .collect()
            } else {
                // Every API of the contract: a code may be in an API other than the one named.
                let mut codes: Vec<CodeValue> = c
                    .apis
                    .iter()
                    .flat_map(|a| a.codes.iter().map(|x| x.code.clone()))
                    .collect();
                codes.sort_unstable();
                codes.dedup();
                codes
            };
            return Err(LookupError::UnknownCode {
                contract: c.id.clone(),
                api: api.map(str::to_owned),
                close: close_codes(&code, &known)
                    .into_iter()
                    .map(|close| where_else(c, api, is_status, close))
                    .collect(),
                code,
            });
        }
        Ok(out)
    }

    /// Every entry of a contract: its documented statuses (all statuses, the baseline's
    /// included, with `all`), then the application codes of each API.
    pub fn entries(&self, contract: &str, all: bool) -> Result<Vec<Entry>, LookupError> {
        let c = self.contract(contract)?;
        let mut out: Vec<Entry> = c
            .statuses
            .iter()
            .filter(|s| all || s.documented || c.extends.is_none())
            .map(|s| Entry::from_status(c, s, None))
            .collect();
        for a in &c.apis {
            out.extend(a.codes.iter().map(|x| Entry::from_app_code(c, a, x)));
        }
        Ok(out)
    }
}

/// A suggested code, with the APIs that have it when they are not the one asked about.
fn where_else(c: &Contract, asked: Option<&str>, is_status: bool, close: String) -> String {
    if is_status {
        return close;
    }
    let Ok(n) = close.parse::<CodeValue>() else {
        return close;
    };
    let apis: Vec<&str> = c
        .apis
        .iter()
        .filter(|a| a.code(&n).next().is_some())
        .map(|a| a.id.as_str())
        .collect();
    match asked {
        Some(id) if !apis.contains(&id) => format!("{close} (in {})", apis.join(", ")),
        _ => close,
    }
}

/// Known codes near `code`: those one edit away as text, then the numerically closest
/// (for a number), else those fewest edits away (for text, up to a third of its length).
fn close_codes(code: &CodeValue, known: &[CodeValue]) -> Vec<String> {
    let text = code.to_string();
    let mut scored: Vec<(usize, u64, &CodeValue)> = known
        .iter()
        .filter_map(|k| {
            let edit = crate::suggest::distance(&text, &k.to_string());
            match (code.number(), k.number()) {
                (Some(a), Some(b)) => Some((usize::from(edit > 1), u64::from(a.abs_diff(b)), k)),
                _ if edit <= (text.chars().count() / 3).max(2) => Some((edit, 0, k)),
                _ => None,
            }
        })
        .collect();
    scored.sort();
    scored.dedup_by_key(|s| s.2);
    scored
        .into_iter()
        .take(3)
        .map(|s| s.2.to_string())
        .collect()
}

/// Parses each file into a document; a file that does not parse, or whose contract id an
/// earlier file already took, adds its problem to `errors`.
fn parse_each(
    files: impl IntoIterator<Item = SourceFile>,
    errors: &mut Vec<LoadError>,
) -> Vec<Document> {
    let mut docs: Vec<Document> = Vec::new();
    for f in files {
        match load::parse(&f.origin, &f.text) {
            Ok(doc) => {
                if let Some(first) = docs.iter().find(|d| d.id == doc.id) {
                    errors.push(load::problem(
                        &doc,
                        doc.id_span.clone(),
                        "contract.id",
                        format!(
                            "contract \"{}\" is also defined in {}",
                            doc.id, first.origin
                        ),
                    ));
                } else {
                    docs.push(doc);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    docs
}

/// The contract `doc` extends, taken from `out` (`None` when it extends nothing). A base
/// that failed, or that no contract has, is an error: the problems to report (a failed
/// base's document is still checked on its own, so that all its problems are reported).
fn base_of(
    doc: &Document,
    out: &Catalog,
    failed: &[String],
) -> Result<Option<Contract>, Vec<LoadError>> {
    let Some((base, span)) = &doc.extends else {
        return Ok(None);
    };
    if failed.contains(base) {
        return Err(load::problems(doc).into_iter().collect());
    }
    if let Some(b) = out.get(base) {
        return Ok(Some(b.clone()));
    }
    let ids: Vec<&str> = out.contracts.iter().map(|c| c.id.as_str()).collect();
    let hint = match crate::suggest::closest(base, ids.iter().copied()) {
        Some(best) => format!("; did you mean \"{best}\"?"),
        None => format!(" (known: {})", ids.join(", ")),
    };
    Err(vec![load::problem(
        doc,
        span.clone(),
        "contract.extends",
        format!("unknown contract \"{base}\"{hint}"),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_prefer_typos_then_neighbours() {
        let known: Vec<CodeValue> = [7108, 7109, 7110, 7190, 400].map(CodeValue::from).into();
        assert_eq!(
            close_codes(&7910.into(), &known),
            vec!["7190", "7110", "7109"]
        );
        assert_eq!(close_codes(&401.into(), &known)[0], "400");
    }

    #[test]
    fn close_text_codes_are_the_fewest_edits_away() {
        let known: Vec<CodeValue> = ["invalid_auth", "not_authed", "account_inactive", "7109"]
            .map(|s| s.parse().unwrap())
            .into();
        let close = close_codes(&"invalid_aut".parse().unwrap(), &known);
        assert_eq!(close, vec!["invalid_auth"]);
        assert!(close_codes(&"zzz".parse().unwrap(), &known).is_empty());
    }
}
