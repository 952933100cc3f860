//! The middleware: sends a request, asks the decision engine what the response means, and
//! carries the decision out until the request is done or has failed.

use std::sync::Arc;
use std::time::Duration;

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use verdict::Contract;
use verdict::breaker::BreakerConfig;
use verdict::decide::{History, Limits};

use crate::auth::{Credentials, TokenRequest};
use crate::breaker::Breakers;
use crate::cache::Cache;
use crate::observe::Observer;
use crate::run::Run;
use crate::store::{MemoryStore, Store};
use crate::timer::{Timer, TokioTimer};

/// Options for one request, set with `RequestBuilder::with_extension`. Each one left
/// unset takes the middleware's default.
///
/// Built with [`RequestOptions::new`] and its setters, so that options can be added
/// without breaking code that sets the others.
///
/// ```no_run
/// # async fn run(client: reqwest_middleware::ClientWithMiddleware) -> Result<(), reqwest_middleware::Error> {
/// use std::time::Duration;
/// use verdict_client::RequestOptions;
/// let response = client
///     .post("https://api.example/messages")
///     .with_extension(RequestOptions::new().poll(true).max_wait(Duration::from_secs(30)))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    api: Option<String>,
    poll: Option<bool>,
    max_wait: Option<Duration>,
}

impl RequestOptions {
    /// No option set: every one is the middleware's.
    pub fn new() -> Self {
        RequestOptions::default()
    }

    /// The API of the contract this request belongs to (for application codes).
    pub fn api(mut self, api: impl Into<String>) -> Self {
        self.api = Some(api.into());
        self
    }

    /// Whether to poll a 202's Location until the work finishes.
    pub fn poll(mut self, yes: bool) -> Self {
        self.poll = Some(yes);
        self
    }

    /// The most this request may wait in all.
    pub fn max_wait(mut self, d: Duration) -> Self {
        self.max_wait = Some(d);
        self
    }
}

/// reqwest middleware that obeys a contract. Build it with [`Verdict::builder`].
pub struct Verdict {
    pub(crate) contract: Arc<Contract>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) timer: Arc<dyn Timer>,
    pub(crate) credentials: Option<Credentials>,
    limits: Limits,
    pub(crate) body_limit: usize,
    pub(crate) cache: Option<Arc<Cache>>,
    api: Option<String>,
    poll: bool,
    pub(crate) split_batches: bool,
    pub(crate) keys: KeyCache,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    /// The circuit breakers, when they are on.
    pub(crate) breaker: Option<Box<Breakers>>,
}

/// Which store key a [`KeyCache`] slot holds.
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    Credential,
    Budget,
    Breaker,
}

/// The last store keys made, by the fingerprint they were made from: most requests of a
/// client go to one origin with one credential, so the keys are formatted once.
#[derive(Default)]
pub(crate) struct KeyCache(std::sync::Mutex<[Keyed; 3]>);

/// A key and the fingerprint it was made from.
type Keyed = Option<(u64, Arc<str>)>;

impl KeyCache {
    pub(crate) fn get(
        &self,
        slot: Slot,
        fingerprint: u64,
        make: impl FnOnce() -> String,
    ) -> Arc<str> {
        let mut slots = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match &slots[slot as usize] {
            Some((seen, key)) if *seen == fingerprint => key.clone(),
            _ => {
                let key: Arc<str> = make().into();
                slots[slot as usize] = Some((fingerprint, key.clone()));
                key
            }
        }
    }
}

impl std::fmt::Debug for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verdict")
            .field("contract", &self.contract.id)
            .field("limits", &self.limits)
            .field("breaker", &self.breaker.as_ref().map(|b| b.config))
            .finish_non_exhaustive()
    }
}

/// Configures a [`Verdict`] middleware.
pub struct VerdictBuilder {
    inner: Verdict,
}

impl std::fmt::Debug for VerdictBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("VerdictBuilder").field(&self.inner).finish()
    }
}

impl Verdict {
    /// A builder for a middleware obeying `contract`.
    pub fn builder(contract: Contract) -> VerdictBuilder {
        VerdictBuilder {
            inner: Verdict {
                contract: Arc::new(contract),
                store: Arc::new(MemoryStore::default()),
                timer: Arc::new(TokioTimer),
                credentials: None,
                limits: Limits::default(),
                body_limit: 8 << 20,
                cache: Some(Arc::new(Cache::new(1024, 1 << 20))),
                api: None,
                poll: false,
                split_batches: false,
                keys: KeyCache::default(),
                observer: None,
                breaker: None,
            },
        }
    }

