//! What the verdict middleware costs per request on the happy path.
//!
//! A loopback hyper server answers every GET with 200 and a small JSON body. Clients built
//! from the same `verdict_client::http_client()` builder send to it: one bare, one with the
//! middleware obeying the built-in `webex` contract, and, for information, one wrapped in
//! reqwest-middleware with no middleware (the cost of the layer alone). In rounds, bare
//! and verdict taking turns at going first so that drift (CPU frequency, caches, the other
//! client's garbage) falls on both:
//!
//! - sequential: each client sends `--requests` GETs one after another on its one
//!   keep-alive connection, the clients taking turns every `--block` GETs; per-request
//!   latency (send to last body byte) is recorded;
//! - concurrent: `--tasks` tasks per client share `--concurrent-requests` GETs per round,
//!   sent in four turns that alternate with the other clients'; the throughput (requests
//!   per second) is recorded.
//!
//! It prints a short report and, last, one JSON line starting with `{"bench":"overhead"`.
//! The target (median latency ratio verdict/bare at most 1.05) is reported, not asserted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;
use verdict_bench::args::Flags;
use verdict_bench::server::{LoopbackServer, json_reply};
use verdict_bench::stats::{Samples, json_number, micros, ratio, round};

/// The text of `--help`.
const USAGE: &str = "\
overhead: per-request cost of the verdict middleware against bare reqwest, on loopback

usage: overhead [--requests N] [--rounds N] [--block N] [--warmup N] [--tasks N]
                [--concurrent-requests N] [--max-seconds S]

  --requests N             sequential GETs per client per round (default 2000)
  --rounds N               rounds; the client that goes first alternates (default 5)
  --block N                within a round the clients take turns every N GETs (default 100)
  --warmup N               GETs per client before measuring (default 500)
  --tasks N                tasks per client in the concurrent part; 0 skips it (default 16)
  --concurrent-requests N  GETs per client per round in the concurrent part (default 8000)
  --max-seconds S          stop starting new rounds after this many seconds (default 45)";

/// The body the server sends: small JSON, as an API's GET of one resource would be.
const BODY: &str = r#"{"id":"Y2lzY29zcGFyazovL3VzL1JPT00vYmVuY2g","title":"bench","type":"group","isLocked":false}"#;

/// Turns per round of the concurrent part (the clients alternate between them).
const CONCURRENT_TURNS: usize = 4;

/// The target from the issue: the middleware adds at most 5 % to the median latency.
const TARGET_MEDIAN_RATIO: f64 = 1.05;

/// The two clients under comparison, both from `verdict_client::http_client()`.
#[derive(Clone)]
enum Client {
    /// No middleware.
    Bare(reqwest::Client),
    /// The verdict middleware with the `webex` contract.
    Verdict(reqwest_middleware::ClientWithMiddleware),
    /// reqwest-middleware's wrapper with no middleware in it: what the layer alone costs,
    /// to tell it apart from verdict's own work (for information; no target).
    Wrapper(reqwest_middleware::ClientWithMiddleware),
}

impl Client {
    /// The name used in reports.
    fn name(&self) -> &'static str {
        match self {
            Client::Bare(_) => "bare",
            Client::Verdict(_) => "verdict",
            Client::Wrapper(_) => "wrapper",
        }
    }

    /// One GET, body read to the end; an error unless the answer is 200 with the body.
    async fn get(&self, url: &str) -> anyhow::Result<()> {
        let response = match self {
            Client::Bare(c) => c.get(url).send().await?,
            Client::Verdict(c) | Client::Wrapper(c) => c.get(url).send().await?,
        };
        if response.status() != http::StatusCode::OK {
            bail!("{}: unexpected status {}", self.name(), response.status());
        }
        let body = response.bytes().await?;
        if body.len() != BODY.len() {
            bail!("{}: short body ({} bytes)", self.name(), body.len());
        }
        Ok(())
    }
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
        max_seconds: flags.get("max-seconds", 45.0f64)?,
    };

    let server = LoopbackServer::start(|| async { json_reply(200, BODY) })?;
    let result = measure(&s, &server).await;
    let connections = server.connections();
    server.stop().await;
    let ([bare, verdict, wrapper], rounds_done) = result?;
    report(&s, bare, verdict, wrapper, rounds_done, connections);
    Ok(())
}

