//! Credentials that are renewed before they run out and after a 401, once for all
//! concurrent requests.
//!
//! A [`Credentials`] is a header (usually `Authorization`) and what renews it: a hook of
//! yours ([`Credentials::new`], [`Credentials::bearer`]) or the built-in OAuth 2.0 client
//! ([`Credentials::oauth2`], see [`crate::oauth`]).
//!
//! Three rules keep a renewal from turning on itself:
//! - a header the request set itself is never written over: a token request that sends
//!   its client credentials with HTTP Basic keeps them;
//! - a request made while a renewal runs (from inside your hook, or marked with
//!   [`TokenRequest`]) gets no credential from the middleware and is never renewed after a
//!   401: it fails instead of waiting for the renewal it belongs to;
//! - waiting for another request's renewal, and the renewal itself, are bounded by the
//!   request's `max_wait`; past it the request fails with
//!   [`ErrorKind::RefreshTimeout`](crate::ErrorKind::RefreshTimeout).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use http::{HeaderName, HeaderValue};
use tokio::sync::Mutex;

use crate::oauth::OAuth2;
use crate::store::Store;
use crate::timer::Timer;

/// A boxed error from a refresh hook.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a credential could not be made.
///
/// A plain error type (`Send + Sync + 'static`), so `?` turns it into a
/// `Box<dyn std::error::Error>` or an `anyhow::Error`:
///
/// ```
/// fn setup() -> Result<verdict_client::Credentials, Box<dyn std::error::Error>> {
///     let creds = verdict_client::Credentials::bearer("initial-token", || async {
///         Ok::<_, verdict_client::auth::BoxError>("fresh-token".to_string())
///     })?;
///     Ok(creds)
/// }
/// assert!(setup().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The value holds characters not allowed in a header (a line break, a control
    /// character).
    #[error("the credential holds characters not allowed in a header")]
    InvalidValue,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

type RefreshFn = dyn Fn() -> BoxFuture<'static, Result<HeaderValue, BoxError>> + Send + Sync;

/// Marks a request that gets or renews credentials (a call to a token endpoint): the
/// middleware sets no credential on it and does not renew after its 401.
///
/// Requests made from inside a refresh hook, on the task that runs it, are marked without
/// it; add it yourself to a request the hook sends from another task.
///
/// ```no_run
/// # async fn run(client: reqwest_middleware::ClientWithMiddleware) -> Result<(), reqwest_middleware::Error> {
/// let answer = client
///     .post("https://platform.ringcentral.com/restapi/oauth/token")
///     .basic_auth("client-id", Some("client-secret"))
///     .with_extension(verdict_client::auth::TokenRequest)
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenRequest;

tokio::task_local! {
    /// Set while a renewal runs on this task: what is left of the waits the renewing
    /// request may do.
    static RENEWING: Duration;
}

/// `Some(left)` when the caller runs inside a renewal on this task, with what the
/// renewing request may still wait.
pub(crate) fn renewing() -> Option<Duration> {
    RENEWING.try_with(|left| *left).ok()
}

/// A renewed credential.
pub(crate) struct Fresh {
    pub(crate) value: HeaderValue,
    /// When to renew it before it is used again.
    pub(crate) refresh_at: Option<SystemTime>,
    /// When it stops working.
    pub(crate) expires_at: Option<SystemTime>,
}

/// Where new credentials come from.
#[derive(Clone)]
enum Source {
    Hook(Arc<RefreshFn>),
    OAuth(OAuth2),
}

impl Source {
    async fn renew(&self, timer: &dyn Timer, store: &dyn Store) -> Result<Fresh, BoxError> {
        match self {
            Source::Hook(hook) => Ok(Fresh {
                value: hook().await?,
                refresh_at: None,
                expires_at: None,
            }),
            Source::OAuth(o) => Ok(o.renew(timer, store).await?),
        }
    }
}

/// The value in use and when it runs out.
#[derive(Default)]
struct Current {
    value: Option<HeaderValue>,
    refresh_at: Option<SystemTime>,
    expires_at: Option<SystemTime>,
}

/// What a request sends with: the value (if there is one yet) and its generation.
pub(crate) struct Snapshot {
    pub(crate) value: Option<HeaderValue>,
    pub(crate) generation: u64,
    /// It should be renewed before it is sent.
    pub(crate) due: bool,
    /// It may still be sent if the renewal fails.
    pub(crate) usable: bool,
}

/// Why a renewal did not give a new credential.
#[derive(Debug)]
pub(crate) enum RefreshError {
    /// The hook or the token endpoint failed.
    Failed(BoxError),
    /// Waiting for the renewal (another request's, or this one) would pass `max_wait`.
    TimedOut(Duration),
}

impl std::fmt::Display for RefreshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefreshError::Failed(e) => e.fmt(f),
            RefreshError::TimedOut(d) => write!(f, "not done within {:.1} s", d.as_secs_f64()),
        }
    }
}

