//! The HTTP/1.1 server around the emulator: one task per connection, a body limit, a
//! deadline on connections that make no progress (slow clients cannot hold a connection,
//! see [`crate::idle`]), a cap on header size, and a graceful stop.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::Emulator;
use crate::engine::Req;
use crate::idle::{Activity, Counted};
use crate::tls::Tls;

/// Bounds on what one client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// The largest request body; a larger one is answered with 413.
    pub body_limit: usize,
    /// How long a client may take to send a request's headers, and then its body (and how
    /// long an idle keep-alive connection stays open): a connection is cut off between one
    /// and one and a half of it after its last progress.
    pub header_timeout: Duration,
    /// The most bytes of request line and headers; a larger head is answered with 431
    /// (with a JSON body up to four times this size; beyond, the HTTP layer refuses it
    /// with a bare 431 before the emulator sees it).
    pub max_header_bytes: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            body_limit: 1 << 20,
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
        }
    }
}

async fn answer(
    em: Arc<Emulator>,
    req: hyper::Request<Incoming>,
    activity: Arc<Activity>,
    local: SocketAddr,
    https: bool,
    limits: ServerLimits,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let _in_progress = activity.start();
    let (parts, body) = req.into_parts();
    let mut request = Req {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts.headers,
        body: Bytes::new(),
        https,
        local,
    };
    let head = head_size(&request);
    if head > limits.max_header_bytes {
        let message = format!(
            "The request line and headers are {head} bytes, over the {}-byte limit.",
            limits.max_header_bytes
        );
        return Ok(em.reject(&request, 431, &message));
    }
    // Most requests (GET, DELETE) have no body: nothing to wait for.
    if hyper::body::Body::is_end_stream(&body) {
        return Ok(em.handle(&request).await);
    }
    let read = tokio::time::timeout(
        limits.header_timeout,
        Limited::new(body, limits.body_limit).collect(),
    );
    match read.await {
        Err(_) => {
            let message = format!(
                "The request body did not arrive within {} s.",
                limits.header_timeout.as_secs_f64()
            );
            return Ok(em.reject(&request, 408, &message));
        }
        Ok(Ok(b)) => request.body = b.to_bytes(),
        Ok(Err(e)) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let (status, message) = if too_large {
                (
                    413,
                    format!(
                        "The request body is larger than the {}-byte limit.",
                        limits.body_limit
                    ),
                )
            } else {
                (400, "The request body could not be read.".to_owned())
            };
            return Ok(em.reject(&request, status, &message));
        }
    }
    Ok(em.handle(&request).await)
}

/// Serves a connection until it ends, or until it makes no progress for `deadline`.
async fn until_stalled<E: std::fmt::Display>(
    conn: impl Future<Output = Result<(), E>>,
    activity: Arc<Activity>,
    deadline: Duration,
) {
    tokio::select! {
        ended = conn => if let Err(e) = ended {
            tracing::debug!(error = %e, "connection ended with an error");
        },
        () = activity.stalled(deadline) => {
            tracing::debug!("connection closed: no progress within the deadline");
        }
    }
}

/// The size of a request's head as sent: request line, header lines, blank line.
fn head_size(req: &Req) -> usize {
    let line = req.method.as_str().len() + req.path.len() + req.query.len() + 12;
    req.headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + line
        + 2
}

/// Serves plain HTTP on `listener` until `shutdown` completes, then lets open requests
/// finish (up to 5 s).
pub async fn serve(em: Arc<Emulator>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    serve_with(em, listener, None, ServerLimits::default(), shutdown).await;
}

/// Like [`serve`], with limits, over TLS when `tls` is given.
pub async fn serve_with(
    em: Arc<Emulator>,
    listener: TcpListener,
    tls: Option<Tls>,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let https = tls.is_some();
    let graceful = GracefulShutdown::new();
    let local = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let em = em.clone();
        let activity = Arc::new(Activity::default());
        let service = {
            let activity = activity.clone();
            service_fn(move |req| answer(em.clone(), req, activity.clone(), local, https, limits))
        };
        let builder = {
            let mut b = http1::Builder::new();
            // Head and body go out as one buffer: the emulator's bodies are small, and one
            // copy here costs less than the kernel's handling of a two-part write
            // (measured with bench/emulator.sh's CPU table).
            b.max_buf_size(limits.max_header_bytes.saturating_mul(4).max(8192))
                .writev(false);
            b
        };
        match &tls {
            None => {
                let io = Counted::new(TokioIo::new(stream), activity.clone());
                let conn = graceful.watch(builder.serve_connection(io, service));
                tokio::spawn(until_stalled(conn, activity, limits.header_timeout));
            }
            Some(tls) => {
                let acceptor = tls.acceptor.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    // The handshake gets the same deadline as request headers.
                    let stream =
                        match tokio::time::timeout(limits.header_timeout, acceptor.accept(stream))
                            .await
                        {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                return tracing::debug!(error = %e, "TLS handshake failed");
                            }
                            Err(_) => return tracing::debug!("TLS handshake timed out"),
                        };
                    let io = Counted::new(TokioIo::new(stream), activity.clone());
                    let conn = watcher.watch(builder.serve_connection(io, service));
                    until_stalled(conn, activity, limits.header_timeout).await;
                });
            }
        }
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => tracing::warn!("some connections were still open after 5 s"),
    }
}
