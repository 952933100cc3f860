//! The flags of `verdict call` and what they add up to: one checked [`Plan`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use url::Url;
use verdict::{Catalog, Contract, LookupError};

use super::body::{self, Payload};
use crate::Failure;

/// Everything `verdict call` was asked to do.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct CallArgs {
    /// The URL to request; without a scheme, http:// is assumed, as curl does.
    pub url: String,
    /// A built-in contract id or a contract file (default: the built-in contract whose base
    /// URL has this host, else the HTTP baseline).
    #[arg(long, short = 'c')]
    pub contract: Option<String>,
    /// The method (default GET, HEAD with -I, POST with a body).
    #[arg(long = "request", short = 'X', value_name = "METHOD")]
    pub method: Option<String>,
    /// A request header, 'Name: value'; repeatable.
    #[arg(long = "header", short = 'H', value_name = "HEADER")]
    pub headers: Vec<String>,
    /// The body: text, @FILE (streamed from the file, so it cannot be repeated: a retry
    /// the contract needs then fails as not replayable; read into memory with --poll) or
    /// @- (standard input, kept in memory). Repeated -d are joined with '&'. Sent as application/json when it is JSON,
    /// else as application/x-www-form-urlencoded, unless -H sets Content-Type.
    #[arg(long, short = 'd', value_name = "DATA")]
    pub data: Vec<String>,
    /// A body taken as it is: a leading @ is no file name. Joined after the -d values.
    #[arg(long = "data-raw", value_name = "DATA")]
    pub data_raw: Vec<String>,
    /// HTTP Basic credentials.
    #[arg(long, short = 'u', value_name = "USER:PASSWORD")]
    pub user: Option<String>,
    /// Write the body to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No trace, countdown or advice on standard error; the one-line error stays.
    #[arg(long, short = 's')]
    pub silent: bool,
    /// Send HEAD and print the status line and headers only.
    #[arg(long, short = 'I', conflicts_with_all = ["data", "data_raw"])]
    pub head: bool,
    /// Print the status line and headers before the body.
    #[arg(long, short = 'i')]
    pub include: bool,
    /// Accept any TLS certificate (for test servers only).
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// Ask for a compressed answer (gzip, deflate, br) and decode it.
    #[arg(long)]
    pub compressed: bool,
    /// On an HTTP error print no body (the exit code is 3 or 4 as usual).
    #[arg(long, short = 'f')]
    pub fail: bool,
    /// Accepted for curl's sake: redirects are always followed as the contract says.
    #[arg(long, short = 'L')]
    pub location: bool,
    /// The most seconds the whole call may take: every attempt and every wait. Past it
    /// the call ends with exit code 6.
    #[arg(long, short = 'm', value_name = "SECONDS")]
    pub max_time: Option<f64>,
    /// The most seconds one attempt may take to be answered in full.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,
    /// The most seconds one attempt may take to connect.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// The longest wait between attempts the server may ask for (Retry-After); a longer
    /// one fails at once with exit code 5.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 300.0,
        allow_negative_numbers = true
    )]
    pub max_wait: f64,
    /// The API of the contract (for application codes), e.g. messaging.
    #[arg(long)]
    pub api: Option<String>,
    /// Poll a 202's Location until the work finishes.
    #[arg(long)]
    pub poll: bool,
    /// Print status, headers, body and attempts as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Share back-offs, quota windows, permanent moves and retry budgets with every other
    /// client using the same Redis: redis://HOST:PORT/DB (default: this process only).
    #[arg(long)]
    pub store: Option<String>,
    /// Trust only this PEM certificate authority (e.g. the emulator's), like curl's --cacert.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// OAuth 2.0 client id: verdict gets access tokens from the contract's token endpoint
    /// ([auth] token_path, at the URL's origin), sends them as Bearer tokens, renews them
    /// shortly before they expire and after a 401 (with the refresh token, else by signing
    /// in again). Needs --client-secret.
    #[arg(
        long,
        value_name = "ID",
        requires = "client_secret",
        conflicts_with = "user",
        help_heading = "OAuth 2.0"
    )]
    pub client_id: Option<String>,
    /// OAuth 2.0 client secret, sent to the token endpoint with HTTP Basic.
    #[arg(
        long,
        value_name = "SECRET",
        requires = "client_id",
        help_heading = "OAuth 2.0"
    )]
    pub client_secret: Option<String>,
    /// Sign in with the password grant as this user (with --password).
    #[arg(
        long,
        value_name = "USER",
        requires_all = ["client_id", "password"],
        help_heading = "OAuth 2.0"
    )]
    pub username: Option<String>,
    /// The password of --username.
    #[arg(
        long,
        value_name = "PASSWORD",
        requires = "username",
        help_heading = "OAuth 2.0"
    )]
    pub password: Option<String>,
    /// Sign in with the client credentials grant instead of a user's password.
    #[arg(
        long,
        requires = "client_id",
        conflicts_with = "username",
        help_heading = "OAuth 2.0"
    )]
    pub client_credentials: bool,
    /// Keep the tokens in this JSON file: later calls reuse them and renew them with the
    /// refresh token, and every new pair is written back (readable by you only). Without
    /// --username or --client-credentials, the file's refresh token is the only way in.
    #[arg(
        long,
        value_name = "FILE",
        requires = "client_id",
        help_heading = "OAuth 2.0"
    )]
    pub token_file: Option<PathBuf>,
    /// The token endpoint, when it is not the contract's token_path at the URL's origin.
    #[arg(
        long,
        value_name = "URL",
        requires = "client_id",
        help_heading = "OAuth 2.0"
    )]
    pub token_url: Option<String>,
    /// -v from the command line: 1 prints request and response heads.
    #[arg(skip)]
    pub verbose: u8,
}

