//! What to do after a request failed, fitted to why it stopped: the contract's advice
//! holds for a final answer only; a request the engine stopped for another reason (a POST
//! not repeated, repeats used up, a wait too long) or that got no answer is advised on
//! that reason, so that the advice never contradicts what happened.

use verdict::decide::{Failure, Reason, Seconds, WaitCause};

use crate::error::{Error, ErrorKind};
use crate::oauth::OAuthError;

/// The advice for `e`.
pub(crate) fn advise(e: &Error) -> Option<String> {
    match e.reason() {
        Some(Reason::Final) | None => {}
        Some(reason) => return Some(for_reason(reason, e)),
    }
    let text = match e.kind() {
        ErrorKind::Refused(_) => return e.contract_advice().map(str::to_owned),
        ErrorKind::BudgetExhausted => "too many requests to this host failed lately, so the \
             retry budget allows no repeat; give the host a minute before sending again"
            .to_owned(),
        ErrorKind::Network(failure) => for_failure(*failure),
        ErrorKind::BodyTooLarge { limit } => format!(
            "the answer's body is larger than the {limit} bytes the client reads; ask for \
             less (a page, a range) or raise the body limit"
        ),
        ErrorKind::Batch(_) => {
            "the server's multipart batch is malformed; request the ids one at a time".to_owned()
        }
        ErrorKind::NotReplayable => "a streamed body can be sent only once; to let the \
             client repeat the request, give the body as bytes"
            .to_owned(),
        ErrorKind::RedirectedByClient { .. } => "build the reqwest client under the \
             middleware with verdict_client::http_client() (or with its redirects off), so \
             that the contract's redirect rules apply"
            .to_owned(),
        ErrorKind::Refresh => "the credentials could not be refreshed; get new ones".to_owned(),
        ErrorKind::CircuitOpen { retry_in, .. } => format!(
            "the host failed again and again, so its circuit breaker held this request \
             back: nothing reached the server, and sending it again is safe in {}",
            Seconds::up(*retry_in)
        ),
        ErrorKind::OAuth(o) => for_oauth(o),
        ErrorKind::RefreshTimeout(_) => "getting new credentials took longer than the \
             request may wait; try again, or allow a longer wait"
            .to_owned(),
        ErrorKind::InvalidRequest => {
            "the request could not be built, so nothing was sent; check its URL and headers"
                .to_owned()
        }
        ErrorKind::Middleware => {
            "another middleware in the chain failed; its error says why".to_owned()
        }
    };
    Some(text)
}

/// Advice for a request the engine stopped for `reason` (not a final answer).
fn for_reason(reason: &Reason, e: &Error) -> String {
    match reason {
        Reason::Final => e.contract_advice().unwrap_or_default().to_owned(),
        Reason::RetriesExhausted { retries } => exhausted(*retries, e),
        Reason::WaitTooLong { wait, cause, .. } => too_long(*wait, *cause),
        Reason::NotRepeatable { method } => format!(
            "{method} was not repeated: a repeat could act twice. Check whether it took effect \
             before sending it again{}",
            e.idempotency_header()
                .map(|h| format!("; with an {h} header the contract allows repeats"))
                .unwrap_or_default()
        ),
        Reason::Unrecoverable { failure } => format!(
            "{failure}: sending again cannot help; check the server's certificate and the \
             roots this client trusts"
        ),
        Reason::ServerSaidNoRetry { header } => format!(
            "the server said not to repeat this request ({header}: false); check the answer \
             before sending it again"
        ),
        Reason::AuthRejected => {
            "the credentials were refused even after a refresh; check them and their scopes".into()
        }
        Reason::TooManyRedirects { max } => format!(
            "the server redirected more than {max} times; check the URL, as the chain of \
             redirects does not end"
        ),
        Reason::RedirectLoop { url } => format!(
            "the redirects lead back to {url}; the server's redirects go round in a loop, \
             so call the final URL if you know it, or report it"
        ),
        Reason::MissingLocation => {
            "the server redirected without saying where (no Location header); report it".into()
        }
        Reason::BadLocation { value } => {
            format!("the redirect target \"{value}\" is not a usable URL; report it")
        }
        Reason::Downgrade { to } => format!(
            "the server sends you to plain http; call {to} yourself if an unencrypted \
             connection is acceptable"
        ),
        Reason::PollLimit { polls } => {
            format!("the work was still running after {polls} polls; call its Location again later")
        }
    }
}

