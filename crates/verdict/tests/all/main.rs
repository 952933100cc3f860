//! The `verdict` crate's integration tests, in one binary: the loader, the decision engine
//! (case by case and by property), the parsers, the breaker and the seed coverage.

mod breaker;
mod codes;
mod coverage;
mod decide;
mod idempotency_rules;
mod multipart;
mod problem_format;
mod ratelimit;
mod resources;
mod support;
mod validation;
