//! How much load retries add when a server sheds load, and what they buy.
//!
//! A loopback server answers 503 (no Retry-After) at once when more than `--limit`
//! requests are in flight, and otherwise waits `--service-ms` and answers 200. Client tasks
//! send logical requests (GETs) for `--seconds` in each of five modes (`--clients`), one
//! after another, each against a fresh server and with a fresh client:
//!
//! - `no-retry`: plain reqwest; a 503 is a failure;
//! - `naive`: up to 3 attempts with a fixed 100 ms pause between them;
//! - `reqwest-builtin`: reqwest's own `retry` module, set up as its documentation shows
//!   for a generic client: a policy scoped to the server's host that retries idempotent
//!   requests answered 5xx or 429, with its defaults otherwise (2 retries per request,
//!   the retry budget of 20 % extra load, retries sent at once: it has no back-off);
//! - `reqwest-retry`: the `reqwest-retry` crate's `RetryTransientMiddleware` with its
//!   default `ExponentialBackoff` and 3 retries, as its documentation shows (back-off from
//!   1 s doubling, full jitter; 5xx, 408 and 429 are transient; no budget);
//! - `verdict`: the verdict middleware with the contract in [`CONTRACT`] (GET retried up
//!   to 3 times, back-off 50 ms doubling to at most 2 s, full jitter; 503 keeps the
//!   baseline's `retry-after` action, which backs off when there is no header) and a
//!   `MemoryStore` with the default retry budget (10 % of first attempts).
//!
//! Two load models are run (`--scenario`):
//!
//! - `paced`: `--paced-tasks` tasks each start one logical request every `--interval-ms`
//!   (their starts spread evenly over the interval), whatever became of the last one,
//!   unless it is still running. New work arrives at a rate that does not depend on how
//!   the server answers: many independent users, the setting in which retries pile up.
//! - `closed`: `--closed-tasks` tasks each start the next logical request as soon as the
//!   last one ends. A client that pauses to retry also stops sending new work, so pauses
//!   throttle the load.
//!
//! For each mode it reports logical requests, the HTTP requests the server saw, successes,
//! requests per success (every request the server saw over every success, logical
//! requests still running when the time is up included), extra requests per success (the
//! HTTP requests beyond the first attempt of each logical request, that is the retries,
//! over every success), goodput (successes that ended within the time, per second) and
//! the ratios of requests per success and goodput against `no-retry`; then whether the
//! issue's targets are met. The last line is one JSON object starting
//! with `{"bench":"retry-storm"`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use verdict_bench::args::Flags;
use verdict_bench::peers::reqwest_retry_policy;
use verdict_bench::server::{LoopbackServer, Reply, json_reply};
use verdict_bench::stats::{json_number, ratio, round};
use verdict_client::store::{BudgetConfig, MemoryStore};

/// The text of `--help`.
const USAGE: &str = "\
retry-storm: requests sent and goodput of no retries, naive retries, reqwest's built-in
retries, the reqwest-retry middleware and verdict against a loopback server that sheds load

usage: retry-storm [--scenario both|paced|closed] [--clients LIST] [--seconds S]
                   [--limit K] [--service-ms MS] [--paced-tasks N] [--interval-ms MS]
                   [--closed-tasks N] [--max-seconds S]

  --scenario S      load model(s) to run (default both)
  --clients LIST    clients to run, comma-separated, in this order: no-retry, naive,
                    reqwest-builtin, reqwest-retry, verdict (default all; the ratios need
                    no-retry)
  --seconds S       length of each mode, in seconds (default 4)
  --limit K         the server answers 503 when more than K requests are in flight (default 4)
  --service-ms MS   the server's time per accepted request (default 10)
  --paced-tasks N   tasks in the paced model (default 400)
  --interval-ms MS  each paced task starts a logical request this often (default 250)
  --closed-tasks N  tasks in the closed model (default 64)
  --max-seconds S   do not start another mode after this many seconds (default 100)";

