//! `verdict serve`: run the emulator of a contract until SIGINT or SIGTERM.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use verdict::emulate::Quota;
use verdict_server::{Config, Emulator, ServerLimits};

use crate::{Failure, Outcome};

/// Everything `verdict serve` was asked to do.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServeArgs {
    /// A built-in contract id or a contract file with an [emulator] table.
    pub contract: String,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The credential to accept (default: a new random one, printed at start).
    #[arg(long)]
    pub token: Option<String>,
    /// Where state lives: `memory` (this process only) or `redis://HOST:PORT/DB`, shared
    /// by every emulator of the same group.
    #[arg(long, default_value = "memory")]
    pub state: String,
    /// The group whose state this emulator shares in Redis (default: the contract's id).
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
    /// Seed of every random choice, for repeatable runs.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Answer this share of requests (0 to 1) with a random transient failure.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Add latency: a range in milliseconds such as 5..50.
    #[arg(long)]
    pub latency_ms: Option<String>,
    /// Require this token on the admin API.
    #[arg(long)]
    pub admin_token: Option<String>,
    /// A request quota per credential, REQUESTS/SECONDS[:STATUS] (repeatable), replacing
    /// the contract's.
    #[arg(long)]
    pub quota: Vec<String>,
    /// How long accepted (202) work takes, in milliseconds.
    #[arg(long)]
    pub accept_delay_ms: Option<u64>,
    /// The most resources the emulator stores (beyond it, creates fail with 507).
    #[arg(long)]
    pub store_limit: Option<usize>,
    /// The largest request body in bytes (larger: 413).
    #[arg(long, default_value_t = 1 << 20)]
    pub body_limit: usize,
    /// Also serve HTTPS on this port with a self-signed certificate (default for APIs that
    /// refuse plain HTTP: the next port).
    #[arg(long)]
    pub tls_port: Option<u16>,
    /// Write the self-signed certificate (PEM) to this file, for clients to trust.
    #[arg(long)]
    pub cert_out: Option<std::path::PathBuf>,
    /// The OAuth client id the token endpoint accepts (RingCentral) [default: the vendor
    /// module's, verdict-client-id].
    #[arg(long)]
    pub client_id: Option<String>,
    /// The OAuth client secret the token endpoint accepts [default: the vendor module's,
    /// verdict-client-secret].
    #[arg(long)]
    pub client_secret: Option<String>,
    /// The user name of the password grant [default: the vendor module's; RingCentral's is a
    /// phone number].
    #[arg(long)]
    pub username: Option<String>,
    /// The password of the password grant [default: the vendor module's,
    /// verdict-password].
    #[arg(long)]
    pub password: Option<String>,
    /// How long issued access tokens live, in seconds (short, to exercise refresh)
    /// [default: the vendor module's, 3600].
    #[arg(long)]
    pub token_ttl: Option<u64>,
    /// Print the start-up information as one JSON line.
    #[arg(long)]
    pub json: bool,
}

fn parse_range(s: &str) -> Result<(u64, u64), Failure> {
    let bad = || {
        anyhow!("--latency-ms \"{s}\" must be a range such as 5..50 (milliseconds) or one number")
    };
    match s.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            );
            if a > b { Err(bad().into()) } else { Ok((a, b)) }
        }
        None => {
            let n = s.trim().parse().map_err(|_| bad())?;
            Ok((n, n))
        }
    }
}

/// `REQUESTS/SECONDS[:STATUS]`, e.g. `10/1` or `1000/86400:403`.
fn parse_quota(s: &str) -> Result<Quota, Failure> {
    let bad =
        || anyhow!("--quota \"{s}\" must look like 10/60 (requests per seconds) or 10/60:403");
    let (rate, status) = match s.split_once(':') {
        Some((r, st)) => (r, st.trim().parse::<u16>().map_err(|_| bad())?),
        None => (s, 429),
    };
    let (n, w) = rate.split_once('/').ok_or_else(bad)?;
    let (requests, window_s) = (
        n.trim().parse::<u32>().map_err(|_| bad())?,
        w.trim().parse::<u32>().map_err(|_| bad())?,
    );
    if requests == 0 || window_s == 0 || !(400..=599).contains(&status) {
        return Err(bad().into());
    }
    Ok(Quota {
        requests,
        window_s,
        status,
        group: None,
    })
}