/// Repeats used up: after answers, or after attempts that got none.
fn exhausted(retries: u32, e: &Error) -> String {
    let report = e
        .tracking_id()
        .map(|t| format!(", or report it with tracking id {t}"))
        .unwrap_or_default();
    match e.kind() {
        ErrorKind::Network(failure) => format!(
            "no complete answer came after {retries} repeat(s), all the contract allows (the \
             last attempt: {failure}); check the host and the network, and try again later"
        ),
        _ => format!(
            "the server still failed after {retries} repeat(s), all the contract allows; \
             try again later{report}"
        ),
    }
}

/// A wait longer than the request may wait, in words that say whose wait it is.
fn too_long(wait: std::time::Duration, cause: WaitCause) -> String {
    let demand = cause.demand(wait);
    format!(
        "{demand} before the next attempt, more than this request may still wait; send it \
         again after that time, or allow a longer wait"
    )
}

/// Advice for a failure without an answer that the engine did not stop for a reason.
fn for_failure(failure: Failure) -> String {
    match failure {
        Failure::Connect => "no connection could be made; check the host, the port and the \
             network"
            .into(),
        Failure::Tls => "TLS failed; check the server's certificate and the roots this \
             client trusts"
            .into(),
        Failure::Timeout => "no answer came in time; a slow server needs a longer timeout".into(),
        Failure::Interrupted => "the connection broke off before an answer came; check the \
             network and the server"
            .into(),
        Failure::BodyCut => "the answer's body stopped short; ask again, or for less".into(),
    }
}