/// The contract verdict obeys in this benchmark: the HTTP baseline with a retry policy
/// fit for a server that answers within milliseconds. 503 is not restated, so it keeps
/// the baseline's `retry-after` action: without a Retry-After header that is the back-off
/// below.
const CONTRACT: &str = r#"
[contract]
id = "bench-storm"
name = "Retry-storm benchmark"
extends = "http"
summary = "The HTTP baseline with a short retry back-off, for the retry-storm benchmark."

[retry]
max_retries = 3
base_ms = 50
factor = 2.0
cap_ms = 2000
jitter = "full"
"#;

/// Naive retries: attempts per logical request.
const NAIVE_ATTEMPTS: u32 = 3;
/// Naive retries: the fixed pause between attempts.
const NAIVE_PAUSE: Duration = Duration::from_millis(100);

/// No logical request may take longer than this (a guard: the server answers in ms).
const LOGICAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Target from the issue: verdict's requests per success at most this times no-retry's.
const VERDICT_MAX_RPS_RATIO: f64 = 1.2;
/// Target from the issue: naive's requests per success at least this times no-retry's.
const NAIVE_MIN_RPS_RATIO: f64 = 2.5;
/// Target from the issue: verdict's goodput at least this times no-retry's.
const VERDICT_MIN_GOODPUT_RATIO: f64 = 1.0;
/// The retrying clients verdict is compared with in the `fewest extra requests` target.
const PEERS: [Mode; 3] = [Mode::Naive, Mode::ReqwestBuiltin, Mode::ReqwestRetry];

/// The body of a 200.
const OK_BODY: &str = r#"{"id":"bench","status":"ok"}"#;
/// The body of a 503.
const SHED_BODY: &str = r#"{"message":"overloaded, try again later"}"#;

/// How the client treats a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One attempt; a 503 is a failure.
    NoRetry,
    /// Up to [`NAIVE_ATTEMPTS`] attempts, [`NAIVE_PAUSE`] apart.
    Naive,
    /// reqwest's own retries ([`builtin_retry_policy`](verdict_bench::peers::builtin_retry_policy)).
    ReqwestBuiltin,
    /// The reqwest-retry middleware with its default exponential back-off.
    ReqwestRetry,
    /// The verdict middleware with [`CONTRACT`] and the default retry budget.
    Verdict,
}

impl Mode {
    /// Every mode, in the order they run.
    const ALL: [Mode; 5] = [
        Mode::NoRetry,
        Mode::Naive,
        Mode::ReqwestBuiltin,
        Mode::ReqwestRetry,
        Mode::Verdict,
    ];

    /// The name in the human report and on the command line.
    fn name(self) -> &'static str {
        match self {
            Mode::NoRetry => "no-retry",
            Mode::Naive => "naive",
            Mode::ReqwestBuiltin => "reqwest-builtin",
            Mode::ReqwestRetry => "reqwest-retry",
            Mode::Verdict => "verdict",
        }
    }

    /// The key in the JSON line.
    fn key(self) -> &'static str {
        match self {
            Mode::NoRetry => "no_retry",
            Mode::Naive => "naive",
            Mode::ReqwestBuiltin => "reqwest_builtin",
            Mode::ReqwestRetry => "reqwest_retry",
            Mode::Verdict => "verdict",
        }
    }
}

/// A load model.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    /// `paced` or `closed`.
    name: &'static str,
    /// Client tasks.
    tasks: usize,
    /// `Some`: each task starts a logical request this often; `None`: back to back.
    interval: Option<Duration>,
}

/// Settings read from the command line.
#[derive(Debug, Clone)]
struct Settings {
    /// How long each mode sends.
    seconds: Duration,
    /// The server sheds above this many requests in flight.
    limit: usize,
    /// The server's time per accepted request.
    service: Duration,
    /// The load models to run.
    scenarios: Vec<Scenario>,
    /// The clients to run, in [`Mode::ALL`] order.
    modes: Vec<Mode>,
    /// No mode starts after this many seconds.
    max_seconds: f64,
}

/// What the shedding server counts.
#[derive(Debug, Default)]
struct ServerCounts {
    /// Requests being answered now.
    in_flight: AtomicUsize,
    /// Every request.
    seen: AtomicU64,
    /// Requests answered 503.
    shed: AtomicU64,
}

