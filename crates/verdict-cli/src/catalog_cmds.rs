//! explain, list, check and render: the commands that read the catalog.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, anyhow};
use http::Method;
use verdict::render::Format;
use verdict::{Catalog, Contract, Entry, SourceFile};

use crate::{Failure, Outcome, exit, table};

/// The catalog to use and the contract id an argument names: a built-in id, or a file
/// loaded on top of the built-in contracts.
pub(crate) fn open(arg: &str) -> Result<(Cow<'static, Catalog>, String), Failure> {
    let builtin = Catalog::builtin();
    if builtin.get(arg).is_some() {
        return Ok((Cow::Borrowed(builtin), arg.to_owned()));
    }
    let path = Path::new(arg);
    let looks_like_path = arg.contains(['/', '\\']) || arg.ends_with(".toml") || path.exists();
    if !looks_like_path {
        return Err(builtin.contract(arg).map(|_| ()).unwrap_err().into());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read contract file {arg}"))?;
    let (catalog, id) = builtin
        .with_file(SourceFile::new(arg, text))
        .map_err(|e| Failure {
            code: exit::INVALID,
            error: anyhow!("{arg} is not a valid contract:\n{e}"),
        })?;
    Ok((Cow::Owned(catalog), id))
}

/// A status or application code as `explain` is given it: a number (`429`, `7109`) or a
/// vendor's text code (`invalid_auth`, `CMN-102`).
fn parse_code(s: &str) -> Result<verdict::CodeValue, Failure> {
    s.trim().parse().map_err(|_| {
        anyhow!("\"{s}\" is not a code: expected a number such as 429 or 7109, or a vendor's code such as invalid_auth").into()
    })
}

/// The request methods of RFC 9110 and PATCH; anything else is refused with a usage error.
pub(crate) const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
];

pub(crate) fn parse_method(s: &str) -> Result<Method, Failure> {
    let upper = s.to_ascii_uppercase();
    match METHODS.contains(&upper.as_str()) {
        true => Ok(Method::from_bytes(upper.as_bytes()).expect("a standard method")),
        false => Err(Failure {
            code: exit::USAGE,
            error: anyhow!(
                "\"{s}\" is not an HTTP method; use one of {}",
                METHODS.join(", ")
            ),
        }),
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Outcome {
    let mut text = serde_json::to_string_pretty(value).context("cannot encode JSON")?;
    text.push('\n');
    emit(&text);
    Ok(())
}

/// Writes `text` to stdout. A reader that has gone (`| head`, `| jq` that stopped) ends
/// the command quietly with success, as other tools do, instead of a panic.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("verdict: cannot write the output: {e}");
        std::process::exit(1);
    }
}

pub(crate) fn explain(
    contract: &str,
    code: &str,
    api: Option<&str>,
    method: Option<&str>,
    idempotency_key: bool,
    json: bool,
) -> Outcome {
    let (catalog, id) = open(contract)?;
    let code = parse_code(code)?;
    let method = method.map(parse_method).transpose()?;
    let asked = method.as_ref().map(|method| verdict::Asked {
        method,
        idempotency_key,
    });
    let entries = catalog.explain(&id, code, api, asked)?;
    if json {
        return print_json(&entries);
    }
    let c = catalog.get(&id).expect("explain found the contract");
    let mut out = String::new();
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        describe(&mut out, c, e);
        describe_notes(&mut out, c, e, stating(&catalog, c, e));
    }
    emit(&out);
    Ok(())
}

/// One `  name      value` line of an entry.
fn field(out: &mut String, name: &str, value: &str) {
    let _ = writeln!(out, "  {name:<10}{value}");
}

