//! `verdict call`: a curl-like request that obeys a contract.

use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow};
use http::{HeaderName, HeaderValue, Method};
use serde_json::json;
use url::Url;
use verdict::Catalog;
use verdict::decide::Reason;
use verdict_client::timer::{Timer, Wait};
use verdict_client::{Attempt, Attempts, ErrorKind, RequestOptions, Verdict};

use crate::{Failure, Outcome};

/// Exit codes of `verdict call`, beyond the common ones.
pub(crate) mod code {
    /// A 4xx, or an application code that reports an error.
    pub const CLIENT_ERROR: u8 = 3;
    /// A 5xx, after the retries the contract allows.
    pub const SERVER_ERROR: u8 = 4;
    /// The server asked for a wait beyond --max-wait.
    pub const WAIT_TOO_LONG: u8 = 5;
    /// No response: connection refused, reset or timed out.
    pub const NETWORK: u8 = 6;
    /// Another protocol failure: a refused redirect, a body over the limit.
    pub const PROTOCOL: u8 = 7;
}

/// Everything `verdict call` was asked to do.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct CallArgs {
    /// The URL to request.
    pub url: String,
    /// A built-in contract id or a contract file (default: the built-in contract whose base
    /// URL has this host, else the HTTP baseline).
    #[arg(long, short = 'c')]
    pub contract: Option<String>,
    /// The method (default GET, or POST with a body).
    #[arg(long = "request", short = 'X')]
    pub method: Option<String>,
    /// A request header, 'Name: value'; repeatable.
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// The body; @FILE reads a file, @- standard input. A JSON body gets
    /// Content-Type: application/json unless -H sets one.
    #[arg(long, short = 'd')]
    pub data: Option<String>,
    /// The most seconds to wait in all before giving up (a longer demanded wait fails at
    /// once with exit code 5).
    #[arg(long, default_value_t = 300.0, allow_negative_numbers = true)]
    pub max_wait: f64,
    /// The API of the contract (for application codes), e.g. messaging.
    #[arg(long)]
    pub api: Option<String>,
    /// Poll a 202's Location until the work finishes.
    #[arg(long)]
    pub poll: bool,
    /// Print the status line and headers before the body.
    #[arg(long, short = 'i')]
    pub include: bool,
    /// Print status, headers, body and attempts as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Share back-offs, quota windows, permanent moves and retry budgets with every other
    /// client using the same Redis: redis://HOST:PORT/DB (default: this process only).
    #[arg(long)]
    pub store: Option<String>,
    /// Trust only this PEM certificate authority (e.g. the emulator's), like curl's --cacert.
    #[arg(long)]
    pub cacert: Option<std::path::PathBuf>,
}

/// Prints each wait on stderr; on a terminal, counts down second by second.
struct Countdown {
    tty: bool,
}

#[async_trait::async_trait]
impl Timer for Countdown {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, wait: &Wait) {
        let mut err = std::io::stderr();
        let total = wait.duration;
        let _ = writeln!(
            err,
            "  waiting {:.1} s ({}) before attempt {}",
            total.as_secs_f64(),
            wait.reason,
            wait.next_attempt
        );
        if !self.tty || total < Duration::from_secs(2) {
            tokio::time::sleep(total).await;
            return;
        }
        let start = tokio::time::Instant::now();
        loop {
            let left = total.saturating_sub(start.elapsed());
            if left.is_zero() {
                break;
            }
            let _ = write!(
                err,
                "\r  {:>5} s left ",
                left.as_secs() + u64::from(left.subsec_nanos() > 0)
            );
            let _ = err.flush();
            tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        }
        let _ = write!(err, "\r\x1b[K");
    }
}

/// The built-in contract whose base URL has the same host as `url`, else `http`.
fn guess_contract(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    Catalog::builtin()
        .contracts()
        .iter()
        .find(|c| {
            c.base_url
                .as_deref()
                .and_then(|b| Url::parse(b).ok())
                .and_then(|b| {
                    b.host_str()
                        .map(|h| h == host || host.ends_with(&format!(".{h}")))
                })
                .unwrap_or(false)
        })
        .map_or_else(|| "http".to_owned(), |c| c.id.clone())
}

