//! The emulator's state, in memory: resources with their ETags, tokens, quota counters,
//! queued faults, locks, moves, the maintenance flag and the request journal.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// The maps the request path looks up on every request (ids, credentials, collection
/// names): foldhash, seeded per process, instead of the slower SipHash.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// A set with [`FastMap`]'s hasher.
pub type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::fault::Fault;

/// One stored resource.
#[derive(Debug, Clone)]
pub struct Item {
    pub seq: u64,
    pub value: Value,
    pub etag: String,
    /// The account that owns it (token-api: another account's id is a 404).
    pub owner: String,
    /// Work accepted with 202 is finished at this time.
    pub ready_at: Option<Instant>,
    /// When it was last created or changed, in milliseconds since the epoch (its
    /// Last-Modified).
    pub modified_ms: u64,
}

/// What a new item holds; the state gives it its number, ETag and time.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub value: Value,
    pub owner: String,
    pub ready_at: Option<Instant>,
}

/// One collection. Read through its methods; written only through [`State::insert`],
/// [`State::update`] and [`State::remove`], which keep the order, the ETags, the cached
/// bodies and, with shared state, the record of what changed.
#[derive(Debug, Default)]
pub struct Collection {
    items: FastMap<String, Item>,
    /// Ids by the number they were created at: the order of lists.
    order: BTreeMap<u64, String>,
    /// Ids deleted where the contract says deleted means gone (410).
    gone: FastSet<String>,
    /// Items' JSON as last read, with the ETag (as the header value sent) it was serialized
    /// at: a read of the same version sends it again.
    bodies: FastMap<String, Serialized>,
}

/// One version of an item as a read sends it: its validators as header values and its JSON.
#[derive(Debug, Clone)]
pub struct Serialized {
    /// The ETag header.
    pub etag: http::HeaderValue,
    /// When it was last changed, to the second (Last-Modified is written in seconds).
    pub modified: std::time::SystemTime,
    /// The Last-Modified header.
    pub last_modified: http::HeaderValue,
    /// The item's JSON.
    pub body: bytes::Bytes,
}

impl Serialized {
    /// `value` at the version of `etag`, last changed at `modified_ms` since the epoch.
    pub fn new(etag: &str, modified_ms: u64, value: &serde_json::Value) -> Self {
        let modified = std::time::UNIX_EPOCH + Duration::from_secs(modified_ms / 1000);
        let date = httpdate::fmt_http_date(modified);
        Serialized {
            etag: http::HeaderValue::from_str(etag)
                .unwrap_or_else(|_| http::HeaderValue::from_static("\"0\"")),
            modified,
            last_modified: http::HeaderValue::from_str(&date).unwrap_or_else(|_| {
                http::HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")
            }),
            body: serde_json::to_vec(value).unwrap_or_default().into(),
        }
    }
}

impl Collection {
    /// The item with this id.
    pub fn get(&self, id: &str) -> Option<&Item> {
        self.items.get(id)
    }

    /// Whether an item has this id.
    pub fn contains(&self, id: &str) -> bool {
        self.items.contains_key(id)
    }

    /// Whether the item with this id was deleted for good (410).
    pub fn is_gone(&self, id: &str) -> bool {
        self.gone.contains(id)
    }

    /// How many items it holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Every item with its id, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Item)> {
        self.items.iter()
    }

    /// The items created after number `seq`, in the order they were created, with their
    /// numbers.
    pub fn after(&self, seq: u64) -> impl Iterator<Item = (u64, &Item)> {
        let from = std::ops::Bound::Excluded(seq);
        self.order
            .range((from, std::ops::Bound::Unbounded))
            .filter_map(|(n, id)| self.items.get(id).map(|item| (*n, item)))
    }

    /// The item as a read sends it, serialized once per version and kept.
    pub fn body(&mut self, id: &str) -> Option<Serialized> {
        let item = self.items.get(id)?;
        if let Some(kept) = self.bodies.get(id) {
            if kept.etag.as_bytes() == item.etag.as_bytes() {
                return Some(kept.clone());
            }
        }
        let made = Serialized::new(&item.etag, item.modified_ms, &item.value);
        self.bodies.insert(id.to_owned(), made.clone());
        Some(made)
    }

    /// Adds an item. Past a few thousand items, a map about to regrow grows by up to 64
    /// times, to at most twice `limit` (the store limit), rather than doubling: every
    /// regrowth moves all items while the state is locked, and doubling step by step held
    /// all requests up for tens of milliseconds at each step. The room beyond the limit is
    /// for stores that evict their oldest items at the limit: in a map kept half empty a
    /// removal frees its slot, where in a full one it leaves a marker, and the markers force
    /// a rehash of the whole map once they pile up. (p99 of the Webex Connect message
    /// benchmark while the store filled to 100 000 and then evicted: 14-37 ms before, 4-5 ms
    /// after, bar the first seconds.)
    fn put(&mut self, id: String, item: Item, limit: usize) {
        let len = self.items.len();
        if len >= 4096 && len == self.items.capacity() {
            let target = limit.saturating_mul(2).min(len.saturating_mul(64));
            self.items.reserve(target.saturating_sub(len).max(1));
        }
        self.bodies.remove(&id);
        if let Some(old) = self.items.remove(&id) {
            self.unorder(&old, &id);
        }
        self.order.insert(item.seq, id.clone());
        self.items.insert(id, item);
    }

    /// Removes an item, its place in the order and its cached body.
    fn take(&mut self, id: &str) -> Option<Item> {
        self.bodies.remove(id);
        let item = self.items.remove(id)?;
        self.unorder(&item, id);
        Some(item)
    }

    /// Frees `item`'s place in the order, unless another item holds that number now (a
    /// copy of shared state may hold an item written at the same number elsewhere).
    fn unorder(&mut self, item: &Item, id: &str) {
        if self.order.get(&item.seq).is_some_and(|o| o == id) {
            self.order.remove(&item.seq);
        }
    }
}

