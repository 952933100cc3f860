//! reqwest middleware that obeys an API's response contract.
//!
//! The middleware asks [`verdict::decide`] what each response means and carries the
//! decision out: exponential back-off with jitter, `Retry-After` (seconds or date, with the
//! contract's floor and the caller's cap), rate-limit windows shared per credential,
//! redirects with the right method and no credentials across origins, one credential
//! refresh after a 401, conditional GETs answered from the stored copy on 304, polling of
//! a 202's Location, and application codes inside bodies; on request, a circuit breaker
//! per host (below). What fails comes back as one typed [`Error`] with the vendor's code,
//! message and tracking id, advice that fits why the request stopped, and every attempt.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = verdict_client::Verdict::builtin("webex")?.client()?;
//! let sent = client.get("https://webexapis.com/v1/rooms").bearer_auth("TOKEN").send().await;
//! match sent.map_err(verdict_client::Error::from) {
//!     Ok(response) => println!("{}", response.text().await?),
//!     Err(e) => {
//!         // One line: status, vendor message, tracking id, why it stopped, attempts.
//!         eprintln!("{e}");
//!         if let Some(advice) = e.advice() {
//!             eprintln!("advice: {advice}");
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! [`Error`] has accessors for everything the server said ([`Error::status`],
//! [`Error::vendor_code`], [`Error::vendor_message`], [`Error::tracking_id`],
//! [`Error::body_json`], [`Error::problem`]), what the contract says
//! ([`Error::meaning`], [`Error::advice`], [`Error::category`]) and what happened
//! ([`Error::kind`], [`Error::reason`], [`Error::attempts`], [`Error::waited`],
//! [`Error::retry_after`], [`Error::is_timeout`], [`Error::is_connect`]); its
//! [`source`](std::error::Error::source) is the reqwest, I/O, hook or OAuth error
//! underneath. `?` turns a `reqwest_middleware::Error` into it (`From`), and
//! [`VerdictErrorExt::verdict_error`] looks at it in place.
//!
//! ```
//! use verdict_client::{Error, ErrorKind};
//!
//! // A program's own function: `?` converts the middleware's error.
//! async fn rooms(client: &reqwest_middleware::ClientWithMiddleware) -> Result<String, Error> {
//!     let r = client.get("https://webexapis.com/v1/rooms").send().await?;
//!     Ok(r.text().await?)
//! }
//!
//! // And a verdict error goes on into `Box<dyn Error>` like any other.
//! async fn main_like(client: &reqwest_middleware::ClientWithMiddleware) -> Result<(), Box<dyn std::error::Error>> {
//!     match rooms(client).await {
//!         Err(e) if e.is_timeout() => eprintln!("slow: {e}"),
//!         Err(e) if matches!(e.kind(), ErrorKind::CircuitOpen { .. }) => eprintln!("held back: {e}"),
//!         other => println!("{}", other?),
//!     }
//!     Ok(())
//! }
//! # let _ = main_like;
//! ```
//!
//! # Circuit breaker
//!
//! Off by default. [`VerdictBuilder::circuit_breaker`] keeps a breaker per host (scheme,
//! host and port) in the [`store`](VerdictBuilder::store). An attempt with no answer, or
//! with a 5xx or 429 that the contract repeats or gives up on, counts against its host; any
//! other answer (a 4xx included) counts for it. After [`BreakerConfig::failures`] failures
//! in a row (default 5) the breaker opens for [`BreakerConfig::open_for`] (default 30 s):
//! requests to the host are not sent and fail at once with [`ErrorKind::CircuitOpen`],
//! which says when the breaker lets a request through again. Then one trial request goes
//! through; its success closes the breaker, its failure opens it again for twice as long,
//! up to [`BreakerConfig::max_open_for`] (default 5 min). The rule is
//! [`verdict::breaker`]'s. With a [`RedisStore`], every process on the same Redis and
//! prefix shares each host's breaker: one process's failures stop the others' requests.
//!
//! ```no_run
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use verdict_client::{BreakerConfig, ErrorKind, RedisStore, Verdict};
//!
//! let contract = verdict::Catalog::builtin().get("ringcentral").unwrap().clone();
//! let store = RedisStore::new("redis://127.0.0.1:6379/0", "billing-workers:")?;
//! let rule = BreakerConfig { failures: 3, open_for: Duration::from_secs(10), ..Default::default() };
//! let middleware = Verdict::builder(contract)
//!     .store(Arc::new(store))
//!     .circuit_breaker(rule)
//!     .build();
//! let client = verdict_client::client(middleware)?;
//! // Later, on an error: `ErrorKind::CircuitOpen { until, retry_in }` means nothing was sent.
//! # let _ = (client, |k: ErrorKind| matches!(k, ErrorKind::CircuitOpen { .. }));
//! # Ok(()) }
//! ```
//!
//! # Credentials
//!
//! A credential header the request sets itself is sent as it is. A [`Credentials`] puts
//! its value on every other request and renews it after a 401, once for all concurrent
//! requests ([`auth`]). For APIs whose contract declares an OAuth 2.0 token endpoint,
//! [`oauth::OAuth2`] signs in (password or client credentials grant), renews the access
//! token shortly before it expires and after a 401 (refresh grant, else signing in
//! again) and keeps rotating refresh tokens in a file or through a callback. The guide
//! `docs/client.md` covers it with examples.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let contract = verdict::Catalog::builtin().get("ringcentral").unwrap().clone();
//! let oauth = verdict_client::oauth::OAuth2::for_contract(&contract, None, "id", "secret")?
//!     .password("+16505550100", "password")
//!     .token_file("tokens.json")
//!     .build()?;
//! let verdict = verdict_client::Verdict::builder(contract).oauth2(oauth).build();
//! let client = verdict_client::client(verdict)?;
//! let me = client
//!     .get("https://platform.ringcentral.com/restapi/v1.0/account/~/extension/~")
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod advice;
pub mod auth;
mod batch;
mod breaker;
mod cache;
mod error;
mod middleware;
pub mod oauth;
mod observe;
mod run;
mod run_auth;
mod setup;
pub mod store;
#[cfg(feature = "redis")]
mod store_redis;
pub mod timer;
mod wire;

pub use auth::{CredentialError, Credentials};
pub use batch::{BatchParts, PartAnswer, batch};

/// The examples of `docs/client.md`, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/client.md")]
pub struct ClientGuide;
pub use cache::Revalidated;
pub use error::{Attempt, Attempts, Error, ErrorKind, VerdictErrorExt};
pub use middleware::{RequestOptions, Verdict, VerdictBuilder};
pub use observe::Observer;
pub use setup::SetupError;
#[cfg(feature = "redis")]
pub use store_redis::RedisStore;
/// The contract model and decision engine this crate obeys, for what a program needs
/// beyond the middleware (a [`verdict::Catalog`] of its own, `explain`'s entries).
pub use verdict;
pub use verdict::breaker::BreakerConfig;
pub use verdict::{Catalog, Contract};

/// The next page of a paginated list: the `rel="next"` target of the response's `Link`
/// header, resolved against the response URL. `Ok(None)` on the last page; an error names
/// the malformed part.
///
/// ```
/// let r: reqwest::Response = http::Response::builder()
///     .header("link", "<https://webexapis.com/v1/rooms?cursor=2>; rel=\"next\"")
///     .body("")
///     .unwrap()
///     .into();
/// assert_eq!(verdict_client::next_page(&r).unwrap().unwrap().as_str(), "https://webexapis.com/v1/rooms?cursor=2");
/// ```
pub fn next_page(
    response: &reqwest::Response,
) -> Result<Option<url::Url>, verdict::headers::LinkError> {
    for value in response.headers().get_all(http::header::LINK) {
        let text = value
            .to_str()
            .map_err(|_| verdict::headers::LinkError::Malformed("(not text)".into()))?;
        if let Some(url) = verdict::headers::next_link(text, response.url())? {
            return Ok(Some(url));
        }
    }
    Ok(None)
}

/// A reqwest client builder set up for the middleware: automatic redirects off (the
/// middleware follows them by the contract's rules) and TLS through rustls.
pub fn http_client() -> reqwest::ClientBuilder {
    // A second install finds one already there, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
}

/// A client with `verdict` as its middleware, on [`http_client`].
pub fn client(
    verdict: Verdict,
) -> Result<reqwest_middleware::ClientWithMiddleware, reqwest::Error> {
    Ok(
        reqwest_middleware::ClientBuilder::new(http_client().build()?)
            .with(verdict)
            .build(),
    )
}