/// A credential header (e.g. `Authorization: Bearer …`) set on every request, and what
/// renews it: a hook of yours, or the built-in OAuth 2.0 client.
///
/// Renewals are single-flight: when many requests need one at once, it runs once and
/// every request goes on with the new value.
///
/// ```
/// use verdict_client::Credentials;
/// let creds = Credentials::bearer("initial-token", || async {
///     // Ask the token endpoint for a new access token here.
///     Ok::<_, verdict_client::auth::BoxError>("fresh-token".to_string())
/// })
/// .unwrap();
/// assert!(Credentials::bearer("bad\ntoken", || async { Ok(String::new()) }).is_err());
/// ```
#[derive(Clone)]
pub struct Credentials {
    header: HeaderName,
    current: Arc<RwLock<Current>>,
    generation: Arc<AtomicU64>,
    flight: Arc<Mutex<()>>,
    source: Source,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// A credential in `header`, starting at `value`, renewed by `refresh` after a 401.
    pub fn new<F, Fut>(header: HeaderName, value: HeaderValue, refresh: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<HeaderValue, BoxError>> + Send + 'static,
    {
        let mut value = value;
        value.set_sensitive(true);
        let current = Current {
            value: Some(value),
            ..Current::default()
        };
        Credentials::with_source(
            header,
            current,
            Source::Hook(Arc::new(move || Box::pin(refresh()))),
        )
    }

    /// A bearer token in `Authorization`, renewed by `refresh` (which returns the new token).
    /// A token with characters not allowed in a header is an error; so is a new token
    /// like it, for the request that asked for it.
    pub fn bearer<F, Fut>(token: &str, refresh: F) -> Result<Self, CredentialError>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, BoxError>> + Send + 'static,
    {
        let refresh = Arc::new(refresh);
        Ok(Credentials::new(
            http::header::AUTHORIZATION,
            bearer_value(token)?,
            move || {
                let refresh = refresh.clone();
                async move { Ok(bearer_value(&refresh().await?)?) }
            },
        ))
    }

    /// Access tokens from an OAuth 2.0 token endpoint, in `Authorization`: got before the
    /// first request (unless the client starts with tokens), renewed shortly before they
    /// expire and once after a 401. See [`crate::oauth`].
    pub fn oauth2(client: OAuth2) -> Self {
        let current = match client.fresh() {
            Some(f) => Current {
                value: Some(f.value),
                refresh_at: f.refresh_at,
                expires_at: f.expires_at,
            },
            None => Current::default(),
        };
        Credentials::with_source(http::header::AUTHORIZATION, current, Source::OAuth(client))
    }

    fn with_source(header: HeaderName, current: Current, source: Source) -> Self {
        Credentials {
            header,
            current: Arc::new(RwLock::new(current)),
            generation: Arc::new(AtomicU64::new(0)),
            flight: Arc::new(Mutex::new(())),
            source,
        }
    }

    /// The header it sets.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// The value to send at `now`, its generation, and whether it needs renewing first.
    pub(crate) fn snapshot(&self, now: SystemTime) -> Snapshot {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        let generation = self.generation.load(Ordering::Acquire);
        let usable = current.value.is_some() && current.expires_at.is_none_or(|t| now < t);
        Snapshot {
            value: current.value.clone(),
            generation,
            due: current.value.is_none() || current.refresh_at.is_some_and(|t| t <= now),
            usable,
        }
    }

    /// After a renewal before expiry failed while the value still works: the next try
    /// comes when half of what is left of it has passed, not on every request.
    pub(crate) fn postpone(&self, seen: u64, now: SystemTime) {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != seen {
            return;
        }
        if let Some(left) = current.expires_at.and_then(|t| t.duration_since(now).ok()) {
            current.refresh_at = now.checked_add(left / 2);
        }
    }

    /// Renews the credential unless another request already did since `seen`. Waiting for
    /// another request's renewal and this one's together take at most `limit`.
    pub(crate) async fn refresh(
        &self,
        seen: u64,
        timer: &dyn Timer,
        store: &dyn Store,
        limit: Duration,
    ) -> Result<(), RefreshError> {
        let work = async {
            let _flight = self.flight.lock().await;
            if self.generation.load(Ordering::Acquire) != seen {
                return Ok(());
            }
            // Requests the renewal makes on this task know they belong to it.
            let fresh = RENEWING
                .scope(limit, self.source.renew(timer, store))
                .await
                .map_err(RefreshError::Failed)?;
            let mut value = fresh.value;
            value.set_sensitive(true);
            *self.current.write().unwrap_or_else(|p| p.into_inner()) = Current {
                value: Some(value),
                refresh_at: fresh.refresh_at,
                expires_at: fresh.expires_at,
            };
            self.generation.fetch_add(1, Ordering::AcqRel);
            Ok(())
        };
        match tokio::time::timeout(limit, work).await {
            Ok(result) => result,
            Err(_) => Err(RefreshError::TimedOut(limit)),
        }
    }
}

pub(crate) fn bearer_value(token: &str) -> Result<HeaderValue, CredentialError> {
    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| CredentialError::InvalidValue)
}