/// A credential the emulator knows.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Token {
    pub token: String,
    #[serde(default = "default_account")]
    pub account: String,
    #[serde(default)]
    pub revoked: bool,
    #[serde(default)]
    pub read_only: bool,
}

fn default_account() -> String {
    "account-1".into()
}

/// The credentials the emulator accepts, in the order they were added, each found by its
/// value in one lookup (Webex Connect benchmarks run with hundreds of service keys).
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    list: Vec<Token>,
    /// The position in `list` of each token's value.
    index: FastMap<String, usize>,
}

impl Tokens {
    /// The token whose value is `value`.
    pub fn get(&self, value: &str) -> Option<&Token> {
        self.index.get(value).map(|&i| &self.list[i])
    }

    /// Adds `token`, in place of one with the same value.
    pub fn put(&mut self, token: Token) {
        match self.index.get(&token.token) {
            Some(&i) => self.list[i] = token,
            None => {
                self.index.insert(token.token.clone(), self.list.len());
                self.list.push(token);
            }
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Token> {
        self.list.iter()
    }

    pub fn as_slice(&self) -> &[Token] {
        &self.list
    }
}

impl FromIterator<Token> for Tokens {
    /// Later tokens replace earlier ones with the same value.
    fn from_iter<I: IntoIterator<Item = Token>>(iter: I) -> Self {
        let mut tokens = Tokens::default();
        for t in iter {
            tokens.put(t);
        }
        tokens
    }
}

/// A fault queued through the admin API for the next matching requests.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct QueuedFault {
    #[serde(default)]
    pub id: u64,
    /// The method to match; any when absent.
    pub method: Option<String>,
    /// The path to match exactly, or a prefix when it ends with `*`.
    pub path: String,
    /// How many matching requests it answers.
    #[serde(default = "one")]
    pub times: u32,
    #[serde(flatten)]
    pub fault: Fault,
}

fn one() -> u32 {
    1
}

impl QueuedFault {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        };
        path_ok
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// One request as the journal keeps it: its own copy of the parts, turned into text only
/// when the journal is read (recording runs on every request). The copy matters: header
/// values and small bodies arrive as slices of the connection's read buffer, and keeping
/// those slices would keep every buffer they came from alive. Once the journal is full, the
/// oldest entry's buffers are written over for the newest (see [`Journal::record_with`]).
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub seq: u64,
    pub at: std::time::SystemTime,
    pub method: http::Method,
    /// Path and query.
    pub path: String,
    /// The headers as `name:value` lines, each ending in `\n` (a name holds no `:`, a
    /// value no line break).
    pub headers: Vec<u8>,
    /// The body, up to the first 64 KiB.
    pub body: Vec<u8>,
    pub status: u16,
    pub duration: Duration,
}

impl Default for JournalEntry {
    fn default() -> Self {
        JournalEntry {
            seq: 0,
            at: std::time::UNIX_EPOCH,
            method: http::Method::GET,
            path: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
            status: 0,
            duration: Duration::ZERO,
        }
    }
}

/// Empties `buf` for new content of `len` bytes, keeping its allocation unless that is far
/// larger than needed (a journal of reused entries must not keep every large body it saw).
fn reuse(buf: &mut Vec<u8>, len: usize) {
    if buf.capacity() > 1024 && buf.capacity() / 4 > len {
        *buf = Vec::with_capacity(len);
    } else {
        buf.clear();
    }
}

impl JournalEntry {
    /// Makes this entry the record of a request (everything but `seq`), reusing its
    /// buffers; the body is kept up to its first 64 KiB.
    pub fn fill(
        &mut self,
        method: &http::Method,
        path: &str,
        query: &str,
        headers: &http::HeaderMap,
        body: &[u8],
    ) {
        self.at = std::time::SystemTime::now();
        self.method = method.clone();
        self.path.clear();
        self.path.push_str(path);
        if !query.is_empty() {
            self.path.push('?');
            self.path.push_str(query);
        }
        let size = headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 2)
            .sum();
        reuse(&mut self.headers, size);
        for (k, v) in headers {
            self.headers.extend_from_slice(k.as_str().as_bytes());
            self.headers.push(b':');
            self.headers.extend_from_slice(v.as_bytes());
            self.headers.push(b'\n');
        }
        let body = &body[..body.len().min(65_536)];
        reuse(&mut self.body, body.len());
        self.body.extend_from_slice(body);
    }

    /// The headers as (name, value) pairs, in the order they came.
    pub fn header_pairs(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .filter_map(|line| {
                let colon = line.iter().position(|&b| b == b':')?;
                let name = std::str::from_utf8(&line[..colon]).ok()?;
                Some((name, &line[colon + 1..]))
            })
    }
}

