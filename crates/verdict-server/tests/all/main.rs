//! The emulator's integration tests, in one binary: each module starts emulators on
//! 127.0.0.1 and speaks to them over real HTTP (see `support`).

mod codes;
mod conditions;
mod conformance;
mod every_status;
mod faults;
mod github;
mod head;
mod hostile;
mod idempotency;
mod ids;
mod limits;
mod problem;
mod ratelimit;
mod ringcentral;
mod schema;
mod shared;
mod slack;
mod support;
mod webex;
mod webex_connect;
