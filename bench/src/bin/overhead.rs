//! What the verdict middleware costs per request on the happy path.
//!
//! A loopback hyper server answers every GET with 200 and a small JSON body. Clients built
//! from the same `verdict_client::http_client()` builder send to it: one bare, one with the
//! middleware obeying the built-in `webex` contract, and, for information, four more:
//! reqwest-middleware with no middleware in it (the cost of the layer alone), with one
//! middleware that only forwards (the floor under any middleware), reqwest-retry's
//! middleware and reqwest's own `retry` module, each set up as its documentation shows (the
//! cost of the retrying clients a user would choose instead). In rounds, bare and verdict
//! taking turns at going first so that drift (CPU frequency, caches, the other clients'
//! garbage) falls on both:
//!
//! - sequential: each client sends `--requests` GETs one after another on its one
//!   keep-alive connection, the clients taking turns every `--block` GETs; per-request
//!   latency (send to last body byte) is recorded;
//! - concurrent: `--tasks` tasks per client share `--concurrent-requests` GETs per round,
//!   sent in four turns that alternate with the other clients'; the throughput (requests
//!   per second) is recorded.
//!
//! It prints a short report and, last, one JSON line starting with `{"bench":"overhead"`.
//! The targets (median latency ratio verdict/bare at most 1.05, throughput ratio at least
//! 0.90) are reported, not asserted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use verdict_bench::args::Flags;
use verdict_bench::server::{LoopbackServer, json_reply};
use verdict_bench::stats::{Samples, json_number, micros, ratio, round};

/// The text of `--help`.
const USAGE: &str = "\
overhead: per-request cost of the verdict middleware against bare reqwest, on loopback

usage: overhead [--requests N] [--rounds N] [--block N] [--warmup N] [--tasks N]
                [--concurrent-requests N] [--max-seconds S]

  --requests N             sequential GETs per client per round (default 2000)
  --rounds N               rounds; bare and verdict alternate at going first (default 5)
  --block N                within a round the clients take turns every N GETs (default 100)
  --warmup N               GETs per client before measuring (default 500)
  --tasks N                tasks per client in the concurrent part; 0 skips it (default 16)
  --concurrent-requests N  GETs per client per round in the concurrent part (default 8000)
  --max-seconds S          stop starting new rounds after this many seconds (default 60)";

/// The body the server sends: small JSON, as an API's GET of one resource would be.
const BODY: &str = r#"{"id":"Y2lzY29zcGFyazovL3VzL1JPT00vYmVuY2g","title":"bench","type":"group","isLocked":false}"#;

/// Turns per round of the concurrent part (the clients alternate between them).
const CONCURRENT_TURNS: usize = 4;

/// The target from the issue: the middleware adds at most 5 % to the median latency.
const TARGET_MEDIAN_RATIO: f64 = 1.05;
/// The target from the issue: the middleware keeps at least 90 % of the throughput.
const TARGET_THROUGHPUT_RATIO: f64 = 0.90;

/// Where bare and verdict are in the list of clients; the others are for information.
const BARE: usize = 0;
const VERDICT: usize = 1;

/// How a client sends.
#[derive(Clone)]
enum Sender {
    /// A reqwest client (bare, or with reqwest's own retries).
    Plain(reqwest::Client),
    /// A reqwest-middleware client (verdict's, reqwest-retry's, or none).
    Middleware(reqwest_middleware::ClientWithMiddleware),
}

/// One client under measurement.
#[derive(Clone)]
struct Client {
    /// The name in the report.
    name: &'static str,
    /// The key in the JSON line.
    key: &'static str,
    /// What it is, in a few words, for the report.
    about: &'static str,
    sender: Sender,
}

impl Client {
    /// One GET, body read to the end; an error unless the answer is 200 with the body.
    async fn get(&self, url: &str) -> anyhow::Result<()> {
        let response = match &self.sender {
            Sender::Plain(c) => c.get(url).send().await?,
            Sender::Middleware(c) => c.get(url).send().await?,
        };
        if response.status() != http::StatusCode::OK {
            bail!("{}: unexpected status {}", self.name, response.status());
        }
        let body = response.bytes().await?;
        if body.len() != BODY.len() {
            bail!("{}: short body ({} bytes)", self.name, body.len());
        }
        Ok(())
    }
}