/// Runs the warm-up and the rounds; returns the measurements of bare, verdict and wrapper
/// (in that order) and the number of rounds completed.
async fn measure(s: &Settings, server: &LoopbackServer) -> anyhow::Result<([Measured; 3], usize)> {
    let url = server.url("/v1/rooms/bench");
    let contract = verdict::Catalog::builtin()
        .get("webex")
        .context("the built-in webex contract is missing")?
        .clone();
    // One set for the sequential part, so that each of its clients holds exactly one
    // connection, and one set for the concurrent part.
    let set = || -> anyhow::Result<[Client; 3]> {
        Ok([
            Client::Bare(verdict_client::http_client().build()?),
            Client::Verdict(verdict_client::client(
                verdict_client::Verdict::builder(contract.clone()).build(),
            )?),
            Client::Wrapper(
                reqwest_middleware::ClientBuilder::new(verdict_client::http_client().build()?)
                    .build(),
            ),
        ])
    };
    let (clients, pool) = (set()?, set()?);
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

    let mut measured: [Measured; 3] = Default::default();
    let mut rounds_done = 0;
    for round in 0..s.rounds {
        if started.elapsed().as_secs_f64() > s.max_seconds {
            break;
        }
        // Bare and verdict take turns at going first; the wrapper runs between them.
        let order = if round % 2 == 0 { [0, 2, 1] } else { [1, 2, 0] };
        // Within the round the clients also alternate in blocks, so that a slow spell
        // of the machine falls on all of them.
        let mut lat: [Samples; 3] = Default::default();
        let mut done = 0;
        while done < s.requests {
            let n = s.block.min(s.requests - done);
            let block_order = if (done / s.block) % 2 == 0 {
                order
            } else {
                [order[2], order[1], order[0]]
            };
            for &i in &block_order {
                lat[i].extend(&sequential(&clients[i], &url, n).await?);
            }
            done += n;
        }
        for (i, mut l) in lat.into_iter().enumerate() {
            measured[i].round_medians.push(l.median());
            measured[i].latency.extend(&l);
        }
        if s.tasks > 0 && s.concurrent_requests > 0 {
            // The same in turns: each client's share of the round in CONCURRENT_TURNS parts.
            let mut time = [Duration::ZERO; 3];
            let part = s.concurrent_requests.div_ceil(CONCURRENT_TURNS);
            let mut done = 0;
            let mut turn = 0;
            while done < s.concurrent_requests {
                let n = part.min(s.concurrent_requests - done);
                let turn_order = if turn % 2 == 0 {
                    order
                } else {
                    [order[2], order[1], order[0]]
                };
                for &i in &turn_order {
                    time[i] += concurrent(&pool[i], &url, s.tasks, n).await?;
                }
                done += n;
                turn += 1;
            }
            for (i, t) in time.into_iter().enumerate() {
                measured[i].concurrent_requests += s.concurrent_requests;
                measured[i].concurrent_time += t;
                measured[i]
                    .round_throughput
                    .push(ratio(s.concurrent_requests as f64, t.as_secs_f64()));
            }
        }
        rounds_done += 1;
    }
    Ok((measured, rounds_done))
}

