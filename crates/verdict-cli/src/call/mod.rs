//! `verdict call`: a curl-like request that obeys a contract.

mod advice;
mod args;
mod body;
mod login;
mod output;
mod trace;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use reqwest_middleware::ClientWithMiddleware;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use verdict::decide::{self, Reason};
use verdict_client::oauth::OAuthError;
use verdict_client::{Attempts, ErrorKind, Verdict};

pub(crate) use args::CallArgs;
use args::Plan;
use output::{Answer, Head, Output};
pub(crate) use trace::colours_on_stderr;
use trace::{Show, Trace};

use crate::{Failure, Outcome};

/// Exit codes of `verdict call`, beyond the common ones.
pub(crate) mod code {
    /// A 4xx, or an application code that reports an error.
    pub const CLIENT_ERROR: u8 = 3;
    /// A 5xx, after the retries the contract allows.
    pub const SERVER_ERROR: u8 = 4;
    /// The server asked for a wait beyond --max-wait.
    pub const WAIT_TOO_LONG: u8 = 5;
    /// No response: connection refused, reset or timed out, or --max-time passed.
    pub const NETWORK: u8 = 6;
    /// Another protocol failure: a refused redirect, a body over the limit.
    pub const PROTOCOL: u8 = 7;
    /// Not sent: the host's circuit breaker is open after repeated failures.
    pub const CIRCUIT_OPEN: u8 = 8;
}

fn exit_code(e: &verdict_client::Error) -> u8 {
    code_for(e.kind(), e.status())
}

/// The exit code of an error of `kind` whose last answer had `status`.
fn code_for(kind: &ErrorKind, status: Option<http::StatusCode>) -> u8 {
    match kind {
        ErrorKind::Network(decide::Failure::BodyCut) => code::PROTOCOL,
        ErrorKind::Network(_) | ErrorKind::OAuth(OAuthError::Network(_)) => code::NETWORK,
        ErrorKind::OAuth(
            OAuthError::Refused { status, .. } | OAuthError::Status { status, .. },
        ) => {
            if *status >= 500 {
                code::SERVER_ERROR
            } else {
                code::CLIENT_ERROR
            }
        }
        ErrorKind::RefreshTimeout(_) => code::WAIT_TOO_LONG,
        ErrorKind::Refused(Reason::WaitTooLong { .. }) => code::WAIT_TOO_LONG,
        ErrorKind::CircuitOpen { .. } => code::CIRCUIT_OPEN,
        ErrorKind::Refused(
            Reason::Final
            | Reason::RetriesExhausted { .. }
            | Reason::NotRepeatable { .. }
            | Reason::AuthRejected
            | Reason::ServerSaidNoRetry { .. },
        )
        | ErrorKind::BudgetExhausted => match status.map(|s| s.as_u16()) {
            Some(500..=599) => code::SERVER_ERROR,
            Some(_) => code::CLIENT_ERROR,
            None => code::PROTOCOL,
        },
        _ => code::PROTOCOL,
    }
}

/// Why a call ended without an answer to print.
enum Stop {
    /// The middleware's typed error.
    Refused(verdict_client::Error),
    /// Anything else, with its exit code.
    Other(Failure),
}

pub(crate) fn call(args: CallArgs) -> Outcome {
    let plan = Plan::new(&args)?;
    tracing::debug!(contract = %plan.contract.id, method = %plan.method, url = %plan.url, "calling");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // The Redis store starts its connection task on the runtime.
    let _runtime_guard = runtime.enter();
    let show = Show {
        trace: !args.silent,
        heads: args.verbose > 0,
        terminal: std::io::stderr().is_terminal(),
        colour: trace::colours_on_stderr(),
    };
    let trace = Arc::new(Trace::new(
        show,
        plan.timeout,
        plan.max_time,
        &plan.contract,
    ));
    let client = client(&args, &plan, trace.clone())?;
    let out = Output {
        args: &args,
        contract: plan.contract.id.clone(),
        trace,
        advice: advice::Context {
            max_time: args.max_time,
            can_sign_in: args.client_id.is_none()
                && matches!(
                    plan.contract.auth.scheme,
                    verdict::AuthScheme::Oauth2 {
                        token_path: Some(_)
                    }
                ),
        },
    };
    let max_time = plan.max_time;
    let ask = send(client, plan);
    let result = runtime.block_on(async {
        match max_time {
            Some(t) => tokio::time::timeout(t, ask).await.ok(),
            None => Some(ask.await),
        }
    });
    match result {
        None => out.out_of_time(args.max_time.unwrap_or_default()),
        Some(Ok(answer)) => out.answer(answer),
        Some(Err(Stop::Refused(e))) => out.error(&e),
        Some(Err(Stop::Other(f))) => Err(f),
    }
}

