//! The one error type of the client, and the record of attempts it carries.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde::Serialize;
use url::Url;
use verdict::decide::{DecisionKind, Failure, Reason, Seconds, WaitCause};
use verdict::problem::Problem;
use verdict::{Category, CodeValue, Contract, ErrorBody};

/// The error under a verdict error: reqwest's, the file system's, a refresh hook's or the
/// OAuth client's. Shared, so that [`Error`] stays cheap to clone.
pub(crate) type Source = Arc<dyn StdError + Send + Sync + 'static>;

/// One request sent (or held back) on the way to the final answer, as the middleware
/// recorded it.
///
/// A plain record: programs read its fields, observers see it as it is made, and
/// `verdict call --json` prints it. Only the middleware makes one, and it is
/// `#[non_exhaustive]` so that fields can be added without breaking code that reads the
/// others. What the client did is typed ([`kind`](Self::kind), the waits); the
/// [`note`](Self::note) says it in words for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Attempt {
    /// The method sent.
    #[serde(serialize_with = "as_str")]
    pub method: Method,
    /// The URL sent to.
    #[serde(serialize_with = "as_str")]
    pub url: Url,
    /// Whether the request went out. An attempt the circuit breaker held back, or one
    /// that a shared wait longer than the request may wait stopped, was not sent.
    pub sent: bool,
    /// The status received, if a response came back.
    pub status: Option<u16>,
    /// What the client did next: the engine's decision as carried out (`fail` where it
    /// stopped, including where a decided repeat could not be made).
    pub kind: DecisionKind,
    /// The wait after this attempt, before the next one (in JSON, milliseconds).
    #[serde(serialize_with = "millis")]
    pub wait: Option<Duration>,
    /// A wait before this attempt was sent, shared by every request on its credential: a
    /// `Retry-After` or a used-up quota learned earlier by another request (in this
    /// process or another, through the store) or by an earlier attempt. Not a demand of
    /// the server's answer to this request (in JSON, milliseconds).
    #[serde(serialize_with = "millis")]
    pub shared_wait: Option<Duration>,
    /// What happened, in a few words (e.g. `retry in 2 s (Retry-After)`). The wording is
    /// for people and may change; programs read the other fields.
    pub note: Cow<'static, str>,
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

impl Attempt {
    /// An attempt of `method` to `url`, as the middleware records it.
    pub(crate) fn new(
        method: Method,
        url: Url,
        kind: DecisionKind,
        note: impl Into<Cow<'static, str>>,
    ) -> Self {
        Attempt {
            method,
            url,
            sent: true,
            status: None,
            kind,
            wait: None,
            shared_wait: None,
            note: note.into(),
        }
    }
}

/// The attempts of a request, attached to every response the middleware returns (read it
/// with `response.extensions().get::<Attempts>()`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attempts(pub Vec<Attempt>);

/// What went wrong, in kind. More kinds may come: match with a `_` arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The contract's decision: a final answer, exhausted retries, a wait too long, a
    /// refused redirect, rejected credentials.
    Refused(Reason),
    /// The retry budget for this host is spent: retries would add too much load.
    BudgetExhausted,
    /// No complete answer: no connection, TLS failed, no answer in time, the exchange
    /// broke off, or the body stopped short. The transport's error is the
    /// [`source`](std::error::Error::source); [`Error::reason`] says why the request was
    /// not sent again, when the engine said so.
    Network(Failure),
    /// The answer's body is larger than the most the middleware reads of it
    /// ([`VerdictBuilder::body_limit`](crate::VerdictBuilder::body_limit)).
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A multipart batch could not be split (the batch error is also the source).
    Batch(verdict::multipart::BatchError),
    /// The request body is a stream and cannot be sent twice.
    NotReplayable,
    /// The reqwest client under the middleware followed a redirect itself, so the
    /// contract's redirect rules (method, body, credentials) could not apply.
    RedirectedByClient {
        /// Where the client ended up.
        to: url::Url,
    },
    /// The credential refresh hook failed; its error is the source.
    Refresh,
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
    /// reqwest could not build the request (a malformed URL or header), so nothing was
    /// sent; reqwest's error is the source. Only a converted `reqwest_middleware::Error`
    /// has it.
    InvalidRequest,
    /// Another middleware in the chain failed; its error is the source. Only a converted
    /// `reqwest_middleware::Error` has it.
    Middleware,
}

