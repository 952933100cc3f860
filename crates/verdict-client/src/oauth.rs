//! OAuth 2.0 built in, for APIs whose contract declares a token endpoint
//! (`[auth] scheme = "oauth2"` with `token_path`).
//!
//! [`OAuth2`] gets access tokens from the token endpoint with the client credentials
//! grant or the resource owner password grant (RFC 6749 §4.4, §4.3), authenticating the
//! client with HTTP Basic and sending a form-encoded body, and renews them:
//!
//! - **before they run out**: a token is renewed before a request would send it once less
//!   than the *margin* is left of its `expires_in`. The margin is the smaller of
//!   [`OAuth2Builder::refresh_margin`] (60 s unless set) and a tenth of the token's
//!   lifetime, so a token of an hour is renewed a minute early and one of 5 s half a second
//!   early. A token without `expires_in` is renewed only after a 401;
//! - **after a 401**, once per request (the contract's `refresh-auth` action).
//!
//! A renewal uses the refresh token when there is one (RFC 6749 §6); when the endpoint
//! refuses it (`invalid_grant`: expired, revoked or already used) the client authenticates
//! again with its grant, as RingCentral's documentation says.
//!
//! A renewal runs once for all the requests that need it in the process (single flight),
//! and once for all the processes that share the client's [`Store`] (a `RedisStore`): the
//! process that renews takes a lease in the store, the others wait for the tokens it
//! shares there and use them, without a token request of their own. The wait is part of
//! each request's `max_wait`; a process that stops while renewing holds the others back
//! for at most the lease (15 s). The tokens are then kept in the store: protect it as you
//! protect them, or turn sharing off with [`OAuth2Builder::share_tokens`]. Processes that
//! share a [token file](OAuth2Builder::token_file) read it again before renewing and use
//! the tokens another process wrote there.
//!
//! Every new pair of tokens is kept: written to the token file (read again when the next
//! process starts) and handed to [`OAuth2Builder::on_tokens`], so that a rotating refresh
//! token is never lost.
//!
//! An error of the endpoint (RFC 6749 §5.2) is an [`OAuthError::Refused`] with its `error`
//! and `error_description`; a request that needed the token fails with
//! [`ErrorKind::OAuth`](crate::ErrorKind::OAuth).
//!
//! ```no_run
//! use verdict_client::{Verdict, oauth::OAuth2};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let contract = verdict::Catalog::builtin().get("ringcentral").unwrap().clone();
//! // The contract's token_path, at the contract's base URL (or at another origin).
//! let oauth = OAuth2::for_contract(&contract, None, "client-id", "client-secret")?
//!     .password("+16505550100", "secret")
//!     .token_file("ringcentral-tokens.json")
//!     .on_tokens(|t| println!("new tokens, expiring at {:?}", t.expires_at))
//!     .build()?;
//! let client = verdict_client::client(Verdict::builder(contract).oauth2(oauth).build())?;
//! let me = client
//!     .get("https://platform.ringcentral.com/restapi/v1.0/account/~/extension/~")
//!     .send()
//!     .await?;
//! println!("{}", me.text().await?);
//! # Ok(()) }
//! ```

mod tokens;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::header;
use serde_json::Value;
use url::Url;
use verdict::{AuthScheme, Contract};

use crate::auth::{Fresh, bearer_value};
use crate::store::Store;
use crate::timer::Timer;
use crate::wire::{error_chain, read_limited};

pub use tokens::Tokens;

/// The most bytes read of a token endpoint's answer.
const ANSWER_LIMIT: usize = 64 << 10;

/// How long one process may renew before another may take its place (a process that
/// stopped while renewing holds the others back no longer than this).
const LEASE: Duration = Duration::from_secs(15);

/// How often a process waiting for another's renewal looks for its tokens.
const LOOK_AGAIN: Duration = Duration::from_millis(50);

