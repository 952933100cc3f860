//! The middleware: sends a request, asks the decision engine what the response means, and
//! carries the decision out until the request is done or has failed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Extensions, HeaderMap, Method, StatusCode, Version, header};
use reqwest::{Request, Response, ResponseBuilderExt};
use reqwest_middleware::{Middleware, Next};
use url::Url;
use verdict::Contract;

/// A boxed future, as `Run`'s rare paths return.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
use verdict::decide::{
    Decision, History, Limits, Reason, RequestFacts, ResponseFacts, WaitCause, action_for, backoff,
    decide,
};

use crate::auth::Credentials;
use crate::cache::{Cache, Revalidated};
use crate::error::{Attempt, Attempts, Error, ErrorKind};
use crate::observe::Observer;
use crate::store::{MemoryStore, Store};
use crate::timer::{Timer, TokioTimer, Wait, WaitReason};

/// Options for one request, set with `RequestBuilder::with_extension`.
///
/// ```no_run
/// # async fn run(client: reqwest_middleware::ClientWithMiddleware) -> Result<(), reqwest_middleware::Error> {
/// use verdict_client::RequestOptions;
/// let response = client
///     .post("https://api.example/messages")
///     .with_extension(RequestOptions { poll: Some(true), ..Default::default() })
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// The API of the contract this request belongs to (for application codes).
    pub api: Option<String>,
    /// Poll a 202's Location until the work finishes.
    pub poll: Option<bool>,
    /// The most this request may wait in all.
    pub max_wait: Option<Duration>,
}

/// reqwest middleware that obeys a contract. Build it with [`Verdict::builder`].
pub struct Verdict {
    contract: Arc<Contract>,
    store: Arc<dyn Store>,
    timer: Arc<dyn Timer>,
    credentials: Option<Credentials>,
    limits: Limits,
    body_limit: usize,
    cache: Option<Arc<Cache>>,
    api: Option<String>,
    poll: bool,
    keys: KeyCache,
    observer: Option<Arc<dyn Observer>>,
}

/// Which store key a [`KeyCache`] slot holds.
#[derive(Clone, Copy)]
enum Slot {
    Credential,
    Budget,
}

/// The last store keys made, by the fingerprint they were made from: most requests of a
/// client go to one origin with one credential, so the keys are formatted once.
#[derive(Default)]
struct KeyCache(std::sync::Mutex<[Keyed; 2]>);

/// A key and the fingerprint it was made from.
type Keyed = Option<(u64, Arc<str>)>;

impl KeyCache {
    fn get(&self, slot: Slot, fingerprint: u64, make: impl FnOnce() -> String) -> Arc<str> {
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
            .finish_non_exhaustive()
    }
}

/// Configures a [`Verdict`] middleware.
pub struct VerdictBuilder {
    inner: Verdict,
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
                keys: KeyCache::default(),
                observer: None,
            },
        }
    }

    /// The contract it obeys.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }
}

impl VerdictBuilder {
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

    /// Credentials set on every request and refreshed after a 401.
    pub fn credentials(mut self, c: Credentials) -> Self {
        self.inner.credentials = Some(c);
        self
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

    /// Something that sees every attempt as it happens (see [`Observer`]).
    pub fn observer(mut self, o: Arc<dyn Observer>) -> Self {
        self.inner.observer = Some(o);
        self
    }

    /// The middleware.
    pub fn build(self) -> Verdict {
        self.inner
    }
}

/// The time `wait` after `now`. A server's wait can be as long as `u64::MAX` seconds
/// (`Retry-After: 18446744073709551615`), past what `SystemTime` holds: such a time is cut
/// to the furthest a quota reset goes, which no caller's `max_wait` reaches anyway.
fn later(now: SystemTime, wait: Duration) -> SystemTime {
    now.checked_add(wait)
        .or_else(|| now.checked_add(verdict::headers::MAX_RESET))
        .unwrap_or(now)
}

/// A random number in `[0, 1)` for jitter; quality does not matter, spread does.
fn sample() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ seed;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// FNV-1a, so that keys in a shared store never hold a credential in clear.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A fingerprint of a URL's origin (scheme, host, port), without formatting it.
fn origin_fingerprint(url: &Url) -> u64 {
    let port = url.port_or_known_default().unwrap_or(0).to_be_bytes();
    let h = fingerprint(url.scheme().as_bytes())
        ^ fingerprint(url.host_str().unwrap_or("").as_bytes()).rotate_left(7);
    h ^ fingerprint(&port).rotate_left(13)
}

/// The parts of a response that survive reading its body.
struct Head {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    url: Url,
}

impl Head {
    fn of(r: &Response) -> Head {
        Head {
            status: r.status(),
            version: r.version(),
            headers: r.headers().clone(),
            url: r.url().clone(),
        }
    }

