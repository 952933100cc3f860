//! The contract model: what an API answers and what a client must do about it.
//!
//! These types are the resolved form: inheritance from the baseline is already applied, and
//! every value has been validated. Build them with [`Catalog`](crate::Catalog).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use http::{HeaderName, Method};
use serde::{Serialize, Serializer};

use crate::code::CodeValue;
use crate::names::{
    ActionKind, Category, ErrorFormat, Jitter, MissingLocation, Origin, Outcome, QuotaFields,
    RedirectMethod, SchemeKind,
};
use crate::pointer::JsonPointer;

/// What a client does with a response, with the parameters the action needs.
///
/// ```
/// use std::time::Duration;
/// use verdict::{Action, ActionKind};
/// let a = Action::RetryAfter { floor: Duration::from_secs(60), floor_over_header: false };
/// assert_eq!(a.kind(), ActionKind::RetryAfter);
/// assert_eq!(a.to_string(), "retry-after (at least 60 s without one)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Finished.
    Done,
    /// Stop and report the error.
    Fail,
    /// Repeat after an exponential back-off.
    Retry,
    /// Repeat after the wait the server names: its `Retry-After` (or `retry-after-ms`),
    /// else the reset of a used-up quota in its rate-limit headers, else the back-off, and
    /// never sooner than `floor` when the server named no wait.
    RetryAfter {
        /// The least wait when the server named none.
        floor: Duration,
        /// The floor also raises a shorter wait the server named (an API whose document
        /// says "at least 60 seconds" whatever the header says). Off by default: a
        /// server's `Retry-After` is taken as it is.
        floor_over_header: bool,
    },
    /// Follow `Location`.
    Redirect {
        /// The method of the followed request.
        method: RedirectMethod,
        /// Whether later requests should go to the new URL directly.
        permanent: bool,
    },
    /// Refresh credentials once and repeat.
    RefreshAuth,
    /// Use the cached copy.
    UseCached,
    /// Poll the `Location` until the work ends.
    Poll,
    /// Split a `multipart/mixed` batch into parts.
    SplitBatch,
}

impl Action {
    /// The action's kind, without parameters.
    pub const fn kind(&self) -> ActionKind {
        match self {
            Action::Done => ActionKind::Done,
            Action::Fail => ActionKind::Fail,
            Action::Retry => ActionKind::Retry,
            Action::RetryAfter { .. } => ActionKind::RetryAfter,
            Action::Redirect { .. } => ActionKind::Redirect,
            Action::RefreshAuth => ActionKind::RefreshAuth,
            Action::UseCached => ActionKind::UseCached,
            Action::Poll => ActionKind::Poll,
            Action::SplitBatch => ActionKind::SplitBatch,
        }
    }

    /// A plain-words description of what a client does.
    pub fn advice(&self) -> String {
        match self {
            Action::Done => "nothing more to do".into(),
            Action::Fail => {
                "stop and report the error; repeating the same request will not help".into()
            }
            Action::Retry => {
                "repeat after an exponential back-off with jitter, within the retry policy".into()
            }
            Action::RetryAfter { floor, .. } if floor.is_zero() => {
                "wait the time Retry-After names (else until the quota resets, else back off), then repeat"
                    .into()
            }
            Action::RetryAfter {
                floor,
                floor_over_header: true,
            } => format!(
                "wait the time Retry-After names but never less than {}, then repeat",
                crate::decide::Seconds::up(*floor)
            ),
            Action::RetryAfter { floor, .. } => format!(
                "wait the time Retry-After names, else until the quota resets, else at least {}, then repeat",
                crate::decide::Seconds::up(*floor)
            ),
            Action::Redirect {
                method: RedirectMethod::Get,
                permanent,
            } => format!(
                "follow Location with GET and no body (HEAD stays HEAD){}",
                if *permanent {
                    "; use the new URL from now on"
                } else {
                    ""
                }
            ),
            Action::Redirect {
                method: RedirectMethod::Same,
                permanent,
            } => format!(
                "follow Location with the same method and body{}",
                if *permanent {
                    "; use the new URL from now on"
                } else {
                    ""
                }
            ),
            Action::RefreshAuth => "obtain fresh credentials once, then repeat the request".into(),
            Action::UseCached => "use the cached copy; it is still current".into(),
            Action::Poll => "poll the URL in Location until the work is finished".into(),
            Action::SplitBatch => {
                "split the multipart/mixed body into its parts, each with its own status".into()
            }
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::RetryAfter {
                floor,
                floor_over_header,
            } if !floor.is_zero() => {
                let when = if *floor_over_header {
                    ""
                } else {
                    " without one"
                };
                write!(
                    f,
                    "retry-after (at least {}{when})",
                    crate::decide::Seconds::up(*floor)
                )
            }
            Action::Redirect { method, permanent } => write!(
                f,
                "redirect ({}{})",
                match method {
                    RedirectMethod::Get => "as GET",
                    RedirectMethod::Same => "same method",
                },
                if *permanent { ", permanent" } else { "" }
            ),
            other => f.write_str(other.kind().as_str()),
        }
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.kind().as_str())
    }
}