    /// The contract it obeys.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }
}

impl VerdictBuilder {
    /// The contract the middleware will obey (its `base_url`, for instance).
    ///
    /// ```
    /// let b = verdict_client::Verdict::builtin("webex").unwrap();
    /// assert_eq!(b.contract().base_url.as_deref(), Some("https://webexapis.com/v1"));
    /// ```
    pub fn contract(&self) -> &Contract {
        &self.inner.contract
    }

    /// The most one request may wait in all (default 300 s). A wait that would pass it is
    /// an error at once, carrying the wait asked for.
    pub fn max_wait(mut self, d: Duration) -> Self {
        self.inner.limits.max_wait = d;
        self
    }

    /// The most polls of a 202's Location (default 60).
    pub fn max_polls(mut self, n: u32) -> Self {
        self.inner.limits.max_polls = n;
        self
    }

    /// Credentials set on every request and refreshed after a 401 (and before they
    /// expire, when they say when). A request that sets the credential's header itself
    /// keeps its own value.
    pub fn credentials(mut self, c: Credentials) -> Self {
        self.inner.credentials = Some(c);
        self
    }

    /// OAuth 2.0 access tokens from `client` on every request: got before the first one,
    /// renewed shortly before they expire and after a 401. Short for
    /// `credentials(Credentials::oauth2(client))`; see [`crate::oauth`].
    pub fn oauth2(self, client: crate::oauth::OAuth2) -> Self {
        self.credentials(Credentials::oauth2(client))
    }

    /// Shared state (default: in memory, for this middleware alone).
    pub fn store(mut self, s: Arc<dyn Store>) -> Self {
        self.inner.store = s;
        self
    }

    /// The clock and sleep (default: tokio).
    pub fn timer(mut self, t: Arc<dyn Timer>) -> Self {
        self.inner.timer = t;
        self
    }

    /// The most bytes read from a body the middleware inspects (errors, application codes).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.inner.body_limit = bytes;
        self
    }

    /// Keep validators of up to `entries` GET responses of up to `max_body` bytes; 0
    /// entries turns conditional requests off.
    pub fn cache(mut self, entries: usize, max_body: usize) -> Self {
        self.inner.cache = (entries > 0).then(|| Arc::new(Cache::new(entries, max_body)));
        self
    }

    /// The API of the contract requests belong to by default (for application codes).
    pub fn api(mut self, api: impl Into<String>) -> Self {
        self.inner.api = Some(api.into());
        self
    }

    /// Poll every 202's Location by default.
    pub fn poll_accepted(mut self, yes: bool) -> Self {
        self.inner.poll = yes;
        self
    }

    /// Split every 207 `multipart/mixed` batch the contract says to split (RingCentral's
    /// batch reads): the response then carries a [`crate::BatchParts`] extension, each part
    /// with its status, the contract's meaning and advice, and an error for a failed part.
    /// The body stays readable.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = verdict_client::Verdict::builtin("ringcentral")?.split_batches(true).client()?;
    /// let r = client.get("https://platform.ringcentral.com/restapi/v1.0/account/~/extension/1,2").send().await?;
    /// for part in &r.extensions().get::<verdict_client::BatchParts>().unwrap().0 {
    ///     println!("{}: {}", part.status, part.meaning.as_deref().unwrap_or("-"));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn split_batches(mut self, yes: bool) -> Self {
        self.inner.split_batches = yes;
        self
    }

    /// Something that sees every attempt as it happens (see [`Observer`]).
    pub fn observer(mut self, o: Arc<dyn Observer>) -> Self {
        self.inner.observer = Some(o);
        self
    }

    /// Turns on a circuit breaker per host (scheme, host and port), kept in the
    /// [`store`](Self::store) so that a fleet sharing a `RedisStore` shares it. A request
    /// to a host whose breaker is open is not sent: it fails at once with
    /// [`ErrorKind::CircuitOpen`](crate::ErrorKind::CircuitOpen), which says when the
    /// breaker lets a request through again. See [`verdict::breaker`] for the rule.
    ///
    /// An attempt counts against its host when no answer came (a network failure, a body
    /// cut short), or when the answer is a 5xx or a 429 that the contract repeats or gives
    /// up on; any other answer, 4xx included, counts for it. Off by default.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verdict_client::{BreakerConfig, Verdict};
    ///
    /// let contract = verdict::Catalog::builtin().get("webex").unwrap().clone();
    /// let middleware = Verdict::builder(contract)
    ///     .circuit_breaker(BreakerConfig { failures: 3, open_for: Duration::from_secs(10), ..Default::default() })
    ///     .build();
    /// # let _ = middleware;
    /// ```
    pub fn circuit_breaker(mut self, config: BreakerConfig) -> Self {
        self.inner.breaker = Some(Box::new(Breakers::new(config)));
        self
    }

    /// The middleware.
    pub fn build(self) -> Verdict {
        self.inner
    }
}

