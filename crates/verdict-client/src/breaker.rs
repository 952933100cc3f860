//! The circuit breakers as the middleware runs them: the rule it was built with, asked of
//! the store, with state of its own for a store that keeps none or fails.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use verdict::breaker::{Admission, BreakerConfig, Outcome};

use crate::store::{MemoryStore, Store, StoreError};

/// The breakers of one middleware.
pub(crate) struct Breakers {
    pub(crate) config: BreakerConfig,
    /// Breakers kept in this process when the store cannot keep them.
    local: MemoryStore,
    /// Whether the store's failure was logged already (once is enough: it is the same
    /// message for every request).
    warned: AtomicBool,
}

impl Breakers {
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Breakers {
            config,
            local: MemoryStore::default(),
            warned: AtomicBool::new(false),
        }
    }

    /// Whether a request to the host of `key` may be sent at `now`.
    pub(crate) async fn admit(&self, store: &dyn Store, key: &str, now: SystemTime) -> Admission {
        if let Some(memory) = store.as_memory() {
            return memory.breaker_admit_now(key, &self.config, now);
        }
        match store.breaker_admit(key, &self.config, now).await {
            Ok(a) => a,
            Err(e) => {
                self.warn(&e);
                self.local.breaker_admit_now(key, &self.config, now)
            }
        }
    }

    /// Reports how a request let through went.
    pub(crate) async fn record(
        &self,
        store: &dyn Store,
        key: &str,
        trial: bool,
        outcome: Outcome,
        now: SystemTime,
    ) {
        let cfg = &self.config;
        if let Some(memory) = store.as_memory() {
            return memory.breaker_record_now(key, cfg, trial, outcome, now);
        }
        if let Err(e) = store.breaker_record(key, cfg, trial, outcome, now).await {
            self.warn(&e);
            self.local.breaker_record_now(key, cfg, trial, outcome, now);
        }
    }

    fn warn(&self, e: &StoreError) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %e, "circuit breakers are kept in this process only");
        }
    }
}
