//! Reference tables generated from a contract, in Markdown or HTML.

use std::fmt::Write;
use std::str::FromStr;

use crate::model::{Api, Contract, StatusEntry};

/// An output format for [`render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GitHub-flavoured Markdown tables.
    Markdown,
    /// A standalone HTML page.
    Html,
}

impl FromStr for Format {
    type Err = crate::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "markdown" | "md" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            _ => Err(crate::UnknownName {
                kind: "format",
                value: s.to_owned(),
                expected: &["markdown", "html"],
            }),
        }
    }
}

/// A cell of a table: plain text, escaped for the format when written.
struct Table {
    head: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

fn status_table(c: &Contract) -> Table {
    let rows = c
        .statuses
        .iter()
        .filter(|s| s.documented || c.extends.is_none())
        .map(|s| {
            vec![
                s.code.to_string(),
                s.title.clone().unwrap_or_default(),
                s.meaning.clone(),
                s.category.to_string(),
                action_cell(s),
                s.origin.to_string(),
            ]
        })
        .collect();
    Table {
        head: vec![
            "Code",
            "Status",
            "Meaning",
            "Category",
            "Client action",
            "Rule from",
        ],
        rows,
    }
}

fn action_cell(s: &StatusEntry) -> String {
    let mut out = s.action.to_string();
    if let Some(rule) = &s.rule {
        let _ = write!(out, ": {rule}");
    }
    for o in &s.overrides {
        let action = o
            .action
            .map(|a| a.to_string())
            .unwrap_or_else(|| s.action.to_string());
        let _ = write!(out, " On {}: {action}", o.method);
        if let Some(rule) = &o.rule {
            let _ = write!(out, " ({rule})");
        }
        out.push('.');
    }
    out
}

fn api_table(api: &Api) -> Table {
    let mut rows = Vec::new();
    for code in &api.codes {
        for m in &code.messages {
            rows.push(vec![
                code.code.to_string(),
                m.text.clone(),
                m.when.clone(),
                code.category.to_string(),
                code.outcome.to_string(),
                code.http_status.to_string(),
                code.action.to_string(),
            ]);
        }
    }
    let head = vec![
        "Code",
        "Message",
        "When",
        "Category",
        "Outcome",
        "HTTP",
        "Client action",
    ];
    Table { head, rows }
}

fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn markdown_table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "| {} |", t.head.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(t.head.len()));
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

fn html_table(out: &mut String, t: &Table) {
    out.push_str("<table>\n<thead><tr>");
    for h in &t.head {
        let _ = write!(out, "<th>{}</th>", html_escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<td>{}</td>", html_escape(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The contract's reference: its statuses, then each API's application codes.
///
/// ```
/// use verdict::render::{render, Format};
/// let webex = verdict::Catalog::builtin().get("webex").unwrap();
/// let md = render(webex, Format::Markdown);
/// assert!(md.contains("| 423 | Locked |"));
/// ```
pub fn render(c: &Contract, format: Format) -> String {
    let mut sections: Vec<(String, Option<String>, Table)> = Vec::new();
    let statuses = status_table(c);
    if !statuses.rows.is_empty() {
        sections.push(("HTTP statuses".into(), None, statuses));
    }
    for api in &c.apis {
        sections.push((
            format!("{} ({})", api.name, api.id),
            api.summary.clone(),
            api_table(api),
        ));
    }
    let source = c.source.as_ref().map(|s| match &s.title {
        Some(t) => format!("From \"{t}\" ({}).", s.document),
        None => format!("From {}.", s.document),
    });
    let mut out = String::new();
    match format {
        Format::Markdown => {
            let _ = writeln!(out, "# {} — response codes\n", md_cell(&c.name));
            for line in [c.summary.clone(), source].into_iter().flatten() {
                let _ = writeln!(out, "{}\n", md_cell(&line));
            }
            for (title, summary, table) in &sections {
                let _ = writeln!(out, "## {}\n", md_cell(title));
                if let Some(s) = summary {
                    let _ = writeln!(out, "{}\n", md_cell(s));
                }
                markdown_table(&mut out, table);
                out.push('\n');
            }
        }
        Format::Html => {
            let name = html_escape(&c.name);
            let _ = write!(
                out,
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{name} — response codes</title>\n\
                 <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:2em}}\
                 th,td{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}th{{background:#f3f3f3}}</style>\n\
                 </head>\n<body>\n<h1>{name} — response codes</h1>\n"
            );
            for line in [c.summary.clone(), source].into_iter().flatten() {
                let _ = writeln!(out, "<p>{}</p>", html_escape(&line));
            }
            for (title, summary, table) in &sections {
                let _ = writeln!(out, "<h2>{}</h2>", html_escape(title));
                if let Some(s) = summary {
                    let _ = writeln!(out, "<p>{}</p>", html_escape(s));
                }
                html_table(&mut out, table);
            }
            out.push_str("</body>\n</html>\n");
        }
    }
    out
}