fn describe(out: &mut String, c: &Contract, e: &Entry) {
    let mut head = format!("{} {}", c.id, e.code);
    if let Some(api) = &e.api {
        head = format!("{} {api} {}", c.id, e.code);
    }
    if let Some(t) = &e.title {
        let _ = write!(head, " {t}");
    }
    let status = match (&e.api, e.outcome) {
        (Some(_), Some(o)) => format!(" (travels with HTTP {}; outcome: {o})", e.http_status),
        _ => String::new(),
    };
    let _ = writeln!(out, "{head}{status}");
    for (i, (m, when)) in e.messages.iter().zip(&e.when).enumerate() {
        let label = if i == 0 { "message" } else { "" };
        field(out, label, &format!("\"{m}\" — {when}"));
    }
    field(out, "meaning", &e.meaning);
    if let Some(d) = &e.deprecated {
        field(out, "status", &d.to_string());
    }
    if let Some(flag) = &e.failure {
        let text = format!("a 2xx whose body has {flag} is a failure, decided by its code");
        field(out, "failure", &text);
    }
    for r in &e.refuses {
        field(out, "refuses", r);
    }
    for c in &e.checks {
        field(out, "checks", c);
    }
    field(out, "category", e.category.as_str());
    field(
        out,
        "action",
        &format!("{} — {}", e.action_detail, e.advice),
    );
    describe_what_else(out, e);
    describe_rule(out, e);
}

/// The page it shrinks, its variants and what the engine does with the request asked about.
fn describe_what_else(out: &mut String, e: &Entry) {
    if let Some(sh) = &e.shrink {
        let text = format!(
            "each repeat asks for half the page ({} halved, down to {})",
            sh.param, sh.floor
        );
        field(out, "page", &text);
    }
    for v in &e.variants {
        let category = v.category.as_str();
        let text = format!("when {}: {} — {} ({category})", v.when, v.meaning, v.action);
        field(out, "variant", &text);
    }
    if let Some(a) = &e.applied {
        let key = if a.idempotency_key {
            " with an idempotency key"
        } else {
            ""
        };
        let own = if a.method_rule {
            "; the contract's rule for this method applied"
        } else {
            ""
        };
        let text = format!("{}{key}: {} — {}{own}", a.method, a.decision, a.detail);
        field(out, "request", &text);
    }
}

/// The client rule with its origin, the headers and signals that matter, replay safety.
fn describe_rule(out: &mut String, e: &Entry) {
    let origin = match e.origin {
        verdict::Origin::Seed => "stated by the vendor's document",
        verdict::Origin::Rfc => "from the HTTP standards",
        verdict::Origin::Inferred => "our reading; the vendor's document states no client rule",
    };
    // A rule is shown only where the contract has its text.
    if let Some(rule) = e.rule.as_deref().filter(|r| !r.trim().is_empty()) {
        field(out, "rule", &format!("{rule} ({origin})"));
    }
    if !e.headers.is_empty() {
        let names: Vec<&str> = e.headers.iter().map(|h| h.as_str()).collect();
        field(out, "headers", &names.join(", "));
    }
    for s in &e.signals {
        field(out, s.about, &s.text);
    }
    if e.replay_safe {
        let text = "safe to repeat whatever the method: the server did not act on the request";
        field(out, "replay", text);
    }
}

/// The contract whose document says what `e` says for `c`: `c` when its document names the
/// status, or when its own class rule changed what it inherits; else, in turn, the contract
/// it extends.
fn stating<'c>(catalog: &'c Catalog, c: &'c Contract, e: &Entry) -> &'c Contract {
    if e.api.is_some() || e.documented {
        return c;
    }
    let rule_of = |k: &'c Contract| {
        let entry = match e.class {
            Some(_) => k.class_rule(e.http_status),
            None => k.status(e.http_status),
        };
        entry.map(|s| {
            (
                s.documented && e.class.is_none(),
                (&s.action, &s.rule, s.origin),
            )
        })
    };
    let mut here = c;
    while let Some(base) = here.extends.as_deref().and_then(|b| catalog.get(b)) {
        let mine = rule_of(here);
        if mine.is_some_and(|(documented, _)| documented)
            || mine.map(|(_, r)| r) != rule_of(base).map(|(_, r)| r)
        {
            break;
        }
        here = base;
    }
    here
}

