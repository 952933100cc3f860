//! Watching a request as it goes: each request sent, each response head received and each
//! decision made, in the order they happen. The CLI prints its trace from these; a program
//! can log or count them.

use reqwest::{Request, Response};

use crate::error::Attempt;

/// Sees every attempt of every request as it happens. Each method has an empty default, so
/// an observer implements only what it needs.
///
/// ```
/// use std::sync::Arc;
/// use verdict_client::{Attempt, Observer, Verdict};
///
/// struct Log;
/// impl Observer for Log {
///     fn decided(&self, attempt: &Attempt) {
///         eprintln!("{} {} -> {:?}: {}", attempt.method, attempt.url, attempt.status, attempt.note);
///     }
/// }
/// let contract = verdict::Catalog::builtin().get("webex").unwrap().clone();
/// let middleware = Verdict::builder(contract).observer(Arc::new(Log)).build();
/// # let _ = middleware;
/// ```
pub trait Observer: Send + Sync + 'static {
    /// Attempt `number` (the first is 1) is about to be sent, with every header the
    /// middleware set (credentials and validators included).
    fn sending(&self, number: u32, request: &Request) {
        let _ = (number, request);
    }

    /// The head of the answer to attempt `number` arrived (its body is not read yet).
    fn received(&self, number: u32, response: &Response) {
        let _ = (number, response);
    }

    /// An attempt ended: what came back and what was decided.
    fn decided(&self, attempt: &Attempt) {
        let _ = attempt;
    }
}
