//! The decision engine: what a client must do with one response.
//!
//! [`decide`] is a pure function of the contract, the request, the response, the history
//! of this request and the current time. It does no I/O and reads no clock, so every rule
//! can be tested exhaustively; `verdict-client` carries its decisions out.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use http::{HeaderMap, Method};
//! use url::Url;
//! use verdict::decide::{decide, Decision, History, Limits, RequestFacts, ResponseFacts};
//!
//! let contract = verdict::Catalog::builtin().get("token-api").unwrap();
//! let url = Url::parse("https://api.example/v1/items").unwrap();
//! let mut headers = HeaderMap::new();
//! headers.insert("retry-after", "5".parse().unwrap());
//! let d = decide(
//!     contract,
//!     &RequestFacts::new(&Method::GET, &url),
//!     &ResponseFacts::new(429, &headers),
//!     &History::default(),
//!     &Limits { max_wait: Duration::from_secs(300), ..Limits::default() },
//!     SystemTime::now(),
//!     0.5,
//! );
//! // The document's floor: never less than 60 seconds.
//! assert!(matches!(d, Decision::Retry { after, .. } if after == Duration::from_secs(60)));
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method};
use url::Url;

use crate::code::CodeValue;
use crate::headers::{RetryAfterError, retry_after_header};
use crate::model::{Action, Contract};
use crate::names::{Jitter, MissingLocation, Outcome, RedirectMethod};

/// What the engine knows about the request that was sent.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    /// Its method.
    pub method: &'a Method,
    /// Its URL.
    pub url: &'a Url,
    /// It carries the contract's idempotency header, so any method may be repeated.
    pub idempotency_key: bool,
    /// The API of the contract it belongs to, for application codes.
    pub api: Option<&'a str>,
    /// The caller asked to poll a 202's Location until the work ends.
    pub poll: bool,
}

impl<'a> RequestFacts<'a> {
    /// A request with no idempotency key, no API and no polling.
    pub fn new(method: &'a Method, url: &'a Url) -> Self {
        RequestFacts {
            method,
            url,
            idempotency_key: false,
            api: None,
            poll: false,
        }
    }
}

/// What the engine knows about the response.
#[derive(Debug, Clone)]
pub struct ResponseFacts<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: &'a HeaderMap,
    /// The application code found in the body, if the caller looked for one.
    pub app_code: Option<CodeValue>,
    /// The JSON body, when the caller read it (status variants may look into it).
    pub body: Option<&'a serde_json::Value>,
}

impl<'a> ResponseFacts<'a> {
    /// A response with no application code.
    pub fn new(status: u16, headers: &'a HeaderMap) -> Self {
        ResponseFacts {
            status,
            headers,
            app_code: None,
            body: None,
        }
    }
}

/// What already happened to this request.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Repeats already made after `retry` or `retry-after` decisions.
    pub retries: u32,
    /// Time already spent waiting.
    pub waited: Duration,
    /// Credentials were already refreshed once for this request.
    pub refreshed: bool,
    /// URLs reached by following redirects, in order (the first request's URL excluded).
    pub hops: Vec<Url>,
    /// Polls already made.
    pub polls: u32,
}

/// The caller's bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The most time one request may spend waiting in all; a wait that would pass it is
    /// refused at once rather than slept.
    pub max_wait: Duration,
    /// The most polls of a 202's Location.
    pub max_polls: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_wait: Duration::from_secs(300),
            max_polls: 60,
        }
    }
}

/// Why a wait was chosen, and so whose demand it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitCause {
    /// The contract's exponential back-off with jitter.
    Backoff,
    /// The server's `Retry-After` on this answer.
    RetryAfter,
    /// The reset of a quota the answer's rate-limit headers say is used up (it carried
    /// no `Retry-After`).
    QuotaReset,
    /// The contract's least wait, longer than what the server asked.
    Floor,
    /// A wait learned earlier on the same credential and shared by all its requests: a
    /// `Retry-After` or a used-up quota, seen by another request (in this process or
    /// another) or by an earlier attempt. [`decide`] never chooses it; a client that
    /// shares waits between requests names it.
    Shared,
}