/// Leaves the in-flight count when dropped, also when the connection goes away mid-wait.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The server's answer to one request: 503 at once above the limit, else 200 after the
/// service time.
async fn shed_or_serve(counts: Arc<ServerCounts>, limit: usize, service: Duration) -> Reply {
    counts.seen.fetch_add(1, Ordering::Relaxed);
    let now = counts.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
    let _guard = InFlight(&counts.in_flight);
    if now > limit {
        counts.shed.fetch_add(1, Ordering::Relaxed);
        return json_reply(503, SHED_BODY);
    }
    tokio::time::sleep(service).await;
    json_reply(200, OK_BODY)
}

/// The client of one mode.
#[derive(Clone)]
enum Client {
    /// `verdict_client::http_client()` with no middleware (no-retry and naive; for
    /// reqwest-builtin with its retry policy set).
    Plain(reqwest::Client),
    /// The same with a middleware (reqwest-retry's or verdict's).
    Middleware(reqwest_middleware::ClientWithMiddleware),
}

/// One GET on a plain client: true for a 200 with its body read.
async fn plain_attempt(client: &reqwest::Client, url: &str) -> bool {
    match client.get(url).send().await {
        Ok(r) => {
            let ok = r.status() == http::StatusCode::OK;
            // Read the body either way, so that the connection can be used again.
            r.bytes().await.is_ok() && ok
        }
        Err(_) => false,
    }
}

/// One logical request in `mode`: true when it ends in a 200.
async fn logical(client: &Client, mode: Mode, url: &str) -> bool {
    match (client, mode) {
        // reqwest's own retries happen inside `send`.
        (Client::Plain(c), Mode::NoRetry | Mode::ReqwestBuiltin) => plain_attempt(c, url).await,
        (Client::Plain(c), Mode::Naive) => {
            for attempt in 1..=NAIVE_ATTEMPTS {
                if plain_attempt(c, url).await {
                    return true;
                }
                if attempt < NAIVE_ATTEMPTS {
                    tokio::time::sleep(NAIVE_PAUSE).await;
                }
            }
            false
        }
        (Client::Middleware(c), _) => match c.get(url).send().await {
            // The middleware hands back only what it calls done.
            Ok(r) => {
                let ok = r.status() == http::StatusCode::OK;
                r.bytes().await.is_ok() && ok
            }
            Err(_) => false,
        },
        (Client::Plain(_), Mode::ReqwestRetry | Mode::Verdict) => {
            unreachable!("middleware modes have their own client")
        }
    }
}

/// What one mode measured.
#[derive(Debug, Clone, Copy, Default)]
struct ModeResult {
    /// Logical requests started.
    logical: u64,
    /// Logical requests that ended in a 200.
    successes: u64,
    /// Successes that ended before the mode's time was up.
    successes_in_window: u64,
    /// The mode's time (logical requests start only within it).
    window: Duration,
    /// HTTP requests the server saw.
    server_requests: u64,
    /// Of those, answered 503.
    server_shed: u64,
    /// Paced model: starts that came later than their slot because the previous logical
    /// request of the task was still running.
    late_starts: u64,
    /// Until the last logical request ended.
    elapsed: Duration,
}

impl ModeResult {
    /// HTTP requests the server saw per success.
    fn requests_per_success(&self) -> f64 {
        ratio(self.server_requests as f64, self.successes as f64)
    }

    /// HTTP requests beyond the first attempt of each logical request (the retries), per
    /// success.
    fn extra_per_success(&self) -> f64 {
        ratio(
            self.server_requests as f64 - self.logical as f64,
            self.successes as f64,
        )
    }

    /// Successes per second of the window: the same denominator for every mode, whatever
    /// the length of the logical requests still running when it closes.
    /// The relative counting noise of the goodput: successes in a window vary by about
    /// their square root from run to run, so two goodputs closer than this are equal.
    fn goodput_noise(&self) -> f64 {
        1.0 / (self.successes_in_window.max(1) as f64).sqrt()
    }

    fn goodput(&self) -> f64 {
        ratio(self.successes_in_window as f64, self.window.as_secs_f64())
    }

    /// The share of the server's requests answered 503.
    fn shed_share(&self) -> f64 {
        ratio(self.server_shed as f64, self.server_requests as f64)
    }
}