/// A request that did not succeed: everything the server said, what the contract says
/// about it, what to do next, and every attempt made. Cheap to clone.
///
/// Get it from a middleware error with `?` or `Error::from` (see the `From` impls), or
/// look at it in place with [`VerdictErrorExt::verdict_error`]. Its
/// [`source`](std::error::Error::source) is the error underneath, when there is one: the
/// reqwest error of a network failure, the refresh hook's error, the OAuth client's.
///
/// Its `Display` is one line:
/// `webex: GET https://… -> 404 Not Found: "The requested resource could not be found." (tracking id ABC; the contract says this answer is final; 1 attempt)`.
/// A problem-details answer shows its `detail` (or `title`) as the message and its `type`:
/// `… -> 404 Not Found: "No item with id x." (type https://…/problems/not-found; …)`.
/// The alternate form (`{:#}`) leaves out the count of attempts and the time waited, for a
/// program that reports its own timing.
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    /// Why the engine stopped a request that got no complete answer.
    reason: Option<Reason>,
    contract: Option<String>,
    /// The contract's idempotency header, for the advice.
    idempotency_header: Option<String>,
    method: Option<Method>,
    url: Option<Url>,
    status: Option<StatusCode>,
    title: Option<String>,
    vendor_code: Option<String>,
    /// The application code the body carried, as the contract reads it.
    app_code: Option<CodeValue>,
    vendor_message: Option<String>,
    field_errors: Vec<String>,
    tracking_id: Option<String>,
    meaning: Option<String>,
    /// The contract's advice for the answer (its status or application code).
    contract_advice: Option<String>,
    /// The advice, made from everything else when first asked for.
    advice: OnceLock<Option<String>>,
    category: Option<Category>,
    headers: HeaderMap,
    body: Bytes,
    body_json: Option<serde_json::Value>,
    problem: Option<Problem>,
    attempts: Vec<Attempt>,
    source: Option<Source>,
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        f.debug_struct("Error")
            .field("kind", &i.kind)
            .field("reason", &i.reason)
            .field("contract", &i.contract)
            .field("method", &i.method)
            .field("url", &i.url.as_ref().map(Url::as_str))
            .field("status", &i.status)
            .field("vendor_code", &i.vendor_code)
            .field("vendor_message", &i.vendor_message)
            .field("tracking_id", &i.tracking_id)
            .field("attempts", &i.attempts.len())
            .field("source", &i.source)
            .finish_non_exhaustive()
    }
}

/// What was asked and what the contract and the server said.
impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// Why the contract's engine stopped the request: the reason of
    /// [`ErrorKind::Refused`], or for a failure without an answer
    /// ([`ErrorKind::Network`]) why it was not sent again, when the engine decided it.
    pub fn reason(&self) -> Option<&Reason> {
        match &self.inner.kind {
            ErrorKind::Refused(r) => Some(r),
            _ => self.inner.reason.as_ref(),
        }
    }

    /// The id of the contract the middleware obeyed; `None` for an error the middleware
    /// did not make (a converted reqwest error).
    pub fn contract(&self) -> Option<&str> {
        self.inner.contract.as_deref()
    }

    /// The method of the last attempt, when known.
    pub fn method(&self) -> Option<&Method> {
        self.inner.method.as_ref()
    }

    /// The URL of the last attempt, when known.
    pub fn url(&self) -> Option<&Url> {
        self.inner.url.as_ref()
    }

    /// The last HTTP status, if a response came.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The status's reason phrase in the contract.
    pub fn title(&self) -> Option<&str> {
        self.inner.title.as_deref()
    }

    /// The vendor's own error code (e.g. `CMN-102` or `7109`): from the body where the
    /// contract's error-body pointers find it, else a problem's `type`, else an OAuth
    /// token endpoint's `error`.
    pub fn vendor_code(&self) -> Option<&str> {
        self.inner.vendor_code.as_deref()
    }

    /// The application code the body carried, read at the contract's `code` pointer (a
    /// number, or text such as `invalid_auth`), whether or not the contract lists it.
    /// [`Error::vendor_code`] is the same as text, with what else the body says.
    pub fn app_code(&self) -> Option<&CodeValue> {
        self.inner.app_code.as_ref()
    }

    /// The vendor's message, exactly as sent: from the body, a problem's `detail` (or
    /// `title`), a short plain-text body, or an OAuth `error_description`.
    pub fn vendor_message(&self) -> Option<&str> {
        self.inner.vendor_message.as_deref()
    }

    /// Field-level errors from the body.
    pub fn field_errors(&self) -> &[String] {
        &self.inner.field_errors
    }

    /// The vendor's tracking id, from the body or the contract's header.
    pub fn tracking_id(&self) -> Option<&str> {
        self.inner.tracking_id.as_deref()
    }

    /// What the contract says the answer means.
    pub fn meaning(&self) -> Option<&str> {
        self.inner.meaning.as_deref()
    }

    /// What to do now, fitted to why the request stopped: for a final answer the
    /// contract's advice for its status or application code; otherwise advice for the
    /// reason (a POST not repeated is not told to try again, a wait too long says whose
    /// wait it is) or the kind of failure.
    pub fn advice(&self) -> Option<&str> {
        self.inner
            .advice
            .get_or_init(|| crate::advice::advise(self))
            .as_deref()
    }

    /// The contract's category of the answer.
    pub fn category(&self) -> Option<Category> {
        self.inner.category
    }

    /// The last response's headers (empty when no response came).
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// The last response's body, up to the body limit (empty when no response came).
    pub fn body(&self) -> &Bytes {
        &self.inner.body
    }

    /// The body parsed, when it is JSON.
    pub fn body_json(&self) -> Option<&serde_json::Value> {
        self.inner.body_json.as_ref()
    }

    /// The body as problem details (RFC 9457), when it is one: the response said
    /// `application/problem+json`, or the contract says its errors are problems. Its
    /// `detail` (else `title`) is the vendor message and its `type` the vendor code when
    /// the contract's error-body pointers find nothing.
    pub fn problem(&self) -> Option<&Problem> {
        self.inner.problem.as_ref()
    }

    /// The wait demanded before the next attempt, when a wait longer than the request may
    /// still wait is why it stopped: the server's `Retry-After`, the contract's least wait
    /// after that answer, or a wait shared on the credential (which one is in
    /// [`reason`](Self::reason)). `None` when the request stopped for anything else, or
    /// when only the client's own back-off was too long.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.reason() {
            Some(Reason::WaitTooLong { wait, cause, .. }) if *cause != WaitCause::Backoff => {
                Some(*wait)
            }
            _ => None,
        }
    }
}