/// A checked request: what to send, under which contract, within which times.
pub(crate) struct Plan {
    pub url: Url,
    pub method: Method,
    pub contract: Contract,
    pub headers: HeaderMap,
    pub body: Option<Payload>,
    pub max_wait: Duration,
    pub max_time: Option<Duration>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

impl Plan {
    pub fn new(args: &CallArgs) -> Result<Plan, Failure> {
        let url = parse_url(&args.url)?;
        let contract = contract_for(args, &url)?;
        // Polling repeats the request (as a GET) after the body went: the middleware needs
        // a request it can copy, so a file is read into memory then.
        let body = body::payload(&args.data, &args.data_raw, !args.poll)?;
        let method = match &args.method {
            Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| anyhow!("\"{m}\" is not an HTTP method"))?,
            None if args.head => Method::HEAD,
            None if body.is_some() => Method::POST,
            None => Method::GET,
        };
        let mut headers = HeaderMap::new();
        for h in &args.headers {
            let (k, v) = parse_header(h)?;
            headers.append(k, v);
        }
        add_defaults(&mut headers, args, body.as_ref())?;
        Ok(Plan {
            url,
            method,
            contract,
            headers,
            body,
            max_wait: seconds("--max-wait", args.max_wait, true)?,
            max_time: args
                .max_time
                .map(|s| seconds("--max-time", s, false))
                .transpose()?,
            timeout: seconds("--timeout", args.timeout, false)?,
            connect_timeout: seconds("--connect-timeout", args.connect_timeout, false)?,
        })
    }

    /// The wait limit the middleware gets: never past the whole call's deadline.
    pub fn wait_limit(&self) -> Duration {
        self.max_time
            .map_or(self.max_wait, |t| t.min(self.max_wait))
    }
}

/// The URL, with `http://` in front when it names no scheme.
pub(crate) fn parse_url(text: &str) -> Result<Url, Failure> {
    let full = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&full).map_err(|e| anyhow!("\"{text}\" is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(anyhow!(
            "only http and https URLs can be called, not {}",
            url.scheme()
        )
        .into());
    }
    Ok(url)
}

/// A number of seconds from 0 (when `zero` is allowed) up to a year.
fn seconds(flag: &str, value: f64, zero: bool) -> Result<Duration, Failure> {
    let year = 86_400.0 * 365.0;
    if !value.is_finite() || value < 0.0 || value > year || (!zero && value == 0.0) {
        let from = if zero { "from 0" } else { "above 0" };
        return Err(anyhow!("{flag} must be a number of seconds {from} up to {year}").into());
    }
    Ok(Duration::from_secs_f64(value))
}

