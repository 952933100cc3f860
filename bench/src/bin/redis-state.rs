//! Throughput of `verdict serve` with its state in memory and on Redis, as ratios to a
//! bare hyper server measured in the same run, and the Redis round trips per request.
//!
//! Starts a redis-server on a free loopback port, the baseline server, and three setups of
//! `verdict serve webex`: one emulator on memory, one on Redis, and two on Redis sharing a
//! group. One load generator (keep-alive connections, each sending its next request as soon
//! as the last is answered) drives each case for a fixed time; with two emulators the
//! requests alternate between them. Cases: GET of a room, and POST of a new room.
//!
//! Round trips are the scripts the emulators ran in Redis during a case (from Redis's own
//! command statistics) divided by the requests answered.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use verdict_bench::args::Flags;
use verdict_bench::server::{LoopbackServer, ServerOptions, json_reply};
use verdict_bench::stats::{Samples, json_number, micros, ratio, round};

const USAGE: &str = "\
redis-state: verdict serve on memory, on Redis, and two on Redis, against a bare server

usage: redis-state [--duration S] [--warmup S] [--connections N]

  --duration S     seconds measured per case (default 5)
  --warmup S       seconds of the same load before each case, not measured (default 1)
  --connections N  concurrent keep-alive connections (default 32)

Needs redis-server on the PATH and the verdict binary next to this one
(cargo build --release -p verdict-cli -p verdict-bench).";

const BODY: &str = r#"{"id":"Y2lzY29zcGFyazovL3VzL1JPT00vYmVuY2g","title":"bench"}"#;

