//! The baseline of `bench/emulator.sh`: a minimal hyper server that answers every request
//! with 200 and a 60-byte JSON body (with `Content-Length`), whatever the method or path.
//!
//! It listens on 127.0.0.1 at `--port` (0 picks a free one) and, like `verdict serve`,
//! accepts on one thread and serves connections on a multi-thread tokio runtime with one
//! worker per core unless `--workers` says otherwise. Once listening it prints one JSON
//! line, `{"baseline":"http://127.0.0.1:PORT","port":PORT,"workers":N}`; it stops on
//! SIGTERM or SIGINT, letting open connections finish their request (at most 2 s).

use anyhow::Context;
use serde_json::json;
use verdict_bench::args::Flags;
use verdict_bench::server::{LoopbackServer, ServerOptions, json_reply};

/// The text of `--help`.
const USAGE: &str = "\
baseline: a minimal HTTP/1 server answering every request 200 with a small JSON body

usage: baseline [--port N] [--workers N]

  --port N     the port on 127.0.0.1; 0 picks a free one (default 8090)
  --workers N  worker threads of the runtime; 0 serves everything on one thread
               (default: one per core, as verdict serve)";

/// The body of every answer: 60 bytes of JSON.
const BODY: &str = r#"{"id":"Y2lzY29zcGFyazovL3VzL1JPT00vYmVuY2g","title":"bench"}"#;

/// Runs the server; a failure is printed and exits with 2.
fn main() {
    if let Err(e) = run() {
        eprintln!("baseline: {e:#}");
        std::process::exit(2);
    }
}

fn run() -> anyhow::Result<()> {
    let flags = Flags::parse(std::env::args().skip(1), &["port", "workers"], USAGE)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let options = ServerOptions {
        port: flags.get("port", 8090u16)?,
        workers: flags.get("workers", cores)?,
    };
    let server = LoopbackServer::start_with(options, || async { json_reply(200, BODY) })
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", options.port))?;
    let addr = server.addr();
    println!(
        "{}",
        json!({
            "baseline": format!("http://{addr}"),
            "port": addr.port(),
            "workers": options.workers,
        })
    );
    // The server has its own threads; this one only waits for a signal, then stops it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot wait for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot wait for SIGINT")?,
            _ = term.recv() => {}
        }
        server.stop().await;
        eprintln!("baseline: stopped");
        anyhow::Ok(())
    })
}