impl WaitCause {
    /// A wait of this cause in words that say whose demand it is, rounded up.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verdict::decide::WaitCause;
    /// let d = Duration::from_millis(3990);
    /// assert_eq!(WaitCause::RetryAfter.demand(d), "the server asks for a wait of 4 s");
    /// assert_eq!(WaitCause::QuotaReset.demand(d), "the server's quota resets in 4 s");
    /// ```
    pub fn demand(self, wait: Duration) -> String {
        let wait = Seconds::up(wait);
        match self {
            WaitCause::RetryAfter => format!("the server asks for a wait of {wait}"),
            WaitCause::QuotaReset => format!("the server's quota resets in {wait}"),
            WaitCause::Floor => format!("the contract asks for a wait of at least {wait}"),
            WaitCause::Backoff => format!("the contract's back-off is {wait}"),
            WaitCause::Shared => format!(
                "requests on this credential are held back for {wait} more by a wait learned \
                 earlier (a Retry-After or a used-up quota)"
            ),
        }
    }

    /// Whether the server named this wait (its `Retry-After` or its quota's reset), so
    /// that it holds for every request on the credential, not only this one.
    pub fn named_by_server(self) -> bool {
        matches!(self, WaitCause::RetryAfter | WaitCause::QuotaReset)
    }
}

impl fmt::Display for WaitCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WaitCause::Backoff => "back-off",
            WaitCause::RetryAfter => "Retry-After",
            WaitCause::QuotaReset => "the quota's reset",
            WaitCause::Floor => "the contract's least wait",
            WaitCause::Shared => "a wait shared on this credential",
        })
    }
}

/// A length of time as messages show it: seconds with at most one decimal (`4 s`,
/// `3.2 s`). [`Seconds::up`] is for a wait, which is never shown shorter than it is (3.99 s
/// is `4 s`, 3.01 s is `3.1 s`); [`Seconds::down`] is for what is left of a limit, which
/// is never shown longer than it is.
///
/// ```
/// use std::time::Duration;
/// use verdict::decide::Seconds;
/// assert_eq!(Seconds::up(Duration::from_millis(3990)).to_string(), "4 s");
/// assert_eq!(Seconds::up(Duration::from_millis(3010)).to_string(), "3.1 s");
/// assert_eq!(Seconds::down(Duration::from_millis(3990)).to_string(), "3.9 s");
/// assert_eq!(Seconds::down(Duration::from_secs(300)).to_string(), "300 s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds {
    tenths: u128,
}

impl Seconds {
    const TENTH_NANOS: u128 = 100_000_000;

    /// `d` rounded up to a tenth of a second.
    pub fn up(d: Duration) -> Self {
        Seconds {
            tenths: d.as_nanos().div_ceil(Self::TENTH_NANOS),
        }
    }

