//! [`RedisStore`]: client state shared through Redis (see the type's documentation).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use verdict::breaker::{Admission, BreakerConfig, Outcome};

use crate::store::{BudgetConfig, MemoryStore, Store, StoreError};

/// Sets a block unless a later one is already there; expires with the block.
const BLOCK: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_ms = tonumber(ARGV[1])
if until_ms > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', math.max(1, until_ms - tonumber(ARGV[2])))
end
return 1
";

/// A token bucket in a hash {tokens, at}: refill by time, then deposit or spend, atomically.
const BUDGET: &str = r"
local ratio, per_second, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now, op = tonumber(ARGV[4]), ARGV[5]
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or math.min(per_second, cap)
local at = tonumber(state[2]) or now
if now > at then tokens = math.min(cap, tokens + (now - at) / 1000 * per_second) end
local ok = 1
if op == 'deposit' then
  tokens = math.min(cap, tokens + ratio)
elseif tokens >= 1 then
  tokens = tokens - 1
else
  ok = 0
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], 3600000)
return ok
";

/// Takes a lease for ARGV[1] (ARGV[2] ms) when it is free or already ARGV[1]'s.
const LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// Gives a lease up when ARGV[1] holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
";

/// A circuit breaker in a hash {s: 'c' closed, 'o' open, 'h' half-open; f: failures in a
/// row; u: the end of the open period or of the trial's place, in ms; k: openings since it
/// last closed}, by the rule of `verdict::breaker` (the same steps, in the same order).
/// ARGV: failures, first period ms, longest period ms, trial timeout ms (all normalized),
/// now ms, 'admit' or 'record', then for 'record' the trial flag ('1') and 'ok' or 'fail'.
/// 'admit' answers {0} to pass, {1, u} for the trial, {2, u} to refuse until u.
const BREAKER: &str = r"
local failures, open_ms, max_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local trial_ms, now, op = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local h = redis.call('HMGET', KEYS[1], 's', 'f', 'u', 'k')
local s, f, u, k = h[1] or 'c', tonumber(h[2]) or 0, tonumber(h[3]) or 0, tonumber(h[4]) or 0
local function save()
  redis.call('HSET', KEYS[1], 's', s, 'f', string.format('%d', f), 'u', string.format('%d', u),
    'k', string.format('%d', k))
  redis.call('PEXPIRE', KEYS[1], math.max(u - now, 0) + 3600000)
end
if op == 'admit' then
  if s == 'c' then return {0} end
  if now < u then return {2, u} end
  s, u = 'h', now + trial_ms
  save()
  return {1, u}
end
local trial, ok = ARGV[7] == '1', ARGV[8] == 'ok'
local function open()
  k = k + 1
  s, f, u = 'o', 0, now + math.min(max_ms, open_ms * 2 ^ (math.min(k, 21) - 1))
end
if s == 'c' then
  if ok then
    if f == 0 then return 0 end
    f = 0
  else
    f = f + 1
    if f >= failures then open() end
  end
elseif s == 'h' and trial then
  if ok then s, f, u, k = 'c', 0, 0, 0 else open() end
else
  return 0
end
save()
return 1
";