/// Per-task counts.
#[derive(Debug, Default)]
struct TaskCounts {
    /// Logical requests started.
    logical: u64,
    /// Of those, ended in a 200.
    successes: u64,
    /// Of those, ended within the mode's time.
    in_window: u64,
    /// Starts later than their slot.
    late: u64,
}

/// Runs `mode` under `scenario` against a fresh server for `s.seconds`.
async fn run_mode(
    s: &Settings,
    scenario: Scenario,
    mode: Mode,
    contract: &verdict::Contract,
) -> anyhow::Result<ModeResult> {
    let counts = Arc::new(ServerCounts::default());
    let server = {
        let (counts, limit, service) = (counts.clone(), s.limit, s.service);
        LoopbackServer::start(move || shed_or_serve(counts.clone(), limit, service))?
    };
    let url = server.url("/v1/items/bench");
    let client = match mode {
        Mode::NoRetry | Mode::Naive => Client::Plain(verdict_client::http_client().build()?),
        Mode::ReqwestBuiltin => Client::Plain(verdict_bench::peers::builtin_retry_client(&url)?),
        Mode::ReqwestRetry => Client::Middleware(verdict_bench::peers::reqwest_retry_client()?),
        Mode::Verdict => Client::Middleware(verdict_client::client(
            verdict_client::Verdict::builder(contract.clone())
                .store(Arc::new(MemoryStore::with_budget(BudgetConfig::default())))
                .build(),
        )?),
    };

    let start = Instant::now();
    let end = start + s.seconds;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..scenario.tasks {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            let mut c = TaskCounts::default();
            // Paced: task i's first slot is i/N of the way through the first interval.
            let mut next = scenario
                .interval
                .map(|every| start + every.mul_f64(i as f64 / scenario.tasks as f64));
            loop {
                if let (Some(slot), Some(every)) = (next.as_mut(), scenario.interval) {
                    if *slot >= end {
                        break;
                    }
                    tokio::time::sleep_until((*slot).into()).await;
                    let now = Instant::now();
                    if now >= end {
                        break;
                    }
                    *slot += every;
                    if *slot < now {
                        // Still busy with the last one: skip the missed slots, do not burst.
                        c.late += 1;
                        *slot = now;
                    }
                } else if Instant::now() >= end {
                    break;
                }
                c.logical += 1;
                let ok = tokio::time::timeout(LOGICAL_TIMEOUT, logical(&client, mode, &url))
                    .await
                    .unwrap_or(false);
                if ok {
                    c.successes += 1;
                    if Instant::now() <= end {
                        c.in_window += 1;
                    }
                }
            }
            c
        });
    }
    let mut r = ModeResult {
        window: s.seconds,
        ..ModeResult::default()
    };
    while let Some(c) = tasks.join_next().await {
        let c = c.context("a client task panicked")?;
        r.logical += c.logical;
        r.successes += c.successes;
        r.successes_in_window += c.in_window;
        r.late_starts += c.late;
    }
    r.elapsed = start.elapsed();
    drop(client);
    r.server_requests = counts.seen.load(Ordering::Relaxed);
    r.server_shed = counts.shed.load(Ordering::Relaxed);
    server.stop().await;
    Ok(r)
}

/// Runs the benchmark; a failure is printed and exits with 2.
#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("retry-storm: {e:#}");
        std::process::exit(2);
    }
}