    /// `d` rounded down to a tenth of a second.
    pub fn down(d: Duration) -> Self {
        Seconds {
            tenths: d.as_nanos() / Self::TENTH_NANOS,
        }
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tenths % 10 {
            0 => write!(f, "{} s", self.tenths / 10),
            t => write!(f, "{}.{t} s", self.tenths / 10),
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Finished; hand the response to the caller.
    Done,
    /// Send the same request again after `after`.
    Retry {
        /// How long to wait first.
        after: Duration,
        /// Why this long.
        cause: WaitCause,
        /// The server's Retry-After could not be read (the wait is a back-off instead).
        ignored_header: Option<RetryAfterError>,
    },
    /// Send a request to `url`.
    Redirect {
        /// The method to use.
        method: Method,
        /// The next URL.
        url: Url,
        /// Send the original body again.
        keep_body: bool,
        /// The origin changes: remove every credential header.
        strip_credentials: bool,
        /// Later requests to the original URL should go to `url` directly.
        permanent: bool,
    },
    /// Get fresh credentials once, then send the request again.
    RefreshAuth,
    /// The cached copy is current; use it.
    UseCached,
    /// Request `url` with GET after `after` to see whether the work has finished.
    Poll {
        /// The status resource.
        url: Url,
        /// How long to wait first.
        after: Duration,
    },
    /// The body is a multipart batch to split into parts.
    SplitBatch,
    /// Stop: the request has failed.
    Fail(Reason),
}

/// How an attempt failed when no complete answer came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// No connection could be made (refused, unreachable, a name that does not resolve):
    /// the server never saw the request, so any method may be sent again.
    Connect,
    /// TLS failed (an untrusted certificate, a failed handshake): sending again cannot help.
    Tls,
    /// No answer came within the attempt's time limit; the server may have acted.
    Timeout,
    /// The exchange broke off before an answer (a reset or closed connection, another
    /// layer's error); the server may have acted.
    Interrupted,
    /// An answer began but its body stopped before its end.
    BodyCut,
}

impl Failure {
    /// Whether the server cannot have acted on the request, so that repeating it is safe
    /// whatever the method.
    pub fn before_request_reached_server(self) -> bool {
        matches!(self, Failure::Connect)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Failure::Connect => "could not connect",
            Failure::Tls => "TLS failed",
            Failure::Timeout => "timed out",
            Failure::Interrupted => "connection broke off",
            Failure::BodyCut => "body cut short",
        })
    }
}

/// The kind of a [`Decision`], without its parameters: what `explain` and a client's
/// record of attempts name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DecisionKind {
    /// [`Decision::Done`].
    Done,
    /// [`Decision::Retry`].
    Retry,
    /// [`Decision::Redirect`].
    Redirect,
    /// [`Decision::RefreshAuth`].
    RefreshAuth,
    /// [`Decision::UseCached`].
    UseCached,
    /// [`Decision::Poll`].
    Poll,
    /// [`Decision::SplitBatch`].
    SplitBatch,
    /// [`Decision::Fail`].
    Fail,
}

impl DecisionKind {
    /// The kebab-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Done => "done",
            DecisionKind::Retry => "retry",
            DecisionKind::Redirect => "redirect",
            DecisionKind::RefreshAuth => "refresh-auth",
            DecisionKind::UseCached => "use-cached",
            DecisionKind::Poll => "poll",
            DecisionKind::SplitBatch => "split-batch",
            DecisionKind::Fail => "fail",
        }
    }
}

impl fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Decision {
    /// Its kind.
    pub fn kind(&self) -> DecisionKind {
        match self {
            Decision::Done => DecisionKind::Done,
            Decision::Retry { .. } => DecisionKind::Retry,
            Decision::Redirect { .. } => DecisionKind::Redirect,
            Decision::RefreshAuth => DecisionKind::RefreshAuth,
            Decision::UseCached => DecisionKind::UseCached,
            Decision::Poll { .. } => DecisionKind::Poll,
            Decision::SplitBatch => DecisionKind::SplitBatch,
            Decision::Fail(_) => DecisionKind::Fail,
        }
    }
}

