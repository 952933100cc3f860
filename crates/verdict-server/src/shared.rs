//! State shared through Redis by a group of emulators.
//!
//! Every emulator keeps a full copy of the state in memory and answers from it, as it does
//! alone. Redis holds the authoritative state and a version number, plus, for each change,
//! the key it touched (a sorted set scored by version). A request first brings the copy up
//! to date (one script: the version, and the keys changed since this copy's version with
//! their new values), then runs as usual while the change set of `State` records what it
//! writes; if it wrote anything, a second script stores those keys only if the version is
//! still the one the copy was at. When another emulator got there first, the copy catches
//! up, the keys this request wrote are read back, and the request runs again. So every
//! write is atomic across the group, and a read sees every write that finished before it.
//!
//! Keys live under `verdict:{GROUP}:` (the braces keep a group in one Redis Cluster slot).

use std::time::{Duration, Instant};

use redis::Value as RedisValue;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::{Changes, Item, State};

/// How a request ended against the shared state.
#[derive(Debug)]
pub(crate) enum Finish {
    /// Stored; for each quota asked, in order, what the group has left of it and the time
    /// until its current window ends (until one more fits, when none is left).
    Done(Vec<(u32, Duration)>),
    /// Another emulator wrote first.
    Conflict,
    /// The group used up this quota; it resets in `reset` seconds.
    Denied {
        credential: String,
        index: usize,
        reset: u64,
    },
}

/// Why shared state is unavailable.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The URL is not one the Redis client accepts.
    #[error("{url} is not a usable Redis URL: {reason}")]
    Url {
        /// The URL as given (without a password).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Redis did not answer, or answered with an error.
    #[error("the shared state at {url} is unreachable: {reason}")]
    Unreachable {
        /// The Redis URL (without a password).
        url: String,
        /// What failed.
        reason: String,
    },
    /// Redis holds data this emulator cannot read (written by another program).
    #[error("the shared state at {url} holds data this emulator cannot read: {reason}")]
    Corrupt {
        /// The Redis URL (without a password).
        url: String,
        /// What could not be read.
        reason: String,
    },
}

/// A connection to the Redis that holds a group's state.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let contract = verdict::Catalog::builtin().get("webex").unwrap().clone();
/// let store = verdict_server::RedisState::connect("redis://127.0.0.1:6379/0", "webex").await?;
/// let emulator = verdict_server::Emulator::shared(contract, Default::default(), store).await?;
/// # Ok(()) }
/// ```
pub struct RedisState {
    conn: ConnectionManager,
    prefix: String,
    group: String,
    url: String,
    /// One request at a time per emulator talks to the shared state, so a request never
    /// sees another's write that may still be rolled back.
    pub(crate) section: tokio::sync::Mutex<()>,
    /// When the last catch-up that succeeded began: a request that arrived before that
    /// moment finds every write finished before it in the copy already.
    synced: std::sync::Mutex<Option<Instant>>,
    /// Changes remembered for catching up (`CHANGES_KEPT` but in tests).
    kept: u64,
    sync: redis::Script,
    load: redis::Script,
    finish: redis::Script,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisState")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// How long one Redis call may take before the request is answered with 503.
const DEADLINE: Duration = Duration::from_millis(1000);

/// Changes remembered for catching up; a copy older than that reloads everything.
const CHANGES_KEPT: u64 = 100_000;

impl RedisState {
    /// Connects to the Redis at `url` (`redis://HOST:PORT/DB`) for the emulators of
    /// `group`, and checks that it answers.
    pub async fn connect(url: &str, group: &str) -> Result<RedisState, StateError> {
        let shown = without_password(url);
        let client = redis::Client::open(url).map_err(|e| StateError::Url {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(DEADLINE))
            .set_response_timeout(Some(DEADLINE))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| StateError::Unreachable {
                url: shown.clone(),
                reason: e.to_string(),
            })?;
        Ok(RedisState {
            conn,
            prefix: format!("verdict:{{{group}}}:"),
            group: group.to_owned(),
            url: shown,
            section: tokio::sync::Mutex::new(()),
            synced: std::sync::Mutex::new(None),
            kept: CHANGES_KEPT,
            sync: redis::Script::new(SYNC),
            load: redis::Script::new(LOAD),
            finish: redis::Script::new(&format!("{SLIDE}{FINISH}")),
        })
    }