    fn into_response(self, body: Bytes) -> Response {
        let mut b = http::Response::builder()
            .status(self.status)
            .version(self.version)
            .url(self.url);
        if let Some(h) = b.headers_mut() {
            *h = self.headers;
        }
        match b.body(body) {
            Ok(r) => Response::from(r),
            // Status, version and headers come from a response that was valid already.
            Err(_) => unreachable!("rebuilding a valid response"),
        }
    }
}

/// Reads at most `limit` bytes of a body. `Ok(Err(prefix))` when the body is longer.
async fn read_limited(mut r: Response, limit: usize) -> Result<Result<Bytes, Bytes>, String> {
    let mut buf = Vec::new();
    loop {
        match r.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > limit {
                    buf.extend_from_slice(&chunk[..limit - buf.len()]);
                    return Ok(Err(Bytes::from(buf)));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Ok(Bytes::from(buf))),
            Err(e) => return Err(error_chain(&e)),
        }
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Whether an error comes from TLS itself (an untrusted certificate, a failed handshake):
/// repeating the request cannot help.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.downcast_ref::<rustls::Error>().is_some() {
        return true;
    }
    // `io::Error::source` skips the error it wraps, so look inside it directly.
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        if is_tls_failure(inner) {
            return true;
        }
    }
    e.source().is_some_and(is_tls_failure)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            ct == "application/json" || ct.ends_with("+json")
        })
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The application code at the contract's code pointer: a number or a numeric string.
fn app_code(contract: &Contract, api: Option<&str>, body: &[u8]) -> Option<u32> {
    let pointer = contract.error_body_for(api).code.as_ref()?;
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    match pointer.find(&json)? {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Request headers that never follow a redirect to another origin.
fn strip_credentials(contract: &Contract, headers: &mut HeaderMap) {
    for name in [
        header::AUTHORIZATION,
        header::COOKIE,
        header::PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
    for h in &contract.auth.credential_headers {
        headers.remove(h.name());
    }
}

fn without_body(from: &Request, method: Method, url: Url) -> Request {
    let mut r = Request::new(method, url);
    *r.headers_mut() = from.headers().clone();
    for h in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::TRANSFER_ENCODING,
    ] {
        r.headers_mut().remove(h);
    }
    *r.timeout_mut() = from.timeout().copied();
    r
}

/// The state of one request as it goes through attempts.
struct Run<'a> {
    v: &'a Verdict,
    api: Option<String>,
    poll: bool,
    limits: Limits,
    history: History,
    attempts: Vec<Attempt>,
    /// Credentials were removed by a redirect to another origin: do not add them back.
    stripped: bool,
    idempotency_key: bool,
    original: Url,
}

impl Run<'_> {
    /// The store key of the request's origin and credential (reused while they stay the
    /// same, as they do across retries).
    fn credential_key(&self, req: &Request, creds: Option<&http::HeaderValue>) -> Arc<str> {
        let mut h = origin_fingerprint(req.url());
        let secret = creds.or_else(|| {
            self.v
                .contract
                .auth
                .credential_headers
                .iter()
                .find_map(|c| req.headers().get(c.name()))
        });
        if let Some(s) = secret {
            h ^= fingerprint(s.as_bytes()).rotate_left(1);
        }
        self.v.keys.get(Slot::Credential, h, || {
            format!("verdict:{}:cred:{h:016x}", self.v.contract.id)
        })
    }

    fn budget_key(&self, url: &Url) -> Arc<str> {
        let h = origin_fingerprint(url);
        self.v.keys.get(Slot::Budget, h, || {
            format!("verdict:{}:budget:{h:016x}", self.v.contract.id)
        })
    }

    fn fail(&self, kind: ErrorKind, method: Method, url: Url) -> Error {
        let mut e = Error::bare(kind, &self.v.contract, method, url);
        e.attempts = self.attempts.clone();
        e
    }

    // The rare and the waiting paths below return boxed futures: an `async fn` awaited in
    // `execute` adds its whole state to `execute`'s future, which every request allocates
    // (async-trait boxes it), so only what the usual request needs is kept inline.

    fn fail_with(
        &self,
        kind: ErrorKind,
        method: Method,
        response: Response,
        code: Option<u32>,
    ) -> BoxFuture<'_, Error> {
        Box::pin(async move { self.error_with(kind, method, response, code).await })
    }

    /// Records the attempt that got `response` as `note` and makes the error of `kind`
    /// with that answer.
    fn give_up(
        &mut self,
        kind: ErrorKind,
        note: String,
        method: Method,
        url: &Url,
        response: Response,
        code: Option<u32>,
    ) -> BoxFuture<'_, Error> {
        self.record(&method, url, Some(response.status().as_u16()), note, None);
        self.fail_with(kind, method, response, code)
    }

    async fn error_with(
        &self,
        kind: ErrorKind,
        method: Method,
        response: Response,
        code: Option<u32>,
    ) -> Error {
        let head = Head::of(&response);
        let body = match read_limited(response, self.v.body_limit).await {
            Ok(Ok(b)) | Ok(Err(b)) => b,
            Err(_) => Bytes::new(),
        };
        let mut e = Error::bare(kind, &self.v.contract, method, head.url.clone());
        e.attempts = self.attempts.clone();
        e.with_response(
            &self.v.contract,
            self.api.as_deref(),
            head.status,
            head.headers,
            body,
            code,
        )
    }

    async fn sleep(&mut self, duration: Duration, reason: WaitReason, url: &Url) {
        if duration.is_zero() {
            return;
        }
        let wait = Wait {
            duration,
            reason,
            url: url.clone(),
            next_attempt: self.attempts.len() as u32 + 1,
        };
        tracing::info!(wait_ms = duration.as_millis() as u64, reason = %wait.reason, %url, "waiting");
        self.v.timer.sleep(&wait).await;
        self.history.waited += duration;
    }

    fn record(
        &mut self,
        method: &Method,
        url: &Url,
        status: Option<u16>,
        decision: String,
        wait: Option<Duration>,
    ) {
        tracing::debug!(attempt = self.attempts.len() + 1, %method, %url, status, %decision, "attempt");
        let attempt = Attempt {
            method: method.clone(),
            url: url.clone(),
            status,
            decision,
            wait,
        };
        if let Some(o) = &self.v.observer {
            o.decided(&attempt);
        }
        self.attempts.push(attempt);
    }

    /// Where the original URL moved for good, if the store remembers a move.
    // The three store calls every request makes go straight to a `MemoryStore` (see
    // `Store::as_memory`); other stores are awaited, and a failure of theirs is logged.
    async fn moved_to(&self) -> Option<String> {
        let url = self.original.as_str();
        match self.v.store.as_memory() {
            Some(memory) => memory.moved_to_now(url),
            None => Self::warn_store(self.v.store.moved_to(url).await)
                .await
                .flatten(),
        }
    }

    /// Records a first attempt in the retry budget of `key`.
    async fn deposit(&self, key: &str) {
        let now = self.v.timer.now();
        match self.v.store.as_memory() {
            Some(memory) => memory.deposit_now(key, now),
            None => {
                Self::warn_store(self.v.store.deposit(key, now).await).await;
            }
        }
    }

    /// The time before which no request may be sent for `key`, if any.
    async fn blocked_until(&self, key: &str) -> Option<SystemTime> {
        match self.v.store.as_memory() {
            Some(memory) => memory.blocked_until_now(key),
            None => Self::warn_store(self.v.store.blocked_until(key).await)
                .await
                .flatten(),
        }
    }

    async fn warn_store<T>(r: Result<T, crate::store::StoreError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %e, "state store unavailable; using local state only");
                None
            }
        }
    }

    /// Carries out the contract's decisions for one request. A plain `fn` returning an
    /// `async move` block rather than an `async fn`: an `async fn` keeps a second copy of
    /// every argument in its future, and this future is allocated for every request.
    #[allow(clippy::manual_async_fn)]
    fn execute<'f>(
        mut self,
        mut current: Option<Request>,
        ext: &'f mut Extensions,
        next: Next<'f>,
    ) -> impl std::future::Future<Output = Result<Response, Error>> + Send + 'f
    where
        Self: 'f,
    {
        async move {
            let v = self.v;
            let contract = &*v.contract;

            if let Some(to) = self.moved_to().await {
                if let (Ok(to), Some(r)) = (Url::parse(&to), current.as_mut()) {
                    if to.origin() != r.url().origin() {
                        strip_credentials(contract, r.headers_mut());
                        self.stripped = true;
                    }
                    tracing::debug!(from = %self.original, %to, "following a remembered permanent redirect");
                    *r.url_mut() = to;
                }
            }
            let budget_key = self.budget_key(&self.original);
            self.deposit(&budget_key).await;

            loop {
                // Not replayable (a streamed body): send it once, and fail if a repeat is needed.
                let Some(template) = current.as_ref() else {
                    return Err(self.fail(
                        ErrorKind::NotReplayable,
                        Method::GET,
                        self.original.clone(),
                    ));
                };
                let mut sending = match template.try_clone() {
                    Some(r) => r,
                    None => current.take().expect("checked above"),
                };
                let (method, url) = (sending.method().clone(), sending.url().clone());

                let mut generation = None;
                let mut cred_value = None;
                if let (Some(c), false) = (&v.credentials, self.stripped) {
                    let (value, g) = c.current().await;
                    sending
                        .headers_mut()
                        .insert(c.header().clone(), value.clone());
                    generation = Some(g);
                    cred_value = Some(value);
                }
                let key = self.credential_key(&sending, cred_value.as_ref());

                let now = v.timer.now();
                if let Some(until) = self.blocked_until(&key).await {
                    if let Ok(wait) = until.duration_since(now) {
                        let left = self.limits.max_wait.saturating_sub(self.history.waited);
                        if wait > left {
                            let reason = Reason::WaitTooLong { wait, limit: left };
                            return Err(self.fail(ErrorKind::Refused(reason), method, url));
                        }
                        self.sleep(wait, WaitReason::Blocked, &url).await;
                    }
                }

                // The cache key is made only when the cache may hold or take this response.
                let cache = v.cache.as_ref().filter(|_| method == Method::GET);
                let cache_key_of = || format!("{key} {url}");
                let mut cache_key = cache.filter(|c| !c.is_empty()).map(|_| cache_key_of());
                let conditional = match (cache, &cache_key) {
                    (Some(cache), Some(k)) => cache.add_validators(k, sending.headers_mut()),
                    _ => false,
                };
                // What was sent, for matching `Vary` when the response is stored: the template
                // plus the credential set above.
                let sent_headers = || {
                    let mut h = current
                        .as_ref()
                        .map(|r| r.headers().clone())
                        .unwrap_or_default();
                    if let (Some(c), Some(value)) = (&v.credentials, &cred_value) {
                        h.insert(c.header().clone(), value.clone());
                    }
                    h
                };

                let number = self.attempts.len() as u32 + 1;
                if let Some(o) = &v.observer {
                    o.sending(number, &sending);
                }
                let result = next.clone().run(sending, ext).await;
                let now = v.timer.now();
                let response = match result {
                    Ok(r) => {
                        if let Some(o) = &v.observer {
                            o.received(number, &r);
                        }
                        r
                    }
                    Err(e) => {
                        let (connect, tls, text) = match &e {
                            reqwest_middleware::Error::Reqwest(r) => {
                                (r.is_connect(), is_tls_failure(r), error_chain(r))
                            }
                            reqwest_middleware::Error::Middleware(m) => {
                                (false, false, format!("{m:#}"))
                            }
                        };
                        let may = !tls
                            && (connect
                                || self.idempotency_key
                                || contract.retry.may_repeat(&method));
                        if may
                            && current.is_some()
                            && self.history.retries < contract.retry.max_retries
                        {
                            let wait = backoff(contract, self.history.retries + 1, sample());
                            let fits = self.history.waited + wait <= self.limits.max_wait;
                            let budget =
                                Self::warn_store(v.store.try_spend(&budget_key, now).await)
                                    .await
                                    .unwrap_or(true);
                            if fits && budget {
                                self.record(
                                    &method,
                                    &url,
                                    None,
                                    format!("retry after network failure: {text}"),
                                    Some(wait),
                                );
                                self.sleep(wait, WaitReason::Network, &url).await;
                                self.history.retries += 1;
                                continue;
                            }
                        }
                        self.record(
                            &method,
                            &url,
                            None,
                            format!("network failure: {text}"),
                            None,
                        );
                        return Err(self.fail(ErrorKind::Network(text), method, url));
                    }
                };
                let status = response.status();

                // Only a used-up quota changes what later requests do; most answers say there
                // is some left (or say nothing), and `pause` reads no further then. It reads
                // the contract's quota headers, else the IETF draft's and the common ones.
                if let Some((q, reset)) = verdict::headers::pause(contract, response.headers(), now)
                {
                    tracing::info!(
                        reset_s = reset.as_secs(),
                        fields = %q.source,
                        "quota used up; later requests wait for the window"
                    );
                    Self::warn_store(v.store.block_until(&key, later(now, reset)).await).await;
                }

                // Application codes live in JSON bodies; read the body when it may hold one.
                let mut response = response;
                let mut code = None;
                let inspect = !contract.apis.is_empty()
                    && is_json(response.headers())
                    && declared_length(response.headers()).is_none_or(|n| n <= v.body_limit);
                if inspect {
                    let head = Head::of(&response);
                    match Box::pin(read_limited(response, v.body_limit)).await {
                        Ok(Ok(body)) => {
                            code = app_code(contract, self.api.as_deref(), &body);
                            response = head.into_response(body);
                        }
                        Ok(Err(prefix)) => {
                            self.record(
                                &method,
                                &url,
                                Some(status.as_u16()),
                                "body too large".into(),
                                None,
                            );
                            let mut e = self.fail(
                                ErrorKind::Body(format!(
                                    "larger than the {}-byte limit",
                                    v.body_limit
                                )),
                                method,
                                url,
                            );
                            e = e.with_response(
                                contract,
                                self.api.as_deref(),
                                head.status,
                                head.headers,
                                prefix,
                                None,
                            );
                            return Err(e);
                        }
                        Err(text) => {
                            self.record(
                                &method,
                                &url,
                                Some(status.as_u16()),
                                format!("body unreadable: {text}"),
                                None,
                            );
                            return Err(self.fail(ErrorKind::Body(text), method, url));
                        }
                    }
                }

                let facts = RequestFacts {
                    method: &method,
                    url: &url,
                    idempotency_key: self.idempotency_key,
                    api: self.api.as_deref(),
                    poll: self.poll,
                };
                let resp_facts = ResponseFacts {
                    status: status.as_u16(),
                    headers: response.headers(),
                    app_code: code,
                };
                let decision = decide(
                    contract,
                    &facts,
                    &resp_facts,
                    &self.history,
                    &self.limits,
                    now,
                    sample(),
                );

                match decision {
                    Decision::Done | Decision::SplitBatch => {
                        self.record(&method, &url, Some(status.as_u16()), "done".into(), None);
                        let mut response = response;
                        if let Some(cache) = cache {
                            if cache.storable(status, response.headers()) {
                                let k = cache_key.get_or_insert_with(cache_key_of);
                                let req_h = &sent_headers();
                                let head = Head::of(&response);
                                match Box::pin(read_limited(response, cache.max_body)).await {
                                    Ok(Ok(body)) => {
                                        cache.store(
                                            k,
                                            req_h,
                                            head.status,
                                            head.headers.clone(),
                                            body.clone(),
                                        );
                                        response = head.into_response(body);
                                    }
                                    Ok(Err(_)) | Err(_) => {
                                        cache.remove(k);
                                        return Err(self.fail(
                                            ErrorKind::Body(
                                                "the body did not match its Content-Length".into(),
                                            ),
                                            method,
                                            url,
                                        ));
                                    }
                                }
                            }
                        }
                        response.extensions_mut().insert(Attempts(self.attempts));
                        return Ok(response);
                    }
                    Decision::UseCached => {
                        let stored = match (&v.cache, &cache_key, conditional) {
                            (Some(cache), Some(k), true) => cache.freshen(k, response.headers()),
                            _ => None,
                        };
                        let mut out = match stored {
                            Some(s) => {
                                self.record(
                                    &method,
                                    &url,
                                    Some(status.as_u16()),
                                    "not modified: answered from the stored copy".into(),
                                    None,
                                );
                                let head = Head {
                                    status: s.status,
                                    version: response.version(),
                                    headers: s.headers,
                                    url: url.clone(),
                                };
                                let mut r = head.into_response(s.body);
                                r.extensions_mut().insert(Revalidated);
                                r
                            }
                            None => {
                                self.record(
                                    &method,
                                    &url,
                                    Some(status.as_u16()),
                                    "not modified".into(),
                                    None,
                                );
                                response
                            }
                        };
                        out.extensions_mut().insert(Attempts(self.attempts));
                        return Ok(out);
                    }
                    Decision::Retry {
                        after,
                        cause,
                        ignored_header,
                    } => {
                        if let Some(e) = &ignored_header {
                            tracing::warn!(error = %e, "ignoring an unusable Retry-After; backing off instead");
                        }
                        if current.is_none() {
                            return Err(self
                                .give_up(
                                    ErrorKind::NotReplayable,
                                    "cannot repeat a streamed body".into(),
                                    method,
                                    &url,
                                    response,
                                    code,
                                )
                                .await);
                        }
                        let allowed = Self::warn_store(v.store.try_spend(&budget_key, now).await)
                            .await
                            .unwrap_or(true);
                        if !allowed {
                            return Err(self
                                .give_up(
                                    ErrorKind::BudgetExhausted,
                                    "retry budget spent".into(),
                                    method,
                                    &url,
                                    response,
                                    code,
                                )
                                .await);
                        }
                        if cause != WaitCause::Backoff {
                            // Every request on this credential waits, here and in other processes.
                            Self::warn_store(v.store.block_until(&key, later(now, after)).await)
                                .await;
                        }
                        let note = match &ignored_header {
                            Some(e) => {
                                format!("retry in {:.1} s ({cause}; {e})", after.as_secs_f64())
                            }
                            None => format!("retry in {:.1} s ({cause})", after.as_secs_f64()),
                        };
                        self.record(&method, &url, Some(status.as_u16()), note, Some(after));
                        drop(response);
                        // A shared block set above is waited out here; do not wait for it twice.
                        self.sleep(
                            after,
                            WaitReason::Retry {
                                status: status.as_u16(),
                                cause,
                            },
                            &url,
                        )
                        .await;
                        self.history.retries += 1;
                    }
                    Decision::Redirect {
                        method: to_method,
                        url: to,
                        keep_body,
                        strip_credentials: strip,
                        permanent,
                    } => {
                        let Some(template) = current.as_ref() else {
                            return Err(self
                                .fail_with(ErrorKind::NotReplayable, method, response, code)
                                .await);
                        };
                        let mut next_req = if keep_body {
                            match template.try_clone() {
                                Some(mut r) => {
                                    *r.method_mut() = to_method.clone();
                                    *r.url_mut() = to.clone();
                                    r
                                }
                                None => {
                                    return Err(self
                                        .fail_with(ErrorKind::NotReplayable, method, response, code)
                                        .await);
                                }
                            }
                        } else {
                            without_body(template, to_method.clone(), to.clone())
                        };
                        if strip {
                            strip_credentials(contract, next_req.headers_mut());
                            self.stripped = true;
                        }
                        if permanent {
                            Self::warn_store(
                                v.store.set_moved(self.original.as_str(), to.as_str()).await,
                            )
                            .await;
                        }
                        self.record(
                            &method,
                            &url,
                            Some(status.as_u16()),
                            format!(
                                "redirect: {to_method} {to}{}",
                                if strip {
                                    " (credentials removed: other origin)"
                                } else {
                                    ""
                                }
                            ),
                            None,
                        );
                        self.history.hops.push(to);
                        current = Some(next_req);
                    }
                    Decision::RefreshAuth => match (&v.credentials, self.stripped, generation) {
                        (Some(c), false, Some(seen)) => {
                            self.record(
                                &method,
                                &url,
                                Some(status.as_u16()),
                                "refresh credentials and replay".into(),
                                None,
                            );
                            if let Err(e) = c.refresh(seen).await {
                                return Err(self
                                    .fail_with(
                                        ErrorKind::Refresh(e.to_string()),
                                        method,
                                        response,
                                        code,
                                    )
                                    .await);
                            }
                            self.history.refreshed = true;
                        }
                        _ => {
                            return Err(self
                                .give_up(
                                    ErrorKind::Refused(Reason::Final),
                                    "credentials refused; no refresh hook".into(),
                                    method,
                                    &url,
                                    response,
                                    code,
                                )
                                .await);
                        }
                    },
                    Decision::Poll { url: to, after } => {
                        let template = current
                            .as_ref()
                            .unwrap_or_else(|| unreachable!("a request was just sent"));
                        let next_req = without_body(template, Method::GET, to.clone());
                        self.record(
                            &method,
                            &url,
                            Some(status.as_u16()),
                            format!("accepted: poll {to} in {:.1} s", after.as_secs_f64()),
                            Some(after),
                        );
                        drop(response);
                        self.sleep(after, WaitReason::Poll, &to).await;
                        self.history.polls += 1;
                        current = Some(next_req);
                    }
                    Decision::Fail(reason) => {
                        if let Reason::WaitTooLong { wait, .. } = &reason {
                            let (action, _) = action_for(contract, &facts, &resp_facts);
                            if action.kind() == verdict::ActionKind::RetryAfter {
                                // This request gives up, but the server's demand holds for every
                                // request on the credential.
                                Self::warn_store(
                                    v.store.block_until(&key, later(now, *wait)).await,
                                )
                                .await;
                            }
                        }
                        let note = format!("fail: {reason}");
                        return Err(self
                            .give_up(
                                ErrorKind::Refused(reason),
                                note,
                                method,
                                &url,
                                response,
                                code,
                            )
                            .await);
                    }
                }
            }
        }
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
        let opts = ext.get::<RequestOptions>().cloned().unwrap_or_default();
        let idempotency_key = self
            .contract
            .retry
            .idempotency_header
            .as_ref()
            .is_some_and(|h| req.headers().contains_key(h.name()));
        let run = Run {
            v: self,
            api: opts.api.or_else(|| self.api.clone()),
            poll: opts.poll.unwrap_or(self.poll),
            limits: Limits {
                max_wait: opts.max_wait.unwrap_or(self.limits.max_wait),
                ..self.limits.clone()
            },
            history: History::default(),
            attempts: Vec::new(),
            stripped: false,
            idempotency_key,
            original: req.url().clone(),
        };
        Box::pin(
            run.execute(Some(req), ext, next)
                .map_err(|e| reqwest_middleware::Error::Middleware(anyhow::Error::new(e))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_in_range_and_spread() {
        let xs: Vec<f64> = (0..1000).map(|_| sample()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }

    #[test]
    fn app_codes_as_numbers_or_strings() {
        let c = verdict::Catalog::builtin().get("webex-connect").unwrap();
        assert_eq!(
            app_code(c, None, br#"{"code":"7109","description":"User in DnD"}"#),
            Some(7109)
        );
        assert_eq!(app_code(c, None, br#"{"code":7500}"#), Some(7500));
        assert_eq!(app_code(c, None, b"not json"), None);
        assert_eq!(app_code(c, None, br#"{"code":"abc"}"#), None);
    }
}