/// Reads the command line.
fn settings() -> anyhow::Result<Settings> {
    let flags = Flags::parse(
        std::env::args().skip(1),
        &[
            "scenario",
            "seconds",
            "limit",
            "service-ms",
            "paced-tasks",
            "interval-ms",
            "closed-tasks",
            "max-seconds",
            "clients",
        ],
        USAGE,
    )?;
    let paced = Scenario {
        name: "paced",
        tasks: flags.get("paced-tasks", 400usize)?.max(1),
        interval: Some(Duration::from_millis(
            flags.get("interval-ms", 250u64)?.max(1),
        )),
    };
    let closed = Scenario {
        name: "closed",
        tasks: flags.get("closed-tasks", 64usize)?.max(1),
        interval: None,
    };
    let scenarios = match flags.get("scenario", String::from("both"))?.as_str() {
        "both" => vec![paced, closed],
        "paced" => vec![paced],
        "closed" => vec![closed],
        other => bail!("--scenario: expected both, paced or closed, not {other:?}"),
    };
    let list = flags.get("clients", String::from("all"))?;
    let modes = if list == "all" {
        Mode::ALL.to_vec()
    } else {
        let mut wanted = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match Mode::ALL.iter().find(|m| m.name() == name) {
                Some(m) => wanted.push(*m),
                None => bail!(
                    "--clients: unknown client {name:?}; expected some of no-retry, naive, \
                     reqwest-builtin, reqwest-retry, verdict"
                ),
            }
        }
        if wanted.is_empty() {
            bail!("--clients: name at least one client");
        }
        Mode::ALL
            .into_iter()
            .filter(|m| wanted.contains(m))
            .collect()
    };
    let seconds: f64 = flags.get("seconds", 4.0)?;
    if !(seconds > 0.0 && seconds <= 600.0) {
        bail!("--seconds: expected a number of seconds from 0 to 600");
    }
    Ok(Settings {
        seconds: Duration::from_secs_f64(seconds),
        limit: flags.get("limit", 4usize)?,
        service: Duration::from_millis(flags.get("service-ms", 10u64)?),
        scenarios,
        modes,
        max_seconds: flags.get("max-seconds", 100.0)?,
    })
}

/// [`CONTRACT`] loaded over the built-in catalog.
fn bench_contract() -> anyhow::Result<verdict::Contract> {
    let (catalog, id) = verdict::Catalog::builtin()
        .with_file(verdict::SourceFile::new("bench-storm.toml", CONTRACT))
        .map_err(|e| anyhow::anyhow!("the benchmark's contract is invalid:\n{e}"))?;
    Ok(catalog
        .get(&id)
        .context("the benchmark's contract")?
        .clone())
}

/// The contract's retry policy and the store's budget, for the report.
fn verdict_policy(contract: &verdict::Contract) -> Value {
    let (r, b) = (&contract.retry, BudgetConfig::default());
    json!({
        "contract": contract.id,
        "max_retries": r.max_retries,
        "base_ms": r.base.as_millis() as u64,
        "factor": r.factor,
        "cap_ms": r.cap.as_millis() as u64,
        "jitter": r.jitter.as_str(),
        "budget_ratio": b.ratio,
        "budget_per_second": b.per_second,
        "budget_cap": b.cap,
    })
}

/// reqwest's built-in policy, for the report: the builder's defaults as its documentation
/// gives them (the 10 retries a second are the floor its budget is built with).
fn reqwest_builtin_policy() -> Value {
    json!({
        "retry_on": "5xx or 429, idempotent methods, same host",
        "max_retries_per_request": 2,
        "backoff": "none",
        "budget_extra_load": 0.2,
        "budget_min_per_second": 10,
    })
}

/// reqwest-retry's policy, for the report, read from the policy itself.
fn reqwest_retry_report() -> Value {
    let p = reqwest_retry_policy();
    json!({
        "max_retries": p.max_n_retries,
        "min_interval_ms": p.min_retry_interval.as_millis() as u64,
        "max_interval_ms": p.max_retry_interval.as_millis() as u64,
        "base": p.base,
        "jitter": format!("{:?}", p.jitter).to_lowercase(),
        "retry_on": "connection errors, timeouts, 5xx, 408, 429",
        "budget": Value::Null,
    })
}