/// Why the engine stops a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// The contract says this answer is final.
    #[error("the contract says this answer is final")]
    Final,
    /// The policy's repeats are used up.
    #[error("gave up after {retries} repeat(s)")]
    RetriesExhausted {
        /// Repeats made.
        retries: u32,
    },
    /// The wait the server, the contract or a wait shared on the credential asks for goes
    /// past the caller's limit. Its text names whose demand it is, with the wait rounded up.
    #[error("{}, beyond the {} this request may still wait", .cause.demand(*.wait), Seconds::down(*.limit))]
    WaitTooLong {
        /// The wait asked for.
        wait: Duration,
        /// What was left of the caller's limit.
        limit: Duration,
        /// Whose demand it is: the server's `Retry-After`, the contract's floor or
        /// back-off, or a wait shared on the credential.
        cause: WaitCause,
    },
    /// The method may not be repeated blindly and the request has no idempotency key.
    #[error("{method} is not safe to repeat without an idempotency key")]
    NotRepeatable {
        /// The method.
        method: Method,
    },
    /// Credentials were refreshed and still refused.
    #[error("the credentials were refused again after a refresh")]
    AuthRejected,
    /// More redirects than the contract allows.
    #[error("more than {max} redirects")]
    TooManyRedirects {
        /// The limit.
        max: u32,
    },
    /// A redirect came back to a URL already visited.
    #[error("redirect loop: {url} was already visited")]
    RedirectLoop {
        /// The repeated URL.
        url: Url,
    },
    /// A redirect without a Location header.
    #[error("redirect without a Location header")]
    MissingLocation,
    /// A Location that is not a usable URL.
    #[error("redirect to an unusable Location \"{value}\"")]
    BadLocation {
        /// The header's value.
        value: String,
    },
    /// A redirect from https to plain http.
    #[error("refused redirect from https to plain http ({to})")]
    Downgrade {
        /// The insecure target.
        to: Url,
    },
    /// A 202 was polled more often than allowed.
    #[error("the work was still unfinished after {polls} polls")]
    PollLimit {
        /// Polls made.
        polls: u32,
    },
    /// A failure that sending again cannot mend (TLS).
    #[error("{failure}; sending again cannot help")]
    Unrecoverable {
        /// What failed.
        failure: Failure,
    },
    /// The server said not to repeat the request (`x-should-retry: false`), and the
    /// contract honours that header.
    #[error("the server said not to repeat the request ({header}: false)")]
    ServerSaidNoRetry {
        /// The header that said so.
        header: crate::model::Header,
    },
}

/// Whether a success answer's body says the request failed: the contract (or the
/// request's API) declares a failure flag (`[error_body] failure`), the status is 2xx,
/// and the body has the flag's value at its pointer.
///
/// ```
/// use serde_json::json;
/// let c = verdict::Catalog::builtin().get("webex").unwrap();
/// // Webex declares no flag: its bodies never say failure on their own.
/// assert!(!verdict::decide::flagged_failure(c, None, 200, Some(&json!({"ok": false}))));
/// ```
pub fn flagged_failure(
    contract: &Contract,
    api: Option<&str>,
    status: u16,
    body: Option<&serde_json::Value>,
) -> bool {
    (200..300).contains(&status)
        && body.is_some_and(|b| {
            let flag = contract.error_body_for(api).failure.as_ref();
            flag.is_some_and(|f| f.holds(b))
        })
}

/// The action that applies to a response: its application code's, when the body carries a
/// known one, else its status's (for the request's method). Also says whether an
/// application code decided it.
///
/// A 2xx whose body says failure ([`flagged_failure`]) is a failure: a known code's
/// action decides (a retry is a retry), an unknown code or none fails. Where the contract
/// declares a flag, a 2xx whose flag does not say failure is a success whatever code it
/// carries.
pub fn action_for(
    contract: &Contract,
    req: &RequestFacts<'_>,
    resp: &ResponseFacts<'_>,
) -> (Action, bool) {
    let flagged = flagged_failure(contract, req.api, resp.status, resp.body);
    let has_flag = contract.error_body_for(req.api).failure.is_some();
    let code = resp
        .app_code
        .as_ref()
        .filter(|_| flagged || !has_flag || !(200..300).contains(&resp.status));
    if let Some(code) = code {
        let found = contract
            .apis
            .iter()
            .filter(|a| req.api.is_none_or(|id| a.id == id))
            .find_map(|a| a.code(code).next());
        if let Some(c) = found {
            let action = match c.outcome {
                Outcome::Error => c.action,
                _ if flagged => Action::Fail,
                _ => Action::Done,
            };
            return (action, true);
        }
    }
    if flagged {
        return (Action::Fail, false);
    }
    // A status the contract does not list follows its class's rule; a variant whose
    // condition the answer meets decides over the entry.
    match contract.rule(resp.status) {
        Some(s) => match s.variant(resp.headers, resp.body) {
            Some(v) => (v.action, false),
            None => (s.action_for(req.method), false),
        },
        None if (200..300).contains(&resp.status) => (Action::Done, false),
        None => (Action::Fail, false),
    }
}