/// How long shared tokens are kept: while the refresh token lives (30 days when its end is
/// unknown), else while the access token does (a day when that is unknown too).
fn shared_for(t: &Tokens, now: SystemTime) -> Duration {
    let end = match (&t.refresh_token, t.refresh_token_expires_at) {
        (Some(_), Some(end)) => Some(end),
        (Some(_), None) => now.checked_add(Duration::from_secs(30 * 86_400)),
        (None, _) => t.expires_at,
    };
    end.and_then(|e| e.duration_since(now).ok())
        .unwrap_or(Duration::from_secs(86_400))
        .max(Duration::from_secs(1))
}

/// A stable name for the tokens of one endpoint, client and user (FNV-1a, so that the
/// store's keys carry no client id or user name).
fn share_key(token_url: &str, client_id: &str, grant: Option<&Grant>) -> String {
    let user = match grant {
        Some(Grant::Password { username, .. }) => username.as_str(),
        _ => "",
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [token_url, client_id, user] {
        for b in part.bytes().chain([0]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("oauth:{h:016x}")
}

/// Who holds a renewal lease: this client in this process.
fn holder_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let started = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{started:x}-{n}", std::process::id())
}

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The token endpoint answered with an OAuth error (RFC 6749 §5.2).
    #[error("the token endpoint refused the {grant} grant ({status} {error}){}", .description.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        /// The grant asked for (`password`, `refresh_token`, `client_credentials`).
        grant: String,
        /// The HTTP status.
        status: u16,
        /// The `error` code, e.g. `invalid_grant`.
        error: String,
        /// The `error_description`, when given.
        description: Option<String>,
    },
    /// The token endpoint answered an error status without an OAuth error body.
    #[error("the token endpoint answered {status} to the {grant} grant{}", if .body.is_empty() { String::new() } else { format!(": {}", .body) })]
    Status {
        /// The grant asked for.
        grant: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body, on one line.
        body: String,
    },
    /// No answer from the token endpoint; reqwest's error is the source.
    #[error("the token endpoint could not be reached: {0}")]
    Network(#[source] Unreachable),
    /// A successful answer that is not a usable token response.
    #[error("the token endpoint's answer is not usable: {0}")]
    Malformed(String),
    /// No grant to authenticate with, and no usable refresh token.
    #[error(
        "no way to get a token: no grant is configured (password or client credentials) and there is no usable refresh token"
    )]
    NoGrant,
    /// The token file could not be read or written.
    #[error("token file {}: {message}", .path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The contract declares no OAuth 2.0 token endpoint.
    #[error(
        "the {contract} contract declares no OAuth 2.0 token endpoint ([auth] scheme = \"oauth2\" with a token_path)"
    )]
    NoTokenEndpoint {
        /// The contract id.
        contract: String,
    },
    /// The HTTP client for the token endpoint could not be set up.
    #[error("cannot set up the token client: {0}")]
    Setup(String),
}

/// Why the token endpoint gave no answer: reqwest's error, shared so that
/// [`OAuthError`] stays cheap to clone. Its `Display` is the whole chain of causes.
#[derive(Debug, Clone)]
pub struct Unreachable(Arc<reqwest::Error>);

impl Unreachable {
    /// The request timed out.
    pub fn is_timeout(&self) -> bool {
        self.0.is_timeout()
    }

    /// No connection could be made.
    pub fn is_connect(&self) -> bool {
        self.0.is_connect()
    }
}

impl From<reqwest::Error> for Unreachable {
    fn from(e: reqwest::Error) -> Self {
        Unreachable(Arc::new(e))
    }
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&error_chain(&*self.0))
    }
}

impl std::error::Error for Unreachable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// Two failures are equal when they read the same (reqwest's errors cannot be compared).
impl PartialEq for Unreachable {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.to_string() == other.to_string()
    }
}

impl Eq for Unreachable {}

impl OAuthError {
    /// The endpoint refused the request itself (a 4xx): another grant may still work.
    fn is_refusal(&self) -> bool {
        match self {
            OAuthError::Refused { status, .. } | OAuthError::Status { status, .. } => {
                (400..500).contains(status)
            }
            _ => false,
        }
    }
}

/// Text from a server on one line, and not too long.
pub(crate) fn one_line(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if s.chars().count() > 300 {
        out.push('…');
    }
    out.trim().to_owned()
}

