//! The deadline on a connection that makes no progress: a client that takes too long to
//! send a request's headers (a slow or trickling client), or keeps an idle keep-alive
//! connection open, is cut off.
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
use std::task::{Context, Poll};
use std::time::Duration;

/// What one connection has done, as counters its watchdog compares over time.
#[derive(Debug, Default)]
pub struct Activity {
    started: AtomicU64,
    finished: AtomicU64,
    written: AtomicU64,
}

/// Marks a request in progress until dropped (also when its answer is abandoned).
#[derive(Debug)]
pub struct InProgress(Arc<Activity>);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::Relaxed);
    }
}

impl Activity {
    /// Counts a request whose headers have arrived; it is in progress until the guard drops.
    pub fn start(self: Arc<Self>) -> InProgress {
        self.started.fetch_add(1, Ordering::Relaxed);
        InProgress(self)
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

/// An I/O stream that counts the bytes written through it into an [`Activity`].
#[derive(Debug)]
pub struct Counted<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Counted<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Counted { inner, activity }
    }

    fn wrote(&self, n: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = n {
            self.activity
                .written
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(&n);
        n
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(&n);
        n
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
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