/// An HTTP header name as a contract spells it.
///
/// Comparison is case-insensitive, as for HTTP; [`as_str`](Header::as_str) keeps the
/// document's spelling for display.
///
/// ```
/// use verdict::Header;
/// let h: Header = "Retry-After".parse().unwrap();
/// assert_eq!(h.as_str(), "Retry-After");
/// assert_eq!(h.name(), "retry-after");
/// assert!("Bad Header".parse::<Header>().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Header {
    name: HeaderName,
    spelling: String,
    /// Other names a server may send it under (read, never sent).
    aliases: Vec<HeaderName>,
}

/// A string that is not a valid HTTP header name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a valid HTTP header name")]
pub struct InvalidHeader(pub String);

impl Header {
    /// The name as the contract spells it.
    pub fn as_str(&self) -> &str {
        &self.spelling
    }

    /// The normalised header name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The same header, also read under the names of `aliases` (a vendor whose document
    /// spells a header one way while its servers send another).
    ///
    /// ```
    /// use http::HeaderMap;
    /// use verdict::Header;
    /// let h: Header = "X-Rate-Limit-Remaining".parse().unwrap();
    /// let h = h.with_aliases(vec!["X-RateLimit-Remaining".parse().unwrap()]);
    /// let mut map = HeaderMap::new();
    /// map.insert("x-ratelimit-remaining", "0".parse().unwrap());
    /// assert_eq!(h.find(&map).unwrap(), "0");
    /// assert_eq!(h.as_str(), "X-Rate-Limit-Remaining");
    /// ```
    pub fn with_aliases(mut self, aliases: Vec<Header>) -> Header {
        self.aliases = aliases
            .into_iter()
            .map(|a| a.name)
            .filter(|a| *a != self.name)
            .collect();
        self
    }

    /// The other names it is read under.
    pub fn aliases(&self) -> &[HeaderName] {
        &self.aliases
    }

    /// Its name, then its aliases.
    pub fn names(&self) -> impl Iterator<Item = &HeaderName> {
        std::iter::once(&self.name).chain(&self.aliases)
    }

    /// Its value in `map`: under its name, else under the first alias present.
    pub fn find<'m>(&self, map: &'m http::HeaderMap) -> Option<&'m http::HeaderValue> {
        self.names().find_map(|n| map.get(n))
    }
}

impl FromStr for Header {
    type Err = InvalidHeader;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = HeaderName::from_bytes(s.as_bytes()).map_err(|_| InvalidHeader(s.to_owned()))?;
        Ok(Header {
            name: interned(name),
            spelling: s.to_owned(),
            aliases: Vec::new(),
        })
    }
}

/// `name` backed by a `'static` copy of its text, kept once per distinct name.
///
/// A contract's header names are sent on every response and request, and cloning a
/// `HeaderName` made at run time touches a reference count shared by every thread; one
/// made from a `'static` string clones as a plain copy. Contracts name a few dozen headers,
/// so the copies are few; past [`INTERNED_LIMIT`] distinct names (a generated or hostile
/// contract) names are kept the ordinary way, so memory stays bounded.
fn interned(name: HeaderName) -> HeaderName {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    let text = match names.get(name.as_str()) {
        Some(text) => *text,
        None if names.len() < INTERNED_LIMIT => {
            let text: &'static str = Box::leak(name.as_str().to_owned().into_boxed_str());
            names.insert(text);
            text
        }
        None => return name,
    };
    // Valid: the text is that of a name already parsed (and lowercased) above.
    HeaderName::from_static(text)
}