/// The HTTP client with the contract's middleware, the trace as its observer and timer.
fn client(
    args: &CallArgs,
    plan: &Plan,
    trace: Arc<Trace>,
) -> Result<ClientWithMiddleware, Failure> {
    let mut verdict = Verdict::builder(plan.contract.clone());
    if let Some(url) = &args.store {
        if !url.starts_with("redis://") {
            return Err(anyhow!("--store {url}: give a redis://HOST:PORT/DB URL").into());
        }
        let store = verdict_client::RedisStore::new(url, "verdict:").map_err(|e| anyhow!("{e}"))?;
        verdict = verdict.store(Arc::new(store));
    }
    let mut verdict = verdict
        .timer(trace.clone())
        .observer(trace)
        .max_wait(plan.wait_limit())
        .poll_accepted(args.poll);
    if let Some(api) = &args.api {
        verdict = verdict.api(api.clone());
    }
    let mut http = verdict_client::http_client()
        .timeout(plan.timeout)
        .connect_timeout(plan.connect_timeout)
        .gzip(args.compressed)
        .deflate(args.compressed)
        .brotli(args.compressed);
    if let Some(path) = &args.cacert {
        http = http.tls_certs_only(certificates(path)?);
    }
    if args.insecure {
        http = http.tls_danger_accept_invalid_certs(true);
    }
    let http = http.build().context("cannot set up the HTTP client")?;
    // Token requests go through the same connections, certificates and timeouts.
    if let Some(oauth) = login::oauth(args, plan, &http)? {
        verdict = verdict.oauth2(oauth);
    }
    Ok(reqwest_middleware::ClientBuilder::new(http)
        .with(verdict.build())
        .build())
}

/// The certificates of a PEM file: at least one, each one a certificate rustls accepts
/// as an authority.
fn certificates(path: &Path) -> Result<Vec<reqwest::Certificate>, Failure> {
    let name = path.display();
    let pem = std::fs::read(path).with_context(|| format!("cannot read the certificate {name}"))?;
    let mut out = Vec::new();
    for (i, der) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let der = der.map_err(|e| anyhow!("--cacert {name} is not a readable PEM file: {e}"))?;
        rustls::RootCertStore::empty()
            .add(der.clone())
            .map_err(|e| anyhow!("--cacert {name}: certificate {} does not parse: {e}", i + 1))?;
        out.push(
            reqwest::Certificate::from_der(&der)
                .map_err(|e| anyhow!("--cacert {name}: certificate {}: {e}", i + 1))?,
        );
    }
    if out.is_empty() {
        return Err(anyhow!(
            "--cacert {name} holds no certificate (no BEGIN CERTIFICATE block in PEM)"
        )
        .into());
    }
    Ok(out)
}

/// Sends the request and reads the answer: its body, or the parts of a 207 batch.
async fn send(client: ClientWithMiddleware, plan: Plan) -> Result<Answer, Stop> {
    let head_request = plan.method == http::Method::HEAD;
    let mut req = client.request(plan.method, plan.url).headers(plan.headers);
    if let Some(b) = plan.body {
        req = req.body(b.into_body());
    }
    let r = req
        .send()
        .await
        .map_err(|e| Stop::Refused(verdict_client::Error::from(e)))?;
    let head = Head {
        status: r.status(),
        version: r.version(),
        headers: r.headers().clone(),
    };
    let attempts = r
        .extensions()
        .get::<Attempts>()
        .map(|a| a.0.clone())
        .unwrap_or_default();
    if !head_request && is_batch(&head) {
        return match verdict_client::batch(r, &Default::default()).await {
            Ok(batch) => Ok(Answer::Batch {
                head,
                attempts,
                batch,
            }),
            Err(e) => Err(Stop::Refused(e)),
        };
    }
    let revalidated = r
        .extensions()
        .get::<verdict_client::Revalidated>()
        .is_some();
    let body = r.bytes().await.map_err(|e| {
        Stop::Other(Failure {
            code: if e.is_timeout() {
                code::NETWORK
            } else {
                code::PROTOCOL
            },
            error: anyhow!("cannot read the response body: {e}"),
        })
    })?;
    Ok(Answer::Whole {
        head,
        attempts,
        revalidated,
        body,
    })
}

/// A 207 Multi-Status answer in parts.
fn is_batch(head: &Head) -> bool {
    head.status == http::StatusCode::MULTI_STATUS
        && head
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/mixed")
            })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit;

    #[test]
    fn exit_codes_are_distinct() {
        let all = [
            exit::INVALID,
            exit::USAGE,
            code::CLIENT_ERROR,
            code::SERVER_ERROR,
            code::WAIT_TOO_LONG,
            code::NETWORK,
            code::PROTOCOL,
            code::CIRCUIT_OPEN,
        ];
        let mut sorted = all.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
    }

    #[test]
    fn exit_codes_follow_the_kind_and_the_last_status() {
        let open = ErrorKind::CircuitOpen {
            until: std::time::SystemTime::UNIX_EPOCH,
            retry_in: std::time::Duration::from_secs(3),
        };
        assert_eq!(code_for(&open, None), code::CIRCUIT_OPEN);
        let timed_out = ErrorKind::Network(decide::Failure::Timeout);
        assert_eq!(code_for(&timed_out, None), code::NETWORK);
        let cut = ErrorKind::Network(decide::Failure::BodyCut);
        assert_eq!(code_for(&cut, None), code::PROTOCOL);
        let not_repeated = ErrorKind::Refused(Reason::NotRepeatable {
            method: http::Method::POST,
        });
        let status = Some(http::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(code_for(&not_repeated, status), code::SERVER_ERROR);
    }

    #[test]
    fn a_pem_without_a_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let e = certificates(&empty).unwrap_err().error.to_string();
        assert!(e.contains("no certificate"), "{e}");
        let junk = dir.path().join("junk.pem");
        std::fs::write(
            &junk,
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = certificates(&junk).unwrap_err().error.to_string();
        assert!(e.contains("does not parse"), "{e}");
    }
}
