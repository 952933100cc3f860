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
use crate::Req;
use crate::idle::{Activity, Counted, Refusal};
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
    /// The most bytes of request line and headers; a larger head is answered with 431,
    /// with a JSON body in the contract's error shape (up to four times this size the
    /// emulator sees the request; beyond, the HTTP layer refuses it and the emulator writes
    /// the answer in its place).
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
    let in_progress = activity.start();
    let response = respond(em, req, local, https, limits).await;
    in_progress.answered();
    Ok(response)
}

/// The answer to one request the HTTP layer has read the head of.
async fn respond(
    em: Arc<Emulator>,
    req: hyper::Request<Incoming>,
    local: SocketAddr,
    https: bool,
    limits: ServerLimits,
) -> http::Response<Full<Bytes>> {
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
        return em.reject(&request, 431, &message);
    }
    // Most requests (GET, DELETE) have no body: nothing to wait for.
    if hyper::body::Body::is_end_stream(&body) {
        return em.handle(&request).await;
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
            return em.reject(&request, 408, &message);
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
            return em.reject(&request, status, &message);
        }
    }
    em.handle(&request).await
}

/// Serves a connection until it ends, or until it makes no progress for `deadline`: then a
/// client part way through a request's head is answered 408 (given a moment to take it),
/// and an idle or silent connection is closed.
async fn until_stalled<E: std::fmt::Display>(
    conn: impl Future<Output = Result<(), E>>,
    activity: Arc<Activity>,
    deadline: Duration,
) {
    tokio::pin!(conn);
    tokio::select! {
        ended = &mut conn => {
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        () = activity.stalled(deadline) => {}
    }
    if activity.partial_head() {
        activity.time_out();
        let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        tracing::debug!("connection answered 408: the request head did not arrive in time");
    } else {
        tracing::debug!("connection closed: no progress within the deadline");
    }
}

/// What answers a refusal below the HTTP layer on a connection to `local`.
fn refusal(em: Arc<Emulator>, local: SocketAddr, https: bool, limits: ServerLimits) -> Refusal {
    Arc::new(move |status| {
        let message = match status {
            408 => format!(
                "The request's headers did not arrive within {} s.",
                limits.header_timeout.as_secs_f64()
            ),
            414 => format!(
                "The request target is over the {MAX_TARGET}-byte limit of the HTTP layer."
            ),
            431 => format!(
                "The request line and headers are over the {}-byte limit, or hold more than {MAX_FIELDS} header fields.",
                limits.max_header_bytes
            ),
            _ => "The request is not well-formed HTTP/1.1 (its request line or a header cannot be parsed).".to_owned(),
        };
        let req = Req {
            method: http::Method::GET,
            path: "/".into(),
            query: String::new(),
            headers: http::HeaderMap::new(),
            body: Bytes::new(),
            https,
            local,
        };
        em.reject_wire(&req, status, &message)
    })
}

/// The longest request target the HTTP layer reads (hyper's limit).
const MAX_TARGET: usize = 65_534;
/// The most header fields the HTTP layer reads in one request (hyper's default).
const MAX_FIELDS: usize = 100;

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
    let refuse = refusal(em.clone(), local, https, limits);
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
        let refuse = refuse.clone();
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
                let io = TokioIo::new(Counted::new(stream, activity.clone(), refuse));
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
                    let io = TokioIo::new(Counted::new(stream, activity.clone(), refuse));
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