/// The most distinct header names [`interned`] keeps.
const INTERNED_LIMIT: usize = 1024;

impl PartialEq for Header {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Header {}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spelling)
    }
}

impl Serialize for Header {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.spelling)
    }
}

/// Where a contract's rules come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The document's name.
    pub document: String,
    /// Its title.
    pub title: Option<String>,
}

/// How an API authenticates callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scheme", rename_all = "kebab-case")]
pub enum AuthScheme {
    /// No credentials.
    None,
    /// A bearer token in `Authorization`.
    Bearer,
    /// HTTP Basic credentials.
    Basic,
    /// A key in the named header.
    ApiKey {
        /// The header that carries the key.
        header: Header,
    },
    /// OAuth 2.0 tokens.
    Oauth2 {
        /// The path where tokens are issued and refreshed.
        token_path: Option<String>,
    },
}

impl AuthScheme {
    /// The scheme's kind.
    pub fn kind(&self) -> SchemeKind {
        match self {
            AuthScheme::None => SchemeKind::None,
            AuthScheme::Bearer => SchemeKind::Bearer,
            AuthScheme::Basic => SchemeKind::Basic,
            AuthScheme::ApiKey { .. } => SchemeKind::ApiKey,
            AuthScheme::Oauth2 { .. } => SchemeKind::Oauth2,
        }
    }
}

/// Authentication: the scheme and the headers that carry secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Auth {
    /// The scheme.
    #[serde(flatten)]
    pub scheme: AuthScheme,
    /// Request headers that carry a secret and never cross to another origin.
    pub credential_headers: Vec<Header>,
    /// For `bearer` and `oauth2`: the words a token may follow in `Authorization`, compared
    /// without regard to case (GitHub takes `Bearer` and `token`); the first is the one
    /// clients send. Empty for the other schemes.
    #[serde(skip_serializing_if = "one_or_none")]
    pub authorization: Vec<String>,
}

fn one_or_none(v: &[String]) -> bool {
    v.len() <= 1
}

impl Auth {
    /// The token of an `Authorization` value, when it follows one of the scheme words the
    /// contract accepts.
    ///
    /// ```
    /// let mut auth = verdict::Catalog::builtin().get("webex").unwrap().auth.clone();
    /// assert_eq!(auth.token_in("Bearer abc"), Some("abc"));
    /// assert_eq!(auth.token_in("token abc"), None);
    /// auth.authorization.push("token".into());
    /// assert_eq!(auth.token_in("TOKEN abc"), Some("abc"));
    /// ```
    pub fn token_in<'v>(&self, value: &'v str) -> Option<&'v str> {
        let (word, token) = value.split_once(' ')?;
        self.authorization
            .iter()
            .any(|w| w.eq_ignore_ascii_case(word))
            .then(|| token.trim())
    }
}

/// When and how requests are repeated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetryPolicy {
    /// Repeats after the first attempt.
    pub max_retries: u32,
    /// The first back-off.
    #[serde(serialize_with = "millis")]
    pub base: Duration,
    /// Growth per repeat.
    pub factor: f64,
    /// The longest single back-off.
    #[serde(serialize_with = "millis")]
    pub cap: Duration,
    /// How back-offs are randomised.
    pub jitter: Jitter,
    /// Methods that may be repeated without an idempotency key.
    #[serde(serialize_with = "methods")]
    pub methods: Vec<Method>,
    /// A request header that makes any method safe to repeat.
    pub idempotency_header: Option<Header>,
    /// A response header (`x-should-retry`) by which the server says whether to repeat,
    /// over the status's own action; `None`: not honoured.
    pub should_retry_header: Option<Header>,
}

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis().try_into().unwrap_or(u64::MAX))
}

fn methods<S: Serializer>(m: &[Method], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(m.iter().map(Method::as_str))
}

fn method<S: Serializer>(m: &Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

impl RetryPolicy {
    /// The back-off before repeat number `retry` (1-based), before jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = verdict::Catalog::builtin().get("ringcentral").unwrap().retry.clone();
    /// assert!(policy.backoff(2) >= policy.backoff(1));
    /// assert!(policy.backoff(50) <= policy.cap);
    /// ```
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self.factor.powi(retry.saturating_sub(1).min(64) as i32);
        let ms = (self.base.as_millis() as f64 * exp).min(self.cap.as_millis() as f64);
        Duration::from_millis(ms as u64)
    }

    /// Whether `method` may be repeated without an idempotency key.
    pub fn may_repeat(&self, method: &Method) -> bool {
        self.methods.contains(method)
    }
}

