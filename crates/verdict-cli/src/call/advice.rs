//! What to do after a failed call, fitted to why it failed.

use verdict::decide::Reason;
use verdict_client::oauth::OAuthError;
use verdict_client::{Error, ErrorKind};

/// What the advice may point at besides the error.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    /// --max-time, in seconds, when given.
    pub max_time: Option<f64>,
    /// The contract's idempotency header, when it has one.
    pub idempotency_header: Option<String>,
    /// The contract declares an OAuth 2.0 token endpoint and no --client-id was given.
    pub can_sign_in: bool,
}

/// The advice for `e`: the contract's own advice for a final answer, else a line for the
/// kind of failure, so that it never contradicts what happened.
pub(crate) fn advice(e: &Error, cx: &Context) -> Option<String> {
    let text = match &e.kind {
        ErrorKind::Refused(reason) => return for_reason(reason, e, cx),
        ErrorKind::BudgetExhausted => {
            "too many requests to this host failed lately; give it a minute before sending again"
                .to_owned()
        }
        ErrorKind::Network(_) => {
            "check the host, the port and the network; a slow server needs a longer --timeout"
                .to_owned()
        }
        ErrorKind::Body(_) => {
            "the answer's body could not be read whole; ask for less (a page, a range)".to_owned()
        }
        ErrorKind::Batch(_) => {
            "the server's multipart batch is malformed; request the ids one at a time".to_owned()
        }
        ErrorKind::NotReplayable => "a body streamed from a file can be sent only once; to \
             let verdict repeat it, pass it through memory: -d @- < FILE"
            .to_owned(),
        ErrorKind::Refresh(_) => "the credentials could not be refreshed; get new ones".to_owned(),
        ErrorKind::RedirectedByClient { .. } => {
            "the HTTP client followed a redirect itself; this is a bug in verdict call".to_owned()
        }
        ErrorKind::CircuitOpen { retry_in, .. } => {
            let secs = retry_in.as_secs() + u64::from(retry_in.subsec_nanos() > 0);
            format!(
                "the host failed again and again, so its circuit breaker held this request \
                 back: nothing reached the server, and sending it again is safe in {secs} s"
            )
        }
        ErrorKind::OAuth(o) => for_oauth(o),
        ErrorKind::RefreshTimeout(_) => "getting a new token took longer than the call may \
             wait; try again, or give a larger --max-wait"
            .to_owned(),
    };
    Some(text)
}

fn for_oauth(e: &OAuthError) -> String {
    match e {
        OAuthError::Refused { error, .. } if error == "invalid_client" => {
            "the token endpoint does not know this client; check --client-id and --client-secret"
                .into()
        }
        OAuthError::Refused { grant, .. } if grant == "password" => {
            "the token endpoint refused the sign-in; check --username and --password".into()
        }
        OAuthError::Refused { .. } | OAuthError::Status { .. } => {
            "the token endpoint refused; check the client and user credentials and the \
             token endpoint (--token-url)"
                .into()
        }
        OAuthError::Network(_) => {
            "the token endpoint could not be reached; check its host and port (--token-url)".into()
        }
        OAuthError::NoGrant => "give --username and --password to sign in again".into(),
        OAuthError::TokenFile { .. } => "fix or remove the token file".into(),
        _ => "check the token endpoint (--token-url) and the contract's [auth] table".into(),
    }
}