/// Prints the human report and the JSON line.
fn report(
    s: &Settings,
    mut bare: Measured,
    mut verdict: Measured,
    mut wrapper: Measured,
    rounds_done: usize,
    connections: u64,
) {
    let (bm, b99) = (bare.latency.median(), bare.latency.quantile(0.99));
    let (vm, v99) = (verdict.latency.median(), verdict.latency.quantile(0.99));
    let (wm, w99) = (wrapper.latency.median(), wrapper.latency.quantile(0.99));
    let wrapper_ratio = ratio(wm.as_secs_f64(), bm.as_secs_f64());
    let median_ratio = ratio(vm.as_secs_f64(), bm.as_secs_f64());
    let p99_ratio = ratio(v99.as_secs_f64(), b99.as_secs_f64());
    let round_ratios: Vec<f64> = bare
        .round_medians
        .iter()
        .zip(&verdict.round_medians)
        .map(|(b, v)| round(ratio(v.as_secs_f64(), b.as_secs_f64()), 3))
        .collect();
    let met = median_ratio <= TARGET_MEDIAN_RATIO;
    let concurrent = s.tasks > 0 && s.concurrent_requests > 0 && rounds_done > 0;
    let (bt, vt, wt) = (
        bare.throughput(),
        verdict.throughput(),
        wrapper.throughput(),
    );
    let throughput_ratio = ratio(vt, bt);
    let round_tp: Vec<f64> = bare
        .round_throughput
        .iter()
        .zip(&verdict.round_throughput)
        .map(|(b, v)| round(ratio(*v, *b), 3))
        .collect();

    println!("verdict middleware overhead (loopback, HTTP/1, keep-alive, webex contract)");
    println!(
        "  sequential: {} rounds x {} GETs per client (in turns of {}), after {} warm-up GETs",
        rounds_done, s.requests, s.block, s.warmup
    );
    println!(
        "    bare     median {:>8.1} us   p99 {:>8.1} us",
        micros(bm),
        micros(b99)
    );
    println!(
        "    verdict  median {:>8.1} us   p99 {:>8.1} us",
        micros(vm),
        micros(v99)
    );
    println!(
        "    wrapper  median {:>8.1} us   p99 {:>8.1} us   (reqwest-middleware, no middleware)",
        micros(wm),
        micros(w99)
    );
    println!(
        "    ratio verdict/bare: median {:.3}, p99 {:.3}; per round (median) {:?}",
        median_ratio, p99_ratio, round_ratios
    );
    println!("    ratio wrapper/bare: median {wrapper_ratio:.3}");
    println!(
        "    target median ratio <= {TARGET_MEDIAN_RATIO}: {}",
        if met { "met" } else { "NOT met" }
    );
    if concurrent {
        println!(
            "  concurrent: {} tasks per client, {} rounds x {} GETs per client",
            s.tasks, rounds_done, s.concurrent_requests
        );
        println!("    bare     {bt:>9.0} req/s");
        println!("    verdict  {vt:>9.0} req/s");
        println!("    wrapper  {wt:>9.0} req/s");
        println!(
            "    throughput ratio verdict/bare: {:.3}; per round {:?}",
            throughput_ratio, round_tp
        );
    }
    println!("  server connections accepted: {connections}");

    let line = json!({
        "bench": "overhead",
        "contract": "webex",
        "rounds": rounds_done,
        "rounds_asked": s.rounds,
        "requests_per_round": s.requests,
        "block": s.block,
        "warmup": s.warmup,
        "sequential": {
            "bare": { "median_us": micros(bm), "p99_us": micros(b99), "samples": bare.latency.len() },
            "verdict": { "median_us": micros(vm), "p99_us": micros(v99), "samples": verdict.latency.len() },
            "wrapper": { "median_us": micros(wm), "p99_us": micros(w99), "samples": wrapper.latency.len() },
            "wrapper_median_ratio": json_number(round(wrapper_ratio, 4)),
            "median_ratio": json_number(round(median_ratio, 4)),
            "p99_ratio": json_number(round(p99_ratio, 4)),
            "round_median_ratios": round_ratios,
            "target_median_ratio": TARGET_MEDIAN_RATIO,
            "target_met": met,
        },
        "concurrent": if concurrent {
            json!({
                "tasks": s.tasks,
                "requests_per_round": s.concurrent_requests,
                "bare_rps": json_number(round(bt, 0)),
                "verdict_rps": json_number(round(vt, 0)),
                "wrapper_rps": json_number(round(wt, 0)),
                "wrapper_throughput_ratio": json_number(round(ratio(wt, bt), 4)),
                "throughput_ratio": json_number(round(throughput_ratio, 4)),
                "round_throughput_ratios": round_tp,
            })
        } else {
            serde_json::Value::Null
        },
        "server_connections": connections,
    });
    println!("{line}");
}