/// What happened on the way.
impl Error {
    /// Whether no answer came in time: an attempt timed out (connecting or waiting for
    /// the answer).
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Network(Failure::Timeout))
            || self.reqwest_errors().any(|r| r.is_timeout())
    }

    /// Whether no connection could be made (refused, unreachable, a name that does not
    /// resolve, a failed TLS handshake).
    pub fn is_connect(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::Network(Failure::Connect | Failure::Tls)
        ) || self.reqwest_errors().any(|r| r.is_connect())
    }

    /// Every attempt, in order.
    pub fn attempts(&self) -> &[Attempt] {
        &self.inner.attempts
    }

    /// Total time waited: between attempts, and before them for waits shared on the
    /// credential.
    pub fn waited(&self) -> Duration {
        self.inner
            .attempts
            .iter()
            .flat_map(|a| [a.wait, a.shared_wait])
            .flatten()
            .sum()
    }

    fn shared_waited(&self) -> Duration {
        self.inner
            .attempts
            .iter()
            .filter_map(|a| a.shared_wait)
            .sum()
    }

    /// The reqwest errors in the chain of sources.
    fn reqwest_errors(&self) -> impl Iterator<Item = &reqwest::Error> {
        let first: Option<&(dyn StdError + 'static)> = StdError::source(self);
        std::iter::successors(first, |e| (*e).source())
            .filter_map(|e| e.downcast_ref::<reqwest::Error>())
    }
}

/// Making one, inside the crate.
impl Error {
    /// An error of `kind` that knows nothing else yet.
    pub(crate) fn new(kind: ErrorKind) -> Self {
        let mut inner = Inner {
            kind,
            reason: None,
            contract: None,
            idempotency_header: None,
            method: None,
            url: None,
            status: None,
            title: None,
            vendor_code: None,
            app_code: None,
            vendor_message: None,
            field_errors: Vec::new(),
            tracking_id: None,
            meaning: None,
            contract_advice: None,
            advice: OnceLock::new(),
            category: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            body_json: None,
            problem: None,
            attempts: Vec::new(),
            source: None,
        };
        if let ErrorKind::OAuth(o) = &inner.kind {
            if let crate::oauth::OAuthError::Refused {
                error, description, ..
            } = o
            {
                // The endpoint's own words, unless an answer of the API comes to say more.
                inner.vendor_code = Some(error.clone());
                inner.vendor_message = description.clone();
            }
            inner.source = Some(Arc::new(o.clone()));
        }
        if let ErrorKind::Batch(b) = &inner.kind {
            inner.source = Some(Arc::new(b.clone()));
        }
        Error {
            inner: Box::new(inner),
        }
    }