impl Serialize for JournalEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut headers = BTreeMap::<&str, Vec<String>>::new();
        for (k, v) in self.header_pairs() {
            headers
                .entry(k)
                .or_default()
                .push(String::from_utf8_lossy(v).into_owned());
        }
        let mut m = s.serialize_map(Some(8))?;
        m.serialize_entry("seq", &self.seq)?;
        m.serialize_entry("at", &crate::util::timestamp(self.at))?;
        m.serialize_entry("method", self.method.as_str())?;
        m.serialize_entry("path", &self.path)?;
        m.serialize_entry("headers", &headers)?;
        m.serialize_entry("body", &String::from_utf8_lossy(&self.body))?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("duration_ms", &(self.duration.as_secs_f64() * 1000.0))?;
        m.end()
    }
}

/// A lock on a path: requests get 423 with Retry-After until it ends.
#[derive(Debug, Clone)]
pub struct Lock {
    pub until: Instant,
    pub retry_after: u64,
}

/// A path that answers with a redirect.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Move {
    pub from: String,
    pub to: String,
    #[serde(default = "moved_permanently")]
    pub status: u16,
}

fn moved_permanently() -> u16 {
    301
}

/// A sliding-window counter of one quota: the requests counted in the current fixed window
/// (windows are aligned on the epoch) and in the one before it. The requests of the last
/// `window` are estimated as the current count plus the previous one weighted by the share
/// of the previous window still inside the last `window`; unlike a fixed window, a client
/// cannot send twice the quota around a window's edge. The Redis script of `shared.rs`
/// counts the same way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slide {
    /// The current window: milliseconds since the epoch divided by the window's length.
    pub index: u64,
    pub current: u32,
    pub previous: u32,
}

impl Slide {
    /// Spends `n` of `limit` per `window_ms` at `now_ms` (milliseconds since the epoch):
    /// what is left and the milliseconds until the current window ends, or, when that
    /// would go over, the milliseconds until it would not (nothing is spent then).
    pub fn spend(
        &mut self,
        now_ms: u64,
        window_ms: u64,
        limit: u32,
        n: u32,
    ) -> Result<(u32, u64), u64> {
        let w = window_ms.max(1);
        let k = now_ms / w;
        if k == self.index.wrapping_add(1) {
            self.previous = self.current;
            self.current = 0;
        } else if k != self.index {
            self.previous = 0;
            self.current = 0;
        }
        self.index = k;
        let left = w - (now_ms - k * w);
        let (wf, limit_f, n_f) = (w as f64, f64::from(limit), f64::from(n));
        let (previous, current) = (f64::from(self.previous), f64::from(self.current));
        let estimate = previous * left as f64 / wf + current;
        if estimate + n_f > limit_f {
            return Err(self.wait(left, w, limit, n));
        }
        self.current = self.current.saturating_add(n);
        let remaining = (limit_f - estimate - n_f).floor().max(0.0) as u32;
        if remaining == 0 {
            // Nothing left: the reset a client paces itself by is when one more request
            // fits, which on a sliding window can be past the end of this window.
            return Ok((0, self.wait(left, w, limit, 1)));
        }
        Ok((remaining, left))
    }

    /// The milliseconds until `n` more fit, `left` milliseconds before the current
    /// window ends.
    fn wait(&self, left: u64, w: u64, limit: u32, n: u32) -> u64 {
        let (wf, limit_f, n_f) = (w as f64, f64::from(limit), f64::from(n));
        let (previous, current) = (f64::from(self.previous), f64::from(self.current));
        let room = limit_f - current - n_f;
        let wait = if room >= 0.0 && self.previous > 0 {
            // Within this window, once enough of the previous one has slid out.
            left as f64 - room * wf / previous
        } else if n_f > limit_f {
            // Never; say two windows, the most any other wait can be.
            2.0 * wf
        } else if self.current == 0 {
            left as f64
        } else {
            // In the next window, once enough of this one has slid out.
            left as f64 + wf * (1.0 - (limit_f - n_f) / current)
        };
        (wait.max(0.0).ceil() as u64).max(1)
    }
}

/// Everything that changes while the emulator runs.
#[derive(Debug, Default)]
pub struct State {
    collections: FastMap<String, Collection>,
    seq: u64,
    tokens: Tokens,
    /// Per credential: (quota index, its counter).
    pub quota_windows: FastMap<String, Vec<(usize, Slide)>>,
    faults: Vec<QueuedFault>,
    pub fault_seq: u64,
    locks: HashMap<String, Lock>,
    moves: Vec<Move>,
    maintenance: Option<u64>,
    /// Quotas set through the admin API, replacing the configured ones.
    quotas: Option<Vec<verdict::emulate::Quota>>,
    /// With shared state: the store's version this copy reflects.
    pub version: u64,
    /// With shared state: what the request being answered changed, to be written back.
    pub changes: Option<Changes>,
}