fn for_oauth(e: &OAuthError) -> String {
    match e {
        OAuthError::Refused { error, .. } if error == "invalid_client" => {
            "the token endpoint does not know this client; check the client id and secret".into()
        }
        OAuthError::Refused { grant, .. } if grant == "password" => {
            "the token endpoint refused the sign-in; check the username and password".into()
        }
        OAuthError::Refused { .. } | OAuthError::Status { .. } => {
            "the token endpoint refused; check the client and user credentials and the token \
             endpoint"
                .into()
        }
        OAuthError::Network(_) => {
            "the token endpoint could not be reached; check its host and port".into()
        }
        OAuthError::NoGrant => {
            "no refresh token is usable and no grant is set; sign in again with a grant".into()
        }
        OAuthError::TokenFile { .. } => "fix or remove the token file".into(),
        _ => "check the token endpoint and the contract's [auth] table".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::{HeaderMap, Method, StatusCode};
    use url::Url;

    use super::*;

    fn url() -> Url {
        Url::parse("http://h/x").unwrap()
    }

    /// The advice of an error of `kind` after a 302 of the webex contract, whose own
    /// advice is to follow the Location.
    fn said(kind: ErrorKind) -> String {
        let contract = verdict::Catalog::builtin().get("webex").unwrap();
        Error::of_request(kind, contract, Method::GET, url())
            .with_response(
                contract,
                None,
                StatusCode::FOUND,
                HeaderMap::new(),
                Default::default(),
                None,
            )
            .advice()
            .unwrap()
            .to_owned()
    }

    fn refused(reason: Reason) -> String {
        said(ErrorKind::Refused(reason))
    }

    #[test]
    fn a_final_answer_keeps_the_contracts_advice() {
        assert!(refused(Reason::Final).starts_with("Follow Location"));
    }

    #[test]
    fn exhausted_retries_say_try_later() {
        assert!(refused(Reason::RetriesExhausted { retries: 3 }).contains("after 3 repeat"));
    }

    #[test]
    fn a_method_not_repeated_is_not_told_to_try_again() {
        let s = refused(Reason::NotRepeatable {
            method: Method::POST,
        });
        assert!(
            s.contains("POST was not repeated") && s.contains("Idempotency-Key"),
            "{s}"
        );
        assert!(!s.contains("try again") && !s.contains("back off"), "{s}");
    }

    #[test]
    fn a_long_wait_says_whose_it_is_rounded_up() {
        let wait = |cause| {
            refused(Reason::WaitTooLong {
                wait: Duration::from_millis(3990),
                limit: Duration::from_secs(1),
                cause,
            })
        };
        assert!(wait(WaitCause::RetryAfter).starts_with("the server asks for a wait of 4 s"));
        let floor = wait(WaitCause::Floor);
        assert!(floor.starts_with("the contract asks") && !floor.contains("server"));
        assert!(wait(WaitCause::Shared).contains("held back for 4 s more"));
        assert!(wait(WaitCause::Backoff).starts_with("the contract's back-off is 4 s"));
    }

    #[test]
    fn redirect_failures_do_not_say_follow_location() {
        for r in [
            Reason::TooManyRedirects { max: 10 },
            Reason::RedirectLoop { url: url() },
            Reason::MissingLocation,
            Reason::BadLocation { value: "::".into() },
            Reason::Downgrade { to: url() },
        ] {
            let s = refused(r.clone());
            assert!(!s.to_lowercase().contains("follow location"), "{r:?}: {s}");
        }
        assert!(refused(Reason::TooManyRedirects { max: 10 }).contains("more than 10"));
        assert!(refused(Reason::RedirectLoop { url: url() }).contains("loop"));
        assert!(refused(Reason::MissingLocation).contains("no Location"));
        assert!(refused(Reason::BadLocation { value: "::".into() }).contains("\"::\""));
        assert!(refused(Reason::Downgrade { to: url() }).contains("plain http"));
    }

    #[test]
    fn every_other_kind_has_its_own_advice() {
        assert!(refused(Reason::AuthRejected).contains("check them"));
        assert!(refused(Reason::PollLimit { polls: 5 }).contains("5 polls"));
        assert!(said(ErrorKind::BudgetExhausted).contains("minute"));
        assert!(said(ErrorKind::Network(Failure::Timeout)).contains("longer timeout"));
        assert!(said(ErrorKind::Network(Failure::Connect)).contains("the port"));
        assert!(said(ErrorKind::BodyTooLarge { limit: 10 }).contains("10 bytes"));
        assert!(said(ErrorKind::NotReplayable).contains("as bytes"));
        assert!(said(ErrorKind::Refresh).contains("credentials"));
        let open = ErrorKind::CircuitOpen {
            until: std::time::SystemTime::UNIX_EPOCH,
            retry_in: Duration::from_millis(12_300),
        };
        let s = said(open);
        assert!(
            s.contains("nothing reached the server") && s.contains("in 12.3 s"),
            "{s}"
        );
        assert!(said(ErrorKind::OAuth(OAuthError::NoGrant)).contains("grant"));
        let batch = verdict::multipart::BatchError::NoParts;
        assert!(said(ErrorKind::Batch(batch)).contains("one at a time"));
    }

    #[test]
    fn the_alternate_form_leaves_the_attempts_out() {
        let contract = verdict::Catalog::builtin().get("webex").unwrap();
        let mut attempt = crate::Attempt::new(
            Method::GET,
            url(),
            verdict::decide::DecisionKind::Fail,
            "fail",
        );
        attempt.wait = Some(Duration::from_millis(1010));
        let e = Error::of_request(ErrorKind::BudgetExhausted, contract, Method::GET, url())
            .with_attempts(vec![attempt]);
        assert!(e.to_string().ends_with("; 1 attempt, waited 1.1 s)"), "{e}");
        assert!(
            format!("{e:#}").ends_with("not retrying to avoid adding load)"),
            "{e:#}"
        );
    }
}