impl Verdict {
    /// The state of one request about to be sent: its options, and the idempotency key
    /// the contract asks the client to add.
    fn start(&self, req: Request, ext: &Extensions) -> Box<Run<'_>> {
        let opts = ext.get::<RequestOptions>().cloned().unwrap_or_default();
        // A request made by a credential renewal gets no credential from here and never
        // waits past what the renewing request may still wait.
        let renewing = crate::auth::renewing();
        let token_request = renewing.is_some() || ext.get::<TokenRequest>().is_some();
        let max_wait = opts.max_wait.unwrap_or(self.limits.max_wait);
        let max_wait = renewing.map_or(max_wait, |left| left.min(max_wait));
        let mut req = req;
        if let Some(h) = self.contract.client_idempotency_header(req.method()) {
            if !req.headers().contains_key(h.name()) {
                // One key for this logical request: its repeats are copies of it.
                req.headers_mut()
                    .insert(h.name().clone(), crate::wire::idempotency_key());
            }
        }
        let idempotency_key = self
            .contract
            .retry
            .idempotency_header
            .as_ref()
            .is_some_and(|h| req.headers().contains_key(h.name()));
        Box::new(Run {
            v: self,
            api: opts.api.or_else(|| self.api.clone()),
            poll: opts.poll.unwrap_or(self.poll),
            limits: Limits {
                max_wait,
                ..self.limits.clone()
            },
            history: History::default(),
            attempts: Vec::new(),
            stripped: false,
            token_request,
            idempotency_key,
            original: req.url().clone(),
            template: Some(req),
            shared_wait: None,
        })
    }
}

impl Middleware for Verdict {
    // Written out rather than with `#[async_trait]`: the future returned is the one
    // `Run::execute` builds, boxed once, with no outer future holding a second copy of
    // the request and the run state. The signature is the trait's, as async-trait
    // declares it.
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        req: Request,
        ext: &'life1 mut Extensions,
        next: Next<'life2>,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = reqwest_middleware::Result<Response>>
                + Send
                + 'async_trait,
        >,
    >
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        use futures_util::TryFutureExt;
        let run = self.start(req, ext);
        Box::pin(
            run.execute(ext, next)
                .map_err(|e| reqwest_middleware::Error::Middleware(anyhow::Error::new(e))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the future `Verdict::handle` boxes, measures it and sends nothing.
    struct Probe(Verdict, Arc<std::sync::atomic::AtomicUsize>);

    #[async_trait::async_trait]
    impl Middleware for Probe {
        async fn handle(
            &self,
            req: Request,
            ext: &mut Extensions,
            next: Next<'_>,
        ) -> reqwest_middleware::Result<Response> {
            let run = self.0.start(req, ext);
            let size = std::mem::size_of_val(&run.execute(ext, next));
            self.1.store(size, std::sync::atomic::Ordering::SeqCst);
            Err(reqwest_middleware::Error::Middleware(anyhow::anyhow!(
                "measured"
            )))
        }
    }

    /// Every request allocates this future; the allocator serves blocks of up to 1032
    /// bytes from per-thread caches and larger ones from its shared bins, which costs
    /// several times more. Keep it small: box what only rare paths need.
    #[tokio::test]
    async fn the_future_of_a_request_fits_the_allocators_quick_path() {
        let contract = verdict::Catalog::builtin().get("webex").unwrap().clone();
        let size = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let probe = Probe(Verdict::builder(contract).build(), size.clone());
        let client = reqwest_middleware::ClientBuilder::new(crate::http_client().build().unwrap())
            .with(probe)
            .build();
        assert!(client.get("http://127.0.0.1:9/rooms").send().await.is_err());
        let size = size.load(std::sync::atomic::Ordering::SeqCst);
        assert!(size > 0 && size <= 1024, "{size} bytes");
    }
}
