//! State shared by every request of a client, or by many clients: back-offs learned from
//! `Retry-After` and quotas, permanent redirects, the retry budget, the circuit breakers,
//! and the leases and tokens that let one process renew an OAuth token for all.
//!
//! [`MemoryStore`] keeps it in the process. The trait is small so that other backends
//! (Redis, for fleets of workers) can share it between processes.

use std::collections::HashMap;

/// The maps by key that every request looks into: foldhash, faster than SipHash on keys
/// of this length.
type Map<V> = HashMap<String, V, foldhash::fast::RandomState>;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use verdict::breaker::{Admission, Breaker, BreakerConfig, Outcome};
use verdict::budget::RetryBudget;

/// A failure of the store itself. The client logs it and carries on with what it knows
/// locally; a store failure never fails a request.
#[derive(Debug, thiserror::Error)]
#[error("state store: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// The error of a store that keeps no circuit-breaker state (the trait's default).
    pub fn no_breakers() -> StoreError {
        StoreError("this store keeps no circuit-breaker state".into())
    }
}

/// Shared client state. Keys are opaque strings built by the middleware (they never hold
/// a secret in clear).
///
/// The trait is declared with [`async_trait`](https://docs.rs/async-trait), since the
/// middleware keeps it as an `Arc<dyn Store>`: implement it with
/// `#[async_trait::async_trait]` on the `impl` block and plain `async fn`s. A store answers
/// from what it knows and reports its own failures as [`StoreError`]; the middleware logs
/// them and carries on with local state, so a store failure never fails a request.
/// [`MemoryStore`] (the default) and `RedisStore` are the two shipped.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The time before which no request may be sent for `key`, if any.
    async fn blocked_until(&self, key: &str) -> Result<Option<SystemTime>, StoreError>;
    /// Forbids requests for `key` until `until` (a later block already set is kept).
    async fn block_until(&self, key: &str, until: SystemTime) -> Result<(), StoreError>;
    /// Where a permanently moved URL now lives.
    async fn moved_to(&self, url: &str) -> Result<Option<String>, StoreError>;
    /// Remembers a permanent move.
    async fn set_moved(&self, from: &str, to: &str) -> Result<(), StoreError>;
    /// Records a request that ended well in the retry budget of `key`.
    async fn deposit(&self, key: &str, now: SystemTime) -> Result<(), StoreError>;
    /// Takes one retry from the budget of `key`; false when it is spent.
    async fn try_spend(&self, key: &str, now: SystemTime) -> Result<bool, StoreError>;

    /// Whether the circuit breaker of `key` lets a request through at `now`, by the rule
    /// of `config` (see [`verdict::breaker`]); an [`Admission::Trial`] takes the half-open
    /// breaker's one place, so the question and its answer are one step.
    ///
    /// The default keeps no state and answers an error: the middleware then runs the
    /// breaker in its own process. It is there so that a store written before breakers
    /// existed still compiles; a store shared by processes should implement both breaker
    /// methods.
    async fn breaker_admit(
        &self,
        key: &str,
        config: &BreakerConfig,
        now: SystemTime,
    ) -> Result<Admission, StoreError> {
        let _ = (key, config, now);
        Err(StoreError::no_breakers())
    }

    /// Reports how a request the breaker of `key` let through went; `trial` is whether it
    /// was let through as the trial. The default answers an error, as
    /// [`Store::breaker_admit`]'s does.
    async fn breaker_record(
        &self,
        key: &str,
        config: &BreakerConfig,
        trial: bool,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let _ = (key, config, trial, outcome, now);
        Err(StoreError::no_breakers())
    }

    /// Takes the lease `key` for `holder` for `ttl`, unless another holder has it (its
    /// own lease it may take again): true when `holder` has it now. The OAuth 2.0 client
    /// takes one before renewing a token, so that of the processes sharing the store one
    /// renews and the others wait for its tokens (see [`crate::oauth`]).
    ///
    /// The default grants every lease: a store no other process sees needs none.
    async fn lease(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let _ = (key, holder, ttl);
        Ok(true)
    }

    /// Gives the lease `key` up, if `holder` has it.
    async fn release(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        let _ = (key, holder);
        Ok(())
    }

    /// The value shared under `key`, if there is one that has not expired: the tokens a
    /// process renewed, for the others. The default shares nothing.
    async fn shared(&self, key: &str) -> Result<Option<String>, StoreError> {
        let _ = key;
        Ok(None)
    }

    /// Shares `value` under `key` for `ttl`, in place of what was there.
    async fn share(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        let _ = (key, value, ttl);
        Ok(())
    }

    /// This store as a [`MemoryStore`], when it is one: the middleware then calls it
    /// directly on every request instead of through a boxed future. Other stores keep the
    /// default, `None`.
    fn as_memory(&self) -> Option<&MemoryStore> {
        None
    }
}

/// The budget parameters a store creates new budgets with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    /// Retries bought by each request that ends well.
    pub ratio: f64,
    /// Retries allowed per second regardless of traffic.
    pub per_second: f64,
    /// Most retries banked.
    pub cap: f64,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            ratio: 0.1,
            per_second: 1.0,
            cap: 20.0,
        }
    }
}

/// In-process state; the default.
#[derive(Debug, Default)]
pub struct MemoryStore {
    budget: BudgetConfig,
    blocks: Mutex<Map<SystemTime>>,
    moves: Mutex<Map<String>>,
    budgets: Mutex<Map<RetryBudget>>,
    breakers: Mutex<Map<Breaker>>,
    /// Leases: holder and end.
    leases: Mutex<Map<(String, SystemTime)>>,
    /// Shared values and their end.
    values: Mutex<Map<(String, SystemTime)>>,
    /// Whether any block or move was ever set: until then every request's lookups are
    /// answered without taking a lock that all threads share.
    any_block: AtomicBool,
    any_move: AtomicBool,
}

