//! Lists: a page of the caller's items that pass the query's filters, sized and started
//! as the contract's page style says (a cursor, a page number or an offset), with the
//! next page given in a `Link` header, in the body, or both.

use serde_json::{Value, json};
use verdict::{PageOversize, PageStyle};

use crate::Emulator;
use crate::address::{Target, collection_prefix, visible};
use crate::reply::Reply;
use crate::request::{Ctx, Principal};
use crate::state::Item;

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
        let (page, more) = self.page(t, who, &pairs, size, start);
        let next = more.map(|n| match self.spec.page_style {
            PageStyle::Page => (n / u64::from(size) + 1).to_string(),
            _ => n.to_string(),
        });
        let mut body = self.list_body(t, page);
        if let Some(pointer) = &self.spec.next_cursor {
            pointer.put(&mut body, Value::String(next.clone().unwrap_or_default()));
        }
        let reply = self.content_type(Reply::json(200, &body), t.r);
        match next {
            Some(at) if self.spec.link_pagination => self.next_link(reply, ctx, pairs, &at),
            _ => reply,
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
            self.error(ctx, 400, Some(&why), &[format!("{name} is invalid")])
        })
    }

    /// Up to `size` of the caller's items from `start` that pass the query's filters, and
    /// where the next page starts (a cursor, page number or offset) when there are more.
    fn page(
        &self,
        t: &Target<'_>,
        who: &Principal,
        pairs: &[(String, String)],
        size: u32,
        start: Start,
    ) -> (Vec<Value>, Option<u64>) {
        let r = t.r;
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
            return take(items.into_iter(), keep, size, start);
        }
        let c = state.collection(&t.collection());
        take(c.after(after), keep, size, start)
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

    /// `reply` with a `Link` to the next page: the same query with the next cursor, page
    /// or offset.
    fn next_link(
        &self,
        reply: Reply,
        ctx: &Ctx<'_>,
        pairs: Vec<(String, String)>,
        at: &str,
    ) -> Reply {
        let req = ctx.req;
        let name = &self.spec.cursor_param;
        let mut q: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != name).collect();
        q.push((name.clone(), at.to_owned()));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q)
            .finish();
        reply.header(
            "Link",
            format!("<{}{}?{query}>; rel=\"next\"", req.origin(), req.path),
        )
    }
}

/// The page from `items` (in the order they were written, each with its number): those
/// `keep` passes, from `start`, at most `size`; and the next page's start when more pass.
/// A cursor is the number just before the next page's first item; a page number or
/// offset is where the next page starts.
fn take<'i>(
    items: impl Iterator<Item = (u64, &'i Item)>,
    keep: impl Fn(&Item) -> bool,
    size: u32,
    start: Start,
) -> (Vec<Value>, Option<u64>) {
    let skip = match start {
        Start::Skip(n) => n,
        Start::After(_) => 0,
    };
    let mut page = Vec::new();
    for (seq, item) in items
        .filter(|(_, it)| keep(it))
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
    {
        if page.len() == size as usize {
            let next = match start {
                Start::After(_) => seq - 1,
                Start::Skip(n) => n + u64::from(size),
            };
            return (page, Some(next));
        }
        page.push(item.value.clone());
    }
    (page, None)
}
