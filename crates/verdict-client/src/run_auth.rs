//! The credential of one request: which value it is sent with, a renewal before it when
//! the value is about to run out, and the errors of renewals.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use reqwest::Request;

use crate::auth::RefreshError;
use crate::error::{Error, ErrorKind, Source};
use crate::oauth::OAuthError;
use crate::run::Run;

impl Run<'_> {
    /// Sets the credential on `sending`, renewing it first when it is due; the value sent
    /// and its generation, or `(None, None)` when the middleware sets none: the request
    /// was made by a renewal, left the origin, or set the header itself.
    pub(crate) async fn credential(
        &self,
        sending: &mut Request,
    ) -> Result<(Option<HeaderValue>, Option<u64>), Error> {
        let Some(c) = self.v.credentials.as_ref() else {
            return Ok((None, None));
        };
        if self.stripped || self.token_request || sending.headers().contains_key(c.header()) {
            return Ok((None, None));
        }
        let mut now = self.v.timer.now();
        let mut snapshot = c.snapshot(now);
        if snapshot.due {
            // Boxed: the renewal's state would otherwise sit in every request's future.
            let (timer, store) = (&*self.v.timer, &*self.v.store);
            let renewed =
                Box::pin(c.refresh(snapshot.generation, timer, store, self.left_to_wait())).await;
            match renewed {
                Ok(()) => {}
                Err(e) if snapshot.usable => {
                    tracing::warn!(error = %e, "renewing the credential before it expires failed; sending the current one");
                    c.postpone(snapshot.generation, self.v.timer.now());
                }
                Err(e) => {
                    let (method, url) = (sending.method().clone(), sending.url().clone());
                    let (kind, source) = renewal_error(e);
                    return Err(self.fail(kind, method, url).with_source(source));
                }
            }
            now = self.v.timer.now();
            snapshot = c.snapshot(now);
        }
        let Some(value) = snapshot.value else {
            // Only a renewal that failed leaves no value, and that returned above.
            return Ok((None, None));
        };
        sending
            .headers_mut()
            .insert(c.header().clone(), value.clone());
        Ok((Some(value), Some(snapshot.generation)))
    }

    /// What is left of the waits this request may do.
    pub(crate) fn left_to_wait(&self) -> Duration {
        self.limits.max_wait.saturating_sub(self.history.waited)
    }

    /// Why a 401 is final for this request.
    pub(crate) fn no_renewal_note(&self) -> String {
        let why = match &self.v.credentials {
            None => "no refresh hook".to_owned(),
            Some(_) if self.token_request => {
                "a request made by a credential renewal is not renewed".to_owned()
            }
            Some(_) if self.stripped => "none are sent to another origin".to_owned(),
            Some(c) => format!("the request set its own {}", c.header()),
        };
        format!("credentials refused; {why}")
    }
}

/// The error kind of a renewal that failed, and the hook's error to keep as the source.
pub(crate) fn renewal_error(e: RefreshError) -> (ErrorKind, Option<Source>) {
    match e {
        RefreshError::TimedOut(limit) => (ErrorKind::RefreshTimeout(limit), None),
        RefreshError::Failed(e) => match e.downcast::<OAuthError>() {
            Ok(o) => (ErrorKind::OAuth(*o), None),
            Err(e) => (ErrorKind::Refresh, Some(Arc::from(e))),
        },
    }
}