/// A middleware that hands the request on and does nothing else: what any middleware
/// costs (its boxed future and one more step of the chain), the floor under verdict's.
struct Forward;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Forward {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        next.run(req, extensions).await
    }
}

/// Every client, bare at [`BARE`] and verdict at [`VERDICT`], each with a fresh
/// connection pool.
fn clients(contract: &verdict::Contract, url: &str) -> anyhow::Result<Vec<Client>> {
    let plain = |c| Sender::Plain(c);
    Ok(vec![
        Client {
            name: "bare",
            key: "bare",
            about: "reqwest, no middleware",
            sender: plain(verdict_client::http_client().build()?),
        },
        Client {
            name: "verdict",
            key: "verdict",
            about: "the verdict middleware, webex contract",
            sender: Sender::Middleware(verdict_client::client(
                verdict_client::Verdict::builder(contract.clone()).build(),
            )?),
        },
        Client {
            name: "wrapper",
            key: "wrapper",
            about: "reqwest-middleware, no middleware",
            sender: Sender::Middleware(
                reqwest_middleware::ClientBuilder::new(verdict_client::http_client().build()?)
                    .build(),
            ),
        },
        Client {
            name: "forward",
            key: "forward",
            about: "reqwest-middleware, one middleware that only forwards",
            sender: Sender::Middleware(
                reqwest_middleware::ClientBuilder::new(verdict_client::http_client().build()?)
                    .with(Forward)
                    .build(),
            ),
        },
        Client {
            name: "reqwest-retry",
            key: "reqwest_retry",
            about: "reqwest-retry's middleware, its documented setup",
            sender: Sender::Middleware(verdict_bench::peers::reqwest_retry_client()?),
        },
        Client {
            name: "reqwest-builtin",
            key: "reqwest_builtin",
            about: "reqwest's own retry module, its documented setup",
            sender: plain(verdict_bench::peers::builtin_retry_client(url)?),
        },
    ])
}

/// The order in which the clients take their turns: in even rounds bare goes first and
/// verdict last, in odd rounds the other way round, and every other block (or turn) of a
/// round runs the order backwards, so that a slow spell falls on all of them.
fn order(n: usize, round: usize, block: usize) -> Vec<usize> {
    let mut o: Vec<usize> = std::iter::once(BARE)
        .chain((0..n).filter(|&i| i != BARE && i != VERDICT))
        .chain(std::iter::once(VERDICT))
        .collect();
    if round % 2 == 1 {
        o.swap(0, n - 1);
    }
    if block % 2 == 1 {
        o.reverse();
    }
    o
}

/// Settings read from the command line.
struct Settings {
    /// Sequential GETs per client per round.
    requests: usize,
    /// Rounds.
    rounds: usize,
    /// Sequential GETs per client before the next client takes its turn.
    block: usize,
    /// Warm-up GETs per client.
    warmup: usize,
    /// Tasks per client in the concurrent part (0: no concurrent part).
    tasks: usize,
    /// Concurrent GETs per client per round.
    concurrent_requests: usize,
    /// No round starts after this many seconds.
    max_seconds: f64,
}

/// What one client measured over all rounds.
#[derive(Default)]
struct Measured {
    /// Every sequential latency.
    latency: Samples,
    /// Per round: sequential median of this round.
    round_medians: Vec<Duration>,
    /// Concurrent part: requests summed over rounds.
    concurrent_requests: usize,
    /// Concurrent part: time summed over rounds.
    concurrent_time: Duration,
    /// Per round: concurrent throughput.
    round_throughput: Vec<f64>,
}

impl Measured {
    /// Concurrent requests per second over all rounds.
    fn throughput(&self) -> f64 {
        ratio(
            self.concurrent_requests as f64,
            self.concurrent_time.as_secs_f64(),
        )
    }
}

/// Sends `n` GETs one after another and records each one's latency.
async fn sequential(client: &Client, url: &str, n: usize) -> anyhow::Result<Samples> {
    let mut s = Samples::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        client.get(url).await?;
        s.push(t.elapsed());
    }
    Ok(s)
}