/// Tokens, faults, locks (until, as milliseconds since the epoch, and `Retry-After`),
/// moves, maintenance and quotas as a shared store holds them.
#[derive(Serialize, serde::Deserialize, Default)]
pub(crate) struct Settings {
    tokens: Vec<Token>,
    faults: Vec<QueuedFault>,
    locks: HashMap<String, (u64, u64)>,
    moves: Vec<Move>,
    maintenance: Option<u64>,
    quotas: Option<Vec<verdict::emulate::Quota>>,
}

/// What one request changed, so that shared state writes back only that.
#[derive(Debug, Default)]
pub struct Changes {
    /// Items (collection, id) written or removed, with their gone mark.
    pub items: std::collections::BTreeSet<(String, String)>,
    /// Tokens, faults, locks, moves, maintenance or quotas changed.
    pub settings: bool,
    /// Quota spent, for Redis to count and allow or refuse.
    pub asks: Vec<Ask>,
    /// Quotas Redis refused on an earlier run of this request: the seconds to their reset.
    pub denied: HashMap<(String, usize), u64>,
    /// Every quota window starts again.
    pub windows_cleared: bool,
    /// Everything was reset.
    pub reset: bool,
}

impl Changes {
    /// Whether the state needs no write back (quota spent aside).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && !self.settings && !self.windows_cleared && !self.reset
    }
}

/// Quota spent by a request: `n` of `limit` per `window` of quota `index` of `credential`.
#[derive(Debug, Clone)]
pub struct Ask {
    pub credential: String,
    pub index: usize,
    pub limit: u32,
    pub window: Duration,
    pub n: u32,
}

/// The journal keeps at most this many requests.
pub const JOURNAL_LIMIT: usize = 10_000;

/// Every request seen (the most recent [`JOURNAL_LIMIT`]), behind its own lock so that
/// recording does not hold up the state.
#[derive(Debug, Default)]
pub struct Journal {
    pub entries: VecDeque<JournalEntry>,
    pub seq: u64,
}

impl Journal {
    /// Records one more request: `fill` writes it into an entry, the oldest one's when the
    /// journal is full (so that, once full, recording allocates nothing).
    pub fn record_with(&mut self, fill: impl FnOnce(&mut JournalEntry)) {
        self.seq += 1;
        let mut entry = if self.entries.len() >= JOURNAL_LIMIT {
            self.entries.pop_front().unwrap_or_default()
        } else {
            JournalEntry::default()
        };
        fill(&mut entry);
        entry.seq = self.seq;
        self.entries.push_back(entry);
    }
}

impl State {
    pub fn token(&self, value: &str) -> Option<&Token> {
        self.tokens.get(value)
    }

    /// Marks an item of a collection as changed (written, removed or marked gone).
    fn touch(&mut self, collection: &str, id: &str) {
        if let Some(c) = &mut self.changes {
            c.items.insert((collection.to_owned(), id.to_owned()));
        }
    }

    /// How many items all collections hold.
    pub fn stored(&self) -> usize {
        self.collections.values().map(Collection::len).sum()
    }

    /// The last number given to a write.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The collection of this name, when it has been used.
    pub fn find(&self, collection: &str) -> Option<&Collection> {
        self.collections.get(collection)
    }

    /// Adds (or replaces) item `id` of `collection` with a new number, ETag and time;
    /// `limit` is the store limit (see [`Collection::put`]).
    pub fn insert(&mut self, collection: &str, id: &str, new: NewItem, limit: usize) -> &Item {
        let seq = self.next_seq();
        self.touch(collection, id);
        let item = Item {
            seq,
            value: new.value,
            etag: format!("\"{seq}\""),
            owner: new.owner,
            ready_at: new.ready_at,
            modified_ms: crate::util::wall_ms(),
        };
        let c = self.collection(collection);
        c.put(id.to_owned(), item, limit);
        c.items.get(id).expect("just put")
    }

    /// Changes item `id` of `collection` in place: a new ETag and time; `None` when there
    /// is no such item.
    pub fn update(
        &mut self,
        collection: &str,
        id: &str,
        change: impl FnOnce(&mut Value),
    ) -> Option<&Item> {
        if !self.collection(collection).contains(id) {
            return None;
        }
        let seq = self.next_seq();
        self.touch(collection, id);
        let c = self.collection(collection);
        c.bodies.remove(id);
        let item = c.items.get_mut(id)?;
        change(&mut item.value);
        item.etag = format!("\"{seq}\"");
        item.modified_ms = crate::util::wall_ms();
        Some(item)
    }

    /// Removes item `id` of `collection`, marked gone for good (410) when `gone`.
    pub fn remove(&mut self, collection: &str, id: &str, gone: bool) -> Option<Item> {
        let c = self.collection(collection);
        let item = c.take(id)?;
        if gone {
            c.gone.insert(id.to_owned());
        }
        self.touch(collection, id);
        Some(item)
    }