/// What a server does with a repeated idempotency key
/// (draft-ietf-httpapi-idempotency-key-header): the first answer for a key is kept and
/// given again to a repeat with the same payload.
///
/// ```
/// let http = verdict::Catalog::builtin().get("http").unwrap();
/// assert_eq!(http.idempotency.reused.status, 422);
/// assert_eq!(http.idempotency.in_flight.status, 409);
/// assert!(http.idempotency.applies_to(&http::Method::POST));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdempotencyRules {
    /// The methods whose first answer is kept per key (POST and PATCH by default).
    #[serde(serialize_with = "methods")]
    pub methods: Vec<Method>,
    /// The answer to a key sent again with a different payload.
    pub reused: IdempotencyAnswer,
    /// The answer to a key whose first request is still being processed.
    pub in_flight: IdempotencyAnswer,
    /// How long a server keeps the answer for a key (the API's documented expiry; a day
    /// by default).
    #[serde(serialize_with = "seconds")]
    pub expires: Duration,
    /// The API honours keys for `methods`, so a client adds one to each request of those
    /// methods (the same across its repeats), which makes it safe to repeat.
    pub client_keys: bool,
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

impl IdempotencyRules {
    /// Whether a key on a request with `method` is honoured.
    pub fn applies_to(&self, method: &Method) -> bool {
        self.methods.contains(method)
    }

    /// Whether a client adds a key of its own to a request with `method`.
    pub fn client_adds_key(&self, method: &Method) -> bool {
        self.client_keys && self.applies_to(method)
    }
}

/// One refusal of a repeated idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdempotencyAnswer {
    /// The HTTP status (a 4xx).
    pub status: u16,
    /// The message the error body carries.
    pub message: String,
    /// Where the rule comes from.
    pub origin: Origin,
}

/// How redirects are followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedirectPolicy {
    /// The most hops one request may follow.
    pub max_hops: u32,
    /// What to do with a 3xx that has no Location.
    pub missing_location: MissingLocation,
}

/// Response headers with a special meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Headers {
    /// The header that names a wait.
    pub retry_after: Header,
    /// The header that carries the vendor's request id.
    pub tracking_id: Option<Header>,
}

/// Response headers that describe a quota.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RateLimitHeaders {
    /// Requests allowed in the window.
    pub limit: Option<Header>,
    /// Requests left in the window.
    pub remaining: Option<Header>,
    /// Requests spent in the window (GitHub's `x-ratelimit-used`). The emulator writes it;
    /// the client reads `remaining`.
    pub used: Option<Header>,
    /// When the window resets, written as `reset_format` says.
    pub reset: Option<Header>,
    /// How `reset` writes its time.
    pub reset_format: crate::names::ResetFormat,
    /// The window's length in seconds.
    pub window: Option<Header>,
    /// The quota group the request counted against.
    pub group: Option<Header>,
    /// Which fields the API sends (and the emulator writes): these names, the IETF
    /// draft's `RateLimit` and `RateLimit-Policy`, or both.
    pub fields: QuotaFields,
}

/// Where an error body keeps its parts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ErrorBody {
    /// The human message.
    pub message: Option<JsonPointer>,
    /// The vendor's error code.
    pub code: Option<JsonPointer>,
    /// Field-level errors.
    pub fields: Option<JsonPointer>,
    /// The request's tracking id.
    pub tracking_id: Option<JsonPointer>,
    /// The body's layout: the vendor's own JSON, or problem details (RFC 9457), where the
    /// message is `/detail` and the other parts are extension members.
    pub format: ErrorFormat,
    /// Problem details only: the URI every problem `type` starts with (the kind of
    /// problem is appended); `about:blank` types when absent.
    pub type_base: Option<String>,
    /// A member that says the request failed whatever the status (Slack's `"ok": false`
    /// on a 200); `None` when the status alone says so.
    pub failure: Option<FailureFlag>,
    /// How one entry of the field errors (under `fields`) is laid out, for an API that
    /// names the resource, the field and a code per refused field (GitHub's 422).
    pub field_error: Option<FieldErrorShape>,
}

