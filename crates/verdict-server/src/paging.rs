//! Lists: a page of the caller's items that pass the query's filters, sized and started
//! as the contract's page style says (a cursor, a page number or an offset), with the
//! next page given in a `Link` header, in the body, or both.

use serde_json::{Value, json};
use verdict::{LinkRelation, PageOversize, PageStyle};

use crate::Emulator;
use crate::address::{Target, collection_prefix, visible};
use crate::reply::{FieldFault, Reply};
use crate::request::{Ctx, Principal};
use crate::search;
use crate::state::Item;

/// A page of a list: its items, where the next page starts when there is one, and how many
/// items pass the query in all (counted only where a `last` link needs it).
struct Page {
    items: Vec<Value>,
    next: Option<u64>,
    total: Option<u64>,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// After the item written at this number (a cursor).
    After(u64),
    /// After skipping this many items (a page number or an offset).
    Skip(u64),
}

impl Emulator {
    /// `GET` of a collection: a page of the caller's items that pass the filters.
    pub(crate) fn list(&self, ctx: &Ctx<'_>, t: &Target<'_>, who: &Principal) -> Reply {
        let pairs = ctx.req.query_pairs();
        let size = match self.page_size(ctx, &pairs) {
            Ok(size) => size,
            Err(refused) => return refused,
        };
        let start = match self.page_start(ctx, &pairs, size) {
            Ok(start) => start,
            Err(refused) => return refused,
        };
        let query = match self.search_query(ctx, t, &pairs) {
            Ok(query) => query,
            Err(refused) => return refused,
        };
        let terms = query.map_or_else(Vec::new, |q| {
            let fields: Vec<&str> = t.r.fields.iter().map(|f| f.name.as_str()).collect();
            search::terms(q, &fields)
        });
        let page = self.page(t, who, &pairs, &terms, size, start);
        let next = page.next.map(|n| self.start_text(n, size));
        let mut body = self.list_body(t, page.items);
        if let Some(pointer) = &self.spec.next_cursor {
            pointer.put(&mut body, Value::String(next.clone().unwrap_or_default()));
        }
        let reply = self.content_type(Reply::json(200, &body), t.r);
        if !self.spec.link_pagination {
            return reply;
        }
        let places = Places {
            start,
            size,
            next,
            total: page.total,
        };
        self.links(reply, ctx, pairs, &places)
    }

    /// A page start as the query writes it: a page number from 1, else the cursor or
    /// offset itself.
    fn start_text(&self, n: u64, size: u32) -> String {
        match self.spec.page_style {
            PageStyle::Page => (n / u64::from(size) + 1).to_string(),
            _ => n.to_string(),
        }
    }

    /// The page size the query asks for (the contract's default when it names none;
    /// the limit for a larger one where the contract caps it), or the refusal of one out
    /// of range.
    fn page_size(&self, ctx: &Ctx<'_>, pairs: &[(String, String)]) -> Result<u32, Reply> {
        let asked = self
            .spec
            .page_param
            .as_ref()
            .and_then(|p| pairs.iter().find(|(k, _)| k == p));
        let Some((k, v)) = asked else {
            return Ok(self.spec.page_default);
        };
        let limit = self.spec.page_limit;
        let capped = self.spec.page_oversize == PageOversize::Cap;
        match v.parse::<u32>() {
            Ok(n) if n >= 1 && n <= limit => Ok(n),
            Ok(n) if n > limit && capped => Ok(limit),
            Ok(n) if n > limit => Err(self.error(
                ctx,
                self.spec.page_limit_status,
                Some(&format!(
                    "{k}={n} asks for more than the {limit} items a page may hold; ask for fewer."
                )),
                &[],
            )),
            _ => Err(self.error(
                ctx,
                400,
                Some(&format!("{k} must be a number from 1 to {limit}.")),
                &[format!("{k} is invalid")],
            )),
        }
    }

