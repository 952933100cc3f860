//! The emulator behind `verdict serve`: an API's documented behaviour, driven by its
//! contract. Resources really exist, every documented status is reachable by a real
//! condition or by a fault asked for per request or through the admin API under
//! `/_verdict/`.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::sync::Arc;
//! let contract = verdict::Catalog::builtin().get("webex").unwrap().clone();
//! let emulator = Arc::new(verdict_server::Emulator::new(contract, verdict_server::Config::default()).unwrap());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! verdict_server::serve(emulator, listener, std::future::pending()).await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
// Inside the engine `Err` carries the response to send at once (a refusal is an answer,
// not a failure), so its size is that of a response.
#![allow(clippy::result_large_err)]

mod admin;
mod engine;
pub mod fault;
mod idempotency;
mod idle;
mod openapi;
mod problem;
mod ratelimit;
mod reply;
mod server;
mod shared;
mod state;
mod tls;
mod util;
mod vendor;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use verdict::Contract;
use verdict::emulate::{EmulatorSpec, Quota};

pub use engine::Req;
pub use server::{ServerLimits, serve, serve_with};
pub use shared::{RedisState, StateError};
pub use tls::{Tls, TlsError};

/// How an emulator runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The credential it accepts (bearer token, API key or Basic password, as the
    /// contract's scheme says).
    pub token: String,
    /// The token the admin API requires; open when `None`.
    pub admin_token: Option<String>,
    /// Seed of every random choice (ids, random faults, latency); tracking ids are random
    /// whatever the seed.
    pub seed: u64,
    /// The share of requests answered with a random transient failure.
    pub fault_rate: f64,
    /// Extra latency, in milliseconds, drawn between the two bounds.
    pub latency_ms: Option<(u64, u64)>,
    /// Quotas replacing the contract's.
    pub quotas: Option<Vec<Quota>>,
    /// How long accepted (202) work takes, replacing the contract's delay.
    pub accept_delay: Option<Duration>,
    /// The most resources stored, replacing the contract's `store_limit`.
    pub store_limit: Option<usize>,
    /// OAuth 2.0 client and user credentials, for APIs that issue tokens.
    pub oauth: OAuthConfig,
}

/// What an emulated OAuth 2.0 token endpoint accepts and issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// The client id (HTTP Basic user of the token endpoint).
    pub client_id: String,
    /// The client secret (HTTP Basic password).
    pub client_secret: String,
    /// The user name of the password grant.
    pub username: String,
    /// The password of the password grant.
    pub password: String,
    /// How long an access token lives.
    pub access_ttl: Duration,
    /// How long a refresh token lives.
    pub refresh_ttl: Duration,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            client_id: "verdict-client-id".into(),
            client_secret: "verdict-client-secret".into(),
            username: "+16505550100".into(),
            password: "verdict-password".into(),
            access_ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: "verdict-token".into(),
            admin_token: None,
            seed: 1,
            fault_rate: 0.0,
            latency_ms: None,
            quotas: None,
            accept_delay: None,
            store_limit: None,
            oauth: OAuthConfig::default(),
        }
    }
}

/// How many times a request runs again because another emulator of the group wrote first.
const MAX_CONFLICTS: usize = 32;

/// Why an emulator cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The contract has no `[emulator]` table.
    #[error("contract \"{0}\" describes no resources to emulate (it has no [emulator] table)")]
    NotEmulated(String),
    /// A setting is out of range.
    #[error("{0}")]
    Config(String),
    /// The shared state cannot be read.
    #[error(transparent)]
    State(#[from] StateError),
}

