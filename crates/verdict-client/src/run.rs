//! One request on its way through attempts. [`Run::execute`] sends, asks the engine what
//! the answer (or the failure) means, and hands each [`Decision`] to one small method that
//! carries it out; no rule is decided here.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::Either;
use http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode};
use reqwest::{Request, Response};
use reqwest_middleware::Next;
use url::Url;
use verdict::breaker::{Admission, Outcome};
use verdict::decide::{
    Decision, DecisionKind, Failure, History, Limits, Reason, RequestFacts, ResponseFacts, Seconds,
    WaitCause, decide, decide_failure,
};
use verdict::headers::RetryAfterError;
use verdict::{CodeValue, Contract};

use crate::breaker::Breakers;
use crate::cache::Revalidated;
use crate::error::{Attempt, Attempts, Error, ErrorKind, Source};
use crate::middleware::{Slot, Verdict};
use crate::run_auth::renewal_error;
use crate::store::StoreError;
use crate::timer::{Wait, WaitReason};
use crate::wire::{
    Head, app_code, classify, declared_length, fingerprint, is_json, later, origin_fingerprint,
    read_limited, sample, strip_credentials, without_body,
};

/// A boxed future, as the rare paths return.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// After an attempt: send the next request, or the request has ended well.
pub(crate) enum Step {
    Again,
    Finish(Response),
}

type StepResult = Result<Step, Error>;

/// What an attempt was sent with, needed again once its answer is in.
pub(crate) struct Sent {
    number: u32,
    method: Method,
    url: Url,
    /// The store key of the origin and credential.
    key: Arc<str>,
    /// The credential's generation, when the middleware set it.
    generation: Option<u64>,
    credential: Option<HeaderValue>,
    /// Made only when the cache may hold or take this response.
    cache_key: Option<String>,
    conditional: bool,
    /// The circuit breaker's leave to send, until the attempt's outcome is reported.
    ticket: Option<Ticket>,
}

/// An attempt the circuit breaker let through: its host's breaker and whether it is the
/// half-open breaker's trial. Taken from [`Sent`] when the outcome is reported, so that
/// an attempt is reported once.
pub(crate) struct Ticket {
    key: Arc<str>,
    trial: bool,
}

/// The state of one request as it goes through attempts.
pub(crate) struct Run<'a> {
    pub(crate) v: &'a Verdict,
    pub(crate) api: Option<String>,
    pub(crate) poll: bool,
    pub(crate) limits: Limits,
    pub(crate) history: History,
    pub(crate) attempts: Vec<Attempt>,
    /// Credentials were removed by a redirect to another origin: do not add them back.
    pub(crate) stripped: bool,
    /// A request made by a credential renewal: no credential is set or renewed for it.
    pub(crate) token_request: bool,
    pub(crate) idempotency_key: bool,
    pub(crate) original: Url,
    /// The request to send next; `None` once a body that cannot be copied was sent.
    pub(crate) template: Option<Request>,
    /// A wait shared on the credential, waited out before the attempt about to be
    /// recorded.
    pub(crate) shared_wait: Option<Duration>,
}