fn for_reason(reason: &Reason, e: &Error, cx: &Context) -> Option<String> {
    Some(match reason {
        Reason::Final if cx.can_sign_in && e.status.map(|s| s.as_u16()) == Some(401) => format!(
            "{}{}give --client-id, --client-secret, --username and --password to let verdict \
             sign in and renew the token itself",
            e.advice.as_deref().unwrap_or_default(),
            if e.advice.is_some() { "; " } else { "" }
        ),
        Reason::Final => return e.advice.clone(),
        Reason::RetriesExhausted { retries } => format!(
            "the server still failed after {retries} repeat(s), all the contract allows; \
             try again later{}",
            e.tracking_id
                .as_ref()
                .map(|t| format!(", or report it with tracking id {t}"))
                .unwrap_or_default()
        ),
        Reason::WaitTooLong { wait, .. } => too_long(wait.as_secs_f64().ceil(), cx),
        Reason::NotRepeatable { method } => format!(
            "{method} was not repeated: a repeat could act twice. Check whether it took effect \
             before sending it again{}",
            cx.idempotency_header
                .as_ref()
                .map(|h| format!("; with an {h} header the contract allows repeats"))
                .unwrap_or_default()
        ),
        Reason::Unrecoverable { failure } => format!(
            "{failure}: sending again cannot help; if the server's certificate is private, \
             trust it with --cacert FILE"
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
    })
}

/// After a wait beyond the limits: how long the server asked and how to allow it.
fn too_long(wait: f64, cx: &Context) -> String {
    let mut allow = format!("--max-wait {wait}");
    if cx.max_time.is_some_and(|t| t <= wait) {
        allow.push_str(&format!(" --max-time {}", wait + 30.0));
    }
    format!(
        "the server asks for a wait of {wait} s before the next attempt; allow it with \
         {allow}, or call again after that time"
    )
}

/// The advice when the whole call ran out of --max-time.
pub(crate) fn out_of_time(max_time: f64) -> String {
    format!(
        "the call did not finish within --max-time {max_time}; allow more with a larger \
         --max-time, or a shorter --timeout to give up on a silent attempt sooner"
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use http::Method;
    use url::Url;

    fn error(kind: ErrorKind, status: Option<u16>) -> Error {
        Error {
            kind,
            contract: "http".into(),
            method: Method::GET,
            url: url(),
            status: status.map(|s| http::StatusCode::from_u16(s).unwrap()),
            title: None,
            vendor_code: None,
            message: None,
            field_errors: Vec::new(),
            tracking_id: None,
            meaning: None,
            advice: Some("follow Location with GET and no body (HEAD stays HEAD)".into()),
            category: None,
            headers: http::HeaderMap::new(),
            body: Default::default(),
            attempts: Vec::new(),
            problem: None,
        }
    }

    fn said(reason: Reason) -> String {
        let cx = Context {
            max_time: Some(10.0),
            idempotency_header: Some("Idempotency-Key".into()),
            can_sign_in: false,
        };
        advice(&error(ErrorKind::Refused(reason), Some(302)), &cx).unwrap()
    }

    fn url() -> Url {
        Url::parse("http://h/x").unwrap()
    }

    #[test]
    fn a_final_answer_keeps_the_contracts_advice() {
        assert!(said(Reason::Final).contains("follow Location"));
    }

    #[test]
    fn a_final_401_of_an_oauth_api_points_at_the_sign_in_flags() {
        let cx = Context {
            can_sign_in: true,
            ..Context::default()
        };
        let a = advice(&error(ErrorKind::Refused(Reason::Final), Some(401)), &cx).unwrap();
        assert!(
            a.contains("--client-id") && a.contains("follow Location"),
            "{a}"
        );
        let a = advice(&error(ErrorKind::Refused(Reason::Final), Some(403)), &cx).unwrap();
        assert!(!a.contains("--client-id"), "{a}");
    }

    #[test]
    fn exhausted_retries_say_try_later() {
        assert!(said(Reason::RetriesExhausted { retries: 3 }).contains("after 3 repeat"));
    }

    #[test]
    fn a_long_wait_says_how_long_and_how_to_allow_it() {
        let s = said(Reason::WaitTooLong {
            wait: Duration::from_secs(120),
            limit: Duration::from_secs(5),
            cause: verdict::decide::WaitCause::RetryAfter,
        });
        assert!(
            s.contains("120 s") && s.contains("--max-wait 120") && s.contains("--max-time 150"),
            "{s}"
        );
    }

    #[test]
    fn a_method_not_repeated_is_not_told_to_try_again() {
        let s = said(Reason::NotRepeatable {
            method: Method::POST,
        });
        assert!(s.contains("POST was not repeated") && s.contains("Idempotency-Key"));
        assert!(!s.contains("try again") && !s.contains("back off"), "{s}");
    }

    #[test]
    fn refused_credentials() {
        assert!(said(Reason::AuthRejected).contains("check them"));
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
            let s = said(r.clone());
            assert!(!s.contains("follow Location"), "{r:?}: {s}");
        }
        assert!(said(Reason::TooManyRedirects { max: 10 }).contains("more than 10"));
        assert!(said(Reason::RedirectLoop { url: url() }).contains("loop"));
        assert!(said(Reason::MissingLocation).contains("no Location"));
        assert!(said(Reason::BadLocation { value: "::".into() }).contains("\"::\""));
        assert!(said(Reason::Downgrade { to: url() }).contains("plain http"));
    }

    #[test]
    fn unfinished_work() {
        assert!(said(Reason::PollLimit { polls: 5 }).contains("5 polls"));
    }

    #[test]
    fn every_other_kind_has_its_own_advice() {
        let cx = Context::default();
        let say = |k: ErrorKind| advice(&error(k, None), &cx).unwrap();
        assert!(say(ErrorKind::BudgetExhausted).contains("minute"));
        assert!(say(ErrorKind::Network("reset".into())).contains("--timeout"));
        assert!(say(ErrorKind::Body("too big".into())).contains("body"));
        assert!(say(ErrorKind::NotReplayable).contains("-d @- < FILE"));
        assert!(say(ErrorKind::Refresh("no".into())).contains("credentials"));
        let open = ErrorKind::CircuitOpen {
            until: std::time::SystemTime::UNIX_EPOCH,
            retry_in: Duration::from_millis(12_300),
        };
        let s = say(open.clone());
        assert!(
            s.contains("nothing reached the server") && s.contains("in 13 s"),
            "{s}"
        );
        let code = crate::call::exit_code(&error(open, None));
        assert_eq!(code, crate::call::code::CIRCUIT_OPEN);
        let refused = |grant: &str, error: &str| {
            ErrorKind::OAuth(OAuthError::Refused {
                grant: grant.into(),
                status: 400,
                error: error.into(),
                description: None,
            })
        };
        assert!(say(refused("password", "invalid_grant")).contains("--password"));
        assert!(say(refused("password", "invalid_client")).contains("--client-secret"));
        assert!(say(ErrorKind::OAuth(OAuthError::NoGrant)).contains("--username"));
        assert!(say(ErrorKind::RefreshTimeout(Duration::from_secs(1))).contains("--max-wait"));
        let batch = verdict::multipart::BatchError::NoParts;
        assert!(say(ErrorKind::Batch(batch)).contains("one at a time"));
        assert!(out_of_time(5.0).contains("--max-time 5"));
    }
}