/// Runs every scenario's modes and prints the reports and the JSON line.
async fn run() -> anyhow::Result<()> {
    let s = settings()?;
    let contract = bench_contract()?;
    let (r, b) = (&contract.retry, BudgetConfig::default());

    println!(
        "retry storm: server sheds above {} in flight, {} ms per accepted request \
         (capacity at most {:.0}/s); {} s per mode",
        s.limit,
        s.service.as_millis(),
        ratio(s.limit as f64, s.service.as_secs_f64()),
        s.seconds.as_secs_f64()
    );
    println!(
        "  verdict: contract {:?}: up to {} retries, back-off {} ms x{} up to {} ms, {} jitter; \
         retry budget {} per request (+{}/s, at most {})",
        contract.id,
        r.max_retries,
        r.base.as_millis(),
        r.factor,
        r.cap.as_millis(),
        r.jitter,
        b.ratio,
        b.per_second,
        b.cap
    );
    println!(
        "  naive: up to {NAIVE_ATTEMPTS} attempts, {} ms apart",
        NAIVE_PAUSE.as_millis()
    );
    println!(
        "  reqwest-builtin: reqwest::retry for the host, 5xx or 429 on idempotent methods; \
         up to 2 retries sent at once (no back-off); budget 20 % extra load (at least 10/s)"
    );
    let p = reqwest_retry_policy();
    println!(
        "  reqwest-retry: default ExponentialBackoff, up to {} retries, back-off {} ms x{} \
         up to {} s, {:?} jitter; 5xx, 408, 429 transient; no budget",
        p.max_n_retries.unwrap_or(0),
        p.min_retry_interval.as_millis(),
        p.base,
        p.max_retry_interval.as_secs(),
        p.jitter
    );
    let started = Instant::now();
    let mut out = Vec::new();
    for sc in &s.scenarios {
        let mut results: Vec<(Mode, ModeResult)> = Vec::new();
        for &mode in &s.modes {
            if started.elapsed().as_secs_f64() > s.max_seconds {
                break;
            }
            results.push((mode, run_mode(&s, *sc, mode, &contract).await?));
        }
        out.push(report(sc, &results, s.modes.len()));
    }
    let line = json!({
        "bench": "retry-storm",
        "server": { "limit": s.limit, "service_ms": s.service.as_millis() as u64 },
        "seconds_per_mode": s.seconds.as_secs_f64(),
        "verdict_policy": verdict_policy(&contract),
        "naive_policy": { "attempts": NAIVE_ATTEMPTS, "pause_ms": NAIVE_PAUSE.as_millis() as u64 },
        "reqwest_builtin_policy": reqwest_builtin_policy(),
        "reqwest_retry_policy": reqwest_retry_report(),
        "clients": s.modes.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "elapsed_s": round(started.elapsed().as_secs_f64(), 1),
        "scenarios": out,
    });
    println!("{line}");
    Ok(())
}