    /// The Redis URL, without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The group of emulators sharing this state.
    pub fn group(&self) -> &str {
        &self.group
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> StateError {
        StateError::Unreachable {
            url: self.url.clone(),
            reason: e.to_string(),
        }
    }

    fn corrupt(&self, e: impl std::fmt::Display) -> StateError {
        StateError::Corrupt {
            url: self.url.clone(),
            reason: e.to_string(),
        }
    }

    /// `call`, given at most [`DEADLINE`].
    async fn within<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StateError> {
        match tokio::time::timeout(DEADLINE, call).await {
            Ok(r) => r.map_err(|e| self.unreachable(e)),
            Err(_) => Err(self.unreachable("no answer within a second")),
        }
    }

    /// Runs a script; a read (`again`) is tried once more on a fresh connection when the
    /// connection broke (Redis restarted), a write is not: it may have landed.
    async fn run(
        &self,
        invocation: redis::ScriptInvocation<'_>,
        again: bool,
    ) -> Result<RedisValue, StateError> {
        let mut conn = self.conn.clone();
        for attempt in 0..2 {
            match tokio::time::timeout(DEADLINE, invocation.invoke_async(&mut conn)).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e))
                    if again && attempt == 0 && (e.is_connection_dropped() || e.is_io_error()) =>
                {
                    tracing::debug!(error = %e, "Redis connection lost; trying once more");
                }
                Ok(Err(e)) => return Err(self.unreachable(e)),
                Err(_) => return Err(self.unreachable("no answer within a second")),
            }
        }
        Err(self.unreachable("the connection broke twice"))
    }

    /// Whether the copy caught up after `moment` (see `synced`).
    pub(crate) fn caught_up_since(&self, moment: Instant) -> bool {
        self.synced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| at >= moment)
    }

    fn mark_synced(&self, began: Instant) {
        *self.synced.lock().unwrap_or_else(|p| p.into_inner()) = Some(began);
    }

    /// Brings `state` up to date; `own` are keys this copy wrote without storing them,
    /// read back as well.
    pub(crate) async fn catch_up(
        &self,
        state: &std::sync::Mutex<State>,
        own: &[String],
    ) -> Result<(), StateError> {
        let began = Instant::now();
        self.catch_up_from(state, own).await?;
        self.mark_synced(began);
        Ok(())
    }

    async fn catch_up_from(
        &self,
        state: &std::sync::Mutex<State>,
        own: &[String],
    ) -> Result<(), StateError> {
        let version = lock(state).version;
        let mut inv = self.sync.prepare_invoke();
        inv.arg(&self.prefix).arg(version);
        for k in own {
            inv.arg(k);
        }
        let answer = self.run(inv, true).await?;
        let parts = array(answer);
        let at = parts.first().and_then(int).unwrap_or(0) as u64;
        match parts.get(1).map(text).as_deref() {
            None => {
                lock(state).version = at;
                Ok(())
            }
            Some("full") => self.reload_all(state).await,
            Some("delta") => {
                let counters = pairs(parts.get(2).cloned().unwrap_or_default());
                let mut s = lock(state);
                apply_counters(&mut s, &counters);
                for entry in parts.into_iter().skip(3) {
                    let e = array(entry);
                    let key = e.first().map(text).unwrap_or_default();
                    let value = e.get(1).map(text).unwrap_or_default();
                    let gone = e.get(2).and_then(int).unwrap_or(0) == 1;
                    apply(&mut s, &key, &value, gone).map_err(|e| self.corrupt(e))?;
                }
                s.version = at;
                Ok(())
            }
            Some(other) => Err(self.corrupt(format!("unexpected answer {other:?}"))),
        }
    }

    /// Replaces `state` with everything Redis holds.
    pub(crate) async fn reload(&self, state: &std::sync::Mutex<State>) -> Result<(), StateError> {
        let began = Instant::now();
        self.reload_all(state).await?;
        self.mark_synced(began);
        Ok(())
    }

    async fn reload_all(&self, state: &std::sync::Mutex<State>) -> Result<(), StateError> {
        let mut inv = self.load.prepare_invoke();
        inv.arg(&self.prefix);
        let parts = array(self.run(inv, true).await?);
        let mut it = parts.into_iter();
        let at = it.next().as_ref().and_then(int).unwrap_or(0) as u64;
        let counters = pairs(it.next().unwrap_or_default());
        let settings = it.next().map(|v| text(&v)).unwrap_or_default();
        let mut fresh = State::default();
        // Kept where Redis does not know them (see `apply_settings`).
        fresh.keep_tokens_of(&lock(state));
        apply_counters(&mut fresh, &counters);
        if !settings.is_empty() {
            apply_settings(&mut fresh, &settings).map_err(|e| self.corrupt(e))?;
        }
        for kind in it {
            let k = array(kind);
            let name = k.first().map(text).unwrap_or_default();
            for (id, item) in pairs(k.get(1).cloned().unwrap_or_default()) {
                apply(&mut fresh, &item_key(&name, &id), &item, false)
                    .map_err(|e| self.corrupt(e))?;
            }
            for id in array(k.get(2).cloned().unwrap_or_default()) {
                fresh.replicate(&name, &text(&id), None, true);
            }
            fresh.collection(&name);
        }
        fresh.version = at;
        *lock(state) = fresh;
        Ok(())
    }

    /// Ends a request: counts the quota it spent, stores what it changed if Redis is still
    /// at the version the copy was read at, and journals it, all or nothing.
    pub(crate) async fn finish(
        &self,
        state: &std::sync::Mutex<State>,
        changes: &Changes,
        journal: Option<&crate::state::JournalEntry>,
    ) -> Result<Finish, StateError> {
        let journal = match journal {
            Some(e) => serde_json::to_string(e).map_err(|e| self.corrupt(e))?,
            None => String::new(),
        };
        let mut inv = self.finish.prepare_invoke();
        {
            let s = lock(state);
            inv.arg(&self.prefix)
                .arg(s.version)
                .arg(self.kept)
                .arg(journal)
                .arg(crate::state::JOURNAL_LIMIT)
                .arg(changes.asks.len());
            for a in &changes.asks {
                inv.arg(&a.credential)
                    .arg(a.index)
                    .arg(a.limit)
                    .arg(a.window.as_millis().max(1) as u64)
                    .arg(a.n);
            }
            if !changes.is_empty() {
                change_args(&mut inv, &s, changes);
            }
        }
        let parts = array(self.run(inv, false).await?);
        self.verdict(state, changes, &parts)
    }

    /// What the finishing script answered: done (with each quota's count and time left),
    /// a conflict, or a quota's refusal.
    fn verdict(
        &self,
        state: &std::sync::Mutex<State>,
        changes: &Changes,
        parts: &[RedisValue],
    ) -> Result<Finish, StateError> {
        match parts.first().map(text).as_deref() {
            Some("ok") => {
                let version = parts.get(1).and_then(int).unwrap_or(0) as u64;
                let counted: Vec<(u32, Duration)> = parts.iter().skip(2).map(counted).collect();
                if !changes.is_empty() {
                    lock(state).version = version;
                }
                Ok(Finish::Done(counted))
            }
            Some("conflict") => Ok(Finish::Conflict),
            Some("deny") => {
                let at = parts.get(1).and_then(int).unwrap_or(0) as usize;
                let left = parts.get(2).and_then(int).unwrap_or(0).max(0) as u64;
                let a = changes
                    .asks
                    .get(at)
                    .ok_or_else(|| self.corrupt("a refusal of a quota never asked for"))?;
                Ok(Finish::Denied {
                    credential: a.credential.clone(),
                    index: a.index,
                    reset: left.div_ceil(1000).max(1),
                })
            }
            _ => Err(self.corrupt("the finishing script gave no verdict")),
        }
    }

    /// The journal's entries after `since`, at most the last `limit`.
    pub(crate) async fn journal(&self, since: u64, limit: usize) -> Result<Vec<Value>, StateError> {
        let mut conn = self.conn.clone();
        let key = format!("{}journal", self.prefix);
        let mut cmd = redis::cmd("LRANGE");
        cmd.arg(&key).arg(0).arg(-1);
        let call = cmd.query_async::<Vec<String>>(&mut conn);
        let raw = self.within(call).await?;
        let mut out = Vec::new();
        for line in raw {
            let (seq, json) = line.split_once(' ').unwrap_or(("0", &line));
            let seq: u64 = seq.parse().unwrap_or(0);
            if seq <= since {
                continue;
            }
            let mut v: Value = serde_json::from_str(json).map_err(|e| self.corrupt(e))?;
            v["seq"] = seq.into();
            out.push(v);
        }
        let start = out.len().saturating_sub(limit);
        Ok(out.split_off(start))
    }

    /// Empties the shared journal.
    pub(crate) async fn clear_journal(&self) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("DEL");
        cmd.arg(format!("{}journal", self.prefix));
        self.within(cmd.query_async::<i64>(&mut conn))
            .await
            .map(|_| ())
    }
}