/// How the client authenticates (besides refresh tokens).
#[derive(Clone)]
enum Grant {
    ClientCredentials,
    Password { username: String, password: String },
}

impl Grant {
    fn name(&self) -> &'static str {
        match self {
            Grant::ClientCredentials => "client_credentials",
            Grant::Password { .. } => "password",
        }
    }
}

type TokensFn = dyn Fn(&Tokens) + Send + Sync;

/// An OAuth 2.0 client of one token endpoint: its credentials, its grant and its current
/// tokens. Cheap to clone (the clones share the tokens). Give it to
/// [`VerdictBuilder::oauth2`](crate::VerdictBuilder::oauth2); see the [module](self).
#[derive(Clone)]
pub struct OAuth2 {
    inner: Arc<Inner>,
}

struct Inner {
    token_url: Url,
    client_id: String,
    client_secret: String,
    grant: Option<Grant>,
    scope: Option<String>,
    margin: Duration,
    file: Option<PathBuf>,
    on_tokens: Option<Arc<TokensFn>>,
    http: reqwest::Client,
    tokens: Mutex<Option<Tokens>>,
    /// Renewals and tokens are shared through the store.
    share: bool,
    share_key: String,
    holder: String,
}

impl std::fmt::Debug for OAuth2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        f.debug_struct("OAuth2")
            .field("token_url", &i.token_url.as_str())
            .field("client_id", &i.client_id)
            .field("grant", &i.grant.as_ref().map(Grant::name))
            .field("token_file", &i.file)
            .finish_non_exhaustive()
    }
}

/// Configures an [`OAuth2`] client.
pub struct OAuth2Builder {
    token_url: Url,
    client_id: String,
    client_secret: String,
    grant: Option<Grant>,
    scope: Option<String>,
    margin: Duration,
    file: Option<PathBuf>,
    on_tokens: Option<Arc<TokensFn>>,
    http: Option<reqwest::Client>,
    tokens: Option<Tokens>,
    share: bool,
}