/// Sends `n` GETs from `tasks` tasks that each take the next one until none is left;
/// returns the wall time.
async fn concurrent(
    client: &Client,
    url: &str,
    tasks: usize,
    n: usize,
) -> anyhow::Result<Duration> {
    let left = Arc::new(AtomicUsize::new(n));
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let (client, url, left) = (client.clone(), url.to_owned(), left.clone());
        set.spawn(async move {
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(1))
                .is_ok()
            {
                client.get(&url).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = set.join_next().await {
        r.context("a client task panicked")??;
    }
    Ok(start.elapsed())
}

/// Runs the benchmark; a failure is printed and exits with 2.
#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("overhead: {e:#}");
        std::process::exit(2);
    }
}

/// Reads the flags, starts the server, measures, stops the server and reports.
async fn run() -> anyhow::Result<()> {
    let flags = Flags::parse(
        std::env::args().skip(1),
        &[
            "requests",
            "rounds",
            "block",
            "warmup",
            "tasks",
            "concurrent-requests",
            "max-seconds",
        ],
        USAGE,
    )?;
    let s = Settings {
        requests: flags.get("requests", 2000usize)?.max(1),
        rounds: flags.get("rounds", 5usize)?.max(1),
        block: flags.get("block", 100usize)?.max(1),
        warmup: flags.get("warmup", 500usize)?,
        tasks: flags.get("tasks", 16usize)?,
        concurrent_requests: flags.get("concurrent-requests", 8000usize)?,
        max_seconds: flags.get("max-seconds", 60.0f64)?,
    };

    let server = LoopbackServer::start(|| async { json_reply(200, BODY) })?;
    let result = measure(&s, &server).await;
    let connections = server.connections();
    server.stop().await;
    let (clients, measured, rounds_done) = result?;
    report(&s, &clients, measured, rounds_done, connections);
    Ok(())
}

/// Runs the warm-up and the rounds; returns the clients, what each measured (in the same
/// order) and the number of rounds completed.
async fn measure(
    s: &Settings,
    server: &LoopbackServer,
) -> anyhow::Result<(Vec<Client>, Vec<Measured>, usize)> {
    let url = server.url("/v1/rooms/bench");
    let contract = verdict::Catalog::builtin()
        .get("webex")
        .context("the built-in webex contract is missing")?
        .clone();
    // One set for the sequential part, so that each of its clients holds exactly one
    // connection, and one set for the concurrent part.
    let (clients, pool) = (clients(&contract, &url)?, clients(&contract, &url)?);
    let started = Instant::now();

    // Warm-up: connect, fill caches, let the allocator settle.
    for c in &clients {
        sequential(c, &url, s.warmup).await?;
    }
    if s.tasks > 0 {
        for c in &pool {
            concurrent(c, &url, s.tasks, (s.warmup * 4).max(s.tasks)).await?;
        }
    }

    let mut measured: Vec<Measured> = clients.iter().map(|_| Measured::default()).collect();
    let mut rounds_done = 0;
    for round in 0..s.rounds {
        if started.elapsed().as_secs_f64() > s.max_seconds {
            break;
        }
        sequential_round(s, &clients, &url, round, &mut measured).await?;
        if s.tasks > 0 && s.concurrent_requests > 0 {
            concurrent_round(s, &pool, &url, round, &mut measured).await?;
        }
        rounds_done += 1;
    }
    Ok((clients, measured, rounds_done))
}

/// The sequential part of one round: the clients take turns every `s.block` GETs.
async fn sequential_round(
    s: &Settings,
    clients: &[Client],
    url: &str,
    round: usize,
    measured: &mut [Measured],
) -> anyhow::Result<()> {
    let mut lat: Vec<Samples> = clients.iter().map(|_| Samples::default()).collect();
    let mut done = 0;
    while done < s.requests {
        let n = s.block.min(s.requests - done);
        for i in order(clients.len(), round, done / s.block) {
            lat[i].extend(&sequential(&clients[i], url, n).await?);
        }
        done += n;
    }
    for (m, mut l) in measured.iter_mut().zip(lat) {
        m.round_medians.push(l.median());
        m.latency.extend(&l);
    }
    Ok(())
}