/// Whether the request may be sent again: it carries an idempotency key, its method may
/// be repeated, or the server cannot have acted on it (`not_acted`: a status the contract
/// marks replay-safe, or a connection never made).
///
/// This one rule serves answers and failures alike.
pub fn repeatable(contract: &Contract, req: &RequestFacts<'_>, not_acted: bool) -> bool {
    req.idempotency_key || not_acted || contract.retry.may_repeat(req.method)
}

/// The back-off before repeat number `retry` (1-based), with jitter drawn from `sample`
/// (a number in `[0, 1)` supplied by the caller).
pub fn backoff(contract: &Contract, retry: u32, sample: f64) -> Duration {
    let full = contract.retry.backoff(retry);
    let sample = if sample.is_finite() {
        sample.clamp(0.0, 1.0)
    } else {
        0.0
    };
    match contract.retry.jitter {
        Jitter::None => full,
        Jitter::Full => full.mul_f64(sample),
        Jitter::Equal => full / 2 + (full / 2).mul_f64(sample),
    }
}

/// Decides what to do with `resp`. `sample` is a random number in `[0, 1)` for jitter.
pub fn decide(
    contract: &Contract,
    req: &RequestFacts<'_>,
    resp: &ResponseFacts<'_>,
    history: &History,
    limits: &Limits,
    now: SystemTime,
    sample: f64,
) -> Decision {
    let (action, _) = action_for(contract, req, resp);
    // The server's own word on repeating, where the contract honours it; read only when it
    // could change the action (never for a success).
    let server_says = || crate::headers::should_retry(contract, resp.headers);
    match action {
        Action::Retry | Action::RetryAfter { .. } if server_says() == Some(false) => {
            if let Some(header) = contract.retry.should_retry_header.clone() {
                return Decision::Fail(Reason::ServerSaidNoRetry { header });
            }
        }
        Action::Fail if resp.status >= 400 && server_says() == Some(true) => {
            let rule = WaitRule::NONE;
            return retry(contract, req, resp, history, limits, now, sample, rule);
        }
        _ => {}
    }
    match action {
        Action::Done => Decision::Done,
        Action::Fail => Decision::Fail(Reason::Final),
        Action::UseCached => Decision::UseCached,
        Action::SplitBatch => Decision::SplitBatch,
        Action::RefreshAuth if history.refreshed => Decision::Fail(Reason::AuthRejected),
        Action::RefreshAuth => Decision::RefreshAuth,
        Action::Poll => poll(contract, req, resp, history, limits, now, sample),
        Action::Retry => retry(
            contract,
            req,
            resp,
            history,
            limits,
            now,
            sample,
            WaitRule::NONE,
        ),
        Action::RetryAfter {
            floor,
            floor_over_header,
        } => {
            let rule = WaitRule {
                floor,
                over_header: floor_over_header,
            };
            retry(contract, req, resp, history, limits, now, sample, rule)
        }
        Action::Redirect { method, permanent } => {
            redirect(contract, req, resp, history, method, permanent)
        }
    }
}