/// Prints one scenario's table and targets; returns its JSON. `planned` is how many modes
/// were to run.
fn report(sc: &Scenario, results: &[(Mode, ModeResult)], planned: usize) -> Value {
    match sc.interval {
        Some(every) => println!(
            "\n{}: {} tasks, each starting a logical request every {} ms (offered {:.0}/s)",
            sc.name,
            sc.tasks,
            every.as_millis(),
            sc.tasks as f64 / every.as_secs_f64()
        ),
        None => println!(
            "\n{}: {} tasks, each starting the next logical request when the last ends",
            sc.name, sc.tasks
        ),
    }
    println!(
        "  {:<15} {:>7} {:>7} {:>7} {:>5} {:>8} {:>6} {:>10} {:>7} {:>6}",
        "mode",
        "logical",
        "http",
        "success",
        "shed",
        "req/succ",
        "x req",
        "extra/succ",
        "goodput",
        "x good"
    );
    let base = results
        .iter()
        .find(|(m, _)| *m == Mode::NoRetry)
        .map(|(_, r)| *r);
    let mut modes = serde_json::Map::new();
    for (mode, r) in results {
        let rps_ratio = base.map_or(f64::NAN, |b| {
            ratio(r.requests_per_success(), b.requests_per_success())
        });
        let good_ratio = base.map_or(f64::NAN, |b| ratio(r.goodput(), b.goodput()));
        println!(
            "  {:<15} {:>7} {:>7} {:>7} {:>4.0}% {:>8.2} {:>6.2} {:>10.2} {:>5.0}/s {:>6.2}",
            mode.name(),
            r.logical,
            r.server_requests,
            r.successes,
            r.shed_share() * 100.0,
            r.requests_per_success(),
            rps_ratio,
            r.extra_per_success(),
            r.goodput(),
            good_ratio
        );
        modes.insert(
            mode.key().into(),
            json!({
                "logical_requests": r.logical,
                "http_requests": r.server_requests,
                "shed_503": r.server_shed,
                "successes": r.successes,
                "requests_per_success": json_number(round(r.requests_per_success(), 3)),
                "extra_requests_per_success": json_number(round(r.extra_per_success(), 3)),
                "successes_in_window": r.successes_in_window,
                "goodput_per_s": json_number(round(r.goodput(), 1)),
                "requests_per_success_ratio": json_number(round(rps_ratio, 3)),
                "goodput_ratio": json_number(round(good_ratio, 3)),
                "late_starts": r.late_starts,
                "elapsed_s": round(r.elapsed.as_secs_f64(), 3),
            }),
        );
    }
    if let Some(b) = base {
        println!(
            "  no-retry: {:.0}% of requests (all first attempts) answered 503",
            b.shed_share() * 100.0
        );
    }
    if sc.interval.is_some() {
        let late: Vec<String> = results
            .iter()
            .map(|(m, r)| format!("{} {}", m.name(), r.late_starts))
            .collect();
        println!(
            "  starts later than their slot (task still busy): {}",
            late.join(", ")
        );
    }

    let get = |m: Mode| results.iter().find(|(x, _)| *x == m).map(|(_, r)| *r);
    let mut targets = Vec::new();
    if let (Some(b), Some(v)) = (base, get(Mode::Verdict)) {
        let x = ratio(v.requests_per_success(), b.requests_per_success());
        targets.push(target(
            "verdict requests per success vs no-retry",
            x,
            "<=",
            VERDICT_MAX_RPS_RATIO,
        ));
    }
    if let (Some(b), Some(n)) = (base, get(Mode::Naive)) {
        let x = ratio(n.requests_per_success(), b.requests_per_success());
        targets.push(target(
            "naive requests per success vs no-retry",
            x,
            ">=",
            NAIVE_MIN_RPS_RATIO,
        ));
    }
    if let (Some(b), Some(v)) = (base, get(Mode::Verdict)) {
        let x = ratio(v.goodput(), b.goodput());
        targets.push(target(
            "verdict goodput vs no-retry",
            x,
            ">=",
            VERDICT_MIN_GOODPUT_RATIO,
        ));
    }
    if let Some(v) = get(Mode::Verdict) {
        let peers: Vec<(Mode, ModeResult)> = PEERS
            .iter()
            .filter_map(|&m| get(m).map(|r| (m, r)))
            .collect();
        if !peers.is_empty() {
            targets.push(peer_target(v, &peers));
        }
    }
    if results.len() < planned {
        println!("  (stopped early: --max-seconds reached)");
    }
    json!({
        "name": sc.name,
        "tasks": sc.tasks,
        "interval_ms": sc.interval.map(|d| d.as_millis() as u64),
        "modes": modes,
        "targets": targets,
    })
}

/// The target against the other retrying clients: verdict sends the fewest extra requests
/// per success of them all, with a goodput at least each of theirs. Every client is held to
/// the server's capacity, so goodputs are compared within their counting noise (1/sqrt of
/// the successes): a goodput lower by less than that is not lower. Prints it; returns it as
/// JSON.
fn peer_target(v: ModeResult, peers: &[(Mode, ModeResult)]) -> Value {
    let fewest = peers
        .iter()
        .all(|(_, p)| v.extra_per_success() <= p.extra_per_success());
    let at_least = |p: &ModeResult| v.goodput() >= p.goodput() * (1.0 - v.goodput_noise());
    let goodput = peers.iter().all(|(_, p)| at_least(p));
    let met = fewest && goodput;
    let each: Vec<String> = peers
        .iter()
        .map(|(m, p)| {
            format!(
                "{} {:.2}, {:.0}/s",
                m.name(),
                p.extra_per_success(),
                p.goodput()
            )
        })
        .collect();
    println!(
        "  target: verdict fewest extra requests per success of the retrying clients with \
         goodput >= each (within its counting noise, {:.1} %): verdict {:.2}, {:.0}/s; {}: {} \
         (fewest: {}, goodput: {})",
        v.goodput_noise() * 100.0,
        v.extra_per_success(),
        v.goodput(),
        each.join("; "),
        if met { "met" } else { "NOT met" },
        if fewest { "yes" } else { "no" },
        if goodput { "yes" } else { "no" },
    );
    let mut compared = serde_json::Map::new();
    for (m, p) in peers {
        compared.insert(
            m.key().into(),
            json!({
                "extra_requests_per_success": json_number(round(p.extra_per_success(), 3)),
                "goodput_per_s": json_number(round(p.goodput(), 1)),
                "fewer_extra": v.extra_per_success() <= p.extra_per_success(),
                "goodput_at_least": at_least(p),
            }),
        );
    }
    json!({
        "target": "verdict fewest extra requests per success of the retrying clients, goodput >= each",
        "value": json_number(round(v.extra_per_success(), 3)),
        "goodput_per_s": json_number(round(v.goodput(), 1)),
        "goodput_noise": json_number(round(v.goodput_noise(), 4)),
        "peers": compared,
        "fewest_extra": fewest,
        "goodput_at_least_each": goodput,
        "met": met,
    })
}