/// The concurrent part of one round: each client's share in [`CONCURRENT_TURNS`] turns.
async fn concurrent_round(
    s: &Settings,
    pool: &[Client],
    url: &str,
    round: usize,
    measured: &mut [Measured],
) -> anyhow::Result<()> {
    let mut time = vec![Duration::ZERO; pool.len()];
    let part = s.concurrent_requests.div_ceil(CONCURRENT_TURNS);
    let (mut done, mut turn) = (0, 0);
    while done < s.concurrent_requests {
        let n = part.min(s.concurrent_requests - done);
        for i in order(pool.len(), round, turn) {
            time[i] += concurrent(&pool[i], url, s.tasks, n).await?;
        }
        done += n;
        turn += 1;
    }
    for (m, t) in measured.iter_mut().zip(time) {
        m.concurrent_requests += s.concurrent_requests;
        m.concurrent_time += t;
        m.round_throughput
            .push(ratio(s.concurrent_requests as f64, t.as_secs_f64()));
    }
    Ok(())
}

/// One client's results next to bare's.
struct Row {
    median: Duration,
    p99: Duration,
    median_ratio: f64,
    p99_ratio: f64,
    /// Per round: the median's ratio to bare's.
    round_ratios: Vec<f64>,
    throughput: f64,
    throughput_ratio: f64,
    /// Per round: the throughput's ratio to bare's.
    round_throughput: Vec<f64>,
}

/// Bare's figures, which every row is compared with.
struct Base {
    median: Duration,
    p99: Duration,
    throughput: f64,
    /// Per round: the median, in seconds.
    round_medians: Vec<f64>,
    /// Per round: the throughput.
    round_throughput: Vec<f64>,
}

impl Base {
    fn of(m: &mut Measured) -> Base {
        Base {
            median: m.latency.median(),
            p99: m.latency.quantile(0.99),
            throughput: m.throughput(),
            round_medians: m.round_medians.iter().map(Duration::as_secs_f64).collect(),
            round_throughput: m.round_throughput.clone(),
        }
    }
}

impl Row {
    /// The row of `m`, as ratios to `base`.
    fn of(m: &mut Measured, base: &Base) -> Row {
        let own = Base::of(m);
        Row {
            median: own.median,
            p99: own.p99,
            median_ratio: ratio(own.median.as_secs_f64(), base.median.as_secs_f64()),
            p99_ratio: ratio(own.p99.as_secs_f64(), base.p99.as_secs_f64()),
            round_ratios: per_round(&own.round_medians, &base.round_medians),
            throughput: own.throughput,
            throughput_ratio: ratio(own.throughput, base.throughput),
            round_throughput: per_round(&own.round_throughput, &base.round_throughput),
        }
    }

    /// The row in the JSON line.
    fn json(&self, samples: usize, concurrent: bool) -> Value {
        let mut v = json!({
            "median_us": micros(self.median),
            "p99_us": micros(self.p99),
            "samples": samples,
            "median_ratio": json_number(round(self.median_ratio, 4)),
            "p99_ratio": json_number(round(self.p99_ratio, 4)),
            "round_median_ratios": self.round_ratios,
        });
        if concurrent {
            v["rps"] = json_number(round(self.throughput, 0));
            v["throughput_ratio"] = json_number(round(self.throughput_ratio, 4));
            v["round_throughput_ratios"] = json!(self.round_throughput);
        }
        v
    }
}

/// The ratios of `a` to `b`, item by item, to three places.
fn per_round(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .map(|(a, b)| round(ratio(*a, *b), 3))
        .collect()
}