fn parse_header(h: &str) -> Result<(HeaderName, HeaderValue), Failure> {
    let (k, v) = h
        .split_once(':')
        .ok_or_else(|| anyhow!("header \"{h}\" is not in the form 'Name: value'"))?;
    let name = HeaderName::from_bytes(k.trim().as_bytes())
        .map_err(|_| anyhow!("\"{}\" is not a valid header name", k.trim()))?;
    let value = HeaderValue::from_str(v.trim()).map_err(|_| {
        anyhow!("the value of header {name} holds characters not allowed in a header")
    })?;
    Ok((name, value))
}

fn read_body(data: &str) -> Result<Vec<u8>, Failure> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read the body from standard input")?;
            Ok(buf)
        }
        Some(path) => {
            Ok(std::fs::read(path).with_context(|| format!("cannot read the body from {path}"))?)
        }
        None => Ok(data.as_bytes().to_vec()),
    }
}

fn trace(attempts: &[Attempt]) {
    let mut err = std::io::stderr();
    for (i, a) in attempts.iter().enumerate() {
        let status = a.status.map_or_else(|| "---".to_owned(), |s| s.to_string());
        let _ = writeln!(
            err,
            "* attempt {}: {} {} -> {status}: {}",
            i + 1,
            a.method,
            a.url,
            a.decision
        );
    }
}

fn headers_json(h: &http::HeaderMap) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (k, v) in h {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        match map.get_mut(k.as_str()) {
            Some(serde_json::Value::Array(items)) => items.push(v.into()),
            _ => {
                map.insert(k.as_str().to_owned(), json!([v]));
            }
        }
    }
    serde_json::Value::Object(map)
}

fn body_json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned().into())
}

fn exit_code(e: &verdict_client::Error) -> u8 {
    match &e.kind {
        ErrorKind::Network(_) => code::NETWORK,
        ErrorKind::Refused(Reason::WaitTooLong { .. }) => code::WAIT_TOO_LONG,
        ErrorKind::Refused(
            Reason::Final
            | Reason::RetriesExhausted { .. }
            | Reason::NotRepeatable { .. }
            | Reason::AuthRejected
            | Reason::ServerSaidNoRetry { .. },
        )
        | ErrorKind::BudgetExhausted => match e.status.map(|s| s.as_u16()) {
            Some(500..=599) => code::SERVER_ERROR,
            Some(_) => code::CLIENT_ERROR,
            None => code::PROTOCOL,
        },
        _ => code::PROTOCOL,
    }
}