/// The URL to repeat at after `status` when the contract halves a page size on it
/// (`shrink`): the request's URL with that query parameter halved, never below the floor;
/// `None` when the status says nothing of it, the URL has no such number, or it is at
/// the floor already.
///
/// ```
/// let webex = verdict::Catalog::builtin().get("webex").unwrap();
/// let u = url::Url::parse("https://webexapis.com/v1/rooms?max=1000&type=group").unwrap();
/// let smaller = verdict::decide::smaller_page(webex, 504, &u).unwrap();
/// assert_eq!(smaller.as_str(), "https://webexapis.com/v1/rooms?max=500&type=group");
/// assert!(verdict::decide::smaller_page(webex, 500, &u).is_none());
/// ```
pub fn smaller_page(contract: &Contract, status: u16, url: &Url) -> Option<Url> {
    let shrink = contract.rule(status)?.shrink.as_ref()?;
    let size: u64 = url
        .query_pairs()
        .find(|(k, _)| *k == shrink.param)
        .and_then(|(_, v)| v.parse().ok())?;
    let floor = u64::from(shrink.floor);
    if size <= floor {
        return None;
    }
    let smaller = (size / 2).max(floor).to_string();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == shrink.param.as_str() {
                smaller.clone()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut().clear().extend_pairs(pairs);
    Some(out)
}

/// The request facts `explain` assumes when it asks the engine about one answer: `method`
/// (with or without an idempotency key) sent to the contract's base URL (or an example
/// one) as a first attempt, no polling asked for.
pub fn explain_request(contract: &Contract) -> Url {
    contract
        .base_url
        .as_deref()
        .and_then(|b| Url::parse(b).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| Url::parse("https://api.example/").expect("a valid URL"))
}

/// The response facts `explain` assumes for `status`: a redirect carries a `Location` on
/// the same origin ([`EXPLAIN_LOCATION`]); nothing else is in the headers.
pub fn explain_response_headers(status: u16) -> HeaderMap {
    let mut h = HeaderMap::new();
    if (300..400).contains(&status) && status != 304 {
        h.insert(
            http::header::LOCATION,
            http::HeaderValue::from_static(EXPLAIN_LOCATION),
        );
    }
    h
}

/// Where the redirects `explain` assumes point.
pub const EXPLAIN_LOCATION: &str = "/verdict-explain/moved";

/// The engine's decision for a first answer `status` to `method`, on the facts `explain`
/// assumes ([`explain_request`], [`explain_response_headers`]). `explain` shows this, so
/// what it says and what the client does come from one function.
///
/// ```
/// use http::Method;
/// use verdict::decide::{decide_first, DecisionKind};
/// let webex = verdict::Catalog::builtin().get("webex").unwrap();
/// assert_eq!(decide_first(webex, 500, &Method::GET, false).kind(), DecisionKind::Retry);
/// assert_eq!(decide_first(webex, 500, &Method::POST, false).kind(), DecisionKind::Fail);
/// assert_eq!(decide_first(webex, 500, &Method::POST, true).kind(), DecisionKind::Retry);
/// ```
pub fn decide_first(
    contract: &Contract,
    status: u16,
    method: &Method,
    idempotency_key: bool,
) -> Decision {
    let url = explain_request(contract);
    let headers = explain_response_headers(status);
    let req = RequestFacts {
        // The client adds a key where the contract says the API honours one.
        idempotency_key: idempotency_key || contract.client_idempotency_header(method).is_some(),
        ..RequestFacts::new(method, &url)
    };
    decide(
        contract,
        &req,
        &ResponseFacts::new(status, &headers),
        &History::default(),
        &Limits::default(),
        SystemTime::UNIX_EPOCH,
        0.5,
    )
}

/// A wait is allowed when it fits in what is left of the caller's limit.
fn within_limit(
    wait: Duration,
    cause: WaitCause,
    history: &History,
    limits: &Limits,
) -> Result<(), Reason> {
    let left = limits.max_wait.saturating_sub(history.waited);
    if wait > left {
        Err(Reason::WaitTooLong {
            wait,
            limit: left,
            cause,
        })
    } else {
        Ok(())
    }
}

/// The least wait of a retry-after action, and whether it raises a wait the server named.
#[derive(Clone, Copy)]
struct WaitRule {
    floor: Duration,
    over_header: bool,
}

impl WaitRule {
    const NONE: WaitRule = WaitRule {
        floor: Duration::ZERO,
        over_header: false,
    };
}

#[allow(clippy::too_many_arguments)]
fn retry(
    contract: &Contract,
    req: &RequestFacts<'_>,
    resp: &ResponseFacts<'_>,
    history: &History,
    limits: &Limits,
    now: SystemTime,
    sample: f64,
    rule: WaitRule,
) -> Decision {
    let replay_safe = contract.rule(resp.status).is_some_and(|s| s.replay_safe);
    if let Err(reason) = may_retry(contract, req, replay_safe, history) {
        return Decision::Fail(reason);
    }
    let (mut after, mut cause, ignored_header) =
        server_wait(contract, resp, now).unwrap_or_else(|ignored| {
            let d = backoff(contract, history.retries + 1, sample);
            (d, WaitCause::Backoff, ignored)
        });
    if after < rule.floor && (rule.over_header || !cause.named_by_server()) {
        (after, cause) = (rule.floor, WaitCause::Floor);
    }
    if let Err(reason) = within_limit(after, cause, history, limits) {
        return Decision::Fail(reason);
    }
    Decision::Retry {
        after,
        cause,
        ignored_header,
    }
}

/// The wait the server named, in the order of the wait rule: its `Retry-After` (or
/// `retry-after-ms`), else the reset of a quota its rate-limit headers say is used up.
/// `Err` when it named none, with the `Retry-After` it sent that could not be read.
fn server_wait(
    contract: &Contract,
    resp: &ResponseFacts<'_>,
    now: SystemTime,
) -> Result<(Duration, WaitCause, Option<RetryAfterError>), Option<RetryAfterError>> {
    let ignored = match retry_after_header(resp.headers, &contract.headers.retry_after, now) {
        Some(Ok(d)) => return Ok((d, WaitCause::RetryAfter, None)),
        Some(Err(e)) => Some(e),
        None => None,
    };
    match crate::headers::pause(contract, resp.headers, now) {
        Some((_, reset)) => Ok((reset, WaitCause::QuotaReset, ignored)),
        None => Err(ignored),
    }
}

/// The two checks before any repeat: the request may be sent again, and repeats are left.
fn may_retry(
    contract: &Contract,
    req: &RequestFacts<'_>,
    not_acted: bool,
    history: &History,
) -> Result<(), Reason> {
    if !repeatable(contract, req, not_acted) {
        return Err(Reason::NotRepeatable {
            method: req.method.clone(),
        });
    }
    if history.retries >= contract.retry.max_retries {
        return Err(Reason::RetriesExhausted {
            retries: history.retries,
        });
    }
    Ok(())
}

/// Decides what to do when an attempt got no complete answer. The same rules as for an
/// answer apply: the request is repeated only when [`repeatable`] (a connection never made
/// counts as the server not having acted), within the contract's repeats and the
/// caller's limit, after the contract's back-off.
///
/// ```
/// use std::time::Duration;
/// use http::Method;
/// use url::Url;
/// use verdict::decide::{decide_failure, Decision, Failure, History, Limits, Reason, RequestFacts};
///
/// let contract = verdict::Catalog::builtin().get("webex").unwrap();
/// let url = Url::parse("https://webexapis.com/v1/messages").unwrap();
/// let post = RequestFacts::new(&Method::POST, &url);
/// let h = History::default();
/// let l = Limits::default();
/// // The server never saw it: any method is sent again.
/// assert!(matches!(decide_failure(contract, &post, Failure::Connect, &h, &l, 0.5), Decision::Retry { .. }));
/// // It may have acted: a POST is not repeated blindly.
/// assert!(matches!(
///     decide_failure(contract, &post, Failure::Timeout, &h, &l, 0.5),
///     Decision::Fail(Reason::NotRepeatable { .. })
/// ));
/// ```
pub fn decide_failure(
    contract: &Contract,
    req: &RequestFacts<'_>,
    failure: Failure,
    history: &History,
    limits: &Limits,
    sample: f64,
) -> Decision {
    if failure == Failure::Tls {
        return Decision::Fail(Reason::Unrecoverable { failure });
    }
    if let Err(reason) = may_retry(
        contract,
        req,
        failure.before_request_reached_server(),
        history,
    ) {
        return Decision::Fail(reason);
    }
    let after = backoff(contract, history.retries + 1, sample);
    if let Err(reason) = within_limit(after, WaitCause::Backoff, history, limits) {
        return Decision::Fail(reason);
    }
    Decision::Retry {
        after,
        cause: WaitCause::Backoff,
        ignored_header: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn poll(
    contract: &Contract,
    req: &RequestFacts<'_>,
    resp: &ResponseFacts<'_>,
    history: &History,
    limits: &Limits,
    now: SystemTime,
    sample: f64,
) -> Decision {
    let location = resp.headers.get(http::header::LOCATION);
    // Without a Location, a safe request is itself the way to ask again.
    let ask_again = location.is_none() && matches!(*req.method, Method::GET | Method::HEAD);
    if !req.poll || (location.is_none() && !ask_again) {
        return Decision::Done;
    }
    if history.polls >= limits.max_polls {
        return Decision::Fail(Reason::PollLimit {
            polls: history.polls,
        });
    }
    let url = match location {
        None => req.url.clone(),
        Some(_) => match location_url(req.url, location) {
            Ok(url) => url,
            Err(reason) => return Decision::Fail(reason),
        },
    };
    let (after, cause) = match retry_after_header(resp.headers, &contract.headers.retry_after, now)
    {
        Some(Ok(d)) => (d, WaitCause::RetryAfter),
        _ => (
            backoff(contract, history.polls + 1, sample).max(contract.retry.base / 2),
            WaitCause::Backoff,
        ),
    };
    if let Err(reason) = within_limit(after, cause, history, limits) {
        return Decision::Fail(reason);
    }
    Decision::Poll { url, after }
}

fn location_url(base: &Url, value: Option<&http::HeaderValue>) -> Result<Url, Reason> {
    let Some(value) = value else {
        return Err(Reason::MissingLocation);
    };
    let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
    match value.to_str().ok().and_then(|s| base.join(s.trim()).ok()) {
        Some(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        _ => Err(Reason::BadLocation { value: text }),
    }
}

fn redirect(
    contract: &Contract,
    req: &RequestFacts<'_>,
    resp: &ResponseFacts<'_>,
    history: &History,
    rule: RedirectMethod,
    permanent: bool,
) -> Decision {
    let max = contract.redirects.max_hops;
    if history.hops.len() as u32 >= max {
        return Decision::Fail(Reason::TooManyRedirects { max });
    }
    let location = resp.headers.get(http::header::LOCATION);
    let url = match (location, contract.redirects.missing_location) {
        // Repeating the same URL is what the contract asks; the hop limit bounds it.
        (None, MissingLocation::Repeat) => req.url.clone(),
        (None, MissingLocation::Fail) => return Decision::Fail(Reason::MissingLocation),
        (Some(_), _) => match location_url(req.url, location) {
            Ok(url) => {
                if url == *req.url || history.hops.contains(&url) {
                    return Decision::Fail(Reason::RedirectLoop { url });
                }
                url
            }
            Err(reason) => return Decision::Fail(reason),
        },
    };
    if req.url.scheme() == "https" && url.scheme() == "http" {
        return Decision::Fail(Reason::Downgrade { to: url });
    }
    let (method, keep_body) = match rule {
        RedirectMethod::Same => (req.method.clone(), true),
        RedirectMethod::Get if req.method == Method::HEAD => (Method::HEAD, false),
        RedirectMethod::Get => (Method::GET, false),
    };
    let strip_credentials = url.origin() != req.url.origin();
    Decision::Redirect {
        method,
        url,
        keep_body,
        strip_credentials,
        permanent: permanent && location.is_some(),
    }
}