impl MemoryStore {
    /// A store whose retry budgets use `budget`.
    pub fn with_budget(budget: BudgetConfig) -> Self {
        MemoryStore {
            budget,
            ..MemoryStore::default()
        }
    }

    fn since_epoch(now: SystemTime) -> Duration {
        now.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }

    /// [`Store::blocked_until`], without a future.
    pub fn blocked_until_now(&self, key: &str) -> Option<SystemTime> {
        if !self.any_block.load(Ordering::Acquire) {
            return None;
        }
        self.blocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
    }

    /// [`Store::moved_to`], without a future.
    pub fn moved_to_now(&self, url: &str) -> Option<String> {
        if !self.any_move.load(Ordering::Acquire) {
            return None;
        }
        self.moves
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
            .cloned()
    }

    /// [`Store::deposit`], without a future.
    pub fn deposit_now(&self, key: &str, now: SystemTime) {
        self.budget(key, |b| b.deposit(Self::since_epoch(now)));
    }

    /// [`Store::breaker_admit`], without a future.
    pub fn breaker_admit_now(
        &self,
        key: &str,
        config: &BreakerConfig,
        now: SystemTime,
    ) -> Admission {
        self.breaker(key, |b| b.admit(config, now))
    }

    /// [`Store::breaker_record`], without a future.
    pub fn breaker_record_now(
        &self,
        key: &str,
        config: &BreakerConfig,
        trial: bool,
        outcome: Outcome,
        now: SystemTime,
    ) {
        self.breaker(key, |b| b.record(config, trial, outcome, now));
    }

    /// [`Store::lease`], without a future.
    pub fn lease_now(&self, key: &str, holder: &str, ttl: Duration) -> bool {
        let now = SystemTime::now();
        let mut map = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        let free = map
            .get(key)
            .is_none_or(|(h, until)| h == holder || *until <= now);
        if free {
            map.insert(key.to_owned(), (holder.to_owned(), now + ttl));
        }
        free
    }

    /// [`Store::release`], without a future.
    pub fn release_now(&self, key: &str, holder: &str) {
        let mut map = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(key).is_some_and(|(h, _)| h == holder) {
            map.remove(key);
        }
    }

    /// [`Store::shared`], without a future.
    pub fn shared_now(&self, key: &str) -> Option<String> {
        let map = self.values.lock().unwrap_or_else(|p| p.into_inner());
        let (value, until) = map.get(key)?;
        (SystemTime::now() < *until).then(|| value.clone())
    }

    /// [`Store::share`], without a future.
    pub fn share_now(&self, key: &str, value: &str, ttl: Duration) {
        let now = SystemTime::now();
        let mut map = self.values.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, end)| now < *end);
        map.insert(key.to_owned(), (value.to_owned(), now + ttl));
    }

    fn breaker<R>(&self, key: &str, f: impl FnOnce(&mut Breaker) -> R) -> R {
        let mut map = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(key) {
            Some(b) => f(b),
            None => f(map.entry(key.to_owned()).or_default()),
        }
    }

    fn budget<R>(&self, key: &str, f: impl FnOnce(&mut RetryBudget) -> R) -> R {
        let mut map = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
        let cfg = self.budget;
        // Every request deposits: look the key up before allocating a copy of it.
        match map.get_mut(key) {
            Some(budget) => f(budget),
            None => f(map
                .entry(key.to_owned())
                .or_insert_with(|| RetryBudget::new(cfg.ratio, cfg.per_second, cfg.cap))),
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn blocked_until(&self, key: &str) -> Result<Option<SystemTime>, StoreError> {
        Ok(self.blocked_until_now(key))
    }

    async fn block_until(&self, key: &str, until: SystemTime) -> Result<(), StoreError> {
        let mut map = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        let slot = map.entry(key.to_owned()).or_insert(until);
        if *slot < until {
            *slot = until;
        }
        self.any_block.store(true, Ordering::Release);
        Ok(())
    }

    async fn moved_to(&self, url: &str) -> Result<Option<String>, StoreError> {
        Ok(self.moved_to_now(url))
    }

    async fn set_moved(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.moves
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(from.to_owned(), to.to_owned());
        self.any_move.store(true, Ordering::Release);
        Ok(())
    }

    async fn deposit(&self, key: &str, now: SystemTime) -> Result<(), StoreError> {
        self.deposit_now(key, now);
        Ok(())
    }

    async fn try_spend(&self, key: &str, now: SystemTime) -> Result<bool, StoreError> {
        Ok(self.budget(key, |b| b.try_spend(Self::since_epoch(now))))
    }

    async fn breaker_admit(
        &self,
        key: &str,
        config: &BreakerConfig,
        now: SystemTime,
    ) -> Result<Admission, StoreError> {
        Ok(self.breaker_admit_now(key, config, now))
    }

    async fn breaker_record(
        &self,
        key: &str,
        config: &BreakerConfig,
        trial: bool,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.breaker_record_now(key, config, trial, outcome, now);
        Ok(())
    }

    async fn lease(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        Ok(self.lease_now(key, holder, ttl))
    }

    async fn release(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        self.release_now(key, holder);
        Ok(())
    }

    async fn shared(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.shared_now(key))
    }

    async fn share(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        self.share_now(key, value, ttl);
        Ok(())
    }

    fn as_memory(&self) -> Option<&MemoryStore> {
        Some(self)
    }
}