// The rare and the waiting paths return boxed futures: an `async fn` awaited in `execute`
// adds its whole state to `execute`'s future, which every request allocates, so only what
// the usual request needs is kept inline.
impl Run<'_> {
    fn contract(&self) -> &Contract {
        &self.v.contract
    }

    /// Carries out the contract's decisions for one request. A plain `fn` returning an
    /// `async move` block rather than an `async fn`: an `async fn` keeps a second copy of
    /// every argument in its future, and this future is allocated for every request. The
    /// run is boxed apart, and each attempt's request lives in a block of its own, so
    /// that both allocations stay small enough for the allocator's per-thread caches.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn execute<'f>(
        mut self: Box<Self>,
        ext: &'f mut Extensions,
        next: Next<'f>,
    ) -> impl std::future::Future<Output = Result<Response, Error>> + Send + 'f
    where
        Self: 'f,
    {
        async move {
            self.follow_remembered_move().await;
            loop {
                let (outcome, mut sent) = {
                    let (request, sent) = self.prepare().await?;
                    if let Some(o) = &self.v.observer {
                        o.sending(sent.number, &request);
                    }
                    (next.clone().run(request, ext).await, sent)
                };
                let step = self.attempted(outcome, &mut sent);
                if let Step::Finish(response) = step.await? {
                    return Ok(response);
                }
            }
        }
    }

    /// The work after an attempt: an answer's or a failure's. The outcome is moved in
    /// whole, so that it takes no room of its own in `execute`'s future beside this one.
    fn attempted<'s>(
        &'s mut self,
        outcome: reqwest_middleware::Result<Response>,
        sent: &'s mut Sent,
    ) -> impl std::future::Future<Output = StepResult> + Send + 's {
        match outcome {
            Ok(response) => Either::Left(self.answered(response, sent)),
            Err(e) => Either::Right(self.failed(e, sent)),
        }
    }

    /// Sends to where the original URL moved for good, if the store remembers a move.
    async fn follow_remembered_move(&mut self) {
        let Some(to) = self.moved_to().await else {
            return;
        };
        let (Ok(to), Some(r)) = (Url::parse(&to), self.template.as_mut()) else {
            return;
        };
        if to.origin() != r.url().origin() {
            strip_credentials(&self.v.contract, r.headers_mut());
            self.stripped = true;
        }
        tracing::debug!(from = %self.original, %to, "following a remembered permanent redirect");
        *r.url_mut() = to;
    }

    /// The next request to send, with credentials and validators, after any wait that
    /// holds for its credential.
    async fn prepare(&mut self) -> Result<(Request, Sent), Error> {
        let Some(template) = self.template.as_ref() else {
            return Err(self.fail(ErrorKind::NotReplayable, Method::GET, self.original.clone()));
        };
        let mut sending = match crate::wire::copy(template) {
            Some(r) => r,
            None => self.template.take().expect("checked above"),
        };
        let (credential, generation) = self.credential(&mut sending).await?;
        let key = self.credential_key(&sending, credential.as_ref());
        self.wait_for_block(&key, &sending).await?;
        let ticket = match self.v.breaker.as_deref() {
            None => None,
            Some(b) => Some(self.admit(b, sending.method(), sending.url()).await?),
        };
        let (method, url) = (sending.method().clone(), sending.url().clone());
        let cache = self.v.cache.as_ref().filter(|_| method == Method::GET);
        let cache_key = cache
            .filter(|c| !c.is_empty())
            .map(|_| format!("{key} {url}"));
        let conditional = match (cache, &cache_key) {
            (Some(cache), Some(k)) => cache.add_validators(k, sending.headers_mut()),
            _ => false,
        };
        let sent = Sent {
            number: self.attempts.len() as u32 + 1,
            method,
            url,
            key,
            generation,
            credential,
            cache_key,
            conditional,
            ticket,
        };
        Ok((sending, sent))
    }

    /// Waits out a back-off or used-up quota this credential is under, learned earlier or
    /// from another process; fails at once when it is longer than this request may wait.
    async fn wait_for_block(&mut self, key: &str, sending: &Request) -> Result<(), Error> {
        let Some(until) = self.blocked_until(key).await else {
            return Ok(());
        };
        let (method, url) = (sending.method(), sending.url());
        let Ok(wait) = until.duration_since(self.v.timer.now()) else {
            return Ok(());
        };
        if wait.is_zero() {
            return Ok(());
        }
        let left = self.limits.max_wait.saturating_sub(self.history.waited);
        if wait > left {
            let reason = Reason::WaitTooLong {
                wait,
                limit: left,
                cause: WaitCause::Shared,
            };
            let mut held = Attempt::new(
                method.clone(),
                url.clone(),
                DecisionKind::Fail,
                format!("not sent: {reason}"),
            );
            held.sent = false;
            self.push_attempt(held);
            return Err(self.fail(ErrorKind::Refused(reason), method.clone(), url.clone()));
        }
        self.sleep(wait, WaitReason::Blocked, url).await;
        self.shared_wait = Some(self.shared_wait.unwrap_or_default() + wait);
        Ok(())
    }

    /// An answer came: note its quota, look for an application code, ask the engine and
    /// carry out its decision.
    ///
    /// Written as an `async move` block, with one binding of the response reassigned
    /// rather than shadowed: each binding of a value held across an `.await` takes its
    /// own room in the future, and this one is part of every request's.
    #[allow(clippy::manual_async_fn)]
    fn answered<'s>(
        &'s mut self,
        mut response: Response,
        sent: &'s mut Sent,
    ) -> impl std::future::Future<Output = StepResult> + Send + 's {
        async move {
            if let Some(e) = self.arrived(&response, sent) {
                return Err(e);
            }
            let now = self.v.timer.now();
            self.note_quota(&response, &sent.key, now).await;
            let (mut code, mut json) = (None, None);
            if self.worth_inspecting(&response) {
                match Box::pin(self.inspect(response, sent)).await {
                    Inspected::Read(read, c, j) => (response, code, json) = (read, c, j),
                    Inspected::Ended(step) => return step,
                }
            }
            // In a block of its own: a value borrowed in an `async` block keeps its room
            // in the future to the end of its scope.
            let (decision, judged) = {
                let decision = self.decide_on(&response, code.clone(), json.as_deref(), sent, now);
                let status = response.status().as_u16();
                let judged = sent
                    .ticket
                    .take()
                    .map(|t| (t, host_outcome(status, Some(&decision))));
                (decision, judged)
            };
            drop(json);
            if let Some((ticket, outcome)) = judged {
                self.judge(ticket, outcome).await;
            }
            let answer = Answer {
                response,
                code,
                now,
            };
            self.carry_out(decision, answer, sent).await
        }
    }

    /// Carries out the engine's decision about an answer. The decision is moved in whole,
    /// so that it takes no room of its own in `answered`'s future while the work is
    /// awaited. Only `done`, the usual end of a request, is not boxed.
    fn carry_out<'s>(
        &'s mut self,
        decision: Decision,
        answer: Answer,
        sent: &'s mut Sent,
    ) -> Either<impl std::future::Future<Output = StepResult> + Send + 's, BoxFuture<'s, StepResult>>
    {
        Either::Right(match decision {
            Decision::Done | Decision::SplitBatch => {
                let kind = decision.kind();
                let Answer { response, now, .. } = answer;
                return Either::Left(self.done(kind, response, now, sent));
            }
            Decision::UseCached => {
                let step = self.use_cached(answer.response, sent);
                Box::pin(std::future::ready(Ok(step)))
            }
            Decision::Retry {
                after,
                cause,
                ignored_header,
            } => {
                let repeat = Repeat {
                    after,
                    cause,
                    ignored: ignored_header,
                };
                self.retry(repeat, answer, sent)
            }
            Decision::Redirect {
                method,
                url,
                keep_body,
                strip_credentials,
                permanent,
            } => {
                let hop = Hop {
                    method,
                    url,
                    keep_body,
                    strip: strip_credentials,
                    permanent,
                };
                self.redirect(hop, answer.response, sent, answer.code)
            }
            Decision::RefreshAuth => self.refresh(answer.response, sent, answer.code),
            Decision::Poll { url, after } => self.poll(url, after, answer.response, sent),
            Decision::Fail(reason) => self.refuse(reason, answer, sent),
        })
    }

    /// What the engine decides about an answer.
    fn decide_on(
        &self,
        response: &Response,
        code: Option<CodeValue>,
        body: Option<&serde_json::Value>,
        sent: &Sent,
        now: SystemTime,
    ) -> Decision {
        let resp_facts = ResponseFacts {
            status: response.status().as_u16(),
            headers: response.headers(),
            app_code: code,
            body,
        };
        decide(
            self.contract(),
            &self.facts(&sent.method, &sent.url),
            &resp_facts,
            &self.history,
            &self.limits,
            now,
            sample(),
        )
    }

    fn facts<'r>(&'r self, method: &'r Method, url: &'r Url) -> RequestFacts<'r> {
        RequestFacts {
            method,
            url,
            idempotency_key: self.idempotency_key,
            api: self.api.as_deref(),
            poll: self.poll,
        }
    }

    /// Shows the answer's head to the observer, and fails loudly when the reqwest client
    /// followed a redirect on its own: the contract's rules for it (method, body,
    /// credentials across origins) were skipped.
    fn arrived(&mut self, response: &Response, sent: &Sent) -> Option<Error> {
        if let Some(o) = &self.v.observer {
            o.received(sent.number, response);
        }
        if response.url() == &sent.url {
            return None;
        }
        let to = response.url().clone();
        tracing::error!(from = %sent.url, %to, "the HTTP client under the middleware follows redirects itself");
        let note = format!("the HTTP client followed a redirect to {to} itself");
        self.record(
            sent,
            Some(response.status()),
            DecisionKind::Fail,
            note,
            None,
        );
        Some(self.fail(
            ErrorKind::RedirectedByClient { to },
            sent.method.clone(),
            sent.url.clone(),
        ))
    }

    /// A used-up quota makes every later request on the credential wait for its window,
    /// here and in other processes.
    async fn note_quota(&self, response: &Response, key: &str, now: SystemTime) {
        // Only a used-up quota changes what later requests do; most answers say there is
        // some left (or say nothing), and `pause` reads no further then. It reads the
        // contract's quota headers, else the IETF draft's and the common ones.
        let until = {
            let pause = verdict::headers::pause(self.contract(), response.headers(), now);
            let Some((q, reset)) = pause else {
                return;
            };
            tracing::info!(
                reset_s = reset.as_secs(),
                fields = %q.source,
                "quota used up; later requests wait for the window"
            );
            later(now, reset)
        };
        warn_store(self.v.store.block_until(key, until).await);
    }

    /// Whether the body may hold an application code: JSON, within the limit, for a
    /// contract that has application codes, a status variant that reads the body, or a
    /// failure flag (`[error_body] failure`) a 2xx body may carry.
    fn worth_inspecting(&self, response: &Response) -> bool {
        let c = self.contract();
        let variants_read_it = || {
            c.rule(response.status().as_u16())
                .is_some_and(|s| s.reads_body())
        };
        (!c.apis.is_empty() || self.may_flag_failure(response.status()) || variants_read_it())
            && is_json(response.headers())
            && declared_length(response.headers()).is_none_or(|n| n <= self.v.body_limit)
    }

    /// Whether an answer of `status` may say failure in its body: a 2xx, where the
    /// contract (or the request's API) declares a failure flag.
    fn may_flag_failure(&self, status: StatusCode) -> bool {
        status.is_success()
            && self
                .contract()
                .error_body_for(self.api.as_deref())
                .failure
                .is_some()
    }

    /// Reads a JSON body that may hold an application code; a body over the limit fails
    /// the request, and one cut short goes to the engine as a failure.
    async fn inspect(&mut self, response: Response, sent: &mut Sent) -> Inspected {
        let v = self.v;
        let contract = &*v.contract;
        let limit = v.body_limit;
        let head = Head::of(&response);
        match read_limited(response, limit).await {
            Ok(Ok(body)) => {
                let code = app_code(contract, self.api.as_deref(), &body);
                // Parsed again only for a status whose variants look into the body, or a
                // success whose body may say failure.
                let wanted = self.may_flag_failure(head.status)
                    || contract
                        .rule(head.status.as_u16())
                        .is_some_and(|s| s.reads_body());
                let json = wanted
                    .then(|| serde_json::from_slice(&body).ok())
                    .flatten()
                    .map(Box::new);
                Inspected::Read(head.into_response(body), code, json)
            }
            Ok(Err(prefix)) => {
                let status = head.status;
                if let Some(t) = sent.ticket.take() {
                    self.judge(t, host_outcome(status.as_u16(), None)).await;
                }
                self.record(
                    sent,
                    Some(status),
                    DecisionKind::Fail,
                    "body too large",
                    None,
                );
                let kind = ErrorKind::BodyTooLarge { limit };
                let e = self.fail(kind, sent.method.clone(), sent.url.clone());
                let api = self.api.as_deref();
                let e = e.with_response(contract, api, status, head.headers, prefix, None);
                Inspected::Ended(Err(e))
            }
            Err(e) => {
                let e = Arc::new(e);
                Inspected::Ended(self.after_failure(Failure::BodyCut, e, sent).await)
            }
        }
    }

    /// The request is done: store the answer for later revalidation where it may be.
    #[allow(clippy::manual_async_fn)]
    fn done<'s>(
        &'s mut self,
        kind: DecisionKind,
        mut response: Response,
        now: SystemTime,
        sent: &'s mut Sent,
    ) -> impl std::future::Future<Output = StepResult> + Send + 's {
        async move {
            let status = response.status();
            let cache = self.v.cache.as_ref();
            if cache.is_some_and(|c| {
                sent.method == Method::GET && c.storable(status, response.headers())
            }) {
                match Box::pin(self.store_in_cache(response, sent)).await {
                    Ok(r) => response = r,
                    Err(e) => {
                        return self.after_failure(Failure::BodyCut, e, sent).await;
                    }
                }
            }
            if kind == DecisionKind::SplitBatch && self.v.split_batches {
                response = Box::pin(self.split_batch(response, sent)).await?;
            }
            self.record(sent, Some(status), kind, "done", None);
            if status.as_u16() < 400 {
                self.deposit(now).await;
            }
            response
                .extensions_mut()
                .insert(Attempts(std::mem::take(&mut self.attempts)));
            Ok(Step::Finish(response))
        }
    }

    /// Where the contract halves a page size after `status`, the next attempt asks for the
    /// smaller page; the new query, when it does.
    fn shrink_page(&mut self, status: u16, url: &Url) -> Option<String> {
        let smaller = verdict::decide::smaller_page(self.contract(), status, url)?;
        let template = self.template.as_mut()?;
        let query = smaller.query().unwrap_or_default().to_owned();
        *template.url_mut() = smaller;
        Some(query)
    }

    /// Reads a batch and attaches its parts, each read by the contract as a single answer
    /// to this request would be.
    async fn split_batch(&mut self, response: Response, sent: &Sent) -> Result<Response, Error> {
        let head = Head::of(&response);
        let limit = self.v.body_limit;
        let failed = match read_limited(response, limit).await {
            Ok(Ok(body)) => {
                let v = self.v;
                let api = self.api.as_deref();
                let (method, url) = (&sent.method, &sent.url);
                let answer =
                    |status, headers, body: bytes::Bytes| {
                        let code = app_code(&v.contract, api, &body);
                        let kind = ErrorKind::Refused(Reason::Final);
                        Error::of_request(kind, &v.contract, method.clone(), url.clone())
                            .with_response(&v.contract, api, status, headers, body, code)
                    };
                let content_type = head
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                match crate::batch::split(content_type, &body, Default::default(), answer) {
                    Ok(parts) => {
                        let mut r = head.into_response(body);
                        r.extensions_mut().insert(parts);
                        return Ok(r);
                    }
                    Err(e) => (ErrorKind::Batch(e), None),
                }
            }
            Ok(Err(_)) => (ErrorKind::BodyTooLarge { limit }, None),
            Err(e) => {
                let kind = ErrorKind::Network(crate::wire::failure_of(&e));
                (kind, Some(Arc::new(e) as Source))
            }
        };
        let (kind, source) = failed;
        let note = match &kind {
            ErrorKind::Batch(e) => format!("batch not split: {e}"),
            ErrorKind::BodyTooLarge { limit } => {
                format!("batch not read: larger than the {limit}-byte limit")
            }
            _ => format!(
                "batch not read: {}",
                source
                    .as_deref()
                    .map(|e| crate::wire::error_chain(e))
                    .unwrap_or_default()
            ),
        };
        self.record(sent, Some(head.status), DecisionKind::Fail, note, None);
        let e = self.fail(kind, sent.method.clone(), sent.url.clone());
        Err(match source {
            Some(s) => e.with_source(s),
            None => e,
        })
    }

    /// Reads the body and keeps it with its validators; `Err` when the body stopped short.
    async fn store_in_cache(&self, response: Response, sent: &Sent) -> Result<Response, Source> {
        let Some(cache) = &self.v.cache else {
            return Ok(response);
        };
        let key = sent
            .cache_key
            .clone()
            .unwrap_or_else(|| format!("{} {}", sent.key, sent.url));
        let head = Head::of(&response);
        match read_limited(response, cache.max_body).await {
            Ok(Ok(body)) => {
                let sent_headers = self.sent_headers(sent);
                cache.store(
                    &key,
                    &sent_headers,
                    head.status,
                    head.headers.clone(),
                    body.clone(),
                );
                Ok(head.into_response(body))
            }
            Ok(Err(_)) => {
                cache.remove(&key);
                let longer = std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the body was longer than its Content-Length",
                );
                Err(Arc::new(longer))
            }
            Err(e) => {
                cache.remove(&key);
                Err(Arc::new(e))
            }
        }
    }

    /// What was sent, for matching `Vary` when the response is stored: the template plus
    /// the credential the middleware set.
    fn sent_headers(&self, sent: &Sent) -> HeaderMap {
        let mut h = self
            .template
            .as_ref()
            .map(|r| r.headers().clone())
            .unwrap_or_default();
        if let (Some(c), Some(value)) = (&self.v.credentials, &sent.credential) {
            h.insert(c.header().clone(), value.clone());
        }
        h
    }

    /// A 304: answer from the stored copy when there is one.
    fn use_cached(&mut self, response: Response, sent: &Sent) -> Step {
        let status = response.status();
        let stored = match (&self.v.cache, &sent.cache_key, sent.conditional) {
            (Some(cache), Some(k), true) => cache.freshen(k, response.headers()),
            _ => None,
        };
        let mut out = match stored {
            Some(s) => {
                let note = "not modified: answered from the stored copy";
                self.record(sent, Some(status), DecisionKind::UseCached, note, None);
                let head = Head {
                    status: s.status,
                    version: response.version(),
                    headers: s.headers,
                    url: sent.url.clone(),
                };
                let mut r = head.into_response(s.body);
                r.extensions_mut().insert(Revalidated);
                r
            }
            None => {
                self.record(
                    sent,
                    Some(status),
                    DecisionKind::UseCached,
                    "not modified",
                    None,
                );
                response
            }
        };
        out.extensions_mut()
            .insert(Attempts(std::mem::take(&mut self.attempts)));
        Step::Finish(out)
    }

    /// Repeats the request after `after`, when its body can be sent again and the host's
    /// retry budget allows.
    fn retry<'s>(
        &'s mut self,
        Repeat {
            after,
            cause,
            ignored,
        }: Repeat,
        answer: Answer,
        sent: &'s Sent,
    ) -> BoxFuture<'s, StepResult> {
        Box::pin(async move {
            let note = match &ignored {
                Some(e) => {
                    tracing::warn!(error = %e, "ignoring an unusable Retry-After; backing off instead");
                    format!("retry in {} ({cause}; {e})", Seconds::up(after))
                }
                None => format!("retry in {} ({cause})", Seconds::up(after)),
            };
            if self.template.is_none() {
                let note = "cannot repeat a streamed body";
                return Err(self
                    .give_up(ErrorKind::NotReplayable, note, answer, sent)
                    .await);
            }
            if !self.spend_budget(answer.now).await {
                let note = "retry budget spent";
                return Err(self
                    .give_up(ErrorKind::BudgetExhausted, note, answer, sent)
                    .await);
            }
            if cause != WaitCause::Backoff {
                // Every request on this credential waits, here and in other processes.
                let until = later(answer.now, after);
                warn_store(self.v.store.block_until(&sent.key, until).await);
            }
            let status = answer.response.status();
            let note = match self.shrink_page(status.as_u16(), &sent.url) {
                Some(smaller) => format!("{note}; asking for a smaller page: {smaller}"),
                None => note,
            };
            self.record(sent, Some(status), DecisionKind::Retry, note, Some(after));
            drop(answer);
            let reason = WaitReason::Retry {
                status: status.as_u16(),
                cause,
            };
            self.sleep(after, reason, &sent.url).await;
            self.history.retries += 1;
            Ok(Step::Again)
        })
    }

    /// Follows a redirect with the method and body the engine chose.
    fn redirect<'s>(
        &'s mut self,
        hop: Hop,
        response: Response,
        sent: &'s Sent,
        code: Option<CodeValue>,
    ) -> BoxFuture<'s, StepResult> {
        Box::pin(async move {
            let next = match &self.template {
                Some(t) if hop.keep_body => t.try_clone().map(|mut r| {
                    *r.method_mut() = hop.method.clone();
                    *r.url_mut() = hop.url.clone();
                    r
                }),
                Some(t) => Some(without_body(t, hop.method.clone(), hop.url.clone())),
                None => None,
            };
            let Some(mut next) = next else {
                let note = "cannot follow the redirect with a streamed body";
                let answer = Answer {
                    response,
                    code,
                    now: self.v.timer.now(),
                };
                return Err(self
                    .give_up(ErrorKind::NotReplayable, note, answer, sent)
                    .await);
            };
            if hop.strip {
                strip_credentials(&self.v.contract, next.headers_mut());
                self.stripped = true;
            }
            if hop.permanent {
                let (from, to) = (self.original.as_str(), hop.url.as_str());
                warn_store(self.v.store.set_moved(from, to).await);
            }
            let other = if hop.strip {
                " (credentials removed: other origin)"
            } else {
                ""
            };
            let note = format!("redirect: {} {}{other}", hop.method, hop.url);
            self.record(
                sent,
                Some(response.status()),
                DecisionKind::Redirect,
                note,
                None,
            );
            self.history.hops.push(hop.url);
            self.template = Some(next);
            Ok(Step::Again)
        })
    }

    /// Gets fresh credentials once and sends again.
    fn refresh<'s>(
        &'s mut self,
        response: Response,
        sent: &'s Sent,
        code: Option<CodeValue>,
    ) -> BoxFuture<'s, StepResult> {
        Box::pin(async move {
            let (Some(c), false, Some(seen)) =
                (&self.v.credentials, self.stripped, sent.generation)
            else {
                let note = self.no_renewal_note();
                let kind = ErrorKind::Refused(Reason::Final);
                let answer = Answer {
                    response,
                    code,
                    now: self.v.timer.now(),
                };
                return Err(self.give_up(kind, note, answer, sent).await);
            };
            let note = "refresh credentials and replay";
            self.record(
                sent,
                Some(response.status()),
                DecisionKind::RefreshAuth,
                note,
                None,
            );
            if let Err(e) = c
                .refresh(seen, &*self.v.timer, &*self.v.store, self.left_to_wait())
                .await
            {
                let (kind, source) = renewal_error(e);
                let e = self
                    .error_with(kind, sent.method.clone(), response, code)
                    .await;
                return Err(e.with_source(source));
            }
            self.history.refreshed = true;
            Ok(Step::Again)
        })
    }

    /// Asks the status resource again after `after`.
    fn poll<'s>(
        &'s mut self,
        to: Url,
        after: Duration,
        response: Response,
        sent: &'s Sent,
    ) -> BoxFuture<'s, StepResult> {
        Box::pin(async move {
            // The poll copies the request's headers; a streamed body took the request.
            let Some(template) = self.template.as_ref() else {
                let note = "cannot poll: the streamed body took the request";
                let answer = Answer {
                    response,
                    code: None,
                    now: self.v.timer.now(),
                };
                return Err(self
                    .give_up(ErrorKind::NotReplayable, note, answer, sent)
                    .await);
            };
            let next = without_body(template, Method::GET, to.clone());
            let note = format!("accepted: poll {to} in {}", Seconds::up(after));
            self.record(
                sent,
                Some(response.status()),
                DecisionKind::Poll,
                note,
                Some(after),
            );
            drop(response);
            self.sleep(after, WaitReason::Poll, &to).await;
            self.history.polls += 1;
            self.template = Some(next);
            Ok(Step::Again)
        })
    }

    /// The engine stops the request.
    fn refuse<'s>(
        &'s mut self,
        reason: Reason,
        answer: Answer,
        sent: &'s Sent,
    ) -> BoxFuture<'s, StepResult> {
        Box::pin(async move {
            if let Reason::WaitTooLong { wait, cause, .. } = &reason {
                if cause.named_by_server() || *cause == WaitCause::Floor {
                    // This request gives up, but the demand holds for every request on
                    // the credential, as it would have had the request waited.
                    let until = later(answer.now, *wait);
                    warn_store(self.v.store.block_until(&sent.key, until).await);
                }
            }
            let note = format!("fail: {reason}");
            Err(self
                .give_up(ErrorKind::Refused(reason), note, answer, sent)
                .await)
        })
    }

    /// No answer came: ask the engine whether to send again.
    fn failed<'s>(
        &'s mut self,
        e: reqwest_middleware::Error,
        sent: &'s mut Sent,
    ) -> BoxFuture<'s, StepResult> {
        let (failure, source) = classify(e);
        self.after_failure(failure, source, sent)
    }

    /// Carries out the engine's decision after a failure without a usable answer.
    fn after_failure<'s>(
        &'s mut self,
        failure: Failure,
        source: Source,
        sent: &'s mut Sent,
    ) -> BoxFuture<'s, StepResult> {
        Box::pin(async move {
            if let Some(t) = sent.ticket.take() {
                self.judge(t, Outcome::Failure).await;
            }
            let decision = decide_failure(
                self.contract(),
                &self.facts(&sent.method, &sent.url),
                failure,
                &self.history,
                &self.limits,
                sample(),
            );
            let text = crate::wire::error_chain(&*source);
            let (why, reason) = match decision {
                Decision::Retry { .. } if self.template.is_none() => (
                    "the body is a stream and cannot be sent again".to_owned(),
                    None,
                ),
                Decision::Retry { after, .. } => {
                    let now = self.v.timer.now();
                    if self.spend_budget(now).await {
                        let note = format!("retry after {failure}: {text}");
                        self.record(sent, None, DecisionKind::Retry, note, Some(after));
                        self.sleep(after, WaitReason::Network, &sent.url).await;
                        self.history.retries += 1;
                        return Ok(Step::Again);
                    }
                    ("retry budget spent".to_owned(), None)
                }
                Decision::Fail(reason) => (reason.to_string(), Some(reason)),
                other => unreachable!("decide_failure answers retry or fail, not {other:?}"),
            };
            let note = format!("{failure}: {text}; {why}");
            self.record(sent, None, DecisionKind::Fail, note, None);
            let e = self.fail(
                ErrorKind::Network(failure),
                sent.method.clone(),
                sent.url.clone(),
            );
            Err(e.with_source(source).with_reason(reason))
        })
    }

    /// Takes one repeat from the host's retry budget; a store that cannot answer allows it.
    async fn spend_budget(&self, now: SystemTime) -> bool {
        let key = self.budget_key();
        warn_store(self.v.store.try_spend(&key, now).await).unwrap_or(true)
    }

    /// The store key of the request's origin and credential (reused while they stay the
    /// same, as they do across retries).
    fn credential_key(&self, req: &Request, creds: Option<&HeaderValue>) -> Arc<str> {
        let mut h = origin_fingerprint(req.url());
        let secret = creds.or_else(|| {
            self.contract()
                .auth
                .credential_headers
                .iter()
                .find_map(|c| req.headers().get(c.name()))
        });
        if let Some(s) = secret {
            h ^= fingerprint(s.as_bytes()).rotate_left(1);
        }
        self.v.keys.get(Slot::Credential, h, || {
            format!("verdict:{}:cred:{h:016x}", self.contract().id)
        })
    }

    /// The store key of state kept per origin (scheme, host, port) of `url`: the retry
    /// budget or the circuit breaker.
    fn origin_key(&self, slot: Slot, url: &Url) -> Arc<str> {
        let h = origin_fingerprint(url);
        let kind = match slot {
            Slot::Budget => "budget",
            Slot::Breaker => "breaker",
            Slot::Credential => "cred",
        };
        self.v.keys.get(slot, h, || {
            format!("verdict:{}:{kind}:{h:016x}", self.contract().id)
        })
    }

    /// Asks the circuit breaker of `url`'s host for leave to send; a refusal is recorded as
    /// an attempt not sent and fails the request.
    fn admit<'s>(
        &'s mut self,
        breakers: &'s Breakers,
        method: &'s Method,
        url: &'s Url,
    ) -> BoxFuture<'s, Result<Ticket, Error>> {
        Box::pin(async move {
            let key = self.origin_key(Slot::Breaker, url);
            let now = self.v.timer.now();
            let trial = match breakers.admit(&*self.v.store, &key, now).await {
                Admission::Pass => false,
                Admission::Trial => true,
                Admission::Refused { until } => {
                    let retry_in = until.duration_since(now).unwrap_or_default();
                    let note = format!(
                        "not sent: circuit breaker open for this host; next try in {}",
                        Seconds::up(retry_in)
                    );
                    tracing::info!(%url, retry_in_ms = retry_in.as_millis() as u64, "circuit breaker open; not sending");
                    let mut held =
                        Attempt::new(method.clone(), url.clone(), DecisionKind::Fail, note);
                    held.sent = false;
                    self.push_attempt(held);
                    let kind = ErrorKind::CircuitOpen { until, retry_in };
                    return Err(self.fail(kind, method.clone(), url.clone()));
                }
            };
            if trial {
                tracing::info!(%url, "circuit breaker half-open; this attempt is the trial");
            }
            Ok(Ticket { key, trial })
        })
    }

    /// Reports the outcome of an attempt the circuit breaker let through.
    fn judge(&self, ticket: Ticket, outcome: Outcome) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(b) = self.v.breaker.as_deref() {
                let now = self.v.timer.now();
                let store = &*self.v.store;
                b.record(store, &ticket.key, ticket.trial, outcome, now)
                    .await;
            }
        })
    }

    pub(crate) fn fail(&self, kind: ErrorKind, method: Method, url: Url) -> Error {
        Error::of_request(kind, &self.v.contract, method, url).with_attempts(self.attempts.clone())
    }

    /// Records the attempt that got `answer` as `note` and makes the error of `kind` with
    /// that answer.
    async fn give_up(
        &mut self,
        kind: ErrorKind,
        note: impl Into<Cow<'static, str>>,
        answer: Answer,
        sent: &Sent,
    ) -> Error {
        self.record(
            sent,
            Some(answer.response.status()),
            DecisionKind::Fail,
            note,
            None,
        );
        self.error_with(kind, sent.method.clone(), answer.response, answer.code)
            .await
    }

    async fn error_with(
        &self,
        kind: ErrorKind,
        method: Method,
        response: Response,
        code: Option<CodeValue>,
    ) -> Error {
        let head = Head::of(&response);
        let body = match read_limited(response, self.v.body_limit).await {
            Ok(Ok(b)) | Ok(Err(b)) => b,
            Err(_) => bytes::Bytes::new(),
        };
        let e = self.fail(kind, method, head.url.clone());
        let api = self.api.as_deref();
        e.with_response(&self.v.contract, api, head.status, head.headers, body, code)
    }

    /// Waits `duration` (boxed: a wait is never on the quick path, and its state would
    /// otherwise sit in the futures of every request).
    fn sleep<'s>(
        &'s mut self,
        duration: Duration,
        reason: WaitReason,
        url: &'s Url,
    ) -> BoxFuture<'s, ()> {
        Box::pin(async move {
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
        })
    }

    fn record(
        &mut self,
        sent: &Sent,
        status: Option<StatusCode>,
        kind: DecisionKind,
        note: impl Into<Cow<'static, str>>,
        wait: Option<Duration>,
    ) {
        let (status, note) = (status.map(|s| s.as_u16()), note.into());
        let (method, url) = (&sent.method, &sent.url);
        tracing::debug!(attempt = sent.number, %method, %url, status, %note, "attempt");
        let mut attempt = Attempt::new(method.clone(), url.clone(), kind, note);
        attempt.status = status;
        attempt.wait = wait;
        self.push_attempt(attempt);
    }

    /// Adds an attempt to the record, with the shared wait that came before it, and shows
    /// it to the observer.
    fn push_attempt(&mut self, mut attempt: Attempt) {
        attempt.shared_wait = self.shared_wait.take();
        if let Some(o) = &self.v.observer {
            o.decided(&attempt);
        }
        self.attempts.push(attempt);
    }

    // The three store calls every request makes go straight to a `MemoryStore` (see
    // `Store::as_memory`); other stores are awaited, and a failure of theirs is logged.

    /// Where the original URL moved for good, if the store remembers a move.
    async fn moved_to(&self) -> Option<String> {
        let url = self.original.as_str();
        match self.v.store.as_memory() {
            Some(memory) => memory.moved_to_now(url),
            None => warn_store(self.v.store.moved_to(url).await).flatten(),
        }
    }

    /// The store key of the retry budget: the origin of the URL first asked for, so that
    /// the repeats of a request that was redirected spend where its first attempt went.
    fn budget_key(&self) -> Arc<str> {
        self.origin_key(Slot::Budget, &self.original)
    }

    /// Records a request that ended well in the retry budget.
    async fn deposit(&self, now: SystemTime) {
        let key = self.budget_key();
        match self.v.store.as_memory() {
            Some(memory) => memory.deposit_now(&key, now),
            None => {
                warn_store(self.v.store.deposit(&key, now).await);
            }
        }
    }

    /// The time before which no request may be sent for `key`, if any.
    async fn blocked_until(&self, key: &str) -> Option<SystemTime> {
        match self.v.store.as_memory() {
            Some(memory) => memory.blocked_until_now(key),
            None => warn_store(self.v.store.blocked_until(key).await).flatten(),
        }
    }
}