/// A body member whose value says a request failed (`failure = { pointer = "/ok",
/// equals = false }`).
///
/// ```
/// use serde_json::json;
/// let flag = verdict::FailureFlag { pointer: "/ok".parse().unwrap(), equals: json!(false) };
/// assert!(flag.holds(&json!({"ok": false, "error": "invalid_auth"})));
/// assert!(!flag.holds(&json!({"ok": true})));
/// assert!(!flag.holds(&json!({})));
/// assert_eq!(flag.to_string(), "/ok is false");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureFlag {
    /// Where the member is.
    pub pointer: JsonPointer,
    /// The value that means failure: a boolean, a number or a string.
    pub equals: serde_json::Value,
}

impl FailureFlag {
    /// Whether `body` says the request failed: the member is there and equals the value.
    pub fn holds(&self, body: &serde_json::Value) -> bool {
        self.pointer.find(body) == Some(&self.equals)
    }
}

impl fmt::Display for FailureFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is {}", self.pointer, self.equals)
    }
}

/// The layout of one field error: where it names the resource, the field and the code
/// (`field_error = { resource = "/resource", field = "/field", code = "/code" }`), each
/// relative to the entry, and the codes the emulator gives for each kind of fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldErrorShape {
    /// Where an entry names the resource.
    pub resource: Option<JsonPointer>,
    /// Where an entry names the field.
    pub field: JsonPointer,
    /// Where an entry carries the code of the fault.
    pub code: Option<JsonPointer>,
    /// The code for a required field left out (`missing_field` unless set).
    pub missing: String,
    /// The code for a value of the wrong type or out of bounds (`invalid` unless set).
    pub invalid: String,
    /// The code for a field the request does not take (`unprocessable` unless set).
    pub unknown: String,
    /// The code for a value another item already holds where it must be unique
    /// (`already_exists` unless set).
    pub taken: String,
}

impl ErrorBody {
    /// Whether error bodies are problem details.
    pub fn is_problem(&self) -> bool {
        self.format == ErrorFormat::Problem
    }
}

/// A different rule for one method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodOverride {
    /// The method it applies to.
    #[serde(serialize_with = "method")]
    pub method: Method,
    /// The action for that method.
    pub action: Option<Action>,
    /// The category for that method.
    pub category: Option<Category>,
    /// The meaning for that method.
    pub meaning: Option<String>,
    /// The rule for that method.
    pub rule: Option<String>,
}

/// One HTTP status of a contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusEntry {
    /// 100 to 599.
    pub code: u16,
    /// The reason phrase as the document writes it.
    pub title: Option<String>,
    /// What it means, in our words.
    pub meaning: String,
    /// The vendor's exact message for it on the wire (GitHub's "Validation Failed"),
    /// which the emulator sends in preference to `meaning`.
    pub wire_message: Option<String>,
    /// The kind of situation.
    pub category: Category,
    /// What a client does.
    pub action: Action,
    /// The request was not acted on: any method may be repeated.
    pub replay_safe: bool,
    /// Response headers that matter for this status.
    pub headers: Vec<Header>,
    /// The client rule, in our words.
    pub rule: Option<String>,
    /// Where the rule comes from.
    pub origin: Origin,
    /// Rules for particular methods.
    pub overrides: Vec<MethodOverride>,
    /// Meanings that depend on the answer (GitHub's 403 is a rate limit when
    /// `x-ratelimit-remaining` is 0): the first whose condition holds replaces the
    /// entry's meaning, category, action and rule.
    pub variants: Vec<Variant>,
    /// The query parameter whose page size a repeat halves (Webex's 504: "reduce max").
    pub shrink: Option<Shrink>,
    /// Whether this contract's own document names the status (false when only the
    /// baseline knows it).
    pub documented: bool,
}

/// A page-size query parameter a repeat after this status halves, never below `floor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shrink {
    /// The query parameter (`max`).
    pub param: String,
    /// The smallest size it is halved to.
    pub floor: u32,
}