fn lock(state: &std::sync::Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// The key under which a change to an item is remembered.
pub(crate) fn item_key(kind: &str, id: &str) -> String {
    format!("i{kind}\0{id}")
}

/// The keys a set of changes wrote, in the form the sync script reads back.
pub(crate) fn keys_of(changes: &Changes) -> Vec<String> {
    let mut keys: Vec<String> = changes
        .items
        .iter()
        .map(|(k, id)| item_key(k, id))
        .collect();
    if changes.settings {
        keys.push("s".into());
    }
    if changes.reset {
        keys.push("r".into());
    }
    keys
}

fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The finishing script's arguments for what a request changed: a reset, cleared quota
/// windows, the counters, the settings and each changed item.
fn change_args(inv: &mut redis::ScriptInvocation<'_>, s: &State, changes: &Changes) {
    if changes.reset {
        inv.arg("r");
    }
    if changes.windows_cleared {
        inv.arg("Q");
    }
    inv.arg("c").arg(s.seq()).arg(s.stored()).arg(s.fault_seq);
    if changes.settings || changes.reset {
        inv.arg("s").arg(settings_json(s));
    }
    for (kind, id) in &changes.items {
        let c = s.find(kind);
        let item = c.and_then(|c| c.get(id)).map(item_json);
        let gone = c.is_some_and(|c| c.is_gone(id));
        inv.arg("i")
            .arg(kind)
            .arg(id)
            .arg(item.unwrap_or_default())
            .arg(if gone { "1" } else { "0" });
    }
}

/// One quota's count and the time left of its window, as the finishing script gives them.
fn counted(c: &RedisValue) -> (u32, Duration) {
    let c = array(c.clone());
    let n = c.first().and_then(int).unwrap_or(0);
    let ttl = c.get(1).and_then(int).unwrap_or(0);
    (
        u32::try_from(n).unwrap_or(u32::MAX),
        Duration::from_millis(ttl.max(0) as u64),
    )
}

fn array(v: RedisValue) -> Vec<RedisValue> {
    match v {
        RedisValue::Array(a) | RedisValue::Set(a) => a,
        RedisValue::Map(m) => m.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

fn int(v: &RedisValue) -> Option<i64> {
    match v {
        RedisValue::Int(i) => Some(*i),
        RedisValue::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        RedisValue::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(v: &RedisValue) -> String {
    match v {
        RedisValue::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        RedisValue::SimpleString(s) => s.clone(),
        RedisValue::Int(i) => i.to_string(),
        _ => String::new(),
    }
}

/// A flat `[k1, v1, k2, v2, …]` answer (HGETALL) as pairs.
fn pairs(v: RedisValue) -> Vec<(String, String)> {
    let a = array(v);
    a.chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (text(&c[0]), text(&c[1])))
        .collect()
}

fn apply_counters(s: &mut State, counters: &[(String, String)]) {
    for (k, v) in counters {
        let n = v.parse().unwrap_or(0);
        match k.as_str() {
            "seq" => s.raise_seq(n),
            "fault_seq" => s.fault_seq = s.fault_seq.max(n),
            _ => {}
        }
    }
}

/// Puts one changed key's stored value into the copy (an empty value: it is gone).
fn apply(s: &mut State, key: &str, value: &str, gone: bool) -> Result<(), String> {
    match key.as_bytes().first() {
        Some(b'i') => {
            let (kind, id) = key[1..]
                .split_once('\0')
                .ok_or_else(|| format!("change key {key:?} has no id"))?;
            let item = match value {
                "" => None,
                v => {
                    let stored: StoredItem =
                        serde_json::from_str(v).map_err(|e| format!("item {id}: {e}"))?;
                    Some(stored.into_item())
                }
            };
            s.replicate(kind, id, item, gone);
        }
        Some(b's') if !value.is_empty() => apply_settings(s, value)?,
        _ => {}
    }
    Ok(())
}

/// An item as Redis holds it: times as milliseconds since the epoch.
#[derive(Serialize, Deserialize)]
struct StoredItem {
    seq: u64,
    value: Value,
    etag: String,
    owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ready_ms: Option<u64>,
    #[serde(default)]
    modified_ms: u64,
}

impl StoredItem {
    fn into_item(self) -> Item {
        Item {
            seq: self.seq,
            value: self.value,
            etag: self.etag,
            owner: self.owner,
            ready_at: self.ready_ms.map(crate::util::instant_of),
            modified_ms: self.modified_ms,
        }
    }
}

fn item_json(item: &Item) -> String {
    serde_json::to_string(&StoredItem {
        seq: item.seq,
        value: item.value.clone(),
        etag: item.etag.clone(),
        owner: item.owner.clone(),
        ready_ms: item.ready_at.map(crate::util::epoch_ms),
        modified_ms: item.modified_ms,
    })
    .unwrap_or_default()
}

fn settings_json(s: &State) -> String {
    serde_json::to_string(&s.settings()).unwrap_or_default()
}

fn apply_settings(s: &mut State, json: &str) -> Result<(), String> {
    let set = serde_json::from_str(json).map_err(|e| format!("settings: {e}"))?;
    s.adopt_settings(set);
    Ok(())
}

/// The copy's version, and the keys changed after it with their values; `full` when the
/// copy must reload (too old, ahead of Redis after a Redis restart, or after a reset).
const SYNC: &str = r"
local p = ARGV[1]
local v = tonumber(ARGV[2])
local V = tonumber(redis.call('GET', p .. 'version') or '0')
if v == V and #ARGV == 2 then return {V} end
local floor = tonumber(redis.call('GET', p .. 'floor') or '0')
if v > V or v < floor then return {V, 'full'} end
local keys = redis.call('ZRANGEBYSCORE', p .. 'changes', '(' .. v, '+inf')
for i = 3, #ARGV do keys[#keys + 1] = ARGV[i] end
local out = {V, 'delta', redis.call('HGETALL', p .. 'counters')}
for _, k in ipairs(keys) do
  local t = string.sub(k, 1, 1)
  if t == 'r' then return {V, 'full'} end
  if t == 'i' then
    local rest = string.sub(k, 2)
    local sep = string.find(rest, '\0', 1, true)
    local kind = string.sub(rest, 1, sep - 1)
    local id = string.sub(rest, sep + 1)
    local item = redis.call('HGET', p .. 'items:' .. kind, id) or ''
    out[#out + 1] = {k, item, redis.call('SISMEMBER', p .. 'gone:' .. kind, id)}
  elseif t == 's' then
    out[#out + 1] = {k, redis.call('GET', p .. 'settings') or '', 0}
  end
end
return out
";

/// Everything: version, counters, settings, then each collection.
const LOAD: &str = r"
local p = ARGV[1]
local V = tonumber(redis.call('GET', p .. 'version') or '0')
local out = {V, redis.call('HGETALL', p .. 'counters'), redis.call('GET', p .. 'settings') or ''}
for _, kind in ipairs(redis.call('SMEMBERS', p .. 'kinds')) do
  out[#out + 1] = {kind, redis.call('HGETALL', p .. 'items:' .. kind),
    redis.call('SMEMBERS', p .. 'gone:' .. kind)}
end
return out
";

/// The sliding-window quota as `state::Slide` counts it, in Lua: `slide(key, now, w,
/// limit, n)` spends `n` of `limit` per `w` ms at `now` (ms) on the counter in the hash
/// `key`, and answers `true, remaining, reset` or `false, wait` (nothing spent). Put in
/// front of the scripts that use it; a property test runs it against the Rust.
const SLIDE: &str = r"
-- The ms until n more fit (as state::Slide::wait).
local function wait_for(prev, cur, left, w, limit, n)
  local room = limit - cur - n
  local wait
  if room >= 0 and prev > 0 then
    wait = left - room * w / prev
  elseif n > limit then
    wait = 2 * w
  elseif cur == 0 then
    wait = left
  else
    wait = left + w * (1 - (limit - n) / cur)
  end
  return math.max(math.ceil(math.max(wait, 0)), 1)
end
local function slide(key, now, w, limit, n)
  w = math.max(w, 1)
  local k = math.floor(now / w)
  local s = redis.call('HMGET', key, 'k', 'c', 'p')
  local sk, cur, prev = tonumber(s[1]), tonumber(s[2]) or 0, tonumber(s[3]) or 0
  if sk == nil then
    cur, prev = 0, 0
  elseif k == sk + 1 then
    prev, cur = cur, 0
  elseif k ~= sk then
    prev, cur = 0, 0
  end
  local left = w - (now - k * w)
  local estimate = prev * left / w + cur
  if estimate + n > limit then return false, wait_for(prev, cur, left, w, limit, n) end
  redis.call('HSET', key, 'k', string.format('%d', k), 'c', cur + n, 'p', prev)
  redis.call('PEXPIRE', key, 2 * w)
  local remaining = math.max(math.floor(limit - estimate - n), 0)
  -- Nothing left: the reset is when one more fits, as state::Slide says it.
  local reset = left
  if remaining == 0 then reset = wait_for(prev, cur + n, left, w, limit, 1) end
  return true, remaining, reset
end
";

/// Ends a request: ARGV = prefix, version read, changes kept, journal entry (or ''),
/// journal length kept, number of quota asks, the asks (credential, index, limit, window
/// in ms, amount), then the change records. Quotas are sliding-window counters as
/// `state::Slide` keeps them, on Redis's clock. Answers {'ok', version, {left, ms to the
/// window's end, or until one more fits when none is left}...}, {'conflict'} when the
/// version moved and there are changes, or {'deny', ask, ms to wait} when a quota is used
/// up; only 'ok' writes anything.
const FINISH: &str = r"
local p = ARGV[1]
local kept = tonumber(ARGV[3])
local asks = tonumber(ARGV[6])
local first = 7 + asks * 5
local V = tonumber(redis.call('GET', p .. 'version') or '0')
if first <= #ARGV and V ~= tonumber(ARGV[2]) then return {'conflict'} end
local gen = redis.call('HGET', p .. 'counters', 'quota_gen') or '0'
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local counted = {}
for a = 0, asks - 1 do
  local i = 7 + a * 5
  local key = p .. 'quota:' .. gen .. ':' .. ARGV[i] .. ':' .. ARGV[i + 1]
  local n = tonumber(ARGV[i + 4])
  local ok, remaining, reset = slide(key, now, tonumber(ARGV[i + 3]), tonumber(ARGV[i + 2]), n)
  if not ok then
    for _, c in ipairs(counted) do redis.call('HINCRBY', c[3], 'c', -c[4]) end
    return {'deny', a, remaining}
  end
  counted[#counted + 1] = {remaining, reset, key, n}
end
if first <= #ARGV then
  V = redis.call('INCR', p .. 'version')
  local changes = p .. 'changes'
  local i = first
  while i <= #ARGV do
    local t = ARGV[i]
    if t == 'r' then
      for _, kind in ipairs(redis.call('SMEMBERS', p .. 'kinds')) do
        redis.call('DEL', p .. 'items:' .. kind, p .. 'gone:' .. kind)
      end
      redis.call('DEL', p .. 'kinds', changes)
      redis.call('HINCRBY', p .. 'counters', 'quota_gen', 1)
      redis.call('ZADD', changes, V, 'r')
      i = i + 1
    elseif t == 'Q' then
      redis.call('HINCRBY', p .. 'counters', 'quota_gen', 1)
      i = i + 1
    elseif t == 'c' then
      redis.call('HSET', p .. 'counters', 'seq', ARGV[i + 1], 'stored', ARGV[i + 2],
        'fault_seq', ARGV[i + 3])
      i = i + 4
    elseif t == 's' then
      redis.call('SET', p .. 'settings', ARGV[i + 1])
      redis.call('ZADD', changes, V, 's')
      i = i + 2
    elseif t == 'i' then
      local kind, id, item = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
      redis.call('SADD', p .. 'kinds', kind)
      if item == '' then
        redis.call('HDEL', p .. 'items:' .. kind, id)
      else
        redis.call('HSET', p .. 'items:' .. kind, id, item)
      end
      if ARGV[i + 4] == '1' then
        redis.call('SADD', p .. 'gone:' .. kind, id)
      else
        redis.call('SREM', p .. 'gone:' .. kind, id)
      end
      redis.call('ZADD', changes, V, 'i' .. kind .. '\0' .. id)
      i = i + 5
    else
      return redis.error_reply('unknown change record ' .. t)
    end
  end
  local n = redis.call('ZCARD', changes)
  if n > kept then
    local last = redis.call('ZRANGE', changes, n - kept - 1, n - kept - 1, 'WITHSCORES')
    redis.call('ZREMRANGEBYRANK', changes, 0, n - kept - 1)
    redis.call('SET', p .. 'floor', last[2])
  end
end
if ARGV[4] ~= '' then
  local s = redis.call('INCR', p .. 'journal_seq')
  redis.call('RPUSH', p .. 'journal', s .. ' ' .. ARGV[4])
  redis.call('LTRIM', p .. 'journal', -tonumber(ARGV[5]), -1)
end
local out = {'ok', V}
for _, c in ipairs(counted) do out[#out + 1] = {c[1], c[2]} end
return out
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Changes, Lock, Slide, Token};
    use proptest::prelude::*;

    /// One spend of the Lua quota at a time given as ARGV[1]: {1, remaining, reset} or
    /// {0, wait}.
    const PROBE: &str = r"
local ok, a, b = slide(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4]))
if ok then return {1, a, b} end
return {0, a}
";

    /// The quota is written twice on purpose (Rust in memory, Lua in Redis, so that a
    /// fleet of emulators counts one quota atomically): the same random request times go
    /// through both and every answer must be the same.
    #[test]
    fn the_lua_quota_decides_as_the_rust_one() {
        let Some(redis) = verdict_testkit::RedisServer::start() else {
            return;
        };
        let conn = redis::Client::open(redis.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let conn = std::cell::RefCell::new(conn);
        let script = redis::Script::new(&format!("{SLIDE}{PROBE}"));
        let case = std::cell::Cell::new(0u64);
        let config = ProptestConfig::with_cases(300);
        proptest!(config, |(
            window in 1_000u64..120_000,
            limit in 1u32..40,
            start in 0u64..4_000_000_000_000,
            steps in proptest::collection::vec((0u64..30_000, 1u32..4), 1..40),
        )| {
            case.set(case.get() + 1);
            let key = format!("slide:{}", case.get());
            let mut rust = Slide::default();
            let mut now = start;
            for (dt, n) in steps {
                now += dt;
                let expected = rust.spend(now, window, limit, n);
                let v: Vec<i64> = script
                    .key(&key)
                    .arg(now)
                    .arg(window)
                    .arg(limit)
                    .arg(n)
                    .invoke(&mut *conn.borrow_mut())
                    .unwrap();
                let lua = if v[0] == 1 {
                    Ok((v[1] as u32, v[2] as u64))
                } else {
                    Err(v[1] as u64)
                };
                prop_assert_eq!(expected, lua, "{} of {} per {} ms at {} ms", n, limit, window, now);
            }
        });
    }

    fn item(seq: u64, title: &str) -> Item {
        Item {
            seq,
            value: serde_json::json!({ "title": title }),
            etag: format!("\"{seq}\""),
            owner: "account-1".into(),
            ready_at: Some(Instant::now() + Duration::from_secs(5)),
            modified_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn an_item_travels_through_its_stored_form() {
        let mut s = State::default();
        let id = "odd/id with\0nul";
        apply(
            &mut s,
            &item_key("rooms", id),
            &item_json(&item(3, "a")),
            false,
        )
        .unwrap();
        let c = s.find("rooms").unwrap();
        assert_eq!(c.get(id).unwrap().value["title"], "a");
        assert_eq!(c.after(0).map(|(n, _)| n).collect::<Vec<_>>(), [3]);
        let ready = c.get(id).unwrap().ready_at.unwrap();
        let left = ready.saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(4) && left <= Duration::from_secs(5),
            "{left:?}"
        );

        // Written again at another number, then removed and marked gone.
        apply(
            &mut s,
            &item_key("rooms", id),
            &item_json(&item(9, "b")),
            false,
        )
        .unwrap();
        let c = s.find("rooms").unwrap();
        assert_eq!(c.after(0).map(|(n, _)| n).collect::<Vec<_>>(), [9]);
        apply(&mut s, &item_key("rooms", id), "", true).unwrap();
        let c = s.find("rooms").unwrap();
        assert!(c.len() == 0 && c.after(0).next().is_none() && c.is_gone(id));
    }

    #[test]
    fn removing_an_item_keeps_another_written_at_its_number() {
        let mut s = State::default();
        s.replicate("rooms", "mine", Some(item(4, "mine")), false);
        s.replicate("rooms", "theirs", Some(item(4, "theirs")), false);
        apply(&mut s, &item_key("rooms", "mine"), "", false).unwrap();
        let c = s.find("rooms").unwrap();
        let kept: Vec<&str> = c
            .after(0)
            .map(|(_, i)| i.value["title"].as_str().unwrap())
            .collect();
        assert_eq!(kept, ["theirs"]);
    }

    #[test]
    fn settings_keep_this_emulators_own_token() {
        let mut a = State::default();
        a.put_token(Token {
            token: "shared".into(),
            account: "account-1".into(),
            revoked: false,
            read_only: false,
        });
        a.set_maintenance(Some(7));
        a.add_lock(
            "/v1/rooms/x".into(),
            Lock {
                until: Instant::now() + Duration::from_secs(30),
                retry_after: 3,
            },
        );
        let json = settings_json(&a);
        let mut b = State::default();
        b.put_token(Token {
            token: "own".into(),
            account: "account-1".into(),
            revoked: false,
            read_only: false,
        });
        apply_settings(&mut b, &json).unwrap();
        assert!(b.token("shared").is_some() && b.token("own").is_some());
        assert_eq!(b.maintenance(), Some(7));
        let lock = b.lock_on("/v1/rooms/x").unwrap();
        assert!(lock.until > Instant::now() + Duration::from_secs(28));
        assert!(apply_settings(&mut b, "{not json").is_err());
    }

    #[test]
    fn bad_stored_data_is_an_error_not_a_panic() {
        let mut s = State::default();
        assert!(apply(&mut s, "irooms", "{}", false).is_err(), "no id");
        assert!(apply(&mut s, &item_key("rooms", "x"), "[1,2]", false).is_err());
        assert!(
            apply(&mut s, "zzz", "whatever", false).is_ok(),
            "unknown kinds are skipped"
        );
    }

    #[test]
    fn the_keys_read_back_after_a_lost_write() {
        let mut c = Changes::default();
        c.items.insert(("rooms".into(), "a".into()));
        c.settings = true;
        assert_eq!(keys_of(&c), [item_key("rooms", "a"), "s".into()]);
        c.reset = true;
        assert!(keys_of(&c).contains(&"r".to_owned()));
    }

    /// Writes item `id` through `store` from `state`.
    async fn write(store: &RedisState, state: &std::sync::Mutex<State>, id: &str) {
        let mut changes = Changes::default();
        {
            let mut s = lock(state);
            let new = crate::state::NewItem {
                value: serde_json::json!({ "title": id }),
                owner: "account-1".into(),
                ready_at: None,
            };
            s.insert("rooms", id, new, 100);
            changes.items.insert(("rooms".into(), id.to_owned()));
        }
        assert!(matches!(
            store.finish(state, &changes, None).await.unwrap(),
            Finish::Done(_)
        ));
    }

    #[tokio::test]
    async fn a_copy_older_than_the_changes_kept_reloads_everything() {
        let Some(redis) = verdict_testkit::RedisServer::start() else {
            return;
        };
        let mut store = RedisState::connect(&redis.url(), "kept").await.unwrap();
        store.kept = 5;
        let (a, b) = (std::sync::Mutex::default(), std::sync::Mutex::default());
        write(&store, &a, "first").await;
        store.catch_up(&b, &[]).await.unwrap();
        for i in 0..20 {
            write(&store, &a, &format!("room {i}")).await;
        }
        // b is 20 versions behind and only 5 changes are kept: it reloads.
        store.catch_up(&b, &[]).await.unwrap();
        assert_eq!(lock(&b).find("rooms").unwrap().len(), 21);
        assert_eq!(lock(&b).version, lock(&a).version);
        // One more: a delta.
        write(&store, &a, "last").await;
        store.catch_up(&b, &[]).await.unwrap();
        assert_eq!(lock(&b).find("rooms").unwrap().len(), 22);
        // A stale write of b is refused.
        lock(&b).version -= 1;
        let mut changes = Changes::default();
        changes.items.insert(("rooms".into(), "late".into()));
        assert!(matches!(
            store.finish(&b, &changes, None).await.unwrap(),
            Finish::Conflict
        ));
    }

    #[test]
    fn a_password_is_not_shown() {
        assert_eq!(
            without_password("redis://user:secret@127.0.0.1:6379/0"),
            "redis://user:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            without_password("redis://127.0.0.1/1"),
            "redis://127.0.0.1/1"
        );
    }
}