/// Prints whether `value` meets `op limit`; returns it as JSON.
fn target(what: &str, value: f64, op: &str, limit: f64) -> Value {
    let met = match op {
        "<=" => value <= limit,
        _ => value >= limit,
    };
    println!(
        "  target: {what} {value:.2} {op} {limit}: {}",
        if met { "met" } else { "NOT met" }
    );
    json!({
        "target": what,
        "value": json_number(round(value, 3)),
        "op": op,
        "limit": limit,
        "met": met,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_loads_with_the_policy_it_promises() {
        let c = bench_contract().unwrap();
        assert_eq!(c.id, "bench-storm");
        assert_eq!(c.retry.max_retries, 3);
        assert_eq!(c.retry.base, Duration::from_millis(50));
        assert_eq!(c.retry.cap, Duration::from_secs(2));
        assert_eq!(c.retry.jitter.as_str(), "full");
        assert!(c.retry.may_repeat(&http::Method::GET));
        let unavailable = c.status(503).unwrap();
        assert_eq!(unavailable.action.kind().as_str(), "retry-after");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reqwest_builtin_retries_a_503_twice_at_once() {
        let counts = Arc::new(ServerCounts::default());
        let c = counts.clone();
        // Limit 0: every request is answered 503.
        let server =
            LoopbackServer::start(move || shed_or_serve(c.clone(), 0, Duration::ZERO)).unwrap();
        let client = verdict_bench::peers::builtin_retry_client(&server.url("/")).unwrap();
        let r = client.get(server.url("/")).send().await.unwrap();
        assert_eq!(r.status(), 503);
        assert_eq!(counts.seen.load(Ordering::Relaxed), 3);
        server.stop().await;
    }

    #[test]
    fn reqwest_retry_uses_its_documented_defaults() {
        let p = reqwest_retry_policy();
        assert_eq!(p.max_n_retries, Some(3));
        assert_eq!(p.min_retry_interval, Duration::from_secs(1));
        assert_eq!(p.base, 2);
        assert_eq!(p.jitter, reqwest_retry::Jitter::Full);
    }

    #[test]
    fn extra_requests_are_the_retries() {
        let r = ModeResult {
            logical: 100,
            successes: 40,
            server_requests: 120,
            ..ModeResult::default()
        };
        assert_eq!(r.requests_per_success(), 3.0);
        assert_eq!(r.extra_per_success(), 0.5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_server_sheds_above_its_limit() {
        let counts = Arc::new(ServerCounts::default());
        let c = counts.clone();
        let server =
            LoopbackServer::start(move || shed_or_serve(c.clone(), 1, Duration::from_millis(200)))
                .unwrap();
        let client = verdict_client::http_client().build().unwrap();
        let url = server.url("/");
        let (a, b) = tokio::join!(client.get(&url).send(), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            client.get(&url).send().await
        });
        assert_eq!(a.unwrap().status(), 200);
        assert_eq!(b.unwrap().status(), 503);
        assert_eq!(counts.seen.load(Ordering::Relaxed), 2);
        assert_eq!(counts.shed.load(Ordering::Relaxed), 1);
        assert_eq!(counts.in_flight.load(Ordering::Relaxed), 0);
        server.stop().await;
    }
}