    /// Where the page starts (the first item without a cursor, page or offset), or the
    /// refusal of a value this emulator would not give out.
    fn page_start(
        &self,
        ctx: &Ctx<'_>,
        pairs: &[(String, String)],
        size: u32,
    ) -> Result<Start, Reply> {
        let name = &self.spec.cursor_param;
        let style = self.spec.page_style;
        let Some((_, v)) = pairs.iter().find(|(k, _)| k == name) else {
            return Ok(match style {
                PageStyle::Cursor => Start::After(0),
                _ => Start::Skip(0),
            });
        };
        let start = match style {
            // Slack sends an empty cursor for the first page.
            PageStyle::Cursor if v.is_empty() => Some(Start::After(0)),
            PageStyle::Cursor => v.parse().ok().map(Start::After),
            PageStyle::Page => v
                .parse::<u64>()
                .ok()
                .filter(|p| *p >= 1)
                .map(|p| Start::Skip((p - 1).saturating_mul(u64::from(size)))),
            PageStyle::Offset => v.parse().ok().map(Start::Skip),
        };
        start.ok_or_else(|| {
            let why = match style {
                PageStyle::Cursor => format!("{name} is not one this emulator gave out."),
                PageStyle::Page => format!("{name} must be a number from 1."),
                PageStyle::Offset => format!("{name} must be a number from 0."),
            };
            let r = &self.spec.cursor_refusal;
            let message = r.message.as_deref().unwrap_or(&why);
            let fields = [format!("{name} is invalid")];
            self.coded_error(ctx, r.status_or(400), message, r.code.as_deref(), &fields)
        })
    }

    /// The search a list operation requires (`search`), when it has one: its text, or
    /// the refusal of a list without it, as a create without a required field is refused.
    fn search_query<'p>(
        &self,
        ctx: &Ctx<'_>,
        t: &Target<'_>,
        pairs: &'p [(String, String)],
    ) -> Result<Option<&'p str>, Reply> {
        let Some(name) = t.op.and_then(|o| o.search.as_ref()) else {
            return Ok(None);
        };
        match pairs.iter().find(|(k, _)| k == name) {
            Some((_, v)) if !v.trim().is_empty() => Ok(Some(v)),
            _ => {
                let shape = self.contract.error_body.field_error.as_ref();
                let code = shape.map_or("missing", |s| s.missing.as_str());
                let faults = [FieldFault { field: name, code }];
                let (status, why) = (
                    self.spec.missing_field_status,
                    format!("{name} is required."),
                );
                Err(self.resource_fields_refused(ctx, status, t.r, why, &faults))
            }
        }
    }

    /// Up to `size` of the caller's items from `start` that pass the query's filters and
    /// search `terms`, and where the next page starts (a cursor, page number or offset)
    /// when there are more.
    fn page(
        &self,
        t: &Target<'_>,
        who: &Principal,
        pairs: &[(String, String)],
        terms: &[search::Term<'_>],
        size: u32,
        start: Start,
    ) -> Page {
        let r = t.r;
        let count = self.spec.link_relations.contains(&LinkRelation::Last);
        let filters: Vec<(&String, &String)> = pairs
            .iter()
            .filter(|(k, _)| r.filters.contains(k))
            .map(|(k, v)| (k, v))
            .collect();
        let keep = |item: &Item| {
            visible(item, who)
                && filters.iter().all(|(k, v)| {
                    item.value.get(k.as_str()).and_then(Value::as_str) == Some(v.as_str())
                })
                && search::matches(&item.value, terms)
        };
        let after = match start {
            Start::After(n) => n,
            Start::Skip(_) => 0,
        };
        let mut state = self.lock();
        if t.spans() {
            let prefix = collection_prefix(r, &t.scope);
            let mut items: Vec<(u64, &Item)> = state
                .collections_under(&prefix)
                .flat_map(|c| c.after(after))
                .collect();
            items.sort_by_key(|(seq, _)| *seq);
            return take(items.into_iter(), keep, size, start, count);
        }
        let c = state.collection(&t.collection());
        take(c.after(after), keep, size, start, count)
    }

    /// A page as the contract's list body holds it: bare, or under its list key with the
    /// envelope's members.
    fn list_body(&self, t: &Target<'_>, page: Vec<Value>) -> Value {
        let r = t.r;
        let key =
            t.op.and_then(|o| o.list_key.as_ref())
                .or(r.list_key.as_ref())
                .or(self.spec.list_key.as_ref());
        match key {
            Some(key) => {
                let key = if key == "{resource}" {
                    r.name.clone()
                } else {
                    key.clone()
                };
                let mut body = json!({ key: page });
                if let Value::Object(o) = &mut body {
                    for (k, v) in &r.envelope {
                        o.insert(k.clone(), v.clone());
                    }
                }
                body
            }
            None => Value::Array(page),
        }
    }

    /// `reply` with a `Link` header giving the contract's relations for this page, each
    /// the same query with another cursor, page or offset.
    fn links(
        &self,
        reply: Reply,
        ctx: &Ctx<'_>,
        pairs: Vec<(String, String)>,
        places: &Places,
    ) -> Reply {
        let req = ctx.req;
        let name = &self.spec.cursor_param;
        let rest: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != name).collect();
        let mut links = Vec::new();
        for rel in &self.spec.link_relations {
            let at = match rel {
                LinkRelation::Next => places.next.clone(),
                other => places
                    .skip_for(*other)
                    .map(|n| self.start_text(n, places.size)),
            };
            let Some(at) = at else {
                continue;
            };
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&rest)
                .append_pair(name, &at)
                .finish();
            links.push(format!(
                "<{}{}?{query}>; rel=\"{rel}\"",
                req.origin(),
                req.path
            ));
        }
        match links.is_empty() {
            true => reply,
            false => reply.header("Link", links.join(", ")),
        }
    }
}

