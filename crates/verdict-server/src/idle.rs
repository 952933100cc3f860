//! The deadline on a connection that makes no progress: a client that takes too long to
//! send a request's headers (a slow or trickling client), or keeps an idle keep-alive
//! connection open, is cut off: one part way through a request's head gets a 408 first.
//! The same stream wrapper answers in the contract's error shape where hyper refuses a head
//! on its own (see [`Counted`]).
//!
//! hyper's own `header_read_timeout` arms a fresh timer for every request, which costs an
//! allocation and two trips through the runtime's shared timer wheel per request. Here one
//! watchdog per connection wakes every half deadline and looks at counters the connection
//! bumps as it works: requests started and finished, bytes written. When a whole deadline
//! passes with no request in progress, none started and nothing written, the watchdog ends
//! and the connection with it. So a connection is cut off between one and one and a half
//! deadlines after its last progress. Bytes a client sends do not count as progress: a
//! client trickling its headers a byte at a time is cut off like a silent one.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What one connection has done, as counters its watchdog compares over time.
#[derive(Debug, Default)]
pub struct Activity {
    started: AtomicU64,
    finished: AtomicU64,
    written: AtomicU64,
    /// Answers the emulator has handed to the HTTP layer.
    answered: AtomicU64,
    /// Bytes read, and how many had been read when the last request finished: more since
    /// then is part of the next request's head.
    read: AtomicU64,
    read_mark: AtomicU64,
    /// The deadline passed with part of a head read: the next read answers 408.
    timed_out: std::sync::atomic::AtomicBool,
}

/// Marks a request in progress until dropped (also when its answer is abandoned).
#[derive(Debug)]
pub struct InProgress(Arc<Activity>);

impl Drop for InProgress {
    fn drop(&mut self) {
        let read = self.0.read.load(Ordering::Relaxed);
        self.0.read_mark.store(read, Ordering::Relaxed);
        self.0.finished.fetch_add(1, Ordering::Relaxed);
    }
}

impl InProgress {
    /// The emulator's answer is about to be handed to the HTTP layer.
    pub fn answered(&self) {
        self.0.answered.fetch_add(1, Ordering::Release);
    }
}

impl Activity {
    /// Counts a request whose headers have arrived; it is in progress until the guard drops.
    pub fn start(self: Arc<Self>) -> InProgress {
        self.started.fetch_add(1, Ordering::Relaxed);
        InProgress(self)
    }

    /// Whether part of a request's head has arrived since the last request finished.
    pub fn partial_head(&self) -> bool {
        self.read.load(Ordering::Relaxed) > self.read_mark.load(Ordering::Relaxed)
    }

    /// Asks the connection to answer 408 at its next read, then end.
    pub fn time_out(&self) {
        self.timed_out.store(true, Ordering::Release);
    }

    /// Progress so far, or `None` while a request is in progress.
    fn progress(&self) -> Option<(u64, u64)> {
        let started = self.started.load(Ordering::Relaxed);
        (self.finished.load(Ordering::Relaxed) == started)
            .then(|| (started, self.written.load(Ordering::Relaxed)))
    }

    /// Completes once `deadline` has passed without progress: no request in progress or
    /// started, nothing written.
    pub async fn stalled(&self, deadline: Duration) {
        let tick = (deadline / 2).max(Duration::from_millis(1));
        let mut last = self.progress();
        let mut quiet_ticks = 0;
        loop {
            tokio::time::sleep(tick).await;
            let now = self.progress();
            if now.is_some() && now == last {
                quiet_ticks += 1;
                if quiet_ticks >= 2 {
                    return;
                }
            } else {
                quiet_ticks = 0;
            }
            last = now;
        }
    }
}

/// Writes the whole answer, with a JSON body in the contract's error shape, that refuses a
/// request with a status (the HTTP layer's own 400, 414 and 431, or a 408).
pub type Refusal = Arc<dyn Fn(u16) -> Vec<u8> + Send + Sync>;