pub(crate) fn call(args: CallArgs) -> Outcome {
    let url =
        Url::parse(&args.url).map_err(|e| anyhow!("\"{}\" is not a valid URL: {e}", args.url))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(anyhow!(
            "only http and https URLs can be called, not {}",
            url.scheme()
        )
        .into());
    }
    let contract_arg = args
        .contract
        .clone()
        .unwrap_or_else(|| guess_contract(&url));
    let (catalog, id) = crate::catalog_cmds::open(&contract_arg)?;
    let contract = catalog.contract(&id)?.clone();
    let body = args.data.as_deref().map(read_body).transpose()?;
    let method = match &args.method {
        Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
            .map_err(|_| anyhow!("\"{m}\" is not an HTTP method"))?,
        None if body.is_some() => Method::POST,
        None => Method::GET,
    };
    let mut headers = http::HeaderMap::new();
    for h in &args.headers {
        let (k, v) = parse_header(h)?;
        headers.append(k, v);
    }
    if let Some(b) = &body {
        if !headers.contains_key(http::header::CONTENT_TYPE)
            && serde_json::from_slice::<serde_json::Value>(b).is_ok()
        {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
    }
    if !args.max_wait.is_finite() || args.max_wait < 0.0 || args.max_wait > 86_400.0 * 365.0 {
        return Err(anyhow!("--max-wait must be a number of seconds from 0 to 31536000").into());
    }
    tracing::debug!(contract = %contract.id, %method, %url, "calling");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // The Redis store starts its connection task on the runtime.
    let _runtime_guard = runtime.enter();
    let mut verdict = Verdict::builder(contract.clone());
    if let Some(url) = &args.store {
        if !url.starts_with("redis://") {
            return Err(anyhow!("--store {url}: give a redis://HOST:PORT/DB URL").into());
        }
        let store = verdict_client::RedisStore::new(url, "verdict:").map_err(|e| anyhow!("{e}"))?;
        verdict = verdict.store(std::sync::Arc::new(store));
    }
    let verdict = verdict
        .timer(std::sync::Arc::new(Countdown {
            tty: std::io::stderr().is_terminal(),
        }))
        .max_wait(Duration::from_secs_f64(args.max_wait))
        .poll_accepted(args.poll);
    let verdict = match &args.api {
        Some(api) => verdict.api(api.clone()),
        None => verdict,
    };
    let mut http = verdict_client::http_client();
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read the certificate {}", path.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| anyhow!("{} is not a PEM certificate: {e}", path.display()))?;
        http = http.tls_certs_only([cert]);
    }
    let http = http.build().context("cannot set up the HTTP client")?;
    let client = reqwest_middleware::ClientBuilder::new(http)
        .with(verdict.build())
        .build();

    let result = runtime.block_on(async {
        let mut req = client.request(method.clone(), url.clone()).headers(headers);
        if let Some(b) = body {
            req = req.body(b);
        }
        match req.with_extension(RequestOptions::default()).send().await {
            Ok(r) => {
                let status = r.status();
                let version = r.version();
                let headers = r.headers().clone();
                let attempts = r
                    .extensions()
                    .get::<Attempts>()
                    .cloned()
                    .unwrap_or_default();
                let revalidated = r
                    .extensions()
                    .get::<verdict_client::Revalidated>()
                    .is_some();
                let bytes = r
                    .bytes()
                    .await
                    .map_err(|e| anyhow!("cannot read the response body: {e}"))?;
                Ok(Ok((status, version, headers, attempts, revalidated, bytes)))
            }
            Err(e) => match verdict_client::Error::from_middleware(&e) {
                Some(v) => Ok(Err(v.clone())),
                None => Err(anyhow!("{e}")),
            },
        }
    });
    let result = result.map_err(|e: anyhow::Error| Failure {
        code: code::PROTOCOL,
        error: e,
    })?;
    let mut out = std::io::stdout().lock();
    match result {
        Ok((status, version, headers, attempts, revalidated, bytes)) => {
            if !args.json {
                trace(&attempts.0);
            }
            if args.json {
                let v = json!({
                    "contract": contract.id,
                    "status": status.as_u16(),
                    "headers": headers_json(&headers),
                    "body": body_json(&bytes),
                    "revalidated": revalidated,
                    "attempts": attempts.0,
                    "error": null,
                });
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&v).context("cannot encode JSON")?
                )
                .context("cannot write to stdout")?;
            } else {
                if args.include {
                    writeln!(out, "{version:?} {status}").ok();
                    for (k, v) in &headers {
                        writeln!(out, "{k}: {}", String::from_utf8_lossy(v.as_bytes())).ok();
                    }
                    writeln!(out).ok();
                }
                out.write_all(&bytes).context("cannot write to stdout")?;
                out.flush().ok();
            }
            Ok(())
        }
        Err(e) => {
            if args.json {
                let v = json!({
                    "contract": contract.id,
                    "status": e.status.map(|s| s.as_u16()),
                    "headers": headers_json(&e.headers),
                    "body": body_json(&e.body),
                    "revalidated": false,
                    "attempts": e.attempts,
                    "error": {
                        "message": e.to_string(),
                        "vendor_code": e.vendor_code,
                        "vendor_message": e.message,
                        "tracking_id": e.tracking_id,
                        "field_errors": e.field_errors,
                        "meaning": e.meaning,
                        "advice": e.advice,
                        "category": e.category,
                        "wait_demanded_s": e.wait_demanded().map(|d| d.as_secs_f64()),
                        "exit_code": exit_code(&e),
                    },
                });
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&v).context("cannot encode JSON")?
                )
                .ok();
            } else {
                trace(&e.attempts);
                if !e.body.is_empty() {
                    out.write_all(&e.body).ok();
                    if !e.body.ends_with(b"\n") {
                        writeln!(out).ok();
                    }
                }
                if let Some(advice) = &e.advice {
                    eprintln!("  advice: {advice}");
                }
            }
            Err(Failure {
                code: exit_code(&e),
                error: anyhow!("{e}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit;

    #[test]
    fn contracts_are_guessed_from_the_host() {
        let g = |u: &str| guess_contract(&Url::parse(u).unwrap());
        assert_eq!(g("https://webexapis.com/v1/rooms"), "webex");
        assert_eq!(
            g("https://platform.ringcentral.com/restapi/v1.0/account/~"),
            "ringcentral"
        );
        assert_eq!(g("http://127.0.0.1:8080/x"), "http");
    }

    #[test]
    fn headers_are_checked() {
        assert!(parse_header("Accept: application/json").is_ok());
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }

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
        ];
        let mut sorted = all.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
    }
}
