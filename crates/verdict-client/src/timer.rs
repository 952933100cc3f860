//! Time as the client sees it: the current time and waiting. Replace the default to show
//! progress while waiting (the CLI counts down) or to test without real sleeps.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use url::Url;

/// Why the client is about to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// Before repeating a request that got `status`.
    Retry {
        /// The status that caused it.
        status: u16,
        /// Retry-After, back-off or the contract's floor.
        cause: verdict::decide::WaitCause,
    },
    /// Before polling a 202's Location.
    Poll,
    /// A back-off or exhausted quota on this credential, learned earlier or from another
    /// process.
    Blocked,
    /// Before repeating after a network failure.
    Network,
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitReason::Retry { status, cause } => write!(f, "{status}, {cause}"),
            WaitReason::Poll => f.write_str("polling"),
            WaitReason::Blocked => f.write_str("a wait shared on this credential"),
            WaitReason::Network => f.write_str("network failure"),
        }
    }
}

/// One wait the client is about to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Wait {
    /// How long.
    pub duration: Duration,
    /// Why.
    pub reason: WaitReason,
    /// The URL the next attempt goes to.
    pub url: Url,
    /// The number of the next attempt (the first attempt is 1).
    pub next_attempt: u32,
}

/// The client's clock and sleep.
///
/// The trait is declared with [`async_trait`](https://docs.rs/async-trait), as the middleware
/// keeps it as an `Arc<dyn Timer>`: write an implementation with `#[async_trait::async_trait]`
/// on the `impl` block and a plain `async fn sleep`, as below (add `async-trait` to your
/// dependencies).
///
/// ```
/// use std::time::SystemTime;
/// use verdict_client::timer::{Timer, Wait};
///
/// /// Logs each wait, then sleeps it.
/// struct Logged;
///
/// #[async_trait::async_trait]
/// impl Timer for Logged {
///     fn now(&self) -> SystemTime {
///         SystemTime::now()
///     }
///     async fn sleep(&self, wait: &Wait) {
///         eprintln!("waiting {:?} ({}) before attempt {}", wait.duration, wait.reason, wait.next_attempt);
///         tokio::time::sleep(wait.duration).await;
///     }
/// }
/// let middleware = verdict_client::Verdict::builtin("webex")
///     .unwrap()
///     .timer(std::sync::Arc::new(Logged))
///     .build();
/// # let _ = middleware;
/// ```
#[async_trait]
pub trait Timer: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
    /// Waits as `wait` says.
    async fn sleep(&self, wait: &Wait);
}

/// The real clock and tokio's sleep.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, wait: &Wait) {
        tokio::time::sleep(wait.duration).await;
    }
}