/// An I/O stream that counts the bytes read and written through it into an [`Activity`],
/// and speaks for the HTTP layer where that cannot use the contract's error shape:
///
/// - hyper refuses a head it cannot parse or hold (400, 414, 431) before any request
///   exists, with a bare status line. A status line written when every answer of the
///   emulator has had its head written already is such a refusal: the [`Refusal`] answer
///   (a JSON body, `Connection: close`) goes out in its place.
/// - once the connection is [timed out](Activity::time_out) with part of a request's head
///   read, the next read writes a 408 and then reads the end of the stream, which ends the
///   connection.
pub struct Counted<T> {
    inner: T,
    activity: Arc<Activity>,
    refusal: Refusal,
    /// How many of the emulator's answers have had their status line written.
    heads: u64,
    /// An answer of our own being written in place of the HTTP layer's, and how much of it
    /// is out.
    out: Option<(Vec<u8>, usize)>,
    /// Our own answer is out: nothing more is written, and reads see the end.
    ended: bool,
}

impl<T> std::fmt::Debug for Counted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counted")
            .field("heads", &self.heads)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<T> Counted<T> {
    pub fn new(inner: T, activity: Arc<Activity>, refusal: Refusal) -> Self {
        Counted {
            inner,
            activity,
            refusal,
            heads: 0,
            out: None,
            ended: false,
        }
    }

    fn wrote(&self, n: usize) {
        self.activity.written.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Whether `buf`, about to be written, is a refusal of the HTTP layer's own: a status
    /// line of 400 or more when every answer of the emulator has been started already.
    fn is_layer_refusal(&mut self, buf: &[u8]) -> Option<u16> {
        if self.out.is_some() || self.ended || !buf.starts_with(b"HTTP/1.") {
            return None;
        }
        if self.heads < self.activity.answered.load(Ordering::Acquire) {
            self.heads += 1;
            return None;
        }
        let status = std::str::from_utf8(buf.get(9..12)?).ok()?.parse().ok()?;
        (status >= 400).then_some(status)
    }
}

impl<T: AsyncWrite + Unpin> Counted<T> {
    /// Writes out our own answer; then the stream has ended.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, sent)) = &mut self.out {
            if *sent == bytes.len() {
                self.out = None;
                self.ended = true;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *sent += n;
            self.wrote(n);
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.activity.timed_out.load(Ordering::Acquire) && !this.ended {
            if this.out.is_none() {
                this.out = Some(((this.refusal)(408), 0));
            }
            ready!(this.drain(cx))?;
        }
        if this.ended {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let n = (buf.filled().len() - before) as u64;
            this.activity.read.fetch_add(n, Ordering::Relaxed);
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if let Some(status) = this.is_layer_refusal(buf) {
            this.out = Some(((this.refusal)(status), 0));
        }
        if this.out.is_some() || this.ended {
            // The HTTP layer's own bytes are taken and dropped.
            ready!(this.drain(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.wrote(n);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn only_a_whole_deadline_without_progress_ends_the_watch() {
        let deadline = Duration::from_secs(10);
        let activity = Arc::new(Activity::default());
        let watch = activity.stalled(deadline);
        tokio::pin!(watch);
        let started = tokio::time::Instant::now();
        // A request in progress for a long time is not a stall.
        let request = activity.clone().start();
        assert!(
            tokio::time::timeout(Duration::from_secs(60), &mut watch)
                .await
                .is_err()
        );
        drop(request);
        // Writing is progress.
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_secs(4)).await;
            activity.written.fetch_add(1, Ordering::Relaxed);
        }
        let quiet_from = tokio::time::Instant::now();
        watch.await;
        let waited = quiet_from.elapsed();
        assert!(
            waited >= deadline && waited <= deadline * 3 / 2,
            "ended {waited:?} after the last progress"
        );
        assert!(started.elapsed() > Duration::from_secs(80));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_is_stalled_within_one_and_a_half_deadlines() {
        let activity = Activity::default();
        let started = tokio::time::Instant::now();
        activity.stalled(Duration::from_millis(500)).await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(500) && waited <= Duration::from_millis(750));
    }
}
