//! Status entries, class rules, per-method overrides and variants: read as written, then resolved against the base contract.

use super::*;

/// The action-related fields of a status, an override or an application code.
#[derive(Debug, Clone, Default)]
pub(super) struct PartialAction {
    pub(super) kind: Option<ActionKind>,
    pub(super) floor: Option<Duration>,
    pub(super) floor_over_header: Option<bool>,
    pub(super) redirect: Option<RedirectMethod>,
    pub(super) permanent: Option<bool>,
    pub(super) span: Span,
    pub(super) path: String,
}

#[derive(Debug, Clone)]
pub(super) struct PartialOverride {
    pub(super) method: Method,
    pub(super) action: PartialAction,
    pub(super) category: Option<Category>,
    pub(super) meaning: Option<String>,
    pub(super) rule: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct PartialStatus {
    pub(super) code: u16,
    pub(super) span: Span,
    pub(super) path: String,
    pub(super) title: Option<String>,
    pub(super) meaning: Option<String>,
    pub(super) wire_message: Option<String>,
    pub(super) category: Option<Category>,
    pub(super) action: PartialAction,
    pub(super) replay_safe: Option<bool>,
    pub(super) headers: Option<Vec<Header>>,
    pub(super) rule: Option<String>,
    pub(super) origin: Option<Origin>,
    pub(super) overrides: Vec<PartialOverride>,
    pub(super) variants: Vec<PartialVariant>,
    pub(super) shrink: Option<Shrink>,
}

#[derive(Debug, Clone)]
pub(super) struct PartialVariant {
    pub(super) when: Condition,
    pub(super) meaning: Option<String>,
    pub(super) category: Option<Category>,
    pub(super) action: PartialAction,
    pub(super) rule: Option<String>,
}

pub(super) const ACTION_KEYS: &[&str] = &[
    "action",
    "wait_floor_s",
    "wait_floor_over_header",
    "redirect",
    "permanent",
];

pub(super) fn read_action(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> PartialAction {
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
    pub(super) fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.floor.is_none()
            && self.floor_over_header.is_none()
            && self.redirect.is_none()
            && self.permanent.is_none()
    }

    /// Combines these fields with an inherited action into a complete one.
    pub(super) fn resolve(
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
pub(super) const ENTRY_KEYS: &[&str] = &[
    "title",
    "meaning",
    "wire_message",
    "category",
    "replay_safe",
    "headers",
    "rule",
    "origin",
    "override",
    "variant",
    "shrink",
];

pub(super) fn read_status(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<PartialStatus> {
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
pub(super) fn read_class(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<PartialStatus> {
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
pub(super) fn read_entry(cx: &mut Cx<'_>, t: &Obj<'_, '_>, code: u16) -> PartialStatus {
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
        wire_message: read_wire_message(cx, t),
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

/// `wire_message = "Validation Failed"`: the vendor's exact text, never empty or padded
/// (the emulator sends it byte for byte).
fn read_wire_message(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<String> {
    let text = t.string(cx, "wire_message")?;
    let span = t.get("wire_message").map(Spanned::span).unwrap_or_default();
    if text.trim().is_empty() {
        cx.report(
            span,
            t.field("wire_message"),
            "must not be empty; leave it out to send the meaning",
        );
        return None;
    }
    Some(text)
}

/// `shrink = { param = "max", floor = 10 }`.
pub(super) fn read_shrink(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<Shrink> {
    t.check_keys(cx, &["param", "floor"]);
    let param = t.required_string(cx, "param")?;
    let floor = t
        .integer(cx, "floor", 1..1_000_001)
        .map_or(1, |(n, _)| n as u32);
    Some(Shrink { param, floor })
}

/// A `[[status.variant]]`: a condition and what it changes.
pub(super) fn read_variant(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<PartialVariant> {
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
pub(super) fn read_condition(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<Condition> {
    let Some(w) = t.table(cx, "when") else {
        cx.report(t.span.clone(), t.field("when"), "is required");
        return None;
    };
    condition_from(cx, &w)
}

/// One condition table: `{ header }`, `{ header, equals }`, `{ pointer }` or
/// `{ pointer, equals }`.
pub(super) fn condition_from(cx: &mut Cx<'_>, w: &Obj<'_, '_>) -> Option<Condition> {
    w.check_keys(cx, &["header", "pointer", "equals"]);
    let equals = w.string(cx, "equals");
    let header: Option<Header> = w.parsed(cx, "header");
    let pointer: Option<JsonPointer> = w.parsed(cx, "pointer");
    match (header, pointer, equals) {
        (Some(h), None, None) => Some(Condition::Header(h)),
        (Some(h), None, Some(v)) => Some(Condition::HeaderEquals(h, v)),
        (None, Some(p), Some(v)) => Some(Condition::Body(p, v)),
        (None, Some(p), None) => Some(Condition::BodyHas(p)),
        _ => {
            cx.report(
                w.span.clone(),
                w.path.clone(),
                "a condition names a header or a pointer (each with or without equals)",
            );
            None
        }
    }
}

/// The document's statuses over those of its base: a status the document does not list is
/// inherited as the base has it (marked not documented by this contract).
pub(super) fn resolve_statuses(
    doc: &Document,
    base: Option<&Contract>,
    found: &mut Vec<(Span, String, String)>,
) -> Vec<StatusEntry> {
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
        statuses.extend(resolve_entry(p, inherited, found, "status"));
    }
    statuses
}

/// The contract's class rules (its own, then the base's it does not replace). Its own
/// rules are its document speaking for the whole class: an entry of that class it only
/// inherits (an RFC default) follows their action and rule.
pub(super) fn resolve_classes(
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

/// The entry's own value of a field, else the inherited entry's.
fn own_or<T: Clone>(
    own: &Option<T>,
    inherited: Option<&StatusEntry>,
    field: impl Fn(&StatusEntry) -> &Option<T>,
) -> Option<T> {
    own.clone()
        .or_else(|| inherited.and_then(|i| field(i).clone()))
}

/// One `[[status]]` (or `[[class]]`, `what_kind`) entry with what it inherits filled in;
/// `None` after reporting what it lacks.
pub(super) fn resolve_entry(
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
        title: own_or(&p.title, inherited, |i| &i.title),
        meaning,
        wire_message: own_or(&p.wire_message, inherited, |i| &i.wire_message),
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
        shrink: own_or(&p.shrink, inherited, |i| &i.shrink),
        documented: true,
    })
}

/// An entry's method overrides, their actions completed from the entry's `action`.
pub(super) fn resolve_overrides(
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
pub(super) fn resolve_variants(
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