/// Prints the human report and the JSON line.
fn report(
    s: &Settings,
    clients: &[Client],
    mut measured: Vec<Measured>,
    rounds_done: usize,
    connections: u64,
) {
    let base = Base::of(&mut measured[BARE]);
    let rows: Vec<Row> = measured.iter_mut().map(|m| Row::of(m, &base)).collect();
    let concurrent = s.tasks > 0 && s.concurrent_requests > 0 && rounds_done > 0;
    print_report(s, clients, &rows, rounds_done, concurrent, connections);

    let v = &rows[VERDICT];
    let median_met = v.median_ratio <= TARGET_MEDIAN_RATIO;
    let throughput_met = v.throughput_ratio >= TARGET_THROUGHPUT_RATIO;
    let mut sequential = Map::new();
    let mut by_client = Map::new();
    for ((c, row), m) in clients.iter().zip(&rows).zip(&measured) {
        by_client.insert(c.key.into(), row.json(m.latency.len(), concurrent));
    }
    sequential.insert("median_ratio".into(), json_number(round(v.median_ratio, 4)));
    sequential.insert("p99_ratio".into(), json_number(round(v.p99_ratio, 4)));
    sequential.insert("target_median_ratio".into(), json!(TARGET_MEDIAN_RATIO));
    sequential.insert("target_met".into(), json!(median_met));
    let line = json!({
        "bench": "overhead",
        "contract": "webex",
        "rounds": rounds_done,
        "rounds_asked": s.rounds,
        "requests_per_round": s.requests,
        "block": s.block,
        "warmup": s.warmup,
        "sequential": sequential,
        "concurrent": if concurrent {
            json!({
                "tasks": s.tasks,
                "requests_per_round": s.concurrent_requests,
                "throughput_ratio": json_number(round(v.throughput_ratio, 4)),
                "target_throughput_ratio": TARGET_THROUGHPUT_RATIO,
                "target_met": throughput_met,
            })
        } else {
            Value::Null
        },
        "clients": by_client,
        "server_connections": connections,
    });
    println!("{line}");
}

/// Prints the human report: a line per client, sequential and concurrent.
fn print_report(
    s: &Settings,
    clients: &[Client],
    rows: &[Row],
    rounds_done: usize,
    concurrent: bool,
    connections: u64,
) {
    println!("verdict middleware overhead (loopback, HTTP/1, keep-alive, webex contract)");
    println!(
        "  sequential: {} rounds x {} GETs per client (in turns of {}), after {} warm-up GETs",
        rounds_done, s.requests, s.block, s.warmup
    );
    for (c, r) in clients.iter().zip(rows) {
        println!(
            "    {:<16} median {:>7.1} us  p99 {:>7.1} us  ratio to bare {:.3}   ({})",
            c.name,
            micros(r.median),
            micros(r.p99),
            r.median_ratio,
            c.about
        );
    }
    let v = &rows[VERDICT];
    println!("    verdict/bare per round (median): {:?}", v.round_ratios);
    let met = |m: bool| if m { "met" } else { "NOT met" };
    println!(
        "    target median ratio verdict/bare <= {TARGET_MEDIAN_RATIO}: {}",
        met(v.median_ratio <= TARGET_MEDIAN_RATIO)
    );
    if concurrent {
        println!(
            "  concurrent: {} tasks per client, {} rounds x {} GETs per client",
            s.tasks, rounds_done, s.concurrent_requests
        );
        for (c, r) in clients.iter().zip(rows) {
            println!(
                "    {:<16} {:>9.0} req/s  ratio to bare {:.3}",
                c.name, r.throughput, r.throughput_ratio
            );
        }
        println!("    verdict/bare per round: {:?}", v.round_throughput);
        println!(
            "    target throughput ratio verdict/bare >= {TARGET_THROUGHPUT_RATIO}: {}",
            met(v.throughput_ratio >= TARGET_THROUGHPUT_RATIO)
        );
    }
    println!("  server connections accepted: {connections}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_and_verdict_take_turns_at_the_ends_and_every_client_runs_once() {
        assert_eq!(order(5, 0, 0), [BARE, 2, 3, 4, VERDICT]);
        assert_eq!(order(5, 0, 1), [VERDICT, 4, 3, 2, BARE]);
        assert_eq!(order(5, 1, 0), [VERDICT, 2, 3, 4, BARE]);
        assert_eq!(order(5, 1, 1), [BARE, 4, 3, 2, VERDICT]);
        for (round, block) in [(2, 3), (3, 2), (7, 0)] {
            let mut o = order(6, round, block);
            o.sort();
            assert_eq!(o, [0, 1, 2, 3, 4, 5]);
        }
    }
}