fn random_token() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut x = (t as u64) ^ u64::from(std::process::id()).rotate_left(32);
    let mut out = String::from("vt_");
    for _ in 0..4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(&format!("{:08x}", x as u32));
    }
    out
}

pub(crate) fn serve(args: ServeArgs) -> Outcome {
    let redis_url = state_url(&args.state)?;
    let (catalog, id) = crate::catalog_cmds::open(&args.contract)?;
    let contract = catalog.contract(&id)?.clone();
    let config = config(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let emulator = open(contract, &config, redis_url.as_deref(), &args).await?;
        let listeners = Listeners::bind(&args, &emulator).await?;
        announce(&args, &emulator, &config, &listeners);
        let limits = ServerLimits {
            body_limit: args.body_limit,
            ..ServerLimits::default()
        };
        listeners.run(emulator, limits).await;
        eprintln!("verdict serve: stopped");
        Ok::<_, Failure>(())
    })
}

/// `--state`: `memory` (none) or a Redis URL.
fn state_url(state: &str) -> Result<Option<String>, Failure> {
    match state {
        "memory" => Ok(None),
        url if url.starts_with("redis://") || url.starts_with("rediss://") => {
            Ok(Some(url.to_owned()))
        }
        other => {
            Err(anyhow!("--state {other}: expected memory or a redis://HOST:PORT/DB URL").into())
        }
    }
}