    /// Removes the oldest items of `collection` until it holds at most `keep` (stores
    /// bounded by forgetting, such as issued tokens).
    pub fn remove_oldest(&mut self, collection: &str, keep: usize) {
        while self.collection(collection).len() > keep {
            let Some((_, id)) = self.collection(collection).order.pop_first() else {
                break;
            };
            self.remove(collection, &id, false);
        }
    }

    /// Puts into this copy an item as another emulator of the group wrote it (`None`:
    /// removed), with its gone mark. Not a change of this request: nothing is recorded.
    pub(crate) fn replicate(&mut self, collection: &str, id: &str, item: Option<Item>, gone: bool) {
        let c = self.collection(collection);
        c.take(id);
        if let Some(item) = item {
            c.put(id.to_owned(), item, 0);
        }
        if gone {
            c.gone.insert(id.to_owned());
        } else {
            c.gone.remove(id);
        }
    }

    /// Raises the last number given to a write to at least `seq` (from shared state).
    pub(crate) fn raise_seq(&mut self, seq: u64) {
        self.seq = self.seq.max(seq);
    }

    /// Marks the settings (tokens, faults, locks, moves, maintenance, quotas) as changed,
    /// for shared state to write back; every method that changes one calls it.
    fn touch_settings(&mut self) {
        if let Some(c) = &mut self.changes {
            c.settings = true;
        }
    }

