//! The `verdict` binary's integration tests, in one test binary: each module runs the
//! command as a user does, against real servers on 127.0.0.1.

mod call;
mod call_oauth;
mod call_standards;
mod catalog;
mod codes;
mod readme;
mod serve;
mod serve_redis;