/// Where the entry comes from: a repeated row, a class rule, the contract it extends; the
/// document of the contract that states it (`stating`).
fn describe_notes(out: &mut String, c: &Contract, e: &Entry, stating: &Contract) {
    if e.seed_duplicate {
        let text = "the document lists this number twice; this is its second row";
        field(out, "note", text);
    }
    let base = c.extends.as_deref().unwrap_or("the baseline");
    let note = match &e.class {
        Some(class) => Some(format!(
            "{} does not list {} on its own; its rule for {class} answers applies",
            c.name, e.code
        )),
        // An inherited entry that follows the contract's own rule for its class.
        None if !e.documented && stating.id == c.id => Some(format!(
            "{}'s document does not name this status; its rule for {}xx answers applies, the meaning comes from {base}",
            c.name,
            e.http_status / 100
        )),
        None if !e.documented => Some(format!(
            "{}'s document does not name this status; the entry comes from {}",
            c.name, stating.id
        )),
        None => None,
    };
    if let Some(note) = note {
        field(out, "note", &note);
    }
    // A document is the source only of what it states.
    let stated = e.documented || e.origin == verdict::Origin::Seed;
    if let Some(s) = stating.source.as_ref().filter(|_| stated) {
        let title = s
            .title
            .as_deref()
            .map(|t| format!("\"{t}\", "))
            .unwrap_or_default();
        field(out, "source", &format!("{}{}", title, s.document));
    }
}

pub(crate) fn list(contract: Option<&str>, all: bool, json: bool) -> Outcome {
    let (catalog, ids) = match contract {
        Some(arg) => {
            let (catalog, id) = open(arg)?;
            (catalog, vec![id])
        }
        None => {
            let catalog = Catalog::builtin();
            let ids = catalog.contracts().iter().map(|c| c.id.clone()).collect();
            (Cow::Borrowed(catalog), ids)
        }
    };
    let mut entries = Vec::new();
    for id in &ids {
        entries.extend(catalog.entries(id, all)?);
    }
    if json {
        return print_json(&entries);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let text = e
                .messages
                .first()
                .cloned()
                .or_else(|| e.title.clone())
                .unwrap_or_default();
            let more = if e.messages.len() > 1 {
                format!(" (+{} more)", e.messages.len() - 1)
            } else {
                String::new()
            };
            vec![
                e.contract.clone(),
                e.api.clone().unwrap_or_else(|| "-".into()),
                e.code.to_string(),
                e.http_status.to_string(),
                e.category.to_string(),
                e.action_detail.clone(),
                format!("{}{more}", table::truncate(&text, 60)),
            ]
        })
        .collect();
    emit(&table::format(
        &[
            "CONTRACT",
            "API",
            "CODE",
            "HTTP",
            "CATEGORY",
            "ACTION",
            "STATUS / MESSAGE",
        ],
        &rows,
    ));
    Ok(())
}

pub(crate) fn check(files: &[std::path::PathBuf], json: bool) -> Outcome {
    let mut sources = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        sources.push(SourceFile::new(f.display().to_string(), text));
    }
    let result = Catalog::builtin().with_files(sources);
    if json {
        let problems: Vec<serde_json::Value> = match &result {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .0
                .iter()
                .flat_map(|e| {
                    e.problems.iter().map(|p| {
                        serde_json::json!({"file": e.origin, "line": p.line, "column": p.column, "field": p.field, "message": p.message})
                    })
                })
                .collect(),
        };
        print_json(
            &serde_json::json!({"valid": problems.is_empty(), "files": files.len(), "problems": problems}),
        )?;
    }
    match result {
        Ok(catalog) => {
            if !json {
                for f in files {
                    println!("{}: ok", f.display());
                }
                tracing::debug!(contracts = catalog.contracts().len(), "catalog loaded");
            }
            Ok(())
        }
        Err(errors) => {
            let n = errors.count();
            if !json {
                // One `file:line:col: field: message` line per problem, all alike; the
                // count follows as the error.
                eprintln!("{errors}");
            }
            let error = anyhow!("{n} problem(s) found");
            Err(Failure {
                code: exit::INVALID,
                error,
            })
        }
    }
}

pub(crate) fn render(contract: &str, format: &str, output: Option<&Path>) -> Outcome {
    let format: Format = format.parse()?;
    let (catalog, id) = open(contract)?;
    let text = verdict::render::render(catalog.contract(&id)?, format);
    match output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => emit(&text),
    }
    Ok(())
}
