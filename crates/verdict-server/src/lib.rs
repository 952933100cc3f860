//! The emulator behind `verdict serve`: an API's documented behaviour, driven by its
//! contract. Resources really exist, every documented status is reachable by a real
//! condition or by a fault asked for per request or through the admin API under
//! `/_verdict/`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use verdict_server::{Config, Emulator};
//!
//! let contract = verdict::Catalog::builtin().get("webex").unwrap().clone();
//! let emulator = Arc::new(Emulator::new(contract, Config::default())?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! verdict_server::serve(emulator, listener, std::future::pending()).await;
//! # Ok(()) }
//! ```
//!
//! Where things are: this file holds the types; `request` is the path of
//! one request, stage by stage; `resource` the operations on the contract's resources;
//! `state` the state behind its methods (`shared` puts it on Redis); `reply` the one error
//! renderer; `vendor/` what only one vendor does, the module the contract's
//! `[emulator] vendor` names; `admin` is `/_verdict/`; `server` and `idle` the HTTP layer.

#![warn(missing_docs)]
// Inside the engine `Err` carries the response to send at once (a refusal is an answer,
// not a failure), so its size is that of a response.
#![allow(clippy::result_large_err)]

mod address;
mod admin;
mod body_schema;
pub mod fault;
mod idempotency;
mod idle;
mod openapi;
mod paging;
mod problem;
mod ratelimit;
mod reply;
mod request;
mod resource;
mod rpc;
mod search;
mod server;
mod shared;
mod state;
mod tls;
mod util;
mod vendor;

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use std::time::Duration;

use verdict::Contract;
use verdict::emulate::{EmulatorSpec, Quota};

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
    /// The settings of the API's OAuth 2.0 token endpoint, for a vendor module that serves
    /// one; each setting left `None` takes that module's default.
    pub oauth: OAuthSettings,
}

/// The settings asked for of an emulated OAuth 2.0 token endpoint; a setting left `None`
/// takes the default of the vendor module that serves the endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthSettings {
    /// The client id (HTTP Basic user of the token endpoint).
    pub client_id: Option<String>,
    /// The client secret (HTTP Basic password).
    pub client_secret: Option<String>,
    /// The user name of the password grant.
    pub username: Option<String>,
    /// The password of the password grant.
    pub password: Option<String>,
    /// How long an access token lives.
    pub access_ttl: Option<Duration>,
    /// How long a refresh token lives.
    pub refresh_ttl: Option<Duration>,
}

impl OAuthSettings {
    /// These settings over a vendor module's `defaults`.
    pub(crate) fn over(&self, defaults: OAuth) -> OAuth {
        let or = |set: &Option<String>, default: String| set.clone().unwrap_or(default);
        OAuth {
            client_id: or(&self.client_id, defaults.client_id),
            client_secret: or(&self.client_secret, defaults.client_secret),
            username: or(&self.username, defaults.username),
            password: or(&self.password, defaults.password),
            access_ttl: self.access_ttl.unwrap_or(defaults.access_ttl),
            refresh_ttl: self.refresh_ttl.unwrap_or(defaults.refresh_ttl),
        }
    }
}

/// What an emulated OAuth 2.0 token endpoint accepts and issues: the [`OAuthSettings`]
/// asked for over its vendor module's defaults (see [`Emulator::oauth`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth {
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
            oauth: OAuthSettings::default(),
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
        state.put_token(state::Token {
            token: config.token.clone(),
            account: "account-1".into(),
            revoked: false,
            read_only: false,
        });
        let vendor = vendor::for_module(spec.vendor, &config);
        vendor
            .check_contract(&contract)
            .map_err(StartError::Config)?;
        let keys = Arc::new(idempotency::Keys::new(
            spec.idempotency_limit,
            contract.idempotency.expires,
        ));
        let mut em = Emulator {
            vendor,
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
        {
            let mut state = em.lock();
            em.plant_seeds(&mut state);
        }
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
        em.seed_store(&store).await?;
        em.settle_quiet(&em.lock());
        em.shared = Some(store);
        Ok(em)
    }

    /// Plants the contract's seed items in a store nothing was ever written to, the way a
    /// lone emulator starts with them. Where another emulator of the group wrote first
    /// (it planted them too, or the group already has a history), its state is taken.
    async fn seed_store(&self, store: &RedisState) -> Result<(), StartError> {
        let seeded = self.spec.resources.iter().any(|r| !r.seed.is_empty());
        if !seeded || self.lock().version != 0 {
            return Ok(());
        }
        let changes = {
            let mut state = self.lock();
            state.changes = Some(state::Changes::default());
            self.plant_seeds(&mut state);
            state.changes.take().unwrap_or_default()
        };
        match store.finish(&self.state, &changes, None).await? {
            shared::Finish::Done(_) => Ok(()),
            _ => Ok(store.reload(&self.state).await?),
        }
    }

    /// The Redis that holds its state, when shared.
    pub fn state_store(&self) -> Option<&RedisState> {
        self.shared.as_ref()
    }

    /// The contract it emulates.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// What its OAuth 2.0 token endpoint accepts and issues, when its vendor module serves
    /// one.
    pub fn oauth(&self) -> Option<&OAuth> {
        self.vendor.oauth()
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
}

/// A request as the emulator sees it.
#[derive(Debug, Clone)]
pub struct Req {
    /// The method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body (within the server's limit).
    pub body: Bytes,
    /// It came over TLS.
    pub https: bool,
    /// The address the request arrived on (the origin when `Host` is missing or odd).
    pub local: std::net::SocketAddr,
}

impl Req {
    /// `scheme://host` as the client reached the emulator: the `Host` header when it is a
    /// plausible host, else the listening address. Made only where an answer holds a URL
    /// (a Location, a Link), not for every request.
    ///
    /// ```
    /// # use verdict_server::Req;
    /// let mut req = Req {
    ///     method: http::Method::GET,
    ///     path: "/v1/rooms".into(),
    ///     query: String::new(),
    ///     headers: http::HeaderMap::new(),
    ///     body: bytes::Bytes::new(),
    ///     https: false,
    ///     local: ([127, 0, 0, 1], 8080).into(),
    /// };
    /// assert_eq!(req.origin(), "http://127.0.0.1:8080");
    /// req.headers.insert("host", http::HeaderValue::from_static("localhost:8080"));
    /// assert_eq!(req.origin(), "http://localhost:8080");
    /// req.headers.insert("host", http::HeaderValue::from_static("evil/path"));
    /// assert_eq!(req.origin(), "http://127.0.0.1:8080");
    /// ```
    pub fn origin(&self) -> String {
        let scheme = if self.https { "https://" } else { "http://" };
        let host = self
            .headers
            .get(http::header::HOST)
            .map(HeaderValue::as_bytes)
            .filter(|h| {
                !h.is_empty()
                    && h.iter()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(b))
            })
            .and_then(|h| std::str::from_utf8(h).ok());
        match host {
            Some(host) => format!("{scheme}{host}"),
            None => format!("{scheme}{}", self.local),
        }
    }

    /// A header as text, when it is text. `name` is a `&str` or, cheaper on the request
    /// path, a [`http::HeaderName`].
    pub fn header<K: http::header::AsHeaderName>(&self, name: K) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The query string, decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The same request with another method and path.
    fn with(self, method: Method, path: String) -> Req {
        Req {
            method,
            path,
            ..self
        }
    }

    /// The first value of a query parameter.
    pub fn query_value(&self, key: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}