    /// An error of `kind` for a request of `method` to `url` under `contract`.
    pub(crate) fn of_request(
        kind: ErrorKind,
        contract: &Contract,
        method: Method,
        url: Url,
    ) -> Self {
        let mut e = Error::new(kind);
        e.inner.contract = Some(contract.id.clone());
        e.inner.idempotency_header = contract
            .retry
            .idempotency_header
            .as_ref()
            .map(|h| h.as_str().to_owned());
        e.inner.method = Some(method);
        e.inner.url = Some(url);
        e
    }

    /// The error underneath, when there is one (an OAuth kind has its own already).
    pub(crate) fn with_source(mut self, source: impl Into<Option<Source>>) -> Self {
        if let Some(s) = source.into() {
            self.inner.source = Some(s);
        }
        self
    }

    /// Why the engine did not send the request again.
    pub(crate) fn with_reason(mut self, reason: Option<Reason>) -> Self {
        self.inner.reason = reason;
        self
    }

    /// The URL the error is about, when no request was made for it (a batch read).
    pub(crate) fn set_url(&mut self, url: Url) {
        self.inner.url = Some(url);
    }

    /// The attempts made.
    pub(crate) fn with_attempts(mut self, attempts: Vec<Attempt>) -> Self {
        self.inner.attempts = attempts;
        self
    }

    /// The contract's advice for the answer, before the reason is taken into account.
    pub(crate) fn contract_advice(&self) -> Option<&str> {
        self.inner.contract_advice.as_deref()
    }

    /// The contract's idempotency header, as it spells it.
    pub(crate) fn idempotency_header(&self) -> Option<&str> {
        self.inner.idempotency_header.as_deref()
    }

    /// Fills in what the response and the contract say.
    pub(crate) fn with_response(
        mut self,
        contract: &Contract,
        api: Option<&str>,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        app_code: Option<CodeValue>,
    ) -> Self {
        let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        let i = &mut *self.inner;
        i.status = Some(status);
        if let Some(s) = contract.rule(status.as_u16()) {
            let method = i.method.as_ref().unwrap_or(&Method::GET);
            let s = s.for_answer(method, &headers, json.as_ref());
            i.title = s.title.clone();
            i.meaning = Some(s.meaning.clone());
            i.contract_advice = Some(s.rule.clone().unwrap_or_else(|| s.action.advice()));
            i.category = Some(s.category);
        }
        let flagged =
            verdict::decide::flagged_failure(contract, api, status.as_u16(), json.as_ref());
        if flagged {
            // The status says success; the body says otherwise.
            let flag = contract.error_body_for(api).failure.as_ref();
            i.meaning = flag.map(|f| format!("the body says the request failed ({f})"));
            i.contract_advice = Some(verdict::Action::Fail.advice());
            i.category = None;
        }
        if let Some(code) = &app_code {
            let found = contract
                .apis
                .iter()
                .filter(|a| api.is_none_or(|id| a.id == id))
                .find_map(|a| a.code(code).next());
            if let Some(c) = found {
                i.meaning = Some(c.meaning.clone());
                i.contract_advice = Some(c.rule.clone().unwrap_or_else(|| c.action.advice()));
                i.category = Some(c.category);
            }
        }
        i.app_code = app_code;
        if let Some(json) = &json {
            let declared = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(verdict::problem::is_problem_media_type);
            self.read_body(contract.error_body_for(api), json, declared);
        }
        let i = &mut *self.inner;
        if i.tracking_id.is_none() {
            if let Some(h) = &contract.headers.tracking_id {
                i.tracking_id = h
                    .find(&headers)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
            }
        }
        if i.vendor_message.is_none() && json.is_none() && !body.is_empty() && body.len() <= 512 {
            i.vendor_message = std::str::from_utf8(&body)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty());
        }
        i.headers = headers;
        i.body = body;
        i.body_json = json;
        self
    }

    /// Reads the vendor's code, message, tracking id and field errors from a JSON body,
    /// and the problem details when it is one (`declared` by its media type, or by the
    /// contract).
    fn read_body(&mut self, shape: &ErrorBody, json: &serde_json::Value, declared: bool) {
        let i = &mut *self.inner;
        let at = |p: &Option<verdict::JsonPointer>| p.as_ref().and_then(|p| p.find(json));
        i.vendor_message = at(&shape.message).and_then(text);
        i.vendor_code = at(&shape.code).and_then(text);
        i.tracking_id = at(&shape.tracking_id).and_then(text);
        if let Some(fields) = at(&shape.fields) {
            i.field_errors = field_errors(fields);
        }
        if declared || shape.is_problem() {
            i.problem = Problem::from_value(json).ok();
        }
        if let Some(p) = &i.problem {
            if i.vendor_message.is_none() {
                i.vendor_message = p.message().map(str::to_owned);
            }
            if i.vendor_code.is_none() && !p.is_blank() {
                i.vendor_code = Some(p.type_uri.clone());
            }
        }
        // A token endpoint's refusal (RFC 6749 §5.2: `error`, `error_description`), where
        // the contract's own pointers found nothing.
        if let Some(code) = json.get("error").and_then(serde_json::Value::as_str) {
            if i.vendor_message.is_none() {
                i.vendor_message = json
                    .get("error_description")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| i.field_errors.first().cloned());
            }
            i.vendor_code.get_or_insert_with(|| code.to_owned());
        }
    }
}

