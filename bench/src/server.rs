//! A loopback HTTP/1 server on `127.0.0.1:0`, running on a thread and a single-threaded
//! tokio runtime of its own so that its scheduling does not mix with the client's.
//! [`LoopbackServer::stop`] closes the listener, lets the open connections finish their
//! current request and joins the thread; dropping the handle also asks it to stop.
//!
//! [`LoopbackServer::start_with`] picks the port and may give the server a multi-thread
//! runtime instead (the `baseline` binary uses it to match `verdict serve`'s runtime).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The response type handlers produce. `Full` has an exact size, so hyper sends a
/// `Content-Length` and keeps the connection alive.
pub type Reply = http::Response<Full<Bytes>>;

/// How long `stop` lets open connections finish before they are dropped.
const DRAIN: Duration = Duration::from_secs(2);

/// A response with `status`, a JSON content type and `body`.
pub fn json_reply(status: u16, body: &'static str) -> Reply {
    let mut r = http::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// Where and how a [`LoopbackServer`] runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// 0: everything runs on the server's own thread (a current-thread runtime). N > 0: the
    /// server's thread accepts connections and a multi-thread runtime with N worker threads
    /// serves them, as `verdict serve` does.
    pub workers: usize,
}

/// A running server; see the module documentation.
#[derive(Debug)]
pub struct LoopbackServer {
    /// Where it listens.
    addr: SocketAddr,
    /// Set to true to stop it.
    stop: watch::Sender<bool>,
    /// The server's thread, until joined.
    thread: Option<std::thread::JoinHandle<()>>,
    /// Connections accepted.
    connections: Arc<AtomicU64>,
}

impl LoopbackServer {
    /// Starts a server that answers every request with what `handler` returns (the request
    /// itself is not looked at: the benchmarks send bodiless GETs).
    pub fn start<F, Fut>(handler: F) -> anyhow::Result<LoopbackServer>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        LoopbackServer::start_with(ServerOptions::default(), handler)
    }

    /// Like [`LoopbackServer::start`], on the port and with the runtime `options` ask for.
    pub fn start_with<F, Fut>(options: ServerOptions, handler: F) -> anyhow::Result<LoopbackServer>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let connections = Arc::new(AtomicU64::new(0));
        let count = connections.clone();
        let runtime = if options.workers == 0 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(options.workers)
                .thread_name("bench-server-worker")
                .enable_all()
                .build()?
        };
        let thread = std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
                runtime.block_on(serve(listener, Arc::new(handler), stopped, count));
            })?;
        Ok(LoopbackServer {
            addr,
            stop,
            thread: Some(thread),
            connections,
        })
    }

    /// The address it listens on (always on 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A URL on this server with `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Stops accepting, lets open connections finish (at most two seconds) and waits for
    /// the server's thread to end.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        // The thread ends on its own once told; `stop` is the way to also wait for it.
        let _ = self.stop.send(true);
    }
}

/// Accepts connections and serves each with `handler` until `stopped` turns true, then
/// lets open connections finish for at most [`DRAIN`].
async fn serve<F, Fut>(
    listener: std::net::TcpListener,
    handler: Arc<F>,
    mut stopped: watch::Receiver<bool>,
    count: Arc<AtomicU64>,
) where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bench server: {e}");
            return;
        }
    };
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            () = async { let _ = stopped.wait_for(|s| *s).await; } => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                count.fetch_add(1, Ordering::Relaxed);
                let handler = handler.clone();
                let mut stopped = stopped.clone();
                conns.spawn(async move {
                    let service = service_fn(move |_req| {
                        let reply = handler();
                        async move { Ok::<_, Infallible>(reply.await) }
                    });
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let mut conn = std::pin::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        () = async { let _ = stopped.wait_for(|s| *s).await; } => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, async { while conns.join_next().await.is_some() {} }).await;
    // Dropping the set aborts whatever did not finish in time.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_and_stops() {
        let server = LoopbackServer::start(|| async { json_reply(200, r#"{"ok":true}"#) }).unwrap();
        let url = server.url("/x");
        let client = verdict_client::http_client().build().unwrap();
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-length"], "11");
        assert_eq!(r.text().await.unwrap(), r#"{"ok":true}"#);
        assert_eq!(server.connections(), 1);
        server.stop().await;
        assert!(client.get(&url).send().await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn multi_thread_on_a_given_port() {
        // Find a free port, let it go, and ask for it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let options = ServerOptions { port, workers: 2 };
        let server =
            LoopbackServer::start_with(options, || async { json_reply(200, "{}") }).unwrap();
        assert_eq!(server.addr().port(), port);
        let client = verdict_client::http_client().build().unwrap();
        for _ in 0..3 {
            let r = client.get(server.url("/")).send().await.unwrap();
            assert_eq!(r.status(), 200);
        }
        server.stop().await;
    }
}
