//! The retrying clients verdict is compared with, each set up as its documentation shows,
//! so that every benchmark measures the same peers.

use reqwest_retry::policies::ExponentialBackoff;

/// reqwest-retry: retries per logical request, as in its documentation's example.
pub const REQWEST_RETRY_MAX_RETRIES: u32 = 3;

/// reqwest's built-in retries as its `retry` module documents them for a generic client:
/// scoped to the server's host (the budget is kept per policy, so per host), retrying
/// idempotent requests answered with a server error or 429, with the builder's defaults
/// for everything else (at most 2 retries per request, a budget of 20 % extra load, no
/// back-off).
pub fn builtin_retry_policy(host: String) -> reqwest::retry::Builder {
    reqwest::retry::for_host(host).classify_fn(|rr| {
        let transient = rr
            .status()
            .is_some_and(|s| s.is_server_error() || s == http::StatusCode::TOO_MANY_REQUESTS);
        if transient && rr.method().is_idempotent() {
            rr.retryable()
        } else {
            rr.success()
        }
    })
}

/// A reqwest client from `verdict_client::http_client()` with [`builtin_retry_policy`]
/// for the host of `url`.
pub fn builtin_retry_client(url: &str) -> anyhow::Result<reqwest::Client> {
    use anyhow::Context;
    let host = reqwest::Url::parse(url)?
        .host_str()
        .context("the server's URL has no host")?
        .to_owned();
    Ok(verdict_client::http_client()
        .retry(builtin_retry_policy(host))
        .build()?)
}

/// reqwest-retry's policy as its documentation shows it: the default `ExponentialBackoff`
/// with at most [`REQWEST_RETRY_MAX_RETRIES`] retries.
pub fn reqwest_retry_policy() -> ExponentialBackoff {
    ExponentialBackoff::builder().build_with_max_retries(REQWEST_RETRY_MAX_RETRIES)
}

/// A client from `verdict_client::http_client()` with reqwest-retry's middleware, with
/// [`reqwest_retry_policy`] and its default strategy of what is transient (connection
/// failures, timeouts, 5xx, 408 and 429).
pub fn reqwest_retry_client() -> anyhow::Result<reqwest_middleware::ClientWithMiddleware> {
    let middleware =
        reqwest_retry::RetryTransientMiddleware::new_with_policy(reqwest_retry_policy());
    Ok(
        reqwest_middleware::ClientBuilder::new(verdict_client::http_client().build()?)
            .with(middleware)
            .build(),
    )
}