/// A JSON value as text: a string as it is, null as nothing, anything else as JSON.
fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Field-level errors, one line each, from a list of objects or strings or from an
/// object of field names.
fn field_errors(fields: &serde_json::Value) -> Vec<String> {
    match fields {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                serde_json::Value::Object(o) => ["description", "message", "errorText", "error"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(text))
                    .or_else(|| Some(i.to_string())),
                other => text(other),
            })
            .collect(),
        serde_json::Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k}: {}", text(v).unwrap_or_default()))
            .collect(),
        other => text(other).into_iter().collect(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        let mut head: Vec<String> = Vec::new();
        if let Some(m) = &i.method {
            head.push(m.to_string());
        }
        if let Some(u) = &i.url {
            head.push(u.to_string());
        }
        match (&i.contract, head.is_empty()) {
            (Some(c), false) => write!(f, "{c}: {}", head.join(" "))?,
            (Some(c), true) => write!(f, "{c}: a request")?,
            (None, false) => f.write_str(&head.join(" "))?,
            (None, true) => f.write_str("a request")?,
        }
        if let Some(s) = i.status {
            write!(f, " -> {}", s.as_u16())?;
            if let Some(t) = &i.title {
                write!(f, " {t}")?;
            }
        }
        match (&i.vendor_message, &i.meaning) {
            (Some(m), _) => write!(f, ": {m:?}")?,
            (None, Some(m)) if i.status.is_some() => write!(f, ": {m}")?,
            _ => {}
        }
        let mut notes = self.answer_notes();
        notes.push(self.kind_note());
        if !f.alternate() {
            notes.extend(self.attempts_note());
        }
        write!(f, " ({})", notes.join("; "))
    }
}