/// One emulated API.
pub struct Emulator {
    contract: Arc<Contract>,
    spec: EmulatorSpec,
    config: Config,
    state: Mutex<state::State>,
    rng: util::Rng,
    vendor: Box<dyn vendor::Vendor>,
    certificate: std::sync::OnceLock<String>,
    journal: Mutex<state::Journal>,
    /// No fault, move, lock or maintenance is set (kept in step by the admin API), so the
    /// request path can skip those lookups.
    quiet: std::sync::atomic::AtomicBool,
    /// The Redis that holds the state of a group of emulators; this one's memory when
    /// `None`.
    shared: Option<RedisState>,
    /// The copy of shared state may hold writes Redis never confirmed: reload it.
    stale: std::sync::atomic::AtomicBool,
    /// The error body of each documented status with the contract's own message, written
    /// once (see [`reply::ErrorTemplate`]).
    error_templates: foldhash::HashMap<u16, reply::ErrorTemplate>,
    /// The idempotency keys seen and their answers (this process's only; see
    /// [`idempotency`]).
    keys: Arc<idempotency::Keys>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("contract", &self.contract.id)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// An emulator of `contract`.
    pub fn new(contract: Contract, config: Config) -> Result<Emulator, StartError> {
        let mut spec = contract
            .emulator
            .clone()
            .ok_or_else(|| StartError::NotEmulated(contract.id.clone()))?;
        if let Some(limit) = config.store_limit {
            spec.store_limit = limit;
        }
        if !(0.0..=1.0).contains(&config.fault_rate) || config.fault_rate.is_nan() {
            return Err(StartError::Config(format!(
                "the fault rate must be from 0 to 1, not {}",
                config.fault_rate
            )));
        }
        if let Some((lo, hi)) = config.latency_ms {
            if lo > hi || hi > 60_000 {
                return Err(StartError::Config(format!(
                    "latency {lo}..{hi} ms must be a range within 0..60000"
                )));
            }
        }
        if config.token.is_empty()
            || config
                .token
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(StartError::Config(
                "the token must be non-empty and hold no spaces".into(),
            ));
        }
        let mut state = state::State::default();
        state.tokens.put(state::Token {
            token: config.token.clone(),
            account: "account-1".into(),
            revoked: false,
            read_only: false,
        });
        let keys = Arc::new(idempotency::Keys::new(
            spec.idempotency_limit,
            contract.idempotency.expires,
        ));
        let mut em = Emulator {
            vendor: vendor::for_module(spec.vendor),
            contract: Arc::new(contract),
            spec,
            rng: util::Rng::new(config.seed),
            config,
            state: Mutex::new(state),
            certificate: std::sync::OnceLock::new(),
            journal: Mutex::default(),
            quiet: std::sync::atomic::AtomicBool::new(true),
            shared: None,
            stale: std::sync::atomic::AtomicBool::new(false),
            error_templates: foldhash::HashMap::default(),
            keys,
        };
        // Problem details hold the request path, so they are written for each answer.
        let templated = !em.contract.error_body.is_problem();
        em.error_templates = em
            .contract
            .statuses
            .iter()
            .filter(|_| templated)
            .filter_map(|s| {
                let parts = em.error_parts(s.code, None, &[]);
                let template = reply::ErrorTemplate::new(&em.contract, None, parts)?;
                Some((s.code, template))
            })
            .collect();
        Ok(em)
    }

    /// An emulator of `contract` whose state (resources, tokens, quotas, faults, locks,
    /// moves, maintenance and the journal) lives in `store`, shared with every emulator of
    /// the same group; it starts from what the store holds. Random choices (ids, random
    /// faults) are drawn from the seed mixed with this process's start, so that emulators
    /// of one group never draw the same ids: they do not repeat from run to run.
    pub async fn shared(
        contract: Contract,
        mut config: Config,
        store: RedisState,
    ) -> Result<Emulator, StartError> {
        // Emulators of one group started with the same seed must not draw the same ids.
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        config.seed ^= nonce.rotate_left(17) ^ u64::from(std::process::id());
        let mut em = Emulator::new(contract, config)?;
        store.reload(&em.state).await?;
        em.settle_quiet(&em.lock());
        em.shared = Some(store);
        Ok(em)
    }

    /// The Redis that holds its state, when shared.
    pub fn state_store(&self) -> Option<&RedisState> {
        self.shared.as_ref()
    }

    /// The contract it emulates.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// The credential headers a client sends, for the start-up banner.
    pub fn credential_headers(&self) -> Vec<String> {
        self.vendor.banner(self)
    }

    /// Publishes the TLS certificate at `/_verdict/certificate.pem` (first call wins).
    pub fn set_certificate(&self, pem: String) {
        let _ = self.certificate.set(pem);
    }

    /// Whether the API refuses plain HTTP.
    pub fn https_only(&self) -> bool {
        self.spec.https_only
    }

    /// The base path of the API.
    pub fn base_path(&self) -> &str {
        &self.spec.base_path
    }

    /// Records whether the state is quiet (see the `quiet` field).
    fn settle_quiet(&self, state: &state::State) {
        self.quiet
            .store(state.quiet(), std::sync::atomic::Ordering::Release);
    }

    fn lock(&self) -> MutexGuard<'_, state::State> {
        // A panic while holding the lock cannot leave the state half-written in a way that
        // matters more than stopping; carry on with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn context<'a>(&self, req: &'a Req) -> engine::Ctx<'a> {
        engine::Ctx {
            req,
            idempotency: idempotency::Pending::default(),
            tracking: {
                let mut t = String::with_capacity(44);
                t.push_str("VERDICT_");
                util::push_thread_uuid(&mut t);
                t
            },
        }
    }

    /// Adds the tracking id under the vendor's header name.
    fn tracked(&self, ctx: engine::Ctx<'_>, mut reply: reply::Reply) -> reply::Reply {
        let name = match &self.contract.headers.tracking_id {
            Some(h) => h.name().clone(),
            None => http::HeaderName::from_static("x-request-id"),
        };
        // The id's own buffer becomes the header value, without a copy.
        if let Ok(value) = http::HeaderValue::from_maybe_shared(bytes::Bytes::from(ctx.tracking)) {
            reply.headers.append(name, value);
        }
        reply
    }

    /// An error answer without running the request path (e.g. a body over the limit).
    pub fn reject(
        &self,
        req: &Req,
        status: u16,
        message: &str,
    ) -> http::Response<http_body_util::Full<bytes::Bytes>> {
        self.refusal(req, status, message).into_response()
    }

    /// [`Emulator::reject`]'s answer before it becomes a response.
    fn refusal(&self, req: &Req, status: u16, message: &str) -> reply::Reply {
        let ctx = self.context(req);
        let reply = self.error(&ctx, status, Some(message), &[]);
        self.tracked(ctx, reply)
    }

    /// [`Emulator::reject`]'s answer as the bytes of a whole HTTP/1.1 response that closes
    /// the connection, for refusals made below the HTTP layer.
    pub(crate) fn reject_wire(&self, req: &Req, status: u16, message: &str) -> Vec<u8> {
        let reply = self.refusal(req, status, message);
        let reason = reply.status.canonical_reason().unwrap_or("");
        let mut out = format!("HTTP/1.1 {} {reason}\r\n", reply.status.as_u16()).into_bytes();
        for (name, value) in &reply.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let length = format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            reply.body.len()
        );
        out.extend_from_slice(length.as_bytes());
        out.extend_from_slice(&reply.body);
        out
    }

    /// Answers one request.
    pub async fn handle(&self, req: &Req) -> http::Response<http_body_util::Full<bytes::Bytes>> {
        let started = std::time::Instant::now();
        let ctx = self.context(req);
        let admin = req.path == "/_verdict" || req.path.starts_with("/_verdict/");
        let (reply, delay) = match &self.shared {
            None => {
                let (reply, delay) = self.answer(&ctx, admin);
                if !admin {
                    let took = started.elapsed() + delay;
                    self.journal
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .record_with(|e| Self::journal_fill(e, req, &reply, took));
                }
                (reply, delay)
            }
            Some(store) => match self.answer_shared(store, &ctx, admin, started).await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::warn!(error = %e, "shared state unavailable");
                    (self.unavailable(&ctx, &e), Duration::ZERO)
                }
            },
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        // Only now is the request no longer in flight: its key's answer is kept.
        ctx.idempotency.settle(reply.status);
        let reply = self.tracked(ctx, reply);
        tracing::debug!(method = %req.method, path = %req.path, status = reply.status.as_u16(), "request");
        reply.into_response()
    }

    /// Writes the journal's record of a request and its answer into `entry`.
    fn journal_fill(
        entry: &mut state::JournalEntry,
        req: &Req,
        reply: &reply::Reply,
        took: Duration,
    ) {
        entry.fill(&req.method, &req.path, &req.query, &req.headers, &req.body);
        entry.status = reply.status.as_u16();
        entry.duration = took;
    }

    /// The answer from this emulator's state, and how long to hold it back.
    fn answer(&self, ctx: &engine::Ctx<'_>, admin: bool) -> (reply::Reply, Duration) {
        if admin {
            (admin::handle(self, ctx), Duration::ZERO)
        } else {
            self.api(ctx)
        }
    }

    /// The answer with shared state: catch up, answer, then count the quota spent, write
    /// back what changed and journal the request in one step; again when another emulator
    /// wrote first or the group's quota is used up.
    async fn answer_shared(
        &self,
        store: &RedisState,
        ctx: &engine::Ctx<'_>,
        admin: bool,
        started: std::time::Instant,
    ) -> Result<(reply::Reply, Duration), StateError> {
        use std::sync::atomic::Ordering;
        if admin {
            if let Some(reply) = admin::journal_shared(self, store, ctx).await {
                return reply.map(|r| (r, Duration::ZERO));
            }
        }
        let arrived = std::time::Instant::now();
        let mut own = Vec::new();
        let mut denied = std::collections::HashMap::new();
        for _ in 0..MAX_CONFLICTS {
            // One request at a time works on the copy; a request that only reads lets the
            // next one in before its quota and journal are written back.
            let section = store.section.lock().await;
            if self.stale.load(Ordering::Acquire) {
                store.reload(&self.state).await?;
                self.stale.store(false, Ordering::Release);
            } else if !own.is_empty() || !store.caught_up_since(arrived) {
                // A catch-up that began after this request arrived serves it too.
                store.catch_up(&self.state, &own).await?;
            }
            {
                let mut s = self.lock();
                s.changes = Some(state::Changes {
                    denied: denied.clone(),
                    ..state::Changes::default()
                });
                self.settle_quiet(&s);
            }
            let (mut reply, delay) = self.answer(ctx, admin);
            let changes = {
                let mut s = self.lock();
                self.settle_quiet(&s);
                s.changes.take().unwrap_or_default()
            };
            if changes.is_empty() {
                drop(section);
                if admin {
                    return Ok((reply, delay));
                }
            }
            let entry = (!admin).then(|| {
                let mut entry = state::JournalEntry::default();
                Self::journal_fill(&mut entry, ctx.req, &reply, started.elapsed() + delay);
                entry
            });
            match store.finish(&self.state, &changes, entry.as_ref()).await {
                Ok(shared::Finish::Done(counted)) => {
                    self.quota_headers_shared(&mut reply, &changes.asks, &counted);
                    return Ok((reply, delay));
                }
                Ok(shared::Finish::Conflict) => own = shared::keys_of(&changes),
                Ok(shared::Finish::Denied {
                    credential,
                    index,
                    reset,
                }) => {
                    denied.insert((credential, index), reset);
                    own = shared::keys_of(&changes);
                }
                Err(e) => {
                    // Whether the write landed is unknown: start over from what Redis holds.
                    if !changes.is_empty() {
                        self.stale.store(true, Ordering::Release);
                    }
                    return Err(e);
                }
            }
        }
        self.stale.store(true, Ordering::Release);
        Err(StateError::Unreachable {
            url: store.url().to_owned(),
            reason: format!("{MAX_CONFLICTS} writes in a row lost to other emulators"),
        })
    }

    /// The 503 sent while the shared state is unreachable.
    fn unavailable(&self, ctx: &engine::Ctx<'_>, e: &StateError) -> reply::Reply {
        self.error(
            ctx,
            503,
            Some(&format!(
                "The emulator cannot serve this request: {e}. It recovers by itself when Redis answers again."
            )),
            &[],
        )
        .number_header(&self.contract.headers.retry_after, 1)
    }
}