    /// The settings as a shared store keeps them.
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            tokens: self.tokens.as_slice().to_vec(),
            faults: self.faults.clone(),
            locks: self
                .locks
                .iter()
                .map(|(p, l)| (p.clone(), (crate::util::epoch_ms(l.until), l.retry_after)))
                .collect(),
            moves: self.moves.clone(),
            maintenance: self.maintenance,
            quotas: self.quotas.clone(),
        }
    }

    /// Takes the settings of a shared store in place of its own. Tokens only this emulator
    /// knows (the credential it was started with is its own, not shared) stay.
    pub(crate) fn adopt_settings(&mut self, set: Settings) {
        let mut tokens: Tokens = set.tokens.into_iter().collect();
        for t in self.tokens.iter() {
            if tokens.get(&t.token).is_none() {
                tokens.put(t.clone());
            }
        }
        self.tokens = tokens;
        self.faults = set.faults;
        self.locks = set
            .locks
            .into_iter()
            .map(|(p, (until, retry_after))| {
                let until = crate::util::instant_of(until);
                (p, Lock { until, retry_after })
            })
            .collect();
        self.moves = set.moves;
        self.maintenance = set.maintenance;
        self.quotas = set.quotas;
    }

    /// Keeps the credentials of `other` (a copy this one replaces).
    pub(crate) fn keep_tokens_of(&mut self, other: &State) {
        self.tokens = other.tokens.clone();
    }

    /// The queued faults, oldest first.
    pub fn faults(&self) -> &[QueuedFault] {
        &self.faults
    }

    /// The quotas set through the admin API, in place of the configured ones.
    pub fn quotas(&self) -> Option<&[verdict::emulate::Quota]> {
        self.quotas.as_deref()
    }

    /// The `Retry-After` of maintenance answers, while maintenance is on.
    pub fn maintenance(&self) -> Option<u64> {
        self.maintenance
    }

    /// The moved paths.
    pub fn moves(&self) -> &[Move] {
        &self.moves
    }

    /// The lock on `path`, if any.
    pub fn lock_on(&self, path: &str) -> Option<&Lock> {
        self.locks.get(path)
    }

    /// Queues `fault` under the next fault id, and gives it back with that id.
    pub fn add_fault(&mut self, mut fault: QueuedFault) -> QueuedFault {
        self.fault_seq += 1;
        fault.id = self.fault_seq;
        self.faults.push(fault.clone());
        self.touch_settings();
        fault
    }

    /// Forgets every queued fault.
    pub fn clear_faults(&mut self) {
        self.faults.clear();
        self.touch_settings();
    }

    /// Maintenance on (with the `Retry-After` its answers carry) or off (`None`).
    pub fn set_maintenance(&mut self, retry_after: Option<u64>) {
        self.maintenance = retry_after;
        self.touch_settings();
    }

    /// Locks `path` (replacing a lock on it).
    pub fn add_lock(&mut self, path: String, lock: Lock) {
        self.locks.insert(path, lock);
        self.touch_settings();
    }

    /// Lifts every lock.
    pub fn clear_locks(&mut self) {
        self.locks.clear();
        self.touch_settings();
    }

    /// Adds a move, replacing one from the same path.
    pub fn add_move(&mut self, m: Move) {
        self.moves.retain(|x| x.from != m.from);
        self.moves.push(m);
        self.touch_settings();
    }

    /// Forgets every move.
    pub fn clear_moves(&mut self) {
        self.moves.clear();
        self.touch_settings();
    }

    /// Adds a credential, or replaces the one with the same value.
    pub fn put_token(&mut self, token: Token) {
        self.tokens.put(token);
        self.touch_settings();
    }

    /// Replaces the quotas in force; every window starts afresh.
    pub fn set_quotas(&mut self, quotas: Vec<verdict::emulate::Quota>) {
        self.quota_windows.clear();
        self.quotas = Some(quotas);
        self.touch_settings();
        if let Some(c) = &mut self.changes {
            c.windows_cleared = true;
        }
    }

    /// The collections whose names start with `prefix` (a resource's collections under
    /// the parameters given so far).
    pub fn collections_under<'s>(
        &'s self,
        prefix: &'s str,
    ) -> impl Iterator<Item = &'s Collection> {
        self.collections
            .iter()
            .filter(move |(name, _)| name.starts_with(prefix))
            .map(|(_, c)| c)
    }

    pub fn collection(&mut self, name: &str) -> &mut Collection {
        // Looked up first so that the common case allocates no key.
        if !self.collections.contains_key(name) {
            self.collections
                .insert(name.to_owned(), Collection::default());
        }
        self.collections.get_mut(name).expect("inserted above")
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Counts a request against quota `index` of `credential` at `now_ms` (milliseconds
    /// since the epoch); the seconds until it would pass when it is over, with the requests
    /// left and the seconds until the current window ends otherwise.
    pub fn count(
        &mut self,
        credential: &str,
        index: usize,
        limit: u32,
        window: Duration,
        now_ms: u64,
    ) -> Result<(u32, u64), u64> {
        self.spend(credential, index, limit, window, 1, now_ms)
    }

    /// Spends `n` of the `limit` of quota `index` of `credential`, as [`State::count`].
    ///
    /// With shared state the decision is Redis's: the spending is recorded for the write
    /// back, which refuses it when the group as a whole is over; until then the local
    /// counter only estimates what is left.
    pub fn spend(
        &mut self,
        credential: &str,
        index: usize,
        limit: u32,
        window: Duration,
        n: u32,
        now_ms: u64,
    ) -> Result<(u32, u64), u64> {
        let shared = match &mut self.changes {
            Some(c) => {
                if let Some(reset) = c.denied.get(&(credential.to_owned(), index)) {
                    return Err(*reset);
                }
                c.asks.push(Ask {
                    credential: credential.to_owned(),
                    index,
                    limit,
                    window,
                    n,
                });
                true
            }
            None => false,
        };
        if !self.quota_windows.contains_key(credential) {
            self.quota_windows.insert(credential.to_owned(), Vec::new());
        }
        let slides = self
            .quota_windows
            .get_mut(credential)
            .expect("inserted above");
        let at = match slides.iter().position(|w| w.0 == index) {
            Some(at) => at,
            None => {
                slides.push((index, Slide::default()));
                slides.len() - 1
            }
        };
        let slide = &mut slides[at].1;
        let window_ms = window.as_millis().max(1) as u64;
        let secs = |ms: u64| ms.div_ceil(1000);
        match slide.spend(now_ms, window_ms, limit, n) {
            Ok((left, reset)) => Ok((left, secs(reset))),
            // With shared state Redis decides; the local counter goes on estimating.
            Err(_) if shared => {
                slide.current = slide.current.saturating_add(n);
                Ok((0, secs(window_ms)))
            }
            Err(wait) => Err(secs(wait).max(1)),
        }
    }

    /// The first queued fault for this request, used up by one.
    pub fn take_fault(&mut self, method: &str, path: &str) -> Option<Fault> {
        let i = self.faults.iter().position(|f| f.matches(method, path))?;
        self.touch_settings();
        let f = &mut self.faults[i];
        f.times = f.times.saturating_sub(1);
        let fault = f.fault.clone();
        if f.times == 0 {
            self.faults.remove(i);
        }
        Some(fault)
    }

    /// Whether no fault, move, lock or maintenance is set, so requests can skip looking.
    pub fn quiet(&self) -> bool {
        self.faults.is_empty()
            && self.moves.is_empty()
            && self.locks.is_empty()
            && self.maintenance.is_none()
    }

    /// Forgets every resource, fault, lock, move and counter; keeps tokens and the journal.
    pub fn reset(&mut self) {
        if let Some(c) = &mut self.changes {
            c.reset = true;
        }
        self.collections.clear();
        self.quota_windows.clear();
        self.faults.clear();
        self.locks.clear();
        self.moves.clear();
        self.maintenance = None;
        self.quotas = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_headers_keep_order_repeats_and_raw_bytes() {
        let mut h = http::HeaderMap::new();
        h.append("host", http::HeaderValue::from_static("127.0.0.1:8080"));
        h.append("x-a", http::HeaderValue::from_static("1"));
        h.append("x-a", http::HeaderValue::from_static("two: 2"));
        h.append("x-raw", http::HeaderValue::from_bytes(b"caf\xe9").unwrap());
        h.append("x-empty", http::HeaderValue::from_static(""));
        let mut entry = JournalEntry::default();
        entry.fill(&http::Method::GET, "/v1/rooms", "", &h, b"");
        let pairs: Vec<(&str, &[u8])> = entry.header_pairs().collect();
        assert_eq!(
            pairs,
            [
                ("host", &b"127.0.0.1:8080"[..]),
                ("x-a", b"1"),
                ("x-a", b"two: 2"),
                ("x-raw", b"caf\xe9"),
                ("x-empty", b""),
            ]
        );
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["headers"]["x-a"], serde_json::json!(["1", "two: 2"]));
        assert_eq!(json["headers"]["x-raw"], serde_json::json!(["caf\u{fffd}"]));
    }

    #[test]
    fn a_full_journal_writes_over_its_oldest_entry_without_leftovers() {
        let mut journal = Journal::default();
        let mut long = http::HeaderMap::new();
        long.append(
            "x-long",
            http::HeaderValue::from_str(&"v".repeat(4000)).unwrap(),
        );
        for i in 0..JOURNAL_LIMIT {
            journal.record_with(|e| {
                e.fill(
                    &http::Method::POST,
                    "/v1/rooms",
                    "max=1",
                    &long,
                    &[b'x'; 70_000],
                );
                e.status = if i == 0 { 201 } else { 200 };
            });
        }
        let mut short = http::HeaderMap::new();
        short.append("host", http::HeaderValue::from_static("h"));
        journal.record_with(|e| {
            e.fill(&http::Method::GET, "/v1/people", "", &short, b"");
            e.status = 404;
        });
        assert_eq!(journal.entries.len(), JOURNAL_LIMIT);
        let first = journal.entries.front().unwrap();
        assert_eq!((first.seq, first.status), (2, 200));
        assert_eq!(first.body.len(), 65_536, "bodies are kept up to 64 KiB");
        assert_eq!(first.path, "/v1/rooms?max=1");
        let newest = journal.entries.back().unwrap();
        assert_eq!(newest.seq, JOURNAL_LIMIT as u64 + 1);
        assert_eq!(
            (newest.method.as_str(), newest.path.as_str()),
            ("GET", "/v1/people")
        );
        assert_eq!(newest.headers, b"host:h\n");
        assert!(newest.body.is_empty());
        assert!(
            newest.body.capacity() < 1024 && newest.headers.capacity() < 1024,
            "a reused entry lets go of buffers far larger than its content"
        );
    }

    #[test]
    fn tokens_are_found_by_value_and_replaced_in_place() {
        let token = |value: &str, account: &str| Token {
            token: value.into(),
            account: account.into(),
            revoked: false,
            read_only: false,
        };
        let mut tokens: Tokens = (0..400).map(|i| token(&format!("k{i}"), "a")).collect();
        assert_eq!(tokens.get("k399").map(|t| t.token.as_str()), Some("k399"));
        assert!(tokens.get("k400").is_none());
        tokens.put(token("k7", "b"));
        assert_eq!(tokens.as_slice().len(), 400);
        assert_eq!(tokens.as_slice()[7].account, "b");
        assert_eq!(tokens.get("k7").unwrap().account, "b");
        tokens.put(token("new", "c"));
        assert_eq!(tokens.iter().last().unwrap().token, "new");
        assert_eq!(tokens.get("new").unwrap().account, "c");
    }

    #[test]
    fn a_large_collection_grows_at_once_with_room_beyond_the_limit() {
        let item = |seq| Item {
            seq,
            value: serde_json::Value::Null,
            etag: String::new(),
            owner: String::new(),
            ready_at: None,
            modified_ms: 0,
        };
        let mut c = Collection::default();
        for i in 0..8000 {
            c.put(format!("i{i}"), item(i), 10_000);
        }
        assert!(c.items.capacity() >= 20_000, "{}", c.items.capacity());
        assert_eq!((c.items.len(), c.order.len()), (8000, 8000));
        assert_eq!(c.order.first_key_value(), Some((&0, &"i0".to_owned())));
        // A huge limit does not reserve it all at once.
        let mut c = Collection::default();
        for i in 0..8000 {
            c.put(format!("i{i}"), item(i), 100_000_000);
        }
        assert!(c.items.capacity() < 1 << 20, "{}", c.items.capacity());
    }

    #[test]
    fn every_write_is_recorded_numbered_and_counted() {
        let mut s = State {
            changes: Some(Changes::default()),
            ..State::default()
        };
        let new = |title: &str| NewItem {
            value: serde_json::json!({ "title": title }),
            owner: "a".into(),
            ready_at: None,
        };
        let etag = s.insert("rooms", "r1", new("one"), 10).etag.clone();
        s.insert("rooms", "r2", new("two"), 10);
        s.insert("people", "p1", new("me"), 10);
        assert_eq!(s.stored(), 3);
        let read = s.collection("rooms").body("r1").unwrap();
        assert_eq!(
            (read.etag.to_str().unwrap(), &read.body[..]),
            (etag.as_str(), &b"{\"title\":\"one\"}"[..])
        );
        let date = httpdate::parse_http_date(read.last_modified.to_str().unwrap()).unwrap();
        assert_eq!(
            date, read.modified,
            "Last-Modified is the change, to the second"
        );
        let updated = s
            .update("rooms", "r1", |v| v["title"] = "uno".into())
            .unwrap();
        assert_ne!(updated.etag, etag, "an update gets a new ETag");
        let body = s.collection("rooms").body("r1").unwrap().body;
        assert_eq!(
            &body[..],
            b"{\"title\":\"uno\"}",
            "the cached body follows the update"
        );
        assert!(s.update("rooms", "nope", |_| {}).is_none());
        s.remove("rooms", "r2", true);
        assert!(s.collection("rooms").is_gone("r2") && s.stored() == 2);
        let order: Vec<u64> = s.collection("rooms").after(0).map(|(n, _)| n).collect();
        assert_eq!(order, [1], "an update keeps the item's place");
        let changed = &s.changes.as_ref().unwrap().items;
        let changed: Vec<(&str, &str)> = changed
            .iter()
            .map(|(c, i)| (c.as_str(), i.as_str()))
            .collect();
        assert_eq!(
            changed,
            [("people", "p1"), ("rooms", "r1"), ("rooms", "r2")]
        );
        // Replicated writes are another emulator's: not this request's change.
        s.changes = Some(Changes::default());
        s.replicate("rooms", "r9", None, true);
        assert!(s.changes.as_ref().unwrap().is_empty());
        // A bounded store forgets its oldest.
        for i in 0..5 {
            s.insert("tokens", &format!("t{i}"), new("t"), 10);
        }
        s.remove_oldest("tokens", 2);
        let kept: Vec<&String> = s.collection("tokens").iter().map(|(id, _)| id).collect();
        assert_eq!(kept.len(), 2);
        assert!(s.collection("tokens").contains("t4") && s.collection("tokens").contains("t3"));
    }

    #[test]
    fn quotas_slide() {
        let mut s = State::default();
        let w = Duration::from_secs(10);
        let t0 = 1_700_000_000_000; // the start of a 10 s window
        assert_eq!(s.count("a", 0, 2, w, t0), Ok((1, 10)));
        // The last one left: the reset is when the next fits (half of this window must
        // slide out of the next one first), not the end of this window.
        assert_eq!(s.count("a", 0, 2, w, t0 + 1000), Ok((0, 14)));
        // Over: the third fits once half of this window has slid out, in the next one.
        assert_eq!(s.count("a", 0, 2, w, t0 + 3000), Err(12));
        assert!(s.count("b", 0, 2, w, t0).is_ok(), "per credential");
        assert!(s.count("a", 1, 2, w, t0).is_ok(), "per quota");
        // At the edge of the window the two requests still count in full...
        assert!(s.count("a", 0, 2, w, t0 + 10_000).is_err());
        // ...and half of them once half of the next window has passed.
        assert_eq!(s.count("a", 0, 2, w, t0 + 15_000), Ok((0, 5)));
        // A window with nothing before it starts afresh.
        assert_eq!(s.count("a", 0, 2, w, t0 + 60_000), Ok((1, 10)));
    }

    #[test]
    fn a_slide_never_waits_longer_than_two_windows() {
        for (limit, n, spent) in [(1, 1, 1), (5, 2, 5), (3, 4, 0), (10, 10, 3)] {
            for at in (0..10_000).step_by(777) {
                let mut slide = Slide::default();
                let t = 1_700_000_000_000 + at;
                for _ in 0..spent {
                    let _ = slide.spend(t, 10_000, limit, 1);
                }
                if let Err(wait) = slide.spend(t, 10_000, limit, n) {
                    assert!(
                        (1..=20_000).contains(&wait),
                        "{limit} {n} {spent} {at}: {wait}"
                    );
                    if n <= limit {
                        let mut later = slide;
                        assert!(
                            later.spend(t + wait, 10_000, limit, n).is_ok(),
                            "{limit} {n} {spent} {at}: {wait}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_request_at_the_reset_of_a_used_up_quota_passes() {
        for (limit, spent_before) in [(1, 0), (2, 0), (5, 3), (10, 7), (3, 2)] {
            for at in (0..20_000).step_by(611) {
                let mut slide = Slide::default();
                let t0 = 1_700_000_000_000;
                for i in 0..spent_before {
                    let _ = slide.spend(t0 + i * 10, 10_000, limit, 1);
                }
                let t = t0 + at;
                let mut result = slide.spend(t, 10_000, limit, 1);
                while let Ok((left, _)) = result {
                    if left == 0 {
                        break;
                    }
                    result = slide.spend(t, 10_000, limit, 1);
                }
                if let Ok((0, reset)) = result {
                    let mut before = slide;
                    assert!(
                        before.spend(t + reset - 1, 10_000, limit, 1).is_err() || reset == 1,
                        "{limit} {spent_before} {at}: {reset} is later than needed"
                    );
                    assert!(
                        slide.spend(t + reset, 10_000, limit, 1).is_ok(),
                        "{limit} {spent_before} {at}: refused at the reset {reset}"
                    );
                }
            }
        }
    }

    #[test]
    fn queued_faults_are_used_up() {
        let mut s = State::default();
        s.faults.push(QueuedFault {
            id: 1,
            method: Some("GET".into()),
            path: "/v1/rooms*".into(),
            times: 2,
            fault: Fault {
                status: Some(503),
                ..Fault::default()
            },
        });
        assert!(s.take_fault("POST", "/v1/rooms").is_none());
        assert!(s.take_fault("get", "/v1/rooms/1").is_some());
        assert!(s.take_fault("GET", "/v1/rooms").is_some());
        assert!(s.take_fault("GET", "/v1/rooms").is_none());
    }
}
