//! The one error type of the client.

use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde::Serialize;
use url::Url;
use verdict::decide::Reason;
use verdict::problem::Problem;
use verdict::{Category, Contract, ErrorBody};

/// One request sent on the way to the final answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// The method sent.
    #[serde(serialize_with = "as_str")]
    pub method: Method,
    /// The URL sent to.
    #[serde(serialize_with = "as_str")]
    pub url: Url,
    /// The status received, if a response came back.
    pub status: Option<u16>,
    /// What the client did next: the engine's decision as carried out (`fail` where a
    /// decided repeat could not be made).
    pub kind: verdict::decide::DecisionKind,
    /// What was decided, in a few words (e.g. `retry in 2 s (Retry-After)`).
    pub decision: String,
    /// The wait before the next attempt.
    #[serde(serialize_with = "millis")]
    pub wait: Option<Duration>,
}

fn as_str<T: fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_millis().try_into().unwrap_or(u64::MAX)),
        None => s.serialize_none(),
    }
}

/// The attempts of a request, attached to every response the middleware returns (read it
/// with `response.extensions().get::<Attempts>()`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attempts(pub Vec<Attempt>);

/// What went wrong, in kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The contract's decision: a final answer, exhausted retries, a wait too long, a
    /// refused redirect, rejected credentials.
    Refused(Reason),
    /// The retry budget for this host is spent: retries would add too much load.
    BudgetExhausted,
    /// No response: connection refused, reset, timed out.
    Network(String),
    /// The body could not be read, or is larger than the limit.
    Body(String),
    /// A multipart batch could not be split.
    Batch(verdict::multipart::BatchError),
    /// The request body is a stream and cannot be sent twice.
    NotReplayable,
    /// The reqwest client under the middleware followed a redirect itself, so the
    /// contract's redirect rules (method, body, credentials) could not apply.
    RedirectedByClient {
        /// Where the client ended up.
        to: url::Url,
    },
    /// The credential refresh hook failed.
    Refresh(String),
    /// The request was not sent: the circuit breaker of its host is open after repeated
    /// failures (see [`VerdictBuilder::circuit_breaker`](crate::VerdictBuilder::circuit_breaker)).
    CircuitOpen {
        /// When the breaker lets a request through again, at the earliest.
        until: SystemTime,
        /// How long that was from when the request was refused, by the middleware's clock.
        retry_in: Duration,
    },
    /// The built-in OAuth 2.0 client got no token: the token endpoint's refusal (with its
    /// `error` and `error_description`), no answer, or an unusable one.
    OAuth(crate::oauth::OAuthError),
    /// The credential renewal this request needed (its own, or another request's it
    /// waited for) did not end within what was left of the request's `max_wait`.
    RefreshTimeout(Duration),
}

/// Whole seconds in `d`, rounded up (1.001 s is 2 s).
pub(crate) fn seconds_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A request that did not succeed: everything the server said, what the contract says
/// about it, and every attempt made.
///
/// Its `Display` is one line:
/// `webex: GET https://… -> 404 Not Found: "The requested resource could not be found." (tracking id ABC; the contract says this answer is final; 1 attempt)`.
/// A problem-details answer shows its `detail` (or `title`) as the message and its `type`:
/// `… -> 404 Not Found: "No item with id x." (type https://…/problems/not-found; …)`.
#[derive(Debug, Clone)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The contract id.
    pub contract: String,
    /// The method of the last attempt.
    pub method: Method,
    /// The URL of the last attempt.
    pub url: Url,
    /// The last HTTP status, if a response came.
    pub status: Option<StatusCode>,
    /// The status's reason phrase in the contract.
    pub title: Option<String>,
    /// The vendor's own error code (e.g. `CMN-102` or `7109`).
    pub vendor_code: Option<String>,
    /// The vendor's message, exactly as sent.
    pub message: Option<String>,
    /// Field-level errors from the body.
    pub field_errors: Vec<String>,
    /// The vendor's tracking id, from the body or the contract's header.
    pub tracking_id: Option<String>,
    /// What the contract says the answer means.
    pub meaning: Option<String>,
    /// What the contract says to do.
    pub advice: Option<String>,
    /// The contract's category.
    pub category: Option<Category>,
    /// The last response's headers.
    pub headers: HeaderMap,
    /// The last response's body (up to the body limit).
    pub body: Bytes,
    /// The body as problem details (RFC 9457), when it is one: the response said
    /// `application/problem+json`, or the contract says its errors are problems. Its
    /// `detail` (else `title`) is the vendor message and its `type` the vendor code when
    /// the contract's error-body pointers find nothing.
    pub problem: Option<Problem>,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

