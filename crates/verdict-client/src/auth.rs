//! Credentials that can be refreshed after a 401, once for all concurrent requests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderName, HeaderValue};
use tokio::sync::{Mutex, RwLock};

/// A boxed error from a refresh hook.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type RefreshFn =
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<HeaderValue, BoxError>> + Send>> + Send + Sync;

/// A credential header (e.g. `Authorization: Bearer …`) set on every request, and the
/// hook that gets a new value after a 401.
///
/// Refreshes are single-flight: when many requests get a 401 at once, the hook runs once
/// and every request is replayed with the new value.
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
    value: Arc<RwLock<HeaderValue>>,
    generation: Arc<AtomicU64>,
    flight: Arc<Mutex<()>>,
    refresh: Arc<RefreshFn>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// A credential in `header`, starting at `value`, renewed by `refresh`.
    pub fn new<F, Fut>(header: HeaderName, value: HeaderValue, refresh: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<HeaderValue, BoxError>> + Send + 'static,
    {
        let mut value = value;
        value.set_sensitive(true);
        Credentials {
            header,
            value: Arc::new(RwLock::new(value)),
            generation: Arc::new(AtomicU64::new(0)),
            flight: Arc::new(Mutex::new(())),
            refresh: Arc::new(move || Box::pin(refresh())),
        }
    }

    /// A bearer token in `Authorization`, renewed by `refresh` (which returns the new token).
    /// A token with characters not allowed in a header is an error.
    pub fn bearer<F, Fut>(token: &str, refresh: F) -> Result<Self, BoxError>
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
                async move { bearer_value(&refresh().await?) }
            },
        ))
    }

    /// The header it sets.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// The current value and its generation.
    pub(crate) async fn current(&self) -> (HeaderValue, u64) {
        let value = self.value.read().await.clone();
        (value, self.generation.load(Ordering::Acquire))
    }

    /// Renews the credential unless another request already did since `seen`.
    pub(crate) async fn refresh(&self, seen: u64) -> Result<(), BoxError> {
        let _flight = self.flight.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            return Ok(());
        }
        let mut fresh = (self.refresh)().await?;
        fresh.set_sensitive(true);
        *self.value.write().await = fresh;
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

fn bearer_value(token: &str) -> Result<HeaderValue, BoxError> {
    HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "the token holds characters not allowed in a header".into())
}