/// Client state shared through Redis by every process that uses the same Redis and the
/// same key prefix: back-offs learned from `Retry-After` and used-up quotas, permanent
/// moves, retry budgets, circuit breakers, and OAuth 2.0 tokens with the lease that lets
/// one process renew them for all (see [`crate::oauth`]; the tokens are secrets, so
/// protect this Redis as you protect them, or turn sharing off with
/// [`OAuth2Builder::share_tokens`](crate::oauth::OAuth2Builder::share_tokens)). When one worker is told to wait 30 s, the
/// others wait too, without sending a request.
///
/// - **One prefix per fleet.** Every process that should share state must use the same
///   Redis database and the same `prefix`; a different prefix is a different fleet.
/// - **Lazy connection.** [`RedisStore::new`] does not connect; an unreachable Redis is not
///   an error there, only a warning when the first request needs it.
/// - **Deadlines.** Each Redis call has a 250 ms deadline (connection and answer), so a
///   slow or absent Redis never holds a request longer than that.
/// - **Local fallback.** Every state change is also kept in this process; while Redis
///   fails, the store answers from that local state and no request fails because of Redis.
/// - **Outage back-off.** After a failed call the store does not ask Redis again for a
///   pause (1 s, doubling up to 30 s while the outage lasts; see
///   [`RedisStore::outage_pause`]), so requests during an outage pay no deadline at all;
///   the first call after the pause probes Redis, and shared state is back as soon as it
///   answers.
/// - **Warnings** (Redis lost, Redis back) go through `tracing`: install a subscriber (for
///   example `tracing_subscriber::fmt::init()`) to see them.
///
/// ```no_run
/// use std::sync::Arc;
/// let store = verdict_client::RedisStore::new("redis://127.0.0.1:6379/0", "billing-workers:")?;
/// let middleware = verdict_client::Verdict::builtin("webex")?.store(Arc::new(store)).build();
/// # let _ = middleware;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    budget: BudgetConfig,
    local: MemoryStore,
    degraded: AtomicBool,
    /// The first pause after a failed call, in ms.
    first_pause_ms: u64,
    /// The pause the next failure starts, in ms (doubles while the outage lasts).
    pause_ms: AtomicU64,
    /// Until when (ms since the epoch) Redis is not asked.
    resume_at_ms: AtomicU64,
    block: redis::Script,
    bucket: redis::Script,
    breaker: redis::Script,
    lease: redis::Script,
    release: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The first pause after a failed Redis call, and the longest.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(30);

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://host:port/db`), with keys under `prefix`.
    /// It connects lazily: an unreachable Redis is not an error here, only a warning later.
    pub fn new(url: &str, prefix: &str) -> Result<RedisStore, StoreError> {
        RedisStore::with_budget(url, prefix, BudgetConfig::default())
    }

    /// Like [`RedisStore::new`], with retry budgets made from `budget`.
    pub fn with_budget(
        url: &str,
        prefix: &str,
        budget: BudgetConfig,
    ) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError(format!("{url} is not a usable Redis URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(250)))
            .set_response_timeout(Some(Duration::from_millis(250)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreError(format!("Redis at {url}: {e}")))?;
        Ok(RedisStore {
            conn,
            prefix: prefix.to_owned(),
            budget,
            local: MemoryStore::with_budget(budget),
            degraded: AtomicBool::new(false),
            first_pause_ms: FIRST_PAUSE.as_millis() as u64,
            pause_ms: AtomicU64::new(FIRST_PAUSE.as_millis() as u64),
            resume_at_ms: AtomicU64::new(0),
            block: redis::Script::new(BLOCK),
            bucket: redis::Script::new(BUDGET),
            breaker: redis::Script::new(BREAKER),
            lease: redis::Script::new(LEASE),
            release: redis::Script::new(RELEASE),
        })
    }

    /// Whether the last call to Redis failed, so that the store answers from its local
    /// state until Redis answers again (for a health check).
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// The first pause after a failed call before Redis is asked again (default 1 s); it
    /// doubles, up to 30 s or this value if longer, while the outage lasts.
    pub fn outage_pause(mut self, first: Duration) -> RedisStore {
        let ms = (first.as_millis() as u64).max(1);
        self.first_pause_ms = ms;
        self.pause_ms = AtomicU64::new(ms);
        self
    }

    /// When Redis will next be asked, while an outage's pause runs.
    pub fn paused_until(&self) -> Option<SystemTime> {
        let at = self.resume_at_ms.load(Ordering::Relaxed);
        (at > ms(SystemTime::now())).then(|| UNIX_EPOCH + Duration::from_millis(at))
    }

    /// Whether to ask Redis now: not while an outage's pause runs.
    fn reachable(&self) -> bool {
        self.resume_at_ms.load(Ordering::Relaxed) <= ms(SystemTime::now())
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
    }

    /// The Redis answer, or `None` after a warning (once per outage) when Redis failed.
    fn settle<T>(&self, r: redis::RedisResult<T>) -> Option<T> {
        match r {
            Ok(v) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    self.pause_ms.store(self.first_pause_ms, Ordering::Relaxed);
                    tracing::warn!("Redis answers again; shared client state is back");
                }
                Some(v)
            }
            Err(e) => {
                let pause = self.pause_ms.load(Ordering::Relaxed);
                let longest = MAX_PAUSE.as_millis() as u64;
                let next = pause
                    .saturating_mul(2)
                    .min(longest.max(self.first_pause_ms));
                self.pause_ms.store(next, Ordering::Relaxed);
                let resume = ms(SystemTime::now()).saturating_add(pause);
                self.resume_at_ms.store(resume, Ordering::Relaxed);
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, pause_ms = pause, "Redis is unreachable; using local client state until it returns");
                }
                None
            }
        }
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn blocked_until(&self, key: &str) -> Result<Option<SystemTime>, StoreError> {
        if !self.reachable() {
            return self.local.blocked_until(key).await;
        }
        let mut conn = self.conn.clone();
        let r: redis::RedisResult<Option<u64>> = redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await;
        let local = self.local.blocked_until(key).await?;
        Ok(match self.settle(r) {
            Some(remote) => {
                let remote = remote.map(|m| UNIX_EPOCH + Duration::from_millis(m));
                remote.max(local)
            }
            None => local,
        })
    }

    async fn block_until(&self, key: &str, until: SystemTime) -> Result<(), StoreError> {
        // Kept locally as well, so that an outage does not forget a wait already learned.
        self.local.block_until(key, until).await?;
        if !self.reachable() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let r: redis::RedisResult<i64> = self
            .block
            .key(self.key(key))
            .arg(ms(until))
            .arg(ms(SystemTime::now()))
            .invoke_async(&mut conn)
            .await;
        self.settle(r);
        Ok(())
    }

    async fn moved_to(&self, url: &str) -> Result<Option<String>, StoreError> {
        if !self.reachable() {
            return self.local.moved_to(url).await;
        }
        let mut conn = self.conn.clone();
        let r: redis::RedisResult<Option<String>> = redis::cmd("HGET")
            .arg(self.key("moves"))
            .arg(url)
            .query_async(&mut conn)
            .await;
        match self.settle(r) {
            Some(v) => Ok(v),
            None => self.local.moved_to(url).await,
        }
    }

    async fn set_moved(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.local.set_moved(from, to).await?;
        if !self.reachable() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let r: redis::RedisResult<i64> = redis::cmd("HSET")
            .arg(self.key("moves"))
            .arg(from)
            .arg(to)
            .query_async(&mut conn)
            .await;
        self.settle(r);
        Ok(())
    }

    async fn deposit(&self, key: &str, now: SystemTime) -> Result<(), StoreError> {
        let r = self.bucket_op(key, now, "deposit").await;
        if r.is_none() {
            self.local.deposit(key, now).await?;
        }
        Ok(())
    }

    async fn try_spend(&self, key: &str, now: SystemTime) -> Result<bool, StoreError> {
        match self.bucket_op(key, now, "spend").await {
            Some(ok) => Ok(ok),
            None => self.local.try_spend(key, now).await,
        }
    }

    async fn breaker_admit(
        &self,
        key: &str,
        config: &BreakerConfig,
        now: SystemTime,
    ) -> Result<Admission, StoreError> {
        if !self.reachable() {
            return Ok(self.local.breaker_admit_now(key, config, now));
        }
        let mut conn = self.conn.clone();
        let r: redis::RedisResult<Vec<u64>> = self
            .breaker_call(key, config, now, "admit")
            .invoke_async(&mut conn)
            .await;
        let until = |v: &[u64]| UNIX_EPOCH + Duration::from_millis(v.get(1).copied().unwrap_or(0));
        Ok(match self.settle(r).as_deref() {
            Some([0, ..]) => Admission::Pass,
            Some([1, ..]) => Admission::Trial,
            Some(v @ [2, ..]) => Admission::Refused { until: until(v) },
            _ => self.local.breaker_admit_now(key, config, now),
        })
    }

    async fn breaker_record(
        &self,
        key: &str,
        config: &BreakerConfig,
        trial: bool,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        if !self.reachable() {
            self.local
                .breaker_record_now(key, config, trial, outcome, now);
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let mut call = self.breaker_call(key, config, now, "record");
        call.arg(if trial { "1" } else { "0" }).arg(match outcome {
            Outcome::Success => "ok",
            Outcome::Failure => "fail",
        });
        let r: redis::RedisResult<i64> = call.invoke_async(&mut conn).await;
        if self.settle(r).is_none() {
            self.local
                .breaker_record_now(key, config, trial, outcome, now);
        }
        Ok(())
    }

    async fn lease(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        Ok(self.lease_op(key, holder, ttl).await)
    }

    async fn release(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        self.release_op(key, holder).await;
        Ok(())
    }

    async fn shared(&self, key: &str) -> Result<Option<String>, StoreError> {
        if !self.reachable() {
            return Ok(self.local.shared_now(key));
        }
        let mut conn = self.conn.clone();
        let r: redis::RedisResult<Option<String>> = redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await;
        Ok(match self.settle(r) {
            Some(v) => v,
            None => self.local.shared_now(key),
        })
    }

    async fn share(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        self.local.share_now(key, value, ttl);
        if self.reachable() {
            let mut conn = self.conn.clone();
            let r: redis::RedisResult<()> = redis::cmd("SET")
                .arg(self.key(key))
                .arg(value)
                .arg("PX")
                .arg((ttl.as_millis() as u64).max(1))
                .query_async(&mut conn)
                .await;
            self.settle(r);
        }
        Ok(())
    }
}