/// How an answer bears on its host's circuit breaker: a 5xx or a 429 that the engine
/// repeats or gives up on (`decision` is `None` when it was given up on before the engine
/// was asked) counts against the host; any other answer counts for it.
fn host_outcome(status: u16, decision: Option<&Decision>) -> Outcome {
    let server_failure = status >= 500 || status == 429;
    let repeated_or_given_up =
        decision.is_none_or(|d| matches!(d, Decision::Retry { .. } | Decision::Fail(_)));
    if server_failure && repeated_or_given_up {
        Outcome::Failure
    } else {
        Outcome::Success
    }
}

/// An answer the engine decided on, with what was read from it.
struct Answer {
    response: Response,
    code: Option<CodeValue>,
    now: SystemTime,
}

/// A repeat the engine chose: after how long, why, and a `Retry-After` it could not read.
struct Repeat {
    after: Duration,
    cause: WaitCause,
    ignored: Option<RetryAfterError>,
}

/// A redirect the engine chose.
struct Hop {
    method: Method,
    url: Url,
    keep_body: bool,
    strip: bool,
    permanent: bool,
}

/// What reading a body that may hold an application code gave.
enum Inspected {
    /// The response (its body in memory), the code found, and the body as JSON when a
    /// status variant reads it.
    Read(Response, Option<CodeValue>, Option<Box<serde_json::Value>>),
    /// The request went on without the body: it failed (a body over the limit), or the
    /// body stopped short and the engine decided what to do about that.
    Ended(StepResult),
}

fn warn_store<T>(r: Result<T, StoreError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(error = %e, "state store unavailable; using local state only");
            None
        }
    }
}
