//! The client's integration tests, in one binary: every server is real and listens on
//! 127.0.0.1; waits go through a fake clock (see `support`), so nothing sleeps.

mod breaker;
mod codes;
mod errors;
mod explain;
mod failures;
mod hostile;
mod idempotency;
mod oauth;
mod problem;
mod redis;
mod rules;
mod setup;
mod standards;
mod support;