/// A condition on an answer (`when` of a status variant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The answer carries this header.
    Header(Header),
    /// The answer's header has this value (surrounding spaces aside).
    HeaderEquals(Header, String),
    /// The JSON body has this value at the pointer: a string equal to it, or a number
    /// or boolean written as it.
    Body(crate::pointer::JsonPointer, String),
    /// The JSON body has a value other than null at the pointer.
    BodyHas(crate::pointer::JsonPointer),
}

impl Condition {
    /// Whether an answer with `headers` and (when read) `body` meets it. A body
    /// condition is never met without a body.
    pub fn holds(&self, headers: &http::HeaderMap, body: Option<&serde_json::Value>) -> bool {
        match self {
            Condition::Header(h) => h.find(headers).is_some(),
            Condition::HeaderEquals(h, want) => h
                .find(headers)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim() == want),
            Condition::Body(p, want) => body.and_then(|b| p.find(b)).is_some_and(|v| match v {
                serde_json::Value::String(s) => s == want,
                serde_json::Value::Number(n) => {
                    want.parse::<serde_json::Number>().ok().as_ref() == Some(n)
                }
                serde_json::Value::Bool(b) => want == if *b { "true" } else { "false" },
                _ => false,
            }),
            Condition::BodyHas(p) => body.and_then(|b| p.find(b)).is_some_and(|v| !v.is_null()),
        }
    }

    /// Whether it reads the body.
    pub fn needs_body(&self) -> bool {
        matches!(self, Condition::Body(..) | Condition::BodyHas(_))
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Header(h) => write!(f, "the answer carries {h}"),
            Condition::HeaderEquals(h, v) => write!(f, "{h} is {v}"),
            Condition::Body(p, v) => write!(f, "the body has \"{v}\" at {}", p.as_str()),
            Condition::BodyHas(p) => write!(f, "the body has a value at {}", p.as_str()),
        }
    }
}

/// One meaning of a status that holds when its condition does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    /// When it applies.
    pub when: Condition,
    /// What the answer means then.
    pub meaning: String,
    /// The kind of situation then.
    pub category: Category,
    /// What a client does then.
    pub action: Action,
    /// The client rule then.
    pub rule: Option<String>,
}

impl StatusEntry {
    /// The first variant whose condition an answer with `headers` and `body` meets.
    pub fn variant(
        &self,
        headers: &http::HeaderMap,
        body: Option<&serde_json::Value>,
    ) -> Option<&Variant> {
        self.variants.iter().find(|v| v.when.holds(headers, body))
    }

    /// Whether a variant's condition reads the body.
    pub fn reads_body(&self) -> bool {
        self.variants.iter().any(|v| v.when.needs_body())
    }

    /// The entry as it applies to `method` and an answer with `headers` and `body`: a
    /// method override first, then the variant that holds replaces the fields it sets.
    pub fn for_answer(
        &self,
        method: &Method,
        headers: &http::HeaderMap,
        body: Option<&serde_json::Value>,
    ) -> StatusEntry {
        let mut out = self.for_method(method);
        if let Some(v) = self.variant(headers, body) {
            out.meaning = v.meaning.clone();
            out.category = v.category;
            out.action = v.action;
            out.rule = v.rule.clone();
        }
        out
    }

    /// The action for `method`, without copying the entry.
    ///
    /// ```
    /// use http::Method;
    /// let rc = verdict::Catalog::builtin().get("ringcentral").unwrap();
    /// assert_eq!(rc.status(404).unwrap().action_for(&Method::DELETE), verdict::Action::Done);
    /// ```
    pub fn action_for(&self, method: &Method) -> Action {
        self.overrides
            .iter()
            .find(|o| o.method == method)
            .and_then(|o| o.action)
            .unwrap_or(self.action)
    }

    /// The entry as it applies to `method`: an override for that method replaces the
    /// fields it sets.
    ///
    /// ```
    /// use http::Method;
    /// let rc = verdict::Catalog::builtin().get("ringcentral").unwrap();
    /// let gone = rc.status(404).unwrap();
    /// assert_eq!(gone.for_method(&Method::DELETE).action, verdict::Action::Done);
    /// assert_eq!(gone.for_method(&Method::GET).action, verdict::Action::Fail);
    /// ```
    pub fn for_method(&self, method: &Method) -> StatusEntry {
        let mut out = self.clone();
        if let Some(o) = self.overrides.iter().find(|o| o.method == method) {
            if let Some(a) = o.action {
                out.action = a;
            }
            if let Some(c) = o.category {
                out.category = c;
            }
            if let Some(m) = &o.meaning {
                out.meaning = m.clone();
            }
            if let Some(r) = &o.rule {
                out.rule = Some(r.clone());
            }
        }
        out
    }
}

