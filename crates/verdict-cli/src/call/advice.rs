//! What to do after a failed call. The library's advice ([`verdict_client::Error::advice`])
//! is fitted to why the call stopped; this adds the flags of `verdict call` that act on it
//! (--max-wait, --timeout, --cacert, the sign-in flags), and words the few cases that are
//! about the command line itself.

use http::StatusCode;
use verdict::decide::{Failure, Reason, Seconds};
use verdict_client::oauth::OAuthError;
use verdict_client::{Error, ErrorKind};

/// What the advice may point at besides the error.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    /// --max-time, in seconds, when given.
    pub max_time: Option<f64>,
    /// The contract declares an OAuth 2.0 token endpoint and no --client-id was given.
    pub can_sign_in: bool,
}

/// The advice for `e`: the library's, with the flags that act on it.
pub(crate) fn advice(e: &Error, cx: &Context) -> Option<String> {
    let call = Call {
        kind: e.kind(),
        reason: e.reason(),
        status: e.status(),
    };
    fitted(&call, e.advice(), cx)
}

/// What the flags depend on.
struct Call<'a> {
    kind: &'a ErrorKind,
    reason: Option<&'a Reason>,
    status: Option<StatusCode>,
}

/// `general` (the library's advice) for `call`, with what the command line adds to it.
fn fitted(call: &Call<'_>, general: Option<&str>, cx: &Context) -> Option<String> {
    if let Some(own) = own_words(call.kind) {
        return Some(own);
    }
    let extra = match (call.reason, call.kind) {
        (Some(Reason::Final), _)
            if cx.can_sign_in && call.status == Some(StatusCode::UNAUTHORIZED) =>
        {
            "give --client-id, --client-secret, --username and --password to let verdict \
             sign in and renew the token itself"
                .to_owned()
        }
        (Some(Reason::WaitTooLong { wait, .. }), _) => return Some(with_flags(general, *wait, cx)),
        (Some(Reason::Unrecoverable { .. }), _) | (None, ErrorKind::Network(Failure::Tls)) => {
            "if the server's certificate is private, trust it with --cacert FILE".to_owned()
        }
        (None, ErrorKind::Network(Failure::Timeout)) => {
            "give a larger --timeout to wait longer for each attempt".to_owned()
        }
        _ => return general.map(str::to_owned),
    };
    Some(match general {
        Some(g) => format!("{g}; {extra}"),
        None => extra,
    })
}

/// Advice about the command line itself, in place of the library's.
fn own_words(kind: &ErrorKind) -> Option<String> {
    Some(match kind {
        ErrorKind::NotReplayable => "a body streamed from a file can be sent only once; to \
             let verdict repeat it, pass it through memory: -d @- < FILE"
            .to_owned(),
        ErrorKind::RedirectedByClient { .. } => {
            "the HTTP client followed a redirect itself; this is a bug in verdict call".to_owned()
        }
        ErrorKind::OAuth(o) => for_oauth(o),
        ErrorKind::RefreshTimeout(_) => "getting a new token took longer than the call may \
             wait; try again, or give a larger --max-wait"
            .to_owned(),
        _ => return None,
    })
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

/// After a wait beyond the limits: the library's words and the flags that allow the wait,
/// in whole seconds rounded up.
fn with_flags(general: Option<&str>, wait: std::time::Duration, cx: &Context) -> String {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut allow = format!("--max-wait {secs}");
    if cx.max_time.is_some_and(|t| t <= secs as f64) {
        allow.push_str(&format!(" --max-time {}", secs + 30));
    }
    match general {
        Some(g) => format!("{g} with {allow}"),
        None => format!(
            "a wait of {} is needed before the next attempt; allow it with {allow}",
            Seconds::up(wait)
        ),
    }
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
    use verdict::decide::WaitCause;

    const GENERAL: &str = "the library's advice";

    fn said(kind: ErrorKind, status: Option<u16>, cx: &Context) -> String {
        let reason = match &kind {
            ErrorKind::Refused(r) => Some(r.clone()),
            _ => None,
        };
        let call = Call {
            kind: &kind,
            reason: reason.as_ref(),
            status: status.map(|s| StatusCode::from_u16(s).unwrap()),
        };
        fitted(&call, Some(GENERAL), cx).unwrap()
    }

    #[test]
    fn the_librarys_advice_is_kept_where_no_flag_helps() {
        let cx = Context::default();
        for kind in [
            ErrorKind::Refused(Reason::Final),
            ErrorKind::Refused(Reason::NotRepeatable {
                method: http::Method::POST,
            }),
            ErrorKind::BudgetExhausted,
            ErrorKind::Network(Failure::Connect),
        ] {
            assert_eq!(said(kind, Some(500), &cx), GENERAL);
        }
    }

    #[test]
    fn a_final_401_of_an_oauth_api_points_at_the_sign_in_flags() {
        let cx = Context {
            can_sign_in: true,
            ..Context::default()
        };
        let a = said(ErrorKind::Refused(Reason::Final), Some(401), &cx);
        assert!(a.starts_with(GENERAL) && a.contains("--client-id"), "{a}");
        let a = said(ErrorKind::Refused(Reason::Final), Some(403), &cx);
        assert_eq!(a, GENERAL);
    }

    #[test]
    fn a_long_wait_says_how_to_allow_it_rounded_up() {
        let cx = Context {
            max_time: Some(10.0),
            ..Context::default()
        };
        let s = said(
            ErrorKind::Refused(Reason::WaitTooLong {
                wait: Duration::from_millis(119_100),
                limit: Duration::from_secs(5),
                cause: WaitCause::RetryAfter,
            }),
            None,
            &cx,
        );
        assert_eq!(
            s,
            format!("{GENERAL} with --max-wait 120 --max-time 150"),
            "{s}"
        );
    }

    #[test]
    fn failures_point_at_the_flags_that_act_on_them() {
        let cx = Context::default();
        let tls = ErrorKind::Refused(Reason::Unrecoverable {
            failure: Failure::Tls,
        });
        assert!(said(tls, None, &cx).contains("--cacert FILE"));
        let slow = said(ErrorKind::Network(Failure::Timeout), None, &cx);
        assert!(
            slow.starts_with(GENERAL) && slow.contains("--timeout"),
            "{slow}"
        );
    }

    #[test]
    fn command_line_cases_have_their_own_words() {
        let cx = Context::default();
        let say = |k: ErrorKind| said(k, None, &cx);
        assert!(say(ErrorKind::NotReplayable).contains("-d @- < FILE"));
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
        assert!(out_of_time(5.0).contains("--max-time 5"));
    }
}