impl OAuth2 {
    /// A client of the token endpoint at `token_url`, authenticating as `client_id` with
    /// `client_secret` (HTTP Basic, each form-encoded first as RFC 6749 §2.3.1 says).
    pub fn builder(
        token_url: Url,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> OAuth2Builder {
        OAuth2Builder {
            token_url,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            grant: None,
            scope: None,
            margin: Duration::from_secs(60),
            file: None,
            on_tokens: None,
            http: None,
            tokens: None,
            share: true,
        }
    }

    /// A builder for the token endpoint the contract declares, at `origin` (default: the
    /// contract's base URL). An error when the contract declares none.
    ///
    /// ```
    /// let c = verdict::Catalog::builtin().get("ringcentral").unwrap();
    /// let origin = url::Url::parse("http://127.0.0.1:8080/restapi/v1.0/account/~").unwrap();
    /// let url = verdict_client::oauth::OAuth2::endpoint(c, Some(&origin)).unwrap();
    /// assert_eq!(url.as_str(), "http://127.0.0.1:8080/restapi/oauth/token");
    /// let webex = verdict::Catalog::builtin().get("webex").unwrap();
    /// assert!(verdict_client::oauth::OAuth2::endpoint(webex, None).is_err());
    /// ```
    pub fn endpoint(contract: &Contract, origin: Option<&Url>) -> Result<Url, OAuthError> {
        let none = || OAuthError::NoTokenEndpoint {
            contract: contract.id.clone(),
        };
        let AuthScheme::Oauth2 {
            token_path: Some(path),
        } = &contract.auth.scheme
        else {
            return Err(none());
        };
        let base = match origin {
            Some(o) => o.clone(),
            None => contract
                .base_url
                .as_deref()
                .and_then(|b| Url::parse(b).ok())
                .ok_or_else(none)?,
        };
        base.join(path).map_err(|_| none())
    }

    /// [`OAuth2::builder`] for the token endpoint of `contract` (see [`OAuth2::endpoint`]).
    pub fn for_contract(
        contract: &Contract,
        origin: Option<&Url>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<OAuth2Builder, OAuthError> {
        let url = OAuth2::endpoint(contract, origin)?;
        Ok(OAuth2::builder(url, client_id, client_secret))
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.inner.token_url
    }

    /// The tokens in use, if any yet.
    pub fn tokens(&self) -> Option<Tokens> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Tokens>> {
        self.inner.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The credential of the tokens in use.
    pub(crate) fn fresh(&self) -> Option<Fresh> {
        self.lock().as_ref().and_then(|t| self.fresh_of(t))
    }

    fn fresh_of(&self, t: &Tokens) -> Option<Fresh> {
        let margin = match t.lifetime {
            Some(life) => self.inner.margin.min(life / 10),
            None => self.inner.margin,
        };
        Some(Fresh {
            value: bearer_value(&t.access_token).ok()?,
            refresh_at: t.expires_at.map(|e| e.checked_sub(margin).unwrap_or(e)),
            expires_at: t.expires_at,
        })
    }

    /// New tokens: another process's (from the store or the token file) when it renewed
    /// them already, else from the refresh grant, else (when there is no refresh token or
    /// it is refused) from the configured grant. With a shared `store`, one process renews
    /// at a time: the others wait for its tokens, as long as the caller's limit allows.
    pub(crate) async fn renew(
        &self,
        timer: &dyn Timer,
        store: &dyn Store,
    ) -> Result<Fresh, OAuthError> {
        let shared = self.inner.share.then_some(store);
        let mut held = self.tokens();
        if let Some(fresh) = self.adopt(&mut held, timer.now(), shared).await {
            return fresh;
        }
        let Some(store) = shared else {
            let t = self.renew_here(held.as_ref(), timer).await?;
            return self.keep(t, true);
        };
        let (key, holder) = (&self.inner.share_key, &self.inner.holder);
        let lease = &format!("{key}:lease");
        loop {
            match store.lease(lease, holder, LEASE).await {
                Ok(true) => break,
                Ok(false) => tokio::time::sleep(LOOK_AGAIN).await,
                Err(e) => {
                    tracing::warn!(error = %e, "the store lends no renewal lease; renewing here");
                    break;
                }
            }
            if let Some(fresh) = self.adopt(&mut held, timer.now(), shared).await {
                return fresh;
            }
        }
        // Another process may have renewed between the last look and the lease.
        if let Some(fresh) = self.adopt(&mut held, timer.now(), shared).await {
            let _ = store.release(lease, holder).await;
            return fresh;
        }
        let renewed = self.renew_here(held.as_ref(), timer).await;
        if let Ok(t) = &renewed {
            let text = tokens::encode(self.inner.token_url.as_str(), t);
            if let Err(e) = store.share(key, &text, shared_for(t, timer.now())).await {
                tracing::warn!(error = %e, "the new tokens are not shared through the store");
            }
        }
        if let Err(e) = store.release(lease, holder).await {
            tracing::warn!(error = %e, "the renewal lease is not given back; it runs out");
        }
        self.keep(renewed?, true)
    }

    /// Takes the tokens another process renewed: as they are when they are not due yet
    /// (the answer), else as the base of this renewal (their refresh token may be the
    /// only one still valid when the endpoint rotates them).
    async fn adopt(
        &self,
        held: &mut Option<Tokens>,
        now: SystemTime,
        store: Option<&dyn Store>,
    ) -> Option<Result<Fresh, OAuthError>> {
        let found = self.renewed_elsewhere(held.as_ref(), store).await?;
        let due = self
            .fresh_of(&found)
            .is_none_or(|f| f.refresh_at.is_some_and(|t| t <= now));
        if due {
            *held = Some(found);
            return None;
        }
        tracing::debug!("using the tokens another process renewed");
        Some(self.keep(found, false))
    }

    /// Tokens that differ from `held`, shared through the store or in the token file.
    async fn renewed_elsewhere(
        &self,
        held: Option<&Tokens>,
        store: Option<&dyn Store>,
    ) -> Option<Tokens> {
        let differs = |t: &Tokens| held.is_none_or(|h| h.access_token != t.access_token);
        if let Some(store) = store {
            match store.shared(&self.inner.share_key).await {
                Ok(Some(text)) => {
                    match tokens::decode(text.as_bytes(), self.inner.token_url.as_str()) {
                        Ok(Some(t)) if differs(&t) => return Some(t),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "the shared tokens are not usable"),
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the shared tokens"),
            }
        }
        let path = self.inner.file.as_ref()?;
        match tokens::read(path, self.inner.token_url.as_str()) {
            Ok(found) => found.filter(differs),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the token file; renewing");
                None
            }
        }
    }

    /// New tokens from the endpoint: the refresh grant first, then the configured grant.
    async fn renew_here(
        &self,
        held: Option<&Tokens>,
        timer: &dyn Timer,
    ) -> Result<Tokens, OAuthError> {
        let refresh = held.and_then(|t| t.usable_refresh_token(timer.now()));
        if let Some(refresh) = refresh {
            let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
            match self.ask("refresh_token", &form, held, timer).await {
                Ok(t) => return Ok(t),
                Err(e) if e.is_refusal() && self.inner.grant.is_some() => {
                    tracing::info!(error = %e, "the refresh token was refused; signing in again");
                }
                Err(e) => return Err(e),
            }
        }
        let grant = self.inner.grant.as_ref().ok_or(OAuthError::NoGrant)?;
        let mut form = vec![("grant_type", grant.name())];
        if let Grant::Password { username, password } = grant {
            form.extend([
                ("username", username.as_str()),
                ("password", password.as_str()),
            ]);
        }
        if let Some(scope) = &self.inner.scope {
            form.push(("scope", scope.as_str()));
        }
        self.ask(grant.name(), &form, None, timer).await
    }

    /// Makes `t` the tokens in use; new ones from the endpoint are written to the token
    /// file and handed to the callback.
    fn keep(&self, t: Tokens, new: bool) -> Result<Fresh, OAuthError> {
        let fresh = self
            .fresh_of(&t)
            .ok_or_else(|| OAuthError::Malformed("the access token cannot be sent".into()))?;
        if new {
            if let Some(path) = &self.inner.file {
                if let Err(e) = tokens::write(path, self.inner.token_url.as_str(), &t) {
                    tracing::warn!(error = %e, "the new tokens are not saved");
                }
            }
            if let Some(f) = &self.inner.on_tokens {
                f(&t);
            }
        }
        *self.lock() = Some(t);
        Ok(fresh)
    }

    /// One token request with `form`; its tokens, or the endpoint's refusal.
    async fn ask(
        &self,
        grant: &str,
        form: &[(&str, &str)],
        previous: Option<&Tokens>,
        timer: &dyn Timer,
    ) -> Result<Tokens, OAuthError> {
        let i = &self.inner;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        let id: String = encode(&i.client_id);
        let response = i
            .http
            .post(i.token_url.clone())
            .basic_auth(id, Some(encode(&i.client_secret)))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| OAuthError::Network(e.into()))?;
        let status = response.status().as_u16();
        let body = match read_limited(response, ANSWER_LIMIT).await {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => return Err(OAuthError::Malformed("the answer is too large".into())),
            Err(e) => return Err(OAuthError::Network(e.into())),
        };
        if !(200..300).contains(&status) {
            return Err(refusal(grant, status, &body));
        }
        tracing::debug!(grant, "new tokens from the token endpoint");
        tokens::parse(&body, timer.now(), previous)
    }
}

/// The error for a token endpoint's error answer.
fn refusal(grant: &str, status: u16, body: &[u8]) -> OAuthError {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |k: &str| {
        json.as_ref()
            .and_then(|j| j.get(k))
            .and_then(Value::as_str)
            .map(one_line)
    };
    match field("error") {
        Some(error) => OAuthError::Refused {
            grant: grant.to_owned(),
            status,
            error,
            description: field("error_description").filter(|d| !d.is_empty()),
        },
        None => OAuthError::Status {
            grant: grant.to_owned(),
            status,
            body: one_line(&String::from_utf8_lossy(body)),
        },
    }
}

impl OAuth2Builder {
    /// Sign in with the resource owner password grant (RFC 6749 §4.3), as RingCentral's
    /// password flow does.
    pub fn password(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.grant = Some(Grant::Password {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    /// Sign in with the client credentials grant (RFC 6749 §4.4).
    pub fn client_credentials(mut self) -> Self {
        self.grant = Some(Grant::ClientCredentials);
        self
    }

    /// The scope to ask for when signing in.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Renew a token when less than this is left of it (default 60 s; never more than a
    /// tenth of the token's lifetime).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Start with tokens got elsewhere (e.g. from an authorization code flow). Without a
    /// grant, only their refresh token renews them. A token file that holds tokens wins.
    pub fn tokens(mut self, tokens: Tokens) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Keep the tokens in this JSON file: read when the client is built, rewritten at once
    /// (a new file renamed over the old one, readable by its owner only) whenever new
    /// tokens come, read again before each renewal. Tokens of another token endpoint in
    /// it are not used.
    pub fn token_file(mut self, path: impl AsRef<Path>) -> Self {
        self.file = Some(path.as_ref().to_path_buf());
        self
    }

    /// Called with every new pair of tokens from the endpoint (after the token file is
    /// written), e.g. to keep a rotating refresh token somewhere else.
    pub fn on_tokens(mut self, f: impl Fn(&Tokens) + Send + Sync + 'static) -> Self {
        self.on_tokens = Some(Arc::new(f));
        self
    }

    /// Whether renewals are shared through the client's [`Store`] (default: yes). With a
    /// store other processes see, such as a `RedisStore`, one process renews at a time and
    /// the others use its tokens, so a fleet signs in once, not once per process; the
    /// tokens are then kept in the store. Turn it off to keep them in this process only.
    pub fn share_tokens(mut self, share: bool) -> Self {
        self.share = share;
        self
    }

    /// The HTTP client for the token endpoint (default: [`crate::http_client`]'s).
    pub fn http(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The client, with the tokens of the token file when it holds some.
    pub fn build(self) -> Result<OAuth2, OAuthError> {
        let http = match self.http {
            Some(h) => h,
            None => crate::http_client()
                .build()
                .map_err(|e| OAuthError::Setup(error_chain(&e)))?,
        };
        let saved = match &self.file {
            Some(path) => tokens::read(path, self.token_url.as_str())?,
            None => None,
        };
        let key = share_key(
            self.token_url.as_str(),
            &self.client_id,
            self.grant.as_ref(),
        );
        Ok(OAuth2 {
            inner: Arc::new(Inner {
                token_url: self.token_url,
                client_id: self.client_id,
                client_secret: self.client_secret,
                grant: self.grant,
                scope: self.scope,
                margin: self.margin,
                file: self.file,
                on_tokens: self.on_tokens,
                http,
                tokens: Mutex::new(saved.or(self.tokens)),
                share: self.share,
                share_key: key,
                holder: holder_id(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oauth_error_body_is_typed() {
        let body =
            br#"{"error":"invalid_grant","error_description":"Token is expired\nor revoked."}"#;
        let e = refusal("refresh_token", 400, body);
        assert_eq!(
            e,
            OAuthError::Refused {
                grant: "refresh_token".into(),
                status: 400,
                error: "invalid_grant".into(),
                description: Some("Token is expired or revoked.".into()),
            }
        );
        assert!(e.is_refusal());
        assert_eq!(
            e.to_string(),
            "the token endpoint refused the refresh_token grant (400 invalid_grant): Token is expired or revoked."
        );
        let e = refusal("password", 502, b"<html>bad gateway</html>");
        assert!(!e.is_refusal());
        assert!(
            e.to_string()
                .ends_with("502 to the password grant: <html>bad gateway</html>")
        );
    }

    #[test]
    fn long_server_text_is_cut() {
        let s = one_line(&"x".repeat(1000));
        assert_eq!(s.chars().count(), 301);
    }
}