fn main() {
    if let Err(e) = run() {
        eprintln!("redis-state: {e:#}");
        std::process::exit(2);
    }
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Scripts run by clients so far (EVALSHA and EVAL calls), from `INFO commandstats`.
fn scripts_run(port: u16) -> anyhow::Result<u64> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.write_all(b"INFO commandstats\r\n")?;
    let mut reader = BufReader::new(s);
    let mut header = String::new();
    reader.read_line(&mut header)?;
    let len: usize = header
        .trim()
        .strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow!("unexpected INFO answer {header:?}"))?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let text = String::from_utf8_lossy(&body);
    let mut total = 0;
    for line in text.lines() {
        for name in ["cmdstat_evalsha:", "cmdstat_eval:"] {
            if let Some(rest) = line.strip_prefix(name) {
                total += rest
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("calls="))
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Ok(total)
}

fn serve(verdict: &std::path::Path, state: &str, group: &str) -> anyhow::Result<(Proc, String)> {
    let mut child = Command::new(verdict)
        .args(["serve", "webex", "--port", "0", "--token", "tok", "--json"])
        .args(["--quota", "1000000000/60", "--store-limit", "100000000"])
        .args(["--state", state, "--group", group])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", verdict.display()))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
    let proc = Proc(child);
    let info: Value =
        serde_json::from_str(&line).with_context(|| format!("verdict serve said {line:?}"))?;
    let origin = info["origin"]
        .as_str()
        .context("no origin in the start-up line")?
        .to_owned();
    Ok((proc, origin))
}

/// One request a case sends: method, URL and JSON body.
type Target = (reqwest::Method, String, Option<&'static str>);

/// What one case measured.
struct Run {
    requests: u64,
    errors: u64,
    seconds: f64,
    latency: Samples,
}

/// Drives `connections` loops for `time`, request `i` of a loop going to `targets[i % n]`.
async fn load(
    http: &reqwest::Client,
    targets: &[Target],
    connections: usize,
    time: Duration,
    expect: u16,
) -> Run {
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + time;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let http = http.clone();
        let targets = targets.to_vec();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::with_capacity(100_000);
            let mut i = c;
            while Instant::now() < deadline {
                let (method, url, body) = &targets[i % targets.len()];
                i += 1;
                let t = Instant::now();
                let mut req = http.request(method.clone(), url).bearer_auth("tok");
                if let Some(b) = body {
                    req = req.header("content-type", "application/json").body(*b);
                }
                match req.send().await {
                    Ok(r) if r.status().as_u16() == expect => {
                        let _ = r.bytes().await;
                        samples.push(t.elapsed());
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            samples
        }));
    }
    let mut latency = Samples::default();
    for t in tasks {
        if let Ok(s) = t.await {
            latency.extend(&s);
        }
    }
    Run {
        requests: latency.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
        latency,
    }
}

async fn create_room(http: &reqwest::Client, origin: &str) -> anyhow::Result<String> {
    let r = http
        .post(format!("{origin}/v1/rooms"))
        .bearer_auth("tok")
        .header("content-type", "application/json")
        .body(r#"{"title":"bench"}"#)
        .send()
        .await?;
    let r: Value = serde_json::from_slice(&r.bytes().await?)?;
    Ok(r["id"].as_str().context("no room id")?.to_owned())
}

fn run() -> anyhow::Result<()> {
    let flags = Flags::parse(
        std::env::args().skip(1),
        &["duration", "warmup", "connections"],
        USAGE,
    )?;
    let duration = Duration::from_secs_f64(flags.get("duration", 5.0f64)?);
    let warmup = Duration::from_secs_f64(flags.get("warmup", 1.0f64)?);
    let connections: usize = flags.get("connections", 32usize)?;
    let verdict = std::env::current_exe()?
        .parent()
        .context("no directory of this program")?
        .join("verdict");
    if !verdict.exists() {
        bail!(
            "{} is missing: cargo build --release -p verdict-cli",
            verdict.display()
        );
    }
    let redis = verdict_testkit::RedisServer::start()
        .context("redis-server is needed (e.g. apt-get install redis-server)")?;
    let (redis_port, redis_url) = (redis.port, redis.url());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let baseline = LoopbackServer::start_with(
        ServerOptions {
            port: 0,
            workers: cores,
        },
        || async { json_reply(200, BODY) },
    )?;
    let (_m, memory) = serve(&verdict, "memory", "bench")?;
    let (_r, redis_one) = serve(&verdict, &redis_url, "one")?;
    let (_a, redis_a) = serve(&verdict, &redis_url, "two")?;
    let (_b, redis_b) = serve(&verdict, &redis_url, "two")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let http = verdict_client::http_client()
            .pool_max_idle_per_host(connections)
            .build()?;
        let room = |origin: String| {
            let http = http.clone();
            async move {
                let id = create_room(&http, &origin).await?;
                anyhow::Ok(format!("{origin}/v1/rooms/{id}"))
            }
        };
        let get = reqwest::Method::GET;
        let post = reqwest::Method::POST;
        let create = Some(r#"{"title":"bench room"}"#);
        let memory_room = room(memory.clone()).await?;
        let one_room = room(redis_one.clone()).await?;
        let two_room = room(redis_a.clone()).await?;
        let cases: Vec<(&str, Vec<Target>, u16, bool)> = vec![
            (
                "baseline",
                vec![(get.clone(), baseline.url("/"), None)],
                200,
                false,
            ),
            (
                "memory GET",
                vec![(get.clone(), memory_room, None)],
                200,
                false,
            ),
            ("redis GET", vec![(get.clone(), one_room, None)], 200, true),
            (
                "2×redis GET",
                vec![
                    (get.clone(), two_room.clone(), None),
                    (get.clone(), two_room.replace(&redis_a, &redis_b), None),
                ],
                200,
                true,
            ),
            (
                "memory POST",
                vec![(post.clone(), format!("{memory}/v1/rooms"), create)],
                200,
                false,
            ),
            (
                "redis POST",
                vec![(post.clone(), format!("{redis_one}/v1/rooms"), create)],
                200,
                true,
            ),
            (
                "2×redis POST",
                vec![
                    (post.clone(), format!("{redis_a}/v1/rooms"), create),
                    (post.clone(), format!("{redis_b}/v1/rooms"), create),
                ],
                200,
                true,
            ),
        ];
        println!(
            "{:<14} {:>10} {:>9} {:>9} {:>8} {:>8} {:>12}",
            "case", "req/s", "p50 µs", "p99 µs", "ratio", "errors", "Redis trips"
        );
        let mut rows = Vec::new();
        let mut base_rate = None;
        for (name, targets, expect, on_redis) in cases {
            if !warmup.is_zero() {
                load(&http, &targets, connections, warmup, expect).await;
            }
            let before = scripts_run(redis_port)?;
            let mut run = load(&http, &targets, connections, duration, expect).await;
            let scripts = scripts_run(redis_port)? - before;
            let rate = run.requests as f64 / run.seconds;
            let base = *base_rate.get_or_insert(rate);
            let trips = on_redis.then(|| scripts as f64 / run.requests.max(1) as f64);
            let (p50, p99) = (
                micros(run.latency.median()),
                micros(run.latency.quantile(0.99)),
            );
            println!(
                "{:<14} {:>10.0} {:>9.0} {:>9.0} {:>8.2} {:>8} {:>12}",
                name,
                rate,
                p50,
                p99,
                ratio(rate, base),
                run.errors,
                trips.map_or("-".into(), |t| format!("{t:.2}"))
            );
            rows.push(json!({
                "case": name,
                "requests_per_s": json_number(round(rate, 0)),
                "p50_us": json_number(round(p50, 0)),
                "p99_us": json_number(round(p99, 0)),
                "ratio": json_number(round(ratio(rate, base), 3)),
                "errors": run.errors,
                "redis_round_trips_per_request": trips.map(|t| json_number(round(t, 2))),
            }));
        }
        println!(
            "{}",
            json!({ "bench": "redis-state", "connections": connections, "cases": rows })
        );
        anyhow::Ok(())
    })?;
    drop(baseline);
    Ok(())
}