impl RedisStore {
    /// The leases and shared values, by Redis or (while it fails) locally.
    async fn lease_op(&self, key: &str, holder: &str, ttl: Duration) -> bool {
        if self.reachable() {
            let mut conn = self.conn.clone();
            let r: redis::RedisResult<i64> = self
                .lease
                .key(self.key(key))
                .arg(holder)
                .arg((ttl.as_millis() as u64).max(1))
                .invoke_async(&mut conn)
                .await;
            if let Some(v) = self.settle(r) {
                return v == 1;
            }
        }
        self.local.lease_now(key, holder, ttl)
    }

    async fn release_op(&self, key: &str, holder: &str) {
        self.local.release_now(key, holder);
        if self.reachable() {
            let mut conn = self.conn.clone();
            let r: redis::RedisResult<i64> = self
                .release
                .key(self.key(key))
                .arg(holder)
                .invoke_async(&mut conn)
                .await;
            self.settle(r);
        }
    }

    /// A call of the breaker script for `key` with the rule and the time.
    fn breaker_call(
        &self,
        key: &str,
        config: &BreakerConfig,
        now: SystemTime,
        op: &str,
    ) -> redis::ScriptInvocation<'_> {
        let c = config.normalized();
        let mut call = self.breaker.key(self.key(key));
        call.arg(c.failures)
            .arg(c.open_for.as_millis() as u64)
            .arg(c.max_open_for.as_millis() as u64)
            .arg(c.trial_timeout.as_millis() as u64)
            .arg(ms(now))
            .arg(op);
        call
    }

    async fn bucket_op(&self, key: &str, now: SystemTime, op: &str) -> Option<bool> {
        if !self.reachable() {
            return None;
        }
        let mut conn = self.conn.clone();
        let b = self.budget;
        let r: redis::RedisResult<i64> = self
            .bucket
            .key(self.key(key))
            .arg(b.ratio)
            .arg(b.per_second)
            .arg(b.cap)
            .arg(ms(now))
            .arg(op)
            .invoke_async(&mut conn)
            .await;
        self.settle(r).map(|v| v == 1)
    }
}