impl Error {
    /// The verdict error inside a middleware error, if it is one.
    pub fn from_middleware(e: &reqwest_middleware::Error) -> Option<&Error> {
        match e {
            reqwest_middleware::Error::Middleware(e) => e.downcast_ref::<Error>(),
            reqwest_middleware::Error::Reqwest(_) => None,
        }
    }

    /// Total time waited between attempts.
    pub fn waited(&self) -> Duration {
        self.attempts.iter().filter_map(|a| a.wait).sum()
    }

    /// The wait the server asked for, when that is why the request stopped.
    pub fn wait_demanded(&self) -> Option<Duration> {
        match &self.kind {
            ErrorKind::Refused(Reason::WaitTooLong { wait, .. }) => Some(*wait),
            _ => None,
        }
    }

    pub(crate) fn bare(kind: ErrorKind, contract: &Contract, method: Method, url: Url) -> Self {
        Error {
            kind,
            contract: contract.id.clone(),
            method,
            url,
            status: None,
            title: None,
            vendor_code: None,
            message: None,
            field_errors: Vec::new(),
            tracking_id: None,
            meaning: None,
            advice: None,
            category: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            problem: None,
            attempts: Vec::new(),
        }
    }

    /// Fills in what the response and the contract say.
    pub(crate) fn with_response(
        mut self,
        contract: &Contract,
        api: Option<&str>,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        app_code: Option<u32>,
    ) -> Self {
        self.status = Some(status);
        let entry = contract.status(status.as_u16());
        if let Some(s) = entry {
            let s = s.for_method(&self.method);
            self.title = s.title.clone();
            self.meaning = Some(s.meaning.clone());
            self.advice = Some(s.rule.clone().unwrap_or_else(|| s.action.advice()));
            self.category = Some(s.category);
        }
        if let Some(code) = app_code {
            let found = contract
                .apis
                .iter()
                .filter(|a| api.is_none_or(|id| a.id == id))
                .find_map(|a| a.code(code).next());
            if let Some(c) = found {
                self.meaning = Some(c.meaning.clone());
                self.advice = Some(c.rule.clone().unwrap_or_else(|| c.action.advice()));
                self.category = Some(c.category);
            }
        }
        if let ErrorKind::Refused(Reason::ServerSaidNoRetry { header }) = &self.kind {
            // The contract's rule would say to repeat; the server said otherwise.
            self.advice = Some(format!(
                "Do not repeat the request as it is: the server answered {header}: false."
            ));
        }
        let shape = contract.error_body_for(api);
        let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        if let Some(json) = &json {
            self.read_body(shape, json);
            let declared = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(verdict::problem::is_problem_media_type);
            if declared || shape.is_problem() {
                self.problem = Problem::from_value(json).ok();
            }
        }
        if let Some(p) = &self.problem {
            if self.message.is_none() {
                self.message = p.message().map(str::to_owned);
            }
            if self.vendor_code.is_none() && !p.is_blank() {
                self.vendor_code = Some(p.type_uri.clone());
            }
        }
        if self.tracking_id.is_none() {
            if let Some(h) = &contract.headers.tracking_id {
                self.tracking_id = headers
                    .get(h.name())
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
            }
        }
        if self.message.is_none() && json.is_none() && !body.is_empty() && body.len() <= 512 {
            self.message = std::str::from_utf8(&body)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty());
        }
        self.headers = headers;
        self.body = body;
        self
    }

    fn read_body(&mut self, shape: &ErrorBody, json: &serde_json::Value) {
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        };
        let at = |p: &Option<verdict::JsonPointer>| p.as_ref().and_then(|p| p.find(json));
        self.message = at(&shape.message).and_then(text);
        self.vendor_code = at(&shape.code).and_then(text);
        self.tracking_id = at(&shape.tracking_id).and_then(text);
        if let Some(fields) = at(&shape.fields) {
            self.field_errors = match fields {
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|i| match i {
                        serde_json::Value::Object(o) => {
                            ["description", "message", "errorText", "error"]
                                .iter()
                                .find_map(|k| o.get(*k).and_then(text))
                                .or_else(|| Some(i.to_string()))
                        }
                        other => text(other),
                    })
                    .collect(),
                serde_json::Value::Object(o) => o
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", text(v).unwrap_or_default()))
                    .collect(),
                other => text(other).into_iter().collect(),
            };
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {}", self.contract, self.method, self.url)?;
        if let Some(s) = self.status {
            write!(f, " -> {}", s.as_u16())?;
            if let Some(t) = &self.title {
                write!(f, " {t}")?;
            }
        }
        match (&self.message, &self.meaning) {
            (Some(m), _) => write!(f, ": {m:?}")?,
            (None, Some(m)) if self.status.is_some() => write!(f, ": {m}")?,
            _ => {}
        }
        let mut notes: Vec<String> = Vec::new();
        let problem_type = self
            .problem
            .as_ref()
            .filter(|p| !p.is_blank())
            .map(|p| p.type_uri.as_str());
        match &self.vendor_code {
            Some(c) if Some(c.as_str()) == problem_type => notes.push(format!("type {c}")),
            Some(c) => {
                notes.push(format!("code {c}"));
                if let Some(t) = problem_type {
                    notes.push(format!("type {t}"));
                }
            }
            None => {}
        }
        // A problem's own title, when it says more than the status's and is not the message.
        if let Some(t) = self.problem.as_ref().and_then(|p| p.title.as_ref()) {
            if Some(t) != self.title.as_ref() && Some(t) != self.message.as_ref() {
                notes.push(format!("title {t:?}"));
            }
        }
        if let Some(t) = &self.tracking_id {
            notes.push(format!("tracking id {t}"));
        }
        notes.push(match &self.kind {
            ErrorKind::Refused(r) => r.to_string(),
            ErrorKind::BudgetExhausted => {
                "retry budget spent; not retrying to avoid adding load".into()
            }
            ErrorKind::Network(e) => format!("network failure: {e}"),
            ErrorKind::Body(e) => format!("body: {e}"),
            ErrorKind::Batch(e) => format!("batch: {e}"),
            ErrorKind::NotReplayable => {
                "the request body is a stream and cannot be sent again".into()
            }
            ErrorKind::RedirectedByClient { to } => format!(
                "the reqwest client followed a redirect to {to} itself; build it with \
                 verdict_client::http_client() or .redirect(reqwest::redirect::Policy::none()) \
                 so the contract's redirect rules apply"
            ),
            ErrorKind::Refresh(e) => format!("credential refresh failed: {e}"),
            ErrorKind::CircuitOpen { retry_in, .. } => format!(
                "not sent: the circuit breaker of this host is open after repeated failures; \
                 it lets a request through again in {} s",
                seconds_up(*retry_in)
            ),
            ErrorKind::OAuth(e) => e.to_string(),
            ErrorKind::RefreshTimeout(d) => format!(
                "the credential renewal did not end within the {:.1} s the request could still wait",
                d.as_secs_f64()
            ),
        });
        let n = self.attempts.len();
        let waited = self.waited();
        notes.push(if waited.is_zero() {
            format!("{n} attempt{}", if n == 1 { "" } else { "s" })
        } else {
            format!(
                "{n} attempt{}, waited {:.1} s",
                if n == 1 { "" } else { "s" },
                waited.as_secs_f64()
            )
        });
        write!(f, " ({})", notes.join("; "))
    }
}

impl std::error::Error for Error {}