fn contract_for(args: &CallArgs, url: &Url) -> Result<Contract, Failure> {
    let id = args.contract.clone().unwrap_or_else(|| guess_contract(url));
    let (catalog, id) = crate::catalog_cmds::open(&id)?;
    let contract = catalog.contract(&id)?.clone();
    if let Some(api) = &args.api {
        check_api(&contract, api)?;
    }
    Ok(contract)
}

/// An API the contract has, or the usage error naming the close ones.
pub(crate) fn check_api(contract: &Contract, api: &str) -> Result<(), LookupError> {
    if contract.api(api).is_some() {
        return Ok(());
    }
    let ids = contract.apis.iter().map(|a| a.id.as_str());
    let mut close: Vec<String> = verdict::suggest::close_matches(api, ids.clone())
        .into_iter()
        .map(str::to_owned)
        .collect();
    if close.is_empty() {
        close = ids.map(str::to_owned).collect();
    }
    Err(LookupError::UnknownApi {
        contract: contract.id.clone(),
        api: api.to_owned(),
        close,
    })
}

/// The built-in contract whose base URL has the same host as `url`, else `http`.
pub(crate) fn guess_contract(url: &Url) -> String {
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

pub(crate) fn parse_header(h: &str) -> Result<(HeaderName, HeaderValue), Failure> {
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

/// The headers reqwest would add unseen, set here so the trace shows what is sent, and
/// the ones the flags ask for. A header given with -H is never replaced.
fn add_defaults(
    headers: &mut HeaderMap,
    args: &CallArgs,
    body: Option<&Payload>,
) -> Result<(), Failure> {
    let mut set = |name: HeaderName, value: HeaderValue| {
        headers.entry(name).or_insert(value);
    };
    if let Some(user) = &args.user {
        set(header::AUTHORIZATION, basic(user)?);
    }
    set(
        header::USER_AGENT,
        HeaderValue::from_static(concat!("verdict/", env!("CARGO_PKG_VERSION"))),
    );
    set(header::ACCEPT, HeaderValue::from_static("*/*"));
    if args.compressed {
        set(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
    }
    if let Some(b) = body {
        set(
            header::CONTENT_TYPE,
            HeaderValue::from_static(b.media_type()),
        );
        if let Some(n) = b.streamed_length() {
            set(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
    }
    Ok(())
}

/// `Basic base64(user:password)`; verdict does not prompt for a password.
fn basic(user: &str) -> Result<HeaderValue, Failure> {
    if !user.contains(':') {
        return Err(
            anyhow!("-u needs USER:PASSWORD (verdict does not prompt for a password)").into(),
        );
    }
    let token = base64::engine::general_purpose::STANDARD.encode(user);
    HeaderValue::from_str(&format!("Basic {token}"))
        .map_err(|_| anyhow!("-u: the credentials cannot go in a header").into())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn urls_without_a_scheme_are_http() {
        assert_eq!(
            parse_url("127.0.0.1:8080/x").unwrap().as_str(),
            "http://127.0.0.1:8080/x"
        );
        assert_eq!(
            parse_url("localhost").unwrap().as_str(),
            "http://localhost/"
        );
        assert!(parse_url("ftp://h/x").is_err());
        assert!(parse_url("not a url").is_err());
    }

    #[test]
    fn basic_credentials() {
        assert_eq!(basic("user:pass").unwrap(), "Basic dXNlcjpwYXNz");
        assert!(basic("user").is_err());
    }

    #[test]
    fn unknown_apis_name_the_close_ones() {
        let c = Catalog::builtin().get("webex-connect").unwrap();
        assert!(check_api(c, "messaging").is_ok());
        let e = check_api(c, "mesaging").unwrap_err().to_string();
        assert!(e.contains("did you mean messaging"), "{e}");
        let e = check_api(c, "zzzzzzzzzz").unwrap_err().to_string();
        assert!(e.contains("messaging") && e.contains("profile"), "{e}");
    }
}