impl Error {
    /// The vendor code, problem type and title, and tracking id, for `Display`.
    fn answer_notes(&self) -> Vec<String> {
        let i = &*self.inner;
        let mut notes = Vec::new();
        let problem_type = i
            .problem
            .as_ref()
            .filter(|p| !p.is_blank())
            .map(|p| p.type_uri.as_str());
        match &i.vendor_code {
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
        if let Some(t) = i.problem.as_ref().and_then(|p| p.title.as_ref()) {
            if Some(t) != i.title.as_ref() && Some(t) != i.vendor_message.as_ref() {
                notes.push(format!("title {t:?}"));
            }
        }
        if let Some(t) = &i.tracking_id {
            notes.push(format!("tracking id {t}"));
        }
        notes
    }

    /// What went wrong, for `Display`.
    fn kind_note(&self) -> String {
        let source = || {
            self.inner
                .source
                .as_deref()
                .map(|s| format!(": {}", crate::wire::error_chain(s)))
                .unwrap_or_default()
        };
        let because = || {
            self.inner
                .reason
                .as_ref()
                .map(|r| format!("; {r}"))
                .unwrap_or_default()
        };
        match &self.inner.kind {
            ErrorKind::Refused(r) => r.to_string(),
            ErrorKind::BudgetExhausted => {
                "retry budget spent; not retrying to avoid adding load".into()
            }
            ErrorKind::Network(Failure::BodyCut) => {
                format!("the body stopped short{}{}", source(), because())
            }
            ErrorKind::Network(failure) => {
                format!("network failure: {failure}{}{}", source(), because())
            }
            ErrorKind::BodyTooLarge { limit } => {
                format!("the body is larger than the {limit}-byte limit")
            }
            ErrorKind::Batch(e) => format!("batch: {e}"),
            ErrorKind::NotReplayable => {
                "the request body is a stream and cannot be sent again".into()
            }
            ErrorKind::RedirectedByClient { to } => format!(
                "the reqwest client followed a redirect to {to} itself; build it with \
                 verdict_client::http_client() or .redirect(reqwest::redirect::Policy::none()) \
                 so the contract's redirect rules apply"
            ),
            ErrorKind::Refresh => format!("credential refresh failed{}", source()),
            ErrorKind::CircuitOpen { retry_in, .. } => format!(
                "not sent: the circuit breaker of this host is open after repeated failures; \
                 it lets a request through again in {}",
                Seconds::up(*retry_in)
            ),
            ErrorKind::OAuth(e) => e.to_string(),
            ErrorKind::RefreshTimeout(d) => format!(
                "the credential renewal did not end within the {} the request could still wait",
                Seconds::down(*d)
            ),
            ErrorKind::InvalidRequest => format!("the request could not be built{}", source()),
            ErrorKind::Middleware => format!("another middleware failed{}", source()),
        }
    }

    /// `3 attempts, waited 4 s`, for `Display`; nothing for a request that was held back
    /// at once (its kind says so).
    fn attempts_note(&self) -> Option<String> {
        let sent = self.inner.attempts.iter().filter(|a| a.sent).count();
        let waited = self.waited();
        let mut note = match sent {
            0 if !self.inner.attempts.is_empty() && waited.is_zero() => return None,
            0 if !self.inner.attempts.is_empty() => "nothing sent".to_owned(),
            1 => "1 attempt".to_owned(),
            n => format!("{n} attempts"),
        };
        if !waited.is_zero() {
            note.push_str(&format!(", waited {}", Seconds::up(waited)));
            let shared = self.shared_waited();
            if shared == waited {
                note.push_str(" for a wait shared on this credential");
            } else if !shared.is_zero() {
                note.push_str(&format!(
                    ", {} of it for a wait shared on this credential",
                    Seconds::up(shared)
                ));
            }
        }
        Some(note)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

impl From<reqwest_middleware::Error> for Error {
    /// The middleware's error as it is; any other middleware's error as
    /// [`ErrorKind::Middleware`]; a reqwest error as below.
    fn from(e: reqwest_middleware::Error) -> Self {
        match e {
            reqwest_middleware::Error::Middleware(m) => match m.downcast::<Error>() {
                Ok(v) => v,
                Err(other) => {
                    let boxed: Box<dyn StdError + Send + Sync> = other.into();
                    Error::new(ErrorKind::Middleware).with_source(Arc::from(boxed))
                }
            },
            reqwest_middleware::Error::Reqwest(r) => Error::from(r),
        }
    }
}

impl From<reqwest::Error> for Error {
    /// A request reqwest could not build as [`ErrorKind::InvalidRequest`]; any other
    /// failure as [`ErrorKind::Network`] with its kind (could not connect, TLS, timed
    /// out, broke off, body cut short). The reqwest error is the source.
    fn from(r: reqwest::Error) -> Self {
        let kind = if r.is_builder() {
            ErrorKind::InvalidRequest
        } else {
            ErrorKind::Network(crate::wire::failure_of(&r))
        };
        let mut e = Error::new(kind);
        e.inner.url = r.url().cloned();
        e.inner.status = r.status();
        e.with_source(Arc::new(r) as Source)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for reqwest_middleware::Error {}
}

/// The verdict [`Error`] inside a `reqwest_middleware::Error`, without a downcast.
///
/// ```no_run
/// use verdict_client::VerdictErrorExt;
/// # async fn run(client: reqwest_middleware::ClientWithMiddleware) {
/// if let Err(e) = client.get("https://webexapis.com/v1/rooms").send().await {
///     match e.verdict_error() {
///         Some(v) => eprintln!("{v}; advice: {}", v.advice().unwrap_or("-")),
///         None => eprintln!("{e}"),
///     }
/// }
/// # }
/// ```
pub trait VerdictErrorExt: sealed::Sealed {
    /// The verdict error, when the middleware made this one.
    fn verdict_error(&self) -> Option<&Error>;
}

impl VerdictErrorExt for reqwest_middleware::Error {
    fn verdict_error(&self) -> Option<&Error> {
        match self {
            reqwest_middleware::Error::Middleware(e) => e.downcast_ref::<Error>(),
            reqwest_middleware::Error::Reqwest(_) => None,
        }
    }
}