/// One exact vendor message of an application code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// The vendor's string, byte for byte.
    pub text: String,
    /// When it is produced, in our words.
    pub when: String,
    /// The stable name code refers to it by, unique within its API (never its position).
    pub key: Option<String>,
}

/// The mark of a code or value the vendor no longer supports, with why and since when
/// where the contract says (`deprecated = "…"`, or `deprecated = true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deprecation {
    /// Why, and since when, in the contract's words.
    pub note: Option<String>,
}

impl fmt::Display for Deprecation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.note {
            Some(n) => write!(f, "deprecated: {n}"),
            None => f.write_str("deprecated"),
        }
    }
}

/// One value of a request field the vendor documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataValue {
    /// The value as the request carries it.
    pub value: String,
    /// Set when the vendor no longer supports it.
    pub deprecated: Option<Deprecation>,
}

/// The values a request field of an API takes (`[[api.enum]]`), some perhaps deprecated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataValues {
    /// Where the field is in a request body.
    pub field: JsonPointer,
    /// Its values, in the document's order.
    pub values: Vec<DataValue>,
    /// The key of the message the API answers a deprecated value with.
    pub refused_with: Option<String>,
}

impl DataValues {
    /// The deprecation of `value` (compared without regard to case), if it is deprecated.
    pub fn deprecated(&self, value: &str) -> Option<&Deprecation> {
        self.values
            .iter()
            .find(|v| v.value.eq_ignore_ascii_case(value))
            .and_then(|v| v.deprecated.as_ref())
    }
}

/// One application code carried inside a response body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppCode {
    /// The vendor's number or text.
    pub code: CodeValue,
    /// The HTTP status it travels with.
    pub http_status: u16,
    /// Error, pending or success.
    pub outcome: Outcome,
    /// The kind of situation.
    pub category: Category,
    /// What a client does.
    pub action: Action,
    /// What it means, in our words.
    pub meaning: String,
    /// The client rule, in our words.
    pub rule: Option<String>,
    /// The vendor's exact messages for this code.
    pub messages: Vec<Message>,
    /// The document repeats this number as a separate row, and this is the repeat.
    pub seed_duplicate: bool,
    /// Set when the vendor no longer sends or accepts it.
    pub deprecated: Option<Deprecation>,
}

/// One API of a contract that carries application codes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Api {
    /// Its id, e.g. "messaging".
    pub id: String,
    /// Human name.
    pub name: String,
    /// One sentence.
    pub summary: Option<String>,
    /// Where its error bodies keep their parts (the contract's when absent).
    pub error_body: Option<ErrorBody>,
    /// Its codes in document order.
    pub codes: Vec<AppCode>,
    /// The checks it applies to request bodies, in the order it applies them.
    pub checks: Vec<crate::body_check::BodyCheck>,
    /// The values of request fields it documents (`[[api.enum]]`).
    pub enums: Vec<DataValues>,
}

impl Api {
    /// Every entry for `code` (more than one where the document repeats the number).
    pub fn code(&self, code: impl Into<CodeValue>) -> impl Iterator<Item = &AppCode> {
        let code = code.into();
        self.codes.iter().filter(move |c| c.code == code)
    }

    /// The documented values of the request field at `field`.
    pub fn values_of(&self, field: &str) -> Option<&DataValues> {
        self.enums.iter().find(|e| e.field.as_str() == field)
    }

    /// The message named `key`, with the code that holds it.
    pub fn message(&self, key: &str) -> Option<(&AppCode, &Message)> {
        self.codes.iter().find_map(|c| {
            c.messages
                .iter()
                .find(|m| m.key.as_deref() == Some(key))
                .map(|m| (c, m))
        })
    }

    /// The first of its checks that `body` fails.
    pub fn failed_check(&self, body: &serde_json::Value) -> Option<&crate::body_check::BodyCheck> {
        self.checks.iter().find(|c| !c.passes(body))
    }