/// The emulator's settings from the flags.
fn config(args: &ServeArgs) -> Result<Config, Failure> {
    let quotas = if args.quota.is_empty() {
        None
    } else {
        Some(
            args.quota
                .iter()
                .map(|q| parse_quota(q))
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    Ok(Config {
        token: args.token.clone().unwrap_or_else(random_token),
        admin_token: args.admin_token.clone(),
        seed: args.seed.unwrap_or_else(|| std::process::id().into()),
        fault_rate: args.fault_rate,
        latency_ms: args.latency_ms.as_deref().map(parse_range).transpose()?,
        quotas,
        accept_delay: args.accept_delay_ms.map(Duration::from_millis),
        store_limit: args.store_limit,
        oauth: verdict_server::OAuthSettings {
            client_id: args.client_id.clone(),
            client_secret: args.client_secret.clone(),
            username: args.username.clone(),
            password: args.password.clone(),
            access_ttl: args.token_ttl.map(|s| Duration::from_secs(s.max(1))),
            refresh_ttl: None,
        },
    })
}

/// The emulator, with its state in memory or shared through Redis.
async fn open(
    contract: verdict::Contract,
    config: &Config,
    redis_url: Option<&str>,
    args: &ServeArgs,
) -> Result<Arc<Emulator>, Failure> {
    let emulator = match redis_url {
        None => Emulator::new(contract, config.clone()).map_err(|e| anyhow!("{e}"))?,
        Some(url) => {
            let group = args.group.clone().unwrap_or_else(|| contract.id.clone());
            let store = verdict_server::RedisState::connect(url, &group)
                .await
                .map_err(|e| anyhow!("--state: {e}"))?;
            Emulator::shared(contract, config.clone(), store)
                .await
                .map_err(|e| anyhow!("--state: {e}"))?
        }
    };
    Ok(Arc::new(emulator))
}

/// The plain port, and a TLS port beside it when asked for or when the API refuses plain
/// HTTP.
struct Listeners {
    plain: tokio::net::TcpListener,
    origin: String,
    tls: Option<(verdict_server::Tls, tokio::net::TcpListener, String)>,
}

impl Listeners {
    async fn bind(args: &ServeArgs, emulator: &Emulator) -> Result<Listeners, Failure> {
        let plain = listen(&args.host, args.port).await?;
        let origin = format!("http://{}", local_addr(&plain)?);
        let tls_port = args.tls_port.or_else(|| {
            emulator.https_only().then(|| {
                if args.port == 0 {
                    0
                } else {
                    args.port.saturating_add(1)
                }
            })
        });
        let Some(port) = tls_port else {
            return Ok(Listeners {
                plain,
                origin,
                tls: None,
            });
        };
        let tls = verdict_server::Tls::self_signed().map_err(|e| anyhow!("{e}"))?;
        emulator.set_certificate(tls.certificate_pem.clone());
        if let Some(path) = &args.cert_out {
            std::fs::write(path, &tls.certificate_pem)
                .with_context(|| format!("cannot write the certificate to {}", path.display()))?;
        }
        let l = listen(&args.host, port).await?;
        let tls_origin = format!("https://{}", local_addr(&l)?);
        Ok(Listeners {
            plain,
            origin,
            tls: Some((tls, l, tls_origin)),
        })
    }

    fn tls_origin(&self) -> Option<&str> {
        self.tls.as_ref().map(|(_, _, o)| o.as_str())
    }

    /// Serves on every port until Ctrl-C or a termination signal.
    async fn run(self, emulator: Arc<Emulator>, limits: ServerLimits) {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop_signal().await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let plain = verdict_server::serve_with(
            emulator.clone(),
            self.plain,
            None,
            limits,
            stopped(stop_rx.clone()),
        );
        match self.tls {
            Some((tls, l, _)) => {
                let secure =
                    verdict_server::serve_with(emulator, l, Some(tls), limits, stopped(stop_rx));
                tokio::join!(plain, secure);
            }
            None => plain.await,
        }
    }
}

async fn listen(host: &str, port: u16) -> Result<tokio::net::TcpListener, Failure> {
    Ok(tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("cannot listen on {host}:{port}"))?)
}

fn local_addr(l: &tokio::net::TcpListener) -> Result<std::net::SocketAddr, Failure> {
    Ok(l.local_addr()
        .context("cannot read the listening address")?)
}

/// The start-up lines: one JSON object with `--json`, a short table otherwise.
fn announce(args: &ServeArgs, emulator: &Emulator, config: &Config, at: &Listeners) {
    let state_shown = match emulator.state_store() {
        Some(store) => format!("{} (group {})", store.url(), store.group()),
        None => "memory".to_owned(),
    };
    let origin = &at.origin;
    let base = at
        .tls_origin()
        .filter(|_| emulator.https_only())
        .unwrap_or(origin);
    let base_url = format!("{base}{}", emulator.base_path());
    let credentials = emulator.credential_headers();
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "contract": emulator.contract().id,
            "base_url": base_url,
            "origin": origin,
            "tls_origin": at.tls_origin(),
            "token": config.token,
            "credentials": credentials,
            "admin": format!("{origin}/_verdict"),
            "admin_token_required": config.admin_token.is_some(),
            "state": state_shown,
            "openapi": format!("{origin}/_verdict/openapi.json"),
            "oauth": emulator.oauth().map(|o| serde_json::json!({
                "client_id": o.client_id,
                "client_secret": o.client_secret,
                "username": o.username,
                "password": o.password,
                "token_ttl_s": o.access_ttl.as_secs(),
            })),
        });
        writeln!(out, "{v}").ok();
        out.flush().ok();
        return;
    }
    let c = emulator.contract();
    let mut lines = vec![
        format!("verdict serve: {} ({})", c.id, c.name),
        format!("  base URL     {base_url}"),
    ];
    if let Some(t) = at.tls_origin() {
        lines.push(format!(
            "  TLS          {t} (self-signed; certificate at {origin}/_verdict/certificate.pem)"
        ));
    }
    lines.extend(credentials.iter().map(|c| format!("  credentials  {c}")));
    let admin_note = if config.admin_token.is_some() {
        " (send X-Verdict-Admin-Token)"
    } else {
        ""
    };
    lines.push(format!("  admin API    {origin}/_verdict{admin_note}"));
    lines.push(format!("  OpenAPI      {origin}/_verdict/openapi.json"));
    lines.push(format!("  state        {state_shown}"));
    lines.push(
        "  faults       send X-Verdict-Fault: status=429; retry-after=3 on any request".into(),
    );
    lines.push("  stop with Ctrl-C".into());
    for l in lines {
        writeln!(out, "{l}").ok();
    }
    out.flush().ok();
}

async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_quotas() {
        assert_eq!(parse_range("5..50").unwrap(), (5, 50));
        assert_eq!(parse_range("7").unwrap(), (7, 7));
        assert!(parse_range("50..5").is_err());
        assert!(parse_range("a..b").is_err());
        assert_eq!(
            parse_quota("10/1").unwrap(),
            Quota {
                requests: 10,
                window_s: 1,
                status: 429,
                group: None,
            }
        );
        assert_eq!(parse_quota("1000/86400:403").unwrap().status, 403);
        for bad in ["10", "0/1", "1/0", "1/1:200", "x/y"] {
            assert!(parse_quota(bad).is_err(), "{bad}");
        }
        assert!(random_token().starts_with("vt_"));
    }
}