/// Where a page stands among the others, for its `Link` header.
struct Places {
    start: Start,
    size: u32,
    /// The next page's start as the query writes it.
    next: Option<String>,
    total: Option<u64>,
}

impl Places {
    /// The skip of the page `rel` names, for page and offset styles: none for a cursor,
    /// nor where there is no such page (before the first, after the last).
    fn skip_for(&self, rel: LinkRelation) -> Option<u64> {
        let Start::Skip(skip) = self.start else {
            return None;
        };
        let size = u64::from(self.size);
        match rel {
            // The page itself knows whether one follows.
            LinkRelation::Next => None,
            LinkRelation::Prev => (skip > 0).then(|| skip.saturating_sub(size)),
            LinkRelation::First => (skip > 0).then_some(0),
            LinkRelation::Last => {
                let last = self.total?.saturating_sub(1) / size * size;
                (skip < last).then_some(last)
            }
        }
    }
}

/// The page from `items` (in the order they were written, each with its number): those
/// `keep` passes, from `start`, at most `size`; the next page's start when more pass; and,
/// with `count`, how many pass in all. A cursor is the number just before the next page's
/// first item; a page number or offset is where the next page starts.
fn take<'i>(
    items: impl Iterator<Item = (u64, &'i Item)>,
    keep: impl Fn(&Item) -> bool,
    size: u32,
    start: Start,
    count: bool,
) -> Page {
    let skip = match start {
        Start::Skip(n) => n,
        Start::After(_) => 0,
    };
    let mut page = Page {
        items: Vec::new(),
        next: None,
        total: None,
    };
    let mut passed = 0u64;
    for (seq, item) in items.filter(|(_, it)| keep(it)) {
        passed += 1;
        if passed <= skip {
            continue;
        }
        if page.items.len() < size as usize {
            page.items.push(item.value.clone());
        } else if page.next.is_none() {
            page.next = Some(match start {
                Start::After(_) => seq - 1,
                Start::Skip(n) => n + u64::from(size),
            });
            if !count {
                return page;
            }
        }
    }
    page.total = count.then_some(passed);
    page
}