    /// The code whose messages include exactly `text`.
    pub fn by_message(&self, text: &str) -> Option<&AppCode> {
        self.codes
            .iter()
            .find(|c| c.messages.iter().any(|m| m.text == text))
    }
}

/// A resolved, validated contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contract {
    /// The id used on the command line.
    pub id: String,
    /// Human name.
    pub name: String,
    /// The contract it extends.
    pub extends: Option<String>,
    /// The usual base URL.
    pub base_url: Option<String>,
    /// One sentence.
    pub summary: Option<String>,
    /// Where its rules come from.
    pub source: Option<Source>,
    /// Authentication.
    pub auth: Auth,
    /// Repeats.
    pub retry: RetryPolicy,
    /// Redirects.
    pub redirects: RedirectPolicy,
    /// Special response headers.
    pub headers: Headers,
    /// Quota headers.
    pub rate_limit: RateLimitHeaders,
    /// Error body layout.
    pub error_body: ErrorBody,
    /// What repeated idempotency keys get.
    pub idempotency: IdempotencyRules,
    /// Every status, sorted by code, the baseline's included.
    pub statuses: Vec<StatusEntry>,
    /// The rule for each class of statuses the contract does not list one by one
    /// (`[[class]]`), sorted; each entry's `code` is its class's first status (500 for 5xx).
    pub classes: Vec<StatusEntry>,
    /// APIs with application codes.
    pub apis: Vec<Api>,
    /// What the emulator needs: resources, statuses of CRUD, paging, quotas.
    pub emulator: Option<crate::emulate::EmulatorSpec>,
}

impl Contract {
    /// The header a client adds, with a key of its own, to a request with `method`: the
    /// contract's idempotency header where `[idempotency] client_keys` says the API
    /// honours keys for that method.
    pub fn client_idempotency_header(&self, method: &Method) -> Option<&Header> {
        self.retry
            .idempotency_header
            .as_ref()
            .filter(|_| self.idempotency.client_adds_key(method))
    }

    /// The entry for an HTTP status, the baseline's if this contract does not name it.
    pub fn status(&self, code: u16) -> Option<&StatusEntry> {
        self.statuses
            .binary_search_by_key(&code, |s| s.code)
            .ok()
            .map(|i| &self.statuses[i])
    }

    /// The rule for `code` when the contract does not list it: its class's (`[[class]]`).
    pub fn class_rule(&self, code: u16) -> Option<&StatusEntry> {
        let first = code / 100 * 100;
        self.classes.iter().find(|c| c.code == first)
    }

    /// What holds for an answer with `code`: its own entry, else its class's rule.
    ///
    /// ```
    /// let rc = verdict::Catalog::builtin().get("ringcentral").unwrap();
    /// assert!(rc.status(520).is_none());
    /// // "Other 5xx: the client should not repeat the request."
    /// assert_eq!(rc.rule(520).unwrap().action, verdict::Action::Fail);
    /// ```
    pub fn rule(&self, code: u16) -> Option<&StatusEntry> {
        self.status(code).or_else(|| self.class_rule(code))
    }

    /// The statuses this contract's own document names.
    pub fn documented_statuses(&self) -> impl Iterator<Item = &StatusEntry> {
        self.statuses.iter().filter(|s| s.documented)
    }

    /// The API with this id.
    pub fn api(&self, id: &str) -> Option<&Api> {
        self.apis.iter().find(|a| a.id == id)
    }

    /// The error body layout for `api` (or the contract's own).
    pub fn error_body_for(&self, api: Option<&str>) -> &ErrorBody {
        api.and_then(|id| self.api(id))
            .and_then(|a| a.error_body.as_ref())
            .unwrap_or(&self.error_body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_the_same_whether_kept_or_not() {
        // More distinct names than are kept: the later ones are made the ordinary way,
        // and every one still equals its parsed form and compares case-insensitively.
        for i in 0..INTERNED_LIMIT + 50 {
            let text = format!("X-Name-{i}");
            let h: Header = text.parse().unwrap();
            assert_eq!(h.name(), &HeaderName::from_bytes(text.as_bytes()).unwrap());
            assert_eq!(h.as_str(), text);
            assert_eq!(h, text.to_lowercase().parse::<Header>().unwrap());
        }
        let standard: Header = "Retry-After".parse().unwrap();
        assert_eq!(standard.name(), &http::header::RETRY_AFTER);
    }
}
